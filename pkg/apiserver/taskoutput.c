/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TaskOutput (runtime.mbox.dev/v1alpha1, namespaced, read-only): the full output of an ExecutionTask, as
 * the operator stored it (pkg/store/taskoutput.h). Named like its task; when a task name was used more
 * than once, the latest run. get and list return the record (byte counts, complete, times); list also as
 * a Table for kubectl get; the log subresource streams the bytes of one stream (?stream=stdout|stderr,
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
#include "timestamp.h"

#define FOLLOW_POLL_MS 250  /* how often a follower looks for new output */
#define FOLLOW_MAX_S   3600 /* a follow ends after this, finished or not */

static const char LIST_SQL[] =
        "SELECT DISTINCT ON (namespace, task_name) namespace, task_name, task_uid, stdout_bytes, "
        "stderr_bytes, "
        "complete, coalesce(error, ''), to_char(started_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') "
        "FROM task_outputs WHERE ($1 = '' OR namespace = $1) AND ($2 = '' OR task_name = $2) "
        "ORDER BY namespace, task_name, started_at DESC";

static json_object *record(PGresult *res, int row) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *st = json_object_new_object();
        json_object_object_add(o, "apiVersion", json_object_new_string(API_GV));
        json_object_object_add(o, "kind", json_object_new_string("TaskOutput"));
        json_object_object_add(meta, "name", json_object_new_string(PQgetvalue(res, row, 1)));
        json_object_object_add(meta, "namespace", json_object_new_string(PQgetvalue(res, row, 0)));
        json_object_object_add(meta, "uid", json_object_new_string(PQgetvalue(res, row, 2)));
        json_object_object_add(meta, "creationTimestamp", json_object_new_string(PQgetvalue(res, row, 7)));
        json_object_object_add(o, "metadata", meta);
        json_object_object_add(st, "taskUID", json_object_new_string(PQgetvalue(res, row, 2)));
        json_object_object_add(
                st, "stdoutBytes", json_object_new_int64(strtoll(PQgetvalue(res, row, 3), NULL, 10)));
        json_object_object_add(
                st, "stderrBytes", json_object_new_int64(strtoll(PQgetvalue(res, row, 4), NULL, 10)));
        json_object_object_add(st, "complete", json_object_new_boolean(PQgetvalue(res, row, 5)[0] == 't'));
        if (*PQgetvalue(res, row, 6))
                json_object_object_add(st, "error", json_object_new_string(PQgetvalue(res, row, 6)));
        json_object_object_add(st, "startedAt", json_object_new_string(PQgetvalue(res, row, 7)));
        if (*PQgetvalue(res, row, 8))
                json_object_object_add(st, "finishedAt", json_object_new_string(PQgetvalue(res, row, 8)));
        json_object_object_add(o, "status", st);
        return o;
}

static json_object *table(PGresult *res) {
        json_object *cols = json_object_new_array();
        json_object_array_add(cols, api_column("Name", "string", "name", "Name of the ExecutionTask."));
        json_object_array_add(cols, api_column("Stdout", "integer", "", "Bytes written to standard output."));
        json_object_array_add(cols, api_column("Stderr", "integer", "", "Bytes written to standard error."));
        json_object_array_add(cols, api_column("Complete", "boolean", "", "Whether every byte was stored."));
        json_object_array_add(cols, api_column("Age", "string", "", "Time since the command started."));
        json_object *t = api_table(cols);
        for (int i = 0; i < PQntuples(res); i++) {
                json_object *cells = json_object_new_array();
                char a[32];
                api_age(PQgetvalue(res, i, 7), a, sizeof(a));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, 1)));
                json_object_array_add(cells, json_object_new_int64(strtoll(PQgetvalue(res, i, 3), NULL, 10)));
                json_object_array_add(cells, json_object_new_int64(strtoll(PQgetvalue(res, i, 4), NULL, 10)));
                json_object_array_add(cells, json_object_new_boolean(PQgetvalue(res, i, 5)[0] == 't'));
                json_object_array_add(cells, json_object_new_string(a));
                api_table_row(t, cells, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                        PQgetvalue(res, i, 7));
        }
        return t;
}

/* The log of one stream, sent chunk by chunk as stored; with follow, new chunks as they come until the
 * output is finished (or FOLLOW_MAX_S). One database connection for the stream's life. */
struct log_stream {
        struct store *store;
        PGconn *conn;
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
        store_release(l->store, l->conn);
        free(l);
}

/* Chunk seq into l->chunk: 1, 0 when it is not there (yet), < 0 on failure. */
static int next_chunk(struct log_stream *l) {
        char seq[16];
        snprintf(seq, sizeof(seq), "%d", l->seq);
        const char *params[] = {l->uid, l->stream, seq};
        PGresult *res = PQexecParams(l->conn,
                "SELECT data FROM task_output_chunks WHERE task_uid = $1 AND stream = $2 AND seq = $3", 3,
                NULL, params, NULL, NULL, 1);
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
        PGresult *res =
                PQexecParams(l->conn, "SELECT finished_at IS NOT NULL FROM task_outputs WHERE task_uid = $1",
                        1, NULL, params, NULL, NULL, 0);
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

static void log_of(struct httpd_request *req, struct apiserver *s, PGresult *res, const char *name) {
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
        snprintf(l->uid, sizeof(l->uid), "%s", PQgetvalue(res, 0, 2));
        snprintf(l->stream, sizeof(l->stream), "%s", st);
        l->limit = limit;
        l->follow = follow;
        l->deadline_ms = timestamp_monotonic_ms() + FOLLOW_MAX_S * 1000LL;
        if (store_acquire(s->store, &l->conn, &err) < 0) {
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "reading the output of %s: %s", name, merr_msg(&err));
                log_free(l);
                return;
        }
        (void) httpd_respond_stream(req, 200, "text/plain", log_read, l, log_free);
}

void api_taskoutputs(
        struct httpd_request *req, struct apiserver *s, const char *ns, const char *name, const char *sub) {
        static const struct api_kind kind = {"taskoutputs", "TaskOutput", LIST_SQL, record, table, log_of};
        api_serve_records(req, s, &kind, ns, name, sub);
}
