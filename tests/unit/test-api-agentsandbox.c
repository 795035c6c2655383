/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed views of the agent-sandbox kinds mbox writes (api/agentsandbox.h): what the operator renders
 * for the example templates parses and emits back byte for byte, objects round-trip, invalid ones are
 * refused naming the field, and the template version (a hash of the emitted spec) is the one the code
 * before the typed views computed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/agentsandbox.h"
#include "api/sandbox.h"
#include "api/template.h"
#include "jsonutil.h"
#include "operator/runtime.h"
#include "testapi.h"
#include "yaml2json.h"

static const char *examples(void) {
        const char *d = secure_getenv("MBOX_EXAMPLES");
        return d && *d ? d : "examples";
}

static json_object *load_yaml(const char *path) {
        static char data[256 * 1024];
        struct merr e = MERR_INIT;
        json_object *o = NULL;
        FILE *f = fopen(path, "re");
        size_t n;

        ck_assert_msg(f != NULL, "open '%s': %s", path, strerror(errno));
        n = fread(data, 1, sizeof(data), f);
        fclose(f);
        ck_assert_msg(yaml_to_json_one(data, n, NULL, &o, &e) == 0, "%s: %s", path, merr_msg(&e));
        return o;
}

static const char *plain(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* The three kinds behind one interface for the table-driven tests. */
enum kind { K_TEMPLATE, K_POOL, K_CLAIM };

static int kind_parse(enum kind k, json_object *o, void **ret, struct merr *err) {
        switch (k) {
        case K_TEMPLATE:
                return as_template_from_json(o, (struct as_template **) ret, err);
        case K_POOL:
                return as_warmpool_from_json(o, (struct as_warmpool **) ret, err);
        default:
                return as_claim_from_json(o, (struct as_claim **) ret, err);
        }
}

static int kind_emit(enum kind k, const void *v, json_object **ret) {
        switch (k) {
        case K_TEMPLATE:
                return as_template_to_json(v, ret);
        case K_POOL:
                return as_warmpool_to_json(v, ret);
        default:
                return as_claim_to_json(v, ret);
        }
}

/* Equal when they emit the same JSON. */
static bool kind_equal(enum kind k, const void *a, const void *b) {
        _cleanup_json_ json_object *x = NULL, *y = NULL;

        return kind_emit(k, a, &x) == 0 && kind_emit(k, b, &y) == 0 && json_object_equal(x, y);
}

static void kind_free(enum kind k, void *v) {
        switch (k) {
        case K_TEMPLATE:
                as_template_free(v);
                break;
        case K_POOL:
                as_warmpool_free(v);
                break;
        default:
                as_claim_free(v);
        }
}

/* Parses o, emits it, parses that again: the two parses are equal, and when exact, the emitted text is o's. */
static void round_trip(enum kind k, json_object *o, bool exact) {
        void *a = NULL, *b = NULL;
        json_object *out = NULL;
        struct merr e = MERR_INIT;

        ck_assert_msg(kind_parse(k, o, &a, &e) == 0, "%s: %s", plain(o), merr_msg(&e));
        ck_assert_int_eq(kind_emit(k, a, &out), 0);
        if (exact)
                ck_assert_str_eq(plain(out), plain(o));
        ck_assert_msg(kind_parse(k, out, &b, &e) == 0, "%s: %s", plain(out), merr_msg(&e));
        ck_assert_msg(kind_equal(k, a, b), "not equal after a round trip: %s", plain(out));
        kind_free(k, a);
        kind_free(k, b);
        json_object_put(out);
}

static json_object *sandbox_owner(const char *env, struct sandbox **ret) {
        char buf[1024];
        struct merr e = MERR_INIT;
        snprintf(buf, sizeof(buf),
                "{\"apiVersion\":\"mbox.dev/v1alpha1\",\"kind\":\"Sandbox\","
                "\"metadata\":{\"name\":\"demo\",\"namespace\":\"p\",\"uid\":\"sb-1\"},\"spec\":{%s}}",
                env);
        json_object *o = test_parse(buf);
        ck_assert_msg(sandbox_from_json(o, ret, &e) == 0, "%s", merr_msg(&e));
        return o;
}

/* What the operator renders for every example template parses cleanly and emits back byte for byte. */
START_TEST(test_runtime_output_parses) {
        _cleanup_json_ json_object *owner =
                test_parse("{\"apiVersion\":\"mbox.dev/v1alpha1\",\"kind\":\"EnvironmentTemplate\","
                           "\"metadata\":{\"name\":\"t\",\"namespace\":\"p\",\"uid\":\"u-1\"}}");
        DIR *d = opendir(examples());
        struct dirent *de;
        size_t templates = 0;

        ck_assert_msg(d != NULL, "open '%s'", examples());
        while ((de = readdir(d))) {
                char path[1024], version[9], name[128];
                struct template *t = NULL;
                struct merr e = MERR_INIT;
                size_t n = strlen(de->d_name);

                if (n < 5 || strcmp(de->d_name + n - 5, ".yaml") != 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", examples(), de->d_name);
                json_object *doc = load_yaml(path);
                if (strcmp(json_object_get_string(json_object_object_get(doc, "kind")),
                            "EnvironmentTemplate")) {
                        json_object_put(doc);
                        continue;
                }
                ck_assert_msg(template_from_json(doc, &t, &e) == 0, "%s: %s", path, merr_msg(&e));
                ck_assert_int_eq(runtime_version(t, NULL, version), 0);
                runtime_name(t->meta.name, version, name, sizeof(name));
                /* in the template's namespace (owned) and in another (a library projection) */
                for (int own = 0; own < 2; own++) {
                        const char *ns = own ? t->meta.namespace : "elsewhere";
                        json_object *st = runtime_template_object(t, ns, name, version, NULL, owner);
                        json_object *wp = runtime_pool_object(t, ns, name, version, NULL, owner, true);
                        ck_assert(st && wp);
                        round_trip(K_TEMPLATE, st, true);
                        round_trip(K_POOL, wp, true);
                        json_object_put(st);
                        json_object_put(wp);
                }
                const char *envs[] = {"", "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\"}]"};
                for (size_t i = 0; i < 2; i++) {
                        struct sandbox *sb = NULL;
                        json_object *so = sandbox_owner(envs[i], &sb);
                        json_object *c = runtime_claim("demo", "p", "demo-project", name, version, sb, so);
                        ck_assert(c != NULL);
                        round_trip(K_CLAIM, c, true);
                        json_object_put(c);
                        json_object_put(so);
                        sandbox_free(sb);
                }
                template_free(t);
                json_object_put(doc);
                templates++;
        }
        closedir(d);
        ck_assert_uint_ge(templates, 2);
}
END_TEST

/* A change here renames every SandboxTemplate and pool, and moves running sandboxes to a new version. First
 * computed with the code that built these objects key by key before the typed views; changed once since,
 * when the network policy moved from the SandboxTemplate to the project's NetworkPolicies (the pod carries
 * its egress class instead). */
START_TEST(test_version_unchanged) {
        static const struct {
                const char *extra, *version;
        } cases[] = {
                {"", "68a44c2e"},
                {",\"resourcePreset\":\"Medium\"", "4624a7ad"},
                {",\"ports\":[{\"name\":\"web\",\"port\":3000},{\"name\":\"api\",\"port\":8080,\"protocol\":"
                 "\"TCP\"}]",
                        "548441b7"},
                {",\"network\":{\"egress\":\"Allowed\"}", "88756dfb"},
                /* d52a5b82 before env from a Secret was rendered (now that the project's policy guards it) */
                {",\"env\":[{\"name\":\"S\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}"
                 "]",
                        "8cf9bb10"},
        };
        static const struct {
                const char *file, *version;
        } files[] = {
                {"01-template-nodejs.yaml", "2c815734"},
                {"02-template-busybox.yaml", "e4bc6275"},
        };
        char v[9], path[1024];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(template_freep) struct template *t = test_template(cases[i].extra);
                ck_assert_int_eq(runtime_version(t, NULL, v), 0);
                ck_assert_msg(
                        strcmp(v, cases[i].version) == 0, "case %zu: %s, was %s", i, v, cases[i].version);
        }
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                struct template *t = NULL;
                struct merr e = MERR_INIT;
                snprintf(path, sizeof(path), "%s/%s", examples(), files[i].file);
                _cleanup_json_ json_object *doc = load_yaml(path);
                ck_assert_msg(template_from_json(doc, &t, &e) == 0, "%s", merr_msg(&e));
                ck_assert_int_eq(runtime_version(t, NULL, v), 0);
                ck_assert_msg(strcmp(v, files[i].version) == 0, "%s: %s, was %s", path, v, files[i].version);
                template_free(t);
        }
}
END_TEST

#define GV  "\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\""
#define MD  "\"metadata\":{\"name\":\"x\",\"namespace\":\"p\"}"
#define POD "\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}"

/* Objects written by hand, with what the operator does not render: int quantities, named ports, ipBlock. */
static const struct {
        enum kind k;
        const char *json;
} valid[] = {
        {K_TEMPLATE, "{" GV ",\"kind\":\"SandboxTemplate\"," MD ",\"spec\":{" POD "}}"},
        {K_TEMPLATE,
                "{" GV ",\"kind\":\"SandboxTemplate\",\"metadata\":{\"name\":\"x\",\"namespace\":\"p\","
                "\"labels\":{\"a\":\"b\"},\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"K\","
                "\"name\":\"n\","
                "\"uid\":\"u\"}]},\"spec\":{\"podTemplate\":{\"metadata\":{\"labels\":{\"l\":\"v\"}},"
                "\"spec\":{"
                "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":2}},"
                "\"ports\":[{\"containerPort\":80},{\"containerPort\":80,\"protocol\":\"UDP\"}],"
                "\"env\":[{\"name\":\"E\",\"value\":\"\"}],\"securityContext\":{\"seccompProfile\":{\"type\":"
                "\"Unconfined\"}}},{\"name\":\"d\",\"image\":\"j\"}]}},"
                "\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"w\"},\"spec\":{\"accessModes\":["
                "\"ReadWriteMany\"],\"resources\":{\"requests\":{\"storage\":1073741824}}}}],"
                "\"networkPolicy\":{\"ingress\":[{\"ports\":[{\"port\":\"http\"}]}],\"egress\":[{\"to\":[{"
                "\"ipBlock\":{\"cidr\":\"10.0.0.0/8\"}}]},{}]},\"networkPolicyManagement\":\"Unmanaged\","
                "\"envVarsInjectionPolicy\":\"Overrides\",\"service\":false}}"},
        {K_POOL, "{" GV ",\"kind\":\"SandboxWarmPool\"," MD
                 ",\"spec\":{\"sandboxTemplateRef\":{\"name\":\"t\"}}}"},
        {K_POOL, "{" GV ",\"kind\":\"SandboxWarmPool\"," MD
                 ",\"spec\":{\"replicas\":0,\"sandboxTemplateRef\":{\"name\":\"t\"}}}"},
        {K_CLAIM, "{" GV ",\"kind\":\"SandboxClaim\"," MD ",\"spec\":{\"warmPoolRef\":{\"name\":\"w\"}}}"},
        {K_CLAIM, "{" GV ",\"kind\":\"SandboxClaim\"," MD
                  ",\"spec\":{\"warmPoolRef\":{\"name\":\"w\"},\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}}"},
};

START_TEST(test_round_trip) {
        for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
                _cleanup_json_ json_object *o = test_parse(valid[i].json);
                round_trip(valid[i].k, o, false);
        }
}
END_TEST

START_TEST(test_defaults) {
        struct merr e = MERR_INIT;
        struct as_template *t = NULL;
        struct as_warmpool *p = NULL;
        _cleanup_json_ json_object *to = test_parse(valid[0].json), *po = test_parse(valid[2].json);

        ck_assert_int_eq(as_template_from_json(to, &t, &e), 0);
        ck_assert_str_eq(t->spec.network_policy_management, "Managed");
        ck_assert_str_eq(t->spec.env_vars_injection_policy, "Disallowed");
        ck_assert_int_eq(as_warmpool_from_json(po, &p, &e), 0);
        ck_assert_int_eq(p->replicas, 1);
        as_template_free(t);
        as_warmpool_free(p);

        _cleanup_json_ json_object *vo = test_parse(valid[1].json);
        ck_assert_int_eq(as_template_from_json(vo, &t, &e), 0);
        ck_assert_str_eq(t->spec.pod.containers[0].ports[0].protocol, "TCP");
        ck_assert(t->spec.pod.containers[0].resources.requests_cpu.is_int);
        as_template_free(t);
}
END_TEST

#define T(spec)      K_TEMPLATE, "{" GV ",\"kind\":\"SandboxTemplate\"," MD ",\"spec\":" spec "}"
#define C(container) T("{\"podTemplate\":{\"spec\":{\"containers\":[" container "]}}}")
#define P(spec)      K_POOL, "{" GV ",\"kind\":\"SandboxWarmPool\"," MD ",\"spec\":" spec "}"
#define CL(spec)     K_CLAIM, "{" GV ",\"kind\":\"SandboxClaim\"," MD ",\"spec\":" spec "}"

/* Each refused, with a message naming the field (and the rule where given). */
static const struct {
        enum kind k;
        const char *json, *field, *rule;
} invalid[] = {
        {K_TEMPLATE,
                "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxTemplate\"," MD
                ",\"spec\":{" POD "}}",
                "apiVersion", "Unsupported value"},
        {K_POOL,
                "{" GV ",\"kind\":\"SandboxTemplate\"," MD
                ",\"spec\":{\"sandboxTemplateRef\":{\"name\":\"t\"}}}",
                "kind", "Unsupported value"},
        {T("{}"), "spec.podTemplate", "Required value"},
        {T("{\"podTemplate\":{\"spec\":{\"containers\":[]}}}"), "spec.podTemplate.spec.containers",
                "should have at least 1"},
        {C("{\"image\":\"i\"}"), "spec.podTemplate.spec.containers[0].name", "Required value"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":70000}]}"),
                "spec.podTemplate.spec.containers[0].ports[0].containerPort", "less than or equal to 65535"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":\"80\"}]}"),
                "spec.podTemplate.spec.containers[0].ports[0].containerPort", "must be of type integer"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":80,\"protocol\":\"HTTP\"}]}"),
                "spec.podTemplate.spec.containers[0].ports[0].protocol", "Unsupported value"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":80},{\"containerPort\":80}]}"),
                "spec.podTemplate.spec.containers[0].ports[1]", "Duplicate value"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"imagePullPolicy\":\"Sometimes\"}"),
                "spec.podTemplate.spec.containers[0].imagePullPolicy", "Unsupported value"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"limits\":{\"memory\":\"lots\"}}}"),
                "spec.podTemplate.spec.containers[0].resources.limits.memory", "positive quantity"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"securityContext\":{\"allowPrivilegeEscalation\":\"no\"}}"),
                "spec.podTemplate.spec.containers[0].securityContext.allowPrivilegeEscalation",
                "must be of type boolean"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"securityContext\":{\"seccompProfile\":{}}}"),
                "spec.podTemplate.spec.containers[0].securityContext.seccompProfile.type", "Required value"},
        {C("{\"name\":\"c\",\"image\":\"i\",\"volumeMounts\":[{\"name\":\"w\"}]}"),
                "spec.podTemplate.spec.containers[0].volumeMounts[0].mountPath", "Required value"},
        {C("{\"name\":\"c\",\"image\":\"i\"},{\"name\":\"c\",\"image\":\"j\"}"),
                "spec.podTemplate.spec.containers[1]", "Duplicate value"},
        {T("{" POD ",\"envVarsInjectionPolicy\":\"Sometimes\"}"), "spec.envVarsInjectionPolicy",
                "Unsupported value"},
        {T("{" POD ",\"networkPolicyManagement\":\"Off\"}"), "spec.networkPolicyManagement",
                "Unsupported value"},
        {T("{" POD ",\"service\":1}"), "spec.service", "must be of type boolean"},
        {T("{\"podTemplate\":{\"spec\":{\"securityContext\":{\"runAsUser\":-1},\"containers\":[{\"name\":"
           "\"c\","
           "\"image\":\"i\"}]}}}"),
                "spec.podTemplate.spec.securityContext.runAsUser", "greater than or equal to 0"},
        {T("{" POD ",\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"w\"}}]}"),
                "spec.volumeClaimTemplates[0].spec", "Required value"},
        {T("{" POD ",\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"w\"},\"spec\":{\"accessModes\":["
           "\"RWO\"]}}]}"),
                "spec.volumeClaimTemplates[0].spec.accessModes[0]", "Unsupported value"},
        {T("{" POD ",\"networkPolicy\":{\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/33\"}}]}]}}"),
                "spec.networkPolicy.egress[0].to[0].ipBlock.cidr", "must be a CIDR"},
        {T("{" POD ",\"networkPolicy\":{\"egress\":[{\"ports\":[{\"port\":0}]}]}}"),
                "spec.networkPolicy.egress[0].ports[0].port", "greater than or equal to 1"},
        {T("{" POD ",\"networkPolicy\":{\"ingress\":[{\"from\":[{}]}]}}"),
                "spec.networkPolicy.ingress[0].from[0]", "must specify a peer"},
        {P("{\"replicas\":-1,\"sandboxTemplateRef\":{\"name\":\"t\"}}"), "spec.replicas",
                "greater than or equal to 0"},
        {P("{\"replicas\":2147483648,\"sandboxTemplateRef\":{\"name\":\"t\"}}"), "spec.replicas",
                "less than or equal to 2147483647"},
        {P("{\"replicas\":1.5,\"sandboxTemplateRef\":{\"name\":\"t\"}}"), "spec.replicas",
                "must be of type integer"},
        {P("{\"replicas\":1}"), "spec.sandboxTemplateRef", "Required value"},
        {P("{\"sandboxTemplateRef\":{}}"), "spec.sandboxTemplateRef.name", "Required value"},
        {K_POOL, "{" GV ",\"kind\":\"SandboxWarmPool\"," MD "}", "spec", "Required value"},
        {CL("{}"), "spec.warmPoolRef", "Required value"},
        {CL("{\"warmPoolRef\":{\"name\":\"Not_A_Name\"}}"), "spec.warmPoolRef.name", "should match"},
        {CL("{\"warmPoolRef\":{\"name\":\"w\"},\"env\":[{\"name\":\"A\"}]}"), "spec.env[0].value",
                "Required value"},
        {CL("{\"warmPoolRef\":{\"name\":\"w\"},\"env\":{\"A\":\"1\"}}"), "spec.env", "must be of type array"},
        {K_CLAIM,
                "{" GV ",\"kind\":\"SandboxClaim\",\"metadata\":{\"name\":\"x\",\"namespace\":\"p\","
                "\"ownerReferences\":[{"
                "\"kind\":\"K\",\"name\":\"n\",\"uid\":\"u\"}]},\"spec\":{\"warmPoolRef\":{\"name\":\"w\"}}}",
                "metadata.ownerReferences[0].apiVersion", "Required value"},
        {K_CLAIM,
                "{" GV
                ",\"kind\":\"SandboxClaim\",\"metadata\":{\"namespace\":\"p\"},\"spec\":{\"warmPoolRef\":{"
                "\"name\":\"w\"}}}",
                "metadata.name", "Required value"},
};

START_TEST(test_invalid) {
        for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
                _cleanup_json_ json_object *o = test_parse(invalid[i].json);
                struct merr e = MERR_INIT;
                void *v = NULL;
                int r = kind_parse(invalid[i].k, o, &v, &e);

                ck_assert_msg(r == -EINVAL, "%zu: accepted (%d): %s", i, r, invalid[i].json);
                ck_assert_msg(v == NULL, "%zu: object returned on error", i);
                ck_assert_msg(strstr(merr_msg(&e), invalid[i].field), "%zu: does not name '%s': %s", i,
                        invalid[i].field, merr_msg(&e));
                ck_assert_msg(strstr(merr_msg(&e), invalid[i].rule), "%zu: does not say '%s': %s", i,
                        invalid[i].rule, merr_msg(&e));
                merr_clear(&e);
        }
}
END_TEST

static Suite *agentsandbox_suite(void) {
        Suite *s = suite_create("api-agentsandbox");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_runtime_output_parses);
        tcase_add_test(tc, test_version_unchanged);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_invalid);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(agentsandbox_suite)
