/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "strmap.h"
#include "testutil.h"

START_TEST(test_put_get_remove) {
        _cleanup_(strmap_freep) struct strmap *m = strmap_new(NULL);
        int a = 1, b = 2;

        ck_assert_ptr_nonnull(m);
        ck_assert_ptr_null(strmap_get(m, "x"));
        ck_assert_int_eq(strmap_put(m, "x", &a), 0);
        ck_assert_int_eq(strmap_put(m, "y", &b), 0);
        ck_assert_ptr_eq(strmap_get(m, "x"), &a);
        ck_assert_int_eq(strmap_put(m, "x", &b), 0);
        ck_assert_ptr_eq(strmap_get(m, "x"), &b);
        ck_assert_uint_eq(strmap_size(m), 2);
        ck_assert(strmap_remove(m, "x"));
        ck_assert(!strmap_remove(m, "x"));
        ck_assert(!strmap_contains(m, "x"));
        ck_assert(strmap_contains(m, "y"));
        ck_assert_int_eq(strmap_put(m, "null", NULL), 0);
        ck_assert(strmap_contains(m, "null"));
        ck_assert_uint_eq(strmap_size(m), 2);
}
END_TEST

START_TEST(test_many_keys_with_churn) {
        _cleanup_(strmap_freep) struct strmap *m = strmap_new(free);
        char k[32];
        size_t it = 0, n = 0;
        const char *key;
        void *v;

        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 20000; i++) {
                        snprintf(k, sizeof(k), "ns/obj-%d", i);
                        ck_assert_int_eq(strmap_put(m, k, strdup(k)), 0);
                }
                for (int i = 0; i < 20000; i += 2) {
                        snprintf(k, sizeof(k), "ns/obj-%d", i);
                        ck_assert(strmap_remove(m, k));
                }
        }
        ck_assert_uint_eq(strmap_size(m), 10000);
        for (int i = 1; i < 20000; i += 2) {
                snprintf(k, sizeof(k), "ns/obj-%d", i);
                ck_assert_str_eq(strmap_get(m, k), k);
        }
        while (strmap_next(m, &it, &key, &v)) {
                ck_assert_str_eq(key, v);
                n++;
        }
        ck_assert_uint_eq(n, 10000);
}
END_TEST

static Suite *strmap_suite(void) {
        Suite *s = suite_create("strmap");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_put_get_remove);
        tcase_add_test(tc, test_many_keys_with_churn);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(strmap_suite)
