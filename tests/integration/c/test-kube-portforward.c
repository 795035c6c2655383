/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port-forward through kube-apiserver into a pod on a KWOK node. hack/kwok-pods.sh gives each declared
 * container port a KWOK PortForward whose server is the executable .kwok-port-<port> in the pod's own
 * directory, run once per connection (inetd style); the test creates those servers with `kubectl exec`.
 * Proves: the stream reaches the pod's own server (it greets with its directory), 1 MiB goes both ways
 * intact (echo, download and upload checked against sha256sum run in the pod), the error channel reports
 * an undeclared port and a port without a server with KWOK's text, a missing pod is a Status error, and
 * the local listener forwards concurrent TCP connections each over its own WebSocket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "kube/exec.h"
#include "kube/portforward.h"
#include "testcluster.h"
#include "testutil.h"

#define MIB (1024 * 1024)

static void pod_sh(struct buf *out, const char *script) {
        ck_assert_int_eq(tc_kubectl(out, "-n", tc_ns, "exec", "p", "--", "sh", "-c", script, NULL), 0);
}

static void setup(void) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(4096);
        char path[256];
        FILE *f;
        int i;

        tc_ns_setup();
        snprintf(path, sizeof(path), "%s/pf-pod-%s.yaml", tc_state_dir(), tc_ns);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: %s}\n"
                "spec: {containers: [{name: main, image: busybox:1.36, command: [sh, -c, 'tail -f "
                "/dev/null'],"
                " ports: [{containerPort: 8080}, {containerPort: 8081}, {containerPort: 8082},"
                " {containerPort: 9090}]}]}\n",
                tc_ns);
        fclose(f);
        ck_assert_int_eq(tc_kubectl(NULL, "apply", "-f", path, NULL), 0);
        remove(path);
        ck_assert_int_eq(tc_kubectl(NULL, "-n", tc_ns, "wait", "--for=condition=Ready", "pod/p",
                                 "--timeout=60s", NULL),
                0);
        /* the pod's own KWOK Exec and PortForward (hack/kwok-pods.sh) */
        for (i = 0; i < 120 &&
                    tc_kubectl(&out, "-n", tc_ns, "get", "exec.kwok.x-k8s.io,portforward.kwok.x-k8s.io", "p",
                            "-o", "name", NULL) != 0;
                i++)
                usleep(250000);
        ck_assert_int_lt(i, 120);
        /* 8080 greets with its directory, then echoes; 8081 sends 1 MiB; 8082 stores 1 MiB and answers with its hash */
        pod_sh(NULL, "printf '#!/bin/sh\\necho \"server in $PWD\"\\nexec cat\\n' >.kwok-port-8080 && "
                     "printf '#!/bin/sh\\nhead -c 1048576 /dev/urandom >blob && sha256sum blob >blob.sha && "
                     "cat blob\\n' >.kwok-port-8081 && "
                     "printf '#!/bin/sh\\nhead -c 1048576 >upload && sha256sum upload | cut -d\\\\  -f1\\n' "
                     ">.kwok-port-8082 && chmod +x .kwok-port-808*");
}

static void read_exact(struct kube_portforward *pf, char *buf, size_t n) {
        struct merr e = MERR_INIT;
        size_t got = 0;

        while (got < n) {
                ssize_t r = kube_portforward_read(pf, buf + got, n - got, 30000, &e);

                ck_assert_msg(r > 0, "read %zu of %zu: %zd %s", got, n, r, merr_msg(&e));
                got += (size_t) r;
        }
}

static void read_line(struct kube_portforward *pf, char *buf, size_t size) {
        size_t n = 0;

        while (n + 1 < size) {
                read_exact(pf, buf + n, 1);
                if (buf[n++] == '\n')
                        break;
        }
        buf[n] = '\0';
}

static void sha256_hex(const void *data, size_t len, char *hex) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
        for (unsigned i = 0; i < mdlen; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

START_TEST(test_greeting_and_echo_one_mib) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_(kube_portforward_closep) struct kube_portforward *pf = NULL;
        _cleanup_free_ char *data = malloc(MIB), *back = malloc(MIB);
        struct merr e = MERR_INIT;
        char line[512], want[300];
        size_t sent = 0, got = 0;

        ck_assert_msg(kube_portforward_open(c, tc_ns, "p", 8080, &pf, &e) == 0, "%s", merr_msg(&e));
        read_line(pf, line, sizeof(line));
        /* the pod's own server: its directory is the pod's (kwok-pods.sh: <pods>/<namespace>/<pod>) */
        snprintf(want, sizeof(want), "/%s/p\n", tc_ns);
        ck_assert_msg(strncmp(line, "server in /", 11) == 0 && strlen(line) > strlen(want) &&
                              strcmp(line + strlen(line) - strlen(want), want) == 0,
                "greeting '%s'", line);
        ck_assert_ptr_null(kube_portforward_error(pf));

        /* 1 MiB of random bytes out and back, interleaved as a real client would */
        ck_assert_int_eq(RAND_bytes((unsigned char *) data, MIB), 1);
        while (got < MIB) {
                if (sent < MIB) {
                        size_t n = MIB - sent < 65536 ? MIB - sent : 65536;

                        ck_assert_msg(kube_portforward_write(pf, data + sent, n, 30000, &e) == 0, "%s",
                                merr_msg(&e));
                        sent += n;
                }
                for (;;) {
                        ssize_t r =
                                kube_portforward_read(pf, back + got, MIB - got, sent < MIB ? 0 : 30000, &e);

                        if (r == -ETIMEDOUT && sent < MIB)
                                break;
                        ck_assert_msg(r > 0, "echo: %zd after %zu bytes: %s", r, got, merr_msg(&e));
                        got += (size_t) r;
                        if (got == MIB || sent < MIB)
                                break;
                }
        }
        ck_assert_int_eq(memcmp(data, back, MIB), 0);
}
END_TEST

START_TEST(test_download_and_upload_one_mib) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_(kube_portforward_closep) struct kube_portforward *pf = NULL;
        _cleanup_(buf_release) struct buf out = BUF_INIT(4096);
        _cleanup_free_ char *data = malloc(MIB);
        struct merr e = MERR_INIT;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        /* pod → client: what arrives hashes to what sha256sum computed in the pod */
        ck_assert_msg(kube_portforward_open(c, tc_ns, "p", 8081, &pf, &e) == 0, "%s", merr_msg(&e));
        read_exact(pf, data, MIB);
        pf = kube_portforward_close(pf);
        sha256_hex(data, MIB, hex);
        pod_sh(&out, "cut -d' ' -f1 blob.sha");
        ck_assert_int_eq(strncmp(buf_str(&out), hex, strlen(hex)), 0);
        ck_assert_str_eq(buf_str(&out) + strlen(hex), "\n");

        /* client → pod: the server stores exactly 1 MiB, then answers on the same stream with the
         * sha256sum of what it stored. The answer is the acknowledgement: port-forward has no
         * half-close, so closing before it arrives could cut the upload short. */
        char answer[66];
        ck_assert_int_eq(RAND_bytes((unsigned char *) data, MIB), 1);
        sha256_hex(data, MIB, hex);
        hex[64] = '\n';
        hex[65] = '\0';
        ck_assert_msg(kube_portforward_open(c, tc_ns, "p", 8082, &pf, &e) == 0, "%s", merr_msg(&e));
        ck_assert_msg(kube_portforward_write(pf, data, MIB, 30000, &e) == 0, "%s", merr_msg(&e));
        read_exact(pf, answer, 65);
        answer[65] = '\0';
        pf = kube_portforward_close(pf);
        ck_assert_str_eq(answer, hex);
        buf_reset(&out);
        pod_sh(&out, "sha256sum upload | cut -d' ' -f1");
        ck_assert_str_eq(buf_str(&out), hex);
}
END_TEST

START_TEST(test_error_channel_reports_bad_ports) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_portforward *pf = NULL;
        struct merr e = MERR_INIT;
        char b[64];
        int r = 0;

        /* a port the pod does not declare: KWOK has no forward for it */
        ck_assert_msg(kube_portforward_open(c, tc_ns, "p", 7777, &pf, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_portforward_read(pf, b, sizeof(b), 30000, &e), -EIO);
        ck_assert_msg(
                strstr(e.msg, "port 7777") && strstr(e.msg, "forward not found for port 7777"), "%s", e.msg);
        ck_assert_ptr_nonnull(kube_portforward_error(pf));
        ck_assert_msg(strncmp(kube_portforward_error(pf), "error forwarding port 7777 to pod", 33) == 0, "%s",
                kube_portforward_error(pf));
        /* writing after the error reports it too */
        merr_clear(&e);
        ck_assert_int_eq(kube_portforward_write(pf, "x", 1, 5000, &e), -EIO);
        ck_assert_msg(strstr(e.msg, "forward not found for port 7777"), "%s", e.msg);
        pf = kube_portforward_close(pf);

        /* a declared port whose server does not exist: the pod's own message comes through. KWOK reports a
         * failed command only once its copy of the client's bytes into the command's stdin has failed (Go's
         * exec waits for it), so the client keeps sending until the error arrives. */
        merr_clear(&e);
        ck_assert_msg(kube_portforward_open(c, tc_ns, "p", 9090, &pf, &e) == 0, "%s", merr_msg(&e));
        for (int i = 0; i < 30 && r != -EIO; i++) {
                r = kube_portforward_write(pf, "hello\n", 6, 5000, &e);
                if (r == 0)
                        r = (int) kube_portforward_read(pf, b, sizeof(b), 1000, &e);
        }
        ck_assert_int_eq(r, -EIO);
        ck_assert_msg(strstr(e.msg, "no executable .kwok-port-9090"), "%s", e.msg);
        pf = kube_portforward_close(pf);

        /* refusals before the upgrade are Status errors */
        merr_clear(&e);
        ck_assert_int_eq(kube_portforward_open(c, tc_ns, "no-such-pod", 8080, &pf, &e), -ENOENT);
        ck_assert_msg(strstr(e.msg, "404 NotFound") && strstr(e.msg, "no-such-pod"), "%s", e.msg);
        ck_assert_ptr_null(pf);
}
END_TEST

static int tcp_connect(uint16_t port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {.tv_sec = 30};

        ck_assert_int_ge(fd, 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        return fd;
}

static void tcp_read_line(int fd, char *buf, size_t size) {
        size_t n = 0;

        while (n + 1 < size) {
                ck_assert_int_eq(recv(fd, buf + n, 1, 0), 1);
                if (buf[n++] == '\n')
                        break;
        }
        buf[n] = '\0';
}

START_TEST(test_local_listener_like_kubectl) {
        _cleanup_(kube_portforward_listener_stopp) struct kube_portforward_listener *l = NULL;
        struct merr e = MERR_INIT;
        char line[512], lasterr[MERR_MSG_MAX];
        int a, b;

        ck_assert_msg(kube_portforward_listen(tc_client(), tc_ns, "p", 8080, NULL, 0, &l, &e) == 0, "%s",
                merr_msg(&e));
        ck_assert_uint_gt(kube_portforward_listener_port(l), 0);
        /* two connections at once, each with its own server process behind it */
        a = tcp_connect(kube_portforward_listener_port(l));
        b = tcp_connect(kube_portforward_listener_port(l));
        tcp_read_line(a, line, sizeof(line));
        ck_assert_msg(strncmp(line, "server in /", 11) == 0, "%s", line);
        tcp_read_line(b, line, sizeof(line));
        ck_assert_msg(strncmp(line, "server in /", 11) == 0, "%s", line);
        ck_assert_int_eq(send(b, "to b\n", 5, 0), 5);
        ck_assert_int_eq(send(a, "to a\n", 5, 0), 5);
        tcp_read_line(a, line, sizeof(line));
        ck_assert_str_eq(line, "to a\n");
        tcp_read_line(b, line, sizeof(line));
        ck_assert_str_eq(line, "to b\n");
        close(a);
        close(b);
        ck_assert_uint_eq(kube_portforward_listener_stats(l, lasterr, sizeof(lasterr)), 2);
        ck_assert_str_eq(lasterr, "");
}
END_TEST

static Suite *portforward_suite(void) {
        Suite *s = suite_create("kube-portforward");
        TCase *tc = tcase_create("portforward");

        tcase_add_checked_fixture(tc, setup, tc_ns_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_greeting_and_echo_one_mib);
        tcase_add_test(tc, test_download_and_upload_one_mib);
        tcase_add_test(tc, test_error_channel_reports_bad_ports);
        tcase_add_test(tc, test_local_listener_like_kubectl);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(portforward_suite)
