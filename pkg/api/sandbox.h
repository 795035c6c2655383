/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of mbox.dev/v1alpha1 Sandbox (namespaced): parse with the validation and defaults of
 * crds/mbox.dev_sandboxes.yaml, check updates, compare and emit. See common.h for ownership and messages.
 */
#pragma once

#include "api/common.h"

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

/* Only these status fields are modelled; others are dropped on parse. */
struct sandbox_status {
        bool has_observed_generation;
        int64_t observed_generation;
        char *phase; /* Pending, Starting, Running, Stopping, Stopped, Failed, Expired, Terminating */
        char *reason;
        char *message;
        struct api_conditions conditions;
};

struct sandbox {
        struct api_meta meta;
        struct sandbox_spec spec;
        bool has_status;
        struct sandbox_status status;
};

int sandbox_from_json(json_object *obj, struct sandbox **ret, struct merr *err);
/* templateRef and projectRef cannot be added, changed or removed; the effective slug (spec.slug or
 * metadata.name) is kept. */
int sandbox_validate_update(const struct sandbox *old, const struct sandbox *new, struct merr *err);
int sandbox_to_json(const struct sandbox *s, json_object **ret);
int sandbox_status_to_json(const struct sandbox *s, json_object **ret);
bool sandbox_equal(const struct sandbox *a, const struct sandbox *b);
/* A new object named name (in namespace, for namespaced kinds; NULL otherwise) with the CRD defaults applied
 * and every other field empty, for callers that build objects: fill it in (strings are owned, so strdup()
 * them) and check it with sandbox_validate(). NULL when out of memory. */
struct sandbox *sandbox_new(const char *name, const char *namespace);
/* Applies every rule of sandbox_from_json() to an object built in C (by emitting and parsing it again). */
int sandbox_validate(const struct sandbox *s, struct merr *err);
struct sandbox *sandbox_free(struct sandbox *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sandbox *, sandbox_free);
