/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "testutil.h"

/* Renders m and returns the families part: everything before the process metrics, which vary by run. */
static char *render_families(struct metrics *m) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(1 << 20);
        const char *p;

        ck_assert_int_eq(metrics_render(m, &out), 0);
        p = strstr(buf_str(&out), "# HELP process_resident_memory_bytes ");
        ck_assert_ptr_nonnull(p);
        return strndup(buf_str(&out), (size_t) (p - buf_str(&out)));
}

START_TEST(test_counter_gauge_without_labels) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        struct metric *c, *g;

        ck_assert_int_eq(metrics_new(&m), 0);
        c = metrics_counter(m, "mbox_reconcile_total", "Reconciles.", NULL);
        g = metrics_gauge(m, "mbox_queue_depth", "Items waiting.\nIn the queue \\ now.", NULL);
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_nonnull(g);
        /* registering the same family again hands back the same one */
        ck_assert_ptr_eq(metrics_counter(m, "mbox_reconcile_total", "Reconciles.", NULL), c);

        text = render_families(m);
        ck_assert_str_eq(text, "# HELP mbox_reconcile_total Reconciles.\n"
                               "# TYPE mbox_reconcile_total counter\n"
                               "mbox_reconcile_total 0\n"
                               "# HELP mbox_queue_depth Items waiting.\\nIn the queue \\\\ now.\n"
                               "# TYPE mbox_queue_depth gauge\n"
                               "mbox_queue_depth 0\n");
        free(TAKE_PTR(text));

        metric_add(c, NULL, 1);
        metric_add(c, NULL, 2.5);
        metric_set(g, NULL, 7);
        metric_add(g, NULL, -10);
        ck_assert(metric_get(c, NULL) == 3.5);
        ck_assert(metric_get(g, NULL) == -3);
        text = render_families(m);
        ck_assert_str_eq(text, "# HELP mbox_reconcile_total Reconciles.\n"
                               "# TYPE mbox_reconcile_total counter\n"
                               "mbox_reconcile_total 3.5\n"
                               "# HELP mbox_queue_depth Items waiting.\\nIn the queue \\\\ now.\n"
                               "# TYPE mbox_queue_depth gauge\n"
                               "mbox_queue_depth -3\n");
}
END_TEST

START_TEST(test_labels_sorted_and_escaped) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        struct metric *c, *g;

        ck_assert_int_eq(metrics_new(&m), 0);
        c = metrics_counter(
                m, "mbox_requests_total", "Requests.", (const char *const[]){"code", "method", NULL});
        g = metrics_gauge(m, "mbox_sandboxes", "Sandboxes by phase.", (const char *const[]){"phase", NULL});
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_nonnull(g);

        /* a labelled family with no series yet renders nothing */
        text = render_families(m);
        ck_assert_str_eq(text, "");
        free(TAKE_PTR(text));

        metric_add(c, (const char *const[]){"500", "GET"}, 1);
        metric_add(c, (const char *const[]){"200", "PUT"}, 2);
        metric_add(c, (const char *const[]){"200", "GET"}, 3);
        metric_add(c, (const char *const[]){"200", "GET"}, 1);
        metric_set(g, (const char *const[]){"Running"}, 2);
        metric_set(g, (const char *const[]){"a\"b\\c\nd"}, 1);
        metric_set(g, (const char *const[]){NULL}, 5);
        ck_assert(metric_get(c, (const char *const[]){"200", "GET"}) == 4);
        ck_assert(metric_get(c, (const char *const[]){"404", "GET"}) == 0);
        ck_assert(metric_get(g, (const char *const[]){""}) == 5);

        text = render_families(m);
        ck_assert_str_eq(text, "# HELP mbox_requests_total Requests.\n"
                               "# TYPE mbox_requests_total counter\n"
                               "mbox_requests_total{code=\"200\",method=\"GET\"} 4\n"
                               "mbox_requests_total{code=\"200\",method=\"PUT\"} 2\n"
                               "mbox_requests_total{code=\"500\",method=\"GET\"} 1\n"
                               "# HELP mbox_sandboxes Sandboxes by phase.\n"
                               "# TYPE mbox_sandboxes gauge\n"
                               "mbox_sandboxes{phase=\"\"} 5\n"
                               "mbox_sandboxes{phase=\"Running\"} 2\n"
                               "mbox_sandboxes{phase=\"a\\\"b\\\\c\\nd\"} 1\n");
}
END_TEST

START_TEST(test_histogram) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        static const double buckets[] = {0.005, 0.1, 1, 10};
        struct metric *h, *hl;

        ck_assert_int_eq(metrics_new(&m), 0);
        h = metrics_histogram(
                m, "mbox_reconcile_seconds", "Reconcile latency.", NULL, buckets, ARRAY_SIZE(buckets));
        hl = metrics_histogram(
                m, "mbox_exec_seconds", "Exec latency.", (const char *const[]){"verb", NULL}, buckets, 2);
        ck_assert_ptr_nonnull(h);
        ck_assert_ptr_nonnull(hl);

        metric_observe(h, NULL, 0.005); /* le is inclusive */
        metric_observe(h, NULL, 0.05);
        metric_observe(h, NULL, 0.5);
        metric_observe(h, NULL, 100);
        metric_observe(hl, (const char *const[]){"run"}, 0.25);
        metric_observe(hl, (const char *const[]){"run"}, 0.001);
        ck_assert(metric_get(h, NULL) == 4);
        ck_assert(metric_get(hl, (const char *const[]){"run"}) == 2);

        text = render_families(m);
        ck_assert_str_eq(text, "# HELP mbox_reconcile_seconds Reconcile latency.\n"
                               "# TYPE mbox_reconcile_seconds histogram\n"
                               "mbox_reconcile_seconds_bucket{le=\"0.005\"} 1\n"
                               "mbox_reconcile_seconds_bucket{le=\"0.1\"} 2\n"
                               "mbox_reconcile_seconds_bucket{le=\"1\"} 3\n"
                               "mbox_reconcile_seconds_bucket{le=\"10\"} 3\n"
                               "mbox_reconcile_seconds_bucket{le=\"+Inf\"} 4\n"
                               "mbox_reconcile_seconds_sum 100.555\n"
                               "mbox_reconcile_seconds_count 4\n"
                               "# HELP mbox_exec_seconds Exec latency.\n"
                               "# TYPE mbox_exec_seconds histogram\n"
                               "mbox_exec_seconds_bucket{verb=\"run\",le=\"0.005\"} 1\n"
                               "mbox_exec_seconds_bucket{verb=\"run\",le=\"0.1\"} 1\n"
                               "mbox_exec_seconds_bucket{verb=\"run\",le=\"+Inf\"} 2\n"
                               "mbox_exec_seconds_sum{verb=\"run\"} 0.251\n"
                               "mbox_exec_seconds_count{verb=\"run\"} 2\n");
}
END_TEST

START_TEST(test_number_format) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        struct metric *g;

        ck_assert_int_eq(metrics_new(&m), 0);
        g = metrics_gauge(m, "g", "h", (const char *const[]){"k", NULL});
        ck_assert_ptr_nonnull(g);
        metric_set(g, (const char *const[]){"a"}, 1e6);
        metric_set(g, (const char *const[]){"b"}, 123456789);
        metric_set(g, (const char *const[]){"c"}, 0.1);
        metric_set(g, (const char *const[]){"d"}, INFINITY);
        metric_set(g, (const char *const[]){"e"}, -INFINITY);
        metric_set(g, (const char *const[]){"f"}, NAN);
        metric_set(g, (const char *const[]){"g"}, 1.0 / 3);
        metric_set(g, (const char *const[]){"h"}, 123456);
        metric_set(g, (const char *const[]){"i"}, 0.0001);
        metric_set(g, (const char *const[]){"j"}, 0.00001);
        text = render_families(m);
        ck_assert_str_eq(text, "# HELP g h\n"
                               "# TYPE g gauge\n"
                               "g{k=\"a\"} 1e+06\n"
                               "g{k=\"b\"} 1.23456789e+08\n"
                               "g{k=\"c\"} 0.1\n"
                               "g{k=\"d\"} +Inf\n"
                               "g{k=\"e\"} -Inf\n"
                               "g{k=\"f\"} NaN\n"
                               "g{k=\"g\"} 0.3333333333333333\n"
                               "g{k=\"h\"} 123456\n"
                               "g{k=\"i\"} 0.0001\n"
                               "g{k=\"j\"} 1e-05\n");
}
END_TEST

START_TEST(test_process_metrics) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_(buf_release) struct buf out = BUF_INIT(1 << 16);
        static const char *const names[] = {"process_resident_memory_bytes", "process_cpu_seconds_total",
                "process_start_time_seconds", "process_open_fds"};
        const char *p;
        double v;

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_render(m, &out), 0);
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                char needle[128];

                snprintf(needle, sizeof(needle), "\n%s ", names[i]);
                p = strstr(buf_str(&out), needle);
                ck_assert_msg(p, "%s missing from:\n%s", names[i], buf_str(&out));
                ck_assert_int_eq(sscanf(p + strlen(needle), "%lf", &v), 1);
                ck_assert(v >= 0);
                if (i == 0 || i == 3)
                        ck_assert(v > 0);
                if (i == 2)
                        ck_assert(v > 1.7e9); /* after 2023: a real epoch time, not ticks after boot */
        }
        ck_assert_ptr_nonnull(strstr(buf_str(&out), "# TYPE process_cpu_seconds_total counter\n"));
}
END_TEST

START_TEST(test_render_cap) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_(buf_release) struct buf out = BUF_INIT(16);

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_ptr_nonnull(metrics_counter(m, "a_long_enough_name_total", "h", NULL));
        ck_assert_int_eq(metrics_render(m, &out), -ENOBUFS);
}
END_TEST

#define N_THREADS 8
#define N_ITER    20000

struct worker {
        struct metrics *m;
        int id;
};

static void *worker_run(void *p) {
        struct worker *w = p;
        static const char *const results[] = {"success", "error", "requeue"};
        static const double buckets[] = {1, 2};

        for (int i = 0; i < N_ITER; i++) {
                /* Lookups of families race with registrations from the other threads. */
                struct metric *c =
                        metrics_counter(w->m, "work_total", "Work.", (const char *const[]){"result", NULL});
                struct metric *h = metrics_histogram(w->m, "work_seconds", "Work.", NULL, buckets, 2);
                struct metric *g = metrics_gauge(w->m, "inflight", "In flight.", NULL);

                metric_add(c, (const char *const[]){results[(i + w->id) % 3]}, 1);
                metric_observe(h, NULL, (double) (i % 3));
                metric_add(g, NULL, 1);
                metric_add(g, NULL, -1);
                if (i % 1000 == 0) {
                        _cleanup_(buf_release) struct buf out = BUF_INIT(1 << 20);
                        ck_assert_int_eq(metrics_render(w->m, &out), 0);
                }
        }
        return NULL;
}

START_TEST(test_concurrency) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        static const double buckets[] = {1, 2};
        struct worker w[N_THREADS];
        pthread_t t[N_THREADS];
        struct metric *c, *h;
        double total = 0;

        ck_assert_int_eq(metrics_new(&m), 0);
        for (int i = 0; i < N_THREADS; i++) {
                w[i] = (struct worker){.m = m, .id = i};
                ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++)
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);

        c = metrics_counter(m, "work_total", "Work.", (const char *const[]){"result", NULL});
        h = metrics_histogram(m, "work_seconds", "Work.", NULL, buckets, 2);
        total += metric_get(c, (const char *const[]){"success"});
        total += metric_get(c, (const char *const[]){"error"});
        total += metric_get(c, (const char *const[]){"requeue"});
        ck_assert(total == (double) N_THREADS * N_ITER);
        ck_assert(metric_get(h, NULL) == (double) N_THREADS * N_ITER);
        ck_assert(metric_get(metrics_gauge(m, "inflight", "In flight.", NULL), NULL) == 0);
}
END_TEST

static Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_counter_gauge_without_labels);
        tcase_add_test(tc, test_labels_sorted_and_escaped);
        tcase_add_test(tc, test_histogram);
        tcase_add_test(tc, test_number_format);
        tcase_add_test(tc, test_process_metrics);
        tcase_add_test(tc, test_render_cap);
        tcase_add_test(tc, test_concurrency);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(metrics_suite)
