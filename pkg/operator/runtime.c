/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An EnvironmentTemplate projected into agent-sandbox: a SandboxTemplate and a SandboxWarmPool per
 * namespace that launches it, named <template>-<version>, where the version is a hash of the rendered
 * SandboxTemplate spec. Changing a template therefore makes a new pair instead of editing the one running
 * sandboxes came from; the template controller removes old pairs once no claim uses them.
 *
 * The pod is what Pod Security "restricted" admits: non-root, no privilege escalation, all capabilities
 * dropped, the runtime's default seccomp profile, no ServiceAccount token; the workspace is a PVC per
 * sandbox mounted at the working dir. A claim cannot choose the pod's ServiceAccount, so a sandbox naming
 * one of its own (spec.serviceAccountName) gets a projection of its own, with that account in the pod and
 * no warm pods; its version differs from the template's, and the template controller removes it once no
 * sandbox in the namespace names the account. The SandboxTemplate's network policy is explicit (agent-sandbox's
 * default would block cluster DNS): ingress only from mbox-apiserver, egress to DNS, and to the internet
 * when the template allows it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/agentsandbox.h"
#include "api/project.h"
#include "api/sandbox.h"
#include "api/template.h"
#include "jsonutil.h"
#include "operator/internal.h"
#include "operator/runtime.h"

struct preset {
        const char *name, *req_cpu, *req_mem, *lim_cpu, *lim_mem;
};

static const struct preset presets[] = {
        {"Small", "250m", "512Mi", "1", "1Gi"},
        {"Medium", "500m", "1Gi", "2", "2Gi"},
        {"Large", "1", "2Gi", "4", "4Gi"},
};

/* The fill functions copy strings into the typed views and note a failed allocation in *oom, so that
 * each builder checks once, at the end. */
static char *dup(const char *s, bool *oom) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

static void set_strv(struct api_strv *dst, const char *const *v, size_t n, bool *oom) {
        dst->v = calloc(n ? n : 1, sizeof(char *));
        if (!dst->v) {
                *oom = true;
                return;
        }
        for (size_t i = 0; i < n; i++)
                if ((dst->v[i] = dup(v[i], oom)))
                        dst->n++;
}

static void set_label(struct api_map *m, size_t cap, const char *key, const char *value, bool *oom) {
        if (!value)
                return;
        if (!m->items && !(m->items = calloc(cap, sizeof(*m->items)))) {
                *oom = true;
                return;
        }
        if (m->n == cap)
                return;
        m->items[m->n].key = dup(key, oom);
        m->items[m->n].value = dup(value, oom);
        m->n++;
}

/* The template's quantity when set, else the preset's; emitted as the text it came as, a string. */
static void set_qty(
        struct api_quantity *dst, const struct api_quantity *src, const char *fallback, bool *oom) {
        const char *text = src->text ? src->text : fallback;

        if (!text)
                return;
        dst->text = dup(text, oom);
        dst->is_int = false;
        if (src->text)
                dst->q = src->q;
        else
                (void) quantity_parse(text, &dst->q, NULL);
}

const char *runtime_mount_path(const struct template *t) {
        if (t->spec.has_storage && t->spec.storage.mount_path)
                return t->spec.storage.mount_path;
        return t->spec.working_dir ? t->spec.working_dir : "/workspace";
}

static void fill_container(const struct template *t, struct as_container *c, bool *oom) {
        static const char *const drop_all[] = {"ALL"};
        const struct preset *p = NULL;

        for (size_t i = 0; t->spec.resource_preset && i < ARRAY_SIZE(presets); i++)
                if (strcmp(presets[i].name, t->spec.resource_preset) == 0)
                        p = &presets[i];
        c->name = dup(RUNTIME_CONTAINER, oom);
        c->image = dup(t->spec.image, oom);
        c->image_pull_policy = dup(t->spec.image_pull_policy, oom);
        if (t->spec.command.n)
                set_strv(&c->command, (const char *const *) t->spec.command.v, t->spec.command.n, oom);
        if (t->spec.args.n)
                set_strv(&c->args, (const char *const *) t->spec.args.v, t->spec.args.n, oom);
        c->working_dir = dup(t->spec.working_dir ? t->spec.working_dir : "/workspace", oom);
        if (t->spec.env.n) {
                /* env from a Secret is rendered as it is; only sandboxes the project's policy admits (and
                 * warm pods of a pool it admits) ever run with it (policy.c) */
                c->env.set = true;
                c->env.items = calloc(t->spec.env.n, sizeof(*c->env.items));
                if (!c->env.items)
                        *oom = true;
                for (size_t i = 0; c->env.items && i < t->spec.env.n; i++) {
                        const struct api_env_var *v = &t->spec.env.items[i];
                        if (!v->value && !v->secret_name)
                                continue;
                        c->env.items[c->env.n].name = dup(v->name, oom);
                        c->env.items[c->env.n].value = v->value ? dup(v->value, oom) : NULL;
                        c->env.items[c->env.n].secret_name = v->secret_name ? dup(v->secret_name, oom) : NULL;
                        c->env.items[c->env.n].secret_key = v->secret_key ? dup(v->secret_key, oom) : NULL;
                        c->env.n++;
                }
        }
        c->has_resources = true;
        set_qty(&c->resources.requests_cpu, &t->spec.resources.requests_cpu, p ? p->req_cpu : NULL, oom);
        set_qty(&c->resources.requests_memory, &t->spec.resources.requests_memory, p ? p->req_mem : NULL,
                oom);
        set_qty(&c->resources.limits_cpu, &t->spec.resources.limits_cpu, p ? p->lim_cpu : NULL, oom);
        set_qty(&c->resources.limits_memory, &t->spec.resources.limits_memory, p ? p->lim_mem : NULL, oom);
        if (t->spec.n_ports) {
                c->has_ports = true;
                c->ports = calloc(t->spec.n_ports, sizeof(*c->ports));
                if (!c->ports)
                        *oom = true;
                for (size_t i = 0; c->ports && i < t->spec.n_ports; i++, c->n_ports++) {
                        c->ports[i].name = dup(t->spec.ports[i].name, oom);
                        c->ports[i].container_port = t->spec.ports[i].port;
                        c->ports[i].protocol =
                                dup(t->spec.ports[i].protocol ? t->spec.ports[i].protocol : "TCP", oom);
                }
        }
        c->has_volume_mounts = true;
        c->volume_mounts = calloc(1, sizeof(*c->volume_mounts));
        if (!c->volume_mounts)
                *oom = true;
        else {
                c->n_volume_mounts = 1;
                c->volume_mounts[0].name = dup(WORKSPACE_VOLUME, oom);
                c->volume_mounts[0].mount_path = dup(runtime_mount_path(t), oom);
        }
        c->has_security_context = true;
        c->security_context.allow_privilege_escalation = (struct as_opt_bool){true, false};
        c->security_context.has_capabilities = true;
        set_strv(&c->security_context.capabilities_drop, drop_all, 1, oom);
        c->security_context.run_as_non_root = (struct as_opt_bool){true, true};
        c->security_context.seccomp_profile_type = dup("RuntimeDefault", oom);
}

/* The sandbox's network: mbox owns the policy, so agent-sandbox makes none. The project's NetworkPolicies
 * (project.c) deny everything, then allow by the egress class that the pod carries as a label: what the
 * template asks for, and never more than the project allows. */
static void fill_network_policy(const struct template *t, struct as_template_spec *s, bool *oom) {
        set_label(&s->pod_labels, 2, LABEL_EGRESS,
                t->spec.network_egress ? t->spec.network_egress : "Restricted", oom);
        s->network_policy_management = dup("Unmanaged", oom);
}

/* The SandboxTemplate spec of t, filled into s (released by the caller). -ENOMEM. */
static int fill_template_spec(const struct template *t, const char *sa, struct as_template_spec *s) {
        static const char *const rwo[] = {"ReadWriteOnce"};
        static const struct api_quantity none = {0};
        bool oom = false;

        s->has_pod_metadata = true;
        set_label(&s->pod_labels, 2, LABEL_TEMPLATE, t->meta.name, &oom);
        s->pod.service_account_name = dup(sa ? sa : SANDBOX_SA, &oom);
        s->pod.automount_service_account_token = (struct as_opt_bool){true, false};
        s->pod.enable_service_links = (struct as_opt_bool){true, false};
        s->pod.has_security_context = true;
        s->pod.security_context.run_as_non_root = (struct as_opt_bool){true, true};
        s->pod.security_context.run_as_user = (struct as_opt_int){true, 1000};
        s->pod.security_context.run_as_group = (struct as_opt_int){true, 1000};
        s->pod.security_context.fs_group = (struct as_opt_int){true, 1000};
        s->pod.security_context.seccomp_profile_type = dup("RuntimeDefault", &oom);
        s->pod.runtime_class_name = dup(t->spec.runtime_class_name, &oom);
        s->pod.containers = calloc(1, sizeof(*s->pod.containers));
        if (!s->pod.containers)
                return -ENOMEM;
        s->pod.n_containers = 1;
        fill_container(t, &s->pod.containers[0], &oom);

        s->has_vcts = true;
        s->vcts = calloc(1, sizeof(*s->vcts));
        if (!s->vcts)
                return -ENOMEM;
        s->n_vcts = 1;
        s->vcts[0].name = dup(WORKSPACE_VOLUME, &oom);
        set_strv(&s->vcts[0].access_modes, rwo, 1, &oom);
        set_qty(&s->vcts[0].storage, t->spec.has_storage ? &t->spec.storage.size : &none, "1Gi", &oom);
        if (t->spec.has_storage)
                s->vcts[0].storage_class_name = dup(t->spec.storage.storage_class_name, &oom);
        s->service = (struct as_opt_bool){true, true};
        fill_network_policy(t, s, &oom);
        /* a sandbox's spec.env reaches its pod through the claim */
        s->env_vars_injection_policy = dup("Allowed", &oom);
        return oom ? -ENOMEM : 0;
}

const char *runtime_own_sa(const char *sa) {
        return sa && strcmp(sa, SANDBOX_SA) != 0 ? sa : NULL;
}

json_object *runtime_template_spec(const struct template *t, const char *sa) {
        struct as_template_spec s = {0};
        json_object *spec = NULL;

        if (fill_template_spec(t, runtime_own_sa(sa), &s) < 0 || as_template_spec_to_json(&s, &spec) < 0)
                spec = NULL;
        as_template_spec_release(&s);
        return spec;
}

int runtime_version(const struct template *t, const char *sa, char *buf) {
        _cleanup_json_ json_object *spec = runtime_template_spec(t, sa);
        if (!spec)
                return -ENOMEM;
        op_hash(json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN), buf);
        return 0;
}

void runtime_name(const char *template_name, const char *version, char *buf, size_t size) {
        /* pool sandboxes append "-xxxxx" and their pods must stay DNS labels (63) */
        snprintf(buf, size, "%.40s-%s", template_name, version);
}

/* Name, namespace and the labels op_meta() gives everything the operator creates, then extra labels
 * (key, value pairs; a NULL value is skipped) and, when owner is given, its controller reference. */
static void fill_meta(struct api_meta *m, struct as_owner_ref **owners, size_t *n_owners, const char *name,
        const char *ns, const char *project, json_object *owner, const char *const *labels, bool *oom) {
        m->name = dup(name, oom);
        m->namespace = dup(ns, oom);
        set_label(&m->labels, 8, LABEL_MANAGED_BY, OP_FIELD_MANAGER, oom);
        set_label(&m->labels, 8, LABEL_PROJECT, project, oom);
        for (size_t i = 0; labels[i]; i += 2)
                set_label(&m->labels, 8, labels[i], labels[i + 1], oom);
        if (!owner)
                return;
        if (!(*owners = calloc(1, sizeof(**owners)))) {
                *oom = true;
                return;
        }
        *n_owners = 1;
        (*owners)->api_version = dup(kube_str(owner, "apiVersion"), oom);
        (*owners)->kind = dup(kube_str(owner, "kind"), oom);
        (*owners)->name = dup(kube_str(owner, "metadata.name"), oom);
        (*owners)->uid = dup(kube_str(owner, "metadata.uid"), oom);
        (*owners)->controller = (*owners)->block_owner_deletion = true;
}

static void fill_projected_meta(const struct template *t, const char *name, const char *ns,
        const char *version, const char *sa, json_object *owner, struct api_meta *m,
        struct as_owner_ref **owners, size_t *n_owners, bool *oom) {
        const char *const labels[] = {LABEL_TEMPLATE, t->meta.name, LABEL_TEMPLATE_NS, t->meta.namespace,
                LABEL_TEMPLATE_VER, version, LABEL_TEMPLATE_SA, runtime_own_sa(sa), NULL};
        /* owner references cannot cross namespaces: library projections are removed by the template controller */
        if (owner && strcmp(ns, t->meta.namespace) != 0)
                owner = NULL;
        fill_meta(m, owners, n_owners, name, ns, NULL, owner, labels, oom);
}

json_object *runtime_template_object(const struct template *t, const char *ns, const char *name,
        const char *version, const char *sa, json_object *owner) {
        _cleanup_(as_template_freep) struct as_template *st = calloc(1, sizeof(*st));
        json_object *o = NULL;
        bool oom = false;

        if (!st)
                return NULL;
        fill_projected_meta(t, name, ns, version, sa, owner, &st->meta, &st->owners, &st->n_owners, &oom);
        if (oom || fill_template_spec(t, runtime_own_sa(sa), &st->spec) < 0 ||
                as_template_to_json(st, &o) < 0)
                return NULL;
        return o;
}

json_object *runtime_pool_object(const struct template *t, const char *ns, const char *name,
        const char *version, const char *sa, json_object *owner, bool warm) {
        _cleanup_(as_warmpool_freep) struct as_warmpool *wp = calloc(1, sizeof(*wp));
        json_object *o = NULL;
        bool oom = false;

        if (!wp)
                return NULL;
        fill_projected_meta(t, name, ns, version, sa, owner, &wp->meta, &wp->owners, &wp->n_owners, &oom);
        wp->replicas = warm && !runtime_own_sa(sa) ? t->spec.warm_pool_replicas : 0;
        wp->template_ref_name = dup(name, &oom);
        if (oom || as_warmpool_to_json(wp, &o) < 0)
                return NULL;
        return o;
}

json_object *runtime_claim(const char *name, const char *ns, const char *project, const char *pool,
        const char *version, const struct sandbox *sb, json_object *owner) {
        const char *const labels[] = {LABEL_SANDBOX, name, LABEL_TEMPLATE_VER, version, NULL};
        _cleanup_(as_claim_freep) struct as_claim *c = calloc(1, sizeof(*c));
        json_object *o = NULL;
        bool oom = false;

        if (!c)
                return NULL;
        fill_meta(&c->meta, &c->owners, &c->n_owners, name, ns, project, owner, labels, &oom);
        c->warm_pool_ref_name = dup(pool, &oom);
        if (sb->spec.env.n) {
                c->env.set = true;
                c->env.items = calloc(sb->spec.env.n, sizeof(*c->env.items));
                if (!c->env.items)
                        return NULL;
                for (size_t i = 0; i < sb->spec.env.n; i++, c->env.n++) {
                        c->env.items[i].name = dup(sb->spec.env.items[i].name, &oom);
                        /* the claim requires a value; a sandbox's variable without one is set empty */
                        c->env.items[i].value =
                                dup(sb->spec.env.items[i].value ? sb->spec.env.items[i].value : "", &oom);
                }
        }
        if (oom || as_claim_to_json(c, &o) < 0)
                return NULL;
        return o;
}

const char *runtime_policy_problem(struct mbox_operator *op, const struct template *t, const char *ns,
        const char **reason, char *buf, size_t size) {
        char pname[128];
        if (!op_project_of_namespace(op, ns, pname, sizeof(pname))) {
                *reason = "NoProject";
                snprintf(buf, size, "namespace %s belongs to no project", ns);
                return buf;
        }
        _cleanup_json_ json_object *pobj = op_get(op, RES_PROJECT, pname);
        _cleanup_(project_freep) struct project *p = NULL;
        struct merr perr = MERR_INIT;
        if (!pobj || project_from_json(pobj, &p, &perr) < 0) {
                *reason = "NoProject";
                snprintf(buf, size, "project %s of namespace %s is not readable", pname, ns);
                return buf;
        }
        return op_policy_problem(
                p, t, ns, t->meta.namespace ? t->meta.namespace : ns, t->meta.name, reason, buf, size);
}

/* Whether the project that owns ns admits sandboxes of t (policy.c): a pool keeps warm pods only then. */
static bool admits(struct mbox_operator *op, const struct template *t, const char *ns) {
        char buf[512];
        const char *reason = NULL;
        return !runtime_policy_problem(op, t, ns, &reason, buf, sizeof(buf));
}

int runtime_project(struct op_ctx *cx, const struct template *t, json_object *owner, const char *ns,
        const char *sa, char *pool, size_t size, struct merr *err) {
        char version[9];
        int rc = runtime_version(t, sa, version);
        if (rc < 0)
                return merr_set(err, rc, "rendering template %s", t->meta.name);
        runtime_name(t->meta.name, version, pool, size);
        /* a namespace on its way out accepts nothing new; what is there goes with it */
        _cleanup_json_ json_object *nsobj = op_get(cx->op, RES_NAMESPACE, ns);
        if (nsobj && kube_str(nsobj, "metadata.deletionTimestamp"))
                return 0;

        _cleanup_json_ json_object *st = runtime_template_object(t, ns, pool, version, sa, owner);
        if (!st)
                return merr_set(err, -ENOMEM, "rendering the SandboxTemplate of %s", t->meta.name);
        rc = op_ensure(cx, RES_AS_TEMPLATE, st, err);
        if (rc < 0)
                return rc;

        _cleanup_json_ json_object *wp =
                runtime_pool_object(t, ns, pool, version, sa, owner, admits(cx->op, t, ns));
        if (!wp)
                return merr_set(err, -ENOMEM, "rendering the SandboxWarmPool of %s", t->meta.name);
        rc = op_ensure(cx, RES_AS_POOL, wp, err);
        return rc < 0 ? rc : 0;
}
