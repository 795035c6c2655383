/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator's runtime: one informer per watched resource (owned children are watched through the
 * managed-by label, so the caches hold only what mbox made; agent-sandbox's Pods and PVCs through its
 * name-hash label, metadata only), a work queue per controller, and workers. Informer handlers only route
 * keys: a child's change enqueues its owner (a namespace's policy objects their Project, a claim its mbox
 * Sandbox, an agent-sandbox Sandbox its claim's mbox Sandbox, a deleted Pod or PVC the sandbox waiting for
 * it, a projected SandboxTemplate or pool its EnvironmentTemplate); everything else happens in reconciles,
 * which read the caches and write only what differs (apply.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "kube/pool.h"
#include "kube/transport.h"
#include "store/store.h"
#include "timestamp.h"

#define MANAGED LABEL_MANAGED_BY "=" OP_FIELD_MANAGER /* only what mbox-operator made */
const struct op_res_info op_res_info[RES__MAX] = {
        [RES_PROJECT] = {"mbox.dev", "v1alpha1", "projects", "Project", false, NULL},
        [RES_TEMPLATE] = {"mbox.dev", "v1alpha1", "environmenttemplates", "EnvironmentTemplate", true, NULL},
        [RES_SANDBOX] = {"mbox.dev", "v1alpha1", "sandboxes", "Sandbox", true, NULL},
        [RES_NAMESPACE] = {"", "v1", "namespaces", "Namespace", false, MANAGED},
        [RES_SERVICEACCOUNT] = {"", "v1", "serviceaccounts", "ServiceAccount", true, MANAGED},
        [RES_NETWORKPOLICY] = {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, MANAGED},
        [RES_RESOURCEQUOTA] = {"", "v1", "resourcequotas", "ResourceQuota", true, MANAGED},
        [RES_LIMITRANGE] = {"", "v1", "limitranges", "LimitRange", true, MANAGED},
        [RES_ROLEBINDING] = {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, MANAGED},
        [RES_AS_TEMPLATE] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxtemplates", "SandboxTemplate",
                true, MANAGED},
        [RES_AS_POOL] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxwarmpools", "SandboxWarmPool", true,
                MANAGED},
        [RES_AS_CLAIM] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxclaims", "SandboxClaim", true,
                MANAGED},
        /* pool Sandboxes and claimed ones carry no label of ours: all of them are watched */
        [RES_AS_SANDBOX] = {"agents.x-k8s.io", "v1beta1", "sandboxes", "Sandbox", true, NULL},
        [RES_TASK] = {"mbox.dev", "v1alpha1", "executiontasks", "ExecutionTask", true, NULL},
        [RES_POD] = {"", "v1", "pods", "Pod", true, AS_NAME_HASH, true},
        [RES_PVC] = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, AS_NAME_HASH, true},
};

static const char *const ctl_names[CTL__MAX] = {"project", "template", "sandbox", "task"};
static const op_reconcile_fn ctl_fns[CTL__MAX] = {
        op_reconcile_project,
        op_reconcile_template,
        op_reconcile_sandbox,
        op_reconcile_task,
};
static const enum op_res ctl_primary[CTL__MAX] = {RES_PROJECT, RES_TEMPLATE, RES_SANDBOX, RES_TASK};

/* The key of the EnvironmentTemplate a projected SandboxTemplate comes from. */
static void template_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *t = kube_label(obj, LABEL_TEMPLATE), *tns = kube_label(obj, LABEL_TEMPLATE_NS);
        char v[300];
        (void) ud;
        if (t && tns && snprintf(v, sizeof(v), "%s/%s", tns, t) < (int) sizeof(v))
                emit(v, ectx);
}

/* INDEX_RUNTIME of a sandbox Pod or PVC (by its label), into buf; NULL when it has none. */
static const char *pod_runtime_value(json_object *obj, char *buf, size_t size) {
        const char *ns = kube_str(obj, "metadata.namespace"), *hash = kube_label(obj, AS_NAME_HASH);
        if (!ns || !hash || snprintf(buf, size, "%s/%s", ns, hash) >= (int) size)
                return NULL;
        return buf;
}

static void runtime_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        char v[300];
        (void) ud;
        if (pod_runtime_value(obj, v, sizeof(v)))
                emit(v, ectx);
}

/* INDEX_RUNTIME of an mbox Sandbox: the agent-sandbox Sandbox it recorded, or its own name, which the cold
 * path gives the claim's Sandbox. */
static void sandbox_runtime_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *ns = kube_str(obj, "metadata.namespace"), *as_name = kube_str(obj, "status.sandboxName");
        char v[300];
        (void) ud;
        if (!as_name)
                as_name = kube_str(obj, "metadata.name");
        if (ns && as_name && op_runtime_index_value(ns, as_name, v, sizeof(v)))
                emit(v, ectx);
}

static void sandbox_phase_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *ns = kube_str(obj, "metadata.namespace"), *phase = kube_str(obj, "status.phase");
        char v[300];
        (void) ud;
        if (phase)
                emit(phase, ectx);
        if (!ns)
                return;
        emit(ns, ectx);
        if (phase && snprintf(v, sizeof(v), "%s/%s", ns, phase) < (int) sizeof(v))
                emit(v, ectx);
}

static void sandbox_waiting_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *ns = kube_str(obj, "metadata.namespace");
        (void) ud;
        if (ns && op_sandbox_waits(obj))
                emit(ns, ectx);
}

/* The event recorder's sender reports what the API server refused (Events are written in the background). */
static void event_failed(const char *reason, int error, const char *message, void *ud) {
        (void) ud;
        log_warn("recording an event failed", "reason", reason, "error", strerror(error), "message", message);
}

static int load_config(struct mbox_operator *op, struct kube_config **ret, struct merr *err) {
        if (op->opt.kubeconfig)
                return kube_config_load(op->opt.kubeconfig, op->opt.context, ret, err);
        return kube_config_default(op->opt.context, ret, err);
}

#define WRITTEN_TTL_MS 10000 /* a remembered write the watch has not confirmed by then is dropped */

struct op_written {
        uint64_t rv;
        int64_t at_ms;
        char text[];
};

static uint64_t rv_of(json_object *obj) {
        const char *s = kube_str(obj, "metadata.resourceVersion");
        char *end = NULL;
        errno = 0;
        unsigned long long v = s ? strtoull(s, &end, 10) : 0;
        return s && *s && end && !*end && errno == 0 ? (uint64_t) v : 0;
}

/* The cached object, or the newer one a write of ours returned. Only an object the cache has is replaced: a
 * remembered write never brings back an object that has since gone. */
json_object *op_get(struct mbox_operator *op, enum op_res res, const char *key) {
        if (!op->inf[res])
                return NULL;
        json_object *obj = informer_get(op->inf[res], key);
        if (!op->written[res])
                return obj;
        pthread_mutex_lock(&op->written_lock);
        struct op_written *w = strmap_get(op->written[res], key);
        if (w) {
                uint64_t rv = obj ? rv_of(obj) : 0;
                if (!obj || rv == 0 || rv >= w->rv || timestamp_monotonic_ms() - w->at_ms > WRITTEN_TTL_MS)
                        strmap_remove(op->written[res], key); /* the cache caught up, or never will */
                else {
                        json_object *mine = json_tokener_parse(w->text);
                        if (mine) {
                                json_object_put(obj);
                                obj = mine;
                        }
                }
        }
        pthread_mutex_unlock(&op->written_lock);
        return obj;
}

void op_remember(struct mbox_operator *op, enum op_res res, json_object *written) {
        char key[512];
        uint64_t rv = rv_of(written);
        if (!written || !op->written[res] || !rv || kube_object_key(written, key, sizeof(key)) < 0)
                return;
        json_object *meta = NULL;
        if (json_object_object_get_ex(written, "metadata", &meta))
                json_object_object_del(meta, "managedFields"); /* as the informer caches it */
        const char *text = json_object_to_json_string_ext(
                written, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t n = strlen(text);
        struct op_written *w = malloc(sizeof(*w) + n + 1);
        if (!w)
                return;
        w->rv = rv;
        w->at_ms = timestamp_monotonic_ms();
        memcpy(w->text, text, n + 1);
        pthread_mutex_lock(&op->written_lock);
        if (strmap_put(op->written[res], key, w) < 0)
                free(w);
        pthread_mutex_unlock(&op->written_lock);
}

void op_enqueue(struct mbox_operator *op, enum op_ctl ctl, const char *key) {
        if (workqueue_add(op->queue[ctl], key) == -ENOMEM)
                log_error("out of memory queueing a key", "key", key);
}

/* Ahead of every waiting key: a new sandbox's claim is what its user waits for, while the keys before it
 * are mostly status to catch up on. */
static void enqueue_first(struct mbox_operator *op, enum op_ctl ctl, const char *key) {
        if (workqueue_add_first(op->queue[ctl], key) == -ENOMEM)
                log_error("out of memory queueing a key", "key", key);
}

void op_enqueue_after(struct mbox_operator *op, enum op_ctl ctl, const char *key, int64_t delay_ns) {
        if (workqueue_add_after(op->queue[ctl], key, delay_ns) == -ENOMEM)
                log_error("out of memory queueing a key", "key", key);
}

static void enqueue_sandbox_fn(const char *key, json_object *obj, void *ud) {
        (void) obj;
        op_enqueue(ud, CTL_SANDBOX, key);
}

static void enqueue_template_fn(const char *key, json_object *obj, void *ud) {
        (void) obj;
        op_enqueue(ud, CTL_TEMPLATE, key);
}

bool op_sandbox_waits(json_object *obj) {
        const char *reason = kube_str(obj, "status.reason");
        if (kube_str(obj, "metadata.deletionTimestamp"))
                return false;
        return !kube_str(obj, "status.claimName") || (reason && strcmp(reason, "QuotaExceeded") == 0);
}

bool op_sandbox_frees_room(json_object *old_obj, json_object *new_obj) {
        if (kube_str(new_obj, "metadata.deletionTimestamp"))
                return !kube_str(old_obj, "metadata.deletionTimestamp");
        const char *a = kube_str(old_obj, "status.phase"), *b = kube_str(new_obj, "status.phase");
        if (!old_obj || !b || (a && strcmp(a, b) == 0))
                return false;
        return strcmp(b, "Stopped") == 0 || strcmp(b, "Expired") == 0;
}

static void enqueue_waiting_fn(const char *key, json_object *obj, void *ud) {
        if (op_sandbox_waits(obj))
                op_enqueue(ud, CTL_SANDBOX, key);
}

/* Enqueues the mbox Sandboxes that have value in index, without reading them. */
static void enqueue_sandboxes_by(struct mbox_operator *op, const char *index, const char *value) {
        char **keys = NULL;
        if (informer_index_keys(op->inf[RES_SANDBOX], index, value, &keys) > 0)
                for (char **k = keys; *k; k++)
                        op_enqueue(op, CTL_SANDBOX, *k);
        informer_keys_free(keys);
}

void op_enqueue_sandboxes(struct mbox_operator *op, const char *ns, bool waiting_only) {
        /* a namespace's waiting sandboxes come from an index: a deletion wakes them without a scan */
        if (waiting_only && ns)
                enqueue_sandboxes_by(op, INDEX_WAITING, ns);
        else
                informer_foreach(
                        op->inf[RES_SANDBOX], ns, waiting_only ? enqueue_waiting_fn : enqueue_sandbox_fn, op);
}

const char *op_project_of_namespace(struct mbox_operator *op, const char *ns, char *buf, size_t size) {
        _cleanup_json_ json_object *nsobj = op_get(op, RES_NAMESPACE, ns);
        const char *v = nsobj ? kube_label(nsobj, LABEL_PROJECT) : NULL;
        if (!v)
                return NULL;
        snprintf(buf, size, "%s", v);
        return buf;
}

/* The namespace a Project owns, as project_namespace() computes it, from the raw object. */
static const char *project_ns(json_object *obj, char *buf, size_t size) {
        const char *ns = kube_str(obj, "spec.namespace");
        if (ns)
                return ns;
        snprintf(buf, size, "mbox-%s", kube_str(obj, "metadata.name") ? kube_str(obj, "metadata.name") : "");
        return buf;
}

/* Whether an update changed more than status: a new generation or the start of deletion. */
static bool spec_changed(json_object *old_obj, json_object *new_obj) {
        int64_t a = 0, b = 0;
        if (!old_obj)
                return true;
        json_get_int64(old_obj, "metadata.generation", JSON_OPTIONAL, &a, NULL);
        json_get_int64(new_obj, "metadata.generation", JSON_OPTIONAL, &b, NULL);
        return a != b || !kube_str(old_obj, "metadata.deletionTimestamp") !=
                                 !kube_str(new_obj, "metadata.deletionTimestamp");
}

static bool str_differ(const char *a, const char *b) {
        return !a != !b || (a && strcmp(a, b) != 0);
}

/* Whether a Sandbox's phase, readiness or pod changed (what a waiting task looks at). */
static bool sandbox_state_changed(json_object *old_obj, json_object *new_obj) {
        static const char *const paths[] = {"status.phase", "status.podName", "metadata.deletionTimestamp"};
        if (!old_obj)
                return true;
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                if (str_differ(kube_str(old_obj, paths[i]), kube_str(new_obj, paths[i])))
                        return true;
        }
        return str_differ(kube_condition(old_obj, "status.conditions", "Ready", NULL, NULL),
                kube_condition(new_obj, "status.conditions", "Ready", NULL, NULL));
}

bool op_runtime_changed(json_object *old_obj, json_object *new_obj) {
        static const char *const paths[] = {"metadata.deletionTimestamp", "metadata.labels",
                "metadata.ownerReferences", "metadata.annotations.agents\\.x-k8s\\.io/pod-name",
                "spec.operatingMode", "status.sandbox.name", "status.podIPs", "status.serviceFQDN"};
        static const char *const conds[] = {"Ready", "Suspended"};
        if (!old_obj || !new_obj)
                return true;
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
                if (!json_object_equal(kube_field(old_obj, paths[i]), kube_field(new_obj, paths[i])))
                        return true;
        for (size_t i = 0; i < ARRAY_SIZE(conds); i++) {
                const char *ra = NULL, *ma = NULL, *rb = NULL, *mb = NULL;
                const char *a = kube_condition(old_obj, "status.conditions", conds[i], &ra, &ma),
                           *b = kube_condition(new_obj, "status.conditions", conds[i], &rb, &mb);
                if (str_differ(a, b) || str_differ(ra, rb) || str_differ(ma, mb))
                        return true;
        }
        return false;
}

/*
 * Fan-out is kept to what can change an outcome, so that status writes never cascade: a Project's spec
 * change concerns every sandbox of its namespace (lifetimes, quota), its status changes none; a template,
 * a new project or a deleted sandbox can only unblock sandboxes still waiting for a claim.
 */
static void route(struct mbox_operator *op, enum op_res res, const char *key, json_object *old_obj,
        json_object *obj, bool deleted) {
        const char *ns = kube_str(obj, "metadata.namespace"), *v;
        char buf[512];
        switch (res) {
        case RES_PROJECT:
                op_enqueue(op, CTL_PROJECT, key);
                if (spec_changed(old_obj, obj) || deleted) {
                        const char *pns = project_ns(obj, buf, sizeof(buf));
                        op_enqueue_sandboxes(op, pns, !old_obj || deleted);
                        /* the policy decides whether the namespace's warm pools keep pods */
                        informer_foreach(op->inf[RES_TEMPLATE], pns, enqueue_template_fn, op);
                }
                break;
        case RES_TEMPLATE:
                op_enqueue(op, CTL_TEMPLATE, key);
                if (spec_changed(old_obj, obj) || deleted)
                        op_enqueue_sandboxes(
                                op, ns && strcmp(ns, op->opt.library_namespace) == 0 ? NULL : ns, true);
                break;
        case RES_SANDBOX:
                if (!old_obj && !deleted && !kube_str(obj, "status.claimName"))
                        enqueue_first(op, CTL_SANDBOX, key);
                else
                        op_enqueue(op, CTL_SANDBOX, key);
                /* the project's counts: at most one status write a second, however many sandboxes change */
                if (ns && op_project_of_namespace(op, ns, buf, sizeof(buf)))
                        op_enqueue_after(op, CTL_PROJECT, buf, 1000000000);
                /* room may have appeared for a sandbox waiting on its project's quota */
                if (deleted || op_sandbox_frees_room(old_obj, obj))
                        op_enqueue_sandboxes(op, ns, true);
                /* tasks waiting for this sandbox to be ready (or to learn that it will not be) */
                if (ns && kube_str(obj, "metadata.name") &&
                        (deleted || sandbox_state_changed(old_obj, obj))) {
                        op_enqueue_waiting_tasks(op, ns, kube_str(obj, "metadata.name"), SIZE_MAX);
                        /* the first ready sandbox of a version validates a template without a check; a
                         * deleted one may have been the last user of an old version or of a projection
                         * for its own ServiceAccount */
                        if ((v = kube_str(obj, "status.template.name"))) {
                                const char *tns = kube_str(obj, "status.template.namespace");
                                snprintf(buf, sizeof(buf), "%s/%s", tns ? tns : ns, v);
                                op_enqueue(op, CTL_TEMPLATE, buf);
                        }
                }
                if ((v = kube_label(obj, LABEL_VALIDATION_OF)) && ns) {
                        snprintf(buf, sizeof(buf), "%s/%s", ns, v);
                        op_enqueue(op, CTL_TEMPLATE, buf);
                }
                break;
        case RES_TASK:
                op_enqueue(op, CTL_TASK, key);
                if ((v = kube_label(obj, LABEL_VALIDATION_OF)) && ns) {
                        snprintf(buf, sizeof(buf), "%s/%s", ns, v);
                        op_enqueue(op, CTL_TEMPLATE, buf);
                }
                break;
        case RES_NAMESPACE:
        case RES_SERVICEACCOUNT:
        case RES_NETWORKPOLICY:
        case RES_RESOURCEQUOTA:
        case RES_LIMITRANGE:
        case RES_ROLEBINDING:
                if ((v = kube_label(obj, LABEL_PROJECT)))
                        op_enqueue(op, CTL_PROJECT, v);
                break;
        case RES_AS_TEMPLATE:
        case RES_AS_POOL:
                if ((v = kube_label(obj, LABEL_TEMPLATE)) && kube_label(obj, LABEL_TEMPLATE_NS)) {
                        snprintf(buf, sizeof(buf), "%s/%s", kube_label(obj, LABEL_TEMPLATE_NS), v);
                        op_enqueue(op, CTL_TEMPLATE, buf);
                }
                break;
        case RES_AS_CLAIM:
                if (!deleted && !op_runtime_changed(old_obj, obj))
                        break;
                if ((v = kube_label(obj, LABEL_SANDBOX)) && ns) {
                        snprintf(buf, sizeof(buf), "%s/%s", ns, v);
                        op_enqueue(op, CTL_SANDBOX, buf);
                }
                break;
        case RES_AS_SANDBOX:
                /* a claimed Sandbox is owned by its claim, which is named like the mbox Sandbox */
                if (!deleted && !op_runtime_changed(old_obj, obj))
                        break;
                if (kube_controller_owner_key(obj, "SandboxClaim", buf, sizeof(buf)) == 0)
                        op_enqueue(op, CTL_SANDBOX, buf);
                break;
        case RES_POD:
        case RES_PVC:
                /* only their deletion concerns a sandbox: the last one lets its finalizer go */
                if (deleted && pod_runtime_value(obj, buf, sizeof(buf)))
                        enqueue_sandboxes_by(op, INDEX_RUNTIME, buf);
                break;
        default:
                break;
        }
}

static void on_add(const char *key, json_object *obj, void *ud) {
        struct op_route *r = ud;
        route(r->op, r->res, key, NULL, obj, false);
}

static void on_update(const char *key, json_object *old_obj, json_object *new_obj, void *ud) {
        struct op_route *r = ud;
        route(r->op, r->res, key, old_obj, new_obj, false);
}

static void on_delete(const char *key, json_object *obj, void *ud) {
        struct op_route *r = ud;
        route(r->op, r->res, key, NULL, obj, true);
}

static const double duration_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

int operator_new(
        const struct operator_options *o, struct metrics *m, struct mbox_operator **ret, struct merr *err) {
        struct mbox_operator *op = calloc(1, sizeof(*op));
        int rc;
        if (!op)
                return merr_set(err, -ENOMEM, "allocating the operator");
        op->opt = *o;
        if (!op->opt.library_namespace)
                op->opt.library_namespace = "mbox-system";
        if (op->opt.project_workers <= 0)
                op->opt.project_workers = 2;
        if (op->opt.template_workers <= 0)
                op->opt.template_workers = 2;
        if (op->opt.sandbox_workers <= 0)
                op->opt.sandbox_workers = 8;
        if (!op->opt.leader_namespace)
                op->opt.leader_namespace = "mbox-system";
        if (!op->opt.leader_name)
                op->opt.leader_name = "mbox-operator";
        if (op->opt.resync_ns <= 0)
                op->opt.resync_ns = 600LL * 1000000000;
        if (op->opt.task_workers <= 0)
                op->opt.task_workers = 4;
        if (op->opt.max_running_tasks <= 0)
                op->opt.max_running_tasks = 64;
        if (op->opt.task_tail_bytes == 0)
                op->opt.task_tail_bytes = 4096;
        if (op->opt.task_tail_bytes > 16384)
                op->opt.task_tail_bytes = 16384;
        if (op->opt.task_start_timeout_ns <= 0)
                op->opt.task_start_timeout_ns = 300LL * 1000000000;
        if (op->opt.max_task_output <= 0)
                op->opt.max_task_output = OPERATOR_MAX_TASK_OUTPUT;
        if (op->opt.task_output_retention_ms < 0)
                op->opt.task_output_retention_ms = 0;
        pthread_mutex_init(&op->lock, NULL);
        pthread_cond_init(&op->cond, NULL);
        op->admitted = strmap_new(NULL);
        op->runs = strmap_new(NULL);
        op->limited = strmap_new(free);
        pthread_mutex_init(&op->written_lock, NULL);
        bool written_ok = true;
        for (int i = 0; i < RES__MAX; i++)
                written_ok = (op->written[i] = strmap_new(free)) && written_ok;
        if (!op->admitted || !op->runs || !op->limited || !written_ok) {
                rc = merr_set(err, -ENOMEM, "allocating the operator");
                goto fail;
        }

        rc = kube_pool_new(op->opt.kubeconfig, op->opt.context, 16, &op->clients, err);
        if (rc >= 0)
                rc = kube_transport_new(&op->transport, err);
        if (rc < 0)
                goto fail;
        if (op->opt.database_url) {
                rc = store_new(op->opt.database_url, &op->store, err);
                if (rc < 0)
                        goto fail;
                /* a running task holds one for its output; the rest is for artifacts and the like */
                store_set_limits(op->store, (size_t) op->opt.max_running_tasks + 8, STORE_WAIT_MS);
        }

        op->metrics = m;
        if (m) {
                op->m_reconciles = metrics_counter(m, "mbox_operator_reconcile_total",
                        "Reconciles by controller and result (success, error, requeue).",
                        (const char *const[]){"controller", "result", NULL});
                op->m_reconcile_seconds = metrics_histogram(m, "mbox_operator_reconcile_duration_seconds",
                        "Time spent in one reconcile.", (const char *const[]){"controller", NULL},
                        duration_buckets, ARRAY_SIZE(duration_buckets));
                op->m_writes = metrics_counter(m, "mbox_operator_api_writes_total",
                        "Writes to the Kubernetes API by resource and verb (apply, patch, status, create, "
                        "delete).",
                        (const char *const[]){"resource", "verb", NULL});
                op->m_queue_depth = metrics_gauge(m, "mbox_operator_workqueue_depth",
                        "Keys waiting in each controller's queue.",
                        (const char *const[]){"controller", NULL});
                op->m_queue_wait = metrics_histogram(m, "mbox_operator_workqueue_latency_seconds",
                        "How long a key waited in a controller's queue once it was ready.",
                        (const char *const[]){"controller", NULL}, duration_buckets,
                        ARRAY_SIZE(duration_buckets));
                op->m_sandboxes = metrics_gauge(m, "mbox_operator_sandboxes", "mbox Sandboxes by phase.",
                        (const char *const[]){"phase", NULL});
                op->m_tasks = metrics_counter(m, "mbox_operator_tasks_total",
                        "ExecutionTasks that ended, by final phase.", (const char *const[]){"phase", NULL});
                op->m_tasks_running = metrics_gauge(
                        m, "mbox_operator_tasks_running", "ExecutionTask commands running now.", NULL);
                op->m_output_dropped = metrics_counter(m, "mbox_operator_task_output_dropped_bytes_total",
                        "Bytes of task output written past the limit of their task, and not stored.", NULL);
                op->m_records_pruned = metrics_counter(m, "mbox_operator_task_records_pruned_total",
                        "Records of finished tasks deleted past their retention, by record (output, "
                        "artifact).",
                        (const char *const[]){"record", NULL});
                op->m_record_passes = metrics_counter(m, "mbox_operator_task_record_passes_total",
                        "Passes of the task record retention.", NULL);
        }

        for (int c = 0; c < CTL__MAX; c++) {
                struct workqueue_options qo = {.base_delay_ns = 5000000,
                        .max_delay_ns = 300LL * 1000000000,
                        .qps = 50,
                        .burst = 300};
                rc = workqueue_new(&qo, &op->queue[c]);
                if (rc < 0) {
                        merr_set(err, rc, "creating the %s queue", ctl_names[c]);
                        goto fail;
                }
        }

        for (int i = 0; i < RES__MAX; i++) {
                struct kube_config *cfg = NULL;
                rc = load_config(op, &cfg, err);
                if (rc < 0)
                        goto fail;
                const struct op_res_info *ri = &op_res_info[i];
                struct kube_resource r = {
                        .group = ri->group, .version = ri->version, .resource = ri->resource};
                struct informer_options io = {
                        .label_selector = ri->selector, .metadata_only = ri->metadata_only};
                op->routes[i] = (struct op_route){op, i};
                struct informer_handlers h = {on_add, on_update, on_delete, &op->routes[i]};
                rc = informer_new(cfg, &r, &io, &h, &op->inf[i], err);
                if (rc < 0)
                        goto fail;
        }
        static const struct {
                enum op_res res;
                const char *name;
                informer_index_fn fn;
        } indexes[] = {
                {RES_AS_TEMPLATE, INDEX_TEMPLATE, template_index_fn},
                {RES_POD, INDEX_RUNTIME, runtime_index_fn},
                {RES_PVC, INDEX_RUNTIME, runtime_index_fn},
                {RES_SANDBOX, INDEX_RUNTIME, sandbox_runtime_index_fn},
                {RES_SANDBOX, INDEX_PHASE, sandbox_phase_index_fn},
                {RES_SANDBOX, INDEX_WAITING, sandbox_waiting_index_fn},
        };
        for (size_t i = 0; i < ARRAY_SIZE(indexes); i++) {
                rc = informer_add_index(op->inf[indexes[i].res], indexes[i].name, indexes[i].fn, NULL, err);
                if (rc < 0)
                        goto fail;
        }

        struct kube_config *cfg = NULL;
        rc = load_config(op, &cfg, err);
        if (rc < 0)
                goto fail;
        char host[128] = "mbox-operator";
        gethostname(host, sizeof(host) - 1);
        rc = kube_events_new(cfg, OP_FIELD_MANAGER, host, &op->events, err);
        if (rc < 0)
                goto fail;
        kube_events_set_error_handler(op->events, event_failed, NULL);
        *ret = op;
        return 0;
fail:
        operator_free(op);
        return rc;
}

static void stop_threads(struct mbox_operator *op) {
        for (int c = 0; c < CTL__MAX; c++)
                if (op->queue[c])
                        workqueue_shutdown(op->queue[c]);
        for (size_t i = 0; i < op->n_threads; i++)
                pthread_join(op->threads[i], NULL);
        free(op->threads);
        op->threads = NULL;
        op->n_threads = 0;
}

struct mbox_operator *operator_free(struct mbox_operator *op) {
        if (!op)
                return NULL;
        stop_threads(op);
        op_records_stop(op);
        /* task threads use the caches and queues: none may outlive them */
        op_tasks_stop(op, 60000);
        pthread_mutex_lock(&op->lock);
        while (op->n_threads_running > 0)
                pthread_cond_wait(&op->cond, &op->lock);
        pthread_mutex_unlock(&op->lock);
        op->leader = leader_free(op->leader);
        for (int i = 0; i < RES__MAX; i++)
                op->inf[i] = informer_free(op->inf[i]);
        for (int c = 0; c < CTL__MAX; c++)
                op->queue[c] = workqueue_free(op->queue[c]);
        op->events = kube_events_free(op->events);
        strmap_free(op->admitted);
        strmap_free(op->runs);
        strmap_free(op->limited);
        for (int i = 0; i < RES__MAX; i++)
                strmap_free(op->written[i]);
        pthread_mutex_destroy(&op->written_lock);
        kube_pool_free(op->clients);
        kube_transport_free(op->transport);
        store_free(op->store);
        pthread_mutex_destroy(&op->lock);
        pthread_cond_destroy(&op->cond);
        free(op);
        return NULL;
}

void operator_stop(struct mbox_operator *op) {
        atomic_store(&op->stop, true);
}

bool operator_ready(struct mbox_operator *op) {
        return atomic_load(&op->synced) && !atomic_load(&op->lost);
}

static double seconds_since(const struct timespec *t0) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

struct worker {
        struct mbox_operator *op;
        enum op_ctl ctl;
};

static void *worker_main(void *arg) {
        struct worker *w = arg;
        struct mbox_operator *op = w->op;
        enum op_ctl ctl = w->ctl;
        free(w);
        struct kube_config *cfg = NULL;
        struct merr err = MERR_INIT;
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        if (load_config(op, &cfg, &err) < 0 || kube_client_new(cfg, &c, &err) < 0) {
                log_error("worker cannot reach the API server", "error", merr_msg(&err));
                atomic_store(&op->lost, true);
                return NULL;
        }
        kube_client_set_transport(c, op->transport);
        const char *const lbl[] = {ctl_names[ctl], NULL};
        for (;;) {
                _cleanup_free_ char *key = NULL;
                int64_t waited = 0;
                if (workqueue_get_waited(op->queue[ctl], &key, &waited) < 0)
                        break;
                if (op->m_queue_wait)
                        metric_observe(op->m_queue_wait, lbl, (double) waited / 1e9);
                struct op_ctx cx = {.op = op, .c = c, .ctl = ctl};
                struct timespec t0;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                merr_clear(&err);
                int rc = ctl_fns[ctl](&cx, key, &err);
                double secs = seconds_since(&t0);
                const char *result = "success";
                if (rc < 0) {
                        result = "error";
                        /* conflicts are expected under concurrency: the next pass reads a fresher cache */
                        if (rc == -ESTALE)
                                log_debug("reconcile conflict", "controller", ctl_names[ctl], "key", key);
                        else
                                log_warn("reconcile failed", "controller", ctl_names[ctl], "key", key,
                                        "error", merr_msg(&err));
                        workqueue_add_rate_limited(op->queue[ctl], key);
                } else {
                        workqueue_forget(op->queue[ctl], key);
                        if (cx.requeue_after_ns > 0) {
                                result = "requeue";
                                workqueue_add_after(op->queue[ctl], key, cx.requeue_after_ns);
                        }
                }
                workqueue_done(op->queue[ctl], key);
                if (op->m_reconciles) {
                        metric_add(op->m_reconciles, (const char *const[]){ctl_names[ctl], result, NULL}, 1);
                        metric_observe(op->m_reconcile_seconds, lbl, secs);
                }
        }
        return NULL;
}

static int start_workers(struct mbox_operator *op, struct merr *err) {
        int counts[CTL__MAX] = {op->opt.project_workers, op->opt.template_workers, op->opt.sandbox_workers,
                op->opt.task_workers};
        size_t total = 0;
        for (int c = 0; c < CTL__MAX; c++)
                total += (size_t) counts[c];
        op->threads = calloc(total, sizeof(pthread_t));
        if (!op->threads)
                return merr_set(err, -ENOMEM, "allocating workers");
        for (int c = 0; c < CTL__MAX; c++)
                for (int i = 0; i < counts[c]; i++) {
                        struct worker *w = malloc(sizeof(*w));
                        if (!w)
                                return merr_set(err, -ENOMEM, "allocating workers");
                        *w = (struct worker){op, c};
                        int rc = pthread_create(&op->threads[op->n_threads], NULL, worker_main, w);
                        if (rc != 0) {
                                free(w);
                                return merr_set(err, -rc, "starting a worker");
                        }
                        op->n_threads++;
                }
        log_info("workers started");
        return 0;
}

static void enqueue_all_fn(const char *key, json_object *obj, void *ud) {
        struct op_route *r = ud;
        (void) obj;
        for (int c = 0; c < CTL__MAX; c++)
                if (ctl_primary[c] == r->res)
                        op_enqueue(r->op, c, key);
}

static void update_gauges(struct mbox_operator *op) {
        if (!op->metrics)
                return;
        for (int c = 0; c < CTL__MAX; c++)
                metric_set(op->m_queue_depth, (const char *const[]){ctl_names[c], NULL},
                        (double) workqueue_len(op->queue[c]));
        static const char *const phases[] = {
                "Pending", "Starting", "Running", "Stopping", "Stopped", "Failed", "Expired", "Terminating"};
        for (size_t i = 0; i < ARRAY_SIZE(phases); i++)
                metric_set(op->m_sandboxes, (const char *const[]){phases[i], NULL},
                        (double) informer_index_count(op->inf[RES_SANDBOX], INDEX_PHASE, phases[i]));
}

static void leader_started(void *ud) {
        struct mbox_operator *op = ud;
        log_info("became leader", "lease", op->opt.leader_name);
        atomic_store(&op->leading, true);
}

static void leader_stopped(void *ud) {
        struct mbox_operator *op = ud;
        if (atomic_load(&op->leading))
                atomic_store(&op->lost, true);
}

int operator_run(struct mbox_operator *op, struct merr *err) {
        int rc;
        for (int i = 0; i < RES__MAX; i++) {
                rc = informer_start(op->inf[i], err);
                if (rc < 0)
                        return rc;
        }
        for (int i = 0; i < RES__MAX; i++)
                while (!informer_wait_synced(op->inf[i], 1000))
                        if (atomic_load(&op->stop))
                                return 0;
                        else
                                log_info("waiting for a cache to sync", "resource", op_res_info[i].resource);
        atomic_store(&op->synced, true);
        log_info("caches synced");

        if (op->opt.leader_elect) {
                struct kube_config *cfg = NULL;
                char identity[256];
                if (!op->opt.leader_identity)
                        leader_default_identity(identity, sizeof(identity));
                else
                        snprintf(identity, sizeof(identity), "%s", op->opt.leader_identity);
                rc = load_config(op, &cfg, err);
                if (rc < 0)
                        return rc;
                struct leader_options lo = {.namespace = op->opt.leader_namespace,
                        .name = op->opt.leader_name,
                        .identity = identity,
                        .lease_duration_ms = op->opt.lease_duration_ms,
                        .renew_deadline_ms = op->opt.renew_deadline_ms,
                        .retry_period_ms = op->opt.retry_period_ms};
                struct leader_callbacks cb = {leader_started, leader_stopped, op};
                rc = leader_new(cfg, &lo, &cb, &op->leader, err);
                if (rc < 0)
                        return rc;
                rc = leader_start(op->leader, err);
                if (rc < 0)
                        return rc;
                log_info("waiting for leadership", "lease", op->opt.leader_name, "identity", identity);
        } else
                atomic_store(&op->leading, true);

        bool started = false;
        struct timespec last_resync, last_gauges;
        clock_gettime(CLOCK_MONOTONIC, &last_resync);
        last_gauges = last_resync;
        rc = 0;
        while (!atomic_load(&op->stop)) {
                if (atomic_load(&op->lost)) {
                        rc = merr_set(err, -ENOLCK, "leadership of Lease %s/%s was lost",
                                op->opt.leader_namespace, op->opt.leader_name);
                        break;
                }
                if (!started && atomic_load(&op->leading)) {
                        rc = start_workers(op, err);
                        if (rc >= 0)
                                rc = op_records_start(op, err);
                        if (rc < 0)
                                break;
                        started = true;
                }
                if (seconds_since(&last_resync) * 1e9 >= (double) op->opt.resync_ns) {
                        clock_gettime(CLOCK_MONOTONIC, &last_resync);
                        for (int c = 0; c < CTL__MAX; c++)
                                informer_foreach(op->inf[ctl_primary[c]], NULL, enqueue_all_fn,
                                        &op->routes[ctl_primary[c]]);
                }
                if (seconds_since(&last_gauges) >= 2) {
                        clock_gettime(CLOCK_MONOTONIC, &last_gauges);
                        update_gauges(op);
                }
                nanosleep(&(struct timespec){0, 100000000}, NULL);
        }
        stop_threads(op);
        op_records_stop(op);
        op_tasks_stop(op, 20000);
        if (op->leader)
                leader_stop(op->leader);
        for (int i = 0; i < RES__MAX; i++) /* together: each takes up to a second to notice */
                informer_cancel(op->inf[i]);
        for (int i = 0; i < RES__MAX; i++)
                informer_stop(op->inf[i]);
        return rc;
}
