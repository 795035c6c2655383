/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"
#include "strmap.h"
#include "timestamp.h"

#define NOTE_MAX                1024
#define SERIES_WRITE_INTERVAL_S 10
#define SERIES_MAX              10000
#define QUEUE_MAX               1000 /* as client-go's broadcaster: more waiting events are dropped */
#define DRAIN_MS                5000 /* what kube_events_free() gives the queue before dropping it */

struct series {
        char name[320];
        char namespace[64];
        long count;
        time_t last_write; /* CLOCK_MONOTONIC seconds */
};

/* An event as recorded, waiting for the sender: everything copied out of the caller's object. */
struct pending {
        struct pending *next;
        struct timestamp when;
        char key[1024]; /* the series key */
        char type[16], reason[128], action[128];
        char api[128], kind[64], name[254], ns[64], uid[64];
        char note[NOTE_MAX + 1];
};

struct kube_event_recorder {
        pthread_mutex_t lock;
        pthread_cond_t work, idle;
        struct pending *head, *tail;
        size_t queued;
        bool busy, stopping, started;
        pthread_t thread;
        void (*on_error)(const char *reason, int error, const char *message, void *ud);
        void *on_error_ud;
        /* the sender thread's alone */
        struct kube_client *client;
        char *controller, *instance;
        struct strmap *series; /* key -> struct series */
};

static time_t mono_s(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static void *sender_main(void *arg);

int kube_events_new(struct kube_config *cfg, const char *controller, const char *instance,
        struct kube_event_recorder **ret, struct merr *err) {
        struct kube_event_recorder *r = calloc(1, sizeof(*r));
        int k;

        if (!r) {
                kube_config_free(cfg);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        (void) pthread_mutex_init(&r->lock, NULL);
        (void) pthread_cond_init(&r->work, NULL);
        (void) pthread_cond_init(&r->idle, NULL);
        r->series = strmap_new(free);
        r->controller = strdup(controller);
        r->instance = strdup(instance);
        k = kube_client_new(cfg, &r->client, err);
        if (k < 0 || !r->series || !r->controller || !r->instance) {
                kube_events_free(r);
                return k < 0 ? k : merr_set(err, -ENOMEM, "out of memory");
        }
        k = pthread_create(&r->thread, NULL, sender_main, r);
        if (k != 0) {
                kube_events_free(r);
                return merr_set(err, -k, "starting the event sender");
        }
        r->started = true;
        *ret = r;
        return 0;
}

struct kube_event_recorder *kube_events_free(struct kube_event_recorder *r) {
        struct pending *p;

        if (!r)
                return NULL;
        if (r->started) {
                (void) pthread_mutex_lock(&r->lock);
                r->stopping = true;
                (void) pthread_cond_broadcast(&r->work);
                (void) pthread_mutex_unlock(&r->lock);
                (void) pthread_join(r->thread, NULL);
        }
        while ((p = r->head)) {
                r->head = p->next;
                free(p);
        }
        kube_client_free(r->client);
        strmap_free(r->series);
        free(r->controller);
        free(r->instance);
        (void) pthread_cond_destroy(&r->work);
        (void) pthread_cond_destroy(&r->idle);
        (void) pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

void kube_events_set_error_handler(struct kube_event_recorder *r,
        void (*fn)(const char *reason, int error, const char *message, void *ud), void *ud) {
        (void) pthread_mutex_lock(&r->lock);
        r->on_error = fn;
        r->on_error_ud = ud;
        (void) pthread_mutex_unlock(&r->lock);
}

bool kube_events_flush(struct kube_event_recorder *r, long timeout_ms) {
        int64_t deadline = timestamp_monotonic_ms() + timeout_ms;
        bool drained;

        (void) pthread_mutex_lock(&r->lock);
        while ((r->head || r->busy) && timestamp_monotonic_ms() < deadline) {
                struct timespec ts = timestamp_deadline((long) (deadline - timestamp_monotonic_ms()));

                (void) pthread_cond_timedwait(&r->idle, &r->lock, &ts);
        }
        drained = !r->head && !r->busy;
        (void) pthread_mutex_unlock(&r->lock);
        return drained;
}

static int create_event(
        struct kube_event_recorder *r, const struct pending *p, struct series *s, struct merr *err) {
        _cleanup_json_ json_object *ev = json_object_new_object(), *regarding = json_object_new_object();
        struct kube_resource res = {.group = "events.k8s.io", .version = "v1", .resource = "events"};
        char when[64];
        int k;

        if (!ev || !regarding)
                return merr_set(err, -ENOMEM, "out of memory");
        (void) timestamp_format_micro(&p->when, when, sizeof(when));
        /* client-go's name: the object's name and the time in hex nanoseconds */
        (void) snprintf(s->name, sizeof(s->name), "%.250s.%llx", p->name,
                (unsigned long long) p->when.sec * 1000000000ULL + (unsigned long long) p->when.nsec);
        /* events about cluster-scoped objects live in "default" */
        (void) snprintf(s->namespace, sizeof(s->namespace), "%s", *p->ns ? p->ns : "default");

        json_object_object_add(regarding, "apiVersion", json_object_new_string(p->api));
        json_object_object_add(regarding, "kind", json_object_new_string(p->kind));
        json_object_object_add(regarding, "name", json_object_new_string(p->name));
        if (*p->ns)
                json_object_object_add(regarding, "namespace", json_object_new_string(p->ns));
        if (*p->uid)
                json_object_object_add(regarding, "uid", json_object_new_string(p->uid));
        json_object_object_add(ev, "apiVersion", json_object_new_string("events.k8s.io/v1"));
        json_object_object_add(ev, "kind", json_object_new_string("Event"));
        {
                json_object *md = json_object_new_object();

                json_object_object_add(md, "name", json_object_new_string(s->name));
                json_object_object_add(md, "namespace", json_object_new_string(s->namespace));
                json_object_object_add(ev, "metadata", md);
        }
        json_object_object_add(ev, "eventTime", json_object_new_string(when));
        json_object_object_add(ev, "reportingController", json_object_new_string(r->controller));
        json_object_object_add(ev, "reportingInstance", json_object_new_string(r->instance));
        json_object_object_add(ev, "action", json_object_new_string(p->action));
        json_object_object_add(ev, "reason", json_object_new_string(p->reason));
        json_object_object_add(ev, "type", json_object_new_string(p->type));
        json_object_object_add(ev, "note", json_object_new_string(p->note));
        json_object_object_add(ev, "regarding", json_object_get(regarding));
        res.namespace = s->namespace;
        k = kube_create(r->client, &res, ev, NULL, NULL, err);
        if (k < 0)
                return k;
        s->count = 1;
        s->last_write = mono_s();
        return 0;
}

static int patch_series(struct kube_event_recorder *r, struct series *s, struct merr *err) {
        struct kube_resource res = {.group = "events.k8s.io",
                .version = "v1",
                .resource = "events",
                .namespace = s->namespace,
                .name = s->name};
        struct timestamp t;
        char when[64], patch[256];
        int n;

        (void) timestamp_now(&t);
        (void) timestamp_format_micro(&t, when, sizeof(when));
        n = snprintf(patch, sizeof(patch), "{\"series\":{\"count\":%ld,\"lastObservedTime\":\"%s\"}}",
                s->count, when);
        return kube_patch(r->client, &res, KUBE_PATCH_MERGE, patch, (size_t) n, NULL, NULL, err);
}

/* Writes one recorded event: a new Event, or the series count of the one recorded before. */
static int send_one(struct kube_event_recorder *r, const struct pending *p, struct merr *err) {
        struct series *s = strmap_get(r->series, p->key);
        int k = 0;

        if (s) {
                s->count++;
                if (s->count == 2 || mono_s() - s->last_write >= SERIES_WRITE_INTERVAL_S) {
                        k = patch_series(r, s, err);
                        if (k == -ENOENT) { /* the event expired meanwhile: start a new one */
                                merr_clear(err);
                                k = create_event(r, p, s, err);
                        } else if (k == 0)
                                s->last_write = mono_s();
                }
                return k;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        k = create_event(r, p, s, err);
        if (k < 0 || strmap_size(r->series) >= SERIES_MAX || strmap_put(r->series, p->key, s) < 0)
                free(s); /* not remembered: a repeat creates a new event */
        return k;
}

static void *sender_main(void *arg) {
        struct kube_event_recorder *r = arg;
        int64_t drain_until = 0;

        (void) pthread_mutex_lock(&r->lock);
        for (;;) {
                struct pending *p;

                while (!r->head && !r->stopping)
                        (void) pthread_cond_wait(&r->work, &r->lock);
                if (r->stopping && !drain_until)
                        drain_until = timestamp_monotonic_ms() + DRAIN_MS;
                if (!r->head || (drain_until && timestamp_monotonic_ms() > drain_until))
                        break; /* stopping, and drained or out of time: kube_events_free() frees the rest */
                p = r->head;
                r->head = p->next;
                if (!r->head)
                        r->tail = NULL;
                r->queued--;
                r->busy = true;
                (void) pthread_mutex_unlock(&r->lock);

                struct merr err = MERR_INIT;
                int k = send_one(r, p, &err);

                (void) pthread_mutex_lock(&r->lock);
                if (k < 0 && r->on_error)
                        r->on_error(p->reason, -k, merr_msg(&err), r->on_error_ud);
                merr_clear(&err);
                free(p);
                r->busy = false;
                if (!r->head)
                        (void) pthread_cond_broadcast(&r->idle);
        }
        (void) pthread_cond_broadcast(&r->idle);
        (void) pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void copy_str(json_object *obj, const char *path, char *dst, size_t size) {
        const char *v = "";

        (void) json_get_string(obj, path, JSON_OPTIONAL, &v, NULL);
        (void) snprintf(dst, size, "%s", v ? v : "");
}

int kube_event(struct kube_event_recorder *r, json_object *obj, const char *type, const char *reason,
        const char *action, const char *fmt, ...) {
        struct pending *p = calloc(1, sizeof(*p));
        va_list ap;
        int k = 0;

        if (!p)
                return -ENOMEM;
        va_start(ap, fmt);
        (void) vsnprintf(p->note, sizeof(p->note), fmt, ap);
        va_end(ap);
        copy_str(obj, "apiVersion", p->api, sizeof(p->api));
        copy_str(obj, "kind", p->kind, sizeof(p->kind));
        copy_str(obj, "metadata.name", p->name, sizeof(p->name));
        copy_str(obj, "metadata.namespace", p->ns, sizeof(p->ns));
        copy_str(obj, "metadata.uid", p->uid, sizeof(p->uid));
        if (!*p->api || !*p->kind || !*p->name) {
                free(p);
                return -EINVAL;
        }
        (void) snprintf(p->type, sizeof(p->type), "%s", type);
        (void) snprintf(p->reason, sizeof(p->reason), "%s", reason);
        (void) snprintf(p->action, sizeof(p->action), "%s", action);
        (void) timestamp_now(&p->when);
        /* client-go's series key: the note is not part of it */
        (void) snprintf(
                p->key, sizeof(p->key), "%s|%s|%s|%s/%s|%s", type, reason, action, p->ns, p->name, p->uid);

        (void) pthread_mutex_lock(&r->lock);
        if (r->queued >= QUEUE_MAX || r->stopping) {
                free(p);
                k = -ENOBUFS;
        } else {
                if (r->tail)
                        r->tail->next = p;
                else
                        r->head = p;
                r->tail = p;
                r->queued++;
                (void) pthread_cond_signal(&r->work);
        }
        (void) pthread_mutex_unlock(&r->lock);
        return k;
}
