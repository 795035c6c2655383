/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-operator as a library: the Project, EnvironmentTemplate and Sandbox controllers that reconcile the
 * mbox.dev objects into namespaces, policy objects and agent-sandbox resources, and the ExecutionTask
 * controller that runs commands in sandboxes (docs/operator.md, docs/tasks.md).
 *
 * operator_new() loads the configuration and builds one informer per watched resource, a work queue per
 * controller and the metrics; operator_run() starts the informers, waits for their caches, takes the
 * leader Lease when asked to, and runs the workers until operator_stop() (from any thread, or a signal
 * handler through the atomic flag) or until leadership is lost. Losing the Lease ends the run with
 * -ENOLCK: the process should exit, as client-go's controllers do, so that it never writes without it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "merr.h"

struct metrics;

#define OPERATOR_MAX_TASK_OUTPUT (64LL << 20) /* the default of max_task_output: 64 MiB */

struct operator_options {
        const char *kubeconfig;        /* NULL: $KUBECONFIG, ~/.kube/config, then in-cluster */
        const char *context;           /* NULL: current-context */
        const char *library_namespace; /* templates usable by every project (default mbox-system) */
        int project_workers;           /* default 2 */
        int template_workers;          /* default 2 */
        int sandbox_workers;           /* default 8 */
        bool leader_elect;
        const char *leader_namespace; /* default mbox-system */
        const char *leader_name;      /* default mbox-operator */
        const char *leader_identity;  /* default <hostname>_<pid> */
        long lease_duration_ms, renew_deadline_ms, retry_period_ms;
        /* preview URLs are <scheme>://<port>--<sandbox slug>--<project slug>.<domain>/ (the gateway of
         * mbox-apiserver); NULL domain: sandboxes show none */
        const char *preview_domain, *preview_scheme;
        int64_t resync_ns;                /* every object is reconciled again after this (default 10 min) */
        int task_workers;                 /* concurrent ExecutionTask reconciles (default 4) */
        int max_running_tasks;            /* commands running at once, over all projects (default 64) */
        size_t task_tail_bytes;           /* stdoutTail / stderrTail size (default 4096, at most 16384) */
        int64_t task_start_timeout_ns;    /* how long a task waits for its sandbox to be ready (default 5m) */
        const char *database_url;         /* Postgres for the full task output; NULL: tails only */
        int64_t max_task_output;          /* bytes of one task's output stored at most (default 64 MiB) */
        int64_t task_output_retention_ms; /* task records kept this long after the task ended (0: kept) */
        const char *internal_cidrs;       /* comma-separated ranges the internet egress rule also blocks */
};

struct mbox_operator;

int operator_new(
        const struct operator_options *o, struct metrics *m, struct mbox_operator **ret, struct merr *err);
struct mbox_operator *operator_free(struct mbox_operator *op);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mbox_operator *, operator_free);

/* Runs until operator_stop() (returns 0) or until leadership is lost (-ENOLCK). */
int operator_run(struct mbox_operator *op, struct merr *err);
/* Async-signal-safe. */
void operator_stop(struct mbox_operator *op);

/* True once every cache has synced (and, with leader election, whether leading or standing by). */
bool operator_ready(struct mbox_operator *op);
