/* SPDX-License-Identifier: Apache-2.0 */
/*
 * get and list of a kind whose records are rows numbered by a version column (struct api_source): list
 * takes label and field selectors, since/until (when the kind has a time), limit and continue; answers are
 * the object, the list with its resourceVersion (the newest version, read before the rows, so a watch from
 * it misses nothing) or a Table. A page ends at limit items, or once its items pass the byte limit (at least one
 * item): the rest come with continue. The pages of a history's list are one snapshot, as Kubernetes' are: its
 * continue tokens carry the first page's version, and later pages show nothing newer. Records that change
 * (artifacts, task outputs) are shown as they are when each page is read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "timestamp.h"

#define PAGE_MAX 5000 /* items in one answer without a smaller limit; the rest come with continue */

bool api_parse_num(const char *s, long long min, long long max, long long *ret) {
        char *end;
        if (!s || *s < '0' || *s > '9' || strlen(s) > 18)
                return false;
        *ret = strtoll(s, &end, 10);
        return *end == '\0' && *ret >= min && *ret <= max;
}

int api_query_cond(struct api_query *q, const char *lhs, const char *value) {
        int k = api_query_param(q, value, strlen(value));
        if (k < 0 || buf_printf(&q->where, " AND %s $%d", lhs, k) < 0)
                return -E2BIG;
        return 0;
}

int api_query_namespace(struct api_query *q, const char *ns) {
        int k = api_query_param(q, ns, strlen(ns));
        char n[16];
        snprintf(n, sizeof(n), "%d", k);
        if (k < 0 || buf_printf(&q->where, " AND namespace = $%d" STORE_IN_PROJECT_NOW("%s"), k, n) < 0)
                return -E2BIG;
        return 0;
}

/* A continue token: <src->token><the last version it showed>, and for a history .<its snapshot>. */
static int parse_token(
        const struct api_source *src, const char *token, long long *after, long long *snapshot) {
        size_t tl = strlen(src->token);
        char num[24];
        if (strncmp(token, src->token, tl) != 0)
                return -EINVAL;
        token += tl;
        size_t n = strcspn(token, ".");
        if (n >= sizeof(num) || (src->history != (token[n] == '.')))
                return -EINVAL;
        memcpy(num, token, n);
        num[n] = '\0';
        if (!api_parse_num(num, 1, 999999999999999999LL, after))
                return -EINVAL;
        if (src->history &&
                (!api_parse_num(token + n + 1, 1, 999999999999999999LL, snapshot) || *snapshot < *after))
                return -EINVAL;
        return 0;
}

int api_list_query(
        struct httpd_request *req, const struct api_source *src, struct api_query *q, long long *limit) {
        const char *ls = httpd_request_query(req, "labelSelector"),
                   *fs = httpd_request_query(req, "fieldSelector"),
                   *cont = httpd_request_query(req, "continue"), *lim = httpd_request_query(req, "limit"),
                   *since = httpd_request_query(req, "since"), *until = httpd_request_query(req, "until");
        struct merr err = MERR_INIT;
        long long after = 0;
        char fmt[128];
        *limit = PAGE_MAX;
        if (lim && *lim && !api_parse_num(lim, 0, 1000000, limit)) {
                httpd_respond_status(
                        req, 400, "BadRequest", "limit: expected a number of items, got \"%.64s\"", lim);
                return -EINVAL;
        }
        if (*limit == 0 || *limit > PAGE_MAX)
                *limit = PAGE_MAX;
        if (cont && *cont && parse_token(src, cont, &after, &q->snapshot) < 0) {
                httpd_respond_status(req, 400, "BadRequest",
                        "continue: the token is not one this server gave out; list again without it");
                return -EINVAL;
        }
        if ((ls && api_label_selector(ls, src->labels, q, &err) < 0) ||
                (fs && api_field_selector(fs, src->fields, q, &err) < 0)) {
                httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                return -EINVAL;
        }
        const char *times[] = {since, until};
        for (size_t i = 0; i < 2; i++) {
                struct timestamp t;
                if (!times[i] || !*times[i])
                        continue;
                if (!src->time) {
                        httpd_respond_status(req, 400, "BadRequest", "%s: %s are not selected by time",
                                i ? "until" : "since", src->resource);
                        return -EINVAL;
                }
                if (timestamp_parse(times[i], &t, &err) < 0) {
                        httpd_respond_status(
                                req, 400, "BadRequest", "%s: %s", i ? "until" : "since", merr_msg(&err));
                        return -EINVAL;
                }
                snprintf(fmt, sizeof(fmt), "%s %s", src->time, i ? "<" : ">=");
                if (api_query_cond(q, fmt, times[i]) < 0)
                        goto too_long;
        }
        const long long bounds[] = {after, q->snapshot};
        for (size_t i = 0; i < 2; i++) {
                char a[24];
                if (!bounds[i])
                        continue;
                snprintf(a, sizeof(a), "%lld", bounds[i]);
                snprintf(fmt, sizeof(fmt), "%s %s", src->rv, i ? "<=" : ">");
                if (api_query_cond(q, fmt, a) < 0)
                        goto too_long;
        }
        return 0;
too_long:
        httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
        return -E2BIG;
}

int api_source_connect(
        struct httpd_request *req, struct apiserver *s, const struct api_source *src, PGconn **conn) {
        struct merr err = MERR_INIT;
        if (!s->store) {
                httpd_respond_status(req, 503, "ServiceUnavailable",
                        "%s are not available: mbox-apiserver runs without a database", src->resource);
                return -ENOTCONN;
        }
        if (store_acquire(s->store, conn, &err) < 0) {
                char what[96];
                snprintf(what, sizeof(what), "%s are not available", src->resource);
                api_respond_unavailable(req, what, &err);
                return -ENOTCONN;
        }
        return 0;
}

int api_page_sql(struct buf *out, const char *sql, const char *rv, size_t max_bytes) {
        /* Each row's size is that of its text; a running sum in version order says where each starts.
         * Rows that start within max_bytes are the page; the one after them, if any, is sent too, to say
         * that the page was cut. Postgres reads at most the rows of sql, and sends only these. */
        return buf_printf(out,
                "SELECT * FROM (SELECT q.*, lag(q.page_start, 1, 0::bigint) OVER (ORDER BY q.%s) AS "
                "page_prev "
                "FROM (SELECT p.*, sum(octet_length(p::text)) OVER (ORDER BY p.%s ROWS UNBOUNDED PRECEDING) "
                "- "
                "octet_length(p::text) AS page_start FROM (%s) p) q) r WHERE page_prev < %zu ORDER BY r.%s",
                rv, rv, sql, max_bytes, rv);
}

bool api_page_cut(PGresult *res, size_t max_bytes) {
        int rows = PQntuples(res), col = PQnfields(res) - 2;
        return rows > 1 && col >= 0 && strtoull(PQgetvalue(res, rows - 1, col), NULL, 10) >= max_bytes;
}

/* The rows of q (limit + 1 of them, to know whether there is more; fewer when they pass the byte limit),
 * the object or the page. */
static void serve(struct httpd_request *req, struct apiserver *s, const struct api_source *src,
        const char *ns, const char *name, struct api_query *q, long long limit) {
        _cleanup_(buf_release) struct buf sql = BUF_INIT(128 * 1024);
        PGconn *conn = NULL;
        if (ns && api_query_namespace(q, ns) < 0) {
                httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
                return;
        }
        _cleanup_(buf_release) struct buf inner = BUF_INIT(128 * 1024);
        size_t max_bytes = s->opt.max_list_bytes;
        if (buf_printf(&inner, "%s%s ORDER BY %s LIMIT %lld", src->select, buf_str(&q->where), src->rv,
                    limit + 1) < 0 ||
                (name ? buf_puts(&sql, buf_str(&inner))
                      : api_page_sql(&sql, buf_str(&inner), src->rv, max_bytes)) < 0) {
                httpd_respond_status(req, 400, "BadRequest", "request too large");
                return;
        }
        if (api_source_connect(req, s, src, &conn) < 0)
                return;
        char rv[32] = "0";
        /* the version and the rows from one snapshot: the list is exactly what its resourceVersion says
         * (changes commit in version order), so a watch from it neither misses nor repeats a change */
        PQclear(PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
        PGresult *res = name || q->snapshot ? NULL : PQexec(conn, src->newest);
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
                snprintf(rv, sizeof(rv), "%s", PQgetvalue(res, 0, 0));
        else if (q->snapshot)
                snprintf(rv, sizeof(rv), "%lld", q->snapshot);
        /* the version could not be read (a timeout, the database away): that error is the answer, not the
         * aborted transaction's of the next statement */
        if (!res || PQresultStatus(res) == PGRES_TUPLES_OK) {
                PQclear(res);
                res = PQexecParams(
                        conn, buf_str(&sql), q->n, NULL, (const char *const *) q->params, NULL, NULL, 0);
        }
        int rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
        bool cut = !name && rows > 0 && api_page_cut(res, max_bytes);
        int n = cut ? rows - 1 : rows > limit ? (int) limit : rows;
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                char what[128];
                snprintf(what, sizeof(what), "reading %s", src->resource);
                api_respond_db_error(req, res, what);
        } else if (name && rows == 0)
                httpd_respond_status(
                        req, 404, "NotFound", "%s.%s \"%s\" not found", src->resource, API_GROUP, name);
        else if (name) {
                _cleanup_json_ json_object *o = src->record(res, 0);
                api_respond_json(req, 200, o);
        } else {
                char token[64] = "";
                _cleanup_json_ json_object *out = NULL;
                if (api_wants_table(req))
                        out = src->table(res, 0, n);
                else {
                        json_object *items = json_object_new_array();
                        char kind[64];
                        size_t bytes = 0;
                        snprintf(kind, sizeof(kind), "%sList", src->kind);
                        out = json_object_new_object();
                        api_put(out, "apiVersion", API_GV);
                        api_put(out, "kind", kind);
                        json_object_object_add(out, "metadata", json_object_new_object());
                        /* the rows were cut by their size in the database; the items are larger (the
                         * record's own fields): they are cut again by the size they are sent at */
                        for (int i = 0; i < n; i++) {
                                json_object *item = src->record(res, i);
                                size_t len = 0;
                                (void) json_object_to_json_string_length(item, JSON_C_TO_STRING_PLAIN, &len);
                                if (i > 0 && bytes + len > max_bytes) {
                                        json_object_put(item);
                                        n = i;
                                        break;
                                }
                                bytes += len + 1;
                                json_object_array_add(items, item);
                        }
                        json_object_object_add(out, "items", items);
                }
                if (rows > n) /* more: cut by count or by size */
                        snprintf(token, sizeof(token), "%s%s%s%s", src->token,
                                PQgetvalue(res, n - 1, src->c_rv), src->history ? "." : "",
                                src->history ? rv : "");
                json_object *meta = NULL;
                json_object_object_get_ex(out, "metadata", &meta);
                api_put(meta, "resourceVersion", rv);
                if (*token)
                        api_put(meta, "continue", token);
                api_respond_json(req, 200, out);
        }
        PQclear(res);
        PQclear(PQexec(conn, "COMMIT"));
        store_release(s->store, conn);
}

void api_get(struct httpd_request *req, struct apiserver *s, const struct api_source *src, const char *ns,
        const char *name, struct api_query *q) {
        serve(req, s, src, ns, name, q, 1);
}

void api_list(struct httpd_request *req, struct apiserver *s, const struct api_source *src, const char *ns) {
        struct api_query q = {.where = BUF_INIT(64 * 1024)};
        long long limit;
        if (api_list_query(req, src, &q, &limit) >= 0)
                serve(req, s, src, ns, NULL, &q, limit);
        api_query_free(&q);
}

void api_serve(struct httpd_request *req, struct apiserver *s, const struct api_source *src, const char *ns,
        const char *name, bool watch) {
        if (watch)
                api_watch(req, s, src, ns);
        else if (!name)
                api_list(req, s, src, ns);
        else {
                struct api_query q = {.where = BUF_INIT(1024)};
                char lhs[64];
                snprintf(lhs, sizeof(lhs), "%s =", src->name_col);
                if (api_query_cond(&q, lhs, name) < 0)
                        httpd_respond_status(req, 400, "BadRequest", "request too large");
                else
                        api_get(req, s, src, ns, name, &q);
                api_query_free(&q);
        }
}
