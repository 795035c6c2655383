/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the controllers read: the informers' caches, overlaid with the objects our own writes returned until
 * the watch shows them (client-go's mutation cache). Without it, the pass that follows a write would see
 * the older object, write again what it just wrote, or send a resourceVersion the API server refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "operator/internal.h"
#include "timestamp.h"

#define WRITTEN_TTL_MS 10000 /* a remembered write the watch has not confirmed by then is dropped */

struct op_written {
        uint64_t rv;
        int64_t at_ms;
        char text[];
};

int op_cache_init(struct mbox_operator *op) {
        pthread_mutex_init(&op->written_lock, NULL);
        for (int i = 0; i < RES__MAX; i++)
                if (!(op->written[i] = strmap_new(free)) ||
                        (i == RES_SANDBOX && !(op->status_at[i] = strmap_new(free))))
                        return -ENOMEM;
        return 0;
}

void op_cache_release(struct mbox_operator *op) {
        for (int i = 0; i < RES__MAX; i++) {
                strmap_free(op->written[i]);
                op->written[i] = NULL;
                strmap_free(op->status_at[i]);
                op->status_at[i] = NULL;
        }
        pthread_mutex_destroy(&op->written_lock);
}

static uint64_t rv_of(json_object *obj) {
        const char *s = kube_str(obj, "metadata.resourceVersion");
        char *end = NULL;
        errno = 0;
        unsigned long long v = s ? strtoull(s, &end, 10) : 0;
        return s && *s && end && !*end && errno == 0 ? (uint64_t) v : 0;
}

/* The cached object, or the newer one a write of ours returned. Only an object the cache has is replaced: a
 * remembered write never brings back an object that has since gone. */
json_object *op_get(struct mbox_operator *op, enum op_res res, const char *key) {
        if (!op->inf[res])
                return NULL;
        json_object *obj = informer_get(op->inf[res], key);
        if (!op->written[res])
                return obj;
        pthread_mutex_lock(&op->written_lock);
        struct op_written *w = strmap_get(op->written[res], key);
        if (w) {
                uint64_t rv = obj ? rv_of(obj) : 0;
                if (!obj || rv == 0 || rv >= w->rv || timestamp_monotonic_ms() - w->at_ms > WRITTEN_TTL_MS)
                        strmap_remove(op->written[res], key); /* the cache caught up, or never will */
                else {
                        json_object *mine = json_tokener_parse(w->text);
                        if (mine) {
                                json_object_put(obj);
                                obj = mine;
                        }
                }
        }
        pthread_mutex_unlock(&op->written_lock);
        return obj;
}

void op_remember(struct mbox_operator *op, enum op_res res, json_object *written) {
        char key[512];
        uint64_t rv = rv_of(written);
        if (!written || !op->written[res] || !rv || kube_object_key(written, key, sizeof(key)) < 0)
                return;
        json_object *meta = NULL;
        if (json_object_object_get_ex(written, "metadata", &meta))
                json_object_object_del(meta, "managedFields"); /* as the informer caches it */
        const char *text = json_object_to_json_string_ext(
                written, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t n = strlen(text);
        struct op_written *w = malloc(sizeof(*w) + n + 1);
        if (!w)
                return;
        w->rv = rv;
        w->at_ms = timestamp_monotonic_ms();
        memcpy(w->text, text, n + 1);
        pthread_mutex_lock(&op->written_lock);
        if (strmap_put(op->written[res], key, w) < 0)
                free(w);
        pthread_mutex_unlock(&op->written_lock);
}

const char *op_project_of_namespace(struct mbox_operator *op, const char *ns, char *buf, size_t size) {
        _cleanup_json_ json_object *nsobj = op_get(op, RES_NAMESPACE, ns);
        const char *v = nsobj ? kube_label(nsobj, LABEL_PROJECT) : NULL;
        if (!v)
                return NULL;
        snprintf(buf, size, "%s", v);
        return buf;
}

void op_status_written(struct mbox_operator *op, enum op_res res, json_object *obj) {
        char key[512];
        int64_t *t;
        if (!op->status_at[res] || kube_object_key(obj, key, sizeof(key)) < 0 || !(t = malloc(sizeof(*t))))
                return;
        *t = timestamp_monotonic_ms(); /* this process's own time: a step of the wall clock moves nothing */
        pthread_mutex_lock(&op->written_lock);
        if (strmap_put(op->status_at[res], key, t) < 0)
                free(t);
        pthread_mutex_unlock(&op->written_lock);
}

struct timestamp op_status_written_at(
        struct mbox_operator *op, enum op_res res, const char *key, const struct timestamp *now) {
        struct timestamp at = {0};
        int64_t age = -1;
        if (!op->status_at[res])
                return at;
        pthread_mutex_lock(&op->written_lock);
        const int64_t *t = strmap_get(op->status_at[res], key);
        if (t)
                age = timestamp_monotonic_ms() - *t;
        pthread_mutex_unlock(&op->written_lock);
        if (age >= 0)
                timestamp_add(now, -age * 1000000, &at);
        return at;
}

void op_forget(struct mbox_operator *op, enum op_res res, const char *key) {
        pthread_mutex_lock(&op->written_lock);
        if (op->written[res])
                strmap_remove(op->written[res], key);
        if (op->status_at[res])
                strmap_remove(op->status_at[res], key);
        pthread_mutex_unlock(&op->written_lock);
}
