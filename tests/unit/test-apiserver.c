/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "apiserver/internal.h"
#include "store/artifact.h"
#include "store/taskoutput.h"
#include "testutil.h"

static void ok(const char *path, const char *ns, const char *res, const char *name, const char *sub) {
        char buf[256];
        struct api_path p;
        ck_assert_msg(api_parse_path(path, buf, sizeof(buf), &p) == 0, "%s", path);
        ck_assert_pstr_eq(p.namespace, ns);
        ck_assert_pstr_eq(p.resource, res);
        ck_assert_pstr_eq(p.name, name);
        ck_assert_pstr_eq(p.subresource, sub);
}

/* The tail of path (what follows its subresource), in a static buffer. */
static const char *tail(const char *path) {
        static char buf[256];
        struct api_path p;
        ck_assert_msg(api_parse_path(path, buf, sizeof(buf), &p) == 0, "%s", path);
        return p.tail;
}

static void bad(const char *path, int code) {
        char buf[40];
        struct api_path p;
        ck_assert_msg(api_parse_path(path, buf, sizeof(buf), &p) == code, "%s", path);
}

START_TEST(test_parse_path) {
        ok("/taskoutputs", NULL, "taskoutputs", NULL, NULL);
        ok("/namespaces/a/taskoutputs", "a", "taskoutputs", NULL, NULL);
        ok("/namespaces/a/taskoutputs/t", "a", "taskoutputs", "t", NULL);
        ok("/namespaces/a/taskoutputs/t/log", "a", "taskoutputs", "t", "log");
        ok("/namespaces", NULL, "namespaces", NULL, NULL);
        ok("/namespaces/a/sandboxes/s/proxy", "a", "sandboxes", "s", "proxy");
        ck_assert_pstr_eq(tail("/namespaces/a/sandboxes/s/proxy/web/x//y/"), "web/x//y/");
        ck_assert_pstr_eq(tail("/sandboxes/s/proxy/"), "");
        ck_assert_pstr_eq(tail("/namespaces/a/sandboxes/s/proxy"), NULL);
        bad("/namespaces/a/sandboxes//proxy/web", -ENOENT);
        bad("/namespaces/a", -ENOENT);
        bad("//taskoutputs", -ENOENT);
        bad("/taskoutputs/", -ENOENT);
        bad("taskoutputs", -ENOENT);
        bad("", -ENOENT);
        bad("/namespaces/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x", -ENAMETOOLONG);
}
END_TEST

static const struct store_field fields[] = {{"object.kind", "kind"}, {"type", "event"}, {NULL, NULL}};

/* sel as SQL conditions and their parameters, joined with '|' */
static void selector(bool labels, const char *sel, const char *where, const char *params) {
        struct api_query q = {.where = BUF_INIT(4096)};
        struct merr err = MERR_INIT;
        char got[512] = "";
        int r = labels ? api_label_selector(sel, "L", &q, &err) : api_field_selector(sel, fields, &q, &err);
        ck_assert_msg(r == 0, "%s: %s", sel, merr_msg(&err));
        ck_assert_str_eq(buf_str(&q.where), where);
        for (int i = 0; i < q.n; i++)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "|" : "", q.params[i]);
        ck_assert_str_eq(got, params);
        api_query_free(&q);
}

static void refused(bool labels, const char *sel, const char *msg) {
        struct api_query q = {.where = BUF_INIT(4096)};
        struct merr err = MERR_INIT;
        int r = labels ? api_label_selector(sel, "L", &q, &err) : api_field_selector(sel, fields, &q, &err);
        ck_assert_msg(r == -EINVAL, "%s: %d", sel, r);
        ck_assert_msg(strstr(merr_msg(&err), msg), "%s: %s", sel, merr_msg(&err));
        api_query_free(&q);
}

START_TEST(test_label_selector) {
        selector(true, "", "", "");
        selector(true, "app=web", " AND (L ->> $1) = $2", "app|web");
        selector(true, "app == web , tier!=db", " AND (L ->> $1) = $2 AND (L ->> $3) IS DISTINCT FROM $4",
                "app|web|tier|db");
        selector(true, "mbox.dev/sandbox,!gone", " AND (L ->> $1) IS NOT NULL AND (L ->> $2) IS NULL",
                "mbox.dev/sandbox|gone");
        selector(true, "env in (a, b),x notin (c)",
                " AND (L ->> $1) IN ($2, $3) AND ((L ->> $4) IS NULL OR (L ->> $4) NOT IN ($5))",
                "env|a|b|x|c");
        selector(true, "k=", " AND (L ->> $1) = $2", "k|");
        refused(true, "=x", "a label key is missing");
        refused(true, "a in (b,", "expected ',' or ')'");
        refused(true, "a=b c", "expected ','");
        refused(true, "a=-b", "invalid label value");
        refused(true, "/a=b", "invalid label key");
        refused(true, "a'; DROP TABLE x=1", "expected");
        refused(true, "a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a", "too many requirements");
}
END_TEST

START_TEST(test_field_selector) {
        selector(false, "object.kind=Sandbox", " AND kind = $1", "Sandbox");
        selector(false, "type!=DELETED,object.kind==Project", " AND event IS DISTINCT FROM $1 AND kind = $2",
                "DELETED|Project");
        selector(false, "object.kind=it's", " AND kind = $1", "it's");
        refused(false, "spec.x=1", "field label not supported: spec.x");
        refused(false, "object.kind", "expected field=value");
        refused(false, "object.kind=a\\,b", "escapes are not supported");
}
END_TEST

/* Every entry of the resource table says what its handlers need. */
START_TEST(test_resource_table) {
        size_t n = 0;
        for (const struct api_resource *r = api_resources; r->name; r++, n++) {
                ck_assert_ptr_eq(api_resource_find(r->name), r);
                ck_assert_msg(r->singular && r->kind, "%s", r->name);
                for (const struct api_subresource *sub = r->subresources; sub && sub->name; sub++) {
                        char label[128];
                        snprintf(label, sizeof(label), "%s/%s", r->name, sub->name);
                        ck_assert_str_eq(sub->label, label);
                        ck_assert_ptr_eq(api_subresource_find(r, sub->name), sub);
                        ck_assert_msg(sub->handle && sub->verbs, "%s", label);
                        ck_assert_msg(!sub->upgrade || sub->verbs == (API_GET | API_CREATE), "%s", label);
                }
                if (!r->store) { /* connect subresources alone, or created only (nothing stored) */
                        ck_assert_msg((r->verbs == 0 && r->subresources) ||
                                              (r->verbs == API_CREATE && r->create && r->schema),
                                "%s: no records", r->name);
                        continue;
                }
                ck_assert_msg(r->token && r->schema && r->list_description, "%s", r->name);
                ck_assert_msg(r->fields && r->columns, "%s: records", r->name);
                ck_assert_msg(r->columns[0].name && strcmp(r->columns[0].format, "name") == 0,
                        "%s: the first column of a Table is the name", r->name);
                ck_assert_msg(!(r->verbs & API_CREATE) == !r->create, "%s: create", r->name);
                ck_assert_msg(!(r->verbs & API_PATCH) == !r->patch, "%s: patch", r->name);
                ck_assert_msg(!(r->verbs & API_DELETE) == !r->remove, "%s: delete", r->name);
                ck_assert_msg(r->store->name_col || r->name_query, "%s: get by name", r->name);
                for (const struct api_resource *o = api_resources; o != r; o++)
                        ck_assert_msg(!o->token || strcmp(o->token, r->token) != 0, "%s: its continue tokens",
                                r->name);
        }
        ck_assert_uint_eq(n, 7);
        ck_assert_ptr_null(api_resource_find("widgets"));
}
END_TEST

/* A result of n text columns and one row of values (NULL: an empty string), as Postgres sends one. */
static PGresult *row(int n, const char *const *values) {
        PGresAttDesc attrs[32] = {0};
        PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
        ck_assert_int_le(n, 32);
        for (int i = 0; i < n; i++)
                attrs[i].name = (char *) "c";
        ck_assert(PQsetResultAttrs(res, n, attrs));
        for (int i = 0; i < n; i++)
                ck_assert(PQsetvalue(res, 0, i, (char *) (values[i] ? values[i] : ""),
                        values[i] ? (int) strlen(values[i]) : 0));
        return res;
}

static void json_is(json_object *o, const char *want) {
        ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), want);
        json_object_put(o);
}

/* A record and a Table row come out field by field as the entry's columns say: in their order, absent
 * values left out of the record and null in the Table. */
START_TEST(test_record_and_table) {
        const char *to[STORE_TASK_OUTPUT_DROPPED + 1] = {
                [STORE_TASK_OUTPUT_RV] = "7",
                [STORE_TASK_OUTPUT_TYPE] = "ADDED",
                [STORE_TASK_OUTPUT_VERSION] = "9",
                [STORE_TASK_OUTPUT_NS] = "ns",
                [STORE_TASK_OUTPUT_NAME] = "build",
                [STORE_TASK_OUTPUT_UID] = "u-1",
                [STORE_TASK_OUTPUT_STDOUT] = "10",
                [STORE_TASK_OUTPUT_STDERR] = "0",
                [STORE_TASK_OUTPUT_COMPLETE] = "f",
                [STORE_TASK_OUTPUT_STARTED] = "2026-11-01T00:00:00Z",
                [STORE_TASK_OUTPUT_LIMIT] = "100",
                [STORE_TASK_OUTPUT_DROPPED] = "25",
        };
        PGresult *res = row(STORE_TASK_OUTPUT_DROPPED + 1, to);
        const struct api_resource *r = api_resource_find("taskoutputs");
        json_is(api_record(r, res, 0),
                "{\"apiVersion\":\"runtime.mbox.dev\\/v1alpha1\",\"kind\":\"TaskOutput\",\"metadata\":{"
                "\"name\":\"build\",\"namespace\":\"ns\",\"uid\":\"u-1\",\"resourceVersion\":\"9\","
                "\"creationTimestamp\":\"2026-11-01T00:00:00Z\"},\"status\":{\"taskUID\":\"u-1\","
                "\"stdoutBytes\":10,\"stderrBytes\":0,\"complete\":false,\"startedAt\":\"2026-11-01T00:00:"
                "00Z\","
                "\"limitBytes\":100,\"truncated\":true,\"droppedBytes\":25}}");
        json_object *t = api_table(r, res, 0, 1), *rows = NULL, *cols = NULL;
        ck_assert(json_object_object_get_ex(t, "rows", &rows));
        ck_assert(json_object_object_get_ex(t, "columnDefinitions", &cols));
        ck_assert_uint_eq(json_object_array_length(cols), 5);
        json_object *row0 = json_object_array_get_idx(rows, 0), *cells = NULL, *obj = NULL;
        ck_assert(json_object_object_get_ex(row0, "cells", &cells));
        ck_assert(json_object_object_get_ex(row0, "object", &obj));
        ck_assert_str_eq(json_object_to_json_string_ext(json_object_array_get_idx(cells, 0), 0), "\"build\"");
        ck_assert_str_eq(json_object_to_json_string_ext(json_object_array_get_idx(cells, 3), 0), "false");
        json_is(json_object_get(obj),
                "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io\\/v1\",\"metadata\":{"
                "\"name\":\"build\",\"namespace\":\"ns\",\"uid\":\"u-1\",\"creationTimestamp\":"
                "\"2026-11-01T00:00:00Z\"}}");
        json_object_put(t);
        PQclear(res);

        /* an artifact without a task has no spec.task, even with a task uid; no size is a null cell */
        const char *a[STORE_ARTIFACT_CREATED + 1] = {
                [STORE_ARTIFACT_NS] = "ns",
                [STORE_ARTIFACT_NAME] = "a",
                [STORE_ARTIFACT_UID] = "u-2",
                [STORE_ARTIFACT_VERSION] = "3",
                [STORE_ARTIFACT_KIND] = "file",
                [STORE_ARTIFACT_URI] = "s3://b/k",
                [STORE_ARTIFACT_TASK_UID] = "u-3",
                [STORE_ARTIFACT_LABELS] = "{\"team\":\"x\"}",
                [STORE_ARTIFACT_ANNOTATIONS] = "{}",
                [STORE_ARTIFACT_SOURCE] = "Registered",
                [STORE_ARTIFACT_CREATED] = "2026-11-01T00:00:00Z",
        };
        res = row(STORE_ARTIFACT_CREATED + 1, a);
        r = api_resource_find("artifacts");
        json_is(api_record(r, res, 0),
                "{\"apiVersion\":\"runtime.mbox.dev\\/v1alpha1\",\"kind\":\"Artifact\",\"metadata\":{"
                "\"name\":\"a\",\"namespace\":\"ns\",\"uid\":\"u-2\",\"resourceVersion\":\"3\","
                "\"creationTimestamp\":\"2026-11-01T00:00:00Z\",\"labels\":{\"team\":\"x\"}},\"spec\":{"
                "\"kind\":\"file\",\"uri\":\"s3:\\/\\/b\\/k\"},\"status\":{\"source\":\"Registered\"}}");
        t = api_table(r, res, 0, 1);
        ck_assert(json_object_object_get_ex(t, "rows", &rows));
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(rows, 0), "cells", &cells));
        ck_assert_ptr_null(json_object_array_get_idx(cells, 5));
        json_object_put(t);
        PQclear(res);
}
END_TEST

static Suite *apiserver_suite(void) {
        Suite *s = suite_create("apiserver");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_path);
        tcase_add_test(tc, test_label_selector);
        tcase_add_test(tc, test_field_selector);
        tcase_add_test(tc, test_resource_table);
        tcase_add_test(tc, test_record_and_table);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(apiserver_suite)
