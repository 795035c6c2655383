/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "asciicast.h"

/* The length of the UTF-8 character at p[0..n) (RFC 3629, Unicode table 3-7: no overlong forms, no
 * surrogates, nothing past U+10FFFF): > 0 when it is whole, 0 when p is the valid start of one that n cuts,
 * -1 when p[0] starts no character. */
static int char_len(const unsigned char *p, size_t n) {
        unsigned char c = p[0], lo = 0x80, hi = 0xBF;
        int need;
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                need = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                need = 3;
                lo = c == 0xE0 ? 0xA0 : 0x80;
                hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
                need = 4;
                lo = c == 0xF0 ? 0x90 : 0x80;
                hi = c == 0xF4 ? 0x8F : 0xBF;
        } else
                return -1;
        for (int i = 1; i < need; i++) {
                if ((size_t) i >= n)
                        return 0;
                if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
                        return -1;
        }
        return need;
}

/* How many bytes at the end of p[0..n) are the start of a character that n cuts (0..3). */
static size_t cut_tail(const unsigned char *p, size_t n) {
        for (size_t k = 1; k <= 3 && k <= n; k++)
                if (char_len(p + n - k, k) == 0)
                        return k;
        return 0;
}

/* Appends p[0..n) as the inside of a JSON string: control characters escaped, what is no UTF-8 U+FFFD. */
static int put_chars(struct buf *out, const unsigned char *p, size_t n) {
        int r = 0;
        for (size_t i = 0; i < n && r >= 0;) {
                int k = char_len(p + i, n - i);
                unsigned char c = p[i];
                if (k <= 0) {
                        r = buf_puts(out, "\xEF\xBF\xBD");
                        i++;
                        continue;
                }
                if (k > 1)
                        r = buf_append(out, p + i, (size_t) k);
                else if (c == '"' || c == '\\')
                        r = buf_printf(out, "\\%c", c);
                else if (c == '\n')
                        r = buf_puts(out, "\\n");
                else if (c == '\r')
                        r = buf_puts(out, "\\r");
                else if (c == '\t')
                        r = buf_puts(out, "\\t");
                else if (c < 0x20 || c == 0x7F)
                        r = buf_printf(out, "\\u%04x", c);
                else
                        r = buf_putc(out, (char) c);
                i += (size_t) k;
        }
        return r;
}

static int put_string(struct buf *out, const char *s) {
        int r = buf_putc(out, '"');
        if (r >= 0)
                r = put_chars(out, (const unsigned char *) s, strlen(s));
        return r < 0 ? r : buf_putc(out, '"');
}

int asciicast_header(struct buf *out, unsigned width, unsigned height, long long timestamp, const char *shell,
        const char *title) {
        int r = buf_printf(out, "{\"version\": 2, \"width\": %u, \"height\": %u, \"timestamp\": %lld", width,
                height, timestamp);
        if (r >= 0 && shell) {
                r = buf_puts(out, ", \"env\": {\"SHELL\": ");
                if (r >= 0)
                        r = put_string(out, shell);
                if (r >= 0)
                        r = buf_putc(out, '}');
        }
        if (r >= 0 && title) {
                r = buf_puts(out, ", \"title\": ");
                if (r >= 0)
                        r = put_string(out, title);
        }
        return r < 0 ? r : buf_puts(out, "}\n");
}

/* One event of the bytes p[0..n), all of them written. */
static int event(struct buf *out, double seconds, char type, const unsigned char *p, size_t n) {
        int r = buf_printf(out, "[%.6f, \"%c\", \"", seconds, type);
        if (r >= 0)
                r = put_chars(out, p, n);
        return r < 0 ? r : buf_puts(out, "\"]\n");
}

int asciicast_text(struct buf *out, struct asciicast_text *t, double seconds, char type, const void *data,
        size_t len, bool flush) {
        /* one piece at a time: what t held back, then the next bytes of data */
        unsigned char piece[sizeof(t->tail) + ASCIICAST_PIECE_MAX];
        const unsigned char *in = data;
        size_t off = 0;
        int r = 0;
        if (t->tail_len > sizeof(t->tail))
                t->tail_len = 0;
        do {
                size_t take = len - off < ASCIICAST_PIECE_MAX ? len - off : ASCIICAST_PIECE_MAX;
                size_t n = t->tail_len + take;
                memcpy(piece, t->tail, t->tail_len);
                if (take > 0)
                        memcpy(piece + t->tail_len, in + off, take);
                off += take;
                size_t keep = flush && off == len ? 0 : cut_tail(piece, n);
                if (n > keep)
                        r = event(out, seconds, type, piece, n - keep);
                memcpy(t->tail, piece + n - keep, keep);
                t->tail_len = keep;
        } while (r >= 0 && off < len);
        return r;
}

int asciicast_resize(struct buf *out, double seconds, unsigned width, unsigned height) {
        return buf_printf(out, "[%.6f, \"r\", \"%ux%u\"]\n", seconds, width, height);
}

int asciicast_marker(struct buf *out, double seconds, const char *label) {
        int r = buf_printf(out, "[%.6f, \"m\", ", seconds);
        if (r >= 0)
                r = put_string(out, label);
        return r < 0 ? r : buf_puts(out, "]\n");
}

static int dimension(json_object *o, const char *key, unsigned *ret) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EINVAL;
        int64_t n = json_object_get_int64(v);
        if (n < 1 || n > 65535)
                return -EINVAL;
        *ret = (unsigned) n;
        return 0;
}

int asciicast_parse_resize(const void *data, size_t len, unsigned *ret_width, unsigned *ret_height) {
        unsigned w = 0, h = 0;
        if (len == 0 || len > 256)
                return -EINVAL;
        json_tokener *tok = json_tokener_new_ex(4);
        if (!tok)
                return -ENOMEM;
        json_object *o = json_tokener_parse_ex(tok, data, (int) len);
        int r = !o || json_tokener_get_error(tok) != json_tokener_success ||
                                json_tokener_get_parse_end(tok) != len ||
                                !json_object_is_type(o, json_type_object)
                        ? -EINVAL
                        : 0;
        if (r >= 0)
                r = dimension(o, "Width", &w);
        if (r >= 0)
                r = dimension(o, "Height", &h);
        json_object_put(o);
        json_tokener_free(tok);
        if (r < 0)
                return r;
        *ret_width = w;
        *ret_height = h;
        return 0;
}
