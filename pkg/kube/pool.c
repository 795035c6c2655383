/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kube/config.h"
#include "kube/pool.h"

struct kube_pool {
        char *kubeconfig, *context;
        pthread_mutex_t lock;
        struct kube_client **idle;
        size_t n_idle, max_idle;
};

int kube_pool_new(const char *kubeconfig, const char *context, size_t max_idle, struct kube_pool **ret,
        struct merr *err) {
        struct kube_pool *p = calloc(1, sizeof(*p));
        if (!p || !(p->idle = calloc(max_idle ? max_idle : 1, sizeof(*p->idle))) ||
                (kubeconfig && !(p->kubeconfig = strdup(kubeconfig))) ||
                (context && !(p->context = strdup(context)))) {
                if (p) {
                        free(p->idle);
                        free(p->kubeconfig);
                }
                free(p);
                return merr_set(err, -ENOMEM, "allocating a client pool");
        }
        p->max_idle = max_idle;
        pthread_mutex_init(&p->lock, NULL);
        *ret = p;
        return 0;
}

struct kube_pool *kube_pool_free(struct kube_pool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_idle; i++)
                kube_client_free(p->idle[i]);
        pthread_mutex_destroy(&p->lock);
        free(p->idle);
        free(p->kubeconfig);
        free(p->context);
        free(p);
        return NULL;
}

int kube_pool_get(struct kube_pool *p, struct kube_client **ret, struct merr *err) {
        pthread_mutex_lock(&p->lock);
        struct kube_client *c = p->n_idle ? p->idle[--p->n_idle] : NULL;
        pthread_mutex_unlock(&p->lock);
        if (c) {
                *ret = c;
                return 0;
        }
        struct kube_config *cfg = NULL;
        int r = p->kubeconfig ? kube_config_load(p->kubeconfig, p->context, &cfg, err)
                              : kube_config_default(p->context, &cfg, err);
        if (r < 0)
                return r;
        return kube_client_new(cfg, ret, err);
}

void kube_pool_put(struct kube_pool *p, struct kube_client *c) {
        if (!c)
                return;
        pthread_mutex_lock(&p->lock);
        if (p->n_idle < p->max_idle) {
                p->idle[p->n_idle++] = c;
                c = NULL;
        }
        pthread_mutex_unlock(&p->lock);
        kube_client_free(c);
}
