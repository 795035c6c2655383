/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An EnvironmentTemplate projected into agent-sandbox: a SandboxTemplate and a SandboxWarmPool per
 * namespace that launches it, named <template>-<version>, where the version is a hash of the rendered
 * SandboxTemplate spec. Changing a template therefore makes a new pair instead of editing the one running
 * sandboxes came from; the template controller removes old pairs once no claim uses them.
 *
 * The pod is what Pod Security "restricted" admits: non-root, no privilege escalation, all capabilities
 * dropped, the runtime's default seccomp profile, no ServiceAccount token; the workspace is a PVC per
 * sandbox mounted at the working dir. The SandboxTemplate's network policy is explicit (agent-sandbox's
 * default would block cluster DNS): ingress only from mbox-apiserver, egress to DNS, and to the internet
 * when the template allows it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/template.h"
#include "jsonutil.h"
#include "operator/internal.h"
#include "operator/runtime.h"

#define AS_EXT_GV "extensions.agents.x-k8s.io/v1beta1"

struct preset {
        const char *name, *req_cpu, *req_mem, *lim_cpu, *lim_mem;
};

static const struct preset presets[] = {
        {"Small", "250m", "512Mi", "1", "1Gi"},
        {"Medium", "500m", "1Gi", "2", "2Gi"},
        {"Large", "1", "2Gi", "4", "4Gi"},
};

static void put_str(json_object *o, const char *k, const char *v) {
        if (v)
                json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *strv(const struct api_strv *v) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < v->n; i++)
                json_object_array_add(a, json_object_new_string(v->v[i]));
        return a;
}

static void put_res(json_object *o, const char *k, const struct api_quantity *q, const char *fallback) {
        if (q->text)
                json_object_object_add(o, k, json_object_new_string(q->text));
        else if (fallback)
                json_object_object_add(o, k, json_object_new_string(fallback));
}

static json_object *resources(const struct template *t) {
        const struct preset *p = NULL;
        for (size_t i = 0; t->spec.resource_preset && i < ARRAY_SIZE(presets); i++)
                if (strcmp(presets[i].name, t->spec.resource_preset) == 0)
                        p = &presets[i];
        json_object *r = json_object_new_object(), *req = json_object_new_object(),
                    *lim = json_object_new_object();
        put_res(req, "cpu", &t->spec.resources.requests_cpu, p ? p->req_cpu : NULL);
        put_res(req, "memory", &t->spec.resources.requests_memory, p ? p->req_mem : NULL);
        put_res(lim, "cpu", &t->spec.resources.limits_cpu, p ? p->lim_cpu : NULL);
        put_res(lim, "memory", &t->spec.resources.limits_memory, p ? p->lim_mem : NULL);
        if (json_object_object_length(req))
                json_object_object_add(r, "requests", req);
        else
                json_object_put(req);
        if (json_object_object_length(lim))
                json_object_object_add(r, "limits", lim);
        else
                json_object_put(lim);
        return r;
}

static json_object *restricted_container_sc(void) {
        json_object *sc = json_object_new_object(), *caps = json_object_new_object(),
                    *drop = json_object_new_array(), *seccomp = json_object_new_object();
        json_object_array_add(drop, json_object_new_string("ALL"));
        json_object_object_add(caps, "drop", drop);
        json_object_object_add(seccomp, "type", json_object_new_string("RuntimeDefault"));
        json_object_object_add(sc, "allowPrivilegeEscalation", json_object_new_boolean(false));
        json_object_object_add(sc, "capabilities", caps);
        json_object_object_add(sc, "runAsNonRoot", json_object_new_boolean(true));
        json_object_object_add(sc, "seccompProfile", seccomp);
        return sc;
}

static json_object *pod_sc(void) {
        json_object *sc = json_object_new_object(), *seccomp = json_object_new_object();
        json_object_object_add(seccomp, "type", json_object_new_string("RuntimeDefault"));
        json_object_object_add(sc, "runAsNonRoot", json_object_new_boolean(true));
        json_object_object_add(sc, "runAsUser", json_object_new_int64(1000));
        json_object_object_add(sc, "runAsGroup", json_object_new_int64(1000));
        json_object_object_add(sc, "fsGroup", json_object_new_int64(1000));
        json_object_object_add(sc, "seccompProfile", seccomp);
        return sc;
}

const char *runtime_mount_path(const struct template *t) {
        if (t->spec.has_storage && t->spec.storage.mount_path)
                return t->spec.storage.mount_path;
        return t->spec.working_dir ? t->spec.working_dir : "/workspace";
}

static json_object *container(const struct template *t) {
        json_object *c = json_object_new_object();
        put_str(c, "name", RUNTIME_CONTAINER);
        put_str(c, "image", t->spec.image);
        put_str(c, "imagePullPolicy", t->spec.image_pull_policy);
        if (t->spec.command.n)
                json_object_object_add(c, "command", strv(&t->spec.command));
        if (t->spec.args.n)
                json_object_object_add(c, "args", strv(&t->spec.args));
        put_str(c, "workingDir", t->spec.working_dir ? t->spec.working_dir : "/workspace");
        if (t->spec.env.n) {
                /* only literal values: Secrets cross into sandboxes solely as a Project's policy declares */
                json_object *env = json_object_new_array();
                for (size_t i = 0; i < t->spec.env.n; i++) {
                        if (!t->spec.env.items[i].value)
                                continue;
                        json_object *e = json_object_new_object();
                        put_str(e, "name", t->spec.env.items[i].name);
                        put_str(e, "value", t->spec.env.items[i].value);
                        json_object_array_add(env, e);
                }
                json_object_object_add(c, "env", env);
        }
        json_object_object_add(c, "resources", resources(t));
        if (t->spec.n_ports) {
                json_object *ports = json_object_new_array();
                for (size_t i = 0; i < t->spec.n_ports; i++) {
                        json_object *p = json_object_new_object();
                        put_str(p, "name", t->spec.ports[i].name);
                        json_object_object_add(
                                p, "containerPort", json_object_new_int64(t->spec.ports[i].port));
                        put_str(p, "protocol", t->spec.ports[i].protocol ? t->spec.ports[i].protocol : "TCP");
                        json_object_array_add(ports, p);
                }
                json_object_object_add(c, "ports", ports);
        }
        json_object *mounts = json_object_new_array(), *m = json_object_new_object();
        put_str(m, "name", WORKSPACE_VOLUME);
        put_str(m, "mountPath", runtime_mount_path(t));
        json_object_array_add(mounts, m);
        json_object_object_add(c, "volumeMounts", mounts);
        json_object_object_add(c, "securityContext", restricted_container_sc());
        return c;
}

static json_object *selector(const char *k, const char *v) {
        json_object *s = json_object_new_object(), *m = json_object_new_object();
        if (!k) {
                json_object_put(m);
                return s;
        }
        json_object_object_add(m, k, json_object_new_string(v));
        json_object_object_add(s, "matchLabels", m);
        return s;
}

static json_object *network_policy(const struct template *t, const char *apiserver_ns) {
        json_object *np = json_object_new_object(), *ingress = json_object_new_array(),
                    *egress = json_object_new_array();
        json_object *rule = json_object_new_object(), *from = json_object_new_array(),
                    *peer = json_object_new_object();
        json_object_object_add(
                peer, "namespaceSelector", selector("kubernetes.io/metadata.name", apiserver_ns));
        json_object_object_add(peer, "podSelector", selector("app.kubernetes.io/name", "mbox-apiserver"));
        json_object_array_add(from, peer);
        json_object_object_add(rule, "from", from);
        json_object_array_add(ingress, rule);

        rule = json_object_new_object();
        json_object *to = json_object_new_array(), *ports = json_object_new_array();
        peer = json_object_new_object();
        json_object_object_add(peer, "namespaceSelector", selector(NULL, NULL));
        json_object_object_add(peer, "podSelector", selector("k8s-app", "kube-dns"));
        json_object_array_add(to, peer);
        for (int i = 0; i < 2; i++) {
                json_object *p = json_object_new_object();
                put_str(p, "protocol", i ? "TCP" : "UDP");
                json_object_object_add(p, "port", json_object_new_int64(53));
                json_object_array_add(ports, p);
        }
        json_object_object_add(rule, "to", to);
        json_object_object_add(rule, "ports", ports);
        json_object_array_add(egress, rule);
        if (t->spec.network_egress && strcmp(t->spec.network_egress, "Allowed") == 0) {
                rule = json_object_new_object();
                to = json_object_new_array();
                peer = json_object_new_object();
                json_object *b = json_object_new_object();
                put_str(b, "cidr", "0.0.0.0/0");
                json_object_object_add(peer, "ipBlock", b);
                json_object_array_add(to, peer);
                json_object_object_add(rule, "to", to);
                json_object_array_add(egress, rule);
        }
        json_object_object_add(np, "ingress", ingress);
        json_object_object_add(np, "egress", egress);
        return np;
}

json_object *runtime_template_spec(const struct template *t, const char *apiserver_ns) {
        json_object *spec = json_object_new_object(), *pt = json_object_new_object(),
                    *pmeta = json_object_new_object(), *labels = json_object_new_object(),
                    *pod = json_object_new_object(), *containers = json_object_new_array();
        put_str(labels, LABEL_TEMPLATE, t->meta.name);
        json_object_object_add(pmeta, "labels", labels);
        json_object_object_add(pt, "metadata", pmeta);
        put_str(pod, "serviceAccountName", SANDBOX_SA);
        json_object_object_add(pod, "automountServiceAccountToken", json_object_new_boolean(false));
        json_object_object_add(pod, "enableServiceLinks", json_object_new_boolean(false));
        json_object_object_add(pod, "securityContext", pod_sc());
        put_str(pod, "runtimeClassName", t->spec.runtime_class_name);
        json_object_array_add(containers, container(t));
        json_object_object_add(pod, "containers", containers);
        json_object_object_add(pt, "spec", pod);
        json_object_object_add(spec, "podTemplate", pt);

        json_object *vcts = json_object_new_array(), *vct = json_object_new_object(),
                    *vmeta = json_object_new_object(), *vspec = json_object_new_object(),
                    *modes = json_object_new_array(), *vres = json_object_new_object(),
                    *vreq = json_object_new_object();
        put_str(vmeta, "name", WORKSPACE_VOLUME);
        json_object_array_add(modes, json_object_new_string("ReadWriteOnce"));
        json_object_object_add(vspec, "accessModes", modes);
        put_res(vreq, "storage", &t->spec.storage.size, "1Gi");
        json_object_object_add(vres, "requests", vreq);
        json_object_object_add(vspec, "resources", vres);
        if (t->spec.has_storage)
                put_str(vspec, "storageClassName", t->spec.storage.storage_class_name);
        json_object_object_add(vct, "metadata", vmeta);
        json_object_object_add(vct, "spec", vspec);
        json_object_array_add(vcts, vct);
        json_object_object_add(spec, "volumeClaimTemplates", vcts);
        json_object_object_add(spec, "service", json_object_new_boolean(true));
        json_object_object_add(spec, "networkPolicy", network_policy(t, apiserver_ns));
        put_str(spec, "networkPolicyManagement", "Managed");
        /* a sandbox's spec.env reaches its pod through the claim */
        put_str(spec, "envVarsInjectionPolicy", "Allowed");
        return spec;
}

int runtime_version(const struct template *t, const char *apiserver_ns, char *buf) {
        _cleanup_json_ json_object *spec = runtime_template_spec(t, apiserver_ns);
        if (!spec)
                return -ENOMEM;
        op_hash(json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN), buf);
        return 0;
}

void runtime_name(const char *template_name, const char *version, char *buf, size_t size) {
        /* pool sandboxes append "-xxxxx" and their pods must stay DNS labels (63) */
        snprintf(buf, size, "%.40s-%s", template_name, version);
}

static json_object *projected_meta(
        const struct template *t, const char *name, const char *ns, const char *version, json_object *owner) {
        json_object *meta = op_meta(name, ns, NULL), *labels = json_object_object_get(meta, "labels");
        put_str(labels, LABEL_TEMPLATE, t->meta.name);
        put_str(labels, LABEL_TEMPLATE_NS, t->meta.namespace);
        put_str(labels, LABEL_TEMPLATE_VER, version);
        /* owner references cannot cross namespaces: library projections are removed by the template controller */
        if (owner && strcmp(ns, t->meta.namespace) == 0)
                op_owner_ref(meta, owner, true);
        return meta;
}

int runtime_project(struct op_ctx *cx, const struct template *t, json_object *owner, const char *ns,
        char *pool, size_t size, struct merr *err) {
        const char *apiserver_ns = cx->op->opt.library_namespace;
        char version[9];
        int rc = runtime_version(t, apiserver_ns, version);
        if (rc < 0)
                return merr_set(err, rc, "rendering template %s", t->meta.name);
        runtime_name(t->meta.name, version, pool, size);
        /* a namespace on its way out accepts nothing new; what is there goes with it */
        _cleanup_json_ json_object *nsobj = op_get(cx->op, RES_NAMESPACE, ns);
        if (nsobj && op_str(nsobj, "metadata.deletionTimestamp"))
                return 0;

        _cleanup_json_ json_object *st = json_object_new_object();
        put_str(st, "apiVersion", AS_EXT_GV);
        put_str(st, "kind", "SandboxTemplate");
        json_object_object_add(st, "metadata", projected_meta(t, pool, ns, version, owner));
        json_object_object_add(st, "spec", runtime_template_spec(t, apiserver_ns));
        rc = op_ensure(cx, RES_AS_TEMPLATE, st, err);
        if (rc < 0)
                return rc;

        _cleanup_json_ json_object *wp = json_object_new_object();
        json_object *spec = json_object_new_object(), *ref = json_object_new_object();
        put_str(wp, "apiVersion", AS_EXT_GV);
        put_str(wp, "kind", "SandboxWarmPool");
        json_object_object_add(wp, "metadata", projected_meta(t, pool, ns, version, owner));
        json_object_object_add(spec, "replicas", json_object_new_int64(t->spec.warm_pool_replicas));
        put_str(ref, "name", pool);
        json_object_object_add(spec, "sandboxTemplateRef", ref);
        json_object_object_add(wp, "spec", spec);
        rc = op_ensure(cx, RES_AS_POOL, wp, err);
        return rc < 0 ? rc : 0;
}
