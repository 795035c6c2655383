/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "jsonutil.h"
#include "kube/object.h"
#include "kube/objpack.h"
#include "strmap.h"
#include "timestamp.h"

#define KEY_MAX      512
#define RV_MAX       64
#define KEYSET_SMALL 4

/* The keys that have one index value: a few in an array (most values, e.g. an owner's uid, have one or two
 * keys), a map once there are more, so removing one stays O(1) for a label shared by thousands. */
struct keyset {
        size_t n;           /* keys */
        struct strmap *big; /* key -> NULL once there were more than KEYSET_SMALL keys; small unused then */
        char *small[KEYSET_SMALL];
};

struct index {
        char *name;
        informer_index_fn fn;
        void *ud;
        struct strmap *values; /* value -> struct keyset (owned) */
};

struct informer {
        struct kube_client *client;
        struct kube_resource res;
        char *group, *version, *resource, *namespace;
        char *label_selector, *field_selector;
        long page_size, watch_timeout;
        bool keep_managed_fields;
        bool metadata_only;
        struct informer_handlers h;
        struct index idx[INFORMER_MAX_INDEXES]; /* fixed once started */
        size_t nidx;

        pthread_t thread;
        bool running, started;
        atomic_bool stop, hold;

        pthread_mutex_t lock; /* guards cache, the indexes' values, synced, lists, held */
        pthread_cond_t cond;
        struct strmap *cache; /* key -> struct cached (owned) */
        struct objpack *pack; /* how the cache keeps texts */
        bool synced, held;
        unsigned long lists;
        char rv[RV_MAX];
};

/* A cached object: its compact JSON text packed (kube/objpack.h: compressed against the first object the
 * informer cached), then its metadata.resourceVersion (for the relist's diff), NUL-terminated, in one
 * allocation. The text is what json-c wrote from a tree that json_parse() accepted, so reading it back
 * needs no strictness checks. */
struct cached {
        uint32_t len;    /* of the JSON text */
        uint32_t packed; /* bytes of data it takes (len: the text as it is) */
        char data[];
};

static const char *cached_rv(const struct cached *c) {
        return c->data + c->packed;
}

static struct cached *cached_make(
        struct informer *inf, const char *text, size_t len, const char *rv, size_t rvlen) {
        char small[8192];
        size_t bound = objpack_bound(len);
        char *tmp = bound <= sizeof(small) ? small : malloc(bound);
        struct cached *c = NULL;
        int64_t n;

        if (!tmp)
                return NULL;
        n = objpack_pack(inf->pack, tmp, text, len);
        if (n >= 0 && (c = malloc(sizeof(*c) + (size_t) n + rvlen + 1))) {
                c->len = (uint32_t) len;
                c->packed = (uint32_t) n;
                memcpy(c->data, tmp, (size_t) n);
                memcpy(c->data + n, rv, rvlen);
                c->data[n + (int64_t) rvlen] = '\0';
        }
        if (tmp != small)
                free(tmp);
        return c;
}

/* The JSON text and resourceVersion of obj (borrowed from obj). */
static const char *object_text(json_object *obj, size_t *len, const char **rv) {
        *rv = NULL;
        (void) json_get_string(obj, "metadata.resourceVersion", JSON_OPTIONAL, rv, NULL);
        if (!*rv)
                *rv = "";
        return json_object_to_json_string_length(
                obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

static struct cached *cached_new(struct informer *inf, json_object *obj) {
        const char *rv, *text;
        size_t len = 0;

        text = object_text(obj, &len, &rv);
        return text ? cached_make(inf, text, len, rv, strlen(rv)) : NULL;
}

/* A tree of a cached object, owned by the caller; NULL when out of memory. tok may be NULL (one is made). */
static json_object *cached_parse(struct informer *inf, const struct cached *c, json_tokener *tok) {
        json_tokener *own = NULL;
        json_object *o = NULL;
        char small[16384], *heap = NULL;
        const char *text = c->data;

        if (!tok && !(tok = own = json_tokener_new_ex(KUBE_MAX_JSON_DEPTH + 1)))
                return NULL;
        if (!own)
                json_tokener_reset(tok);
        if (c->packed != c->len) {
                char *buf = c->len < sizeof(small) ? small : (heap = malloc((size_t) c->len + 1));
                text = buf && objpack_unpack(inf->pack, c->data, c->packed, buf, c->len) == 0 ? buf : NULL;
        }
        if (text) {
                o = json_tokener_parse_ex(tok, text, (int) c->len);
                if (o && json_tokener_get_error(tok) != json_tokener_success) {
                        json_object_put(o);
                        o = NULL;
                }
        }
        free(heap);
        if (own)
                json_tokener_free(own);
        return o;
}

static void keyset_free(void *p) {
        struct keyset *s = p;

        if (!s)
                return;
        if (s->big)
                strmap_free(s->big);
        else
                for (size_t i = 0; i < s->n; i++)
                        free(s->small[i]);
        free(s);
}

static int keyset_add(struct keyset *s, const char *key) {
        _cleanup_(strmap_freep) struct strmap *m = NULL;
        char *k;

        if (s->big) {
                if (strmap_contains(s->big, key))
                        return 0;
                if (strmap_put(s->big, key, NULL) < 0)
                        return -ENOMEM;
                s->n++;
                return 0;
        }
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->small[i], key) == 0)
                        return 0;
        if (s->n < KEYSET_SMALL) {
                k = strdup(key);
                if (!k)
                        return -ENOMEM;
                s->small[s->n++] = k;
                return 0;
        }
        m = strmap_new(NULL);
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                if (strmap_put(m, s->small[i], NULL) < 0)
                        return -ENOMEM;
        if (strmap_put(m, key, NULL) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                free(s->small[i]);
        s->big = TAKE_PTR(m);
        s->n++;
        return 0;
}

static void keyset_remove(struct keyset *s, const char *key) {
        if (s->big) {
                if (strmap_remove(s->big, key))
                        s->n--;
                return;
        }
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->small[i], key) == 0) {
                        free(s->small[i]);
                        s->small[i] = s->small[--s->n];
                        return;
                }
}

/* for (size_t i = 0; keyset_next(s, &i, &key);) */
static bool keyset_next(const struct keyset *s, size_t *iter, const char **ret_key) {
        if (s->big)
                return strmap_next(s->big, iter, ret_key, NULL);
        if (*iter >= s->n)
                return false;
        *ret_key = s->small[(*iter)++];
        return true;
}

/* An object's values in one index, as its index function emits them. */
struct values {
        char **v;
        size_t n, cap;
        bool failed; /* out of memory: some values are missing */
};

static bool values_has(const struct values *vs, const char *value) {
        for (size_t i = 0; i < vs->n; i++)
                if (strcmp(vs->v[i], value) == 0)
                        return true;
        return false;
}

static void values_emit(const char *value, void *ectx) {
        struct values *vs = ectx;
        char *v;

        if (!value || vs->failed || values_has(vs, value))
                return;
        if (vs->n == vs->cap) {
                size_t cap = vs->cap ? vs->cap * 2 : 4;
                char **p = reallocarray(vs->v, cap, sizeof(*p));

                if (!p) {
                        vs->failed = true;
                        return;
                }
                vs->v = p;
                vs->cap = cap;
        }
        v = strdup(value);
        if (!v) {
                vs->failed = true;
                return;
        }
        vs->v[vs->n++] = v;
}

/* obj's values (none for NULL) in each of the informer's indexes, into vs[0 .. nidx). */
static void index_values(struct informer *inf, json_object *obj, struct values *vs) {
        for (size_t i = 0; i < inf->nidx; i++) {
                vs[i] = (struct values){0};
                if (obj)
                        inf->idx[i].fn(obj, values_emit, &vs[i], inf->idx[i].ud);
        }
}

static void values_release(struct informer *inf, struct values *vs) {
        for (size_t i = 0; i < inf->nidx; i++) {
                for (size_t j = 0; j < vs[i].n; j++)
                        free(vs[i].v[j]);
                free(vs[i].v);
        }
}

/* Moves key from the values it had (oldv) to those it has now (newv) in every index, under the lock. Out of
 * memory leaves a value without the key, as the cache keeps an old entry when it cannot store a new one. */
static void index_update(
        struct informer *inf, const char *key, const struct values *oldv, const struct values *newv) {
        for (size_t i = 0; i < inf->nidx; i++) {
                struct strmap *m = inf->idx[i].values;

                for (size_t j = 0; j < oldv[i].n; j++) {
                        struct keyset *ks;

                        if (values_has(&newv[i], oldv[i].v[j]))
                                continue;
                        ks = strmap_get(m, oldv[i].v[j]);
                        if (!ks)
                                continue;
                        keyset_remove(ks, key);
                        if (ks->n == 0)
                                (void) strmap_remove(m, oldv[i].v[j]);
                }
                for (size_t j = 0; j < newv[i].n; j++) {
                        struct keyset *ks;

                        if (values_has(&oldv[i], newv[i].v[j]))
                                continue;
                        ks = strmap_get(m, newv[i].v[j]);
                        if (!ks) {
                                ks = calloc(1, sizeof(*ks));
                                if (!ks)
                                        continue;
                                if (strmap_put(m, newv[i].v[j], ks) < 0) {
                                        free(ks);
                                        continue;
                                }
                        }
                        if (keyset_add(ks, key) < 0 && ks->n == 0)
                                (void) strmap_remove(m, newv[i].v[j]);
                }
        }
}

/* What the informer keeps of an object: without metadata.managedFields unless asked to keep them. */
static void transform(struct informer *inf, json_object *obj) {
        json_object *md = NULL;

        if (!inf->keep_managed_fields && json_object_object_get_ex(obj, "metadata", &md) &&
                json_object_is_type(md, json_type_object))
                json_object_object_del(md, "managedFields");
}

static char *dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

int informer_new(struct kube_config *cfg, const struct kube_resource *r, const struct informer_options *o,
        const struct informer_handlers *h, struct informer **ret, struct merr *err) {
        _cleanup_(informer_freep) struct informer *inf = NULL;
        int k;

        inf = calloc(1, sizeof(*inf));
        if (!inf) {
                kube_config_free(cfg);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        (void) pthread_mutex_init(&inf->lock, NULL);
        (void) pthread_cond_init(&inf->cond, NULL);
        inf->cache = strmap_new(free);
        if (!inf->cache || objpack_new(&inf->pack) < 0) {
                kube_config_free(cfg);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        k = kube_client_new(cfg, &inf->client, err);
        if (k < 0)
                return k;
        kube_client_set_cancel(inf->client, &inf->stop);
        inf->group = dup_or_null(r->group);
        inf->version = dup_or_null(r->version);
        inf->resource = dup_or_null(r->resource);
        inf->namespace = dup_or_null(r->namespace);
        inf->label_selector = dup_or_null(o ? o->label_selector : NULL);
        inf->field_selector = dup_or_null(o ? o->field_selector : NULL);
        inf->page_size = o && o->page_size > 0 ? o->page_size : 500;
        inf->watch_timeout = o ? o->watch_timeout_seconds : 0;
        inf->keep_managed_fields = o && o->keep_managed_fields;
        inf->metadata_only = o && o->metadata_only;
        inf->res = (struct kube_resource){.group = inf->group,
                .version = inf->version,
                .resource = inf->resource,
                .namespace = inf->namespace};
        if (h)
                inf->h = *h;
        *ret = TAKE_PTR(inf);
        return 0;
}

struct informer *informer_free(struct informer *inf) {
        if (!inf)
                return NULL;
        informer_stop(inf);
        kube_client_free(inf->client);
        strmap_free(inf->cache);
        objpack_free(inf->pack);
        for (size_t i = 0; i < inf->nidx; i++) {
                free(inf->idx[i].name);
                strmap_free(inf->idx[i].values);
        }
        free(inf->group);
        free(inf->version);
        free(inf->resource);
        free(inf->namespace);
        free(inf->label_selector);
        free(inf->field_selector);
        (void) pthread_mutex_destroy(&inf->lock);
        (void) pthread_cond_destroy(&inf->cond);
        free(inf);
        return NULL;
}

/* Stores ent (taking it), moves key between index values, and tells the handlers what changed; obj is the
 * object's tree when the caller has one (NULL: built from ent when needed). Called on the reflector thread,
 * the only writer of the cache and the indexes: it reads them without the lock, and ent stays valid after
 * the lock is dropped. The old values come from the cached object, which is what was indexed. */
static void upsert(struct informer *inf, const char *key, struct cached *ent, json_object *obj) {
        _cleanup_json_ json_object *old_obj = NULL, *new_obj = NULL;
        struct values oldv[INFORMER_MAX_INDEXES], newv[INFORMER_MAX_INDEXES];
        struct cached *old;
        bool had, notify;

        old = strmap_get(inf->cache, key);
        had = old != NULL;
        notify = had ? inf->h.on_update != NULL : inf->h.on_add != NULL;
        if (old && (inf->h.on_update || inf->nidx > 0))
                old_obj = cached_parse(inf, old, NULL); /* before the entry is replaced and freed */
        if (!obj && (notify || inf->nidx > 0))
                obj = new_obj = cached_parse(inf, ent, NULL);
        index_values(inf, old_obj, oldv);
        index_values(inf, obj, newv);
        (void) pthread_mutex_lock(&inf->lock);
        if (strmap_put(inf->cache, key, ent) < 0) {
                free(ent);
                ent = NULL;
        } else
                index_update(inf, key, oldv, newv);
        (void) pthread_mutex_unlock(&inf->lock);
        values_release(inf, oldv);
        values_release(inf, newv);
        if (!ent || !notify || !obj)
                return;
        if (had && old_obj)
                inf->h.on_update(key, old_obj, obj, inf->h.userdata);
        else if (!had)
                inf->h.on_add(key, obj, inf->h.userdata);
}

static void remove_key(struct informer *inf, const char *key, json_object *last) {
        _cleanup_json_ json_object *old_obj = NULL;
        struct values oldv[INFORMER_MAX_INDEXES], none[INFORMER_MAX_INDEXES];
        struct cached *old;

        old = strmap_get(inf->cache, key); /* the reflector thread reads without the lock, as in upsert() */
        if (old && ((!last && inf->h.on_delete) || inf->nidx > 0))
                old_obj = cached_parse(inf, old, NULL);
        index_values(inf, old_obj, oldv);
        index_values(inf, NULL, none);
        (void) pthread_mutex_lock(&inf->lock);
        if (old) {
                index_update(inf, key, oldv, none);
                (void) strmap_remove(inf->cache, key);
        }
        (void) pthread_mutex_unlock(&inf->lock);
        values_release(inf, oldv);
        if ((old || last) && inf->h.on_delete && (last || old_obj))
                inf->h.on_delete(key, last ? last : old_obj, inf->h.userdata);
}

/* A map of fresh entries (values not owned by the map): frees them too. */
static void fresh_free(struct strmap **m) {
        size_t it = 0;
        const char *key;
        void *v;

        if (!*m)
                return;
        while (strmap_next(*m, &it, &key, &v))
                free(v);
        *m = strmap_free(*m);
}

struct relist {
        struct informer *inf;
        struct strmap *fresh; /* key -> struct cached */
        struct merr *err;
};

/* One listed object into the fresh map, as the cache keeps it (a key listed twice: the last one wins). */
static int relist_item(json_object *obj, void *ud) {
        struct relist *x = ud;
        struct cached *ent;
        const char *text, *rv;
        char key[KEY_MAX];
        size_t len;

        if (kube_object_key(obj, key, sizeof(key)) < 0)
                return 0;
        transform(x->inf, obj);
        text = object_text(obj, &len, &rv);
        ent = text ? cached_make(x->inf, text, len, rv, strlen(rv)) : NULL;
        if (!ent)
                return merr_set(x->err, -ENOMEM, "out of memory");
        free(strmap_get(x->fresh, key));
        if (strmap_put(x->fresh, key, ent) < 0) {
                free(ent);
                (void) strmap_remove(x->fresh, key);
                return merr_set(x->err, -ENOMEM, "out of memory");
        }
        return 0;
}

/* Lists every page into a fresh map, one object at a time as the pages arrive (kube_list_each() gives
 * list items of built-in kinds the apiVersion and kind that watch events carry, so the cache is uniform),
 * then reconciles the cache with it. */
static int relist(struct informer *inf, struct merr *err) {
        _cleanup_(fresh_free) struct strmap *fresh = strmap_new(NULL);
        _cleanup_free_ char *lrv = NULL;
        char rv[RV_MAX] = "";
        struct kube_list_opts lo = {.limit = inf->page_size,
                .label_selector = inf->label_selector,
                .field_selector = inf->field_selector,
                .metadata_only = inf->metadata_only};
        struct relist x = {inf, NULL, err};
        int k;

        if (!fresh)
                return merr_set(err, -ENOMEM, "out of memory");
        x.fresh = fresh;
        k = kube_list_each(inf->client, &inf->res, &lo, relist_item, &x, &lrv, err);
        if (k < 0)
                return merr_wrap(err, k, "list %s", inf->resource);
        (void) snprintf(rv, sizeof(rv), "%s", lrv);

        /* deletes first (what the cache has and the list does not), then adds and updates */
        {
                size_t it = 0, n = 0, cap;
                const char *key;
                char **gone;

                (void) pthread_mutex_lock(&inf->lock);
                cap = strmap_size(inf->cache);
                gone = calloc(cap + 1, sizeof(*gone));
                while (gone && strmap_next(inf->cache, &it, &key, NULL))
                        if (!strmap_contains(fresh, key))
                                gone[n++] = strdup(key);
                (void) pthread_mutex_unlock(&inf->lock);
                for (size_t i = 0; gone && i < n; i++) {
                        if (gone[i])
                                remove_key(inf, gone[i], NULL);
                        free(gone[i]);
                }
                free(gone);
        }
        {
                size_t it = 0;
                const char *key;
                void *obj;

                /* every entry goes to the cache or is freed here: the map keeps only its keys after */
                while (strmap_next(fresh, &it, &key, &obj)) {
                        struct cached *cur, *ent = obj;
                        bool same;

                        (void) pthread_mutex_lock(&inf->lock);
                        cur = strmap_get(inf->cache, key);
                        same = cur && *cached_rv(cur) && strcmp(cached_rv(cur), cached_rv(ent)) == 0;
                        (void) pthread_mutex_unlock(&inf->lock);
                        if (same)
                                free(ent);
                        else
                                upsert(inf, key, ent, NULL);
                }
                fresh = strmap_free(fresh);
        }
        (void) pthread_mutex_lock(&inf->lock);
        (void) snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
        inf->synced = true;
        inf->lists++;
        (void) pthread_cond_broadcast(&inf->cond);
        (void) pthread_mutex_unlock(&inf->lock);
        return 0;
}

struct watch_state {
        struct informer *inf;
        bool expired;
};

static int on_event(const struct kube_watch_event *ev, void *userdata) {
        struct watch_state *ws = userdata;
        struct informer *inf = ws->inf;
        char key[KEY_MAX];

        if (atomic_load(&inf->stop))
                return -ECANCELED;
        if (ev->type == KUBE_EVENT_ERROR) {
                if (kube_watch_event_is_expired(ev)) {
                        ws->expired = true;
                        return -ENODATA;
                }
                return -EIO;
        }
        if (ev->type != KUBE_EVENT_BOOKMARK) {
                if (kube_object_key(ev->object, key, sizeof(key)) < 0)
                        return 0;
                transform(inf, ev->object);
                if (ev->type == KUBE_EVENT_DELETED)
                        remove_key(inf, key, ev->object);
                else {
                        struct cached *ent = cached_new(inf, ev->object);

                        if (!ent)
                                return -ENOMEM;
                        upsert(inf, key, ent, ev->object);
                }
        }
        (void) pthread_mutex_lock(&inf->lock);
        (void) snprintf(inf->rv, sizeof(inf->rv), "%s", ev->resource_version);
        (void) pthread_mutex_unlock(&inf->lock);
        return 0;
}

static uint32_t random_u32(void) {
        uint32_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t) sizeof(v))
                v = (uint32_t) time(NULL);
        return v;
}

/* Sleeps up to ms, waking early when the informer stops. */
static void pause_ms(struct informer *inf, long ms) {
        for (long slept = 0; slept < ms && !atomic_load(&inf->stop); slept += 50)
                nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
}

static void *reflector(void *arg) {
        struct informer *inf = arg;
        long backoff = 800;
        bool need_list = true;

        while (!atomic_load(&inf->stop)) {
                struct merr err = MERR_INIT;
                struct watch_state ws = {.inf = inf};
                struct kube_watch_opts wo = {.label_selector = inf->label_selector,
                        .field_selector = inf->field_selector,
                        .metadata_only = inf->metadata_only};
                char rv[RV_MAX];
                int k;

                if (need_list) {
                        k = relist(inf, &err);
                        if (k < 0) {
                                if (atomic_load(&inf->stop))
                                        break;
                                /* jittered backoff: up to twice the step, as client-go's jitter 1.0 */
                                pause_ms(inf, backoff + (long) (random_u32() % (uint32_t) backoff));
                                backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
                                continue;
                        }
                        need_list = false;
                }
                if (atomic_load(&inf->hold)) {
                        (void) pthread_mutex_lock(&inf->lock);
                        inf->held = true;
                        (void) pthread_cond_broadcast(&inf->cond);
                        (void) pthread_mutex_unlock(&inf->lock);
                        while (atomic_load(&inf->hold) && !atomic_load(&inf->stop))
                                pause_ms(inf, 50);
                        (void) pthread_mutex_lock(&inf->lock);
                        inf->held = false;
                        (void) pthread_mutex_unlock(&inf->lock);
                        need_list = true; /* as after a 410: what changed meanwhile comes as differences */
                        continue;
                }
                (void) pthread_mutex_lock(&inf->lock);
                (void) snprintf(rv, sizeof(rv), "%s", inf->rv);
                (void) pthread_mutex_unlock(&inf->lock);
                wo.resource_version = rv;
                wo.timeout_seconds =
                        inf->watch_timeout > 0 ? inf->watch_timeout : 300 + (long) (random_u32() % 300);
                k = kube_watch(inf->client, &inf->res, &wo, on_event, &ws, &err);
                if (atomic_load(&inf->stop))
                        break;
                if (ws.expired || k == -ENODATA) {
                        need_list = true; /* 410: the events since rv are gone; relist and diff */
                        continue;
                }
                if (k < 0) {
                        pause_ms(inf, backoff + (long) (random_u32() % (uint32_t) backoff));
                        backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
                        continue;
                }
                backoff = 800; /* a watch that ended normally resumes at once from the newest rv */
        }
        return NULL;
}

int informer_start(struct informer *inf, struct merr *err) {
        int k;

        if (inf->running)
                return 0;
        atomic_store(&inf->stop, false);
        k = pthread_create(&inf->thread, NULL, reflector, inf);
        if (k != 0)
                return merr_set(err, -k, "cannot start the informer thread for '%s'", inf->resource);
        inf->running = inf->started = true;
        return 0;
}

void informer_cancel(struct informer *inf) {
        atomic_store(&inf->stop, true);
}

void informer_stop(struct informer *inf) {
        if (!inf->running)
                return;
        atomic_store(&inf->stop, true);
        (void) pthread_join(inf->thread, NULL);
        inf->running = false;
}

bool informer_wait_synced(struct informer *inf, long timeout_ms) {
        struct timespec ts = timestamp_deadline(timeout_ms);
        bool synced;

        (void) pthread_mutex_lock(&inf->lock);
        while (!inf->synced)
                if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) != 0)
                        break;
        synced = inf->synced;
        (void) pthread_mutex_unlock(&inf->lock);
        return synced;
}

json_object *informer_get(struct informer *inf, const char *key) {
        struct cached *c;
        json_object *copy = NULL;

        /* json-c's reference counts are not atomic (Debian builds it without ENABLE_THREADING), so a tree
         * is never shared with another thread: the caller gets its own, built from the cached text */
        (void) pthread_mutex_lock(&inf->lock);
        c = strmap_get(inf->cache, key);
        if (c)
                copy = cached_parse(inf, c, NULL);
        (void) pthread_mutex_unlock(&inf->lock);
        return copy;
}

size_t informer_len(struct informer *inf) {
        size_t n;

        (void) pthread_mutex_lock(&inf->lock);
        n = strmap_size(inf->cache);
        (void) pthread_mutex_unlock(&inf->lock);
        return n;
}

void informer_foreach(struct informer *inf, const char *ns,
        void (*fn)(const char *key, json_object *obj, void *ud), void *ud) {
        size_t it = 0, nslen = ns ? strlen(ns) : 0;
        const char *key;
        void *ent;
        json_tokener *tok = json_tokener_new_ex(KUBE_MAX_JSON_DEPTH + 1);

        if (!tok)
                return;
        (void) pthread_mutex_lock(&inf->lock);
        while (strmap_next(inf->cache, &it, &key, &ent))
                if (!ns || (strncmp(key, ns, nslen) == 0 && key[nslen] == '/')) {
                        json_object *obj = cached_parse(inf, ent, tok);

                        if (obj)
                                fn(key, obj, ud);
                        json_object_put(obj);
                }
        (void) pthread_mutex_unlock(&inf->lock);
        json_tokener_free(tok);
}

unsigned long informer_lists(struct informer *inf) {
        unsigned long n;

        (void) pthread_mutex_lock(&inf->lock);
        n = inf->lists;
        (void) pthread_mutex_unlock(&inf->lock);
        return n;
}

bool informer_hold(struct informer *inf, long timeout_ms) {
        struct timespec ts = timestamp_deadline(timeout_ms);
        bool held;

        atomic_store(&inf->hold, true);
        (void) pthread_mutex_lock(&inf->lock);
        while (!inf->held && inf->running)
                if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) != 0)
                        break;
        held = inf->held;
        (void) pthread_mutex_unlock(&inf->lock);
        return held;
}

void informer_release(struct informer *inf) {
        atomic_store(&inf->hold, false);
}

int informer_add_index(
        struct informer *inf, const char *name, informer_index_fn fn, void *ud, struct merr *err) {
        struct index *x;

        if (inf->started)
                return merr_set(err, -EBUSY, "index '%s': the informer has started", name);
        for (size_t i = 0; i < inf->nidx; i++)
                if (strcmp(inf->idx[i].name, name) == 0)
                        return merr_set(err, -EEXIST, "index '%s' already exists", name);
        if (inf->nidx == INFORMER_MAX_INDEXES)
                return merr_set(err, -E2BIG, "index '%s': at most %d indexes", name, INFORMER_MAX_INDEXES);
        x = &inf->idx[inf->nidx];
        x->name = strdup(name);
        x->values = strmap_new(keyset_free);
        if (!x->name || !x->values) {
                free(x->name);
                strmap_free(x->values);
                *x = (struct index){0};
                return merr_set(err, -ENOMEM, "out of memory");
        }
        x->fn = fn;
        x->ud = ud;
        inf->nidx++;
        return 0;
}

static struct index *index_find(struct informer *inf, const char *name) {
        for (size_t i = 0; i < inf->nidx; i++)
                if (strcmp(inf->idx[i].name, name) == 0)
                        return &inf->idx[i];
        return NULL;
}

int informer_index_foreach(struct informer *inf, const char *index, const char *value,
        void (*fn)(const char *key, json_object *obj, void *ud), void *ud) {
        struct index *x = index_find(inf, index);
        const struct keyset *ks;
        const char *key;
        json_tokener *tok;
        int n = 0;

        if (!x)
                return -ENOENT;
        tok = json_tokener_new_ex(KUBE_MAX_JSON_DEPTH + 1);
        if (!tok)
                return -ENOMEM;
        (void) pthread_mutex_lock(&inf->lock);
        ks = strmap_get(x->values, value);
        for (size_t it = 0; ks && keyset_next(ks, &it, &key);) {
                struct cached *c = strmap_get(inf->cache, key);
                json_object *obj = c ? cached_parse(inf, c, tok) : NULL;

                if (obj) {
                        fn(key, obj, ud);
                        n++;
                }
                json_object_put(obj);
        }
        (void) pthread_mutex_unlock(&inf->lock);
        json_tokener_free(tok);
        return n;
}

char **informer_keys_free(char **keys) {
        for (size_t i = 0; keys && keys[i]; i++)
                free(keys[i]);
        free(keys);
        return NULL;
}

int informer_index_keys(struct informer *inf, const char *index, const char *value, char ***ret_keys) {
        struct index *x = index_find(inf, index);
        const struct keyset *ks;
        const char *key;
        char **keys;
        size_t n = 0;

        if (!x)
                return -ENOENT;
        (void) pthread_mutex_lock(&inf->lock);
        ks = strmap_get(x->values, value);
        keys = calloc((ks ? ks->n : 0) + 1, sizeof(*keys));
        for (size_t it = 0; keys && ks && keyset_next(ks, &it, &key); n++) {
                keys[n] = strdup(key);
                if (!keys[n])
                        keys = informer_keys_free(keys);
        }
        (void) pthread_mutex_unlock(&inf->lock);
        if (!keys)
                return -ENOMEM;
        *ret_keys = keys;
        return (int) n;
}

size_t informer_index_count(struct informer *inf, const char *index, const char *value) {
        struct index *x = index_find(inf, index);
        const struct keyset *ks;
        size_t n;

        if (!x)
                return 0;
        (void) pthread_mutex_lock(&inf->lock);
        ks = strmap_get(x->values, value);
        n = ks ? ks->n : 0;
        (void) pthread_mutex_unlock(&inf->lock);
        return n;
}

void informer_index_label(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        json_object *md = NULL, *labels = NULL, *v = NULL;

        /* not json_get_string(): label names have dots and slashes ("app.kubernetes.io/name") */
        if (json_object_object_get_ex(obj, "metadata", &md) &&
                json_object_object_get_ex(md, "labels", &labels) &&
                json_object_object_get_ex(labels, ud, &v) && json_object_is_type(v, json_type_string))
                emit(json_object_get_string(v), ectx);
}

void informer_index_controller_uid(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        json_object *refs = NULL;

        (void) ud;
        if (json_get_array(obj, "metadata.ownerReferences", JSON_OPTIONAL, &refs, NULL) <= 0)
                return;
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
                json_object *ref = json_object_array_get_idx(refs, i);
                const char *uid = NULL;
                bool controller = false;

                /* the API server allows one controller reference */
                if (json_get_bool(ref, "controller", JSON_OPTIONAL, &controller, NULL) > 0 && controller &&
                        json_get_string(ref, "uid", 0, &uid, NULL) >= 0) {
                        emit(uid, ectx);
                        return;
                }
        }
}
