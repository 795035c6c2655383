/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ObjectHistory (runtime.mbox.dev/v1alpha1, namespaced, read-only): one state of an mbox object as the
 * mirror stored it (mirror.c), kept after the object is gone. Named <object>.<id>, ordered by id (the
 * order the states were seen). A Project's states are in its namespace. list takes:
 *   fieldSelector  object.kind, object.name, object.uid, object.apiVersion, type, phase,
 *                  metadata.name, metadata.namespace (=, ==, !=)
 *   labelSelector  on the object's labels in that state
 *   since, until   RFC 3339: states that came to be at or after since, before until
 *   limit, continue
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "timestamp.h"

#define PAGE_MAX  5000 /* items in one answer without a smaller limit; the rest come with continue */
#define TOKEN_PFX "h1."

static const struct api_field fields[] = {
        {"object.kind", "kind"},
        {"object.name", "name"},
        {"object.uid", "uid::text"},
        {"object.apiVersion", "api_version"},
        {"type", "event"},
        {"phase", "phase"},
        {"metadata.name", "(name || '.' || id::text)"},
        {"metadata.namespace", "namespace"},
        {NULL, NULL},
};

static const char SELECT[] =
        "SELECT id, api_version, kind, namespace, name, uid, resource_version, event, phase, "
        "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), object::text "
        "FROM object_history WHERE true";

enum {
        C_ID,
        C_API_VERSION,
        C_KIND,
        C_NS,
        C_NAME,
        C_UID,
        C_RV,
        C_EVENT,
        C_PHASE,
        C_CHANGED,
        C_RECORDED,
        C_OBJECT
};

static json_object *record(PGresult *res, int i) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *ref = json_object_new_object();
        char name[400];
        snprintf(name, sizeof(name), "%s.%s", PQgetvalue(res, i, C_NAME), PQgetvalue(res, i, C_ID));
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", "ObjectHistory");
        api_put(meta, "name", name);
        api_put(meta, "namespace", PQgetvalue(res, i, C_NS));
        api_put(meta, "resourceVersion", PQgetvalue(res, i, C_ID));
        api_put(meta, "creationTimestamp", PQgetvalue(res, i, C_CHANGED));
        json_object_object_add(o, "metadata", meta);
        api_put(ref, "apiVersion", PQgetvalue(res, i, C_API_VERSION));
        api_put(ref, "kind", PQgetvalue(res, i, C_KIND));
        api_put(ref, "name", PQgetvalue(res, i, C_NAME));
        api_put(ref, "uid", PQgetvalue(res, i, C_UID));
        api_put(ref, "resourceVersion", PQgetvalue(res, i, C_RV));
        json_object_object_add(o, "object", ref);
        api_put(o, "type", PQgetvalue(res, i, C_EVENT));
        api_put(o, "phase", PQgetvalue(res, i, C_PHASE));
        api_put(o, "changedAt", PQgetvalue(res, i, C_CHANGED));
        api_put(o, "recordedAt", PQgetvalue(res, i, C_RECORDED));
        json_object *state = json_tokener_parse(PQgetvalue(res, i, C_OBJECT));
        json_object_object_add(o, "state", state ? state : json_object_new_object());
        return o;
}

/* A Table of rows [from, to) of res. */
static json_object *table(PGresult *res, int from, int to) {
        json_object *cols = json_object_new_array();
        json_object_array_add(cols, api_column("Name", "string", "name", "<object>.<sequence number>."));
        json_object_array_add(cols, api_column("Kind", "string", "", "Kind of the object."));
        json_object_array_add(cols, api_column("Object", "string", "", "Name of the object."));
        json_object_array_add(cols, api_column("Type", "string", "", "ADDED, MODIFIED or DELETED."));
        json_object_array_add(cols, api_column("Phase", "string", "", "status.phase in this state."));
        json_object_array_add(
                cols, api_column("Changed", "string", "date-time", "When the state came to be."));
        json_object *t = api_table(cols);
        for (int i = from; i < to; i++) {
                json_object *cells = json_object_new_array();
                char name[400];
                snprintf(name, sizeof(name), "%s.%s", PQgetvalue(res, i, C_NAME), PQgetvalue(res, i, C_ID));
                json_object_array_add(cells, json_object_new_string(name));
                /* Kind.group for what is not mbox.dev's, as kubectl names resources */
                const char *av = PQgetvalue(res, i, C_API_VERSION);
                char kind[300];
                if (strncmp(av, "mbox.dev/", 9) == 0)
                        snprintf(kind, sizeof(kind), "%s", PQgetvalue(res, i, C_KIND));
                else
                        snprintf(kind, sizeof(kind), "%s.%.*s", PQgetvalue(res, i, C_KIND),
                                (int) strcspn(av, "/"), av);
                json_object_array_add(cells, json_object_new_string(kind));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_NAME)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_EVENT)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_PHASE)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_CHANGED)));
                api_table_row(t, cells, PQgetvalue(res, i, C_NS), name, "", PQgetvalue(res, i, C_CHANGED));
        }
        return t;
}

/* A decimal in [min, max] that is all of s. */
static bool parse_num(const char *s, long long min, long long max, long long *ret) {
        char *end;
        if (!s || *s < '0' || *s > '9' || strlen(s) > 18)
                return false;
        *ret = strtoll(s, &end, 10);
        return *end == '\0' && *ret >= min && *ret <= max;
}

/* The WHERE conditions of a list from its query parameters; answers 400 and returns < 0 when one is bad. */
static int list_query(struct httpd_request *req, struct api_query *q, long long *limit) {
        const char *ls = httpd_request_query(req, "labelSelector"),
                   *fs = httpd_request_query(req, "fieldSelector"),
                   *cont = httpd_request_query(req, "continue"), *lim = httpd_request_query(req, "limit"),
                   *since = httpd_request_query(req, "since"), *until = httpd_request_query(req, "until");
        struct merr err = MERR_INIT;
        long long after = 0;
        int k;
        *limit = PAGE_MAX;
        if (lim && *lim && !parse_num(lim, 0, 1000000, limit)) {
                httpd_respond_status(
                        req, 400, "BadRequest", "limit: expected a number of items, got \"%.64s\"", lim);
                return -EINVAL;
        }
        if (*limit == 0 || *limit > PAGE_MAX)
                *limit = PAGE_MAX;
        if (cont && *cont &&
                (strncmp(cont, TOKEN_PFX, strlen(TOKEN_PFX)) != 0 ||
                        !parse_num(cont + strlen(TOKEN_PFX), 1, 999999999999999999LL, &after))) {
                httpd_respond_status(req, 400, "BadRequest",
                        "continue: the token is not one this server gave out; list again without it");
                return -EINVAL;
        }
        if ((ls && api_label_selector(ls, "(object->'metadata'->'labels')", q, &err) < 0) ||
                (fs && api_field_selector(fs, fields, q, &err) < 0)) {
                httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                return -EINVAL;
        }
        const char *times[] = {since, until};
        for (size_t i = 0; i < 2; i++) {
                struct timestamp t;
                if (!times[i] || !*times[i])
                        continue;
                if (timestamp_parse(times[i], &t, &err) < 0) {
                        httpd_respond_status(
                                req, 400, "BadRequest", "%s: %s", i ? "until" : "since", merr_msg(&err));
                        return -EINVAL;
                }
                if ((k = api_query_param(q, times[i], strlen(times[i]))) < 0 ||
                        buf_printf(&q->where, " AND changed_at %s $%d::timestamptz", i ? "<" : ">=", k) < 0)
                        goto too_long;
        }
        if (after) {
                char a[24];
                snprintf(a, sizeof(a), "%lld", after);
                if ((k = api_query_param(q, a, strlen(a))) < 0 ||
                        buf_printf(&q->where, " AND id > $%d", k) < 0)
                        goto too_long;
        }
        return 0;
too_long:
        httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
        return -E2BIG;
}

void api_objecthistories(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name) {
        struct api_query q = {.where = BUF_INIT(64 * 1024)};
        _cleanup_(buf_release) struct buf sql = BUF_INIT(128 * 1024);
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        long long limit = 1, id = 0;
        int k = 0;
        if (name) {
                const char *dot = strrchr(name, '.');
                if (!dot || !parse_num(dot + 1, 1, 999999999999999999LL, &id)) {
                        httpd_respond_status(
                                req, 404, "NotFound", "objecthistories.%s \"%s\" not found", API_GROUP, name);
                        return;
                }
                char a[24];
                snprintf(a, sizeof(a), "%lld", id);
                k = api_query_param(&q, a, strlen(a));
                if (k >= 0)
                        k = buf_printf(&q.where, " AND id = $%d", k);
                if (k >= 0 && (k = api_query_param(&q, name, (size_t) (dot - name))) >= 0)
                        k = buf_printf(&q.where, " AND name = $%d", k);
        } else if (list_query(req, &q, &limit) < 0) {
                api_query_free(&q);
                return;
        }
        if (k >= 0 && ns && (k = api_query_param(&q, ns, strlen(ns))) >= 0)
                k = buf_printf(&q.where, " AND namespace = $%d", k);
        if (k >= 0)
                k = buf_printf(&sql, "%s%s ORDER BY id LIMIT %lld", SELECT, buf_str(&q.where), limit + 1);
        if (k < 0) {
                httpd_respond_status(req, 400, "BadRequest", "request too large");
                api_query_free(&q);
                return;
        }
        if (!s->store || store_acquire(s->store, &conn, &err) < 0) {
                httpd_respond_status(req, 503, "ServiceUnavailable", "objecthistories are not available: %s",
                        s->store ? merr_msg(&err) : "mbox-apiserver runs without a database");
                api_query_free(&q);
                return;
        }
        /* the list's resourceVersion: the newest id before the rows are read, so a watch from it misses
         * nothing the list did not show (it may show a row again) */
        char rv[32] = "0";
        PGresult *res = name ? NULL : PQexec(conn, "SELECT coalesce(max(id), 0) FROM object_history");
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
                snprintf(rv, sizeof(rv), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = PQexecParams(conn, buf_str(&sql), q.n, NULL, (const char *const *) q.params, NULL, NULL, 0);
        api_query_free(&q);
        int rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
        int n = rows > limit ? (int) limit : rows;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                httpd_respond_status(req, 503, "ServiceUnavailable", "reading objecthistories: %s",
                        PQresultErrorMessage(res));
        else if (name && rows == 0)
                httpd_respond_status(
                        req, 404, "NotFound", "objecthistories.%s \"%s\" not found", API_GROUP, name);
        else if (name) {
                _cleanup_json_ json_object *o = record(res, 0);
                api_respond_json(req, o);
        } else {
                char token[64] = "";
                if (rows > n)
                        snprintf(token, sizeof(token), TOKEN_PFX "%s", PQgetvalue(res, n - 1, C_ID));
                _cleanup_json_ json_object *out = NULL;
                if (api_wants_table(req))
                        out = table(res, 0, n);
                else {
                        json_object *items = json_object_new_array();
                        out = json_object_new_object();
                        api_put(out, "apiVersion", API_GV);
                        api_put(out, "kind", "ObjectHistoryList");
                        json_object_object_add(out, "metadata", json_object_new_object());
                        for (int i = 0; i < n; i++)
                                json_object_array_add(items, record(res, i));
                        json_object_object_add(out, "items", items);
                }
                json_object *meta = NULL;
                json_object_object_get_ex(out, "metadata", &meta);
                api_put(meta, "resourceVersion", rv);
                if (*token)
                        api_put(meta, "continue", token);
                api_respond_json(req, out);
        }
        PQclear(res);
        store_release(s->store, conn);
}

/* A watch: every state stored after the resourceVersion it starts from, as ADDED events (a history only
 * grows), polled from the database every WATCH_POLL_MS on the connection's own thread. */
#define WATCH_POLL_MS     250
#define WATCH_BATCH       500
#define WATCH_TIMEOUT_MAX 3600
#define BOOKMARK_EVERY_MS 60000

struct watch {
        struct apiserver *s;
        struct api_query q;
        long long last;
        bool table, bookmarks, initial_end; /* initial_end: send the initial-events-end bookmark */
        long long deadline_ms, bookmark_ms;
        struct buf out;
        size_t off;
};

static void watch_free(void *ud) {
        struct watch *w = ud;
        api_query_free(&w->q);
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
        api_put(o, "kind", "ObjectHistory");
        api_put(meta, "resourceVersion", rv);
        if (initial_end) {
                json_object *ann = json_object_new_object();
                api_put(ann, "k8s.io/initial-events-end", "true");
                json_object_object_add(meta, "annotations", ann);
        }
        json_object_object_add(o, "metadata", meta);
        return emit(w, "BOOKMARK", o);
}

/* The states after w->last into w->out. Returns how many, or < 0 (an ERROR event has been queued). */
static int watch_fetch(struct watch *w) {
        _cleanup_(buf_release) struct buf sql = BUF_INIT(128 * 1024);
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        PGresult *res = NULL;
        const char *params[API_QUERY_MAX_PARAMS + 1];
        char after[24];
        int r, n = 0;
        snprintf(after, sizeof(after), "%lld", w->last);
        for (int i = 0; i < w->q.n; i++)
                params[i] = w->q.params[i];
        params[w->q.n] = after; /* the last parameter: the id to start after */
        r = buf_printf(&sql, "%s%s AND id > $%d ORDER BY id LIMIT %d", SELECT, buf_str(&w->q.where),
                w->q.n + 1, WATCH_BATCH);
        if (r < 0)
                r = merr_set(&err, r, "out of memory");
        else
                r = store_acquire(w->s->store, &conn, &err);
        if (r >= 0) {
                res = PQexecParams(conn, buf_str(&sql), w->q.n + 1, NULL, params, NULL, NULL, 0);
                if (PQresultStatus(res) != PGRES_TUPLES_OK)
                        r = merr_set(&err, -EIO, "%s", PQresultErrorMessage(res));
                else
                        n = PQntuples(res);
        }
        for (int i = 0; i < n && r >= 0; i++) {
                json_object *obj;
                if (w->table)
                        obj = table(res, i, i + 1);
                else
                        obj = record(res, i);
                r = emit(w, "ADDED", obj);
                if (r < 0)
                        r = merr_set(&err, r, "out of memory");
                w->last = strtoll(PQgetvalue(res, i, C_ID), NULL, 10);
        }
        PQclear(res);
        store_release(w->s->store, conn);
        if (r < 0) {
                json_object *st = json_object_new_object();
                api_put(st, "kind", "Status");
                api_put(st, "apiVersion", "v1");
                json_object_object_add(st, "metadata", json_object_new_object());
                api_put(st, "status", "Failure");
                api_put(st, "reason", "ServiceUnavailable");
                api_put(st, "message", merr_msg(&err));
                json_object_object_add(st, "code", json_object_new_int(503));
                (void) emit(w, "ERROR", st);
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
                int n = watch_fetch(w);
                if (n < 0) {
                        failed = true; /* the ERROR event goes out, then the stream ends */
                        continue;
                }
                if (w->initial_end && n < WATCH_BATCH) {
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

/* The newest id stored (what a watch from "now" starts after), or < 0 with the request answered 503. */
static long long newest_id(struct httpd_request *req, struct apiserver *s) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        PGresult *res = NULL;
        long long id = -1;
        if (store_acquire(s->store, &conn, &err) >= 0)
                res = PQexec(conn, "SELECT coalesce(max(id), 0) FROM object_history");
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
                id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        else
                httpd_respond_status(req, 503, "ServiceUnavailable", "objecthistories are not available: %s",
                        res ? PQresultErrorMessage(res) : merr_msg(&err));
        PQclear(res);
        store_release(s->store, conn);
        return id;
}

void api_objecthistories_watch(struct httpd_request *req, struct apiserver *s, const char *ns) {
        const char *rv = httpd_request_query(req, "resourceVersion"),
                   *initial = httpd_request_query(req, "sendInitialEvents"),
                   *timeout = httpd_request_query(req, "timeoutSeconds"),
                   *bookmarks = httpd_request_query(req, "allowWatchBookmarks");
        long long limit, secs = 1800, start = -1;
        bool send_initial = initial && strcmp(initial, "true") == 0;
        struct watch *w = calloc(1, sizeof(*w));
        int k = 0;
        if (!w) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        w->s = s;
        w->q.where = (struct buf) BUF_INIT(64 * 1024);
        w->out = (struct buf) BUF_INIT(SIZE_MAX);
        if (!s->store)
                httpd_respond_status(req, 503, "ServiceUnavailable",
                        "objecthistories are not available: mbox-apiserver runs without a database");
        else if (timeout && *timeout && !parse_num(timeout, 1, WATCH_TIMEOUT_MAX, &secs))
                httpd_respond_status(req, 400, "BadRequest",
                        "timeoutSeconds: expected 1 to %d, got \"%.32s\"", WATCH_TIMEOUT_MAX, timeout);
        else if (rv && *rv && strcmp(rv, "0") != 0 && !parse_num(rv, 1, 999999999999999999LL, &start))
                httpd_respond_status(req, 400, "BadRequest",
                        "resourceVersion: \"%.32s\" is not one this server gave out", rv);
        else if (send_initial && start >= 0)
                httpd_respond_status(req, 400, "BadRequest",
                        "sendInitialEvents needs resourceVersion \"\" or \"0\": the initial events of a "
                        "history "
                        "are all of it");
        else if (list_query(req, &w->q, &limit) < 0)
                ; /* answered */
        else if (ns && ((k = api_query_param(&w->q, ns, strlen(ns))) < 0 ||
                               buf_printf(&w->q.where, " AND namespace = $%d", k) < 0 ||
                               w->q.n >= API_QUERY_MAX_PARAMS))
                httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
        else if (start < 0 && !send_initial && (start = newest_id(req, s)) < 0)
                ; /* answered */
        else {
                /* "" or "0" starts from now: the history so far is what a list shows */
                w->last = start < 0 ? 0 : start;
                w->table = api_wants_table(req);
                w->bookmarks = bookmarks && strcmp(bookmarks, "true") == 0;
                w->initial_end = send_initial;
                w->bookmark_ms = timestamp_monotonic_ms();
                w->deadline_ms = timestamp_monotonic_ms() + secs * 1000;
                (void) httpd_respond_stream(req, 200, "application/json", watch_read, w, watch_free);
                return;
        }
        watch_free(w);
}
