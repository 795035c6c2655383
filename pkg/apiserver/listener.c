/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 listeners of their own that mbox-apiserver runs for browsers (the preview gateway,
 * gateway.c; the console, console.c): a socket, an accept loop, a thread per connection up to a bound,
 * the request heads read within time limits, and a stop that ends every connection. What a connection
 * does with its requests is its owner's (api_listener.serve).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "log.h"
#include "timestamp.h"

#define HEAD_MS 30000 /* how long a request's head may take once it has begun */

struct conn_start {
        struct api_listener *l;
        int fd, slot;
        char peer[64];
};

static void *conn_main(void *arg) {
        struct conn_start *cs = arg;
        struct api_listener *l = cs->l;
        int slot = cs->slot, fd = cs->fd;
        l->serve(l, fd, slot, cs->peer);
        free(cs);
        pthread_mutex_lock(&l->lock);
        l->clients[slot] = -1;
        l->ups[slot] = -1;
        close(fd);
        if (--l->conns == 0)
                pthread_cond_broadcast(&l->idle);
        pthread_mutex_unlock(&l->lock);
        return NULL;
}

static void *accept_main(void *arg) {
        struct api_listener *l = arg;
        struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN}, {.fd = l->wake[0], .events = POLLIN}};
        for (;;) {
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents)
                        break;
                if (!(p[0].revents & POLLIN))
                        continue;
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                int fd = accept4(l->fd, (struct sockaddr *) &ss, &sl, SOCK_CLOEXEC);
                if (fd < 0) {
                        /* out of descriptors or memory: the connection waits in the backlog, the loop does not spin */
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                poll(NULL, 0, 100);
                        continue;
                }
                int one = 1;
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                struct conn_start *c = calloc(1, sizeof(*c));
                pthread_mutex_lock(&l->lock);
                int slot = -1;
                for (unsigned i = 0; c && i < l->max && slot < 0; i++)
                        if (l->clients[i] < 0)
                                slot = (int) i;
                if (slot < 0) { /* full: the client may try again */
                        pthread_mutex_unlock(&l->lock);
                        static const char busy[] =
                                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: "
                                "0\r\nConnection: close\r\n\r\n";
                        (void) send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(fd);
                        free(c);
                        continue;
                }
                l->clients[slot] = fd;
                l->conns++;
                pthread_mutex_unlock(&l->lock);
                *c = (struct conn_start){.l = l, .fd = fd, .slot = slot};
                if (ss.ss_family == AF_INET)
                        inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, c->peer, sizeof(c->peer));
                else if (ss.ss_family == AF_INET6)
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, c->peer,
                                sizeof(c->peer));
                pthread_t t;
                pthread_attr_t a;
                pthread_attr_init(&a);
                pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
                pthread_attr_setstacksize(&a, 512 * 1024);
                if (pthread_create(&t, &a, conn_main, c) != 0) {
                        pthread_mutex_lock(&l->lock);
                        l->clients[slot] = -1;
                        l->conns--;
                        pthread_mutex_unlock(&l->lock);
                        close(fd);
                        free(c);
                }
                pthread_attr_destroy(&a);
        }
        return NULL;
}

/* "127.0.0.1:8080", "[::1]:0", ":8080"; flag names the address in messages. */
static int listen_on(const char *flag, const char *addr, struct merr *err) {
        char host[128];
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t) (colon - addr) >= sizeof(host))
                return merr_set(err, -EINVAL, "--%s %s: want HOST:PORT", flag, addr);
        memcpy(host, addr, (size_t) (colon - addr));
        host[colon - addr] = 0;
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || end == colon + 1 || port < 0 || port > 65535)
                return merr_set(err, -EINVAL, "--%s %s: bad port", flag, addr);
        struct sockaddr_storage ss = {0};
        socklen_t len;
        char *h = host;
        if (*h == '[' && h[strlen(h) - 1] == ']')
                h++, h[strlen(h) - 1] = 0;
        struct sockaddr_in *a4 = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ss;
        if (!*h) {
                a6->sin6_family = AF_INET6, a6->sin6_addr = in6addr_any,
                a6->sin6_port = htons((uint16_t) port);
                len = sizeof(*a6);
        } else if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
                a4->sin_family = AF_INET, a4->sin_port = htons((uint16_t) port), len = sizeof(*a4);
        } else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
                a6->sin6_family = AF_INET6, a6->sin6_port = htons((uint16_t) port), len = sizeof(*a6);
        } else
                return merr_set(err, -EINVAL, "--%s %s: the host must be an IP address", flag, addr);
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0)
                return merr_set(err, -errno, "socket: %s", strerror(errno));
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 512) < 0) {
                int e = errno;
                close(fd);
                return merr_set(err, -e, "--%s %s: %s", flag, addr, strerror(e));
        }
        return fd;
}

void api_listener_free(struct api_listener *l) {
        if (!l)
                return;
        if (l->wake[1] >= 0) {
                if (write(l->wake[1], "x", 1) < 0)
                        log_warn("cannot stop an accept loop", "listener", l->what);
                pthread_join(l->thread, NULL);
                close(l->wake[0]), close(l->wake[1]);
        }
        if (l->fd >= 0)
                close(l->fd);
        /* the connections end when their sockets shut down */
        pthread_mutex_lock(&l->lock);
        for (unsigned i = 0; l->clients && i < l->max; i++)
                if (l->clients[i] >= 0) {
                        shutdown(l->clients[i], SHUT_RDWR);
                        if (l->ups[i] >= 0)
                                shutdown(l->ups[i], SHUT_RDWR);
                }
        while (l->conns)
                pthread_cond_wait(&l->idle, &l->lock);
        pthread_mutex_unlock(&l->lock);
        pthread_cond_destroy(&l->idle);
        pthread_mutex_destroy(&l->lock);
        free(l->clients), free(l->ups);
        free(l);
}

int api_listener_new(const char *what, const char *flag, const char *addr, unsigned max,
        void (*serve)(struct api_listener *l, int fd, int slot, const char *peer), void *ud,
        struct api_listener **ret, struct merr *err) {
        struct api_listener *l = calloc(1, sizeof(*l));
        if (!l)
                return merr_set(err, -ENOMEM, "%s: out of memory", what);
        *l = (struct api_listener){
                .what = what, .max = max, .serve = serve, .ud = ud, .fd = -1, .wake = {-1, -1}};
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->idle, NULL);
        l->clients = malloc(max * sizeof(int));
        l->ups = malloc(max * sizeof(int));
        int r = 0;
        if (!l->clients || !l->ups)
                r = merr_set(err, -ENOMEM, "%s: out of memory", what);
        for (unsigned i = 0; r == 0 && i < max; i++)
                l->clients[i] = l->ups[i] = -1;
        if (r == 0 && (l->fd = listen_on(flag, addr, err)) < 0)
                r = l->fd;
        if (r == 0 && pipe2(l->wake, O_CLOEXEC) < 0)
                r = merr_set(err, -errno, "pipe: %s", strerror(errno));
        if (r == 0 && pthread_create(&l->thread, NULL, accept_main, l) != 0) {
                close(l->wake[0]), close(l->wake[1]);
                l->wake[0] = l->wake[1] = -1;
                r = merr_set(err, -EAGAIN, "%s: no thread", what);
        }
        if (r < 0) {
                api_listener_free(l);
                return r;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(l->fd, (struct sockaddr *) &ss, &sl);
        char msg[64], port[16];
        snprintf(port, sizeof(port), "%u",
                ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                              : ((struct sockaddr_in6 *) &ss)->sin6_port));
        snprintf(msg, sizeof(msg), "%s listening", what);
        log_info(msg, "address", addr, "port", port);
        *ret = l;
        return 0;
}

void api_listener_set_upstream(struct api_listener *l, int slot, int fd) {
        pthread_mutex_lock(&l->lock);
        l->ups[slot] = fd;
        pthread_mutex_unlock(&l->lock);
}

static long read_head(int fd, char *buf, size_t cap, size_t *len, struct http_head *h, long idle_ms) {
        long n;
        /* between requests the connection may idle; once a head has begun it must come whole in time
         * (a client that sends a byte now and then cannot hold a connection) */
        int64_t begun = *len ? timestamp_monotonic_ms() : 0;
        while ((n = http_head_parse(buf, *len, HTTP_REQUEST, h)) == 0) {
                if (*len == cap)
                        return -E2BIG;
                long wait = idle_ms;
                if (begun) {
                        wait = HEAD_MS - (long) (timestamp_monotonic_ms() - begun);
                        if (wait <= 0)
                                return 0;
                }
                ssize_t k = api_sock_read(fd, buf + *len, cap - *len, wait);
                if (k <= 0)
                        return 0;
                if (!begun)
                        begun = timestamp_monotonic_ms();
                *len += (size_t) k;
        }
        if (n < 0)
                *h = (struct http_head){0};
        return n;
}

void api_serve_requests(int fd, char *buf, size_t cap, size_t *len, struct http_head *h, long idle_ms,
        bool (*serve)(void *conn, long n), void *conn) {
        for (;;) {
                long n = read_head(fd, buf, cap, len, h, idle_ms);
                if (n == 0)
                        return;
                if (!serve(conn, n) || n < 0)
                        break;
        }
        /* closing with unread bytes would reset the connection, and the client could lose the answer
         * already sent; what comes for a second more is read and dropped first */
        shutdown(fd, SHUT_WR);
        for (int64_t end = timestamp_monotonic_ms() + 1000; timestamp_monotonic_ms() < end;) {
                char sink[4096];
                if (api_sock_read(fd, sink, sizeof(sink), 200) <= 0)
                        break;
        }
}

/* ---- cookies */

bool api_cookie_next(const char **p, const char *e, const char **pair, size_t *len) {
        const char *q = *p;
        while (q < e && (*q == ' ' || *q == ';'))
                q++;
        size_t n = 0;
        while (q + n < e && q[n] != ';')
                n++;
        *pair = q, *len = n, *p = q + n;
        return n > 0;
}

bool api_cookie_is(const char *pair, size_t len, const char *name) {
        size_t nl = strlen(name);
        return len > nl && memcmp(pair, name, nl) == 0 && pair[nl] == '=';
}

/* Walks the cookies named name: stops at the n-th (from 0), its value in *value and *len, and returns
 * n + 1; when there is none, returns how many there are. */
static size_t cookie_walk(
        const struct http_head *h, const char *name, size_t n, const char **value, size_t *len) {
        size_t count = 0, skip = strlen(name) + 1;
        for (size_t i = 0; i < h->n_fields; i++) {
                const struct http_field *f = &h->fields[i];
                const char *p = f->value, *pair;
                size_t plen;
                if (f->name_len != 6 || strncasecmp(f->name, "cookie", 6) != 0)
                        continue;
                while (api_cookie_next(&p, f->value + f->value_len, &pair, &plen))
                        if (api_cookie_is(pair, plen, name) && count++ == n) {
                                *value = pair + skip;
                                *len = plen - skip;
                                return count;
                        }
        }
        return count;
}

size_t api_cookie_count(const struct http_head *h, const char *name) {
        return cookie_walk(h, name, SIZE_MAX, NULL, NULL);
}

bool api_cookie_get(const struct http_head *h, const char *name, size_t n, char *out, size_t size) {
        const char *v;
        size_t len;
        if (cookie_walk(h, name, n, &v, &len) != n + 1 || len >= size)
                return false;
        memcpy(out, v, len);
        out[len] = 0;
        return true;
}
