/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label and field selectors, as kube-apiserver reads them, turned into SQL conditions with parameters.
 * Values never enter the SQL text: every one is a $N parameter; keys of field selectors are looked up in
 * the kind's table, so only known column expressions do.
 *
 *   labels: term{,term}   term: key | !key | key=value | key==value | key!=value |
 *                                key in (v{,v}) | key notin (v{,v})
 *   fields: term{,term}   term: field=value | field==value | field!=value
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"

#define MAX_TERMS 20

void api_query_free(struct api_query *q) {
        for (int i = 0; i < q->n; i++)
                free(q->params[i]);
        q->n = 0;
        buf_release(&q->where);
}

/* Adds a parameter (a copy of len bytes of s); its number, or a negative errno. */
int api_query_param(struct api_query *q, const char *s, size_t len) {
        if (q->n >= API_QUERY_MAX_PARAMS)
                return -E2BIG;
        if (!(q->params[q->n] = strndup(s, len)))
                return -ENOMEM;
        return ++q->n;
}

static int cond(struct api_query *q, const char *fmt, ...) _printf_(2, 3);
static int cond(struct api_query *q, const char *fmt, ...) {
        va_list ap;
        int r = buf_puts(&q->where, " AND ");
        va_start(ap, fmt);
        if (r >= 0)
                r = buf_vprintf(&q->where, fmt, ap);
        va_end(ap);
        return r;
}

static const char *skip_space(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static bool key_char(char c) {
        return isalnum((unsigned char) c) || c == '-' || c == '_' || c == '.' || c == '/';
}

static bool value_char(char c) {
        return isalnum((unsigned char) c) || c == '-' || c == '_' || c == '.';
}

/* A label key: [prefix/]name, the prefix a DNS subdomain of at most 253, the name at most 63 characters
 * of alphanumerics, '-', '_', '.', beginning and ending with an alphanumeric. */
static bool valid_key(const char *k, size_t len) {
        const char *slash = memchr(k, '/', len);
        const char *name = slash ? slash + 1 : k;
        size_t nlen = len - (size_t) (name - k);
        if (slash && (slash == k || (size_t) (slash - k) > 253 || memchr(name, '/', nlen)))
                return false;
        if (nlen == 0 || nlen > 63 || !isalnum((unsigned char) name[0]) ||
                !isalnum((unsigned char) name[nlen - 1]))
                return false;
        return true;
}

static bool valid_value(const char *v, size_t len) {
        return len == 0 ||
               (len <= 63 && isalnum((unsigned char) v[0]) && isalnum((unsigned char) v[len - 1]));
}

static int bad(struct merr *err, const char *what, const char *sel) {
        return merr_set(err, -EINVAL, "unable to parse requirement: %s in \"%.200s\"", what, sel);
}

int api_label_selector(const char *sel, const char *labels, struct api_query *q, struct merr *err) {
        const char *p = skip_space(sel);
        int terms = 0;
        if (!*p)
                return 0;
        for (;;) {
                bool not = false;
                int k, v;
                if (++terms > MAX_TERMS)
                        return merr_set(err, -EINVAL, "too many requirements (at most %d)", MAX_TERMS);
                if (*p == '!') {
                        not = true;
                        p = skip_space(p + 1);
                }
                const char *key = p;
                while (key_char(*p))
                        p++;
                size_t klen = (size_t) (p - key);
                if (!valid_key(key, klen))
                        return bad(err, klen ? "invalid label key" : "a label key is missing", sel);
                if ((k = api_query_param(q, key, klen)) < 0)
                        return merr_set(err, k, "selector too long");
                p = skip_space(p);
                if (not || *p == ',' || *p == '\0') {
                        if (cond(q, "(%s ->> $%d) IS %sNULL", labels, k, not ? "" : "NOT ") < 0)
                                return merr_set(err, -ENOMEM, "out of memory");
                } else if (*p == '=' || (p[0] == '!' && p[1] == '=')) {
                        bool ne = *p == '!';
                        p += ne ? 2 : (p[1] == '=' ? 2 : 1);
                        p = skip_space(p);
                        const char *val = p;
                        while (value_char(*p))
                                p++;
                        if (!valid_value(val, (size_t) (p - val)))
                                return bad(err, "invalid label value", sel);
                        if ((v = api_query_param(q, val, (size_t) (p - val))) < 0)
                                return merr_set(err, v, "selector too long");
                        if (cond(q, ne ? "(%s ->> $%d) IS DISTINCT FROM $%d" : "(%s ->> $%d) = $%d", labels,
                                    k, v) < 0)
                                return merr_set(err, -ENOMEM, "out of memory");
                        p = skip_space(p);
                } else if (strncmp(p, "in", 2) == 0 || strncmp(p, "notin", 5) == 0) {
                        bool notin = *p == 'n';
                        p = skip_space(p + (notin ? 5 : 2));
                        if (*p != '(')
                                return bad(err, "expected '(' after in or notin", sel);
                        struct buf set = BUF_INIT(4096);
                        for (p = skip_space(p + 1);;) {
                                const char *val = p;
                                while (value_char(*p))
                                        p++;
                                if (!valid_value(val, (size_t) (p - val)) ||
                                        (v = api_query_param(q, val, (size_t) (p - val))) < 0 ||
                                        buf_printf(&set, "%s$%d", set.len ? ", " : "", v) < 0) {
                                        buf_release(&set);
                                        return bad(err, "invalid or too many values in a set", sel);
                                }
                                p = skip_space(p);
                                if (*p == ')')
                                        break;
                                if (*p != ',') {
                                        buf_release(&set);
                                        return bad(err, "expected ',' or ')' in a set", sel);
                                }
                                p = skip_space(p + 1);
                        }
                        p = skip_space(p + 1);
                        int r = notin ? cond(q, "((%s ->> $%d) IS NULL OR (%s ->> $%d) NOT IN (%s))", labels,
                                                k, labels, k, buf_str(&set))
                                      : cond(q, "(%s ->> $%d) IN (%s)", labels, k, buf_str(&set));
                        buf_release(&set);
                        if (r < 0)
                                return merr_set(err, -ENOMEM, "out of memory");
                } else
                        return bad(err, "expected =, ==, !=, in, notin or ','", sel);
                if (*p == '\0')
                        return 0;
                if (*p != ',')
                        return bad(err, "expected ','", sel);
                p = skip_space(p + 1);
        }
}

int api_field_selector(
        const char *sel, const struct store_field *fields, struct api_query *q, struct merr *err) {
        const char *p = sel;
        int terms = 0;
        if (!*p)
                return 0;
        for (;;) {
                size_t tlen = strcspn(p, ",");
                const char *op = NULL;
                size_t oplen = 0;
                if (++terms > MAX_TERMS)
                        return merr_set(err, -EINVAL, "too many requirements (at most %d)", MAX_TERMS);
                for (size_t i = 0; i < tlen; i++)
                        if (p[i] == '=' || (p[i] == '!' && i + 1 < tlen && p[i + 1] == '=')) {
                                op = p + i;
                                oplen = p[i] == '!' || (i + 1 < tlen && p[i + 1] == '=') ? 2 : 1;
                                break;
                        }
                if (!op)
                        return merr_set(
                                err, -EINVAL, "invalid field selector \"%.200s\": expected field=value", sel);
                size_t flen = (size_t) (op - p);
                const struct store_field *f = fields;
                while (f->name && (strlen(f->name) != flen || strncmp(f->name, p, flen) != 0))
                        f++;
                if (!f->name)
                        return merr_set(err, -EINVAL, "field label not supported: %.*s",
                                (int) (flen > 100 ? 100 : flen), p);
                const char *val = op + oplen;
                size_t vlen = tlen - flen - oplen;
                if (memchr(val, '\\', vlen))
                        return merr_set(err, -EINVAL,
                                "invalid field selector \"%.200s\": escapes are not supported", sel);
                int v = api_query_param(q, val, vlen);
                if (v < 0)
                        return merr_set(err, v, "selector too long");
                if (cond(q, *op == '!' ? "%s IS DISTINCT FROM $%d" : "%s = $%d", f->sql, v) < 0)
                        return merr_set(err, -ENOMEM, "out of memory");
                if (p[tlen] == '\0')
                        return 0;
                p += tlen + 1;
        }
}
