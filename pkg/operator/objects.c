/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building and comparing the objects the controllers write: metadata with mbox's labels, owner references,
 * metav1.Conditions that keep their lastTransitionTime, the subset test that decides whether a write is
 * needed, and the short hashes that name versions and runtimes. Pure functions of their arguments.
 */
#include <stdio.h>
#include <string.h>

#include "operator/internal.h"
#include "timestamp.h"

bool op_json_subset(json_object *want, json_object *have) {
        if (!want)
                return true;
        if (!have)
                return false;
        enum json_type t = json_object_get_type(want);
        if (t != json_object_get_type(have)) {
                /* 1 and 1.0 are one number to the API server */
                if ((t == json_type_int || t == json_type_double) &&
                        (json_object_is_type(have, json_type_int) ||
                                json_object_is_type(have, json_type_double)))
                        return json_object_get_double(want) == json_object_get_double(have);
                return false;
        }
        switch (t) {
        case json_type_object: {
                json_object_object_foreach (want, k, v) {
                        json_object *h = NULL;
                        if (!json_object_object_get_ex(have, k, &h)) {
                                if (!v)
                                        continue;
                                return false;
                        }
                        if (!op_json_subset(v, h))
                                return false;
                }
                return true;
        }
        case json_type_array: {
                size_t n = json_object_array_length(want);
                if (n != json_object_array_length(have))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!op_json_subset(
                                    json_object_array_get_idx(want, i), json_object_array_get_idx(have, i)))
                                return false;
                return true;
        }
        default:
                return json_object_equal(want, have);
        }
}

json_object *op_meta(const char *name, const char *ns, const char *project) {
        json_object *meta = json_object_new_object(), *labels = json_object_new_object();
        json_object_object_add(meta, "name", json_object_new_string(name));
        if (ns)
                json_object_object_add(meta, "namespace", json_object_new_string(ns));
        json_object_object_add(labels, LABEL_MANAGED_BY, json_object_new_string(OP_FIELD_MANAGER));
        if (project)
                json_object_object_add(labels, LABEL_PROJECT, json_object_new_string(project));
        json_object_object_add(meta, "labels", labels);
        return meta;
}

void op_owner_ref(json_object *meta, json_object *owner, bool controller) {
        json_object *refs = json_object_new_array(), *ref = json_object_new_object();
        json_object_object_add(ref, "apiVersion", json_object_new_string(kube_str(owner, "apiVersion")));
        json_object_object_add(ref, "kind", json_object_new_string(kube_str(owner, "kind")));
        json_object_object_add(ref, "name", json_object_new_string(kube_str(owner, "metadata.name")));
        json_object_object_add(ref, "uid", json_object_new_string(kube_str(owner, "metadata.uid")));
        if (controller) {
                json_object_object_add(ref, "controller", json_object_new_boolean(true));
                json_object_object_add(ref, "blockOwnerDeletion", json_object_new_boolean(true));
        }
        json_object_array_add(refs, ref);
        json_object_object_add(meta, "ownerReferences", refs);
}

void op_now(char *buf, size_t size) {
        struct timestamp now;
        timestamp_now(&now);
        now.nsec = 0; /* metav1.Time has whole seconds */
        timestamp_format(&now, buf, size);
}

const char *op_hash(const char *s, char *buf) {
        uint32_t h = 2166136261u;
        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= 16777619u;
        }
        snprintf(buf, 9, "%08x", h);
        return buf;
}

bool op_runtime_index_value(const char *ns, const char *as_name, char *buf, size_t size) {
        char h[9];
        return snprintf(buf, size, "%s/%s", ns, op_hash(as_name, h)) < (int) size;
}
