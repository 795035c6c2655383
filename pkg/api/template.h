/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of mbox.dev/v1alpha1 EnvironmentTemplate (namespaced): parse with the validation and defaults
 * of crds/mbox.dev_environmenttemplates.yaml, compare and emit. The standard functions
 * (template_from_json() and the rest) are declared by API_KIND_DECLARE and described in kind.h; see common.h
 * for ownership and messages.
 */
#pragma once

#include "api/kind.h"

struct template_entrypoint {
        char *name;
        char *type;              /* Terminal, Preview, IDE, Notebook */
        char *port;              /* name of a spec.ports entry; NULL for Terminal */
        struct api_strv command; /* Terminal only */
        char *description;
};

struct template_port {
        char *name;
        int64_t port;
        char *protocol; /* TCP (default) */
        char *description;
};

struct template_spec {
        char *display_name;
        char *description;
        char *runtime_type;
        char *use_case;
        struct template_entrypoint *entrypoints;
        size_t n_entrypoints;
        bool has_entrypoints;
        char *image;
        char *image_pull_policy;
        struct api_strv command;
        struct api_strv args;
        char *working_dir; /* default /workspace */
        struct api_env env;
        char *resource_preset; /* Small, Medium, Large */
        bool has_resources;
        struct {
                bool has_requests, has_limits;
                struct api_quantity requests_cpu, requests_memory, limits_cpu, limits_memory;
        } resources;
        bool has_storage;
        struct {
                struct api_quantity size;
                char *storage_class_name;
                char *mount_path;
        } storage;
        struct template_port *ports;
        size_t n_ports;
        bool has_ports;
        char *runtime_class_name;
        char *network_egress; /* Denied, Restricted (default), Allowed */
        bool has_lifecycle;
        struct {
                struct api_duration max_lifetime, idle_timeout;
        } lifecycle;
        int64_t warm_pool_replicas; /* default 0 */
        bool has_sessions;
        struct {
                char *record; /* None (default), Output, OutputAndInput */
        } sessions;
        bool has_check;
        struct {
                struct api_strv command;
                int64_t timeout_seconds; /* default 300 */
        } check;
};

/* status.validation: the result of validating one version of the template. */
struct template_validation {
        char *status; /* NotTested, Passed, Failed */
        char *message;
        char *time; /* metav1.Time, as written */
        char *version;
        char *output; /* the end of the check command's stdout and stderr */
};

struct template_status {
        bool has_observed_generation;
        int64_t observed_generation;
        char *version;
        char *resolved_image;
        bool has_validation;
        struct template_validation validation;
        bool has_warm_pool;
        int64_t warm_pool_replicas, warm_pool_ready_replicas; /* status.warmPool */
        struct api_conditions conditions;
};

struct template {
        struct api_meta meta;
        struct template_spec spec;
        bool has_status;
        struct template_status status;
};

API_KIND_DECLARE(template, struct template, struct template_status);

/* Copies v into *ret (released first). Returns 0 or -ENOMEM. */
int template_validation_copy(struct template_validation *ret, const struct template_validation *v);
void template_validation_release(struct template_validation *v);
