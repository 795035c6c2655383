/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EnvironmentTemplate controller: projects the template's current version into agent-sandbox
 * (runtime.c) in its own namespace, and again in every namespace where a library template was launched;
 * removes old versions nobody's claim uses, and projections for a sandbox ServiceAccount no sandbox of the
 * namespace names any more; reports version, image, warm pool and validation (validation.c)
 * in status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/template.h"
#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "operator/runtime.h"
#include "operator/validation.h"
#include "timestamp.h"

struct projection {
        char ns[128], name[128], version[16], sa[254]; /* sa: "" for mbox-sandbox */
};

struct scan {
        const char *tname, *tns;
        struct projection *items;
        size_t n, cap;
};

static void scan_fn(const char *key, json_object *obj, void *ud) {
        struct scan *s = ud;
        const char *t = kube_label(obj, LABEL_TEMPLATE), *tns = kube_label(obj, LABEL_TEMPLATE_NS),
                   *ver = kube_label(obj, LABEL_TEMPLATE_VER), *sa = kube_label(obj, LABEL_TEMPLATE_SA);
        (void) key;
        if (!t || !tns || !ver || strcmp(t, s->tname) != 0 || strcmp(tns, s->tns) != 0)
                return;
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 8;
                struct projection *p = realloc(s->items, cap * sizeof(*p));
                if (!p)
                        return;
                s->items = p;
                s->cap = cap;
        }
        struct projection *p = &s->items[s->n++];
        snprintf(p->ns, sizeof(p->ns), "%s", kube_str(obj, "metadata.namespace"));
        snprintf(p->name, sizeof(p->name), "%s", kube_str(obj, "metadata.name"));
        snprintf(p->version, sizeof(p->version), "%s", ver);
        snprintf(p->sa, sizeof(p->sa), "%s", sa ? sa : "");
}

struct use {
        const char *pool, *sa;
        bool used;
};

static void use_fn(const char *key, json_object *obj, void *ud) {
        struct use *u = ud;
        const char *pool = kube_str(obj, "spec.warmPoolRef.name");
        (void) key;
        if (pool && strcmp(pool, u->pool) == 0)
                u->used = true;
}

/* A raw read of one field of every cached Sandbox of the namespace: a full parse of each, per pass of a
 * template with a ServiceAccount of its own, would cost more than the scan. */
static void sa_use_fn(const char *key, json_object *obj, void *ud) {
        struct use *u = ud;
        const char *sa = kube_str(obj, "spec.serviceAccountName");
        (void) key;
        if (sa && strcmp(sa, u->sa) == 0 && !kube_str(obj, "metadata.deletionTimestamp"))
                u->used = true;
}

/* Whether projection p is of t's current version (t NULL: the template is gone) and still wanted: for
 * mbox-sandbox always, for a ServiceAccount of its own while a sandbox in its namespace names it. */
static bool current(struct op_ctx *cx, const struct template *t, const struct projection *p) {
        char version[9];
        if (!t || runtime_version(t, p->sa[0] ? p->sa : NULL, version) < 0 ||
                strcmp(p->version, version) != 0)
                return false;
        if (!p->sa[0])
                return true;
        struct use u = {.sa = p->sa};
        informer_foreach(cx->op->inf[RES_SANDBOX], p->ns, sa_use_fn, &u);
        return u.used;
}

/* Removes the projections that are not current() and that no claim in their namespace uses. */
static int collect_garbage(struct op_ctx *cx, struct scan *s, const struct template *t, struct merr *err) {
        for (size_t i = 0; i < s->n; i++) {
                struct projection *p = &s->items[i];
                if (current(cx, t, p))
                        continue;
                struct use u = {.pool = p->name};
                informer_foreach(cx->op->inf[RES_AS_CLAIM], p->ns, use_fn, &u);
                if (u.used)
                        continue;
                int rc = op_delete(cx, RES_AS_POOL, p->ns, p->name, err);
                if (rc >= 0)
                        rc = op_delete(cx, RES_AS_TEMPLATE, p->ns, p->name, err);
                if (rc < 0)
                        return rc;
                if (rc > 0)
                        log_info("removed an unused template version", "namespace", p->ns, "name", p->name);
        }
        return 0;
}

/* prev: the status the template shows (its validation is kept when validation is NULL; lastTransitionTime
 * carries over from its conditions); validation: the new status.validation (borrowed), or NULL to keep the
 * current one; refusal: why the namespace's project does not accept the template (the Accepted condition;
 * NULL: it does), with its reason in refused_reason; accepted false: no Accepted condition (a library
 * template, or an invalid one) */
static int write_status(struct op_ctx *cx, json_object *obj, const struct template_status *prev,
        const char *version, const char *image, json_object *pool,
        const struct template_validation *validation, bool ready, const char *reason, const char *message,
        bool accepted, const char *refusal, const char *refused_reason, struct merr *err) {
        int64_t gen = 0;
        struct timestamp now;
        json_get_int64(obj, "metadata.generation", JSON_OPTIONAL, &gen, NULL);
        timestamp_now(&now);
        now.nsec = 0;
        struct template_status st = {.has_observed_generation = true, .observed_generation = gen};
        bool oom = (version && !(st.version = strdup(version))) ||
                   (image && !(st.resolved_image = strdup(image)));
        st.has_validation = true;
        if (validation || (validation = prev->has_validation ? &prev->validation : NULL))
                oom |= template_validation_copy(&st.validation, validation) < 0;
        else
                oom |= !(st.validation.status = strdup("NotTested"));
        if (pool) {
                /* the warm pool is agent-sandbox's SandboxWarmPool, not an mbox kind */
                st.has_warm_pool = true;
                json_get_int64(pool, "status.replicas", JSON_OPTIONAL, &st.warm_pool_replicas, NULL);
                json_get_int64(
                        pool, "status.readyReplicas", JSON_OPTIONAL, &st.warm_pool_ready_replicas, NULL);
        }
        oom |= api_condition_next(&st.conditions, &prev->conditions, "Ready", ready ? "True" : "False",
                       reason, message, gen, &now) < 0;
        if (accepted)
                oom |= api_condition_next(&st.conditions, &prev->conditions, "Accepted",
                               refusal ? "False" : "True", refusal ? refused_reason : "Allowed",
                               refusal ? refusal : "the project's policy allows this template", gen,
                               &now) < 0;
        _cleanup_json_ json_object *j = NULL;
        int rc = oom ? -ENOMEM : template_status_emit(&st, &j);
        template_status_release(&st);
        if (rc < 0)
                return merr_set(
                        err, rc, "building the status of template %s", kube_str(obj, "metadata.name"));
        return op_write_status(cx, RES_TEMPLATE, obj, j, err);
}

int op_reconcile_template(struct op_ctx *cx, const char *key, struct merr *err) {
        char tns[128], pool[128], version[9], pkey[300];
        const char *tname;
        struct scan s = {0};
        int rc;
        if (kube_split_key(key, tns, sizeof(tns), &tname) < 0)
                return 0;
        s.tname = tname;
        s.tns = tns;
        /* the template's projections in every namespace, through the index: only they are parsed */
        informer_index_foreach(cx->op->inf[RES_AS_TEMPLATE], INDEX_TEMPLATE, key, scan_fn, &s);

        _cleanup_json_ json_object *obj = op_get(cx->op, RES_TEMPLATE, key);
        if (!obj) {
                rc = collect_garbage(cx, &s, NULL, err);
                free(s.items);
                return rc;
        }
        _cleanup_(template_freep) struct template *t = NULL;
        struct merr perr = MERR_INIT;
        if (template_from_json(obj, &t, &perr) < 0) {
                free(s.items);
                struct template_status prev = {0};
                op_event(cx, obj, "Warning", "InvalidSpec", "%s", merr_msg(&perr));
                (void) template_status_from_json(obj, &prev, NULL);
                rc = write_status(cx, obj, &prev, NULL, NULL, NULL, NULL, false, "InvalidSpec",
                        merr_msg(&perr), false, NULL, NULL, err);
                template_status_release(&prev);
                return rc < 0 ? rc : 0;
        }
        rc = runtime_version(t, NULL, version);
        if (rc < 0) {
                free(s.items);
                return merr_set(err, rc, "rendering template %s", key);
        }
        bool library = strcmp(tns, cx->op->opt.library_namespace) == 0;
        if (!library)
                rc = runtime_project(cx, t, obj, tns, NULL, pool, sizeof(pool), err);
        /* a library template is projected where sandboxes launched it: follow its new version there (a
         * projection for a ServiceAccount of its own is made again by the next sandbox that names it) */
        for (size_t i = 0; rc >= 0 && i < s.n; i++) {
                if (strcmp(s.items[i].ns, tns) == 0 || strcmp(s.items[i].version, version) == 0 ||
                        s.items[i].sa[0])
                        continue;
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen |= !s.items[j].sa[0] && strcmp(s.items[j].ns, s.items[i].ns) == 0;
                if (!seen)
                        rc = runtime_project(cx, t, obj, s.items[i].ns, NULL, pool, sizeof(pool), err);
        }
        if (rc >= 0)
                rc = collect_garbage(cx, &s, t, err);
        free(s.items);
        if (rc < 0)
                return rc;

        runtime_name(t->meta.name, version, pool, sizeof(pool));
        snprintf(pkey, sizeof(pkey), "%s/%s", tns, pool);
        _cleanup_json_ json_object *wp = library ? NULL : op_get(cx->op, RES_AS_POOL, pkey);
        char msg[256];
        if (library)
                snprintf(
                        msg, sizeof(msg), "library template: projected into each namespace that launches it");
        else
                snprintf(msg, sizeof(msg), "projected as SandboxTemplate and SandboxWarmPool %s", pool);
        struct template_validation validation = {0};
        rc = op_template_validation(cx, obj, t, version, library, &validation, err);
        if (rc < 0) {
                template_validation_release(&validation);
                return rc;
        }
        /* a template in a project namespace asks for no more than its project allows, or is not Accepted
         * (its sandboxes are refused with the same reason, and its warm pool keeps no pods) */
        char why[512];
        const char *refused_reason = NULL, *refusal = library ? NULL
                                                              : runtime_policy_problem(cx->op, t, tns,
                                                                        &refused_reason, why, sizeof(why));
        if (refusal && strcmp(refused_reason, "NoProject") != 0)
                op_event(cx, obj, "Warning", refused_reason, "%s", refusal);
        rc = write_status(cx, obj, &t->status, version, t->spec.image, wp, &validation, true, "Projected",
                msg, !library, refusal, refused_reason, err);
        template_validation_release(&validation);
        return rc < 0 ? rc : 0;
}
