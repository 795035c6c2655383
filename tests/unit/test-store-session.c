/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "store/session.h"
#include "testutil.h"

static const struct {
        const char *sandbox;
        unsigned char rnd[5];
        const char *name;
} names[] = {
        {"dev", {0, 1, 2, 3, 4}, "dev-bcdfg"},
        /* each byte picks from 27 characters: 26 is the last, 27 wraps to the first */
        {"dev", {26, 27, 255, 100, 53}, "dev-9bqz9"},
        {"", {0, 0, 0, 0, 0}, "-bbbbb"},
        /* a name as long as a DNS label: the sandbox's name is cut to 57 characters */
        {"a23456789012345678901234567890123456789012345678901234567890123", {0, 0, 0, 0, 0},
                "a23456789012345678901234567890123456789012345678901234567-bbbbb"},
        {"a2345678901234567890123456789012345678901234567890123456", {5, 5, 5, 5, 5},
                "a2345678901234567890123456789012345678901234567890123456-hhhhh"},
};

START_TEST(test_name) {
        char name[64];
        store_session_name(names[_i].sandbox, names[_i].rnd, name);
        ck_assert_str_eq(name, names[_i].name);
        ck_assert_uint_le(strlen(name), STORE_SESSION_NAME_MAX);
        for (const char *p = name + strlen(name) - 5; *p; p++)
                ck_assert_msg(strchr("bcdfghjklmnpqrstvwxz2456789", *p), "%s", name);
}
END_TEST

static Suite *store_session_suite(void) {
        Suite *s = suite_create("store-session");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_name, 0, (int) ARRAY_SIZE(names));
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(store_session_suite)
