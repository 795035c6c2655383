/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The retention of task records: a pass, run while this replica leads, that deletes the output and
 * artifact records of tasks that ended longer ago than their project keeps them (task-policy.c decides how
 * long). docs/tasks.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/project.h"
#include "log.h"
#include "operator/internal.h"
#include "store/retention.h"
#include "timestamp.h"

/* The retention of every project's namespace: its own, else the flag's (0: kept). */
struct policy {
        char **namespaces;
        int64_t *keep_ms;
        size_t n, cap;
        int64_t flag_ms;
        bool oom;
};

static void add_project(const char *key, json_object *obj, void *ud) {
        struct policy *pol = ud;
        _cleanup_(project_freep) struct project *p = NULL;
        struct merr err = MERR_INIT;
        char buf[64];
        (void) key;
        /* every project, those that rely on the flag too: a namespace two projects claim keeps the
         * longer of their retentions */
        if (project_from_json(obj, &p, &err) < 0)
                return;
        if (pol->n == pol->cap) {
                size_t cap = pol->cap ? pol->cap * 2 : 16;
                char **ns = realloc(pol->namespaces, cap * sizeof(*ns));
                if (ns)
                        pol->namespaces = ns;
                int64_t *keep = ns ? realloc(pol->keep_ms, cap * sizeof(*keep)) : NULL;
                if (keep)
                        pol->keep_ms = keep;
                if (!ns || !keep) {
                        pol->oom = true;
                        return;
                }
                pol->cap = cap;
        }
        char *ns = strdup(project_namespace(p, buf, sizeof(buf)));
        if (!ns) {
                pol->oom = true;
                return;
        }
        pol->namespaces[pol->n] = ns;
        pol->keep_ms[pol->n++] = op_task_record_retention_ms(pol->flag_ms, p);
}

static void policy_release(struct policy *pol) {
        for (size_t i = 0; i < pol->n; i++)
                free(pol->namespaces[i]);
        free(pol->namespaces);
        free(pol->keep_ms);
}

/* One pass: deletes the records past their retention, a batch at a time. Returns the shortest retention
 * in force (0: none), which sets when the next pass comes. */
static int64_t prune(struct mbox_operator *op) {
        struct policy pol = {.flag_ms = op->opt.task_output_retention_ms};
        informer_foreach(op->inf[RES_PROJECT], NULL, add_project, &pol);
        int64_t shortest = pol.flag_ms;
        for (size_t i = 0; i < pol.n; i++)
                if (pol.keep_ms[i] > 0 && (shortest == 0 || pol.keep_ms[i] < shortest))
                        shortest = pol.keep_ms[i];
        if (pol.oom || shortest == 0) {
                if (pol.oom)
                        log_warn("task records: out of memory reading the projects' retention");
                policy_release(&pol);
                return pol.oom ? 0 : shortest;
        }
        size_t n_running = 0;
        char **running = op_tasks_running_uids(op, &n_running);
        struct store_retention r = {.namespaces = (const char *const *) pol.namespaces,
                .keep_ms = pol.keep_ms,
                .n = pol.n,
                .default_ms = pol.flag_ms,
                .running = (const char *const *) running,
                .n_running = n_running};
        int64_t outputs = 0, artifacts = 0, sessions = 0, accesses = 0;
        for (bool more = running != NULL; more && !atomic_load(&op->records_stop);) {
                struct merr err = MERR_INIT;
                PGconn *conn = NULL;
                int64_t o = 0, a = 0, se = 0, pa = 0;
                int rc = store_acquire(op->store, &conn, &err);
                if (rc >= 0)
                        rc = store_prune_task_records(conn, &r, &o, &a, &err);
                /* ended sessions go with the task records (store/session.h) */
                if (rc >= 0)
                        rc = store_prune_sessions(conn, &r, &se, &err);
                /* and so does the access log of previews (store/previewaccess.h) */
                if (rc >= 0)
                        rc = store_prune_preview_accesses(conn, &r, &pa, &err);
                store_release(op->store, conn);
                if (rc < 0) {
                        log_warn("task records: pruning failed", "error", merr_msg(&err));
                        break;
                }
                outputs += o;
                artifacts += a;
                sessions += se;
                accesses += pa;
                more = o == STORE_PRUNE_BATCH || a == STORE_PRUNE_BATCH || se == STORE_PRUNE_BATCH ||
                       pa == STORE_PRUNE_BATCH;
        }
        for (size_t i = 0; running && i < n_running; i++)
                free(running[i]);
        free(running);
        policy_release(&pol);
        if (op->m_records_pruned) {
                metric_add(op->m_records_pruned, (const char *const[]){"output", NULL}, (double) outputs);
                metric_add(op->m_records_pruned, (const char *const[]){"artifact", NULL}, (double) artifacts);
                metric_add(op->m_records_pruned, (const char *const[]){"session", NULL}, (double) sessions);
                metric_add(op->m_records_pruned, (const char *const[]){"previewaccess", NULL},
                        (double) accesses);
        }
        if (outputs > 0 || artifacts > 0 || sessions > 0 || accesses > 0) {
                char no[24], na[24], ns[24], npa[24];
                snprintf(no, sizeof(no), "%" PRId64, outputs);
                snprintf(na, sizeof(na), "%" PRId64, artifacts);
                snprintf(ns, sizeof(ns), "%" PRId64, sessions);
                snprintf(npa, sizeof(npa), "%" PRId64, accesses);
                log_info("task records: pruned past their retention", "outputs", no, "artifacts", na,
                        "sessions", ns, "previewaccesses", npa);
        }
        if (op->m_record_passes)
                metric_add(op->m_record_passes, NULL, 1);
        return shortest;
}

/* Passes every quarter of the shortest retention in force, at least every minute and at most four times a
 * second, as mbox-apiserver prunes its history; sooner when a project with a retention of its own was
 * reconciled since (its retention may be shorter than all before). */
static void *records_main(void *arg) {
        struct mbox_operator *op = arg;
        while (!atomic_load(&op->records_stop)) {
                unsigned wake = atomic_load(&op->records_wake);
                int64_t shortest = prune(op);
                int64_t every = shortest == 0 ? 60000 : shortest / 4;
                if (every > 60000)
                        every = 60000;
                if (every < 250)
                        every = 250;
                for (int64_t slept = 0; slept < every && !atomic_load(&op->records_stop); slept += 100) {
                        if (slept >= 250 && atomic_load(&op->records_wake) != wake)
                                break;
                        nanosleep(&(struct timespec){0, 100000000}, NULL);
                }
        }
        return NULL;
}

void op_records_saw_project(struct mbox_operator *op, const struct project *p) {
        if (p->spec.policy.lifecycle.task_output_retention.text)
                atomic_fetch_add(&op->records_wake, 1);
}

int op_records_start(struct mbox_operator *op, struct merr *err) {
        if (!op->store || op->records_running)
                return 0;
        atomic_store(&op->records_stop, false);
        int e = pthread_create(&op->records_thread, NULL, records_main, op);
        if (e != 0)
                return merr_set(err, -e, "starting the task record retention");
        op->records_running = true;
        return 0;
}

void op_records_stop(struct mbox_operator *op) {
        if (!op->records_running)
                return;
        atomic_store(&op->records_stop, true);
        pthread_join(op->records_thread, NULL);
        op->records_running = false;
}
