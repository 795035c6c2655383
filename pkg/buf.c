/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BUF_MIN_ALLOC 64

void buf_init(struct buf *b, size_t max) {
        *b = (struct buf) BUF_INIT(max);
}

static int ensure(struct buf *b, size_t extra) {
        size_t need, a;
        char *p;

        /* room for the terminating NUL too, without ever overflowing size_t */
        if (extra > b->max || b->len > b->max - extra || b->len + extra == SIZE_MAX)
                return -ENOBUFS;
        need = b->len + extra + 1;
        if (need <= b->alloc)
                return 0;
        a = b->alloc ? b->alloc : BUF_MIN_ALLOC;
        while (a < need)
                a = a > SIZE_MAX / 2 ? need : a * 2;
        /* never allocate much beyond what the cap can ever use */
        if (b->max < SIZE_MAX && a > b->max + 1)
                a = b->max + 1;
        if (a < need)
                a = need;
        p = realloc(b->data, a);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->alloc = a;
        return 0;
}

int buf_append(struct buf *b, const void *p, size_t n) {
        int r;

        r = ensure(b, n);
        if (r < 0)
                return r;
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int buf_puts(struct buf *b, const char *s) {
        return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c) {
        return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap) {
        va_list aq;
        int n, r;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        r = ensure(b, (size_t) n);
        if (r < 0)
                return r;
        (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        b->len += (size_t) n;
        return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = buf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

const char *buf_str(const struct buf *b) {
        return b->data ? b->data : "";
}

void buf_consume(struct buf *b, size_t n) {
        if (n >= b->len) {
                buf_reset(b);
                return;
        }
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
        b->data[b->len] = '\0';
}

void buf_reset(struct buf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

void buf_shrink(struct buf *b, size_t keep) {
        char *p;

        if (!b->data || b->alloc <= keep)
                return;
        if (b->len == 0) {
                buf_release(b);
                return;
        }
        if (b->len + 1 >= b->alloc)
                return;
        p = realloc(b->data, b->len + 1);
        if (!p)
                return; /* the larger block stays in use: still correct */
        b->data = p;
        b->alloc = b->len + 1;
}

void buf_release(struct buf *b) {
        free(b->data);
        b->data = NULL;
        b->len = 0;
        b->alloc = 0;
}

char *buf_detach(struct buf *b, size_t *ret_len) {
        char *p;

        if (!b->data) {
                p = strdup("");
                if (!p)
                        return NULL;
        } else
                p = b->data;
        if (ret_len)
                *ret_len = b->len;
        b->data = NULL;
        b->len = 0;
        b->alloc = 0;
        return p;
}
