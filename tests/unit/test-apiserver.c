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

static Suite *apiserver_suite(void) {
        Suite *s = suite_create("apiserver");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_path);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(apiserver_suite)
