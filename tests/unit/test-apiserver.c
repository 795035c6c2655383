/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "apiserver/internal.h"
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
        bad("/namespaces/a/taskoutputs/t/log/x", -ENOENT);
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

static Suite *apiserver_suite(void) {
        Suite *s = suite_create("apiserver");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_path);
        tcase_add_test(tc, test_label_selector);
        tcase_add_test(tc, test_field_selector);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(apiserver_suite)
