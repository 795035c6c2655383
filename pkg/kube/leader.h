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
bool leader_is_leader(struct leader *l);

/* The conventional identity of this candidate: <hostname>_<pid> (a pod's hostname is its name). */
void leader_default_identity(char *buf, size_t size);

/*
 * The leader-election flags mbox's programs share, with the same names and meanings everywhere:
 * --leader-elect[=BOOL], --leader-election-namespace, --leader-election-id, --leader-election-identity,
 * --lease-duration, --renew-deadline, --retry-period. LEADER_FLAG_OPTIONS(base) are their getopt_long(3)
 * entries, with the values base + enum leader_flag; leader_parse_flag() applies the one getopt returned
 * (its value minus base) to *elect and *o (o's strings borrow arg). -EINVAL with a message naming the
 * flag for a bad value. LEADER_FLAGS_HELP(ID) is their --help text after the --leader-elect line.
 */
enum leader_flag {
        LEADER_FLAG_ELECT,
        LEADER_FLAG_NAMESPACE,
        LEADER_FLAG_ID,
        LEADER_FLAG_IDENTITY,
        LEADER_FLAG_LEASE,
        LEADER_FLAG_RENEW,
        LEADER_FLAG_RETRY,
        LEADER_FLAG__MAX,
};
/* one getopt entry a line */
/* clang-format off */
#define LEADER_FLAG_OPTIONS(base)                                                               \
        {"leader-elect", optional_argument, NULL, (base) + LEADER_FLAG_ELECT},                  \
        {"leader-election-namespace", required_argument, NULL, (base) + LEADER_FLAG_NAMESPACE}, \
        {"leader-election-id", required_argument, NULL, (base) + LEADER_FLAG_ID},               \
        {"leader-election-identity", required_argument, NULL, (base) + LEADER_FLAG_IDENTITY},   \
        {"lease-duration", required_argument, NULL, (base) + LEADER_FLAG_LEASE},                \
        {"renew-deadline", required_argument, NULL, (base) + LEADER_FLAG_RENEW},                \
        {"retry-period", required_argument, NULL, (base) + LEADER_FLAG_RETRY}
/* clang-format on */
#define LEADER_FLAGS_HELP(ID)                                                                          \
        "      --leader-election-namespace=NS  the Lease's namespace (default mbox-system)\n"          \
        "      --leader-election-id=NAME  the Lease's name (default " ID ")\n"                         \
        "      --leader-election-identity=ID  this replica (default <hostname>_<pid>)\n"               \
        "      --lease-duration=DURATION  how long a Lease lasts without renewal (default 15s)\n"      \
        "      --renew-deadline=DURATION  the leader stops when it cannot renew within this (default " \
        "10s)\n"                                                                                       \
        "      --retry-period=DURATION    between renewals and attempts (default 2s)\n"
int leader_parse_flag(int flag, const char *arg, bool *elect, struct leader_options *o, struct merr *err);
