/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TaskOutput (runtime.mbox.dev/v1alpha1, namespaced, read-only): the full output of an ExecutionTask, as
 * the operator stored it (pkg/store/taskoutput.h). Named like its task; when a task name was used more
 * than once, the latest run. get and list return the record (byte counts, complete, times); list also as
 * a Table for kubectl get; the log subresource returns the bytes of one stream (?stream=stdout|stderr,
 * ?limitBytes=N for the first N).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "buf.h"
#include "jsonutil.h"

#define LOG_MAX (64 * 1024 * 1024) /* a larger log is served in parts with limitBytes */

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

static void serve_log(struct httpd_request *req, PGconn *conn, const char *uid, const char *name) {
        const char *stream = httpd_request_query(req, "stream"),
                   *limit_s = httpd_request_query(req, "limitBytes");
        const char *st = !stream || strcmp(stream, "stdout") == 0 ? "1"
                         : strcmp(stream, "stderr") == 0          ? "2"
                                                                  : NULL;
        long long limit = LOG_MAX;
        if (!st) {
                httpd_respond_status(
                        req, 400, "BadRequest", "stream must be stdout or stderr, not '%s'", stream);
                return;
        }
        if (limit_s) {
                char *end;
                limit = strtoll(limit_s, &end, 10);
                if (*limit_s == '\0' || *end != '\0' || limit < 1 || limit > LOG_MAX) {
                        httpd_respond_status(
                                req, 400, "BadRequest", "limitBytes must be a number from 1 to %d", LOG_MAX);
                        return;
                }
        }
        const char *params[] = {uid, st};
        PGresult *res = PQexecParams(conn,
                "SELECT data FROM task_output_chunks WHERE task_uid = $1 AND stream = $2 ORDER BY seq", 2,
                NULL, params, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                httpd_respond_status(req, 503, "ServiceUnavailable", "reading the output of %s: %s", name,
                        PQresultErrorMessage(res));
                PQclear(res);
                return;
        }
        long long total = 0;
        for (int i = 0; i < PQntuples(res); i++)
                total += PQgetlength(res, i, 0);
        if (total > limit && !limit_s) {
                PQclear(res);
                httpd_respond_status(req, 413, "RequestEntityTooLarge",
                        "the output of %s is %lld bytes; ask for it in parts with limitBytes (at most %d)",
                        name, total, LOG_MAX);
                return;
        }
        _cleanup_(buf_release) struct buf b = BUF_INIT(LOG_MAX);
        for (int i = 0; i < PQntuples(res) && b.len < (size_t) limit; i++) {
                size_t n = (size_t) PQgetlength(res, i, 0);
                if (b.len + n > (size_t) limit)
                        n = (size_t) limit - b.len;
                if (buf_append(&b, PQgetvalue(res, i, 0), n) < 0) {
                        PQclear(res);
                        httpd_respond_status(req, 500, "InternalError", "out of memory");
                        return;
                }
        }
        PQclear(res);
        httpd_respond(req, 200, "text/plain", b.len ? b.data : "", b.len);
}

static void log_of(struct httpd_request *req, PGconn *conn, PGresult *res, const char *name) {
        char uid[64];
        snprintf(uid, sizeof(uid), "%s", PQgetvalue(res, 0, 2));
        serve_log(req, conn, uid, name);
}

void api_taskoutputs(
        struct httpd_request *req, struct apiserver *s, const char *ns, const char *name, const char *sub) {
        static const struct api_kind kind = {"taskoutputs", "TaskOutput", LIST_SQL, record, table, log_of};
        api_serve_records(req, s, &kind, ns, name, sub);
}
