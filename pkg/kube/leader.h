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

#include "flag.h"
#include "kube/client.h"
#include "merr.h"

struct leader_options {
        const char *namespace;  /* the Lease's namespace */
        const char *name;       /* the Lease's name */
        const char *identity;   /* this candidate; conventionally <hostname>_<pid> */
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
/* Stops campaigning; a leader calls stopped(), then releases the Lease (so no one else leads before the
 * work has stopped). */
void leader_stop(struct leader *l);

/* The conventional identity of this candidate: <hostname>_<pid> (a pod's hostname is its name). */
void leader_default_identity(char *buf, size_t size);

/*
 * The leader-election flags mbox's programs share, with the same names and meanings everywhere, as entries
 * of a flag table (flag.h): --leader-election-namespace, --leader-election-id, --leader-election-identity,
 * --lease-duration, --renew-deadline, --retry-period, into o (whose strings then borrow argv). ID is the
 * program's default Lease name. Each program writes its own --leader-elect entry, which says what it
 * elects a leader for.
 */
/* clang-format off */
#define LEADER_FLAGS(o, ID)                                                                                   \
        {"leader-election-namespace", FLAG_STRING, .value = &(o)->namespace, .arg = "NS",                  \
                .help = "the Lease's namespace", .def = "mbox-system"},                                     \
        {"leader-election-id", FLAG_STRING, .value = &(o)->name, .arg = "NAME", .help = "the Lease's name", \
                .def = ID},                                                                                  \
        {"leader-election-identity", FLAG_STRING, .value = &(o)->identity, .arg = "ID",                    \
                .help = "this replica", .def = "<hostname>_<pid>"},                                         \
        {"lease-duration", FLAG_DURATION, FLAG_INTO(&(o)->lease_duration_ms), .arg = "DURATION", .min = 1, \
                .help = "how long a Lease lasts without renewal", .def = "15s"},                            \
        {"renew-deadline", FLAG_DURATION, FLAG_INTO(&(o)->renew_deadline_ms), .arg = "DURATION", .min = 1, \
                .help = "the leader stops when it cannot renew within this", .def = "10s"},                 \
        {"retry-period", FLAG_DURATION, FLAG_INTO(&(o)->retry_period_ms), .arg = "DURATION", .min = 1,     \
                .help = "between renewals and attempts", .def = "2s"}
/* clang-format on */
