/* SPDX-License-Identifier: Apache-2.0 */
#include "api/sandbox.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const struct api_str_rule label63 = {.max_len = 63, .pattern = API_PAT_DNS_LABEL};
static const struct api_str_rule reason_rule = {.max_len = 1024, .pattern = API_PAT_REASON};
static const struct api_str_rule message_rule = {.max_len = 4096};

static void spec_release(void *p) {
        struct sandbox_spec *s = p;

        free(s->display_name);
        free(s->slug);
        free(s->project_ref_name);
        free(s->template_ref_name);
        free(s->template_ref_namespace);
        free(s->state);
        for (size_t i = 0; i < s->n_ports; i++) {
                free(s->ports[i].name);
                free(s->ports[i].visibility);
        }
        free(s->ports);
        api_env_release(&s->env);
        api_duration_release(&s->lifetime.max_lifetime);
        api_duration_release(&s->lifetime.idle_timeout);
        free(s->service_account_name);
}

static int spec_defaults(void *p) {
        struct sandbox_spec *s = p;

        s->state = strdup("Running");
        s->service_account_name = strdup("mbox-sandbox");
        return s->state && s->service_account_name ? 0 : -ENOMEM;
}

static void status_release(void *p) {
        struct sandbox_status *st = p;

        free(st->phase);
        free(st->reason);
        free(st->message);
        free(st->project);
        free(st->template_name);
        free(st->template_namespace);
        free(st->template_version);
        free(st->claim_name);
        free(st->sandbox_name);
        free(st->pod_name);
        free(st->pod_ip);
        free(st->service_fqdn);
        for (size_t i = 0; i < st->n_preview_urls; i++) {
                free(st->preview_urls[i].name);
                free(st->preview_urls[i].visibility);
                free(st->preview_urls[i].url);
        }
        free(st->preview_urls);
        api_conditions_release(&st->conditions);
        *st = (struct sandbox_status){0};
}

static void parse_ports(json_object *spec, struct sandbox_spec *s, struct api_errors *e) {
        static const char *const vis[] = {"Private", "Project", "Public", NULL};
        static const struct api_str_rule name_rule = {
                .required = true, .min_len = 1, .max_len = 15, .pattern = API_PAT_IANA_SVC};
        static const struct api_str_rule vis_rule = {.enum_values = vis};
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
                struct sandbox_port *p = &s->ports[s->n_ports];

                api_path_idx(ip, sizeof(ip), "spec.ports", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_ports++;
                (void) api_get_str(it, "name", ip, &name_rule, &p->name, e);
                keys[i] = p->name;
                (void) api_get_int(it, "port", ip, true, 1, 65535, &p->port, e);
                if (api_get_str(it, "visibility", ip, &vis_rule, &p->visibility, e) == 0 &&
                        !api_has(it, "visibility"))
                        p->visibility = api_strdup("Private", e);
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

static void parse_spec(json_object *spec, void *ret, struct api_errors *e) {
        struct sandbox_spec *s = ret;
        static const char *const states[] = {"Running", "Stopped", NULL};
        static const struct api_str_rule r128 = {.max_len = 128};
        static const struct api_str_rule state_rule = {.enum_values = states};
        static const struct api_str_rule project_rule = {
                .required = true, .max_len = 58, .pattern = API_PAT_DNS_LABEL};
        static const struct api_str_rule tname_rule = {
                .required = true, .max_len = 63, .pattern = API_PAT_DNS_LABEL};
        static const struct api_str_rule sa_rule = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        json_object *o = NULL;

        (void) api_get_str(spec, "displayName", "spec", &r128, &s->display_name, e);
        (void) api_get_str(spec, "slug", "spec", &label63, &s->slug, e);
        if (api_get_obj(spec, "projectRef", "spec", false, &o, e) > 0) {
                s->has_project_ref = true;
                (void) api_get_str(o, "name", "spec.projectRef", &project_rule, &s->project_ref_name, e);
        }
        o = NULL;
        if (api_get_obj(spec, "templateRef", "spec", false, &o, e) > 0) {
                s->has_template_ref = true;
                (void) api_get_str(o, "name", "spec.templateRef", &tname_rule, &s->template_ref_name, e);
                (void) api_get_str(
                        o, "namespace", "spec.templateRef", &label63, &s->template_ref_namespace, e);
        }
        if (api_get_str(spec, "state", "spec", &state_rule, &s->state, e) == 0 && !(api_has(spec, "state")))
                s->state = api_strdup("Running", e);
        parse_ports(spec, s, e);
        (void) api_get_env(spec, "spec", false, &s->env, e);
        o = NULL;
        if (api_get_obj(spec, "lifetime", "spec", false, &o, e) > 0) {
                s->has_lifetime = true;
                (void) api_get_duration(o, "maxLifetime", "spec.lifetime", &s->lifetime.max_lifetime, e);
                (void) api_get_duration(o, "idleTimeout", "spec.lifetime", &s->lifetime.idle_timeout, e);
        }
        if (api_get_str(spec, "serviceAccountName", "spec", &sa_rule, &s->service_account_name, e) == 0 &&
                !(api_has(spec, "serviceAccountName")))
                s->service_account_name = api_strdup("mbox-sandbox", e);
}

static void parse_preview_urls(json_object *st, struct sandbox_status *s, struct api_errors *e) {
        static const char *const vis[] = {"Private", "Project", "Public", NULL};
        static const struct api_str_rule name_rule = {
                .required = true, .min_len = 1, .max_len = 15, .pattern = API_PAT_IANA_SVC};
        static const struct api_str_rule vis_rule = {.enum_values = vis};
        static const struct api_str_rule url_rule = {.required = true, .max_len = 2048};
        char ip[API_PATH_MAX];
        json_object *arr = NULL;
        char **keys;
        size_t n;

        if (api_get_arr(st, "previewURLs", "status", false, 0, 32, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->preview_urls = calloc(n ? n : 1, sizeof(*s->preview_urls));
        keys = calloc(n ? n : 1, sizeof(char *));
        if (!s->preview_urls || !keys) {
                free(keys);
                e->oom = true;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct sandbox_preview_url *u = &s->preview_urls[s->n_preview_urls];

                api_path_idx(ip, sizeof(ip), "status.previewURLs", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_preview_urls++;
                (void) api_get_str(it, "name", ip, &name_rule, &u->name, e);
                keys[i] = u->name;
                (void) api_get_int(it, "port", ip, true, 1, 65535, &u->port, e);
                (void) api_get_str(it, "visibility", ip, &vis_rule, &u->visibility, e);
                (void) api_get_str(it, "url", ip, &url_rule, &u->url, e);
        }
        api_check_unique_keys(keys, n, "status.previewURLs", e);
        free(keys);
}

/* A time of status: absent when it does not parse (see sandbox.h). */
static void parse_time(json_object *st, const char *key, struct timestamp *ret, struct api_errors *e) {
        static const struct api_str_rule time_rule = {.max_len = 64};
        char *t = NULL;

        if (api_get_str(st, key, "status", &time_rule, &t, e) > 0 && timestamp_parse(t, ret, NULL) < 0)
                *ret = (struct timestamp){0};
        free(t);
}

static void parse_status(json_object *st, void *ret, struct api_errors *e) {
        struct sandbox_status *s = ret;
        static const char *const phases[] = {"Pending", "Starting", "Running", "Stopping", "Stopped",
                "Failed", "Expired", "Terminating", NULL};
        static const struct api_str_rule phase_rule = {.enum_values = phases};
        static const struct api_str_rule r64 = {.max_len = 64};
        static const struct api_str_rule r128 = {.max_len = 128};
        static const struct api_str_rule r253 = {.max_len = 253};
        static const struct api_str_rule subdomain = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        json_object *conds = NULL, *t = NULL;

        s->has_observed_generation = api_get_int(st, "observedGeneration", "status", false, 0, INT64_MAX,
                                             &s->observed_generation, e) > 0;
        (void) api_get_str(st, "phase", "status", &phase_rule, &s->phase, e);
        (void) api_get_str(st, "reason", "status", &reason_rule, &s->reason, e);
        (void) api_get_str(st, "message", "status", &message_rule, &s->message, e);
        (void) api_get_str(st, "project", "status", &label63, &s->project, e);
        if (api_get_obj(st, "template", "status", false, &t, e) > 0) {
                s->has_template = true;
                (void) api_get_str(t, "name", "status.template", &label63, &s->template_name, e);
                (void) api_get_str(t, "namespace", "status.template", &label63, &s->template_namespace, e);
        }
        (void) api_get_str(st, "templateVersion", "status", &r128, &s->template_version, e);
        (void) api_get_str(st, "claimName", "status", &subdomain, &s->claim_name, e);
        (void) api_get_str(st, "sandboxName", "status", &subdomain, &s->sandbox_name, e);
        (void) api_get_str(st, "podName", "status", &subdomain, &s->pod_name, e);
        (void) api_get_str(st, "podIP", "status", &r64, &s->pod_ip, e);
        (void) api_get_str(st, "serviceFQDN", "status", &r253, &s->service_fqdn, e);
        parse_preview_urls(st, s, e);
        parse_time(st, "startedAt", &s->started_at, e);
        parse_time(st, "stoppedAt", &s->stopped_at, e);
        parse_time(st, "lastActivityAt", &s->last_activity_at, e);
        parse_time(st, "expiresAt", &s->expires_at, e);
        if (api_get_arr(st, "conditions", "status", false, 0, 32, &conds, e) > 0)
                (void) api_conditions_from_json(conds, "status.conditions", &s->conditions, e);
}

static json_object *spec_to_json(const void *p) {
        const struct sandbox_spec *s = p;
        json_object *o = json_object_new_object(), *x;
        int r = 0;

        if (!o)
                return NULL;
        r |= api_put_str(o, "displayName", s->display_name);
        r |= api_put_str(o, "slug", s->slug);
        if (s->has_project_ref) {
                x = json_object_new_object();
                r |= api_put_obj(o, "projectRef", x);
                if (x)
                        r |= api_put_str(x, "name", s->project_ref_name);
        }
        if (s->has_template_ref) {
                x = json_object_new_object();
                r |= api_put_obj(o, "templateRef", x);
                if (x) {
                        r |= api_put_str(x, "name", s->template_ref_name);
                        r |= api_put_str(x, "namespace", s->template_ref_namespace);
                }
        }
        r |= api_put_str(o, "state", s->state);
        if (s->has_ports) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(o, "ports", a);
                for (size_t i = 0; a && i < s->n_ports; i++) {
                        x = json_object_new_object();
                        if (!x || json_object_array_add(a, x) < 0) {
                                json_object_put(x);
                                r = -1;
                                break;
                        }
                        r |= api_put_str(x, "name", s->ports[i].name);
                        r |= api_put_int(x, "port", s->ports[i].port);
                        r |= api_put_str(x, "visibility", s->ports[i].visibility);
                }
        }
        r |= api_put_env(o, "env", &s->env);
        if (s->has_lifetime) {
                x = json_object_new_object();
                r |= api_put_obj(o, "lifetime", x);
                if (x) {
                        r |= api_put_str(x, "maxLifetime", s->lifetime.max_lifetime.text);
                        r |= api_put_str(x, "idleTimeout", s->lifetime.idle_timeout.text);
                }
        }
        r |= api_put_str(o, "serviceAccountName", s->service_account_name);
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int put_time(json_object *o, const char *key, const struct timestamp *t) {
        char buf[TIMESTAMP_STR_MAX];

        if (t->sec == 0 && t->nsec == 0)
                return 0;
        if (timestamp_format(t, buf, sizeof(buf)) < 0)
                return 0; /* out of RFC 3339's years: absent, as on parse */
        return api_put_str(o, key, buf);
}

static int status_emit(const void *p, json_object **ret) {
        const struct sandbox_status *st = p;
        json_object *o = json_object_new_object(), *x;
        int r = 0;

        if (!o)
                return -ENOMEM;
        if (st->has_observed_generation)
                r |= api_put_int(o, "observedGeneration", st->observed_generation);
        r |= api_put_str(o, "phase", st->phase);
        r |= api_put_str(o, "reason", st->reason);
        r |= api_put_str(o, "message", st->message);
        r |= api_put_str(o, "project", st->project);
        if (st->has_template) {
                x = json_object_new_object();
                r |= api_put_obj(o, "template", x);
                if (x) {
                        r |= api_put_str(x, "name", st->template_name);
                        r |= api_put_str(x, "namespace", st->template_namespace);
                }
        }
        r |= api_put_str(o, "templateVersion", st->template_version);
        r |= api_put_str(o, "claimName", st->claim_name);
        r |= api_put_str(o, "sandboxName", st->sandbox_name);
        r |= api_put_str(o, "podName", st->pod_name);
        r |= api_put_str(o, "podIP", st->pod_ip);
        r |= api_put_str(o, "serviceFQDN", st->service_fqdn);
        if (st->n_preview_urls > 0) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(o, "previewURLs", a);
                for (size_t i = 0; a && i < st->n_preview_urls; i++) {
                        const struct sandbox_preview_url *u = &st->preview_urls[i];
                        x = json_object_new_object();
                        if (!x || json_object_array_add(a, x) < 0) {
                                json_object_put(x);
                                r = -1;
                                break;
                        }
                        r |= api_put_str(x, "name", u->name);
                        r |= api_put_int(x, "port", u->port);
                        r |= api_put_str(x, "visibility", u->visibility);
                        r |= api_put_str(x, "url", u->url);
                }
        }
        r |= put_time(o, "startedAt", &st->started_at);
        r |= put_time(o, "stoppedAt", &st->stopped_at);
        r |= put_time(o, "lastActivityAt", &st->last_activity_at);
        r |= put_time(o, "expiresAt", &st->expires_at);
        if (st->conditions.n > 0)
                r |= api_put_obj(o, "conditions", api_conditions_to_json(&st->conditions));
        if (r != 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

bool sandbox_status_equal(const struct sandbox_status *a, const struct sandbox_status *b) {
        json_object *x = NULL, *y = NULL;
        bool eq = status_emit(a, &x) == 0 && status_emit(b, &y) == 0 && json_object_equal(x, y);

        json_object_put(x);
        json_object_put(y);
        return eq;
}

API_KIND_DEFINE(sandbox, struct sandbox, struct sandbox_status, .kind = "Sandbox",
        .name_rule = API_NAME_DNS1035_LABEL, .name_max = 63, .namespaced = true, .spec_required = false);
