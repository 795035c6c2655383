/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonutil.h"

#define WATCH_MAX_DEPTH 128
#define RV_MAX          64

struct kube_watch_decoder {
        struct buf line;
        unsigned long events; /* delivered so far, for messages */
};

static const char *const type_names[] = {
        [KUBE_EVENT_ADDED] = "ADDED",
        [KUBE_EVENT_MODIFIED] = "MODIFIED",
        [KUBE_EVENT_DELETED] = "DELETED",
        [KUBE_EVENT_BOOKMARK] = "BOOKMARK",
        [KUBE_EVENT_ERROR] = "ERROR",
};

const char *kube_event_type_to_string(enum kube_event_type t) {
        return (size_t) t < ARRAY_SIZE(type_names) ? type_names[t] : "UNKNOWN";
}

int kube_watch_decoder_new(size_t max_event_bytes, struct kube_watch_decoder **ret) {
        struct kube_watch_decoder *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        buf_init(&d->line, max_event_bytes);
        *ret = d;
        return 0;
}

struct kube_watch_decoder *kube_watch_decoder_free(struct kube_watch_decoder *d) {
        if (!d)
                return NULL;
        buf_release(&d->line);
        free(d);
        return NULL;
}

bool kube_watch_event_is_expired(const struct kube_watch_event *ev) {
        return ev->type == KUBE_EVENT_ERROR &&
               (ev->status_code == 410 ||
                       (ev->status_reason && (strcmp(ev->status_reason, "Expired") == 0 ||
                                                     strcmp(ev->status_reason, "Gone") == 0)));
}

static int decode_one(struct kube_watch_decoder *d, const char *data, size_t len, kube_watch_event_fn cb,
        void *userdata, struct merr *err) {
        _cleanup_json_ json_object *o = NULL;
        struct kube_watch_event ev = {0};
        const char *type, *anno = NULL;
        size_t i;
        int64_t code;
        int r;

        r = json_parse(data, len, WATCH_MAX_DEPTH, &o, err);
        if (r < 0)
                return merr_wrap(err, r, "watch event %lu", d->events + 1);
        r = json_get_string(o, "type", 0, &type, err);
        if (r >= 0)
                r = json_get_object(o, "object", 0, &ev.object, err);
        if (r < 0) {
                (void) merr_wrap(err, -EINVAL, "watch event %lu", d->events + 1);
                return -EINVAL;
        }
        for (i = 0; i < ARRAY_SIZE(type_names); i++)
                if (strcmp(type, type_names[i]) == 0)
                        break;
        if (i == ARRAY_SIZE(type_names))
                return merr_set(err, -EINVAL, "watch event %lu: unknown type '%.32s'", d->events + 1, type);
        ev.type = (enum kube_event_type) i;

        if (ev.type == KUBE_EVENT_ERROR) {
                r = json_get_int_range(ev.object, "code", JSON_OPTIONAL, 0, 999, &code, err);
                if (r < 0) {
                        (void) merr_wrap(err, -EINVAL, "watch event %lu (ERROR)", d->events + 1);
                        return -EINVAL;
                }
                ev.status_code = r > 0 ? (int) code : 0;
                r = json_get_string(ev.object, "reason", JSON_OPTIONAL, &ev.status_reason, err);
                if (r >= 0)
                        r = json_get_string(ev.object, "message", JSON_OPTIONAL, &ev.status_message, err);
                if (r < 0) {
                        (void) merr_wrap(err, -EINVAL, "watch event %lu (ERROR)", d->events + 1);
                        return -EINVAL;
                }
        } else {
                r = json_get_string(ev.object, "metadata.resourceVersion", 0, &ev.resource_version, err);
                if (r < 0) {
                        (void) merr_wrap(err, -EINVAL, "watch event %lu (%s)", d->events + 1, type);
                        return -EINVAL;
                }
                if (strlen(ev.resource_version) >= RV_MAX)
                        return merr_set(err, -EINVAL, "watch event %lu (%s): resourceVersion too long",
                                d->events + 1, type);
                if (ev.type == KUBE_EVENT_BOOKMARK) {
                        r = json_get_string(ev.object, "metadata.annotations.k8s\\.io/initial-events-end",
                                JSON_OPTIONAL, &anno, err);
                        if (r < 0) {
                                (void) merr_wrap(err, -EINVAL, "watch event %lu (BOOKMARK)", d->events + 1);
                                return -EINVAL;
                        }
                        ev.initial_events_end = anno && strcmp(anno, "true") == 0;
                }
        }
        d->events++;
        r = cb ? cb(&ev, userdata) : 0;
        return r < 0 ? r : 0;
}

int kube_watch_decoder_feed(struct kube_watch_decoder *d, const char *data, size_t len,
        kube_watch_event_fn cb, void *userdata, struct merr *err) {
        int delivered = 0, r;

        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl ? (size_t) (nl - data) : len;

                if (buf_append(&d->line, data, n) < 0)
                        return merr_set(err, -E2BIG, "watch event %lu is larger than %zu bytes",
                                d->events + 1, d->line.max);
                data += n;
                len -= n;
                if (!nl)
                        break;
                data++;
                len--;
                /* blank lines between events carry nothing */
                if (strspn(buf_str(&d->line), " \t\r") != d->line.len) {
                        r = decode_one(d, d->line.data, d->line.len, cb, userdata, err);
                        if (r < 0) {
                                buf_reset(&d->line);
                                return r;
                        }
                        delivered++;
                }
                buf_reset(&d->line);
        }
        return delivered;
}

int kube_watch_decoder_finish(struct kube_watch_decoder *d, struct merr *err) {
        if (strspn(buf_str(&d->line), " \t\r") != d->line.len)
                return merr_set(err, -EPIPE, "watch stream ended inside event %lu (%zu bytes received)",
                        d->events + 1, d->line.len);
        return 0;
}
