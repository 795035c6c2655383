/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "tail.h"
#include "testutil.h"

static char *text(const struct tail *t) {
        size_t n = 0;
        char *s = tail_text(t, &n);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(n, strlen(s));
        return s;
}

START_TEST(test_keeps_the_last_bytes) {
        struct tail t;
        ck_assert_int_eq(tail_init(&t, 8), 0);
        tail_add(&t, "abc", 3);
        char *s = text(&t);
        ck_assert_str_eq(s, "abc");
        free(s);
        tail_add(&t, "defgh", 5);
        tail_add(&t, "ij", 2);
        s = text(&t);
        ck_assert_str_eq(s, "cdefghij");
        free(s);
        tail_add(&t, "0123456789", 10); /* longer than the ring */
        s = text(&t);
        ck_assert_str_eq(s, "23456789");
        free(s);
        ck_assert_uint_eq(t.total, 20);
        tail_release(&t);
}
END_TEST

START_TEST(test_utf8_boundaries_and_invalid_bytes) {
        struct tail t;
        ck_assert_int_eq(tail_init(&t, 4), 0);
        /* "aé€" is 1 + 2 + 3 bytes: the ring keeps the last 4, cutting é in two */
        tail_add(&t, "a\xc3\xa9\xe2\x82\xac", 6);
        char *s = text(&t);
        ck_assert_str_eq(s, "\xe2\x82\xac"); /* the half é is dropped, not shown as garbage */
        free(s);
        tail_release(&t);

        ck_assert_int_eq(tail_init(&t, 64), 0);
        /* a stray continuation byte, an overlong encoding, a surrogate, a code point past U+10FFFF, NUL */
        tail_add(&t, "x\x80y\xc0\xafz\xed\xa0\x80w\xf4\x90\x80\x80v", 15);
        tail_add(&t, "\0!", 2);
        size_t n = 0;
        s = tail_text(&t, &n);
        ck_assert_uint_eq(n, 17);
        ck_assert_int_eq(memcmp(s, "x?y??z???w????v\0!", 17), 0);
        free(s);
        tail_release(&t);
}
END_TEST

static Suite *tail_suite(void) {
        Suite *s = suite_create("tail");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_keeps_the_last_bytes);
        tcase_add_test(tc, test_utf8_boundaries_and_invalid_bytes);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(tail_suite)
