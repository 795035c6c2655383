/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Commands in a running sandbox's pod through pods/exec, with mbox-apiserver's own client: run to their end
 * (api_pod_exec()), or with their stdout streamed as the response (api_pod_stream()), as artifacts/content
 * and sandboxes/files download.
 *
 * A stream's command runs on a thread of its own and writes into a pipe; the connection's thread reads the
 * pipe (httpd_respond_stream()), so a slow client slows the command down instead of filling memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/internal.h"

#define STREAM_MAX_ARGS 8

struct stream {
        struct apiserver *s;
        char *argv[STREAM_MAX_ARGS + 1]; /* copies */
        char *ns, *pod, *container;
        long timeout_ms;
        const struct api_pod_stream_hooks *hooks;
        void *ud;
        int fd[2]; /* the pipe: the command writes [1], the stream reads [0] */
        pthread_t thread;
        bool started;
        atomic_bool cancel;
        int result; /* the command's exit code or < 0, once the pipe is at its end */
        struct merr err;
};

int api_pod_exec(struct apiserver *s, const struct kube_exec_opts *o, struct merr *err) {
        struct kube_client *kc = NULL;
        struct kube_exec_result res = {0};
        int r = kube_pool_get(s->clients, &kc, err);
        if (r < 0)
                return r;
        r = kube_exec(kc, o, &res, err);
        kube_pool_put(s->clients, kc);
        return r < 0 ? r : res.exit_code;
}

static int to_pipe(const char *data, size_t len, void *ud) {
        struct stream *st = ud;
        while (len > 0) {
                ssize_t n = write(st->fd[1], data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno; /* the reader went away: end the exec */
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

static void *produce(void *ud) {
        struct stream *st = ud;
        struct kube_exec_opts o = {.namespace = st->ns,
                .pod = st->pod,
                .container = st->container,
                .command = (const char *const *) st->argv,
                .stdin_fd = -1,
                .on_stdout = to_pipe,
                .userdata = st,
                .timeout_ms = st->timeout_ms,
                .cancel = &st->cancel};
        st->result = api_pod_exec(st->s, &o, &st->err);
        close(st->fd[1]);
        st->fd[1] = -1;
        return NULL;
}

static void stream_free(void *ud) {
        struct stream *st = ud;
        atomic_store(&st->cancel, true);
        if (st->fd[0] >= 0)
                close(st->fd[0]); /* a producer blocked on a full pipe gets EPIPE */
        if (st->started)
                pthread_join(st->thread, NULL);
        if (st->fd[1] >= 0)
                close(st->fd[1]);
        if (st->hooks->free)
                st->hooks->free(st->ud);
        for (size_t i = 0; st->argv[i]; i++)
                free(st->argv[i]);
        free(st->ns);
        free(st->pod);
        free(st->container);
        free(st);
}

static long stream_read(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct stream *st = ud;
        for (;;) {
                struct pollfd p = {.fd = st->fd[0], .events = POLLIN};
                int r = poll(&p, 1, 200);
                if (r < 0 && errno != EINTR)
                        return -1;
                if (httpd_stream_peer_gone(hs))
                        return -1;
                if (r <= 0)
                        continue;
                ssize_t n = read(st->fd[0], buf, max);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n > 0) {
                        if (st->hooks->on_data)
                                st->hooks->on_data(buf, (size_t) n, st->ud);
                        return (long) n;
                }
                /* the end: the producer has closed its side */
                pthread_join(st->thread, NULL);
                st->started = false;
                return st->hooks->on_end(st->result, &st->err, st->ud) ? 0 : -1;
        }
}

static char *dup_or_null(const char *s, bool *oom) {
        char *d = s ? strdup(s) : NULL;
        if (s && !d)
                *oom = true;
        return d;
}

void api_pod_stream(struct httpd_request *req, struct apiserver *s, const struct api_pod_command *cmd,
        const char *content_type, const struct api_pod_stream_hooks *hooks, void *ud) {
        struct stream *st = calloc(1, sizeof(*st));
        bool oom = !st;
        if (!st) {
                if (hooks->free)
                        hooks->free(ud);
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        st->s = s;
        st->hooks = hooks;
        st->ud = ud;
        st->fd[0] = st->fd[1] = -1;
        st->timeout_ms = cmd->timeout_ms;
        st->ns = dup_or_null(cmd->ns, &oom);
        st->pod = dup_or_null(cmd->pod, &oom);
        st->container = dup_or_null(cmd->container, &oom);
        for (size_t i = 0; cmd->argv[i] && !oom; i++) {
                if (i == STREAM_MAX_ARGS) {
                        oom = true; /* a caller's mistake, not the client's: an internal error */
                        break;
                }
                st->argv[i] = dup_or_null(cmd->argv[i], &oom);
        }
        if (oom || pipe2(st->fd, O_CLOEXEC) < 0 || pthread_create(&st->thread, NULL, produce, st) != 0) {
                stream_free(st);
                httpd_respond_status(req, 500, "InternalError", "cannot start the download");
                return;
        }
        st->started = true;
        (void) httpd_respond_stream(req, 200, content_type, stream_read, st, stream_free);
}
