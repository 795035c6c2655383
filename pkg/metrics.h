/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A thread-safe Prometheus metrics registry, rendered in the text exposition format 0.0.4.
 *
 * A registry holds families (counters, gauges, histograms), each with a fixed list of label names; a series
 * is one combination of label values and is created on first use. Every function may be called from any
 * thread. The registry owns its families: struct metric pointers stay valid until metrics_free().
 *
 *   struct metric *reconciles = metrics_counter(m, "mbox_reconcile_total", "Reconciles by result.",
 *           (const char *const[]) { "controller", "result", NULL });
 *   metric_add(reconciles, (const char *const[]) { "sandbox", "success" }, 1);
 *
 * Names are the programmer's, not the user's: an invalid metric or label name, a type mismatch (metric_set
 * on a counter) or a negative counter increment is a bug and fails an assert. Label values may be anything;
 * they are escaped on output. Series are never dropped, so label values must come from bounded sets (controller names, phases, results), never from object names.
 */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct metrics; /* registry */
struct metric;  /* one family */

/* Creates an empty registry. Returns 0 or -ENOMEM. */
int metrics_new(struct metrics **ret);

/* Frees the registry and all its families. Accepts NULL; returns NULL. */
struct metrics *metrics_free(struct metrics *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct metrics *, metrics_free);

/*
 * Registers a family, or returns the one already registered under name (which must then have the same type
 * and label names). labels: NULL-terminated label names, or NULL for none; copied. Returns NULL only on
 * -ENOMEM. A family without labels has its single series from the start, so it renders as 0 before first use.
 */
struct metric *metrics_counter(
        struct metrics *m, const char *name, const char *help, const char *const *labels);
struct metric *metrics_gauge(
        struct metrics *m, const char *name, const char *help, const char *const *labels);
/* buckets: ascending upper bounds, copied (the +Inf bucket is implicit). */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
        const char *const *labels, const double *buckets, size_t n_buckets);

/*
 * values: one per label name, in order (NULL when the family has no labels); a NULL value counts as "".
 * When a new series cannot be allocated the update is dropped: metrics never fail the caller.
 */
void metric_add(struct metric *mt, const char *const *values, double v);     /* counter (v >= 0) or gauge */
void metric_set(struct metric *mt, const char *const *values, double v);     /* gauge */
void metric_observe(struct metric *mt, const char *const *values, double v); /* histogram */

/* A counter's or gauge's value, or a histogram's count of observations; 0 for a series never seen. */
double metric_get(struct metric *mt, const char *const *values);

/*
 * Appends the Prometheus text exposition format 0.0.4 to out: families in registration order (a labelled
 * family with no series yet is left out), series sorted by label values, then the process metrics
 * process_resident_memory_bytes, process_cpu_seconds_total, process_start_time_seconds and process_open_fds,
 * read at render time. Returns 0, or -ENOBUFS / -ENOMEM from out (whose contents are then incomplete).
 */
int metrics_render(struct metrics *m, struct buf *out);
