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

#include "api/task.h"
#include "api/template.h"
#include "jsonutil.h"
#include "log.h"
#include "operator/internal.h"
#include "timestamp.h"

#define NS_PER_S   1000000000LL
#define OUTPUT_MAX 16384

static json_object *result(
        const char *status, const char *version, const char *message, const char *time, const char *output) {
        json_object *v = json_object_new_object();
        json_object_object_add(v, "status", json_object_new_string(status));
        if (message && *message)
                json_object_object_add(v, "message", json_object_new_string(message));
        if (time && *time)
                json_object_object_add(v, "time", json_object_new_string(time));
        if (version)
                json_object_object_add(v, "version", json_object_new_string(version));
        if (output && *output)
                json_object_object_add(v, "output", json_object_new_string(output));
        return v;
}

struct ready_scan {
        const char *tname, *tns, *version;
        char found[128];
};

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

static json_object *desired(json_object *tpl, const char *kind, const char *name, const char *ns) {
        json_object *o = json_object_new_object(), *meta = op_meta(name, ns, NULL), *labels = NULL;
        json_object_object_add(o, "apiVersion", json_object_new_string("mbox.dev/v1alpha1"));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_get_ex(meta, "labels", &labels);
        json_object_object_add(
                labels, LABEL_VALIDATION_OF, json_object_new_string(kube_str(tpl, "metadata.name")));
        op_owner_ref(meta, tpl, true);
        json_object_object_add(o, "metadata", meta);
        return o;
}

int op_validate_template(struct op_ctx *cx, json_object *obj, const struct template *t, const char *version,
        bool library, json_object **ret, struct merr *err) {
        const char *ns = kube_str(obj, "metadata.namespace"), *tname = kube_str(obj, "metadata.name");
        const char *old_status = kube_str(obj, "status.validation.status"),
                   *old_version = kube_str(obj, "status.validation.version");
        char name[64], key[160], now[64];
        snprintf(name, sizeof(name), "v-%.50s-%s", tname, version);
        while (name[strlen(name) - 1] == '-')
                name[strlen(name) - 1] = '\0';
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        op_now(now, sizeof(now));

        /* this version has its result: keep it, and clear what the run left */
        if (old_version && strcmp(old_version, version) == 0 && old_status &&
                strcmp(old_status, "NotTested") != 0) {
                json_object *v = NULL;
                v = kube_field(obj, "status.validation");
                *ret = json_object_get(v);
                return t->spec.has_check ? cleanup(cx, ns, name, err) : 0;
        }
        if (!t->spec.has_check || library) {
                struct ready_scan s = {.tname = tname, .tns = ns, .version = version};
                char msg[256];
                informer_foreach(cx->op->inf[RES_SANDBOX], library ? NULL : ns, ready_fn, &s);
                if (s.found[0]) {
                        snprintf(msg, sizeof(msg), "Sandbox %s, started from this version, became ready%s",
                                s.found,
                                library ? " (library templates are validated by their first sandbox)" : "");
                        *ret = result("Passed", version, msg, now, NULL);
                } else
                        *ret = result("NotTested", NULL,
                                "validated when the first sandbox of this version is Running and Ready", NULL,
                                NULL);
                return 0;
        }

        _cleanup_json_ json_object *sb = op_get(cx->op, RES_SANDBOX, key),
                                   *task = op_get(cx->op, RES_TASK, key);
        int rc = 0;
        if (!sb) {
                _cleanup_json_ json_object *d = desired(obj, "Sandbox", name, ns),
                                           *spec = json_object_new_object(), *ref = json_object_new_object();
                json_object_object_add(ref, "name", json_object_new_string(tname));
                json_object_object_add(spec, "templateRef", json_object_get(ref));
                json_object_object_add(d, "spec", json_object_get(spec));
                rc = op_ensure(cx, RES_SANDBOX, d, err);
                if (rc > 0)
                        op_event(cx, obj, "Normal", "Validating", "validating version %s in Sandbox %s",
                                version, name);
        }
        if (rc >= 0 && !task) {
                _cleanup_json_ json_object *d = desired(obj, "ExecutionTask", name, ns),
                                           *spec = json_object_new_object(), *ref = json_object_new_object(),
                                           *cmd = json_object_new_array();
                json_object_object_add(ref, "name", json_object_new_string(name));
                json_object_object_add(spec, "sandboxRef", json_object_get(ref));
                for (size_t i = 0; i < t->spec.check.command.n; i++)
                        json_object_array_add(cmd, json_object_new_string(t->spec.check.command.v[i]));
                json_object_object_add(spec, "command", json_object_get(cmd));
                json_object_object_add(
                        spec, "timeoutSeconds", json_object_new_int64(t->spec.check.timeout_seconds));
                json_object_object_add(d, "spec", json_object_get(spec));
                rc = op_ensure(cx, RES_TASK, d, err);
        }
        if (rc < 0)
                return rc;

        const char *phase = task ? kube_str(task, "status.phase") : NULL;
        if (phase && task_phase_is_final(phase)) {
                bool passed = strcmp(phase, "Succeeded") == 0;
                const char *out = kube_str(task, "status.stdoutTail"),
                           *errs = kube_str(task, "status.stderrTail");
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
                                kube_str(task, "status.reason") ? kube_str(task, "status.reason")
                                                                : "no reason",
                                kube_str(task, "status.message") ? kube_str(task, "status.message") : "");
                const char *done = kube_str(task, "status.completionTime");
                *ret = result(passed ? "Passed" : "Failed", version, msg, done ? done : now, output);
                op_event(cx, obj, passed ? "Normal" : "Warning",
                        passed ? "ValidationPassed" : "ValidationFailed", "version %s: %s", version, msg);
                return cleanup(cx, ns, name, err);
        }

        /* bounded by the check's timeout from the sandbox's creation */
        struct timestamp created, tnow;
        int64_t age = 0, bound = t->spec.check.timeout_seconds * NS_PER_S;
        const char *c = sb ? kube_str(sb, "metadata.creationTimestamp") : NULL;
        timestamp_now(&tnow);
        if (c && timestamp_parse(c, &created, NULL) == 0)
                timestamp_diff(&tnow, &created, &age);
        if (sb && age >= bound) {
                char msg[1200];
                snprintf(msg, sizeof(msg),
                        "validation did not finish within %lld s (spec.check.timeoutSeconds): sandbox %s, "
                        "task %s",
                        (long long) t->spec.check.timeout_seconds,
                        kube_str(sb, "status.phase") ? kube_str(sb, "status.phase") : "not started",
                        phase ? phase : "not started");
                *ret = result("Failed", version, msg, now, NULL);
                op_event(cx, obj, "Warning", "ValidationFailed", "version %s: %s", version, msg);
                return cleanup(cx, ns, name, err);
        }
        char msg[300];
        snprintf(msg, sizeof(msg), "validating version %s in Sandbox %s (check %s)", version, name,
                phase ? phase : "waiting for the sandbox");
        *ret = result("NotTested", NULL, msg, NULL, NULL);
        cx->requeue_after_ns = bound - age > 0 ? bound - age : NS_PER_S;
        return 0;
}
