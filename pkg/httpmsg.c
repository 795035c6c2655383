/* SPDX-License-Identifier: Apache-2.0 */
#include "httpmsg.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool eq_ci(const char *a, size_t n, const char *b) {
        return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* One line of [p, end) ending in CRLF: its length without the CRLF in *n; NULL when incomplete, and
 * *bad set for a bare CR or LF. */
static const char *line_end(const char *p, const char *end, size_t *n, bool *bad) {
        for (const char *q = p; q < end; q++) {
                if (*q == '\n') {
                        *bad = true;
                        return NULL;
                }
                if (*q == '\r') {
                        if (q + 1 == end)
                                return NULL;
                        if (q[1] != '\n') {
                                *bad = true;
                                return NULL;
                        }
                        *n = (size_t) (q - p);
                        return q + 2;
                }
                if ((unsigned char) *q < 0x20 && *q != '\t') {
                        *bad = true;
                        return NULL;
                }
        }
        return NULL;
}

static int parse_version(const char *p, size_t n, int *minor) {
        if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1'))
                return -EBADMSG;
        *minor = p[7] - '0';
        return 0;
}

static int parse_start(const char *p, size_t n, enum http_kind kind, struct http_head *h) {
        const char *sp1 = memchr(p, ' ', n);
        if (!sp1)
                return -EBADMSG;
        if (kind == HTTP_REQUEST) {
                const char *rest = sp1 + 1;
                const char *sp2 = memchr(rest, ' ', (size_t) (p + n - rest));
                if (!sp2 || sp1 == p || sp2 == rest)
                        return -EBADMSG;
                for (const char *q = p; q < sp1; q++)
                        if (!is_tchar((unsigned char) *q))
                                return -EBADMSG;
                for (const char *q = rest; q < sp2; q++)
                        if ((unsigned char) *q <= 0x20 || (unsigned char) *q == 0x7f)
                                return -EBADMSG;
                h->method = p, h->method_len = (size_t) (sp1 - p);
                h->target = rest, h->target_len = (size_t) (sp2 - rest);
                return parse_version(sp2 + 1, (size_t) (p + n - sp2 - 1), &h->minor);
        }
        if (parse_version(p, (size_t) (sp1 - p), &h->minor) < 0)
                return -EBADMSG;
        const char *code = sp1 + 1;
        if (p + n - code < 3 || code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' ||
                code[2] < '0' || code[2] > '9' || (p + n - code > 3 && code[3] != ' '))
                return -EBADMSG;
        h->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
        h->reason = p + n - code > 3 ? code + 4 : code + 3;
        h->reason_len = (size_t) (p + n - h->reason);
        return 0;
}

static int parse_field(const char *p, size_t n, struct http_field *f) {
        const char *colon = memchr(p, ':', n);
        if (!colon || colon == p)
                return -EBADMSG;
        for (const char *q = p; q < colon; q++)
                if (!is_tchar((unsigned char) *q)) /* whitespace before the colon included */
                        return -EBADMSG;
        const char *v = colon + 1, *e = p + n;
        while (v < e && (*v == ' ' || *v == '\t'))
                v++;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
        *f = (struct http_field){
                .name = p, .name_len = (size_t) (colon - p), .value = v, .value_len = (size_t) (e - v)};
        return 0;
}

static int check_framing(const struct http_head *h) {
        size_t n_te = 0, cl_len = 0;
        const char *cl = NULL;
        for (size_t i = 0; i < h->n_fields; i++) {
                const struct http_field *f = &h->fields[i];
                if (eq_ci(f->name, f->name_len, "transfer-encoding")) {
                        /* only a single "chunked": anything else cannot be framed by both ends alike */
                        if (n_te++ || !eq_ci(f->value, f->value_len, "chunked"))
                                return -EBADMSG;
                } else if (eq_ci(f->name, f->name_len, "content-length")) {
                        if (f->value_len == 0 || f->value_len > 19)
                                return -EBADMSG;
                        for (size_t k = 0; k < f->value_len; k++)
                                if (f->value[k] < '0' || f->value[k] > '9')
                                        return -EBADMSG;
                        if (cl && (cl_len != f->value_len || memcmp(cl, f->value, cl_len) != 0))
                                return -EBADMSG;
                        cl = f->value, cl_len = f->value_len;
                }
        }
        return n_te && cl ? -EBADMSG : 0;
}

long http_head_parse(const char *buf, size_t len, enum http_kind kind, struct http_head *ret) {
        const char *p = buf, *end = buf + len;
        size_t n;
        bool bad = false;
        *ret = (struct http_head){0};
        const char *next = line_end(p, end, &n, &bad);
        if (!next)
                return bad ? -EBADMSG : 0;
        if (parse_start(p, n, kind, ret) < 0)
                return -EBADMSG;
        for (p = next;;) {
                next = line_end(p, end, &n, &bad);
                if (!next)
                        return bad ? -EBADMSG : 0;
                if (n == 0)
                        break;
                if (*p == ' ' || *p == '\t') /* obs-fold */
                        return -EBADMSG;
                if (ret->n_fields == HTTP_MAX_HEADERS)
                        return -E2BIG;
                if (parse_field(p, n, &ret->fields[ret->n_fields++]) < 0)
                        return -EBADMSG;
                p = next;
        }
        if (check_framing(ret) < 0)
                return -EBADMSG;
        ret->size = (size_t) (next - buf);
        return (long) ret->size;
}

const char *http_head_get(const struct http_head *h, const char *name, size_t *len) {
        for (size_t i = 0; i < h->n_fields; i++)
                if (eq_ci(h->fields[i].name, h->fields[i].name_len, name)) {
                        *len = h->fields[i].value_len;
                        return h->fields[i].value;
                }
        return NULL;
}

static bool list_has(const char *v, size_t n, const char *token) {
        const char *e = v + n;
        while (v < e) {
                const char *comma = memchr(v, ',', (size_t) (e - v));
                const char *s = v, *t = comma ? comma : e;
                while (s < t && (*s == ' ' || *s == '\t'))
                        s++;
                while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
                        t--;
                if (eq_ci(s, (size_t) (t - s), token))
                        return true;
                v = comma ? comma + 1 : e;
        }
        return false;
}

bool http_head_has_token(const struct http_head *h, const char *name, const char *token) {
        for (size_t i = 0; i < h->n_fields; i++)
                if (eq_ci(h->fields[i].name, h->fields[i].name_len, name) &&
                        list_has(h->fields[i].value, h->fields[i].value_len, token))
                        return true;
        return false;
}

bool http_field_hop_by_hop(const struct http_head *h, const struct http_field *f) {
        static const char *const hop[] = {"connection", "keep-alive", "proxy-connection",
                "proxy-authenticate", "proxy-authorization", "te", "trailer", "upgrade", NULL};
        for (const char *const *n = hop; *n; n++)
                if (eq_ci(f->name, f->name_len, *n))
                        return true;
        /* the fields Connection names */
        for (size_t i = 0; i < h->n_fields; i++) {
                const struct http_field *c = &h->fields[i];
                if (!eq_ci(c->name, c->name_len, "connection"))
                        continue;
                char name[64];
                if (f->name_len >= sizeof(name))
                        continue;
                memcpy(name, f->name, f->name_len);
                name[f->name_len] = 0;
                if (list_has(c->value, c->value_len, name))
                        return true;
        }
        return false;
}

bool http_head_keep_alive(const struct http_head *h) {
        if (http_head_has_token(h, "connection", "close"))
                return false;
        return h->minor == 1 || http_head_has_token(h, "connection", "keep-alive");
}

/* ---- bodies */

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF };

#define CHUNK_LINE_MAX 4096 /* a size line with extensions, or a trailer field */

int http_body_init(
        struct http_body *b, const struct http_head *h, enum http_kind kind, const char *request_method) {
        size_t n;
        *b = (struct http_body){.framing = HTTP_BODY_NONE, .done = true};
        if (kind == HTTP_RESPONSE &&
                ((h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304 ||
                        (request_method && strcmp(request_method, "HEAD") == 0)))
                return 0;
        if (http_head_get(h, "transfer-encoding", &n)) {
                *b = (struct http_body){.framing = HTTP_BODY_CHUNKED, .state = CH_SIZE};
                return 0;
        }
        const char *cl = http_head_get(h, "content-length", &n);
        if (cl) {
                uint64_t v = 0;
                for (size_t i = 0; i < n; i++) {
                        if (cl[i] < '0' || cl[i] > '9' || v > (UINT64_MAX - 9) / 10)
                                return -EBADMSG;
                        v = v * 10 + (uint64_t) (cl[i] - '0');
                }
                *b = (struct http_body){.framing = HTTP_BODY_LENGTH, .left = v, .done = v == 0};
                return 0;
        }
        if (kind == HTTP_RESPONSE)
                *b = (struct http_body){.framing = HTTP_BODY_UNTIL_CLOSE};
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

size_t http_body_feed(struct http_body *b, const char *data, size_t len) {
        if (b->done || b->bad)
                return 0;
        if (b->framing == HTTP_BODY_UNTIL_CLOSE)
                return len;
        if (b->framing == HTTP_BODY_LENGTH) {
                size_t take = (uint64_t) len < b->left ? len : (size_t) b->left;
                b->left -= take;
                b->done = b->left == 0;
                return take;
        }
        size_t i = 0;
        while (i < len && !b->done && !b->bad) {
                char c = data[i];
                switch (b->state) {
                case CH_SIZE: {
                        int v = hexval(c);
                        if (v >= 0) {
                                if (b->left >> 56 || ++b->line > 16) {
                                        b->bad = true;
                                        break;
                                }
                                b->left = b->left * 16 + (uint64_t) v;
                                i++;
                        } else if (b->line && (c == ';' || c == ' ' || c == '\t')) {
                                b->state = CH_EXT;
                                i++;
                        } else if (b->line && c == '\r') {
                                b->state = CH_SIZE_LF;
                                i++;
                        } else
                                b->bad = true;
                        break;
                }
                case CH_EXT:
                        if (c == '\r')
                                b->state = CH_SIZE_LF;
                        else if (c == '\n' || ++b->line > CHUNK_LINE_MAX)
                                b->bad = true;
                        i++;
                        break;
                case CH_SIZE_LF:
                        if (c != '\n') {
                                b->bad = true;
                                break;
                        }
                        i++;
                        b->line = 0;
                        b->state = b->left ? CH_DATA : CH_TRAILER;
                        break;
                case CH_DATA: {
                        size_t take = (uint64_t) (len - i) < b->left ? len - i : (size_t) b->left;
                        b->left -= take;
                        i += take;
                        if (!b->left)
                                b->state = CH_DATA_CR;
                        break;
                }
                case CH_DATA_CR:
                case CH_DATA_LF:
                        if (c != (b->state == CH_DATA_CR ? '\r' : '\n')) {
                                b->bad = true;
                                break;
                        }
                        i++;
                        b->state = b->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
                        break;
                case CH_TRAILER:
                        /* trailer fields, each ending in CRLF; an empty line ends the body */
                        if (c == '\r')
                                b->state = CH_TRAILER_LF;
                        else if (c == '\n' || ++b->line > CHUNK_LINE_MAX)
                                b->bad = true;
                        i++;
                        break;
                case CH_TRAILER_LF:
                        if (c != '\n') {
                                b->bad = true;
                                break;
                        }
                        i++;
                        if (b->line == 0)
                                b->done = true;
                        b->line = 0;
                        b->state = CH_TRAILER;
                        break;
                }
        }
        return i;
}
