/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "flag.h"
#include "testutil.h"

START_TEST(test_count) {
        struct merr err = MERR_INIT;
        long v = 0;

        ck_assert_int_eq(flag_count("workers", "8", 1, 1000, &v, &err), 0);
        ck_assert_int_eq(v, 8);
        const char *bad[] = {"", "0", "1001", "8x", " 8", "-1", "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                merr_clear(&err);
                v = 7;
                ck_assert_int_eq(flag_count("workers", bad[i], 1, 1000, &v, &err), -EINVAL);
                ck_assert_int_eq(v, 7);
        }
        merr_clear(&err);
        (void) flag_count("workers", "0", 1, 1000, &v, &err);
        ck_assert_str_eq(merr_msg(&err), "--workers: expected a number from 1 to 1000, got '0'");
}
END_TEST

START_TEST(test_duration_ms) {
        struct merr err = MERR_INIT;
        int64_t ms = 0;

        ck_assert_int_eq(flag_duration_ms("resync", "1m30s", 1, &ms, &err), 0);
        ck_assert_int_eq(ms, 90000);
        ck_assert_int_eq(flag_duration_ms("resync", "500us", 1, &ms, &err), 0);
        ck_assert_int_eq(ms, 1); /* under a millisecond, not nothing */
        ck_assert_int_eq(flag_duration_ms("retention", "0", 0, &ms, &err), 0);
        ck_assert_int_eq(ms, 0);
        ck_assert_int_eq(flag_duration_ms("resync", "0", 1, &ms, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "--resync: must be at least 1ms, got '0'");
        merr_clear(&err);
        ck_assert_int_eq(flag_duration_ms("retention", "-1h", 0, &ms, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "--retention: must not be negative, got '-1h'");
        merr_clear(&err);
        ck_assert_int_eq(flag_duration_ms("request-timeout", "999ms", 1000, &ms, &err), -EINVAL);
        merr_clear(&err);
        ck_assert_int_eq(flag_duration_ms("resync", "soon", 1, &ms, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "--resync: duration 'soon'"));
}
END_TEST

START_TEST(test_bytes) {
        struct merr err = MERR_INIT;
        int64_t v = 0;

        ck_assert_int_eq(flag_bytes("max-task-output", "16Mi", 1, INT64_MAX, &v, &err), 0);
        ck_assert_int_eq(v, 16 * 1024 * 1024);
        ck_assert_int_eq(flag_bytes("max-task-output", "1048576", 1, INT64_MAX, &v, &err), 0);
        ck_assert_int_eq(v, 1048576);
        const char *bad[] = {"0", "1.5", "-1Ki", "lots", "100m", ""};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                merr_clear(&err);
                ck_assert_int_eq(flag_bytes("max-task-output", bad[i], 1, INT64_MAX, &v, &err), -EINVAL);
        }
        merr_clear(&err);
        ck_assert_int_eq(flag_bytes("max-list-bytes", "1Ki", 65536, 1 << 30, &v, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "--max-list-bytes: expected a whole number of bytes from 65536 to "
                                         "1073741824 such as 1048576, 512Ki "
                                         "or 16Mi, got '1Ki'");
}
END_TEST

static Suite *flag_suite(void) {
        Suite *s = suite_create("flag");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_count);
        tcase_add_test(tc, test_duration_ms);
        tcase_add_test(tc, test_bytes);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(flag_suite)
