/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The full output of an ExecutionTask, written to Postgres as it arrives: each stream is cut into chunks
 * of at most TASK_OUTPUT_CHUNK bytes (rows of task_output_chunks, numbered from 0; a shorter one when
 * output arrives after TASK_OUTPUT_FLUSH_MS without a write, so that followers see it), and one task_outputs
 * row per task carries the byte counts and whether the output is complete. Memory stays at one chunk per
 * stream however much the command writes. The operator is the only writer of these tables; the artifacts a
 * task produced are recorded in artifact.h's table.
 *
 * A task's output may have a limit: bytes of both streams together that are stored. What comes after it is
 * counted and dropped without being looked at, and the record says so (dropped_bytes; complete false).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merr.h"
#include "store/source.h"
#include "store/store.h"

#define TASK_OUTPUT_CHUNK    (256 * 1024)
#define TASK_OUTPUT_FLUSH_MS 1000
/* The Postgres notification channel of new output: every chunk written and every output's end notify it
 * with the task's uid as the payload (the log's followers listen, instead of looking again and again). */
#define TASK_OUTPUT_CHANNEL "mbox_task_output"

enum task_stream { TASK_STDOUT = 1, TASK_STDERR = 2 };

struct task_output;

/* Takes a connection from s and records the task (namespace, name, uid) as started, with its limit in
 * bytes (0: none). */
int task_output_begin(struct store *s, const char *ns, const char *name, const char *uid, uint64_t limit,
        struct task_output **ret, struct merr *err);
/* Appends bytes to a stream; a full chunk is written at once. Bytes past the limit are only counted. After
 * a failure every call fails. */
int task_output_write(
        struct task_output *o, enum task_stream stream, const char *data, size_t len, struct merr *err);
/* Bytes dropped so far because they came past the limit. */
uint64_t task_output_dropped(const struct task_output *o);
/* Writes what is buffered and the totals; complete says whether every byte of the command's output went
 * through task_output_write() (false when the command's session broke, error saying why). The record is
 * complete only if nothing was dropped as well; when something was and error is NULL, its error says how
 * much. Frees o and gives its connection back. */
int task_output_end(struct task_output *o, bool complete, const char *error, struct merr *err);
/* Frees o without writing anything more (the task_outputs row stays incomplete). */
void task_output_abandon(struct task_output *o);

/* Reads: TaskOutput records, the latest run of each task name, named like the task; a watch sees ADDED
 * when a run starts, MODIFIED when its output ends. The columns of its select and events: */
extern const struct store_source store_task_output_source;
enum {
        STORE_TASK_OUTPUT_RV,
        STORE_TASK_OUTPUT_TYPE,
        STORE_TASK_OUTPUT_VERSION,
        STORE_TASK_OUTPUT_NS,
        STORE_TASK_OUTPUT_NAME,
        STORE_TASK_OUTPUT_UID,
        STORE_TASK_OUTPUT_STDOUT,
        STORE_TASK_OUTPUT_STDERR,
        STORE_TASK_OUTPUT_COMPLETE,
        STORE_TASK_OUTPUT_ERROR,
        STORE_TASK_OUTPUT_STARTED,
        STORE_TASK_OUTPUT_FINISHED,
        STORE_TASK_OUTPUT_LIMIT,
        STORE_TASK_OUTPUT_DROPPED,
};
/* The uid of the latest run of task name in namespace ns (of the project that owns it now): 1 with
 * ret_uid set, 0 when there is none, < 0 on failure ("reading taskoutputs: ..."). */
int task_output_latest(
        PGconn *conn, const char *ns, const char *name, char ret_uid[static 64], struct merr *err);
/* Chunk seq of stream of the run uid: 1 with *ret the result (one row, its bytes in column 0, binary;
 * PQclear() it), 0 when it is not there (yet), < 0 on failure. */
int task_output_chunk(PGconn *conn, const char *uid, enum task_stream stream, int seq, PGresult **ret);
/* Whether the output of the run uid is all stored (its end written after its last chunk; a record gone
 * counts as ended): 1, 0, or < 0 on failure. */
int task_output_finished(PGconn *conn, const char *uid);
