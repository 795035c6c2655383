/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log subresource of TaskOutput (taskoutputs/NAME/log; the resource itself is an entry of resources.c):
 * the bytes of one stream of the latest run of a task (?stream=stdout|stderr, ?limitBytes=N for the first
 * N, ?follow=true to go on until the command's output is finished), as the operator stored them
 * (pkg/store/taskoutput.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "log.h"
#include "store/taskoutput.h"
#include "timestamp.h"

#define FOLLOW_POLL_MS 250  /* how often a follower looks for new output unless it hears of it first */
#define FOLLOW_MAX_S   3600 /* a follow ends after this, finished or not */

/* The log of one stream, sent chunk by chunk as stored; with follow, new chunks as they come until the
 * output is finished (or FOLLOW_MAX_S). It holds no database connection while it waits: each look takes
 * one from the pool and gives it back, so a thousand followers cost a few connections, not a thousand. */
struct log_stream {
        struct apiserver *s;
        struct store *store;
        char uid[64];
        enum task_stream stream;
        int seq;
        long long sent, limit; /* limit 0: all */
        bool follow;
        unsigned long long heard; /* notifications of this output heard (outputwait.c) */
        long long deadline_ms;
        PGresult *chunk;
        size_t off;
};

static void log_free(void *ud) {
        struct log_stream *l = ud;
        if (l->follow)
                api_output_unfollow(l->s, l->uid);
        PQclear(l->chunk);
        free(l);
}

/* A database connection for one look at the log, or NULL (logged: the log ends). */
static PGconn *log_connect(struct log_stream *l) {
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        if (store_acquire(l->store, &conn, &err) < 0) {
                log_warn("a task output's log ends: no database connection", "task_uid", l->uid, "error",
                        merr_msg(&err));
                return NULL;
        }
        return conn;
}

/* Chunk seq into l->chunk: 1, 0 when it is not there (yet), < 0 on failure. */
static int next_chunk(struct log_stream *l) {
        PGresult *res = NULL;
        PGconn *conn = log_connect(l);
        if (!conn)
                return -EIO;
        int r = task_output_chunk(conn, l->uid, l->stream, l->seq, &res);
        store_release(l->store, conn);
        if (r <= 0)
                return r;
        PQclear(l->chunk);
        l->chunk = res;
        l->off = 0;
        l->seq++;
        return 1;
}

/* Whether the command's output is all stored (finished_at is set after the last chunk). */
static int finished(struct log_stream *l) {
        PGconn *conn = log_connect(l);
        if (!conn)
                return -EIO;
        int r = task_output_finished(conn, l->uid);
        store_release(l->store, conn);
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
                /* what is heard from here on wakes the wait below: nothing written meanwhile is missed */
                unsigned long long heard = l->heard;
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
                l->heard = api_output_wait(l->s, l->uid, heard, FOLLOW_POLL_MS);
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
        enum task_stream st = !stream || strcmp(stream, "stdout") == 0 ? TASK_STDOUT
                              : strcmp(stream, "stderr") == 0          ? TASK_STDERR
                                                                       : 0;
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
        l->s = s;
        l->store = s->store;
        snprintf(l->uid, sizeof(l->uid), "%s", uid);
        l->stream = st;
        l->limit = limit;
        l->follow = follow;
        if (follow)
                l->heard = api_output_follow(s, uid);
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

bool api_taskoutput_log_follows(struct httpd_request *req) {
        const char *follow = httpd_request_query(req, "follow");
        return follow && (strcmp(follow, "true") == 0 || strcmp(follow, "1") == 0);
}

/* The log: of the latest run of the task name. */
void api_taskoutput_log(const struct api_request *r) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        char uid[64] = "";
        if (api_connect(r->req, r->s, r->res, &conn) < 0)
                return;
        int k = task_output_latest(conn, r->namespace ? r->namespace : "", r->name, uid, &err);
        store_release(r->s->store, conn);
        if (k < 0)
                api_respond_store_error(r->req, &err);
        else if (k == 0)
                api_respond_not_found(r->req, r->res->name, r->name);
        else
                log_of(r->req, r->s, uid, r->name);
}
