/* SPDX-License-Identifier: Apache-2.0 */
#include "api/project.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct api_str_rule dns_label_63 = {.max_len = 63, .pattern = API_PAT_DNS_LABEL};
static const struct api_str_rule dns_label_63_req = {
        .required = true, .max_len = 63, .pattern = API_PAT_DNS_LABEL};
static const struct api_str_rule cidr_rule = {.required = true, .max_len = 64, .pattern = API_PAT_CIDR};
static const struct api_str_rule cidr_item = {.max_len = 64, .pattern = API_PAT_CIDR};

static void ref_release(struct project_template_ref *r) {
        free(r->name);
        free(r->namespace);
}

static void parse_ref(
        json_object *o, const char *path, struct project_template_ref *r, struct api_errors *e) {
        (void) api_get_str(o, "name", path, &dns_label_63_req, &r->name, e);
        (void) api_get_str(o, "namespace", path, &dns_label_63, &r->namespace, e);
}

static json_object *ref_to_json(const struct project_template_ref *r) {
        json_object *o = json_object_new_object();
        if (o && (api_put_str(o, "name", r->name) < 0 || api_put_str(o, "namespace", r->namespace) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static void spec_release(void *p) {
        struct project_spec *s = p;

        free(s->display_name);
        free(s->description);
        free(s->slug);
        free(s->repository_url);
        free(s->namespace);
        ref_release(&s->default_template);
        api_quantity_release(&s->quota.cpu);
        api_quantity_release(&s->quota.memory);
        api_quantity_release(&s->quota.storage);
        api_quantity_release(&s->quota.max_task_output);
        for (size_t i = 0; i < s->n_members; i++) {
                free(s->members[i].kind);
                free(s->members[i].name);
                free(s->members[i].namespace);
                free(s->members[i].role);
        }
        free(s->members);
        for (size_t i = 0; i < s->policy.network.n_egress; i++) {
                struct project_egress *g = &s->policy.network.egress[i];
                free(g->cidr);
                api_strv_release(&g->except);
                for (size_t j = 0; j < g->n_ports; j++)
                        free(g->ports[j].protocol);
                free(g->ports);
        }
        free(s->policy.network.egress);
        api_strv_release(&s->policy.allowed_runtime_classes);
        api_duration_release(&s->policy.lifecycle.max_lifetime);
        api_duration_release(&s->policy.lifecycle.idle_timeout);
        api_duration_release(&s->policy.lifecycle.stopped_retention);
        api_duration_release(&s->policy.lifecycle.task_output_retention);
        api_duration_release(&s->policy.lifecycle.session_idle_timeout);
        for (size_t i = 0; i < s->policy.n_credentials; i++) {
                struct project_credential *c = &s->policy.credentials[i];
                free(c->secret_name);
                for (size_t j = 0; j < c->n_templates; j++)
                        ref_release(&c->templates[j]);
                free(c->templates);
                free(c->description);
        }
        free(s->policy.credentials);
}

static void parse_members(json_object *spec, struct project_spec *s, struct api_errors *e) {
        static const char *const kinds[] = {"User", "Group", "ServiceAccount", NULL};
        static const char *const roles[] = {"Admin", "Developer", "Viewer", NULL};
        static const struct api_str_rule kind_rule = {.required = true, .enum_values = kinds};
        static const struct api_str_rule role_rule = {.required = true, .enum_values = roles};
        static const struct api_str_rule name_rule = {.required = true, .min_len = 1, .max_len = 253};
        json_object *arr = NULL;
        char ip[API_PATH_MAX], fp[API_PATH_MAX];
        size_t n;

        if (api_get_arr(spec, "members", "spec", false, 0, 64, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->members = calloc(n ? n : 1, sizeof(*s->members));
        if (!s->members) {
                e->oom = true;
                return;
        }
        s->has_members = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct project_member *m = &s->members[s->n_members];

                api_path_idx(ip, sizeof(ip), "spec.members", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_members++;
                (void) api_get_str(it, "kind", ip, &kind_rule, &m->kind, e);
                (void) api_get_str(it, "name", ip, &name_rule, &m->name, e);
                (void) api_get_str(it, "namespace", ip, &dns_label_63, &m->namespace, e);
                (void) api_get_str(it, "role", ip, &role_rule, &m->role, e);
                if (m->kind) {
                        bool sa = strcmp(m->kind, "ServiceAccount") == 0;
                        bool has_ns = api_has(it, "namespace");
                        if (sa != has_ns)
                                api_errors_add(e, api_path(fp, sizeof(fp), ip, "namespace"),
                                        "Invalid value: namespace is required for kind ServiceAccount and "
                                        "not "
                                        "allowed for User and Group");
                        if (sa && m->name && !api_is_dns_subdomain(m->name))
                                api_errors_add(e, api_path(fp, sizeof(fp), ip, "name"),
                                        "Invalid value: a ServiceAccount name must be a DNS subdomain "
                                        "(lowercase "
                                        "letters, digits, - and .)");
                }
        }
        for (size_t i = 0; i < s->n_members; i++)
                for (size_t j = 0; j < i; j++) {
                        struct project_member *a = &s->members[i], *b = &s->members[j];
                        if (a->kind && a->name && api_str_equal(a->kind, b->kind) &&
                                api_str_equal(a->name, b->name) &&
                                strcmp(a->namespace ? a->namespace : "", b->namespace ? b->namespace : "") ==
                                        0) {
                                api_errors_add(e, "spec.members",
                                        "Invalid value: each subject (kind, name, namespace) may appear only "
                                        "once");
                                return;
                        }
                }
}

static void parse_egress(json_object *net, struct project_spec *s, struct api_errors *e) {
        static const char *const protocols[] = {"TCP", "UDP", "SCTP", NULL};
        static const struct api_str_rule proto_rule = {.enum_values = protocols};
        const char *path = "spec.policy.network.egress";
        json_object *arr = NULL;
        char ip[API_PATH_MAX], pp[API_PATH_MAX], fp[API_PATH_MAX];
        size_t n;

        if (api_get_arr(net, "egress", "spec.policy.network", false, 0, 32, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->policy.network.egress = calloc(n ? n : 1, sizeof(struct project_egress));
        if (!s->policy.network.egress) {
                e->oom = true;
                return;
        }
        s->policy.network.has_egress = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i), *ports = NULL;
                struct project_egress *g = &s->policy.network.egress[s->policy.network.n_egress];

                api_path_idx(ip, sizeof(ip), path, i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->policy.network.n_egress++;
                (void) api_get_str(it, "cidr", ip, &cidr_rule, &g->cidr, e);
                if (api_get_strv(it, "except", ip, 0, 16, &cidr_item, &g->except, e) > 0) {
                        api_check_unique_keys(
                                g->except.v, g->except.n, api_path(fp, sizeof(fp), ip, "except"), e);
                        for (size_t j = 0; g->cidr && j < g->except.n; j++)
                                if (!api_cidr_contains(g->cidr, g->except.v[j])) {
                                        api_errors_add(e, fp,
                                                "Invalid value: every except range must lie inside cidr");
                                        break;
                                }
                }
                if (api_get_arr(it, "ports", ip, false, 0, 16, &ports, e) <= 0)
                        continue;
                g->has_ports = true;
                g->ports = calloc(json_object_array_length(ports) + 1, sizeof(*g->ports));
                if (!g->ports) {
                        e->oom = true;
                        continue;
                }
                for (size_t j = 0; j < json_object_array_length(ports); j++) {
                        json_object *po = json_object_array_get_idx(ports, j);
                        struct project_egress_port *p = &g->ports[g->n_ports];

                        api_path_idx(pp, sizeof(pp), api_path(fp, sizeof(fp), ip, "ports"), j);
                        if (!po || !json_object_is_type(po, json_type_object)) {
                                api_errors_add(e, pp, "must be of type object");
                                continue;
                        }
                        g->n_ports++;
                        (void) api_get_int(po, "port", pp, true, 1, 65535, &p->port, e);
                        (void) api_get_int(po, "endPort", pp, false, 1, 65535, &p->end_port, e);
                        if (api_get_str(po, "protocol", pp, &proto_rule, &p->protocol, e) == 0 &&
                                !api_has(po, "protocol"))
                                p->protocol = api_strdup("TCP", e);
                        if (p->end_port && p->port && p->end_port < p->port)
                                api_errors_add(e, api_path(fp, sizeof(fp), pp, "endPort"),
                                        "Invalid value: endPort must not be lower than port");
                }
        }
}

static void parse_credentials(json_object *pol, struct project_spec *s, struct api_errors *e) {
        static const struct api_str_rule secret_rule = {
                .required = true, .max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        static const struct api_str_rule desc_rule = {.max_len = 256};
        json_object *arr = NULL;
        char ip[API_PATH_MAX], tp[API_PATH_MAX], fp[API_PATH_MAX];
        char **keys;
        size_t n;

        if (api_get_arr(pol, "credentials", "spec.policy", false, 0, 32, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->policy.credentials = calloc(n ? n : 1, sizeof(struct project_credential));
        keys = calloc(n ? n : 1, sizeof(char *));
        if (!s->policy.credentials || !keys) {
                free(keys);
                e->oom = true;
                return;
        }
        s->policy.has_credentials = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i), *ts = NULL;
                struct project_credential *c = &s->policy.credentials[s->policy.n_credentials];

                api_path_idx(ip, sizeof(ip), "spec.policy.credentials", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->policy.n_credentials++;
                (void) api_get_str(it, "secretName", ip, &secret_rule, &c->secret_name, e);
                keys[i] = c->secret_name;
                (void) api_get_str(it, "description", ip, &desc_rule, &c->description, e);
                if (api_get_arr(it, "templates", ip, true, 1, 32, &ts, e) <= 0)
                        continue;
                c->templates = calloc(json_object_array_length(ts), sizeof(*c->templates));
                if (!c->templates) {
                        e->oom = true;
                        continue;
                }
                for (size_t j = 0; j < json_object_array_length(ts); j++) {
                        json_object *t = json_object_array_get_idx(ts, j);
                        api_path_idx(tp, sizeof(tp), api_path(fp, sizeof(fp), ip, "templates"), j);
                        if (!t || !json_object_is_type(t, json_type_object)) {
                                api_errors_add(e, tp, "must be of type object");
                                continue;
                        }
                        parse_ref(t, tp, &c->templates[c->n_templates++], e);
                }
        }
        api_check_unique_keys(keys, n, "spec.policy.credentials", e);
        free(keys);
}

/* A byte count: no fraction, and it fits an int64. */
static bool whole_bytes(const struct quantity *q) {
        int64_t v;
        return q->nano % 1000000000 == 0 && quantity_value(q, &v, NULL) == 0;
}

static void parse_spec(json_object *spec, void *ret, struct api_errors *e) {
        struct project_spec *s = ret;

        static const struct api_str_rule display_rule = {.max_len = 128};
        static const struct api_str_rule desc_rule = {.max_len = 1024};
        static const struct api_str_rule url_rule = {.max_len = 2048, .pattern = API_PAT_REPO_URL};
        static const struct api_str_rule rc_rule = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        json_object *o = NULL, *pol = NULL, *net = NULL;

        (void) api_get_str(spec, "displayName", "spec", &display_rule, &s->display_name, e);
        (void) api_get_str(spec, "description", "spec", &desc_rule, &s->description, e);
        (void) api_get_str(spec, "slug", "spec", &dns_label_63, &s->slug, e);
        (void) api_get_str(spec, "repositoryURL", "spec", &url_rule, &s->repository_url, e);
        (void) api_get_str(spec, "namespace", "spec", &dns_label_63, &s->namespace, e);
        if (api_get_obj(spec, "defaultTemplate", "spec", false, &o, e) > 0) {
                s->has_default_template = true;
                parse_ref(o, "spec.defaultTemplate", &s->default_template, e);
        }
        o = NULL;
        if (api_get_obj(spec, "quota", "spec", false, &o, e) > 0) {
                s->has_quota = true;
                s->quota.has_max_sandboxes = api_get_int(o, "maxSandboxes", "spec.quota", false, 0, 10000,
                                                     &s->quota.max_sandboxes, e) > 0;
                s->quota.has_max_running = api_get_int(o, "maxRunning", "spec.quota", false, 0, 10000,
                                                   &s->quota.max_running, e) > 0;
                s->quota.has_max_running_tasks = api_get_int(o, "maxRunningTasks", "spec.quota", false, 1,
                                                         10000, &s->quota.max_running_tasks, e) > 0;
                s->quota.has_max_running_tasks_per_sandbox =
                        api_get_int(o, "maxRunningTasksPerSandbox", "spec.quota", false, 1, 10000,
                                &s->quota.max_running_tasks_per_sandbox, e) > 0;
                s->quota.has_max_sessions_per_sandbox =
                        api_get_int(o, "maxSessionsPerSandbox", "spec.quota", false, 1, 10000,
                                &s->quota.max_sessions_per_sandbox, e) > 0;
                s->quota.has_max_sessions_per_user =
                        api_get_int(o, "maxSessionsPerUser", "spec.quota", false, 1, 10000,
                                &s->quota.max_sessions_per_user, e) > 0;
                (void) api_get_quantity(o, "cpu", "spec.quota", false, &s->quota.cpu, e);
                (void) api_get_quantity(o, "memory", "spec.quota", false, &s->quota.memory, e);
                (void) api_get_quantity(o, "storage", "spec.quota", false, &s->quota.storage, e);
                if (api_get_quantity(o, "maxTaskOutput", "spec.quota", false, &s->quota.max_task_output, e) >
                                0 &&
                        !whole_bytes(&s->quota.max_task_output.q))
                        api_errors_add(e, "spec.quota.maxTaskOutput",
                                "Invalid value: \"%s\": must be a positive whole number of bytes such as "
                                "1048576, 512Ki or 16Mi",
                                s->quota.max_task_output.text);
                if (s->quota.has_max_running && s->quota.has_max_sandboxes &&
                        s->quota.max_running > s->quota.max_sandboxes)
                        api_errors_add(e, "spec.quota.maxRunning",
                                "Invalid value: maxRunning must not exceed maxSandboxes");
        }
        parse_members(spec, s, e);

        s->policy.network.allow_dns = true;
        if (api_get_obj(spec, "policy", "spec", false, &pol, e) <= 0)
                return;
        if (api_get_obj(pol, "network", "spec.policy", false, &net, e) > 0) {
                (void) api_get_bool(net, "allowDNS", "spec.policy.network", &s->policy.network.allow_dns, e);
                (void) api_get_bool(
                        net, "allowInternet", "spec.policy.network", &s->policy.network.allow_internet, e);
                parse_egress(net, s, e);
        }
        if (api_get_strv(pol, "allowedRuntimeClasses", "spec.policy", 0, 16, &rc_rule,
                    &s->policy.allowed_runtime_classes, e) > 0)
                api_check_unique_keys(s->policy.allowed_runtime_classes.v,
                        s->policy.allowed_runtime_classes.n, "spec.policy.allowedRuntimeClasses", e);
        o = NULL;
        if (api_get_obj(pol, "lifecycle", "spec.policy", false, &o, e) > 0) {
                const char *lp = "spec.policy.lifecycle";
                s->policy.has_lifecycle = true;
                (void) api_get_duration(o, "maxLifetime", lp, &s->policy.lifecycle.max_lifetime, e);
                (void) api_get_duration(o, "idleTimeout", lp, &s->policy.lifecycle.idle_timeout, e);
                (void) api_get_duration(o, "stoppedRetention", lp, &s->policy.lifecycle.stopped_retention, e);
                (void) api_get_duration(
                        o, "taskOutputRetention", lp, &s->policy.lifecycle.task_output_retention, e);
                (void) api_get_duration(
                        o, "sessionIdleTimeout", lp, &s->policy.lifecycle.session_idle_timeout, e);
                if (s->policy.lifecycle.max_lifetime.text && s->policy.lifecycle.idle_timeout.text &&
                        s->policy.lifecycle.idle_timeout.ns > s->policy.lifecycle.max_lifetime.ns)
                        api_errors_add(e, "spec.policy.lifecycle.idleTimeout",
                                "Invalid value: idleTimeout must not be longer than maxLifetime");
        }
        (void) api_get_bool(pol, "allowPublicPreviews", "spec.policy", &s->policy.allow_public_previews, e);
        parse_credentials(pol, s, e);
}

static void parse_status(json_object *st, void *ret, struct api_errors *e) {
        struct project_status *s = ret;

        json_object *conds = NULL;

        s->has_observed_generation = api_get_int(st, "observedGeneration", "status", false, 0, INT64_MAX,
                                             &s->observed_generation, e) > 0;
        (void) api_get_str(st, "namespace", "status", &dns_label_63, &s->namespace, e);
        (void) api_get_int(st, "sandboxes", "status", false, 0, INT32_MAX, &s->sandboxes, e);
        (void) api_get_int(st, "runningSandboxes", "status", false, 0, INT32_MAX, &s->running_sandboxes, e);
        (void) api_get_int(st, "templates", "status", false, 0, INT32_MAX, &s->templates, e);
        if (api_get_arr(st, "conditions", "status", false, 0, 32, &conds, e) > 0)
                (void) api_conditions_from_json(conds, "status.conditions", &s->conditions, e);
}

static void status_release(void *p) {
        struct project_status *s = p;

        free(s->namespace);
        api_conditions_release(&s->conditions);
        *s = (struct project_status){0};
}

int64_t project_max_task_output(const struct project *p) {
        int64_t v = 0;
        if (!p || !p->spec.quota.max_task_output.text ||
                quantity_value(&p->spec.quota.max_task_output.q, &v, NULL) < 0)
                return 0;
        return v;
}

const char *project_namespace(const struct project *p, char *buf, size_t size) {
        if (p->spec.namespace)
                return p->spec.namespace;
        (void) snprintf(buf, size, "mbox-%s", p->meta.name ? p->meta.name : "");
        return buf;
}

static json_object *spec_to_json(const void *p) {
        const struct project_spec *s = p;

        json_object *o = json_object_new_object(), *pol, *net;
        int r = 0;

        if (!o)
                return NULL;
        r |= api_put_str(o, "displayName", s->display_name);
        r |= api_put_str(o, "description", s->description);
        r |= api_put_str(o, "slug", s->slug);
        r |= api_put_str(o, "repositoryURL", s->repository_url);
        r |= api_put_str(o, "namespace", s->namespace);
        if (s->has_default_template)
                r |= api_put_obj(o, "defaultTemplate", ref_to_json(&s->default_template));
        if (s->has_quota) {
                json_object *q = json_object_new_object();
                r |= api_put_obj(o, "quota", q);
                if (q) {
                        if (s->quota.has_max_sandboxes)
                                r |= api_put_int(q, "maxSandboxes", s->quota.max_sandboxes);
                        if (s->quota.has_max_running)
                                r |= api_put_int(q, "maxRunning", s->quota.max_running);
                        if (s->quota.has_max_running_tasks)
                                r |= api_put_int(q, "maxRunningTasks", s->quota.max_running_tasks);
                        if (s->quota.has_max_running_tasks_per_sandbox)
                                r |= api_put_int(q, "maxRunningTasksPerSandbox",
                                        s->quota.max_running_tasks_per_sandbox);
                        if (s->quota.has_max_sessions_per_sandbox)
                                r |= api_put_int(
                                        q, "maxSessionsPerSandbox", s->quota.max_sessions_per_sandbox);
                        if (s->quota.has_max_sessions_per_user)
                                r |= api_put_int(q, "maxSessionsPerUser", s->quota.max_sessions_per_user);
                        r |= api_put_quantity(q, "cpu", &s->quota.cpu);
                        r |= api_put_quantity(q, "memory", &s->quota.memory);
                        r |= api_put_quantity(q, "storage", &s->quota.storage);
                        r |= api_put_quantity(q, "maxTaskOutput", &s->quota.max_task_output);
                }
        }
        if (s->has_members) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(o, "members", a);
                for (size_t i = 0; a && i < s->n_members; i++) {
                        json_object *m = json_object_new_object();
                        if (!m || json_object_array_add(a, m) < 0) {
                                json_object_put(m);
                                r = -1;
                                break;
                        }
                        r |= api_put_str(m, "kind", s->members[i].kind);
                        r |= api_put_str(m, "name", s->members[i].name);
                        r |= api_put_str(m, "namespace", s->members[i].namespace);
                        r |= api_put_str(m, "role", s->members[i].role);
                }
        }
        pol = json_object_new_object();
        r |= api_put_obj(o, "policy", pol);
        if (!pol)
                goto out;
        net = json_object_new_object();
        r |= api_put_obj(pol, "network", net);
        if (net) {
                r |= api_put_bool(net, "allowDNS", s->policy.network.allow_dns);
                r |= api_put_bool(net, "allowInternet", s->policy.network.allow_internet);
                if (s->policy.network.has_egress) {
                        json_object *a = json_object_new_array();
                        r |= api_put_obj(net, "egress", a);
                        for (size_t i = 0; a && i < s->policy.network.n_egress; i++) {
                                const struct project_egress *g = &s->policy.network.egress[i];
                                json_object *go = json_object_new_object();
                                if (!go || json_object_array_add(a, go) < 0) {
                                        json_object_put(go);
                                        r = -1;
                                        break;
                                }
                                r |= api_put_str(go, "cidr", g->cidr);
                                r |= api_put_strv(go, "except", &g->except);
                                if (g->has_ports) {
                                        json_object *pa = json_object_new_array();
                                        r |= api_put_obj(go, "ports", pa);
                                        for (size_t j = 0; pa && j < g->n_ports; j++) {
                                                json_object *po = json_object_new_object();
                                                if (!po || json_object_array_add(pa, po) < 0) {
                                                        json_object_put(po);
                                                        r = -1;
                                                        break;
                                                }
                                                r |= api_put_int(po, "port", g->ports[j].port);
                                                if (g->ports[j].end_port)
                                                        r |= api_put_int(po, "endPort", g->ports[j].end_port);
                                                r |= api_put_str(po, "protocol", g->ports[j].protocol);
                                        }
                                }
                        }
                }
        }
        r |= api_put_strv(pol, "allowedRuntimeClasses", &s->policy.allowed_runtime_classes);
        if (s->policy.has_lifecycle) {
                json_object *l = json_object_new_object();
                r |= api_put_obj(pol, "lifecycle", l);
                if (l) {
                        r |= api_put_str(l, "maxLifetime", s->policy.lifecycle.max_lifetime.text);
                        r |= api_put_str(l, "idleTimeout", s->policy.lifecycle.idle_timeout.text);
                        r |= api_put_str(l, "stoppedRetention", s->policy.lifecycle.stopped_retention.text);
                        r |= api_put_str(
                                l, "taskOutputRetention", s->policy.lifecycle.task_output_retention.text);
                        r |= api_put_str(
                                l, "sessionIdleTimeout", s->policy.lifecycle.session_idle_timeout.text);
                }
        }
        r |= api_put_bool(pol, "allowPublicPreviews", s->policy.allow_public_previews);
        if (s->policy.has_credentials) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(pol, "credentials", a);
                for (size_t i = 0; a && i < s->policy.n_credentials; i++) {
                        const struct project_credential *c = &s->policy.credentials[i];
                        json_object *co = json_object_new_object(), *ta;
                        if (!co || json_object_array_add(a, co) < 0) {
                                json_object_put(co);
                                r = -1;
                                break;
                        }
                        r |= api_put_str(co, "secretName", c->secret_name);
                        ta = json_object_new_array();
                        r |= api_put_obj(co, "templates", ta);
                        for (size_t j = 0; ta && j < c->n_templates; j++) {
                                json_object *t = ref_to_json(&c->templates[j]);
                                if (!t || json_object_array_add(ta, t) < 0) {
                                        json_object_put(t);
                                        r = -1;
                                        break;
                                }
                        }
                        r |= api_put_str(co, "description", c->description);
                }
        }
out:
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int status_emit(const void *p, json_object **ret) {
        const struct project_status *s = p;

        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return -ENOMEM;
        if (s->has_observed_generation)
                r |= api_put_int(o, "observedGeneration", s->observed_generation);
        r |= api_put_str(o, "namespace", s->namespace);
        r |= api_put_int(o, "sandboxes", s->sandboxes);
        r |= api_put_int(o, "runningSandboxes", s->running_sandboxes);
        r |= api_put_int(o, "templates", s->templates);
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
        struct project_spec *s = p;

        s->policy.network.allow_dns = true;
        return 0;
}

API_KIND_DEFINE(project, struct project, struct project_status, .kind = "Project",
        .name_rule = API_NAME_DNS_LABEL, .name_max = 58, .namespaced = false, .spec_required = false);
