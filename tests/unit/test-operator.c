/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's pure parts: the cache comparison that decides whether to write, which runtime updates wake a
 * sandbox, and the rendering of a template into the SandboxTemplate spec mbox sends (security context,
 * resources, workspace, version), and what the database keeps of a task (its output's limit, its records'
 * retention). */
#include <stdio.h>
#include <string.h>

#include "api/project.h"
#include "api/template.h"
#include "jsonutil.h"
#include "operator/controller.h"
#include "operator/runtime.h"
#include "testapi.h"

static bool subset(const char *want, const char *have) {
        _cleanup_json_ json_object *w = test_parse(want), *h = test_parse(have);
        return op_json_subset(w, h);
}

START_TEST(test_subset) {
        /* fields the server adds do not matter */
        ck_assert(subset("{\"a\":1}", "{\"a\":1,\"b\":2}"));
        ck_assert(subset("{\"m\":{\"x\":\"y\"}}", "{\"m\":{\"x\":\"y\",\"uid\":\"u\"}}"));
        /* a changed or missing field does */
        ck_assert(!subset("{\"a\":1}", "{\"a\":2}"));
        ck_assert(!subset("{\"a\":1}", "{\"b\":1}"));
        ck_assert(!subset("{\"a\":\"1\"}", "{\"a\":1}"));
        /* arrays compare item by item, with the same length */
        ck_assert(subset("{\"l\":[{\"n\":\"a\"}]}", "{\"l\":[{\"n\":\"a\",\"d\":1}]}"));
        ck_assert(!subset("{\"l\":[{\"n\":\"a\"}]}", "{\"l\":[{\"n\":\"a\"},{\"n\":\"b\"}]}"));
        ck_assert(!subset("{\"l\":[\"a\",\"b\"]}", "{\"l\":[\"b\",\"a\"]}"));
        /* numbers are numbers */
        ck_assert(subset("{\"n\":1}", "{\"n\":1.0}"));
        /* an empty object wanted matches an empty object kept */
        ck_assert(subset("{\"s\":{}}", "{\"s\":{}}"));
        ck_assert(!subset("{\"s\":{\"matchLabels\":{}}}", "{\"s\":{}}"));
}
END_TEST

static const char *str(json_object *o, const char *path) {
        const char *s = NULL;
        ck_assert_msg(json_get_string(o, path, 0, &s, NULL) == 1, "%s", path);
        return s;
}

START_TEST(test_render_restricted_pod) {
        _cleanup_(template_freep) struct template *t = test_template(",\"resourcePreset\":\"Medium\"");
        _cleanup_json_ json_object *spec = runtime_template_spec(t, NULL);
        bool b;
        int64_t n;

        ck_assert_int_eq(
                json_get_bool(spec, "podTemplate.spec.automountServiceAccountToken", 0, &b, NULL), 1);
        ck_assert(!b);
        ck_assert_int_eq(
                json_get_bool(spec, "podTemplate.spec.securityContext.runAsNonRoot", 0, &b, NULL), 1);
        ck_assert(b);
        ck_assert_int_eq(json_get_int64(spec, "podTemplate.spec.securityContext.runAsUser", 0, &n, NULL), 1);
        ck_assert_int_ne(n, 0);
        ck_assert_str_eq(str(spec, "podTemplate.spec.securityContext.seccompProfile.type"), "RuntimeDefault");
        ck_assert_str_eq(str(spec, "podTemplate.spec.serviceAccountName"), "mbox-sandbox");
        ck_assert_int_eq(
                json_get_bool(spec, "podTemplate.spec.containers[0].securityContext.allowPrivilegeEscalation",
                        0, &b, NULL),
                1);
        ck_assert(!b);
        ck_assert_str_eq(
                str(spec, "podTemplate.spec.containers[0].securityContext.capabilities.drop[0]"), "ALL");
        /* Medium preset */
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].resources.requests.cpu"), "500m");
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].resources.limits.memory"), "2Gi");
        /* workspace: a 1Gi PVC at the default working dir */
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].workingDir"), "/workspace");
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].volumeMounts[0].mountPath"), "/workspace");
        ck_assert_str_eq(str(spec, "volumeClaimTemplates[0].metadata.name"), "workspace");
        ck_assert_str_eq(str(spec, "volumeClaimTemplates[0].spec.resources.requests.storage"), "1Gi");
        /* the network policy is the project's (mbox's), which selects the pod by its egress class */
        ck_assert_str_eq(str(spec, "networkPolicyManagement"), "Unmanaged");
        json_object *np = NULL;
        ck_assert_int_ne(json_pointer_get(spec, "/networkPolicy", &np), 0);
        ck_assert_str_eq(str(spec, "podTemplate.metadata.labels.mbox\\.dev/egress"), "Restricted");
}
END_TEST

START_TEST(test_render_explicit_values_win) {
        _cleanup_(template_freep) struct template *t = test_template(
                ",\"resourcePreset\":\"Small\",\"resources\":{\"requests\":{\"cpu\":\"2\"}},"
                "\"storage\":{\"size\":\"5Gi\",\"mountPath\":\"/data\"},\"workingDir\":\"/src\"");
        _cleanup_json_ json_object *spec = runtime_template_spec(t, NULL);

        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].resources.requests.cpu"), "2");
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].resources.requests.memory"), "512Mi");
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].volumeMounts[0].mountPath"), "/data");
        ck_assert_str_eq(str(spec, "podTemplate.spec.containers[0].workingDir"), "/src");
        ck_assert_str_eq(str(spec, "volumeClaimTemplates[0].spec.resources.requests.storage"), "5Gi");
}
END_TEST

START_TEST(test_version_follows_content) {
        _cleanup_(template_freep) struct template *a = test_template(""), *b = test_template(""),
                                                  *c = test_template(
                                                          ",\"env\":[{\"name\":\"X\",\"value\":\"1\"}]");
        char va[9], vb[9], vc[9], name[128];

        ck_assert_int_eq(runtime_version(a, NULL, va), 0);
        ck_assert_int_eq(runtime_version(b, NULL, vb), 0);
        ck_assert_int_eq(runtime_version(c, NULL, vc), 0);
        ck_assert_str_eq(va, vb);
        ck_assert_str_ne(va, vc);
        ck_assert_uint_eq(strlen(va), 8);
        runtime_name("a-very-long-template-name-that-goes-on-and-on-and-on", va, name, sizeof(name));
        ck_assert_uint_le(strlen(name), 49); /* pool sandboxes add -xxxxx and must stay DNS labels */
}
END_TEST

/* a sandbox's own ServiceAccount: a projection of its own, cold, labelled with the account */
START_TEST(test_own_service_account) {
        _cleanup_(template_freep) struct template *t = test_template(",\"warmPool\":{\"replicas\":2}");
        char vd[9], vm[9], vo[9];
        int64_t n;

        ck_assert_ptr_null(runtime_own_sa(NULL));
        ck_assert_ptr_null(runtime_own_sa("mbox-sandbox"));
        ck_assert_str_eq(runtime_own_sa("builder"), "builder");
        ck_assert_int_eq(runtime_version(t, NULL, vd), 0);
        ck_assert_int_eq(runtime_version(t, "mbox-sandbox", vm), 0);
        ck_assert_int_eq(runtime_version(t, "builder", vo), 0);
        ck_assert_str_eq(vd, vm);
        ck_assert_str_ne(vd, vo);

        _cleanup_json_ json_object *st = runtime_template_object(t, "p", "t-x", vo, "builder", NULL);
        _cleanup_json_ json_object *wp = runtime_pool_object(t, "p", "t-x", vo, "builder", NULL, true);
        _cleanup_json_ json_object *dwp = runtime_pool_object(t, "p", "t-x", vd, NULL, NULL, true);
        ck_assert_str_eq(str(st, "spec.podTemplate.spec.serviceAccountName"), "builder");
        ck_assert_str_eq(str(st, "metadata.labels.mbox\\.dev/service-account"), "builder");
        ck_assert_str_eq(str(wp, "metadata.labels.mbox\\.dev/service-account"), "builder");
        ck_assert_int_eq(json_get_int64(wp, "spec.replicas", 0, &n, NULL), 1);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(json_get_int64(dwp, "spec.replicas", 0, &n, NULL), 1);
        ck_assert_int_eq(n, 2);
        ck_assert_int_eq(json_get_string(dwp, "metadata.labels.mbox\\.dev/service-account", JSON_OPTIONAL,
                                 &(const char *){NULL}, NULL),
                0);
}
END_TEST

START_TEST(test_hash_matches_agent_sandbox) {
        char h[9];
        /* FNV-1a 32 of "", the label agent-sandbox puts on a sandbox's pods and PVCs uses the same hash */
        ck_assert_str_eq(op_hash("", h), "811c9dc5");
        ck_assert_str_eq(op_hash("a", h), "e40c292c");
}
END_TEST

/* a Ready condition without its closing brace */
#define READY                                                                           \
        "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"DependenciesNotReady\"," \
        "\"message\":\"Pod not ready\""

START_TEST(test_runtime_changes_that_matter) {
        _cleanup_json_ json_object *old_obj = test_parse(
                "{\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"1\",\"annotations\":{\"x\":\"1\"},"
                "\"ownerReferences\":[{\"kind\":\"SandboxClaim\",\"name\":\"s\",\"controller\":true}]},"
                "\"spec\":{\"operatingMode\":\"Running\",\"replicas\":1},"
                "\"status\":{\"replicas\":0,\"conditions\":[" READY "}]}}");
        struct {
                const char *path, *value;
                bool matters;
        } cases[] = {
                /* the substrate's bookkeeping: nothing an mbox Sandbox shows */
                {"/metadata/resourceVersion", "\"2\"", false},
                {"/metadata/annotations", "{\"x\":\"2\"}", false},
                {"/status/replicas", "1", false},
                /* Ready with a new transition time alone */
                {"/status/conditions", "[" READY ",\"lastTransitionTime\":\"2026-11-27T00:00:00Z\"}]", false},
                /* the pod's name and address, the mode, deletion, the claim's Sandbox, a new owner (a warm
                 * pool's Sandbox adopted by a claim), Ready's message, a Suspended condition */
                {"/metadata/annotations", "{\"x\":\"1\",\"agents.x-k8s.io/pod-name\":\"p\"}", true},
                {"/status/podIPs", "[\"10.0.0.1\"]", true},
                {"/spec/operatingMode", "\"Suspended\"", true},
                {"/metadata/deletionTimestamp", "\"2026-11-27T00:00:00Z\"", true},
                {"/status/sandbox", "{\"name\":\"s\"}", true},
                {"/metadata/ownerReferences",
                        "[{\"kind\":\"SandboxClaim\",\"name\":\"t\",\"controller\":true}]", true},
                {"/status/conditions/0/message", "\"Pod pending\"", true},
                {"/status/conditions", "[" READY "},{\"type\":\"Suspended\",\"status\":\"True\"}]", true},
        };
        ck_assert(op_runtime_changed(NULL, old_obj)); /* an add */
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_json_ json_object *new_obj = NULL;
                ck_assert_int_eq(json_object_deep_copy(old_obj, &new_obj, NULL), 0);
                ck_assert_msg(json_pointer_set(&new_obj, cases[i].path, test_parse(cases[i].value)) == 0,
                        "cannot set %s", cases[i].path);
                ck_assert_msg(op_runtime_changed(old_obj, new_obj) == cases[i].matters, "%s to %s: %s",
                        cases[i].path, cases[i].value, cases[i].matters ? "not seen" : "seen");
        }
}
END_TEST

/* Which sandboxes wait for room, and which changes of a sandbox make room: a deleting sandbox neither waits
 * nor, after its deletion began, makes room again at each status write. */
START_TEST(test_room_under_quota) {
#define DELETING "\"deletionTimestamp\":\"2026-11-27T00:00:00Z\""
        struct {
                const char *json;
                bool waits;
        } w[] = {
                {"{\"metadata\":{}}", true},
                {"{\"metadata\":{},\"status\":{\"claimName\":\"s\",\"phase\":\"Running\"}}", false},
                {"{\"metadata\":{},\"status\":{\"claimName\":\"s\",\"reason\":\"QuotaExceeded\"}}", true},
                {"{\"metadata\":{" DELETING "},\"status\":{\"phase\":\"Terminating\"}}", false},
                {"{\"metadata\":{" DELETING "},\"status\":{\"reason\":\"QuotaExceeded\"}}", false},
        };
        for (size_t i = 0; i < ARRAY_SIZE(w); i++) {
                _cleanup_json_ json_object *o = test_parse(w[i].json);
                ck_assert_msg(op_sandbox_waits(o) == w[i].waits, "%s", w[i].json);
        }
        struct {
                const char *old_json, *new_json;
                bool frees;
        } f[] = {
                {NULL, "{\"metadata\":{},\"status\":{\"phase\":\"Pending\"}}", false},
                {"{\"metadata\":{},\"status\":{\"phase\":\"Running\"}}",
                        "{\"metadata\":{},\"status\":{\"phase\":\"Stopped\"}}", true},
                {"{\"metadata\":{},\"status\":{\"phase\":\"Running\"}}",
                        "{\"metadata\":{},\"status\":{\"phase\":\"Expired\"}}", true},
                {"{\"metadata\":{},\"status\":{\"phase\":\"Stopped\"}}",
                        "{\"metadata\":{},\"status\":{\"phase\":\"Stopped\",\"reason\":\"x\"}}", false},
                {"{\"metadata\":{},\"status\":{\"phase\":\"Running\"}}",
                        "{\"metadata\":{" DELETING "},\"status\":{\"phase\":\"Running\"}}", true},
                {NULL, "{\"metadata\":{" DELETING "},\"status\":{\"phase\":\"Terminating\"}}", true},
                {"{\"metadata\":{" DELETING "},\"status\":{\"phase\":\"Running\"}}",
                        "{\"metadata\":{" DELETING "},\"status\":{\"phase\":\"Terminating\"}}", false},
        };
        for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
                _cleanup_json_ json_object *o = f[i].old_json ? test_parse(f[i].old_json) : NULL;
                _cleanup_json_ json_object *n = test_parse(f[i].new_json);
                ck_assert_msg(
                        op_sandbox_frees_room(o, n) == f[i].frees, "%s to %s", f[i].old_json, f[i].new_json);
        }
#undef DELETING
}
END_TEST

static struct project *project_of(const char *spec_json) {
        char doc[512];
        snprintf(doc, sizeof(doc),
                "{\"apiVersion\":\"mbox.dev/v1alpha1\",\"kind\":\"Project\",\"metadata\":{\"name\":"
                "\"p\"},\"spec\":%s}",
                spec_json);
        _cleanup_json_ json_object *o = test_parse(doc);
        struct project *p = NULL;
        struct merr err = MERR_INIT;
        ck_assert_msg(project_from_json(o, &p, &err) == 0, "%s: %s", spec_json, merr_msg(&err));
        return p;
}

/* A project may store less output than the operator allows, never more; its retention replaces the
 * operator's, longer or shorter. */
START_TEST(test_task_records_policy) {
        struct {
                int64_t flag;
                const char *spec;
                uint64_t limit;
                bool project;
        } l[] = {
                {64 << 20, NULL, 64 << 20, false},
                {64 << 20, "{}", 64 << 20, false},
                {64 << 20, "{\"quota\":{\"maxTaskOutput\":\"1Mi\"}}", 1 << 20, true},
                {64 << 20, "{\"quota\":{\"maxTaskOutput\":\"1Gi\"}}", 64 << 20, false},
                {64 << 20, "{\"quota\":{\"maxTaskOutput\":67108864}}", 64 << 20, false},
                {0, "{\"quota\":{\"maxTaskOutput\":\"2k\"}}", 2000, true},
                {0, NULL, 0, false},
        };
        for (size_t i = 0; i < ARRAY_SIZE(l); i++) {
                _cleanup_(project_freep) struct project *p = l[i].spec ? project_of(l[i].spec) : NULL;
                const char *whose = NULL;
                ck_assert_uint_eq(op_task_output_limit(l[i].flag, p, &whose), l[i].limit);
                ck_assert_msg(strstr(whose, l[i].project ? "maxTaskOutput" : "--max-task-output"), "%s: %s",
                        l[i].spec, whose);
        }
        struct {
                int64_t flag_ms;
                const char *spec;
                int64_t keep_ms;
        } r[] = {
                {0, NULL, 0},
                {3600000, NULL, 3600000},
                {3600000, "{\"policy\":{\"lifecycle\":{\"idleTimeout\":\"1m\"}}}", 3600000},
                {3600000, "{\"policy\":{\"lifecycle\":{\"taskOutputRetention\":\"30s\"}}}", 30000},
                {3600000, "{\"policy\":{\"lifecycle\":{\"taskOutputRetention\":\"720h\"}}}", 720LL * 3600000},
                {0, "{\"policy\":{\"lifecycle\":{\"taskOutputRetention\":\"10us\"}}}", 1},
        };
        for (size_t i = 0; i < ARRAY_SIZE(r); i++) {
                _cleanup_(project_freep) struct project *p = r[i].spec ? project_of(r[i].spec) : NULL;
                ck_assert_int_eq(op_task_record_retention_ms(r[i].flag_ms, p), r[i].keep_ms);
        }
}
END_TEST

/* The table the manager runs: every controller reconciles its primary, watches it, and names unique. */
START_TEST(test_controllers_describe_themselves) {
        for (int c = 0; c < CTL__MAX; c++) {
                const struct op_controller *ctl = op_controllers[c];
                bool watches_primary = false;
                ck_assert_ptr_nonnull(ctl);
                ck_assert_ptr_nonnull(ctl->reconcile);
                ck_assert_ptr_nonnull(ctl->workers);
                for (const struct op_watch *w = ctl->watches; w->map; w++)
                        watches_primary |= w->res == ctl->primary;
                ck_assert_msg(watches_primary, "%s does not watch its primary", ctl->name);
                for (int d = 0; d < c; d++)
                        ck_assert_str_ne(ctl->name, op_controllers[d]->name);
        }
}
END_TEST

/* Hands an event to the mappers of controller only (CTL__MAX: every one), as the manager does. */
static void route_to(struct mbox_operator *op, enum op_ctl only, enum op_res res, const char *key,
        const char *old_json, const char *new_json, bool deleted) {
        _cleanup_json_ json_object *old_obj = old_json ? json_tokener_parse(old_json) : NULL;
        _cleanup_json_ json_object *obj = json_tokener_parse(new_json);
        for (int c = 0; c < CTL__MAX; c++) {
                struct op_change ch = {op, c, res, key, old_obj, obj, deleted};
                if (only != CTL__MAX && c != (int) only)
                        continue;
                for (const struct op_watch *w = op_controllers[c]->watches; w->map; w++)
                        if (w->res == res)
                                w->map(&ch);
        }
}

#define route_event(op, ...) route_to(op, CTL__MAX, __VA_ARGS__)

static void assert_queue(struct mbox_operator *op, enum op_ctl ctl, const char *want) {
        char *key = NULL;
        if (!want) {
                ck_assert_uint_eq(workqueue_len(op->queue[ctl]), 0);
                return;
        }
        ck_assert_int_ge(workqueue_get(op->queue[ctl], &key), 0);
        ck_assert_str_eq(key, want);
        workqueue_done(op->queue[ctl], key);
        free(key);
}

START_TEST(test_mappers_route_children_to_their_owner) {
        struct mbox_operator op = {0};
        for (int c = 0; c < CTL__MAX; c++)
                ck_assert_int_ge(workqueue_new(NULL, &op.queue[c]), 0);

        /* a policy object names its Project in a label; the Project is cluster-wide */
        route_event(&op, RES_NETWORKPOLICY, "mbox-a/egress", NULL,
                "{\"metadata\":{\"name\":\"egress\",\"namespace\":\"mbox-a\",\"labels\":{\"mbox.dev/"
                "project\":\"a\"}}}",
                false);
        assert_queue(&op, CTL_PROJECT, "a");
        assert_queue(&op, CTL_SANDBOX, NULL);

        /* a claim names its Sandbox in a label, and matters only when the runtime changed */
        const char *claim =
                "{\"metadata\":{\"name\":\"web\",\"namespace\":\"n\",\"labels\":{\"mbox.dev/sandbox\":"
                "\"web\"}},\"status\":{\"sandbox\":{\"name\":\"web\"}}}";
        route_event(&op, RES_AS_CLAIM, "n/web", claim, claim, false);
        assert_queue(&op, CTL_SANDBOX, NULL);
        route_event(&op, RES_AS_CLAIM, "n/web", NULL, claim, true);
        assert_queue(&op, CTL_SANDBOX, "n/web");

        /* a projected SandboxTemplate names its EnvironmentTemplate */
        route_event(&op, RES_AS_TEMPLATE, "n/web-1234", NULL,
                "{\"metadata\":{\"name\":\"web-1234\",\"namespace\":\"n\",\"labels\":{\"mbox.dev/template\":"
                "\"web\",\"mbox.dev/template-namespace\":\"lib\"}}}",
                false);
        assert_queue(&op, CTL_TEMPLATE, "lib/web");

        /* a task that validates a template wakes it as well as itself */
        route_event(&op, RES_TASK, "n/v-web", NULL,
                "{\"metadata\":{\"name\":\"v-web\",\"namespace\":\"n\",\"labels\":{\"mbox.dev/"
                "validation-of\":"
                "\"web\"}}}",
                false);
        assert_queue(&op, CTL_TASK, "n/v-web");
        assert_queue(&op, CTL_TEMPLATE, "n/web");

        /* a new sandbox without a claim goes ahead of the keys already waiting (the task controller's
         * mapper, which reads the task cache, is left out: there is none here) */
        route_to(&op, CTL_SANDBOX, RES_SANDBOX, "n/old",
                "{\"metadata\":{\"name\":\"old\",\"namespace\":\"n\"}}",
                "{\"metadata\":{\"name\":\"old\",\"namespace\":\"n\"}}", false);
        route_to(&op, CTL_SANDBOX, RES_SANDBOX, "n/new", NULL,
                "{\"metadata\":{\"name\":\"new\",\"namespace\":\"n\"}}", false);
        assert_queue(&op, CTL_SANDBOX, "n/new");
        assert_queue(&op, CTL_SANDBOX, "n/old");

        for (int c = 0; c < CTL__MAX; c++)
                workqueue_free(op.queue[c]);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("operator");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_subset);
        tcase_add_test(tc, test_render_restricted_pod);
        tcase_add_test(tc, test_render_explicit_values_win);
        tcase_add_test(tc, test_version_follows_content);
        tcase_add_test(tc, test_own_service_account);
        tcase_add_test(tc, test_hash_matches_agent_sandbox);
        tcase_add_test(tc, test_runtime_changes_that_matter);
        tcase_add_test(tc, test_room_under_quota);
        tcase_add_test(tc, test_task_records_policy);
        tcase_add_test(tc, test_controllers_describe_themselves);
        tcase_add_test(tc, test_mappers_route_children_to_their_owner);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(suite)
