/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "merr.h"
#include "testutil.h"

START_TEST(test_set_returns_negative_code) {
        struct merr e = MERR_INIT;

        ck_assert_int_eq(merr_set(&e, -ENOENT, "template '%s' not found", "node"), -ENOENT);
        ck_assert_int_eq(e.code, -ENOENT);
        ck_assert_str_eq(merr_msg(&e), "template 'node' not found");
        /* positive codes are negated, zero becomes an error too */
        ck_assert_int_eq(merr_set(&e, EINVAL, "x"), -EINVAL);
        ck_assert_int_lt(merr_set(&e, 0, "x"), 0);
}
END_TEST

START_TEST(test_null_err_is_allowed) {
        ck_assert_int_eq(merr_set(NULL, -EPERM, "ignored"), -EPERM);
        ck_assert_int_eq(merr_wrap(NULL, -EPERM, "ignored"), -EPERM);
        ck_assert_str_eq(merr_msg(NULL), "no error");
}
END_TEST

START_TEST(test_wrap_prefixes_context) {
        struct merr e = MERR_INIT;

        merr_set(&e, -EINVAL, "line 3, column 7: bad indent");
        ck_assert_int_eq(merr_wrap(&e, -EIO, "apply '%s'", "a.yaml"), -EINVAL);
        ck_assert_str_eq(merr_msg(&e), "apply 'a.yaml': line 3, column 7: bad indent");
}
END_TEST

START_TEST(test_wrap_without_error_sets) {
        struct merr e = MERR_INIT;

        ck_assert_int_eq(merr_wrap(&e, -ETIMEDOUT, "waiting for '%s'", "pod"), -ETIMEDOUT);
        ck_assert_str_eq(merr_msg(&e), "waiting for 'pod'");
}
END_TEST

START_TEST(test_message_truncated_safely) {
        struct merr e = MERR_INIT;
        char big[4 * MERR_MSG_MAX];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        merr_set(&e, -E2BIG, "%s", big);
        ck_assert_uint_eq(strlen(e.msg), MERR_MSG_MAX - 1);
        merr_wrap(&e, -E2BIG, "%s", big);
        ck_assert_uint_eq(strlen(e.msg), MERR_MSG_MAX - 1);
}
END_TEST

START_TEST(test_empty_message_falls_back_to_strerror) {
        struct merr e = MERR_INIT;

        merr_set(&e, -ENOENT, "%s", "");
        ck_assert_str_eq(merr_msg(&e), strerror(ENOENT));
        merr_clear(&e);
        ck_assert_int_eq(e.code, 0);
        ck_assert_str_eq(merr_msg(&e), "no error");
}
END_TEST

static Suite *merr_suite(void) {
        Suite *s = suite_create("merr");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_set_returns_negative_code);
        tcase_add_test(tc, test_null_err_is_allowed);
        tcase_add_test(tc, test_wrap_prefixes_context);
        tcase_add_test(tc, test_wrap_without_error_sets);
        tcase_add_test(tc, test_message_truncated_safely);
        tcase_add_test(tc, test_empty_message_falls_back_to_strerror);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(merr_suite)
