/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controllers' work queue, with client-go's semantics (util/workqueue):
 *
 *   - keys are de-duplicated: a key added while it waits is queued once;
 *   - a key is never handed to two workers at once: a key added while a worker holds it is queued again
 *     only when that worker calls workqueue_done();
 *   - workqueue_add_rate_limited() delays a key by the larger of its own exponential backoff (base_delay
 *     doubling per failure up to max_delay; workqueue_forget() resets it) and an overall token bucket
 *     (qps, burst), so one failing object cannot starve the rest and a storm cannot flood the API server;
 *   - workqueue_add_after() queues a key after a delay (for requeue-after);
 *   - workqueue_add_first() queues a key ahead of every waiting one that did not come through it, and
 *     after those that did (work that others wait on, such as a new object's first reconcile, done in the
 *     order it came); a key already waiting keeps its place;
 *   - workqueue_shutdown() stops handing out keys.
 *
 * Thread-safe. Keys are copied in; workqueue_get() hands the worker its own copy to free().
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct workqueue_options {
        int64_t base_delay_ns; /* default 5 ms */
        int64_t max_delay_ns;  /* default 1000 s */
        double qps;            /* default 10 */
        int burst;             /* default 100 */
};

struct workqueue;

int workqueue_new(const struct workqueue_options *opts /* NULL: defaults */, struct workqueue **ret);
struct workqueue *workqueue_free(struct workqueue *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct workqueue *, workqueue_free);

/* Each returns 0, -ENOMEM, or -ESHUTDOWN once the queue is shut down. */
int workqueue_add(struct workqueue *q, const char *key);
int workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ns);
int workqueue_add_first(struct workqueue *q, const char *key);
int workqueue_add_rate_limited(struct workqueue *q, const char *key);

/* Resets the key's failure count (call after a successful reconcile). */
void workqueue_forget(struct workqueue *q, const char *key);

/* Blocks until a key is ready and returns it (caller frees) with 0, or -ESHUTDOWN once shut down; and how
 * long the key waited in the queue once it was ready (queue latency) in *ret_waited_ns, unless NULL. */
int workqueue_get_waited(struct workqueue *q, char **ret_key, int64_t *ret_waited_ns);
/* workqueue_get_waited() without the wait. */
static inline int workqueue_get(struct workqueue *q, char **ret_key) {
        return workqueue_get_waited(q, ret_key, NULL);
}
/* Marks the key no longer held; if it was added meanwhile it is queued now. */
void workqueue_done(struct workqueue *q, const char *key);

void workqueue_shutdown(struct workqueue *q);

/* Keys waiting to be handed out now (not delayed ones, not held ones). */
size_t workqueue_len(struct workqueue *q);
