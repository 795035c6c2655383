/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Sandbox controller's decision (sandbox-phase.c): from what one reconcile pass observed, the phase,
 * its reason and message, the three conditions, and what to do to the runtime. Pure: no cache, no clock,
 * no API; the reconcile (sandbox.c) gathers the observations and carries out the decision, and
 * tests/unit/test-sandbox-phase.c covers it table-style.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "timestamp.h"

/* What a deletion still waits for (struct sandbox_obs.deleting_waits). */
enum {
        SB_WAIT_CLAIM = 1 << 0,
        SB_WAIT_RUNTIME = 1 << 1, /* the agent-sandbox Sandbox */
        SB_WAIT_POD = 1 << 2,
        SB_WAIT_VOLUME = 1 << 3,
};

/* What one pass saw. Strings are borrowed; NULL is absent. */
struct sandbox_obs {
        /* the object */
        bool deleting;           /* metadata.deletionTimestamp is set */
        unsigned deleting_waits; /* SB_WAIT_* still there while deleting */
        bool invalid;            /* the spec does not parse; problem holds the parser's message */
        /* resolve and admit: why the sandbox cannot get (or, with a claim, keep) its runtime */
        const char *problem_reason; /* ProjectNotFound, TemplateNotFound, QuotaExceeded, ... */
        const char *problem;
        /* the runtime */
        bool has_claim;
        bool has_runtime;                         /* the claim's agent-sandbox Sandbox is in the cache */
        const char *claim_reason, *claim_message; /* the claim's Ready condition */
        const char *ready, *ready_reason, *ready_message; /* the runtime's Ready condition */
        const char *suspended;                            /* the runtime's Suspended condition status */
        bool runtime_suspended;                           /* its spec.operatingMode is Suspended */
        /* what is wanted */
        bool stop_wanted;          /* spec.state Stopped, stopped for idleness (sandbox_idle_stopped()), or
                                    * already Expired */
        const char *old_reason;    /* status.reason as it is */
        bool expired;              /* maxLifetime reached */
        const char *start_blocked; /* maxRunning refuses a start now: why (only asked when starting) */
        /* timers (sandbox_timers()) */
        bool idle_due;       /* Running and idle for the idle timeout, no command running in it */
        bool retention_over; /* Stopped or Expired longer than the stopped retention */
        /* settling (SB_SETTLE_NS): the status as it is, and when what happens now began (the deletion, the
         * claim, or the runtime's last start; zero: unknown, nothing is held back) */
        const char *old_phase, *old_message;
        struct timestamp since, now;
        struct timestamp written; /* the last status write of this sandbox (zero: unknown) */
};

/* How long a passing state may go unwritten: the first Starting of a new sandbox, Terminating, and the
 * runtime's progress messages within Starting or Terminating. A start or a deletion that is over sooner costs
 * no status write for it; one that lasts longer shows it, and its progress at most once per SB_SETTLE_NS
 * since the status was last written (the latest reason and message when that time is up). */
#define SB_SETTLE_NS (5 * 1000000000LL)

enum sandbox_act {
        SB_ACT_NONE,
        SB_ACT_CLAIM,     /* admitted: create the SandboxClaim (status comes with the next pass) */
        SB_ACT_RESUME,    /* set the runtime's operatingMode to Running */
        SB_ACT_SUSPEND,   /* set it to Suspended (a stop, or expiry) */
        SB_ACT_IDLE_STOP, /* suspend it for idleness; spec.state stays the user's */
        SB_ACT_DELETE,    /* delete the Sandbox (stopped retention) */
        SB_ACT_RELEASE,   /* deletion: nothing left to wait for, remove the finalizer */
};

struct sandbox_cond {
        const char *type;
        bool status;
        const char *reason;
        const char *message; /* NULL: the decision's message */
};

enum { SB_COND_READY, SB_COND_ADMITTED, SB_COND_PROJECTED, SB_COND__MAX };

/* Strings are static or borrowed from the observations the decision was made from. */
struct sandbox_decision {
        const char *phase; /* NULL: status is left as it is */
        const char *reason;
        char message[512];
        struct sandbox_cond conds[SB_COND__MAX]; /* Ready, Admitted, RuntimeProjected */
        bool show_runtime; /* Running: the pod's name and address and the preview URLs are shown */
        bool warn;         /* a Pending reason worth a Warning event when it is new */
        enum sandbox_act act;
        int64_t recheck_ns; /* a passing state was held back: look again then (0: none) */
};

/* Whether a sandbox stopped for inactivity stays stopped: it has seen no activity since the stop and no new
 * spec (generation == observed). phase and reason are the status's. */
bool sandbox_idle_stopped(const char *phase, const char *reason, int64_t generation, int64_t observed,
        const struct timestamp *stopped, const struct timestamp *activity);

void sandbox_decide(const struct sandbox_obs *o, struct sandbox_decision *ret);

/* Whether the pass would start a suspended runtime (and so must ask the quota first: start_blocked). */
bool sandbox_would_start(const struct sandbox_obs *o);

/* The lifetimes of one sandbox, all in ns (0: none), and its times as they are. */
struct sandbox_lifetimes {
        int64_t max_lifetime, idle_timeout, stopped_retention;
};
struct sandbox_times {
        struct timestamp created, started, stopped, activity;
};
struct sandbox_timer {
        struct timestamp expires; /* zero without a max lifetime */
        bool expired;
        bool idle_due;
        bool retention_over;
        int64_t next_ns; /* when to look again (0: no timer) */
};
/* The timers at now for a sandbox whose status phase is old_phase; tasks_running: a command runs in it
 * (activity an idle timeout must not cut). Pure. */
void sandbox_timers(const struct sandbox_lifetimes *l, const struct sandbox_times *t, const char *old_phase,
        bool tasks_running, const struct timestamp *now, struct sandbox_timer *ret);
/* The times the status carries after a pass that decided phase (changed: from another phase). */
void sandbox_times_after(
        const char *phase, bool changed, const struct timestamp *now, struct sandbox_times *t);
