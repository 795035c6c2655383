/* SPDX-License-Identifier: Apache-2.0 */
#include "api/agentsandbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

/* The CRDs set no maxItems on these lists; a cap keeps what one object can make us allocate bounded. */
#define AS_LIST_MAX 256

static const char *const protocols[] = {"TCP", "UDP", "SCTP", NULL};
static const char *const seccomp_types[] = {"RuntimeDefault", "Unconfined", "Localhost", NULL};
static const struct api_str_rule any_rule = {.max_len = 0};
static const struct api_str_rule protocol_rule = {.enum_values = protocols};
static const struct api_str_rule seccomp_rule = {.required = true, .enum_values = seccomp_types};
static const struct api_str_rule label63 = {.required = true, .max_len = 63, .pattern = API_PAT_DNS_LABEL};
static const struct api_str_rule ref_rule = {
        .required = true, .max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
static const struct api_str_rule subdomain_rule = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
static const struct api_str_rule port_name_rule = {.min_len = 1, .max_len = 15, .pattern = API_PAT_IANA_SVC};

/* ---- shared pieces ---- */

/* The array at key as n zeroed items of size bytes each (*ret_items, the caller's); 1 when present and
 * valid, 0 otherwise (problems recorded). */
static int get_items(json_object *obj, const char *key, const char *path, bool required, size_t min_items,
        size_t size, json_object **ret_arr, void **ret_items, struct api_errors *e) {
        json_object *arr = NULL;
        void *items;
        size_t n;

        if (api_get_arr(obj, key, path, required, min_items, AS_LIST_MAX, &arr, e) <= 0)
                return 0;
        n = json_object_array_length(arr);
        items = calloc(n ? n : 1, size);
        if (!items) {
                e->oom = true;
                return 0;
        }
        *ret_arr = arr;
        *ret_items = items;
        return 1;
}

/* Item i of arr when it is an object; otherwise records the problem at path[i] and returns NULL. */
static json_object *get_item(
        json_object *arr, size_t i, const char *path, char *ip, size_t size, struct api_errors *e) {
        json_object *it = json_object_array_get_idx(arr, i);

        api_path_idx(ip, size, path, i);
        if (!it || !json_object_is_type(it, json_type_object)) {
                api_errors_add(e, ip, "must be of type object");
                return NULL;
        }
        return it;
}

static void get_opt_bool(
        json_object *obj, const char *key, const char *path, struct as_opt_bool *ret, struct api_errors *e) {
        ret->set = api_get_bool(obj, key, path, &ret->value, e) > 0;
}

static void get_opt_int(json_object *obj, const char *key, const char *path, int64_t min, int64_t max,
        struct as_opt_int *ret, struct api_errors *e) {
        ret->set = api_get_int(obj, key, path, false, min, max, &ret->value, e) > 0;
}

static int put_opt_bool(json_object *o, const char *key, const struct as_opt_bool *b) {
        return b->set ? api_put_bool(o, key, b->value) : 0;
}

static int put_opt_int(json_object *o, const char *key, const struct as_opt_int *i) {
        return i->set ? api_put_int(o, key, i->value) : 0;
}

/* Adds a new object (or array) under key and returns it, NULL when out of memory. */
static json_object *put_new(json_object *o, const char *key, bool array) {
        json_object *x = array ? json_object_new_array() : json_object_new_object();

        return api_put_obj(o, key, x) < 0 ? NULL : x;
}

static json_object *append_new(json_object *arr) {
        json_object *x = json_object_new_object();

        if (!x || json_object_array_add(arr, x) < 0) {
                json_object_put(x);
                return NULL;
        }
        return x;
}

/* ---- metadata and owner references ---- */

static void owners_release(struct as_owner_ref *owners, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(owners[i].api_version);
                free(owners[i].kind);
                free(owners[i].name);
                free(owners[i].uid);
        }
        free(owners);
}

static int parse_meta(json_object *obj, const char *kind, struct api_meta *m,
        struct as_owner_ref **ret_owners, size_t *ret_n, struct api_errors *e) {
        static const struct api_str_rule req = {.required = true, .min_len = 1};
        json_object *md = NULL, *arr = NULL;
        struct as_owner_ref *owners = NULL;
        char ip[API_PATH_MAX];
        size_t n = 0, controllers = 0;

        if (api_meta_from_json_gv(obj, AS_GROUP_VERSION, kind, API_NAME_DNS_SUBDOMAIN, 253, true, m, e) <= 0)
                return 0;
        (void) api_get_obj(obj, "metadata", "", true, &md, e);
        if (!get_items(
                    md, "ownerReferences", "metadata", false, 0, sizeof(*owners), &arr, (void **) &owners, e))
                return 1;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = get_item(arr, i, "metadata.ownerReferences", ip, sizeof(ip), e);
                struct as_owner_ref *o = &owners[n];

                if (!it)
                        continue;
                n++;
                (void) api_get_str(it, "apiVersion", ip, &req, &o->api_version, e);
                (void) api_get_str(it, "kind", ip, &req, &o->kind, e);
                (void) api_get_str(it, "name", ip, &req, &o->name, e);
                (void) api_get_str(it, "uid", ip, &req, &o->uid, e);
                (void) api_get_bool(it, "controller", ip, &o->controller, e);
                (void) api_get_bool(it, "blockOwnerDeletion", ip, &o->block_owner_deletion, e);
                if (o->controller && ++controllers == 2)
                        api_errors_add(e, "metadata.ownerReferences",
                                "Invalid value: only one reference can have controller set to true");
        }
        *ret_owners = owners;
        *ret_n = n;
        return 1;
}

static int put_meta(json_object *o, const char *kind, const struct api_meta *m,
        const struct as_owner_ref *owners, size_t n) {
        json_object *md, *arr;
        int r = 0;

        if (api_meta_to_json_gv(m, AS_GROUP_VERSION, kind, o) < 0)
                return -ENOMEM;
        if (!n)
                return 0;
        md = json_object_object_get(o, "metadata");
        arr = put_new(md, "ownerReferences", true);
        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *x = append_new(arr);
                if (!x)
                        return -ENOMEM;
                r |= api_put_str(x, "apiVersion", owners[i].api_version);
                r |= api_put_str(x, "kind", owners[i].kind);
                r |= api_put_str(x, "name", owners[i].name);
                r |= api_put_str(x, "uid", owners[i].uid);
                if (owners[i].controller)
                        r |= api_put_bool(x, "controller", true);
                if (owners[i].block_owner_deletion)
                        r |= api_put_bool(x, "blockOwnerDeletion", true);
        }
        return r ? -ENOMEM : 0;
}

/* ---- SandboxTemplate ---- */

static void container_release(struct as_container *c) {
        free(c->name);
        free(c->image);
        free(c->image_pull_policy);
        api_strv_release(&c->command);
        api_strv_release(&c->args);
        free(c->working_dir);
        api_env_release(&c->env);
        api_quantity_release(&c->resources.requests_cpu);
        api_quantity_release(&c->resources.requests_memory);
        api_quantity_release(&c->resources.limits_cpu);
        api_quantity_release(&c->resources.limits_memory);
        for (size_t i = 0; i < c->n_ports; i++) {
                free(c->ports[i].name);
                free(c->ports[i].protocol);
        }
        free(c->ports);
        for (size_t i = 0; i < c->n_volume_mounts; i++) {
                free(c->volume_mounts[i].name);
                free(c->volume_mounts[i].mount_path);
        }
        free(c->volume_mounts);
        api_strv_release(&c->security_context.capabilities_drop);
        free(c->security_context.seccomp_profile_type);
}

static void rules_release(struct as_np_rules *rules) {
        for (size_t i = 0; i < rules->n; i++) {
                struct as_np_rule *r = &rules->items[i];
                for (size_t j = 0; j < r->n_peers; j++) {
                        free(r->peers[j].ip_block_cidr);
                        api_map_release(&r->peers[j].namespace_selector.match_labels);
                        api_map_release(&r->peers[j].pod_selector.match_labels);
                }
                free(r->peers);
                for (size_t j = 0; j < r->n_ports; j++) {
                        free(r->ports[j].protocol);
                        free(r->ports[j].port_name);
                }
                free(r->ports);
        }
        free(rules->items);
        *rules = (struct as_np_rules){0};
}

void as_template_spec_release(struct as_template_spec *s) {
        api_map_release(&s->pod_labels);
        free(s->pod.service_account_name);
        free(s->pod.security_context.seccomp_profile_type);
        free(s->pod.runtime_class_name);
        for (size_t i = 0; i < s->pod.n_containers; i++)
                container_release(&s->pod.containers[i]);
        free(s->pod.containers);
        for (size_t i = 0; i < s->n_vcts; i++) {
                free(s->vcts[i].name);
                api_strv_release(&s->vcts[i].access_modes);
                api_quantity_release(&s->vcts[i].storage);
                free(s->vcts[i].storage_class_name);
        }
        free(s->vcts);
        rules_release(&s->ingress);
        rules_release(&s->egress);
        free(s->network_policy_management);
        free(s->env_vars_injection_policy);
        *s = (struct as_template_spec){0};
}

struct as_template *as_template_free(struct as_template *t) {
        if (!t)
                return NULL;
        api_meta_release(&t->meta);
        owners_release(t->owners, t->n_owners);
        as_template_spec_release(&t->spec);
        free(t);
        return NULL;
}

static void parse_ports(json_object *c, const char *path, struct as_container *ret, struct api_errors *e) {
        char p[API_PATH_MAX], ip[API_PATH_MAX];
        json_object *arr = NULL;
        char **names;

        if (!get_items(c, "ports", path, false, 0, sizeof(*ret->ports), &arr, (void **) &ret->ports, e))
                return;
        ret->has_ports = true;
        api_path(p, sizeof(p), path, "ports");
        names = calloc(json_object_array_length(arr) + 1, sizeof(char *));
        if (!names) {
                e->oom = true;
                return;
        }
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = get_item(arr, i, p, ip, sizeof(ip), e);
                struct as_container_port *port = &ret->ports[ret->n_ports];

                if (!it)
                        continue;
                ret->n_ports++;
                (void) api_get_str(it, "name", ip, &port_name_rule, &port->name, e);
                names[i] = port->name;
                (void) api_get_int(it, "containerPort", ip, true, 1, 65535, &port->container_port, e);
                if (api_get_str(it, "protocol", ip, &protocol_rule, &port->protocol, e) == 0 &&
                        !api_has(it, "protocol"))
                        port->protocol = api_strdup("TCP", e);
                for (size_t j = 0; j + 1 < ret->n_ports; j++)
                        if (port->container_port && port->container_port == ret->ports[j].container_port &&
                                api_str_equal(port->protocol, ret->ports[j].protocol))
                                api_errors_add(e, ip, "Duplicate value: containerPort %lld with protocol %s",
                                        (long long) port->container_port,
                                        port->protocol ? port->protocol : "");
        }
        api_check_unique_keys(names, json_object_array_length(arr), p, e);
        free(names);
}

static void parse_mounts(json_object *c, const char *path, struct as_container *ret, struct api_errors *e) {
        static const struct api_str_rule mount_rule = {.required = true, .min_len = 1};
        char p[API_PATH_MAX], ip[API_PATH_MAX];
        json_object *arr = NULL;
        char **paths;

        if (!get_items(c, "volumeMounts", path, false, 0, sizeof(*ret->volume_mounts), &arr,
                    (void **) &ret->volume_mounts, e))
                return;
        ret->has_volume_mounts = true;
        api_path(p, sizeof(p), path, "volumeMounts");
        paths = calloc(json_object_array_length(arr) + 1, sizeof(char *));
        if (!paths) {
                e->oom = true;
                return;
        }
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = get_item(arr, i, p, ip, sizeof(ip), e);
                struct as_volume_mount *m = &ret->volume_mounts[ret->n_volume_mounts];

                if (!it)
                        continue;
                ret->n_volume_mounts++;
                (void) api_get_str(it, "name", ip, &label63, &m->name, e);
                (void) api_get_str(it, "mountPath", ip, &mount_rule, &m->mount_path, e);
                paths[i] = m->mount_path;
        }
        api_check_unique_keys(paths, json_object_array_length(arr), p, e);
        free(paths);
}

static void parse_container(
        json_object *c, const char *path, struct as_container *ret, struct api_errors *e) {
        static const char *const pull[] = {"Always", "IfNotPresent", "Never", NULL};
        static const struct api_str_rule image_rule = {
                .required = true, .min_len = 1, .pattern = API_PAT_NO_SPACE};
        static const struct api_str_rule pull_rule = {.enum_values = pull};
        char p[API_PATH_MAX], q[API_PATH_MAX];
        json_object *o = NULL, *x = NULL;

        (void) api_get_str(c, "name", path, &label63, &ret->name, e);
        (void) api_get_str(c, "image", path, &image_rule, &ret->image, e);
        (void) api_get_str(c, "imagePullPolicy", path, &pull_rule, &ret->image_pull_policy, e);
        (void) api_get_strv(c, "command", path, 0, AS_LIST_MAX, &any_rule, &ret->command, e);
        (void) api_get_strv(c, "args", path, 0, AS_LIST_MAX, &any_rule, &ret->args, e);
        (void) api_get_str(c, "workingDir", path, &any_rule, &ret->working_dir, e);
        (void) api_get_env(c, path, true, &ret->env, e); /* a template's env from a Secret */
        if (api_get_obj(c, "resources", path, false, &o, e) > 0) {
                ret->has_resources = true;
                api_path(p, sizeof(p), path, "resources");
                x = NULL;
                if (api_get_obj(o, "requests", p, false, &x, e) > 0) {
                        api_path(q, sizeof(q), p, "requests");
                        (void) api_get_quantity(x, "cpu", q, false, &ret->resources.requests_cpu, e);
                        (void) api_get_quantity(x, "memory", q, false, &ret->resources.requests_memory, e);
                }
                x = NULL;
                if (api_get_obj(o, "limits", p, false, &x, e) > 0) {
                        api_path(q, sizeof(q), p, "limits");
                        (void) api_get_quantity(x, "cpu", q, false, &ret->resources.limits_cpu, e);
                        (void) api_get_quantity(x, "memory", q, false, &ret->resources.limits_memory, e);
                }
        }
        parse_ports(c, path, ret, e);
        parse_mounts(c, path, ret, e);
        o = NULL;
        if (api_get_obj(c, "securityContext", path, false, &o, e) > 0) {
                ret->has_security_context = true;
                api_path(p, sizeof(p), path, "securityContext");
                get_opt_bool(o, "allowPrivilegeEscalation", p,
                        &ret->security_context.allow_privilege_escalation, e);
                x = NULL;
                if (api_get_obj(o, "capabilities", p, false, &x, e) > 0) {
                        ret->security_context.has_capabilities = true;
                        api_path(q, sizeof(q), p, "capabilities");
                        (void) api_get_strv(x, "drop", q, 0, AS_LIST_MAX, &any_rule,
                                &ret->security_context.capabilities_drop, e);
                }
                get_opt_bool(o, "runAsNonRoot", p, &ret->security_context.run_as_non_root, e);
                x = NULL;
                if (api_get_obj(o, "seccompProfile", p, false, &x, e) > 0) {
                        api_path(q, sizeof(q), p, "seccompProfile");
                        (void) api_get_str(
                                x, "type", q, &seccomp_rule, &ret->security_context.seccomp_profile_type, e);
                }
        }
}

static void parse_pod(json_object *pt, struct as_template_spec *s, struct api_errors *e) {
        static const char *const path = "spec.podTemplate.spec";
        char ip[API_PATH_MAX];
        json_object *md = NULL, *pod = NULL, *o = NULL, *x = NULL, *arr = NULL;
        char **names;

        if (api_get_obj(pt, "metadata", "spec.podTemplate", false, &md, e) > 0) {
                s->has_pod_metadata = true;
                (void) api_get_map(md, "labels", "spec.podTemplate.metadata", true, &s->pod_labels, e);
        }
        if (api_get_obj(pt, "spec", "spec.podTemplate", true, &pod, e) <= 0)
                return;
        (void) api_get_str(pod, "serviceAccountName", path, &subdomain_rule, &s->pod.service_account_name, e);
        get_opt_bool(pod, "automountServiceAccountToken", path, &s->pod.automount_service_account_token, e);
        get_opt_bool(pod, "enableServiceLinks", path, &s->pod.enable_service_links, e);
        if (api_get_obj(pod, "securityContext", path, false, &o, e) > 0) {
                static const char *const sc = "spec.podTemplate.spec.securityContext";
                s->pod.has_security_context = true;
                get_opt_bool(o, "runAsNonRoot", sc, &s->pod.security_context.run_as_non_root, e);
                get_opt_int(o, "runAsUser", sc, 0, INT32_MAX, &s->pod.security_context.run_as_user, e);
                get_opt_int(o, "runAsGroup", sc, 0, INT32_MAX, &s->pod.security_context.run_as_group, e);
                get_opt_int(o, "fsGroup", sc, 0, INT32_MAX, &s->pod.security_context.fs_group, e);
                if (api_get_obj(o, "seccompProfile", sc, false, &x, e) > 0)
                        (void) api_get_str(x, "type", "spec.podTemplate.spec.securityContext.seccompProfile",
                                &seccomp_rule, &s->pod.security_context.seccomp_profile_type, e);
        }
        (void) api_get_str(pod, "runtimeClassName", path, &subdomain_rule, &s->pod.runtime_class_name, e);
        if (!get_items(pod, "containers", path, true, 1, sizeof(*s->pod.containers), &arr,
                    (void **) &s->pod.containers, e))
                return;
        names = calloc(json_object_array_length(arr) + 1, sizeof(char *));
        if (!names) {
                e->oom = true;
                return;
        }
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = get_item(arr, i, "spec.podTemplate.spec.containers", ip, sizeof(ip), e);
                struct as_container *c = &s->pod.containers[s->pod.n_containers];

                if (!it)
                        continue;
                s->pod.n_containers++;
                parse_container(it, ip, c, e);
                names[i] = c->name;
        }
        api_check_unique_keys(names, json_object_array_length(arr), "spec.podTemplate.spec.containers", e);
        free(names);
}

static void parse_vcts(json_object *spec, struct as_template_spec *s, struct api_errors *e) {
        static const char *const modes[] = {
                "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod", NULL};
        static const struct api_str_rule mode_rule = {.enum_values = modes};
        char ip[API_PATH_MAX], p[API_PATH_MAX], q[API_PATH_MAX];
        json_object *arr = NULL;
        char **names;

        if (!get_items(spec, "volumeClaimTemplates", "spec", false, 0, sizeof(*s->vcts), &arr,
                    (void **) &s->vcts, e))
                return;
        s->has_vcts = true;
        names = calloc(json_object_array_length(arr) + 1, sizeof(char *));
        if (!names) {
                e->oom = true;
                return;
        }
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = get_item(arr, i, "spec.volumeClaimTemplates", ip, sizeof(ip), e);
                json_object *md = NULL, *vs = NULL, *res = NULL, *req = NULL;
                struct as_vct *v = &s->vcts[s->n_vcts];

                if (!it)
                        continue;
                s->n_vcts++;
                /* agent-sandbox names the PVC <name>-<sandbox> and the pod volume <name> */
                api_path(p, sizeof(p), ip, "metadata");
                if (api_get_obj(it, "metadata", ip, true, &md, e) > 0)
                        (void) api_get_str(md, "name", p, &label63, &v->name, e);
                names[i] = v->name;
                if (api_get_obj(it, "spec", ip, true, &vs, e) <= 0)
                        continue;
                api_path(p, sizeof(p), ip, "spec");
                (void) api_get_strv(vs, "accessModes", p, 0, 4, &mode_rule, &v->access_modes, e);
                if (api_get_obj(vs, "resources", p, false, &res, e) > 0) {
                        api_path(q, sizeof(q), p, "resources");
                        if (api_get_obj(res, "requests", q, false, &req, e) > 0) {
                                char r[API_PATH_MAX];
                                api_path(r, sizeof(r), q, "requests");
                                (void) api_get_quantity(req, "storage", r, false, &v->storage, e);
                        }
                }
                (void) api_get_str(vs, "storageClassName", p, &subdomain_rule, &v->storage_class_name, e);
        }
        api_check_unique_keys(names, json_object_array_length(arr), "spec.volumeClaimTemplates", e);
        free(names);
}

static void parse_selector(
        json_object *peer, const char *key, const char *path, struct as_selector *ret, struct api_errors *e) {
        char p[API_PATH_MAX];
        json_object *o = NULL;

        if (api_get_obj(peer, key, path, false, &o, e) <= 0)
                return;
        ret->set = true;
        (void) api_get_map(o, "matchLabels", api_path(p, sizeof(p), path, key), true, &ret->match_labels, e);
}

static void parse_rule(json_object *it, const char *path, const char *peers_key, struct as_np_rule *r,
        struct api_errors *e) {
        static const struct api_str_rule cidr_rule = {.required = true, .pattern = API_PAT_CIDR};
        char p[API_PATH_MAX], ip[API_PATH_MAX], bp[API_PATH_MAX];
        json_object *arr = NULL;

        if (get_items(it, peers_key, path, false, 0, sizeof(*r->peers), &arr, (void **) &r->peers, e)) {
                r->has_peers = true;
                api_path(p, sizeof(p), path, peers_key);
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        json_object *pe = get_item(arr, i, p, ip, sizeof(ip), e), *b = NULL;
                        struct as_np_peer *peer = &r->peers[r->n_peers];

                        if (!pe)
                                continue;
                        r->n_peers++;
                        if (api_get_obj(pe, "ipBlock", ip, false, &b, e) > 0)
                                (void) api_get_str(b, "cidr", api_path(bp, sizeof(bp), ip, "ipBlock"),
                                        &cidr_rule, &peer->ip_block_cidr, e);
                        parse_selector(pe, "namespaceSelector", ip, &peer->namespace_selector, e);
                        parse_selector(pe, "podSelector", ip, &peer->pod_selector, e);
                        /* NetworkPolicy validation: one kind of peer, and at least one */
                        if (b && (peer->namespace_selector.set || peer->pod_selector.set))
                                api_errors_add(e, ip,
                                        "Invalid value: may not specify both ipBlock and another peer");
                        else if (!b && !peer->namespace_selector.set && !peer->pod_selector.set)
                                api_errors_add(e, ip, "Required value: must specify a peer");
                }
        }
        arr = NULL;
        if (!get_items(it, "ports", path, false, 0, sizeof(*r->ports), &arr, (void **) &r->ports, e))
                return;
        r->has_ports = true;
        api_path(p, sizeof(p), path, "ports");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *po = get_item(arr, i, p, ip, sizeof(ip), e), *v;
                struct as_np_port *port = &r->ports[r->n_ports];

                if (!po)
                        continue;
                r->n_ports++;
                (void) api_get_str(po, "protocol", ip, &protocol_rule, &port->protocol, e);
                if (!json_object_object_get_ex(po, "port", &v) || !v)
                        continue;
                if (json_object_is_type(v, json_type_string)) {
                        static const struct api_str_rule named = {
                                .required = true, .max_len = 15, .pattern = API_PAT_IANA_SVC};
                        port->has_port = api_get_str(po, "port", ip, &named, &port->port_name, e) > 0;
                } else if (json_object_is_type(v, json_type_int))
                        port->has_port = api_get_int(po, "port", ip, true, 1, 65535, &port->port, e) > 0;
                else
                        api_errors_add(e, api_path(bp, sizeof(bp), ip, "port"),
                                "Invalid value: \"%s\": must be of type integer or string",
                                json_type_label(v));
        }
}

static void parse_rules(json_object *np, const char *key, const char *peers_key, struct as_np_rules *ret,
        struct api_errors *e) {
        char p[API_PATH_MAX], ip[API_PATH_MAX];
        json_object *arr = NULL;

        if (!get_items(np, key, "spec.networkPolicy", false, 0, sizeof(*ret->items), &arr,
                    (void **) &ret->items, e))
                return;
        ret->set = true;
        api_path(p, sizeof(p), "spec.networkPolicy", key);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = get_item(arr, i, p, ip, sizeof(ip), e);
                if (it)
                        parse_rule(it, ip, peers_key, &ret->items[ret->n++], e);
        }
}

static void parse_template_spec(json_object *spec, struct as_template_spec *s, struct api_errors *e) {
        static const char *const mgmt[] = {"Managed", "Unmanaged", NULL};
        static const char *const inject[] = {"Allowed", "Overrides", "Disallowed", NULL};
        static const struct api_str_rule mgmt_rule = {.enum_values = mgmt};
        static const struct api_str_rule inject_rule = {.enum_values = inject};
        json_object *pt = NULL, *np = NULL;

        if (api_get_obj(spec, "podTemplate", "spec", true, &pt, e) > 0)
                parse_pod(pt, s, e);
        parse_vcts(spec, s, e);
        get_opt_bool(spec, "service", "spec", &s->service, e);
        if (api_get_obj(spec, "networkPolicy", "spec", false, &np, e) > 0) {
                s->has_network_policy = true;
                parse_rules(np, "ingress", "from", &s->ingress, e);
                parse_rules(np, "egress", "to", &s->egress, e);
        }
        if (api_get_str(spec, "networkPolicyManagement", "spec", &mgmt_rule, &s->network_policy_management,
                    e) == 0 &&
                !api_has(spec, "networkPolicyManagement"))
                s->network_policy_management = api_strdup("Managed", e);
        if (api_get_str(spec, "envVarsInjectionPolicy", "spec", &inject_rule, &s->env_vars_injection_policy,
                    e) == 0 &&
                !api_has(spec, "envVarsInjectionPolicy"))
                s->env_vars_injection_policy = api_strdup("Disallowed", e);
}

/* The common tail of the three *_from_json(): hands obj over, or frees it and reports every problem. */
static int finish(struct api_errors *e, void *obj, void *(*free_fn)(void *), void **ret, struct merr *err) {
        int r = api_errors_to_merr(e, err);

        api_errors_release(e);
        if (r < 0) {
                free_fn(obj);
                return r;
        }
        *ret = obj;
        return 0;
}

static void *template_free_any(void *t) {
        return as_template_free(t);
}

int as_template_from_json(json_object *obj, struct as_template **ret, struct merr *err) {
        struct api_errors e = API_ERRORS_INIT;
        struct as_template *t = calloc(1, sizeof(*t));
        json_object *spec = NULL;

        if (!t)
                return merr_set(err, -ENOMEM, "out of memory");
        if (parse_meta(obj, "SandboxTemplate", &t->meta, &t->owners, &t->n_owners, &e) > 0 &&
                api_get_obj(obj, "spec", "", true, &spec, &e) > 0)
                parse_template_spec(spec, &t->spec, &e);
        return finish(&e, t, template_free_any, (void **) ret, err);
}

static int put_resources(json_object *c, const struct as_container *s) {
        json_object *res = put_new(c, "resources", false), *x;
        int r = 0;

        if (!res)
                return -ENOMEM;
        if (s->resources.requests_cpu.text || s->resources.requests_memory.text) {
                x = put_new(res, "requests", false);
                if (!x)
                        return -ENOMEM;
                r |= api_put_quantity(x, "cpu", &s->resources.requests_cpu);
                r |= api_put_quantity(x, "memory", &s->resources.requests_memory);
        }
        if (s->resources.limits_cpu.text || s->resources.limits_memory.text) {
                x = put_new(res, "limits", false);
                if (!x)
                        return -ENOMEM;
                r |= api_put_quantity(x, "cpu", &s->resources.limits_cpu);
                r |= api_put_quantity(x, "memory", &s->resources.limits_memory);
        }
        return r ? -ENOMEM : 0;
}

static int put_seccomp(json_object *o, const char *type) {
        json_object *x;

        if (!type)
                return 0;
        x = put_new(o, "seccompProfile", false);
        return x ? api_put_str(x, "type", type) : -ENOMEM;
}

static int put_container(json_object *arr, const struct as_container *s) {
        json_object *c = append_new(arr), *a, *x;
        int r = 0;

        if (!c)
                return -ENOMEM;
        r |= api_put_str(c, "name", s->name);
        r |= api_put_str(c, "image", s->image);
        r |= api_put_str(c, "imagePullPolicy", s->image_pull_policy);
        r |= api_put_strv(c, "command", &s->command);
        r |= api_put_strv(c, "args", &s->args);
        r |= api_put_str(c, "workingDir", s->working_dir);
        r |= api_put_env(c, "env", &s->env);
        if (s->has_resources)
                r |= put_resources(c, s);
        if (s->has_ports) {
                if (!(a = put_new(c, "ports", true)))
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_ports; i++) {
                        if (!(x = append_new(a)))
                                return -ENOMEM;
                        r |= api_put_str(x, "name", s->ports[i].name);
                        r |= api_put_int(x, "containerPort", s->ports[i].container_port);
                        r |= api_put_str(x, "protocol", s->ports[i].protocol);
                }
        }
        if (s->has_volume_mounts) {
                if (!(a = put_new(c, "volumeMounts", true)))
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_volume_mounts; i++) {
                        if (!(x = append_new(a)))
                                return -ENOMEM;
                        r |= api_put_str(x, "name", s->volume_mounts[i].name);
                        r |= api_put_str(x, "mountPath", s->volume_mounts[i].mount_path);
                }
        }
        if (s->has_security_context) {
                if (!(x = put_new(c, "securityContext", false)))
                        return -ENOMEM;
                r |= put_opt_bool(
                        x, "allowPrivilegeEscalation", &s->security_context.allow_privilege_escalation);
                if (s->security_context.has_capabilities) {
                        json_object *caps = put_new(x, "capabilities", false);
                        r |= caps ? api_put_strv(caps, "drop", &s->security_context.capabilities_drop)
                                  : -ENOMEM;
                }
                r |= put_opt_bool(x, "runAsNonRoot", &s->security_context.run_as_non_root);
                r |= put_seccomp(x, s->security_context.seccomp_profile_type);
        }
        return r ? -ENOMEM : 0;
}

static int put_selector(json_object *o, const char *key, const struct as_selector *s) {
        json_object *x, *m;

        if (!s->set)
                return 0;
        if (!(x = put_new(o, key, false)))
                return -ENOMEM;
        if (!s->match_labels.n)
                return 0;
        if (!(m = put_new(x, "matchLabels", false)))
                return -ENOMEM;
        for (size_t i = 0; i < s->match_labels.n; i++)
                if (api_put_str(m, s->match_labels.items[i].key, s->match_labels.items[i].value) < 0)
                        return -ENOMEM;
        return 0;
}

static int put_rules(
        json_object *np, const char *key, const char *peers_key, const struct as_np_rules *rules) {
        json_object *arr, *a, *x;
        int r = 0;

        if (!rules->set)
                return 0;
        if (!(arr = put_new(np, key, true)))
                return -ENOMEM;
        for (size_t i = 0; i < rules->n; i++) {
                const struct as_np_rule *rule = &rules->items[i];
                json_object *ro = append_new(arr);
                if (!ro)
                        return -ENOMEM;
                if (rule->has_peers) {
                        if (!(a = put_new(ro, peers_key, true)))
                                return -ENOMEM;
                        for (size_t j = 0; j < rule->n_peers; j++) {
                                const struct as_np_peer *p = &rule->peers[j];
                                if (!(x = append_new(a)))
                                        return -ENOMEM;
                                if (p->ip_block_cidr) {
                                        json_object *b = put_new(x, "ipBlock", false);
                                        r |= b ? api_put_str(b, "cidr", p->ip_block_cidr) : -ENOMEM;
                                }
                                r |= put_selector(x, "namespaceSelector", &p->namespace_selector);
                                r |= put_selector(x, "podSelector", &p->pod_selector);
                        }
                }
                if (rule->has_ports) {
                        if (!(a = put_new(ro, "ports", true)))
                                return -ENOMEM;
                        for (size_t j = 0; j < rule->n_ports; j++) {
                                const struct as_np_port *p = &rule->ports[j];
                                if (!(x = append_new(a)))
                                        return -ENOMEM;
                                r |= api_put_str(x, "protocol", p->protocol);
                                if (p->port_name)
                                        r |= api_put_str(x, "port", p->port_name);
                                else if (p->has_port)
                                        r |= api_put_int(x, "port", p->port);
                        }
                }
        }
        return r ? -ENOMEM : 0;
}

static int put_pod_template(json_object *spec, const struct as_template_spec *s) {
        json_object *pt = put_new(spec, "podTemplate", false), *pod, *x;
        int r = 0;

        if (!pt)
                return -ENOMEM;
        if (s->has_pod_metadata) {
                if (!(x = put_new(pt, "metadata", false)))
                        return -ENOMEM;
                if (s->pod_labels.n) {
                        json_object *l = put_new(x, "labels", false);
                        if (!l)
                                return -ENOMEM;
                        for (size_t i = 0; i < s->pod_labels.n; i++)
                                r |= api_put_str(l, s->pod_labels.items[i].key, s->pod_labels.items[i].value);
                }
        }
        if (!(pod = put_new(pt, "spec", false)))
                return -ENOMEM;
        r |= api_put_str(pod, "serviceAccountName", s->pod.service_account_name);
        r |= put_opt_bool(pod, "automountServiceAccountToken", &s->pod.automount_service_account_token);
        r |= put_opt_bool(pod, "enableServiceLinks", &s->pod.enable_service_links);
        if (s->pod.has_security_context) {
                if (!(x = put_new(pod, "securityContext", false)))
                        return -ENOMEM;
                r |= put_opt_bool(x, "runAsNonRoot", &s->pod.security_context.run_as_non_root);
                r |= put_opt_int(x, "runAsUser", &s->pod.security_context.run_as_user);
                r |= put_opt_int(x, "runAsGroup", &s->pod.security_context.run_as_group);
                r |= put_opt_int(x, "fsGroup", &s->pod.security_context.fs_group);
                r |= put_seccomp(x, s->pod.security_context.seccomp_profile_type);
        }
        r |= api_put_str(pod, "runtimeClassName", s->pod.runtime_class_name);
        if (!(x = put_new(pod, "containers", true)))
                return -ENOMEM;
        for (size_t i = 0; i < s->pod.n_containers; i++)
                r |= put_container(x, &s->pod.containers[i]);
        return r ? -ENOMEM : 0;
}

static int put_vcts(json_object *spec, const struct as_template_spec *s) {
        json_object *arr, *v, *md, *vs, *res, *req;
        int r = 0;

        if (!s->has_vcts)
                return 0;
        if (!(arr = put_new(spec, "volumeClaimTemplates", true)))
                return -ENOMEM;
        for (size_t i = 0; i < s->n_vcts; i++) {
                const struct as_vct *t = &s->vcts[i];
                if (!(v = append_new(arr)) || !(md = put_new(v, "metadata", false)) ||
                        !(vs = put_new(v, "spec", false)))
                        return -ENOMEM;
                r |= api_put_str(md, "name", t->name);
                r |= api_put_strv(vs, "accessModes", &t->access_modes);
                if (t->storage.text) {
                        if (!(res = put_new(vs, "resources", false)) ||
                                !(req = put_new(res, "requests", false)))
                                return -ENOMEM;
                        r |= api_put_quantity(req, "storage", &t->storage);
                }
                r |= api_put_str(vs, "storageClassName", t->storage_class_name);
        }
        return r ? -ENOMEM : 0;
}

int as_template_spec_to_json(const struct as_template_spec *s, json_object **ret) {
        json_object *spec = json_object_new_object(), *np;
        int r = 0;

        if (!spec)
                return -ENOMEM;
        r |= put_pod_template(spec, s);
        r |= put_vcts(spec, s);
        r |= put_opt_bool(spec, "service", &s->service);
        if (s->has_network_policy) {
                np = put_new(spec, "networkPolicy", false);
                r |= np ? put_rules(np, "ingress", "from", &s->ingress) |
                                     put_rules(np, "egress", "to", &s->egress)
                        : -ENOMEM;
        }
        r |= api_put_str(spec, "networkPolicyManagement", s->network_policy_management);
        r |= api_put_str(spec, "envVarsInjectionPolicy", s->env_vars_injection_policy);
        if (r) {
                json_object_put(spec);
                return -ENOMEM;
        }
        *ret = spec;
        return 0;
}

int as_template_to_json(const struct as_template *t, json_object **ret) {
        json_object *o = json_object_new_object(), *spec = NULL;

        if (!o)
                return -ENOMEM;
        if (put_meta(o, "SandboxTemplate", &t->meta, t->owners, t->n_owners) < 0 ||
                as_template_spec_to_json(&t->spec, &spec) < 0 || api_put_obj(o, "spec", spec) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* ---- SandboxWarmPool ---- */

struct as_warmpool *as_warmpool_free(struct as_warmpool *p) {
        if (!p)
                return NULL;
        api_meta_release(&p->meta);
        owners_release(p->owners, p->n_owners);
        free(p->template_ref_name);
        free(p);
        return NULL;
}

static void *warmpool_free_any(void *p) {
        return as_warmpool_free(p);
}

int as_warmpool_from_json(json_object *obj, struct as_warmpool **ret, struct merr *err) {
        struct api_errors e = API_ERRORS_INIT;
        struct as_warmpool *p = calloc(1, sizeof(*p));
        json_object *spec = NULL, *ref = NULL;

        if (!p)
                return merr_set(err, -ENOMEM, "out of memory");
        if (parse_meta(obj, "SandboxWarmPool", &p->meta, &p->owners, &p->n_owners, &e) > 0 &&
                api_get_obj(obj, "spec", "", true, &spec, &e) > 0) {
                if (api_get_int(spec, "replicas", "spec", false, 0, INT32_MAX, &p->replicas, &e) == 0 &&
                        !api_has(spec, "replicas"))
                        p->replicas = 1;
                if (api_get_obj(spec, "sandboxTemplateRef", "spec", true, &ref, &e) > 0)
                        (void) api_get_str(
                                ref, "name", "spec.sandboxTemplateRef", &ref_rule, &p->template_ref_name, &e);
        }
        return finish(&e, p, warmpool_free_any, (void **) ret, err);
}

static int warmpool_spec_json(const void *v, json_object **ret) {
        const struct as_warmpool *p = v;
        json_object *spec = json_object_new_object(), *ref;
        int r = 0;

        if (!spec)
                return -ENOMEM;
        r |= api_put_int(spec, "replicas", p->replicas);
        ref = put_new(spec, "sandboxTemplateRef", false);
        r |= ref ? api_put_str(ref, "name", p->template_ref_name) : -ENOMEM;
        if (r) {
                json_object_put(spec);
                return -ENOMEM;
        }
        *ret = spec;
        return 0;
}

int as_warmpool_to_json(const struct as_warmpool *p, json_object **ret) {
        json_object *o = json_object_new_object(), *spec = NULL;

        if (!o)
                return -ENOMEM;
        if (put_meta(o, "SandboxWarmPool", &p->meta, p->owners, p->n_owners) < 0 ||
                warmpool_spec_json(p, &spec) < 0 || api_put_obj(o, "spec", spec) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* ---- SandboxClaim ---- */

struct as_claim *as_claim_free(struct as_claim *c) {
        if (!c)
                return NULL;
        api_meta_release(&c->meta);
        owners_release(c->owners, c->n_owners);
        free(c->warm_pool_ref_name);
        api_env_release(&c->env);
        free(c);
        return NULL;
}

static void *claim_free_any(void *c) {
        return as_claim_free(c);
}

int as_claim_from_json(json_object *obj, struct as_claim **ret, struct merr *err) {
        struct api_errors e = API_ERRORS_INIT;
        struct as_claim *c = calloc(1, sizeof(*c));
        json_object *spec = NULL, *ref = NULL, *env = NULL;
        char ip[API_PATH_MAX], vp[API_PATH_MAX];

        if (!c)
                return merr_set(err, -ENOMEM, "out of memory");
        if (parse_meta(obj, "SandboxClaim", &c->meta, &c->owners, &c->n_owners, &e) > 0 &&
                api_get_obj(obj, "spec", "", true, &spec, &e) > 0) {
                if (api_get_obj(spec, "warmPoolRef", "spec", true, &ref, &e) > 0)
                        (void) api_get_str(
                                ref, "name", "spec.warmPoolRef", &ref_rule, &c->warm_pool_ref_name, &e);
                /* the claim's env items require a value, where a container's do not */
                if (api_get_env(spec, "spec", false, &c->env, &e) > 0 &&
                        json_object_object_get_ex(spec, "env", &env))
                        for (size_t i = 0; i < json_object_array_length(env); i++) {
                                json_object *it = json_object_array_get_idx(env, i);
                                if (!json_object_is_type(it, json_type_object) || api_has(it, "value"))
                                        continue;
                                api_path_idx(ip, sizeof(ip), "spec.env", i);
                                api_errors_add(&e, api_path(vp, sizeof(vp), ip, "value"), "Required value");
                        }
        }
        return finish(&e, c, claim_free_any, (void **) ret, err);
}

static int claim_spec_json(const void *v, json_object **ret) {
        const struct as_claim *c = v;
        json_object *spec = json_object_new_object(), *ref;
        int r = 0;

        if (!spec)
                return -ENOMEM;
        ref = put_new(spec, "warmPoolRef", false);
        r |= ref ? api_put_str(ref, "name", c->warm_pool_ref_name) : -ENOMEM;
        r |= api_put_env(spec, "env", &c->env);
        if (r) {
                json_object_put(spec);
                return -ENOMEM;
        }
        *ret = spec;
        return 0;
}

int as_claim_to_json(const struct as_claim *c, json_object **ret) {
        json_object *o = json_object_new_object(), *spec = NULL;

        if (!o)
                return -ENOMEM;
        if (put_meta(o, "SandboxClaim", &c->meta, c->owners, c->n_owners) < 0 ||
                claim_spec_json(c, &spec) < 0 || api_put_obj(o, "spec", spec) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}
