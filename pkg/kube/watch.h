/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decoder of a Kubernetes watch response body (kube-protocols.md §3): a sequence of
 * metav1.WatchEvent JSON objects, each ended by a newline, arriving in chunks that need not line up with
 * events. Only the event being assembled is buffered, never the whole response, and each event is capped
 * (max_event_bytes), so a hostile or broken server cannot make the client grow without bound.
 *
 *   struct kube_watch_decoder *d;
 *   kube_watch_decoder_new(4 << 20, &d);
 *   while (chunk arrives) kube_watch_decoder_feed(d, chunk, n, on_event, userdata, &err);
 *   kube_watch_decoder_finish(d, &err);   // the body ended: an unfinished event is an error
 *
 * on_event() receives each event with the object borrowed for the duration of the call (json_object_get()
 * it to keep it). The decoder tracks the newest resourceVersion it has seen, bookmarks included, which is
 * where a watch resumes.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "merr.h"

enum kube_event_type {
        KUBE_EVENT_ADDED,
        KUBE_EVENT_MODIFIED,
        KUBE_EVENT_DELETED,
        KUBE_EVENT_BOOKMARK,
        KUBE_EVENT_ERROR,
};

struct kube_watch_event {
        enum kube_event_type type;
        json_object *object;          /* borrowed; for ERROR a metav1.Status */
        const char *resource_version; /* borrowed; NULL for ERROR */
        bool initial_events_end;      /* a BOOKMARK annotated k8s.io/initial-events-end: "true" */
        int status_code;              /* ERROR: the Status's code (e.g. 410), else 0 */
        const char *status_reason;    /* ERROR: e.g. "Expired", else NULL */
        const char *status_message;   /* ERROR: the Status's message, else NULL */
};

/* Returns >= 0 to go on, or a negative errno to stop decoding (feed returns it). */
typedef int (*kube_watch_event_fn)(const struct kube_watch_event *ev, void *userdata);

struct kube_watch_decoder;

int kube_watch_decoder_new(size_t max_event_bytes, struct kube_watch_decoder **ret);
struct kube_watch_decoder *kube_watch_decoder_free(struct kube_watch_decoder *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_watch_decoder *, kube_watch_decoder_free);

/* Decodes every complete event in data; keeps a partial one for the next call. Returns the number of
 * events delivered, or a negative errno: -EINVAL for a malformed event (the message names the event's
 * ordinal and what is wrong), -E2BIG for an event over the cap, or what the callback returned. */
int kube_watch_decoder_feed(struct kube_watch_decoder *d, const char *data, size_t len,
        kube_watch_event_fn cb, void *userdata, struct merr *err);

/* The stream ended. Returns 0, or -EPIPE when it ended inside an event. */
int kube_watch_decoder_finish(struct kube_watch_decoder *d, struct merr *err);

/* True for an ERROR event that means "resourceVersion too old, relist" (410 Expired or Gone). */
bool kube_watch_event_is_expired(const struct kube_watch_event *ev);

const char *kube_event_type_to_string(enum kube_event_type t);
