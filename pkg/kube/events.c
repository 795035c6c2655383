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

struct series {
        char name[320];
        char namespace[64];
        long count;
        time_t last_write; /* CLOCK_MONOTONIC seconds */
};

struct kube_event_recorder {
        pthread_mutex_t lock;
        struct kube_client *client;
        char *controller, *instance;
        struct strmap *series; /* key -> struct series */
};

static time_t mono_s(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

int kube_events_new(struct kube_config *cfg, const char *controller, const char *instance,
        struct kube_event_recorder **ret, struct merr *err) {
        struct kube_event_recorder *r = calloc(1, sizeof(*r));
        int k;

        if (!r) {
                kube_config_free(cfg);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        (void) pthread_mutex_init(&r->lock, NULL);
        r->series = strmap_new(free);
        r->controller = strdup(controller);
        r->instance = strdup(instance);
        k = kube_client_new(cfg, &r->client, err);
        if (k < 0 || !r->series || !r->controller || !r->instance) {
                kube_events_free(r);
                return k < 0 ? k : merr_set(err, -ENOMEM, "out of memory");
        }
        *ret = r;
        return 0;
}

struct kube_event_recorder *kube_events_free(struct kube_event_recorder *r) {
        if (!r)
                return NULL;
        kube_client_free(r->client);
        strmap_free(r->series);
        free(r->controller);
        free(r->instance);
        (void) pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

static int create_event(struct kube_event_recorder *r, json_object *obj, const char *type, const char *reason,
        const char *action, const char *note, struct series *s, struct merr *err) {
        _cleanup_json_ json_object *ev = json_object_new_object(), *regarding = json_object_new_object();
        const char *api = NULL, *kind = NULL, *name = NULL, *ns = NULL, *uid = NULL;
        struct kube_resource res = {.group = "events.k8s.io", .version = "v1", .resource = "events"};
        struct timespec now;
        struct timestamp t;
        char when[64];
        int k;

        if (!ev || !regarding)
                return merr_set(err, -ENOMEM, "out of memory");
        if (json_get_string(obj, "apiVersion", 0, &api, err) < 0 ||
                json_get_string(obj, "kind", 0, &kind, err) < 0 ||
                json_get_string(obj, "metadata.name", 0, &name, err) < 0 ||
                json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, err) < 0 ||
                json_get_string(obj, "metadata.uid", JSON_OPTIONAL, &uid, err) < 0)
                return merr_wrap(err, -EINVAL, "event about an object");
        (void) clock_gettime(CLOCK_REALTIME, &now);
        (void) timestamp_now(&t);
        (void) timestamp_format_micro(&t, when, sizeof(when));
        /* client-go's name: the object's name and the time in hex nanoseconds */
        (void) snprintf(s->name, sizeof(s->name), "%.250s.%llx", name,
                (unsigned long long) now.tv_sec * 1000000000ULL + (unsigned long long) now.tv_nsec);
        /* events about cluster-scoped objects live in "default" */
        (void) snprintf(s->namespace, sizeof(s->namespace), "%s", ns && *ns ? ns : "default");

        json_object_object_add(regarding, "apiVersion", json_object_new_string(api));
        json_object_object_add(regarding, "kind", json_object_new_string(kind));
        json_object_object_add(regarding, "name", json_object_new_string(name));
        if (ns && *ns)
                json_object_object_add(regarding, "namespace", json_object_new_string(ns));
        if (uid)
                json_object_object_add(regarding, "uid", json_object_new_string(uid));
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
        json_object_object_add(ev, "action", json_object_new_string(action));
        json_object_object_add(ev, "reason", json_object_new_string(reason));
        json_object_object_add(ev, "type", json_object_new_string(type));
        json_object_object_add(ev, "note", json_object_new_string(note));
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

int kube_event(struct kube_event_recorder *r, json_object *obj, const char *type, const char *reason,
        const char *action, const char *fmt, ...) {
        char note[NOTE_MAX + 1], key[1024];
        const char *uid = "", *name = "", *ns = "";
        struct series *s;
        va_list ap;
        int k = 0;

        va_start(ap, fmt);
        (void) vsnprintf(note, sizeof(note), fmt, ap);
        va_end(ap);
        (void) json_get_string(obj, "metadata.uid", JSON_OPTIONAL, &uid, NULL);
        (void) json_get_string(obj, "metadata.name", JSON_OPTIONAL, &name, NULL);
        (void) json_get_string(obj, "metadata.namespace", JSON_OPTIONAL, &ns, NULL);
        /* client-go's series key: the note is not part of it */
        (void) snprintf(key, sizeof(key), "%s|%s|%s|%s/%s|%s", type, reason, action, ns, name, uid);

        (void) pthread_mutex_lock(&r->lock);
        s = strmap_get(r->series, key);
        if (s) {
                s->count++;
                if (s->count == 2 || mono_s() - s->last_write >= SERIES_WRITE_INTERVAL_S) {
                        k = patch_series(r, s, NULL);
                        if (k == -ENOENT) /* the event expired meanwhile: start a new one */
                                k = create_event(r, obj, type, reason, action, note, s, NULL);
                        else if (k == 0)
                                s->last_write = mono_s();
                }
        } else {
                s = calloc(1, sizeof(*s));
                if (!s)
                        k = -ENOMEM;
                else {
                        k = create_event(r, obj, type, reason, action, note, s, NULL);
                        if (k < 0 || strmap_size(r->series) >= SERIES_MAX ||
                                strmap_put(r->series, key, s) < 0)
                                free(s); /* not remembered: a repeat creates a new event */
                }
        }
        (void) pthread_mutex_unlock(&r->lock);
        return k;
}
