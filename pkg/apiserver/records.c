/* SPDX-License-Identifier: Apache-2.0 */
/*
 * get and list of a read-only kind whose records live in the database: one query (namespace and name as
 * $1 and $2, '' for any), then the object, the list or a Table, or a subresource's answer; 503 when the
 * database is not there, 404 for a missing name.
 */
#include <stdio.h>

#include "apiserver/internal.h"
#include "jsonutil.h"

void api_serve_records(struct httpd_request *req, struct apiserver *s, const struct api_kind *k,
        const char *ns, const char *name, const char *sub) {
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        if (!s->store) {
                httpd_respond_status(req, 503, "ServiceUnavailable",
                        "%s are not available: mbox-apiserver runs without a database", k->resource);
                return;
        }
        if (store_acquire(s->store, &conn, &err) < 0) {
                httpd_respond_status(req, 503, "ServiceUnavailable", "%s are not available: %s", k->resource,
                        merr_msg(&err));
                return;
        }
        const char *params[] = {ns ? ns : "", name ? name : ""};
        PGresult *res = PQexecParams(conn, k->sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                httpd_respond_status(req, 503, "ServiceUnavailable", "reading %s: %s", k->resource,
                        PQresultErrorMessage(res));
        else if (name && PQntuples(res) == 0)
                httpd_respond_status(
                        req, 404, "NotFound", "%s.%s \"%s\" not found", k->resource, API_GROUP, name);
        else if (name && sub)
                k->subresource(req, s, res, name);
        else if (name) {
                _cleanup_json_ json_object *o = k->record(res, 0);
                api_respond_json(req, 200, o);
        } else if (api_wants_table(req)) {
                _cleanup_json_ json_object *t = k->table(res);
                api_respond_json(req, 200, t);
        } else {
                _cleanup_json_ json_object *list = json_object_new_object();
                json_object *items = json_object_new_array(), *meta = json_object_new_object();
                char kind[64];
                snprintf(kind, sizeof(kind), "%sList", k->kind);
                json_object_object_add(list, "apiVersion", json_object_new_string(API_GV));
                json_object_object_add(list, "kind", json_object_new_string(kind));
                json_object_object_add(meta, "resourceVersion", json_object_new_string(""));
                json_object_object_add(list, "metadata", meta);
                for (int i = 0; i < PQntuples(res); i++)
                        json_object_array_add(items, k->record(res, i));
                json_object_object_add(list, "items", items);
                api_respond_json(req, 200, list);
        }
        PQclear(res);
        store_release(s->store, conn);
}
