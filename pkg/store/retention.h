/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long the records of finished ExecutionTasks stay: their output (task_outputs and its chunks) and the
 * artifacts the operator recorded from them (source Task; artifacts registered through the API are their
 * owners' to delete). A record goes once its task finished longer ago than the retention of its
 * namespace, also when the task itself is long gone (deleted by its ttlSecondsAfterFinished). Deletion is
 * plain, without a tombstone or a new version, as history pruning is: a watch sees no event for it.
 *
 * An output's end is finished_at; an output that never ended (its operator died) counts from its start,
 * unless its task is still running. The operator, the only writer of these records, prunes them.
 *
 * The records of exec and terminal sessions (session.h) follow the same retention, counted from their end;
 * an open session stays. So do the windows of the preview access log (previewaccess.h), counted from their
 * last request.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "merr.h"
#include "store/store.h"

#define STORE_PRUNE_BATCH 100 /* records of each kind that one store_prune_task_records() deletes at most */

struct store_retention {
        const char *const *namespaces; /* namespaces with a retention of their own (borrowed); one listed
                                        * twice (two projects claim it) keeps its records the longer */
        const int64_t *keep_ms;        /* theirs, each > 0, one per namespace */
        size_t n;
        int64_t default_ms;         /* every other namespace's; 0: kept */
        const char *const *running; /* uids of the tasks whose output is still being written (borrowed) */
        size_t n_running;
};

/* Deletes up to STORE_PRUNE_BATCH task outputs (with their chunks) and as many task artifacts past their
 * retention, oldest first, and sets how many of each went. Call it again while either count is the
 * batch. */
int store_prune_task_records(PGconn *conn, const struct store_retention *r, int64_t *ret_outputs,
        int64_t *ret_artifacts, struct merr *err);

/* Deletes up to STORE_PRUNE_BATCH sessions that ended longer ago than the retention of their namespace,
 * oldest first, and sets how many went. Call it again while the count is the batch. */
int store_prune_sessions(PGconn *conn, const struct store_retention *r, int64_t *ret, struct merr *err);

/* Deletes up to STORE_PRUNE_BATCH preview access windows whose last request is older than the retention of
 * their namespace, oldest first, and sets how many went. Call it again while the count is the batch. */
int store_prune_preview_accesses(
        PGconn *conn, const struct store_retention *r, int64_t *ret, struct merr *err);
