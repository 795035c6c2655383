/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Project controller: the project's namespace (Pod Security "restricted" enforced), the sandbox
 * ServiceAccount without token automount, a default-deny NetworkPolicy with DNS, the project's egress
 * policy and ingress from mbox-apiserver allowed explicitly, ResourceQuota and LimitRange from
 * spec.quota, RoleBindings for spec.members, and status with counts. Deletion removes the project's
 * sandboxes first (each through its own finalizer), then its namespace, and reports progress in status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/project.h"
#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"

#define NP_DENY     "mbox-default-deny"
#define NP_DNS      "mbox-allow-dns"
#define NP_INGRESS  "mbox-allow-apiserver"
#define NP_EGRESS   "mbox-project-egress"
#define NP_INTERNET "mbox-allow-internet"
#define QUOTA_NAME  "mbox-quota"
#define LIMIT_NAME  "mbox-defaults"
/* the ClusterRole (manifests/base/rbac-operator.yaml) and the RoleBinding that give mbox-operator and
 * mbox-apiserver exec, port-forward and logs in a project's namespace */
#define RUNTIME_ROLE "mbox-runtime"

static json_object *obj_new(const char *api_version, const char *kind, json_object *meta) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "apiVersion", json_object_new_string(api_version));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "metadata", meta);
        return o;
}

static json_object *strs(const char *a, const char *b) {
        json_object *arr = json_object_new_array();
        json_object_array_add(arr, json_object_new_string(a));
        if (b)
                json_object_array_add(arr, json_object_new_string(b));
        return arr;
}

static json_object *label_selector(const char *k, const char *v) {
        json_object *sel = json_object_new_object(), *m = json_object_new_object();
        /* the API server drops an empty matchLabels; an empty selector is written as {} to match */
        if (!k) {
                json_object_put(m);
                return sel;
        }
        json_object_object_add(m, k, json_object_new_string(v));
        json_object_object_add(sel, "matchLabels", m);
        return sel;
}

static json_object *np_new(
        const char *name, const char *ns, json_object *owner, const char *types0, const char *types1) {
        json_object *meta = op_meta(name, ns, kube_str(owner, "metadata.name"));
        op_owner_ref(meta, owner, true);
        json_object *np = obj_new("networking.k8s.io/v1", "NetworkPolicy", meta),
                    *spec = json_object_new_object();
        json_object_object_add(spec, "podSelector", json_object_new_object());
        json_object_object_add(spec, "policyTypes", strs(types0, types1));
        json_object_object_add(np, "spec", spec);
        return np;
}

static json_object *port(const char *protocol, int64_t p, int64_t end) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "protocol", json_object_new_string(protocol));
        json_object_object_add(o, "port", json_object_new_int64(p));
        if (end)
                json_object_object_add(o, "endPort", json_object_new_int64(end));
        return o;
}

/* Egress to cluster DNS: kube-dns pods in any namespace, UDP and TCP 53. */
static json_object *np_dns(const char *ns, json_object *owner) {
        json_object *np = np_new(NP_DNS, ns, owner, "Egress", NULL),
                    *spec = json_object_object_get(np, "spec");
        json_object *rules = json_object_new_array(), *rule = json_object_new_object(),
                    *to = json_object_new_array(), *peer = json_object_new_object(),
                    *ports = json_object_new_array();
        json_object_object_add(peer, "namespaceSelector", label_selector(NULL, NULL));
        json_object_object_add(peer, "podSelector", label_selector("k8s-app", "kube-dns"));
        json_object_array_add(to, peer);
        json_object_array_add(ports, port("UDP", 53, 0));
        json_object_array_add(ports, port("TCP", 53, 0));
        json_object_object_add(rule, "to", to);
        json_object_object_add(rule, "ports", ports);
        json_object_array_add(rules, rule);
        json_object_object_add(spec, "egress", rules);
        return np;
}

/* Ingress only from mbox-apiserver, which proxies terminals and previews. */
static json_object *np_ingress(const char *ns, json_object *owner, const char *apiserver_ns) {
        json_object *np = np_new(NP_INGRESS, ns, owner, "Ingress", NULL),
                    *spec = json_object_object_get(np, "spec");
        json_object *rules = json_object_new_array(), *rule = json_object_new_object(),
                    *from = json_object_new_array(), *peer = json_object_new_object();
        json_object_object_add(
                peer, "namespaceSelector", label_selector("kubernetes.io/metadata.name", apiserver_ns));
        json_object_object_add(
                peer, "podSelector", label_selector("app.kubernetes.io/name", "mbox-apiserver"));
        json_object_array_add(from, peer);
        json_object_object_add(rule, "from", from);
        json_object_array_add(rules, rule);
        json_object_object_add(spec, "ingress", rules);
        return np;
}

static json_object *ip_block(const char *cidr, const char *const *except, size_t n) {
        json_object *peer = json_object_new_object(), *b = json_object_new_object();
        json_object_object_add(b, "cidr", json_object_new_string(cidr));
        if (n) {
                json_object *ex = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(ex, json_object_new_string(except[i]));
                json_object_object_add(b, "except", ex);
        }
        json_object_object_add(peer, "ipBlock", b);
        return peer;
}

/* A pod selector on the egress class label: the classes listed (NULL-terminated). */
static json_object *egress_classes(const char *const *classes) {
        json_object *sel = json_object_new_object(), *exprs = json_object_new_array(),
                    *e = json_object_new_object(), *values = json_object_new_array();
        for (; *classes; classes++)
                json_object_array_add(values, json_object_new_string(*classes));
        json_object_object_add(e, "key", json_object_new_string(LABEL_EGRESS));
        json_object_object_add(e, "operator", json_object_new_string("In"));
        json_object_object_add(e, "values", values);
        json_object_array_add(exprs, e);
        json_object_object_add(sel, "matchExpressions", exprs);
        return sel;
}

/* The project's egress CIDRs, for sandboxes of templates with egress Restricted or Allowed. NULL when none. */
static json_object *np_egress(const struct project *p, const char *ns, json_object *owner) {
        static const char *const classes[] = {"Restricted", "Allowed", NULL};
        if (p->spec.policy.network.n_egress == 0)
                return NULL;
        json_object *np = np_new(NP_EGRESS, ns, owner, "Egress", NULL),
                    *spec = json_object_object_get(np, "spec");
        json_object *rules = json_object_new_array();
        json_object_object_add(spec, "podSelector", egress_classes(classes));
        for (size_t i = 0; i < p->spec.policy.network.n_egress; i++) {
                const struct project_egress *e = &p->spec.policy.network.egress[i];
                json_object *rule = json_object_new_object(), *to = json_object_new_array();
                json_object_array_add(to, ip_block(e->cidr, (const char *const *) e->except.v, e->except.n));
                json_object_object_add(rule, "to", to);
                if (e->n_ports) {
                        json_object *ports = json_object_new_array();
                        for (size_t j = 0; j < e->n_ports; j++)
                                json_object_array_add(
                                        ports, port(e->ports[j].protocol ? e->ports[j].protocol : "TCP",
                                                       e->ports[j].port, e->ports[j].end_port));
                        json_object_object_add(rule, "ports", ports);
                }
                json_object_array_add(rules, rule);
        }
        json_object_object_add(spec, "egress", rules);
        return np;
}

/* The public internet, for sandboxes of templates with egress Allowed when the project allows it: every
 * address but the private, shared (CGNAT), loopback and link-local ranges (cloud metadata among them), and
 * the operator's --internal-cidrs (the cluster's pod and service ranges and the API server's address,
 * where they are public). The project reaches any of those only by listing it in spec.policy.network.egress.
 * NULL when the project does not allow the internet. */
static json_object *np_internet(
        const struct project *p, const char *internal, const char *ns, json_object *owner) {
        static const char *const classes[] = {"Allowed", NULL};
        static const char *const blocked4[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"};
        static const char *const blocked6[] = {"fc00::/7", "fe80::/10", "::1/128"};
        const char *ex4[32], *ex6[32];
        char list[1024], *save = NULL;
        size_t n4 = 0, n6 = 0;
        if (!p->spec.policy.network.allow_internet)
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(blocked4); i++)
                ex4[n4++] = blocked4[i];
        for (size_t i = 0; i < ARRAY_SIZE(blocked6); i++)
                ex6[n6++] = blocked6[i];
        snprintf(list, sizeof(list), "%s", internal ? internal : "");
        for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                bool v6 = strchr(c, ':') != NULL;
                if (v6 && n6 < ARRAY_SIZE(ex6))
                        ex6[n6++] = c;
                else if (!v6 && n4 < ARRAY_SIZE(ex4))
                        ex4[n4++] = c;
        }
        json_object *np = np_new(NP_INTERNET, ns, owner, "Egress", NULL),
                    *spec = json_object_object_get(np, "spec");
        json_object *rules = json_object_new_array(), *rule = json_object_new_object(),
                    *to = json_object_new_array();
        json_object_object_add(spec, "podSelector", egress_classes(classes));
        json_object_array_add(to, ip_block("0.0.0.0/0", ex4, n4));
        json_object_array_add(to, ip_block("::/0", ex6, n6));
        json_object_object_add(rule, "to", to);
        json_object_array_add(rules, rule);
        json_object_object_add(spec, "egress", rules);
        return np;
}

static void put_quantity(json_object *obj, const char *key, const struct api_quantity *q) {
        char buf[64];
        if (!q->text)
                return;
        /* the API server stores quantities of built-in kinds in canonical form; compare like with like */
        quantity_format(&q->q, buf, sizeof(buf));
        json_object_object_add(obj, key, json_object_new_string(buf));
}

static json_object *quota(const struct project *p, const char *ns, json_object *owner) {
        if (!p->spec.has_quota ||
                (!p->spec.quota.cpu.text && !p->spec.quota.memory.text && !p->spec.quota.storage.text))
                return NULL;
        json_object *meta = op_meta(QUOTA_NAME, ns, p->meta.name);
        op_owner_ref(meta, owner, true);
        json_object *o = obj_new("v1", "ResourceQuota", meta), *spec = json_object_new_object(),
                    *hard = json_object_new_object();
        put_quantity(hard, "requests.cpu", &p->spec.quota.cpu);
        put_quantity(hard, "requests.memory", &p->spec.quota.memory);
        put_quantity(hard, "requests.storage", &p->spec.quota.storage);
        json_object_object_add(spec, "hard", hard);
        json_object_object_add(o, "spec", spec);
        return o;
}

/* Requests for containers that name none, so that a CPU or memory quota never rejects a pod for it. */
static json_object *limit_range(const struct project *p, const char *ns, json_object *owner) {
        json_object *meta = op_meta(LIMIT_NAME, ns, p->meta.name);
        op_owner_ref(meta, owner, true);
        json_object *o = obj_new("v1", "LimitRange", meta), *spec = json_object_new_object(),
                    *limits = json_object_new_array(), *item = json_object_new_object(),
                    *req = json_object_new_object();
        json_object_object_add(req, "cpu", json_object_new_string("100m"));
        json_object_object_add(req, "memory", json_object_new_string("128Mi"));
        json_object_object_add(item, "type", json_object_new_string("Container"));
        json_object_object_add(item, "defaultRequest", req);
        json_object_array_add(limits, item);
        json_object_object_add(spec, "limits", limits);
        json_object_object_add(o, "spec", spec);
        return o;
}

static const char *role_cluster_role(const char *role) {
        if (strcmp(role, "Admin") == 0)
                return "mbox-admin";
        if (strcmp(role, "Developer") == 0)
                return "mbox-developer";
        return "mbox-viewer";
}

/* A RoleBinding in ns to ClusterRole role for subjects (taken), owned by the project. */
static json_object *binding(const char *project, const char *ns, json_object *owner, const char *name,
        const char *role, json_object *subjects) {
        json_object *meta = op_meta(name, ns, project);
        op_owner_ref(meta, owner, true);
        json_object *o = obj_new("rbac.authorization.k8s.io/v1", "RoleBinding", meta),
                    *ref = json_object_new_object();
        json_object_object_add(ref, "apiGroup", json_object_new_string("rbac.authorization.k8s.io"));
        json_object_object_add(ref, "kind", json_object_new_string("ClusterRole"));
        json_object_object_add(ref, "name", json_object_new_string(role));
        json_object_object_add(o, "roleRef", ref);
        json_object_object_add(o, "subjects", subjects);
        return o;
}

static json_object *subject(const char *kind, const char *name, const char *ns) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "kind", json_object_new_string(kind));
        json_object_object_add(s, "name", json_object_new_string(name));
        if (strcmp(kind, "ServiceAccount") == 0)
                json_object_object_add(s, "namespace", json_object_new_string(ns));
        else
                json_object_object_add(s, "apiGroup", json_object_new_string("rbac.authorization.k8s.io"));
        return s;
}

static json_object *role_binding(const struct project *p, const struct project_member *m, const char *ns,
        json_object *owner, char *name, size_t size) {
        char id[512], h[9];
        snprintf(id, sizeof(id), "%s/%s/%s/%s", m->kind, m->namespace ? m->namespace : "", m->name, m->role);
        snprintf(name, size, "mbox-%s-%s", role_cluster_role(m->role) + 5, op_hash(id, h));
        json_object *subjects = json_object_new_array();
        json_object_array_add(subjects, subject(m->kind, m->name, m->namespace ? m->namespace : ns));
        return binding(p->meta.name, ns, owner, name, role_cluster_role(m->role), subjects);
}

/* mbox's own access to the project's pods (exec, port-forward, logs: tasks, validation, terminals,
 * previews), granted here and nowhere else: the ClusterRole RUNTIME_ROLE is bound to nobody cluster-wide. */
static json_object *runtime_binding(
        const struct operator_options *o, const char *project, const char *ns, json_object *owner) {
        json_object *subjects = json_object_new_array();
        json_object_array_add(subjects, subject("ServiceAccount", "mbox-operator", o->leader_namespace));
        json_object_array_add(subjects, subject("ServiceAccount", "mbox-apiserver", o->leader_namespace));
        return binding(project, ns, owner, RUNTIME_ROLE, RUNTIME_ROLE, subjects);
}

static int ensure_owned(struct op_ctx *cx, enum op_res res, json_object *desired, struct merr *err) {
        _cleanup_json_ json_object *d = desired;
        return d ? op_ensure(cx, res, d, err) : 0;
}

/* Whether the namespace carries an owner reference to this project: the project created it. */
static bool created_by(json_object *nsobj, json_object *project) {
        json_object *refs = NULL;
        const char *uid = kube_str(project, "metadata.uid");
        refs = kube_field(nsobj, "metadata.ownerReferences");
        for (size_t i = 0; uid && refs && json_object_is_type(refs, json_type_array) &&
                           i < json_object_array_length(refs);
                i++) {
                const char *u = kube_str(json_object_array_get_idx(refs, i), "uid");
                if (u && strcmp(u, uid) == 0)
                        return true;
        }
        return false;
}

/* Whether the project may use namespace ns: 1 with the reason in why when it may not, 0 when it may (the
 * namespace, when it exists, in *nsobj), or a negative errno. The cluster's (kube-*) and the operator's own
 * namespaces never; an existing namespace only when it is labelled mbox.dev/project=<project> (an
 * administrator's consent to adoption) or the project created it. The informer sees only the namespaces
 * mbox made, so one missing from it is looked up. */
static int namespace_refusal(struct op_ctx *cx, json_object *project, const char *name, const char *ns,
        json_object **nsobj, char *why, size_t size, struct merr *err) {
        const struct operator_options *o = &cx->op->opt;
        if (strncmp(ns, "kube-", 5) == 0 || strcmp(ns, o->leader_namespace) == 0 ||
                strcmp(ns, o->library_namespace) == 0) {
                snprintf(why, size,
                        "namespace %s is reserved for the cluster or for mbox: choose another spec.namespace",
                        ns);
                return 1;
        }
        *nsobj = op_get(cx->op, RES_NAMESPACE, ns);
        if (!*nsobj) {
                struct kube_resource r = op_resource(RES_NAMESPACE, NULL, ns);
                int rc = kube_get(cx->c, &r, nsobj, err);
                if (rc == -ENOENT) {
                        merr_clear(err);
                        return 0;
                }
                if (rc < 0)
                        return merr_wrap(err, rc, "looking up namespace %s", ns);
        }
        const char *owner = kube_label(*nsobj, LABEL_PROJECT);
        if (owner && strcmp(owner, name) == 0)
                return 0;
        if (created_by(*nsobj, project))
                return 0;
        if (owner)
                snprintf(why, size, "namespace %s belongs to project %s: choose another spec.namespace", ns,
                        owner);
        else
                snprintf(why, size,
                        "namespace %s exists and is not labelled %s=%s: label it to let the project adopt "
                        "it, or "
                        "choose another spec.namespace",
                        ns, LABEL_PROJECT, name);
        return 1;
}

struct counts {
        int64_t all, running, terminating;
};

static void count_fn(const char *key, json_object *obj, void *ud) {
        struct counts *c = ud;
        const char *phase = kube_str(obj, "status.phase");
        (void) key;
        c->all++;
        if (phase && strcmp(phase, "Running") == 0)
                c->running++;
        if (kube_str(obj, "metadata.deletionTimestamp"))
                c->terminating++;
}

/* Writes the status the project shows now: counts from the caches and the Ready (and NamespaceReady)
 * conditions; prev: the status it shows (lastTransitionTime carries over from it). */
static int write_status(struct op_ctx *cx, json_object *obj, const struct project_status *prev,
        const char *ns, bool ready, const char *reason, const char *message, struct merr *err) {
        struct counts tpl = {0};
        int64_t gen = 0;
        char running[320];
        struct timestamp now;
        snprintf(running, sizeof(running), "%s/Running", ns);
        /* from the index: this runs once a second while sandboxes change, and a namespace may hold
         * thousands of them */
        size_t sandboxes = informer_index_count(cx->op->inf[RES_SANDBOX], INDEX_PHASE, ns),
               running_sandboxes = informer_index_count(cx->op->inf[RES_SANDBOX], INDEX_PHASE, running);
        informer_foreach(cx->op->inf[RES_TEMPLATE], ns, count_fn, &tpl);
        json_get_int64(obj, "metadata.generation", JSON_OPTIONAL, &gen, NULL);
        timestamp_now(&now);
        now.nsec = 0;
        struct project_status st = {.has_observed_generation = true,
                .observed_generation = gen,
                .namespace = strdup(ns),
                .sandboxes = (int64_t) sandboxes,
                .running_sandboxes = (int64_t) running_sandboxes,
                .templates = tpl.all};
        const struct api_conditions *pc = prev ? &prev->conditions : NULL;
        bool oom = !st.namespace;
        oom |= api_condition_next(
                       &st.conditions, pc, "Ready", ready ? "True" : "False", reason, message, gen, &now) < 0;
        /* NamespaceReady: False while the namespace is refused, True once everything is in place */
        if (strcmp(reason, "NamespaceConflict") == 0)
                oom |= api_condition_next(
                               &st.conditions, pc, "NamespaceReady", "False", reason, message, gen, &now) < 0;
        else if (ready)
                oom |= api_condition_next(&st.conditions, pc, "NamespaceReady", "True", "NamespaceReady",
                               "the project's namespace is in place", gen, &now) < 0;
        _cleanup_json_ json_object *j = NULL;
        int rc = oom ? -ENOMEM : project_status_emit(&st, &j);
        project_status_release(&st);
        if (rc < 0)
                return merr_set(err, rc, "building the status of project %s", kube_str(obj, "metadata.name"));
        return op_write_status(cx, RES_PROJECT, obj, j, err);
}

/* Deletion: sandboxes first (their finalizers release the runtime), then the namespace, then the
 * finalizer. Progress goes to status; each step waits for the caches to show it done. */
static int finalize(
        struct op_ctx *cx, json_object *obj, const struct project *p, const char *ns, struct merr *err) {
        struct counts sb = {0};
        char msg[256];
        int rc;
        if (!op_has_finalizer(obj))
                return 0;
        /* a project that never owned its namespace (refused: another project's, or unlabelled) touches
         * nothing in it on its way out */
        _cleanup_json_ json_object *owned = op_get(cx->op, RES_NAMESPACE, ns);
        const char *owner = owned ? kube_label(owned, LABEL_PROJECT) : NULL;
        if (!owner || strcmp(owner, p->meta.name) != 0) {
                rc = op_set_finalizer(cx, RES_PROJECT, obj, false, err);
                return rc < 0 ? rc : 0;
        }
        informer_foreach(cx->op->inf[RES_SANDBOX], ns, count_fn, &sb);
        if (sb.all > 0) {
                if (sb.terminating < sb.all) {
                        op_event(cx, obj, "Normal", "DeletingSandboxes",
                                "Deleting %lld sandboxes in namespace %s",
                                (long long) (sb.all - sb.terminating), ns);
                        rc = op_prune(cx, RES_SANDBOX, ns, NULL, NULL, err);
                        if (rc < 0)
                                return rc;
                }
                snprintf(msg, sizeof(msg), "waiting for %lld sandboxes to be deleted", (long long) sb.all);
                cx->requeue_after_ns = 2000000000;
                rc = write_status(cx, obj, &p->status, ns, false, "Deleting", msg, err);
                return rc < 0 ? rc : 0;
        }
        _cleanup_json_ json_object *nsobj = op_get(cx->op, RES_NAMESPACE, ns);
        /* only a namespace the project created goes with it; an adopted one stays */
        if (nsobj && created_by(nsobj, obj)) {
                if (!kube_str(nsobj, "metadata.deletionTimestamp")) {
                        rc = op_delete(cx, RES_NAMESPACE, NULL, ns, err);
                        if (rc < 0)
                                return rc;
                        op_event(cx, obj, "Normal", "DeletingNamespace", "Deleting namespace %s", ns);
                }
                snprintf(msg, sizeof(msg), "waiting for namespace %s to be deleted", ns);
                cx->requeue_after_ns = 2000000000;
                rc = write_status(cx, obj, &p->status, ns, false, "Deleting", msg, err);
                return rc < 0 ? rc : 0;
        }
        rc = op_set_finalizer(cx, RES_PROJECT, obj, false, err);
        return rc < 0 ? rc : 0;
}

int op_reconcile_project(struct op_ctx *cx, const char *key, struct merr *err) {
        _cleanup_json_ json_object *obj = op_get(cx->op, RES_PROJECT, key);
        _cleanup_(project_freep) struct project *p = NULL;
        char nsbuf[128];
        int rc;
        if (!obj)
                return 0;
        struct merr perr = MERR_INIT;
        if (project_from_json(obj, &p, &perr) < 0) {
                /* the API server validated it; a mismatch means a newer schema than this operator knows */
                struct project_status prev = {0};
                op_event(cx, obj, "Warning", "InvalidSpec", "%s", merr_msg(&perr));
                (void) project_status_from_json(obj, &prev, NULL);
                int w = write_status(cx, obj, &prev, kube_str(obj, "metadata.name"), false, "InvalidSpec",
                        merr_msg(&perr), err);
                project_status_release(&prev);
                return w;
        }
        op_records_saw_project(cx->op, p);
        const char *ns = project_namespace(p, nsbuf, sizeof(nsbuf));
        if (kube_str(obj, "metadata.deletionTimestamp"))
                return finalize(cx, obj, p, ns, err);

        _cleanup_json_ json_object *nsobj = NULL;
        char why[320];
        rc = namespace_refusal(cx, obj, p->meta.name, ns, &nsobj, why, sizeof(why), err);
        if (rc < 0)
                return rc;
        if (rc > 0) {
                op_event(cx, obj, "Warning", "NamespaceConflict", "%s", why);
                rc = write_status(cx, obj, &p->status, ns, false, "NamespaceConflict", why, err);
                return rc < 0 ? rc : 0;
        }
        /* the finalizer only once the namespace is the project's: a refused project has nothing to clean */
        rc = op_set_finalizer(cx, RES_PROJECT, obj, true, err);
        if (rc < 0)
                return rc;

        json_object *meta = op_meta(ns, NULL, p->meta.name), *labels = json_object_object_get(meta, "labels");
        json_object_object_add(
                labels, "pod-security.kubernetes.io/enforce", json_object_new_string("restricted"));
        json_object_object_add(
                labels, "pod-security.kubernetes.io/enforce-version", json_object_new_string("latest"));
        /* the owner reference marks a namespace the project created: it is deleted with the project (and
         * by the garbage collector); an adopted namespace gets none */
        bool created = !nsobj;
        if (created || created_by(nsobj, obj))
                op_owner_ref(meta, obj, false);
        rc = ensure_owned(cx, RES_NAMESPACE, obj_new("v1", "Namespace", meta), err);
        if (rc < 0)
                return rc;
        if (created && rc > 0)
                op_event(cx, obj, "Normal", "NamespaceCreated", "Created namespace %s", ns);

        meta = op_meta(SANDBOX_SA, ns, p->meta.name);
        op_owner_ref(meta, obj, true);
        json_object *sa = obj_new("v1", "ServiceAccount", meta);
        json_object_object_add(sa, "automountServiceAccountToken", json_object_new_boolean(false));
        if ((rc = ensure_owned(cx, RES_SERVICEACCOUNT, sa, err)) < 0)
                return rc;

        const char *nps[6] = {NP_DENY, NP_INGRESS};
        size_t n_nps = 2;
        if ((rc = ensure_owned(cx, RES_NETWORKPOLICY, np_new(NP_DENY, ns, obj, "Ingress", "Egress"), err)) <
                        0 ||
                (rc = ensure_owned(
                         cx, RES_NETWORKPOLICY, np_ingress(ns, obj, cx->op->opt.library_namespace), err)) < 0)
                return rc;
        if (p->spec.policy.network.allow_dns) {
                nps[n_nps++] = NP_DNS;
                if ((rc = ensure_owned(cx, RES_NETWORKPOLICY, np_dns(ns, obj), err)) < 0)
                        return rc;
        }
        json_object *egress = np_egress(p, ns, obj);
        if (egress) {
                nps[n_nps++] = NP_EGRESS;
                if ((rc = ensure_owned(cx, RES_NETWORKPOLICY, egress, err)) < 0)
                        return rc;
        }
        json_object *internet = np_internet(p, cx->op->opt.internal_cidrs, ns, obj);
        if (internet) {
                nps[n_nps++] = NP_INTERNET;
                if ((rc = ensure_owned(cx, RES_NETWORKPOLICY, internet, err)) < 0)
                        return rc;
        }
        if ((rc = op_prune(cx, RES_NETWORKPOLICY, ns, p->meta.name, nps, err)) < 0)
                return rc;

        json_object *q = quota(p, ns, obj);
        const char *quotas[2] = {q ? QUOTA_NAME : NULL};
        if ((rc = ensure_owned(cx, RES_RESOURCEQUOTA, q, err)) < 0 ||
                (rc = op_prune(cx, RES_RESOURCEQUOTA, ns, p->meta.name, quotas, err)) < 0)
                return rc;
        if ((rc = ensure_owned(cx, RES_LIMITRANGE, limit_range(p, ns, obj), err)) < 0)
                return rc;

        /* mbox's runtime access, and one RoleBinding per member; bindings of removed members go */
        char names[64][80];
        const char *keep[66] = {RUNTIME_ROLE};
        size_t n_keep = 0;
        if ((rc = ensure_owned(
                     cx, RES_ROLEBINDING, runtime_binding(&cx->op->opt, p->meta.name, ns, obj), err)) < 0)
                return rc;
        for (size_t i = 0; i < p->spec.n_members && n_keep < 64; i++) {
                rc = ensure_owned(cx, RES_ROLEBINDING,
                        role_binding(p, &p->spec.members[i], ns, obj, names[n_keep], sizeof(names[n_keep])),
                        err);
                if (rc < 0)
                        return rc;
                keep[1 + n_keep] = names[n_keep];
                n_keep++;
        }
        if ((rc = op_prune(cx, RES_ROLEBINDING, ns, p->meta.name, keep, err)) < 0)
                return rc;

        rc = write_status(cx, obj, &p->status, ns, true, "Provisioned",
                "namespace, policies and bindings are in place", err);
        return rc < 0 ? rc : 0;
}
