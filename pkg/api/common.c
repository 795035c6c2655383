/* SPDX-License-Identifier: Apache-2.0 */
#include "api/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"

void api_errors_add(struct api_errors *e, const char *path, const char *fmt, ...) {
        char rule[768], *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(rule, sizeof(rule), fmt, ap);
        va_end(ap);
        if (e->n >= API_ERRORS_MAX) {
                e->dropped++;
                return;
        }
        if (asprintf(&s, "%s: %s", path, rule) < 0) {
                e->oom = true;
                return;
        }
        e->items[e->n++] = s;
}

bool api_errors_any(const struct api_errors *e) {
        return e->n > 0 || e->dropped > 0 || e->oom;
}

int api_errors_to_merr(const struct api_errors *e, struct merr *err) {
        char msg[MERR_MSG_MAX];
        size_t off = 0;

        if (!api_errors_any(e))
                return 0;
        if (e->oom && e->n == 0)
                return merr_set(err, -ENOMEM, "out of memory");
        msg[0] = '\0';
        for (size_t i = 0; i < e->n && off < sizeof(msg); i++) {
                int r = snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? "; " : "", e->items[i]);
                if (r < 0)
                        break;
                off += (size_t) r;
        }
        if (e->dropped && off < sizeof(msg))
                (void) snprintf(msg + off, sizeof(msg) - off, "; and %zu more", e->dropped);
        return merr_set(err, e->oom ? -ENOMEM : -EINVAL, "%s", msg);
}

void api_errors_release(struct api_errors *e) {
        for (size_t i = 0; i < e->n; i++)
                free(e->items[i]);
        e->n = 0;
        e->dropped = 0;
        e->oom = false;
}

char *api_strdup(const char *s, struct api_errors *e) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d && e)
                e->oom = true;
        return d;
}

/* ---- character-level matchers ---- */

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}
static bool is_alnum(char c) {
        return is_alpha(c) || is_digit(c);
}
static bool is_re2_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ over s[0..n), no length limit */
static bool match_label(const char *s, size_t n, bool first_letter) {
        if (n == 0)
                return false;
        if (first_letter ? !(s[0] >= 'a' && s[0] <= 'z') : !is_lower_alnum(s[0]))
                return false;
        if (!is_lower_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool match_subdomain(const char *s, size_t n) {
        size_t start = 0;

        if (n == 0)
                return false;
        for (size_t i = 0; i <= n; i++)
                if (i == n || s[i] == '.') {
                        if (!match_label(s + start, i - start, false))
                                return false;
                        start = i + 1;
                }
        return true;
}

bool api_is_dns_subdomain(const char *s) {
        size_t n = strlen(s);
        return n <= 253 && match_subdomain(s, n);
}

static bool iana_extra(const char *s) {
        bool letter = false;

        for (const char *p = s; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        letter = true;
        return letter && !strstr(s, "--");
}

/* ^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$ */
static bool match_duration(const char *s) {
        const char *p = s;

        if (!*p)
                return false;
        while (*p) {
                if (!is_digit(*p))
                        return false;
                while (is_digit(*p))
                        p++;
                if (*p == '.') {
                        p++;
                        if (!is_digit(*p))
                                return false;
                        while (is_digit(*p))
                                p++;
                }
                if (strncmp(p, "ns", 2) == 0 || strncmp(p, "us", 2) == 0 || strncmp(p, "ms", 2) == 0)
                        p += 2;
                else if (strncmp(p, "\xc2\xb5s", 3) == 0 || strncmp(p, "\xce\xbcs", 3) == 0)
                        p += 3;
                else if (*p == 's' || *p == 'm' || *p == 'h')
                        p++;
                else
                        return false;
        }
        return true;
}

static bool is_token_char(char c) {
        return is_alnum(c) || (c && strchr("!#$&^_.+-", c));
}

/* ^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]* / [A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$ (RE2: . excludes \n) */
static bool match_media_type(const char *s) {
        const char *p = s;

        for (int part = 0; part < 2; part++) {
                if (!is_alnum(*p))
                        return false;
                while (is_token_char(*p))
                        p++;
                if (part == 0) {
                        if (*p != '/')
                                return false;
                        p++;
                }
        }
        if (!*p)
                return true;
        while (is_re2_space(*p))
                p++;
        if (*p != ';')
                return false;
        return !strchr(p, '\n');
}

/* ^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$ */
static bool match_qualified_name(const char *s, size_t max_name) {
        const char *slash = strchr(s, '/'), *name = s;
        size_t n;

        if (slash) {
                if (!match_subdomain(s, (size_t) (slash - s)))
                        return false;
                name = slash + 1;
        }
        n = strlen(name);
        if (n == 0 || (max_name && n > max_name))
                return false;
        if (!is_alnum(name[0]) || !is_alnum(name[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(name[i]) && !strchr("-_.", name[i]))
                        return false;
        return true;
}

/* ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$ */
static bool match_reason(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || !is_alpha(s[0]))
                return false;
        if (!is_alnum(s[n - 1]) && s[n - 1] != '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_,:", s[i]))
                        return false;
        return true;
}

/* '^(https?|ssh|git)://[^\s/]+(/[^\s]*)?$' or '^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$' */
static bool match_repo_url(const char *s) {
        static const char *const schemes[] = {"http://", "https://", "ssh://", "git://"};
        const char *p;

        for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
                size_t l = strlen(schemes[i]);
                if (strncmp(s, schemes[i], l) != 0)
                        continue;
                p = s + l;
                if (!*p || *p == '/' || is_re2_space(*p))
                        break;
                while (*p && *p != '/' && !is_re2_space(*p))
                        p++;
                while (*p && !is_re2_space(*p))
                        p++;
                if (!*p)
                        return true;
                break;
        }
        p = s;
        if (!is_alnum(*p) && !strchr("._-", *p))
                return false;
        while (*p && (is_alnum(*p) || strchr("._-", *p)))
                p++;
        if (*p++ != '@')
                return false;
        if (!is_alnum(*p) && *p != '.' && *p != '-')
                return false;
        while (*p && (is_alnum(*p) || *p == '.' || *p == '-'))
                p++;
        if (*p++ != ':')
                return false;
        if (!*p)
                return false;
        for (; *p; p++)
                if (is_re2_space(*p))
                        return false;
        return true;
}

struct cidr {
        int family;
        unsigned char addr[16];
        unsigned bits;
};

static bool parse_cidr(const char *s, struct cidr *ret) {
        char host[64];
        const char *slash = strchr(s, '/');
        const char *b;
        size_t hl;
        unsigned bits = 0, maxbits;

        if (!slash)
                return false;
        hl = (size_t) (slash - s);
        if (hl == 0 || hl >= sizeof(host))
                return false;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (strchr(host, ':')) {
                ret->family = AF_INET6;
                maxbits = 128;
        } else {
                ret->family = AF_INET;
                maxbits = 32;
        }
        if (inet_pton(ret->family, host, ret->addr) != 1)
                return false;
        b = slash + 1;
        if (!*b || (b[0] == '0' && b[1]) || strlen(b) > 3)
                return false;
        for (; *b; b++) {
                if (!is_digit(*b))
                        return false;
                bits = bits * 10 + (unsigned) (*b - '0');
        }
        if (bits > maxbits)
                return false;
        ret->bits = bits;
        return true;
}

bool api_is_cidr(const char *s) {
        struct cidr c;
        return parse_cidr(s, &c);
}

bool api_cidr_contains(const char *outer, const char *inner) {
        struct cidr o, i;

        if (!parse_cidr(outer, &o) || !parse_cidr(inner, &i) || o.family != i.family || i.bits < o.bits)
                return false;
        for (unsigned bit = 0; bit < o.bits; bit++) {
                unsigned char m = (unsigned char) (0x80u >> (bit % 8));
                if ((o.addr[bit / 8] & m) != (i.addr[bit / 8] & m))
                        return false;
        }
        return true;
}

/* ---- strings, vectors, maps ---- */

bool api_str_equal(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

void api_strv_release(struct api_strv *v) {
        for (size_t i = 0; i < v->n; i++)
                free(v->v[i]);
        free(v->v);
        v->v = NULL;
        v->n = 0;
}

void api_map_release(struct api_map *m) {
        for (size_t i = 0; i < m->n; i++) {
                free(m->items[i].key);
                free(m->items[i].value);
        }
        free(m->items);
        m->items = NULL;
        m->n = 0;
}

/* ---- paths and field parsers ---- */

const char *api_path(char *buf, size_t size, const char *path, const char *key) {
        if (!path || !*path)
                (void) snprintf(buf, size, "%s", key);
        else
                (void) snprintf(buf, size, "%s.%s", path, key);
        return buf;
}

const char *api_path_idx(char *buf, size_t size, const char *path, size_t idx) {
        (void) snprintf(buf, size, "%s[%zu]", path, idx);
        return buf;
}

static json_object *lookup(json_object *obj, const char *key) {
        json_object *v = NULL;

        if (!obj || !json_object_is_type(obj, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(obj, key, &v))
                return NULL;
        return v; /* NULL for JSON null: absent, as the API server prunes it */
}

bool api_has(json_object *obj, const char *key) {
        return lookup(obj, key) != NULL;
}

static void type_error(struct api_errors *e, const char *path, const char *want, json_object *v) {
        api_errors_add(e, path, "Invalid value: \"%s\": %s in body must be of type %s: \"%s\"",
                json_type_label(v), path, want, json_type_label(v));
}

static const char *pattern_text(enum api_pattern p) {
        switch (p) {
        case API_PAT_DNS_LABEL:
        case API_PAT_IANA_SVC:
                return "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
        case API_PAT_DNS1035_LABEL:
                return "^[a-z]([-a-z0-9]*[a-z0-9])?$";
        case API_PAT_DNS_SUBDOMAIN:
                return "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
        case API_PAT_ABS_PATH:
                return "^/";
        case API_PAT_NO_SPACE:
                return "^[^\\s]+$";
        case API_PAT_ENV_NAME:
                return "^[-._a-zA-Z][-._a-zA-Z0-9]*$";
        case API_PAT_KEY:
                return "^[-._a-zA-Z0-9]+$";
        case API_PAT_DURATION:
                return "^([0-9]+(\\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$";
        case API_PAT_MEDIA_TYPE:
                return "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\\s*;.*)?$";
        case API_PAT_CONDITION_TYPE:
                return "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/"
                       ")?(([A-Za-z0-9][-A-Za-"
                       "z0-9_.]*)?[A-Za-z0-9])$";
        case API_PAT_REASON:
                return "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
        default:
                return "";
        }
}

static bool match_pattern(const char *s, enum api_pattern p) {
        size_t n = strlen(s);

        switch (p) {
        case API_PAT_NONE:
        case API_PAT_REPO_URL:
        case API_PAT_CIDR:
                return true;
        case API_PAT_DNS_LABEL:
        case API_PAT_IANA_SVC:
                return match_label(s, n, false);
        case API_PAT_DNS1035_LABEL:
                return match_label(s, n, true);
        case API_PAT_DNS_SUBDOMAIN:
                return match_subdomain(s, n);
        case API_PAT_ABS_PATH:
                return s[0] == '/';
        case API_PAT_NO_SPACE:
                if (n == 0)
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (is_re2_space(s[i]))
                                return false;
                return true;
        case API_PAT_ENV_NAME:
                if (n == 0 || !(is_alpha(s[0]) || strchr("-._", s[0])))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!is_alnum(s[i]) && !strchr("-._", s[i]))
                                return false;
                return true;
        case API_PAT_KEY:
                if (n == 0)
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!is_alnum(s[i]) && !strchr("-._", s[i]))
                                return false;
                return true;
        case API_PAT_DURATION:
                return match_duration(s);
        case API_PAT_MEDIA_TYPE:
                return match_media_type(s);
        case API_PAT_CONDITION_TYPE:
                return match_qualified_name(s, 0);
        case API_PAT_REASON:
                return match_reason(s);
        }
        return false;
}

/* Kubernetes counts maxLength in characters (runes). */
static size_t utf8_len(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

bool api_check_str(const char *s, const char *path, const struct api_str_rule *rule, struct api_errors *e) {
        size_t n = utf8_len(s);

        if (rule->enum_values) {
                bool found = false;
                char list[512];
                size_t off = 0;

                for (const char *const *v = rule->enum_values; *v; v++)
                        if (strcmp(*v, s) == 0)
                                found = true;
                if (found)
                        return true;
                list[0] = '\0';
                for (const char *const *v = rule->enum_values; *v && off < sizeof(list); v++) {
                        int r = snprintf(list + off, sizeof(list) - off, "%s\"%s\"", off ? ", " : "", *v);
                        if (r < 0)
                                break;
                        off += (size_t) r;
                }
                api_errors_add(e, path, "Unsupported value: \"%.128s\": supported values: %s", s, list);
                return false;
        }
        if (rule->max_len && n > rule->max_len) {
                api_errors_add(e, path, "Too long: may not be more than %zu bytes", rule->max_len);
                return false;
        }
        if (n < rule->min_len) {
                api_errors_add(e, path, "Invalid value: \"%.128s\": should be at least %zu chars long", s,
                        rule->min_len);
                return false;
        }
        if (!match_pattern(s, rule->pattern)) {
                api_errors_add(e, path, "Invalid value: \"%.128s\": should match '%s'", s,
                        pattern_text(rule->pattern));
                return false;
        }
        switch (rule->pattern) {
        case API_PAT_IANA_SVC:
                if (!iana_extra(s)) {
                        api_errors_add(e, path,
                                "Invalid value: \"%.128s\": must contain at least one letter and no two "
                                "consecutive hyphens (an IANA service name)",
                                s);
                        return false;
                }
                break;
        case API_PAT_DURATION: {
                int64_t ns;
                if (duration_parse(s, &ns, NULL) < 0 || ns <= 0) {
                        api_errors_add(e, path,
                                "Invalid value: \"%.128s\": must be a positive duration such as 30m, 12h or "
                                "1h30m",
                                s);
                        return false;
                }
                break;
        }
        case API_PAT_REPO_URL:
                if (!match_repo_url(s)) {
                        api_errors_add(e, path,
                                "Invalid value: \"%.128s\": must be an http(s), ssh or git URL or an "
                                "scp-like "
                                "git@host:path",
                                s);
                        return false;
                }
                break;
        case API_PAT_CIDR:
                if (!api_is_cidr(s)) {
                        api_errors_add(e, path,
                                "Invalid value: \"%.128s\": must be a CIDR such as 10.0.0.0/8 or "
                                "2001:db8::/32",
                                s);
                        return false;
                }
                break;
        default:
                break;
        }
        return true;
}

int api_get_str(json_object *obj, const char *key, const char *path, const struct api_str_rule *rule,
        char **ret, struct api_errors *e) {
        char p[API_PATH_MAX];
        json_object *v = lookup(obj, key);
        const char *s;

        api_path(p, sizeof(p), path, key);
        if (!v) {
                if (rule->required)
                        api_errors_add(e, p, "Required value");
                return 0;
        }
        if (!json_object_is_type(v, json_type_string)) {
                type_error(e, p, "string", v);
                return 0;
        }
        s = json_object_get_string(v);
        if ((size_t) json_object_get_string_len(v) != strlen(s)) {
                api_errors_add(e, p, "Invalid value: must not contain NUL characters");
                return 0;
        }
        if (!api_check_str(s, p, rule, e))
                return 0;
        *ret = api_strdup(s, e);
        return *ret ? 1 : 0;
}

int api_get_int(json_object *obj, const char *key, const char *path, bool required, int64_t min, int64_t max,
        int64_t *ret, struct api_errors *e) {
        char p[API_PATH_MAX];
        json_object *v = lookup(obj, key);
        int64_t x;

        api_path(p, sizeof(p), path, key);
        if (!v) {
                if (required)
                        api_errors_add(e, p, "Required value");
                return 0;
        }
        if (!json_object_is_type(v, json_type_int)) {
                type_error(e, p, "integer", v);
                return 0;
        }
        errno = 0;
        x = json_object_get_int64(v);
        if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX) {
                api_errors_add(e, p, "Invalid value: should be less than or equal to %lld", (long long) max);
                return 0;
        }
        if (x < min) {
                api_errors_add(e, p, "Invalid value: %lld: should be greater than or equal to %lld",
                        (long long) x, (long long) min);
                return 0;
        }
        if (x > max) {
                api_errors_add(e, p, "Invalid value: %lld: should be less than or equal to %lld",
                        (long long) x, (long long) max);
                return 0;
        }
        *ret = x;
        return 1;
}

int api_get_bool(json_object *obj, const char *key, const char *path, bool *ret, struct api_errors *e) {
        char p[API_PATH_MAX];
        json_object *v = lookup(obj, key);

        api_path(p, sizeof(p), path, key);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_boolean)) {
                type_error(e, p, "boolean", v);
                return 0;
        }
        *ret = json_object_get_boolean(v);
        return 1;
}

int api_get_obj(json_object *obj, const char *key, const char *path, bool required, json_object **ret,
        struct api_errors *e) {
        char p[API_PATH_MAX];
        json_object *v = lookup(obj, key);

        api_path(p, sizeof(p), path, key);
        if (!v) {
                if (required)
                        api_errors_add(e, p, "Required value");
                return 0;
        }
        if (!json_object_is_type(v, json_type_object)) {
                type_error(e, p, "object", v);
                return 0;
        }
        *ret = v;
        return 1;
}

int api_get_arr(json_object *obj, const char *key, const char *path, bool required, size_t min_items,
        size_t max_items, json_object **ret, struct api_errors *e) {
        char p[API_PATH_MAX];
        json_object *v = lookup(obj, key);
        size_t n;

        api_path(p, sizeof(p), path, key);
        if (!v) {
                if (required)
                        api_errors_add(e, p, "Required value");
                return 0;
        }
        if (!json_object_is_type(v, json_type_array)) {
                type_error(e, p, "array", v);
                return 0;
        }
        n = json_object_array_length(v);
        if (max_items && n > max_items) {
                api_errors_add(e, p, "Too many: %zu: must have at most %zu items", n, max_items);
                return 0;
        }
        if (n < min_items) {
                api_errors_add(e, p, "Invalid value: %zu: should have at least %zu items", n, min_items);
                return 0;
        }
        *ret = v;
        return 1;
}

int api_get_strv(json_object *obj, const char *key, const char *path, size_t min_items, size_t max_items,
        const struct api_str_rule *item_rule, struct api_strv *ret, struct api_errors *e) {
        char p[API_PATH_MAX], ip[API_PATH_MAX];
        json_object *arr = NULL;
        struct api_strv v = {NULL, 0};
        size_t n;
        bool ok = true;

        if (api_get_arr(obj, key, path, false, min_items, max_items, &arr, e) <= 0)
                return 0;
        api_path(p, sizeof(p), path, key);
        n = json_object_array_length(arr);
        v.v = calloc(n ? n : 1, sizeof(char *));
        if (!v.v) {
                e->oom = true;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                api_path_idx(ip, sizeof(ip), p, i);
                if (!it || !json_object_is_type(it, json_type_string)) {
                        type_error(e, ip, "string", it);
                        ok = false;
                        continue;
                }
                if (!api_check_str(json_object_get_string(it), ip, item_rule, e)) {
                        ok = false;
                        continue;
                }
                v.v[v.n] = api_strdup(json_object_get_string(it), e);
                if (!v.v[v.n]) {
                        ok = false;
                        continue;
                }
                v.n++;
        }
        if (!ok) {
                api_strv_release(&v);
                return 0;
        }
        *ret = v;
        return 1;
}

void api_check_unique_keys(char *const *keys, size_t n, const char *path, struct api_errors *e) {
        char ip[API_PATH_MAX];

        for (size_t i = 1; i < n; i++) {
                if (!keys[i])
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (keys[j] && strcmp(keys[i], keys[j]) == 0) {
                                api_errors_add(e, api_path_idx(ip, sizeof(ip), path, i),
                                        "Duplicate value: \"%.128s\"", keys[i]);
                                break;
                        }
        }
}

int api_get_quantity(json_object *obj, const char *key, const char *path, bool required,
        struct api_quantity *ret, struct api_errors *e) {
        char p[API_PATH_MAX], text[QUANTITY_STR_MAX];
        json_object *v = lookup(obj, key);
        struct quantity q;
        bool is_int;

        api_path(p, sizeof(p), path, key);
        if (!v) {
                if (required)
                        api_errors_add(e, p, "Required value");
                return 0;
        }
        if (json_object_is_type(v, json_type_int)) {
                (void) snprintf(text, sizeof(text), "%lld", (long long) json_object_get_int64(v));
                is_int = true;
        } else if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                if (utf8_len(s) > 64) {
                        api_errors_add(e, p, "Too long: may not be more than 64 bytes");
                        return 0;
                }
                (void) snprintf(text, sizeof(text), "%s", s);
                if ((size_t) json_object_get_string_len(v) != strlen(s))
                        text[0] = '\0';
                is_int = false;
        } else {
                api_errors_add(e, p, "Invalid value: \"%s\": %s in body must be of type integer or string",
                        json_type_label(v), p);
                return 0;
        }
        if (quantity_parse(text, &q, NULL) < 0 || quantity_sign(&q) <= 0) {
                api_errors_add(e, p,
                        "Invalid value: \"%.64s\": must be a positive quantity such as 250m, 512Mi or 2Gi",
                        text);
                return 0;
        }
        ret->text = api_strdup(text, e);
        if (!ret->text)
                return 0;
        ret->is_int = is_int;
        ret->q = q;
        return 1;
}

void api_quantity_release(struct api_quantity *q) {
        free(q->text);
        q->text = NULL;
}

int api_get_duration(
        json_object *obj, const char *key, const char *path, struct api_duration *ret, struct api_errors *e) {
        static const struct api_str_rule rule = {.max_len = 32, .pattern = API_PAT_DURATION};
        char *s = NULL;
        int64_t ns;

        if (api_get_str(obj, key, path, &rule, &s, e) <= 0)
                return 0;
        if (duration_parse(s, &ns, NULL) < 0) { /* checked by the rule already */
                free(s);
                return 0;
        }
        ret->text = s;
        ret->ns = ns;
        return 1;
}

void api_duration_release(struct api_duration *d) {
        free(d->text);
        d->text = NULL;
}

/* ---- emitters ---- */

int api_put_obj(json_object *obj, const char *key, json_object *child) {
        if (!child)
                return -ENOMEM;
        if (json_object_object_add(obj, key, child) < 0) {
                json_object_put(child);
                return -ENOMEM;
        }
        return 0;
}

int api_put_str(json_object *obj, const char *key, const char *value) {
        if (!value)
                return 0;
        return api_put_obj(obj, key, json_object_new_string(value));
}

int api_put_int(json_object *obj, const char *key, int64_t value) {
        return api_put_obj(obj, key, json_object_new_int64(value));
}

int api_put_bool(json_object *obj, const char *key, bool value) {
        return api_put_obj(obj, key, json_object_new_boolean(value));
}

int api_put_strv(json_object *obj, const char *key, const struct api_strv *v) {
        json_object *a;

        if (!v->v)
                return 0;
        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < v->n; i++) {
                json_object *s = json_object_new_string(v->v[i]);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        return api_put_obj(obj, key, a);
}

int api_put_quantity(json_object *obj, const char *key, const struct api_quantity *q) {
        if (!q->text)
                return 0;
        if (q->is_int) {
                int64_t x;
                if (quantity_value(&q->q, &x, NULL) < 0)
                        return -ERANGE;
                return api_put_int(obj, key, x);
        }
        return api_put_str(obj, key, q->text);
}

/* ---- metadata ---- */

int api_get_map(json_object *obj, const char *key, const char *path, bool label_values, struct api_map *ret,
        struct api_errors *e) {
        char p[API_PATH_MAX], kp[API_PATH_MAX];
        json_object *m = NULL;
        struct api_map r = {NULL, 0};
        size_t n;

        if (api_get_obj(obj, key, path, false, &m, e) <= 0)
                return 0;
        api_path(p, sizeof(p), path, key);
        n = (size_t) json_object_object_length(m);
        r.items = calloc(n ? n : 1, sizeof(*r.items));
        if (!r.items) {
                e->oom = true;
                return 0;
        }
        json_object_object_foreach (m, k, v) {
                api_path(kp, sizeof(kp), p, k);
                if (!v || !json_object_is_type(v, json_type_string)) {
                        type_error(e, kp, "string", v);
                        continue;
                }
                if (strlen(k) > 253 + 1 + 63 || !match_qualified_name(k, 63)) {
                        api_errors_add(e, kp,
                                "Invalid value: \"%.128s\": name part must consist of alphanumeric "
                                "characters, '-', '_' or '.'",
                                k);
                        continue;
                }
                if (label_values) {
                        const char *s = json_object_get_string(v);
                        size_t l = strlen(s);
                        if (l > 63 || (l > 0 && !match_qualified_name(s, 63)) || strchr(s, '/')) {
                                api_errors_add(e, kp,
                                        "Invalid value: \"%.128s\": a valid label value must be "
                                        "63 characters or less, alphanumeric, '-', '_' or '.'",
                                        s);
                                continue;
                        }
                }
                r.items[r.n].key = api_strdup(k, e);
                r.items[r.n].value = api_strdup(json_object_get_string(v), e);
                r.n++;
        }
        *ret = r;
        return 1;
}

int api_meta_from_json(json_object *obj, const char *kind, enum api_name_rule rule, size_t max_len,
        bool namespaced, struct api_meta *ret, struct api_errors *e) {
        return api_meta_from_json_gv(obj, API_GROUP_VERSION, kind, rule, max_len, namespaced, ret, e);
}

int api_meta_from_json_gv(json_object *obj, const char *group_version, const char *kind,
        enum api_name_rule rule, size_t max_len, bool namespaced, struct api_meta *ret,
        struct api_errors *e) {
        static const struct api_str_rule any = {.max_len = 0};
        struct api_str_rule name_rule = {.required = true, .max_len = max_len};
        struct api_str_rule ns_rule = {.max_len = 63, .pattern = API_PAT_DNS_LABEL};
        struct api_meta m = {0};
        json_object *md = NULL;
        char *s = NULL;

        if (!obj || !json_object_is_type(obj, json_type_object)) {
                api_errors_add(e, "<root>", "must be of type object");
                return 0;
        }
        if (api_get_str(obj, "apiVersion", "", &any, &s, e) > 0 && strcmp(s, group_version) != 0)
                api_errors_add(e, "apiVersion", "Unsupported value: \"%.64s\": supported values: \"%s\"", s,
                        group_version);
        else if (!s)
                api_errors_add(e, "apiVersion", "Required value");
        free(s);
        s = NULL;
        if (api_get_str(obj, "kind", "", &any, &s, e) > 0 && strcmp(s, kind) != 0)
                api_errors_add(e, "kind", "Unsupported value: \"%.64s\": supported values: \"%s\"", s, kind);
        else if (!s)
                api_errors_add(e, "kind", "Required value");
        free(s);

        if (api_get_obj(obj, "metadata", "", true, &md, e) <= 0)
                return 0;
        name_rule.pattern = rule == API_NAME_DNS_LABEL       ? API_PAT_DNS_LABEL
                            : rule == API_NAME_DNS1035_LABEL ? API_PAT_DNS1035_LABEL
                                                             : API_PAT_DNS_SUBDOMAIN;
        (void) api_get_str(md, "name", "metadata", &name_rule, &m.name, e);
        if (namespaced)
                (void) api_get_str(md, "namespace", "metadata", &ns_rule, &m.namespace, e);
        /* a cluster-scoped object's namespace is dropped, as the API server clears it on create */
        (void) api_get_str(md, "uid", "metadata", &any, &m.uid, e);
        (void) api_get_str(md, "resourceVersion", "metadata", &any, &m.resource_version, e);
        (void) api_get_int(md, "generation", "metadata", false, 0, INT64_MAX, &m.generation, e);
        (void) api_get_map(md, "labels", "metadata", true, &m.labels, e);
        (void) api_get_map(md, "annotations", "metadata", false, &m.annotations, e);
        *ret = m;
        return 1;
}

static json_object *map_to_json(const struct api_map *m) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (size_t i = 0; i < m->n; i++)
                if (api_put_str(o, m->items[i].key, m->items[i].value) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

int api_meta_to_json(const struct api_meta *m, const char *kind, json_object *obj) {
        return api_meta_to_json_gv(m, API_GROUP_VERSION, kind, obj);
}

int api_meta_to_json_gv(
        const struct api_meta *m, const char *group_version, const char *kind, json_object *obj) {
        json_object *md = json_object_new_object();
        int r = 0;

        if (api_put_str(obj, "apiVersion", group_version) < 0 || api_put_str(obj, "kind", kind) < 0) {
                json_object_put(md);
                return -ENOMEM;
        }
        if (api_put_obj(obj, "metadata", md) < 0)
                return -ENOMEM;
        if (api_put_str(md, "name", m->name) < 0 || api_put_str(md, "namespace", m->namespace) < 0 ||
                api_put_str(md, "resourceVersion", m->resource_version) < 0)
                return -ENOMEM;
        if (m->labels.n > 0)
                r = api_put_obj(md, "labels", map_to_json(&m->labels));
        if (r >= 0 && m->annotations.n > 0)
                r = api_put_obj(md, "annotations", map_to_json(&m->annotations));
        return r;
}

void api_meta_release(struct api_meta *m) {
        free(m->name);
        free(m->namespace);
        free(m->uid);
        free(m->resource_version);
        api_map_release(&m->labels);
        api_map_release(&m->annotations);
        *m = (struct api_meta){0};
}

/* ---- conditions ---- */

const struct api_condition *api_condition_find(const struct api_conditions *c, const char *type) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->items[i].type, type) == 0)
                        return &c->items[i];
        return NULL;
}

static int replace_str(char **field, const char *value, bool *changed) {
        char *d;

        if (api_str_equal(*field, value))
                return 0;
        d = value ? strdup(value) : NULL;
        if (value && !d)
                return -ENOMEM;
        free(*field);
        *field = d;
        *changed = true;
        return 0;
}

int api_condition_set(struct api_conditions *c, const char *type, const char *status, const char *reason,
        const char *message, int64_t observed_generation, const struct timestamp *now) {
        struct api_condition *cond = (struct api_condition *) api_condition_find(c, type);
        bool changed = false;

        if (!cond) {
                struct api_condition *items = realloc(c->items, (c->n + 1) * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                c->items = items;
                cond = &items[c->n];
                *cond = (struct api_condition){0};
                cond->type = strdup(type);
                if (!cond->type)
                        return -ENOMEM;
                c->n++;
                cond->last_transition_time = *now;
                changed = true;
        }
        if (!api_str_equal(cond->status, status)) {
                cond->last_transition_time = *now;
                changed = true;
        }
        if (replace_str(&cond->status, status, &changed) < 0 ||
                replace_str(&cond->reason, reason, &changed) < 0 ||
                replace_str(&cond->message, message ? message : "", &changed) < 0)
                return -ENOMEM;
        if (cond->observed_generation != observed_generation) {
                cond->observed_generation = observed_generation;
                changed = true;
        }
        return changed ? 1 : 0;
}

int api_condition_next(struct api_conditions *next, const struct api_conditions *prev, const char *type,
        const char *status, const char *reason, const char *message, int64_t observed_generation,
        const struct timestamp *now) {
        const struct api_condition *was = prev ? api_condition_find(prev, type) : NULL;
        const struct timestamp *t =
                was && api_str_equal(was->status, status) ? &was->last_transition_time : now;

        return api_condition_set(next, type, status, reason, message, observed_generation, t);
}

int api_conditions_from_json(
        json_object *arr, const char *path, struct api_conditions *ret, struct api_errors *e) {
        static const struct api_str_rule type_rule = {
                .required = true, .max_len = 316, .pattern = API_PAT_CONDITION_TYPE};
        static const char *const statuses[] = {"True", "False", "Unknown", NULL};
        static const struct api_str_rule status_rule = {.required = true, .enum_values = statuses};
        static const struct api_str_rule time_rule = {.required = true, .max_len = 64};
        static const struct api_str_rule reason_rule = {
                .required = true, .min_len = 1, .max_len = 1024, .pattern = API_PAT_REASON};
        static const struct api_str_rule msg_rule = {.required = true, .max_len = 32768};
        struct api_conditions r = {NULL, 0};
        char ip[API_PATH_MAX];
        char **types;
        size_t n = json_object_array_length(arr);

        r.items = calloc(n ? n : 1, sizeof(*r.items));
        types = calloc(n ? n : 1, sizeof(char *));
        if (!r.items || !types) {
                free(r.items);
                free(types);
                e->oom = true;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i);
                struct api_condition *c = &r.items[r.n];
                char *t = NULL;

                api_path_idx(ip, sizeof(ip), path, i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        type_error(e, ip, "object", it);
                        continue;
                }
                (void) api_get_str(it, "type", ip, &type_rule, &c->type, e);
                (void) api_get_str(it, "status", ip, &status_rule, &c->status, e);
                (void) api_get_int(
                        it, "observedGeneration", ip, false, 0, INT64_MAX, &c->observed_generation, e);
                if (api_get_str(it, "lastTransitionTime", ip, &time_rule, &t, e) > 0 &&
                        timestamp_parse(t, &c->last_transition_time, NULL) < 0) {
                        char tp[API_PATH_MAX];
                        api_errors_add(e, api_path(tp, sizeof(tp), ip, "lastTransitionTime"),
                                "Invalid value: \"%.64s\": must be a date-time", t);
                }
                free(t);
                (void) api_get_str(it, "reason", ip, &reason_rule, &c->reason, e);
                (void) api_get_str(it, "message", ip, &msg_rule, &c->message, e);
                types[i] = c->type;
                r.n++;
        }
        api_check_unique_keys(types, n, path, e);
        free(types);
        *ret = r;
        return 1;
}

json_object *api_conditions_to_json(const struct api_conditions *c) {
        json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < c->n; i++) {
                const struct api_condition *cond = &c->items[i];
                char ts[TIMESTAMP_STR_MAX];
                json_object *o = json_object_new_object();

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return NULL;
                }
                if (timestamp_format(&cond->last_transition_time, ts, sizeof(ts)) < 0)
                        ts[0] = '\0';
                if (api_put_str(o, "type", cond->type) < 0 || api_put_str(o, "status", cond->status) < 0 ||
                        (cond->observed_generation &&
                                api_put_int(o, "observedGeneration", cond->observed_generation) < 0) ||
                        api_put_str(o, "lastTransitionTime", ts) < 0 ||
                        api_put_str(o, "reason", cond->reason) < 0 ||
                        api_put_str(o, "message", cond->message ? cond->message : "") < 0) {
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

void api_conditions_release(struct api_conditions *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].type);
                free(c->items[i].status);
                free(c->items[i].reason);
                free(c->items[i].message);
        }
        free(c->items);
        c->items = NULL;
        c->n = 0;
}

/* ---- env ---- */

int api_get_env(json_object *obj, const char *path, bool allow_value_from, struct api_env *ret,
        struct api_errors *e) {
        static const struct api_str_rule name_rule = {
                .required = true, .min_len = 1, .max_len = 256, .pattern = API_PAT_ENV_NAME};
        static const struct api_str_rule value_rule = {.max_len = 32768};
        static const struct api_str_rule sname_rule = {
                .required = true, .max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN};
        static const struct api_str_rule skey_rule = {
                .required = true, .min_len = 1, .max_len = 253, .pattern = API_PAT_KEY};
        char p[API_PATH_MAX], ip[API_PATH_MAX], vp[API_PATH_MAX], sp[API_PATH_MAX];
        struct api_env r = {NULL, 0, true};
        json_object *arr = NULL;
        char **keys;
        size_t n;

        if (api_get_arr(obj, "env", path, false, 0, 64, &arr, e) <= 0)
                return 0;
        api_path(p, sizeof(p), path, "env");
        n = json_object_array_length(arr);
        r.items = calloc(n ? n : 1, sizeof(*r.items));
        keys = calloc(n ? n : 1, sizeof(char *));
        if (!r.items || !keys) {
                free(r.items);
                free(keys);
                e->oom = true;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(arr, i), *vf = NULL, *sk = NULL;
                struct api_env_var *v = &r.items[r.n];

                api_path_idx(ip, sizeof(ip), p, i);
                if (!it || !json_object_is_type(it, json_type_object)) {
                        type_error(e, ip, "object", it);
                        continue;
                }
                r.n++;
                (void) api_get_str(it, "name", ip, &name_rule, &v->name, e);
                keys[i] = v->name;
                (void) api_get_str(it, "value", ip, &value_rule, &v->value, e);
                if (!allow_value_from)
                        continue;
                if (api_get_obj(it, "valueFrom", ip, false, &vf, e) <= 0)
                        continue;
                api_path(vp, sizeof(vp), ip, "valueFrom");
                if (api_get_obj(vf, "secretKeyRef", vp, true, &sk, e) > 0) {
                        api_path(sp, sizeof(sp), vp, "secretKeyRef");
                        (void) api_get_str(sk, "name", sp, &sname_rule, &v->secret_name, e);
                        (void) api_get_str(sk, "key", sp, &skey_rule, &v->secret_key, e);
                }
                if (lookup(it, "value"))
                        api_errors_add(e, ip, "Invalid value: value and valueFrom are mutually exclusive");
        }
        api_check_unique_keys(keys, n, p, e);
        free(keys);
        *ret = r;
        return 1;
}

int api_put_env(json_object *obj, const char *key, const struct api_env *env) {
        json_object *a;

        if (!env->set)
                return 0;
        a = json_object_new_array();
        if (api_put_obj(obj, key, a) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < env->n; i++) {
                const struct api_env_var *v = &env->items[i];
                json_object *o = json_object_new_object();
                int r = 0;

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                r |= api_put_str(o, "name", v->name);
                r |= api_put_str(o, "value", v->value);
                if (v->secret_name || v->secret_key) {
                        json_object *vf = json_object_new_object(), *sk = json_object_new_object();
                        r |= api_put_obj(o, "valueFrom", vf);
                        if (vf)
                                r |= api_put_obj(vf, "secretKeyRef", sk);
                        else
                                json_object_put(sk);
                        if (vf && sk) {
                                r |= api_put_str(sk, "name", v->secret_name);
                                r |= api_put_str(sk, "key", v->secret_key);
                        }
                }
                if (r)
                        return -ENOMEM;
        }
        return 0;
}

void api_env_release(struct api_env *env) {
        for (size_t i = 0; i < env->n; i++) {
                free(env->items[i].name);
                free(env->items[i].value);
                free(env->items[i].secret_name);
                free(env->items[i].secret_key);
        }
        free(env->items);
        *env = (struct api_env){0};
}
