/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers over json-c: bounded parsing with a located error, and typed getters that name the JSON
 * path of a field that is missing or has the wrong type.
 *
 * Paths are dot-separated keys with optional array indexes: "spec.ports[1].name", "items[0]". A key that
 * itself contains a dot or a bracket is written with a backslash before it ("metadata.labels.app\.io/x").
 *
 * Getters borrow: the object returned through ret points into the tree and lives as long as the tree
 * (json_object_get() it to keep it longer). Strings returned are borrowed the same way.
 *
 * Return values: 1 when the field was found with the right type (ret set), 0 when it is absent or null and
 * JSON_OPTIONAL was given (ret untouched), -ENOENT when it is absent and required, -EINVAL when it has the
 * wrong type or the path is malformed, -ERANGE for numbers out of range. Errors read
 * "field 'spec.replicas': expected integer, got string".
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "merr.h"

#define JSON_DEFAULT_MAX_DEPTH 64

enum {
        JSON_REQUIRED = 0,
        JSON_OPTIONAL = 1 << 0,
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parses exactly one JSON value from data[0..len), rejecting trailing garbage, nesting deeper than
 * max_depth (0 = JSON_DEFAULT_MAX_DEPTH) and NUL bytes. Errors name the offset, line and column. The caller
 * owns *ret. */
int json_parse(const char *data, size_t len, int max_depth, json_object **ret, struct merr *err);

/* Looks up path under obj. Returns 1 found (ret may be NULL), 0 absent or null, -EINVAL bad path. */
int json_lookup(json_object *obj, const char *path, json_object **ret, struct merr *err);

int json_get_object(json_object *obj, const char *path, unsigned flags, json_object **ret, struct merr *err);
int json_get_array(json_object *obj, const char *path, unsigned flags, json_object **ret, struct merr *err);
int json_get_string(json_object *obj, const char *path, unsigned flags, const char **ret, struct merr *err);
int json_get_bool(json_object *obj, const char *path, unsigned flags, bool *ret, struct merr *err);
/* Integers must be JSON integers (1.0 and "1" are refused), within int64 / the given range. */
int json_get_int64(json_object *obj, const char *path, unsigned flags, int64_t *ret, struct merr *err);
int json_get_int_range(json_object *obj, const char *path, unsigned flags, int64_t min, int64_t max,
        int64_t *ret, struct merr *err);
int json_get_double(json_object *obj, const char *path, unsigned flags, double *ret, struct merr *err);

/* A short name of a value's JSON type for messages: "object", "array", "string", "integer", "number",
 * "boolean", "null". */
const char *json_type_label(json_object *v);
