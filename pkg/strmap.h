/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hash map from C strings to pointers (open addressing, linear probing, FNV-1a). Keys are copied and
 * owned by the map; values are borrowed unless a free function is given to strmap_new(), in which case the
 * map frees a value when it is replaced, removed or when the map is freed. Not thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct strmap;

typedef void (*strmap_free_fn)(void *value);

struct strmap *strmap_new(strmap_free_fn free_value);
struct strmap *strmap_free(struct strmap *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct strmap *, strmap_free);

/* Inserts or replaces. Returns 0 or -ENOMEM (the map is unchanged then). */
int strmap_put(struct strmap *m, const char *key, void *value);
/* The value, or NULL when absent (a stored NULL is indistinguishable; use strmap_contains). */
void *strmap_get(const struct strmap *m, const char *key);
bool strmap_contains(const struct strmap *m, const char *key);
/* Removes the key; returns true when it was there. The value is freed if the map owns values. */
bool strmap_remove(struct strmap *m, const char *key);
size_t strmap_size(const struct strmap *m);

/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &v);) — no changes to the map meanwhile. */
bool strmap_next(const struct strmap *m, size_t *iter, const char **ret_key, void **ret_value);
