/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_exec() through kube-apiserver into a pod on a KWOK node (which runs the command on the host in the
 * pod's own directory): exit codes, stdout and stderr apart, stdin with a half-close, 10 MiB of binary
 * output byte for byte, the API server's refusals, and a terminal resize seen by the process (KWOK gives a
 * TTY session a real pty and sets its size from the resize channel, as a kubelet's runtime does).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "jsonutil.h"
#include "kube/exec.h"
#include "testcluster.h"
#include "testutil.h"

static void setup(void) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(4096);
        _cleanup_free_ char *manifest = NULL;
        char path[256];
        FILE *f;

        tc_ns_setup();
        snprintf(path, sizeof(path), "%s/exec-pod-%s.yaml", tc_state_dir(), tc_ns);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: %s}\n"
                "spec: {containers: [{name: main, image: busybox:1.36, command: [sh, -c, 'tail -f "
                "/dev/null']}]}\n",
                tc_ns);
        fclose(f);
        ck_assert_int_eq(tc_kubectl(NULL, "apply", "-f", path, NULL), 0);
        remove(path);
        ck_assert_int_eq(tc_kubectl(NULL, "-n", tc_ns, "wait", "--for=condition=Ready", "pod/p",
                                 "--timeout=60s", NULL),
                0);
        /* the pod's own KWOK Exec (hack/kwok-pods.sh) */
        for (int i = 0; i < 120 && tc_kubectl(&out, "-n", tc_ns, "get", "exec.kwok.x-k8s.io", "p", "-o",
                                           "name", NULL) != 0;
                i++)
                usleep(250000);
}

static int to_buf(const char *data, size_t len, void *ud) {
        return buf_append(ud, data, len);
}

struct outputs {
        struct buf out, err;
};

static int sink_out(const char *d, size_t n, void *ud) {
        return buf_append(&((struct outputs *) ud)->out, d, n);
}

static int sink_err(const char *d, size_t n, void *ud) {
        return buf_append(&((struct outputs *) ud)->err, d, n);
}

static int run(struct kube_client *c, const char *const *argv, const char *in, struct outputs *o,
        struct kube_exec_result *res, struct merr *e) {
        struct kube_exec_opts opts = {.namespace = tc_ns,
                .pod = "p",
                .command = argv,
                .stdin_fd = -1,
                .on_stdout = sink_out,
                .on_stderr = sink_err,
                .userdata = o,
                .timeout_ms = 60000};

        if (in) {
                opts.has_stdin = true;
                opts.stdin_data = in;
                opts.stdin_len = strlen(in);
        }
        return kube_exec(c, &opts, res, e);
}

START_TEST(test_exit_codes_and_streams) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct outputs o = {BUF_INIT(1 << 20), BUF_INIT(1 << 20)};
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        const char *ok[] = {"sh", "-c", "echo out; echo err >&2", NULL};
        const char *one[] = {"sh", "-c", "exit 1", NULL};
        const char *k137[] = {"sh", "-c", "exit 137", NULL};

        ck_assert_msg(run(c, ok, NULL, &o, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(res.exit_code, 0);
        ck_assert_str_eq(buf_str(&o.out), "out\n");
        ck_assert_str_eq(buf_str(&o.err), "err\n");
        ck_assert_str_eq(res.protocol, "v5.channel.k8s.io");
        ck_assert_msg(run(c, one, NULL, &o, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(res.exit_code, 1);
        ck_assert_msg(run(c, k137, NULL, &o, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(res.exit_code, 137);
        buf_release(&o.out);
        buf_release(&o.err);
}
END_TEST

START_TEST(test_stdin_is_half_closed) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct outputs o = {BUF_INIT(1 << 20), BUF_INIT(1 << 20)};
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        const char *wc[] = {"sh", "-c", "cat | tr a-z A-Z", NULL};

        /* cat only ends when stdin is closed: the v5 half-close */
        ck_assert_msg(run(c, wc, "piped through stdin\n", &o, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(res.exit_code, 0);
        ck_assert_str_eq(buf_str(&o.out), "PIPED THROUGH STDIN\n");
        buf_release(&o.out);
        buf_release(&o.err);
}
END_TEST

START_TEST(test_ten_mib_binary_byte_for_byte) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct outputs o = {BUF_INIT(16 << 20), BUF_INIT(1 << 20)};
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        const char *make[] = {
                "sh", "-c", "head -c 10485760 /dev/urandom > blob && sha256sum blob | cut -d' ' -f1", NULL};
        const char *cat[] = {"cat", "blob", NULL};
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 2] = "";
        char want[128];

        ck_assert_msg(run(c, make, NULL, &o, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(res.exit_code, 0);
        snprintf(want, sizeof(want), "%s", buf_str(&o.out));
        buf_reset(&o.out);
        ck_assert_msg(run(c, cat, NULL, &o, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(res.exit_code, 0);
        ck_assert_uint_eq(o.out.len, 10485760);
        ck_assert_uint_eq(res.stdout_bytes, 10485760);
        EVP_Digest(o.out.data, o.out.len, md, &mdlen, EVP_sha256(), NULL);
        for (unsigned i = 0; i < mdlen; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        hex[2 * mdlen] = '\n';
        hex[2 * mdlen + 1] = '\0';
        ck_assert_str_eq(hex, want);
        buf_release(&o.out);
        buf_release(&o.err);
}
END_TEST

START_TEST(test_refusals_are_status_errors) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct buf out = BUF_INIT(1024);
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        const char *argv[] = {"true", NULL};
        struct kube_exec_opts o = {.namespace = tc_ns,
                .pod = "no-such-pod",
                .command = argv,
                .stdin_fd = -1,
                .on_stdout = to_buf,
                .userdata = &out};

        ck_assert_int_eq(kube_exec(c, &o, &res, &e), -ENOENT);
        ck_assert_msg(strstr(e.msg, "404 NotFound") && strstr(e.msg, "no-such-pod"), "%s", e.msg);
        buf_release(&out);
}
END_TEST

/* The terminal: 80x24 at first, then, once the process has shown that size, 132x50. */
struct term {
        struct buf out;
        bool resized;
};

static int term_out(const char *d, size_t n, void *ud) {
        return buf_append(&((struct term *) ud)->out, d, n);
}

static bool term_size(unsigned *width, unsigned *height, void *ud) {
        struct term *t = ud;

        if (!t->resized && strstr(buf_str(&t->out), "24 80")) {
                t->resized = true;
                *width = 132;
                *height = 50;
                return true;
        }
        *width = t->resized ? 132 : 80;
        *height = t->resized ? 50 : 24;
        return false;
}

START_TEST(test_tty_resize_reaches_the_process) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct term t = {.out = BUF_INIT(1 << 16)};
        struct kube_exec_result res;
        struct merr e = MERR_INIT;
        int in[2];
        /* prints the terminal's size each time it changes, until the resize arrives; exits 0 only after
         * seeing it. The pause before exiting: KWOK's exec once reported the exit before the pty's last
         * line ("50 132") reached the stream, as a process exiting at once can leave its pty unread. */
        const char *argv[] = {"sh", "-c",
                "last=; while :; do s=$(stty size); if [ \"$s\" != \"$last\" ]; then echo \"$s\"; last=$s; "
                "fi; "
                "[ \"$s\" = \"50 132\" ] && sleep 0.5 && exit 0; sleep 0.1; done",
                NULL};

        /* a terminal session has stdin; kept open until the session ends */
        ck_assert_int_eq(pipe2(in, O_CLOEXEC | O_NONBLOCK), 0);
        struct kube_exec_opts o = {.namespace = tc_ns,
                .pod = "p",
                .command = argv,
                .tty = true,
                .stdin_fd = in[0],
                .has_stdin = true,
                .on_stdout = term_out,
                .get_size = term_size,
                .userdata = &t,
                .timeout_ms = 60000};

        ck_assert_msg(kube_exec(c, &o, &res, &e) == 0, "%s", merr_msg(&e));
        close(in[0]);
        close(in[1]);
        ck_assert_msg(res.exit_code == 0, "exit %d, output: %s", res.exit_code, buf_str(&t.out));
        ck_assert_msg(t.resized && strstr(buf_str(&t.out), "24 80") && strstr(buf_str(&t.out), "50 132"),
                "output: %s", buf_str(&t.out));
        buf_release(&t.out);
}
END_TEST

static Suite *exec_suite(void) {
        Suite *s = suite_create("kube-exec");
        TCase *tc = tcase_create("exec");

        tcase_add_checked_fixture(tc, setup, tc_ns_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_exit_codes_and_streams);
        tcase_add_test(tc, test_stdin_is_half_closed);
        tcase_add_test(tc, test_ten_mib_binary_byte_for_byte);
        tcase_add_test(tc, test_refusals_are_status_errors);
        tcase_add_test(tc, test_tty_resize_reaches_the_process);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(exec_suite)
