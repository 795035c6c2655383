/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strmap.h"

#define NSEC_PER_SEC INT64_C(1000000000)

struct delayed {
        int64_t ready_at;
        char *key;
};

struct ready {
        char *key;
        int64_t at; /* CLOCK_MONOTONIC ns */
};

struct workqueue {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct workqueue_options opts;

        /* FIFO of keys ready to hand out: a ring of owned strings, each with the time it became ready */
        struct ready *fifo;
        size_t head, len, cap;
        size_t nfirst; /* the leading keys that came through workqueue_add_first(), in their own order */

        struct strmap *dirty;      /* keys that need processing (queued or re-added while held) */
        struct strmap *processing; /* keys a worker holds */
        struct strmap *failures;   /* key -> (uintptr_t) count */
        struct strmap *delayed;    /* key -> (uintptr_t) its earliest ready time in the heap */

        /* min-heap of delayed keys by ready time */
        struct delayed *heap;
        size_t nheap, capheap;

        /* token bucket */
        double tokens;
        int64_t last_refill;

        bool shutting_down;
        bool drain;
};

static int64_t now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int workqueue_new(const struct workqueue_options *opts, struct workqueue **ret) {
        struct workqueue *q = calloc(1, sizeof(*q));
        pthread_condattr_t ca;

        if (!q)
                return -ENOMEM;
        q->opts = opts ? *opts : (struct workqueue_options){0};
        if (q->opts.base_delay_ns <= 0)
                q->opts.base_delay_ns = 5 * 1000 * 1000;
        if (q->opts.max_delay_ns <= 0)
                q->opts.max_delay_ns = 1000 * NSEC_PER_SEC;
        if (q->opts.qps <= 0)
                q->opts.qps = 10;
        if (q->opts.burst <= 0)
                q->opts.burst = 100;
        q->tokens = q->opts.burst;
        q->last_refill = now_ns();
        q->dirty = strmap_new(NULL);
        q->processing = strmap_new(NULL);
        q->failures = strmap_new(NULL);
        q->delayed = strmap_new(NULL);
        if (!q->dirty || !q->processing || !q->failures || !q->delayed) {
                workqueue_free(q);
                return -ENOMEM;
        }
        (void) pthread_mutex_init(&q->lock, NULL);
        (void) pthread_condattr_init(&ca);
        (void) pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        (void) pthread_cond_init(&q->cond, &ca);
        (void) pthread_condattr_destroy(&ca);
        *ret = q;
        return 0;
}

struct workqueue *workqueue_free(struct workqueue *q) {
        if (!q)
                return NULL;
        for (size_t i = 0; i < q->len; i++)
                free(q->fifo[(q->head + i) % q->cap].key);
        free(q->fifo);
        for (size_t i = 0; i < q->nheap; i++)
                free(q->heap[i].key);
        free(q->heap);
        strmap_free(q->dirty);
        strmap_free(q->processing);
        strmap_free(q->failures);
        strmap_free(q->delayed);
        if (q->dirty) { /* fully constructed: the lock and condition exist */
                (void) pthread_mutex_destroy(&q->lock);
                (void) pthread_cond_destroy(&q->cond);
        }
        free(q);
        return NULL;
}

/* Appends key to the FIFO, or, when first, puts it after the other first keys and in front of the rest:
 * new work is done in the order it came, ahead of the churn. */
static int fifo_push(struct workqueue *q, const char *key, bool first) {
        struct ready *r;
        char *k;

        if (q->len == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 16;
                struct ready *f = malloc(cap * sizeof(*f));

                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < q->len; i++)
                        f[i] = q->fifo[(q->head + i) % q->cap];
                free(q->fifo);
                q->fifo = f;
                q->cap = cap;
                q->head = 0;
        }
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        if (first) {
                q->head = (q->head + q->cap - 1) % q->cap;
                for (size_t i = 0; i < q->nfirst; i++)
                        q->fifo[(q->head + i) % q->cap] = q->fifo[(q->head + i + 1) % q->cap];
                r = &q->fifo[(q->head + q->nfirst++) % q->cap];
        } else
                r = &q->fifo[(q->head + q->len) % q->cap];
        r->key = k;
        r->at = now_ns();
        q->len++;
        return 0;
}

/* Called with the lock held. */
static int add_locked(struct workqueue *q, const char *key, bool first) {
        int r;

        if (strmap_contains(q->dirty, key))
                return 0; /* already waiting, or will be re-queued when its worker is done */
        r = strmap_put(q->dirty, key, NULL);
        if (r < 0)
                return r;
        if (strmap_contains(q->processing, key))
                return 0;
        r = fifo_push(q, key, first);
        if (r < 0) {
                strmap_remove(q->dirty, key);
                return r;
        }
        (void) pthread_cond_signal(&q->cond);
        return 0;
}

int workqueue_add(struct workqueue *q, const char *key) {
        int r;

        (void) pthread_mutex_lock(&q->lock);
        r = q->shutting_down ? -ESHUTDOWN : add_locked(q, key, false);
        (void) pthread_mutex_unlock(&q->lock);
        return r;
}

int workqueue_add_first(struct workqueue *q, const char *key) {
        int r;

        (void) pthread_mutex_lock(&q->lock);
        r = q->shutting_down ? -ESHUTDOWN : add_locked(q, key, true);
        (void) pthread_mutex_unlock(&q->lock);
        return r;
}

static void heap_swap(struct workqueue *q, size_t a, size_t b) {
        struct delayed t = q->heap[a];

        q->heap[a] = q->heap[b];
        q->heap[b] = t;
}

static int heap_push(struct workqueue *q, const char *key, int64_t ready_at) {
        size_t i;

        if (q->nheap == q->capheap) {
                size_t cap = q->capheap ? q->capheap * 2 : 16;
                struct delayed *h = realloc(q->heap, cap * sizeof(*h));

                if (!h)
                        return -ENOMEM;
                q->heap = h;
                q->capheap = cap;
        }
        q->heap[q->nheap].key = strdup(key);
        if (!q->heap[q->nheap].key)
                return -ENOMEM;
        q->heap[q->nheap].ready_at = ready_at;
        for (i = q->nheap++; i > 0 && q->heap[(i - 1) / 2].ready_at > q->heap[i].ready_at; i = (i - 1) / 2)
                heap_swap(q, i, (i - 1) / 2);
        return 0;
}

static struct delayed heap_pop(struct workqueue *q) {
        struct delayed top = q->heap[0];
        size_t i = 0;

        q->heap[0] = q->heap[--q->nheap];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < q->nheap && q->heap[l].ready_at < q->heap[m].ready_at)
                        m = l;
                if (r < q->nheap && q->heap[r].ready_at < q->heap[m].ready_at)
                        m = r;
                if (m == i)
                        break;
                heap_swap(q, i, m);
                i = m;
        }
        return top;
}

static int add_after_locked(struct workqueue *q, const char *key, int64_t delay_ns) {
        int64_t at = now_ns() + delay_ns;
        int r;

        if (delay_ns <= 0)
                return add_locked(q, key, false);
        /* a key already waiting for an earlier time is not queued twice (client-go keeps the earliest) */
        if (strmap_contains(q->delayed, key) && (int64_t) (uintptr_t) strmap_get(q->delayed, key) <= at)
                return 0;
        r = strmap_put(q->delayed, key, (void *) (uintptr_t) at);
        if (r < 0)
                return r;
        r = heap_push(q, key, at);
        if (r < 0)
                strmap_remove(q->delayed, key);
        if (r == 0)
                (void) pthread_cond_broadcast(&q->cond); /* a waiter may need an earlier wake-up */
        return r;
}

int workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ns) {
        int r;

        (void) pthread_mutex_lock(&q->lock);
        r = q->shutting_down ? -ESHUTDOWN : add_after_locked(q, key, delay_ns);
        (void) pthread_mutex_unlock(&q->lock);
        return r;
}

/* The token bucket's delay for one more token, reserving it (client-go's BucketRateLimiter). */
static int64_t bucket_delay_locked(struct workqueue *q) {
        int64_t now = now_ns();

        q->tokens += (double) (now - q->last_refill) / NSEC_PER_SEC * q->opts.qps;
        if (q->tokens > q->opts.burst)
                q->tokens = q->opts.burst;
        q->last_refill = now;
        q->tokens -= 1;
        if (q->tokens >= 0)
                return 0;
        return (int64_t) (-q->tokens / q->opts.qps * NSEC_PER_SEC);
}

int workqueue_add_rate_limited(struct workqueue *q, const char *key) {
        uintptr_t n;
        int64_t item, bucket;
        int r;

        (void) pthread_mutex_lock(&q->lock);
        if (q->shutting_down) {
                (void) pthread_mutex_unlock(&q->lock);
                return -ESHUTDOWN;
        }
        n = (uintptr_t) strmap_get(q->failures, key);
        item = q->opts.base_delay_ns;
        for (uintptr_t i = 0; i < n && item < q->opts.max_delay_ns; i++)
                item *= 2;
        if (item > q->opts.max_delay_ns)
                item = q->opts.max_delay_ns;
        r = strmap_put(q->failures, key, (void *) (n + 1));
        bucket = bucket_delay_locked(q);
        if (r == 0)
                r = add_after_locked(q, key, item > bucket ? item : bucket);
        (void) pthread_mutex_unlock(&q->lock);
        return r;
}

void workqueue_forget(struct workqueue *q, const char *key) {
        (void) pthread_mutex_lock(&q->lock);
        strmap_remove(q->failures, key);
        (void) pthread_mutex_unlock(&q->lock);
}

/* Moves delayed keys whose time has come into the FIFO; returns the next ready time or 0. */
static int64_t promote_locked(struct workqueue *q) {
        int64_t now = now_ns();

        while (q->nheap > 0 && q->heap[0].ready_at <= now) {
                struct delayed d = heap_pop(q);

                /* only the entry with the key's earliest time counts; later duplicates were never pushed */
                if ((int64_t) (uintptr_t) strmap_get(q->delayed, d.key) == d.ready_at) {
                        strmap_remove(q->delayed, d.key);
                        (void) add_locked(q, d.key, false); /* on -ENOMEM the key is lost, as memory is */
                }
                free(d.key);
        }
        return q->nheap > 0 ? q->heap[0].ready_at : 0;
}

int workqueue_get_waited(struct workqueue *q, char **ret_key, int64_t *ret_waited_ns) {
        char *key;
        int64_t ready_at;

        (void) pthread_mutex_lock(&q->lock);
        for (;;) {
                int64_t next;

                if (q->shutting_down) {
                        (void) pthread_mutex_unlock(&q->lock);
                        return -ESHUTDOWN;
                }
                next = promote_locked(q);
                if (q->len > 0)
                        break;
                if (next > 0) {
                        struct timespec ts = {.tv_sec = next / NSEC_PER_SEC, .tv_nsec = next % NSEC_PER_SEC};

                        (void) pthread_cond_timedwait(&q->cond, &q->lock, &ts);
                } else
                        (void) pthread_cond_wait(&q->cond, &q->lock);
        }
        key = q->fifo[q->head].key;
        ready_at = q->fifo[q->head].at;
        q->head = (q->head + 1) % q->cap;
        q->len--;
        if (q->nfirst > 0)
                q->nfirst--;
        strmap_remove(q->dirty, key);
        if (strmap_put(q->processing, key, NULL) < 0) {
                /* cannot track it: put it back rather than risk two workers on one key */
                (void) add_locked(q, key, false);
                free(key);
                (void) pthread_mutex_unlock(&q->lock);
                return -ENOMEM;
        }
        (void) pthread_mutex_unlock(&q->lock);
        *ret_key = key;
        if (ret_waited_ns)
                *ret_waited_ns = now_ns() - ready_at;
        return 0;
}

void workqueue_done(struct workqueue *q, const char *key) {
        (void) pthread_mutex_lock(&q->lock);
        strmap_remove(q->processing, key);
        if (strmap_contains(q->dirty, key) && !q->shutting_down)
                (void) fifo_push(q, key, false);
        (void) pthread_cond_broadcast(&q->cond);
        (void) pthread_mutex_unlock(&q->lock);
}

void workqueue_shutdown(struct workqueue *q) {
        (void) pthread_mutex_lock(&q->lock);
        q->shutting_down = true;
        (void) pthread_cond_broadcast(&q->cond);
        (void) pthread_mutex_unlock(&q->lock);
}

size_t workqueue_len(struct workqueue *q) {
        size_t n;

        (void) pthread_mutex_lock(&q->lock);
        n = q->len;
        (void) pthread_mutex_unlock(&q->lock);
        return n;
}
