/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod's side of a proxied preview request (gateway.c, sandboxproxy.c): sockets with time limits, the
 * head of the pod's response, its body piece by piece as it comes, and the byte relay of an upgraded
 * connection.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "timestamp.h"

ssize_t api_sock_read(int fd, void *buf, size_t len, long timeout_ms) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        for (;;) {
                int r = poll(&p, 1, (int) timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0)
                        return -ETIMEDOUT;
                ssize_t n = recv(fd, buf, len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                return n < 0 ? -errno : n;
        }
}

int api_sock_write(int fd, const void *data, size_t len, long timeout_ms) {
        const char *p = data;
        while (len) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        struct pollfd pf = {.fd = fd, .events = POLLOUT};
                        if (poll(&pf, 1, (int) timeout_ms) == 0)
                                return -ETIMEDOUT;
                        continue;
                }
                if (n < 0)
                        return -errno;
                p += n, len -= (size_t) n;
        }
        return 0;
}

void api_upstream_close(struct api_upstream *u) {
        if (u->fd >= 0)
                close(u->fd);
        u->fd = -1;
        u->len = 0;
}

void api_upstream_consume(struct api_upstream *u, size_t n) {
        memmove(u->buf, u->buf + n, u->len - n);
        u->len -= n;
}

long api_upstream_read_head(struct api_upstream *u, struct http_head *h, long timeout_ms) {
        for (;;) {
                long n = http_head_parse(u->buf, u->len, HTTP_RESPONSE, h);
                if (n != 0)
                        return n;
                if (u->len == sizeof(u->buf))
                        return -E2BIG;
                ssize_t k = api_sock_read(u->fd, u->buf + u->len, sizeof(u->buf) - u->len, timeout_ms);
                if (k <= 0)
                        return k == 0 ? -EPIPE : (long) k;
                u->len += (size_t) k;
        }
}

ssize_t api_body_next(struct http_body *b, int fd, char *buf, size_t *len, size_t cap, char *out, size_t max,
        long timeout_ms) {
        if (http_body_done(b))
                return 0;
        if (*len) { /* what was read past the head first */
                size_t n = *len < max ? *len : max;
                size_t take = http_body_feed(b, buf, n);
                if (b->bad)
                        return -EBADMSG;
                memcpy(out, buf, take);
                memmove(buf, buf + take, *len - take);
                *len -= take;
                return (ssize_t) take;
        }
        /* what follows the body's end stays in buf: never read more than it holds */
        ssize_t k = api_sock_read(fd, out, max < cap ? max : cap, timeout_ms);
        if (k == 0 && b->framing == HTTP_BODY_UNTIL_CLOSE) {
                b->done = true;
                return 0;
        }
        if (k <= 0)
                return k == 0 ? -EPIPE : k;
        size_t take = http_body_feed(b, out, (size_t) k);
        if (b->bad)
                return -EBADMSG;
        if (take < (size_t) k) { /* the next message starts here: kept for it */
                memcpy(buf, out + take, (size_t) k - take);
                *len = (size_t) k - take;
        }
        return (ssize_t) take;
}

int api_pass_body(struct http_body *b, int from, char *buf, size_t *len, size_t cap, int to, uint64_t *count,
        long timeout_ms) {
        char io[64 * 1024];
        for (;;) {
                ssize_t n = api_body_next(b, from, buf, len, cap, io, sizeof(io), timeout_ms);
                if (n <= 0)
                        return (int) n;
                if (api_sock_write(to, io, (size_t) n, timeout_ms) < 0)
                        return -EPIPE;
                *count += (uint64_t) n;
        }
}

void api_relay(int a, int b, const struct api_relay_opts *o, uint64_t *a_to_b, uint64_t *b_to_a) {
        char io[64 * 1024];
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        int64_t last_io = timestamp_monotonic_ms();
        for (;;) {
                /* in slices of a second, to notice a stop and to report activity */
                int r = poll(p, 2, 1000);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 || (o->stop && atomic_load(o->stop)))
                        return;
                int64_t now = timestamp_monotonic_ms();
                if (r == 0) {
                        if (now - last_io >= o->idle_ms)
                                return;
                        continue;
                }
                for (int i = 0; i < 2; i++) {
                        if (!p[i].revents)
                                continue;
                        ssize_t n = recv(p[i].fd, io, sizeof(io), 0);
                        if (n <= 0 || api_sock_write(p[1 - i].fd, io, (size_t) n, o->idle_ms) < 0)
                                return;
                        *(i == 0 ? a_to_b : b_to_a) += (uint64_t) n;
                }
                last_io = now;
                if (o->active)
                        o->active(o->ud);
        }
}
