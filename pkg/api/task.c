/* SPDX-License-Identifier: Apache-2.0 */
#include "api/task.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"

static void spec_release(void *p) {
        struct task_spec *s = p;

        free(s->sandbox_ref_name);
        api_strv_release(&s->command);
        free(s->working_dir);
        api_env_release(&s->env);
        free(s->stdin_data);
        for (size_t i = 0; i < s->n_artifacts; i++) {
                free(s->artifacts[i].name);
                free(s->artifacts[i].path);
                free(s->artifacts[i].content_type);
        }
        free(s->artifacts);
        api_map_release(&s->metadata);
}

static int spec_defaults(void *p) {
        struct task_spec *s = p;

        s->timeout_seconds = 600;
        return 0;
}

static void status_release(void *p) {
        struct task_status *st = p;

        free(st->phase);
        free(st->reason);
        free(st->message);
        free(st->start_time);
        free(st->pod_name);
        free(st->completion_time);
        free(st->duration);
        free(st->stdout_tail);
        free(st->stderr_tail);
        free(st->log_ref_name);
        free(st->log_ref_uri);
        for (size_t i = 0; i < st->n_artifacts; i++) {
                struct task_artifact_status *a = &st->artifacts[i];
                free(a->name);
                free(a->path);
                free(a->uri);
                free(a->content_type);
                free(a->digest);
                free(a->artifact_name);
        }
        free(st->artifacts);
        api_conditions_release(&st->conditions);
        *st = (struct task_status){0};
}

bool task_phase_is_final(const char *phase) {
        return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
                                strcmp(phase, "Canceled") == 0 || strcmp(phase, "TimedOut") == 0);
}

static void parse_artifacts(json_object *spec, struct task_spec *s, struct api_errors *e) {
        static const struct api_str_rule name_rule = {
                .required = true, .max_len = 63, .pattern = API_PAT_DNS_LABEL};
        static const struct api_str_rule path_rule = {
                .required = true, .max_len = 1024, .pattern = API_PAT_ABS_PATH};
        static const struct api_str_rule ct_rule = {.max_len = 255, .pattern = API_PAT_MEDIA_TYPE};
        char ip[API_PATH_MAX];
        json_object *arr = NULL;
        char **keys;
        size_t n;

        if (api_get_arr(spec, "artifacts", "spec", false, 0, 32, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->artifacts = calloc(n ? n : 1, sizeof(*s->artifacts));
        keys = calloc(n ? n : 1, sizeof(char *));
        if (!s->artifacts || !keys) {
                free(keys);
                e->oom = true;
                return;
        }
        s->has_artifacts = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct task_artifact *a = &s->artifacts[s->n_artifacts];

                api_path_idx(ip, sizeof(ip), "spec.artifacts", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_artifacts++;
                (void) api_get_str(it, "name", ip, &name_rule, &a->name, e);
                keys[i] = a->name;
                (void) api_get_str(it, "path", ip, &path_rule, &a->path, e);
                (void) api_get_str(it, "contentType", ip, &ct_rule, &a->content_type, e);
                (void) api_get_bool(it, "optional", ip, &a->optional, e);
        }
        api_check_unique_keys(keys, n, "spec.artifacts", e);
        free(keys);
        for (size_t i = 0; i < s->n_artifacts; i++)
                for (size_t j = 0; j < i; j++)
                        if (s->artifacts[i].path &&
                                api_str_equal(s->artifacts[i].path, s->artifacts[j].path)) {
                                api_errors_add(
                                        e, "spec.artifacts", "Invalid value: artifact paths must be unique");
                                return;
                        }
}

/* ^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$
 * and at most 253 characters in all */
static bool metadata_key_ok(const char *k) {
        const char *slash = strchr(k, '/'), *name = k;
        size_t n;

        if (strlen(k) > 253)
                return false;
        if (slash) {
                struct api_errors tmp = API_ERRORS_INIT;
                char prefix[254];
                static const struct api_str_rule sub = {.pattern = API_PAT_DNS_SUBDOMAIN};
                bool ok;

                n = (size_t) (slash - k);
                memcpy(prefix, k, n);
                prefix[n] = '\0';
                ok = api_check_str(prefix, "", &sub, &tmp);
                api_errors_release(&tmp);
                if (!ok)
                        return false;
                name = slash + 1;
        }
        n = strlen(name);
        if (n == 0 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if ((i == 0 || i == n - 1) && !alnum)
                        return false;
                if (!alnum && c != '-' && c != '_' && c != '.')
                        return false;
        }
        return true;
}

static void parse_metadata(json_object *spec, struct task_spec *s, struct api_errors *e) {
        static const struct api_str_rule value_rule = {.max_len = 1024};
        json_object *m = NULL;
        char kp[API_PATH_MAX];
        size_t n;
        bool bad_key = false;

        if (api_get_obj(spec, "metadata", "spec", false, &m, e) <= 0)
                return;
        n = (size_t) json_object_object_length(m);
        if (n > 32) {
                api_errors_add(e, "spec.metadata", "Too many: %zu: must have at most 32 items", n);
                return;
        }
        s->has_metadata = true;
        s->metadata.items = calloc(n ? n : 1, sizeof(*s->metadata.items));
        if (!s->metadata.items) {
                e->oom = true;
                return;
        }
        json_object_object_foreach (m, k, v) {
                api_path(kp, sizeof(kp), "spec.metadata", k);
                if (!v || !json_object_is_type(v, json_type_string)) {
                        api_errors_add(
                                e, kp, "Invalid value: \"%s\": must be of type string", json_type_label(v));
                        continue;
                }
                if (!api_check_str(json_object_get_string(v), kp, &value_rule, e))
                        continue;
                if (!metadata_key_ok(k))
                        bad_key = true;
                s->metadata.items[s->metadata.n].key = api_strdup(k, e);
                s->metadata.items[s->metadata.n].value = api_strdup(json_object_get_string(v), e);
                s->metadata.n++;
        }
        if (bad_key)
                api_errors_add(e, "spec.metadata",
                        "Invalid value: keys must be label-like: an optional DNS prefix and /, then at most "
                        "63 "
                        "letters, digits, -, _ and ., starting and ending with a letter or digit");
}

static void parse_spec(json_object *spec, void *ret, struct api_errors *e) {
        struct task_spec *s = ret;
        static const struct api_str_rule sb_rule = {
                .required = true, .max_len = 63, .pattern = API_PAT_DNS1035_LABEL};
        static const struct api_str_rule cmd_rule = {.max_len = 8192};
        static const struct api_str_rule wd_rule = {.max_len = 1024, .pattern = API_PAT_ABS_PATH};
        static const struct api_str_rule stdin_rule = {.max_len = 262144};
        json_object *o = NULL;

        if (api_get_obj(spec, "sandboxRef", "spec", true, &o, e) > 0)
                (void) api_get_str(o, "name", "spec.sandboxRef", &sb_rule, &s->sandbox_ref_name, e);
        if (api_get_strv(spec, "command", "spec", 1, 128, &cmd_rule, &s->command, e) > 0 &&
                s->command.v[0][0] == '\0')
                api_errors_add(e, "spec.command",
                        "Invalid value: command must not be empty: the first element is the program to run");
        if (!api_has(spec, "command"))
                api_errors_add(e, "spec.command", "Required value");
        (void) api_get_str(spec, "workingDir", "spec", &wd_rule, &s->working_dir, e);
        if (api_get_env(spec, "spec", false, &s->env, e) > 0)
                for (size_t i = 0; i < s->env.n; i++)
                        if (s->env.items[i].name && strncmp(s->env.items[i].name, "MBOX_", 5) == 0) {
                                char path[64];
                                snprintf(path, sizeof(path), "spec.env[%zu].name", i);
                                api_errors_add(e, path,
                                        "Invalid value: names starting with MBOX_ are reserved for mbox; "
                                        "rename the "
                                        "variable");
                        }
        (void) api_get_str(spec, "stdin", "spec", &stdin_rule, &s->stdin_data, e);
        s->timeout_seconds = 600;
        (void) api_get_int(spec, "timeoutSeconds", "spec", false, 1, 86400, &s->timeout_seconds, e);
        (void) api_get_bool(spec, "cancel", "spec", &s->cancel, e);
        parse_artifacts(spec, s, e);
        s->has_ttl_seconds_after_finished = api_get_int(spec, "ttlSecondsAfterFinished", "spec", false, 0,
                                                    31536000, &s->ttl_seconds_after_finished, e) > 0;
        parse_metadata(spec, s, e);
}

static void parse_status_artifacts(json_object *st, struct task_status *s, struct api_errors *e) {
        static const struct api_str_rule name_rule = {.max_len = 63};
        static const struct api_str_rule path_rule = {.max_len = 1024};
        static const struct api_str_rule uri_rule = {.max_len = 2048};
        static const struct api_str_rule ct_rule = {.max_len = 255};
        static const struct api_str_rule digest_rule = {.max_len = 128};
        static const struct api_str_rule an_rule = {.max_len = 253};
        char ip[API_PATH_MAX];
        json_object *arr = NULL;
        size_t n;

        if (api_get_arr(st, "artifacts", "status", false, 0, 0, &arr, e) <= 0)
                return;
        n = json_object_array_length(arr);
        s->artifacts = calloc(n ? n : 1, sizeof(*s->artifacts));
        if (!s->artifacts) {
                e->oom = true;
                return;
        }
        s->has_artifacts = true;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct task_artifact_status *a = &s->artifacts[s->n_artifacts];

                api_path_idx(ip, sizeof(ip), "status.artifacts", i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        api_errors_add(e, ip, "must be of type object");
                        continue;
                }
                s->n_artifacts++;
                (void) api_get_str(it, "name", ip, &name_rule, &a->name, e);
                (void) api_get_str(it, "path", ip, &path_rule, &a->path, e);
                (void) api_get_str(it, "uri", ip, &uri_rule, &a->uri, e);
                (void) api_get_str(it, "contentType", ip, &ct_rule, &a->content_type, e);
                a->has_size_bytes =
                        api_get_int(it, "sizeBytes", ip, false, 0, INT64_MAX, &a->size_bytes, e) > 0;
                (void) api_get_str(it, "digest", ip, &digest_rule, &a->digest, e);
                (void) api_get_str(it, "artifactName", ip, &an_rule, &a->artifact_name, e);
        }
}

static void parse_status(json_object *st, void *ret, struct api_errors *e) {
        struct task_status *s = ret;
        static const char *const phases[] = {
                "Pending", "Running", "Succeeded", "Failed", "Canceled", "TimedOut", NULL};
        static const struct api_str_rule phase_rule = {.enum_values = phases};
        static const struct api_str_rule reason_rule = {.max_len = 1024, .pattern = API_PAT_REASON};
        static const struct api_str_rule message_rule = {.max_len = 4096};
        static const struct api_str_rule time_rule = {.max_len = 64};
        static const struct api_str_rule duration_rule = {.max_len = 32};
        static const struct api_str_rule pod_rule = {.max_len = 253};
        static const struct api_str_rule tail_rule = {.max_len = 16384};
        static const struct api_str_rule ref_name_rule = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        static const struct api_str_rule uri_rule = {.max_len = 2048};
        json_object *conds = NULL, *ref = NULL;

        s->has_observed_generation = api_get_int(st, "observedGeneration", "status", false, 0, INT64_MAX,
                                             &s->observed_generation, e) > 0;
        (void) api_get_str(st, "phase", "status", &phase_rule, &s->phase, e);
        (void) api_get_str(st, "reason", "status", &reason_rule, &s->reason, e);
        (void) api_get_str(st, "message", "status", &message_rule, &s->message, e);
        s->has_exit_code =
                api_get_int(st, "exitCode", "status", false, INT32_MIN, INT32_MAX, &s->exit_code, e) > 0;
        (void) api_get_str(st, "startTime", "status", &time_rule, &s->start_time, e);
        (void) api_get_str(st, "podName", "status", &pod_rule, &s->pod_name, e);
        (void) api_get_str(st, "completionTime", "status", &time_rule, &s->completion_time, e);
        (void) api_get_str(st, "duration", "status", &duration_rule, &s->duration, e);
        (void) api_get_str(st, "stdoutTail", "status", &tail_rule, &s->stdout_tail, e);
        (void) api_get_str(st, "stderrTail", "status", &tail_rule, &s->stderr_tail, e);
        s->has_stdout_bytes =
                api_get_int(st, "stdoutBytes", "status", false, 0, INT64_MAX, &s->stdout_bytes, e) > 0;
        s->has_stderr_bytes =
                api_get_int(st, "stderrBytes", "status", false, 0, INT64_MAX, &s->stderr_bytes, e) > 0;
        s->has_output_truncated = api_get_bool(st, "outputTruncated", "status", &s->output_truncated, e) > 0;
        s->has_output_dropped_bytes = api_get_int(st, "outputDroppedBytes", "status", false, 0, INT64_MAX,
                                              &s->output_dropped_bytes, e) > 0;
        if (api_get_obj(st, "logRef", "status", false, &ref, e) > 0) {
                (void) api_get_str(ref, "name", "status.logRef", &ref_name_rule, &s->log_ref_name, e);
                (void) api_get_str(ref, "uri", "status.logRef", &uri_rule, &s->log_ref_uri, e);
        }
        parse_status_artifacts(st, s, e);
        if (api_get_arr(st, "conditions", "status", false, 0, 32, &conds, e) > 0)
                (void) api_conditions_from_json(conds, "status.conditions", &s->conditions, e);
}

static json_object *spec_to_json(const void *p) {
        const struct task_spec *s = p;
        json_object *o = json_object_new_object(), *x;
        int r = 0;

        if (!o)
                return NULL;
        x = json_object_new_object();
        r |= api_put_obj(o, "sandboxRef", x);
        if (x)
                r |= api_put_str(x, "name", s->sandbox_ref_name);
        r |= api_put_strv(o, "command", &s->command);
        r |= api_put_str(o, "workingDir", s->working_dir);
        r |= api_put_env(o, "env", &s->env);
        r |= api_put_str(o, "stdin", s->stdin_data);
        r |= api_put_int(o, "timeoutSeconds", s->timeout_seconds);
        r |= api_put_bool(o, "cancel", s->cancel);
        if (s->has_artifacts) {
                json_object *a = json_object_new_array();
                r |= api_put_obj(o, "artifacts", a);
                for (size_t i = 0; a && i < s->n_artifacts; i++) {
                        x = json_object_new_object();
                        if (!x || json_object_array_add(a, x) < 0) {
                                json_object_put(x);
                                r = -1;
                                break;
                        }
                        r |= api_put_str(x, "name", s->artifacts[i].name);
                        r |= api_put_str(x, "path", s->artifacts[i].path);
                        r |= api_put_str(x, "contentType", s->artifacts[i].content_type);
                        r |= api_put_bool(x, "optional", s->artifacts[i].optional);
                }
        }
        if (s->has_ttl_seconds_after_finished)
                r |= api_put_int(o, "ttlSecondsAfterFinished", s->ttl_seconds_after_finished);
        if (s->has_metadata) {
                x = json_object_new_object();
                r |= api_put_obj(o, "metadata", x);
                for (size_t i = 0; x && i < s->metadata.n; i++)
                        r |= api_put_str(x, s->metadata.items[i].key, s->metadata.items[i].value);
        }
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int status_emit(const void *p, json_object **ret) {
        const struct task_status *st = p;
        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return -ENOMEM;
        if (st->has_observed_generation)
                r |= api_put_int(o, "observedGeneration", st->observed_generation);
        r |= api_put_str(o, "phase", st->phase);
        r |= api_put_str(o, "reason", st->reason);
        r |= api_put_str(o, "message", st->message);
        if (st->has_exit_code)
                r |= api_put_int(o, "exitCode", st->exit_code);
        r |= api_put_str(o, "startTime", st->start_time);
        r |= api_put_str(o, "podName", st->pod_name);
        r |= api_put_str(o, "completionTime", st->completion_time);
        r |= api_put_str(o, "duration", st->duration);
        r |= api_put_str(o, "stdoutTail", st->stdout_tail);
        r |= api_put_str(o, "stderrTail", st->stderr_tail);
        if (st->has_stdout_bytes)
                r |= api_put_int(o, "stdoutBytes", st->stdout_bytes);
        if (st->has_stderr_bytes)
                r |= api_put_int(o, "stderrBytes", st->stderr_bytes);
        if (st->has_output_truncated)
                r |= api_put_bool(o, "outputTruncated", st->output_truncated);
        if (st->has_output_dropped_bytes)
                r |= api_put_int(o, "outputDroppedBytes", st->output_dropped_bytes);
        if (st->log_ref_name || st->log_ref_uri) {
                json_object *ref = json_object_new_object();
                r |= api_put_obj(o, "logRef", ref);
                if (ref) {
                        r |= api_put_str(ref, "name", st->log_ref_name);
                        r |= api_put_str(ref, "uri", st->log_ref_uri);
                }
        }
        if (st->has_artifacts) {
                json_object *arr = json_object_new_array();
                r |= api_put_obj(o, "artifacts", arr);
                for (size_t i = 0; arr && i < st->n_artifacts; i++) {
                        const struct task_artifact_status *a = &st->artifacts[i];
                        json_object *x = json_object_new_object();
                        if (!x || json_object_array_add(arr, x) < 0) {
                                json_object_put(x);
                                r = -1;
                                break;
                        }
                        r |= api_put_str(x, "name", a->name);
                        r |= api_put_str(x, "path", a->path);
                        r |= api_put_str(x, "uri", a->uri);
                        r |= api_put_str(x, "contentType", a->content_type);
                        if (a->has_size_bytes)
                                r |= api_put_int(x, "sizeBytes", a->size_bytes);
                        r |= api_put_str(x, "digest", a->digest);
                        r |= api_put_str(x, "artifactName", a->artifact_name);
                }
        }
        if (st->conditions.n > 0)
                r |= api_put_obj(o, "conditions", api_conditions_to_json(&st->conditions));
        if (r != 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

API_KIND_DEFINE(task, struct task, struct task_status, .kind = "ExecutionTask",
        .name_rule = API_NAME_DNS_SUBDOMAIN, .name_max = 253, .namespaced = true, .spec_required = true);
