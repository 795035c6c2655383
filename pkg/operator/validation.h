/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EnvironmentTemplate validation (validation.c): the status.validation of a template, decided from the
 * validation run it starts, follows and clears.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "api/template.h"
#include "merr.h"

struct op_ctx;

/* status.validation of template obj (parsed as t) at version, into *ret (released first; owned by the
 * caller); starts, follows and clears the validation run. library: obj is in the library namespace. */
int op_template_validation(struct op_ctx *cx, json_object *obj, const struct template *t, const char *version,
        bool library, struct template_validation *ret, struct merr *err);
