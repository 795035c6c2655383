/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator's manager: it runs the controllers of op_controllers (controllers.c) without knowing any of
 * them by name. It builds one informer for every resource a controller reconciles, watches or indexes
 * (resources.c says where each is served and which objects its cache keeps), installs the controllers'
 * indexes, and hands each informer event to the mapper of every controller that watches the resource,
 * which only enqueues keys; then it runs each controller's workers on its own queue, while leading.
 * Everything else happens in reconciles, which read the caches (cache.c) and write only what differs
 * (apply.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "operator/controller.h"
#include "kube/pool.h"
#include "kube/transport.h"
#include "store/store.h"

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

/* ---- informer events to mappers ---- */

static void route(
        const struct op_route *r, const char *key, json_object *old_obj, json_object *obj, bool deleted) {
        for (int c = 0; c < CTL__MAX; c++) {
                struct op_change ch = {r->op, c, r->res, key, old_obj, obj, deleted};
                for (const struct op_watch *w = op_controllers[c]->watches; w->map; w++)
                        if (w->res == r->res)
                                w->map(&ch);
        }
}

static void on_add(const char *key, json_object *obj, void *ud) {
        route(ud, key, NULL, obj, false);
}

static void on_update(const char *key, json_object *old_obj, json_object *new_obj, void *ud) {
        route(ud, key, old_obj, new_obj, false);
}

static void on_delete(const char *key, json_object *obj, void *ud) {
        const struct op_route *r = ud;
        op_forget(r->op, r->res, key);
        route(ud, key, NULL, obj, true);
}

/* ---- building the operator ---- */

static void set_defaults(struct operator_options *o) {
        if (!o->library_namespace)
                o->library_namespace = "mbox-system";
        if (o->project_workers <= 0)
                o->project_workers = 2;
        if (o->template_workers <= 0)
                o->template_workers = 2;
        if (o->sandbox_workers <= 0)
                o->sandbox_workers = 8;
        if (!o->leader_namespace)
                o->leader_namespace = "mbox-system";
        if (!o->leader_name)
                o->leader_name = "mbox-operator";
        if (o->resync_ns <= 0)
                o->resync_ns = 600LL * 1000000000;
        if (o->task_workers <= 0)
                o->task_workers = 4;
        if (o->max_running_tasks <= 0)
                o->max_running_tasks = 64;
        if (o->task_tail_bytes == 0)
                o->task_tail_bytes = 4096;
        if (o->task_tail_bytes > 16384)
                o->task_tail_bytes = 16384;
        if (o->task_start_timeout_ns <= 0)
                o->task_start_timeout_ns = 300LL * 1000000000;
        if (o->max_task_output <= 0)
                o->max_task_output = OPERATOR_MAX_TASK_OUTPUT;
        if (o->task_output_retention_ms < 0)
                o->task_output_retention_ms = 0;
}

static const double duration_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/* The manager's metrics, then each controller's own. */
static void register_metrics(struct mbox_operator *op, struct metrics *m) {
        op->metrics = m;
        if (!m)
                return;
        op->m_reconciles = metrics_counter(m, "mbox_operator_reconcile_total",
                "Reconciles by controller and result (success, error, requeue).",
                (const char *const[]){"controller", "result", NULL});
        op->m_reconcile_seconds = metrics_histogram(m, "mbox_operator_reconcile_duration_seconds",
                "Time spent in one reconcile.", (const char *const[]){"controller", NULL}, duration_buckets,
                ARRAY_SIZE(duration_buckets));
        op->m_writes = metrics_counter(m, "mbox_operator_api_writes_total",
                "Writes to the Kubernetes API by resource and verb (apply, patch, status, create, delete).",
                (const char *const[]){"resource", "verb", NULL});
        op->m_queue_depth = metrics_gauge(m, "mbox_operator_workqueue_depth",
                "Keys waiting in each controller's queue.", (const char *const[]){"controller", NULL});
        op->m_queue_wait = metrics_histogram(m, "mbox_operator_workqueue_latency_seconds",
                "How long a key waited in a controller's queue once it was ready.",
                (const char *const[]){"controller", NULL}, duration_buckets, ARRAY_SIZE(duration_buckets));
        for (int c = 0; c < CTL__MAX; c++)
                if (op_controllers[c]->metrics)
                        op_controllers[c]->metrics(op, m);
}

static int create_queues(struct mbox_operator *op, struct merr *err) {
        for (int c = 0; c < CTL__MAX; c++) {
                struct workqueue_options qo = {.base_delay_ns = 5000000,
                        .max_delay_ns = 300LL * 1000000000,
                        .qps = 50,
                        .burst = 300};
                int rc = workqueue_new(&qo, &op->queue[c]);
                if (rc < 0)
                        return merr_set(err, rc, "creating the %s queue", op_controllers[c]->name);
        }
        return 0;
}

/* Whether some controller reconciles, watches or indexes res. */
static bool resource_used(enum op_res res) {
        for (int c = 0; c < CTL__MAX; c++) {
                const struct op_controller *ctl = op_controllers[c];
                if (ctl->primary == res)
                        return true;
                for (const struct op_watch *w = ctl->watches; w->map; w++)
                        if (w->res == res)
                                return true;
                for (const struct op_index *x = ctl->indexes; x && x->name; x++)
                        if (x->res == res)
                                return true;
        }
        return false;
}

static int create_informers(struct mbox_operator *op, struct merr *err) {
        for (int i = 0; i < RES__MAX; i++) {
                if (!resource_used(i))
                        continue;
                struct kube_config *cfg = NULL;
                int rc = load_config(op, &cfg, err);
                if (rc < 0)
                        return rc;
                const struct op_res_info *ri = &op_res_info[i];
                struct kube_resource r = {
                        .group = ri->group, .version = ri->version, .resource = ri->resource};
                struct informer_options io = {
                        .label_selector = ri->selector, .metadata_only = ri->metadata_only};
                op->routes[i] = (struct op_route){op, i};
                struct informer_handlers h = {on_add, on_update, on_delete, &op->routes[i]};
                rc = informer_new(cfg, &r, &io, &h, &op->inf[i], err);
                if (rc < 0)
                        return rc;
        }
        for (int c = 0; c < CTL__MAX; c++)
                for (const struct op_index *x = op_controllers[c]->indexes; x && x->name; x++) {
                        int rc = informer_add_index(op->inf[x->res], x->name, x->fn, NULL, err);
                        if (rc < 0)
                                return rc;
                }
        return 0;
}

/* The clients of task threads, the workers' shared connection, and the database of task output. */
static int open_clients(struct mbox_operator *op, struct merr *err) {
        int rc = kube_pool_new(op->opt.kubeconfig, op->opt.context, 16, &op->clients, err);
        if (rc >= 0)
                rc = kube_transport_new(&op->transport, err);
        if (rc < 0 || !op->opt.database_url)
                return rc;
        rc = store_new(op->opt.database_url, &op->store, err);
        if (rc < 0)
                return rc;
        /* a running task holds one for its output; the rest is for artifacts and the like */
        store_set_limits(op->store, (size_t) op->opt.max_running_tasks + 8, STORE_WAIT_MS);
        return 0;
}

static int create_events(struct mbox_operator *op, struct merr *err) {
        struct kube_config *cfg = NULL;
        int rc = load_config(op, &cfg, err);
        if (rc < 0)
                return rc;
        char host[128] = "mbox-operator";
        gethostname(host, sizeof(host) - 1);
        rc = kube_events_new(cfg, OP_FIELD_MANAGER, host, &op->events, err);
        if (rc < 0)
                return rc;
        kube_events_set_error_handler(op->events, event_failed, NULL);
        return 0;
}

int operator_new(
        const struct operator_options *o, struct metrics *m, struct mbox_operator **ret, struct merr *err) {
        _cleanup_(operator_freep) struct mbox_operator *op = calloc(1, sizeof(*op));
        int rc;
        if (!op)
                return merr_set(err, -ENOMEM, "allocating the operator");
        op->opt = *o;
        set_defaults(&op->opt);
        pthread_mutex_init(&op->lock, NULL);
        pthread_cond_init(&op->cond, NULL);
        op->admitted = strmap_new(NULL);
        op->runs = strmap_new(NULL);
        op->limited = strmap_new(free);
        if (op_cache_init(op) < 0 || !op->admitted || !op->runs || !op->limited)
                return merr_set(err, -ENOMEM, "allocating the operator");
        if ((rc = open_clients(op, err)) < 0)
                return rc;
        register_metrics(op, m);
        if ((rc = create_queues(op, err)) < 0 || (rc = create_informers(op, err)) < 0 ||
                (rc = create_events(op, err)) < 0)
                return rc;
        *ret = TAKE_PTR(op);
        return 0;
}

/* ---- running ---- */

static void stop_workers(struct mbox_operator *op) {
        for (int c = 0; c < CTL__MAX; c++)
                if (op->queue[c])
                        workqueue_shutdown(op->queue[c]);
        for (size_t i = 0; i < op->n_threads; i++)
                pthread_join(op->threads[i], NULL);
        free(op->threads);
        op->threads = NULL;
        op->n_threads = 0;
}

/* Ends what the controllers run besides their workers, within wait_ms. */
static void stop_controllers(struct mbox_operator *op, long wait_ms) {
        for (int c = 0; c < CTL__MAX; c++)
                if (op_controllers[c]->stop)
                        op_controllers[c]->stop(op, wait_ms);
}

struct mbox_operator *operator_free(struct mbox_operator *op) {
        if (!op)
                return NULL;
        stop_workers(op);
        /* threads of the controllers use the caches and queues: none may outlive them */
        stop_controllers(op, 60000);
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
        op_cache_release(op);
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

/* One reconcile of key by controller ctl, with its retry or requeue and its metrics. */
static void process(struct mbox_operator *op, enum op_ctl ctl, struct kube_client *c, const char *key) {
        const struct op_controller *ctrl = op_controllers[ctl];
        const char *const lbl[] = {ctrl->name, NULL};
        struct op_ctx cx = {.op = op, .c = c, .ctl = ctl};
        struct merr err = MERR_INIT;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = ctrl->reconcile(&cx, key, &err);
        double secs = seconds_since(&t0);
        const char *result = "success";
        if (rc < 0) {
                result = "error";
                /* conflicts are expected under concurrency: the next pass reads a fresher cache */
                if (rc == -ESTALE)
                        log_debug("reconcile conflict", "controller", ctrl->name, "key", key);
                else
                        log_warn("reconcile failed", "controller", ctrl->name, "key", key, "error",
                                merr_msg(&err));
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
                metric_add(op->m_reconciles, (const char *const[]){ctrl->name, result, NULL}, 1);
                metric_observe(op->m_reconcile_seconds, lbl, secs);
        }
}

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
        const char *const lbl[] = {op_controllers[ctl]->name, NULL};
        for (;;) {
                _cleanup_free_ char *key = NULL;
                int64_t waited = 0;
                if (workqueue_get_waited(op->queue[ctl], &key, &waited) < 0)
                        break;
                if (op->m_queue_wait)
                        metric_observe(op->m_queue_wait, lbl, (double) waited / 1e9);
                process(op, ctl, c, key);
        }
        return NULL;
}

static int start_workers(struct mbox_operator *op, struct merr *err) {
        int counts[CTL__MAX];
        size_t total = 0;
        for (int c = 0; c < CTL__MAX; c++)
                total += (size_t) (counts[c] = op_controllers[c]->workers(&op->opt));
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

/* Once leading: the workers, then what the controllers run besides them. */
static int start_controllers(struct mbox_operator *op, struct merr *err) {
        int rc = start_workers(op, err);
        for (int c = 0; c < CTL__MAX && rc >= 0; c++)
                if (op_controllers[c]->start)
                        rc = op_controllers[c]->start(op, err);
        return rc;
}

/* Every object is reconciled again now and then: level-based, whatever events were missed. */
static void resync(struct mbox_operator *op) {
        for (int c = 0; c < CTL__MAX; c++)
                op_enqueue_all(op, c, op_controllers[c]->primary, NULL);
}

static void update_gauges(struct mbox_operator *op) {
        if (!op->metrics)
                return;
        for (int c = 0; c < CTL__MAX; c++)
                metric_set(op->m_queue_depth, (const char *const[]){op_controllers[c]->name, NULL},
                        (double) workqueue_len(op->queue[c]));
        for (int c = 0; c < CTL__MAX; c++)
                if (op_controllers[c]->gauges)
                        op_controllers[c]->gauges(op);
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

/* Takes part in the election of the Lease; leader_started() lets the workers start. */
static int campaign(struct mbox_operator *op, struct merr *err) {
        struct kube_config *cfg = NULL;
        char identity[256];
        if (!op->opt.leader_identity)
                leader_default_identity(identity, sizeof(identity));
        else
                snprintf(identity, sizeof(identity), "%s", op->opt.leader_identity);
        int rc = load_config(op, &cfg, err);
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
        return 0;
}

/* Starts the informers and waits for their caches; 1 when operator_stop() came first. */
static int sync_caches(struct mbox_operator *op, struct merr *err) {
        for (int i = 0; i < RES__MAX; i++) {
                int rc = op->inf[i] ? informer_start(op->inf[i], err) : 0;
                if (rc < 0)
                        return rc;
        }
        for (int i = 0; i < RES__MAX; i++)
                while (op->inf[i] && !informer_wait_synced(op->inf[i], 1000))
                        if (atomic_load(&op->stop))
                                return 1;
                        else
                                log_info("waiting for a cache to sync", "resource", op_res_info[i].resource);
        atomic_store(&op->synced, true);
        log_info("caches synced");
        return 0;
}

int operator_run(struct mbox_operator *op, struct merr *err) {
        int rc = sync_caches(op, err);
        if (rc != 0)
                return rc < 0 ? rc : 0;
        if (op->opt.leader_elect) {
                if ((rc = campaign(op, err)) < 0)
                        return rc;
        } else
                atomic_store(&op->leading, true);

        bool started = false;
        struct timespec last_resync, last_gauges;
        clock_gettime(CLOCK_MONOTONIC, &last_resync);
        last_gauges = last_resync;
        while (!atomic_load(&op->stop)) {
                if (atomic_load(&op->lost)) {
                        rc = merr_set(err, -ENOLCK, "leadership of Lease %s/%s was lost",
                                op->opt.leader_namespace, op->opt.leader_name);
                        break;
                }
                if (!started && atomic_load(&op->leading)) {
                        if ((rc = start_controllers(op, err)) < 0)
                                break;
                        started = true;
                }
                if (seconds_since(&last_resync) * 1e9 >= (double) op->opt.resync_ns) {
                        clock_gettime(CLOCK_MONOTONIC, &last_resync);
                        resync(op);
                }
                if (seconds_since(&last_gauges) >= 2) {
                        clock_gettime(CLOCK_MONOTONIC, &last_gauges);
                        update_gauges(op);
                }
                nanosleep(&(struct timespec){0, 100000000}, NULL);
        }
        stop_workers(op);
        stop_controllers(op, 20000);
        if (op->leader)
                leader_stop(op->leader);
        for (int i = 0; i < RES__MAX; i++) /* together: each takes up to a second to notice */
                if (op->inf[i])
                        informer_cancel(op->inf[i]);
        for (int i = 0; i < RES__MAX; i++)
                if (op->inf[i])
                        informer_stop(op->inf[i]);
        return rc;
}
