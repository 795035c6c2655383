/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kube/workqueue.h"
#include "testutil.h"

static int64_t mono_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *get(struct workqueue *q) {
        char *k = NULL;

        ck_assert_int_eq(workqueue_get(q, &k), 0);
        return k;
}

START_TEST(test_dedup_and_requeue_after_done) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        char *k;

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/a"), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/a"), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/b"), 0);
        ck_assert_uint_eq(workqueue_len(q), 2);
        k = get(q);
        ck_assert_str_eq(k, "ns/a");
        /* added while held: not handed out again until done */
        ck_assert_int_eq(workqueue_add(q, "ns/a"), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/a"), 0);
        ck_assert_uint_eq(workqueue_len(q), 1);
        workqueue_done(q, k);
        free(k);
        ck_assert_uint_eq(workqueue_len(q), 2);
        k = get(q);
        ck_assert_str_eq(k, "ns/b");
        workqueue_done(q, k);
        free(k);
        k = get(q);
        ck_assert_str_eq(k, "ns/a");
        workqueue_done(q, k);
        free(k);
        ck_assert_uint_eq(workqueue_len(q), 0);
}
END_TEST

START_TEST(test_add_first_goes_ahead_in_order) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        const char *want[] = {"ns/new2", "ns/new3", "ns/a", "ns/b", "ns/c"};

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/a"), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/b"), 0);
        ck_assert_int_eq(workqueue_add_first(q, "ns/new1"), 0);
        /* a key already waiting keeps its place, once */
        ck_assert_int_eq(workqueue_add_first(q, "ns/b"), 0);
        ck_assert_int_eq(workqueue_add_first(q, "ns/new1"), 0);
        /* past the ring's first size, so that the front wraps around */
        for (int i = 0; i < 20; i++) {
                char k[16];
                snprintf(k, sizeof(k), "ns/x%d", i);
                ck_assert_int_eq(workqueue_add(q, k), 0);
        }
        /* first keys go after the first keys before them: new work in the order it came */
        ck_assert_int_eq(workqueue_add_first(q, "ns/new2"), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/c"), 0);
        char *k = get(q);
        ck_assert_str_eq(k, "ns/new1");
        workqueue_done(q, k);
        free(k);
        /* one first key is left ahead: the next goes after it */
        ck_assert_int_eq(workqueue_add_first(q, "ns/new3"), 0);
        ck_assert_uint_eq(workqueue_len(q), 25);
        for (size_t i = 0; i < 4; i++) {
                k = get(q);
                ck_assert_str_eq(k, want[i]);
                workqueue_done(q, k);
                free(k);
        }
        for (int i = 0; i < 20; i++) {
                char x[16];
                k = get(q);
                snprintf(x, sizeof(x), "ns/x%d", i);
                ck_assert_str_eq(k, x);
                workqueue_done(q, k);
                free(k);
        }
        k = get(q);
        ck_assert_str_eq(k, want[4]);
        free(k);
}
END_TEST

#define NKEYS    20
#define NWORKERS 4
#define NADDS    20000

struct stress {
        struct workqueue *q;
        atomic_int inflight[NKEYS];
        atomic_int violations;
        atomic_int processed[NKEYS];
        atomic_int added_gen[NKEYS];
        atomic_int seen_gen[NKEYS];
};

static void *worker(void *arg) {
        struct stress *s = arg;
        char *k;

        while (workqueue_get(s->q, &k) == 0) {
                int i = -1;

                ck_assert_int_eq(sscanf(k, "key-%d", &i), 1);
                if (atomic_fetch_add(&s->inflight[i], 1) != 0)
                        atomic_fetch_add(&s->violations, 1);
                /* what the handler sees is at least as new as every add before it was handed out */
                atomic_store(&s->seen_gen[i], atomic_load(&s->added_gen[i]));
                atomic_fetch_add(&s->processed[i], 1);
                atomic_fetch_sub(&s->inflight[i], 1);
                workqueue_done(s->q, k);
                free(k);
        }
        return NULL;
}

START_TEST(test_one_key_never_held_by_two_workers) {
        static struct stress s;
        pthread_t t[NWORKERS];
        char key[32];

        memset(&s, 0, sizeof(s));
        ck_assert_int_eq(workqueue_new(NULL, &s.q), 0);
        for (int i = 0; i < NWORKERS; i++)
                pthread_create(&t[i], NULL, worker, &s);
        for (int n = 0; n < NADDS; n++) {
                int i = n % NKEYS;

                snprintf(key, sizeof(key), "key-%d", i);
                atomic_fetch_add(&s.added_gen[i], 1);
                ck_assert_int_eq(workqueue_add(s.q, key), 0);
        }
        /* let the queue empty, then stop */
        while (workqueue_len(s.q) > 0)
                nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        workqueue_shutdown(s.q);
        for (int i = 0; i < NWORKERS; i++)
                pthread_join(t[i], NULL);
        ck_assert_int_eq(atomic_load(&s.violations), 0);
        for (int i = 0; i < NKEYS; i++) {
                ck_assert_int_gt(atomic_load(&s.processed[i]), 0);
                /* no add was lost: the last processing saw the last add */
                ck_assert_int_eq(atomic_load(&s.seen_gen[i]), atomic_load(&s.added_gen[i]));
        }
        workqueue_free(s.q);
}
END_TEST

START_TEST(test_add_after_waits) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        int64_t t0;
        char *k;

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        t0 = mono_ns();
        ck_assert_int_eq(workqueue_add_after(q, "later", 50 * 1000000), 0);
        ck_assert_int_eq(workqueue_add_after(q, "sooner", 10 * 1000000), 0);
        ck_assert_uint_eq(workqueue_len(q), 0);
        k = get(q);
        ck_assert_str_eq(k, "sooner");
        ck_assert_int_ge(mono_ns() - t0, 10 * 1000000);
        workqueue_done(q, k);
        free(k);
        k = get(q);
        ck_assert_str_eq(k, "later");
        ck_assert_int_ge(mono_ns() - t0, 50 * 1000000);
        workqueue_done(q, k);
        free(k);
}
END_TEST

START_TEST(test_per_item_backoff_and_forget) {
        struct workqueue_options o = {
                .base_delay_ns = 1000000, .max_delay_ns = 8000000, .qps = 1e6, .burst = 1000};
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        int64_t t0, waited[5];
        char *k;

        ck_assert_int_eq(workqueue_new(&o, &q), 0);
        for (int i = 0; i < 5; i++) {
                t0 = mono_ns();
                ck_assert_int_eq(workqueue_add_rate_limited(q, "failing"), 0);
                k = get(q);
                waited[i] = mono_ns() - t0;
                workqueue_done(q, k);
                free(k);
        }
        /* 1, 2, 4, 8, 8 ms: doubling, capped */
        ck_assert_int_ge(waited[0], 1000000);
        ck_assert_int_ge(waited[1], 2000000);
        ck_assert_int_ge(waited[2], 4000000);
        ck_assert_int_ge(waited[3], 8000000);
        ck_assert_int_ge(waited[4], 8000000);
        ck_assert_int_lt(waited[4], 500000000);
}
END_TEST

START_TEST(test_token_bucket_limits_all_keys) {
        struct workqueue_options o = {.base_delay_ns = 1, .max_delay_ns = 2, .qps = 100, .burst = 2};
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        int64_t t0;
        char key[16], *k;

        ck_assert_int_eq(workqueue_new(&o, &q), 0);
        t0 = mono_ns();
        /* two tokens of burst, then one every 10 ms: 6 distinct keys need at least 40 ms */
        for (int i = 0; i < 6; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                ck_assert_int_eq(workqueue_add_rate_limited(q, key), 0);
        }
        for (int i = 0; i < 6; i++) {
                k = get(q);
                workqueue_done(q, k);
                free(k);
        }
        ck_assert_int_ge(mono_ns() - t0, 40 * 1000000);
}
END_TEST

struct holder {
        struct workqueue *q;
        atomic_int done;
};

static void *hold_then_done(void *arg) {
        struct holder *h = arg;
        char *k = NULL;

        ck_assert_int_eq(workqueue_get(h->q, &k), 0);
        nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
        atomic_store(&h->done, 1);
        workqueue_done(h->q, k);
        free(k);
        return NULL;
}

START_TEST(test_shutdown) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        struct holder h = {0};
        pthread_t t;
        char *k = NULL;

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        h.q = q;
        ck_assert_int_eq(workqueue_add(q, "held"), 0);
        pthread_create(&t, NULL, hold_then_done, &h);
        while (workqueue_len(q) > 0)
                nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        workqueue_shutdown(q);
        pthread_join(t, NULL);
        ck_assert_int_eq(atomic_load(&h.done), 1);
        ck_assert_int_eq(workqueue_add(q, "x"), -ESHUTDOWN);
        ck_assert_int_eq(workqueue_add_after(q, "x", 1), -ESHUTDOWN);
        ck_assert_int_eq(workqueue_add_rate_limited(q, "x"), -ESHUTDOWN);
        ck_assert_int_eq(workqueue_get(q, &k), -ESHUTDOWN);
}
END_TEST

static void *blocked_get(void *arg) {
        char *k = NULL;

        return (void *) (intptr_t) workqueue_get(arg, &k);
}

START_TEST(test_shutdown_wakes_waiters) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        pthread_t t;
        void *rv;

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        pthread_create(&t, NULL, blocked_get, q);
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
        workqueue_shutdown(q);
        pthread_join(t, &rv);
        ck_assert_int_eq((int) (intptr_t) rv, -ESHUTDOWN);
}
END_TEST

START_TEST(test_get_reports_queue_latency) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        char *key = NULL;
        int64_t waited = -1;

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        ck_assert_int_eq(workqueue_add(q, "ns/a"), 0);
        nanosleep(&(struct timespec){0, 30 * 1000 * 1000}, NULL);
        ck_assert_int_eq(workqueue_get_waited(q, &key, &waited), 0);
        ck_assert_str_eq(key, "ns/a");
        ck_assert_int_ge(waited, 30 * 1000 * 1000);
        ck_assert_int_lt(waited, 5LL * 1000 * 1000 * 1000);
        workqueue_done(q, key);
        free(key);
}
END_TEST

START_TEST(test_add_after_keeps_the_earliest_only) {
        _cleanup_(workqueue_freep) struct workqueue *q = NULL;
        char *key = NULL;
        const int64_t ms = 1000 * 1000;

        ck_assert_int_eq(workqueue_new(NULL, &q), 0);
        for (int i = 0; i < 100; i++)
                ck_assert_int_eq(workqueue_add_after(q, "ns/a", 300 * ms), 0);
        ck_assert_int_eq(workqueue_add_after(q, "ns/a", 20 * ms), 0);
        ck_assert_int_eq(workqueue_get(q, &key), 0);
        ck_assert_str_eq(key, "ns/a");
        workqueue_done(q, key);
        free(key);
        /* the later duplicates are gone: nothing more arrives after their time */
        nanosleep(&(struct timespec){0, 400 * ms}, NULL);
        ck_assert_int_eq(workqueue_add(q, "ns/b"), 0);
        ck_assert_int_eq(workqueue_get(q, &key), 0);
        ck_assert_str_eq(key, "ns/b");
        workqueue_done(q, key);
        free(key);
        ck_assert_uint_eq(workqueue_len(q), 0);
}
END_TEST

static Suite *workqueue_suite(void) {
        Suite *s = suite_create("workqueue");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_dedup_and_requeue_after_done);
        tcase_add_test(tc, test_add_first_goes_ahead_in_order);
        tcase_add_test(tc, test_one_key_never_held_by_two_workers);
        tcase_add_test(tc, test_add_after_waits);
        tcase_add_test(tc, test_get_reports_queue_latency);
        tcase_add_test(tc, test_add_after_keeps_the_earliest_only);
        tcase_add_test(tc, test_per_item_backoff_and_forget);
        tcase_add_test(tc, test_token_bucket_limits_all_keys);
        tcase_add_test(tc, test_shutdown);
        tcase_add_test(tc, test_shutdown_wakes_waiters);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(workqueue_suite)
