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
 *
 * One pass: resolve (project, template) -> admit (policy, account, quota; the claim) -> runtime (what the
 * claim and its Sandbox show, stop and start) -> timers -> the decision (sandbox-phase.c, pure) -> its
 * actions -> one status, built through the typed view and written only when it differs.
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
#include "operator/sandbox-phase.h"
#include "timestamp.h"

#define NS_PER_S 1000000000LL

/* Everything one pass holds. Objects are copies of the cache (owned); strings borrow from them. */
struct pass {
        struct op_ctx *cx;
        struct mbox_operator *op;
        const char *key, *name;
        char ns[128], pname[128], tkey[300], pool[128];
        json_object *obj; /* the Sandbox */
        struct sandbox *sb;
        /* its status alone, when the whole does not parse (an invalid spec): what it shows stays known */
        struct sandbox_status status_only;
        bool has_status_only;
        json_object *pobj, *tobj, *claim, *as;
        struct project *p;
        struct template *t;
        bool has_project;        /* the namespace names its project (pname) */
        const char *tname, *tns; /* the template, once resolved */
        const char *as_name;     /* the claim's agent-sandbox Sandbox */
        char problem[512], blocked[512];
        struct sandbox_obs obs;
        struct sandbox_lifetimes life;
        struct sandbox_times times;
        struct sandbox_timer timer;
        struct timestamp now;
};

static void pass_release(struct pass *ps) {
        json_object_put(ps->obj);
        json_object_put(ps->pobj);
        json_object_put(ps->tobj);
        json_object_put(ps->claim);
        json_object_put(ps->as);
        sandbox_free(ps->sb);
        if (ps->has_status_only)
                sandbox_status_release(&ps->status_only);
        project_free(ps->p);
        template_free(ps->t);
}

/* The cached Sandbox's own status, typed (NULL when not even the status parses). */
static const struct sandbox_status *old_status(const struct pass *ps) {
        return ps->sb ? &ps->sb->status : ps->has_status_only ? &ps->status_only : NULL;
}

static void problem(struct pass *ps, const char *reason, const char *fmt, ...) _printf_(3, 4);
static void problem(struct pass *ps, const char *reason, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->problem, sizeof(ps->problem), fmt, ap);
        va_end(ap);
        ps->obs.problem = ps->problem;
        ps->obs.problem_reason = reason;
}

static struct timestamp time_at(json_object *obj, const char *path) {
        struct timestamp t = {0};
        const char *s = kube_str(obj, path);
        if (s)
                (void) timestamp_parse(s, &t, NULL);
        return t;
}

static struct timestamp created(json_object *obj) {
        return time_at(obj, "metadata.creationTimestamp");
}

/* Sooner of two requeues (0: none). */
static int64_t sooner(int64_t a, int64_t b) {
        return a && (!b || a < b) ? a : b;
}

/* ---- admission against the project's quota ---- */

struct admission {
        struct mbox_operator *op;
        const char *ns, *self;
        struct strmap *keys; /* "ns/name" of the admitted sandboxes */
        int64_t all, running;
};

/* Whether another cached Sandbox counts as running. Cached objects are only looked at, never copied or
 * parsed: this runs under the admission lock for every sandbox of a namespace. */
static bool counts_running(json_object *sb) {
        const char *state = kube_str(sb, "spec.state"), *phase = kube_str(sb, "status.phase");
        struct timestamp stopped = {0}, activity = {0};
        int64_t gen = 0, observed = 0;
        const char *s;
        if (kube_str(sb, "metadata.deletionTimestamp") || (state && strcmp(state, "Stopped") == 0) ||
                (phase && strcmp(phase, "Expired") == 0))
                return false;
        json_get_int64(sb, "metadata.generation", JSON_OPTIONAL, &gen, NULL);
        json_get_int64(sb, "status.observedGeneration", JSON_OPTIONAL, &observed, NULL);
        if ((s = kube_str(sb, "status.stoppedAt")))
                (void) timestamp_parse(s, &stopped, NULL);
        if ((s = kube_str(sb, "status.lastActivityAt")))
                (void) timestamp_parse(s, &activity, NULL);
        return !sandbox_idle_stopped(
                phase, kube_str(sb, "status.reason"), gen, observed, &stopped, &activity);
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
        if (counts_running(obj))
                a->running++;
}

/* Counts the admitted sandboxes of ns other than self: those with a claim in the cache, and those given one
 * so recently that the cache does not show it yet; sandboxes being deleted no longer count. Call with
 * op->lock held. Returns 0 or -ENOMEM. */
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

/* ---- status ---- */

static int set_str(char **field, const char *v) {
        if (!v || !*v)
                return 0;
        return (*field = strdup(v)) ? 0 : -ENOMEM;
}

/* Adds or replaces (by name) one preview of st: its gateway URL, SCHEME://PORT--SANDBOX--PROJECT.DOMAIN/
 * (docs/previews.md), and the visibility that applies: Public only where the project allows it. */
static int add_preview_url(
        struct pass *ps, struct sandbox_status *st, const char *name, int64_t port, const char *visibility) {
        const struct operator_options *o = &ps->op->opt;
        const char *sb_slug = ps->sb->spec.slug ? ps->sb->spec.slug : ps->sb->meta.name;
        const char *p_slug = ps->p->spec.slug ? ps->p->spec.slug : ps->p->meta.name;
        if (!visibility || (strcmp(visibility, "Public") == 0 && !ps->p->spec.policy.allow_public_previews))
                visibility = visibility ? "Project" : "Private";
        struct sandbox_preview_url *u = NULL;
        for (size_t i = 0; i < st->n_preview_urls && !u; i++)
                if (strcmp(st->preview_urls[i].name, name) == 0)
                        u = &st->preview_urls[i];
        if (!u)
                u = &st->preview_urls[st->n_preview_urls++];
        char url[512];
        snprintf(url, sizeof(url), "%s://%s--%s--%s.%s/", o->preview_scheme ? o->preview_scheme : "http",
                name, sb_slug, p_slug, o->preview_domain);
        u->port = port;
        free(u->name), free(u->visibility), free(u->url);
        u->name = strdup(name), u->visibility = strdup(visibility), u->url = strdup(url);
        return u->name && u->visibility && u->url ? 0 : -ENOMEM;
}

/* The previews of the sandbox: the template's ports (Private), then the sandbox's, which override them by
 * name. They are shown whatever the phase: a request to an idle-stopped sandbox's preview wakes it. */
static int set_preview_urls(struct pass *ps, struct sandbox_status *st) {
        const struct sandbox_spec *spec = &ps->sb->spec;
        size_t n = spec->n_ports + (ps->t ? ps->t->spec.n_ports : 0);
        if (!ps->op->opt.preview_domain || !ps->p || !n)
                return 0;
        if (!(st->preview_urls = calloc(n, sizeof(*st->preview_urls))))
                return -ENOMEM;
        for (size_t i = 0; ps->t && i < ps->t->spec.n_ports; i++)
                if (add_preview_url(ps, st, ps->t->spec.ports[i].name, ps->t->spec.ports[i].port, NULL) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < spec->n_ports; i++)
                if (add_preview_url(ps, st, spec->ports[i].name, spec->ports[i].port,
                            spec->ports[i].visibility ? spec->ports[i].visibility : "Private") < 0)
                        return -ENOMEM;
        return 0;
}

/* The pod's name and address, as the runtime shows them. */
static int set_pod(struct pass *ps, struct sandbox_status *st) {
        const char *pod = kube_str(ps->as, "metadata.annotations.agents\\.x-k8s\\.io/pod-name");
        json_object *ips = kube_field(ps->as, "status.podIPs");
        const char *ip = ips && json_object_is_type(ips, json_type_array) && json_object_array_length(ips) > 0
                                 ? json_object_get_string(json_object_array_get_idx(ips, 0))
                                 : NULL;
        if (set_str(&st->pod_name, pod ? pod : ps->as_name) < 0 || set_str(&st->pod_ip, ip) < 0 ||
                set_str(&st->service_fqdn, kube_str(ps->as, "status.serviceFQDN")) < 0)
                return -ENOMEM;
        return 0;
}

/* Builds the status decision d describes into st. A condition's lastTransitionTime is taken from the
 * object's own when its status stays the same (api_condition_next()). */
static int build_status(struct pass *ps, const struct sandbox_decision *d, struct sandbox_status *st) {
        const struct sandbox_status *old = old_status(ps);
        struct timestamp now = ps->now;
        int64_t gen = 0;
        now.nsec = 0;
        if (ps->sb)
                gen = ps->sb->meta.generation;
        else
                json_get_int64(ps->obj, "metadata.generation", JSON_OPTIONAL, &gen, NULL);
        st->has_observed_generation = true;
        st->observed_generation = gen;
        if (set_str(&st->phase, d->phase) < 0 || set_str(&st->reason, d->reason) < 0 ||
                set_str(&st->message, d->message) < 0)
                return -ENOMEM;
        if (ps->obs.deleting || ps->obs.invalid) {
                /* what the sandbox was given stays shown: a deletion finds its runtime by sandboxName (a
                 * warm pool's Sandbox has another name than the claim) */
                if (old && (set_str(&st->project, old->project) < 0 ||
                                   set_str(&st->claim_name, old->claim_name) < 0 ||
                                   set_str(&st->sandbox_name, old->sandbox_name) < 0 ||
                                   set_str(&st->template_version, old->template_version) < 0))
                        return -ENOMEM;
        } else {
                if (set_str(&st->project, ps->has_project ? ps->pname : NULL) < 0)
                        return -ENOMEM;
                if (ps->tname) {
                        st->has_template = true;
                        if (set_str(&st->template_name, ps->tname) < 0 ||
                                set_str(&st->template_namespace, ps->tns) < 0)
                                return -ENOMEM;
                }
        }
        if (ps->claim && !ps->obs.deleting) {
                if (set_str(&st->template_version, kube_label(ps->claim, LABEL_TEMPLATE_VER)) < 0 ||
                        set_str(&st->claim_name, ps->name) < 0 || set_str(&st->sandbox_name, ps->as_name) < 0)
                        return -ENOMEM;
                if (d->show_runtime && ps->as && set_pod(ps, st) < 0)
                        return -ENOMEM;
                if (set_preview_urls(ps, st) < 0)
                        return -ENOMEM;
                st->started_at = ps->times.started;
                st->stopped_at = ps->times.stopped;
                st->last_activity_at = ps->times.activity;
                st->expires_at = ps->timer.expires;
        }
        for (size_t i = 0; i < SB_COND__MAX; i++) {
                const struct sandbox_cond *c = &d->conds[i];
                if (api_condition_next(&st->conditions, old ? &old->conditions : NULL, c->type,
                            c->status ? "True" : "False", c->reason, c->message ? c->message : d->message,
                            gen, &now) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Writes the status d describes unless the object already shows it. */
static int write_status(struct pass *ps, const struct sandbox_decision *d, struct merr *err) {
        _cleanup_(sandbox_status_release) struct sandbox_status st = {0};
        const struct sandbox_status *old = old_status(ps);
        if (!d->phase)
                return 0;
        if (build_status(ps, d, &st) < 0)
                return merr_set(err, -ENOMEM, "building the status of %s", ps->key);
        if (old && sandbox_status_equal(old, &st))
                return 0;
        struct sandbox view = {.status = st};
        _cleanup_json_ json_object *json = NULL;
        int rc = sandbox_status_to_json(&view, &json);
        if (rc < 0)
                return merr_set(err, rc, "building the status of %s", ps->key);
        rc = op_write_status(ps->cx, RES_SANDBOX, ps->obj, json, err);
        return rc < 0 ? rc : 0;
}

/* ---- deletion ---- */

static int finalize(struct pass *ps, struct merr *err) {
        struct op_ctx *cx = ps->cx;
        char akey[512], rkey[300];
        int rc;
        if (!op_has_finalizer(ps->obj))
                return 0;
        ps->claim = op_get(cx->op, RES_AS_CLAIM, ps->key);
        const char *as_name = old_status(ps) ? old_status(ps)->sandbox_name : NULL;
        if (!as_name && ps->claim)
                as_name = kube_str(ps->claim, "status.sandbox.name");
        if (!as_name)
                as_name = ps->name; /* the cold path names the Sandbox like the claim */
        if (ps->claim && !kube_str(ps->claim, "metadata.deletionTimestamp")) {
                rc = op_delete(cx, RES_AS_CLAIM, ps->ns, ps->name, err);
                if (rc < 0)
                        return rc;
                op_event(cx, ps->obj, "Normal", "Deleting", "Deleting SandboxClaim %s and its runtime",
                        ps->name);
        }
        snprintf(akey, sizeof(akey), "%s/%s", ps->ns, as_name);
        _cleanup_json_ json_object *as = op_get(cx->op, RES_AS_SANDBOX, akey);
        size_t pods = 0, pvcs = 0;
        if (!ps->claim && !as && op_runtime_index_value(ps->ns, as_name, rkey, sizeof(rkey))) {
                pods = informer_index_count(cx->op->inf[RES_POD], INDEX_RUNTIME, rkey);
                pvcs = informer_index_count(cx->op->inf[RES_PVC], INDEX_RUNTIME, rkey);
        }
        ps->obs.deleting_waits = (ps->claim ? SB_WAIT_CLAIM : 0) | (as ? SB_WAIT_RUNTIME : 0) |
                                 (pods ? SB_WAIT_POD : 0) | (pvcs ? SB_WAIT_VOLUME : 0);
        ps->obs.since = time_at(ps->obj, "metadata.deletionTimestamp");
        struct sandbox_decision d;
        sandbox_decide(&ps->obs, &d);
        if (d.act == SB_ACT_RELEASE) {
                rc = op_set_finalizer(cx, RES_SANDBOX, ps->obj, false, err);
                if (rc < 0)
                        return rc;
                pthread_mutex_lock(&cx->op->lock);
                strmap_remove(cx->op->admitted, ps->key);
                pthread_mutex_unlock(&cx->op->lock);
                return 0;
        }
        /* each of them wakes this sandbox when it goes (the mappers of sandbox-watch.c); the look every
         * 10 s covers an agent-sandbox Sandbox that names no claim as its owner */
        cx->requeue_after_ns = sooner(10 * NS_PER_S, d.recheck_ns ? d.recheck_ns + NS_PER_S / 10 : 0);
        return write_status(ps, &d, err);
}

/* ---- resolve: the project and the template ---- */

/* 0 with the project and template in ps, or with the problem in ps->obs. */
static int resolve(struct pass *ps) {
        struct mbox_operator *op = ps->op;
        const struct sandbox_spec *spec = &ps->sb->spec;
        struct merr perr = MERR_INIT;
        if (!op_project_of_namespace(op, ps->ns, ps->pname, sizeof(ps->pname))) {
                problem(ps, "ProjectNotFound",
                        "namespace %s belongs to no mbox Project: create a Project with spec.namespace: %s",
                        ps->ns, ps->ns);
                return 0;
        }
        ps->has_project = true;
        if (spec->project_ref_name && strcmp(spec->project_ref_name, ps->pname) != 0) {
                problem(ps, "ProjectMismatch",
                        "spec.projectRef names project %s, but namespace %s belongs to project %s",
                        spec->project_ref_name, ps->ns, ps->pname);
                return 0;
        }
        ps->pobj = op_get(op, RES_PROJECT, ps->pname);
        if (!ps->pobj || project_from_json(ps->pobj, &ps->p, &perr) < 0 ||
                kube_str(ps->pobj, "metadata.deletionTimestamp")) {
                problem(ps, "ProjectNotFound", "project %s %s", ps->pname,
                        ps->pobj ? "is being deleted or invalid" : "does not exist");
                ps->p = project_free(ps->p);
                return 0;
        }

        /* spec.templateRef, else the project's default; local or library only */
        const char *tname = spec->template_ref_name, *tns = spec->template_ref_namespace;
        if (!spec->has_template_ref && ps->p->spec.has_default_template) {
                tname = ps->p->spec.default_template.name;
                tns = ps->p->spec.default_template.namespace;
        }
        if (!tns)
                tns = ps->ns;
        if (!tname) {
                problem(ps, "TemplateNotSpecified",
                        "spec.templateRef is not set and project %s has no spec.defaultTemplate", ps->pname);
                return 0;
        }
        ps->tname = tname;
        ps->tns = tns;
        if (strcmp(tns, ps->ns) != 0 && strcmp(tns, op->opt.library_namespace) != 0) {
                problem(ps, "TemplateNotAllowed",
                        "template %s/%s is in another project's namespace; use a template of namespace %s or "
                        "the "
                        "library namespace %s",
                        tns, tname, ps->ns, op->opt.library_namespace);
                return 0;
        }
        snprintf(ps->tkey, sizeof(ps->tkey), "%s/%s", tns, tname);
        /* The template's lifecycle bounds the sandbox's lifetimes for as long as it lives, so the cached
         * template is read on every pass. With a claim the runtime is built already: a template deleted
         * (or made invalid) since does not matter, and its lifetimes are then the sandbox's and the
         * project's alone. A template is a few hundred bytes of JSON, parsed in microseconds: no more than
         * the Sandbox's own parse each pass makes. */
        if (!(ps->tobj = op_get(op, RES_TEMPLATE, ps->tkey)) ||
                template_from_json(ps->tobj, &ps->t, &perr) < 0) {
                ps->t = template_free(ps->t);
                if (!ps->claim)
                        problem(ps, "TemplateNotFound", "EnvironmentTemplate %s not found in namespace %s",
                                tname, tns);
        }
        return 0;
}

/* ---- admit: policy, ServiceAccount and quota, then the claim ---- */

/* 1 when ServiceAccount sa does not exist in ns (the problem in ps), 0 when it does. The operator watches
 * only the accounts it made, so this asks the API server. */
static int service_account_missing(struct pass *ps, const char *sa, struct merr *err) {
        struct kube_resource r = op_resource(RES_SERVICEACCOUNT, ps->ns, sa);
        _cleanup_json_ json_object *got = NULL;
        int rc = kube_get(ps->cx->c, &r, &got, err);
        if (rc == -ENOENT) {
                merr_clear(err);
                problem(ps, "ServiceAccountNotFound",
                        "ServiceAccount %s named by spec.serviceAccountName does not exist in namespace %s: "
                        "create it, or remove spec.serviceAccountName to run as mbox-sandbox",
                        sa, ps->ns);
                return 1;
        }
        return rc < 0 ? merr_wrap(err, rc, "looking up ServiceAccount %s/%s", ps->ns, sa) : 0;
}

/* Creates the claim through the pool of the template's current version. 1 created, 0 there already. */
static int claim(struct pass *ps, const char *sa, struct merr *err) {
        char version[9];
        _cleanup_json_ json_object *c = NULL;
        int rc = runtime_version(ps->t, sa, version);
        if (rc < 0)
                return merr_set(err, rc, "rendering template %s", ps->tkey);
        if (!(c = runtime_claim(ps->name, ps->ns, ps->pname, ps->pool, version, ps->sb, ps->obj)))
                return merr_set(err, -ENOMEM, "rendering the SandboxClaim of %s", ps->key);
        rc = op_create(ps->cx, RES_AS_CLAIM, c, err);
        if (rc > 0)
                op_event(ps->cx, ps->obj, "Normal", "ClaimCreated",
                        "Created SandboxClaim %s from template %s (version %s)", ps->name, ps->tkey, version);
        return rc;
}

/* A sandbox without a claim: admitted, it gets one (this pass's only write; its finalizer and status come
 * with the next pass, which the claim's own ADDED event brings: under a burst, workers go on to the next new
 * sandbox's claim instead of waiting for two more writes; should the sandbox go before its finalizer is set,
 * the claim's controller reference has the garbage collector remove the claim). Else it waits, Pending. */
static int admit(struct pass *ps, struct merr *err) {
        struct mbox_operator *op = ps->op;
        const char *policy_reason = NULL, *sa = NULL;
        bool counted = false;
        char buf[512];
        int rc;
        if (!ps->obs.problem_reason &&
                op_policy_problem(ps->p, ps->t, ps->ns, ps->tns, ps->tname, &policy_reason, buf, sizeof(buf)))
                problem(ps, policy_reason, "%s", buf);
        if (!ps->obs.problem_reason && (sa = runtime_own_sa(ps->sb->spec.service_account_name)) &&
                (rc = service_account_missing(ps, sa, err)) != 0) {
                if (rc < 0)
                        return rc;
                ps->cx->requeue_after_ns = 5 * NS_PER_S; /* the account's creation is not watched */
        }
        if (!ps->obs.problem_reason) {
                rc = runtime_project(ps->cx, ps->t, ps->tobj, ps->ns, sa, ps->pool, sizeof(ps->pool), err);
                if (rc < 0)
                        return rc;
                /* with a sandbox-count quota, deciding and claiming happen under one lock */
                counted = ps->p->spec.quota.has_max_sandboxes || ps->p->spec.quota.has_max_running;
                if (counted) {
                        struct admission a;
                        pthread_mutex_lock(&op->lock);
                        if (count_admitted(op, ps->ns, ps->key, &a) < 0) {
                                pthread_mutex_unlock(&op->lock);
                                return merr_set(err, -ENOMEM, "counting the sandboxes of %s", ps->ns);
                        }
                        const char *why = quota_problem(
                                ps->p, &a, !ps->obs.stop_wanted && !ps->obs.expired, buf, sizeof(buf));
                        if (why)
                                problem(ps, "QuotaExceeded", "%s", why);
                }
        }
        struct sandbox_decision d;
        sandbox_decide(&ps->obs, &d);
        rc = 0;
        if (d.act == SB_ACT_CLAIM) {
                rc = claim(ps, sa, err);
                if (counted && rc >= 0)
                        rc = strmap_put(op->admitted, ps->key, NULL);
        }
        if (counted)
                pthread_mutex_unlock(&op->lock);
        if (rc < 0)
                return rc;
        if (d.warn && !(old_status(ps) && api_str_equal(old_status(ps)->reason, d.reason)))
                op_event(ps->cx, ps->obj, "Warning", d.reason, "%s", d.message);
        return write_status(ps, &d, err);
}

/* ---- runtime: what the claim and its Sandbox show ---- */

/* When the runtime's current start began: Suspended turned False then (at its creation for the first one).
 * While agent-sandbox still shows it suspended (or does not know), that time is unknown: zero, so that
 * nothing is held back, rather than now, which would start a new window at every pass. */
static struct timestamp runtime_since(json_object *as, const char *suspended) {
        json_object *conds = kube_field(as, "status.conditions");
        if (!suspended)
                return created(as);
        if (strcmp(suspended, "False") != 0)
                return (struct timestamp){0};
        for (size_t i = 0;
                conds && json_object_is_type(conds, json_type_array) && i < json_object_array_length(conds);
                i++) {
                json_object *c = json_object_array_get_idx(conds, i);
                const char *type = kube_str(c, "type");
                if (type && strcmp(type, "Suspended") == 0) {
                        struct timestamp t = time_at(c, "lastTransitionTime");
                        return t.sec ? t : created(as);
                }
        }
        return created(as);
}

static void observe_runtime(struct pass *ps) {
        struct sandbox_obs *o = &ps->obs;
        char akey[512];
        o->has_claim = true;
        kube_condition(ps->claim, "status.conditions", "Ready", &o->claim_reason, &o->claim_message);
        if ((ps->as_name = kube_str(ps->claim, "status.sandbox.name"))) {
                snprintf(akey, sizeof(akey), "%s/%s", ps->ns, ps->as_name);
                ps->as = op_get(ps->op, RES_AS_SANDBOX, akey);
        }
        if (!ps->as) {
                o->since = created(ps->claim);
                return;
        }
        const char *mode = kube_str(ps->as, "spec.operatingMode");
        o->has_runtime = true;
        o->runtime_suspended = mode && strcmp(mode, "Suspended") == 0;
        o->ready = kube_condition(ps->as, "status.conditions", "Ready", &o->ready_reason, &o->ready_message);
        o->suspended = kube_condition(ps->as, "status.conditions", "Suspended", NULL, NULL);
        o->since = runtime_since(ps->as, o->suspended);
        if (sandbox_would_start(o)) {
                /* a start counts against maxRunning like a launch */
                struct admission a;
                pthread_mutex_lock(&ps->op->lock);
                int rc = count_admitted(ps->op, ps->ns, ps->key, &a);
                if (rc == 0 && ps->p->spec.quota.has_max_running &&
                        a.running >= ps->p->spec.quota.max_running)
                        o->start_blocked = quota_problem(ps->p, &a, true, ps->blocked, sizeof(ps->blocked));
                pthread_mutex_unlock(&ps->op->lock);
        }
}

static int set_mode(struct pass *ps, const char *mode, struct merr *err) {
        char patch[64];
        if (!ps->as_name)
                return 0;
        snprintf(patch, sizeof(patch), "{\"spec\":{\"operatingMode\":\"%s\"}}", mode);
        return op_patch(ps->cx, RES_AS_SANDBOX, ps->ns, ps->as_name, patch, err);
}

/* Carries out the decision's action on the runtime. 1 when the pass ends there (the Sandbox is deleted). */
static int act(struct pass *ps, const struct sandbox_decision *d, struct merr *err) {
        struct op_ctx *cx = ps->cx;
        const char *idle = ps->sb->spec.lifetime.idle_timeout.text;
        int rc = 0;
        switch (d->act) {
        case SB_ACT_RESUME:
                if ((rc = set_mode(ps, "Running", err)) >= 0)
                        op_event(cx, ps->obj, "Normal", "Starting",
                                "Starting the sandbox again on its workspace volume");
                break;
        case SB_ACT_SUSPEND:
                if ((rc = set_mode(ps, "Suspended", err)) >= 0)
                        op_event(cx, ps->obj, ps->obs.expired ? "Warning" : "Normal",
                                ps->obs.expired ? "Expired" : "Stopping",
                                ps->obs.expired ? "The sandbox reached its maximum lifetime; stopping it"
                                                : "Stopping the sandbox; its workspace volume is kept");
                break;
        case SB_ACT_IDLE_STOP:
                if ((rc = set_mode(ps, "Suspended", err)) >= 0)
                        op_event(cx, ps->obj, "Normal", "IdleTimeout",
                                "No activity for %s; stopping the sandbox", idle ? idle : "the idle timeout");
                break;
        case SB_ACT_DELETE:
                op_event(cx, ps->obj, "Normal", "RetentionExpired",
                        "Stopped longer than the project's stopped retention; deleting the sandbox");
                rc = op_delete(cx, RES_SANDBOX, ps->ns, ps->name, err);
                return rc < 0 ? rc : 1;
        default:
                break;
        }
        return rc < 0 ? rc : 0;
}

/* ---- timers: lifetimes, within the template's and the project's ---- */

static int64_t min_dur(int64_t a, int64_t b) {
        if (!a)
                return b;
        if (!b)
                return a;
        return a < b ? a : b;
}

static void lifetimes(struct pass *ps) {
        const struct sandbox_spec *s = &ps->sb->spec;
        const struct project *p = ps->p;
        ps->life.max_lifetime =
                min_dur(s->lifetime.max_lifetime.ns, p->spec.policy.lifecycle.max_lifetime.ns);
        ps->life.idle_timeout =
                min_dur(s->lifetime.idle_timeout.ns, p->spec.policy.lifecycle.idle_timeout.ns);
        ps->life.stopped_retention = p->spec.policy.lifecycle.stopped_retention.ns;
        if (ps->t) {
                ps->life.max_lifetime = min_dur(ps->life.max_lifetime, ps->t->spec.lifecycle.max_lifetime.ns);
                ps->life.idle_timeout = min_dur(ps->life.idle_timeout, ps->t->spec.lifecycle.idle_timeout.ns);
        }
}

/* The timers for phase: a command running in the sandbox is asked for only when an idle timeout could
 * stop it. */
static void timers(struct pass *ps, const char *phase, struct sandbox_timer *ret) {
        bool tasks = ps->life.idle_timeout && phase && strcmp(phase, "Running") == 0 &&
                     op_tasks_running_in(ps->op, ps->ns, ps->name);
        sandbox_timers(&ps->life, &ps->times, phase, tasks, &ps->now, ret);
}

/* What the user wants, and the timers as the status has them (with the project resolved). */
static void wanted(struct pass *ps) {
        const struct sandbox_status *old = &ps->sb->status;
        ps->obs.stop_wanted = (ps->sb->spec.state && strcmp(ps->sb->spec.state, "Stopped") == 0) ||
                              sandbox_idle_stopped(old->phase, old->reason, ps->sb->meta.generation,
                                      old->observed_generation, &old->stopped_at, &old->last_activity_at) ||
                              api_str_equal(old->phase, "Expired");
        if (!ps->p)
                return;
        lifetimes(ps);
        ps->times = (struct sandbox_times){.created = created(ps->obj),
                .started = old->started_at,
                .stopped = old->stopped_at,
                .activity = old->last_activity_at};
        timers(ps, old->phase, &ps->timer);
        ps->obs.expired = ps->timer.expired;
        ps->obs.idle_due = ps->timer.idle_due;
        ps->obs.retention_over = ps->timer.retention_over;
}

/* ---- the reconcile ---- */

static int reconcile(struct pass *ps, struct merr *err) {
        struct op_ctx *cx = ps->cx;
        struct mbox_operator *op = ps->op;
        struct merr perr = MERR_INIT;
        int rc;
        timestamp_now(&ps->now);
        if (sandbox_from_json(ps->obj, &ps->sb, &perr) < 0) {
                ps->sb = NULL;
                ps->has_status_only = sandbox_status_from_json(ps->obj, &ps->status_only, NULL) >= 0;
        }
        ps->obs.now = ps->now;
        ps->obs.written = op_status_written_at(op, RES_SANDBOX, ps->key, &ps->now);
        if (old_status(ps)) {
                ps->obs.old_phase = old_status(ps)->phase;
                ps->obs.old_reason = old_status(ps)->reason;
                ps->obs.old_message = old_status(ps)->message;
        }
        if (kube_str(ps->obj, "metadata.deletionTimestamp")) {
                ps->obs.deleting = true;
                return finalize(ps, err);
        }
        if (!ps->sb) {
                struct sandbox_decision d;
                ps->obs.invalid = true;
                ps->obs.problem = merr_msg(&perr);
                sandbox_decide(&ps->obs, &d);
                return write_status(ps, &d, err);
        }
        const struct sandbox_status *old = &ps->sb->status;
        ps->claim = op_get(op, RES_AS_CLAIM, ps->key);
        if (ps->claim && (rc = op_set_finalizer(cx, RES_SANDBOX, ps->obj, true, err)) < 0)
                return rc;
        resolve(ps);
        if (ps->claim && ps->obs.problem_reason)
                return 0; /* the runtime stays as it is until the problem is solved */
        wanted(ps);
        if (!ps->claim)
                return admit(ps, err);

        observe_runtime(ps);
        struct sandbox_decision d;
        sandbox_decide(&ps->obs, &d);
        rc = act(ps, &d, err);
        if (rc != 0)
                return rc < 0 ? rc : 0;

        bool changed = d.phase && !api_str_equal(old->phase, d.phase);
        sandbox_times_after(d.phase, changed, &ps->now, &ps->times);
        if (d.act == SB_ACT_IDLE_STOP) {
                ps->times.stopped = ps->now;
                ps->times.stopped.nsec = 0;
        }
        if (changed && d.act != SB_ACT_IDLE_STOP && !ps->obs.start_blocked &&
                strcmp(d.phase, "Starting") != 0)
                op_event(cx, ps->obj, strcmp(d.phase, "Failed") == 0 ? "Warning" : "Normal", d.phase, "%s",
                        d.message);
        if (d.act != SB_ACT_IDLE_STOP && !ps->obs.start_blocked) {
                struct sandbox_timer next;
                /* a phase held back keeps the status's times until it is written */
                timers(ps, d.phase ? d.phase : old->phase, &next);
                if (next.next_ns > 0)
                        cx->requeue_after_ns = next.next_ns + NS_PER_S / 10;
        }
        if (d.recheck_ns)
                cx->requeue_after_ns = sooner(cx->requeue_after_ns, d.recheck_ns + NS_PER_S / 10);
        return write_status(ps, &d, err);
}

int op_reconcile_sandbox(struct op_ctx *cx, const char *key, struct merr *err) {
        struct pass ps = {.cx = cx, .op = cx->op, .key = key};
        int rc;
        if (kube_split_key(key, ps.ns, sizeof(ps.ns), &ps.name) < 0)
                return 0;
        if (!(ps.obj = op_get(cx->op, RES_SANDBOX, key))) {
                pthread_mutex_lock(&cx->op->lock);
                strmap_remove(cx->op->admitted, key);
                pthread_mutex_unlock(&cx->op->lock);
                return 0;
        }
        rc = reconcile(&ps, err);
        pass_release(&ps);
        return rc;
}
