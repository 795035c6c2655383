/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log subresource of a sandbox (sandboxes/NAME/log): the log of its main container in the pod it runs
 * in now (a stopped and started sandbox has a new pod, and so a new log), read from kube-apiserver's
 * pods/log with mbox-apiserver's own client and passed on as it comes. The query parameters are pods/log's
 * (follow, sinceSeconds, sinceTime, tailLines, timestamps, limitBytes), checked here so that a bad one is
 * named in a 400 before kube-apiserver is asked. The caller was authorized for sandboxes/log (server.c);
 * mbox-apiserver's own account reads the pod.
 *
 * kube-apiserver's answer decides ours: its refusal (a container that has not started: 400) is passed on as
 * a Status; its success starts our 200. The read runs on a thread of its own and writes into a pipe, the
 * connection's thread reads the pipe (httpd_respond_stream()), so a slow client slows the read down instead
 * of filling memory, and a client that goes away ends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "kube/client.h"
#include "log.h"
#include "macro.h"
#include "operator/runtime.h"
#include "timestamp.h"

#define LOG_TIMEOUT_MS (3600 * 1000L) /* a log (a follow too) ends after an hour */
#define ANSWER_WAIT_MS (60 * 1000L)   /* how long kube-apiserver may take to start answering */

/* The query parameters, checked, as pods/log takes them. */
struct log_query {
        bool follow, timestamps;
        char since_seconds[24], since_time[40], tail_lines[24], limit_bytes[24]; /* "": not given */
};

struct sandbox_log {
        struct apiserver *s;
        char ns[64], name[254], pod[254];
        const char *query[16]; /* name, value, ..., NULL: for pods/log (values in q) */
        struct log_query q;
        int fd[2]; /* the pipe: the read writes [1], the stream reads [0] */
        pthread_t thread;
        bool started;
        atomic_bool cancel;
        pthread_mutex_t lock;
        pthread_cond_t answered;
        int answer; /* under lock: 0 none yet, 1 success (the body follows), < 0 the read failed first */
        struct kube_error error; /* kube-apiserver's refusal, once answer < 0 */
        struct merr err;
        int result; /* the read's end, once the pipe is at its end */
};

static bool parse_bool(const char *s, bool *ret) {
        *ret = s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
        return *ret || !s || !*s || strcmp(s, "false") == 0 || strcmp(s, "0") == 0;
}

/* A number in [min, max] into buf ("" when absent); false with the request answered when it is not one. */
static bool number(
        struct httpd_request *req, const char *key, long long min, const char *what, char *buf, size_t size) {
        const char *v = httpd_request_query(req, key);
        long long n;
        if (!v)
                return true;
        if (!api_parse_num(v, min, 999999999999LL, &n)) {
                httpd_respond_status(req, 400, "BadRequest", "%s must be %s, not '%.64s'", key, what, v);
                return false;
        }
        snprintf(buf, size, "%lld", n);
        return true;
}

/* The query parameters into q; false with the request answered 400 when one is bad. */
static bool parse_query(struct httpd_request *req, struct log_query *q) {
        const char *follow = httpd_request_query(req, "follow"),
                   *timestamps = httpd_request_query(req, "timestamps"),
                   *since_time = httpd_request_query(req, "sinceTime");
        *q = (struct log_query){0};
        if (!parse_bool(follow, &q->follow)) {
                httpd_respond_status(
                        req, 400, "BadRequest", "follow must be true or false, not '%.64s'", follow);
                return false;
        }
        if (!parse_bool(timestamps, &q->timestamps)) {
                httpd_respond_status(
                        req, 400, "BadRequest", "timestamps must be true or false, not '%.64s'", timestamps);
                return false;
        }
        if (!number(req, "sinceSeconds", 1, "a positive number of seconds", q->since_seconds,
                    sizeof(q->since_seconds)) ||
                !number(req, "tailLines", 0, "a number of lines, 0 or more", q->tail_lines,
                        sizeof(q->tail_lines)) ||
                !number(req, "limitBytes", 1, "a positive number of bytes", q->limit_bytes,
                        sizeof(q->limit_bytes)))
                return false;
        if (since_time) {
                struct timestamp t;
                if (timestamp_parse(since_time, &t, NULL) < 0 ||
                        timestamp_format(&t, q->since_time, sizeof(q->since_time)) < 0) {
                        httpd_respond_status(req, 400, "BadRequest",
                                "sinceTime must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not "
                                "'%.64s'",
                                since_time);
                        return false;
                }
        }
        if (*q->since_time && *q->since_seconds) {
                httpd_respond_status(
                        req, 400, "BadRequest", "sinceSeconds and sinceTime: give at most one of them");
                return false;
        }
        return true;
}

/* l->query from l->q: the main container, and only the parameters given. */
static void build_query(struct sandbox_log *l) {
        size_t n = 0;
        l->query[n++] = "container";
        l->query[n++] = RUNTIME_CONTAINER;
        if (l->q.follow) {
                l->query[n++] = "follow";
                l->query[n++] = "true";
        }
        if (l->q.timestamps) {
                l->query[n++] = "timestamps";
                l->query[n++] = "true";
        }
        const struct {
                const char *key, *value;
        } nums[] = {{"sinceSeconds", l->q.since_seconds}, {"sinceTime", l->q.since_time},
                {"tailLines", l->q.tail_lines}, {"limitBytes", l->q.limit_bytes}};
        for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
                if (*nums[i].value) {
                        l->query[n++] = nums[i].key;
                        l->query[n++] = nums[i].value;
                }
        l->query[n] = NULL;
}

static void answer(struct sandbox_log *l, int a) {
        pthread_mutex_lock(&l->lock);
        if (l->answer == 0)
                l->answer = a;
        pthread_cond_signal(&l->answered);
        pthread_mutex_unlock(&l->lock);
}

static void on_start(void *ud) {
        answer(ud, 1);
}

static int on_data(const char *data, size_t len, void *ud) {
        struct sandbox_log *l = ud;
        while (len > 0) {
                ssize_t n = write(l->fd[1], data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno; /* the reader went away: end the read */
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

static void *produce(void *ud) {
        struct sandbox_log *l = ud;
        struct kube_client *kc = NULL;
        struct kube_resource rs = {.version = "v1",
                .resource = "pods",
                .namespace = l->ns,
                .name = l->pod,
                .subresource = "log"};
        struct kube_stream_opts o = {.query = l->query,
                .on_start = on_start,
                .on_data = on_data,
                .userdata = l,
                .timeout_ms = LOG_TIMEOUT_MS,
                .cancel = &l->cancel};
        int r = kube_pool_get(l->s->clients, &kc, &l->err);
        if (r >= 0) {
                r = kube_get_stream(kc, &rs, &o, &l->err);
                if (r < 0)
                        l->error = *kube_client_last_error(kc);
                kube_pool_put(l->s->clients, kc);
        }
        l->result = r;
        answer(l, r < 0 ? r : 1); /* an answer already given stays */
        close(l->fd[1]);
        l->fd[1] = -1;
        return NULL;
}

static void sandbox_log_free(void *ud) {
        struct sandbox_log *l = ud;
        atomic_store(&l->cancel, true);
        if (l->fd[0] >= 0)
                close(l->fd[0]); /* a read blocked on a full pipe gets EPIPE */
        if (l->started)
                pthread_join(l->thread, NULL);
        if (l->fd[1] >= 0)
                close(l->fd[1]);
        pthread_cond_destroy(&l->answered);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static long sandbox_log_read(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct sandbox_log *l = ud;
        for (;;) {
                struct pollfd p = {.fd = l->fd[0], .events = POLLIN};
                int r = poll(&p, 1, 200);
                if (r < 0 && errno != EINTR)
                        return -1;
                if (httpd_stream_peer_gone(hs))
                        return -1;
                if (r <= 0)
                        continue;
                ssize_t n = read(l->fd[0], buf, max);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n > 0)
                        return (long) n;
                /* the end: the read has closed its side */
                pthread_join(l->thread, NULL);
                l->started = false;
                if (l->result >= 0 || l->result == -ETIMEDOUT)
                        return 0;
                log_warn("a sandbox's log broke off", "namespace", l->ns, "sandbox", l->name, "error",
                        merr_msg(&l->err));
                return -1; /* broken off, so that the client does not take it for the end of the log */
        }
}

/* kube-apiserver's refusal as ours. Its 401 and 403 refuse mbox-apiserver's own account, not the caller. */
static void respond_refusal(struct httpd_request *req, const struct sandbox_log *l) {
        const struct kube_error *e = &l->error;
        if (e->http_code == 401 || e->http_code == 403)
                httpd_respond_status(req, 500, "InternalError",
                        "mbox-apiserver's account may not read pods/log of pod %s: %s", l->pod, e->message);
        else if (e->http_code >= 400)
                httpd_respond_status(req, e->http_code,
                        *e->reason           ? e->reason
                        : e->http_code < 500 ? "BadRequest"
                                             : "InternalError",
                        "%s", e->message);
        else
                httpd_respond_status(req, 503, "ServiceUnavailable", "reading the log of sandbox %s: %s",
                        l->name, merr_msg(&l->err));
}

bool api_sandbox_log_follows(struct httpd_request *req) {
        bool follow;
        return parse_bool(httpd_request_query(req, "follow"), &follow) && follow;
}

void api_sandbox_log(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct api_sandbox sb;
        struct log_query q;
        if (!parse_query(req, &q) ||
                api_sandbox_running(req, r->s, r->namespace ? r->namespace : "", r->name, &sb) < 0)
                return;
        struct sandbox_log *l = calloc(1, sizeof(*l));
        if (!l) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        l->s = r->s;
        l->q = q;
        l->fd[0] = l->fd[1] = -1;
        snprintf(l->ns, sizeof(l->ns), "%s", sb.ns);
        snprintf(l->name, sizeof(l->name), "%s", sb.name);
        snprintf(l->pod, sizeof(l->pod), "%s", sb.pod);
        build_query(l);
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->answered, NULL);
        if (pipe2(l->fd, O_CLOEXEC) < 0 || pthread_create(&l->thread, NULL, produce, l) != 0) {
                httpd_respond_status(req, 500, "InternalError", "cannot start reading the log");
                sandbox_log_free(l);
                return;
        }
        l->started = true;
        struct timespec deadline = timestamp_deadline(ANSWER_WAIT_MS);
        pthread_mutex_lock(&l->lock);
        while (l->answer == 0 && pthread_cond_timedwait(&l->answered, &l->lock, &deadline) != ETIMEDOUT)
                ;
        int a = l->answer;
        pthread_mutex_unlock(&l->lock);
        if (a > 0) {
                (void) httpd_respond_stream(req, 200, "text/plain", sandbox_log_read, l, sandbox_log_free);
                return;
        }
        if (a == 0)
                httpd_respond_status(req, 504, "Timeout",
                        "kube-apiserver did not answer for the log of pod %s within %lds", l->pod,
                        ANSWER_WAIT_MS / 1000);
        else {
                pthread_join(l->thread, NULL); /* the read has ended: its error is whole */
                l->started = false;
                respond_refusal(req, l);
        }
        sandbox_log_free(l);
}
