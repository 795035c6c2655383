/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The WebSocket connection of exec and port-forward against a server that never answers: a listener on
 * loopback that takes the TCP connection (the kernel's backlog) but never speaks TLS. The TLS handshake
 * and the upgrade must end at the exec's time limit, or at once when it is cancelled, not hang.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/exec.h"
#include "testutil.h"
#include "timestamp.h"

static int listener;
static char server[64];

static void silent_server(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(listener, 0);
        ck_assert_int_eq(bind(listener, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(listen(listener, 16), 0);
        ck_assert_int_eq(getsockname(listener, (struct sockaddr *) &a, &len), 0);
        snprintf(server, sizeof(server), "https://127.0.0.1:%d", ntohs(a.sin_port));
}

static struct kube_client *client(void) {
        char yaml[512];
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        struct merr e = MERR_INIT;
        snprintf(yaml, sizeof(yaml),
                "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster: {server: \"%s\", "
                "insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: "
                "c\n"
                "  context: {cluster: k, user: u}\ncurrent-context: c\n",
                server);
        ck_assert_msg(kube_config_load_data(yaml, strlen(yaml), "mem", NULL, NULL, &cfg, &e) == 0, "%s",
                merr_msg(&e));
        ck_assert_msg(kube_client_new(cfg, &c, &e) == 0, "%s", merr_msg(&e));
        return c;
}

static const char *const argv[] = {"true", NULL};

START_TEST(test_connect_ends_at_the_time_limit) {
        silent_server();
        struct kube_client *c = client();
        struct kube_exec_opts o = {
                .namespace = "ns", .pod = "p", .command = argv, .stdin_fd = -1, .timeout_ms = 1000};
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        long long t0 = timestamp_monotonic_ms();
        int r = kube_exec(c, &o, &res, &e);
        long long took = timestamp_monotonic_ms() - t0;
        ck_assert_msg(r == -ETIMEDOUT, "expected a timeout, got %d: %s", r, merr_msg(&e));
        ck_assert_msg(strstr(merr_msg(&e), "timed out"), "the message says why: %s", merr_msg(&e));
        ck_assert_msg(took >= 900 && took < 8000, "ended after %lld ms, the limit was 1000", took);
        kube_client_free(c);
        close(listener);
}
END_TEST

static atomic_bool cancel;

static void *cancel_soon(void *arg) {
        (void) arg;
        usleep(300000);
        atomic_store(&cancel, true);
        return NULL;
}

START_TEST(test_connect_ends_when_cancelled) {
        silent_server();
        struct kube_client *c = client();
        struct kube_exec_opts o = {.namespace = "ns",
                .pod = "p",
                .command = argv,
                .stdin_fd = -1,
                .timeout_ms = 20000,
                .cancel = &cancel};
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        pthread_t t;
        atomic_store(&cancel, false);
        ck_assert_int_eq(pthread_create(&t, NULL, cancel_soon, NULL), 0);
        long long t0 = timestamp_monotonic_ms();
        int r = kube_exec(c, &o, &res, &e);
        long long took = timestamp_monotonic_ms() - t0;
        pthread_join(t, NULL);
        ck_assert_msg(r == -ECANCELED, "expected a cancel, got %d: %s", r, merr_msg(&e));
        ck_assert_msg(strstr(merr_msg(&e), "cancelled"), "the message says why: %s", merr_msg(&e));
        ck_assert_msg(took < 5000, "ended %lld ms after the start, the cancel came at 300", took);
        kube_client_free(c);
        close(listener);
}
END_TEST

static Suite *websocket_suite(void) {
        Suite *s = suite_create("kube-websocket");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_connect_ends_at_the_time_limit);
        tcase_add_test(tc, test_connect_ends_when_cancelled);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(websocket_suite)
