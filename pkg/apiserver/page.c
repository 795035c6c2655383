/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What get, list (list.c) and watch (watch.c) share: a list's query parameters as conditions (selectors,
 * since/until, continue tokens), pages cut by size in the database, and the database connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
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

/* A continue token: <res->token><the last version it showed>, and for a history .<its snapshot>. */
static int parse_token(
        const struct api_resource *res, const char *token, long long *after, long long *snapshot) {
        size_t tl = strlen(res->token);
        char num[24];
        if (strncmp(token, res->token, tl) != 0)
                return -EINVAL;
        token += tl;
        size_t n = strcspn(token, ".");
        if (n >= sizeof(num) || (res->store->history != (token[n] == '.')))
                return -EINVAL;
        memcpy(num, token, n);
        num[n] = '\0';
        if (!api_parse_num(num, 1, 999999999999999999LL, after))
                return -EINVAL;
        if (res->store->history &&
                (!api_parse_num(token + n + 1, 1, 999999999999999999LL, snapshot) || *snapshot < *after))
                return -EINVAL;
        return 0;
}

int api_list_query(
        struct httpd_request *req, const struct api_resource *res, struct api_query *q, long long *limit) {
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
        if (cont && *cont && parse_token(res, cont, &after, &q->snapshot) < 0) {
                httpd_respond_status(req, 400, "BadRequest",
                        "continue: the token is not one this server gave out; list again without it");
                return -EINVAL;
        }
        if ((ls && api_label_selector(ls, res->store->labels, q, &err) < 0) ||
                (fs && api_field_selector(fs, res->store->fields, q, &err) < 0)) {
                httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                return -EINVAL;
        }
        const char *times[] = {since, until};
        for (size_t i = 0; i < 2; i++) {
                struct timestamp t;
                if (!times[i] || !*times[i])
                        continue;
                if (!res->store->time) {
                        httpd_respond_status(req, 400, "BadRequest", "%s: %s are not selected by time",
                                i ? "until" : "since", res->name);
                        return -EINVAL;
                }
                if (timestamp_parse(times[i], &t, &err) < 0) {
                        httpd_respond_status(
                                req, 400, "BadRequest", "%s: %s", i ? "until" : "since", merr_msg(&err));
                        return -EINVAL;
                }
                snprintf(fmt, sizeof(fmt), "%s %s", res->store->time, i ? "<" : ">=");
                if (api_query_cond(q, fmt, times[i]) < 0)
                        goto too_long;
        }
        const long long bounds[] = {after, q->snapshot};
        for (size_t i = 0; i < 2; i++) {
                char a[24];
                if (!bounds[i])
                        continue;
                snprintf(a, sizeof(a), "%lld", bounds[i]);
                snprintf(fmt, sizeof(fmt), "%s %s", res->store->rv, i ? "<=" : ">");
                if (api_query_cond(q, fmt, a) < 0)
                        goto too_long;
        }
        return 0;
too_long:
        httpd_respond_status(req, 400, "BadRequest", "too many selector terms");
        return -E2BIG;
}

int api_connect(
        struct httpd_request *req, struct apiserver *s, const struct api_resource *res, PGconn **conn) {
        struct merr err = MERR_INIT;
        if (!s->store) {
                httpd_respond_status(req, 503, "ServiceUnavailable",
                        "%s are not available: mbox-apiserver runs without a database", res->name);
                return -ENOTCONN;
        }
        if (store_acquire(s->store, conn, &err) < 0) {
                char what[96];
                snprintf(what, sizeof(what), "%s are not available", res->name);
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
