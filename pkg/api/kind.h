/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One descriptor per mbox.dev kind (struct api_kind) and the functions every typed view shares, written
 * once over it: parse (metadata, spec, status), emit, build, free. A kind supplies only what is its own:
 * how its spec and status parse, emit and release, and its CRD defaults (docs/api.md, "Kinds").
 *
 * Every view struct has the same head, which the descriptor's offsets point into:
 *
 *     struct api_meta meta;     (first)
 *     struct <kind>_spec spec;
 *     bool has_status;
 *     struct <kind>_status status;
 *
 * A kind's header declares its standard functions with API_KIND_DECLARE(), inline over the api_object_*
 * functions and the kind's descriptor <kind>_kind (defined by API_KIND_DEFINE() in its .c file):
 * <kind>_from_json(), _to_json(), _status_to_json(), _status_emit(), _status_from_json(),
 * _status_release(), _new(), _free() and the cleanup helper <kind>_freep. What each does is written here
 * once:
 *
 * - from_json: parses and validates obj (borrowed), applying the CRD defaults. On success *ret is a new
 *   object owned by the caller; on failure err lists every problem ("spec.quota.cpu: ...") and *ret is
 *   untouched.
 * - to_json: apiVersion, kind, metadata and spec (a new object owned by the caller); status separately,
 *   with status_to_json (of an object) or status_emit (of a status built apart from its object, as the
 *   operator builds them).
 * - status_from_json: the status of obj alone, its spec unread (for an object whose spec may not parse),
 *   into *ret (zeroed when absent; owned by the caller, released with status_release).
 * - new: an object named name (in namespace, for namespaced kinds; ignored otherwise) with the CRD
 *   defaults applied and every other field empty, for callers that build objects: fill it in (strings are
 *   owned, so strdup() them). NULL when out of memory.
 * - free: accepts NULL and returns NULL.
 */
#pragma once

#include <stddef.h>

#include "api/common.h"

struct api_kind {
        const char *kind; /* "ExecutionTask"; the group is mbox.dev/v1alpha1 */
        enum api_name_rule name_rule;
        size_t name_max;
        bool namespaced;
        bool spec_required; /* else an absent spec parses as an empty one (its defaults applied) */
        size_t size;        /* of the view struct */
        size_t spec_offset, has_status_offset, status_offset, status_size;
        /* spec: parse (spec may be NULL when not required), emit (NULL when out of memory), release, and
         * the defaults of a new object (NULL: none; returns 0 or -ENOMEM) */
        void (*spec_parse)(json_object *spec, void *ret, struct api_errors *e);
        json_object *(*spec_emit)(const void *spec);
        void (*spec_release)(void *spec);
        int (*spec_defaults)(void *spec);
        void (*status_parse)(json_object *status, void *ret, struct api_errors *e);
        int (*status_emit)(const void *status, json_object **ret);
        void (*status_release)(void *status);
};

int api_object_from_json(const struct api_kind *k, json_object *obj, void **ret, struct merr *err);
int api_object_to_json(const struct api_kind *k, const void *o, json_object **ret);
int api_object_status_to_json(const struct api_kind *k, const void *o, json_object **ret);
int api_object_status_from_json(const struct api_kind *k, json_object *obj, void *ret, struct merr *err);
void *api_object_new(const struct api_kind *k, const char *name, const char *namespace);
void *api_object_free(const struct api_kind *k, void *o);

/* Declares the descriptor prefix##_kind, which the kind's .c file defines, and the kind's standard functions
 * as inline wrappers over the api_object_* functions: a wrapper nobody calls costs nothing. */
#define API_KIND_DECLARE(prefix, type, status_type)                                                         \
        extern const struct api_kind prefix##_kind;                                                         \
        static inline int prefix##_from_json(json_object *obj, type **ret, struct merr *err) {              \
                void *o = NULL;                                                                             \
                int r = api_object_from_json(&prefix##_kind, obj, &o, err);                                 \
                if (r >= 0)                                                                                 \
                        *ret = o;                                                                           \
                return r;                                                                                   \
        }                                                                                                   \
        static inline int prefix##_to_json(const type *o, json_object **ret) {                              \
                return api_object_to_json(&prefix##_kind, o, ret);                                          \
        }                                                                                                   \
        static inline int prefix##_status_to_json(const type *o, json_object **ret) {                       \
                return api_object_status_to_json(&prefix##_kind, o, ret);                                   \
        }                                                                                                   \
        static inline int prefix##_status_emit(const status_type *s, json_object **ret) {                   \
                return prefix##_kind.status_emit(s, ret);                                                   \
        }                                                                                                   \
        static inline int prefix##_status_from_json(json_object *obj, status_type *ret, struct merr *err) { \
                return api_object_status_from_json(&prefix##_kind, obj, ret, err);                          \
        }                                                                                                   \
        static inline void prefix##_status_release(status_type *s) {                                        \
                if (s)                                                                                      \
                        prefix##_kind.status_release(s);                                                    \
        }                                                                                                   \
        static inline type *prefix##_new(const char *name, const char *namespace) {                         \
                return api_object_new(&prefix##_kind, name, namespace);                                     \
        }                                                                                                   \
        static inline type *prefix##_free(type *o) {                                                        \
                return api_object_free(&prefix##_kind, o);                                                  \
        }                                                                                                   \
        DEFINE_TRIVIAL_CLEANUP_FUNC(type *, prefix##_free)

/* In the kind's .c file: defines its descriptor prefix##_kind over the file's static functions parse_spec,
 * spec_to_json, spec_release, spec_defaults, parse_status, status_emit and status_release, with what is the
 * kind's own given as designated initializers (.kind, .name_rule, .name_max, .namespaced,
 * .spec_required), and checks the layout the descriptor's offsets assume. */
#define API_KIND_DEFINE(prefix, type, status_type, ...)                                \
        _Static_assert(offsetof(type, meta) == 0, #type ": the metadata comes first"); \
        const struct api_kind prefix##_kind = {.size = sizeof(type),                   \
                .spec_offset = offsetof(type, spec),                                   \
                .has_status_offset = offsetof(type, has_status),                       \
                .status_offset = offsetof(type, status),                               \
                .status_size = sizeof(status_type),                                    \
                .spec_parse = parse_spec,                                              \
                .spec_emit = spec_to_json,                                             \
                .spec_release = spec_release,                                          \
                .spec_defaults = spec_defaults,                                        \
                .status_parse = parse_status,                                          \
                .status_emit = status_emit,                                            \
                .status_release = status_release,                                      \
                __VA_ARGS__}
