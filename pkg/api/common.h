/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the typed views of mbox.dev/v1alpha1 objects (project.h, template.h, sandbox.h, task.h):
 * object metadata, name checks, the validation-error collector, metav1.Condition, and the small field
 * parsers and emitters the four kinds are built from.
 *
 * Ownership: every char * in these structs is owned by the struct that holds it and freed by its
 * *_release() or *_free(); strings passed in are copied. json_object * values passed to the parsers are
 * borrowed; those returned by emitters are new references owned by the caller.
 *
 * Validation collects every problem rather than stopping at the first: each is recorded as
 * "<field path>: <rule>" ("spec.ports[1].port: should be less than or equal to 65535"), using the API
 * server's wording where it has one ("should match", "Too long", "Unsupported value", "Required value",
 * "Duplicate value", "must be of type", "Too many", "should have at least").
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "merr.h"
#include "quantity.h"
#include "timestamp.h"

#define API_GROUP_VERSION "mbox.dev/v1alpha1"

/* At most this many problems are kept; further ones are counted but not stored. */
#define API_ERRORS_MAX 64
#define API_PATH_MAX   512

struct api_errors {
        char *items[API_ERRORS_MAX]; /* "path: rule", owned */
        size_t n;                    /* stored */
        size_t dropped;              /* beyond API_ERRORS_MAX */
        bool oom;                    /* an allocation failed while recording or parsing */
};

#define API_ERRORS_INIT \
        { .n = 0 }

/* Records "path: <formatted rule>". */
void api_errors_add(struct api_errors *e, const char *path, const char *fmt, ...) _printf_(3, 4);
/* True when anything was recorded (or memory ran out). */
bool api_errors_any(const struct api_errors *e);
/* Returns 0 when nothing was recorded; otherwise -EINVAL (-ENOMEM when memory ran out) with all problems,
 * joined by "; ", in err (which may be NULL). */
int api_errors_to_merr(const struct api_errors *e, struct merr *err);
void api_errors_release(struct api_errors *e);

/* A name as Kubernetes' IsDNS1123Subdomain (max 253). */
bool api_is_dns_subdomain(const char *s);
/* isCIDR() of CEL (Go's netip.ParsePrefix): "10.0.0.0/8", "2001:db8::/32". */
bool api_is_cidr(const char *s);
/* cidr(outer).containsCIDR(inner); false when either does not parse or the families differ. */
bool api_cidr_contains(const char *outer, const char *inner);

/* Owned strings and key/value lists. */
struct api_strv {
        char **v;
        size_t n;
};
struct api_kv {
        char *key;
        char *value;
};
struct api_map {
        struct api_kv *items;
        size_t n;
};
void api_strv_release(struct api_strv *v);
void api_map_release(struct api_map *m);
bool api_str_equal(const char *a, const char *b); /* NULL equals only NULL */

/* Object metadata. generation, uid and resourceVersion are set by the API server: parsed when present,
 * resourceVersion emitted (for optimistic concurrency), uid and generation never emitted. */
struct api_meta {
        char *name;
        char *namespace;
        char *uid;
        char *resource_version;
        int64_t generation;
        struct api_map labels;
        struct api_map annotations;
};
enum api_name_rule {
        API_NAME_DNS_LABEL,     /* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ */
        API_NAME_DNS1035_LABEL, /* ^[a-z]([-a-z0-9]*[a-z0-9])?$ */
        API_NAME_DNS_SUBDOMAIN,
};
/* Checks apiVersion and kind, then parses metadata. name is required and must satisfy rule and max_len;
 * namespace, when present, is a DNS label (namespaced kinds) or dropped (cluster-scoped ones, as the API
 * server clears it). */
int api_meta_from_json(json_object *obj, const char *kind, enum api_name_rule rule, size_t max_len,
        bool namespaced, struct api_meta *ret, struct api_errors *e);
/* Adds apiVersion, kind and metadata to obj. */
int api_meta_to_json(const struct api_meta *m, const char *kind, json_object *obj);
/* The same two for kinds of another API group (the agent-sandbox kinds mbox writes, agentsandbox.h). */
int api_meta_from_json_gv(json_object *obj, const char *group_version, const char *kind,
        enum api_name_rule rule, size_t max_len, bool namespaced, struct api_meta *ret, struct api_errors *e);
int api_meta_to_json_gv(
        const struct api_meta *m, const char *group_version, const char *kind, json_object *obj);
void api_meta_release(struct api_meta *m);

/* metav1.Condition. status is "True", "False" or "Unknown". */
struct api_condition {
        char *type;
        char *status;
        int64_t observed_generation;
        struct timestamp last_transition_time;
        char *reason;
        char *message;
};
struct api_conditions {
        struct api_condition *items;
        size_t n;
};
/* Borrowed pointer to the condition of that type, or NULL. */
const struct api_condition *api_condition_find(const struct api_conditions *c, const char *type);
/* Sets the condition of that type (adding it when missing). lastTransitionTime becomes now only when the
 * condition is new or its status changes. Returns 1 when anything changed, 0 when not, -ENOMEM. */
int api_condition_set(struct api_conditions *c, const char *type, const char *status, const char *reason,
        const char *message, int64_t observed_generation, const struct timestamp *now);
/* The same for status builders that start each pass from an empty list (next), so that conditions come
 * in the order they are set and none is left over: lastTransitionTime is taken from the condition of that
 * type in prev (may be NULL) when its status is the same, else it is now. */
int api_condition_next(struct api_conditions *next, const struct api_conditions *prev, const char *type,
        const char *status, const char *reason, const char *message, int64_t observed_generation,
        const struct timestamp *now);
int api_conditions_from_json(
        json_object *arr, const char *path, struct api_conditions *ret, struct api_errors *e);
json_object *api_conditions_to_json(const struct api_conditions *c);
void api_conditions_release(struct api_conditions *c);

/* ---- Field parsers used by the kinds. ----
 * Each looks up key in obj (obj may be NULL: absent), records problems under "path.key" and returns 1
 * when the field was set, 0 when absent or invalid. Outputs are written only when the field is valid. */

enum api_pattern {
        API_PAT_NONE,
        API_PAT_DNS_LABEL,
        API_PAT_DNS1035_LABEL,
        API_PAT_DNS_SUBDOMAIN,
        API_PAT_IANA_SVC, /* DNS label pattern, plus the "at least one letter, no --" CEL rule */
        API_PAT_ABS_PATH, /* ^/ */
        API_PAT_NO_SPACE, /* ^[^\s]+$ */
        API_PAT_ENV_NAME, /* ^[-._a-zA-Z][-._a-zA-Z0-9]*$ */
        API_PAT_KEY,      /* ^[-._a-zA-Z0-9]+$ */
        API_PAT_DURATION, /* ^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$ plus duration > 0 */
        API_PAT_MEDIA_TYPE,
        API_PAT_CONDITION_TYPE,
        API_PAT_REASON,
        API_PAT_REPO_URL,
        API_PAT_CIDR,
};

struct api_str_rule {
        bool required;
        size_t min_len;
        size_t max_len; /* 0: none */
        enum api_pattern pattern;
        const char *const *enum_values; /* NULL-terminated, or NULL */
};

/* Checks a string against a rule; records problems under path. Returns true when valid. */
bool api_check_str(const char *s, const char *path, const struct api_str_rule *rule, struct api_errors *e);

/* True when obj (which may be NULL) is an object holding key with a non-null value: the API server prunes
 * nulls, so a null field counts as absent everywhere. */
bool api_has(json_object *obj, const char *key);

/* Joins path and key into buf ("spec" + "ports" = "spec.ports"); an empty path gives the key. */
const char *api_path(char *buf, size_t size, const char *path, const char *key);
const char *api_path_idx(char *buf, size_t size, const char *path, size_t idx);

int api_get_str(json_object *obj, const char *key, const char *path, const struct api_str_rule *rule,
        char **ret, struct api_errors *e);
int api_get_int(json_object *obj, const char *key, const char *path, bool required, int64_t min, int64_t max,
        int64_t *ret, struct api_errors *e);
int api_get_bool(json_object *obj, const char *key, const char *path, bool *ret, struct api_errors *e);
/* An object (ret borrowed) or an array within [min_items, max_items] (max 0: none). */
int api_get_obj(json_object *obj, const char *key, const char *path, bool required, json_object **ret,
        struct api_errors *e);
int api_get_arr(json_object *obj, const char *key, const char *path, bool required, size_t min_items,
        size_t max_items, json_object **ret, struct api_errors *e);
int api_get_strv(json_object *obj, const char *key, const char *path, size_t min_items, size_t max_items,
        const struct api_str_rule *item_rule, struct api_strv *ret, struct api_errors *e);
/* A string map with qualified-name keys (labels, annotations); label_values: values are label values. */
int api_get_map(json_object *obj, const char *key, const char *path, bool label_values, struct api_map *ret,
        struct api_errors *e);

/* An int-or-string quantity that must be positive ("must be a positive quantity"), max 64 characters. The
 * original text is kept and emitted as it came (an integer stays an integer). */
struct api_quantity {
        char *text; /* NULL: absent */
        bool is_int;
        struct quantity q;
};
int api_get_quantity(json_object *obj, const char *key, const char *path, bool required,
        struct api_quantity *ret, struct api_errors *e);
void api_quantity_release(struct api_quantity *q);

/* A positive Go duration string of at most 32 characters matching the CRDs' pattern. */
struct api_duration {
        char *text; /* NULL: absent */
        int64_t ns;
};
int api_get_duration(
        json_object *obj, const char *key, const char *path, struct api_duration *ret, struct api_errors *e);
void api_duration_release(struct api_duration *d);

/* Records "Duplicate value" at path[i] for the second of two items with the same key. keys may hold NULL
 * (skipped). */
void api_check_unique_keys(char *const *keys, size_t n, const char *path, struct api_errors *e);

/* Emitters: add key to obj unless the value is absent (NULL string, NULL quantity text, empty vector).
 * Return 0 or -ENOMEM. */
int api_put_str(json_object *obj, const char *key, const char *value);
int api_put_int(json_object *obj, const char *key, int64_t value);
int api_put_bool(json_object *obj, const char *key, bool value);
int api_put_strv(json_object *obj, const char *key, const struct api_strv *v);
int api_put_quantity(json_object *obj, const char *key, const struct api_quantity *q);
int api_put_obj(json_object *obj, const char *key, json_object *child); /* takes child, even on error */

/* strdup that records out-of-memory in e. */
char *api_strdup(const char *s, struct api_errors *e);

/* Environment variables (spec.env of templates, sandboxes and tasks): a list keyed by name (names unique),
 * at most 64, names matching ^[-._a-zA-Z][-._a-zA-Z0-9]*$ (1-256), values of at most 32768 characters.
 * valueFrom.secretKeyRef (templates only) excludes value. */
struct api_env_var {
        char *name;
        char *value;       /* NULL: none */
        char *secret_name; /* valueFrom.secretKeyRef; NULL: none */
        char *secret_key;
};
struct api_env {
        struct api_env_var *items;
        size_t n;
        bool set; /* the list was present (possibly empty) */
};
int api_get_env(
        json_object *obj, const char *path, bool allow_value_from, struct api_env *ret, struct api_errors *e);
int api_put_env(json_object *obj, const char *key, const struct api_env *env);
void api_env_release(struct api_env *env);
