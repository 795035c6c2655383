/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clients for threads that come and go (task runs, request handlers): a kube_client serves one thread at a
 * time, and connecting (configuration, TLS handshake) is worth doing once. kube_pool_get() hands out an
 * idle client or makes one from the configuration; kube_pool_put() keeps it for the next caller (up to
 * max_idle) or frees it. Thread-safe.
 */
#pragma once

#include <stddef.h>

#include "kube/client.h"
#include "macro.h"
#include "merr.h"

struct kube_pool;

/* kubeconfig: colon-separated paths, or NULL for kube_config_default(); context NULL: current. */
int kube_pool_new(const char *kubeconfig, const char *context, size_t max_idle, struct kube_pool **ret,
        struct merr *err);
struct kube_pool *kube_pool_free(struct kube_pool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_pool *, kube_pool_free);

int kube_pool_get(struct kube_pool *p, struct kube_client **ret, struct merr *err);
void kube_pool_put(struct kube_pool *p, struct kube_client *c);
