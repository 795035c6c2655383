/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes Events (events.k8s.io/v1) as client-go's event recorder writes them (kube-protocols.md §7),
 * so `kubectl describe` of the object lists them. Repeats of the same (type, reason, action, object) are
 * aggregated into one Event's series instead of new objects: the second occurrence patches
 * series.count, later ones at most every 10 s (the count in between is kept in memory and written with
 * the next one). Thread-safe; the recorder owns its client.
 *
 * Recording never waits for the API server, as with client-go's broadcaster: kube_event() copies what it
 * needs into a queue (at most 1000 events; more are dropped) and one sender thread writes them in order,
 * so a reconcile's time is its own writes, not its Events'. kube_events_free() gives the queue 5 s to drain.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "kube/client.h"
#include "macro.h"
#include "merr.h"

struct kube_event_recorder;

/* controller: e.g. "mbox.dev/operator"; instance: this process, e.g. "<hostname>_<pid>". Takes cfg. */
int kube_events_new(struct kube_config *cfg, const char *controller, const char *instance,
        struct kube_event_recorder **ret, struct merr *err);
struct kube_event_recorder *kube_events_free(struct kube_event_recorder *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_event_recorder *, kube_events_free);

/* Records an event about obj (its apiVersion, kind, metadata.namespace/name/uid). type is "Normal" or
 * "Warning". Returns 0 once it is queued, -EINVAL when obj lacks apiVersion, kind or name, -ENOBUFS when the
 * queue is full (the event is dropped). Failures to write it are reported to the error handler. */
int kube_event(struct kube_event_recorder *r, json_object *obj, const char *type, const char *reason,
        const char *action, const char *fmt, ...) _printf_(6, 7);

/* fn is called on the sender thread, with the recorder's lock held (it must not record events), for each
 * event the API server refused: its reason, the positive errno and the server's message. */
void kube_events_set_error_handler(struct kube_event_recorder *r,
        void (*fn)(const char *reason, int error, const char *message, void *ud), void *ud);
/* Waits until every recorded event has been written (or refused); false after timeout_ms. */
bool kube_events_flush(struct kube_event_recorder *r, long timeout_ms);
