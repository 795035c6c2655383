/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leader election between real processes on the real cluster: exactly one of two candidates leads; after
 * kill -9 of the leader the other takes over once the lease runs out; a clean stop hands over at once.
 * Each candidate is a child process that reports "L" (started leading) and "S" (stopped, the Lease still
 * its own: no one else can lead before its work has stopped) or "s" (stopped, the Lease already gone) on a
 * pipe.
 * Timings are logged and bounded generously (the suite runs on a loaded 2-core machine); what tells a
 * release from an expiry is the Lease itself, watched from the test.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "kube/client.h"
#include "kube/leader.h"
#include "testcluster.h"
#include "testutil.h"

#define LEASE_MS    3000
#define DEADLINE_MS 2000
#define RETRY_MS    500

struct candidate {
        pid_t pid;
        int fd; /* read end: 'L' and 'S' from the child */
};

static int report_fd;
static atomic_bool term;
static struct kube_client *probe; /* the child's: reads the Lease when it stops */
static const char *me;

static void on_term(int sig) {
        (void) sig;
        atomic_store(&term, true);
}

static void started(void *ud) {
        (void) ud;
        (void) !write(report_fd, "L", 1);
}

/* The Lease the candidates share, in the test's namespace. */
static struct kube_resource test_lease(void) {
        return (struct kube_resource){.group = "coordination.k8s.io",
                .version = "v1",
                .resource = "leases",
                .namespace = tc_ns,
                .name = "mbox-test"};
}

static void stopped(void *ud) {
        _cleanup_json_ json_object *lease = NULL;
        struct kube_resource r = test_lease();
        const char *holder = NULL;

        (void) ud;
        if (kube_get(probe, &r, &lease, NULL) == 0)
                (void) json_get_string(lease, "spec.holderIdentity", JSON_OPTIONAL, &holder, NULL);
        (void) !write(report_fd, holder && strcmp(holder, me) == 0 ? "S" : "s", 1);
}

static struct candidate spawn(const char *identity) {
        struct candidate c;
        int p[2];

        ck_assert_int_eq(pipe(p), 0);
        c.pid = fork();
        ck_assert_int_ge(c.pid, 0);
        if (c.pid == 0) {
                _cleanup_free_ char *kc = tc_kubeconfig();
                struct kube_config *cfg = NULL;
                struct leader *l = NULL;
                struct leader_options o = {.namespace = tc_ns,
                        .name = "mbox-test",
                        .identity = identity,
                        .lease_duration_ms = LEASE_MS,
                        .renew_deadline_ms = DEADLINE_MS,
                        .retry_period_ms = RETRY_MS};
                struct leader_callbacks cb = {.started = started, .stopped = stopped};

                close(p[0]);
                report_fd = p[1];
                me = identity;
                probe = tc_client();
                signal(SIGTERM, on_term);
                if (kube_config_load(kc, NULL, &cfg, NULL) < 0 || leader_new(cfg, &o, &cb, &l, NULL) < 0 ||
                        leader_start(l, NULL) < 0)
                        _exit(2);
                while (!atomic_load(&term))
                        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
                leader_free(l); /* stops and releases */
                _exit(0);
        }
        close(p[1]);
        c.fd = p[0];
        return c;
}

/* Waits up to ms for the next report from c; returns it, or 0 on timeout. */
static char next_report(struct candidate *c, int ms) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        char ch = 0;

        if (poll(&pfd, 1, ms) == 1 && read(c->fd, &ch, 1) == 1)
                return ch;
        return 0;
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every state of the Lease from resourceVersion rv on, as "holderIdentity/leaseDurationSeconds;" (repeats
 * of the same state folded), until it names stop_at. */
struct lease_watch {
        char rv[64];
        const char *stop_at;
        char states[1024], last[160];
        int result;
        struct merr err;
};

static int lease_event(const struct kube_watch_event *ev, void *ud) {
        struct lease_watch *w = ud;
        const char *holder = NULL;
        int64_t secs = 0;
        char state[160];
        size_t off = strlen(w->states);

        if (ev->type == KUBE_EVENT_ERROR)
                return -EIO;
        if (ev->type != KUBE_EVENT_ADDED && ev->type != KUBE_EVENT_MODIFIED)
                return 0;
        (void) json_get_string(ev->object, "spec.holderIdentity", JSON_OPTIONAL, &holder, NULL);
        (void) json_get_int64(ev->object, "spec.leaseDurationSeconds", JSON_OPTIONAL, &secs, NULL);
        snprintf(state, sizeof(state), "%s/%lld", holder ? holder : "", (long long) secs);
        if (strcmp(state, w->last) != 0) {
                snprintf(w->states + off, sizeof(w->states) - off, "%s;", state);
                snprintf(w->last, sizeof(w->last), "%s", state);
        }
        return holder && strcmp(holder, w->stop_at) == 0 ? -ECANCELED : 0;
}

static void *watch_lease(void *arg) {
        struct lease_watch *w = arg;
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_resource r = {
                .group = "coordination.k8s.io", .version = "v1", .resource = "leases", .namespace = tc_ns};
        struct kube_watch_opts o = {.resource_version = w->rv,
                .timeout_seconds = 60,
                .field_selector = "metadata.name=mbox-test"};

        w->result = kube_watch(c, &r, &o, lease_event, w, &w->err);
        return NULL;
}

static void reap(struct candidate *c) {
        if (c->pid > 0) {
                kill(c->pid, SIGKILL);
                waitpid(c->pid, NULL, 0);
        }
        close(c->fd);
}

START_TEST(test_exactly_one_leads_and_kill_hands_over) {
        struct candidate a, b, *leader, *standby;
        char ra, rb;
        double t0, took;

        a = spawn("candidate-a");
        b = spawn("candidate-b");
        /* one of them leads within a few retry periods (30 s: a loaded machine); the other stays quiet */
        ra = next_report(&a, 30000);
        rb = next_report(&b, ra == 'L' ? 2 * LEASE_MS : 30000);
        ck_assert_msg(
                (ra == 'L') != (rb == 'L'), "a reported '%c', b reported '%c'", ra ? ra : '-', rb ? rb : '-');
        leader = ra == 'L' ? &a : &b;
        standby = ra == 'L' ? &b : &a;
        /* and stays the only one for longer than a lease */
        ck_assert_int_eq(next_report(standby, 2 * LEASE_MS), 0);

        t0 = now_s();
        kill(leader->pid, SIGKILL);
        waitpid(leader->pid, NULL, 0);
        leader->pid = 0;
        ck_assert_int_eq(next_report(standby, 30000), 'L');
        took = now_s() - t0;
        /* the lease had to run out first: about the lease duration plus a retry (3-4 s); four times that on
         * a loaded machine */
        fprintf(stderr, "    handover after kill -9 took %.2fs (lease %.1fs)\n", took, LEASE_MS / 1000.0);
        ck_assert_msg(took <= 4 * (LEASE_MS + 2.2 * RETRY_MS) / 1000.0, "handover took %.2fs", took);
        reap(&a);
        reap(&b);
}
END_TEST

START_TEST(test_clean_stop_releases_at_once) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *lease = NULL;
        struct kube_resource r = test_lease();
        static struct lease_watch w;
        struct merr e = MERR_INIT;
        struct candidate a, b;
        const char *rv = NULL;
        double t0, took;
        pthread_t t;

        a = spawn("first");
        ck_assert_int_eq(next_report(&a, 30000), 'L');
        b = spawn("second");
        ck_assert_int_eq(next_report(&b, LEASE_MS), 0);
        /* every state of the Lease from here on: a release is the proof, not how fast the standby was */
        ck_assert_msg(kube_get(c, &r, &lease, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(json_get_string(lease, "metadata.resourceVersion", 0, &rv, &e), 1);
        memset(&w, 0, sizeof(w));
        w.states[0] = ';'; /* each state between semicolons */
        snprintf(w.rv, sizeof(w.rv), "%s", rv);
        w.stop_at = "second";
        ck_assert_int_eq(pthread_create(&t, NULL, watch_lease, &w), 0);
        t0 = now_s();
        kill(a.pid, SIGTERM);
        /* stopped while the Lease was still its own, released after */
        ck_assert_int_eq(next_report(&a, 30000), 'S');
        ck_assert_int_eq(next_report(&b, 30000), 'L');
        took = now_s() - t0;
        pthread_join(t, NULL);
        fprintf(stderr, "    handover after a clean stop took %.2fs (lease %.1fs); the Lease went %s\n", took,
                LEASE_MS / 1000.0, w.states);
        ck_assert_msg(w.result == -ECANCELED,
                "the Lease watch ended with %d (%s) before 'second' held it: %s", w.result, merr_msg(&w.err),
                w.states);
        /* released by "first" (no holder, 1 s), then taken by "second": not left to expire */
        ck_assert_msg(strstr(w.states, ";/1;second/3;"), "the Lease went %s", w.states);
        /* the standby needs about one retry period (0.5-1.1 s); a generous bound on a loaded machine */
        ck_assert_msg(took < 15.0, "handover after a clean stop took %.2fs", took);
        waitpid(a.pid, NULL, 0);
        a.pid = 0;
        reap(&a);
        reap(&b);
}
END_TEST

START_TEST(test_bad_timings_are_refused) {
        struct leader_options o = {.namespace = "x",
                .name = "y",
                .identity = "z",
                .lease_duration_ms = 1000,
                .renew_deadline_ms = 2000,
                .retry_period_ms = 500};
        _cleanup_free_ char *kc = tc_kubeconfig();
        struct kube_config *cfg = NULL;
        struct leader *l = NULL;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(kube_config_load(kc, NULL, &cfg, &e), 0);
        ck_assert_int_eq(leader_new(cfg, &o, NULL, &l, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "must exceed the renew deadline"));
}
END_TEST

static Suite *leader_suite(void) {
        Suite *s = suite_create("kube-leader");
        TCase *tc = tcase_create("leader");

        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, test_exactly_one_leads_and_kill_hands_over);
        tcase_add_test(tc, test_clean_stop_releases_at_once);
        tcase_add_test(tc, test_bad_timings_are_refused);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(leader_suite)
