/* SPDX-License-Identifier: Apache-2.0 */
/* The Sandbox controller's pure decision (pkg/operator/sandbox-phase.c): every phase from the observations
 * that lead to it, with the action on the runtime and the conditions; the timers; the times a pass keeps. */
#include <string.h>

#include "operator/sandbox-phase.h"
#include "testutil.h"

#define S 1000000000LL

struct row {
        const char *name;
        struct sandbox_obs obs;
        const char *phase; /* NULL: status left as it is */
        const char *reason;
        enum sandbox_act act;
        const char *message; /* a part of it; NULL: not checked */
        bool ready, admitted, projected;
        const char *admitted_reason;
};

/* the runtime as agent-sandbox shows it */
#define CLAIMED    .has_claim = true
#define RUNTIME    CLAIMED, .has_runtime = true
#define READY      RUNTIME, .ready = "True", .ready_reason = "DependenciesReady", .suspended = "False"
#define SUSPENDING RUNTIME, .runtime_suspended = true, .ready = "False", .ready_reason = "DependenciesReady"
#define SUSPENDED                                                                                 \
        RUNTIME, .runtime_suspended = true, .ready = "False", .ready_reason = "SandboxSuspended", \
                 .suspended = "True"

static const struct row rows[] = {
        /* Terminating: what the deletion still waits for; nothing left lets the finalizer go */
        {"deleting, claim and runtime", {.deleting = true, .deleting_waits = SB_WAIT_CLAIM | SB_WAIT_RUNTIME},
                "Terminating", "Deleting", SB_ACT_NONE, "waiting for the claim the Sandbox ", false, false,
                false, "Admitted"},
        {"deleting, pod and volume", {.deleting = true, .deleting_waits = SB_WAIT_POD | SB_WAIT_VOLUME},
                "Terminating", "Deleting", SB_ACT_NONE,
                "waiting for the Pod the workspace volume to be deleted", false, false, false, "Admitted"},
        {"deleting, ready runtime", {.deleting = true, .deleting_waits = SB_WAIT_RUNTIME, READY},
                "Terminating", "Deleting", SB_ACT_NONE, "the Sandbox", false, false, false, "Admitted"},
        {"deleted, nothing left", {.deleting = true, READY}, NULL, NULL, SB_ACT_RELEASE},
        /* Failed: the spec does not parse, whatever else is true */
        {"invalid spec", {.invalid = true, .problem = "spec.state: Unsupported value", READY}, "Failed",
                "InvalidSpec", SB_ACT_NONE, "spec.state", false, false, false, "Admitted"},
        /* Pending: resolve and admit problems before the claim; with a claim the runtime stays */
        {"no project", {.problem_reason = "ProjectNotFound", .problem = "no project"}, "Pending",
                "ProjectNotFound", SB_ACT_NONE, "no project", false, false, false, "ProjectNotFound"},
        {"template missing", {.problem_reason = "TemplateNotFound", .problem = "t"}, "Pending",
                "TemplateNotFound", SB_ACT_NONE, "t", false, false, false, "TemplateNotFound"},
        {"over quota", {.problem_reason = "QuotaExceeded", .problem = "allows 1"}, "Pending", "QuotaExceeded",
                SB_ACT_NONE, "allows 1", false, false, false, "QuotaExceeded"},
        {"over quota, stopped", {.problem_reason = "QuotaExceeded", .problem = "q", .stop_wanted = true},
                "Pending", "QuotaExceeded", SB_ACT_NONE, "q", false, false, false, "QuotaExceeded"},
        {"problem with a claim", {.problem_reason = "ProjectNotFound", .problem = "p", READY}, NULL, NULL,
                SB_ACT_NONE},
        /* admitted: the claim, and no status in that pass */
        {"admitted", {0}, NULL, NULL, SB_ACT_CLAIM},
        {"admitted, stopped", {.stop_wanted = true}, NULL, NULL, SB_ACT_CLAIM},
        /* Starting: the claim's Sandbox, then its pod */
        {"claim without runtime", {CLAIMED}, "Starting", "SandboxCreatePending", SB_ACT_NONE,
                "waiting for agent-sandbox to provide a Sandbox", false, true, true, "Admitted"},
        {"claim says why", {CLAIMED, .claim_reason = "Pending", .claim_message = "no pool"}, "Starting",
                "Pending", SB_ACT_NONE, "no pool", false, true, true, "Admitted"},
        {"runtime without conditions", {RUNTIME}, "Starting", "SandboxNotReady", SB_ACT_NONE,
                "waiting for the sandbox pod to be ready", false, true, true, "Admitted"},
        {"pod pending",
                {RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady",
                        .ready_message = "Pod exists with phase: Pending"},
                "Starting", "DependenciesNotReady", SB_ACT_NONE, "Pod exists with phase: Pending", false,
                true, true, "Admitted"},
        {"empty message",
                {RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady", .ready_message = ""},
                "Starting", "DependenciesNotReady", SB_ACT_NONE, "waiting for the sandbox pod", false, true,
                true, "Admitted"},
        {"start again", {SUSPENDED}, "Starting", "SandboxSuspended", SB_ACT_RESUME, NULL, false, true, true,
                "Admitted"},
        {"start again, expired while stopped", {SUSPENDED, .expired = true}, "Expired", "MaxLifetimeExceeded",
                SB_ACT_NONE, "maximum lifetime", false, true, true, "Admitted"},
        /* Running */
        {"ready", {READY}, "Running", "Ready", SB_ACT_NONE, "the sandbox is running", true, true, true,
                "Admitted"},
        {"ready, retention irrelevant", {READY, .retention_over = true}, "Running", "Ready", SB_ACT_NONE,
                NULL, true, true, true, "Admitted"},
        /* Stopping: idle, by the user, by expiry */
        {"idle", {READY, .idle_due = true}, "Stopping", "IdleTimeout", SB_ACT_IDLE_STOP,
                "stopped after the idle timeout", false, true, true, "Admitted"},
        {"stop", {READY, .stop_wanted = true}, "Stopping", "StoppedByUser", SB_ACT_SUSPEND,
                "waiting for the pod to stop", false, true, true, "Admitted"},
        {"stop, idle irrelevant", {READY, .stop_wanted = true, .idle_due = true}, "Stopping", "StoppedByUser",
                SB_ACT_SUSPEND, NULL, false, true, true, "Admitted"},
        {"stopping", {SUSPENDING, .stop_wanted = true}, "Stopping", "StoppedByUser", SB_ACT_NONE, NULL, false,
                true, true, "Admitted"},
        {"stopping after idle", {SUSPENDING, .stop_wanted = true, .old_reason = "IdleTimeout"}, "Stopping",
                "IdleTimeout", SB_ACT_NONE, NULL, false, true, true, "Admitted"},
        {"expiring", {READY, .expired = true}, "Stopping", "MaxLifetimeExceeded", SB_ACT_SUSPEND,
                "maximum lifetime", false, true, true, "Admitted"},
        /* Stopped: the pod is gone (Suspended, or Ready False for suspension) */
        {"stopped", {SUSPENDED, .stop_wanted = true}, "Stopped", "StoppedByUser", SB_ACT_NONE,
                "the pod is gone", false, true, true, "Admitted"},
        {"stopped, no Suspended condition",
                {RUNTIME, .runtime_suspended = true, .ready = "False", .ready_reason = "SandboxSuspended",
                        .stop_wanted = true},
                "Stopped", "StoppedByUser", SB_ACT_NONE, NULL, false, true, true, "Admitted"},
        {"pod still going",
                {RUNTIME, .runtime_suspended = true, .ready = "False", .ready_reason = "SandboxSuspended",
                        .suspended = "False", .stop_wanted = true},
                "Stopping", "StoppedByUser", SB_ACT_NONE, "waiting for the pod to stop", false, true, true,
                "Admitted"},
        {"stopped for idleness", {SUSPENDED, .stop_wanted = true, .old_reason = "IdleTimeout"}, "Stopped",
                "IdleTimeout", SB_ACT_NONE, NULL, false, true, true, "Admitted"},
        {"start over maxRunning", {SUSPENDED, .start_blocked = "project p allows 1 running sandboxes"},
                "Stopped", "QuotaExceeded", SB_ACT_NONE, "allows 1 running", false, false, true,
                "QuotaExceeded"},
        {"stopped past retention", {SUSPENDED, .stop_wanted = true, .retention_over = true}, NULL, NULL,
                SB_ACT_DELETE},
        /* Expired */
        {"expired", {SUSPENDED, .stop_wanted = true, .expired = true}, "Expired", "MaxLifetimeExceeded",
                SB_ACT_NONE, "maximum lifetime", false, true, true, "Admitted"},
        {"expired past retention", {SUSPENDED, .expired = true, .retention_over = true}, NULL, NULL,
                SB_ACT_DELETE},
        /* Failed: what agent-sandbox reports as final */
        {"pod failed",
                {RUNTIME, .ready = "False", .ready_reason = "PodFailed", .ready_message = "Pod failed"},
                "Failed", "PodFailed", SB_ACT_NONE, "Pod failed", false, true, true, "Admitted"},
        {"reconciler error", {RUNTIME, .ready = "False", .ready_reason = "ReconcilerError"}, "Failed",
                "ReconcilerError", SB_ACT_NONE, "ReconcilerError", false, true, true, "Admitted"},
        {"multiple pods", {RUNTIME, .ready = "False", .ready_reason = "MultiplePods"}, "Failed",
                "MultiplePods", SB_ACT_NONE, NULL, false, true, true, "Admitted"},
        {"runtime expired", {RUNTIME, .ready = "False", .ready_reason = "SandboxExpired"}, "Failed",
                "SandboxExpired", SB_ACT_NONE, NULL, false, true, true, "Admitted"},
        {"failed, then stopped",
                {RUNTIME, .ready = "False", .ready_reason = "PodFailed", .stop_wanted = true}, "Stopping",
                "StoppedByUser", SB_ACT_SUSPEND, NULL, false, true, true, "Admitted"},
};

START_TEST(test_decide) {
        const struct row *r = &rows[_i];
        struct sandbox_decision d;
        sandbox_decide(&r->obs, &d);
        ck_assert_msg(d.act == r->act, "%s: act %d, want %d", r->name, d.act, r->act);
        if (!r->phase) {
                ck_assert_msg(!d.phase, "%s: phase %s, want none", r->name, d.phase);
                return;
        }
        ck_assert_msg(d.phase && strcmp(d.phase, r->phase) == 0, "%s: phase %s, want %s", r->name, d.phase,
                r->phase);
        ck_assert_msg(
                strcmp(d.reason, r->reason) == 0, "%s: reason %s, want %s", r->name, d.reason, r->reason);
        if (r->message)
                ck_assert_msg(strstr(d.message, r->message), "%s: message '%s'", r->name, d.message);
        ck_assert_msg(d.show_runtime == r->ready, "%s: show_runtime", r->name);
        /* the three conditions, in order; Ready's reason is the phase's */
        ck_assert_str_eq(d.conds[SB_COND_READY].type, "Ready");
        ck_assert_str_eq(d.conds[SB_COND_ADMITTED].type, "Admitted");
        ck_assert_str_eq(d.conds[SB_COND_PROJECTED].type, "RuntimeProjected");
        ck_assert_msg(d.conds[SB_COND_READY].status == r->ready, "%s: Ready", r->name);
        ck_assert_str_eq(d.conds[SB_COND_READY].reason, r->reason);
        ck_assert_msg(d.conds[SB_COND_ADMITTED].status == r->admitted, "%s: Admitted", r->name);
        ck_assert_msg(strcmp(d.conds[SB_COND_ADMITTED].reason, r->admitted_reason) == 0,
                "%s: Admitted reason %s", r->name, d.conds[SB_COND_ADMITTED].reason);
        ck_assert_msg(d.conds[SB_COND_PROJECTED].status == r->projected, "%s: RuntimeProjected", r->name);
        /* a Pending reason is worth a Warning, nothing else is */
        ck_assert_msg(d.warn == (strcmp(r->phase, "Pending") == 0), "%s: warn", r->name);
}
END_TEST

START_TEST(test_conditions_follow_the_phase) {
        struct sandbox_obs o = {RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady",
                .ready_message = "Pod exists with phase: Pending"};
        struct sandbox_decision d;
        sandbox_decide(&o, &d);
        /* Ready carries the phase's message; the others say what they stand for */
        ck_assert_ptr_null(d.conds[SB_COND_READY].message);
        ck_assert_str_eq(d.conds[SB_COND_ADMITTED].message, "within the project's quota");
        ck_assert_str_eq(d.conds[SB_COND_PROJECTED].reason, "ClaimCreated");
        o = (struct sandbox_obs){.problem_reason = "ServiceAccountNotFound", .problem = "sa"};
        sandbox_decide(&o, &d);
        ck_assert_ptr_null(d.conds[SB_COND_ADMITTED].message);
        ck_assert_str_eq(d.conds[SB_COND_PROJECTED].reason, "ServiceAccountNotFound");
        o = (struct sandbox_obs){.invalid = true};
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.conds[SB_COND_PROJECTED].reason, "NotProjected");
        ck_assert_str_eq(d.message, "the spec is invalid");
}
END_TEST

/* What a start or a deletion passes through goes unwritten while it is young: the decision then keeps the
 * status as it is and asks to look again when the window ends. */
START_TEST(test_settle) {
        const struct timestamp t0 = {1000, 0}, young = {1002, 0}, old = {1000 + SB_SETTLE_NS / S, 0};
        struct sandbox_obs o = {CLAIMED, .since = t0, .now = young};
        struct sandbox_decision d;

        /* a new sandbox's first Starting */
        sandbox_decide(&o, &d);
        ck_assert_ptr_null(d.phase);
        ck_assert_int_eq(d.recheck_ns, SB_SETTLE_NS - 2 * S);
        o.now = old;
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.phase, "Starting");
        ck_assert_int_eq(d.recheck_ns, 0);
        /* a start is over in time: Running is written at once */
        o = (struct sandbox_obs){READY, .since = t0, .now = young};
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.phase, "Running");
        ck_assert_int_eq(d.recheck_ns, 0);
        /* Starting after Stopped (or Pending) is written at once: a task must not see Stopped */
        o = (struct sandbox_obs){SUSPENDED, .old_phase = "Stopped", .since = young, .now = young};
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.phase, "Starting");
        ck_assert_int_eq(d.act, SB_ACT_RESUME);
        o = (struct sandbox_obs){CLAIMED, .old_phase = "Pending", .since = t0, .now = young};
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.phase, "Starting");
        /* the runtime's progress within Starting keeps the status's reason and message while young */
        o = (struct sandbox_obs){RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady",
                .ready_message = "Pod exists with phase: Pending", .old_phase = "Starting",
                .old_reason = "SandboxSuspended", .old_message = "Sandbox is suspended", .since = t0,
                .now = young};
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.phase, "Starting");
        ck_assert_str_eq(d.reason, "SandboxSuspended");
        ck_assert_str_eq(d.message, "Sandbox is suspended");
        ck_assert_str_eq(d.conds[SB_COND_READY].reason, "SandboxSuspended");
        ck_assert_int_gt(d.recheck_ns, 0);
        o.now = old;
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.reason, "DependenciesNotReady");
        ck_assert_str_eq(d.message, "Pod exists with phase: Pending");
        /* Terminating, from the deletion */
        o = (struct sandbox_obs){.deleting = true,
                .deleting_waits = SB_WAIT_POD,
                .old_phase = "Running",
                .since = t0,
                .now = young};
        sandbox_decide(&o, &d);
        ck_assert_ptr_null(d.phase);
        ck_assert_int_eq(d.act, SB_ACT_NONE);
        ck_assert_int_gt(d.recheck_ns, 0);
        o.now = old;
        sandbox_decide(&o, &d);
        ck_assert_str_eq(d.phase, "Terminating");
        /* nothing left: released at once */
        o = (struct sandbox_obs){.deleting = true, .since = t0, .now = young};
        sandbox_decide(&o, &d);
        ck_assert_int_eq(d.act, SB_ACT_RELEASE);
        /* past the young start, the runtime's progress within Starting or Terminating costs at most one write
         * per SB_SETTLE_NS since the last status write: held (looking again when that window ends), then
         * written with the latest reason and message */
        const struct timestamp late = {1000 + 3 * SB_SETTLE_NS / S, 0};
        const struct timestamp just = {late.sec - 1, 0}, long_ago = {late.sec - SB_SETTLE_NS / S, 0};
        const struct {
                struct sandbox_obs obs;
                const char *reason; /* the reason decided */
                int64_t recheck_ns;
        } paced[] = {
                /* a new message written 1 s ago: held for the rest of the window */
                {{RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady",
                         .ready_message = "Pod Pending", .old_phase = "Starting",
                         .old_reason = "SandboxNotReady", .old_message = "m", .since = t0, .now = late,
                         .written = just},
                        "SandboxNotReady", SB_SETTLE_NS - S},
                /* the window is over: written */
                {{RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady",
                         .ready_message = "Pod Pending", .old_phase = "Starting",
                         .old_reason = "SandboxNotReady", .old_message = "m", .since = t0, .now = late,
                         .written = long_ago},
                        "DependenciesNotReady", 0},
                /* no write known (a new operator): written */
                {{RUNTIME, .ready = "False", .ready_reason = "DependenciesNotReady",
                         .ready_message = "Pod Pending", .old_phase = "Starting",
                         .old_reason = "SandboxNotReady", .old_message = "m", .since = t0, .now = late},
                        "DependenciesNotReady", 0},
                /* a message-only change is held too */
                {{RUNTIME, .ready = "False", .ready_reason = "SandboxNotReady", .ready_message = "new",
                         .old_phase = "Starting", .old_reason = "SandboxNotReady", .old_message = "old",
                         .since = t0, .now = late, .written = just},
                        "SandboxNotReady", SB_SETTLE_NS - S},
                /* nothing new: nothing held, nothing to look at again */
                {{RUNTIME, .ready = "False", .ready_reason = "SandboxNotReady", .ready_message = "m",
                         .old_phase = "Starting", .old_reason = "SandboxNotReady", .old_message = "m",
                         .since = t0, .now = late, .written = just},
                        "SandboxNotReady", 0},
                /* the claim's progress before the runtime exists */
                {{CLAIMED, .claim_reason = "SandboxNotReady", .old_phase = "Starting",
                         .old_reason = "SandboxCreatePending", .old_message = "m", .since = t0, .now = late,
                         .written = just},
                        "SandboxCreatePending", SB_SETTLE_NS - S},
                /* a phase change is written at once: Running, Failed */
                {{READY, .old_phase = "Starting", .old_reason = "SandboxNotReady", .old_message = "m",
                         .since = t0, .now = late, .written = just},
                        "Ready", 0},
                {{RUNTIME, .ready = "False", .ready_reason = "PodFailed", .old_phase = "Starting",
                         .old_reason = "SandboxNotReady", .old_message = "m", .since = t0, .now = late,
                         .written = just},
                        "PodFailed", 0},
                /* within Terminating, what the deletion waits for */
                {{.deleting = true,
                         .deleting_waits = SB_WAIT_POD,
                         .old_phase = "Terminating",
                         .old_reason = "Deleting",
                         .old_message = "waiting for the claim to be deleted",
                         .since = t0,
                         .now = late,
                         .written = just},
                        "Deleting", SB_SETTLE_NS - S},
                /* other phases are not paced: a Stopping whose reason changes */
                {{SUSPENDING, .stop_wanted = true, .old_phase = "Stopping", .old_reason = "IdleTimeout",
                         .old_message = "m", .since = t0, .now = late, .written = just},
                        "IdleTimeout", 0},
        };
        for (size_t i = 0; i < sizeof(paced) / sizeof(paced[0]); i++) {
                sandbox_decide(&paced[i].obs, &d);
                ck_assert_msg(d.phase, "paced %zu: no phase", i);
                ck_assert_msg(strcmp(d.reason, paced[i].reason) == 0 && d.recheck_ns == paced[i].recheck_ns,
                        "paced %zu: %s, recheck %lld", i, d.reason, (long long) d.recheck_ns);
                ck_assert_str_eq(d.conds[SB_COND_READY].reason, d.reason);
                if (paced[i].recheck_ns)
                        ck_assert_str_eq(d.message, paced[i].obs.old_message);
        }
        /* other phases are never held; an unknown start is not either */
        const struct sandbox_obs never[] = {
                {READY, .stop_wanted = true, .since = t0, .now = young},
                {SUSPENDED, .stop_wanted = true, .since = t0, .now = young},
                {RUNTIME, .ready = "False", .ready_reason = "PodFailed", .since = t0, .now = young},
                {.problem_reason = "QuotaExceeded", .problem = "q", .since = t0, .now = young},
                {CLAIMED, .now = young},
        };
        for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
                sandbox_decide(&never[i], &d);
                ck_assert_msg(d.phase && d.recheck_ns == 0, "%zu", i);
        }
}
END_TEST

START_TEST(test_would_start) {
        struct sandbox_obs o = {SUSPENDED};
        ck_assert(sandbox_would_start(&o));
        o.stop_wanted = true;
        ck_assert(!sandbox_would_start(&o));
        o = (struct sandbox_obs){SUSPENDED, .expired = true};
        ck_assert(!sandbox_would_start(&o));
        o = (struct sandbox_obs){READY};
        ck_assert(!sandbox_would_start(&o));
        o = (struct sandbox_obs){SUSPENDED, .deleting = true};
        ck_assert(!sandbox_would_start(&o));
}
END_TEST

START_TEST(test_idle_stopped) {
        struct timestamp stopped = {100, 0}, before = {50, 0}, after = {150, 0}, none = {0, 0};
        ck_assert(sandbox_idle_stopped("Stopped", "IdleTimeout", 2, 2, &stopped, &before));
        ck_assert(sandbox_idle_stopped("Stopping", "IdleTimeout", 2, 2, &stopped, &stopped));
        ck_assert(sandbox_idle_stopped("Stopped", "IdleTimeout", 2, 2, &none, &after));
        /* activity since, a new spec, or another stop: not (or no longer) stopped for idleness */
        ck_assert(!sandbox_idle_stopped("Stopped", "IdleTimeout", 2, 2, &stopped, &after));
        ck_assert(!sandbox_idle_stopped("Stopped", "IdleTimeout", 3, 2, &stopped, &before));
        ck_assert(!sandbox_idle_stopped("Stopped", "StoppedByUser", 2, 2, &stopped, &before));
        ck_assert(!sandbox_idle_stopped("Running", "IdleTimeout", 2, 2, &stopped, &before));
        ck_assert(!sandbox_idle_stopped(NULL, NULL, 1, 0, &none, &none));
}
END_TEST

START_TEST(test_timers) {
        struct sandbox_lifetimes l = {
                .max_lifetime = 3600 * S, .idle_timeout = 600 * S, .stopped_retention = 60 * S};
        struct sandbox_times t = {.created = {1000, 0}, .started = {1100, 0}, .activity = {1200, 0}};
        struct timestamp now = {1500, 0};
        struct sandbox_timer r;

        /* Running: the idle timeout counts from the last activity; the next look is the soonest timer */
        sandbox_timers(&l, &t, "Running", false, &now, &r);
        ck_assert_int_eq(r.expires.sec, 4600);
        ck_assert(!r.expired && !r.idle_due && !r.retention_over);
        ck_assert_int_eq(r.next_ns, 300 * S);
        now.sec = 1800;
        sandbox_timers(&l, &t, "Running", false, &now, &r);
        ck_assert(r.idle_due);
        /* a command running in it postpones the stop by one idle timeout */
        sandbox_timers(&l, &t, "Running", true, &now, &r);
        ck_assert(!r.idle_due);
        ck_assert_int_eq(r.next_ns, 600 * S);
        /* activity before the start counts from the start; not yet Running starts its idle time now */
        t.activity = (struct timestamp){900, 0};
        now.sec = 1650;
        sandbox_timers(&l, &t, "Running", false, &now, &r);
        ck_assert_int_eq(r.next_ns, 50 * S);
        sandbox_timers(&l, &t, "Starting", false, &now, &r);
        ck_assert(!r.idle_due);
        ck_assert_int_eq(r.next_ns, (4600 - 1650) * S);
        /* stopped: the retention counts from the stop, and only a set stop time counts */
        t.stopped = (struct timestamp){1600, 0};
        sandbox_timers(&l, &t, "Stopped", false, &now, &r);
        ck_assert(!r.retention_over);
        ck_assert_int_eq(r.next_ns, 10 * S);
        now.sec = 1660;
        sandbox_timers(&l, &t, "Stopped", false, &now, &r);
        ck_assert(r.retention_over);
        t.stopped = (struct timestamp){0};
        sandbox_timers(&l, &t, "Stopped", false, &now, &r);
        ck_assert(!r.retention_over);
        /* max lifetime */
        now.sec = 4600;
        sandbox_timers(&l, &t, "Stopped", false, &now, &r);
        ck_assert(r.expired);
        ck_assert_int_eq(r.next_ns, 0);
        /* no lifetimes: no timer */
        l = (struct sandbox_lifetimes){0};
        sandbox_timers(&l, &t, "Running", false, &now, &r);
        ck_assert(!r.expired && !r.idle_due && !r.retention_over);
        ck_assert_int_eq(r.expires.sec, 0);
        ck_assert_int_eq(r.next_ns, 0);
}
END_TEST

START_TEST(test_times_after) {
        struct timestamp now = {2000, 123};
        struct sandbox_times t = {.started = {1000, 0}, .stopped = {1500, 0}, .activity = {900, 0}};

        /* becoming Running: started now (whole seconds), stop cleared, activity from the start */
        sandbox_times_after("Running", true, &now, &t);
        ck_assert_int_eq(t.started.sec, 2000);
        ck_assert_int_eq(t.started.nsec, 0);
        ck_assert_int_eq(t.stopped.sec, 0);
        ck_assert_int_eq(t.activity.sec, 2000);
        /* staying Running keeps them */
        now.sec = 2100;
        sandbox_times_after("Running", false, &now, &t);
        ck_assert_int_eq(t.started.sec, 2000);
        /* Stopped: the first stop time is kept */
        sandbox_times_after("Stopped", true, &now, &t);
        ck_assert_int_eq(t.stopped.sec, 2100);
        now.sec = 2200;
        sandbox_times_after("Expired", true, &now, &t);
        ck_assert_int_eq(t.stopped.sec, 2100);
        /* Stopping keeps everything, Starting clears the stop */
        sandbox_times_after("Stopping", true, &now, &t);
        ck_assert_int_eq(t.stopped.sec, 2100);
        sandbox_times_after("Starting", true, &now, &t);
        ck_assert_int_eq(t.stopped.sec, 0);
        ck_assert_int_eq(t.started.sec, 2000);
        sandbox_times_after(NULL, true, &now, &t);
        ck_assert_int_eq(t.started.sec, 2000);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("sandbox-phase");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_decide, 0, (int) (sizeof(rows) / sizeof(rows[0])));
        tcase_add_test(tc, test_conditions_follow_the_phase);
        tcase_add_test(tc, test_settle);
        tcase_add_test(tc, test_would_start);
        tcase_add_test(tc, test_idle_stopped);
        tcase_add_test(tc, test_timers);
        tcase_add_test(tc, test_times_after);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(suite)
