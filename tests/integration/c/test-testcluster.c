/* SPDX-License-Identifier: Apache-2.0 */
/* The C test helpers work against the local cluster: a fresh namespace appears and goes away. */
#include <string.h>

#include "testcluster.h"
#include "testutil.h"

START_TEST(test_namespace_lifecycle) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(64 * 1024);
        _cleanup_free_ char *ns = tc_namespace_new("c-helper");

        ck_assert_ptr_nonnull(ns);
        ck_assert_int_eq(tc_kubectl(&out, "get", "namespace", ns, "-o", "jsonpath={.status.phase}", NULL), 0);
        ck_assert_str_eq(buf_str(&out), "Active");
        ck_assert_int_eq(tc_namespace_delete(ns), 0);
        buf_reset(&out);
        ck_assert_int_eq(tc_kubectl(&out, "get", "namespace", ns, "-o", "jsonpath={.status.phase}", NULL), 0);
        ck_assert(strcmp(buf_str(&out), "Terminating") == 0 || buf_str(&out)[0] == '\0');
}
END_TEST

START_TEST(test_kubectl_failure_is_reported) {
        /* kubectl's own exit status for an error from the server (1), not a kubectl that could not be run
         * (127, or < 0): the same kubectl answers 0 for a namespace that exists */
        ck_assert_int_eq(tc_kubectl(NULL, "get", "namespace", "does-not-exist-0000", NULL), 1);
        ck_assert_int_eq(tc_kubectl(NULL, "get", "namespace", "default", "-o", "name", NULL), 0);
}
END_TEST

static Suite *testcluster_suite(void) {
        Suite *s = suite_create("testcluster");
        TCase *tc = tcase_create("cluster");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_namespace_lifecycle);
        tcase_add_test(tc, test_kubectl_failure_is_reported);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(testcluster_suite)
