/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed views agree with the API server: every example and every valid test manifest is parsed by the
 * C view, emitted with *_to_json, applied with "kubectl apply --server-side", read back with "kubectl get
 * -o json", parsed again, and its name, namespace and spec (after the server's defaulting) must equal what
 * the C view emitted. Namespaced objects go to a fresh namespace; Projects get a unique name and are
 * deleted at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/project.h"
#include "api/sandbox.h"
#include "api/task.h"
#include "api/template.h"
#include "jsonutil.h"
#include "testcluster.h"
#include "testutil.h"
#include "yaml2json.h"

#define MAX_OUT (4 * 1024 * 1024)

static json_object *load(const char *path) {
        _cleanup_free_ char *data = malloc(1 << 20);
        json_object *doc = NULL;
        struct merr err = MERR_INIT;
        FILE *f = fopen(path, "re");
        size_t n;

        ck_assert_msg(f && data, "open '%s'", path);
        n = fread(data, 1, (1 << 20) - 1, f);
        fclose(f);
        ck_assert_msg(yaml_to_json_one(data, n, NULL, &doc, &err) == 0, "%s: %s", path, merr_msg(&err));
        return doc;
}

/* Parses doc with the view of its kind and emits it; namespaced objects move to ns, Projects are renamed
 * to "<ns>-p<i>" (their slug and namespace follow the new name unless given). */
static json_object *typed_emit(json_object *doc, const char *ns, size_t i, const char *path) {
        struct merr err = MERR_INIT;
        json_object *out = NULL, *k = NULL;
        const char *kind;
        int r;

        ck_assert(json_object_object_get_ex(doc, "kind", &k));
        kind = json_object_get_string(k);
        if (strcmp(kind, "Project") == 0) {
                struct project *p = NULL;
                ck_assert_msg(project_from_json(doc, &p, &err) == 0, "%s: %s", path, merr_msg(&err));
                free(p->meta.name);
                ck_assert(asprintf(&p->meta.name, "%s-p%zu", ns, i) > 0);
                free(p->spec.namespace);
                ck_assert(asprintf(&p->spec.namespace, "%s-p%zu", ns, i) > 0);
                r = project_to_json(p, &out);
                project_free(p);
        } else if (strcmp(kind, "EnvironmentTemplate") == 0) {
                struct template *t = NULL;
                ck_assert_msg(template_from_json(doc, &t, &err) == 0, "%s: %s", path, merr_msg(&err));
                free(t->meta.namespace);
                t->meta.namespace = strdup(ns);
                r = template_to_json(t, &out);
                template_free(t);
        } else if (strcmp(kind, "Sandbox") == 0) {
                struct sandbox *s = NULL;
                ck_assert_msg(sandbox_from_json(doc, &s, &err) == 0, "%s: %s", path, merr_msg(&err));
                free(s->meta.namespace);
                s->meta.namespace = strdup(ns);
                r = sandbox_to_json(s, &out);
                sandbox_free(s);
        } else {
                struct task *t = NULL;
                ck_assert_msg(task_from_json(doc, &t, &err) == 0, "%s: %s", path, merr_msg(&err));
                free(t->meta.namespace);
                t->meta.namespace = strdup(ns);
                r = task_to_json(t, &out);
                task_free(t);
        }
        ck_assert_int_eq(r, 0);
        return out;
}

static const char *resource_of(const char *kind) {
        if (strcmp(kind, "Project") == 0)
                return "projects.mbox.dev";
        if (strcmp(kind, "EnvironmentTemplate") == 0)
                return "environmenttemplates.mbox.dev";
        if (strcmp(kind, "Sandbox") == 0)
                return "sandboxes.mbox.dev";
        return "executiontasks.mbox.dev";
}

static void roundtrip(const char *path, const char *ns, size_t i) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(MAX_OUT);
        _cleanup_json_ json_object *doc = load(path), *sent = NULL, *got = NULL, *again = NULL;
        struct merr err = MERR_INIT;
        json_object *v = NULL, *sent_spec = NULL, *again_spec = NULL, *kind_obj = NULL, *name_obj = NULL;
        char tmp[] = "/tmp/mbox-api-roundtrip-XXXXXX";
        const char *text, *kind, *name;
        bool cluster_scoped;
        int fd;

        sent = typed_emit(doc, ns, i, path);
        text = json_object_to_json_string_ext(sent, JSON_C_TO_STRING_PLAIN);
        fd = mkostemp(tmp, O_CLOEXEC);
        ck_assert(fd >= 0);
        ck_assert(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
        ck_assert(json_object_object_get_ex(sent, "kind", &kind_obj));
        kind = json_object_get_string(kind_obj);
        cluster_scoped = strcmp(kind, "Project") == 0;
        ck_assert_int_eq(json_lookup(sent, "metadata.name", &name_obj, NULL), 1);
        name = json_object_get_string(name_obj);

        ck_assert_msg(tc_kubectl(NULL, "apply", "--server-side", "--field-manager=mbox-api-test", "-f", tmp,
                              NULL) == 0,
                "%s: kubectl apply refused %s", path, text);
        unlink(tmp);
        if (cluster_scoped)
                ck_assert_int_eq(tc_kubectl(&out, "get", resource_of(kind), name, "-o", "json", NULL), 0);
        else
                ck_assert_int_eq(
                        tc_kubectl(&out, "-n", ns, "get", resource_of(kind), name, "-o", "json", NULL), 0);
        ck_assert_int_eq(json_parse(buf_str(&out), out.len, 0, &got, &err), 0);

        /* the server's object through the C view, emitted again */
        again = NULL;
        {
                if (strcmp(kind, "Project") == 0) {
                        struct project *p = NULL;
                        ck_assert_msg(project_from_json(got, &p, &err) == 0, "%s: %s", path, merr_msg(&err));
                        ck_assert_int_eq(project_to_json(p, &again), 0);
                        project_free(p);
                } else if (strcmp(kind, "EnvironmentTemplate") == 0) {
                        struct template *t = NULL;
                        ck_assert_msg(template_from_json(got, &t, &err) == 0, "%s: %s", path, merr_msg(&err));
                        ck_assert_int_eq(template_to_json(t, &again), 0);
                        template_free(t);
                } else if (strcmp(kind, "Sandbox") == 0) {
                        struct sandbox *s = NULL;
                        ck_assert_msg(sandbox_from_json(got, &s, &err) == 0, "%s: %s", path, merr_msg(&err));
                        ck_assert_int_eq(sandbox_to_json(s, &again), 0);
                        sandbox_free(s);
                } else {
                        struct task *t = NULL;
                        ck_assert_msg(task_from_json(got, &t, &err) == 0, "%s: %s", path, merr_msg(&err));
                        ck_assert_int_eq(task_to_json(t, &again), 0);
                        task_free(t);
                }
        }
        ck_assert(json_object_object_get_ex(sent, "spec", &sent_spec));
        ck_assert(json_object_object_get_ex(again, "spec", &again_spec));
        ck_assert_msg(json_object_equal(sent_spec, again_spec),
                "%s: spec differs after the API server:\nsent %s\ngot  %s", path,
                json_object_to_json_string(sent_spec), json_object_to_json_string(again_spec));
        ck_assert_int_eq(json_lookup(again, "metadata.name", &v, NULL), 1);
        ck_assert_str_eq(json_object_get_string(v), name);
        if (!cluster_scoped) {
                ck_assert_int_eq(json_lookup(again, "metadata.namespace", &v, NULL), 1);
                ck_assert_str_eq(json_object_get_string(v), ns);
        } else
                ck_assert_int_eq(
                        tc_kubectl(NULL, "delete", resource_of(kind), name, "--wait=false", NULL), 0);
}

static void roundtrip_dir(const char *dir, const char *ns, size_t *i) {
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort);

        ck_assert(n >= 0);
        for (int j = 0; j < n; j++) {
                size_t l = strlen(names[j]->d_name);
                if (l > 5 && strcmp(names[j]->d_name + l - 5, ".yaml") == 0) {
                        char path[1024];
                        (void) snprintf(path, sizeof(path), "%s/%s", dir, names[j]->d_name);
                        roundtrip(path, ns, (*i)++);
                }
                free(names[j]);
        }
        free(names);
}

START_TEST(test_roundtrip) {
        _cleanup_free_ char *ns = tc_namespace_new("api-rt");
        size_t i = 0;

        ck_assert_ptr_nonnull(ns);
        roundtrip_dir("examples", ns, &i);
        roundtrip_dir("tests/integration/testdata/valid", ns, &i);
        roundtrip_dir("tests/integration/testdata/base", ns, &i);
        ck_assert_uint_ge(i, 17);
        ck_assert_int_eq(tc_namespace_delete(ns), 0);
}
END_TEST

static Suite *api_roundtrip_suite(void) {
        Suite *s = suite_create("api-roundtrip");
        TCase *tc = tcase_create("cluster");

        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_roundtrip);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(api_roundtrip_suite)
