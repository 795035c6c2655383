/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/object.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "jsonutil.h"

json_object *kube_field(json_object *obj, const char *path) {
        json_object *v = NULL;
        return obj && json_lookup(obj, path, &v, NULL) > 0 ? v : NULL;
}

const char *kube_str(json_object *obj, const char *path) {
        json_object *v = kube_field(obj, path);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *kube_label(json_object *obj, const char *name) {
        json_object *labels = kube_field(obj, "metadata.labels"), *v = NULL;
        if (!labels || !json_object_is_type(labels, json_type_object) ||
                !json_object_object_get_ex(labels, name, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

const char *kube_condition(json_object *obj, const char *path, const char *type, const char **ret_reason,
        const char **ret_message) {
        json_object *conds = kube_field(obj, path), *c = NULL;
        if (conds && json_object_is_type(conds, json_type_array))
                for (size_t i = 0; i < json_object_array_length(conds) && !c; i++) {
                        json_object *it = json_object_array_get_idx(conds, i);
                        const char *t = kube_str(it, "type");
                        if (t && strcmp(t, type) == 0)
                                c = it;
                }
        if (ret_reason)
                *ret_reason = kube_str(c, "reason");
        if (ret_message)
                *ret_message = kube_str(c, "message");
        return kube_str(c, "status");
}

int kube_split_key(const char *key, char *ns, size_t size, const char **name) {
        const char *slash = strchr(key, '/');
        if (!slash || (size_t) (slash - key) >= size)
                return -EINVAL;
        memcpy(ns, key, (size_t) (slash - key));
        ns[slash - key] = '\0';
        *name = slash + 1;
        return 0;
}

int kube_object_key(json_object *obj, char *buf, size_t size) {
        const char *ns = NULL, *name = NULL;
        int n;

        if (json_get_string(obj, "metadata.name", 0, &name, NULL) < 0 ||
                json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, NULL) < 0)
                return -EINVAL;
        n = ns && *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
        return n < 0 || (size_t) n >= size ? -EINVAL : 0;
}

int kube_controller_owner_key(json_object *obj, const char *kind, char *buf, size_t size) {
        json_object *refs = NULL;
        const char *ns = NULL;

        if (json_get_array(obj, "metadata.ownerReferences", JSON_OPTIONAL, &refs, NULL) <= 0)
                return -ENOENT;
        (void) json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, NULL);
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
                json_object *ref = json_object_array_get_idx(refs, i);
                const char *k = NULL, *name = NULL;
                bool controller = false;
                int n;

                if (json_get_bool(ref, "controller", JSON_OPTIONAL, &controller, NULL) <= 0 || !controller)
                        continue;
                if (json_get_string(ref, "kind", 0, &k, NULL) < 0 || strcmp(k, kind) != 0 ||
                        json_get_string(ref, "name", 0, &name, NULL) < 0)
                        return -ENOENT;
                n = ns && *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
                return n < 0 || (size_t) n >= size ? -EINVAL : 0;
        }
        return -ENOENT;
}
