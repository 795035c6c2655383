/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The history mirror (docs/apiserver.md): every state of every mbox object, as watches deliver them, kept
 * in Postgres (object_history) after the object is gone.
 *
 * One watcher thread per resource lists and watches it and queues what it sees; one writer thread stores
 * the queue in batches: one COPY per batch, in a transaction that also moves the resource's resume point
 * (mirror_state) to the newest event stored. A watcher starts from
 * that point, so a restart replays exactly what was not stored; a row is a state, (uid, resourceVersion),
 * unique in the table: a batch with a replayed state fails its COPY and is stored again through a scratch
 * table, each state unless its row is there. When the events since the resume point are gone
 * (410), the watcher relists: each listed object's state is stored unless it is there already, and an
 * object the history has alive but the list has not gets a DELETED row. While the database is down the
 * writer keeps its batch and retries (0.8 s to 4 s), and the watchers wait once the queue is full; the
 * watch resumes where it stopped, so nothing is lost. A state the database refuses for its data
 * (store_error()'s -EBADMSG) would be refused again on every retry: the writer halves the batch until that
 * state is alone, then drops it as a gap in the history, counted and logged with its object.
 *
 * Replicas share the database: with leader election only the holder of the Lease runs the threads, and it
 * stops them (joined) when it stops leading, before the Lease is released or can expire. A relist's
 * DELETED rows are version-aware besides: an object whose newest stored state is newer than the list was
 * stored after it (by a replica still writing), not deleted before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "apiserver/internal.h"
#include "store/history.h"
#include "buf.h"
#include "jsonutil.h"
#include "log.h"
#include "timestamp.h"

#define QUEUE_MAX     4096 /* watchers wait beyond this many queued states */
#define BATCH_MAX     1000 /* rows in one INSERT */
#define BATCH_WAIT_MS 50   /* how long the writer waits for a batch to fill */

struct mirror_resource {
        const char *group, *version, *resource, *kind;
        const char *label_selector;
        bool claimed_only; /* only objects a SandboxClaim owns (agent-sandbox Sandboxes) */
};

static const struct mirror_resource resources[] = {
        {"mbox.dev", "v1alpha1", "projects", "Project", NULL, false},
        {"mbox.dev", "v1alpha1", "environmenttemplates", "EnvironmentTemplate", NULL, false},
        {"mbox.dev", "v1alpha1", "sandboxes", "Sandbox", NULL, false},
        {"mbox.dev", "v1alpha1", "executiontasks", "ExecutionTask", NULL, false},
        {"extensions.agents.x-k8s.io", "v1beta1", "sandboxclaims", "SandboxClaim",
                "app.kubernetes.io/managed-by=mbox-operator", false},
        {"agents.x-k8s.io", "v1beta1", "sandboxes", "Sandbox", NULL, true},
};
#define N_RESOURCES ARRAY_SIZE(resources)

enum item_type {
        ITEM_ROW,      /* a state to store; rv (when set) is where the watch resumes after it */
        ITEM_BOOKMARK, /* only a newer resume point */
        ITEM_RELISTED, /* a relist ended: data is the JSON array of the uids listed, rv the list's */
};

struct item {
        struct item *next;
        size_t res;
        enum item_type type;
        char *rv;
        char *data;
        long long queued_ms; /* monotonic: when the watcher queued it */
};

struct watcher {
        struct api_mirror *m;
        size_t res;
};

struct api_mirror {
        struct apiserver *s;
        struct leader *leader; /* NULL without leader election: the threads run from start to stop */
        atomic_bool leading;
        atomic_uint_fast64_t gaps, relists;
        /* the threads, while this replica mirrors */
        pthread_t pruner;
        bool pruner_running;
        struct watcher args[N_RESOURCES];
        pthread_t writer, watchers[N_RESOURCES];
        size_t n_watchers;
        bool writer_running;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* an item was queued, or room was made */
        struct item *head, *tail;
        size_t n;
        PGconn *writing; /* the writer's connection while it stores a batch (under lock) */
        atomic_bool stop;
};

static void item_free(struct item *it) {
        if (!it)
                return;
        free(it->rv);
        free(it->data);
        free(it);
}

static void pause_ms(struct api_mirror *m, long ms) {
        for (long slept = 0; slept < ms && !atomic_load(&m->stop); slept += 50)
                nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
}

/* The pause before the next try (jittered up to twice the step), and the next step, up to max_ms. */
static long next_backoff(long *backoff, long max_ms) {
        uint32_t v = 0;
        long b = *backoff;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t) sizeof(v))
                v = (uint32_t) time(NULL);
        *backoff = b * 2 > max_ms ? max_ms : b * 2;
        return b + (long) (v % (uint32_t) b);
}

/* Queues an item (takes rv and data), waiting while the queue is full. -ECANCELED when stopping. */
static int enqueue(struct api_mirror *m, size_t res, enum item_type type, char *rv, char *data) {
        struct item *it = calloc(1, sizeof(*it));
        if (!it) {
                free(rv);
                free(data);
                return -ENOMEM;
        }
        *it = (struct item){
                .res = res, .type = type, .rv = rv, .data = data, .queued_ms = timestamp_monotonic_ms()};
        pthread_mutex_lock(&m->lock);
        while (m->n >= QUEUE_MAX && !atomic_load(&m->stop))
                pthread_cond_wait(&m->cond, &m->lock);
        if (atomic_load(&m->stop)) {
                pthread_mutex_unlock(&m->lock);
                item_free(it);
                return -ECANCELED;
        }
        if (m->tail)
                m->tail->next = it;
        else
                m->head = it;
        m->tail = it;
        m->n++;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        return 0;
}

static bool owned_by_claim(json_object *obj) {
        json_object *refs = NULL;
        if (json_get_array(obj, "metadata.ownerReferences", JSON_OPTIONAL, &refs, NULL) != 1)
                return false;
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
                const char *kind = NULL;
                if (json_get_string(json_object_array_get_idx(refs, i), "kind", JSON_OPTIONAL, &kind, NULL) ==
                                1 &&
                        strcmp(kind, "SandboxClaim") == 0)
                        return true;
        }
        return false;
}

/* The row of obj's state (obj is changed: metadata.managedFields goes) as a line of COPY's text format in
 * the form of store_history_line(); NULL when obj has no uid or the row cannot be built. event "SYNC": from a
 * list, the event is worked out when stored. */
static char *row_of(const struct mirror_resource *r, json_object *obj, const char *event) {
        const char *name = NULL, *ns = "", *uid = NULL, *rv = NULL, *phase = "", *changed = NULL;
        json_object *meta = NULL, *mf = NULL;
        char api_version[128], now[64];
        if (json_get_string(obj, "metadata.name", 0, &name, NULL) < 0 ||
                json_get_string(obj, "metadata.uid", 0, &uid, NULL) < 0 ||
                json_get_string(obj, "metadata.resourceVersion", 0, &rv, NULL) < 0)
                return NULL;
        /* a Project is read where its namespace is (mbox-<name> unless it names one): its members see its
         * history there */
        char project_ns[300];
        if (strcmp(r->kind, "Project") == 0 && strcmp(r->group, "mbox.dev") == 0) {
                if (json_get_string(obj, "status.namespace", JSON_OPTIONAL, &ns, NULL) != 1 &&
                        json_get_string(obj, "spec.namespace", JSON_OPTIONAL, &ns, NULL) != 1) {
                        snprintf(project_ns, sizeof(project_ns), "mbox-%s", name);
                        ns = project_ns;
                }
        } else
                (void) json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, NULL);
        (void) json_get_string(obj, "status.phase", JSON_OPTIONAL, &phase, NULL);
        /* when the state came to be: the newest write any field manager made (second precision); a
         * deletion, or an object without managedFields, when it is seen */
        if (strcmp(event, "DELETED") != 0 &&
                json_get_array(obj, "metadata.managedFields", JSON_OPTIONAL, &mf, NULL) == 1)
                for (size_t i = 0; i < json_object_array_length(mf); i++) {
                        const char *t = NULL;
                        if (json_get_string(
                                    json_object_array_get_idx(mf, i), "time", JSON_OPTIONAL, &t, NULL) == 1 &&
                                (!changed || strcmp(t, changed) > 0))
                                changed = t;
                }
        if (!changed) {
                struct timespec ts;
                struct tm tm;
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
                changed = now;
        }
        snprintf(api_version, sizeof(api_version), "%s/%s", r->group, r->version);
        /* managedFields goes from the stored object: keep the time read from it */
        char changed_at[64];
        snprintf(changed_at, sizeof(changed_at), "%s", changed);
        if (json_object_object_get_ex(obj, "metadata", &meta))
                json_object_object_del(meta, "managedFields");
        if (!json_object_object_get_ex(obj, "kind", NULL)) {
                json_object_object_add(obj, "apiVersion", json_object_new_string(api_version));
                json_object_object_add(obj, "kind", json_object_new_string(r->kind));
        }
        const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
        struct buf line = BUF_INIT(SIZE_MAX);
        struct store_history_state st = {.api_version = api_version,
                .kind = r->kind,
                .namespace = ns,
                .name = name,
                .uid = uid,
                .resource_version = rv,
                .event = event,
                .phase = phase,
                .changed_at = changed_at,
                .object = text};
        if (!text || store_history_line(&line, &st) < 0) {
                buf_release(&line);
                return NULL;
        }
        return line.data;
}

/* The stored resume point of resource res: 1 with *ret set, 0 when there is none, < 0 on failure. */
static int load_rv(struct api_mirror *m, size_t res, char **ret, struct merr *err) {
        char key[160];
        snprintf(key, sizeof(key), "%s/%s", resources[res].group, resources[res].resource);
        return store_mirror_resume_point(m->s->store, key, ret, err);
}

/* Lists resource res in pages, queueing each object's state, then the uids listed. *rv: the list's. */
static int relist(struct api_mirror *m, struct kube_client *c, size_t res, char **rv, struct merr *err) {
        const struct mirror_resource *r = &resources[res];
        struct kube_resource kr = {.group = r->group, .version = r->version, .resource = r->resource};
        struct kube_list_opts lo = {.limit = 500, .label_selector = r->label_selector};
        _cleanup_free_ char *cont = NULL, *list_rv = NULL;
        _cleanup_json_ json_object *uids = json_object_new_array();
        size_t n = 0;
        int k;
        if (!uids)
                return merr_set(err, -ENOMEM, "out of memory");
        do {
                _cleanup_json_ json_object *page = NULL;
                json_object *items = NULL;
                const char *c2 = NULL, *prv = NULL;
                lo.continue_token = cont;
                k = kube_list(c, &kr, &lo, &page, err);
                if (k < 0)
                        return k;
                if (json_get_array(page, "items", JSON_OPTIONAL, &items, err) < 0 ||
                        json_get_string(page, "metadata.resourceVersion", 0, &prv, err) < 0 ||
                        json_get_string(page, "metadata.continue", JSON_OPTIONAL, &c2, err) < 0)
                        return merr_wrap(err, -EINVAL, "list %s", r->resource);
                free(list_rv);
                list_rv = strdup(prv);
                for (size_t i = 0; items && i < json_object_array_length(items); i++) {
                        json_object *it = json_object_array_get_idx(items, i);
                        const char *uid = NULL;
                        if (json_get_string(it, "metadata.uid", 0, &uid, NULL) < 0)
                                continue;
                        json_object_array_add(uids, json_object_new_string(uid));
                        if (r->claimed_only && !owned_by_claim(it))
                                continue;
                        char *row = row_of(r, it, "SYNC");
                        if (!row)
                                continue;
                        k = enqueue(m, res, ITEM_ROW, NULL, row);
                        if (k < 0)
                                return merr_set(err, k, "queueing %s", r->resource);
                        n++;
                }
                free(cont);
                cont = c2 && *c2 ? strdup(c2) : NULL;
        } while (cont && !atomic_load(&m->stop));
        if (atomic_load(&m->stop) || !list_rv)
                return merr_set(err, -ECANCELED, "stopping");
        const char *text = json_object_to_json_string_ext(uids, JSON_C_TO_STRING_PLAIN);
        k = enqueue(m, res, ITEM_RELISTED, strdup(list_rv), text ? strdup(text) : NULL);
        if (k < 0)
                return merr_set(err, k, "queueing %s", r->resource);
        char count[24];
        snprintf(count, sizeof(count), "%zu", n);
        log_info("history: listed", "resource", r->resource, "group", r->group, "objects", count,
                "resourceVersion", list_rv);
        free(*rv);
        *rv = TAKE_PTR(list_rv);
        return 0;
}

struct watch_state {
        struct api_mirror *m;
        size_t res;
        char **rv;
        bool expired;
};

static int on_event(const struct kube_watch_event *ev, void *userdata) {
        struct watch_state *ws = userdata;
        const struct mirror_resource *r = &resources[ws->res];
        int k = 0;
        if (atomic_load(&ws->m->stop))
                return -ECANCELED;
        if (ev->type == KUBE_EVENT_ERROR) {
                if (kube_watch_event_is_expired(ev)) {
                        ws->expired = true;
                        return -ENODATA;
                }
                log_warn("history: watch error", "resource", r->resource, "message",
                        ev->status_message ? ev->status_message : "");
                return -EIO;
        }
        if (!ev->resource_version || !*ev->resource_version)
                return 0;
        if (ev->type == KUBE_EVENT_BOOKMARK)
                k = enqueue(ws->m, ws->res, ITEM_BOOKMARK, strdup(ev->resource_version), NULL);
        else if (!r->claimed_only || owned_by_claim(ev->object)) {
                char *row = row_of(r, ev->object, kube_event_type_to_string(ev->type));
                if (row)
                        k = enqueue(ws->m, ws->res, ITEM_ROW, strdup(ev->resource_version), row);
        }
        if (k < 0)
                return k;
        char *copy = strdup(ev->resource_version);
        if (!copy)
                return -ENOMEM;
        free(*ws->rv);
        *ws->rv = copy;
        return 0;
}

static void *watcher(void *arg) {
        struct watcher *w = arg;
        struct api_mirror *m = w->m;
        const struct mirror_resource *r = &resources[w->res];
        struct kube_resource kr = {.group = r->group, .version = r->version, .resource = r->resource};
        struct kube_client *c = NULL;
        _cleanup_free_ char *rv = NULL;
        bool loaded = false, need_list = false;
        long backoff = 800;
        while (!atomic_load(&m->stop)) {
                struct merr err = MERR_INIT;
                int k = 0;
                if (!c && kube_pool_get(m->s->clients, &c, &err) >= 0)
                        kube_client_set_cancel(c, &m->stop);
                else if (!c)
                        k = -EIO;
                if (k >= 0 && !loaded) {
                        k = load_rv(m, w->res, &rv, &err);
                        if (k >= 0) {
                                loaded = true;
                                need_list = k == 0;
                        }
                }
                if (k >= 0 && need_list) {
                        k = relist(m, c, w->res, &rv, &err);
                        if (k >= 0)
                                need_list = false;
                }
                if (k >= 0) {
                        struct watch_state ws = {.m = m, .res = w->res, .rv = &rv};
                        struct kube_watch_opts wo = {.resource_version = rv,
                                .label_selector = r->label_selector,
                                .timeout_seconds = 300 + (long) (random() % 300)};
                        k = kube_watch(c, &kr, &wo, on_event, &ws, &err);
                        if (ws.expired || k == -ENODATA) {
                                atomic_fetch_add(&m->relists, 1);
                                log_info("history: resume point expired, relisting", "resource", r->resource,
                                        "resourceVersion", rv ? rv : "");
                                need_list = true;
                                continue;
                        }
                }
                if (atomic_load(&m->stop))
                        break;
                if (k < 0) {
                        log_warn("history: watching failed, retrying", "resource", r->resource, "group",
                                r->group, "error", merr_msg(&err));
                        pause_ms(m, next_backoff(&backoff, 30000));
                        continue;
                }
                backoff = 800;
        }
        if (c) {
                kube_client_set_cancel(c, NULL);
                kube_pool_put(m->s->clients, c);
        }
        return NULL;
}

/* Stores the first n queued items in one transaction. */
static int store_batch(struct api_mirror *m, struct item *first, size_t n, struct merr *err) {
        _cleanup_(buf_release) struct buf rows = BUF_INIT(SIZE_MAX);
        const char *resume[N_RESOURCES] = {NULL};
        bool maybe_stored = false;
        PGconn *conn = NULL;
        int r = store_acquire(m->s->store, &conn, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&m->lock);
        m->writing = conn; /* halt() cancels what it runs */
        pthread_mutex_unlock(&m->lock);
        r = store_exec(conn, "BEGIN", err);
        /* a relist's batch compares with the whole history: not bounded by --request-timeout, but by
         * halt(), which cancels it */
        if (r >= 0)
                r = store_exec(conn, "SET LOCAL statement_timeout = 0", err);
        struct item *it = first;
        for (size_t i = 0; r >= 0 && i < n; i++, it = it->next) {
                if (it->rv)
                        resume[it->res] = it->rv;
                if (it->type == ITEM_ROW) {
                        if (buf_puts(&rows, it->data) < 0)
                                r = merr_set(err, -ENOMEM, "out of memory");
                        maybe_stored = maybe_stored || !it->rv; /* listed */
                } else if (it->type == ITEM_RELISTED) {
                        char api_version[128];
                        const struct mirror_resource *res = &resources[it->res];
                        snprintf(api_version, sizeof(api_version), "%s/%s", res->group, res->version);
                        r = store_history_append(conn, buf_str(&rows), rows.len, maybe_stored, err);
                        buf_reset(&rows);
                        if (r >= 0)
                                r = store_history_gone(conn, api_version, res->kind, it->rv, it->data, err);
                }
        }
        if (r >= 0)
                r = store_history_append(conn, buf_str(&rows), rows.len, maybe_stored, err);
        for (size_t i = 0; r >= 0 && i < N_RESOURCES; i++) {
                char key[160];
                if (!resume[i])
                        continue;
                snprintf(key, sizeof(key), "%s/%s", resources[i].group, resources[i].resource);
                r = store_mirror_save(conn, key, resume[i], err);
        }
        if (r >= 0)
                r = store_exec(conn, "COMMIT", err);
        else
                (void) store_exec(conn, "ROLLBACK", NULL);
        pthread_mutex_lock(&m->lock);
        m->writing = NULL;
        pthread_mutex_unlock(&m->lock);
        store_release(m->s->store, conn);
        return r;
}

/* A gap in the history: the one queued item the database refuses, dropped (kept, it would be refused again
 * and again, and nothing after it would be stored), counted and logged with its object. A row's first
 * fields are its apiVersion, kind, namespace, name, uid and resourceVersion (store_history_line()). */
static void record_gap(struct api_mirror *m, const struct item *it, const struct merr *err) {
        char f[6][256] = {""};
        size_t i = 0, n = 0;

        atomic_fetch_add(&m->gaps, 1);
        if (it->type != ITEM_ROW || !it->data) {
                log_error("history: gap: the database refuses the end of a relist; no deletion is recorded",
                        "resource", resources[it->res].resource, "group", resources[it->res].group,
                        "resourceVersion", it->rv ? it->rv : "", "error", merr_msg(err));
                return;
        }
        for (const char *p = it->data; *p && *p != '\n' && i < ARRAY_SIZE(f); p++) {
                if (*p == '\t') {
                        f[i++][n] = '\0';
                        n = 0;
                } else if (n < sizeof(f[0]) - 1)
                        f[i][n++] = *p;
        }
        log_error("history: gap: the database refuses a state, which is not stored", "apiVersion", f[0],
                "kind", f[1], "namespace", f[2], "name", f[3], "uid", f[4], "resourceVersion", f[5], "error",
                merr_msg(err));
}

static void *writer(void *arg) {
        struct api_mirror *m = arg;
        long backoff = 800;
        bool failing = false;
        size_t limit = BATCH_MAX; /* smaller while looking for a state the database refuses */
        for (;;) {
                struct merr err = MERR_INIT;
                pthread_mutex_lock(&m->lock);
                while (!m->head && !atomic_load(&m->stop))
                        pthread_cond_wait(&m->cond, &m->lock);
                /* stopping (shut down, or the Lease lost): what is queued is left to the next writer,
                 * which watches again from the stored resume points */
                if (!m->head || atomic_load(&m->stop)) {
                        pthread_mutex_unlock(&m->lock);
                        break;
                }
                if (m->n < BATCH_MAX && !atomic_load(&m->stop)) {
                        /* let a burst gather into one batch */
                        struct timespec until = timestamp_deadline(BATCH_WAIT_MS);
                        (void) pthread_cond_timedwait(&m->cond, &m->lock, &until);
                }
                /* only this thread takes items off, and watchers only append: the first n stay put */
                size_t n = m->n < limit ? m->n : limit;
                struct item *first = m->head;
                pthread_mutex_unlock(&m->lock);

                int r = store_batch(m, first, n, &err);
                if (r == -EBADMSG && n > 1) {
                        /* the data of some state is refused: halve the batch until that state is alone */
                        limit = n / 2;
                        continue;
                }
                if (r == -EBADMSG)
                        record_gap(m, first, &err);
                else if (r < 0) {
                        if (atomic_load(&m->stop))
                                break;
                        if (!failing)
                                log_warn("history: cannot store, keeping the changes and retrying", "error",
                                        merr_msg(&err));
                        failing = true;
                        /* a database is cheap to ask again: catch up soon after it returns */
                        pause_ms(m, next_backoff(&backoff, 4000));
                        continue;
                }
                if (failing)
                        log_info("history: storing again");
                failing = false;
                backoff = 800;
                limit = BATCH_MAX;
                pthread_mutex_lock(&m->lock);
                for (size_t i = 0; i < n; i++) {
                        struct item *it = m->head;
                        m->head = it->next;
                        item_free(it);
                }
                if (!m->head)
                        m->tail = NULL;
                m->n -= n;
                pthread_cond_broadcast(&m->cond);
                pthread_mutex_unlock(&m->lock);
        }
        return NULL;
}

/* Retention: the oldest states go first, a batch at a time (store_history_prune()). */
static void *pruner(void *arg) {
        struct api_mirror *m = arg;
        long long every = m->s->opt.history_retention_ms / 4;
        if (every > 60000)
                every = 60000;
        if (every < 250)
                every = 250;
        while (!atomic_load(&m->stop)) {
                pause_ms(m, every);
                struct merr err = MERR_INIT;
                PGconn *conn = NULL;
                long long pruned = 0;
                for (long long n = STORE_HISTORY_PRUNE_BATCH;
                        n == STORE_HISTORY_PRUNE_BATCH && !atomic_load(&m->stop);) {
                        n = 0;
                        if (store_acquire(m->s->store, &conn, &err) < 0)
                                break;
                        if (store_history_prune(conn, m->s->opt.history_retention_ms, &n, &err) < 0)
                                log_warn("history: pruning failed", "error", merr_msg(&err));
                        store_release(m->s->store, conn);
                        pruned += n;
                }
                if (pruned > 0) {
                        char count[24];
                        snprintf(count, sizeof(count), "%lld", pruned);
                        log_info("history: pruned states past their retention", "states", count);
                }
        }
        return NULL;
}

/* Stops the threads and waits for them; what they had queued and not stored is dropped, and the next
 * writer (this replica or another) watches again from the stored resume points. */
static void halt(struct api_mirror *m) {
        pthread_mutex_lock(&m->lock);
        atomic_store(&m->stop, true);
        pthread_cond_broadcast(&m->cond);
        /* a batch being written is cancelled (its transaction rolls back): a database that hangs must
         * not hold a Lease's handover or the shutdown */
        PGcancel *cancel = m->writing ? PQgetCancel(m->writing) : NULL;
        pthread_mutex_unlock(&m->lock);
        if (cancel) {
                char why[256];
                (void) PQcancel(cancel, why, sizeof(why));
                PQfreeCancel(cancel);
        }
        for (size_t i = 0; i < m->n_watchers; i++)
                pthread_join(m->watchers[i], NULL);
        if (m->writer_running)
                pthread_join(m->writer, NULL);
        if (m->pruner_running)
                pthread_join(m->pruner, NULL);
        m->n_watchers = 0;
        m->writer_running = m->pruner_running = false;
        /* under the lock: api_mirror_stats() reads the queue from the server's threads */
        pthread_mutex_lock(&m->lock);
        while (m->head) {
                struct item *it = m->head;
                m->head = it->next;
                item_free(it);
        }
        m->tail = NULL;
        m->n = 0;
        pthread_mutex_unlock(&m->lock);
}

static int run(struct api_mirror *m, struct merr *err) {
        int k;

        atomic_store(&m->stop, false);
        if ((k = pthread_create(&m->writer, NULL, writer, m)) != 0) {
                halt(m);
                return merr_set(err, -k, "starting the history writer");
        }
        m->writer_running = true;
        if (m->s->opt.history_retention_ms > 0) {
                if ((k = pthread_create(&m->pruner, NULL, pruner, m)) != 0) {
                        halt(m);
                        return merr_set(err, -k, "starting the history pruner");
                }
                m->pruner_running = true;
        }
        for (size_t i = 0; i < N_RESOURCES; i++) {
                m->args[i] = (struct watcher){.m = m, .res = i};
                if ((k = pthread_create(&m->watchers[i], NULL, watcher, &m->args[i])) != 0) {
                        halt(m);
                        return merr_set(err, -k, "starting the history watchers");
                }
                m->n_watchers++;
        }
        return 0;
}

/* Leader election's callbacks, on its thread; stopped() returns once the threads are gone. */
static void lease_started(void *userdata) {
        struct api_mirror *m = userdata;
        struct merr err = MERR_INIT;

        if (run(m, &err) < 0) {
                log_error("history: leading, but cannot mirror", "lease", m->s->opt.leader.name, "error",
                        merr_msg(&err));
                return;
        }
        atomic_store(&m->leading, true);
        log_info("history: leading, mirroring", "lease", m->s->opt.leader.name, "identity",
                m->s->opt.leader.identity);
}

static void lease_stopped(void *userdata) {
        struct api_mirror *m = userdata;

        halt(m);
        if (atomic_exchange(&m->leading, false))
                log_info("history: no longer leading, stopped mirroring", "lease", m->s->opt.leader.name);
}

int api_mirror_start(struct apiserver *s, struct api_mirror **ret, struct merr *err) {
        struct api_mirror *m = calloc(1, sizeof(*m));
        int k;

        if (!m)
                return merr_set(err, -ENOMEM, "allocating the history mirror");
        m->s = s;
        pthread_mutex_init(&m->lock, NULL);
        pthread_cond_init(&m->cond, NULL);
        if (!s->opt.leader_elect) {
                if ((k = run(m, err)) < 0) {
                        api_mirror_stop(m);
                        return k;
                }
                atomic_store(&m->leading, true);
                *ret = m;
                return 0;
        }
        struct kube_config *cfg = NULL;
        struct leader_callbacks cb = {lease_started, lease_stopped, m};
        k = s->opt.kubeconfig ? kube_config_load(s->opt.kubeconfig, s->opt.context, &cfg, err)
                              : kube_config_default(s->opt.context, &cfg, err);
        if (k >= 0)
                k = leader_new(cfg, &s->opt.leader, &cb, &m->leader, err);
        if (k >= 0)
                k = leader_start(m->leader, err);
        if (k < 0) {
                api_mirror_stop(m);
                return merr_wrap(err, k, "history mirror: leader election");
        }
        log_info("history: waiting for the Lease to mirror", "lease", s->opt.leader.name, "namespace",
                s->opt.leader.namespace, "identity", s->opt.leader.identity);
        *ret = m;
        return 0;
}

void api_mirror_stop(struct api_mirror *m) {
        if (!m)
                return;
        if (m->leader)
                m->leader = leader_free(m->leader); /* stopped() halts the threads, then the Lease goes */
        else
                halt(m);
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

struct api_mirror_stats api_mirror_stats(struct api_mirror *m) {
        if (!m)
                return (struct api_mirror_stats){0};
        struct api_mirror_stats st = {.leading = atomic_load(&m->leading),
                .gaps = atomic_load(&m->gaps),
                .relists = atomic_load(&m->relists)};
        pthread_mutex_lock(&m->lock);
        st.queued = m->n;
        /* items leave the queue once stored: the head is the oldest change not stored yet */
        st.lag_ms = m->head ? timestamp_monotonic_ms() - m->head->queued_ms : 0;
        pthread_mutex_unlock(&m->lock);
        return st;
}
