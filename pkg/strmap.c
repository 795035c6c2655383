/* SPDX-License-Identifier: Apache-2.0 */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A deleted slot keeps probing chains intact until the next resize. */
static char tombstone;
#define TOMBSTONE (&tombstone)

struct slot {
        char *key; /* NULL: empty; TOMBSTONE: deleted */
        void *value;
};

struct strmap {
        struct slot *slots;
        size_t cap; /* power of two */
        size_t size;
        size_t used; /* live + tombstones */
        strmap_free_fn free_value;
};

static uint64_t hash(const char *s) {
        uint64_t h = 1469598103934665603ULL;

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        return h;
}

struct strmap *strmap_new(strmap_free_fn free_value) {
        struct strmap *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->free_value = free_value;
        return m;
}

struct strmap *strmap_free(struct strmap *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->cap; i++)
                if (m->slots[i].key && m->slots[i].key != TOMBSTONE) {
                        if (m->free_value)
                                m->free_value(m->slots[i].value);
                        free(m->slots[i].key);
                }
        free(m->slots);
        free(m);
        return NULL;
}

static struct slot *find(const struct strmap *m, const char *key) {
        if (m->cap == 0)
                return NULL;
        for (size_t i = hash(key) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
                struct slot *s = &m->slots[i];

                if (!s->key)
                        return NULL;
                if (s->key != TOMBSTONE && strcmp(s->key, key) == 0)
                        return s;
        }
        return NULL;
}

static int resize(struct strmap *m, size_t cap) {
        struct slot *old = m->slots, *slots;
        size_t oldcap = m->cap;

        slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        m->slots = slots;
        m->cap = cap;
        m->used = m->size;
        for (size_t i = 0; i < oldcap; i++) {
                if (!old[i].key || old[i].key == TOMBSTONE)
                        continue;
                for (size_t j = hash(old[i].key) & (cap - 1);; j = (j + 1) & (cap - 1))
                        if (!slots[j].key) {
                                slots[j] = old[i];
                                break;
                        }
        }
        free(old);
        return 0;
}

int strmap_put(struct strmap *m, const char *key, void *value) {
        struct slot *s = find(m, key);
        char *k;
        int r;

        if (s) {
                if (m->free_value && s->value != value)
                        m->free_value(s->value);
                s->value = value;
                return 0;
        }
        /* keep the load (tombstones included) under 3/4 */
        if ((m->used + 1) * 4 > m->cap * 3) {
                r = resize(m, m->cap ? (m->size * 2 + 2 > m->cap ? m->cap * 2 : m->cap) : 16);
                if (r < 0)
                        return r;
        }
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                s = &m->slots[i];
                if (!s->key || s->key == TOMBSTONE) {
                        if (!s->key)
                                m->used++;
                        s->key = k;
                        s->value = value;
                        m->size++;
                        return 0;
                }
        }
}

void *strmap_get(const struct strmap *m, const char *key) {
        struct slot *s = find(m, key);

        return s ? s->value : NULL;
}

bool strmap_contains(const struct strmap *m, const char *key) {
        return find(m, key) != NULL;
}

bool strmap_remove(struct strmap *m, const char *key) {
        struct slot *s = find(m, key);

        if (!s)
                return false;
        if (m->free_value)
                m->free_value(s->value);
        free(s->key);
        s->key = TOMBSTONE;
        s->value = NULL;
        m->size--;
        return true;
}

size_t strmap_size(const struct strmap *m) {
        return m->size;
}

bool strmap_next(const struct strmap *m, size_t *iter, const char **ret_key, void **ret_value) {
        for (; *iter < m->cap; (*iter)++) {
                const struct slot *s = &m->slots[*iter];

                if (s->key && s->key != TOMBSTONE) {
                        if (ret_key)
                                *ret_key = s->key;
                        if (ret_value)
                                *ret_value = s->value;
                        (*iter)++;
                        return true;
                }
        }
        return false;
}
