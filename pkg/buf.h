/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable byte buffer with a hard size cap, always NUL-terminated (the model is curl's dynbuf).
 *
 * Every buffer is created with a cap: appending past it fails with -ENOBUFS and leaves the contents as
 * they were, so a body read from the network can never grow without bound. The data may contain NUL bytes;
 * buf_str() is for text. Lifecycle: BUF_INIT(cap) or buf_init(), appends, then buf_release() (or
 * _cleanup_(buf_release)), which frees the memory and leaves an empty buffer with the same cap.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

struct buf {
        char *data;   /* owned; NULL until the first append */
        size_t len;   /* bytes of content, excluding the terminating NUL */
        size_t alloc; /* bytes allocated for data */
        size_t max;   /* cap on len */
};

#define BUF_INIT(cap) { .data = NULL, .len = 0, .alloc = 0, .max = (cap) }

void buf_init(struct buf *b, size_t max);

/* Appends n bytes. Returns 0, -ENOBUFS past the cap or -ENOMEM; on failure b is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) _printf_(2, 0);

/* The contents as a C string; "" for an empty buffer. Borrowed: valid until the next change. */
const char *buf_str(const struct buf *b);

/* Drops the first n bytes (all of them when n >= len), keeping the memory. */
void buf_consume(struct buf *b, size_t n);

/* Empties the buffer and keeps its memory for reuse (see buf_shrink()). */
void buf_reset(struct buf *b);

/* Gives memory back after a large use: when more than keep bytes are allocated, frees them if the buffer is
 * empty, or cuts the allocation down to the contents otherwise. Call it between uses of a buffer that is
 * reset and reused, so that one large body does not stay allocated for the buffer's life. */
void buf_shrink(struct buf *b, size_t keep);

/* Frees the memory; the buffer is empty afterwards and keeps its cap. */
void buf_release(struct buf *b);

/* Hands the contents to the caller (free() them) and empties the buffer. Never returns NULL: an empty
 * buffer yields an allocated "". ret_len may be NULL. Returns NULL only when that allocation fails. */
char *buf_detach(struct buf *b, size_t *ret_len);
