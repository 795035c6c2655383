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

/* Where a document stands: the offset, line and column of the next byte to come. */
struct json_pos {
        size_t off;
        unsigned line, col;
};

/* Advances pos over data[0..n). */
static void advance(struct json_pos *pos, const char *data, size_t n) {
        const char *p = data, *end = data + n, *nl;

        while ((nl = memchr(p, '\n', (size_t) (end - p)))) {
                pos->line++;
                pos->col = 1;
                p = nl + 1;
        }
        pos->col += (unsigned) (end - p);
        pos->off += n;
}

static int located(struct merr *err, struct json_pos at, const char *data, size_t i, const char *what) {
        advance(&at, data, i);
        return merr_set(
                err, -EINVAL, "json: line %u, column %u (offset %zu): %s", at.line, at.col, at.off, what);
}

/* json-c accepts more than JSON even in strict mode (single-quoted strings, NaN and Infinity) and
 * saturates integers past 64 bits. Kubernetes does not, and neither do we: find those outside strings.
 * The state carries over from one piece of the document to the next. Returns the index of the offending
 * byte, or n. */
struct strict_state {
        bool in_str, esc;
        size_t digits;
        int num; /* NUM_*: where a number outside strings stands */
};

/* The JSON number grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, checked byte by byte. json-c
 * checks it too, but not across the pieces of a document fed one after the other: "75" then "3-" parses as
 * 753. */
enum {
        NUM_NONE,  /* not in a number */
        NUM_MINUS, /* after the sign */
        NUM_ZERO,  /* after a leading 0 */
        NUM_INT,   /* in the integer digits */
        NUM_DOT,   /* after the decimal point */
        NUM_FRAC,  /* in the fraction digits */
        NUM_E,     /* after the exponent mark */
        NUM_ESIGN, /* after the exponent's sign */
        NUM_EXP,   /* in the exponent digits */
        NUM_BAD,
};

static bool num_char(char c) {
        return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static bool num_complete(int st) {
        return st == NUM_ZERO || st == NUM_INT || st == NUM_FRAC || st == NUM_EXP;
}

/* The next state of a number on c (a num_char()). */
static int num_step(int st, char c) {
        bool digit = c >= '0' && c <= '9';

        switch (st) {
        case NUM_NONE:
                return c == '-' ? NUM_MINUS : c == '0' ? NUM_ZERO : digit ? NUM_INT : NUM_BAD;
        case NUM_MINUS:
                return c == '0' ? NUM_ZERO : digit ? NUM_INT : NUM_BAD;
        case NUM_ZERO:
        case NUM_INT:
                if (digit)
                        return st == NUM_INT ? NUM_INT : NUM_BAD;
                return c == '.' ? NUM_DOT : c == 'e' || c == 'E' ? NUM_E : NUM_BAD;
        case NUM_DOT:
                return digit ? NUM_FRAC : NUM_BAD;
        case NUM_FRAC:
                return digit ? NUM_FRAC : c == 'e' || c == 'E' ? NUM_E : NUM_BAD;
        case NUM_E:
                return c == '+' || c == '-' ? NUM_ESIGN : digit ? NUM_EXP : NUM_BAD;
        case NUM_ESIGN:
        case NUM_EXP:
                return digit ? NUM_EXP : NUM_BAD;
        default:
                return NUM_BAD;
        }
}

static size_t check_strict(
        struct strict_state *st, const char *data, size_t n, const char **what, size_t *ret_bad_number) {
        for (size_t i = 0; i < n; i++) {
                char c = data[i];

                /* numbers: a malformed one is only remembered (the first, where it ends), json-c usually
                 * names it itself */
                if (!st->in_str && !st->esc) {
                        if (st->num != NUM_NONE && !num_char(c)) {
                                if (!num_complete(st->num) && *ret_bad_number == SIZE_MAX)
                                        *ret_bad_number = i;
                                st->num = NUM_NONE;
                        } else if (st->num != NUM_NONE || c == '-' || (c >= '0' && c <= '9'))
                                st->num = num_step(st->num, c);
                }

                if (st->esc) {
                        st->esc = false;
                        continue;
                }
                if (st->in_str) {
                        /* skip the bulk of a string at once; JSON has no raw control characters in strings */
                        const char *q = data + i, *end = data + n;

                        while (q < end && *q != '\\' && *q != '"' && (unsigned char) *q >= 0x20)
                                q++;
                        i = (size_t) (q - data);
                        if (i == n)
                                break;
                        if ((unsigned char) *q < 0x20) {
                                *what = "control character in a string (escape it, as \\n or \\u001f)";
                                return i;
                        }
                        if (*q == '\\')
                                st->esc = true;
                        else
                                st->in_str = false;
                        continue;
                }
                if (c >= '0' && c <= '9') {
                        if (++st->digits > 20) {
                                *what = "number out of range";
                                return i;
                        }
                        continue;
                }
                st->digits = 0;
                if (c == '"')
                        st->in_str = true;
                else if (c == '\'') {
                        *what = "strings must use double quotes";
                        return i;
                } else if (c == 'N' || c == 'I') {
                        *what = "NaN and Infinity are not JSON";
                        return i;
                }
        }
        return n;
}

static void compact_one(json_object *o);

/* Numbers json-c turned into infinities, or integers it saturated, are refused rather than changed (and
 * with compact, each object's table is compacted on the way). */
static int check_numbers(json_object *o, bool compact, struct merr *err) {
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
                if (compact)
                        (void) json_object_array_shrink(o, 0);
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        r = check_numbers(json_object_array_get_idx(o, i), compact, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        case json_type_object: {
                if (compact)
                        compact_one(o);
                json_object_object_foreach (o, k, v) {
                        (void) k;
                        r = check_numbers(v, compact, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        default:
                return 0;
        }
}

/* The table of one object only. json-c sizes every object's table for 16 keys (16 entries of 40 bytes);
 * lh_table_resize() is its own way to rebuild a table at another size, keeping the order of the keys. */
static void compact_one(json_object *o) {
        struct lh_table *t = json_object_get_object(o);
        int n, want;

        if (!t)
                return;
        n = lh_table_length(t);
        want = n + n / 2 + 1; /* stays under json-c's load factor of 0.66 */
        if (n < INT32_MAX / 2 && want < t->size)
                (void) lh_table_resize(t, want); /* on failure the table stays as it was */
}

void json_compact(json_object *obj) {
        switch (json_object_get_type(obj)) {
        case json_type_array:
                (void) json_object_array_shrink(obj, 0); /* arrays start with 32 slots */
                for (size_t i = 0; i < json_object_array_length(obj); i++)
                        json_compact(json_object_array_get_idx(obj, i));
                return;
        case json_type_object: {
                compact_one(obj);
                json_object_object_foreach (obj, k, v) {
                        (void) k;
                        json_compact(v);
                }
                return;
        }
        default:
                return;
        }
}

struct json_stream {
        json_tokener *tok;
        unsigned flags;
        struct json_pos pos; /* of the next byte to come */
        struct strict_state strict;
        bool done;       /* the value is complete; only whitespace may follow */
        bool bad_number; /* a malformed number json-c accepted, at bad_number_at */
        struct json_pos bad_number_at;
        char carry[4]; /* the start of a UTF-8 sequence held back from the last piece */
        size_t ncarry;
        int error;          /* < 0 after a failure */
        json_object *value; /* once done */
        /* JSON_PARSE_COMPACT: per tokener level, the array being built there and how many of its elements
         * (complete once they are in it) are compacted already */
        int levels;
        json_object **arrays;
        size_t *compacted;
};

int json_stream_new(int max_depth, unsigned flags, struct json_stream **ret) {
        struct json_stream *s;
        int depth = max_depth > 0 ? max_depth : JSON_DEFAULT_MAX_DEPTH;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->flags = flags;
        s->pos = (struct json_pos){.off = 0, .line = 1, .col = 1};
        s->tok = json_tokener_new_ex(depth);
        if (!s->tok) {
                free(s);
                return -ENOMEM;
        }
        json_tokener_set_flags(s->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        if (flags & JSON_PARSE_COMPACT) {
                s->levels = depth;
                s->arrays = calloc((size_t) depth, sizeof(*s->arrays));
                s->compacted = calloc((size_t) depth, sizeof(*s->compacted));
                if (!s->arrays || !s->compacted) {
                        json_stream_free(s);
                        return -ENOMEM;
                }
        }
        *ret = s;
        return 0;
}

struct json_stream *json_stream_free(struct json_stream *s) {
        if (!s)
                return NULL;
        if (s->tok)
                json_tokener_free(s->tok);
        json_object_put(s->value);
        free(s->arrays);
        free(s->compacted);
        free(s);
        return NULL;
}

size_t json_stream_bytes(const struct json_stream *s) {
        return s->pos.off + s->ncarry;
}

/* Compacts the elements added to the arrays under construction since the last call, so that a large list
 * never exists at full size. json-c adds an element to its array only once the element is complete; the
 * tokener's stack is in its public header (struct json_tokener, marked as internal). */
static void compact_progress(struct json_stream *s) {
        json_tokener *tok = s->tok;
        int top = tok->depth < s->levels ? tok->depth : s->levels - 1;

        for (int d = 0; d <= top; d++) {
                json_object *cur = tok->stack[d].current;
                size_t n;

                if (!cur || !json_object_is_type(cur, json_type_array)) {
                        s->arrays[d] = NULL;
                        continue;
                }
                if (s->arrays[d] != cur) {
                        s->arrays[d] = cur;
                        s->compacted[d] = 0;
                }
                n = json_object_array_length(cur);
                for (size_t i = s->compacted[d]; i < n; i++)
                        json_compact(json_object_array_get_idx(cur, i));
                s->compacted[d] = n;
        }
        for (int d = top + 1; d < s->levels && s->arrays[d]; d++)
                s->arrays[d] = NULL;
}

/* Only whitespace may follow the value: checks data[from..n). */
static int trailing(struct json_stream *s, const char *data, size_t from, size_t n, struct merr *err) {
        for (size_t i = from; i < n; i++)
                if (!strchr(" \t\r\n", data[i]))
                        return s->error = located(err, s->pos, data, i, "unexpected data after the document");
        return 0;
}

/* How many bytes at the end of data[0..n) start a UTF-8 sequence that is not complete yet (0 to 3). */
static size_t utf8_incomplete_tail(const char *data, size_t n) {
        size_t k = 0, need;
        unsigned char lead;

        while (k < 3 && k < n && ((unsigned char) data[n - 1 - k] & 0xC0) == 0x80)
                k++;
        if (k == n)
                return 0;
        lead = (unsigned char) data[n - 1 - k];
        need = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
        return need > k + 1 ? k + 1 : 0;
}

/* One piece: checks, then the tokenizer. json-c validates UTF-8 within one call only (a sequence split
 * between two calls is refused), so unless this is the last piece, an incomplete sequence at its end is
 * held back and goes in front of the next one. */
static int feed_piece(struct json_stream *s, const char *data, size_t len, bool last, struct merr *err) {
        enum json_tokener_error jerr;
        const char *what = NULL, *nul;
        size_t i, end, bad_number = SIZE_MAX;
        json_object *obj;

        if (!last) {
                size_t hold = utf8_incomplete_tail(data, len);

                memcpy(s->carry, data + len - hold, hold);
                s->ncarry = hold;
                len -= hold;
        }
        if (len == 0)
                return 0;
        nul = memchr(data, '\0', len);
        if (nul)
                return s->error = located(err, s->pos, data, (size_t) (nul - data), "NUL byte in document");
        i = check_strict(&s->strict, data, len, &what, &bad_number);
        if (what)
                return s->error = located(err, s->pos, data, i, what);
        if (s->done) {
                if (trailing(s, data, 0, len, err) < 0)
                        return s->error;
                advance(&s->pos, data, len);
                return 0;
        }
        /* the tokenizer's own errors first, as json_parse() has always reported them; then what it missed
         * (a malformed number in trailing data is left to the trailing check) */
        obj = json_tokener_parse_ex(s->tok, data, (int) len);
        jerr = json_tokener_get_error(s->tok);
        end = json_tokener_get_parse_end(s->tok);
        if (jerr != json_tokener_continue && jerr != json_tokener_success) {
                json_object_put(obj);
                return s->error = located(err, s->pos, data, end, json_tokener_error_desc(jerr));
        }
        /* a malformed number json-c let through fails the document, after any error json-c reports */
        if (bad_number != SIZE_MAX && !s->bad_number) {
                s->bad_number = true;
                s->bad_number_at = s->pos;
                advance(&s->bad_number_at, data, bad_number);
        }
        if (jerr == json_tokener_continue) {
                if (s->flags & JSON_PARSE_COMPACT)
                        compact_progress(s);
                advance(&s->pos, data, len);
                return 0;
        }
        s->done = true;
        s->value = obj;
        if (trailing(s, data, end, len, err) < 0)
                return s->error;
        advance(&s->pos, data, len);
        return 0;
}

static int feed(struct json_stream *s, const char *data, size_t len, bool last, struct merr *err) {
        int r;

        if (s->error < 0)
                return s->error;
        if (len > INT32_MAX)
                return s->error = merr_set(err, -E2BIG, "json document of %zu bytes is too large", len);
        while (s->ncarry > 0 && (len > 0 || last)) {
                /* the held-back start of a sequence, with enough of the new data to complete it (which can
                 * hold back the start of another) */
                char tmp[8];
                size_t k = len < 4 ? len : 4, n = s->ncarry;

                memcpy(tmp, s->carry, n);
                memcpy(tmp + n, data, k);
                s->ncarry = 0;
                r = feed_piece(s, tmp, n + k, last && k == len, err);
                if (r < 0)
                        return r;
                data += k;
                len -= k;
        }
        return len > 0 ? feed_piece(s, data, len, last, err) : 0;
}

int json_stream_feed(struct json_stream *s, const char *data, size_t len, struct merr *err) {
        return feed(s, data, len, false, err);
}

int json_stream_finish(struct json_stream *s, json_object **ret, struct merr *err) {
        json_object *obj;
        int r;

        if (s->error < 0)
                return s->error;
        if (s->ncarry > 0) {
                r = feed(s, "", 0, true, err);
                if (r < 0)
                        return r;
        }
        if (!s->done) {
                /* a number at the very end is only complete once the tokenizer sees the end of input */
                bool ok = false;

                obj = NULL;
                if (s->pos.off > 0) {
                        obj = json_tokener_parse_ex(s->tok, "", 1);
                        ok = json_tokener_get_error(s->tok) == json_tokener_success; /* obj NULL: null */
                }
                if (!ok) {
                        json_object_put(obj);
                        return s->error = merr_set(err, -EINVAL, "json: line %u, column %u (offset %zu): %s",
                                       s->pos.line, s->pos.col, s->pos.off, "unexpected end of input");
                }
                s->done = true;
                s->value = obj;
        }
        r = check_numbers(s->value, s->flags & JSON_PARSE_COMPACT, err);
        if (r < 0)
                return s->error = r;
        if (!s->bad_number && s->strict.num != NUM_NONE && !num_complete(s->strict.num)) {
                s->bad_number = true;
                s->bad_number_at = s->pos;
        }
        if (s->bad_number)
                return s->error = merr_set(err, -EINVAL, "json: line %u, column %u (offset %zu): %s",
                               s->bad_number_at.line, s->bad_number_at.col, s->bad_number_at.off,
                               "malformed number");
        *ret = TAKE_PTR(s->value);
        s->error = -EALREADY;
        return 0;
}

int json_parse(const char *data, size_t len, int max_depth, json_object **ret, struct merr *err) {
        _cleanup_(json_stream_freep) struct json_stream *s = NULL;
        int r;

        if (len > INT32_MAX)
                return merr_set(err, -E2BIG, "json document of %zu bytes is too large", len);
        r = json_stream_new(max_depth, 0, &s);
        if (r < 0)
                return merr_set(err, r, "json: out of memory");
        r = feed(s, data, len, true, err); /* one piece: nothing held back */
        if (r < 0)
                return r;
        return json_stream_finish(s, ret, err);
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
                        if (!json_object_is_type(cur, json_type_array) ||
                                idx >= json_object_array_length(cur))
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

static int get_typed(json_object *obj, const char *path, unsigned flags, json_type want,
        const char *want_label, json_object **ret, struct merr *err) {
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
