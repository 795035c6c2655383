/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tail.h"

int tail_init(struct tail *t, size_t cap) {
        *t = (struct tail){.cap = cap};
        t->buf = cap ? malloc(cap) : NULL;
        return t->buf ? 0 : -ENOMEM;
}

void tail_release(struct tail *t) {
        free(t->buf);
        *t = (struct tail){0};
}

void tail_add(struct tail *t, const char *data, size_t len) {
        t->total += len;
        if (t->cap == 0)
                return;
        if (len >= t->cap) {
                memcpy(t->buf, data + len - t->cap, t->cap);
                t->len = t->cap;
                t->pos = 0;
                return;
        }
        size_t first = t->cap - t->pos < len ? t->cap - t->pos : len;
        memcpy(t->buf + t->pos, data, first);
        memcpy(t->buf, data + first, len - first);
        t->pos = (t->pos + len) % t->cap;
        t->len = t->len + len > t->cap ? t->cap : t->len + len;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes available), or 0 (RFC 3629, Table 3-7). */
static size_t utf8_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (k == 0 || k > n)
                return 0;
        for (size_t i = 1; i < k; i++)
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
                (c == 0xF4 && s[1] >= 0x90))
                return 0;
        return k;
}

char *tail_text(const struct tail *t, size_t *ret_len) {
        unsigned char *s = malloc(t->len + 1);
        if (!s)
                return NULL;
        size_t start = t->len == t->cap ? t->pos : 0, i = 0, o = 0;
        for (size_t k = 0; k < t->len; k++)
                s[k] = (unsigned char) t->buf[(start + k) % t->cap];
        if (t->total > t->len) /* cut inside the stream: skip the rest of a character cut in two */
                while (i < t->len && i < 3 && (s[i] & 0xC0) == 0x80)
                        i++;
        while (i < t->len) {
                size_t k = utf8_len(s + i, t->len - i);
                if (k == 0) {
                        s[o++] = '?';
                        i++;
                        continue;
                }
                memmove(s + o, s + i, k);
                o += k;
                i += k;
        }
        s[o] = '\0';
        *ret_len = o;
        return (char *) s;
}
