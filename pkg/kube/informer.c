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
#include "strmap.h"

#define KEY_MAX 512
#define RV_MAX  64

struct informer {
        struct kube_client *client;
        struct kube_resource res;
        char *group, *version, *resource, *namespace;
        char *label_selector, *field_selector;
        long page_size, watch_timeout;
        struct informer_handlers h;

        pthread_t thread;
        bool running;
        atomic_bool stop;

        pthread_mutex_t lock; /* guards cache, synced, lists */
        pthread_cond_t cond;
        struct strmap *cache; /* key -> json_object (owned) */
        bool synced;
        unsigned long lists;
        char rv[RV_MAX];
};

static void put_json(void *v) {
        json_object_put(v);
}

int kube_object_key(json_object *obj, char *buf, size_t size) {
        const char *ns = NULL, *name = NULL;
        int n;

        if (json_get_string(obj, "metadata.name", 0, &name, NULL) < 0 ||
                json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, NULL) < 0)
                return -EINVAL;
        n = ns && *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
        return n < 0 || (size_t) n >= size ? -EINVAL : 0;
}

int kube_controller_owner_key(json_object *obj, const char *kind, char *buf, size_t size) {
        json_object *refs = NULL;
        const char *ns = NULL;

        if (json_get_array(obj, "metadata.ownerReferences", JSON_OPTIONAL, &refs, NULL) <= 0)
                return -ENOENT;
        (void) json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, NULL);
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
                json_object *ref = json_object_array_get_idx(refs, i);
                const char *k = NULL, *name = NULL;
                bool controller = false;
                int n;

                if (json_get_bool(ref, "controller", JSON_OPTIONAL, &controller, NULL) <= 0 || !controller)
                        continue;
                if (json_get_string(ref, "kind", 0, &k, NULL) < 0 || strcmp(k, kind) != 0 ||
                        json_get_string(ref, "name", 0, &name, NULL) < 0)
                        return -ENOENT;
                n = ns && *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
                return n < 0 || (size_t) n >= size ? -EINVAL : 0;
        }
        return -ENOENT;
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
        inf->cache = strmap_new(put_json);
        if (!inf->cache) {
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

/* Stores obj (taking a reference) and tells the handlers what changed. Called on the reflector thread. */
static void upsert(struct informer *inf, const char *key, json_object *obj) {
        json_object *old;

        (void) pthread_mutex_lock(&inf->lock);
        old = strmap_get(inf->cache, key);
        if (old)
                json_object_get(old); /* keep it alive for the handler */
        if (strmap_put(inf->cache, key, json_object_get(obj)) < 0)
                json_object_put(obj);
        (void) pthread_mutex_unlock(&inf->lock);
        if (old && inf->h.on_update)
                inf->h.on_update(key, old, obj, inf->h.userdata);
        else if (!old && inf->h.on_add)
                inf->h.on_add(key, obj, inf->h.userdata);
        json_object_put(old);
}

static void remove_key(struct informer *inf, const char *key, json_object *last) {
        json_object *old;

        (void) pthread_mutex_lock(&inf->lock);
        old = strmap_get(inf->cache, key);
        if (old)
                json_object_get(old);
        (void) strmap_remove(inf->cache, key);
        (void) pthread_mutex_unlock(&inf->lock);
        if ((old || last) && inf->h.on_delete)
                inf->h.on_delete(key, last ? last : old, inf->h.userdata);
        json_object_put(old);
}

/* Lists every page into a fresh map, then reconciles the cache with it. */
static int relist(struct informer *inf, struct merr *err) {
        _cleanup_(strmap_freep) struct strmap *fresh = strmap_new(put_json);
        _cleanup_free_ char *cont = NULL;
        char rv[RV_MAX] = "";
        struct kube_list_opts lo = {.limit = inf->page_size,
                .label_selector = inf->label_selector,
                .field_selector = inf->field_selector};
        int k;

        if (!fresh)
                return merr_set(err, -ENOMEM, "out of memory");
        do {
                _cleanup_json_ json_object *page = NULL;
                json_object *items = NULL;
                const char *c = NULL, *prv = NULL;

                lo.continue_token = cont;
                k = kube_list(inf->client, &inf->res, &lo, &page, err);
                if (k < 0)
                        return k;
                if (json_get_array(page, "items", JSON_OPTIONAL, &items, err) < 0 ||
                        json_get_string(page, "metadata.resourceVersion", 0, &prv, err) < 0 ||
                        json_get_string(page, "metadata.continue", JSON_OPTIONAL, &c, err) < 0)
                        return merr_wrap(err, -EINVAL, "list %s", inf->resource);
                (void) snprintf(rv, sizeof(rv), "%s", prv);
                /* List items of built-in kinds come without apiVersion and kind, watch events with them:
                 * give every cached object both, as one shared string each, so the cache is uniform */
                _cleanup_json_ json_object *kind = NULL, *api_version = NULL;
                const char *lk = NULL, *lv = NULL;
                if (json_get_string(page, "kind", JSON_OPTIONAL, &lk, NULL) == 1 && strlen(lk) > 4 &&
                        strcmp(lk + strlen(lk) - 4, "List") == 0)
                        kind = json_object_new_string_len(lk, (int) strlen(lk) - 4);
                if (json_get_string(page, "apiVersion", JSON_OPTIONAL, &lv, NULL) == 1)
                        api_version = json_object_new_string(lv);
                for (size_t i = 0; items && i < json_object_array_length(items); i++) {
                        json_object *it = json_object_array_get_idx(items, i);
                        char key[KEY_MAX];

                        if (kind && api_version && !json_object_object_get_ex(it, "kind", NULL)) {
                                json_object_object_add(it, "apiVersion", json_object_get(api_version));
                                json_object_object_add(it, "kind", json_object_get(kind));
                        }

                        if (kube_object_key(it, key, sizeof(key)) < 0)
                                continue;
                        if (strmap_put(fresh, key, json_object_get(it)) < 0) {
                                json_object_put(it);
                                return merr_set(err, -ENOMEM, "out of memory");
                        }
                }
                free(cont);
                cont = c && *c ? strdup(c) : NULL;
        } while (cont && !atomic_load(&inf->stop));

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

                while (strmap_next(fresh, &it, &key, &obj)) {
                        json_object *cur;
                        const char *a = NULL, *b = NULL;
                        bool same = false;

                        (void) pthread_mutex_lock(&inf->lock);
                        cur = strmap_get(inf->cache, key);
                        if (cur && json_get_string(cur, "metadata.resourceVersion", 0, &a, NULL) > 0 &&
                                json_get_string(obj, "metadata.resourceVersion", 0, &b, NULL) > 0)
                                same = strcmp(a, b) == 0;
                        (void) pthread_mutex_unlock(&inf->lock);
                        if (!same)
                                upsert(inf, key, obj);
                }
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
                if (ev->type == KUBE_EVENT_DELETED)
                        remove_key(inf, key, ev->object);
                else
                        upsert(inf, key, ev->object);
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
                struct kube_watch_opts wo = {
                        .label_selector = inf->label_selector, .field_selector = inf->field_selector};
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
        inf->running = true;
        return 0;
}

void informer_stop(struct informer *inf) {
        if (!inf->running)
                return;
        atomic_store(&inf->stop, true);
        (void) pthread_join(inf->thread, NULL);
        inf->running = false;
}

bool informer_wait_synced(struct informer *inf, long timeout_ms) {
        struct timespec ts;
        bool synced;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        (void) pthread_mutex_lock(&inf->lock);
        while (!inf->synced)
                if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) != 0)
                        break;
        synced = inf->synced;
        (void) pthread_mutex_unlock(&inf->lock);
        return synced;
}

json_object *informer_get(struct informer *inf, const char *key) {
        json_object *o;

        json_object *copy = NULL;

        /* json-c's reference counts are not atomic (Debian builds it without ENABLE_THREADING), so a
         * cached object is never shared with another thread: the caller gets its own copy */
        (void) pthread_mutex_lock(&inf->lock);
        o = strmap_get(inf->cache, key);
        if (o && json_object_deep_copy(o, &copy, NULL) < 0)
                copy = NULL;
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
        void *obj;

        (void) pthread_mutex_lock(&inf->lock);
        while (strmap_next(inf->cache, &it, &key, &obj))
                if (!ns || (strncmp(key, ns, nslen) == 0 && key[nslen] == '/'))
                        fn(key, obj, ud);
        (void) pthread_mutex_unlock(&inf->lock);
}

unsigned long informer_lists(struct informer *inf) {
        unsigned long n;

        (void) pthread_mutex_lock(&inf->lock);
        n = inf->lists;
        (void) pthread_mutex_unlock(&inf->lock);
        return n;
}
