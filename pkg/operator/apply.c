/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the controllers write: every write is compared first against the informer's cache, so a reconcile
 * of a converged object makes no request at all; owned objects are server-side applied (field manager
 * mbox-operator, forced, so a hand edit of a field mbox owns is put back); status is replaced with an
 * optimistic update, so a stale view loses the race (-ESTALE) and is retried from a fresh cache.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "timestamp.h"

static void count_write(struct op_ctx *cx, enum op_res res, const char *verb) {
        const struct op_res_info *i = &op_res_info[res];
        char name[128];
        cx->writes++;
        if (!cx->op->m_writes)
                return;
        /* resource.group, as kubectl names it: mbox and agent-sandbox both have "sandboxes" */
        snprintf(name, sizeof(name), "%s%s%s", i->resource, *i->group ? "." : "", i->group);
        metric_add(cx->op->m_writes, (const char *const[]){name, verb}, 1);
}

int op_ensure(struct op_ctx *cx, enum op_res res, json_object *desired, struct merr *err) {
        const char *ns = kube_str(desired, "metadata.namespace"), *name = kube_str(desired, "metadata.name");
        char key[512];
        if (kube_object_key(desired, key, sizeof(key)) < 0)
                return merr_set(err, -EINVAL, "desired %s has no name", op_res_info[res].kind);
        _cleanup_json_ json_object *cached = op_get(cx->op, res, key);
        if (cached && op_json_subset(desired, cached))
                return 0;
        struct kube_resource r = op_resource(res, ns, name);
        struct kube_write_opts wo = {.field_manager = OP_FIELD_MANAGER, .force = true};
        count_write(cx, res, "apply");
        int rc = kube_apply(cx->c, &r, desired, &wo, NULL, err);
        if (rc < 0)
                return merr_wrap(err, rc, "applying %s %s", op_res_info[res].kind, key);
        log_debug("applied", "kind", op_res_info[res].kind, "key", key);
        return 1;
}

int op_create(struct op_ctx *cx, enum op_res res, json_object *obj, struct merr *err) {
        const char *ns = kube_str(obj, "metadata.namespace"), *name = kube_str(obj, "metadata.name");
        struct kube_resource r = op_resource(res, ns, NULL);
        struct kube_write_opts wo = {.field_manager = OP_FIELD_MANAGER};
        count_write(cx, res, "create");
        int rc = kube_create(cx->c, &r, obj, &wo, NULL, err);
        if (rc == -EEXIST) {
                merr_clear(err); /* made by an earlier pass: its ADDED event is on its way to the informer */
                return 0;
        }
        if (rc < 0)
                return merr_wrap(err, rc, "creating %s %s/%s", op_res_info[res].kind, ns ? ns : "", name);
        log_debug("created", "kind", op_res_info[res].kind, "namespace", ns, "name", name);
        return 1;
}

int op_write_status(
        struct op_ctx *cx, enum op_res res, json_object *obj, json_object *status, struct merr *err) {
        json_object *old = NULL;
        json_object_object_get_ex(obj, "status", &old);
        if (old && json_object_equal(old, status))
                return 0;
        _cleanup_json_ json_object *copy = NULL;
        if (json_object_deep_copy(obj, &copy, NULL) < 0)
                return merr_set(err, -ENOMEM, "copying object");
        json_object_object_add(copy, "status", json_object_get(status));
        struct kube_resource r =
                op_resource(res, kube_str(obj, "metadata.namespace"), kube_str(obj, "metadata.name"));
        r.subresource = "status";
        count_write(cx, res, "status");
        _cleanup_json_ json_object *updated = NULL;
        int rc = kube_update(cx->c, &r, copy, NULL, &updated, err);
        if (rc == -ENOENT) {
                merr_clear(err); /* gone meanwhile: its deletion is on its way to the informer */
                return 0;
        }
        if (rc < 0)
                return merr_wrap(err, rc, "updating the status of %s %s", op_res_info[res].kind, r.name);
        op_remember(cx->op, res, updated);
        op_status_written(cx->op, res, obj);
        return 1;
}

bool op_has_finalizer(json_object *obj) {
        json_object *f = NULL;
        if (!(f = kube_field(obj, "metadata.finalizers")) || !json_object_is_type(f, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(f); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(f, i)), OP_FINALIZER) == 0)
                        return true;
        return false;
}

int op_set_finalizer(struct op_ctx *cx, enum op_res res, json_object *obj, bool present, struct merr *err) {
        if (op_has_finalizer(obj) == present)
                return 0;
        _cleanup_json_ json_object *list = json_object_new_array();
        json_object *f = NULL;
        if ((f = kube_field(obj, "metadata.finalizers")) && json_object_is_type(f, json_type_array))
                for (size_t i = 0; i < json_object_array_length(f); i++) {
                        json_object *v = json_object_array_get_idx(f, i);
                        if (strcmp(json_object_get_string(v), OP_FINALIZER) != 0)
                                json_object_array_add(list, json_object_get(v));
                }
        if (present)
                json_object_array_add(list, json_object_new_string(OP_FINALIZER));
        /* the resourceVersion makes it optimistic: a finalizer someone added meanwhile is never dropped */
        _cleanup_json_ json_object *patch = json_object_new_object();
        json_object *meta = json_object_new_object();
        json_object_object_add(patch, "metadata", meta);
        json_object_object_add(meta, "finalizers", json_object_get(list));
        json_object_object_add(
                meta, "resourceVersion", json_object_new_string(kube_str(obj, "metadata.resourceVersion")));
        const char *s = json_object_to_json_string_ext(
                patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        struct kube_resource r =
                op_resource(res, kube_str(obj, "metadata.namespace"), kube_str(obj, "metadata.name"));
        struct kube_write_opts wo = {.field_manager = OP_FIELD_MANAGER};
        _cleanup_json_ json_object *updated = NULL;
        count_write(cx, res, "patch");
        int rc = kube_patch(cx->c, &r, KUBE_PATCH_MERGE, s, strlen(s), &wo, &updated, err);
        if (rc == -ENOENT) {
                /* already gone: nothing left to release, nor to hold back (a new object's claim, made
                 * before its finalizer, goes with it through its controller reference) */
                merr_clear(err);
                return 0;
        }
        if (rc < 0)
                return merr_wrap(err, rc, "%s the finalizer of %s %s", present ? "adding" : "removing",
                        op_res_info[res].kind, r.name);
        /* the caller goes on with the object as it now is, so its later writes are not stale */
        json_object *own = NULL, *rv = NULL, *fins = NULL;
        if (updated && json_object_object_get_ex(obj, "metadata", &own) &&
                (rv = kube_field(updated, "metadata.resourceVersion"))) {
                json_object_object_add(own, "resourceVersion", json_object_get(rv));
                if ((fins = kube_field(updated, "metadata.finalizers")))
                        json_object_object_add(own, "finalizers", json_object_get(fins));
        }
        op_remember(cx->op, res, updated);
        return 1;
}

int op_patch(struct op_ctx *cx, enum op_res res, const char *ns, const char *name, const char *patch,
        struct merr *err) {
        struct kube_resource r = op_resource(res, ns, name);
        struct kube_write_opts wo = {.field_manager = OP_FIELD_MANAGER};
        _cleanup_json_ json_object *updated = NULL;
        count_write(cx, res, "patch");
        int rc = kube_patch(cx->c, &r, KUBE_PATCH_MERGE, patch, strlen(patch), &wo, &updated, err);
        if (rc < 0)
                return merr_wrap(err, rc, "patching %s %s%s%s", op_res_info[res].kind, ns ? ns : "",
                        ns ? "/" : "", name);
        /* a pass before the watch shows the patch would otherwise see the old object and send it again */
        op_remember(cx->op, res, updated);
        return 1;
}

int op_delete(struct op_ctx *cx, enum op_res res, const char *ns, const char *name, struct merr *err) {
        struct kube_resource r = op_resource(res, ns, name);
        struct kube_delete_opts o = {.propagation_policy = "Background", .grace_period_seconds = -1};
        count_write(cx, res, "delete");
        int rc = kube_delete(cx->c, &r, &o, NULL, err);
        if (rc == -ENOENT) {
                merr_clear(err);
                return 0;
        }
        if (rc < 0)
                return merr_wrap(err, rc, "deleting %s %s", op_res_info[res].kind, name);
        return 1;
}

void op_event(
        struct op_ctx *cx, json_object *obj, const char *type, const char *reason, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!cx->op->events)
                return;
        int rc = kube_event(cx->op->events, obj, type, reason, reason, "%s", msg);
        if (rc < 0) /* refusals by the API server come later, to event_failed() */
                log_warn("recording an event failed", "reason", reason, "error", strerror(-rc));
}

struct prune_ctx {
        const char *project;
        const char *const *keep;
        char **doomed;
        size_t n, cap;
};

static void prune_fn(const char *key, json_object *obj, void *ud) {
        struct prune_ctx *p = ud;
        const char *name = kube_str(obj, "metadata.name"), *owner = kube_label(obj, LABEL_PROJECT);
        (void) key;
        if (!name)
                return;
        if (p->project && (!owner || strcmp(owner, p->project) != 0))
                return;
        for (const char *const *k = p->keep; k && *k; k++)
                if (strcmp(*k, name) == 0)
                        return;
        if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 8;
                char **d = realloc(p->doomed, cap * sizeof(*d));
                if (!d)
                        return;
                p->doomed = d;
                p->cap = cap;
        }
        p->doomed[p->n] = strdup(name);
        if (p->doomed[p->n])
                p->n++;
}

int op_prune(struct op_ctx *cx, enum op_res res, const char *ns, const char *project, const char *const *keep,
        struct merr *err) {
        struct prune_ctx p = {.project = project, .keep = keep};
        int rc = 0, sent = 0;
        informer_foreach(cx->op->inf[res], ns, prune_fn, &p);
        for (size_t i = 0; i < p.n; i++) {
                if (rc >= 0) {
                        rc = op_delete(cx, res, ns, p.doomed[i], err);
                        sent += rc > 0;
                }
                free(p.doomed[i]);
        }
        free(p.doomed);
        return rc < 0 ? rc : sent;
}
