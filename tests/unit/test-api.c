/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed views of the mbox.dev kinds against the CRD test tables: every tests/integration/testdata/
 * invalid/ manifest is refused with an error naming its "# field:" path (but the update cases, "# update-of:",
 * whose transition rules only the API server enforces), every valid/, base/ and examples/ manifest is
 * accepted and round-trips
 * through to_json and from_json to an equal object.
 *
 * MBOX_TESTDATA (default tests/integration/testdata) and MBOX_EXAMPLES (default examples) locate the data,
 * relative to the repository root, where make runs the tests.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/artifact.h"
#include "api/project.h"
#include "api/sandbox.h"
#include "api/task.h"
#include "api/template.h"
#include "jsonutil.h"
#include "testutil.h"
#include "yaml2json.h"

#define MAX_FILE (1024 * 1024)

static const char *testdata(void) {
        const char *d = secure_getenv("MBOX_TESTDATA");
        return d && *d ? d : "tests/integration/testdata";
}

static const char *examples(void) {
        const char *d = secure_getenv("MBOX_EXAMPLES");
        return d && *d ? d : "examples";
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *data;
        size_t n;

        ck_assert_msg(f != NULL, "open '%s': %s", path, strerror(errno));
        data = malloc(MAX_FILE + 1);
        ck_assert(data != NULL);
        n = fread(data, 1, MAX_FILE, f);
        ck_assert(!ferror(f));
        fclose(f);
        data[n] = '\0';
        *ret_len = n;
        return data;
}

/* The value of the first "# name: value" header line, copied into buf; NULL when absent. */
static const char *header(const char *text, const char *name, char *buf, size_t size) {
        char key[64];
        const char *p;

        (void) snprintf(key, sizeof(key), "# %s: ", name);
        p = strstr(text, key);
        if (!p)
                return NULL;
        p += strlen(key);
        (void) snprintf(buf, size, "%.*s", (int) strcspn(p, "\n"), p);
        return buf;
}

/* A parsed object of any of the four kinds, behind one interface for the table-driven tests. */
struct any {
        const char *kind;
        void *obj;
};

static int any_from_json(json_object *doc, struct any *ret, struct merr *err) {
        json_object *k = NULL;
        const char *kind;
        int r;

        if (!json_object_object_get_ex(doc, "kind", &k) || !json_object_is_type(k, json_type_string))
                return merr_set(err, -EINVAL, "kind: Required value");
        kind = json_object_get_string(k);
        if (strcmp(kind, "Project") == 0) {
                struct project *p = NULL;
                r = project_from_json(doc, &p, err);
                *ret = (struct any){"Project", p};
        } else if (strcmp(kind, "EnvironmentTemplate") == 0) {
                struct template *t = NULL;
                r = template_from_json(doc, &t, err);
                *ret = (struct any){"EnvironmentTemplate", t};
        } else if (strcmp(kind, "Sandbox") == 0) {
                struct sandbox *s = NULL;
                r = sandbox_from_json(doc, &s, err);
                *ret = (struct any){"Sandbox", s};
        } else if (strcmp(kind, "ExecutionTask") == 0) {
                struct task *t = NULL;
                r = task_from_json(doc, &t, err);
                *ret = (struct any){"ExecutionTask", t};
        } else
                return merr_set(err, -EINVAL, "kind: Unsupported value: '%s'", kind);
        return r;
}

static void any_free(struct any *a) {
        if (!a->kind)
                return;
        if (strcmp(a->kind, "Project") == 0)
                project_free(a->obj);
        else if (strcmp(a->kind, "EnvironmentTemplate") == 0)
                template_free(a->obj);
        else if (strcmp(a->kind, "Sandbox") == 0)
                sandbox_free(a->obj);
        else
                task_free(a->obj);
        *a = (struct any){0};
}

static int any_to_json(const struct any *a, json_object **ret) {
        if (strcmp(a->kind, "Project") == 0)
                return project_to_json(a->obj, ret);
        if (strcmp(a->kind, "EnvironmentTemplate") == 0)
                return template_to_json(a->obj, ret);
        if (strcmp(a->kind, "Sandbox") == 0)
                return sandbox_to_json(a->obj, ret);
        return task_to_json(a->obj, ret);
}

static int any_status_to_json(const struct any *a, json_object **ret) {
        if (strcmp(a->kind, "Project") == 0)
                return project_status_to_json(a->obj, ret);
        if (strcmp(a->kind, "EnvironmentTemplate") == 0)
                return template_status_to_json(a->obj, ret);
        if (strcmp(a->kind, "Sandbox") == 0)
                return sandbox_status_to_json(a->obj, ret);
        return task_status_to_json(a->obj, ret);
}

/* The same kind, emitting the same object and the same status. */
static bool any_equal(const struct any *a, const struct any *b) {
        _cleanup_json_ json_object *x = NULL, *y = NULL, *sx = NULL, *sy = NULL;

        return strcmp(a->kind, b->kind) == 0 && any_to_json(a, &x) == 0 && any_to_json(b, &y) == 0 &&
               json_object_equal(x, y) && any_status_to_json(a, &sx) == 0 &&
               any_status_to_json(b, &sy) == 0 && json_object_equal(sx, sy);
}

static json_object *load_yaml(const char *path, char **ret_text) {
        struct merr err = MERR_INIT;
        json_object *doc = NULL;
        size_t len;
        char *text = read_file(path, &len);

        ck_assert_msg(yaml_to_json_one(text, len, NULL, &doc, &err) == 0, "%s: %s", path, merr_msg(&err));
        if (ret_text)
                *ret_text = text;
        else
                free(text);
        return doc;
}

/* Sorted *.yaml names in dir. */
static size_t list_yaml(const char *dir, char ***ret) {
        struct dirent **names = NULL;
        char **out;
        size_t k = 0;
        int n = scandir(dir, &names, NULL, alphasort);

        ck_assert_msg(n >= 0, "scandir '%s': %s", dir, strerror(errno));
        out = calloc((size_t) n + 1, sizeof(char *));
        ck_assert(out != NULL);
        for (int i = 0; i < n; i++) {
                size_t l = strlen(names[i]->d_name);
                if (l > 5 && strcmp(names[i]->d_name + l - 5, ".yaml") == 0)
                        ck_assert(asprintf(&out[k++], "%s/%s", dir, names[i]->d_name) > 0);
                free(names[i]);
        }
        free(names);
        *ret = out;
        return k;
}

static void free_list(char **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

/* Accepts doc and checks from_json -> to_json -> from_json -> equal, and that to_json is a fixed point. */
static void check_accepts(const char *path, json_object *doc) {
        struct merr err = MERR_INIT;
        struct any a = {0}, b = {0}, c = {0};
        json_object *out = NULL, *out2 = NULL;

        ck_assert_msg(any_from_json(doc, &a, &err) == 0, "%s: refused: %s", path, merr_msg(&err));
        ck_assert_int_eq(any_to_json(&a, &out), 0);
        ck_assert_msg(any_from_json(out, &b, &err) == 0, "%s: own output refused: %s (%s)", path,
                merr_msg(&err), json_object_to_json_string(out));
        ck_assert_msg(any_equal(&a, &b), "%s: round trip differs", path);
        ck_assert_int_eq(any_to_json(&b, &out2), 0);
        ck_assert_msg(json_object_equal(out, out2), "%s: to_json not stable:\n%s\n%s", path,
                json_object_to_json_string(out), json_object_to_json_string(out2));
        /* the emitted object passes again through YAML text, as a CLI file would */
        {
                const char *s = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
                json_object *again = NULL;
                ck_assert_int_eq(yaml_to_json_one(s, strlen(s), NULL, &again, NULL), 0);
                ck_assert_int_eq(any_from_json(again, &c, &err), 0);
                ck_assert(any_equal(&a, &c));
                json_object_put(again);
        }
        json_object_put(out);
        json_object_put(out2);
        any_free(&a);
        any_free(&b);
        any_free(&c);
}

static size_t check_accepts_dir(const char *dir) {
        char **files;
        size_t n = list_yaml(dir, &files);

        for (size_t i = 0; i < n; i++) {
                json_object *doc = load_yaml(files[i], NULL);
                check_accepts(files[i], doc);
                json_object_put(doc);
        }
        free_list(files, n);
        return n;
}

START_TEST(test_valid) {
        char dir[512];

        (void) snprintf(dir, sizeof(dir), "%s/valid", testdata());
        ck_assert_uint_ge(check_accepts_dir(dir), 8);
}
END_TEST

START_TEST(test_base) {
        char dir[512];

        (void) snprintf(dir, sizeof(dir), "%s/base", testdata());
        ck_assert_uint_ge(check_accepts_dir(dir), 4);
}
END_TEST

START_TEST(test_examples) {
        ck_assert_uint_ge(check_accepts_dir(examples()), 5);
}
END_TEST

START_TEST(test_invalid) {
        char dir[512], **files;
        size_t n, expect_hits = 0, expect_total = 0;

        (void) snprintf(dir, sizeof(dir), "%s/invalid", testdata());
        n = list_yaml(dir, &files);
        ck_assert_uint_ge(n, 61);
        for (size_t i = 0; i < n; i++) {
                char field[256], base[256], *text = NULL;
                struct merr err = MERR_INIT;
                struct any a = {0};
                json_object *doc = load_yaml(files[i], &text);
                int r;

                ck_assert_msg(header(text, "field", field, sizeof(field)), "%s: no '# field:'", files[i]);
                /* an update: its transition rules are the API server's (test-crds.sh checks them) */
                if (header(text, "update-of", base, sizeof(base))) {
                        json_object_put(doc);
                        free(text);
                        continue;
                }
                r = any_from_json(doc, &a, &err);
                ck_assert_msg(r == -EINVAL, "%s: accepted (%d)", files[i], r);
                ck_assert_msg(strstr(merr_msg(&err), field), "%s: error does not name '%s': %s", files[i],
                        field, merr_msg(&err));
                /* the API server's wording, where one is given */
                for (const char *p = text; (p = strstr(p, "# expect: ")); p++) {
                        char phrase[256];
                        const char *v = p + strlen("# expect: ");
                        (void) snprintf(phrase, sizeof(phrase), "%.*s", (int) strcspn(v, "\n"), v);
                        expect_total++;
                        if (strstr(merr_msg(&err), phrase))
                                expect_hits++;
                        else
                                fprintf(stderr, "%s: expect '%s' not in: %s\n", files[i], phrase,
                                        merr_msg(&err));
                }
                any_free(&a);
                json_object_put(doc);
                free(text);
        }
        ck_assert_uint_eq(expect_hits, expect_total);
        free_list(files, n);
}
END_TEST

static json_object *parse(const char *yaml) {
        json_object *doc = NULL;
        struct merr err = MERR_INIT;

        ck_assert_msg(yaml_to_json_one(yaml, strlen(yaml), NULL, &doc, &err) == 0, "%s", merr_msg(&err));
        return doc;
}

/* Rules the CRD test tables do not exercise: each snippet is a whole manifest after the common header of
 * its kind; field is the path the error must name, or NULL when the object is valid. */
#define P "apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {name: p}\n"
#define T "apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: t, namespace: n}\n"
#define S "apiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: s}\n"
#define X "apiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: x}\n"
static const struct {
        const char *yaml;
        const char *field;
} rules[] = {
        {P "spec: {repositoryURL: 'git@github.com:example/demo.git'}", NULL},
        {P "spec: {repositoryURL: 'https://github.com/example/demo'}", NULL},
        {P "spec: {repositoryURL: 'https:///x'}", "spec.repositoryURL"},
        {P "spec: {members: [{kind: User, name: a, role: Admin, namespace: ns}]}",
                "spec.members[0].namespace"},
        {P "spec: {members: [{kind: ServiceAccount, name: A_B, namespace: ns, role: Admin}]}",
                "spec.members[0].name"},
        {P "spec: {members: [{kind: ServiceAccount, name: ci, namespace: a, role: Admin},"
           " {kind: ServiceAccount, name: ci, namespace: b, role: Viewer}]}",
                NULL},
        {P "spec: {policy: {network: {egress: [{cidr: 10.0.0.0/8, ports: [{port: 80, endPort: 79}]}]}}}",
                "spec.policy.network.egress[0].ports[0].endPort"},
        {P "spec: {policy: {network: {egress: [{cidr: 10.0.0.0/8, ports: [{port: 80, protocol: ICMP}]}]}}}",
                "spec.policy.network.egress[0].ports[0].protocol"},
        {P "spec: {policy: {network: {egress: [{cidr: '2001:db8::/32', except: ['2001:db8:1::/48']}]}}}",
                NULL},
        {P "spec: {policy: {network: {egress: [{cidr: '2001:db8::/32', except: ['10.0.0.0/8']}]}}}",
                "spec.policy.network.egress[0].except"},
        {P "spec: {policy: {allowedRuntimeClasses: [gvisor, gvisor]}}",
                "spec.policy.allowedRuntimeClasses[1]"},
        {P "spec: {policy: {credentials: [{secretName: a, templates: [{name: t}]}, {secretName: a, "
           "templates: "
           "[{name: u}]}]}}",
                "spec.policy.credentials[1]"},
        {P "spec: {quota: {cpu: 8, memory: 16Gi, maxSandboxes: 3, maxRunning: 3}}", NULL},
        {P "spec: {quota: {maxSandboxes: 10001}}", "spec.quota.maxSandboxes"},
        {P "spec: {quota: {maxRunningTasks: 20, maxRunningTasksPerSandbox: 8}}", NULL},
        {P "spec: {quota: {maxRunningTasksPerSandbox: 0}}", "spec.quota.maxRunningTasksPerSandbox"},
        {P "spec: {quota: {maxTaskOutput: 16Mi}}", NULL},
        {P "spec: {quota: {maxTaskOutput: 1048576}}", NULL},
        {P "spec: {quota: {maxTaskOutput: 1.5}}", "spec.quota.maxTaskOutput"},
        {P "spec: {quota: {maxTaskOutput: 100m}}", "spec.quota.maxTaskOutput"},
        {P "spec: {quota: {maxTaskOutput: 0}}", "spec.quota.maxTaskOutput"},
        {P "spec: {policy: {lifecycle: {taskOutputRetention: 720h}}}", NULL},
        {P "spec: {policy: {lifecycle: {taskOutputRetention: 0s}}}",
                "spec.policy.lifecycle.taskOutputRetention"},
        {P "spec: {policy: {lifecycle: {maxLifetime: 1h, idleTimeout: 1h, stoppedRetention: 1.5h}}}", NULL},
        {P "spec: {policy: {lifecycle: {idleTimeout: 10\xc2\xb5s}}}", NULL},
        {P "spec: {policy: {lifecycle: {idleTimeout: -1s}}}", "spec.policy.lifecycle.idleTimeout"},
        {"apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {name: p, labels: {'a b': x}}\n",
                "metadata.labels.a b"},
        {"apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {labels: {a: b}}\n", "metadata.name"},
        {T "spec: {image: x, entrypoints: [{name: sh, type: Terminal, port: web}], ports: [{name: web, port: "
           "1}]}",
                "spec.entrypoints[0].port"},
        {T "spec: {image: x, entrypoints: [{name: web, type: Preview, port: web, command: [x]}], ports: "
           "[{name: "
           "web, port: 1}]}",
                "spec.entrypoints[0].command"},
        {T "spec: {image: x, entrypoints: [{name: a, type: Terminal}, {name: a, type: Terminal}]}",
                "spec.entrypoints[1]"},
        {T "spec: {image: 'a b'}", "spec.image"},
        {T "spec: {image: x, check: {command: ['', x]}}", "spec.check.command"},
        {T "spec: {image: x, check: {timeoutSeconds: 5}}", "spec.check.command"},
        {T "spec: {image: x, env: [{name: A, valueFrom: {}}]}", "spec.env[0].valueFrom.secretKeyRef"},
        {T "spec: {image: x, env: [{name: A}, {name: A}]}", "spec.env[1]"},
        {T "spec: {image: x, resources: {requests: {cpu: 2}, limits: {cpu: 1500m}}}",
                "spec.resources.limits.cpu"},
        {T "spec: {image: x, resources: {requests: {cpu: 1}, limits: {cpu: 1000m}}}", NULL},
        {T "spec: {image: x, storage: {mountPath: /w}}", "spec.storage.size"},
        {T "spec: {image: x, ports: [{name: a--b, port: 1}]}", "spec.ports[0].name"},
        {T "spec: {image: x, ports: [{name: abcdefghijklmnop, port: 1}]}", "spec.ports[0].name"},
        {T "spec: {image: x, warmPool: {replicas: 101}}", "spec.warmPool.replicas"},
        {T "spec: {image: x, ports: [{name: web, port: 1.5}]}", "spec.ports[0].port"},
        {"apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: t, namespace: N}\nspec: "
         "{image: x}",
                "metadata.namespace"},
        {"apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: t}\n", "spec"},
        {S "spec: {ports: [{name: a, port: 1}, {name: a, port: 2}]}", "spec.ports[1]"},
        {S "spec: {projectRef: {}}", "spec.projectRef.name"},
        {S "spec: {templateRef: {name: T}}", "spec.templateRef.name"},
        {S "spec: {env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]}", NULL},
        {S "spec: {lifetime: {idleTimeout: 0.5s}}", NULL},
        {S "spec: {slug: -x}", "spec.slug"},
        {S "spec: null", NULL},
        {S "spec: {state: null, serviceAccountName: ~, ports: [{name: a, port: 1, visibility: null}]}", NULL},
        {T "spec: {image: x, network: {egress: null}, workingDir: null, check: {command: [x], "
           "timeoutSeconds: null}}",
                NULL},
        {T "spec: {image: x, entrypoints: [{name: a, type: Terminal, port: null}]}", NULL},
        {S "status: {phase: Lost}", "status.phase"},
        {S "status: {phase: Running, conditions: [{type: Ready, status: Maybe, lastTransitionTime: "
           "'2026-01-01T00:00:00Z', reason: R, message: ''}]}",
                "status.conditions[0].status"},
        {S "status: {conditions: [{type: Ready, status: 'True', lastTransitionTime: yesterday, reason: R, "
           "message: ''}]}",
                "status.conditions[0].lastTransitionTime"},
        {X "spec: {sandboxRef: {name: s}}", "spec.command"},
        {X "spec: {sandboxRef: {name: 1s}, command: [x]}", "spec.sandboxRef.name"},
        {X "spec: {sandboxRef: {name: s}, command: [x], artifacts: [{name: a, path: /a}, {name: a, path: "
           "/b}]}",
                "spec.artifacts[1]"},
        {X "spec: {sandboxRef: {name: s}, command: [x], artifacts: [{name: a, path: /a, contentType: "
           "'text/plain;charset=utf-8'}]}",
                NULL},
        {X "spec: {sandboxRef: {name: s}, command: [x], ttlSecondsAfterFinished: -1}",
                "spec.ttlSecondsAfterFinished"},
        {X "spec: {sandboxRef: {name: s}, command: [x], metadata: {a: 1}}", "spec.metadata.a"},
        {X "spec: {sandboxRef: {name: s}, command: [x], metadata: {'example.com/a': b, 'Ab_c.D': e}}", NULL},
        {X "spec: {sandboxRef: {name: s}, command: [x], metadata: {'-a': b}}", "spec.metadata"},
        {X "spec: {sandboxRef: {name: s}, command: [x], env: [{name: A, valueFrom: {secretKeyRef: {name: s, "
           "key: "
           "k}}}]}",
                NULL},
        {"apiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: a.b.c}\nspec: {sandboxRef: "
         "{name: "
         "s}, command: [x]}",
                NULL},
        {"apiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: A}\nspec: {sandboxRef: {name: "
         "s}, command: [x]}",
                "metadata.name"},
};

START_TEST(test_rules) {
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
                json_object *doc = parse(rules[i].yaml);
                struct merr err = MERR_INIT;
                struct any a = {0};
                int r = any_from_json(doc, &a, &err);

                if (!rules[i].field) {
                        ck_assert_msg(r == 0, "%zu: refused: %s", i, merr_msg(&err));
                        check_accepts("rules", doc);
                } else {
                        ck_assert_msg(
                                r == -EINVAL, "%zu: accepted, expected an error at '%s'", i, rules[i].field);
                        ck_assert_msg(strstr(err.msg, rules[i].field), "%zu: error does not name '%s': %s", i,
                                rules[i].field, err.msg);
                }
                any_free(&a);
                json_object_put(doc);
        }
}
END_TEST

START_TEST(test_defaults) {
        json_object *doc =
                parse("apiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: s, namespace: n}\n"
                      "spec: {ports: [{name: web, port: 80}]}\n");
        struct sandbox *s = NULL;
        struct task *t = NULL;
        struct project *p = NULL;
        json_object *out = NULL, *v = NULL;
        char buf[64];

        ck_assert_int_eq(sandbox_from_json(doc, &s, NULL), 0);
        ck_assert_str_eq(s->spec.state, "Running");
        ck_assert_str_eq(s->spec.service_account_name, "mbox-sandbox");
        ck_assert_str_eq(s->spec.ports[0].visibility, "Private");
        ck_assert_int_eq(sandbox_to_json(s, &out), 0);
        ck_assert_int_eq(json_lookup(out, "spec.ports[0].visibility", &v, NULL), 1);
        ck_assert_str_eq(json_object_get_string(v), "Private");
        ck_assert_int_eq(json_lookup(out, "metadata.namespace", &v, NULL), 1);
        ck_assert_str_eq(json_object_get_string(v), "n");
        json_object_put(out);
        json_object_put(doc);
        sandbox_free(s);

        doc = parse("apiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: t}\n"
                    "spec: {sandboxRef: {name: s}, command: [x]}\n");
        ck_assert_int_eq(task_from_json(doc, &t, NULL), 0);
        ck_assert_int_eq(t->spec.timeout_seconds, 600);
        ck_assert(!t->spec.cancel);
        json_object_put(doc);
        task_free(t);

        doc = parse("apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {name: demo}\n");
        ck_assert_int_eq(project_from_json(doc, &p, NULL), 0);
        ck_assert(p->spec.policy.network.allow_dns);
        ck_assert(!p->spec.policy.network.allow_internet);
        ck_assert_str_eq(project_namespace(p, buf, sizeof(buf)), "mbox-demo");
        json_object_put(doc);
        project_free(p);

        ck_assert_ptr_null(project_free(NULL));
        ck_assert_ptr_null(template_free(NULL));
        ck_assert_ptr_null(sandbox_free(NULL));
        ck_assert_ptr_null(task_free(NULL));
}
END_TEST

START_TEST(test_errors_collected) {
        json_object *doc =
                parse("apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: t}\n"
                      "spec: {image: x, ports: [{name: web, port: 0}, {name: web, port: 70000}]}\n");
        struct template *t = NULL;
        struct merr err = MERR_INIT;

        ck_assert_int_eq(template_from_json(doc, &t, &err), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_ptr_nonnull(strstr(
                err.msg, "spec.ports[0].port: Invalid value: 0: should be greater than or equal to 1"));
        ck_assert_ptr_nonnull(strstr(
                err.msg, "spec.ports[1].port: Invalid value: 70000: should be less than or equal to 65535"));
        ck_assert_ptr_nonnull(strstr(err.msg, "spec.ports[1]: Duplicate value: \"web\""));
        json_object_put(doc);

        doc = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: t}\n");
        ck_assert_int_eq(template_from_json(doc, &t, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "apiVersion: Unsupported value"));
        ck_assert_ptr_nonnull(strstr(err.msg, "kind: Unsupported value"));
        json_object_put(doc);
}
END_TEST

START_TEST(test_names_cidr) {
        ck_assert(api_is_dns_subdomain("a.b-c.d"));
        ck_assert(!api_is_dns_subdomain("a..b"));
        ck_assert(api_is_cidr("10.0.0.0/8"));
        ck_assert(api_is_cidr("2001:db8::/32"));
        ck_assert(api_is_cidr("0.0.0.0/0"));
        ck_assert(!api_is_cidr("10.0.0.0/33"));
        ck_assert(!api_is_cidr("10.0.0.0"));
        ck_assert(!api_is_cidr("10.0.0.0/08"));
        ck_assert(api_cidr_contains("10.0.0.0/8", "10.1.0.0/16"));
        ck_assert(!api_cidr_contains("10.0.0.0/8", "192.168.0.0/16"));
        ck_assert(!api_cidr_contains("10.0.0.0/16", "10.0.0.0/8"));
        ck_assert(!api_cidr_contains("::/0", "10.0.0.0/8"));
}
END_TEST

START_TEST(test_conditions) {
        struct api_conditions c = {NULL, 0};
        struct timestamp t1 = {1000, 0}, t2 = {2000, 0}, t3 = {3000, 0};
        const struct api_condition *x;
        json_object *j, *again;
        struct api_errors e = API_ERRORS_INIT;
        struct api_conditions back = {NULL, 0};

        ck_assert_int_eq(api_condition_set(&c, "Ready", "False", "Starting", "", 1, &t1), 1);
        ck_assert_int_eq(api_condition_set(&c, "Ready", "False", "Starting", "", 1, &t2), 0);
        ck_assert_int_eq(api_condition_set(&c, "Ready", "False", "Waiting", "pod", 2, &t2), 1);
        x = api_condition_find(&c, "Ready");
        ck_assert_ptr_nonnull(x);
        ck_assert_int_eq(x->last_transition_time.sec, 1000);
        ck_assert_int_eq(api_condition_set(&c, "Ready", "True", "Running", "", 2, &t3), 1);
        ck_assert_int_eq(x->last_transition_time.sec, 3000);
        ck_assert_ptr_null(api_condition_find(&c, "Other"));
        j = api_conditions_to_json(&c);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(api_conditions_from_json(j, "status.conditions", &back, &e), 1);
        ck_assert(!api_errors_any(&e));
        again = api_conditions_to_json(&back);
        ck_assert(json_object_equal(j, again));
        json_object_put(again);
        json_object_put(j);
        api_conditions_release(&back);
        api_conditions_release(&c);
}
END_TEST

/* A status the operator writes parses into the typed view and comes out the same, field for field. */
START_TEST(test_status_round_trip) {
        static const char *const docs[] = {
                "apiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: t, namespace: n}\n"
                "spec: {sandboxRef: {name: s}, command: [x], artifacts: [{name: r, path: /w/r.json}]}\n"
                "status: {observedGeneration: 1, phase: Succeeded, reason: Succeeded,\n"
                "  message: the command exited with code 0, exitCode: 0,\n"
                "  startTime: '2026-01-02T03:04:05Z', podName: s-pod, completionTime: "
                "'2026-01-02T03:04:07Z',\n"
                "  duration: 2s, stdoutTail: '', stderrTail: oops, stdoutBytes: 0, stderrBytes: 4,\n"
                "  outputTruncated: false, outputDroppedBytes: 3,\n"
                "  logRef: {name: t, uri: /apis/runtime.mbox.dev/v1alpha1/namespaces/n/taskoutputs/t},\n"
                "  artifacts: [{name: r, path: /w/r.json, uri: 'workspace:///w/r.json',\n"
                "    contentType: application/json, sizeBytes: 12, digest: 'sha256:ab', artifactName: t-r},\n"
                "    {name: q, path: /w/q}],\n"
                "  conditions: [{type: Started, status: 'True', observedGeneration: 1,\n"
                "    lastTransitionTime: '2026-01-02T03:04:05Z', reason: Started, message: started},\n"
                "    {type: Completed, status: 'True', observedGeneration: 1,\n"
                "    lastTransitionTime: '2026-01-02T03:04:07Z', reason: Succeeded, message: done}]}\n",
                "apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {name: demo}\n"
                "status: {observedGeneration: 2, namespace: mbox-demo, sandboxes: 3, runningSandboxes: 1,\n"
                "  templates: 2, conditions: [{type: Ready, status: 'True', observedGeneration: 2,\n"
                "    lastTransitionTime: '2026-01-02T03:04:05Z', reason: Provisioned, message: in place},\n"
                "    {type: NamespaceReady, status: 'True', observedGeneration: 2,\n"
                "    lastTransitionTime: '2026-01-02T03:04:05Z', reason: NamespaceReady, message: ''}]}\n",
                "apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: py, namespace: "
                "n}\n"
                "spec: {image: python}\n"
                "status: {observedGeneration: 1, version: 0a1b2c3d, resolvedImage: python,\n"
                "  validation: {status: Failed, message: the check failed, time: '2026-01-02T03:04:05Z',\n"
                "    version: 0a1b2c3d, output: oops},\n"
                "  warmPool: {replicas: 2, readyReplicas: 0},\n"
                "  conditions: [{type: Ready, status: 'True', observedGeneration: 1,\n"
                "    lastTransitionTime: '2026-01-02T03:04:05Z', reason: Projected, message: projected},\n"
                "    {type: Accepted, status: 'False', observedGeneration: 1,\n"
                "    lastTransitionTime: '2026-01-02T03:04:05Z', reason: TooLarge, message: too large}]}\n",
                "apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: py, namespace: "
                "n}\n"
                "spec: {image: python}\nstatus: {observedGeneration: 1, validation: {status: NotTested}}\n",
        };

        for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
                json_object *doc = parse(docs[i]), *want = NULL, *got = NULL;
                struct any a = {0};
                struct merr err = MERR_INIT;
                int r = -1;

                ck_assert_msg(any_from_json(doc, &a, &err) == 0, "%zu: %s", i, merr_msg(&err));
                ck_assert(json_object_object_get_ex(doc, "status", &want));
                if (strcmp(a.kind, "ExecutionTask") == 0)
                        r = task_status_to_json(a.obj, &got);
                else if (strcmp(a.kind, "Project") == 0)
                        r = project_status_to_json(a.obj, &got);
                else if (strcmp(a.kind, "EnvironmentTemplate") == 0)
                        r = template_status_to_json(a.obj, &got);
                ck_assert_int_eq(r, 0);
                ck_assert_msg(json_object_equal(want, got), "%zu: %s", i, json_object_to_json_string(got));
                json_object_put(got);
                any_free(&a);
                json_object_put(doc);
        }
}
END_TEST

/* The status alone parses when the spec does not (an operator older than the schema writes it). */
START_TEST(test_status_alone) {
        json_object *p =
                parse("apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {name: demo}\n"
                      "spec: {quota: {cpu: -1}}\nstatus: {namespace: mbox-demo, conditions: [{type: Ready,\n"
                      "  status: 'False', lastTransitionTime: '2026-01-02T03:04:05Z', reason: InvalidSpec,\n"
                      "  message: bad}]}\n");
        json_object *t = parse("apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\n"
                               "metadata: {name: py, namespace: n}\nspec: {}\n"
                               "status: {validation: {status: Passed, version: v1}}\n");
        json_object *bad = parse("apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\n"
                                 "metadata: {name: py, namespace: n}\nspec: {}\n"
                                 "status: {validation: {status: Maybe}}\n");
        struct project *pp = NULL;
        struct template *tp = NULL;
        struct project_status ps = {0};
        struct template_status ts = {0};
        struct merr err = MERR_INIT;

        ck_assert_int_lt(project_from_json(p, &pp, NULL), 0);
        ck_assert_int_eq(project_status_from_json(p, &ps, &err), 0);
        ck_assert_str_eq(ps.namespace, "mbox-demo");
        ck_assert_int_eq(api_condition_find(&ps.conditions, "Ready")->last_transition_time.sec, 1767323045);
        ck_assert_int_lt(template_from_json(t, &tp, NULL), 0);
        ck_assert_int_eq(template_status_from_json(t, &ts, &err), 0);
        ck_assert(ts.has_validation);
        ck_assert_str_eq(ts.validation.status, "Passed");
        ck_assert_str_eq(ts.validation.version, "v1");
        template_status_release(&ts);
        ck_assert_int_eq(template_status_from_json(bad, &ts, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "status.validation.status"));
        project_status_release(&ps);
        json_object_put(p);
        json_object_put(t);
        json_object_put(bad);
}
END_TEST

/* A status built afresh keeps lastTransitionTime only where the status of a condition did not change. */
START_TEST(test_condition_next) {
        struct api_conditions prev = {NULL, 0}, next = {NULL, 0};
        struct timestamp t1 = {1000, 0}, t2 = {2000, 0};

        ck_assert_int_eq(api_condition_set(&prev, "Old", "True", "Gone", "", 1, &t1), 1);
        ck_assert_int_eq(api_condition_set(&prev, "Ready", "True", "Running", "", 1, &t1), 1);
        ck_assert_int_eq(api_condition_set(&prev, "Done", "False", "Running", "", 1, &t1), 1);
        ck_assert_int_eq(api_condition_next(&next, &prev, "Ready", "True", "Running", "again", 2, &t2), 1);
        ck_assert_int_eq(api_condition_next(&next, &prev, "Done", "True", "Finished", "", 2, &t2), 1);
        ck_assert_int_eq(api_condition_next(&next, NULL, "New", "False", "Waiting", NULL, 2, &t2), 1);
        ck_assert_uint_eq(next.n, 3);
        ck_assert_str_eq(next.items[0].type, "Ready");
        ck_assert_int_eq(next.items[0].last_transition_time.sec, 1000);
        ck_assert_str_eq(next.items[1].type, "Done");
        ck_assert_int_eq(next.items[1].last_transition_time.sec, 2000);
        ck_assert_str_eq(next.items[2].message, "");
        ck_assert_ptr_null(api_condition_find(&next, "Old"));
        api_conditions_release(&prev);
        api_conditions_release(&next);
}
END_TEST

/* Every status field the operator writes (crds/mbox.dev_sandboxes.yaml) parses, emits the same JSON and
 * compares; a bad time is absent rather than an error, and the CRD's rules hold. */
START_TEST(test_sandbox_status) {
        static const char *const full =
                "apiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: s, namespace: n, generation: "
                "2}\n"
                "status:\n"
                "  observedGeneration: 2\n"
                "  phase: Running\n"
                "  reason: Ready\n"
                "  message: the sandbox is running\n"
                "  project: demo\n"
                "  template: {name: python, namespace: mbox-system}\n"
                "  templateVersion: 0a1b2c3d\n"
                "  claimName: s\n"
                "  sandboxName: s\n"
                "  podName: s-abcde\n"
                "  podIP: 10.0.0.7\n"
                "  serviceFQDN: s.n.svc.cluster.local\n"
                "  previewURLs:\n"
                "  - {name: web, port: 8080, visibility: Private, url: 'https://x/apis/p/proxy/'}\n"
                "  startedAt: '2026-01-02T03:04:05Z'\n"
                "  lastActivityAt: '2026-01-02T03:04:06Z'\n"
                "  expiresAt: '2026-01-03T03:04:05Z'\n"
                "  conditions:\n"
                "  - {type: Ready, status: 'True', observedGeneration: 2,\n"
                "     lastTransitionTime: '2026-01-02T03:04:05Z', reason: Ready, message: running}\n";
        json_object *doc = parse(full), *st = NULL, *out = NULL;
        struct sandbox *s = NULL, *back = NULL;
        struct merr err = MERR_INIT;

        ck_assert_msg(sandbox_from_json(doc, &s, &err) == 0, "%s", merr_msg(&err));
        ck_assert_str_eq(s->status.template_namespace, "mbox-system");
        ck_assert_str_eq(s->status.pod_ip, "10.0.0.7");
        ck_assert_uint_eq(s->status.n_preview_urls, 1);
        ck_assert_int_eq(s->status.preview_urls[0].port, 8080);
        ck_assert_int_eq(s->status.stopped_at.sec, 0);
        ck_assert_int_ne(s->status.started_at.sec, 0);
        ck_assert_int_eq(sandbox_status_to_json(s, &out), 0);
        ck_assert_int_eq(json_object_object_get_ex(doc, "status", &st), 1);
        ck_assert_msg(json_object_equal(st, out), "%s", json_object_to_json_string(out));
        json_object_put(out);

        /* equality is the emitted JSON: a condition's time is part of it, an unparsable time is not */
        ck_assert_int_eq(sandbox_from_json(doc, &back, NULL), 0);
        ck_assert(sandbox_status_equal(&s->status, &back->status));
        back->status.conditions.items[0].last_transition_time.sec++;
        ck_assert(!sandbox_status_equal(&s->status, &back->status));
        sandbox_free(back);
        json_object_object_add(st, "stoppedAt", json_object_new_string("yesterday"));
        ck_assert_msg(sandbox_from_json(doc, &back, &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_eq(back->status.stopped_at.sec, 0);
        ck_assert(sandbox_status_equal(&s->status, &back->status));
        sandbox_free(back);

        /* the CRD's rules */
        json_object_object_add(st, "podName", json_object_new_string("Not_A_Name"));
        json_object_object_add(st, "previewURLs", json_tokener_parse("[{\"name\":\"web\",\"port\":0}]"));
        ck_assert_int_eq(sandbox_from_json(doc, &back, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "status.podName"));
        ck_assert_ptr_nonnull(strstr(err.msg, "status.previewURLs[0].port"));
        ck_assert_ptr_nonnull(strstr(err.msg, "status.previewURLs[0].url: Required value"));

        sandbox_status_release(&s->status);
        ck_assert_ptr_null(s->status.phase);
        ck_assert_uint_eq(s->status.n_preview_urls, 0);
        sandbox_free(s);
        json_object_put(doc);
}
END_TEST

START_TEST(test_errors_kept) {
        struct api_errors e = API_ERRORS_INIT;
        struct merr err = MERR_INIT;

        ck_assert_int_eq(api_errors_to_merr(&e, &err), 0);
        for (int i = 0; i < API_ERRORS_MAX + 3; i++)
                api_errors_add(&e, "spec.x", "rule %d", i);
        ck_assert_int_eq(api_errors_to_merr(&e, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "spec.x: rule 0; spec.x: rule 1"));
        ck_assert_uint_eq(e.n, API_ERRORS_MAX);
        ck_assert_uint_eq(e.dropped, 3);
        api_errors_release(&e);
        ck_assert(!api_errors_any(&e));
}
END_TEST

/* A status built in C, as the operator builds it: a condition set with api_condition_set is emitted as
 * metav1.Condition. */
START_TEST(test_build_status) {
        _cleanup_(sandbox_status_release) struct sandbox_status st = {0};
        struct timestamp now = {1700000000, 0};
        json_object *j = NULL, *v = NULL;

        st.phase = strdup("Running");
        ck_assert_int_eq(api_condition_set(&st.conditions, "Ready", "True", "Running", "", 1, &now), 1);
        ck_assert_int_eq(sandbox_status_emit(&st, &j), 0);
        ck_assert_int_eq(json_lookup(j, "conditions[0].lastTransitionTime", &v, NULL), 1);
        ck_assert_str_eq(json_object_get_string(v), "2023-11-14T22:13:20Z");
        ck_assert_int_eq(json_lookup(j, "phase", &v, NULL), 1);
        ck_assert_str_eq(json_object_get_string(v), "Running");
        json_object_put(j);
}
END_TEST

/* An Artifact body as callers send it to be created: what is accepted and filled in, and what is refused
 * with which message (400-worthy -EBADMSG, or -EINVAL naming the field). */
START_TEST(test_artifact_parse) {
        static const struct {
                const char *body;
                bool strict;
                int want;
                const char *msg; /* in the error */
        } cases[] = {
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"workspace:///w/r.json\"}}", true, 0,
                        NULL},
                {"{\"metadata\":{\"generateName\":\"r-\"},\"spec\":{\"uri\":\"s3://b/k\"}}", true, 0, NULL},
                {"", true, -EBADMSG, "not one JSON object"},
                {"{\"a\":1} x", true, -EBADMSG, "not one JSON object"},
                {"[]", true, -EBADMSG, "not a JSON object"},
                {"{\"metadata\":{\"name\":\"a\",\"colour\":1},\"spec\":{\"uri\":\"s3://b\",\"x\":2},\"y\":3}",
                        true, -EBADMSG,
                        "unknown field \"metadata.colour\", unknown field \"spec.x\", unknown field \"y\""},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"s3://b\",\"x\":2},\"y\":3}", false, 0,
                        NULL},
                {"{\"metadata\":{},\"spec\":{\"uri\":\"s3://b\"}}", true, -EINVAL,
                        "metadata.name: Required value"},
                {"{\"metadata\":{\"name\":\"A_b\"},\"spec\":{\"uri\":\"s3://b\"}}", true, -EINVAL,
                        "metadata.name"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{}}", true, -EINVAL, "spec.uri: Required value"},
                {"{\"metadata\":{\"name\":\"a\"}}", true, -EINVAL, "spec: Required value"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"workspace:///w/../etc\"}}", true,
                        -EINVAL, "spec.uri"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"workspace://host/x\"}}", true, -EINVAL,
                        "spec.uri"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"no scheme\"}}", true, -EINVAL,
                        "spec.uri"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"workspace:///w/x\",\"path\":\"/w/y\"}}",
                        true, -EINVAL, "spec.path"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"s3://b\",\"digest\":\"sha256:xyz\"}}",
                        true, -EINVAL, "spec.digest"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"s3://b\",\"sizeBytes\":-1}}", true,
                        -EINVAL, "spec.sizeBytes"},
                {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"s3://b\",\"kind\":\"Big Report\"}}",
                        true, -EINVAL, "spec.kind"},
                {"{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\"},\"spec\":{\"uri\":\"s3://b\"}}",
                        true, -EINVAL, "metadata.resourceVersion: Forbidden"},
                {"{\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"s3://b\"}}", true,
                        -EINVAL, "kind: Unsupported value"},
                {"{\"metadata\":{\"name\":\"a\",\"labels\":{\"a b\":\"c\"}},\"spec\":{\"uri\":\"s3://b\"}}",
                        true, -EINVAL, "metadata.labels"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct api_artifact a = {0};
                struct merr err = MERR_INIT;
                int r = api_artifact_parse(cases[i].body, strlen(cases[i].body), cases[i].strict, &a, &err);
                ck_assert_msg(r == cases[i].want, "case %zu: got %d (%s)", i, r, merr_msg(&err));
                if (cases[i].msg)
                        ck_assert_msg(strstr(merr_msg(&err), cases[i].msg), "case %zu: '%s' lacks '%s'", i,
                                merr_msg(&err), cases[i].msg);
                api_artifact_release(&a);
        }
        /* defaults and what is filled in */
        struct api_artifact a = {0};
        struct merr err = MERR_INIT;
        const char *body = "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"uri\":\"workspace:///w/r.json\"}}";
        ck_assert_int_eq(api_artifact_parse(body, strlen(body), true, &a, &err), 0);
        ck_assert_str_eq(a.kind, "file");
        ck_assert_str_eq(a.path, "/w/r.json");
        ck_assert(!a.has_size);
        api_artifact_release(&a);
        /* not strict: what was dropped is named */
        body = "{\"metadata\":{\"name\":\"a\",\"x\":1},\"spec\":{\"uri\":\"s3://b\",\"y\":2}}";
        ck_assert_int_eq(api_artifact_parse(body, strlen(body), false, &a, &err), 0);
        ck_assert_str_eq(a.dropped, "unknown field \"metadata.x\", unknown field \"spec.y\"");
        api_artifact_release(&a);
}
END_TEST

/* Merge patches change labels and annotations only: null removes, preconditions come back. */
START_TEST(test_artifact_merge_meta) {
        struct api_artifact_patch p = {0};
        struct merr err = MERR_INIT;
        json_object *labels = json_tokener_parse("{\"a\":\"1\",\"b\":\"2\"}"),
                    *ann = json_object_new_object();
        const char *patch =
                "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"},\"annotations\":{\"n\":\"x y\"},"
                "\"resourceVersion\":\"9\",\"uid\":\"u\"}}";
        ck_assert_int_eq(api_artifact_merge_meta(patch, strlen(patch), true, labels, ann, &p, &err), 0);
        ck_assert_str_eq(
                json_object_to_json_string_ext(labels, JSON_C_TO_STRING_PLAIN), "{\"b\":\"2\",\"c\":\"3\"}");
        ck_assert_str_eq(json_object_to_json_string_ext(ann, JSON_C_TO_STRING_PLAIN), "{\"n\":\"x y\"}");
        ck_assert_str_eq(p.resource_version, "9");
        ck_assert_str_eq(p.uid, "u");
        api_artifact_patch_release(&p);
        patch = "{\"metadata\":{\"labels\":null}}";
        ck_assert_int_eq(api_artifact_merge_meta(patch, strlen(patch), true, labels, ann, &p, &err), 0);
        ck_assert_int_eq(json_object_object_length(labels), 0);
        api_artifact_patch_release(&p);
        static const struct {
                const char *patch;
                int want;
                const char *msg;
        } bad[] = {
                {"{\"spec\":{\"uri\":\"s3://x\"}}", -EINVAL, "spec: Forbidden"},
                {"{\"status\":{}}", -EINVAL, "status: Forbidden"},
                {"{\"metadata\":{\"labels\":{\"a\":\"not ok\"}}}", -EINVAL, "metadata.labels.a"},
                {"{\"metadata\":{\"labels\":{\"a\":1}}}", -EINVAL, "metadata.labels.a"},
                {"{\"metadata\":{\"labels\":[1]}}", -EINVAL, "metadata.labels"},
                {"{\"metadata\":{\"owner\":\"x\"}}", -EBADMSG, "unknown field \"metadata.owner\""},
                {"nope", -EBADMSG, "not one JSON object"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                merr_clear(&err);
                int r = api_artifact_merge_meta(
                        bad[i].patch, strlen(bad[i].patch), true, labels, ann, &p, &err);
                ck_assert_msg(r == bad[i].want, "case %zu: got %d (%s)", i, r, merr_msg(&err));
                ck_assert_msg(strstr(merr_msg(&err), bad[i].msg), "case %zu: '%s' lacks '%s'", i,
                        merr_msg(&err), bad[i].msg);
        }
        json_object_put(labels);
        json_object_put(ann);
}
END_TEST

static Suite *api_suite(void) {
        Suite *s = suite_create("api");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_valid);
        tcase_add_test(tc, test_base);
        tcase_add_test(tc, test_examples);
        tcase_add_test(tc, test_invalid);
        tcase_add_test(tc, test_rules);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_errors_collected);
        tcase_add_test(tc, test_names_cidr);
        tcase_add_test(tc, test_conditions);
        tcase_add_test(tc, test_status_round_trip);
        tcase_add_test(tc, test_condition_next);
        tcase_add_test(tc, test_status_alone);
        tcase_add_test(tc, test_sandbox_status);
        tcase_add_test(tc, test_errors_kept);
        tcase_add_test(tc, test_build_status);
        tcase_add_test(tc, test_artifact_parse);
        tcase_add_test(tc, test_artifact_merge_meta);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(api_suite)
