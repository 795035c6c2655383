/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A run of an ExecutionTask (taskrun.c): the thread that execs the command in the sandbox's pod, keeps its
 * output, checks its artifacts and writes how it ended; the status a task shows, built through struct
 * task_status; and the kill of a task's processes. The reconcile (task.c) decides when a run starts and
 * owns the limits; a run calls back through on_end and never into task.c.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/task.h"
#include "operator/internal.h"
#include "tail.h"
#include "timestamp.h"

enum run_end { END_NONE, END_CANCEL, END_DELETED, END_SHUTDOWN };

struct task_run {
        struct mbox_operator *op;
        char key[320], ns[64], name[256], uid[64], sandbox[64], pod[256];
        json_object *obj; /* the object as it was started, for events (owned) */
        struct task *t;   /* its typed view (owned) */
        atomic_bool cancel;
        atomic_int end; /* enum run_end: why cancel was set */
        struct timestamp started;
        struct tail out, err;
        struct task_output *store_out; /* NULL when not stored */
        char store_error[256];         /* why the full output is not stored */
        bool store_partial;            /* stored up to where the command was stopped */
        uint64_t output_limit;         /* bytes of output stored at most (0: no limit) */
        const char *limit_whose;       /* which setting the limit comes from (static) */
        uint64_t dropped;              /* bytes written past the limit */
        /* the launcher's first line of stdout, "<end line> <pid> <start time>": the handle KILL_SCRIPT
         * kills by, which the command cannot change (proc_pid "" until it came) */
        char end_line[80], first[160], proc_pid[24], proc_start[24];
        size_t first_len;
        bool first_done;
        /* called once the run is no longer counted: wakes the tasks waiting for room (task.c) */
        void (*on_end)(struct mbox_operator *op, const char *ns, const char *sandbox);
};

/* How a task ends (or waits): phase, reason and message, and what a command's end adds. */
struct task_outcome {
        const char *phase, *reason;
        char message[1024];
        bool has_exit;
        int exit_code;
        struct timestamp completed;
};

void task_outcome_msg(struct task_outcome *o, const char *fmt, ...) _printf_(2, 3);
/* The status of task t for outcome oc, plus what a run adds (NULL when it has not started) and the
 * artifacts it found (found: NULL or a status whose artifacts are borrowed for the emit), as JSON in *ret.
 * Built afresh each time; only lastTransitionTime carries over from t's conditions. 0 or -ENOMEM. */
int task_build_status(const struct task *t, const struct task_outcome *oc, const struct task_run *run,
        const struct task_status *found, json_object **ret);
/* The thread of a run (arg: the run, which it frees when done). */
void *task_run_main(void *arg);
void task_run_free(struct task_run *r);
/* Kills every process of the task in the pod; pid and start: the launcher's, "" when not known (a task
 * left by an operator that is gone). */
int task_kill(struct kube_client *c, const char *ns, const char *pod, const char *uid, const char *pid,
        const char *start, struct merr *err);
/* Sets the sandbox's status.lastActivityAt to now (best effort). */
void task_record_activity(struct mbox_operator *op, struct kube_client *c, const char *ns, const char *name);
/* Counts a task that ended in phase. */
void task_count(struct mbox_operator *op, const char *phase);
