/* SPDX-License-Identifier: Apache-2.0 */
#include "api/template.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static void spec_release(void *p) {
        struct template_spec *s = p;

        free(s->display_name);
        free(s->description);
        free(s->runtime_type);
        free(s->use_case);
        for (size_t i = 0; i < s->n_entrypoints; i++) {
                free(s->entrypoints[i].name);
                free(s->entrypoints[i].type);
                free(s->entrypoints[i].port);
                api_strv_release(&s->entrypoints[i].command);
                free(s->entrypoints[i].description);
        }
        free(s->entrypoints);
        free(s->image);
        free(s->image_pull_policy);
        api_strv_release(&s->command);
        api_strv_release(&s->args);
        free(s->working_dir);
        api_env_release(&s->env);
        free(s->resource_preset);
        api_quantity_release(&s->resources.requests_cpu);
        api_quantity_release(&s->resources.requests_memory);
        api_quantity_release(&s->resources.limits_cpu);
        api_quantity_release(&s->resources.limits_memory);
        api_quantity_release(&s->storage.size);
        free(s->storage.storage_class_name);
        free(s->storage.mount_path);
        for (size_t i = 0; i < s->n_ports; i++) {
                free(s->ports[i].name);
                free(s->ports[i].protocol);
                free(s->ports[i].description);
        }
        free(s->ports);
        free(s->runtime_class_name);
        free(s->network_egress);
        api_duration_release(&s->lifecycle.max_lifetime);
        api_duration_release(&s->lifecycle.idle_timeout);
        api_strv_release(&s->check.command);
        free(s->sessions.record);
}

void template_validation_release(struct template_validation *v) {
        if (!v)
                return;
        free(v->status);
        free(v->message);
        free(v->time);
        free(v->version);
        free(v->output);
        *v = (struct template_validation){0};
}

int template_validation_copy(struct template_validation *ret, const struct template_validation *v) {
        struct template_validation c = {0};
        const char *const from[] = {v->status, v->message, v->time, v->version, v->output};
        char **to[] = {&c.status, &c.message, &c.time, &c.version, &c.output};

        for (size_t i = 0; i < ARRAY_SIZE(from); i++)
                if (from[i] && !(*to[i] = strdup(from[i]))) {
                        template_validation_release(&c);
                        return -ENOMEM;
                }
        template_validation_release(ret);
        *ret = c;
        return 0;
}

static void status_release(void *p) {
        struct template_status *s = p;

        free(s->version);
        free(s->resolved_image);
        template_validation_release(&s->validation);
        api_conditions_release(&s->conditions);
        *s = (struct template_status){0};
}

static void parse_status(json_object *st, void *ret, struct api_errors *e) {
        struct template_status *s = ret;

        static const struct api_str_rule any = {.max_len = 0};
        static const char *const results[] = {"NotTested", "Passed", "Failed", NULL};
        static const struct api_str_rule result_rule = {.enum_values = results};
        static const struct api_str_rule message_rule = {.max_len = 4096};
        static const struct api_str_rule time_rule = {.max_len = 64};
        static const struct api_str_rule version_rule = {.max_len = 128};
        static const struct api_str_rule output_rule = {.max_len = 16384};
        json_object *conds = NULL, *v = NULL, *wp = NULL;

        s->has_observed_generation = api_get_int(st, "observedGeneration", "status", false, 0, INT64_MAX,
                                             &s->observed_generation, e) > 0;
        (void) api_get_str(st, "version", "status", &any, &s->version, e);
        (void) api_get_str(st, "resolvedImage", "status", &any, &s->resolved_image, e);
        if (api_get_obj(st, "validation", "status", false, &v, e) > 0) {
                s->has_validation = true;
                (void) api_get_str(v, "status", "status.validation", &result_rule, &s->validation.status, e);
                (void) api_get_str(
                        v, "message", "status.validation", &message_rule, &s->validation.message, e);
                (void) api_get_str(v, "time", "status.validation", &time_rule, &s->validation.time, e);
                (void) api_get_str(
                        v, "version", "status.validation", &version_rule, &s->validation.version, e);
                (void) api_get_str(v, "output", "status.validation", &output_rule, &s->validation.output, e);
        }
        if (api_get_obj(st, "warmPool", "status", false, &wp, e) > 0) {
                s->has_warm_pool = true;
                (void) api_get_int(
                        wp, "replicas", "status.warmPool", false, 0, INT32_MAX, &s->warm_pool_replicas, e);
                (void) api_get_int(wp, "readyReplicas", "status.warmPool", false, 0, INT32_MAX,
                        &s->warm_pool_ready_replicas, e);
        }
        if (api_get_arr(st, "conditions", "status", false, 0, 32, &conds, e) > 0)
                (void) api_conditions_from_json(conds, "status.conditions", &s->conditions, e);
}

static void parse_entrypoints(json_object *spec, struct template_spec *s, struct api_errors *e) {
        static const char *const types[] = {"Terminal", "Preview", "IDE", "Notebook", NULL};
        static const struct api_str_rule name_rule = {
                .required = true, .max_len = 63, .pattern = API_PAT_DNS_LABEL};
        static const struct api_str_rule type_rule = {.required = true, .enum_values = types};
        static const struct api_str_rule port_rule = {
                .min_len = 1, .max_len = 15, .pattern = API_PAT_IANA_SVC};
        static const struct api_str_rule cmd_rule = {.max_len = 4096};
        static const struct api_str_rule desc_rule = {.max_len = 256};
        char ip[API_PATH_MAX], fp[API_PATH_MAX];
        json_object *arr = NULL;
        char **keys;
        size_t n;

        if (api_get_arr(spec, "entrypoints", "spec", false, 0, 8, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->entrypoints = calloc(n ? n : 1, sizeof(*s->entrypoints));
        keys = calloc(n ? n : 1, sizeof(char *));
        if (!s->entrypoints || !keys) {
                free(keys);
                e->oom = true;
                return;
        }
        s->has_entrypoints = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct template_entrypoint *ep = &s->entrypoints[s->n_entrypoints];
                bool has_port, has_cmd;

                api_path_idx(ip, sizeof(ip), "spec.entrypoints", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_entrypoints++;
                (void) api_get_str(it, "name", ip, &name_rule, &ep->name, e);
                keys[i] = ep->name;
                (void) api_get_str(it, "type", ip, &type_rule, &ep->type, e);
                (void) api_get_str(it, "port", ip, &port_rule, &ep->port, e);
                (void) api_get_strv(it, "command", ip, 0, 16, &cmd_rule, &ep->command, e);
                (void) api_get_str(it, "description", ip, &desc_rule, &ep->description, e);
                has_port = api_has(it, "port");
                has_cmd = api_has(it, "command");
                if (ep->type) {
                        bool terminal = strcmp(ep->type, "Terminal") == 0;
                        if (terminal == has_port)
                                api_errors_add(e, api_path(fp, sizeof(fp), ip, "port"),
                                        "Invalid value: port is required for Preview, IDE and Notebook "
                                        "entrypoints "
                                        "and not allowed for Terminal");
                        if (has_cmd && !terminal)
                                api_errors_add(e, api_path(fp, sizeof(fp), ip, "command"),
                                        "Invalid value: command is only allowed for Terminal entrypoints");
                }
        }
        api_check_unique_keys(keys, n, "spec.entrypoints", e);
        free(keys);
}

static void parse_ports(json_object *spec, struct template_spec *s, struct api_errors *e) {
        static const char *const protocols[] = {"TCP", NULL};
        static const struct api_str_rule name_rule = {
                .required = true, .min_len = 1, .max_len = 15, .pattern = API_PAT_IANA_SVC};
        static const struct api_str_rule proto_rule = {.enum_values = protocols};
        static const struct api_str_rule desc_rule = {.max_len = 256};
        char ip[API_PATH_MAX];
        json_object *arr = NULL;
        char **keys;
        size_t n;

        if (api_get_arr(spec, "ports", "spec", false, 0, 16, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->ports = calloc(n ? n : 1, sizeof(*s->ports));
        keys = calloc(n ? n : 1, sizeof(char *));
        if (!s->ports || !keys) {
                free(keys);
                e->oom = true;
                return;
        }
        s->has_ports = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct template_port *p = &s->ports[s->n_ports];

                api_path_idx(ip, sizeof(ip), "spec.ports", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_ports++;
                (void) api_get_str(it, "name", ip, &name_rule, &p->name, e);
                keys[i] = p->name;
                (void) api_get_int(it, "port", ip, true, 1, 65535, &p->port, e);
                if (api_get_str(it, "protocol", ip, &proto_rule, &p->protocol, e) == 0 &&
                        !api_has(it, "protocol"))
                        p->protocol = api_strdup("TCP", e);
                (void) api_get_str(it, "description", ip, &desc_rule, &p->description, e);
        }
        api_check_unique_keys(keys, n, "spec.ports", e);
        free(keys);
        for (size_t i = 0; i < s->n_ports; i++)
                for (size_t j = 0; j < i; j++)
                        if (s->ports[i].port && s->ports[i].port == s->ports[j].port) {
                                api_errors_add(e, "spec.ports", "Invalid value: port numbers must be unique");
                                return;
                        }
}

static void check_limit(const struct api_quantity *req, const struct api_quantity *lim, const char *path,
        const char *what, struct api_errors *e) {
        if (req->text && lim->text && quantity_cmp(&lim->q, &req->q) < 0)
                api_errors_add(
                        e, path, "Invalid value: limits.%s must not be lower than requests.%s", what, what);
}

static void parse_spec(json_object *spec, void *ret, struct api_errors *e) {
        struct template_spec *s = ret;

        static const char *const pull[] = {"Always", "IfNotPresent", "Never", NULL};
        static const char *const presets[] = {"Small", "Medium", "Large", NULL};
        static const char *const egress[] = {"Denied", "Restricted", "Allowed", NULL};
        static const char *const record[] = {"None", "Output", "OutputAndInput", NULL};
        static const struct api_str_rule r128 = {.max_len = 128};
        static const struct api_str_rule r1024 = {.max_len = 1024};
        static const struct api_str_rule r63 = {.max_len = 63};
        static const struct api_str_rule r256 = {.max_len = 256};
        static const struct api_str_rule r4096 = {.max_len = 4096};
        static const struct api_str_rule image_rule = {
                .required = true, .min_len = 1, .max_len = 1024, .pattern = API_PAT_NO_SPACE};
        static const struct api_str_rule pull_rule = {.enum_values = pull};
        static const struct api_str_rule preset_rule = {.enum_values = presets};
        static const struct api_str_rule egress_rule = {.enum_values = egress};
        static const struct api_str_rule record_rule = {.enum_values = record};
        static const struct api_str_rule abs_rule = {.max_len = 1024, .pattern = API_PAT_ABS_PATH};
        static const struct api_str_rule sub_rule = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        json_object *o = NULL, *x = NULL;

        (void) api_get_str(spec, "displayName", "spec", &r128, &s->display_name, e);
        (void) api_get_str(spec, "description", "spec", &r1024, &s->description, e);
        (void) api_get_str(spec, "runtimeType", "spec", &r63, &s->runtime_type, e);
        (void) api_get_str(spec, "useCase", "spec", &r256, &s->use_case, e);
        parse_entrypoints(spec, s, e);
        (void) api_get_str(spec, "image", "spec", &image_rule, &s->image, e);
        (void) api_get_str(spec, "imagePullPolicy", "spec", &pull_rule, &s->image_pull_policy, e);
        (void) api_get_strv(spec, "command", "spec", 0, 64, &r4096, &s->command, e);
        (void) api_get_strv(spec, "args", "spec", 0, 64, &r4096, &s->args, e);
        if (api_get_str(spec, "workingDir", "spec", &abs_rule, &s->working_dir, e) == 0 &&
                !api_has(spec, "workingDir"))
                s->working_dir = api_strdup("/workspace", e);
        (void) api_get_env(spec, "spec", true, &s->env, e);
        (void) api_get_str(spec, "resourcePreset", "spec", &preset_rule, &s->resource_preset, e);
        if (api_get_obj(spec, "resources", "spec", false, &o, e) > 0) {
                s->has_resources = true;
                if (api_get_obj(o, "requests", "spec.resources", false, &x, e) > 0) {
                        s->resources.has_requests = true;
                        (void) api_get_quantity(
                                x, "cpu", "spec.resources.requests", false, &s->resources.requests_cpu, e);
                        (void) api_get_quantity(x, "memory", "spec.resources.requests", false,
                                &s->resources.requests_memory, e);
                }
                x = NULL;
                if (api_get_obj(o, "limits", "spec.resources", false, &x, e) > 0) {
                        s->resources.has_limits = true;
                        (void) api_get_quantity(
                                x, "cpu", "spec.resources.limits", false, &s->resources.limits_cpu, e);
                        (void) api_get_quantity(
                                x, "memory", "spec.resources.limits", false, &s->resources.limits_memory, e);
                }
                check_limit(&s->resources.requests_cpu, &s->resources.limits_cpu, "spec.resources.limits.cpu",
                        "cpu", e);
                check_limit(&s->resources.requests_memory, &s->resources.limits_memory,
                        "spec.resources.limits.memory", "memory", e);
        }
        o = NULL;
        if (api_get_obj(spec, "storage", "spec", false, &o, e) > 0) {
                s->has_storage = true;
                (void) api_get_quantity(o, "size", "spec.storage", true, &s->storage.size, e);
                (void) api_get_str(
                        o, "storageClassName", "spec.storage", &sub_rule, &s->storage.storage_class_name, e);
                (void) api_get_str(o, "mountPath", "spec.storage", &abs_rule, &s->storage.mount_path, e);
        }
        parse_ports(spec, s, e);
        for (size_t i = 0; i < s->n_entrypoints; i++)
                if (s->entrypoints[i].port) {
                        bool found = false;
                        for (size_t j = 0; j < s->n_ports; j++)
                                if (api_str_equal(s->ports[j].name, s->entrypoints[i].port))
                                        found = true;
                        if (!found) {
                                api_errors_add(e, "spec.entrypoints",
                                        "Invalid value: every entrypoint port must name a port declared in "
                                        "spec.ports");
                                break;
                        }
                }
        (void) api_get_str(spec, "runtimeClassName", "spec", &sub_rule, &s->runtime_class_name, e);
        o = NULL;
        if (api_get_obj(spec, "network", "spec", false, &o, e) > 0)
                (void) api_get_str(o, "egress", "spec.network", &egress_rule, &s->network_egress, e);
        if (!s->network_egress && !api_has(o, "egress"))
                s->network_egress = api_strdup("Restricted", e);
        o = NULL;
        if (api_get_obj(spec, "lifecycle", "spec", false, &o, e) > 0) {
                s->has_lifecycle = true;
                (void) api_get_duration(o, "maxLifetime", "spec.lifecycle", &s->lifecycle.max_lifetime, e);
                (void) api_get_duration(o, "idleTimeout", "spec.lifecycle", &s->lifecycle.idle_timeout, e);
        }
        o = NULL;
        if (api_get_obj(spec, "sessions", "spec", false, &o, e) > 0) {
                s->has_sessions = true;
                if (api_get_str(o, "record", "spec.sessions", &record_rule, &s->sessions.record, e) == 0 &&
                        !api_has(o, "record"))
                        s->sessions.record = api_strdup("None", e);
        }
        o = NULL;
        if (api_get_obj(spec, "warmPool", "spec", false, &o, e) > 0)
                (void) api_get_int(o, "replicas", "spec.warmPool", false, 0, 100, &s->warm_pool_replicas, e);
        o = NULL;
        s->check.timeout_seconds = 300;
        if (api_get_obj(spec, "check", "spec", false, &o, e) > 0) {
                s->has_check = true;
                if (api_get_strv(o, "command", "spec.check", 1, 64, &r4096, &s->check.command, e) > 0 &&
                        s->check.command.v[0][0] == '\0')
                        api_errors_add(e, "spec.check.command",
                                "Invalid value: the first element (the program) must not be empty");
                if (!api_has(o, "command"))
                        api_errors_add(e, "spec.check.command", "Required value");
                (void) api_get_int(
                        o, "timeoutSeconds", "spec.check", false, 1, 3600, &s->check.timeout_seconds, e);
        }
}

static int put_strv_item_obj(json_object *a, json_object *o) {
        if (!o || json_object_array_add(a, o) < 0) {
                json_object_put(o);
                return -1;
        }
        return 0;
}

static json_object *spec_to_json(const void *p) {
        const struct template_spec *s = p;

        json_object *o = json_object_new_object(), *x;
        int r = 0;

        if (!o)
                return NULL;
        r |= api_put_str(o, "displayName", s->display_name);
        r |= api_put_str(o, "description", s->description);
        r |= api_put_str(o, "runtimeType", s->runtime_type);
        r |= api_put_str(o, "useCase", s->use_case);
        if (s->has_entrypoints) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(o, "entrypoints", a);
                for (size_t i = 0; a && i < s->n_entrypoints; i++) {
                        const struct template_entrypoint *ep = &s->entrypoints[i];
                        x = json_object_new_object();
                        if (put_strv_item_obj(a, x) < 0) {
                                r = -1;
                                break;
                        }
                        r |= api_put_str(x, "name", ep->name);
                        r |= api_put_str(x, "type", ep->type);
                        r |= api_put_str(x, "port", ep->port);
                        r |= api_put_strv(x, "command", &ep->command);
                        r |= api_put_str(x, "description", ep->description);
                }
        }
        r |= api_put_str(o, "image", s->image);
        r |= api_put_str(o, "imagePullPolicy", s->image_pull_policy);
        r |= api_put_strv(o, "command", &s->command);
        r |= api_put_strv(o, "args", &s->args);
        r |= api_put_str(o, "workingDir", s->working_dir);
        r |= api_put_env(o, "env", &s->env);
        r |= api_put_str(o, "resourcePreset", s->resource_preset);
        if (s->has_resources) {
                x = json_object_new_object();
                r |= api_put_obj(o, "resources", x);
                if (x && s->resources.has_requests) {
                        json_object *q = json_object_new_object();
                        r |= api_put_obj(x, "requests", q);
                        if (q) {
                                r |= api_put_quantity(q, "cpu", &s->resources.requests_cpu);
                                r |= api_put_quantity(q, "memory", &s->resources.requests_memory);
                        }
                }
                if (x && s->resources.has_limits) {
                        json_object *q = json_object_new_object();
                        r |= api_put_obj(x, "limits", q);
                        if (q) {
                                r |= api_put_quantity(q, "cpu", &s->resources.limits_cpu);
                                r |= api_put_quantity(q, "memory", &s->resources.limits_memory);
                        }
                }
        }
        if (s->has_storage) {
                x = json_object_new_object();
                r |= api_put_obj(o, "storage", x);
                if (x) {
                        r |= api_put_quantity(x, "size", &s->storage.size);
                        r |= api_put_str(x, "storageClassName", s->storage.storage_class_name);
                        r |= api_put_str(x, "mountPath", s->storage.mount_path);
                }
        }
        if (s->has_ports) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(o, "ports", a);
                for (size_t i = 0; a && i < s->n_ports; i++) {
                        x = json_object_new_object();
                        if (put_strv_item_obj(a, x) < 0) {
                                r = -1;
                                break;
                        }
                        r |= api_put_str(x, "name", s->ports[i].name);
                        r |= api_put_int(x, "port", s->ports[i].port);
                        r |= api_put_str(x, "protocol", s->ports[i].protocol);
                        r |= api_put_str(x, "description", s->ports[i].description);
                }
        }
        r |= api_put_str(o, "runtimeClassName", s->runtime_class_name);
        x = json_object_new_object();
        r |= api_put_obj(o, "network", x);
        if (x)
                r |= api_put_str(x, "egress", s->network_egress);
        if (s->has_lifecycle) {
                x = json_object_new_object();
                r |= api_put_obj(o, "lifecycle", x);
                if (x) {
                        r |= api_put_str(x, "maxLifetime", s->lifecycle.max_lifetime.text);
                        r |= api_put_str(x, "idleTimeout", s->lifecycle.idle_timeout.text);
                }
        }
        if (s->has_sessions) {
                x = json_object_new_object();
                r |= api_put_obj(o, "sessions", x);
                if (x)
                        r |= api_put_str(x, "record", s->sessions.record);
        }
        x = json_object_new_object();
        r |= api_put_obj(o, "warmPool", x);
        if (x)
                r |= api_put_int(x, "replicas", s->warm_pool_replicas);
        if (s->has_check) {
                x = json_object_new_object();
                r |= api_put_obj(o, "check", x);
                if (x) {
                        r |= api_put_strv(x, "command", &s->check.command);
                        r |= api_put_int(x, "timeoutSeconds", s->check.timeout_seconds);
                }
        }
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int status_emit(const void *p, json_object **ret) {
        const struct template_status *s = p;

        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return -ENOMEM;
        if (s->has_observed_generation)
                r |= api_put_int(o, "observedGeneration", s->observed_generation);
        r |= api_put_str(o, "version", s->version);
        r |= api_put_str(o, "resolvedImage", s->resolved_image);
        if (s->has_validation) {
                json_object *v = json_object_new_object();
                r |= api_put_obj(o, "validation", v);
                if (v) {
                        r |= api_put_str(v, "status", s->validation.status);
                        r |= api_put_str(v, "message", s->validation.message);
                        r |= api_put_str(v, "time", s->validation.time);
                        r |= api_put_str(v, "version", s->validation.version);
                        r |= api_put_str(v, "output", s->validation.output);
                }
        }
        if (s->has_warm_pool) {
                json_object *wp = json_object_new_object();
                r |= api_put_obj(o, "warmPool", wp);
                if (wp) {
                        r |= api_put_int(wp, "replicas", s->warm_pool_replicas);
                        r |= api_put_int(wp, "readyReplicas", s->warm_pool_ready_replicas);
                }
        }
        if (s->conditions.n > 0)
                r |= api_put_obj(o, "conditions", api_conditions_to_json(&s->conditions));
        if (r != 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

static int spec_defaults(void *p) {
        struct template_spec *s = p;

        s->check.timeout_seconds = 300;
        if (!(s->working_dir = strdup("/workspace")) || !(s->network_egress = strdup("Restricted")))
                return -ENOMEM;
        return 0;
}

API_KIND_DEFINE(template, struct template, struct template_status, .kind = "EnvironmentTemplate",
        .name_rule = API_NAME_DNS_LABEL, .name_max = 63, .namespaced = true, .spec_required = true);
