/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Sandbox controller as the manager runs it: an mbox Sandbox is reconciled (sandbox.c) when it changes;
 * when its claim or agent-sandbox Sandbox changes what it shows; when the last of its Pod and PVC is gone
 * (its finalizer waits for them); and, while it waits for room or a claim, when its project or template
 * changes or another sandbox of its namespace frees room.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "operator/controller.h"

bool op_sandbox_waits(json_object *obj) {
        const char *reason = kube_str(obj, "status.reason");
        if (kube_str(obj, "metadata.deletionTimestamp"))
                return false;
        return !kube_str(obj, "status.claimName") || (reason && strcmp(reason, "QuotaExceeded") == 0);
}

bool op_sandbox_frees_room(json_object *old_obj, json_object *new_obj) {
        if (kube_str(new_obj, "metadata.deletionTimestamp"))
                return !kube_str(old_obj, "metadata.deletionTimestamp");
        const char *a = kube_str(old_obj, "status.phase"), *b = kube_str(new_obj, "status.phase");
        if (!old_obj || !b || (a && strcmp(a, b) == 0))
                return false;
        return strcmp(b, "Stopped") == 0 || strcmp(b, "Expired") == 0;
}

static bool str_differ(const char *a, const char *b) {
        return !a != !b || (a && strcmp(a, b) != 0);
}

bool op_sandbox_state_changed(json_object *old_obj, json_object *new_obj) {
        static const char *const paths[] = {"status.phase", "status.podName", "metadata.deletionTimestamp"};
        if (!old_obj)
                return true;
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                if (str_differ(kube_str(old_obj, paths[i]), kube_str(new_obj, paths[i])))
                        return true;
        }
        return str_differ(kube_condition(old_obj, "status.conditions", "Ready", NULL, NULL),
                kube_condition(new_obj, "status.conditions", "Ready", NULL, NULL));
}

bool op_runtime_changed(json_object *old_obj, json_object *new_obj) {
        static const char *const paths[] = {"metadata.deletionTimestamp", "metadata.labels",
                "metadata.ownerReferences", "metadata.annotations.agents\\.x-k8s\\.io/pod-name",
                "spec.operatingMode", "status.sandbox.name", "status.podIPs", "status.serviceFQDN"};
        static const char *const conds[] = {"Ready", "Suspended"};
        if (!old_obj || !new_obj)
                return true;
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
                if (!json_object_equal(kube_field(old_obj, paths[i]), kube_field(new_obj, paths[i])))
                        return true;
        for (size_t i = 0; i < ARRAY_SIZE(conds); i++) {
                const char *ra = NULL, *ma = NULL, *rb = NULL, *mb = NULL;
                const char *a = kube_condition(old_obj, "status.conditions", conds[i], &ra, &ma),
                           *b = kube_condition(new_obj, "status.conditions", conds[i], &rb, &mb);
                if (str_differ(a, b) || str_differ(ra, rb) || str_differ(ma, mb))
                        return true;
        }
        return false;
}

/* ---- indexes ---- */

/* INDEX_RUNTIME of a sandbox Pod or PVC (by its label), into buf; NULL when it has none. */
static const char *pod_runtime_value(json_object *obj, char *buf, size_t size) {
        const char *ns = kube_str(obj, "metadata.namespace"), *hash = kube_label(obj, AS_NAME_HASH);
        if (!ns || !hash || snprintf(buf, size, "%s/%s", ns, hash) >= (int) size)
                return NULL;
        return buf;
}

static void runtime_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        char v[300];
        (void) ud;
        if (pod_runtime_value(obj, v, sizeof(v)))
                emit(v, ectx);
}

/* INDEX_RUNTIME of an mbox Sandbox: the agent-sandbox Sandbox it recorded, or its own name, which the cold
 * path gives the claim's Sandbox. */
static void sandbox_runtime_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *ns = kube_str(obj, "metadata.namespace"), *as_name = kube_str(obj, "status.sandboxName");
        char v[300];
        (void) ud;
        if (!as_name)
                as_name = kube_str(obj, "metadata.name");
        if (ns && as_name && op_runtime_index_value(ns, as_name, v, sizeof(v)))
                emit(v, ectx);
}

static void sandbox_phase_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *ns = kube_str(obj, "metadata.namespace"), *phase = kube_str(obj, "status.phase");
        char v[300];
        (void) ud;
        if (phase)
                emit(phase, ectx);
        if (!ns)
                return;
        emit(ns, ectx);
        if (phase && snprintf(v, sizeof(v), "%s/%s", ns, phase) < (int) sizeof(v))
                emit(v, ectx);
}

static void sandbox_waiting_index_fn(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        const char *ns = kube_str(obj, "metadata.namespace");
        (void) ud;
        if (ns && op_sandbox_waits(obj))
                emit(ns, ectx);
}

/* ---- mappers ---- */

struct waiting {
        struct mbox_operator *op;
        enum op_ctl ctl;
};

static void enqueue_waiting_fn(const char *key, json_object *obj, void *ud) {
        struct waiting *w = ud;
        if (op_sandbox_waits(obj))
                op_enqueue(w->op, w->ctl, key);
}

/* The Sandboxes of namespace ns (NULL: all): every one, or only those that wait for room or a claim. */
static void enqueue_sandboxes(const struct op_change *ch, const char *ns, bool waiting_only) {
        struct waiting w = {ch->op, ch->ctl};
        /* a namespace's waiting sandboxes come from an index: a deletion wakes them without a scan */
        if (waiting_only && ns)
                op_enqueue_index(ch->op, ch->ctl, RES_SANDBOX, INDEX_WAITING, ns);
        else if (waiting_only)
                informer_foreach(ch->op->inf[RES_SANDBOX], NULL, enqueue_waiting_fn, &w);
        else
                op_enqueue_all(ch->op, ch->ctl, RES_SANDBOX, ns);
}

static void map_sandbox(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace");
        /* a new sandbox's claim is what its user waits for, while the keys before it are mostly status to
         * catch up on */
        if (!ch->old_obj && !ch->deleted && !kube_str(ch->obj, "status.claimName"))
                op_enqueue_first(ch->op, ch->ctl, ch->key);
        else
                op_enqueue(ch->op, ch->ctl, ch->key);
        /* room may have appeared for a sandbox waiting on its project's quota */
        if (ch->deleted || op_sandbox_frees_room(ch->old_obj, ch->obj))
                enqueue_sandboxes(ch, ns, true);
}

/* A Project's spec change concerns every sandbox of its namespace (lifetimes, quota), its status changes
 * none; a new or deleted project can only unblock sandboxes still waiting. */
static void map_project(const struct op_change *ch) {
        char buf[512];
        if (op_spec_changed(ch->old_obj, ch->obj) || ch->deleted)
                enqueue_sandboxes(
                        ch, op_project_namespace_of(ch->obj, buf, sizeof(buf)), !ch->old_obj || ch->deleted);
}

/* A template's spec change or deletion concerns the sandboxes of its namespace, or of every namespace for a
 * template of the library: its lifecycle applies to running ones too. A new template can only unblock
 * sandboxes still waiting for a claim. */
static void map_template(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace");
        if (op_spec_changed(ch->old_obj, ch->obj) || ch->deleted)
                enqueue_sandboxes(ch, ns && strcmp(ns, ch->op->opt.library_namespace) == 0 ? NULL : ns,
                        !ch->old_obj && !ch->deleted);
}

static void map_claim(const struct op_change *ch) {
        const char *ns = kube_str(ch->obj, "metadata.namespace"), *v = kube_label(ch->obj, LABEL_SANDBOX);
        char buf[512];
        if (!ch->deleted && !op_runtime_changed(ch->old_obj, ch->obj))
                return;
        if (v && ns) {
                snprintf(buf, sizeof(buf), "%s/%s", ns, v);
                op_enqueue(ch->op, ch->ctl, buf);
        }
}

/* A claimed agent-sandbox Sandbox is owned by its claim, which is named like the mbox Sandbox. */
static void map_runtime(const struct op_change *ch) {
        char buf[512];
        if (!ch->deleted && !op_runtime_changed(ch->old_obj, ch->obj))
                return;
        if (kube_controller_owner_key(ch->obj, "SandboxClaim", buf, sizeof(buf)) == 0)
                op_enqueue(ch->op, ch->ctl, buf);
}

/* Only a Pod's or PVC's deletion concerns a sandbox: the last one lets its finalizer go. */
static void map_pod(const struct op_change *ch) {
        char buf[512];
        if (ch->deleted && pod_runtime_value(ch->obj, buf, sizeof(buf)))
                op_enqueue_index(ch->op, ch->ctl, RES_SANDBOX, INDEX_RUNTIME, buf);
}

/* ---- the controller ---- */

static int workers(const struct operator_options *o) {
        return o->sandbox_workers;
}

static void metrics(struct mbox_operator *op, struct metrics *m) {
        op->m_sandboxes = metrics_gauge(m, "mbox_operator_sandboxes", "mbox Sandboxes by phase.",
                (const char *const[]){"phase", NULL});
}

static void gauges(struct mbox_operator *op) {
        static const char *const phases[] = {
                "Pending", "Starting", "Running", "Stopping", "Stopped", "Failed", "Expired", "Terminating"};
        for (size_t i = 0; i < ARRAY_SIZE(phases); i++)
                metric_set(op->m_sandboxes, (const char *const[]){phases[i], NULL},
                        (double) informer_index_count(op->inf[RES_SANDBOX], INDEX_PHASE, phases[i]));
}

const struct op_controller op_sandbox_controller = {
        .name = "sandbox",
        .primary = RES_SANDBOX,
        .reconcile = op_reconcile_sandbox,
        .workers = workers,
        .watches =
                (const struct op_watch[]){
                        {RES_SANDBOX, map_sandbox},
                        {RES_PROJECT, map_project},
                        {RES_TEMPLATE, map_template},
                        {RES_AS_CLAIM, map_claim},
                        {RES_AS_SANDBOX, map_runtime},
                        {RES_POD, map_pod},
                        {RES_PVC, map_pod},
                        {0},
                },
        .indexes =
                (const struct op_index[]){
                        {RES_POD, INDEX_RUNTIME, runtime_index_fn},
                        {RES_PVC, INDEX_RUNTIME, runtime_index_fn},
                        {RES_SANDBOX, INDEX_RUNTIME, sandbox_runtime_index_fn},
                        {RES_SANDBOX, INDEX_PHASE, sandbox_phase_index_fn},
                        {RES_SANDBOX, INDEX_WAITING, sandbox_waiting_index_fn},
                        {0},
                },
        .metrics = metrics,
        .gauges = gauges,
};
