/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "previewtoken.h"
#include "testutil.h"

static struct preview_claims claims(void) {
        struct preview_claims c = {.kind = PREVIEW_TOKEN_LINK, .expires = 2000000000};
        snprintf(c.namespace, sizeof(c.namespace), "mbox-demo");
        snprintf(c.sandbox, sizeof(c.sandbox), "demo-sandbox");
        snprintf(c.sandbox_uid, sizeof(c.sandbox_uid), "5f0c1a2b-0000-4000-8000-000000000001");
        snprintf(c.port, sizeof(c.port), "web");
        snprintf(c.user, sizeof(c.user), "alice \"the admin\" <\xc3\xa9>");
        snprintf(c.user_uid, sizeof(c.user_uid), "uid-of-alice");
        memcpy(c.groups, "devs\0system:authenticated\0", sizeof("devs\0system:authenticated\0"));
        snprintf(c.id, sizeof(c.id), "0123456789abcdef0123456789abcdef");
        return c;
}

/* A key file with n bytes of x. */
static char *key_file(size_t n) {
        char *path = strdup("/tmp/mbox-test-previewkey-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(write(fd, "x", 1), 1);
        close(fd);
        return path;
}

START_TEST(test_round_trip) {
        _cleanup_(preview_key_freep) struct preview_key *k = NULL;
        _cleanup_free_ char *t = NULL;
        struct preview_claims c = claims(), got;
        ck_assert_int_eq(preview_key_random(&k, NULL), 0);
        ck_assert_int_eq(preview_token_sign(k, &c, &t), 0);
        /* safe in a URL query and a cookie value as it is */
        ck_assert_uint_eq(
                strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."), strlen(t));
        ck_assert_int_eq(preview_token_verify(k, t, strlen(t), 1000, &got), 0);
        ck_assert_int_eq(got.kind, PREVIEW_TOKEN_LINK);
        ck_assert_str_eq(got.namespace, c.namespace);
        ck_assert_str_eq(got.sandbox, c.sandbox);
        ck_assert_str_eq(got.sandbox_uid, c.sandbox_uid);
        ck_assert_str_eq(got.port, c.port);
        ck_assert_str_eq(got.user, c.user);
        ck_assert_str_eq(got.user_uid, c.user_uid);
        ck_assert_mem_eq(got.groups, c.groups, sizeof("devs\0system:authenticated\0"));
        ck_assert_str_eq(got.id, c.id);
        ck_assert_int_eq(got.expires, c.expires);

        c.kind = PREVIEW_TOKEN_COOKIE;
        free(t);
        ck_assert_int_eq(preview_token_sign(k, &c, &t), 0);
        ck_assert_int_eq(preview_token_verify(k, t, strlen(t), 1000, &got), 0);
        ck_assert_int_eq(got.kind, PREVIEW_TOKEN_COOKIE);
}
END_TEST

START_TEST(test_expiry) {
        _cleanup_(preview_key_freep) struct preview_key *k = NULL;
        _cleanup_free_ char *t = NULL;
        struct preview_claims c = claims(), got = {.expires = 7};
        ck_assert_int_eq(preview_key_random(&k, NULL), 0);
        ck_assert_int_eq(preview_token_sign(k, &c, &t), 0);
        ck_assert_int_eq(preview_token_verify(k, t, strlen(t), c.expires - 1, &got), 0);
        got.expires = 7;
        ck_assert_int_eq(preview_token_verify(k, t, strlen(t), c.expires, &got), -EKEYEXPIRED);
        ck_assert_int_eq(preview_token_verify(k, t, strlen(t), c.expires + 100, &got), -EKEYEXPIRED);
        ck_assert_int_eq(got.expires, 7); /* untouched on failure */
}
END_TEST

START_TEST(test_refused) {
        _cleanup_(preview_key_freep) struct preview_key *k = NULL, *other = NULL;
        _cleanup_free_ char *t = NULL, *big = NULL;
        struct preview_claims c = claims(), got;
        ck_assert_int_eq(preview_key_random(&k, NULL), 0);
        ck_assert_int_eq(preview_key_random(&other, NULL), 0);
        ck_assert_int_eq(preview_token_sign(k, &c, &t), 0);
        size_t n = strlen(t);
        /* another key's signature */
        ck_assert_int_eq(preview_token_verify(other, t, n, 0, &got), -EBADMSG);
        /* any byte changed, cut short, or extended */
        for (size_t i = 0; i < n; i++) {
                char saved = t[i];
                t[i] = t[i] == 'A' ? 'B' : 'A';
                ck_assert_int_eq(preview_token_verify(k, t, n, 0, &got), -EBADMSG);
                t[i] = saved;
        }
        ck_assert_int_eq(preview_token_verify(k, t, n - 1, 0, &got), -EBADMSG);
        ck_assert_int_eq(preview_token_verify(k, t + 1, n - 1, 0, &got), -EBADMSG);
        ck_assert_int_eq(preview_token_verify(k, "", 0, 0, &got), -EBADMSG);
        ck_assert_int_eq(preview_token_verify(k, ".", 1, 0, &got), -EBADMSG);
        ck_assert_int_eq(preview_token_verify(k, NULL, 0, 0, &got), -EBADMSG);
        /* longer than the bound: refused unread */
        big = malloc(PREVIEW_TOKEN_MAX_LEN + 2);
        memset(big, 'A', PREVIEW_TOKEN_MAX_LEN + 1);
        big[PREVIEW_TOKEN_MAX_LEN + 1] = '\0';
        ck_assert_int_eq(preview_token_verify(k, big, PREVIEW_TOKEN_MAX_LEN + 1, 0, &got), -EBADMSG);
        /* claims that do not fit are not signed */
        memset(c.port, 'p', sizeof(c.port));
        char *t2 = NULL;
        ck_assert_int_eq(preview_token_sign(k, &c, &t2), -EINVAL);
        /* groups that do not end within their field */
        c = claims();
        memset(c.groups, 'g', sizeof(c.groups));
        ck_assert_int_eq(preview_token_sign(k, &c, &t2), -E2BIG);
        /* as many as fit: signed, and read back whole */
        c = claims();
        size_t at = 0;
        while (at + 12 <= sizeof(c.groups) - 1) {
                memcpy(c.groups + at, "group-0123\0", 11);
                at += 11;
        }
        c.groups[at] = 0;
        ck_assert_int_eq(preview_token_sign(k, &c, &t2), 0);
        ck_assert_uint_le(strlen(t2), PREVIEW_TOKEN_MAX_LEN);
        ck_assert_int_eq(preview_token_verify(k, t2, strlen(t2), 0, &got), 0);
        ck_assert_mem_eq(got.groups, c.groups, at + 1);
        free(t2);
        t2 = NULL;
        /* groups that fit their field, but whose token would be longer than verify reads: not signed */
        c = claims();
        at = 0;
        while (at + 3 <= sizeof(c.groups) - 1) {
                memcpy(c.groups + at, "/g\0", 3);
                at += 3;
        }
        c.groups[at] = 0;
        ck_assert_int_eq(preview_token_sign(k, &c, &t2), -E2BIG);
        ck_assert_ptr_null(t2);
        c = claims();
        c.kind = 3;
        ck_assert_int_eq(preview_token_sign(k, &c, &t2), -EINVAL);
        ck_assert_ptr_null(t2);
}
END_TEST

START_TEST(test_key_file) {
        struct merr err = MERR_INIT;
        _cleanup_(preview_key_freep) struct preview_key *k = NULL, *k2 = NULL;
        _cleanup_free_ char *t = NULL;
        struct preview_claims c = claims(), got;
        _cleanup_free_ char *ok = key_file(PREVIEW_KEY_MIN), *shorter = key_file(PREVIEW_KEY_MIN - 1),
                            *longer = key_file(PREVIEW_KEY_MAX + 1);

        ck_assert_int_eq(preview_key_load(ok, &k, &err), 0);
        ck_assert_int_eq(preview_key_load(ok, &k2, &err), 0);
        /* the same file, the same key: another replica verifies what one signed */
        ck_assert_int_eq(preview_token_sign(k, &c, &t), 0);
        ck_assert_int_eq(preview_token_verify(k2, t, strlen(t), 0, &got), 0);

        ck_assert_int_eq(preview_key_load(shorter, &k2, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "31 bytes, at least 32 are needed"));
        ck_assert_int_eq(preview_key_load(longer, &k2, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "larger than 4096 bytes"));
        ck_assert_int_eq(preview_key_load("/nonexistent/key", &k2, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err.msg, "'/nonexistent/key'"));
        unlink(ok);
        unlink(shorter);
        unlink(longer);
        ck_assert_ptr_null(preview_key_free(NULL));
}
END_TEST

static Suite *previewtoken_suite(void) {
        Suite *s = suite_create("previewtoken");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_expiry);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_key_file);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(previewtoken_suite)
