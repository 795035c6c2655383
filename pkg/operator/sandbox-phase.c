/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Sandbox controller's decision, apart from everything it reads and writes (sandbox-phase.h). The
 * runtime (an agent-sandbox Sandbox, through the claim) carries the state; the phase maps its Ready and
 * Suspended conditions, and the spec's wish, to what a user reads, with the underlying reason.
 */
#include "operator/sandbox-phase.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

static bool eq(const char *a, const char *b) {
        return a && strcmp(a, b) == 0;
}

static void set_msg(struct sandbox_decision *d, const char *fmt, ...) _printf_(2, 3);
static void set_msg(struct sandbox_decision *d, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->message, sizeof(d->message), fmt, ap);
        va_end(ap);
}

bool sandbox_idle_stopped(const char *phase, const char *reason, int64_t generation, int64_t observed,
        const struct timestamp *stopped, const struct timestamp *activity) {
        if (!eq(reason, "IdleTimeout") || !(eq(phase, "Stopping") || eq(phase, "Stopped")))
                return false;
        /* a new spec (spec.state stays Running through an idle stop) starts it again */
        if (generation != observed)
                return false;
        return !stopped->sec || timestamp_cmp(activity, stopped) <= 0;
}

static bool wants_stop(const struct sandbox_obs *o) {
        return o->stop_wanted || o->expired;
}

bool sandbox_would_start(const struct sandbox_obs *o) {
        return !o->deleting && !o->invalid && o->has_claim && o->has_runtime && !wants_stop(o) &&
               o->runtime_suspended;
}

/* Conditions of a sandbox without a runtime of its own: all False, for reason (Ready) and the decision's
 * message; Admitted and RuntimeProjected name their own reason when the sandbox waits for one. */
static void conds_without_runtime(struct sandbox_decision *d, const char *why) {
        d->conds[SB_COND_READY] = (struct sandbox_cond){"Ready", false, d->reason, NULL};
        d->conds[SB_COND_ADMITTED] = (struct sandbox_cond){"Admitted", false, why ? why : "Admitted", NULL};
        d->conds[SB_COND_PROJECTED] =
                (struct sandbox_cond){"RuntimeProjected", false, why ? why : "NotProjected", NULL};
}

static void deleting(const struct sandbox_obs *o, struct sandbox_decision *d) {
        unsigned w = o->deleting_waits;
        if (!w) {
                d->act = SB_ACT_RELEASE;
                return;
        }
        d->phase = "Terminating";
        d->reason = "Deleting";
        set_msg(d, "waiting for %s%s%s%s to be deleted", w & SB_WAIT_CLAIM ? "the claim " : "",
                w & SB_WAIT_RUNTIME ? "the Sandbox " : "", w & SB_WAIT_POD ? "the Pod " : "",
                w & SB_WAIT_VOLUME ? "the workspace volume" : "");
        conds_without_runtime(d, NULL);
}

/* The phase the runtime shows, for a sandbox that has a claim. */
static void runtime_phase(const struct sandbox_obs *o, struct sandbox_decision *d) {
        static const char *const failed[] = {
                "PodFailed", "ReconcilerError", "MultiplePods", "SandboxExpired"};
        if (!o->has_runtime) {
                d->phase = "Starting";
                d->reason = o->claim_reason ? o->claim_reason : "SandboxCreatePending";
                set_msg(d, "%s",
                        o->claim_message ? o->claim_message
                                         : "waiting for agent-sandbox to provide a Sandbox");
                return;
        }
        if (wants_stop(o)) {
                /* Suspended is True once the pod is gone; Ready's reason says so as soon as the pod is
                 * told to go, and serves only a runtime without a Suspended condition. A Stopped shown
                 * while the old pod still ran let a quick start see that pod Ready, then lose it. */
                bool pod_gone = o->suspended
                                        ? eq(o->suspended, "True")
                                        : eq(o->ready_reason, "SandboxSuspended") && eq(o->ready, "False");
                d->phase = pod_gone ? (o->expired ? "Expired" : "Stopped") : "Stopping";
                d->reason = o->expired                         ? "MaxLifetimeExceeded"
                            : eq(o->old_reason, "IdleTimeout") ? "IdleTimeout"
                                                               : "StoppedByUser";
                set_msg(d, "%s",
                        o->expired ? "the sandbox reached its maximum lifetime"
                        : pod_gone ? "the pod is gone; the workspace volume is kept"
                                   : "waiting for the pod to stop");
                return;
        }
        if (eq(o->ready, "True")) {
                d->phase = "Running";
                d->reason = "Ready";
                set_msg(d, "the sandbox is running");
                return;
        }
        for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
                if (eq(o->ready_reason, failed[i])) {
                        d->phase = "Failed";
                        d->reason = o->ready_reason;
                        set_msg(d, "%s", o->ready_message ? o->ready_message : o->ready_reason);
                        return;
                }
        d->phase = "Starting";
        d->reason = o->ready_reason ? o->ready_reason : "SandboxNotReady";
        set_msg(d, "%s",
                o->ready_message && *o->ready_message ? o->ready_message
                                                      : "waiting for the sandbox pod to be ready");
}

/* Time left of the window of SB_SETTLE_NS from from, 0 when it is over or from is unknown; never more
 * than the window, even when from is ahead of this clock (it is the API server's). */
static int64_t window_left(const struct timestamp *from, const struct timestamp *now) {
        struct timestamp end;
        int64_t left = 0;
        if (!from->sec)
                return 0;
        timestamp_add(from, SB_SETTLE_NS, &end);
        timestamp_diff(&end, now, &left);
        return left > SB_SETTLE_NS ? SB_SETTLE_NS : left > 0 ? left : 0;
}

/* Holds back what a start or a deletion passes through: the first Starting of a new sandbox (it has no phase
 * yet) and Terminating while the start or deletion is young (SB_SETTLE_NS from since), and, within Starting
 * or Terminating, a new reason or message of the runtime (the status keeps the ones it shows) while it is
 * young or the status was written less than SB_SETTLE_NS ago: a slow start under load costs one write per
 * window for its progress, not one per message. Phases that say what the user may do, and a phase that
 * follows another (Starting after Stopped), are always written at once. */
static void settle(const struct sandbox_obs *o, struct sandbox_decision *d) {
        int64_t left = window_left(&o->since, &o->now);
        if (!d->phase)
                return;
        bool same = eq(o->old_phase, d->phase);
        if (same && (eq(d->phase, "Starting") || eq(d->phase, "Terminating")) && o->old_reason &&
                o->old_message) {
                if (!left) {
                        /* past the young start: held only when it differs, until the write window ends */
                        if (eq(d->reason, o->old_reason) && strcmp(d->message, o->old_message) == 0)
                                return;
                        if (!(left = window_left(&o->written, &o->now)))
                                return;
                }
                d->reason = o->old_reason;
                set_msg(d, "%s", o->old_message);
                d->conds[SB_COND_READY].reason = d->reason;
        } else if (left &&
                   ((eq(d->phase, "Starting") && !o->old_phase) || (eq(d->phase, "Terminating") && !same)))
                d->phase = NULL;
        else
                return;
        d->recheck_ns = left;
}

void sandbox_decide(const struct sandbox_obs *o, struct sandbox_decision *ret) {
        struct sandbox_decision *d = ret;
        *d = (struct sandbox_decision){.act = SB_ACT_NONE};
        if (o->deleting) {
                deleting(o, d);
                settle(o, d);
                return;
        }
        if (o->invalid) {
                d->phase = "Failed";
                d->reason = "InvalidSpec";
                set_msg(d, "%s", o->problem ? o->problem : "the spec is invalid");
                conds_without_runtime(d, NULL);
                return;
        }
        if (o->problem_reason) {
                /* with a claim, the runtime stays as it is until the problem is solved */
                if (o->has_claim)
                        return;
                d->phase = "Pending";
                d->reason = o->problem_reason;
                d->warn = true;
                set_msg(d, "%s", o->problem ? o->problem : o->problem_reason);
                conds_without_runtime(d, o->problem_reason);
                return;
        }
        if (!o->has_claim) {
                /* the claim is this pass's only write; status comes with the claim's ADDED event */
                d->act = SB_ACT_CLAIM;
                return;
        }

        d->conds[SB_COND_ADMITTED] =
                (struct sandbox_cond){"Admitted", true, "Admitted", "within the project's quota"};
        d->conds[SB_COND_PROJECTED] = (struct sandbox_cond){"RuntimeProjected", true, "ClaimCreated",
                "SandboxClaim created through the template's warm pool"};
        if (sandbox_would_start(o)) {
                if (o->start_blocked) {
                        /* a start counts against maxRunning like a launch */
                        d->phase = "Stopped";
                        d->reason = "QuotaExceeded";
                        set_msg(d, "%s", o->start_blocked);
                        d->conds[SB_COND_READY] = (struct sandbox_cond){"Ready", false, d->reason, NULL};
                        d->conds[SB_COND_ADMITTED] =
                                (struct sandbox_cond){"Admitted", false, "QuotaExceeded", NULL};
                        return;
                }
                d->act = SB_ACT_RESUME;
        } else if (o->has_runtime && wants_stop(o) && !o->runtime_suspended)
                d->act = SB_ACT_SUSPEND;

        runtime_phase(o, d);
        bool running = strcmp(d->phase, "Running") == 0;
        if (running && o->idle_due) {
                /* through the runtime only: spec.state stays the user's, and the next activity
                 * (sandbox_idle_stopped()) starts the sandbox again */
                d->act = SB_ACT_IDLE_STOP;
                d->phase = "Stopping";
                d->reason = "IdleTimeout";
                set_msg(d, "stopped after the idle timeout; the next task, terminal or preview starts it");
                running = false;
        } else if ((strcmp(d->phase, "Stopped") == 0 || strcmp(d->phase, "Expired") == 0) &&
                   o->retention_over) {
                d->act = SB_ACT_DELETE;
                d->phase = NULL;
                return;
        }
        d->show_runtime = running;
        d->conds[SB_COND_READY] = (struct sandbox_cond){"Ready", running, d->reason, NULL};
        settle(o, d);
}

/* ---- timers ---- */

static int64_t until(const struct timestamp *t, int64_t plus_ns, const struct timestamp *now) {
        struct timestamp deadline;
        int64_t left = 0;
        timestamp_add(t, plus_ns, &deadline);
        timestamp_diff(&deadline, now, &left);
        return left;
}

static int64_t sooner(int64_t next, int64_t left) {
        return next && next < left ? next : left;
}

void sandbox_timers(const struct sandbox_lifetimes *l, const struct sandbox_times *t, const char *phase,
        bool tasks_running, const struct timestamp *now, struct sandbox_timer *ret) {
        struct sandbox_timer r = {0};
        int64_t next = 0;
        if (l->max_lifetime) {
                timestamp_add(&t->created, l->max_lifetime, &r.expires);
                r.expired = timestamp_cmp(now, &r.expires) >= 0;
        }
        if (l->idle_timeout && eq(phase, "Running")) {
                /* a sandbox that only now becomes Running starts its idle time now */
                int64_t left = l->idle_timeout;
                if (t->started.sec) {
                        const struct timestamp *from =
                                timestamp_cmp(&t->activity, &t->started) < 0 ? &t->started : &t->activity;
                        left = until(from, l->idle_timeout, now);
                }
                /* a command running in it is activity, however long it takes: look again later */
                if (left <= 0 && tasks_running)
                        left = l->idle_timeout;
                r.idle_due = left <= 0;
                next = left;
        }
        if (l->stopped_retention && t->stopped.sec) {
                int64_t left = until(&t->stopped, l->stopped_retention, now);
                r.retention_over = left <= 0;
                if (eq(phase, "Stopped") || eq(phase, "Expired"))
                        next = sooner(next, left);
        }
        if (l->max_lifetime && !r.expired)
                next = sooner(next, until(&r.expires, 0, now));
        r.next_ns = next > 0 ? next : 0;
        *ret = r;
}

void sandbox_times_after(
        const char *phase, bool changed, const struct timestamp *now, struct sandbox_times *t) {
        struct timestamp whole = *now;
        whole.nsec = 0; /* metav1.Time has whole seconds */
        if (!phase)
                return;
        if (strcmp(phase, "Running") == 0) {
                if (changed || !t->started.sec)
                        t->started = whole;
                t->stopped = (struct timestamp){0};
                if (!t->activity.sec || timestamp_cmp(&t->activity, &t->started) < 0)
                        t->activity = t->started;
        } else if (strcmp(phase, "Stopped") == 0 || strcmp(phase, "Expired") == 0) {
                /* kept when set: an idle stop records the time it decided */
                if (!t->stopped.sec)
                        t->stopped = whole;
        } else if (strcmp(phase, "Starting") == 0)
                t->stopped = (struct timestamp){0};
}
