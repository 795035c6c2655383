/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection (kube-protocols.md §8):
 * candidates acquire the Lease when it is free or has not been renewed for its duration on the local clock
 * (the server's renewTime is never compared, so clock skew does not matter); the leader renews every retry
 * period and stops leading when no renewal succeeds within the renew deadline; leader_stop() releases the
 * Lease at once so a standby takes over without waiting for it to expire.
 *
 * Callbacks run on the election thread: started() when this process becomes leader, stopped() when it
 * loses or gives up leadership. Work must stop in stopped(): another candidate may lead soon after.
 */
#pragma once

#include <stdbool.h>

#include "kube/client.h"
#include "merr.h"

struct leader_options {
        const char *namespace;  /* the Lease's namespace */
        const char *name;       /* the Lease's name */
        const char *identity;   /* this candidate; conventionally <hostname>_<random> */
        long lease_duration_ms; /* default 15000 */
        long renew_deadline_ms; /* default 10000 */
        long retry_period_ms;   /* default 2000 */
};

struct leader_callbacks {
        void (*started)(void *userdata);
        void (*stopped)(void *userdata);
        void *userdata;
};

struct leader;

/* Takes ownership of cfg (also on failure). Checks lease > renew deadline > 1.2 x retry period. */
int leader_new(struct kube_config *cfg, const struct leader_options *o, const struct leader_callbacks *cb,
        struct leader **ret, struct merr *err);
struct leader *leader_free(struct leader *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct leader *, leader_free);

int leader_start(struct leader *l, struct merr *err);
/* Stops campaigning; a leader releases the Lease and calls stopped(). */
void leader_stop(struct leader *l);
bool leader_is_leader(struct leader *l);
