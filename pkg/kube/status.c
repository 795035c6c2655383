/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "jsonutil.h"

/* Status bodies are small; a larger one is not worth more than its first part. */
#define STATUS_MAX_DEPTH 16
#define SNIPPET_MAX      200

int kube_errno_from_http(int http_code, const char *reason) {
        if (http_code == 409)
                return reason && strcmp(reason, "AlreadyExists") == 0 ? -EEXIST : -ESTALE;
        if (http_code == 429 || (http_code >= 500 && http_code <= 599))
                return -EAGAIN;
        switch (http_code) {
        case 400:
        case 422:
                return -EINVAL;
        case 401:
                return -EPERM;
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 405:
                return -EOPNOTSUPP;
        case 410:
                return -ENODATA;
        case 413:
                return -E2BIG;
        case 415:
                return -EPROTONOSUPPORT;
        default:
                return -EPROTO;
        }
}

static void copy_str(char *dst, size_t size, const char *src) {
        (void) snprintf(dst, size, "%s", src ? src : "");
}

/* The first bytes of a body as one printable line, for messages. */
static void snippet(char *dst, size_t size, const char *data, size_t len) {
        size_t o = 0;

        if (len > SNIPPET_MAX)
                len = SNIPPET_MAX;
        for (size_t i = 0; i < len && o + 1 < size; i++) {
                unsigned char c = (unsigned char) data[i];

                if (c == '\n' || c == '\r' || c == '\t')
                        c = ' ';
                else if (c < 0x20 || c == 0x7f)
                        c = '?';
                dst[o++] = (char) c;
        }
        while (o > 0 && dst[o - 1] == ' ')
                o--;
        dst[o] = '\0';
}

static bool is_status(json_object *o) {
        json_object *v;

        if (!json_object_is_type(o, json_type_object))
                return false;
        if (json_object_object_get_ex(o, "kind", &v) && json_object_is_type(v, json_type_string) &&
                strcmp(json_object_get_string(v), "Status") == 0)
                return true;
        /* the exec status channel and some proxies omit kind */
        return json_object_object_get_ex(o, "status", &v) && json_object_is_type(v, json_type_string) &&
               (json_object_object_get_ex(o, "reason", &v) || json_object_object_get_ex(o, "message", &v));
}

static const char *opt_string(json_object *o, const char *path) {
        const char *s = NULL;

        /* a field of the wrong type is treated as absent: a malformed Status still reports the HTTP code */
        if (json_get_string(o, path, JSON_OPTIONAL, &s, NULL) <= 0)
                return NULL;
        return s;
}

static void decode_status(json_object *o, struct kube_error *ke) {
        json_object *causes = NULL;
        int64_t n;

        copy_str(ke->reason, sizeof(ke->reason), opt_string(o, "reason"));
        copy_str(ke->message, sizeof(ke->message), opt_string(o, "message"));
        copy_str(ke->kind, sizeof(ke->kind), opt_string(o, "details.kind"));
        copy_str(ke->name, sizeof(ke->name), opt_string(o, "details.name"));
        if (json_get_int_range(o, "code", JSON_OPTIONAL, 0, 999, &n, NULL) > 0)
                ke->status_code = (int) n;
        if (json_get_int_range(o, "details.retryAfterSeconds", JSON_OPTIONAL, 0, 86400, &n, NULL) > 0)
                ke->retry_after = (long) n;
        if (json_get_array(o, "details.causes", JSON_OPTIONAL, &causes, NULL) <= 0)
                return;
        ke->n_causes_total = json_object_array_length(causes);
        for (size_t i = 0; i < ke->n_causes_total && ke->n_causes < KUBE_ERROR_MAX_CAUSES; i++) {
                json_object *c = json_object_array_get_idx(causes, i);
                struct kube_error_cause *kc = &ke->causes[ke->n_causes];
                const char *reason;

                if (!json_object_is_type(c, json_type_object))
                        continue;
                reason = opt_string(c, "reason");
                copy_str(kc->reason, sizeof(kc->reason), reason ? reason : opt_string(c, "type"));
                copy_str(kc->field, sizeof(kc->field), opt_string(c, "field"));
                copy_str(kc->message, sizeof(kc->message), opt_string(c, "message"));
                ke->n_causes++;
        }
}

int kube_status_decode(
        int http_code, const char *data, size_t len, struct kube_error *ret, struct merr *err) {
        _cleanup_(buf_release) struct buf msg = BUF_INIT(MERR_MSG_MAX);
        _cleanup_json_ json_object *o = NULL;
        struct kube_error ke = {.http_code = http_code};

        if (data && len > 0 && json_parse(data, len, STATUS_MAX_DEPTH, &o, NULL) >= 0 && is_status(o)) {
                decode_status(o, &ke);
                ke.code = kube_errno_from_http(http_code, ke.reason);
                (void) buf_printf(&msg, "%d%s%s: %s", http_code, ke.reason[0] ? " " : "", ke.reason,
                        ke.message[0] ? ke.message : "no message");
                /* the message of a 422 usually lists the causes already; name them only when it does not */
                for (size_t i = 0; i < ke.n_causes; i++) {
                        const struct kube_error_cause *c = &ke.causes[i];

                        if (c->field[0] && strstr(ke.message, c->field))
                                continue;
                        (void) buf_printf(&msg, "; %s%s%s", c->field, c->field[0] ? ": " : "",
                                c->message[0] ? c->message : c->reason);
                }
        } else {
                ke.code = kube_errno_from_http(http_code, NULL);
                if (data && len > 0)
                        snippet(ke.message, sizeof(ke.message), data, len);
                if (ke.message[0])
                        (void) buf_printf(&msg, "%d: response is not a Status: %s", http_code, ke.message);
                else
                        (void) buf_printf(&msg, "%d: empty response", http_code);
        }
        if (ret)
                *ret = ke;
        return merr_set(err, ke.code, "%s", buf_str(&msg));
}
