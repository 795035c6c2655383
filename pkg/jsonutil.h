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

/*
 * The same parse fed in pieces, e.g. as a response body arrives from the network, with the same checks and
 * located errors as json_parse() (offsets count from the first byte fed). json_stream_feed() returns 0 or
 * a negative errno with err set; after an error, the stream only repeats that errno. json_stream_finish()
 * ends the input and hands the value to the caller (*ret). Feeding nothing at all is an error ("unexpected
 * end of input"), as for json_parse().
 *
 * JSON_PARSE_COMPACT shrinks the hash table json-c gives every JSON object (16 slots) to fit its keys, as
 * the tree is built: a parsed Kubernetes list then takes about half the memory. The objects stay ordinary
 * json-c objects (they grow again when keys are added).
 */
enum {
        JSON_PARSE_COMPACT = 1 << 0,
};

struct json_stream;

int json_stream_new(int max_depth, unsigned flags, struct json_stream **ret);
struct json_stream *json_stream_free(struct json_stream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_stream *, json_stream_free);
int json_stream_feed(struct json_stream *s, const char *data, size_t len, struct merr *err);
int json_stream_finish(struct json_stream *s, json_object **ret, struct merr *err);
/* Bytes fed so far. */
size_t json_stream_bytes(const struct json_stream *s);

/* Shrinks the hash tables of obj and of every object under it to fit their keys (see JSON_PARSE_COMPACT). */
void json_compact(json_object *obj);

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

/* A short name of a value's JSON type for messages: "object", "array", "string", "integer", "number",
 * "boolean", "null". */
const char *json_type_label(json_object *v);
