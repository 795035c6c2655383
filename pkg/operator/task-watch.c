/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ExecutionTask controller as the manager runs it: a task is reconciled (task.c) when it changes, and
 * the tasks waiting for a sandbox when that sandbox's phase, readiness or pod changes (or it is deleted, so
 * that they learn it will never be ready). Besides its workers it runs the commands' threads, which end
 * when the operator stops, and, while leading, the retention of task records (records.c).
 */
#include <stdint.h>

#include "operator/controller.h"

static void map_sandbox(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace"), *name = kube_str(ch->obj, "metadata.name");
        if (ns && name && (ch->deleted || op_sandbox_state_changed(ch->old_obj, ch->obj)))
                op_enqueue_waiting_tasks(ch->op, ns, name, SIZE_MAX);
}

static int workers(const struct operator_options *o) {
        return o->task_workers;
}

static void metrics(struct mbox_operator *op, struct metrics *m) {
        op->m_tasks = metrics_counter(m, "mbox_operator_tasks_total",
                "ExecutionTasks that ended, by final phase.", (const char *const[]){"phase", NULL});
        op->m_tasks_running =
                metrics_gauge(m, "mbox_operator_tasks_running", "ExecutionTask commands running now.", NULL);
        op->m_output_dropped = metrics_counter(m, "mbox_operator_task_output_dropped_bytes_total",
                "Bytes of task output written past the limit of their task, and not stored.", NULL);
        op->m_records_pruned = metrics_counter(m, "mbox_operator_task_records_pruned_total",
                "Records of finished tasks deleted past their retention, by record (output, artifact).",
                (const char *const[]){"record", NULL});
        op->m_record_passes = metrics_counter(
                m, "mbox_operator_task_record_passes_total", "Passes of the task record retention.", NULL);
}

static void stop(struct mbox_operator *op, long wait_ms) {
        op_records_stop(op);
        op_tasks_stop(op, wait_ms);
}

const struct op_controller op_task_controller = {
        .name = "task",
        .primary = RES_TASK,
        .reconcile = op_reconcile_task,
        .workers = workers,
        .watches =
                (const struct op_watch[]){
                        {RES_TASK, op_map_own},
                        {RES_SANDBOX, map_sandbox},
                        {0},
                },
        .metrics = metrics,
        .start = op_records_start,
        .stop = stop,
};
