/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch of a kind whose changes are rows numbered by a version column (a struct api_resource with a store_source): every change
 * after the resourceVersion the watch starts from, polled from the database every WATCH_POLL_MS on the
 * connection's own thread. resourceVersion "" or "0" starts from now, after the objects there are as ADDED
 * events (a history: none); sendInitialEvents=true sends those (a history: all of it), then the
 * initial-events-end BOOKMARK. Both are read a page at a time as the client takes them, never whole;
 * allowWatchBookmarks sends a BOOKMARK a minute; timeoutSeconds ends the stream (at most an hour).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "timestamp.h"

#define WATCH_POLL_MS     250
#define WATCH_BATCH       500
#define WATCH_TIMEOUT_MAX 3600
#define BOOKMARK_EVERY_MS 60000

struct watch {
        struct apiserver *s;
        const struct api_resource *res;
        const struct store_source *src; /* res->store */
        struct api_query q;
        /* a watch in a namespace no project owned when it started: the namespace, and the index in q.params
         * of the project it follows, NULL until a project takes the namespace (-1: none pending) */
        char *ns;
        int project_param;
        long long last;
        /* the records there are at version initial_upto, as ADDED events, read page by page before the
         * changes after it (0: none, or sent) */
        long long initial_upto, initial_after;
        bool table, bookmarks, initial_end; /* initial_end: send the initial-events-end bookmark */
        long long deadline_ms, bookmark_ms;
        struct buf out;
        size_t off;
};

static void watch_free(void *ud) {
        struct watch *w = ud;
        api_query_free(&w->q);
        free(w->ns);
        buf_release(&w->out);
        free(w);
}

/* Queues one event (takes obj). */
static int emit(struct watch *w, const char *type, json_object *obj) {
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string(type));
        json_object_object_add(ev, "object", obj);
        const char *text =
                json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = text ? buf_puts(&w->out, text) : -ENOMEM;
        if (r >= 0)
                r = buf_putc(&w->out, '\n');
        json_object_put(ev);
        return r;
}

static int emit_bookmark(struct watch *w, bool initial_end) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object();
        char rv[32];
        snprintf(rv, sizeof(rv), "%lld", w->last);
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", w->res->kind);
        api_put(meta, "resourceVersion", rv);
        if (initial_end) {
                json_object *ann = json_object_new_object();
                api_put(ann, "k8s.io/initial-events-end", "true");
                json_object_object_add(meta, "annotations", ann);
        }
        json_object_object_add(o, "metadata", meta);
        return emit(w, "BOOKMARK", o);
}

/* Queues the first n rows of res as events (type ADDED when the kind has no type column). */
static int emit_rows(struct watch *w, PGresult *res, int n, struct merr *err) {
        for (int i = 0; i < n; i++) {
                json_object *obj = w->table ? api_table(w->res, res, i, i + 1) : api_record(w->res, res, i),
                            *meta = NULL;
                /* a watcher resumes from the resourceVersion of the last event's object, a Table's too */
                if (w->table && json_object_object_get_ex(obj, "metadata", &meta))
                        api_put(meta, "resourceVersion", PQgetvalue(res, i, w->src->c_rv));
                if (emit(w, w->src->c_type < 0 ? "ADDED" : PQgetvalue(res, i, w->src->c_type), obj) < 0)
                        return merr_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static void emit_error(struct watch *w, struct merr *err) {
        json_object *st = json_object_new_object();
        api_put(st, "kind", "Status");
        api_put(st, "apiVersion", "v1");
        json_object_object_add(st, "metadata", json_object_new_object());
        api_put(st, "status", "Failure");
        api_put(st, "reason", "ServiceUnavailable");
        api_put(st, "message", merr_msg(err));
        json_object_object_add(st, "code", json_object_new_int(503));
        (void) emit(w, "ERROR", st);
}

/* Runs sql + the watch's conditions (+ the last parameter, when after). */
static PGresult *query(struct watch *w, PGconn *conn, const char *sql, const char *after, struct merr *err) {
        const char *params[API_QUERY_MAX_PARAMS + 1];
        for (int i = 0; i < w->q.n; i++)
                params[i] = w->q.params[i];
        params[w->q.n] = after;
        PGresult *res = PQexecParams(conn, sql, w->q.n + (after ? 1 : 0), NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                (void) store_error(err, res, NULL);
                PQclear(res);
                return NULL;
        }
        return res;
}

/* A watch that follows no project yet takes the project that owns its namespace now, if one does. */
static int watch_adopt_project(struct watch *w, PGconn *conn, struct merr *err) {
        char project[37];
        int r = w->project_param < 0 ? 0 : store_namespace_project(conn, w->ns, project, NULL, 0, err);
        if (r <= 0)
                return r;
        if (!(w->q.params[w->project_param] = strdup(project)))
                return merr_set(err, -ENOMEM, "out of memory");
        w->project_param = -1;
        return 0;
}

/* The next page into w->out: of the initial records while there are, else of the changes after w->last;
 * a page is at most WATCH_BATCH rows and ends once they pass the byte limit of a list, so memory stays
 * bounded however many records there are. Returns how many rows, 0 when there was nothing more, or < 0
 * (an ERROR event has been queued); *more says that the next page follows at once. */
static int watch_fetch(struct watch *w, bool *more) {
        _cleanup_(buf_release) struct buf inner = BUF_INIT(128 * 1024), sql = BUF_INIT(128 * 1024);
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        PGresult *res = NULL;
        char after[24];
        bool initial = w->initial_upto > 0;
        size_t max_bytes = w->s->opt.max_list_bytes;
        int r, n = 0, rows = 0;
        snprintf(after, sizeof(after), "%lld", initial ? w->initial_after : w->last);
        r = buf_printf(&inner, "%s%s AND %s > $%d", initial ? w->src->select : w->src->events,
                buf_str(&w->q.where), w->src->rv, w->q.n + 1);
        /* records as they were at initial_upto: one changed since is left to its change (MODIFIED,
         * DELETED), so that versions only grow along the stream */
        if (r >= 0 && initial)
                r = buf_printf(&inner, " AND %s <= %lld AND %s <= %lld", w->src->rv, w->initial_upto,
                        w->src->version, w->initial_upto);
        if (r >= 0)
                r = buf_printf(&inner, " ORDER BY %s LIMIT %d", w->src->rv, WATCH_BATCH);
        if (r >= 0)
                r = api_page_sql(&sql, buf_str(&inner), w->src->rv, max_bytes);
        if (r < 0)
                r = merr_set(&err, r, "out of memory");
        else
                r = store_acquire(w->s->store, &conn, &err);
        if (r >= 0)
                r = watch_adopt_project(w, conn, &err);
        if (r >= 0 && !(res = query(w, conn, buf_str(&sql), after, &err)))
                r = -EIO;
        if (r >= 0) {
                bool cut = api_page_cut(res, max_bytes);
                rows = PQntuples(res);
                n = cut ? rows - 1 : rows;
                r = emit_rows(w, res, n, &err);
                *more = cut || rows == WATCH_BATCH;
                if (n > 0) {
                        long long v = strtoll(PQgetvalue(res, n - 1, w->src->c_rv), NULL, 10);
                        *(initial ? &w->initial_after : &w->last) = v;
                }
                if (initial && !*more)
                        w->initial_upto = 0; /* the changes from w->last on come next */
        }
        PQclear(res);
        store_release(w->s->store, conn);
        if (r < 0) {
                emit_error(w, &err);
                return -EIO;
        }
        return n;
}

static long watch_read(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct watch *w = ud;
        bool failed = false;
        while (w->off >= w->out.len) {
                buf_reset(&w->out);
                w->off = 0;
                if (failed || timestamp_monotonic_ms() >= w->deadline_ms)
                        return 0;
                if (httpd_stream_peer_gone(hs))
                        return -1;
                bool initial = w->initial_upto > 0, more = false;
                int n = watch_fetch(w, &more);
                if (n < 0) {
                        failed = true; /* the ERROR event goes out, then the stream ends */
                        continue;
                }
                if (initial || more) {
                        if (w->out.len > 0)
                                break;
                        continue;
                }
                if (w->initial_end) {
                        (void) emit_bookmark(w, true);
                        w->initial_end = false;
                        w->bookmark_ms = timestamp_monotonic_ms();
                }
                if (w->out.len > 0)
                        break;
                if (w->bookmarks && timestamp_monotonic_ms() - w->bookmark_ms >= BOOKMARK_EVERY_MS) {
                        (void) emit_bookmark(w, false);
                        w->bookmark_ms = timestamp_monotonic_ms();
                        break;
                }
                nanosleep(&(struct timespec){.tv_nsec = WATCH_POLL_MS * 1000000L}, NULL);
        }
        size_t n = w->out.len - w->off < max ? w->out.len - w->off : max;
        memcpy(buf, w->out.data + w->off, n);
        w->off += n;
        return (long) n;
}

/* Where the watch starts: the newest version; with initial, the records a list shows at that version are
 * sent first as ADDED events, read a page at a time as the client takes them (watch_fetch()). A record
 * that changes meanwhile is left out of them, and comes as the change it is (MODIFIED, DELETED), as for
 * an informer that relisted. Returns 0, or < 0 with the request answered (503). */
static int watch_start(struct httpd_request *req, struct watch *w, bool initial) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        PGresult *res = NULL;
        int r = api_connect(req, w->s, w->res, &conn);
        if (r < 0)
                return r;
        res = PQexec(conn, w->src->newest);
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
                w->last = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        else
                r = store_error(&err, res, NULL);
        PQclear(res);
        if (r >= 0 && initial && w->last > 0)
                w->initial_upto = w->last;
        store_release(w->s->store, conn);
        if (r < 0)
                httpd_respond_status(req, 503, "ServiceUnavailable", "%s are not available: %s", w->res->name,
                        merr_msg(&err));
        return r;
}

/* A watch in a namespace follows the project that owns it when it starts, for its whole life: when another
 * project takes the namespace, the watch of the old one's member does not go on with the new one's
 * records. A watch that starts before any project owns the namespace (a project just created, whose
 * record the history has not stored yet) follows the first that takes it (watch_adopt_project()), and
 * until then the records of no project. Answers the request when it fails. */
static int watch_scope(struct httpd_request *req, struct watch *w, const char *ns) {
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        char project[37];
        if (store_acquire(w->s->store, &conn, &err) < 0) {
                api_respond_unavailable(req, "watching is not available", &err);
                return -ENOTCONN;
        }
        int r = store_namespace_project(conn, ns, project, NULL, 0, &err);
        store_release(w->s->store, conn);
        if (r < 0) {
                api_respond_store_error(req, &err);
                return -EIO;
        }
        if (api_query_cond(&w->q, "namespace =", ns) < 0)
                goto too_many;
        if (r > 0) {
                if (api_query_cond(&w->q, "project_uid =", project) < 0)
                        goto too_many;
                return 0;
        }
        if (!(w->ns = strdup(ns))) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return -ENOMEM;
        }
        int k = api_query_param(&w->q, "", 0);
        if (k < 0 || buf_printf(&w->q.where, " AND project_uid IS NOT DISTINCT FROM $%d::uuid", k) < 0)
                goto too_many;
        free(w->q.params[k - 1]);
        w->q.params[k - 1] = NULL; /* SQL NULL: no project, until one takes the namespace */
        w->project_param = k - 1;
        return 0;
too_many:
        httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
        return -E2BIG;
}

void api_watch(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const struct store_source *src = r->res->store;
        const char *ns = r->namespace;
        const char *rv = httpd_request_query(req, "resourceVersion"),
                   *initial = httpd_request_query(req, "sendInitialEvents"),
                   *timeout = httpd_request_query(req, "timeoutSeconds"),
                   *bookmarks = httpd_request_query(req, "allowWatchBookmarks"),
                   *cont = httpd_request_query(req, "continue");
        long long limit, secs = 1800, start = -1;
        bool send_initial = initial && strcmp(initial, "true") == 0;
        struct watch *w = calloc(1, sizeof(*w));
        if (!w) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        w->s = s;
        w->res = r->res;
        w->src = src;
        w->project_param = -1;
        w->q.where = (struct buf) BUF_INIT(64 * 1024);
        w->out = (struct buf) BUF_INIT(SIZE_MAX);
        if (!s->store)
                httpd_respond_status(req, 503, "ServiceUnavailable",
                        "%s are not available: mbox-apiserver runs without a database", r->res->name);
        else if (timeout && *timeout && !api_parse_num(timeout, 1, WATCH_TIMEOUT_MAX, &secs))
                httpd_respond_status(req, 400, "BadRequest",
                        "timeoutSeconds: expected 1 to %d, got \"%.32s\"", WATCH_TIMEOUT_MAX, timeout);
        else if (rv && *rv && strcmp(rv, "0") != 0 && !api_parse_num(rv, 1, 999999999999999999LL, &start))
                httpd_respond_status(req, 400, "BadRequest",
                        "resourceVersion: \"%.32s\" is not one this server gave out", rv);
        else if (send_initial && start >= 0)
                httpd_respond_status(
                        req, 400, "BadRequest", "sendInitialEvents needs resourceVersion \"\" or \"0\"");
        else if (cont && *cont)
                httpd_respond_status(req, 400, "BadRequest",
                        "continue: a watch starts from a resourceVersion, not from a page of a list");
        else if (api_list_query(req, r->res, &w->q, &limit) < 0)
                ; /* answered */
        else if (ns && watch_scope(req, w, ns) < 0)
                ; /* answered */
        else if (w->q.n >= API_QUERY_MAX_PARAMS)
                httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
        else {
                w->table = api_wants_table(req);
                /* From resourceVersion "" or "0" a watch begins, as Kubernetes', with the objects there are
                 * as ADDED events (so a list that answered "0" misses nothing that came before the watch);
                 * a history's are all of it with sendInitialEvents (from version 0 on), none without. */
                if (start >= 0)
                        w->last = start;
                else if (!(send_initial && src->history) &&
                         watch_start(req, w, send_initial || !src->history) < 0) {
                        watch_free(w);
                        return;
                }
                w->bookmarks = bookmarks && strcmp(bookmarks, "true") == 0;
                w->initial_end = send_initial;
                w->bookmark_ms = timestamp_monotonic_ms();
                w->deadline_ms = timestamp_monotonic_ms() + secs * 1000;
                (void) httpd_respond_stream(req, 200, "application/json", watch_read, w, watch_free);
                return;
        }
        watch_free(w);
}
