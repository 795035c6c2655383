/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/exec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jsonutil.h"
#include "kube/websocket.h"
#include "timestamp.h"

#define STATUS_MAX  (64 * 1024)
#define STDIN_CHUNK (32 * 1024)

struct session {
        struct kws w;
        bool v5;
        const struct kube_exec_opts *o;
        struct kube_exec_result *res;
        struct buf status; /* channel 3 */
        int abort_r;       /* a sink asked to stop */
};

static long long mono_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void session_close(struct session *s) {
        kws_close(&s->w);
        buf_release(&s->status);
}

static void on_msg(struct kws *w, const uint8_t *msg, size_t len, void *user) {
        struct session *s = user;
        const char *p = (const char *) msg + 1;
        size_t n = len - 1;
        int r = 0;

        (void) w;
        if (n == 0)
                return; /* the ready frame and empty messages carry nothing */
        switch (msg[0]) {
        case 1:
                s->res->stdout_bytes += n;
                if (s->o->on_stdout)
                        r = s->o->on_stdout(p, n, s->o->userdata);
                break;
        case 2:
                s->res->stderr_bytes += n;
                if (s->o->on_stderr)
                        r = s->o->on_stderr(p, n, s->o->userdata);
                break;
        case 3:
                (void) buf_append(&s->status, p, n);
                break;
        default:
                break;
        }
        if (r < 0 && s->abort_r == 0)
                s->abort_r = r;
}

static int queue(struct session *s, uint8_t channel, const char *data, size_t len) {
        return kws_queue(&s->w, channel, data, len);
}

static int send_resize(struct session *s, unsigned w, unsigned h) {
        char json[64];
        int n = snprintf(json, sizeof(json), "{\"Width\":%u,\"Height\":%u}", w, h);

        return queue(s, 4, json, (size_t) n);
}

int kube_exec_exit_code(const char *status_json, size_t len, int *ret, struct merr *err) {
        _cleanup_json_ json_object *st = NULL;
        const char *status = NULL, *reason = NULL, *message = NULL;
        json_object *causes = NULL;
        int r;

        r = json_parse(status_json, len, 32, &st, err);
        if (r < 0 || json_get_string(st, "status", 0, &status, err) < 0)
                return merr_wrap(err, -EPROTO, "exec: bad status");
        if (strcmp(status, "Success") == 0) {
                *ret = 0;
                return 0;
        }
        (void) json_get_string(st, "reason", JSON_OPTIONAL, &reason, NULL);
        (void) json_get_string(st, "message", JSON_OPTIONAL, &message, NULL);
        if (reason && strcmp(reason, "NonZeroExitCode") == 0 &&
                json_get_array(st, "details.causes", 0, &causes, NULL) > 0)
                for (size_t i = 0; i < json_object_array_length(causes); i++) {
                        json_object *cause = json_object_array_get_idx(causes, i);
                        const char *cr = NULL, *cm = NULL;
                        char *end;
                        long v;

                        if (json_get_string(cause, "reason", 0, &cr, NULL) <= 0 ||
                                strcmp(cr, "ExitCode") != 0 ||
                                json_get_string(cause, "message", 0, &cm, NULL) <= 0)
                                continue;
                        errno = 0;
                        v = strtol(cm, &end, 10);
                        if (errno != 0 || *end || end == cm || v < 0 || v > 255)
                                return merr_set(err, -EPROTO, "exec: bad exit code '%.16s'", cm);
                        *ret = (int) v;
                        return 0;
                }
        return merr_set(err, -EIO, "exec failed: %s%s%s", reason ? reason : "Failure", message ? ": " : "",
                message ? message : "");
}

/* The exit code from the status channel. */
static int decode_status(struct session *s, struct merr *err) {
        if (s->status.len == 0)
                return merr_set(err, -ECONNRESET, "exec: the connection ended without an exit status");
        return kube_exec_exit_code(s->status.data, s->status.len, &s->res->exit_code, err);
}

static int append_query(struct kube_client *c, struct buf *b, const char *k, const char *v) {
        (void) c;
        if (buf_printf(b, "%c%s=", strchr(buf_str(b), '?') ? '&' : '?', k) < 0)
                return -E2BIG;
        for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
                int r = (isalnum(*p) || strchr("-._~", *p)) ? buf_putc(b, (char) *p)
                                                            : buf_printf(b, "%%%02X", *p);

                if (r < 0)
                        return -E2BIG;
        }
        return 0;
}

static int exec_session(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err);

/* A peer that hangs up makes writes raise SIGPIPE. The library must not change the process's signal
 * handling, so SIGPIPE is blocked for this thread during the session and any pending one is consumed. */
int kube_exec(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err) {
        sigset_t old;
        int r;

        kws_sigpipe_block(&old);
        r = exec_session(c, o, ret, err);
        kws_sigpipe_restore(&old);
        return r;
}

int kube_exec_dial(struct kube_client *c, const struct kube_exec_request *rq, const char *const *protocols,
        struct kws *w, struct merr *err) {
        _cleanup_(buf_release) struct buf path = BUF_INIT(128 * 1024);
        struct kube_resource pod = {.version = "v1",
                .resource = "pods",
                .namespace = rq->namespace,
                .name = rq->pod,
                .subresource = "exec"};
        int r;

        if (!rq->target && (!rq->command || !rq->command[0]))
                return merr_set(err, -EINVAL, "exec: empty command");
        r = kube_resource_path(rq->target ? rq->target : &pod, &path, err);
        for (size_t i = 0; r >= 0 && rq->command && rq->command[i]; i++)
                r = append_query(c, &path, "command", rq->command[i]);
        if (r >= 0 && rq->container)
                r = append_query(c, &path, "container", rq->container);
        if (r >= 0)
                r = append_query(c, &path, "stdin", rq->stdin ? "true" : "false");
        if (r >= 0)
                r = append_query(c, &path, "stdout", rq->stdout ? "true" : "false");
        if (r >= 0)
                r = append_query(c, &path, "stderr", rq->stderr ? "true" : "false");
        if (r >= 0)
                r = append_query(c, &path, "tty", rq->tty ? "true" : "false");
        if (r < 0) {
                kws_close(w);
                return merr_set(err, r, "exec: request too long");
        }
        r = kws_connect(w, c, buf_str(&path), protocols, "exec", err);
        if (r < 0 && rq->target)
                return merr_wrap(err, r, "%s of %s '%s/%s'", rq->target->subresource, rq->target->resource,
                        rq->target->namespace, rq->target->name);
        if (r < 0)
                return merr_wrap(err, r, "exec in pod '%s/%s'", rq->namespace, rq->pod);
        return 0;
}

static int exec_session(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err) {
        static const char *const protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", NULL};
        struct kube_exec_result res = {0};
        struct session s = {.w = KWS_INIT, .o = o, .res = &res};
        size_t stdin_off = 0;
        bool stdin_open = o->has_stdin || o->stdin_fd >= 0;
        long long deadline = o->timeout_ms > 0 ? mono_ms() + o->timeout_ms : 0, next_resize = 0;
        int r;

        buf_init(&s.status, STATUS_MAX);
        s.w.on_msg = on_msg;
        s.w.userdata = &s;
        /* the connection is made within the command's time limit (30 s at most) and cancels with it */
        s.w.deadline_ms = timestamp_monotonic_ms() +
                          (o->timeout_ms > 0 && o->timeout_ms < 30000 ? o->timeout_ms : 30000);
        s.w.cancel = o->cancel;
        const struct kube_exec_request rq = {.namespace = o->namespace,
                .pod = o->pod,
                .target = o->target,
                .container = o->container,
                .command = o->command,
                .stdin = stdin_open,
                .stdout = true,
                .stderr = !o->tty,
                .tty = o->tty};
        r = kube_exec_dial(c, &rq, protocols, &s.w, err);
        if (r < 0) {
                session_close(&s);
                return r;
        }
        s.v5 = strcmp(s.w.protocol, "v5.channel.k8s.io") == 0;
        (void) snprintf(res.protocol, sizeof(res.protocol), "%s", s.w.protocol);

        if (o->tty && o->get_size) {
                unsigned w = 0, h = 0;

                if (o->get_size(&w, &h, o->userdata) || (w && h))
                        (void) send_resize(&s, w, h);
        }
        if (stdin_open && !s.v5 && o->has_stdin && o->stdin_len == 0 && o->stdin_fd < 0)
                stdin_open = false;

        while (s.abort_r == 0 && kws_active(&s.w)) {
                long long now = mono_ms();

                if (o->cancel && atomic_load(o->cancel)) {
                        r = merr_set(err, -ECANCELED, "exec in pod '%s/%s': canceled", o->namespace, o->pod);
                        break;
                }
                if (deadline && now > deadline) {
                        r = merr_set(err, -ETIMEDOUT, "exec in pod '%s/%s': timed out after %ld ms",
                                o->namespace, o->pod, o->timeout_ms);
                        break;
                }
                /* feed stdin while little is queued, so a large input never piles up in memory */
                while (stdin_open && kws_queued(&s.w) < 8) {
                        char chunk[STDIN_CHUNK];
                        ssize_t n;

                        if (o->stdin_fd >= 0) {
                                n = read(o->stdin_fd, chunk, sizeof(chunk));
                                if (n < 0 && errno == EINTR)
                                        continue;
                                if (n < 0 && errno == EAGAIN)
                                        break;
                        } else {
                                n = (ssize_t) (o->stdin_len - stdin_off < sizeof(chunk)
                                                       ? o->stdin_len - stdin_off
                                                       : sizeof(chunk));
                                memcpy(chunk, o->stdin_data + stdin_off, (size_t) n);
                                stdin_off += (size_t) n;
                        }
                        if (n > 0 && o->stdin_fd >= 0 && o->filter_stdin) {
                                char out[2 * STDIN_CHUNK];
                                size_t m = 0;
                                int fr = o->filter_stdin(chunk, (size_t) n, out, &m, o->userdata);
                                if (fr < 0) {
                                        s.abort_r = fr;
                                        break;
                                }
                                if (m > 0 && queue(&s, 0, out, m) < 0)
                                        break;
                                continue;
                        }
                        if (n > 0) {
                                if (queue(&s, 0, chunk, (size_t) n) < 0)
                                        break;
                                continue;
                        }
                        /* end of input: v5 half-closes stdin; v4 cannot, so the process keeps its stdin */
                        if (s.v5)
                                (void) kws_queue_raw(&s.w, "\xff\x00", 2);
                        stdin_open = false;
                }
                if (o->tty && o->get_size && now >= next_resize) {
                        unsigned w = 0, h = 0;

                        if (o->get_size(&w, &h, o->userdata))
                                (void) send_resize(&s, w, h);
                        next_resize = now + 100;
                }
                r = kws_pump(&s.w, 100);
                if (r < 0) {
                        r = merr_set(err, r, "exec: poll failed");
                        break;
                }
        }
        /* a session its caller ends (the user left, an output that cannot be written) closes as a WebSocket */
        if (s.abort_r < 0 || r == -ECANCELED)
                kws_close_normally(&s.w, 1000);
        if (r >= 0 && s.abort_r < 0)
                r = merr_set(
                        err, s.abort_r, "exec in pod '%s/%s': ended by its caller", o->namespace, o->pod);
        if (r >= 0) {
                r = decode_status(&s, err);
                if (r < 0)
                        (void) merr_wrap(err, r, "exec in pod '%s/%s'", o->namespace, o->pod);
        }
        session_close(&s);
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}

static int count_sink(const char *data, size_t len, void *userdata) {
        (void) data, (void) len, (void) userdata;
        return 0;
}

int kube_exec_replay(const uint8_t *data, size_t len, const char *protocol, struct kube_exec_result *ret,
        struct merr *err) {
        const struct kube_exec_opts o = {.on_stdout = count_sink, .on_stderr = count_sink, .stdin_fd = -1};
        struct kube_exec_result res = {0};
        struct session s = {.w = KWS_INIT, .o = &o, .res = &res};
        int r;

        buf_init(&s.status, STATUS_MAX);
        s.w.on_msg = on_msg;
        s.w.userdata = &s;
        if (kws_replay_init(&s.w, data, len) < 0)
                return merr_set(err, -ENOMEM, "out of memory");
        (void) snprintf(res.protocol, sizeof(res.protocol), "%s", protocol);
        s.v5 = strcmp(protocol, "v5.channel.k8s.io") == 0;
        while (s.abort_r == 0 && kws_active(&s.w))
                (void) kws_pump(&s.w, 0);
        r = decode_status(&s, err);
        session_close(&s);
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}
