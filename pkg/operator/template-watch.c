/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EnvironmentTemplate controller as the manager runs it: a template is reconciled (template.c) when it
 * changes; when the SandboxTemplate or warm pool projected from it changes; when its project's policy
 * changes (which decides whether its warm pools keep pods); and when a sandbox or task that uses or
 * validates it changes: the first ready sandbox of a version validates a template without a check, and a
 * deleted one may have been the last user of an old version.
 */
#include <stdio.h>

#include "operator/controller.h"

/* The key of the EnvironmentTemplate a projected SandboxTemplate or pool comes from, into buf; NULL. */
static const char *template_of(json_object *obj, char *buf, size_t size) {
        const char *t = kube_label(obj, LABEL_TEMPLATE), *tns = kube_label(obj, LABEL_TEMPLATE_NS);
        if (!t || !tns || snprintf(buf, size, "%s/%s", tns, t) >= (int) size)
                return NULL;
        return buf;
}

static void template_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        char v[300];
        (void) ud;
        if (template_of(obj, v, sizeof(v)))
                emit(v, ectx);
}

static void map_projection(const struct op_change *ch) {
        char buf[512];
        if (template_of(ch->obj, buf, sizeof(buf)))
                op_enqueue(ch->op, ch->ctl, buf);
}

/* The policy decides whether the namespace's warm pools keep pods. */
static void map_project(const struct op_change *ch) {
        char buf[512];
        if (op_spec_changed(ch->old_obj, ch->obj) || ch->deleted)
                op_enqueue_all(
                        ch->op, ch->ctl, RES_TEMPLATE, op_project_namespace_of(ch->obj, buf, sizeof(buf)));
}

/* The Sandbox and the task that validate a template carry its name in a label. */
static void enqueue_validated(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace"),
                   *v = kube_label(ch->obj, LABEL_VALIDATION_OF);
        char buf[512];
        if (v && ns) {
                snprintf(buf, sizeof(buf), "%s/%s", ns, v);
                op_enqueue(ch->op, ch->ctl, buf);
        }
}

static void map_sandbox(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace"), *v;
        char buf[512];
        if (ns && kube_str(ch->obj, "metadata.name") &&
                (ch->deleted || op_sandbox_state_changed(ch->old_obj, ch->obj)) &&
                (v = kube_str(ch->obj, "status.template.name"))) {
                const char *tns = kube_str(ch->obj, "status.template.namespace");
                snprintf(buf, sizeof(buf), "%s/%s", tns ? tns : ns, v);
                op_enqueue(ch->op, ch->ctl, buf);
        }
        enqueue_validated(ch);
}

static int workers(const struct operator_options *o) {
        return o->template_workers;
}

const struct op_controller op_template_controller = {
        .name = "template",
        .primary = RES_TEMPLATE,
        .reconcile = op_reconcile_template,
        .workers = workers,
        .watches =
                (const struct op_watch[]){
                        {RES_TEMPLATE, op_map_own},
                        {RES_AS_TEMPLATE, map_projection},
                        {RES_AS_POOL, map_projection},
                        {RES_PROJECT, map_project},
                        {RES_SANDBOX, map_sandbox},
                        {RES_TASK, enqueue_validated},
                        {0},
                },
        .indexes =
                (const struct op_index[]){
                        {RES_AS_TEMPLATE, INDEX_TEMPLATE, template_index_fn},
                        {0},
                },
};
