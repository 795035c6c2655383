/* SPDX-License-Identifier: Apache-2.0 */
/* The access log of previews in memory (pkg/apiserver/previewaccess.c): hits added up by key and minute,
 * within a bound on the windows held. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "apiserver/internal.h"
#include "store/previewaccess.h"
#include "testutil.h"

/* 2026-12-06T12:00:00Z, in microseconds */
#define NOON (1796558400LL * 1000000)

static const struct api_preview_hit hit = {
        .namespace = "demo",
        .sandbox = "web",
        .sandbox_uid = "0b5c7a1e-0000-4000-8000-000000000001",
        .port = "http",
        .user = "alice",
        .via = "Gateway",
        .status = 200,
        .bytes_in = 10,
        .bytes_out = 1000,
        .duration_us = 1500,
};

/* The window of (sandbox, user, grant, via, minute start) in m, or NULL. */
static const struct store_preview_access *find(
        struct strmap *m, const char *user, const char *grant, const char *via, int64_t window) {
        const char *key;
        void *v;
        for (size_t i = 0; strmap_next(m, &i, &key, &v);) {
                const struct store_preview_access *w = v;
                if (strcmp(w->user, user) == 0 && strcmp(w->grant, grant) == 0 && strcmp(w->via, via) == 0 &&
                        w->window == window)
                        return w;
        }
        return NULL;
}

/* Hits of one key in one minute are one window: counts added, first and last, the longest. */
START_TEST(test_same_key_merges) {
        struct api_preview_access *pa = api_preview_access_new(10);
        struct api_preview_hit h = hit;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 5000000), 0);
        h.status = 404;
        h.bytes_in = 1;
        h.bytes_out = 2;
        h.duration_us = 9000;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 1000000), 0);
        h.status = 503;
        h.duration_us = 10;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 59999999), 0);
        h.status = 101; /* a WebSocket */
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 30000000), 0);
        h.status = 0; /* none sent: counted, in no class */
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 30000000), 0);
        struct strmap *m = api_preview_access_take(pa);
        ck_assert_uint_eq(strmap_size(m), 1);
        const struct store_preview_access *w = find(m, "alice", "", "Gateway", NOON / 1000000);
        ck_assert_ptr_nonnull(w);
        ck_assert_str_eq(w->namespace, "demo");
        ck_assert_str_eq(w->sandbox, "web");
        ck_assert_str_eq(w->sandbox_uid, hit.sandbox_uid);
        ck_assert_str_eq(w->port, "http");
        ck_assert_int_eq(w->requests, 5);
        ck_assert_int_eq(w->classes[0], 1);
        ck_assert_int_eq(w->classes[1], 1);
        ck_assert_int_eq(w->classes[2], 0);
        ck_assert_int_eq(w->classes[3], 1);
        ck_assert_int_eq(w->classes[4], 1);
        ck_assert_int_eq(w->bytes_in, 10 + 4 * 1);
        ck_assert_int_eq(w->bytes_out, 1000 + 4 * 2);
        ck_assert_int_eq(w->first_us, NOON + 1000000);
        ck_assert_int_eq(w->last_us, NOON + 59999999);
        ck_assert_int_eq(w->max_duration_us, 9000);
        strmap_free(m);
        /* taken: the aggregate starts afresh */
        m = api_preview_access_take(pa);
        ck_assert_uint_eq(strmap_size(m), 0);
        strmap_free(m);
        api_preview_access_free(pa);
}
END_TEST

/* A new minute is a new window; so is another user, grant, way in, sandbox uid or port. */
START_TEST(test_windows_split) {
        struct api_preview_access *pa = api_preview_access_new(100);
        struct api_preview_hit h = hit;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON - 1), 0);
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 60000000 - 1), 0);
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 60000000), 0);
        h.user = "";
        h.grant = "g-1";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        h.grant = NULL; /* the same as "": no grant */
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        h.grant = "";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        h.user = "alice";
        h.via = "Proxy";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        h.via = "Gateway";
        h.sandbox_uid = "0b5c7a1e-0000-4000-8000-000000000002"; /* a new sandbox of the same name */
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        h = hit;
        h.port = "api";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        struct strmap *m = api_preview_access_take(pa);
        ck_assert_uint_eq(strmap_size(m), 8);
        int64_t noon = NOON / 1000000;
        ck_assert_int_eq(find(m, "alice", "", "Gateway", noon - 60)->requests, 1);
        /* the sandbox uid and port tell those two apart from this one */
        const char *key;
        void *v;
        int64_t at_noon = 0;
        for (size_t i = 0; strmap_next(m, &i, &key, &v);) {
                const struct store_preview_access *w = v;
                if (strcmp(w->user, "alice") == 0 && strcmp(w->via, "Gateway") == 0 && w->window == noon &&
                        strcmp(w->port, "http") == 0 && strcmp(w->sandbox_uid, hit.sandbox_uid) == 0)
                        at_noon += w->requests;
        }
        ck_assert_int_eq(at_noon, 2);
        ck_assert_int_eq(find(m, "alice", "", "Gateway", noon + 60)->requests, 1);
        ck_assert_int_eq(find(m, "", "g-1", "Gateway", noon)->requests, 1);
        ck_assert_int_eq(find(m, "", "", "Gateway", noon)->requests, 2);
        ck_assert_int_eq(find(m, "alice", "", "Proxy", noon)->requests, 1);
        strmap_free(m);
        api_preview_access_free(pa);
}
END_TEST

/* At most max_keys windows: a hit that needs another is refused, hits of the windows held still count, and
 * a take makes room again. */
START_TEST(test_key_cap) {
        struct api_preview_access *pa = api_preview_access_new(3);
        struct api_preview_hit h = hit;
        const char *users[] = {"a", "b", "c", "d"};
        for (size_t i = 0; i < 3; i++) {
                h.user = users[i];
                ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        }
        h.user = "d";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -ENOSPC);
        h.user = "a";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON + 60000000), -ENOSPC); /* a new minute */
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        struct strmap *m = api_preview_access_take(pa);
        ck_assert_uint_eq(strmap_size(m), 3);
        ck_assert_int_eq(find(m, "a", "", "Gateway", NOON / 1000000)->requests, 2);
        ck_assert_ptr_null(find(m, "d", "", "Gateway", NOON / 1000000));
        strmap_free(m);
        h.user = "d";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        api_preview_access_free(pa);
}
END_TEST

/* What cannot be a row is refused, not stored. */
START_TEST(test_refused) {
        struct api_preview_access *pa = api_preview_access_new(10);
        char longname[300];
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        struct api_preview_hit h = hit;
        h.via = "Tunnel";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -EINVAL);
        h.via = NULL;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -EINVAL);
        h = hit;
        h.port = NULL;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -EINVAL);
        h = hit;
        h.namespace = "";
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -EINVAL);
        h = hit;
        h.sandbox = longname;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -EINVAL);
        h = hit;
        h.user = longname;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), -EINVAL);
        h.user = NULL; /* the same as "": anonymous */
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        /* bytes past what the database counts are counted as its most */
        h.bytes_out = UINT64_MAX;
        ck_assert_int_eq(api_preview_access_add(pa, &h, NOON), 0);
        struct strmap *m = api_preview_access_take(pa);
        ck_assert_uint_eq(strmap_size(m), 1);
        ck_assert_int_eq(find(m, "", "", "Gateway", NOON / 1000000)->requests, 2);
        strmap_free(m);
        api_preview_access_free(pa);
}
END_TEST

#define THREADS 4
#define HITS    2000

static void *adder(void *arg) {
        struct api_preview_access *pa = arg;
        for (int i = 0; i < HITS; i++)
                if (api_preview_access_add(pa, &hit, NOON + i) < 0)
                        return arg;
        return NULL;
}

/* Noting is thread-safe: every hit of every thread is counted once. */
START_TEST(test_threads) {
        struct api_preview_access *pa = api_preview_access_new(10);
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, adder, pa), 0);
        for (int i = 0; i < THREADS; i++) {
                void *ret = pa;
                pthread_join(t[i], &ret);
                ck_assert_ptr_null(ret);
        }
        struct strmap *m = api_preview_access_take(pa);
        ck_assert_int_eq(find(m, "alice", "", "Gateway", NOON / 1000000)->requests, THREADS * HITS);
        ck_assert_int_eq(find(m, "alice", "", "Gateway", NOON / 1000000)->bytes_out, THREADS * HITS * 1000);
        strmap_free(m);
        api_preview_access_free(pa);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("apiserver-previewaccess");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_same_key_merges);
        tcase_add_test(tc, test_windows_split);
        tcase_add_test(tc, test_key_cap);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(suite)
