/* SPDX-License-Identifier: Apache-2.0 */
#include "testcluster.h"

#include <check.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube/client.h"

#define TC_MAX_ARGS 64

const char *tc_state_dir(void) {
        const char *s = secure_getenv("MBOX_STATE_DIR");

        return s && *s ? s : "/var/tmp/mbox-root";
}

char *tc_kubeconfig(void) {
        char *p = NULL;

        if (asprintf(&p, "%s/kubeconfig", tc_state_dir()) < 0)
                return NULL;
        return p;
}

static char *kubectl_path(void) {
        const char *dir = secure_getenv("MBOX_KUBECTL_DIR");
        char *p = NULL;

        /* tests/integration/run.sh puts the cluster's own kubectl first on PATH and exports its directory */
        if (asprintf(&p, "%s/kubectl", dir && *dir ? dir : "/usr/local/bin") < 0)
                return NULL;
        return p;
}

int tc_kubectl(struct buf *out, ...) {
        _cleanup_free_ char *kc = tc_kubeconfig(), *kubectl = kubectl_path(), *kcflag = NULL;
        const char *argv[TC_MAX_ARGS + 3];
        int fds[2], status, n = 0;
        const char *a;
        va_list ap;
        pid_t pid;

        if (!kc || !kubectl || asprintf(&kcflag, "--kubeconfig=%s", kc) < 0)
                return -ENOMEM;
        argv[n++] = kubectl;
        argv[n++] = kcflag;
        va_start(ap, out);
        while ((a = va_arg(ap, const char *)) && n < TC_MAX_ARGS + 2)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return -errno;
        }
        if (pid == 0) {
                if (dup2(fds[1], STDOUT_FILENO) < 0)
                        _exit(127);
                execv(kubectl, (char *const *) argv);
                _exit(127);
        }
        close(fds[1]);
        for (;;) {
                char chunk[4096];
                ssize_t r = read(fds[0], chunk, sizeof(chunk));

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                if (out)
                        (void) buf_append(out, chunk, (size_t) r);
        }
        close(fds[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *tc_namespace_new(const char *prefix) {
        unsigned char rnd[4];
        char *name = NULL;
        int fd;

        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        if (read(fd, rnd, sizeof(rnd)) != (ssize_t) sizeof(rnd)) {
                close(fd);
                return NULL;
        }
        close(fd);
        if (asprintf(&name, "%s-%02x%02x%02x%02x", prefix, rnd[0], rnd[1], rnd[2], rnd[3]) < 0)
                return NULL;
        if (tc_kubectl(NULL, "create", "namespace", name, NULL) != 0) {
                free(name);
                return NULL;
        }
        return name;
}

int tc_namespace_delete(const char *name) {
        return tc_kubectl(NULL, "delete", "namespace", name, "--wait=false", NULL);
}

char *tc_ns;

void tc_ns_setup(void) {
        const char *prog = program_invocation_short_name;

        if (strncmp(prog, "test-", 5) == 0)
                prog += 5;
        tc_ns = tc_namespace_new(prog);
        ck_assert_ptr_nonnull(tc_ns);
}

void tc_ns_teardown(void) {
        if (tc_ns)
                (void) tc_namespace_delete(tc_ns);
        free(tc_ns);
        tc_ns = NULL;
}

struct kube_config *tc_config(void) {
        _cleanup_free_ char *kc = tc_kubeconfig();
        struct kube_config *cfg = NULL;
        struct merr e = MERR_INIT;

        ck_assert_msg(kube_config_load(kc, NULL, &cfg, &e) == 0, "%s", merr_msg(&e));
        return cfg;
}

struct kube_client *tc_client(void) {
        struct kube_client *c = NULL;
        struct merr e = MERR_INIT;

        ck_assert_msg(kube_client_new(tc_config(), &c, &e) == 0, "%s", merr_msg(&e));
        return c;
}
