/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Project controller as the manager runs it: a Project is reconciled (project.c) when it changes, when
 * one of the objects it made in its namespace changes (they carry its name in a label), and, at most once
 * a second, when a sandbox of its namespace changes the counts in its status.
 */
#include <stdio.h>

#include "operator/controller.h"

const char *op_project_namespace_of(json_object *project, char *buf, size_t size) {
        const char *ns = kube_str(project, "spec.namespace"), *name = kube_str(project, "metadata.name");
        if (ns)
                return ns;
        snprintf(buf, size, "mbox-%s", name ? name : "");
        return buf;
}

/* Namespaces, ServiceAccounts and the policy objects are cluster-wide or in the project's namespace; all
 * name their Project in a label. */
static void map_owned(const struct op_change *ch) {
        const char *v = kube_label(ch->obj, LABEL_PROJECT);
        if (v)
                op_enqueue(ch->op, ch->ctl, v);
}

/* The project's counts: at most one status write a second, however many sandboxes change. */
static void map_sandbox(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace");
        char buf[512];
        if (ns && op_project_of_namespace(ch->op, ns, buf, sizeof(buf)))
                op_enqueue_after(ch->op, ch->ctl, buf, 1000000000);
}

static int workers(const struct operator_options *o) {
        return o->project_workers;
}

const struct op_controller op_project_controller = {
        .name = "project",
        .primary = RES_PROJECT,
        .reconcile = op_reconcile_project,
        .workers = workers,
        .watches =
                (const struct op_watch[]){
                        {RES_PROJECT, op_map_own},
                        {RES_NAMESPACE, map_owned},
                        {RES_SERVICEACCOUNT, map_owned},
                        {RES_NETWORKPOLICY, map_owned},
                        {RES_RESOURCEQUOTA, map_owned},
                        {RES_LIMITRANGE, map_owned},
                        {RES_ROLEBINDING, map_owned},
                        {RES_SANDBOX, map_sandbox},
                        {0},
                },
};
