/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A controller as the manager (operator.c) sees it, in the shape of controller-runtime's and kube-rs's
 * Controller: a primary resource and its reconcile, the resources it watches, each with a mapper that turns
 * a change into keys of the primary, and the informer indexes it reads. The manager builds one informer for
 * every resource some controller names, installs the indexes, hands each event to the mappers of every
 * controller that watches its resource, and runs the controller's workers; it knows no controller by name.
 *
 * Each controller describes itself in <name>-watch.c beside its reconcile (<name>.c): its descriptor, its
 * mappers and the predicates they use. Mappers only enqueue keys (queue.c), never read or write anything
 * else: fan-out is kept to what can change an outcome, so that status writes never cascade.
 */
#pragma once

#include "operator/internal.h"

/* One informer event, as a mapper receives it. */
struct op_change {
        struct mbox_operator *op;
        enum op_ctl ctl;      /* the queue of the controller the mapper serves */
        enum op_res res;      /* the changed object's resource */
        const char *key;      /* its key: "<namespace>/<name>" or "<name>" */
        json_object *old_obj; /* before an update; NULL for an add or a delete */
        json_object *obj;     /* the new object, or the one deleted */
        bool deleted;
};

/* Enqueues the keys of the primary objects that ch concerns. */
typedef void (*op_map_fn)(const struct op_change *ch);

struct op_watch {
        enum op_res res;
        op_map_fn map;
};

struct op_index {
        enum op_res res; /* the informer that keeps the index */
        const char *name;
        informer_index_fn fn;
};

struct op_controller {
        const char *name; /* in metrics and logs: project, template, sandbox, task */
        enum op_res primary;
        op_reconcile_fn reconcile;
        int (*workers)(const struct operator_options *o); /* how many reconciles run at once */
        const struct op_watch *watches;                   /* ends with an entry without map */
        const struct op_index *indexes;                   /* ends with an entry without name; may be NULL */
        /* Optional hooks, called by the manager in the order of op_controllers: */
        void (*metrics)(struct mbox_operator *op, struct metrics *m); /* registers its own metrics */
        int (*start)(struct mbox_operator *op, struct merr *err); /* once leading, after the workers start */
        /* once the workers have ended: ends the work it runs besides them within wait_ms */
        void (*stop)(struct mbox_operator *op, long wait_ms);
        void (*gauges)(struct mbox_operator *op); /* every two seconds */
};

extern const struct op_controller op_project_controller, op_template_controller, op_sandbox_controller,
        op_task_controller;
/* Every controller the manager runs, indexed by the queue its keys go to (controllers.c). */
extern const struct op_controller *const op_controllers[CTL__MAX];

/* ---- mappers shared by the controllers ---- */
/* Enqueues the changed object itself (the primary's own events). */
void op_map_own(const struct op_change *ch);
/* Whether an update changed more than status: a new generation or the start of deletion (NULL old_obj:
 * an add, which does). */
bool op_spec_changed(json_object *old_obj, json_object *new_obj);
/* The namespace a Project owns, as project_namespace() computes it, from the raw object (project-watch.c). */
const char *op_project_namespace_of(json_object *project, char *buf, size_t size);
/* Whether a Sandbox's phase, readiness or pod changed: what a waiting task, and a template validated by
 * its first ready sandbox, look at (sandbox-watch.c). */
bool op_sandbox_state_changed(json_object *old_obj, json_object *new_obj);

/* Whether an update of a claim or an agent-sandbox Sandbox (old_obj to new_obj; NULL: an add) changed
 * anything the Sandbox reconcile reads (sandbox.c): deletion, labels, owner, the claim's Sandbox, the
 * Sandbox's mode, pod and address, the Ready and Suspended conditions. agent-sandbox rewrites their status
 * several times while a pod starts, and most of those writes change nothing an mbox Sandbox shows. */
bool op_runtime_changed(json_object *old_obj, json_object *new_obj);
/* Whether Sandbox obj waits for room: for a claim, or under maxRunning to start again. A deleted one waits
 * for neither, though its status names no claim. */
bool op_sandbox_waits(json_object *obj);
/* Whether an update of a Sandbox (old_obj to new_obj; NULL: an add) leaves room under its project's quota:
 * its deletion began (deleted sandboxes no longer count), or it stopped or expired. Once per deletion, not
 * at each status write while it lasts: in a deletion of 300, those writes woke every other sandbox. */
bool op_sandbox_frees_room(json_object *old_obj, json_object *new_obj);
