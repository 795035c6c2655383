/* SPDX-License-Identifier: Apache-2.0 */
/* Responses every handler shares: JSON bodies and the metav1.Status answers of failures. */
#include <errno.h>

#include "apiserver/internal.h"
#include "jsonutil.h"

void api_put(json_object *o, const char *key, const char *value) {
        json_object_object_add(o, key, json_object_new_string(value));
}

void api_respond_json(struct httpd_request *req, int status, json_object *obj) {
        size_t len = 0;
        const char *s = json_object_to_json_string_length(
                obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        httpd_respond(req, status, "application/json", s, len);
}

void api_respond_store_error(struct httpd_request *req, const struct merr *err) {
        /* a statement past --request-timeout: a timeout, as kube-apiserver answers one */
        if (err->code == -ETIMEDOUT)
                httpd_respond_status(req, 504, "Timeout", "%s", merr_msg(err));
        else
                httpd_respond_status(req, 503, "ServiceUnavailable", "%s", merr_msg(err));
}

void api_respond_db_error(struct httpd_request *req, const PGresult *res, const char *what) {
        struct merr err = MERR_INIT;

        (void) store_error(&err, res, what);
        api_respond_store_error(req, &err);
}

void api_respond_unavailable(struct httpd_request *req, const char *what, const struct merr *err) {
        /* every connection in use, or the database away: come back shortly */
        (void) httpd_request_add_header(req, "Retry-After", err->code == -EBUSY ? "1" : "5");
        httpd_respond_status(req, 503, "ServiceUnavailable", "%s: %s", what, merr_msg(err));
}

void api_respond_not_found(struct httpd_request *req, const char *resource, const char *name) {
        httpd_respond_status(req, 404, "NotFound", "%s.%s \"%s\" not found", resource, API_GROUP, name);
}

json_object *api_status_new(const char *status, int code, const char *reason, const char *message) {
        json_object *st = json_object_new_object();
        api_put(st, "kind", "Status");
        api_put(st, "apiVersion", "v1");
        json_object_object_add(st, "metadata", json_object_new_object());
        api_put(st, "status", status);
        if (message)
                api_put(st, "message", message);
        if (reason)
                api_put(st, "reason", reason);
        if (code)
                json_object_object_add(st, "code", json_object_new_int(code));
        return st;
}

void api_respond_deleted(struct httpd_request *req, const char *resource, const char *name) {
        _cleanup_json_ json_object *st = api_status_new("Success", 0, NULL, NULL);
        json_object *details = json_object_new_object();
        api_put(details, "name", name);
        api_put(details, "group", API_GROUP);
        api_put(details, "kind", resource);
        json_object_object_add(st, "details", details);
        api_respond_json(req, 200, st);
}
