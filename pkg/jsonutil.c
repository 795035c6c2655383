/* SPDX-License-Identifier: Apache-2.0 */
#include "jsonutil.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define JSON_PATH_MAX 1024

const char *json_type_label(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "boolean";
        case json_type_double:
                return "number";
        case json_type_int:
                return "integer";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "unknown";
}

static void locate(const char *data, size_t off, unsigned *ret_line, unsigned *ret_col) {
        unsigned line = 1, col = 1;

        for (size_t i = 0; i < off; i++) {
                if (data[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

/* json-c accepts more than JSON even in strict mode (single-quoted strings, NaN and Infinity) and
 * saturates integers past 64 bits. Kubernetes does not, and neither do we: find those outside strings. */
static int check_strict(const char *data, size_t len, struct merr *err) {
        bool in_str = false;
        size_t digits = 0;
        unsigned line, col;
        const char *what = NULL;
        size_t i;

        for (i = 0; i < len && !what; i++) {
                char c = data[i];

                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                if (c >= '0' && c <= '9') {
                        if (++digits > 20)
                                what = "number out of range";
                        continue;
                }
                digits = 0;
                if (c == '"')
                        in_str = true;
                else if (c == '\'')
                        what = "strings must use double quotes";
                else if (c == 'N' || c == 'I')
                        what = "NaN and Infinity are not JSON";
        }
        if (!what)
                return 0;
        locate(data, i - 1, &line, &col);
        return merr_set(err, -EINVAL, "json: line %u, column %u (offset %zu): %s", line, col, i - 1, what);
}

/* Numbers json-c turned into infinities, or integers it saturated, are refused rather than changed. */
static int check_numbers(json_object *o, struct merr *err) {
        int r;

        switch (json_object_get_type(o)) {
        case json_type_double:
                if (!isfinite(json_object_get_double(o)))
                        return merr_set(err, -EINVAL, "json: number out of range");
                return 0;
        case json_type_int:
                if (json_object_get_int64(o) == INT64_MAX && json_object_get_uint64(o) == UINT64_MAX)
                        return merr_set(err, -EINVAL, "json: integer out of range");
                return 0;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        r = check_numbers(json_object_array_get_idx(o, i), err);
                        if (r < 0)
                                return r;
                }
                return 0;
        case json_type_object: {
                json_object_object_foreach(o, k, v) {
                        (void) k;
                        r = check_numbers(v, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        default:
                return 0;
        }
}

int json_parse(const char *data, size_t len, int max_depth, json_object **ret, struct merr *err) {
        json_tokener *tok;
        json_object *obj;
        enum json_tokener_error jerr;
        unsigned line, col;
        size_t off;
        int r;

        if (len > INT32_MAX)
                return merr_set(err, -E2BIG, "json document of %zu bytes is too large", len);
        if (len > 0 && memchr(data, '\0', len)) {
                off = (size_t) ((const char *) memchr(data, '\0', len) - data);
                locate(data, off, &line, &col);
                return merr_set(err, -EINVAL, "json: line %u, column %u (offset %zu): NUL byte in document", line,
                        col, off);
        }
        r = check_strict(data, len, err);
        if (r < 0)
                return r;
        tok = json_tokener_new_ex(max_depth > 0 ? max_depth : JSON_DEFAULT_MAX_DEPTH);
        if (!tok)
                return merr_set(err, -ENOMEM, "json: out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        obj = json_tokener_parse_ex(tok, data, (int) len);
        jerr = json_tokener_get_error(tok);
        off = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue) {
                /* a number at the very end is only complete once the tokenizer sees the end of input */
                obj = json_tokener_parse_ex(tok, "", 1);
                jerr = json_tokener_get_error(tok);
                if (jerr == json_tokener_success)
                        off = len;
                else if (jerr == json_tokener_continue || off >= len) {
                        jerr = json_tokener_continue;
                        off = len;
                }
        }
        json_tokener_free(tok);
        if (jerr != json_tokener_success) {
                json_object_put(obj);
                locate(data, off, &line, &col);
                return merr_set(err, -EINVAL, "json: line %u, column %u (offset %zu): %s", line, col, off,
                        jerr == json_tokener_continue ? "unexpected end of input"
                                                      : json_tokener_error_desc(jerr));
        }
        for (; off < len; off++)
                if (!strchr(" \t\r\n", data[off])) {
                        json_object_put(obj);
                        locate(data, off, &line, &col);
                        return merr_set(err, -EINVAL,
                                "json: line %u, column %u (offset %zu): unexpected data after the document", line,
                                col, off);
                }
        r = check_numbers(obj, err);
        if (r < 0) {
                json_object_put(obj);
                return r;
        }
        *ret = obj;
        return 0;
}

/* Walks one segment: "key", "key[3]", "key[3][4]", with backslash escapes in keys. */
int json_lookup(json_object *obj, const char *path, json_object **ret, struct merr *err) {
        char key[JSON_PATH_MAX];
        const char *p = path;
        json_object *cur = obj;

        if (!path || strlen(path) >= JSON_PATH_MAX)
                return merr_set(err, -EINVAL, "json path is empty or too long");
        while (*p) {
                size_t k = 0;

                while (*p && *p != '.' && *p != '[') {
                        if (*p == '\\' && p[1])
                                p++;
                        key[k++] = *p++;
                }
                key[k] = '\0';
                if (k > 0) {
                        json_object *next;

                        if (!json_object_is_type(cur, json_type_object) ||
                                !json_object_object_get_ex(cur, key, &next))
                                return 0;
                        cur = next;
                } else if (*p != '[')
                        return merr_set(err, -EINVAL, "json path '%s' has an empty segment", path);
                while (*p == '[') {
                        char *end;
                        unsigned long idx;

                        if (p[1] < '0' || p[1] > '9')
                                return merr_set(err, -EINVAL, "json path '%s' has a bad index", path);
                        errno = 0;
                        idx = strtoul(p + 1, &end, 10);
                        if (errno != 0 || *end != ']')
                                return merr_set(err, -EINVAL, "json path '%s' has a bad index", path);
                        if (!json_object_is_type(cur, json_type_array) || idx >= json_object_array_length(cur))
                                return 0;
                        cur = json_object_array_get_idx(cur, idx);
                        p = end + 1;
                }
                if (*p == '.') {
                        p++;
                        if (!*p)
                                return merr_set(err, -EINVAL, "json path '%s' ends with a dot", path);
                } else if (*p)
                        return merr_set(err, -EINVAL, "json path '%s' is malformed", path);
        }
        if (!cur)
                return 0;
        if (ret)
                *ret = cur;
        return 1;
}

static int get_typed(json_object *obj, const char *path, unsigned flags, json_type want, const char *want_label,
        json_object **ret, struct merr *err) {
        json_object *v = NULL;
        int r;

        r = json_lookup(obj, path, &v, err);
        if (r < 0)
                return r;
        if (r == 0 || json_object_is_type(v, json_type_null)) {
                if (flags & JSON_OPTIONAL)
                        return 0;
                return merr_set(err, -ENOENT, "field '%s': required value is missing", path);
        }
        if (!json_object_is_type(v, want) &&
                !(want == json_type_double && json_object_is_type(v, json_type_int)))
                return merr_set(err, -EINVAL, "field '%s': expected %s, got %s", path, want_label,
                        json_type_label(v));
        *ret = v;
        return 1;
}

int json_get_object(json_object *obj, const char *path, unsigned flags, json_object **ret, struct merr *err) {
        return get_typed(obj, path, flags, json_type_object, "object", ret, err);
}

int json_get_array(json_object *obj, const char *path, unsigned flags, json_object **ret, struct merr *err) {
        return get_typed(obj, path, flags, json_type_array, "array", ret, err);
}

int json_get_string(json_object *obj, const char *path, unsigned flags, const char **ret, struct merr *err) {
        json_object *v;
        int r;

        r = get_typed(obj, path, flags, json_type_string, "string", &v, err);
        if (r > 0)
                *ret = json_object_get_string(v);
        return r;
}

int json_get_bool(json_object *obj, const char *path, unsigned flags, bool *ret, struct merr *err) {
        json_object *v;
        int r;

        r = get_typed(obj, path, flags, json_type_boolean, "boolean", &v, err);
        if (r > 0)
                *ret = json_object_get_boolean(v);
        return r;
}

int json_get_int_range(json_object *obj, const char *path, unsigned flags, int64_t min, int64_t max,
        int64_t *ret, struct merr *err) {
        json_object *v;
        int64_t n;
        int r;

        r = get_typed(obj, path, flags, json_type_int, "integer", &v, err);
        if (r <= 0)
                return r;
        /* json-c saturates out-of-range integers and says so through errno */
        errno = 0;
        n = json_object_get_int64(v);
        if (errno == EINVAL || (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX))
                return merr_set(err, -ERANGE, "field '%s': integer out of range", path);
        if (n < min || n > max)
                return merr_set(err, -ERANGE, "field '%s': %lld is outside %lld..%lld", path, (long long) n,
                        (long long) min, (long long) max);
        *ret = n;
        return 1;
}

int json_get_int64(json_object *obj, const char *path, unsigned flags, int64_t *ret, struct merr *err) {
        return json_get_int_range(obj, path, flags, INT64_MIN, INT64_MAX, ret, err);
}

int json_get_double(json_object *obj, const char *path, unsigned flags, double *ret, struct merr *err) {
        json_object *v;
        int r;

        r = get_typed(obj, path, flags, json_type_double, "number", &v, err);
        if (r > 0)
                *ret = json_object_get_double(v);
        return r;
}
