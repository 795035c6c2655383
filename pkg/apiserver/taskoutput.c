/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TaskOutput (runtime.mbox.dev/v1alpha1, namespaced, read-only): the full output of an ExecutionTask, as
 * the operator stored it (pkg/store/taskoutput.h). Named like its task; when a task name was used more
 * than once, the latest run. get, list (field selectors on metadata.name, status.complete; limit and
 * continue) and watch (ADDED when a run starts, MODIFIED when its output ends) return the record (byte
 * counts, complete, the limit and what was dropped past it, times), also as a Table for kubectl get; the log subresource streams the bytes of one stream (?stream=stdout|stderr,
 * ?limitBytes=N for the first N, ?follow=true to go on until the command's output is finished).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "buf.h"
#include "jsonutil.h"
#include "log.h"
#include "timestamp.h"

#define FOLLOW_POLL_MS 250  /* how often a follower looks for new output */
#define FOLLOW_MAX_S   3600 /* a follow ends after this, finished or not */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS                                                                                            \
        "SELECT rv, type, version, namespace, task_name, task_uid, stdout_bytes, stderr_bytes, complete, " \
        "coalesce(error, ''), " TS("started_at") ", coalesce(" TS(                                         \
                "finished_at") ", ''), "                                                                   \
                               "coalesce(limit_bytes::text, ''), dropped_bytes FROM "
/* records: the latest run of each task name, in the order they started; resourceVersion: the newest change */
static const char SELECT[] =
        COLUMNS "(SELECT DISTINCT ON (namespace, task_name) created_rv AS rv, 'ADDED' AS type, "
                "greatest(created_rv, modified_rv) AS version, * FROM task_outputs "
                "ORDER BY namespace, task_name, started_at DESC) o WHERE true";
/* changes: an output started (ADDED), its newest change (MODIFIED: it ended) */
static const char EVENTS[] = COLUMNS
        "(SELECT created_rv AS rv, 'ADDED' AS type, created_rv AS version, * FROM task_outputs UNION ALL "
        "SELECT modified_rv, 'MODIFIED', modified_rv, * FROM task_outputs WHERE modified_rv IS NOT NULL) o "
        "WHERE true";

enum {
        C_RV,
        C_TYPE,
        C_VERSION,
        C_NS,
        C_NAME,
        C_UID,
        C_STDOUT,
        C_STDERR,
        C_COMPLETE,
        C_ERROR,
        C_STARTED,
        C_FINISHED,
        C_LIMIT,
        C_DROPPED
};

static const struct api_field fields[] = {
        {"metadata.name", "task_name"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {"status.complete", "complete::text"},
        {NULL, NULL},
};

static json_object *record(PGresult *res, int row) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *st = json_object_new_object();
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", "TaskOutput");
        api_put(meta, "name", PQgetvalue(res, row, C_NAME));
        api_put(meta, "namespace", PQgetvalue(res, row, C_NS));
        api_put(meta, "uid", PQgetvalue(res, row, C_UID));
        api_put(meta, "resourceVersion", PQgetvalue(res, row, C_VERSION));
        api_put(meta, "creationTimestamp", PQgetvalue(res, row, C_STARTED));
        json_object_object_add(o, "metadata", meta);
        api_put(st, "taskUID", PQgetvalue(res, row, C_UID));
        json_object_object_add(
                st, "stdoutBytes", json_object_new_int64(strtoll(PQgetvalue(res, row, C_STDOUT), NULL, 10)));
        json_object_object_add(
                st, "stderrBytes", json_object_new_int64(strtoll(PQgetvalue(res, row, C_STDERR), NULL, 10)));
        json_object_object_add(
                st, "complete", json_object_new_boolean(PQgetvalue(res, row, C_COMPLETE)[0] == 't'));
        if (*PQgetvalue(res, row, C_ERROR))
                api_put(st, "error", PQgetvalue(res, row, C_ERROR));
        api_put(st, "startedAt", PQgetvalue(res, row, C_STARTED));
        if (*PQgetvalue(res, row, C_FINISHED))
                api_put(st, "finishedAt", PQgetvalue(res, row, C_FINISHED));
        if (*PQgetvalue(res, row, C_LIMIT))
                json_object_object_add(st, "limitBytes",
                        json_object_new_int64(strtoll(PQgetvalue(res, row, C_LIMIT), NULL, 10)));
        long long dropped = strtoll(PQgetvalue(res, row, C_DROPPED), NULL, 10);
        json_object_object_add(st, "truncated", json_object_new_boolean(dropped > 0));
        if (dropped > 0)
                json_object_object_add(st, "droppedBytes", json_object_new_int64(dropped));
        json_object_object_add(o, "status", st);
        return o;
}

static json_object *table(PGresult *res, int from, int to) {
        json_object *cols = json_object_new_array();
        json_object_array_add(cols, api_column("Name", "string", "name", "Name of the ExecutionTask."));
        json_object_array_add(cols, api_column("Stdout", "integer", "", "Bytes written to standard output."));
        json_object_array_add(cols, api_column("Stderr", "integer", "", "Bytes written to standard error."));
        json_object_array_add(cols, api_column("Complete", "boolean", "", "Whether every byte was stored."));
        json_object_array_add(cols, api_column("Age", "string", "", "Time since the command started."));
        json_object *t = api_table(cols);
        for (int i = from; i < to; i++) {
                json_object *cells = json_object_new_array();
                char a[32];
                api_age(PQgetvalue(res, i, C_STARTED), a, sizeof(a));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_NAME)));
                json_object_array_add(
                        cells, json_object_new_int64(strtoll(PQgetvalue(res, i, C_STDOUT), NULL, 10)));
                json_object_array_add(
                        cells, json_object_new_int64(strtoll(PQgetvalue(res, i, C_STDERR), NULL, 10)));
                json_object_array_add(
                        cells, json_object_new_boolean(PQgetvalue(res, i, C_COMPLETE)[0] == 't'));
                json_object_array_add(cells, json_object_new_string(a));
                api_table_row(t, cells, PQgetvalue(res, i, C_NS), PQgetvalue(res, i, C_NAME),
                        PQgetvalue(res, i, C_UID), PQgetvalue(res, i, C_STARTED));
        }
        return t;
}

static const struct api_source source = {.resource = "taskoutputs",
        .kind = "TaskOutput",
        .select = SELECT,
        .events = EVENTS,
        .rv = "rv",
        .version = "version",
        .name_col = "task_name",
        .newest = "SELECT greatest((SELECT coalesce(max(created_rv), 0) FROM task_outputs), "
                  "(SELECT coalesce(max(modified_rv), 0) FROM task_outputs))",
        .fields = fields,
        .labels = "'{}'::jsonb",
        .time = NULL,
        .token = "t1.",
        .c_rv = C_RV,
        .c_type = C_TYPE,
        .record = record,
        .table = table};

/* The log of one stream, sent chunk by chunk as stored; with follow, new chunks as they come until the
 * output is finished (or FOLLOW_MAX_S). It holds no database connection while it waits: each look takes
 * one from the pool and gives it back, so a thousand followers cost a few connections, not a thousand. */
struct log_stream {
        struct store *store;
        char uid[64], stream[2];
        int seq;
        long long sent, limit; /* limit 0: all */
        bool follow;
        long long deadline_ms;
        PGresult *chunk;
        size_t off;
};

static void log_free(void *ud) {
        struct log_stream *l = ud;
        PQclear(l->chunk);
        free(l);
}

/* One query of the log: its result, or NULL when no connection could be had or the query failed. */
static PGresult *log_query(
        struct log_stream *l, const char *sql, int n, const char *const *params, int binary) {
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        if (store_acquire(l->store, &conn, &err) < 0) {
                log_warn("a task output's log ends: no database connection", "task_uid", l->uid, "error",
                        merr_msg(&err));
                return NULL;
        }
        PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, binary);
        store_release(l->store, conn);
        return res;
}

/* Chunk seq into l->chunk: 1, 0 when it is not there (yet), < 0 on failure. */
static int next_chunk(struct log_stream *l) {
        char seq[16];
        snprintf(seq, sizeof(seq), "%d", l->seq);
        const char *params[] = {l->uid, l->stream, seq};
        PGresult *res = log_query(l,
                "SELECT data FROM task_output_chunks WHERE task_uid = $1 AND stream = $2 AND seq = $3", 3,
                params, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
                int r = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -EIO;
                PQclear(res);
                return r;
        }
        PQclear(l->chunk);
        l->chunk = res;
        l->off = 0;
        l->seq++;
        return 1;
}

/* Whether the command's output is all stored (finished_at is set after the last chunk). */
static int finished(struct log_stream *l) {
        const char *params[] = {l->uid};
        PGresult *res = log_query(
                l, "SELECT finished_at IS NOT NULL FROM task_outputs WHERE task_uid = $1", 1, params, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? -EIO
                : PQntuples(res) == 0                  ? 1 /* the record went away */
                                                       : PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        return r;
}

static long log_read(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct log_stream *l = ud;
        for (;;) {
                if (l->limit > 0 && l->sent >= l->limit)
                        return 0;
                if (l->chunk && l->off < (size_t) PQgetlength(l->chunk, 0, 0)) {
                        size_t n = (size_t) PQgetlength(l->chunk, 0, 0) - l->off;
                        if (n > max)
                                n = max;
                        if (l->limit > 0 && (long long) n > l->limit - l->sent)
                                n = (size_t) (l->limit - l->sent);
                        memcpy(buf, PQgetvalue(l->chunk, 0, 0) + l->off, n);
                        l->off += n;
                        l->sent += (long long) n;
                        return (long) n;
                }
                int r = next_chunk(l);
                if (r < 0)
                        return -1;
                if (r > 0)
                        continue;
                if (!l->follow)
                        return 0;
                r = finished(l);
                if (r < 0)
                        return -1;
                if (r > 0) {
                        /* the last chunks were written before the end was: one more look */
                        r = next_chunk(l);
                        if (r > 0)
                                continue;
                        return r < 0 ? -1 : 0;
                }
                if (httpd_stream_peer_gone(hs) || timestamp_monotonic_ms() >= l->deadline_ms)
                        return httpd_stream_peer_gone(hs) ? -1 : 0;
                nanosleep(&(struct timespec){.tv_nsec = FOLLOW_POLL_MS * 1000000L}, NULL);
        }
}

static bool parse_bool(const char *s, bool *ret) {
        *ret = s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
        return *ret || !s || !*s || strcmp(s, "false") == 0 || strcmp(s, "0") == 0;
}

/* The log subresource of the task output whose run is uid. */
static void log_of(struct httpd_request *req, struct apiserver *s, const char *uid, const char *name) {
        const char *stream = httpd_request_query(req, "stream"),
                   *limit_s = httpd_request_query(req, "limitBytes"),
                   *follow_s = httpd_request_query(req, "follow");
        const char *st = !stream || strcmp(stream, "stdout") == 0 ? "1"
                         : strcmp(stream, "stderr") == 0          ? "2"
                                                                  : NULL;
        long long limit = 0;
        bool follow;
        struct merr err = MERR_INIT;
        if (!st) {
                httpd_respond_status(
                        req, 400, "BadRequest", "stream must be stdout or stderr, not '%s'", stream);
                return;
        }
        if (limit_s) {
                char *end;
                limit = strtoll(limit_s, &end, 10);
                if (*limit_s < '0' || *limit_s > '9' || *end != '\0' || limit < 1) {
                        httpd_respond_status(
                                req, 400, "BadRequest", "limitBytes must be a positive number of bytes");
                        return;
                }
        }
        if (!parse_bool(follow_s, &follow)) {
                httpd_respond_status(
                        req, 400, "BadRequest", "follow must be true or false, not '%s'", follow_s);
                return;
        }
        struct log_stream *l = calloc(1, sizeof(*l));
        if (!l) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        l->store = s->store;
        snprintf(l->uid, sizeof(l->uid), "%s", uid);
        snprintf(l->stream, sizeof(l->stream), "%s", st);
        l->limit = limit;
        l->follow = follow;
        l->deadline_ms = timestamp_monotonic_ms() + FOLLOW_MAX_S * 1000LL;
        /* the database answers before the 200 goes out */
        PGconn *conn = NULL;
        if (store_acquire(s->store, &conn, &err) < 0) {
                char what[320];
                snprintf(what, sizeof(what), "reading the output of %s", name);
                api_respond_unavailable(req, what, &err);
                log_free(l);
                return;
        }
        store_release(s->store, conn);
        (void) httpd_respond_stream(req, 200, "text/plain", log_read, l, log_free);
}

void api_taskoutputs(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name,
        const char *sub, bool watch) {
        if (!sub) {
                api_serve(req, s, &source, ns, name, watch);
                return;
        }
        /* the log: of the latest run of the task name */
        PGconn *conn = NULL;
        char sql[sizeof(SELECT) + 256], uid[64] = "";
        if (api_source_connect(req, s, &source, &conn) < 0)
                return;
        snprintf(sql, sizeof(sql), "%s AND namespace = $1 AND task_name = $2" STORE_IN_PROJECT_NOW("1"),
                SELECT);
        const char *params[] = {ns ? ns : "", name};
        PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                api_respond_db_error(req, res, "reading taskoutputs");
        else if (PQntuples(res) == 0)
                httpd_respond_status(
                        req, 404, "NotFound", "taskoutputs.%s \"%s\" not found", API_GROUP, name);
        else
                snprintf(uid, sizeof(uid), "%s", PQgetvalue(res, 0, C_UID));
        PQclear(res);
        store_release(s->store, conn);
        if (*uid)
                log_of(req, s, uid, name);
}
