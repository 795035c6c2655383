/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery documents (/apis, /apis/runtime.mbox.dev, /apis/runtime.mbox.dev/v1alpha1), as kubectl and
 * kube-apiserver's aggregator read them; the resources are the table's (resources.c). */
#include <string.h>

#include "apiserver/internal.h"
#include "jsonutil.h"

static json_object *group_version(void) {
        json_object *v = json_object_new_object();
        json_object_object_add(v, "groupVersion", json_object_new_string(API_GV));
        json_object_object_add(v, "version", json_object_new_string(API_VERSION));
        return v;
}

static json_object *group(void) {
        json_object *g = json_object_new_object(), *versions = json_object_new_array();
        json_object_object_add(g, "name", json_object_new_string(API_GROUP));
        json_object_array_add(versions, group_version());
        json_object_object_add(g, "versions", versions);
        json_object_object_add(g, "preferredVersion", group_version());
        return g;
}

static const char *const verb_names[] = {"get", "list", "watch", "create", "patch", "delete", "update"};

static json_object *resource(
        const char *name, const char *singular, const char *kind, bool namespaced, unsigned verbs) {
        json_object *r = json_object_new_object(), *v = json_object_new_array(),
                    *cats = json_object_new_array();
        json_object_object_add(r, "name", json_object_new_string(name));
        json_object_object_add(r, "singularName", json_object_new_string(singular));
        json_object_object_add(r, "namespaced", json_object_new_boolean(namespaced));
        json_object_object_add(r, "kind", json_object_new_string(kind));
        for (size_t i = 0; i < ARRAY_SIZE(verb_names); i++)
                if (verbs & (1u << i))
                        json_object_array_add(v, json_object_new_string(verb_names[i]));
        json_object_object_add(r, "verbs", v);
        if (verbs & API_LIST) { /* kubectl get mbox: what can be listed */
                json_object_array_add(cats, json_object_new_string("mbox"));
                json_object_object_add(r, "categories", cats);
        } else
                json_object_put(cats);
        return r;
}

void api_discovery(struct httpd_request *req, void *userdata) {
        const char *path = httpd_request_path(req);
        _cleanup_json_ json_object *doc = json_object_new_object();
        (void) userdata;
        if (strcmp(path, "/apis") == 0) {
                json_object *groups = json_object_new_array();
                json_object_object_add(doc, "kind", json_object_new_string("APIGroupList"));
                json_object_object_add(doc, "apiVersion", json_object_new_string("v1"));
                json_object_array_add(groups, group());
                json_object_object_add(doc, "groups", groups);
        } else if (strcmp(path, "/apis/" API_GROUP) == 0 || strcmp(path, "/apis/" API_GROUP "/") == 0) {
                json_object_put(doc);
                doc = group();
                json_object_object_add(doc, "kind", json_object_new_string("APIGroup"));
                json_object_object_add(doc, "apiVersion", json_object_new_string("v1"));
        } else {
                json_object *res = json_object_new_array();
                json_object_object_add(doc, "kind", json_object_new_string("APIResourceList"));
                json_object_object_add(doc, "apiVersion", json_object_new_string("v1"));
                json_object_object_add(doc, "groupVersion", json_object_new_string(API_GV));
                for (const struct api_resource *r = api_resources; r->name; r++) {
                        json_object_array_add(
                                res, resource(r->name, r->singular, r->kind, r->namespaced, r->verbs));
                        for (const struct api_subresource *sub = r->subresources; sub && sub->name; sub++)
                                json_object_array_add(
                                        res, resource(sub->label, "", r->kind, r->namespaced, sub->verbs));
                }
                json_object_object_add(doc, "resources", res);
        }
        api_respond_json(req, 200, doc);
}
