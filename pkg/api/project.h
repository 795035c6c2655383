/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of mbox.dev/v1alpha1 Project (cluster-scoped): parse with the validation and defaults of
 * crds/mbox.dev_projects.yaml, check updates, compare and emit. The standard functions
 * (project_from_json() and the rest) are declared by API_KIND_DECLARE and described in kind.h; see common.h
 * for ownership and messages.
 */
#pragma once

#include "api/kind.h"

struct project_template_ref {
        char *name;
        char *namespace; /* NULL: the project namespace */
};

struct project_member {
        char *kind; /* User, Group, ServiceAccount */
        char *name;
        char *namespace; /* ServiceAccount only */
        char *role;      /* Admin, Developer, Viewer */
};

struct project_egress_port {
        int64_t port;
        int64_t end_port; /* 0: a single port */
        char *protocol;   /* TCP (default), UDP, SCTP */
};

struct project_egress {
        char *cidr;
        struct api_strv except;
        struct project_egress_port *ports;
        size_t n_ports;
        bool has_ports;
};

struct project_credential {
        char *secret_name;
        struct project_template_ref *templates;
        size_t n_templates;
        char *description;
};

struct project_spec {
        char *display_name;
        char *description;
        char *slug;
        char *repository_url;
        char *namespace;
        bool has_default_template;
        struct project_template_ref default_template;
        bool has_quota;
        struct {
                bool has_max_sandboxes, has_max_running;
                int64_t max_sandboxes, max_running;
                bool has_max_running_tasks, has_max_running_tasks_per_sandbox;
                int64_t max_running_tasks, max_running_tasks_per_sandbox;
                /* exec and terminal sessions open at once (mbox-apiserver; docs/sessions.md) */
                bool has_max_sessions_per_sandbox, has_max_sessions_per_user;
                int64_t max_sessions_per_sandbox, max_sessions_per_user;
                struct api_quantity cpu, memory, storage;
                struct api_quantity max_task_output; /* bytes of one task's output that are stored */
        } quota;
        struct project_member *members;
        size_t n_members;
        bool has_members;
        struct {
                struct {
                        bool allow_dns;      /* default true */
                        bool allow_internet; /* default false */
                        struct project_egress *egress;
                        size_t n_egress;
                        bool has_egress;
                } network;
                struct api_strv allowed_runtime_classes;
                bool has_lifecycle;
                struct {
                        struct api_duration max_lifetime, idle_timeout, stopped_retention;
                        struct api_duration task_output_retention; /* of a finished task's records */
                        struct api_duration session_idle_timeout;  /* an exec or terminal session's */
                } lifecycle;
                bool allow_public_previews; /* default false */
                struct project_credential *credentials;
                size_t n_credentials;
                bool has_credentials;
        } policy;
};

struct project_status {
        bool has_observed_generation;
        int64_t observed_generation;
        char *namespace;
        int64_t sandboxes, running_sandboxes, templates;
        struct api_conditions conditions;
};

struct project {
        struct api_meta meta;
        struct project_spec spec;
        bool has_status;
        struct project_status status;
};

API_KIND_DECLARE(project, struct project, struct project_status);

/* spec.quota.maxTaskOutput in bytes; 0 when p is NULL or sets none. */
int64_t project_max_task_output(const struct project *p);
/* The namespace the project owns: spec.namespace or mbox-<name>. Borrowed or written into buf. */
const char *project_namespace(const struct project *p, char *buf, size_t size);
