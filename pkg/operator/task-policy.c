/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the database keeps of a task: how much of its output (the limit, decided when it starts, task.c)
 * and for how long (the retention of its records, applied by records.c). The operator's flags set both; a
 * project may store less output (spec.quota.maxTaskOutput, never more than --max-task-output: the
 * operator's limit protects the database that all projects share) and keep its records for a time of its
 * own (spec.policy.lifecycle.taskOutputRetention, longer or shorter: it is the project's history to keep).
 * docs/tasks.md. Pure decisions over the typed view of the project.
 */
#include "api/project.h"
#include "operator/internal.h"

uint64_t op_task_output_limit(int64_t flag, const struct project *p, const char **ret_whose) {
        int64_t own = project_max_task_output(p);
        bool project = own > 0 && (flag <= 0 || own < flag);
        *ret_whose = project ? "the project's spec.quota.maxTaskOutput" : "mbox-operator's --max-task-output";
        return (uint64_t) (project ? own : flag > 0 ? flag : 0);
}

int64_t op_task_record_retention_ms(int64_t flag_ms, const struct project *p) {
        const struct api_duration *d = p ? &p->spec.policy.lifecycle.task_output_retention : NULL;
        if (d && d->text)
                return d->ns / 1000000 > 0 ? d->ns / 1000000 : 1;
        return flag_ms > 0 ? flag_ms : 0;
}
