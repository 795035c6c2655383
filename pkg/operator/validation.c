/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EnvironmentTemplate validation (status.validation), once per template version, in the template's own
 * namespace (a library template is validated where it is launched, by its first sandbox there):
 *
 * - with spec.check: a validation Sandbox "v-<template>-<version>" and an ExecutionTask of the same name
 *   that runs the check command in it, both owned by the template and labelled mbox.dev/validation-of.
 *   The task's end decides Passed (Succeeded) or Failed (anything else, with its output and reason); the
 *   whole run is bounded by spec.check.timeoutSeconds from the sandbox's creation. Both objects are
 *   deleted once the result is recorded.
 * - without: the first sandbox of this version that becomes Running and Ready passes it.
 *
 * A new version (any change of what shapes a sandbox) starts over from NotTested.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/sandbox.h"
#include "api/task.h"
#include "api/template.h"
#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "operator/validation.h"
#include "timestamp.h"

#define NS_PER_S   1000000000LL
#define OUTPUT_MAX 16384

/* Sets *ret to a result; empty strings (and a NULL version) are left out. */
static int result(struct template_validation *ret, const char *status, const char *version,
        const char *message, const char *time, const char *output) {
        struct template_validation v = {0};
        const char *const from[] = {status, message, time, version, output};
        char **to[] = {&v.status, &v.message, &v.time, &v.version, &v.output};
        for (size_t i = 0; i < ARRAY_SIZE(from); i++)
                if (from[i] && *from[i] && !(*to[i] = strdup(from[i]))) {
                        template_validation_release(&v);
                        return -ENOMEM;
                }
        template_validation_release(ret);
        *ret = v;
        return 0;
}

struct ready_scan {
        const char *tname, *tns, *version;
        char found[128];
};

/* Raw reads of five status fields: this scans every cached Sandbox of the namespace (all of them, for a
 * library template) on each pass of an unvalidated template, and a full parse of each would cost more than
 * the scan. */
static void ready_fn(const char *key, json_object *obj, void *ud) {
        struct ready_scan *s = ud;
        const char *v = kube_str(obj, "status.templateVersion"), *t = kube_str(obj, "status.template.name"),
                   *tns = kube_str(obj, "status.template.namespace"), *phase = kube_str(obj, "status.phase");
        const char *ready = kube_condition(obj, "status.conditions", "Ready", NULL, NULL);
        (void) key;
        if (s->found[0] || !v || !t || !phase || !ready || strcmp(v, s->version) != 0 ||
                strcmp(t, s->tname) != 0 || (tns && strcmp(tns, s->tns) != 0) ||
                strcmp(phase, "Running") != 0 || strcmp(ready, "True") != 0)
                return;
        snprintf(s->found, sizeof(s->found), "%s", kube_str(obj, "metadata.name"));
}

/* Deletes the run's task and sandbox when the caches still show them (and they are not going already). */
static int cleanup(struct op_ctx *cx, const char *ns, const char *name, struct merr *err) {
        static const enum op_res kinds[] = {RES_TASK, RES_SANDBOX};
        char key[160];
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
                _cleanup_json_ json_object *o = op_get(cx->op, kinds[i], key);
                if (!o || kube_str(o, "metadata.deletionTimestamp"))
                        continue;
                int rc = op_delete(cx, kinds[i], ns, name, err);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* Metadata of the run's objects: labelled with the template they validate and owned by it. */
static json_object *desired_meta(json_object *tpl, const char *name, const char *ns) {
        json_object *meta = op_meta(name, ns, NULL), *labels = NULL;
        json_object_object_get_ex(meta, "labels", &labels);
        json_object_object_add(
                labels, LABEL_VALIDATION_OF, json_object_new_string(kube_str(tpl, "metadata.name")));
        op_owner_ref(meta, tpl, true);
        return meta;
}

/* The validation Sandbox, built through its view: a sandbox of template tname. NULL when out of memory. */
static json_object *desired_sandbox(json_object *tpl, const char *tname, const char *name, const char *ns) {
        _cleanup_(sandbox_freep) struct sandbox *sb = sandbox_new(name, ns);
        json_object *o = NULL;
        if (!sb || !(sb->spec.template_ref_name = strdup(tname)))
                return NULL;
        sb->spec.has_template_ref = true;
        if (sandbox_to_json(sb, &o) < 0)
                return NULL;
        json_object_object_add(o, "metadata", desired_meta(tpl, name, ns));
        return o;
}

/* The ExecutionTask that runs t's check command in the validation sandbox, built through its view. NULL
 * when out of memory. */
static json_object *desired_task(
        json_object *tpl, const struct template *t, const char *name, const char *ns) {
        _cleanup_(task_freep) struct task *vt = task_new(name, ns);
        json_object *o = NULL;
        if (!vt || !(vt->spec.sandbox_ref_name = strdup(name)) ||
                !(vt->spec.command.v = calloc(t->spec.check.command.n + 1, sizeof(char *))))
                return NULL;
        for (size_t i = 0; i < t->spec.check.command.n; i++)
                if (!(vt->spec.command.v[vt->spec.command.n++] = strdup(t->spec.check.command.v[i])))
                        return NULL;
        vt->spec.timeout_seconds = t->spec.check.timeout_seconds;
        if (task_to_json(vt, &o) < 0)
                return NULL;
        json_object_object_add(o, "metadata", desired_meta(tpl, name, ns));
        return o;
}

int op_template_validation(struct op_ctx *cx, json_object *obj, const struct template *t, const char *version,
        bool library, struct template_validation *ret, struct merr *err) {
        const char *ns = t->meta.namespace, *tname = t->meta.name;
        const char *old_status = t->status.validation.status, *old_version = t->status.validation.version;
        char name[64], key[160], now[64];
        snprintf(name, sizeof(name), "v-%.50s-%s", tname, version);
        while (name[strlen(name) - 1] == '-')
                name[strlen(name) - 1] = '\0';
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        op_now(now, sizeof(now));

        /* this version has its result: keep it, and clear what the run left */
        if (old_version && strcmp(old_version, version) == 0 && old_status &&
                strcmp(old_status, "NotTested") != 0) {
                if (template_validation_copy(ret, &t->status.validation) < 0)
                        return merr_set(err, -ENOMEM, "copying the validation of template %s", tname);
                return t->spec.has_check ? cleanup(cx, ns, name, err) : 0;
        }
        int rc = 0;
        if (!t->spec.has_check || library) {
                struct ready_scan s = {.tname = tname, .tns = ns, .version = version};
                char msg[256];
                informer_foreach(cx->op->inf[RES_SANDBOX], library ? NULL : ns, ready_fn, &s);
                if (s.found[0]) {
                        snprintf(msg, sizeof(msg), "Sandbox %s, started from this version, became ready%s",
                                s.found,
                                library ? " (library templates are validated by their first sandbox)" : "");
                        rc = result(ret, "Passed", version, msg, now, NULL);
                } else
                        rc = result(ret, "NotTested", NULL,
                                "validated when the first sandbox of this version is Running and Ready", NULL,
                                NULL);
                return rc < 0 ? merr_set(err, rc, "the validation of template %s", tname) : 0;
        }

        _cleanup_json_ json_object *sb = op_get(cx->op, RES_SANDBOX, key),
                                   *task = op_get(cx->op, RES_TASK, key);
        _cleanup_(task_freep) struct task *vt = NULL;
        if (task && task_from_json(task, &vt, NULL) < 0)
                vt = NULL; /* the API server validated it: not expected; waits for the timeout below */
        if (!sb) {
                _cleanup_json_ json_object *d = desired_sandbox(obj, tname, name, ns);
                rc = d ? op_ensure(cx, RES_SANDBOX, d, err)
                       : merr_set(err, -ENOMEM, "building a validation sandbox");
                if (rc > 0)
                        op_event(cx, obj, "Normal", "Validating", "validating version %s in Sandbox %s",
                                version, name);
        }
        if (rc >= 0 && !task) {
                _cleanup_json_ json_object *d = desired_task(obj, t, name, ns);
                rc = d ? op_ensure(cx, RES_TASK, d, err)
                       : merr_set(err, -ENOMEM, "building a validation task");
        }
        if (rc < 0)
                return rc;

        const char *phase = vt ? vt->status.phase : NULL;
        if (phase && task_phase_is_final(phase)) {
                bool passed = strcmp(phase, "Succeeded") == 0;
                const char *out = vt->status.stdout_tail, *errs = vt->status.stderr_tail;
                char msg[1200], output[OUTPUT_MAX + 1];
                size_t no = out ? strlen(out) : 0, ne = errs ? strlen(errs) : 0;
                /* stdout then stderr, each cut from the front so that the end of both fits */
                size_t keep_e = ne > OUTPUT_MAX / 2 && no > OUTPUT_MAX / 2 ? OUTPUT_MAX / 2 : ne;
                keep_e = keep_e > OUTPUT_MAX ? OUTPUT_MAX : keep_e;
                size_t keep_o = no > OUTPUT_MAX - keep_e ? OUTPUT_MAX - keep_e : no;
                snprintf(output, sizeof(output), "%s%s", out ? out + no - keep_o : "",
                        errs ? errs + ne - keep_e : "");
                if (passed)
                        snprintf(msg, sizeof(msg), "the check command succeeded in Sandbox %s", name);
                else
                        snprintf(msg, sizeof(msg), "the check command ended %s (%s): %s", phase,
                                vt->status.reason ? vt->status.reason : "no reason",
                                vt->status.message ? vt->status.message : "");
                const char *done = vt->status.completion_time;
                if (result(ret, passed ? "Passed" : "Failed", version, msg, done ? done : now, output) < 0)
                        return merr_set(err, -ENOMEM, "the validation of template %s", tname);
                op_event(cx, obj, passed ? "Normal" : "Warning",
                        passed ? "ValidationPassed" : "ValidationFailed", "version %s: %s", version, msg);
                return cleanup(cx, ns, name, err);
        }

        /* bounded by the check's timeout from the sandbox's creation */
        struct timestamp created, tnow;
        int64_t age = 0, bound = t->spec.check.timeout_seconds * NS_PER_S;
        const char *c = sb ? kube_str(sb, "metadata.creationTimestamp") : NULL;
        _cleanup_(sandbox_freep) struct sandbox *sv = NULL;
        timestamp_now(&tnow);
        if (c && timestamp_parse(c, &created, NULL) == 0)
                timestamp_diff(&tnow, &created, &age);
        if (sb && age >= bound) {
                char msg[1200];
                if (sandbox_from_json(sb, &sv, NULL) < 0)
                        sv = NULL;
                snprintf(msg, sizeof(msg),
                        "validation did not finish within %lld s (spec.check.timeoutSeconds): sandbox %s, "
                        "task %s",
                        (long long) t->spec.check.timeout_seconds,
                        sv && sv->status.phase ? sv->status.phase : "not started",
                        phase ? phase : "not started");
                if (result(ret, "Failed", version, msg, now, NULL) < 0)
                        return merr_set(err, -ENOMEM, "the validation of template %s", tname);
                op_event(cx, obj, "Warning", "ValidationFailed", "version %s: %s", version, msg);
                return cleanup(cx, ns, name, err);
        }
        char msg[300];
        snprintf(msg, sizeof(msg), "validating version %s in Sandbox %s (check %s)", version, name,
                phase ? phase : "waiting for the sandbox");
        cx->requeue_after_ns = bound - age > 0 ? bound - age : NS_PER_S;
        rc = result(ret, "NotTested", NULL, msg, NULL, NULL);
        return rc < 0 ? merr_set(err, rc, "the validation of template %s", tname) : 0;
}
