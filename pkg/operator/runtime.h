/* SPDX-License-Identifier: Apache-2.0 */
/* An EnvironmentTemplate rendered as agent-sandbox objects (runtime.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/template.h"
#include "merr.h"

#define RUNTIME_CONTAINER "sandbox"

struct op_ctx;
struct sandbox;
struct mbox_operator;

/* sa when it names a ServiceAccount other than mbox-sandbox (a projection of its own), else NULL. In the
 * functions below, sa is the sandbox's spec.serviceAccountName, NULL for mbox-sandbox. */
const char *runtime_own_sa(const char *sa);
/* The SandboxTemplate spec mbox sends for t with pods running as sa (new reference). */
json_object *runtime_template_spec(const struct template *t, const char *sa);
/* The version of t for sa: 8 hex digits of a hash of that spec. */
int runtime_version(const struct template *t, const char *sa, char *buf);
/* Why the project that owns ns does not admit sandboxes of t (policy.c; also when ns has no project), with
 * the condition reason in *reason; NULL when it admits them. */
const char *runtime_policy_problem(struct mbox_operator *op, const struct template *t, const char *ns,
        const char **reason, char *buf, size_t size);
/* <template>-<version>, the name of both the SandboxTemplate and its pool. */
void runtime_name(const char *template_name, const char *version, char *buf, size_t size);
/* Where the workspace volume is mounted. */
const char *runtime_mount_path(const struct template *t);
/* The objects mbox sends for t's version in ns, built through the typed views of api/agentsandbox.h (new
 * references; NULL when out of memory). Both are named name (runtime_name()) and labelled with the template,
 * version and (when its own) sa; owner (borrowed, may be NULL), the EnvironmentTemplate, becomes their
 * controller when it is in ns. */
json_object *runtime_template_object(const struct template *t, const char *ns, const char *name,
        const char *version, const char *sa, json_object *owner);
/* warm: keep t's warm pool replicas (false: 0, as when the namespace's project does not admit t; always 0
 * for a ServiceAccount of its own). */
json_object *runtime_pool_object(const struct template *t, const char *ns, const char *name,
        const char *version, const char *sa, json_object *owner, bool warm);
/* The SandboxClaim for mbox Sandbox sb (parsed from owner, its object, borrowed): named name in ns, labelled
 * with project (NULL: none), the sandbox and version, controlled by owner, resolved through pool, and
 * carrying sb's env (a variable without a value is sent empty). New reference; NULL when out of memory. */
json_object *runtime_claim(const char *name, const char *ns, const char *project, const char *pool,
        const char *version, const struct sandbox *sb, json_object *owner);
/* Ensures the SandboxTemplate and SandboxWarmPool of t's current version for sa in ns; the pool's name
 * (which claims reference) goes to pool. */
int runtime_project(struct op_ctx *cx, const struct template *t, json_object *owner, const char *ns,
        const char *sa, char *pool, size_t size, struct merr *err);
