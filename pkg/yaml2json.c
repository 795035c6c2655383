/* SPDX-License-Identifier: Apache-2.0 */
#include "yaml2json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <yaml.h>

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"
/* How much of a user value an error message quotes. */
#define SHOW_MAX 64

struct anchor {
        json_object *obj; /* a reference of our own; NULL is JSON null */
        size_t nodes;     /* nodes in the subtree, what an alias to it costs */
        size_t height;    /* 0 for a scalar, 1 + the tallest child for a collection */
        size_t decl;      /* order of declaration in the document */
        bool collection;
};

struct frame {
        json_object *obj; /* the array or object under construction, owned */
        char *anchor;     /* owned, NULL when none */
        size_t anchor_decl;
        yaml_mark_t mark;
        size_t nodes_start; /* builder.nodes before this node was counted */
        size_t height;      /* tallest child so far */
        bool is_map;
        /* mappings: the key waiting for its value */
        bool have_key;
        bool key_is_merge;
        char *key; /* owned */
        yaml_mark_t key_mark;
        json_object *merges; /* owned array of the mappings "<<" brought in, NULL when none */
};

struct builder {
        struct yaml_limits lim;
        const char *data;
        size_t len;
        size_t max_docs; /* 0: any number */
        struct merr *err;

        struct frame *stack;
        size_t depth;
        size_t stack_alloc;

        json_object *docs; /* owned array */
        json_object *root; /* owned, the finished root of the current document */
        yaml_mark_t doc_mark;

        struct anchor *anchors; /* of the current document */
        size_t n_anchors;
        size_t anchors_alloc;
        json_object *anchor_index; /* anchor name -> index in anchors; latest definition wins */
        size_t anchor_decls;       /* anchors declared so far; numbers them */

        size_t nodes;       /* in the whole stream */
        size_t alias_nodes; /* of those, produced by aliases */
};

_printf_(4, 5) static int fail_at(struct builder *b, int code, yaml_mark_t mark, const char *fmt, ...) {
        char what[MERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return merr_set(b->err, code, "line %zu, column %zu: %s", mark.line + 1, mark.column + 1, what);
}

static int fail_oom(struct builder *b) {
        return merr_set(b->err, -ENOMEM, "out of memory converting YAML to JSON");
}

/* A user value for an error message: at most SHOW_MAX bytes, cut on a character boundary, with control
 * characters escaped so that the message stays on one line. */
static const char *show(const char *s, size_t len, char *out, size_t outsz) {
        size_t i, o = 0;
        bool cut = false;

        if (len > SHOW_MAX) {
                len = SHOW_MAX;
                while (len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80)
                        len--;
                cut = true;
        }
        for (i = 0; i < len && o + 8 < outsz; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
                        o += (size_t) snprintf(out + o, outsz - o, "\\x%02x", c);
                else
                        out[o++] = (char) c;
        }
        if (i < len)
                cut = true;
        (void) snprintf(out + o, outsz - o, "%s", cut ? "..." : "");
        return out;
}

#define SHOW_BUF (SHOW_MAX * 4 + 8)

/* "!!int" for the core schema's tags, the tag itself otherwise. */
static const char *show_tag(const char *tag, char *out, size_t outsz) {
        char tmp[SHOW_BUF];

        if (strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0) {
                const char *rest = tag + strlen(YAML_TAG_PREFIX);

                (void) snprintf(out, outsz, "!!%s", show(rest, strlen(rest), tmp, sizeof(tmp)));
                return out;
        }
        return show(tag, strlen(tag), out, outsz);
}

static bool tag_is(const char *tag, const char *name) {
        size_t n = strlen(YAML_TAG_PREFIX);

        return strncmp(tag, YAML_TAG_PREFIX, n) == 0 && strcmp(tag + n, name) == 0;
}

/* Scalar resolution (YAML 1.2 core schema). */

static bool is_null_word(const char *s, size_t len) {
        return len == 0 || (len == 1 && s[0] == '~') ||
               (len == 4 &&
                       (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

/* 1 true, 0 false, -1 not a boolean */
static int bool_word(const char *s, size_t len) {
        if (len == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 || memcmp(s, "TRUE", 4) == 0))
                return 1;
        if (len == 5 &&
                (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 || memcmp(s, "FALSE", 5) == 0))
                return 0;
        return -1;
}

static int digit_value(char c, unsigned base) {
        unsigned v;

        if (c >= '0' && c <= '9')
                v = (unsigned) (c - '0');
        else if (c >= 'a' && c <= 'f')
                v = (unsigned) (c - 'a') + 10;
        else if (c >= 'A' && c <= 'F')
                v = (unsigned) (c - 'A') + 10;
        else
                return -1;
        return v < base ? (int) v : -1;
}

/* Returns 1 and sets *ret when s is an integer of the core schema, 0 when it is not one, -ERANGE when it is
 * one that does not fit in int64. */
static int parse_int(const char *s, size_t len, int64_t *ret) {
        unsigned base = 10;
        bool neg = false;
        uint64_t v = 0, limit;
        size_t i = 0;

        if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
                base = s[1] == 'x' ? 16 : 8;
                i = 2;
        } else if (len > 0 && (s[0] == '-' || s[0] == '+')) {
                neg = s[0] == '-';
                i = 1;
        }
        if (i >= len)
                return 0;
        for (size_t j = i; j < len; j++)
                if (digit_value(s[j], base) < 0)
                        return 0;
        /* kubectl (go-yaml v2) reads a leading zero as octal, and manifests rely on it ("defaultMode: 0644") */
        if (base == 10 && len - i > 1 && s[i] == '0') {
                bool octal = true;

                for (size_t j = i; j < len && octal; j++)
                        octal = s[j] >= '0' && s[j] <= '7';
                if (octal)
                        base = 8;
        }

        limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
        for (; i < len; i++) {
                uint64_t d = (uint64_t) digit_value(s[i], base);

                if (v > (limit - d) / base)
                        return -ERANGE;
                v = v * base + d;
        }
        if (neg)
                *ret = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
        else
                *ret = (int64_t) v;
        return 1;
}

static size_t skip_digits(const char *s, size_t i, size_t len) {
        while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
        return i;
}

/* Returns 1 when s matches the core schema's float syntax (finite forms only), 2 when it is one of the
 * infinity or NaN words, 0 otherwise. */
static int float_syntax(const char *s, size_t len) {
        size_t i = 0, j;

        if (len == 4 && (memcmp(s, ".nan", 4) == 0 || memcmp(s, ".NaN", 4) == 0 || memcmp(s, ".NAN", 4) == 0))
                return 2;
        if (i < len && (s[i] == '-' || s[i] == '+'))
                i++;
        if (len - i == 4 && (memcmp(s + i, ".inf", 4) == 0 || memcmp(s + i, ".Inf", 4) == 0 ||
                                    memcmp(s + i, ".INF", 4) == 0))
                return 2;
        if (i < len && s[i] == '.') {
                j = skip_digits(s, i + 1, len);
                if (j == i + 1)
                        return 0;
                i = j;
        } else {
                j = skip_digits(s, i, len);
                if (j == i)
                        return 0;
                i = j;
                if (i < len && s[i] == '.')
                        i = skip_digits(s, i + 1, len);
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < len && (s[i] == '-' || s[i] == '+'))
                        i++;
                j = skip_digits(s, i, len);
                if (j == i)
                        return 0;
                i = j;
        }
        return i == len ? 1 : 0;
}

/* The shortest text that reads back as d (finite), always valid JSON: plain decimals for magnitudes from 1e-6
 * to below 1e18 ("1000", "0.000025", as Go's encoding/json writes them), an exponent otherwise ("1e+18",
 * "1.5e-7"). Go switches at 1e21, but an integral literal past int64 is misread by JSON parsers that store
 * integers in int64 (json-c clamps it), so large values keep their exponent. The caller runs in the C locale. */
static int format_double(double d, char *out, size_t outsz) {
        char sci[40], mant[24];
        const char *e;
        int p, exp10, n;

        for (p = 1; p <= 17; p++) {
                (void) snprintf(sci, sizeof(sci), "%.*e", p - 1, d);
                if (strtod(sci, NULL) == d)
                        break;
        }
        e = strchr(sci, 'e');
        if (!e || p > 17)
                return -EINVAL;
        exp10 = 0;
        for (const char *q = e + 2; *q; q++)
                exp10 = exp10 * 10 + (*q - '0');
        if (e[1] == '-')
                exp10 = -exp10;
        if (exp10 >= -6 && exp10 < 18) {
                n = snprintf(out, outsz, "%.*f", p - 1 - exp10 > 0 ? p - 1 - exp10 : 0, d);
        } else {
                (void) snprintf(mant, sizeof(mant), "%.*s", (int) (e - sci), sci);
                n = snprintf(out, outsz, "%se%c%d", mant, e[1], exp10 < 0 ? -exp10 : exp10);
        }
        return n > 0 && (size_t) n < outsz ? 0 : -EINVAL;
}

/* s is NUL-terminated and has float syntax. The caller runs in the C locale. */
static int make_double(struct builder *b, const char *s, size_t len, yaml_mark_t mark, json_object **ret) {
        char text[40], shown[SHOW_BUF];
        char *end = NULL;
        json_object *o;
        double d;
        int r;

        d = strtod(s, &end);
        if (end != s + len)
                return fail_at(b, -EINVAL, mark, "invalid float '%s'", show(s, len, shown, sizeof(shown)));
        if (isinf(d) || isnan(d))
                return fail_at(
                        b, -EINVAL, mark, "float '%s' out of range", show(s, len, shown, sizeof(shown)));

        r = format_double(d, text, sizeof(text));
        if (r < 0)
                return fail_at(b, -EINVAL, mark, "float '%s' cannot be formatted",
                        show(s, len, shown, sizeof(shown)));
        o = json_object_new_double_s(d, text);
        if (!o)
                return fail_oom(b);
        *ret = o;
        return 0;
}

static int make_int(struct builder *b, const char *s, size_t len, yaml_mark_t mark, json_object **ret) {
        char shown[SHOW_BUF];
        int64_t v = 0;
        json_object *o;
        int r;

        r = parse_int(s, len, &v);
        if (r == -ERANGE)
                return fail_at(
                        b, -EINVAL, mark, "integer '%s' out of range", show(s, len, shown, sizeof(shown)));
        if (r == 0)
                return fail_at(
                        b, -EINVAL, mark, "invalid !!int value '%s'", show(s, len, shown, sizeof(shown)));
        o = json_object_new_int64(v);
        if (!o)
                return fail_oom(b);
        *ret = o;
        return 0;
}

static int make_string(struct builder *b, const char *s, size_t len, yaml_mark_t mark, json_object **ret) {
        json_object *o;

        if (len > INT_MAX) /* json-c's limit, reachable only with max_bytes past 2 GiB */
                return fail_at(b, -E2BIG, mark, "string of %zu bytes is too long for JSON", len);

        o = json_object_new_string_len(s, (int) len);
        if (!o)
                return fail_oom(b);
        *ret = o;
        return 0;
}

static int make_bool(struct builder *b, bool v, json_object **ret) {
        json_object *o;

        o = json_object_new_boolean(v);
        if (!o)
                return fail_oom(b);
        *ret = o;
        return 0;
}

static int nonfinite(struct builder *b, const char *s, size_t len, yaml_mark_t mark) {
        char shown[SHOW_BUF];

        return fail_at(b, -EINVAL, mark, "'%s' cannot be represented in JSON (no infinity or NaN)",
                show(s, len, shown, sizeof(shown)));
}

/* The JSON value of a scalar event; NULL in *ret is JSON null. */
static int resolve_scalar(struct builder *b, const yaml_event_t *ev, json_object **ret) {
        const char *s = (const char *) ev->data.scalar.value;
        const char *tag = (const char *) ev->data.scalar.tag;
        size_t len = ev->data.scalar.length;
        yaml_mark_t mark = ev->start_mark;
        char shown[SHOW_BUF];
        int64_t iv;
        int r;

        if (!tag) {
                if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                        return make_string(b, s, len, mark, ret);
                if (is_null_word(s, len)) {
                        *ret = NULL;
                        return 0;
                }
                r = bool_word(s, len);
                if (r >= 0)
                        return make_bool(b, r, ret);
                /* only these can start a number */
                if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+' || s[0] == '.'))
                        return make_string(b, s, len, mark, ret);
                r = parse_int(s, len, &iv);
                if (r != 0)
                        return make_int(b, s, len, mark, ret);
                r = float_syntax(s, len);
                if (r == 2)
                        return nonfinite(b, s, len, mark);
                if (r == 1)
                        return make_double(b, s, len, mark, ret);
                return make_string(b, s, len, mark, ret);
        }

        if (strcmp(tag, "!") == 0 || tag_is(tag, "str"))
                return make_string(b, s, len, mark, ret);
        if (tag_is(tag, "int"))
                return make_int(b, s, len, mark, ret);
        if (tag_is(tag, "float")) {
                r = float_syntax(s, len);
                if (r == 2)
                        return nonfinite(b, s, len, mark);
                if (r == 0)
                        return fail_at(b, -EINVAL, mark, "invalid !!float value '%s'",
                                show(s, len, shown, sizeof(shown)));
                return make_double(b, s, len, mark, ret);
        }
        if (tag_is(tag, "bool")) {
                r = bool_word(s, len);
                if (r < 0)
                        return fail_at(b, -EINVAL, mark, "invalid !!bool value '%s'",
                                show(s, len, shown, sizeof(shown)));
                return make_bool(b, r, ret);
        }
        if (tag_is(tag, "null")) {
                if (!is_null_word(s, len))
                        return fail_at(b, -EINVAL, mark, "invalid !!null value '%s'",
                                show(s, len, shown, sizeof(shown)));
                *ret = NULL;
                return 0;
        }
        if (tag_is(tag, "map") || tag_is(tag, "seq"))
                return fail_at(b, -EINVAL, mark, "tag '%s' on a scalar", show_tag(tag, shown, sizeof(shown)));
        return fail_at(b, -EINVAL, mark, "unknown tag '%s'", show_tag(tag, shown, sizeof(shown)));
}

/* The string a scalar becomes as a mapping key. */
static int key_string(struct builder *b, json_object *o, yaml_mark_t mark, char **ret) {
        char shown[SHOW_BUF];
        const char *s;
        char *k;
        size_t len;

        switch (json_object_get_type(o)) {
        case json_type_null:
                s = "null";
                len = 4;
                break;
        case json_type_string:
                s = json_object_get_string(o);
                len = (size_t) json_object_get_string_len(o);
                if (memchr(s, '\0', len))
                        return fail_at(b, -EINVAL, mark, "mapping key '%s' contains a NUL character",
                                show(s, len, shown, sizeof(shown)));
                break;
        case json_type_boolean:
        case json_type_int:
        case json_type_double:
                /* their JSON text: true/false, the decimal integer, our shortest float form */
                s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
                if (!s)
                        return fail_oom(b);
                len = strlen(s);
                break;
        default:
                return fail_at(b, -EINVAL, mark, "mapping keys must be scalars");
        }
        k = strndup(s, len);
        if (!k)
                return fail_oom(b);
        *ret = k;
        return 0;
}

/* Anchors. */

static void anchors_clear(struct builder *b) {
        for (size_t i = 0; i < b->n_anchors; i++)
                json_object_put(b->anchors[i].obj);
        b->n_anchors = 0;
        json_object_put(b->anchor_index);
        b->anchor_index = NULL;
}

/* Records a complete anchored node; takes a reference to obj, name stays the caller's. */
static int anchor_register(struct builder *b, const char *name, size_t decl, json_object *obj, size_t nodes,
        size_t height, bool collection) {
        json_object *idx;

        if (!b->anchor_index) {
                b->anchor_index = json_object_new_object();
                if (!b->anchor_index)
                        return fail_oom(b);
        }
        if (b->n_anchors == b->anchors_alloc) {
                size_t n = b->anchors_alloc ? b->anchors_alloc * 2 : 16;
                struct anchor *a = reallocarray(b->anchors, n, sizeof(*a));

                if (!a)
                        return fail_oom(b);
                b->anchors = a;
                b->anchors_alloc = n;
        }
        idx = json_object_new_int64((int64_t) b->n_anchors);
        if (!idx)
                return fail_oom(b);
        if (json_object_object_add(b->anchor_index, name, idx) < 0) {
                json_object_put(idx);
                return fail_oom(b);
        }
        b->anchors[b->n_anchors++] = (struct anchor){
                .obj = json_object_get(obj),
                .nodes = nodes,
                .height = height,
                .decl = decl,
                .collection = collection,
        };
        return 0;
}

static int anchor_lookup(struct builder *b, const yaml_event_t *ev, const struct anchor **ret) {
        const char *name = (const char *) ev->data.alias.anchor;
        char shown[SHOW_BUF];
        json_object *idx;

        const struct anchor *a = NULL;

        if (b->anchor_index && json_object_object_get_ex(b->anchor_index, name, &idx))
                a = &b->anchors[json_object_get_int64(idx)];
        /* an alias refers to the latest declaration of its name, which may be a node still open around it */
        for (size_t i = 0; i < b->depth; i++)
                if (b->stack[i].anchor && strcmp(b->stack[i].anchor, name) == 0 &&
                        (!a || b->stack[i].anchor_decl > a->decl))
                        return fail_at(b, -EINVAL, ev->start_mark,
                                "alias '%s' refers to a node that contains it",
                                show(name, strlen(name), shown, sizeof(shown)));
        if (!a)
                return fail_at(b, -EINVAL, ev->start_mark, "undefined alias '%s'",
                        show(name, strlen(name), shown, sizeof(shown)));
        *ret = a;
        return 0;
}

/* Node accounting. */

static int count_nodes(struct builder *b, size_t n, yaml_mark_t mark) {
        if (n > b->lim.max_nodes - b->nodes)
                return fail_at(b, -E2BIG, mark, "more than %zu nodes in the input (aliases included)",
                        b->lim.max_nodes);
        b->nodes += n;
        return 0;
}

/* Building. */

static void frame_release(struct frame *f) {
        json_object_put(f->obj);
        json_object_put(f->merges);
        free(f->anchor);
        free(f->key);
        *f = (struct frame){};
}

static struct frame *top(struct builder *b) {
        return b->depth > 0 ? &b->stack[b->depth - 1] : NULL;
}

static bool expecting_key(struct builder *b) {
        struct frame *f = top(b);

        return f && f->is_map && !f->have_key;
}

/* The value of a "<<" key: a mapping, or a sequence of mappings, whose entries the mapping takes. Takes obj. */
static int add_merge(struct builder *b, struct frame *f, json_object *obj) {
        json_object *list = obj;
        size_t n;

        if (json_object_is_type(obj, json_type_object)) {
                list = json_object_new_array();
                if (!list || json_object_array_add(list, obj) < 0) {
                        json_object_put(list);
                        json_object_put(obj);
                        return fail_oom(b);
                }
        } else if (!json_object_is_type(obj, json_type_array)) {
                json_object_put(obj);
                return fail_at(b, -EINVAL, f->key_mark,
                        "the value of merge key '<<' must be a mapping or a sequence of mappings");
        }
        n = json_object_array_length(list);
        for (size_t i = 0; i < n; i++)
                if (!json_object_is_type(json_object_array_get_idx(list, i), json_type_object)) {
                        json_object_put(list);
                        return fail_at(b, -EINVAL, f->key_mark,
                                "the value of merge key '<<' must be a mapping or a sequence of mappings");
                }
        if (!f->merges) {
                f->merges = list;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_get(json_object_array_get_idx(list, i));

                if (json_object_array_add(f->merges, m) < 0) {
                        json_object_put(m);
                        json_object_put(list);
                        return fail_oom(b);
                }
        }
        json_object_put(list);
        return 0;
}

/* Keys already in the mapping win; among merged mappings the first one wins. */
static int apply_merges(struct builder *b, struct frame *f) {
        size_t n = json_object_array_length(f->merges);

        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(f->merges, i);

                json_object_object_foreach (m, mk, mv) {
                        if (json_object_object_get_ex(f->obj, mk, NULL))
                                continue;
                        if (json_object_object_add(f->obj, mk, json_object_get(mv)) < 0) {
                                json_object_put(mv);
                                return fail_oom(b);
                        }
                }
        }
        json_object_put(f->merges);
        f->merges = NULL;
        return 0;
}

/* A node is complete: attach it to its parent (or make it the document's root). Takes obj. */
static int attach(struct builder *b, json_object *obj, size_t height) {
        struct frame *f = top(b);
        int r;

        if (!f) {
                json_object_put(b->root);
                b->root = obj;
                return 0;
        }
        if (height > f->height)
                f->height = height;
        if (!f->is_map) {
                if (json_object_array_add(f->obj, obj) < 0) {
                        json_object_put(obj);
                        return fail_oom(b);
                }
                return 0;
        }
        if (f->key_is_merge) {
                r = add_merge(b, f, obj);
        } else {
                r = json_object_object_add(f->obj, f->key, obj) < 0 ? fail_oom(b) : 0;
                if (r < 0)
                        json_object_put(obj);
        }
        free(f->key);
        f->key = NULL;
        f->have_key = false;
        f->key_is_merge = false;
        return r;
}

/* The current mapping receives its next key; obj (taken) is the key's scalar value, or NULL for JSON null. */
static int set_key(struct builder *b, json_object *obj, bool merge, yaml_mark_t mark) {
        struct frame *f = top(b);
        char shown[SHOW_BUF];
        _cleanup_free_ char *k = NULL;
        int r;

        r = key_string(b, obj, mark, &k);
        json_object_put(obj);
        if (r < 0)
                return r;
        if (merge) {
                if (f->merges)
                        return fail_at(b, -EINVAL, mark, "duplicate merge key '<<'");
        } else if (json_object_object_get_ex(f->obj, k, NULL)) {
                return fail_at(
                        b, -EINVAL, mark, "duplicate key '%s'", show(k, strlen(k), shown, sizeof(shown)));
        }
        f->key = TAKE_PTR(k);
        f->key_mark = mark;
        f->have_key = true;
        f->key_is_merge = merge;
        return 0;
}

static bool is_merge_key(const yaml_event_t *ev) {
        const char *tag = (const char *) ev->data.scalar.tag;

        if (ev->data.scalar.length != 2 || memcmp(ev->data.scalar.value, "<<", 2) != 0)
                return false;
        if (tag)
                return tag_is(tag, "merge");
        return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev) {
        const char *anchor = (const char *) ev->data.scalar.anchor;
        const char *tag = (const char *) ev->data.scalar.tag;
        json_object *obj = NULL;
        bool key = expecting_key(b), merge = false;
        int r;

        r = count_nodes(b, 1, ev->start_mark);
        if (r < 0)
                return r;

        if (tag && tag_is(tag, "merge")) {
                if (!key || !is_merge_key(ev))
                        return fail_at(
                                b, -EINVAL, ev->start_mark, "tag '!!merge' is only valid on a '<<' key");
                merge = true;
        } else if (key) {
                merge = is_merge_key(ev);
        }
        if (merge) {
                obj = json_object_new_string("<<");
                if (!obj)
                        return fail_oom(b);
        } else {
                r = resolve_scalar(b, ev, &obj);
                if (r < 0)
                        return r;
        }

        if (anchor) {
                r = anchor_register(b, anchor, ++b->anchor_decls, obj, 1, 0, false);
                if (r < 0) {
                        json_object_put(obj);
                        return r;
                }
        }
        if (key)
                return set_key(b, obj, merge, ev->start_mark);
        return attach(b, obj, 0);
}

static int on_alias(struct builder *b, const yaml_event_t *ev) {
        const char *name = (const char *) ev->data.alias.anchor;
        const struct anchor *a = NULL;
        json_object *copy = NULL;
        char shown[SHOW_BUF];
        int r;

        r = anchor_lookup(b, ev, &a);
        if (r < 0)
                return r;

        if (expecting_key(b)) {
                if (a->collection)
                        return fail_at(b, -EINVAL, ev->start_mark,
                                "mapping keys must be scalars (alias '%s')",
                                show(name, strlen(name), shown, sizeof(shown)));
                r = count_nodes(b, 1, ev->start_mark);
                if (r < 0)
                        return r;
                return set_key(b, json_object_get(a->obj), false, ev->start_mark);
        }

        /* everything is checked before anything is copied */
        if (a->nodes > b->lim.max_alias_expansion - b->alias_nodes)
                return fail_at(b, -E2BIG, ev->start_mark,
                        "alias '%s' expands past the limit of %zu nodes from aliases",
                        show(name, strlen(name), shown, sizeof(shown)), b->lim.max_alias_expansion);
        if (b->depth + a->height > b->lim.max_depth)
                return fail_at(b, -E2BIG, ev->start_mark, "alias '%s' nests deeper than %zu levels",
                        show(name, strlen(name), shown, sizeof(shown)), b->lim.max_depth);
        r = count_nodes(b, a->nodes, ev->start_mark);
        if (r < 0)
                return r;
        b->alias_nodes += a->nodes;

        if (a->obj && json_object_deep_copy(a->obj, &copy, NULL) < 0) {
                json_object_put(copy);
                return fail_oom(b);
        }
        return attach(b, copy, a->height);
}

static int on_collection_start(struct builder *b, const yaml_event_t *ev, bool is_map) {
        const char *tag = (const char *) (is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
        const char *anchor =
                (const char *) (is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
        char shown[SHOW_BUF];
        struct frame *f;
        size_t nodes_start = b->nodes;
        int r;

        if (expecting_key(b))
                return fail_at(b, -EINVAL, ev->start_mark, "mapping keys must be scalars, not a %s",
                        is_map ? "mapping" : "sequence");
        if (tag && strcmp(tag, "!") != 0 && !tag_is(tag, is_map ? "map" : "seq")) {
                if (tag_is(tag, "str") || tag_is(tag, "int") || tag_is(tag, "float") || tag_is(tag, "bool") ||
                        tag_is(tag, "null") || tag_is(tag, is_map ? "seq" : "map"))
                        return fail_at(b, -EINVAL, ev->start_mark, "tag '%s' on a %s",
                                show_tag(tag, shown, sizeof(shown)), is_map ? "mapping" : "sequence");
                return fail_at(
                        b, -EINVAL, ev->start_mark, "unknown tag '%s'", show_tag(tag, shown, sizeof(shown)));
        }
        if (b->depth >= b->lim.max_depth)
                return fail_at(b, -E2BIG, ev->start_mark, "nesting deeper than %zu levels", b->lim.max_depth);
        r = count_nodes(b, 1, ev->start_mark);
        if (r < 0)
                return r;

        if (b->depth == b->stack_alloc) {
                size_t n = b->stack_alloc ? b->stack_alloc * 2 : 16;
                struct frame *s = reallocarray(b->stack, n, sizeof(*s));

                if (!s)
                        return fail_oom(b);
                b->stack = s;
                b->stack_alloc = n;
        }
        f = &b->stack[b->depth];
        *f = (struct frame){
                .is_map = is_map,
                .mark = ev->start_mark,
                .nodes_start = nodes_start,
        };
        f->obj = is_map ? json_object_new_object() : json_object_new_array();
        if (!f->obj)
                return fail_oom(b);
        if (anchor) {
                f->anchor = strdup(anchor);
                f->anchor_decl = ++b->anchor_decls;
                if (!f->anchor) {
                        frame_release(f);
                        return fail_oom(b);
                }
        }
        b->depth++;
        return 0;
}

static int on_collection_end(struct builder *b) {
        struct frame *f = top(b);
        json_object *obj;
        size_t height;
        int r = 0;

        /* libyaml guarantees balanced events and a value for every key */
        if (f->merges)
                r = apply_merges(b, f);
        if (r >= 0 && f->anchor)
                r = anchor_register(
                        b, f->anchor, f->anchor_decl, f->obj, b->nodes - f->nodes_start, f->height + 1, true);
        obj = TAKE_PTR(f->obj);
        height = f->height + 1;
        frame_release(f);
        b->depth--;
        if (r < 0) {
                json_object_put(obj);
                return r;
        }
        return attach(b, obj, height);
}

static int on_document_start(struct builder *b, const yaml_event_t *ev) {
        b->doc_mark = ev->start_mark;
        return 0;
}

static int on_document_end(struct builder *b) {
        json_object *root = TAKE_PTR(b->root);

        anchors_clear(b);
        if (!root) /* empty or null: skipped, as kubectl does */
                return 0;
        if (b->max_docs > 0 && json_object_array_length(b->docs) >= b->max_docs) {
                json_object_put(root);
                return fail_at(b, -EINVAL, b->doc_mark, "expected a single document, found another one here");
        }
        if (json_object_array_add(b->docs, root) < 0) {
                json_object_put(root);
                return fail_oom(b);
        }
        return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev) {
        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                return on_document_start(b, ev);
        case YAML_DOCUMENT_END_EVENT:
                return on_document_end(b);
        case YAML_SCALAR_EVENT:
                return on_scalar(b, ev);
        case YAML_ALIAS_EVENT:
                return on_alias(b, ev);
        case YAML_SEQUENCE_START_EVENT:
                return on_collection_start(b, ev, false);
        case YAML_MAPPING_START_EVENT:
                return on_collection_start(b, ev, true);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                return on_collection_end(b);
        default:
                return 0;
        }
}

static void builder_release(struct builder *b) {
        while (b->depth > 0)
                frame_release(&b->stack[--b->depth]);
        free(b->stack);
        anchors_clear(b);
        free(b->anchors);
        json_object_put(b->root);
        json_object_put(b->docs);
        *b = (struct builder){};
}

/* Errors from libyaml. */

static bool is_line_break(const char *s, size_t i, size_t len, size_t *width) {
        unsigned char c = (unsigned char) s[i];

        if (c == '\n') {
                *width = 1;
                return true;
        }
        if (c == '\r') {
                *width = i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
                return true;
        }
        /* libyaml also breaks lines at NEL, LS and PS */
        if (c == 0xC2 && i + 1 < len && (unsigned char) s[i + 1] == 0x85) {
                *width = 2;
                return true;
        }
        if (c == 0xE2 && i + 2 < len && (unsigned char) s[i + 1] == 0x80 &&
                ((unsigned char) s[i + 2] == 0xA8 || (unsigned char) s[i + 2] == 0xA9)) {
                *width = 3;
                return true;
        }
        return false;
}

/* The line and column of a byte offset, counted like libyaml's marks (0-based, columns in characters). */
static yaml_mark_t mark_of_offset(const char *s, size_t len, size_t offset) {
        yaml_mark_t m = {.index = offset};
        size_t i = 0, w;

        if (offset > len)
                offset = len;
        while (i < offset) {
                if (is_line_break(s, i, len, &w)) {
                        m.line++;
                        m.column = 0;
                        i += w;
                        continue;
                }
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        m.column++;
                i++;
        }
        return m;
}

/* The byte at a mark, or -1 (the input is valid UTF-8 up to a scanner or parser error). */
static int byte_at_mark(const char *s, size_t len, yaml_mark_t mark) {
        size_t i = 0, line = 0, col = 0, w;

        while (i < len && line < mark.line) {
                if (is_line_break(s, i, len, &w)) {
                        line++;
                        i += w;
                } else {
                        i++;
                }
        }
        while (i < len && col < mark.column) {
                i++;
                while (i < len && ((unsigned char) s[i] & 0xC0) == 0x80)
                        i++;
                col++;
        }
        return i < len ? (unsigned char) s[i] : -1;
}

static int parser_error(struct builder *b, const yaml_parser_t *p) {
        const char *problem = p->problem ? p->problem : "unknown error";
        char context[256] = "";
        yaml_mark_t m;

        switch (p->error) {
        case YAML_MEMORY_ERROR:
        case YAML_NO_ERROR: /* some of libyaml 0.2.5's allocation failures record no error */
                return fail_oom(b);
        case YAML_READER_ERROR:
                m = mark_of_offset(b->data, b->len, p->problem_offset);
                if (strstr(problem, "UTF-8") || strstr(problem, "octet")) {
                        if (p->problem_value >= 0)
                                return fail_at(b, -EINVAL, m, "input is not valid UTF-8 (%s 0x%02x)", problem,
                                        (unsigned) p->problem_value);
                        return fail_at(b, -EINVAL, m, "input is not valid UTF-8 (%s)", problem);
                }
                if (p->problem_value >= 0)
                        return fail_at(b, -EINVAL, m, "%s (U+%04X)", problem, (unsigned) p->problem_value);
                return fail_at(b, -EINVAL, m, "%s", problem);
        case YAML_SCANNER_ERROR:
        case YAML_PARSER_ERROR:
                if (byte_at_mark(b->data, b->len, p->problem_mark) == '\t')
                        return fail_at(b, -EINVAL, p->problem_mark,
                                "%s: a tab (YAML does not allow tabs for indentation)", problem);
                /* where the construct being parsed started, when that is somewhere else */
                if (p->context && (p->context_mark.line != p->problem_mark.line ||
                                          p->context_mark.column != p->problem_mark.column))
                        (void) snprintf(context, sizeof(context), " (%s at line %zu, column %zu)", p->context,
                                p->context_mark.line + 1, p->context_mark.column + 1);
                return fail_at(b, -EINVAL, p->problem_mark, "%s%s", problem, context);
        default:
                return fail_at(b, -EINVAL, p->problem_mark, "%s", problem);
        }
}

struct parser {
        yaml_parser_t p;
        bool initialized;
};

static void parser_release(struct parser *p) {
        if (p->initialized)
                yaml_parser_delete(&p->p);
        p->initialized = false;
}

static int convert(const char *data, size_t len, const struct yaml_limits *lim, size_t max_docs,
        json_object **ret_docs, struct merr *err) {
        static const struct yaml_limits defaults = YAML_LIMITS_DEFAULT;
        _cleanup_(builder_release) struct builder b = {
                .lim = lim ? *lim : defaults,
                .data = data ? data : "",
                .len = len,
                .max_docs = max_docs,
                .err = err,
        };
        _cleanup_(parser_release) struct parser p = {};
        int r;

        if (b.lim.max_bytes == 0)
                b.lim.max_bytes = defaults.max_bytes;
        if (b.lim.max_depth == 0)
                b.lim.max_depth = defaults.max_depth;
        if (b.lim.max_nodes == 0)
                b.lim.max_nodes = defaults.max_nodes;
        if (b.lim.max_alias_expansion == 0)
                b.lim.max_alias_expansion = defaults.max_alias_expansion;

        if (!data && len > 0)
                return merr_set(err, -EINVAL, "no input data");
        if (len > b.lim.max_bytes)
                return merr_set(err, -E2BIG, "input of %zu bytes is larger than the limit of %zu bytes", len,
                        b.lim.max_bytes);

        b.docs = json_object_new_array();
        if (!b.docs)
                return fail_oom(&b);
        if (!yaml_parser_initialize(&p.p))
                return fail_oom(&b);
        p.initialized = true;
        yaml_parser_set_input_string(&p.p, (const unsigned char *) b.data, len);
        yaml_parser_set_encoding(&p.p, YAML_UTF8_ENCODING);

        for (;;) {
                yaml_event_t ev;
                bool end;

                if (!yaml_parser_parse(&p.p, &ev))
                        return parser_error(&b, &p.p);
                r = on_event(&b, &ev);
                end = ev.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&ev);
                if (r < 0)
                        return r;
                if (end)
                        break;
        }
        *ret_docs = TAKE_PTR(b.docs);
        return 0;
}

/* Numbers are read and written in the C locale whatever the program's locale is; uselocale() is per
 * thread, so this does not disturb other threads. */
static int convert_in_c_locale(const char *data, size_t len, const struct yaml_limits *lim, size_t max_docs,
        json_object **ret_docs, struct merr *err) {
        locale_t c, old;
        int r;

        c = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
        if (!c)
                return merr_set(err, -ENOMEM, "out of memory converting YAML to JSON");
        old = uselocale(c);
        r = convert(data, len, lim, max_docs, ret_docs, err);
        (void) uselocale(old);
        freelocale(c);
        return r;
}

int yaml_to_json(const char *data, size_t len, const struct yaml_limits *lim, json_object **ret_docs,
        struct merr *err) {
        return convert_in_c_locale(data, len, lim, 0, ret_docs, err);
}

int yaml_to_json_one(
        const char *data, size_t len, const struct yaml_limits *lim, json_object **ret, struct merr *err) {
        json_object *docs = NULL;
        int r;

        r = convert_in_c_locale(data, len, lim, 1, &docs, err);
        if (r < 0)
                return r;
        if (json_object_array_length(docs) == 0) {
                json_object_put(docs);
                return merr_set(err, -EINVAL, "no document in the input (only empty or null documents)");
        }
        *ret = json_object_get(json_object_array_get_idx(docs, 0));
        json_object_put(docs);
        return 0;
}
