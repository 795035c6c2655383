/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of mbox.dev/v1alpha1 Sandbox (namespaced): parse with the validation and defaults of
 * crds/mbox.dev_sandboxes.yaml, check updates, compare and emit. The standard functions (sandbox_from_json()
 * and the rest) are declared by API_KIND_DECLARE and described in kind.h; see common.h for ownership and
 * messages.
 */
#pragma once

#include "api/kind.h"

struct sandbox_port {
        char *name;
        int64_t port;
        char *visibility; /* Private (default), Project, Public */
};

struct sandbox_spec {
        char *display_name;
        char *slug;
        bool has_project_ref;
        char *project_ref_name;
        bool has_template_ref;
        char *template_ref_name;
        char *template_ref_namespace;
        char *state; /* Running (default), Stopped */
        struct sandbox_port *ports;
        size_t n_ports;
        bool has_ports;
        struct api_env env;
        bool has_lifetime;
        struct {
                struct api_duration max_lifetime, idle_timeout;
        } lifetime;
        char *service_account_name; /* default mbox-sandbox */
};

/* One open preview (status.previewURLs). */
struct sandbox_preview_url {
        char *name;
        int64_t port;
        char *visibility; /* Private, Project, Public; NULL: not emitted */
        char *url;
};

/* The status mbox-operator writes (crds/mbox.dev_sandboxes.yaml); fields the CRD does not define are dropped
 * on parse. A NULL string and a zero timestamp are absent. Timestamps are whole seconds when emitted; one
 * that does not parse is taken as absent (status is the operator's, and a bad time must not fail the
 * object). */
struct sandbox_status {
        bool has_observed_generation;
        int64_t observed_generation;
        char *phase; /* Pending, Starting, Running, Stopping, Stopped, Failed, Expired, Terminating */
        char *reason;
        char *message;
        char *project;
        bool has_template;
        char *template_name;
        char *template_namespace;
        char *template_version;
        char *claim_name;
        char *sandbox_name; /* the agent-sandbox Sandbox */
        char *pod_name;
        char *pod_ip;
        char *service_fqdn;
        struct sandbox_preview_url *preview_urls;
        size_t n_preview_urls;
        struct timestamp started_at, stopped_at, last_activity_at, expires_at;
        struct api_conditions conditions;
};

struct sandbox {
        struct api_meta meta;
        struct sandbox_spec spec;
        bool has_status;
        struct sandbox_status status;
};

API_KIND_DECLARE(sandbox, struct sandbox, struct sandbox_status);

/* Whether two statuses would be emitted the same (conditions with their lastTransitionTime). */
bool sandbox_status_equal(const struct sandbox_status *a, const struct sandbox_status *b);
