/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access log of previews in the stack's Postgres ($MBOX_PG_PORT): hits noted with
 * api_preview_access_note() in an mbox-apiserver made with apiserver_new() (its flush thread started, no
 * port served), added up and written by its flush. Without arguments: the Check tests of the flush thread,
 * of noting without a database, and of what the store writes and refuses. With a command it writes records
 * for tests/integration/test-preview-access.sh, which reads them through kubectl as a user would:
 *
 *   test-preview-access feed     notes the hits of stdin, one a line:
 *                                NS SANDBOX SANDBOX-UID PORT USER GRANT VIA STATUS BYTES-IN BYTES-OUT DURATION-US
 *                                ("-" for an empty USER, a NULL GRANT), then stops: the last flush writes them
 *   test-preview-access prune NS KEEP-MS   prunes NS's windows; prints how many went
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "store/previewaccess.h"
#include "store/retention.h"
#include "testutil.h"

static void db_url(char *url, size_t size) {
        const char *port = secure_getenv("MBOX_PG_PORT");
        snprintf(url, size, "postgresql://postgres@127.0.0.1:%s/mbox", port && *port ? port : "15432");
}

/* An mbox-apiserver that serves nothing: the aggregate, its metrics and (with a database) its flush thread,
 * every flush_ms. */
static struct apiserver *server(bool database, long long flush_ms) {
        char url[128];
        db_url(url, sizeof(url));
        struct apiserver_options o = {.listen = "127.0.0.1:0",
                .database_url = database ? url : NULL,
                .preview_access_flush_ms = flush_ms};
        struct apiserver *s = NULL;
        struct merr err = MERR_INIT;
        if (apiserver_new(&o, &s, &err) < 0 || api_preview_log_start(s, &err) < 0) {
                fprintf(stderr, "%s\n", merr_msg(&err));
                exit(2);
        }
        return s;
}

static struct store *open_store(void) {
        char url[128];
        struct store *s = NULL;
        struct merr err = MERR_INIT;
        db_url(url, sizeof(url));
        if (store_new(url, &s, &err) < 0) {
                fprintf(stderr, "%s\n", merr_msg(&err));
                exit(2);
        }
        return s;
}

static PGconn *conn(struct store *s) {
        PGconn *c = NULL;
        struct merr err = MERR_INIT;
        if (store_acquire(s, &c, &err) < 0) {
                fprintf(stderr, "%s\n", merr_msg(&err));
                exit(2);
        }
        return c;
}

static int prune(PGconn *c, const char *ns, int64_t keep_ms, int64_t *ret, struct merr *err) {
        const char *namespaces[] = {ns};
        struct store_retention r = {.namespaces = namespaces, .keep_ms = &keep_ms, .n = 1, .default_ms = 0};
        return store_prune_preview_accesses(c, &r, ret, err);
}

/* ---- the Check tests ---- */

static struct store *store;
static PGconn *db;
static char ns[64]; /* each test's own namespace: records stay in the database after a run */

static void setup(void) {
        store = open_store();
        db = conn(store);
        static int n; /* tests share a process under CK_FORK=no */
        snprintf(ns, sizeof(ns), "preview-itest-%d-%ld-%d", (int) getpid(), (long) time(NULL), ++n);
}

static void teardown(void) {
        store_release(store, db);
        store = store_free(store);
}

/* "requests 2xx 4xx 5xx bytes_out" of ns's windows of user, summed ("" when there is none). */
static void sums(const char *user, char *ret, size_t size) {
        const char *params[] = {ns, user};
        PGresult *res = PQexecParams(db,
                "SELECT sum(requests) || ' ' || sum(status_2xx) || ' ' || sum(status_4xx) || ' ' || "
                "sum(status_5xx) || ' ' || sum(bytes_out) FROM preview_accesses WHERE namespace = $1 AND "
                "user_name = $2",
                2, NULL, params, NULL, NULL, 0);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        snprintf(ret, size, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
}

static struct api_preview_hit hit(const char *user, int status) {
        return (struct api_preview_hit){.namespace = ns,
                .sandbox = "web",
                .sandbox_uid = "0b5c7a1e-0000-4000-8000-000000000001",
                .port = "http",
                .user = user,
                .via = "Gateway",
                .status = status,
                .bytes_in = 5,
                .bytes_out = 100,
                .duration_us = 2000};
}

/* The flush thread writes what was noted every interval, while the server runs, and what is left when it
 * stops; each flush adds to the rows the earlier ones wrote. */
START_TEST(test_flush_thread) {
        struct apiserver *s = server(true, 200);
        for (int i = 0; i < 3; i++) {
                struct api_preview_hit h = hit("alice", 200);
                api_preview_access_note(s, &h);
        }
        char got[128] = "";
        for (int i = 0; i < 50 && strcmp(got, "3 3 0 0 300") != 0; i++) {
                nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
                sums("alice", got, sizeof(got));
        }
        ck_assert_str_eq(got, "3 3 0 0 300");
        struct api_preview_hit h = hit("alice", 502);
        api_preview_access_note(s, &h);
        h = hit("alice", 404);
        api_preview_access_note(s, &h);
        ck_assert_int_eq((int) metric_get(s->m_preview_requests, (const char *const[]){"Gateway", "2xx"}), 3);
        ck_assert_int_eq((int) metric_get(s->m_preview_requests, (const char *const[]){"Gateway", "5xx"}), 1);
        ck_assert_int_eq((int) metric_get(s->m_preview_dropped, NULL), 0);
        apiserver_free(s);
        sums("alice", got, sizeof(got));
        /* two windows when the minute turned meanwhile: the sums are the same */
        ck_assert_str_eq(got, "5 3 1 1 500");
}
END_TEST

/* Without a database nothing waits: hits are counted, and dropped. */
START_TEST(test_no_database) {
        struct apiserver *s = server(false, 0);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < 1000; i++) {
                struct api_preview_hit h = hit("bob", 200);
                api_preview_access_note(s, &h);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
        fprintf(stderr, "1000 notes without a database: %.2f ms\n", ms);
        ck_assert_msg(ms < 1000, "%.2f ms", ms);
        ck_assert_int_eq(
                (int) metric_get(s->m_preview_requests, (const char *const[]){"Gateway", "2xx"}), 1000);
        ck_assert_int_eq((int) metric_get(s->m_preview_dropped, NULL), 1000);
        /* a hit that is no row is dropped as well, and counted in no class */
        struct api_preview_hit h = hit("bob", 200);
        h.via = "Tunnel";
        api_preview_access_note(s, &h);
        ck_assert_int_eq((int) metric_get(s->m_preview_dropped, NULL), 1001);
        apiserver_free(s);
        char got[128];
        sums("bob", got, sizeof(got));
        ck_assert_str_eq(got, "");
}
END_TEST

/* The store adds a window to its row; names, first and last, the longest; what it refuses. */
START_TEST(test_store) {
        struct merr err = MERR_INIT;
        int64_t minute = (int64_t) time(NULL) / 60 * 60;
        struct store_preview_access w = {.namespace = ns,
                .sandbox = "web",
                .sandbox_uid = "u1",
                .port = "http",
                .user = "",
                .grant = "g-1",
                .via = "Gateway",
                .window = minute,
                .requests = 2,
                .classes = {0, 2, 0, 0, 0},
                .bytes_in = 1,
                .bytes_out = 10,
                .first_us = minute * 1000000 + 5,
                .last_us = minute * 1000000 + 10,
                .max_duration_us = 7};
        struct store_preview_access rows[2] = {w, w};
        rows[1].via = "Proxy";
        rows[1].user = "carol";
        rows[1].grant = "";
        ck_assert_msg(store_preview_access_add(db, rows, 2, &err) == 0, "%s", merr_msg(&err));
        w.first_us -= 5;
        w.last_us += 5;
        w.max_duration_us = 3;
        ck_assert_msg(store_preview_access_add(db, &w, 1, &err) == 0, "%s", merr_msg(&err));
        const char *params[] = {ns};
        PGresult *res = PQexecParams(db,
                "SELECT name, requests, status_2xx, extract(epoch FROM first_at) * 1000000, "
                "extract(epoch FROM last_at) * 1000000, max_duration_us, modified_rv IS NOT NULL "
                "FROM preview_accesses WHERE namespace = $1 ORDER BY via",
                1, NULL, params, NULL, NULL, 0);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        ck_assert_int_eq(PQntuples(res), 2);
        char prefix[64];
        struct tm tm;
        time_t t = (time_t) minute;
        gmtime_r(&t, &tm);
        strftime(prefix, sizeof(prefix), "web.http.%Y%m%d%H%M.", &tm);
        const char *name = PQgetvalue(res, 0, 0);
        ck_assert_msg(
                strncmp(name, prefix, strlen(prefix)) == 0 && strlen(name) == strlen(prefix) + 8, "%s", name);
        ck_assert_str_ne(name, PQgetvalue(res, 1, 0));
        ck_assert_str_eq(PQgetvalue(res, 0, 1), "4");
        ck_assert_str_eq(PQgetvalue(res, 0, 2), "4");
        ck_assert_int_eq(strtoll(PQgetvalue(res, 0, 3), NULL, 10), minute * 1000000);
        ck_assert_int_eq(strtoll(PQgetvalue(res, 0, 4), NULL, 10), minute * 1000000 + 15);
        ck_assert_str_eq(PQgetvalue(res, 0, 5), "7");
        ck_assert_str_eq(PQgetvalue(res, 0, 6), "t");
        ck_assert_str_eq(PQgetvalue(res, 1, 1), "2");
        ck_assert_str_eq(PQgetvalue(res, 1, 6), "f");
        PQclear(res);
        w.via = "Tunnel";
        ck_assert_int_eq(store_preview_access_add(db, &w, 1, &err), -EBADMSG);
        ck_assert_msg(strstr(merr_msg(&err), "preview_accesses_via_check"), "%s", merr_msg(&err));
}
END_TEST

/* Retention takes windows whose last request is older than it, and only in the namespaces it names. */
START_TEST(test_prune) {
        struct merr err = MERR_INIT;
        int64_t now = (int64_t) time(NULL);
        struct store_preview_access w = {.namespace = ns,
                .sandbox = "web",
                .sandbox_uid = "",
                .port = "http",
                .user = "dave",
                .grant = "",
                .via = "Proxy",
                .window = now / 60 * 60 - 3600,
                .requests = 1,
                .first_us = (now - 3600) * 1000000,
                .last_us = (now - 3600) * 1000000};
        struct store_preview_access fresh = w;
        fresh.window = now / 60 * 60;
        fresh.first_us = fresh.last_us = now * 1000000;
        ck_assert_int_eq(store_preview_access_add(db, &w, 1, &err), 0);
        ck_assert_int_eq(store_preview_access_add(db, &fresh, 1, &err), 0);
        int64_t n = -1;
        ck_assert_msg(prune(db, ns, 600 * 1000, &n, &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(prune(db, ns, 600 * 1000, &n, &err), 0);
        ck_assert_int_eq(n, 0);
        char got[128];
        sums("dave", got, sizeof(got));
        ck_assert_str_eq(got, "1 0 0 0 0");
}
END_TEST

static Suite *preview_access_suite(void) {
        Suite *s = suite_create("preview-access");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_flush_thread);
        tcase_add_test(tc, test_no_database);
        tcase_add_test(tc, test_store);
        tcase_add_test(tc, test_prune);
        suite_add_tcase(s, tc);
        return s;
}

/* ---- the writer for the shell test ---- */

static int feed(void) {
        struct apiserver *s = server(true, 0);
        char line[2048];
        int n = 0;
        while (fgets(line, sizeof(line), stdin)) {
                char f[11][256];
                unsigned long long in, out;
                long long dur;
                int status;
                if (sscanf(line, "%255s %255s %255s %255s %255s %255s %255s %d %llu %llu %lld", f[0], f[1],
                            f[2], f[3], f[4], f[5], f[6], &status, &in, &out, &dur) != 11) {
                        fprintf(stderr, "a hit is 11 words: %s", line);
                        apiserver_free(s);
                        return 1;
                }
                struct api_preview_hit h = {.namespace = f[0],
                        .sandbox = f[1],
                        .sandbox_uid = f[2],
                        .port = f[3],
                        .user = strcmp(f[4], "-") == 0 ? "" : f[4],
                        .grant = strcmp(f[5], "-") == 0 ? NULL : f[5],
                        .via = f[6],
                        .status = status,
                        .bytes_in = in,
                        .bytes_out = out,
                        .duration_us = dur};
                api_preview_access_note(s, &h);
                n++;
        }
        int dropped = (int) metric_get(s->m_preview_dropped, NULL);
        apiserver_free(s); /* the last flush */
        printf("%d noted, %d dropped\n", n, dropped);
        return 0;
}

static int command(int argc, char **argv) {
        if (strcmp(argv[1], "feed") == 0 && argc == 2)
                return feed();
        if (strcmp(argv[1], "prune") == 0 && argc == 4) {
                _cleanup_(store_freep) struct store *s = open_store();
                PGconn *c = conn(s);
                struct merr err = MERR_INIT;
                int64_t n = 0;
                int r = prune(c, argv[2], strtoll(argv[3], NULL, 10), &n, &err);
                store_release(s, c);
                if (r < 0) {
                        fprintf(stderr, "%s\n", merr_msg(&err));
                        return 1;
                }
                printf("%lld\n", (long long) n);
                return 0;
        }
        fprintf(stderr, "usage: feed < HITS | prune NS KEEP-MS\n");
        return 1;
}

int main(int argc, char **argv) {
        if (argc > 1)
                return command(argc, argv);
        SRunner *sr = srunner_create(preview_access_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
