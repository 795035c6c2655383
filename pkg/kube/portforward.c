/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/portforward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "kube/websocket.h"

#define RX_HIGH   (256u * 1024) /* from the pod, not yet read: above this the WebSocket is not read */
#define ERROR_MAX 4096
#define CHUNK     (32 * 1024)
#define MAX_QUEUE 8 /* messages queued towards the pod before the local side is not read */

struct kube_portforward {
        struct kws w;
        uint16_t port;
        bool prefix_seen[2]; /* the server's port prefix on the data and the error channel */
        int proto_r;         /* a broken stream: -EPROTO, -ENOBUFS */
        struct buf rx;       /* data from the pod not yet read */
        struct buf error;    /* the error channel's text */
        char what[160];      /* "port-forward to pod 'ns/name' port 80" */
};

static long long mono_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool pf_can_recv(void *userdata) {
        struct kube_portforward *pf = userdata;

        return pf->proto_r == 0 && pf->rx.len < RX_HIGH;
}

static void pf_on_msg(struct kws *w, const uint8_t *msg, size_t len, void *userdata) {
        struct kube_portforward *pf = userdata;
        uint8_t ch = msg[0];
        const uint8_t *p = msg + 1;
        size_t n = len - 1;

        (void) w;
        if (ch > 1 || pf->proto_r < 0)
                return; /* one port per session: only channels 0 and 1 exist */
        if (!pf->prefix_seen[ch]) {
                if (n < 2 || (uint16_t) (p[0] | p[1] << 8) != pf->port) {
                        pf->proto_r = -EPROTO;
                        return;
                }
                pf->prefix_seen[ch] = true;
                p += 2;
                n -= 2;
        }
        if (n == 0)
                return;
        if (ch == 0) {
                if (buf_append(&pf->rx, p, n) < 0)
                        pf->proto_r = -ENOBUFS;
        } else {
                size_t room = pf->error.max - pf->error.len;

                /* keep the start of a long error text */
                (void) buf_append(&pf->error, p, n < room ? n : room);
        }
}

static struct kube_portforward *pf_new(uint16_t port) {
        struct kube_portforward *pf = calloc(1, sizeof(*pf));

        if (!pf)
                return NULL;
        pf->w = (struct kws) KWS_INIT;
        pf->port = port;
        /* one message may land on top of a nearly full buffer */
        buf_init(&pf->rx, RX_HIGH + KWS_MAX_MSG);
        buf_init(&pf->error, ERROR_MAX);
        pf->w.on_msg = pf_on_msg;
        pf->w.can_recv = pf_can_recv;
        pf->w.userdata = pf;
        return pf;
}

struct kube_portforward *kube_portforward_close(struct kube_portforward *pf) {
        sigset_t old;
        if (!pf)
                return NULL;
        /* the TLS shutdown in kws_close() writes too: a peer that already hung up must not raise SIGPIPE */
        kws_sigpipe_block(&old);
        if (pf->w.ws && !pf->w.closed && !pf->w.replaying) {
                /* a polite close frame when it goes out at once; the socket closes regardless */
                (void) wslay_event_queue_close(pf->w.ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
                (void) wslay_event_send(pf->w.ws);
        }
        kws_close(&pf->w);
        kws_sigpipe_restore(&old);
        buf_release(&pf->rx);
        buf_release(&pf->error);
        free(pf);
        return NULL;
}

int kube_portforward_open(struct kube_client *c, const char *namespace, const char *pod, uint16_t port,
        struct kube_portforward **ret, struct merr *err) {
        static const char *const protocols[] = {"v4.channel.k8s.io", NULL};
        _cleanup_(kube_portforward_closep) struct kube_portforward *pf = NULL;
        _cleanup_(buf_release) struct buf path = BUF_INIT(4096);
        struct kube_resource res = {.version = "v1",
                .resource = "pods",
                .namespace = namespace,
                .name = pod,
                .subresource = "portforward"};
        sigset_t old;
        int r;

        if (port == 0)
                return merr_set(err, -EINVAL, "port-forward to pod '%s/%s': port 0", namespace, pod);
        pf = pf_new(port);
        if (!pf)
                return merr_set(err, -ENOMEM, "out of memory");
        (void) snprintf(pf->what, sizeof(pf->what), "port-forward to pod '%s/%s' port %u", namespace, pod,
                (unsigned) port);
        r = kube_resource_path(&res, &path, err);
        if (r >= 0 && buf_printf(&path, "?ports=%u", (unsigned) port) < 0)
                r = merr_set(err, -E2BIG, "request too long");
        if (r < 0)
                return merr_wrap(err, r, "%s", pf->what);
        kws_sigpipe_block(&old);
        r = kws_connect(&pf->w, c, buf_str(&path), protocols, "port-forward", err);
        kws_sigpipe_restore(&old);
        if (r < 0)
                return merr_wrap(err, r, "%s", pf->what);
        *ret = TAKE_PTR(pf);
        return 0;
}

const char *kube_portforward_error(const struct kube_portforward *pf) {
        return pf->error.len > 0 ? buf_str(&pf->error) : NULL;
}

/* The session's failure, if it has one: a broken stream or the server's error text. */
static int pf_failure(struct kube_portforward *pf, struct merr *err) {
        if (pf->proto_r == -EPROTO)
                return merr_set(err, -EPROTO, "%s: the server's stream does not start with port %u", pf->what,
                        (unsigned) pf->port);
        if (pf->proto_r < 0)
                return merr_set(err, pf->proto_r, "%s: message too large", pf->what);
        if (pf->error.len > 0)
                return merr_set(err, -EIO, "%s: %s", pf->what, buf_str(&pf->error));
        return 0;
}

static int wait_ms(long long deadline) {
        long long left;

        if (deadline == 0)
                return 100;
        left = deadline - mono_ms();
        return left <= 0 ? 0 : left > 100 ? 100 : (int) left;
}

ssize_t kube_portforward_read(
        struct kube_portforward *pf, void *buf, size_t len, long timeout_ms, struct merr *err) {
        long long deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : 0;
        ssize_t r = 0;
        sigset_t old;

        kws_sigpipe_block(&old);
        for (;;) {
                if (pf->rx.len > 0) {
                        size_t n = len < pf->rx.len ? len : pf->rx.len;

                        memcpy(buf, pf->rx.data, n);
                        buf_consume(&pf->rx, n);
                        r = (ssize_t) n;
                        break;
                }
                r = pf_failure(pf, err);
                if (r < 0 || !kws_active(&pf->w))
                        break;
                if (deadline && mono_ms() >= deadline) {
                        r = merr_set(
                                err, -ETIMEDOUT, "%s: nothing to read within %ld ms", pf->what, timeout_ms);
                        break;
                }
                r = kws_pump(&pf->w, wait_ms(deadline));
                if (r < 0) {
                        r = merr_set(err, (int) r, "%s: poll failed", pf->what);
                        break;
                }
        }
        kws_sigpipe_restore(&old);
        return r;
}

int kube_portforward_write(
        struct kube_portforward *pf, const void *data, size_t len, long timeout_ms, struct merr *err) {
        long long deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : 0;
        const char *p = data;
        size_t off = 0;
        sigset_t old;
        int r = 0;

        kws_sigpipe_block(&old);
        while (off < len || kws_queued(&pf->w) > 0) {
                r = pf_failure(pf, err);
                if (r < 0)
                        break;
                if (!kws_active(&pf->w)) {
                        r = merr_set(err, -EPIPE, "%s: the connection has ended", pf->what);
                        break;
                }
                while (off < len && kws_queued(&pf->w) < MAX_QUEUE) {
                        size_t n = len - off < CHUNK ? len - off : CHUNK;

                        r = kws_queue(&pf->w, 0, p + off, n);
                        if (r < 0)
                                break;
                        off += n;
                }
                if (r < 0) {
                        r = merr_set(err, r, "out of memory");
                        break;
                }
                if (deadline && mono_ms() >= deadline) {
                        r = merr_set(
                                err, -ETIMEDOUT, "%s: could not send within %ld ms", pf->what, timeout_ms);
                        break;
                }
                r = kws_pump(&pf->w, wait_ms(deadline));
                if (r < 0) {
                        r = merr_set(err, r, "%s: poll failed", pf->what);
                        break;
                }
        }
        kws_sigpipe_restore(&old);
        return r;
}

int kube_portforward_replay(
        const uint8_t *data, size_t len, uint16_t port, size_t *ret_bytes, struct merr *err) {
        _cleanup_(kube_portforward_closep) struct kube_portforward *pf = pf_new(port);
        size_t total = 0;
        int r;

        if (!pf || kws_replay_init(&pf->w, data, len) < 0)
                return merr_set(err, -ENOMEM, "out of memory");
        (void) snprintf(pf->what, sizeof(pf->what), "port-forward replay port %u", (unsigned) port);
        while (kws_active(&pf->w) || pf->rx.len > 0) {
                total += pf->rx.len;
                buf_reset(&pf->rx); /* the reader takes everything */
                r = pf_failure(pf, err);
                if (r < 0)
                        return r;
                (void) kws_pump(&pf->w, 0);
        }
        r = pf_failure(pf, err);
        if (r < 0)
                return r;
        *ret_bytes = total;
        return 0;
}

/* ---- the local listener: one thread, one poll loop over the listening socket, a stop eventfd, and for
 * every connection its local socket and its WebSocket */

struct conn {
        int fd; /* the local TCP connection; -1: slot free */
        struct kube_portforward *pf;
        bool local_eof; /* the local side has closed: forward what is queued, then end */
};

struct kube_portforward_listener {
        struct kube_client *client;
        char *namespace, *pod;
        uint16_t pod_port, local_port;
        int listen_fd, stop_fd;
        pthread_t thread;
        bool started;
        struct conn conns[KUBE_PORTFORWARD_MAX_CONNS];
        pthread_mutex_t lock; /* guards last_error and accepted */
        char last_error[MERR_MSG_MAX];
        unsigned accepted;
};

static void record_error(struct kube_portforward_listener *l, const char *msg) {
        pthread_mutex_lock(&l->lock);
        (void) snprintf(l->last_error, sizeof(l->last_error), "%s", msg);
        pthread_mutex_unlock(&l->lock);
}

static void conn_drop(struct kube_portforward_listener *l, struct conn *cn) {
        struct merr e = MERR_INIT;

        if (pf_failure(cn->pf, &e) < 0)
                record_error(l, merr_msg(&e));
        cn->pf = kube_portforward_close(cn->pf);
        close(cn->fd);
        cn->fd = -1;
}

static void accept_one(struct kube_portforward_listener *l) {
        struct merr e = MERR_INIT;
        struct conn *cn = NULL;
        int fd;

        for (size_t i = 0; i < ARRAY_SIZE(l->conns) && !cn; i++)
                if (l->conns[i].fd < 0)
                        cn = &l->conns[i];
        if (!cn)
                return;
        fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        pthread_mutex_lock(&l->lock);
        l->accepted++;
        pthread_mutex_unlock(&l->lock);
        /* the upgrade blocks this loop for one round trip to the API server */
        if (kube_portforward_open(l->client, l->namespace, l->pod, l->pod_port, &cn->pf, &e) < 0) {
                record_error(l, merr_msg(&e));
                close(fd);
                return;
        }
        *cn = (struct conn){.fd = fd, .pf = cn->pf};
}

/* Moves bytes for one connection after poll; returns false when the connection is over. */
static bool conn_step(struct conn *cn, short local_rev, short ws_rev) {
        struct kube_portforward *pf = cn->pf;

        if (!cn->local_eof && (local_rev & (POLLIN | POLLHUP | POLLERR))) {
                char chunk[CHUNK];
                ssize_t n = recv(cn->fd, chunk, sizeof(chunk), 0);

                if (n > 0) {
                        if (kws_queue(&pf->w, 0, chunk, (size_t) n) < 0)
                                return false;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        cn->local_eof = true;
        }
        kws_dispatch(&pf->w, ws_rev);
        while (pf->rx.len > 0) {
                ssize_t n = send(cn->fd, pf->rx.data, pf->rx.len, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0)
                        return false;
                buf_consume(&pf->rx, (size_t) n);
        }
        if (pf->proto_r < 0 || pf->error.len > 0)
                return false;
        /* v4 has no half-close: when the local side is done, the session ends once its bytes are out */
        if (cn->local_eof && kws_queued(&pf->w) == 0)
                return false;
        return kws_active(&pf->w) || pf->rx.len > 0;
}

static void *listener_main(void *userdata) {
        struct kube_portforward_listener *l = userdata;
        struct pollfd pfds[2 + 2 * KUBE_PORTFORWARD_MAX_CONNS];
        sigset_t pipe_set;

        /* this thread is ours: SIGPIPE stays blocked on it and pending ones are consumed */
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        (void) pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
        for (;;) {
                struct timespec zero = {0};
                size_t n = 0, nconn = 0;
                int timeout = 1000;

                while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
                        ;
                pfds[n++] = (struct pollfd){.fd = l->stop_fd, .events = POLLIN};
                for (size_t i = 0; i < ARRAY_SIZE(l->conns); i++)
                        nconn += l->conns[i].fd >= 0;
                pfds[n++] = (struct pollfd){
                        .fd = nconn < ARRAY_SIZE(l->conns) ? l->listen_fd : -1, .events = POLLIN};
                for (size_t i = 0; i < ARRAY_SIZE(l->conns); i++) {
                        struct conn *cn = &l->conns[i];
                        short ev = 0;

                        if (cn->fd < 0) {
                                pfds[n++] = (struct pollfd){.fd = -1};
                                pfds[n++] = (struct pollfd){.fd = -1};
                                continue;
                        }
                        if (!cn->local_eof && kws_queued(&cn->pf->w) < MAX_QUEUE)
                                ev |= POLLIN;
                        if (cn->pf->rx.len > 0)
                                ev |= POLLOUT;
                        pfds[n++] = (struct pollfd){.fd = cn->fd, .events = ev};
                        pfds[n++] = (struct pollfd){.fd = cn->pf->w.fd, .events = kws_events(&cn->pf->w)};
                        if (kws_pending(&cn->pf->w))
                                timeout = 0;
                }
                if (poll(pfds, n, timeout) < 0 && errno != EINTR)
                        break;
                if (pfds[0].revents)
                        break;
                for (size_t i = 0; i < ARRAY_SIZE(l->conns); i++) {
                        struct conn *cn = &l->conns[i];

                        if (cn->fd >= 0 && !conn_step(cn, pfds[2 + 2 * i].revents, pfds[3 + 2 * i].revents))
                                conn_drop(l, cn);
                }
                if (pfds[1].revents & POLLIN)
                        accept_one(l);
        }
        for (size_t i = 0; i < ARRAY_SIZE(l->conns); i++)
                if (l->conns[i].fd >= 0)
                        conn_drop(l, &l->conns[i]);
        return NULL;
}

struct kube_portforward_listener *kube_portforward_listener_stop(struct kube_portforward_listener *l) {
        if (!l)
                return NULL;
        if (l->started) {
                uint64_t one = 1;

                (void) !write(l->stop_fd, &one, sizeof(one));
                (void) pthread_join(l->thread, NULL);
        }
        if (l->listen_fd >= 0)
                close(l->listen_fd);
        if (l->stop_fd >= 0)
                close(l->stop_fd);
        pthread_mutex_destroy(&l->lock);
        kube_client_free(l->client);
        free(l->namespace);
        free(l->pod);
        free(l);
        return NULL;
}

int kube_portforward_listen(struct kube_client *c, const char *namespace, const char *pod, uint16_t pod_port,
        const char *address, uint16_t local_port, struct kube_portforward_listener **ret, struct merr *err) {
        _cleanup_(kube_portforward_listener_stopp) struct kube_portforward_listener *l = NULL;
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        int one = 1;

        l = calloc(1, sizeof(*l));
        if (!l) {
                kube_client_free(c);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        l->client = c;
        l->listen_fd = l->stop_fd = -1;
        pthread_mutex_init(&l->lock, NULL);
        for (size_t i = 0; i < ARRAY_SIZE(l->conns); i++)
                l->conns[i].fd = -1;
        l->namespace = strdup(namespace);
        l->pod = strdup(pod);
        if (!l->namespace || !l->pod)
                return merr_set(err, -ENOMEM, "out of memory");
        l->pod_port = pod_port;
        if (!address)
                address = "127.0.0.1";
        if (inet_pton(AF_INET, address, &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                ss.ss_family = AF_INET;
                ((struct sockaddr_in *) &ss)->sin_port = htons(local_port);
                sl = sizeof(struct sockaddr_in);
        } else if (inet_pton(AF_INET6, address, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                ss.ss_family = AF_INET6;
                ((struct sockaddr_in6 *) &ss)->sin6_port = htons(local_port);
                sl = sizeof(struct sockaddr_in6);
        } else
                return merr_set(err, -EINVAL, "port-forward: '%s' is not an IP address", address);
        l->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->listen_fd < 0)
                return merr_set(err, -errno, "port-forward: socket: %s", strerror(errno));
        (void) setsockopt(l->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(l->listen_fd, (struct sockaddr *) &ss, sl) < 0 || listen(l->listen_fd, 64) < 0)
                return merr_set(err, -errno, "port-forward: cannot listen on '%s' port %u: %s", address,
                        (unsigned) local_port, strerror(errno));
        sl = sizeof(ss);
        if (getsockname(l->listen_fd, (struct sockaddr *) &ss, &sl) < 0)
                return merr_set(err, -errno, "port-forward: getsockname: %s", strerror(errno));
        l->local_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                                      : ((struct sockaddr_in6 *) &ss)->sin6_port);
        l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->stop_fd < 0)
                return merr_set(err, -errno, "port-forward: eventfd: %s", strerror(errno));
        if (pthread_create(&l->thread, NULL, listener_main, l) != 0)
                return merr_set(err, -EAGAIN, "port-forward: cannot start the listener thread");
        l->started = true;
        *ret = TAKE_PTR(l);
        return 0;
}

uint16_t kube_portforward_listener_port(const struct kube_portforward_listener *l) {
        return l->local_port;
}

unsigned kube_portforward_listener_stats(struct kube_portforward_listener *l, char *out, size_t size) {
        unsigned n;

        pthread_mutex_lock(&l->lock);
        if (out && size)
                (void) snprintf(out, size, "%s", l->last_error);
        n = l->accepted;
        pthread_mutex_unlock(&l->lock);
        return n;
}
