/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading Kubernetes objects held as json-c trees: a field by path, labels, conditions, and the
 * "namespace/name" keys that caches and queues use.
 *
 * Paths are jsonutil's (pkg/jsonutil.h), the one path syntax of the code: dot-separated keys with optional
 * array indexes, "status.conditions", "spec.ports[0].name"; a dot inside a key is escaped with a
 * backslash. Everything returned is borrowed from obj and lives as long as obj does. A missing field, a
 * field of another type and a NULL obj all read as absent (NULL), never as an error: these accessors are
 * for objects the API server has already validated; untrusted bytes go through jsonutil's typed getters,
 * which name what is wrong.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

/* The value at path (any type, JSON null included), or NULL when absent. */
json_object *kube_field(json_object *obj, const char *path);
/* The string at path, or NULL when absent or not a string. */
const char *kube_str(json_object *obj, const char *path);
/* The value of label name (may contain dots and slashes: "mbox.dev/project"), or NULL. */
const char *kube_label(json_object *obj, const char *name);
/* The condition of the given type in the metav1.Condition array at path (e.g. "status.conditions"):
 * its status ("True", "False", "Unknown"), or NULL when there is none; its reason and message through
 * ret_reason and ret_message (each may be NULL; set to NULL when absent). */
const char *kube_condition(json_object *obj, const char *path, const char *type, const char **ret_reason,
        const char **ret_message);

/* The key of obj ("ns/name" or "name"); writes at most size bytes. Returns 0 or -EINVAL. */
int kube_object_key(json_object *obj, char *buf, size_t size);
/* Splits key "ns/name" into ns (copied into a buffer of size bytes) and name (borrowed from key). 0, or
 * -EINVAL when key has no slash or ns does not fit. */
int kube_split_key(const char *key, char *ns, size_t size, const char **name);
/* The key of obj's controller owner when that owner is of the given kind (e.g. a SandboxClaim's key for
 * its Sandbox), so a child's events can be routed to its parent's reconcile. 0, or -ENOENT when none. */
int kube_controller_owner_key(json_object *obj, const char *kind, char *buf, size_t size);
