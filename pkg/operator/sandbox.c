/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Sandbox controller. A Sandbox resolves its Project (by namespace) and template (spec.templateRef, or
 * the project's default; only its own namespace or the library namespace), is admitted against the
 * project's quota (maxSandboxes, maxRunning: a sandbox over quota waits with reason QuotaExceeded and is
 * looked at again when another goes), and gets a SandboxClaim named like itself through the pool of the
 * template's current version. The claim's Sandbox (always found through status.sandbox.name) carries the
 * state: stop and start set its operatingMode. Status maps claim and Sandbox to a phase with the
 * underlying reason, and lifetimes are applied here: max lifetime expires (stops) a sandbox, idle timeout
 * stops it, and stopped retention deletes it. Deletion goes through a finalizer that removes the claim
 * and waits until the Sandbox, its Pod and its PVCs are gone.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/project.h"
#include "api/sandbox.h"
#include "api/template.h"
#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "operator/runtime.h"
#include "timestamp.h"

#define NS_PER_S 1000000000LL

struct view {
        const char *phase;
        const char *reason;
        char message[512];
        bool ready;
        const char *ready_reason;
        const char *project;
        const char *template_name, *template_ns, *version;
        const char *claim, *sandbox, *pod, *pod_ip, *fqdn;
        bool runtime_projected;
        const char *runtime_reason;
        bool admitted;
        const char *admitted_reason;
};

static void set_msg(struct view *v, const char *fmt, ...) _printf_(2, 3);
static void set_msg(struct view *v, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->message, sizeof(v->message), fmt, ap);
        va_end(ap);
}

static bool get_time(json_object *obj, const char *path, struct timestamp *t) {
        const char *s = kube_str(obj, path);
        return s && timestamp_parse(s, t, NULL) == 0;
}

static void put(json_object *o, const char *k, const char *v) {
        if (v && *v)
                json_object_object_add(o, k, json_object_new_string(v));
}

static void put_time(json_object *o, const char *k, const struct timestamp *t) {
        char buf[64];
        if (!t || (t->sec == 0 && t->nsec == 0))
                return;
        struct timestamp w = *t;
        w.nsec = 0;
        timestamp_format(&w, buf, sizeof(buf));
        json_object_object_add(o, k, json_object_new_string(buf));
}

/* ---- admission against the project's quota ---- */

struct admission {
        struct mbox_operator *op;
        const char *ns, *self;
        struct strmap *keys; /* "ns/name" of the admitted sandboxes */
        int64_t all, running;
};

/* Whether a sandbox stopped for inactivity stays stopped: it has seen no activity (status.lastActivityAt)
 * since the stop (status.stoppedAt, set when the idle timeout stopped it) and no new spec. spec.state
 * stays the user's (Running) through an idle stop, so GitOps sees no drift. */
static bool idle_stopped(json_object *sb) {
        const char *phase = kube_str(sb, "status.phase"), *reason = kube_str(sb, "status.reason");
        struct timestamp stopped = {0}, activity = {0};
        int64_t gen = 0, observed = 0;
        if (!reason || strcmp(reason, "IdleTimeout") != 0 || !phase ||
                (strcmp(phase, "Stopping") != 0 && strcmp(phase, "Stopped") != 0))
                return false;
        json_get_int64(sb, "metadata.generation", JSON_OPTIONAL, &gen, NULL);
        json_get_int64(sb, "status.observedGeneration", JSON_OPTIONAL, &observed, NULL);
        if (gen != observed)
                return false;
        get_time(sb, "status.stoppedAt", &stopped);
        get_time(sb, "status.lastActivityAt", &activity);
        return !stopped.sec || timestamp_cmp(&activity, &stopped) <= 0;
}

static bool wants_running(json_object *sb) {
        const char *state = kube_str(sb, "spec.state"), *phase = kube_str(sb, "status.phase");
        if (!sb || kube_str(sb, "metadata.deletionTimestamp"))
                return false;
        if (state && strcmp(state, "Stopped") == 0)
                return false;
        if (idle_stopped(sb))
                return false;
        return !(phase && strcmp(phase, "Expired") == 0);
}

static void admission_claim_fn(const char *key, json_object *obj, void *ud) {
        struct admission *a = ud;
        const char *sb = kube_label(obj, LABEL_SANDBOX);
        char k[512];
        (void) key;
        if (!sb)
                return;
        snprintf(k, sizeof(k), "%s/%s", a->ns, sb);
        (void) strmap_put(a->keys, k, NULL);
}

static void admission_sandbox_fn(const char *key, json_object *obj, void *ud) {
        struct admission *a = ud;
        if (strcmp(key, a->self) == 0 || !strmap_contains(a->keys, key) ||
                kube_str(obj, "metadata.deletionTimestamp"))
                return;
        a->all++;
        if (wants_running(obj))
                a->running++;
}

/* Counts the admitted sandboxes of ns other than self: those with a claim in the cache, and those given one
 * so recently that the cache does not show it yet; sandboxes being deleted no longer count. Cached objects
 * are only looked at, never copied. Call with op->lock held. Returns 0 or -ENOMEM. */
static int count_admitted(struct mbox_operator *op, const char *ns, const char *self, struct admission *a) {
        *a = (struct admission){.op = op, .ns = ns, .self = self, .keys = strmap_new(NULL)};
        if (!a->keys)
                return -ENOMEM;
        informer_foreach(op->inf[RES_AS_CLAIM], ns, admission_claim_fn, a);
        size_t iter = 0, n = strlen(ns);
        const char *k;
        void *val;
        while (strmap_next(op->admitted, &iter, &k, &val))
                if (strncmp(k, ns, n) == 0 && k[n] == '/')
                        (void) strmap_put(a->keys, k, NULL);
        informer_foreach(op->inf[RES_SANDBOX], ns, admission_sandbox_fn, a);
        a->keys = strmap_free(a->keys);
        return 0;
}

static const char *quota_problem(
        const struct project *p, const struct admission *a, bool running, char *buf, size_t size) {
        if (p->spec.quota.has_max_sandboxes && a->all >= p->spec.quota.max_sandboxes) {
                snprintf(buf, size,
                        "project %s allows %lld sandboxes and has %lld; waiting until one is deleted",
                        p->meta.name, (long long) p->spec.quota.max_sandboxes, (long long) a->all);
                return buf;
        }
        if (running && p->spec.quota.has_max_running && a->running >= p->spec.quota.max_running) {
                snprintf(buf, size,
                        "project %s allows %lld running sandboxes and has %lld; waiting until one stops",
                        p->meta.name, (long long) p->spec.quota.max_running, (long long) a->running);
                return buf;
        }
        return NULL;
}

/* ---- lifetimes ---- */

static int64_t min_dur(int64_t a, int64_t b) {
        if (!a)
                return b;
        if (!b)
                return a;
        return a < b ? a : b;
}

/* ---- status ---- */

static int write_status(struct op_ctx *cx, json_object *obj, const struct view *v, json_object *claim_ports,
        const struct timestamp *started, const struct timestamp *stopped, const struct timestamp *activity,
        const struct timestamp *expires, struct merr *err) {
        int64_t gen = 0;
        json_object *old = NULL;
        json_get_int64(obj, "metadata.generation", JSON_OPTIONAL, &gen, NULL);
        old = kube_field(obj, "status.conditions");
        _cleanup_json_ json_object *st = json_object_new_object();
        json_object_object_add(st, "observedGeneration", json_object_new_int64(gen));
        put(st, "phase", v->phase);
        put(st, "reason", v->reason);
        put(st, "message", v->message);
        put(st, "project", v->project);
        if (v->template_name) {
                json_object *t = json_object_new_object();
                put(t, "name", v->template_name);
                put(t, "namespace", v->template_ns);
                json_object_object_add(st, "template", t);
        }
        put(st, "templateVersion", v->version);
        put(st, "claimName", v->claim);
        put(st, "sandboxName", v->sandbox);
        put(st, "podName", v->pod);
        put(st, "podIP", v->pod_ip);
        put(st, "serviceFQDN", v->fqdn);
        if (claim_ports)
                json_object_object_add(st, "previewURLs", json_object_get(claim_ports));
        put_time(st, "startedAt", started);
        put_time(st, "stoppedAt", stopped);
        put_time(st, "lastActivityAt", activity);
        put_time(st, "expiresAt", expires);
        json_object *conds = json_object_new_array();
        op_condition(conds, old, "Ready", v->ready,
                v->ready_reason ? v->ready_reason
                : v->reason     ? v->reason
                                : v->phase,
                v->message, gen);
        op_condition(conds, old, "Admitted", v->admitted,
                v->admitted_reason ? v->admitted_reason : "Admitted",
                v->admitted ? "within the project's quota" : v->message, gen);
        op_condition(conds, old, "RuntimeProjected", v->runtime_projected,
                v->runtime_reason ? v->runtime_reason
                                  : (v->runtime_projected ? "ClaimCreated" : "NotProjected"),
                v->runtime_projected ? "SandboxClaim created through the template's warm pool" : v->message,
                gen);
        json_object_object_add(st, "conditions", conds);
        return op_write_status(cx, RES_SANDBOX, obj, st, err);
}

static json_object *preview_urls(struct mbox_operator *op, const struct sandbox *sb, const char *ns) {
        if (!sb->spec.n_ports)
                return NULL;
        json_object *arr = json_object_new_array();
        const char *base = op->opt.preview_base_url ? op->opt.preview_base_url : "";
        for (size_t i = 0; i < sb->spec.n_ports; i++) {
                const struct sandbox_port *p = &sb->spec.ports[i];
                char url[1024];
                snprintf(url, sizeof(url),
                        "%s/apis/runtime.mbox.dev/v1alpha1/namespaces/%s/previews/%s-%s/proxy/", base, ns,
                        sb->meta.name, p->name);
                json_object *o = json_object_new_object();
                put(o, "name", p->name);
                json_object_object_add(o, "port", json_object_new_int64(p->port));
                put(o, "visibility", p->visibility ? p->visibility : "Private");
                put(o, "url", url);
                json_object_array_add(arr, o);
        }
        return arr;
}

/* ---- deletion ---- */

static int finalize(struct op_ctx *cx, json_object *obj, const char *key, const char *ns, const char *name,
        struct merr *err) {
        char ckey[512], akey[512], rkey[300];
        int rc;
        if (!op_has_finalizer(obj))
                return 0;
        snprintf(ckey, sizeof(ckey), "%s/%s", ns, name);
        _cleanup_json_ json_object *claim = op_get(cx->op, RES_AS_CLAIM, ckey);
        const char *as_name = kube_str(obj, "status.sandboxName");
        if (!as_name && claim)
                as_name = kube_str(claim, "status.sandbox.name");
        if (!as_name)
                as_name = name; /* the cold path names the Sandbox like the claim */
        struct view v = {
                .phase = "Terminating", .reason = "Deleting", .project = kube_str(obj, "status.project")};
        if (claim && !kube_str(claim, "metadata.deletionTimestamp")) {
                rc = op_delete(cx, RES_AS_CLAIM, ns, name, err);
                if (rc < 0)
                        return rc;
                op_event(cx, obj, "Normal", "Deleting", "Deleting SandboxClaim %s and its runtime", name);
        }
        snprintf(akey, sizeof(akey), "%s/%s", ns, as_name);
        _cleanup_json_ json_object *as = op_get(cx->op, RES_AS_SANDBOX, akey);
        size_t pods = 0, pvcs = 0;
        if (!claim && !as && op_runtime_index_value(ns, as_name, rkey, sizeof(rkey))) {
                pods = informer_index_count(cx->op->inf[RES_POD], INDEX_RUNTIME, rkey);
                pvcs = informer_index_count(cx->op->inf[RES_PVC], INDEX_RUNTIME, rkey);
        }
        if (claim || as || pods || pvcs) {
                set_msg(&v, "waiting for %s%s%s%s to be deleted", claim ? "the claim " : "",
                        as ? "the Sandbox " : "", pods ? "the Pod " : "", pvcs ? "the workspace volume" : "");
                /* each of them wakes this sandbox when it goes (route()); the look every 10 s covers an
                 * agent-sandbox Sandbox that names no claim as its owner */
                cx->requeue_after_ns = 10 * NS_PER_S;
                rc = write_status(cx, obj, &v, NULL, NULL, NULL, NULL, NULL, err);
                return rc < 0 ? rc : 0;
        }
        rc = op_set_finalizer(cx, RES_SANDBOX, obj, false, err);
        if (rc < 0)
                return rc;
        pthread_mutex_lock(&cx->op->lock);
        strmap_remove(cx->op->admitted, key);
        pthread_mutex_unlock(&cx->op->lock);
        return 0;
}

/* ---- the reconcile ---- */

static int waiting(struct op_ctx *cx, json_object *obj, struct view *v, const char *reason, bool warn,
        struct merr *err) {
        const char *old_reason = kube_str(obj, "status.reason");
        v->phase = "Pending";
        v->reason = reason;
        if (warn && (!old_reason || strcmp(old_reason, reason) != 0))
                op_event(cx, obj, "Warning", reason, "%s", v->message);
        int rc = write_status(cx, obj, v, NULL, NULL, NULL, NULL, NULL, err);
        return rc < 0 ? rc : 0;
}

/* 1 when ServiceAccount sa does not exist in ns (the reason and message in v), 0 when it does. The
 * operator watches only the accounts it made, so this asks the API server. */
static int service_account_missing(
        struct op_ctx *cx, const char *ns, const char *sa, struct view *v, struct merr *err) {
        struct kube_resource r = op_resource(RES_SERVICEACCOUNT, ns, sa);
        _cleanup_json_ json_object *got = NULL;
        int rc = kube_get(cx->c, &r, &got, err);
        if (rc == -ENOENT) {
                merr_clear(err);
                set_msg(v,
                        "ServiceAccount %s named by spec.serviceAccountName does not exist in namespace %s: "
                        "create it, or remove spec.serviceAccountName to run as mbox-sandbox",
                        sa, ns);
                v->admitted_reason = v->runtime_reason = "ServiceAccountNotFound";
                return 1;
        }
        return rc < 0 ? merr_wrap(err, rc, "looking up ServiceAccount %s/%s", ns, sa) : 0;
}

int op_reconcile_sandbox(struct op_ctx *cx, const char *key, struct merr *err) {
        struct mbox_operator *op = cx->op;
        char ns[128], pname[128], tkey[300], pool[128], buf[512];
        const char *name;
        int rc;
        if (kube_split_key(key, ns, sizeof(ns), &name) < 0)
                return 0;
        _cleanup_json_ json_object *obj = op_get(op, RES_SANDBOX, key);
        if (!obj) {
                pthread_mutex_lock(&op->lock);
                strmap_remove(op->admitted, key);
                pthread_mutex_unlock(&op->lock);
                return 0;
        }
        if (kube_str(obj, "metadata.deletionTimestamp"))
                return finalize(cx, obj, key, ns, name, err);

        struct view v = {0};
        _cleanup_(sandbox_freep) struct sandbox *sb = NULL;
        struct merr perr = MERR_INIT;
        if (sandbox_from_json(obj, &sb, &perr) < 0) {
                set_msg(&v, "%s", merr_msg(&perr));
                v.phase = "Failed";
                v.reason = "InvalidSpec";
                rc = write_status(cx, obj, &v, NULL, NULL, NULL, NULL, NULL, err);
                return rc < 0 ? rc : 0;
        }

        /* the project: the owner of this namespace */
        _cleanup_json_ json_object *claim = NULL;
        snprintf(buf, sizeof(buf), "%s/%s", ns, name);
        claim = op_get(op, RES_AS_CLAIM, buf);
        if (claim && (rc = op_set_finalizer(cx, RES_SANDBOX, obj, true, err)) < 0)
                return rc;
        v.claim = claim ? name : NULL;
        v.admitted = claim != NULL;
        v.runtime_projected = claim != NULL;
        if (!op_project_of_namespace(op, ns, pname, sizeof(pname))) {
                set_msg(&v,
                        "namespace %s belongs to no mbox Project: create a Project with spec.namespace: %s",
                        ns, ns);
                v.admitted_reason = v.runtime_reason = "ProjectNotFound";
                return claim ? 0 : waiting(cx, obj, &v, "ProjectNotFound", true, err);
        }
        v.project = pname;
        if (sb->spec.project_ref_name && strcmp(sb->spec.project_ref_name, pname) != 0) {
                set_msg(&v, "spec.projectRef names project %s, but namespace %s belongs to project %s",
                        sb->spec.project_ref_name, ns, pname);
                v.admitted_reason = v.runtime_reason = "ProjectMismatch";
                return claim ? 0 : waiting(cx, obj, &v, "ProjectMismatch", true, err);
        }
        _cleanup_json_ json_object *pobj = op_get(op, RES_PROJECT, pname);
        _cleanup_(project_freep) struct project *p = NULL;
        if (!pobj || project_from_json(pobj, &p, &perr) < 0 || kube_str(pobj, "metadata.deletionTimestamp")) {
                set_msg(&v, "project %s %s", pname, pobj ? "is being deleted or invalid" : "does not exist");
                v.admitted_reason = v.runtime_reason = "ProjectNotFound";
                return claim ? 0 : waiting(cx, obj, &v, "ProjectNotFound", true, err);
        }

        /* the template: spec.templateRef, else the project's default; local or library only */
        const char *tname = sb->spec.template_ref_name, *tns = sb->spec.template_ref_namespace;
        if (!sb->spec.has_template_ref && p->spec.has_default_template) {
                tname = p->spec.default_template.name;
                tns = p->spec.default_template.namespace;
        }
        if (!tns)
                tns = ns;
        if (!tname) {
                set_msg(&v, "spec.templateRef is not set and project %s has no spec.defaultTemplate", pname);
                v.admitted_reason = v.runtime_reason = "TemplateNotSpecified";
                return claim ? 0 : waiting(cx, obj, &v, "TemplateNotSpecified", true, err);
        }
        v.template_name = tname;
        v.template_ns = tns;
        if (strcmp(tns, ns) != 0 && strcmp(tns, op->opt.library_namespace) != 0) {
                set_msg(&v,
                        "template %s/%s is in another project's namespace; use a template of namespace %s or "
                        "the "
                        "library namespace %s",
                        tns, tname, ns, op->opt.library_namespace);
                v.admitted_reason = v.runtime_reason = "TemplateNotAllowed";
                return claim ? 0 : waiting(cx, obj, &v, "TemplateNotAllowed", true, err);
        }
        snprintf(tkey, sizeof(tkey), "%s/%s", tns, tname);
        _cleanup_json_ json_object *tobj = op_get(op, RES_TEMPLATE, tkey);
        _cleanup_(template_freep) struct template *t = NULL;
        if (!claim && (!tobj || template_from_json(tobj, &t, &perr) < 0)) {
                set_msg(&v, "EnvironmentTemplate %s not found in namespace %s", tname, tns);
                v.admitted_reason = v.runtime_reason = "TemplateNotFound";
                return waiting(cx, obj, &v, "TemplateNotFound", true, err);
        }

        bool want_running = wants_running(obj);
        struct timestamp now, created = {0}, started = {0}, stopped = {0}, activity = {0}, expires = {0};
        timestamp_now(&now);
        get_time(obj, "metadata.creationTimestamp", &created);
        get_time(obj, "status.startedAt", &started);
        get_time(obj, "status.stoppedAt", &stopped);
        get_time(obj, "status.lastActivityAt", &activity);

        /* lifetimes: the sandbox's own values within the template's and the project's */
        int64_t max_life =
                min_dur(sb->spec.lifetime.max_lifetime.ns, p->spec.policy.lifecycle.max_lifetime.ns);
        int64_t idle = min_dur(sb->spec.lifetime.idle_timeout.ns, p->spec.policy.lifecycle.idle_timeout.ns);
        int64_t retention = p->spec.policy.lifecycle.stopped_retention.ns;
        if (t) {
                max_life = min_dur(max_life, t->spec.lifecycle.max_lifetime.ns);
                idle = min_dur(idle, t->spec.lifecycle.idle_timeout.ns);
        }
        bool expired = false;
        if (max_life) {
                timestamp_add(&created, max_life, &expires);
                expired = timestamp_cmp(&now, &expires) >= 0;
        }
        if (expired)
                want_running = false;

        if (!claim) {
                const char *policy_reason = NULL;
                if (op_policy_problem(p, t, ns, tns, tname, &policy_reason, buf, sizeof(buf))) {
                        set_msg(&v, "%s", buf);
                        v.admitted_reason = v.runtime_reason = policy_reason;
                        return waiting(cx, obj, &v, policy_reason, true, err);
                }
                const char *sa = runtime_own_sa(sb->spec.service_account_name);
                if (sa && (rc = service_account_missing(cx, ns, sa, &v, err)) != 0) {
                        if (rc < 0)
                                return rc;
                        cx->requeue_after_ns = 5 * NS_PER_S; /* the account's creation is not watched */
                        return waiting(cx, obj, &v, v.admitted_reason, true, err);
                }
                rc = runtime_project(cx, t, tobj, ns, sa, pool, sizeof(pool), err);
                if (rc < 0)
                        return rc;
                /* with a sandbox-count quota, deciding and claiming happen under one lock */
                bool counted = p->spec.quota.has_max_sandboxes || p->spec.quota.has_max_running;
                const char *why = NULL;
                if (counted) {
                        pthread_mutex_lock(&op->lock);
                        struct admission a;
                        if (count_admitted(op, ns, key, &a) < 0) {
                                pthread_mutex_unlock(&op->lock);
                                return merr_set(err, -ENOMEM, "counting the sandboxes of %s", ns);
                        }
                        why = quota_problem(p, &a, want_running, buf, sizeof(buf));
                }
                if (why) {
                        pthread_mutex_unlock(&op->lock);
                        set_msg(&v, "%s", why);
                        v.admitted_reason = v.runtime_reason = "QuotaExceeded";
                        v.ready_reason = "QuotaExceeded";
                        return waiting(cx, obj, &v, "QuotaExceeded", true, err);
                }
                char version[9];
                _cleanup_json_ json_object *c = NULL;
                rc = runtime_version(t, sa, version);
                if (rc < 0)
                        rc = merr_set(err, rc, "rendering template %s", tkey);
                else if (!(c = runtime_claim(name, ns, pname, pool, version, sb, obj)))
                        rc = merr_set(err, -ENOMEM, "rendering the SandboxClaim of %s", key);
                else
                        rc = op_create(cx, RES_AS_CLAIM, c, err);
                bool made = rc > 0;
                if (counted) {
                        if (rc >= 0)
                                rc = strmap_put(op->admitted, key, NULL);
                        pthread_mutex_unlock(&op->lock);
                }
                if (rc < 0)
                        return rc;
                /* The claim is this pass's only write. Its finalizer and status come with the next pass,
                 * which the claim's own ADDED event brings: under a burst, workers go on to the next new
                 * sandbox's claim instead of waiting for two more writes. Should the sandbox go before
                 * its finalizer is set, the claim's controller reference has the garbage collector remove
                 * the claim. */
                if (made)
                        op_event(cx, obj, "Normal", "ClaimCreated",
                                "Created SandboxClaim %s from template %s (version %s)", name, tkey, version);
                return 0;
        }

        /* the runtime, through the claim */
        v.version = kube_label(claim, LABEL_TEMPLATE_VER);
        const char *as_name = kube_str(claim, "status.sandbox.name");
        _cleanup_json_ json_object *as = NULL;
        if (as_name) {
                snprintf(buf, sizeof(buf), "%s/%s", ns, as_name);
                as = op_get(op, RES_AS_SANDBOX, buf);
        }
        if (as && want_running) {
                const char *mode = kube_str(as, "spec.operatingMode");
                if (mode && strcmp(mode, "Suspended") == 0) {
                        /* a start counts against maxRunning like a launch */
                        pthread_mutex_lock(&op->lock);
                        struct admission a;
                        int crc = count_admitted(op, ns, key, &a);
                        const char *why = crc < 0 ? NULL : quota_problem(p, &a, true, buf, sizeof(buf));
                        pthread_mutex_unlock(&op->lock);
                        if (why && p->spec.quota.has_max_running && a.running >= p->spec.quota.max_running) {
                                set_msg(&v, "%s", why);
                                v.phase = "Stopped";
                                v.reason = "QuotaExceeded";
                                v.admitted = false;
                                v.admitted_reason = "QuotaExceeded";
                                rc = write_status(cx, obj, &v, NULL, &started, &stopped, &activity,
                                        max_life ? &expires : NULL, err);
                                return rc < 0 ? rc : 0;
                        }
                        rc = op_patch(cx, RES_AS_SANDBOX, ns, as_name,
                                "{\"spec\":{\"operatingMode\":\"Running\"}}", err);
                        if (rc < 0)
                                return rc;
                        op_event(cx, obj, "Normal", "Starting",
                                "Starting the sandbox again on its workspace volume");
                }
        } else if (as) {
                const char *mode = kube_str(as, "spec.operatingMode");
                if (!mode || strcmp(mode, "Suspended") != 0) {
                        rc = op_patch(cx, RES_AS_SANDBOX, ns, as_name,
                                "{\"spec\":{\"operatingMode\":\"Suspended\"}}", err);
                        if (rc < 0)
                                return rc;
                        op_event(cx, obj, expired ? "Warning" : "Normal", expired ? "Expired" : "Stopping",
                                expired ? "The sandbox reached its maximum lifetime; stopping it"
                                        : "Stopping the sandbox; its workspace volume is kept");
                }
        }

        /* phase */
        const char *reason = NULL, *message = NULL;
        const char *ready = as ? kube_condition(as, "status.conditions", "Ready", &reason, &message) : NULL;
        const char *suspended = as ? kube_condition(as, "status.conditions", "Suspended", NULL, NULL) : NULL;
        v.sandbox = as_name;
        if (!as) {
                const char *cr = NULL, *cm = NULL;
                kube_condition(claim, "status.conditions", "Ready", &cr, &cm);
                v.phase = "Starting";
                v.reason = cr ? cr : "SandboxCreatePending";
                set_msg(&v, "%s", cm ? cm : "waiting for agent-sandbox to provide a Sandbox");
        } else if (!want_running) {
                bool pod_gone = (suspended && strcmp(suspended, "True") == 0) ||
                                (reason && strcmp(reason, "SandboxSuspended") == 0 && ready &&
                                        strcmp(ready, "False") == 0);
                v.phase = pod_gone ? (expired ? "Expired" : "Stopped") : "Stopping";
                v.reason = expired ? "MaxLifetimeExceeded"
                                   : (kube_str(obj, "status.reason") && strcmp(kube_str(obj, "status.reason"),
                                                                                "IdleTimeout") == 0
                                                     ? "IdleTimeout"
                                                     : "StoppedByUser");
                set_msg(&v, "%s",
                        expired    ? "the sandbox reached its maximum lifetime"
                        : pod_gone ? "the pod is gone; the workspace volume is kept"
                                   : "waiting for the pod to stop");
        } else if (ready && strcmp(ready, "True") == 0) {
                v.phase = "Running";
                v.reason = "Ready";
                v.ready = true;
                set_msg(&v, "the sandbox is running");
        } else if (reason &&
                   (strcmp(reason, "PodFailed") == 0 || strcmp(reason, "ReconcilerError") == 0 ||
                           strcmp(reason, "MultiplePods") == 0 || strcmp(reason, "SandboxExpired") == 0)) {
                v.phase = "Failed";
                v.reason = reason;
                set_msg(&v, "%s", message ? message : reason);
        } else {
                v.phase = "Starting";
                v.reason = reason ? reason : "SandboxNotReady";
                set_msg(&v, "%s", message && *message ? message : "waiting for the sandbox pod to be ready");
        }
        if (as && v.ready) {
                const char *pn = NULL;
                json_object *ann = NULL, *pv = NULL, *ips = NULL;
                if ((ann = kube_field(as, "metadata.annotations")) &&
                        json_object_object_get_ex(ann, "agents.x-k8s.io/pod-name", &pv))
                        pn = json_object_get_string(pv);
                v.pod = pn ? pn : as_name;
                if ((ips = kube_field(as, "status.podIPs")) && json_object_array_length(ips) > 0)
                        v.pod_ip = json_object_get_string(json_object_array_get_idx(ips, 0));
                v.fqdn = kube_str(as, "status.serviceFQDN");
        }

        /* timestamps */
        const char *old_phase = kube_str(obj, "status.phase");
        bool phase_changed = !old_phase || strcmp(old_phase, v.phase) != 0;
        if (strcmp(v.phase, "Running") == 0) {
                if (phase_changed || !started.sec)
                        started = now;
                memset(&stopped, 0, sizeof(stopped));
                if (!activity.sec || timestamp_cmp(&activity, &started) < 0)
                        activity = started;
        } else if (strcmp(v.phase, "Stopped") == 0 || strcmp(v.phase, "Expired") == 0) {
                /* kept when set: an idle stop records the time it decided */
                if (!stopped.sec)
                        stopped = now;
        } else if (strcmp(v.phase, "Starting") == 0)
                memset(&stopped, 0, sizeof(stopped));
        if (phase_changed && strcmp(v.phase, "Starting") != 0)
                op_event(cx, obj, strcmp(v.phase, "Failed") == 0 ? "Warning" : "Normal", v.phase, "%s",
                        v.message);

        /* idle timeout and stopped retention */
        int64_t next = 0;
        if (strcmp(v.phase, "Running") == 0 && idle) {
                struct timestamp deadline;
                timestamp_add(&activity, idle, &deadline);
                int64_t left = 0;
                timestamp_diff(&deadline, &now, &left);
                /* a command running in it is activity, however long it takes: look again later */
                if (left <= 0 && op_tasks_running_in(op, ns, name))
                        left = idle;
                if (left <= 0) {
                        /* through the runtime only: spec.state stays the user's, and the next activity
                         * (idle_stopped()) starts the sandbox again */
                        if (as_name && (rc = op_patch(cx, RES_AS_SANDBOX, ns, as_name,
                                                "{\"spec\":{\"operatingMode\":\"Suspended\"}}", err)) < 0)
                                return rc;
                        op_event(cx, obj, "Normal", "IdleTimeout", "No activity for %s; stopping the sandbox",
                                sb->spec.lifetime.idle_timeout.text ? sb->spec.lifetime.idle_timeout.text
                                                                    : "the idle timeout");
                        v.phase = "Stopping";
                        v.reason = "IdleTimeout";
                        v.ready = false;
                        set_msg(&v, "stopped after the idle timeout; the next task, terminal or preview "
                                    "starts it");
                        stopped = now;
                        rc = write_status(cx, obj, &v, NULL, &started, &stopped, &activity,
                                max_life ? &expires : NULL, err);
                        return rc < 0 ? rc : 0;
                }
                next = left;
        }
        if ((strcmp(v.phase, "Stopped") == 0 || strcmp(v.phase, "Expired") == 0) && retention) {
                struct timestamp deadline;
                timestamp_add(&stopped, retention, &deadline);
                int64_t left = 0;
                timestamp_diff(&deadline, &now, &left);
                if (left <= 0) {
                        op_event(cx, obj, "Normal", "RetentionExpired",
                                "Stopped longer than the project's stopped retention; deleting the sandbox");
                        rc = op_delete(cx, RES_SANDBOX, ns, name, err);
                        return rc < 0 ? rc : 0;
                }
                next = next ? (left < next ? left : next) : left;
        }
        if (max_life && !expired) {
                int64_t left = 0;
                timestamp_diff(&expires, &now, &left);
                next = next ? (left < next ? left : next) : left;
        }
        if (next > 0)
                cx->requeue_after_ns = next + NS_PER_S / 10;

        _cleanup_json_ json_object *urls = strcmp(v.phase, "Running") == 0 ? preview_urls(op, sb, ns) : NULL;
        rc = write_status(cx, obj, &v, urls, &started, &stopped, &activity, max_life ? &expires : NULL, err);
        return rc < 0 ? rc : 0;
}
