/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access log of previews (docs/previews.md, "Access log"): every request the preview gateway or the
 * sandboxes/NAME/proxy subresource answers is noted here, on the request's thread, and added up in memory
 * by key (namespace, sandbox, sandbox uid, port, user, grant, way in) and minute. A thread of its own
 * writes what was added up every --preview-access-flush-interval and at shutdown, a batch at a time, each
 * window's counts added to its row (pkg/store/previewaccess.h): a busy app costs one row per key and minute
 * and one statement per flush, never a write per request.
 *
 * Noting never waits for the database: it takes a mutex for a map update. Memory is bounded: at most
 * API_PREVIEW_ACCESS_MAX_KEYS windows are held; a hit that would need another is dropped and counted
 * (mbox_preview_access_dropped_total), as is every hit while there is no database. When a flush cannot
 * reach the database, its windows are added back and tried again at the next flush (within the same
 * bound); windows the database refuses for their data are dropped and counted, the rest stored.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "log.h"
#include "store/previewaccess.h"
#include "timestamp.h"

/* Bounds of a hit's strings: longer ones are no names Kubernetes gives, and the hit is dropped. */
#define MAX_NAMESPACE 63
#define MAX_NAME      253
#define MAX_UID       64
#define MAX_USER      255

struct api_preview_access {
        pthread_mutex_t lock;
        struct strmap *windows; /* by key (window_key()): struct window */
        size_t max_keys;
};

/* A window and its strings, in one allocation (freed with free()). */
struct window {
        struct store_preview_access row;
        char strings[];
};

struct api_preview_access *api_preview_access_new(size_t max_keys) {
        struct api_preview_access *pa = calloc(1, sizeof(*pa));
        if (!pa || !(pa->windows = strmap_new(free))) {
                free(pa);
                return NULL;
        }
        pthread_mutex_init(&pa->lock, NULL);
        pa->max_keys = max_keys;
        return pa;
}

struct api_preview_access *api_preview_access_free(struct api_preview_access *pa) {
        if (!pa)
                return NULL;
        strmap_free(pa->windows);
        pthread_mutex_destroy(&pa->lock);
        free(pa);
        return NULL;
}

static bool bounded(const char *s, size_t max, bool may_be_empty) {
        return s && (may_be_empty || *s) && strnlen(s, max + 1) <= max;
}

/* Whether h can be a row: its names there and bounded, via one of the two ways in. */
static bool hit_valid(const struct api_preview_hit *h) {
        return bounded(h->namespace, MAX_NAMESPACE, false) && bounded(h->sandbox, MAX_NAME, false) &&
               bounded(h->sandbox_uid ? h->sandbox_uid : "", MAX_UID, true) &&
               bounded(h->port, MAX_NAME, false) && bounded(h->user ? h->user : "", MAX_USER, true) &&
               bounded(h->grant ? h->grant : "", MAX_NAME, true) && h->via &&
               (strcmp(h->via, "Gateway") == 0 || strcmp(h->via, "Proxy") == 0);
}

/* The map's key of w: each string with its length first, so that no two keys read alike. */
static int window_key(const struct store_preview_access *w, char *buf, size_t size) {
        const char *v[] = {w->namespace, w->sandbox, w->sandbox_uid, w->port, w->user, w->grant, w->via};
        size_t n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
                int k = snprintf(buf + n, size - n, "%zu:%s", strlen(v[i]), v[i]);
                if (k < 0 || (size_t) k >= size - n)
                        return -ENAMETOOLONG;
                n += (size_t) k;
        }
        int k = snprintf(buf + n, size - n, "@%" PRId64, w->window);
        return k < 0 || (size_t) k >= size - n ? -ENAMETOOLONG : 0;
}

#define KEY_MAX (MAX_NAMESPACE + 3 * MAX_NAME + MAX_UID + MAX_USER + 7 + 7 * 4 + 24)

/* a + b for counters (b >= 0), at most INT64_MAX: bytes past what the database counts stay at its most */
static int64_t sat_add(int64_t a, int64_t b) {
        return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void add_counts(struct store_preview_access *to, const struct store_preview_access *w) {
        to->requests = sat_add(to->requests, w->requests);
        for (size_t c = 0; c < ARRAY_SIZE(to->classes); c++)
                to->classes[c] = sat_add(to->classes[c], w->classes[c]);
        to->bytes_in = sat_add(to->bytes_in, w->bytes_in);
        to->bytes_out = sat_add(to->bytes_out, w->bytes_out);
        if (w->first_us < to->first_us)
                to->first_us = w->first_us;
        if (w->last_us > to->last_us)
                to->last_us = w->last_us;
        if (w->max_duration_us > to->max_duration_us)
                to->max_duration_us = w->max_duration_us;
}

/* Adds w to the window of key, making it when there is room. Under pa->lock. */
static int merge_locked(
        struct api_preview_access *pa, const char *key, const struct store_preview_access *w) {
        struct window *have = strmap_get(pa->windows, key);
        if (have) {
                add_counts(&have->row, w);
                return 0;
        }
        if (strmap_size(pa->windows) >= pa->max_keys)
                return -ENOSPC;
        const char *v[] = {w->namespace, w->sandbox, w->sandbox_uid, w->port, w->user, w->grant, w->via};
        size_t len = 0;
        for (size_t i = 0; i < ARRAY_SIZE(v); i++)
                len += strlen(v[i]) + 1;
        struct window *nw = malloc(sizeof(*nw) + len);
        if (!nw)
                return -ENOMEM;
        nw->row = *w;
        const char **to[] = {&nw->row.namespace, &nw->row.sandbox, &nw->row.sandbox_uid, &nw->row.port,
                &nw->row.user, &nw->row.grant, &nw->row.via};
        char *p = nw->strings;
        for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
                size_t n = strlen(v[i]) + 1;
                memcpy(p, v[i], n);
                *to[i] = p;
                p += n;
        }
        if (strmap_put(pa->windows, key, nw) < 0) {
                free(nw);
                return -ENOMEM;
        }
        return 0;
}

int api_preview_access_add(struct api_preview_access *pa, const struct api_preview_hit *h, int64_t now_us) {
        if (!hit_valid(h))
                return -EINVAL;
        int64_t duration = h->duration_us > 0 ? h->duration_us : 0;
        struct store_preview_access w = {.namespace = h->namespace,
                .sandbox = h->sandbox,
                .sandbox_uid = h->sandbox_uid ? h->sandbox_uid : "",
                .port = h->port,
                .user = h->user ? h->user : "",
                .grant = h->grant ? h->grant : "",
                .via = h->via,
                .window = now_us / 1000000 - (now_us / 1000000) % 60,
                .requests = 1,
                /* the database's counters are signed */
                .bytes_in = h->bytes_in > INT64_MAX ? INT64_MAX : (int64_t) h->bytes_in,
                .bytes_out = h->bytes_out > INT64_MAX ? INT64_MAX : (int64_t) h->bytes_out,
                .first_us = now_us,
                .last_us = now_us,
                .max_duration_us = duration};
        if (h->status >= 100 && h->status <= 599)
                w.classes[h->status / 100 - 1] = 1;
        char key[KEY_MAX];
        if (window_key(&w, key, sizeof(key)) < 0)
                return -EINVAL;
        pthread_mutex_lock(&pa->lock);
        int r = merge_locked(pa, key, &w);
        pthread_mutex_unlock(&pa->lock);
        return r;
}

struct strmap *api_preview_access_take(struct api_preview_access *pa) {
        struct strmap *fresh = strmap_new(free);
        if (!fresh)
                return NULL;
        pthread_mutex_lock(&pa->lock);
        struct strmap *taken = pa->windows;
        pa->windows = fresh;
        pthread_mutex_unlock(&pa->lock);
        return taken;
}

/* ---- in mbox-apiserver: noting, the flush thread ---- */

struct api_preview_log {
        struct apiserver *s;
        struct api_preview_access *pa;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t thread;
        bool started, stopping, failing;
};

static void dropped(struct apiserver *s, double n) {
        if (n > 0)
                metric_add(s->m_preview_dropped, NULL, n);
}

void api_preview_access_note(struct apiserver *s, const struct api_preview_hit *h) {
        static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
        bool valid = h && h->via && (strcmp(h->via, "Gateway") == 0 || strcmp(h->via, "Proxy") == 0);
        if (valid) {
                const char *cls =
                        h->status >= 100 && h->status <= 599 ? classes[h->status / 100 - 1] : "other";
                metric_add(s->m_preview_requests, (const char *const[]){h->via, cls}, 1);
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_us = (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
        if (!valid || !s->store || !s->preview_log ||
                api_preview_access_add(s->preview_log->pa, h, now_us) < 0)
                dropped(s, 1);
}

/* Adds the windows of m after the first skip (in m's order) back for the next flush, counting the hits of
 * those there is no room for. */
static void put_back(struct api_preview_log *l, struct strmap *m, size_t skip) {
        const char *key;
        void *v;
        int64_t lost = 0;
        pthread_mutex_lock(&l->pa->lock);
        for (size_t i = 0; strmap_next(m, &i, &key, &v);) {
                const struct window *w = v;
                if (skip > 0)
                        skip--;
                else if (merge_locked(l->pa, key, &w->row) < 0)
                        lost += w->row.requests;
        }
        pthread_mutex_unlock(&l->pa->lock);
        dropped(l->s, (double) lost);
}

/* Stores rows and sets how many of them are done with (stored, or dropped); a batch the database refuses
 * for its data is stored a window at a time, and the windows it refuses are dropped. Returns < 0 when the
 * database could not be reached or failed otherwise (the rest to be kept). */
static int store_batch(struct api_preview_log *l, PGconn *conn, const struct store_preview_access *rows,
        size_t n, size_t *ret_done, struct merr *err) {
        int r = store_preview_access_add(conn, rows, n, err);
        if (r != -EBADMSG) {
                *ret_done = r < 0 ? 0 : n;
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                struct merr one = MERR_INIT;
                r = store_preview_access_add(conn, &rows[i], 1, &one);
                if (r == -EBADMSG) {
                        log_error("preview access: the database refuses a window, dropped", "namespace",
                                rows[i].namespace, "sandbox", rows[i].sandbox, "port", rows[i].port, "error",
                                merr_msg(&one));
                        dropped(l->s, (double) rows[i].requests);
                } else if (r < 0) {
                        *ret_done = i;
                        return merr_set(err, r, "%s", merr_msg(&one));
                }
        }
        *ret_done = n;
        return 0;
}

/* Writes what was added up since the last flush, a batch at a time. */
static void flush(struct api_preview_log *l) {
        struct apiserver *s = l->s;
        _cleanup_(strmap_freep) struct strmap *m = api_preview_access_take(l->pa);
        if (!m) {
                log_warn("preview access: out of memory, a flush is skipped");
                return;
        }
        size_t total = strmap_size(m), done = 0, n = 0;
        if (total == 0)
                return;
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        int r = store_acquire(s->store, &conn, &err);
        struct store_preview_access batch[STORE_PREVIEW_ACCESS_BATCH];
        const char *key;
        void *v;
        for (size_t i = 0; r >= 0 && strmap_next(m, &i, &key, &v);) {
                batch[n++] = ((const struct window *) v)->row;
                if (n == ARRAY_SIZE(batch) || done + n == total) {
                        size_t d = 0;
                        r = store_batch(l, conn, batch, n, &d, &err);
                        done += d;
                        n = 0;
                }
        }
        store_release(s->store, conn);
        if (r < 0) {
                put_back(l, m, done);
                if (!l->failing)
                        log_warn("preview access: storing failed, kept for the next flush", "error",
                                merr_msg(&err));
                l->failing = true;
                return;
        }
        if (l->failing)
                log_info("preview access: storing works again");
        l->failing = false;
}

static void *flush_main(void *arg) {
        struct api_preview_log *l = arg;
        long long interval = l->s->opt.preview_access_flush_ms;
        pthread_mutex_lock(&l->lock);
        for (;;) {
                struct timespec deadline = timestamp_deadline((long) interval);
                while (!l->stopping && pthread_cond_timedwait(&l->wake, &l->lock, &deadline) != ETIMEDOUT)
                        ;
                /* at shutdown, a last flush that starts after the stop was seen */
                bool last = l->stopping;
                pthread_mutex_unlock(&l->lock);
                flush(l);
                if (last)
                        return NULL;
                pthread_mutex_lock(&l->lock);
        }
}

int api_preview_log_new(struct apiserver *s) {
        struct api_preview_log *l = calloc(1, sizeof(*l));
        if (!l || !(l->pa = api_preview_access_new(API_PREVIEW_ACCESS_MAX_KEYS))) {
                free(l);
                return -ENOMEM;
        }
        l->s = s;
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->wake, NULL);
        s->preview_log = l;
        return 0;
}

int api_preview_log_start(struct apiserver *s, struct merr *err) {
        struct api_preview_log *l = s->preview_log;
        if (!s->store || l->started)
                return 0;
        int r = pthread_create(&l->thread, NULL, flush_main, l);
        if (r != 0)
                return merr_set(err, -r, "starting the preview access log");
        l->started = true;
        return 0;
}

void api_preview_log_stop(struct apiserver *s) {
        struct api_preview_log *l = s->preview_log;
        if (!l)
                return;
        if (l->started) {
                pthread_mutex_lock(&l->lock);
                l->stopping = true;
                pthread_cond_signal(&l->wake);
                pthread_mutex_unlock(&l->lock);
                /* the thread flushes once more on its way out */
                pthread_join(l->thread, NULL);
                l->started = false;
        } else if (s->store)
                flush(l);
        /* what the last flush could not store is lost: said once */
        struct strmap *left = api_preview_access_take(l->pa);
        if (left && strmap_size(left) > 0) {
                char n[24];
                snprintf(n, sizeof(n), "%zu", strmap_size(left));
                log_warn("preview access: windows not stored at shutdown", "windows", n);
        }
        strmap_free(left);
        s->preview_log = NULL;
        api_preview_access_free(l->pa);
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->lock);
        free(l);
}
