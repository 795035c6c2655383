/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last bytes of a stream of any length (a command's output), in a fixed ring, and that tail as text
 * fit for JSON: starting at a character boundary, with every byte that is not part of well-formed UTF-8
 * replaced by '?'. Memory is the capacity, whatever is added.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct tail {
        char *buf;
        size_t cap, len, pos; /* ring: the newest byte is at pos - 1 */
        uint64_t total;       /* every byte ever added */
};

/* Allocates cap (> 0) bytes. Returns 0 or -ENOMEM. */
int tail_init(struct tail *t, size_t cap);
void tail_release(struct tail *t);
void tail_add(struct tail *t, const char *data, size_t len);
/* The tail as well-formed UTF-8 (NUL-terminated, at most cap bytes; the caller frees it), its length in
 * *ret_len. NULL when out of memory. */
char *tail_text(const struct tail *t, size_t *ret_len);
