/* SPDX-License-Identifier: Apache-2.0 */
/*
 * get and list of a kind whose records are rows numbered by a version column (a struct api_resource with a store_source): list
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

/* The rows of q (limit + 1 of them, to know whether there is more; fewer when they pass the byte limit),
 * the object or the page. */
static void serve(const struct api_request *r, struct api_query *q, long long limit) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const struct store_source *src = r->res->store;
        const char *ns = r->namespace, *name = r->name;
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
        if (api_connect(req, s, r->res, &conn) < 0)
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
                snprintf(what, sizeof(what), "reading %s", r->res->name);
                api_respond_db_error(req, res, what);
        } else if (name && rows == 0)
                api_respond_not_found(req, r->res->name, name);
        else if (name) { /* kubectl get KIND NAME asks for a Table of one row */
                _cleanup_json_ json_object *o =
                        api_wants_table(req) ? api_table(r->res, res, 0, 1) : api_record(r->res, res, 0);
                api_respond_json(req, 200, o);
        } else {
                char token[64] = "";
                _cleanup_json_ json_object *out = NULL;
                if (api_wants_table(req))
                        out = api_table(r->res, res, 0, n);
                else {
                        json_object *items = json_object_new_array();
                        char kind[64];
                        size_t bytes = 0;
                        snprintf(kind, sizeof(kind), "%sList", r->res->kind);
                        out = json_object_new_object();
                        api_put(out, "apiVersion", API_GV);
                        api_put(out, "kind", kind);
                        json_object_object_add(out, "metadata", json_object_new_object());
                        /* the rows were cut by their size in the database; the items are larger (the
                         * record's own fields): they are cut again by the size they are sent at */
                        for (int i = 0; i < n; i++) {
                                json_object *item = api_record(r->res, res, i);
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
                        snprintf(token, sizeof(token), "%s%s%s%s", r->res->token,
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

void api_get(const struct api_request *r, struct api_query *q) {
        serve(r, q, 1);
}

void api_get_named(const struct api_request *r) {
        struct api_query q = {.where = BUF_INIT(64 * 1024)};
        char lhs[64];
        int k;
        if (r->res->name_query)
                k = r->res->name_query(r->res, r->name, &q);
        else {
                snprintf(lhs, sizeof(lhs), "%s =", r->res->store->name_col);
                k = api_query_cond(&q, lhs, r->name);
        }
        if (k == -ENOENT)
                api_respond_not_found(r->req, r->res->name, r->name);
        else if (k < 0)
                httpd_respond_status(r->req, 400, "BadRequest", "request too large");
        else
                api_get(r, &q);
        api_query_free(&q);
}

void api_list(const struct api_request *r) {
        struct api_query q = {.where = BUF_INIT(64 * 1024)};
        long long limit;
        if (api_list_query(r->req, r->res, &q, &limit) >= 0)
                serve(r, &q, limit);
        api_query_free(&q);
}
