/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes Events (events.k8s.io/v1) as client-go's event recorder writes them (kube-protocols.md §7),
 * so `kubectl describe` of the object lists them. Repeats of the same (type, reason, action, object) are
 * aggregated into one Event's series instead of new objects: the second occurrence patches
 * series.count, later ones at most every 10 s (the count in between is kept in memory and written with
 * the next one). Thread-safe; the recorder owns its client.
 */
#pragma once

#include <json-c/json.h>

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
 * "Warning". Returns 0, or a negative errno when the API server refused it. */
int kube_event(struct kube_event_recorder *r, json_object *obj, const char *type, const char *reason,
        const char *action, const char *fmt, ...) _printf_(6, 7);
