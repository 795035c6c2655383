/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the operator's controllers share: the watched resources (resources.c), the caches (cache.c), the
 * queues (queue.c), the writes that send only what differs (apply.c) and the builders of what they send
 * (objects.c). Not installed; only pkg/operator includes it. How a controller describes itself to the
 * manager (operator.c) is controller.h.
 */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/leader.h"
#include "kube/object.h"
#include "kube/workqueue.h"
#include "merr.h"
#include "metrics.h"
#include "operator/operator.h"
#include "strmap.h"
#include "timestamp.h"

#define OP_FIELD_MANAGER "mbox-operator"
#define OP_FINALIZER     "mbox.dev/cleanup"

/* Labels on everything the operator creates. */
#define LABEL_MANAGED_BY    "app.kubernetes.io/managed-by"
#define LABEL_PROJECT       "mbox.dev/project"
#define LABEL_SANDBOX       "mbox.dev/sandbox"
#define LABEL_TEMPLATE      "mbox.dev/template"
#define LABEL_TEMPLATE_NS   "mbox.dev/template-namespace"
#define LABEL_TEMPLATE_VER  "mbox.dev/template-version"
#define LABEL_EGRESS        "mbox.dev/egress" /* a sandbox pod's egress class, which the project's policies select */
#define INDEX_TEMPLATE      "template" /* SandboxTemplates by "<namespace>/<name>" of their EnvironmentTemplate */
#define LABEL_VALIDATION_OF "mbox.dev/validation-of" /* on the Sandbox and task that validate a template */
#define SANDBOX_SA          "mbox-sandbox"
#define LABEL_TEMPLATE_SA   "mbox.dev/service-account" /* on projections for a sandbox's own account */
#define WORKSPACE_VOLUME    "workspace"
#define AS_NAME_HASH        "agents.x-k8s.io/sandbox-name-hash" /* on agent-sandbox's Pods and PVCs */
/* Pods and PVCs by "<namespace>/<AS_NAME_HASH>", and mbox Sandboxes by the same value for their
 * agent-sandbox Sandbox, so that a deleted Pod or PVC wakes the sandbox waiting for it */
#define INDEX_RUNTIME "runtime"
/* mbox Sandboxes by "<namespace>", "<namespace>/<phase>" and "<phase>" (phases are capitalised, namespaces
 * never are): the project's counts and the phase gauges without reading each sandbox */
#define INDEX_PHASE "phase"
/* mbox Sandboxes that wait for room in their project (op_sandbox_waits()), by "<namespace>" */
#define INDEX_WAITING "waiting"

enum op_res {
        RES_PROJECT,
        RES_TEMPLATE,
        RES_SANDBOX,
        RES_NAMESPACE,
        RES_SERVICEACCOUNT,
        RES_NETWORKPOLICY,
        RES_RESOURCEQUOTA,
        RES_LIMITRANGE,
        RES_ROLEBINDING,
        RES_AS_TEMPLATE,
        RES_AS_POOL,
        RES_AS_CLAIM,
        RES_AS_SANDBOX,
        RES_TASK,
        RES_POD, /* metadata only, sandbox pods only: a deleted sandbox waits for its Pod and PVC */
        RES_PVC,
        RES__MAX,
};

struct op_res_info {
        const char *group, *version, *resource, *kind;
        bool namespaced;
        const char *selector; /* the informer's label selector (NULL: every object) */
        bool metadata_only;   /* the informer caches metadata only */
};

extern const struct op_res_info op_res_info[RES__MAX]; /* resources.c */
/* The API path parts of an object of res. */
struct kube_resource op_resource(enum op_res res, const char *ns, const char *name);

enum op_ctl { CTL_PROJECT, CTL_TEMPLATE, CTL_SANDBOX, CTL_TASK, CTL__MAX };

struct op_ctx;
typedef int (*op_reconcile_fn)(struct op_ctx *cx, const char *key, struct merr *err);

struct op_route {
        struct mbox_operator *op;
        enum op_res res;
};

struct mbox_operator {
        struct operator_options opt;
        struct op_route routes[RES__MAX];
        atomic_bool leading;
        struct informer *inf[RES__MAX];
        struct workqueue *queue[CTL__MAX];
        struct kube_event_recorder *events;
        struct leader *leader;
        pthread_t *threads;
        size_t n_threads;
        atomic_bool stop;
        atomic_bool synced;
        atomic_bool lost;
        pthread_mutex_t lock; /* guards admitted and the admission decision */
        pthread_cond_t cond;
        struct strmap *admitted;  /* "ns/name" of sandboxes given a claim, before the claim cache shows it */
        struct strmap *runs;      /* "ns/name" of the ExecutionTasks running here -> struct task_run */
        struct strmap *limited;   /* "ns/name" of tasks waiting on a concurrency limit -> struct task_wait */
        size_t n_threads_running; /* task threads not yet ended (guarded by lock; cond signals a change) */
        pthread_mutex_t written_lock;
        struct strmap
                *written[RES__MAX]; /* key -> struct op_written: our writes the cache does not show yet */
        struct strmap
                *status_at[RES__MAX];     /* key -> struct timestamp: our last status write (written_lock) */
        struct kube_pool *clients;        /* for task threads */
        struct kube_transport *transport; /* the workers' requests, multiplexed on one connection */
        struct store *store;              /* task output; NULL without --database-url */
        pthread_t records_thread;         /* the retention of task records (records.c) */
        bool records_running;
        atomic_bool records_stop;
        atomic_uint records_wake; /* a project with a retention of its own was seen: look again soon */

        struct metrics *metrics;
        struct metric *m_reconciles, *m_reconcile_seconds, *m_writes, *m_queue_depth, *m_queue_wait,
                *m_sandboxes, *m_tasks, *m_tasks_running, *m_output_dropped, *m_records_pruned,
                *m_record_passes;
};

struct op_ctx {
        struct mbox_operator *op;
        struct kube_client *c;
        enum op_ctl ctl;
        int64_t requeue_after_ns; /* set by a reconcile that needs another look later (0: none) */
        unsigned long writes;     /* API writes made in this reconcile */
};

int op_reconcile_project(struct op_ctx *cx, const char *key, struct merr *err);
int op_reconcile_template(struct op_ctx *cx, const char *key, struct merr *err);
int op_reconcile_sandbox(struct op_ctx *cx, const char *key, struct merr *err);
int op_reconcile_task(struct op_ctx *cx, const char *key, struct merr *err);
/* Ends every running task as the operator stops (killed, reason OperatorStopped); waits up to wait_ms. */
void op_tasks_stop(struct mbox_operator *op, long wait_ms);
/* Whether a command of this operator runs in sandbox ns/name now (work that an idle timeout must not stop). */
bool op_tasks_running_in(struct mbox_operator *op, const char *ns, const char *sandbox);
/* The uids of the tasks whose commands this operator runs now (their output is being written), as a new
 * array of new strings; NULL when out of memory. */
char **op_tasks_running_uids(struct mbox_operator *op, size_t *ret_n);

/* ---- task records (task-policy.c, records.c) ---- */
struct project;
/* The most bytes of a task's output that are stored: the operator's flag (bytes; 0 none), or project p's
 * spec.quota.maxTaskOutput when that is lower (p may be NULL); *ret_whose names the one that applies. 0:
 * no limit. */
uint64_t op_task_output_limit(int64_t flag, const struct project *p, const char **ret_whose);
/* How long the records of p's finished tasks are kept, in ms: p's taskOutputRetention when it sets one,
 * else the flag (p may be NULL); 0: kept. */
int64_t op_task_record_retention_ms(int64_t flag_ms, const struct project *p);
/* Starts and stops the thread that deletes task records past their retention (nothing without a
 * database). Only a leader runs it. */
int op_records_start(struct mbox_operator *op, struct merr *err);
void op_records_stop(struct mbox_operator *op);
/* Tells the retention that project p was reconciled: one that sets a retention of its own (perhaps
 * shorter than any before) gets a pass within a second, not at the next of the usual ones. */
void op_records_saw_project(struct mbox_operator *op, const struct project *p);
/* Enqueues the unfinished tasks of namespace ns that wait for sandbox (NULL: any), oldest first, at most n. */
void op_enqueue_waiting_tasks(struct mbox_operator *op, const char *ns, const char *sandbox, size_t n);

/* ---- the caches (cache.c) ---- */
/* The mutation cache's maps; op_cache_release() undoes op_cache_init() (also a failed one). */
int op_cache_init(struct mbox_operator *op);
void op_cache_release(struct mbox_operator *op);
/* A copy of the cached object of resource res under key (the caller's), or NULL. */
json_object *op_get(struct mbox_operator *op, enum op_res res, const char *key);
/* Remembers an object as a write of ours returned it, so op_get() hands it out instead of an older cached
 * version until the informer catches up (client-go's mutation cache): the next pass then neither rewrites
 * what it just wrote nor sends a resourceVersion the API server refuses as a conflict. */
void op_remember(struct mbox_operator *op, enum op_res res, json_object *written);
/* Records that a status write of obj succeeded now (op_write_status()). */
void op_status_written(struct mbox_operator *op, enum op_res res, json_object *obj);
/* When this operator last wrote the status of the object at key (op_write_status()), as a time of now's
 * clock (measured on the monotonic clock, so a step of the wall clock moves nothing), for a controller that
 * paces its status writes; zero when it has not since it started, or the object has gone since. Recorded
 * for mbox Sandboxes only, the one kind whose writes are paced. */
struct timestamp op_status_written_at(
        struct mbox_operator *op, enum op_res res, const char *key, const struct timestamp *now);
/* Forgets what the cache remembers of an object that has gone. */
void op_forget(struct mbox_operator *op, enum op_res res, const char *key);
/* The name of the Project owning namespace ns (from the namespace's label), written into buf; NULL. */
const char *op_project_of_namespace(struct mbox_operator *op, const char *ns, char *buf, size_t size);

/* ---- the queues (queue.c) ---- */
void op_enqueue(struct mbox_operator *op, enum op_ctl ctl, const char *key);
/* Ahead of every waiting key. */
void op_enqueue_first(struct mbox_operator *op, enum op_ctl ctl, const char *key);
void op_enqueue_after(struct mbox_operator *op, enum op_ctl ctl, const char *key, int64_t delay_ns);
/* Enqueues the keys of the objects of res that have value in index, without reading them. */
void op_enqueue_index(
        struct mbox_operator *op, enum op_ctl ctl, enum op_res res, const char *index, const char *value);
/* Enqueues every object of res in namespace ns (NULL: all). */
void op_enqueue_all(struct mbox_operator *op, enum op_ctl ctl, enum op_res res, const char *ns);

struct project;
struct template;
/* Whether project p's policy lets template tns/tname into namespace ns (policy.c): NULL, or what is wrong,
 * written to buf, with its reason (RuntimeClassNotAllowed, CredentialNotAllowed). */
const char *op_policy_problem(const struct project *p, const struct template *t, const char *ns,
        const char *tns, const char *tname, const char **reason, char *buf, size_t size);

/* ---- writes (apply.c) ---- */
/* Server-side applies desired (borrowed) unless the cached object already holds it. 1 written, 0 not. */
int op_ensure(struct op_ctx *cx, enum op_res res, json_object *desired, struct merr *err);
/* Creates obj, which nothing of ours changes afterwards (a SandboxClaim): a create costs the API server
 * less than an apply. 1 when created, 0 when it exists already. */
int op_create(struct op_ctx *cx, enum op_res res, json_object *obj, struct merr *err);
/* Writes status (borrowed) to obj's status subresource unless equal to obj's status. 1 written, 0 not
 * (also when obj is gone meanwhile). */
int op_write_status(
        struct op_ctx *cx, enum op_res res, json_object *obj, json_object *status, struct merr *err);
/* Adds or removes OP_FINALIZER on obj (optimistic: -ESTALE when obj is stale). 1 written (obj then carries
 * the new resourceVersion and finalizers, so the reconcile can go on), 0 not (also when obj is gone). */
int op_set_finalizer(struct op_ctx *cx, enum op_res res, json_object *obj, bool present, struct merr *err);
bool op_has_finalizer(json_object *obj);
/* Deletes name in ns (background propagation); absence is success. 1 when a request was made. */
int op_delete(struct op_ctx *cx, enum op_res res, const char *ns, const char *name, struct merr *err);
/* Deletes the objects of res in ns labelled project=<project> (any object when project is NULL) whose names are not
 * in keep (NULL-terminated). Returns how many deletes were sent, or a negative errno. */
int op_prune(struct op_ctx *cx, enum op_res res, const char *ns, const char *project, const char *const *keep,
        struct merr *err);
/* A merge patch of obj; the object it returns is remembered (op_remember()) until the watch shows it. */
int op_patch(struct op_ctx *cx, enum op_res res, const char *ns, const char *name, const char *patch,
        struct merr *err);
/* Records an Event about obj (best effort; failures are logged). */
void op_event(struct op_ctx *cx, json_object *obj, const char *type, const char *reason, const char *fmt, ...)
        _printf_(5, 6);

/* ---- building objects (objects.c) ---- */
/* True when every field of want is in have with the same value (objects recursively; arrays item by item,
 * same length). Fields the server adds (defaults, metadata) do not matter. */
bool op_json_subset(json_object *want, json_object *have);
json_object *op_meta(const char *name, const char *ns, const char *project); /* new metadata with labels */
void op_owner_ref(json_object *meta, json_object *owner, bool controller);
void op_now(char *buf, size_t size); /* RFC 3339 now */
/* FNV-1a 32 of s as 8 hex digits into buf (at least 9 bytes). */
const char *op_hash(const char *s, char *buf);
/* INDEX_RUNTIME's value for agent-sandbox Sandbox as_name in namespace ns, into buf; false when too long. */
bool op_runtime_index_value(const char *ns, const char *as_name, char *buf, size_t size);
