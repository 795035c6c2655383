/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ExecutionTask controller (docs/tasks.md). A reconcile decides; a thread per running task does the
 * waiting (taskrun.c). A task waits in Pending until its Sandbox is Running and Ready (up to
 * --task-start-timeout), and until the concurrency limits (the project's maxRunningTasks and
 * maxRunningTasksPerSandbox, the operator's --max-running-tasks) leave room. It is then recorded as Running
 * (an update on the cached resourceVersion, so two operators can never both start it) before its thread
 * execs the command in the sandbox's Pod: a task runs at most once.
 *
 * A task found Running that no thread of this process runs was started by an operator that is gone: its
 * processes are killed and it ends Failed with reason OperatorRestarted; it is never run again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/project.h"
#include "api/sandbox.h"
#include "api/task.h"
#include "duration.h"
#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "operator/taskrun.h"
#include "timestamp.h"

#define NS_PER_S          1000000000LL
#define NOT_FOUND_GRACE_S 10 /* a task may be applied just before its sandbox (one kubectl apply -f dir) */

static int64_t age_ns(json_object *obj) {
        struct timestamp created, now;
        int64_t d = 0;
        const char *s = kube_str(obj, "metadata.creationTimestamp");
        if (!s || timestamp_parse(s, &created, NULL) < 0)
                return 0;
        timestamp_now(&now);
        timestamp_diff(&now, &created, &d);
        return d;
}

/* ---- waiting tasks ---- */

/* A task waiting on a concurrency limit (op->limited), so that a run's end wakes the next ones without
 * reading every task of the namespace. */
struct task_wait {
        char created[64], ns[64], sandbox[64], key[320];
};

static int cmp_wait(const void *a, const void *b) {
        const struct task_wait *x = *(struct task_wait *const *) a, *y = *(struct task_wait *const *) b;
        int c = strcmp(x->created, y->created);
        return c ? c : strcmp(x->key, y->key);
}

/* Enqueues the oldest waiting tasks of sandbox sb (8) and of namespace ns (8 more). */
static void enqueue_limited(struct mbox_operator *op, const char *ns, const char *sb) {
        const struct task_wait **list = NULL;
        size_t n = 0, iter = 0;
        const char *k;
        void *v;
        pthread_mutex_lock(&op->lock);
        list = calloc(strmap_size(op->limited) + 1, sizeof(*list));
        while (list && strmap_next(op->limited, &iter, &k, &v))
                if (strcmp(((struct task_wait *) v)->ns, ns) == 0)
                        list[n++] = v;
        if (list)
                qsort(list, n, sizeof(*list), cmp_wait);
        size_t same = 0, any = 0;
        for (size_t i = 0; i < n && (same < 8 || any < 8); i++) {
                bool mine = strcmp(list[i]->sandbox, sb) == 0;
                if (mine && same < 8)
                        same++;
                else if (any < 8)
                        any++;
                else
                        continue;
                op_enqueue(op, CTL_TASK, list[i]->key);
        }
        pthread_mutex_unlock(&op->lock);
        free(list);
}

static void set_limited(
        struct mbox_operator *op, const char *key, json_object *obj, const char *ns, const char *sb) {
        struct task_wait *w = calloc(1, sizeof(*w));
        const char *c = kube_str(obj, "metadata.creationTimestamp");
        if (!w)
                return;
        snprintf(w->created, sizeof(w->created), "%s", c ? c : "");
        snprintf(w->ns, sizeof(w->ns), "%s", ns);
        snprintf(w->sandbox, sizeof(w->sandbox), "%s", sb);
        snprintf(w->key, sizeof(w->key), "%s", key);
        pthread_mutex_lock(&op->lock);
        if (strmap_put(op->limited, key, w) < 0)
                free(w);
        pthread_mutex_unlock(&op->lock);
}

struct waiting {
        const char *sandbox;
        struct waiting_item {
                char key[320];
                char created[64];
        } * items;
        size_t n, cap;
};

static void collect_waiting_fn(const char *key, json_object *obj, void *ud) {
        struct waiting *w = ud;
        /* two fields of every task in the namespace's cache: a full parse of each (stdin and env included)
         * would cost more than the scan itself */
        const char *phase = kube_str(obj, "status.phase"), *sb = kube_str(obj, "spec.sandboxRef.name");
        if ((phase && strcmp(phase, "Pending") != 0) || (w->sandbox && (!sb || strcmp(sb, w->sandbox) != 0)))
                return;
        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                struct waiting_item *n = realloc(w->items, cap * sizeof(*n));
                if (!n)
                        return;
                w->items = n;
                w->cap = cap;
        }
        const char *created = kube_str(obj, "metadata.creationTimestamp");
        snprintf(w->items[w->n].key, sizeof(w->items[w->n].key), "%s", key);
        snprintf(w->items[w->n].created, sizeof(w->items[w->n].created), "%s", created ? created : "");
        w->n++;
}

static int cmp_waiting(const void *a, const void *b) {
        const struct waiting_item *x = a, *y = b;
        int c = strcmp(x->created, y->created);
        return c ? c : strcmp(x->key, y->key);
}

void op_enqueue_waiting_tasks(struct mbox_operator *op, const char *ns, const char *sandbox, size_t n) {
        struct waiting w = {.sandbox = sandbox};
        informer_foreach(op->inf[RES_TASK], ns, collect_waiting_fn, &w);
        if (w.n > 1)
                qsort(w.items, w.n, sizeof(*w.items), cmp_waiting);
        for (size_t i = 0; i < w.n && i < n; i++)
                op_enqueue(op, CTL_TASK, w.items[i].key);
        free(w.items);
}

/* ---- the reconcile ---- */

/* Whether the limits leave room for one more task in ns/sandbox; why says which does not. Under lock. */
static bool has_room(struct mbox_operator *op, const struct project *p, const char *ns, const char *sandbox,
        char *why, size_t size) {
        size_t in_ns = 0, in_sb = 0, iter = 0;
        const char *k;
        void *v;
        while (strmap_next(op->runs, &iter, &k, &v)) {
                struct task_run *r = v;
                if (strcmp(r->ns, ns) == 0) {
                        in_ns++;
                        if (strcmp(r->sandbox, sandbox) == 0)
                                in_sb++;
                }
        }
        if (p && p->spec.quota.has_max_running_tasks_per_sandbox &&
                (int64_t) in_sb >= p->spec.quota.max_running_tasks_per_sandbox)
                snprintf(why, size,
                        "%zu tasks run in sandbox %s, the most Project %s allows per sandbox "
                        "(spec.quota.maxRunningTasksPerSandbox)",
                        in_sb, sandbox, p->meta.name);
        else if (p && p->spec.quota.has_max_running_tasks &&
                 (int64_t) in_ns >= p->spec.quota.max_running_tasks)
                snprintf(why, size,
                        "%zu tasks run in Project %s, the most it allows (spec.quota.maxRunningTasks)", in_ns,
                        p->meta.name);
        else if (strmap_size(op->runs) >= (size_t) op->opt.max_running_tasks)
                snprintf(why, size, "mbox-operator already runs %zu tasks, its limit (--max-running-tasks)",
                        strmap_size(op->runs));
        else
                return true;
        return false;
}

static int write_status(struct op_ctx *cx, json_object *obj, const struct task *t, struct task_outcome *oc,
        struct merr *err) {
        if (task_phase_is_final(oc->phase))
                timestamp_now(&oc->completed);
        _cleanup_json_ json_object *st = NULL;
        if (task_build_status(t, oc, NULL, NULL, &st) < 0)
                return merr_set(err, -ENOMEM, "building the status of task %s", t->meta.name);
        int rc = op_write_status(cx, RES_TASK, obj, st, err);
        if (rc > 0 && task_phase_is_final(oc->phase)) {
                op_event(cx, obj, "Warning", oc->reason, "%s", oc->message);
                task_count(cx->op, oc->phase);
        }
        return rc < 0 ? rc : 0;
}

static int finish_early(struct op_ctx *cx, json_object *obj, const struct task *t, const char *phase,
        const char *reason, struct merr *err, const char *fmt, ...) _printf_(7, 8);
static int finish_early(struct op_ctx *cx, json_object *obj, const struct task *t, const char *phase,
        const char *reason, struct merr *err, const char *fmt, ...) {
        struct task_outcome oc = {.phase = phase, .reason = reason};
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(oc.message, sizeof(oc.message), fmt, ap);
        va_end(ap);
        return write_status(cx, obj, t, &oc, err);
}

static int wait_pending(struct op_ctx *cx, json_object *obj, const struct task *t, const char *reason,
        int64_t recheck_ns, struct merr *err, const char *fmt, ...) _printf_(7, 8);
static int wait_pending(struct op_ctx *cx, json_object *obj, const struct task *t, const char *reason,
        int64_t recheck_ns, struct merr *err, const char *fmt, ...) {
        struct task_outcome oc = {.phase = "Pending", .reason = reason};
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(oc.message, sizeof(oc.message), fmt, ap);
        va_end(ap);
        cx->requeue_after_ns = recheck_ns;
        return write_status(cx, obj, t, &oc, err);
}

static int reconcile_final(struct op_ctx *cx, const struct task *t, struct merr *err) {
        int64_t ttl = t->spec.has_ttl_seconds_after_finished ? t->spec.ttl_seconds_after_finished : -1;
        struct timestamp done, now;
        const char *ct = t->status.completion_time;
        if (ttl < 0 || !ct || timestamp_parse(ct, &done, NULL) < 0)
                return 0;
        int64_t since = 0;
        timestamp_now(&now);
        timestamp_diff(&now, &done, &since);
        if (since < ttl * NS_PER_S) {
                cx->requeue_after_ns = ttl * NS_PER_S - since;
                return 0;
        }
        int rc = op_delete(cx, RES_TASK, t->meta.namespace, t->meta.name, err);
        return rc < 0 ? rc : 0;
}

/* A task left Running by an operator that is gone: kill what may still run and end it honestly. */
static int reconcile_orphan(
        struct op_ctx *cx, json_object *obj, const struct task *t, const char *ns, struct merr *err) {
        const char *pod = t->status.pod_name, *uid = t->meta.uid;
        char killed[512] = "no pod was recorded";
        if (pod && uid) {
                struct merr kerr = MERR_INIT;
                if (task_kill(cx->c, ns, pod, uid, "", "", &kerr) == 0)
                        snprintf(killed, sizeof(killed), "its processes in pod %s were killed", pod);
                else
                        snprintf(killed, sizeof(killed), "killing its processes failed: %s", merr_msg(&kerr));
        }
        return finish_early(cx, obj, t, "Failed", "OperatorRestarted", err,
                "mbox-operator restarted while the command ran, so its exit code and output are unknown; %s. "
                "The task is not run again: create it again to rerun it",
                killed);
}

static int start_run(struct op_ctx *cx, json_object *obj, struct task **tp, const char *key, const char *ns,
        const char *name, const char *sandbox, const char *pod, const struct project *p, struct merr *err) {
        struct mbox_operator *op = cx->op;
        const struct task *t = *tp;
        char why[512];
        struct task_run *run = calloc(1, sizeof(*run));
        size_t tail = op->opt.task_tail_bytes;
        if (!run || tail_init(&run->out, tail) < 0 || tail_init(&run->err, tail) < 0) {
                task_run_free(run);
                return merr_set(err, -ENOMEM, "allocating a task run");
        }
        run->op = op;
        snprintf(run->key, sizeof(run->key), "%s", key);
        snprintf(run->ns, sizeof(run->ns), "%s", ns);
        snprintf(run->name, sizeof(run->name), "%s", name);
        snprintf(run->uid, sizeof(run->uid), "%s", t->meta.uid ? t->meta.uid : "");
        snprintf(run->sandbox, sizeof(run->sandbox), "%s", sandbox);
        snprintf(run->pod, sizeof(run->pod), "%s", pod);
        run->obj = json_object_get(obj);
        run->on_end = enqueue_limited;
        run->output_limit = op_task_output_limit(op->opt.max_task_output, p, &run->limit_whose);
        timestamp_now(&run->started);
        run->started.nsec = 0;

        pthread_mutex_lock(&op->lock);
        bool room = has_room(op, p, ns, sandbox, why, sizeof(why));
        if (room && strmap_put(op->runs, key, run) < 0)
                room = false, snprintf(why, sizeof(why), "out of memory");
        pthread_mutex_unlock(&op->lock);
        if (!room) {
                task_run_free(run);
                set_limited(op, key, obj, ns, sandbox);
                return wait_pending(cx, obj, t, "ConcurrencyLimit", 30 * NS_PER_S, err, "waiting: %s", why);
        }

        /* the run keeps the view it was started with (sandbox points into it: copied above) */
        run->t = TAKE_PTR(*tp);
        /* Running is recorded first, on the cached resourceVersion: a task starts once or not at all */
        struct task_outcome oc = {.phase = "Running", .reason = "Started"};
        task_outcome_msg(&oc, "running in pod %s", pod);
        _cleanup_json_ json_object *st = NULL;
        int rc = task_build_status(t, &oc, run, NULL, &st) < 0
                         ? merr_set(err, -ENOMEM, "building the status of task %s", key)
                         : op_write_status(cx, RES_TASK, obj, st, err);
        /* the thread may end and free the run (and its view) before the event below is sent */
        _cleanup_free_ char *program = strdup(t->spec.command.n ? t->spec.command.v[0] : "the command");
        pthread_t thread;
        pthread_attr_t attr;
        if (rc >= 0) {
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                pthread_mutex_lock(&op->lock);
                op->n_threads_running++;
                if (op->m_tasks_running)
                        metric_set(op->m_tasks_running, NULL, (double) strmap_size(op->runs));
                pthread_mutex_unlock(&op->lock);
                int e = pthread_create(&thread, &attr, task_run_main, run);
                pthread_attr_destroy(&attr);
                if (e == 0) {
                        op_event(cx, obj, "Normal", "Started", "running %s in pod %s",
                                program ? program : "the command", pod);
                        return 0;
                }
                rc = merr_set(err, -e, "starting a task thread");
                pthread_mutex_lock(&op->lock);
                op->n_threads_running--;
                pthread_mutex_unlock(&op->lock);
        }
        pthread_mutex_lock(&op->lock);
        strmap_remove(op->runs, key);
        pthread_mutex_unlock(&op->lock);
        task_run_free(run);
        return rc;
}

int op_reconcile_task(struct op_ctx *cx, const char *key, struct merr *err) {
        struct mbox_operator *op = cx->op;
        _cleanup_json_ json_object *obj = op_get(op, RES_TASK, key);
        char ns[64], sbkey[160];
        const char *name;
        if (kube_split_key(key, ns, sizeof(ns), &name) < 0)
                return 0;
        _cleanup_(task_freep) struct task *t = NULL;
        struct merr perr = MERR_INIT;
        /* the API server validated it; a failure means a newer schema than this operator knows, which
         * must not keep a running command from its cancel (read raw then) or its deletion */
        if (obj && task_from_json(obj, &t, &perr) < 0)
                t = NULL;
        const char *uid = kube_str(obj, "metadata.uid");
        json_object *cancel = t ? NULL : kube_field(obj, "spec.cancel");
        bool cancelled = t ? t->spec.cancel
                           : cancel && json_object_is_type(cancel, json_type_boolean) &&
                                         json_object_get_boolean(cancel);

        /* a run of this process: deletion and spec.cancel stop it; its thread writes the end. A task
         * waiting on a limit is listed again below if it still has to wait. */
        pthread_mutex_lock(&op->lock);
        strmap_remove(op->limited, key);
        struct task_run *run = strmap_get(op->runs, key);
        bool mine = run && uid && strcmp(run->uid, uid) == 0;
        if (run && !mine) {
                atomic_store(&run->end, END_DELETED);
                atomic_store(&run->cancel, true);
        } else if (mine) {
                if (cancelled && !atomic_load(&run->cancel)) {
                        atomic_store(&run->end, END_CANCEL);
                        atomic_store(&run->cancel, true);
                }
        }
        pthread_mutex_unlock(&op->lock);
        if (!obj || mine)
                return 0;
        if (!t) {
                op_event(cx, obj, "Warning", "InvalidSpec", "%s", merr_msg(&perr));
                return 0;
        }
        if (run) { /* a task recreated under the name of one still being stopped */
                cx->requeue_after_ns = NS_PER_S;
                return 0;
        }

        const char *phase = t->status.phase;
        if (task_phase_is_final(phase))
                return reconcile_final(cx, t, err);
        if (phase && strcmp(phase, "Running") == 0)
                return reconcile_orphan(cx, obj, t, ns, err);

        if (t->spec.cancel)
                return finish_early(cx, obj, t, "Canceled", "Canceled", err,
                        "spec.cancel was set before the command started; it never ran");
        if (kube_str(obj, "metadata.deletionTimestamp"))
                return 0;

        const char *sbname = t->spec.sandbox_ref_name;
        snprintf(sbkey, sizeof(sbkey), "%s/%s", ns, sbname ? sbname : "");
        _cleanup_json_ json_object *sb = sbname ? op_get(op, RES_SANDBOX, sbkey) : NULL;
        int64_t age = age_ns(obj), bound = op->opt.task_start_timeout_ns;
        if (!sb) {
                if (age < NOT_FOUND_GRACE_S * NS_PER_S)
                        return wait_pending(cx, obj, t, "SandboxNotFound", NOT_FOUND_GRACE_S * NS_PER_S - age,
                                err, "waiting for Sandbox %s to appear in namespace %s", sbname, ns);
                return finish_early(cx, obj, t, "Failed", "SandboxNotFound", err,
                        "there is no Sandbox %s in namespace %s (a task runs in a sandbox of its own "
                        "namespace)",
                        sbname, ns);
        }
        if (kube_str(sb, "metadata.deletionTimestamp"))
                return finish_early(cx, obj, t, "Failed", "SandboxTerminating", err,
                        "Sandbox %s is being deleted", sbname);
        _cleanup_(sandbox_freep) struct sandbox *sv = NULL;
        _cleanup_(sandbox_status_release) struct sandbox_status alone = {0};
        const struct sandbox_status *ss = &alone;
        const char *sstate;
        if (sandbox_from_json(sb, &sv, NULL) >= 0) {
                ss = &sv->status;
                sstate = sv->spec.state;
        } else {
                /* a spec this operator cannot parse: the sandbox controller shows it Failed (InvalidSpec)
                 * in its status, which is read alone (until then the task waits) */
                (void) sandbox_status_from_json(sb, &alone, NULL);
                sstate = kube_str(sb, "spec.state");
        }
        const struct api_condition *rcond = api_condition_find(&ss->conditions, "Ready");
        const char *sphase = ss->phase, *pod = ss->pod_name, *ready = rcond ? rcond->status : NULL;
        const char *sreason = ss->reason;
        if (sphase && (strcmp(sphase, "Stopped") == 0 || strcmp(sphase, "Stopping") == 0) && sreason &&
                strcmp(sreason, "IdleTimeout") == 0 && !(sstate && strcmp(sstate, "Stopped") == 0)) {
                /* stopped for inactivity while its user wants it running: this task is activity, and
                 * starts it again (the sandbox controller sees lastActivityAt move past stoppedAt) */
                task_record_activity(op, cx->c, ns, sbname);
                return wait_pending(cx, obj, t, "SandboxNotReady", 5 * NS_PER_S, err,
                        "starting Sandbox %s again: it was stopped after its idle timeout", sbname);
        }
        if (sphase && (strcmp(sphase, "Stopped") == 0 || strcmp(sphase, "Stopping") == 0 ||
                              strcmp(sphase, "Expired") == 0))
                return finish_early(cx, obj, t, "Failed", "SandboxStopped", err,
                        "Sandbox %s is %s (%s); start it (spec.state: Running) and create the task again",
                        sbname, sphase, sreason ? sreason : "stopped");
        if (sphase && strcmp(sphase, "Failed") == 0)
                return finish_early(cx, obj, t, "Failed", "SandboxFailed", err, "Sandbox %s failed: %s",
                        sbname, ss->message ? ss->message : "no details");
        if (!sphase || strcmp(sphase, "Running") != 0 || !ready || strcmp(ready, "True") != 0 || !pod) {
                if (age >= bound) {
                        char d[DURATION_STR_MAX] = "";
                        duration_format(bound, d, sizeof(d));
                        return finish_early(cx, obj, t, "Failed", "SandboxNotReady", err,
                                "Sandbox %s was not ready within %s (phase %s): the task did not run", sbname,
                                d, sphase ? sphase : "none yet");
                }
                /* the sandbox's changes wake it; a look every 30 s is the safety net */
                return wait_pending(cx, obj, t, "SandboxNotReady",
                        bound - age < 30 * NS_PER_S ? bound - age : 30 * NS_PER_S, err,
                        "waiting for Sandbox %s to be Running and Ready (phase %s)", sbname,
                        sphase ? sphase : "none yet");
        }

        _cleanup_(project_freep) struct project *p = NULL;
        char pname[256];
        if (op_project_of_namespace(op, ns, pname, sizeof(pname))) {
                _cleanup_json_ json_object *pobj = op_get(op, RES_PROJECT, pname);
                merr_clear(&perr);
                if (pobj && project_from_json(pobj, &p, &perr) < 0)
                        p = NULL;
        }
        return start_run(cx, obj, &t, key, ns, name, sbname, pod, p, err);
}

bool op_tasks_running_in(struct mbox_operator *op, const char *ns, const char *sandbox) {
        size_t iter = 0;
        const char *k;
        void *v;
        bool found = false;
        pthread_mutex_lock(&op->lock);
        while (!found && strmap_next(op->runs, &iter, &k, &v)) {
                const struct task_run *r = v;
                found = strcmp(r->ns, ns) == 0 && strcmp(r->sandbox, sandbox) == 0;
        }
        pthread_mutex_unlock(&op->lock);
        return found;
}

char **op_tasks_running_uids(struct mbox_operator *op, size_t *ret_n) {
        size_t n = 0, iter = 0;
        const char *k;
        void *v;
        pthread_mutex_lock(&op->lock);
        char **uids = calloc(strmap_size(op->runs) + 1, sizeof(*uids));
        while (uids && strmap_next(op->runs, &iter, &k, &v))
                if ((uids[n] = strdup(((const struct task_run *) v)->uid)))
                        n++;
        pthread_mutex_unlock(&op->lock);
        if (uids)
                *ret_n = n;
        return uids;
}

void op_tasks_stop(struct mbox_operator *op, long wait_ms) {
        struct timespec deadline = timestamp_deadline(wait_ms);
        pthread_mutex_lock(&op->lock);
        size_t iter = 0;
        const char *k;
        void *v;
        while (strmap_next(op->runs, &iter, &k, &v)) {
                struct task_run *r = v;
                if (!atomic_load(&r->cancel)) {
                        atomic_store(&r->end, END_SHUTDOWN);
                        atomic_store(&r->cancel, true);
                }
        }
        while (op->n_threads_running > 0)
                if (pthread_cond_timedwait(&op->cond, &op->lock, &deadline) == ETIMEDOUT)
                        break;
        if (op->n_threads_running > 0)
                log_warn("tasks still ending at shutdown", "count",
                        op->n_threads_running > 1 ? "several" : "1");
        pthread_mutex_unlock(&op->lock);
}
