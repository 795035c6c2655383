/* SPDX-License-Identifier: Apache-2.0 */
/* An EnvironmentTemplate rendered as agent-sandbox objects (runtime.c). */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "api/template.h"
#include "merr.h"

#define RUNTIME_CONTAINER "sandbox"

struct op_ctx;

/* The SandboxTemplate spec mbox sends for t (new reference). */
json_object *runtime_template_spec(const struct template *t, const char *apiserver_ns);
/* The version of t: 8 hex digits of a hash of that spec. */
int runtime_version(const struct template *t, const char *apiserver_ns, char *buf);
/* <template>-<version>, the name of both the SandboxTemplate and its pool. */
void runtime_name(const char *template_name, const char *version, char *buf, size_t size);
/* Where the workspace volume is mounted. */
const char *runtime_mount_path(const struct template *t);
/* Ensures the SandboxTemplate and SandboxWarmPool of t's current version in ns; the pool's name (which
 * claims reference) goes to pool. */
int runtime_project(struct op_ctx *cx, const struct template *t, json_object *owner, const char *ns,
        char *pool, size_t size, struct merr *err);
