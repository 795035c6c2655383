/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session records in the stack's Postgres ($MBOX_PG_PORT), through the functions the exec and terminal
 * sessions call. Without arguments: the Check tests of what the store refuses and how names are made.
 * With a command it writes records for tests/integration/test-sessions-store.sh, which reads them through
 * kubectl as a user would:
 *
 *   test-sessions-store begin NS SANDBOX KIND USER TTY COMMAND-JSON   prints "<name> <uid>"
 *   test-sessions-store end UID BYTES-IN BYTES-OUT EXIT-CODE REASON
 *   test-sessions-store prune NS KEEP-MS   prunes NS's ended sessions; prints how many went
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/retention.h"
#include "store/session.h"
#include "testutil.h"

static struct store *open_store(void) {
        const char *port = secure_getenv("MBOX_PG_PORT");
        char url[128];
        struct store *s = NULL;
        struct merr err = MERR_INIT;
        snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%s/mbox", port && *port ? port : "15432");
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
        return store_prune_sessions(c, &r, ret, err);
}

/* ---- the Check tests ---- */

static struct store *store;
static PGconn *db;
static char ns[64]; /* each test's own namespace: records stay in the database after a run */

static void setup(void) {
        store = open_store();
        db = conn(store);
        snprintf(ns, sizeof(ns), "sessions-itest-%d-%ld", (int) getpid(), (long) time(NULL));
}

static void teardown(void) {
        store_release(store, db);
        store = store_free(store);
}

static const struct store_session session = {
        .sandbox = "box",
        .pod = "box-pod",
        .kind = "exec",
        .user = "alice",
        .groups = "[\"system:authenticated\"]",
        .command = "[\"sh\", \"-c\", \"true\"]",
};

/* Two sessions of one sandbox get names of their own, and a session ends once. */
START_TEST(test_begin_and_end) {
        char name[64], name2[64], uid[37], uid2[37];
        struct merr err = MERR_INIT;
        struct store_session s = session;
        s.namespace = ns;
        ck_assert_msg(store_session_begin(db, &s, name, uid, &err) == 0, "%s", merr_msg(&err));
        ck_assert_msg(store_session_begin(db, &s, name2, uid2, &err) == 0, "%s", merr_msg(&err));
        ck_assert_msg(strncmp(name, "box-", 4) == 0 && strlen(name) == 9, "%s", name);
        ck_assert_str_ne(name, name2);
        ck_assert_uint_eq(strlen(uid), 36);
        ck_assert_str_ne(uid, uid2);
        ck_assert_msg(store_session_end(db, uid, 1, 2, 0, "Exited", &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_eq(store_session_end(db, uid, 1, 2, 0, "Exited", &err), -ENOENT);
        ck_assert_msg(strstr(merr_msg(&err), "no open session has uid"), "%s", merr_msg(&err));
        ck_assert_int_eq(store_session_end(db, uid2, 0, 0, -1, "", &err), -EINVAL);
        ck_assert_int_eq(store_session_end(db, uid2, 0, 0, -1, "ClientClosed", &err), 0);
}
END_TEST

/* What the table's rules refuse, with the database's reason. */
START_TEST(test_refused) {
        char name[64], uid[37];
        struct merr err = MERR_INIT;
        struct store_session s = session;
        s.namespace = ns;
        s.kind = "shell";
        ck_assert_int_eq(store_session_begin(db, &s, name, uid, &err), -EBADMSG);
        ck_assert_msg(strstr(merr_msg(&err), "sessions_kind_check"), "%s", merr_msg(&err));
        s.kind = "exec";
        s.command = "{\"argv\": []}";
        ck_assert_int_eq(store_session_begin(db, &s, name, uid, &err), -EBADMSG);
        ck_assert_msg(strstr(merr_msg(&err), "sessions_command_check"), "%s", merr_msg(&err));
        ck_assert_int_eq(store_session_end(db, "not-a-uid", 0, 0, 0, "Exited", &err), -EBADMSG);
}
END_TEST

/* Retention takes ended sessions only, and only in the namespaces it names. */
START_TEST(test_prune) {
        char name[64], open_uid[37], ended_uid[37];
        struct merr err = MERR_INIT;
        struct store_session s = session;
        s.namespace = ns;
        ck_assert_int_eq(store_session_begin(db, &s, name, open_uid, &err), 0);
        ck_assert_int_eq(store_session_begin(db, &s, name, ended_uid, &err), 0);
        ck_assert_int_eq(store_session_end(db, ended_uid, 0, 0, 0, "Exited", &err), 0);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        int64_t n = -1;
        ck_assert_msg(prune(db, ns, 1, &n, &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(store_session_end(db, ended_uid, 0, 0, 0, "Exited", &err), -ENOENT);
        ck_assert_int_eq(prune(db, ns, 1, &n, &err), 0);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(store_session_end(db, open_uid, 0, 0, 0, "Exited", &err), 0);
}
END_TEST

static Suite *sessions_store_suite(void) {
        Suite *s = suite_create("sessions-store");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_begin_and_end);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_prune);
        suite_add_tcase(s, tc);
        return s;
}

/* ---- the writer for the shell test ---- */

static int command(int argc, char **argv) {
        _cleanup_(store_freep) struct store *s = open_store();
        PGconn *c = conn(s);
        struct merr err = MERR_INIT;
        int r = -EINVAL;
        if (strcmp(argv[1], "begin") == 0 && argc == 8) {
                struct store_session ss = {.namespace = argv[2],
                        .sandbox = argv[3],
                        .pod = argv[3],
                        .kind = argv[4],
                        .user = argv[5],
                        .user_uid = "uid-of-someone",
                        .groups = "[\"system:authenticated\", \"devs\"]",
                        .tty = strcmp(argv[6], "true") == 0,
                        .command = argv[7]};
                char name[64], uid[37];
                if ((r = store_session_begin(c, &ss, name, uid, &err)) == 0)
                        printf("%s %s\n", name, uid);
        } else if (strcmp(argv[1], "end") == 0 && argc == 7) {
                r = store_session_end(c, argv[2], strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10),
                        (int) strtol(argv[5], NULL, 10), argv[6], &err);
        } else if (strcmp(argv[1], "prune") == 0 && argc == 4) {
                int64_t n = 0;
                if ((r = prune(c, argv[2], strtoll(argv[3], NULL, 10), &n, &err)) == 0)
                        printf("%lld\n", (long long) n);
        } else
                merr_set(&err, r,
                        "usage: begin NS SANDBOX KIND USER TTY COMMAND | end UID IN OUT CODE REASON | "
                        "prune NS KEEP-MS");
        store_release(s, c);
        if (r < 0)
                fprintf(stderr, "%s\n", merr_msg(&err));
        return r < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
        if (argc > 1)
                return command(argc, argv);
        SRunner *sr = srunner_create(sessions_store_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
