/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"

START_TEST(test_append_keeps_nul) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(64);

        ck_assert_str_eq(buf_str(&b), "");
        ck_assert_int_eq(buf_puts(&b, "abc"), 0);
        ck_assert_int_eq(buf_putc(&b, 'd'), 0);
        ck_assert_int_eq(buf_printf(&b, "-%d-", 42), 0);
        ck_assert_str_eq(buf_str(&b), "abcd-42-");
        ck_assert_uint_eq(b.len, 8);
        ck_assert_int_eq(b.data[b.len], '\0');
}
END_TEST

START_TEST(test_cap_is_hard) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(8);

        ck_assert_int_eq(buf_puts(&b, "12345678"), 0);
        ck_assert_int_eq(buf_putc(&b, 'x'), -ENOBUFS);
        ck_assert_int_eq(buf_printf(&b, "%s", "y"), -ENOBUFS);
        /* a failed append leaves the contents as they were */
        ck_assert_str_eq(buf_str(&b), "12345678");
        ck_assert_uint_le(b.alloc, 9);
}
END_TEST

START_TEST(test_cap_zero) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(0);

        ck_assert_int_eq(buf_append(&b, "", 0), 0);
        ck_assert_str_eq(buf_str(&b), "");
        ck_assert_int_eq(buf_putc(&b, 'a'), -ENOBUFS);
}
END_TEST

START_TEST(test_huge_append_refused_without_allocating) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(SIZE_MAX);

        ck_assert_int_eq(buf_puts(&b, "a"), 0);
        ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX), -ENOBUFS);
        ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 1), -ENOBUFS);
        ck_assert_str_eq(buf_str(&b), "a");
}
END_TEST

START_TEST(test_binary_data) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(16);
        const char bytes[] = {'a', '\0', 'b', '\xff'};

        ck_assert_int_eq(buf_append(&b, bytes, sizeof(bytes)), 0);
        ck_assert_uint_eq(b.len, 4);
        ck_assert_mem_eq(b.data, bytes, 4);
        ck_assert_int_eq(b.data[4], '\0');
}
END_TEST

START_TEST(test_consume_reset_detach) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(1024);
        _cleanup_free_ char *s = NULL;
        size_t n;

        ck_assert_int_eq(buf_puts(&b, "hello world"), 0);
        buf_consume(&b, 6);
        ck_assert_str_eq(buf_str(&b), "world");
        buf_consume(&b, 100);
        ck_assert_str_eq(buf_str(&b), "");
        ck_assert_int_eq(buf_puts(&b, "again"), 0);
        buf_reset(&b);
        ck_assert_uint_eq(b.len, 0);
        ck_assert_int_eq(buf_puts(&b, "kept"), 0);
        s = buf_detach(&b, &n);
        ck_assert_str_eq(s, "kept");
        ck_assert_uint_eq(n, 4);
        ck_assert_ptr_null(b.data);
        ck_assert_uint_eq(b.max, 1024);
}
END_TEST

START_TEST(test_detach_empty) {
        struct buf b = BUF_INIT(4);
        _cleanup_free_ char *s = buf_detach(&b, NULL);

        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, "");
}
END_TEST

START_TEST(test_growth_many_appends) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(1 << 20);

        for (int i = 0; i < 100000; i++)
                ck_assert_int_eq(buf_putc(&b, (char) ('a' + i % 26)), 0);
        ck_assert_uint_eq(b.len, 100000);
        ck_assert_uint_eq(strlen(buf_str(&b)), 100000);
        ck_assert_int_eq(b.data[25], 'z');
}
END_TEST

START_TEST(test_shrink) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(1 << 20);
        char big[4096];

        memset(big, 'x', sizeof(big));
        ck_assert_int_eq(buf_append(&b, big, sizeof(big)), 0);
        ck_assert_uint_ge(b.alloc, sizeof(big) + 1);
        /* under the threshold: nothing changes */
        buf_shrink(&b, 1 << 20);
        ck_assert_uint_eq(b.len, sizeof(big));
        /* contents are kept, the allocation fits them */
        ck_assert_int_eq(buf_puts(&b, "y"), 0);
        buf_shrink(&b, 64);
        ck_assert_uint_eq(b.len, sizeof(big) + 1);
        ck_assert_uint_eq(b.alloc, sizeof(big) + 2);
        ck_assert_int_eq(b.data[sizeof(big)], 'y');
        ck_assert_int_eq(b.data[b.len], '\0');
        /* an empty buffer gives its memory back and stays usable */
        buf_reset(&b);
        buf_shrink(&b, 64);
        ck_assert_ptr_null(b.data);
        ck_assert_uint_eq(b.alloc, 0);
        ck_assert_str_eq(buf_str(&b), "");
        ck_assert_int_eq(buf_puts(&b, "again"), 0);
        ck_assert_str_eq(buf_str(&b), "again");
        buf_shrink(&b, 0);
        ck_assert_str_eq(buf_str(&b), "again");
}
END_TEST

static Suite *buf_suite(void) {
        Suite *s = suite_create("buf");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_append_keeps_nul);
        tcase_add_test(tc, test_cap_is_hard);
        tcase_add_test(tc, test_cap_zero);
        tcase_add_test(tc, test_huge_append_refused_without_allocating);
        tcase_add_test(tc, test_binary_data);
        tcase_add_test(tc, test_consume_reset_detach);
        tcase_add_test(tc, test_detach_empty);
        tcase_add_test(tc, test_growth_many_appends);
        tcase_add_test(tc, test_shrink);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(buf_suite)
