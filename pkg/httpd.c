/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "httpd.h"
#include "log.h"

#define HTTPD_DEFAULT_CONNECTIONS 1024
#define HTTPD_DEFAULT_THREADS     4
#define HTTPD_MAX_THREADS         256
#define HTTPD_DEFAULT_IDLE_S      60
#define HTTPD_DEFAULT_UNTRUSTED_S 10
#define HTTPD_DEFAULT_BODY        (1024 * 1024)
#define HTTPD_STATUS_MAX          (64 * 1024)
/* Per connection: request line and headers must fit (libmicrohttpd answers 431 otherwise), and what is left
 * is the buffers of a connection switched to a WebSocket over TLS (with none left, libmicrohttpd relays it a
 * few bytes at a time). */
#define HTTPD_CONNECTION_MEMORY (128 * 1024)

struct route {
        char *path;
        bool prefix;
        httpd_handler_fn fn;
        void *userdata;
};

struct attachment {
        void *data;
        void (*destroy)(void *data);
};

/* One open connection (its socket context), listed oldest first while untrusted. */
struct slot {
        struct slot *prev, *next;
        int fd;
        bool listed;
        bool busy; /* a request is being read or answered: never closed for a newer connection */
};

struct httpd {
        char *listen; /* as given, for messages */
        struct sockaddr_storage addr;
        socklen_t addr_len;
        bool any; /* ":port": every address, IPv6 and IPv4 when the host has IPv6 */
        unsigned max_connections;
        unsigned threads;
        unsigned idle_timeout_s;
        size_t max_body;
        struct route *routes;
        size_t n_routes;
        struct attachment *attached;
        size_t n_attached;
        struct MHD_Daemon *daemon;
        int port;
        char *tls_cert, *tls_key, *client_ca;
        bool thread_per_connection;
        unsigned max_untrusted, untrusted_timeout_s;
        pthread_mutex_t lock; /* guards the slots and the counts */
        struct slot *oldest, *newest;
        unsigned long n_slots, n_untrusted;
        unsigned long long evicted;
};

/* What we keep of one request between libmicrohttpd's callbacks: it hands the raw URI only to the URI log
 * callback, and the query must be decoded from it (its own decoding differs from Go's, see
 * httpd_query_value()). */
/* httpd_respond_upgrade()'s: fn, once the 101 went out (started), or with fd -1 when it never did */
struct upgrade {
        httpd_upgrade_fn fn;
        void *ud;
        bool started;
};

struct conn_state {
        void (*done)(void *ud, int status); /* httpd_request_on_done() */
        struct upgrade *upgrade;
        void *done_ud;
        int status;        /* of the response queued */
        bool headers_seen; /* the first call, with the headers only, is over */
        bool answered;
        bool too_large; /* the body went past max_body: the rest is dropped, the answer is 413 */
        struct buf body;
        char uri[];
};

/* Values decoded for one request, freed when its handler returns. */
struct decoded {
        struct decoded *next;
        char value[];
};

struct httpd_request {
        struct httpd *h;
        struct MHD_Connection *conn;
        struct conn_state *st; /* NULL only when it could not be allocated */
        const char *method;
        const char *path;
        const char *query; /* raw, after '?', or NULL */
        const struct buf *body;
        struct decoded *headers; /* to send: "name\0value" each */
        int status;              /* sent, or 0 */
        struct decoded *decoded;
};

static bool valid_port(const char *s, unsigned *ret) {
        size_t n = strspn(s, "0123456789");
        unsigned long v = 0;

        if (n == 0 || n > 5 || s[n] != '\0')
                return false;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (unsigned long) (s[i] - '0');
        if (v > 65535)
                return false;
        *ret = (unsigned) v;
        return true;
}

/* Numeric hosts only: resolving names at startup would make the bound address depend on DNS. */
static int parse_listen(struct httpd *h, const char *listen, struct merr *err) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *port_s;
        unsigned port;
        size_t hlen;

        if (!listen || !*listen)
                return merr_set(err, -EINVAL, "listen address is empty");
        if (listen[0] == '[') {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &h->addr;
                const char *end = strchr(listen, ']');

                if (!end || end[1] != ':')
                        return merr_set(
                                err, -EINVAL, "listen address '%s': expected '[address]:port'", listen);
                hlen = (size_t) (end - listen - 1);
                port_s = end + 2;
                if (hlen >= sizeof(host))
                        return merr_set(err, -EINVAL, "listen address '%s': bad IPv6 address", listen);
                memcpy(host, listen + 1, hlen);
                host[hlen] = '\0';
                if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
                        return merr_set(err, -EINVAL, "listen address '%s': bad IPv6 address", listen);
                if (!valid_port(port_s, &port))
                        return merr_set(err, -EINVAL, "listen address '%s': bad port", listen);
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons((uint16_t) port);
                h->addr_len = sizeof(*a6);
                return 0;
        }

        port_s = strrchr(listen, ':');
        if (!port_s)
                return merr_set(err, -EINVAL, "listen address '%s': expected 'host:port' or ':port'", listen);
        hlen = (size_t) (port_s - listen);
        port_s++;
        if (!valid_port(port_s, &port))
                return merr_set(err, -EINVAL, "listen address '%s': bad port", listen);
        if (hlen == 0) {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &h->addr;

                a6->sin6_family = AF_INET6;
                a6->sin6_addr = in6addr_any;
                a6->sin6_port = htons((uint16_t) port);
                h->addr_len = sizeof(*a6);
                h->any = true;
                return 0;
        }
        struct sockaddr_in *a4 = (struct sockaddr_in *) &h->addr;
        if (hlen >= sizeof(host))
                return merr_set(err, -EINVAL, "listen address '%s': bad IPv4 address", listen);
        memcpy(host, listen, hlen);
        host[hlen] = '\0';
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
                return merr_set(
                        err, -EINVAL, "listen address '%s': bad IPv4 address (numeric hosts only)", listen);
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t) port);
        h->addr_len = sizeof(*a4);
        return 0;
}

int httpd_new(const struct httpd_options *o, struct httpd **ret, struct merr *err) {
        _cleanup_free_ struct httpd *h = NULL;
        int r;

        assert(o && ret);
        h = calloc(1, sizeof(*h));
        if (!h)
                return merr_set(err, -ENOMEM, "httpd");
        r = parse_listen(h, o->listen, err);
        if (r < 0)
                return r;
        h->listen = strdup(o->listen);
        if (!h->listen)
                return merr_set(err, -ENOMEM, "httpd");
        h->max_connections = o->max_connections ? o->max_connections : HTTPD_DEFAULT_CONNECTIONS;
        h->threads = o->threads ? o->threads : HTTPD_DEFAULT_THREADS;
        h->thread_per_connection = o->thread_per_connection;
        if (h->threads > HTTPD_MAX_THREADS)
                h->threads = HTTPD_MAX_THREADS;
        /* libmicrohttpd splits the connection limit among its threads; each needs a share of one at least */
        if (h->threads > h->max_connections)
                h->threads = h->max_connections;
        h->idle_timeout_s = o->idle_timeout_s ? o->idle_timeout_s : HTTPD_DEFAULT_IDLE_S;
        h->max_body = o->max_body ? o->max_body : HTTPD_DEFAULT_BODY;
        h->max_untrusted = o->max_untrusted;
        h->untrusted_timeout_s = o->untrusted_timeout_s ? o->untrusted_timeout_s : HTTPD_DEFAULT_UNTRUSTED_S;
        h->port = -ENOTCONN;
        if (!o->tls_cert_pem != !o->tls_key_pem)
                return merr_set(err, -EINVAL, "httpd: TLS needs both a certificate and a key");
        if (o->client_ca_pem && !o->tls_cert_pem)
                return merr_set(err, -EINVAL, "httpd: client certificates need TLS");
        if ((o->tls_cert_pem && !(h->tls_cert = strdup(o->tls_cert_pem))) ||
                (o->tls_key_pem && !(h->tls_key = strdup(o->tls_key_pem))) ||
                (o->client_ca_pem && !(h->client_ca = strdup(o->client_ca_pem)))) {
                free(h->tls_cert);
                free(h->tls_key);
                free(h->listen);
                return merr_set(err, -ENOMEM, "httpd");
        }
        pthread_mutex_init(&h->lock, NULL);
        *ret = TAKE_PTR(h);
        return 0;
}

int httpd_handle(struct httpd *h, const char *path, httpd_handler_fn fn, void *userdata) {
        struct route *p;
        size_t n;

        assert(h && fn);
        if (h->daemon)
                return -EBUSY;
        if (!path || path[0] != '/')
                return -EINVAL;
        for (size_t i = 0; i < h->n_routes; i++)
                if (strcmp(h->routes[i].path, path) == 0)
                        return -EEXIST;
        p = reallocarray(h->routes, h->n_routes + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        h->routes = p;
        n = strlen(path);
        p[h->n_routes] = (struct route){
                .path = strdup(path),
                .prefix = n > 1 && path[n - 1] == '/',
                .fn = fn,
                .userdata = userdata,
        };
        if (!p[h->n_routes].path)
                return -ENOMEM;
        h->n_routes++;
        return 0;
}

int httpd_attach(struct httpd *h, void *data, void (*destroy)(void *data)) {
        struct attachment *p;

        assert(h && destroy);
        p = reallocarray(h->attached, h->n_attached + 1, sizeof(*p));
        if (!p) {
                destroy(data);
                return -ENOMEM;
        }
        h->attached = p;
        p[h->n_attached++] = (struct attachment){.data = data, .destroy = destroy};
        return 0;
}

static const struct route *route_find(const struct httpd *h, const char *path) {
        const struct route *best = NULL;
        size_t best_len = 0;

        for (size_t i = 0; i < h->n_routes; i++) {
                const struct route *rt = &h->routes[i];
                size_t n = strlen(rt->path);

                if (!rt->prefix) {
                        if (strcmp(rt->path, path) == 0)
                                return rt;
                        continue;
                }
                if (n > best_len && strncmp(rt->path, path, n) == 0) {
                        best = rt;
                        best_len = n;
                }
        }
        return best;
}

/* The connection's slot is busy from the moment a request has been read whole (its handler is called) to
 * the end of its response. */
static void slot_busy(struct httpd *h, struct MHD_Connection *conn, bool busy) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct slot *sl = ci ? ci->socket_context : NULL;

        if (!sl)
                return;
        pthread_mutex_lock(&h->lock);
        sl->busy = busy;
        pthread_mutex_unlock(&h->lock);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
        struct httpd *h = cls;
        size_t n = strlen(uri);
        struct conn_state *st;

        (void) conn;
        /* NULL would make the access handler see no state and answer 500: the right outcome without memory */
        st = malloc(sizeof(*st) + n + 1);
        if (st) {
                st->done = NULL;
                st->done_ud = NULL;
                st->upgrade = NULL;
                st->status = 0;
                st->headers_seen = false;
                st->answered = false;
                st->too_large = false;
                buf_init(&st->body, h->max_body);
                memcpy(st->uri, uri, n + 1);
        }
        return st;
}

static void on_completed(
        void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct conn_state *st = *con_cls;

        (void) toe;
        slot_busy(cls, conn, false);
        if (st && st->upgrade && !st->upgrade->started)
                st->upgrade->fn(NULL, -1, NULL, 0, st->upgrade->ud);
        if (st)
                free(st->upgrade);
        if (st && st->done)
                st->done(st->done_ud, st->status);
        if (st)
                buf_release(&st->body);
        free(st);
        *con_cls = NULL;
}

static void slot_unlist(struct httpd *h, struct slot *sl) {
        if (!sl->listed)
                return;
        *(sl->prev ? &sl->prev->next : &h->oldest) = sl->next;
        *(sl->next ? &sl->next->prev : &h->newest) = sl->prev;
        sl->prev = sl->next = NULL;
        sl->listed = false;
        h->n_untrusted--;
}

/* A connection opens (listed as untrusted, the oldest untrusted one closed when there are too many) or
 * closes. libmicrohttpd reports the close before it closes the socket, so a listed fd is still the
 * connection's when it is shut down here. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
        enum MHD_ConnectionNotificationCode code) {
        struct httpd *h = cls;
        struct slot *sl = *socket_context;

        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                if (!sl)
                        return;
                pthread_mutex_lock(&h->lock);
                slot_unlist(h, sl);
                h->n_slots--;
                pthread_mutex_unlock(&h->lock);
                free(sl);
                *socket_context = NULL;
                return;
        }
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        sl = calloc(1, sizeof(*sl));
        if (!sl)
                return; /* untracked: trusted, as without max_untrusted */
        sl->fd = ci ? ci->connect_fd : -1;
        pthread_mutex_lock(&h->lock);
        h->n_slots++;
        if (h->max_untrusted) {
                struct slot *old = h->oldest;
                while (old && old->busy)
                        old = old->next;
                /* the oldest that is not being answered: a request read whole keeps its connection (the
                 * server's limits of requests bound those), one still being sent does not */
                if (h->n_untrusted >= h->max_untrusted && old) {
                        slot_unlist(h, old);
                        /* its thread sees the end of the socket and closes the connection */
                        if (old->fd >= 0)
                                (void) shutdown(old->fd, SHUT_RDWR);
                        h->evicted++;
                }
                sl->prev = h->newest;
                *(h->newest ? &h->newest->next : &h->oldest) = sl;
                h->newest = sl;
                sl->listed = true;
                h->n_untrusted++;
        }
        pthread_mutex_unlock(&h->lock);
        *socket_context = sl;
}

void httpd_request_trust(struct httpd_request *r) {
        struct httpd *h = r->h;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct slot *sl = ci ? ci->socket_context : NULL;
        bool was = false;

        if (!sl || !h->max_untrusted)
                return;
        pthread_mutex_lock(&h->lock);
        was = sl->listed;
        slot_unlist(h, sl);
        pthread_mutex_unlock(&h->lock);
        if (was)
                (void) MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, h->idle_timeout_s);
}

void httpd_get_stats(struct httpd *h, struct httpd_stats *ret) {
        pthread_mutex_lock(&h->lock);
        *ret = (struct httpd_stats){
                .connections = h->n_slots, .untrusted = h->n_untrusted, .evicted = h->evicted};
        pthread_mutex_unlock(&h->lock);
}

int httpd_request_on_done(struct httpd_request *r, void (*fn)(void *ud, int status), void *ud) {
        if (!r->st || r->st->done)
                return -EALREADY;
        r->st->done = fn;
        r->st->done_ud = ud;
        return 0;
}

static void request_release(struct httpd_request *r) {
        struct decoded *lists[] = {r->decoded, r->headers};
        for (size_t i = 0; i < 2; i++)
                while (lists[i]) {
                        struct decoded *d = lists[i];
                        lists[i] = d->next;
                        free(d);
                }
        r->decoded = r->headers = NULL;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
        struct httpd *h = cls;
        struct conn_state *st = *con_cls;
        struct httpd_request req = {.h = h, .conn = conn, .st = st, .method = method, .path = url ? url : ""};
        const struct route *rt;

        (void) version;
        if (!st) {
                (void) httpd_respond_status(&req, 500, "InternalError", "out of memory");
                return req.status ? MHD_YES : MHD_NO;
        }
        /* Answer once the request is all in: libmicrohttpd calls first with the headers, then for each
         * piece of a body, then with nothing left. A response queued on the first call would be an early
         * one, after which the connection is closed instead of kept alive: only a body announced too large
         * is refused that early (the client need not send it). */
        if (!st->headers_seen) {
                const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
                st->headers_seen = true;
                if (cl && strspn(cl, "0123456789") == strlen(cl) &&
                        (strlen(cl) > 18 || strtoull(cl, NULL, 10) > h->max_body)) {
                        st->answered = true;
                        (void) httpd_respond_status(&req, 413, "RequestEntityTooLarge",
                                "the request body is larger than %zu bytes", h->max_body);
                        return req.status > 0 ? MHD_YES : MHD_NO;
                }
                return MHD_YES;
        }
        if (*upload_data_size != 0) {
                if (!st->answered && !st->too_large &&
                        buf_append(&st->body, upload_data, *upload_data_size) < 0) {
                        st->too_large = true;
                        buf_release(&st->body);
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (st->answered)
                return MHD_YES;
        if (st->too_large) {
                st->answered = true;
                (void) httpd_respond_status(&req, 413, "RequestEntityTooLarge",
                        "the request body is larger than %zu bytes", h->max_body);
                return req.status > 0 ? MHD_YES : MHD_NO;
        }
        st->answered = true;
        req.body = &st->body;
        req.query = strchr(st->uri, '?');
        if (req.query)
                req.query++;

        rt = route_find(h, req.path);
        slot_busy(h, conn, true); /* read whole: a client that only sends slowly can still be closed */
        if (rt)
                rt->fn(&req, rt->userdata);
        else
                (void) httpd_respond_status(
                        &req, 404, "NotFound", "the server could not find the requested resource");
        if (req.status == 0) {
                log_debug("httpd: handler sent no response", "path", req.path);
                (void) httpd_respond_status(&req, 500, "InternalError", "the handler sent no response");
        }
        request_release(&req);
        return req.status > 0 ? MHD_YES : MHD_NO;
}

_printf_(2, 0) static void on_log(void *cls, const char *fmt, va_list ap) {
        char msg[512];
        size_t n;

        (void) cls;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                msg[--n] = '\0';
        log_debug("httpd: libmicrohttpd", "message", msg);
}

static int listen_socket(struct httpd *h, int *ret_fd, int *ret_port) {
        struct sockaddr_storage bound;
        socklen_t len = sizeof(bound);
        int fd, one = 1, zero = 0;

        fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Restarting must not wait out TIME_WAIT of the previous process's connections. */
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (h->any)
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, (struct sockaddr *) &h->addr, h->addr_len) < 0 || listen(fd, SOMAXCONN) < 0 ||
                getsockname(fd, (struct sockaddr *) &bound, &len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &bound)->sin6_port
                                                      : ((struct sockaddr_in *) &bound)->sin_port);
        *ret_fd = fd;
        return 0;
}

int httpd_start(struct httpd *h, struct merr *err) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
        int fd = -1, port = 0, r;

        assert(h);
        if (h->daemon)
                return merr_set(err, -EALREADY, "http server on '%s' already started", h->listen);

        /* We bind the socket ourselves: libmicrohttpd reports a failed bind only as a log line, and this way
         * the caller gets the errno (EADDRINUSE) and we get the port that port 0 picked. */
        r = listen_socket(h, &fd, &port);
        if (r < 0 && h->any && (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)) {
                /* ":port" on a host without IPv6: every IPv4 address then */
                struct sockaddr_in *a4 = (struct sockaddr_in *) &h->addr;
                uint16_t p = ((struct sockaddr_in6 *) &h->addr)->sin6_port;

                memset(&h->addr, 0, sizeof(h->addr));
                a4->sin_family = AF_INET;
                a4->sin_addr.s_addr = htonl(INADDR_ANY);
                a4->sin_port = p;
                h->addr_len = sizeof(*a4);
                h->any = false;
                r = listen_socket(h, &fd, &port);
        }
        if (r < 0)
                return merr_set(err, r, "listen on '%s': %s", h->listen, strerror(-r));

        if (h->addr.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        struct MHD_OptionItem tls[4] = {{MHD_OPTION_END, 0, NULL}};
        size_t n_tls = 0;
        if (h->tls_cert) {
                flags |= MHD_USE_TLS;
                tls[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert};
                tls[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key};
                if (h->client_ca)
                        tls[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, h->client_ca};
                tls[n_tls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        }
        if (h->thread_per_connection) /* streams, and connections upgraded to WebSockets */
                flags = (flags & ~(unsigned) MHD_USE_EPOLL) | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                        MHD_ALLOW_UPGRADE;
        /* a new connection is untrusted: it gets the short timeout until a handler trusts it */
        h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_ARRAY, tls,
                MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd, MHD_OPTION_THREAD_POOL_SIZE,
                h->thread_per_connection ? 0 : h->threads, MHD_OPTION_THREAD_STACK_SIZE,
                (size_t) (h->thread_per_connection ? 1024 * 1024 : 0), MHD_OPTION_CONNECTION_LIMIT,
                h->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                h->max_untrusted ? h->untrusted_timeout_s : h->idle_timeout_s, MHD_OPTION_NOTIFY_CONNECTION,
                on_connection, h, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTPD_CONNECTION_MEMORY,
                MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, MHD_OPTION_END);
        if (!h->daemon) {
                close(fd);
                return merr_set(err, -EIO, "start http server on '%s' (libmicrohttpd)", h->listen);
        }
        h->port = port;
        return 0;
}

int httpd_request_client_cn(struct httpd_request *r, char *cn, size_t size) {
        const union MHD_ConnectionInfo *ci;
        const gnutls_datum_t *peers;
        unsigned n = 0, status = 0;
        gnutls_x509_crt_t crt;
        size_t len = size;

        if (!r->h->client_ca)
                return 0;
        ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return 0;
        peers = gnutls_certificate_get_peers((gnutls_session_t) ci->tls_session, &n);
        if (!peers || n == 0)
                return 0;
        if (gnutls_certificate_verify_peers2((gnutls_session_t) ci->tls_session, &status) < 0 || status != 0)
                return -EACCES;
        if (gnutls_x509_crt_init(&crt) < 0)
                return -ENOMEM;
        int rc = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER);
        if (rc >= 0)
                rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len);
        gnutls_x509_crt_deinit(crt);
        if (rc < 0) {
                if (size)
                        cn[0] = '\0';
                return -EACCES;
        }
        return 1;
}

int httpd_port(struct httpd *h) {
        assert(h);
        return h->daemon ? h->port : -ENOTCONN;
}

struct httpd *httpd_free(struct httpd *h) {
        if (!h)
                return NULL;
        /* closes the listen socket too */
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        for (size_t i = 0; i < h->n_routes; i++)
                free(h->routes[i].path);
        free(h->routes);
        for (size_t i = 0; i < h->n_attached; i++)
                h->attached[i].destroy(h->attached[i].data);
        free(h->attached);
        free(h->listen);
        free(h->tls_cert);
        if (h->tls_key)
                explicit_bzero(h->tls_key, strlen(h->tls_key));
        free(h->tls_key);
        free(h->client_ca);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
}

const void *httpd_request_body(struct httpd_request *r, size_t *len) {
        *len = r->body ? r->body->len : 0;
        return r->body && r->body->data ? r->body->data : "";
}

const char *httpd_request_method(struct httpd_request *r) {
        return r->method ? r->method : "";
}

const char *httpd_request_path(struct httpd_request *r) {
        return r->path;
}

const char *httpd_request_target(struct httpd_request *r) {
        return r->st ? r->st->uri : r->path;
}

const char *httpd_request_header(struct httpd_request *r, const char *name) {
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct header_walk {
        const char *name;
        size_t len;
        bool prefix;
        void (*fn)(const char *name, const char *value, void *ud);
        void *ud;
        size_t n;
};

static enum MHD_Result header_fn(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct header_walk *w = cls;
        (void) kind;
        if (key && value &&
                (w->prefix ? strncasecmp(key, w->name, w->len) == 0 : strcasecmp(key, w->name) == 0)) {
                w->fn(key, value, w->ud);
                w->n++;
        }
        return MHD_YES;
}

size_t httpd_request_headers(struct httpd_request *r, const char *name, bool prefix,
        void (*fn)(const char *name, const char *value, void *ud), void *ud) {
        struct header_walk w = {name, strlen(name), prefix, fn, ud, 0};
        (void) MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_fn, &w);
        return w.n;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes s[0..n) into dst (at least n + 1 bytes, NUL-terminated). Returns the decoded length, or -1 on a
 * malformed escape. */
static ssize_t query_unescape(const char *s, size_t n, char *dst) {
        size_t j = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+') {
                        dst[j++] = ' ';
                } else if (s[i] == '%') {
                        int hi, lo;
                        if (i + 2 >= n)
                                return -1;
                        hi = unhex(s[i + 1]);
                        lo = unhex(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -1;
                        dst[j++] = (char) (hi << 4 | lo);
                        i += 2;
                } else {
                        dst[j++] = s[i];
                }
        }
        dst[j] = '\0';
        return (ssize_t) j;
}

/* Looks at one "k=v" pair of [p, end): 1 with the decoded value in *ret when its key is key, 0 when not (or
 * when the pair is skipped), -EINVAL when its key is key but its value is malformed, -ENOMEM. k is scratch space of end - p + 1 bytes at least. */
static int query_pair(const char *p, const char *end, const char *key, char *k, char **ret) {
        const char *eq = memchr(p, '=', (size_t) (end - p));
        const char *key_end = eq ? eq : end;
        size_t key_len = strlen(key);
        _cleanup_free_ char *v = NULL;
        size_t vlen;

        /* Go rejects semicolons as separators since 1.17: such a pair is skipped. */
        if (end == p || memchr(p, ';', (size_t) (end - p)))
                return 0;
        /* Compared with its length so that "a%00b" is not taken for "a". */
        if (query_unescape(p, (size_t) (key_end - p), k) != (ssize_t) key_len || memcmp(k, key, key_len) != 0)
                return 0;
        vlen = eq ? (size_t) (end - eq - 1) : 0;
        v = malloc(vlen + 1);
        if (!v)
                return -ENOMEM;
        /* a value with a NUL in it (%00) is malformed too: it would read as a shorter one */
        ssize_t n = query_unescape(eq ? eq + 1 : end, vlen, v);
        if (n < 0 || strlen(v) != (size_t) n)
                return -EINVAL;
        *ret = TAKE_PTR(v);
        return 1;
}

int httpd_query_value(const char *query, size_t len, const char *key, char **ret) {
        _cleanup_free_ char *k = NULL;
        const char *p, *end;

        if (!query)
                return 0;
        p = query;
        end = query + len;
        /* A key can be no longer than the whole query, so one scratch buffer fits every decoded key. */
        k = malloc(len + 1);
        if (!k)
                return -ENOMEM;
        while (p < end) {
                const char *amp = memchr(p, '&', (size_t) (end - p));
                const char *pair_end = amp ? amp : end;
                int r = query_pair(p, pair_end, key, k, ret);

                if (r > 0 || r == -ENOMEM)
                        return r;
                p = pair_end + 1; /* another key, or a malformed value: skipped */
        }
        return 0;
}

const char *httpd_request_query(struct httpd_request *r, const char *key) {
        _cleanup_free_ char *v = NULL;
        struct decoded *d;
        size_t n;

        if (!r->query || httpd_query_value(r->query, strlen(r->query), key, &v) <= 0)
                return NULL;
        n = strlen(v);
        d = malloc(sizeof(*d) + n + 1);
        if (!d)
                return NULL;
        memcpy(d->value, v, n + 1);
        d->next = r->decoded;
        r->decoded = d;
        return d->value;
}

long httpd_request_query_each(
        struct httpd_request *r, const char *key, void (*fn)(const char *value, void *ud), void *ud) {
        _cleanup_free_ char *k = NULL;
        size_t len;
        long n = 0;
        const char *p, *end;

        if (!r->query)
                return 0;
        len = strlen(r->query);
        if (!(k = malloc(len + 1)))
                return -ENOMEM;
        for (p = r->query, end = r->query + len; p < end;) {
                const char *amp = memchr(p, '&', (size_t) (end - p));
                const char *pair_end = amp ? amp : end;
                char *v = NULL;
                int q = query_pair(p, pair_end, key, k, &v);

                if (q < 0)
                        return q;
                if (q > 0) {
                        fn(v, ud);
                        free(v);
                        n++;
                }
                p = pair_end + 1;
        }
        return n;
}

int httpd_request_add_header(struct httpd_request *r, const char *name, const char *value) {
        size_t n = strlen(name), v = strlen(value);
        struct decoded *d, **tail = &r->headers;

        if (r->status != 0)
                return -EALREADY;
        if (n == 0 || strpbrk(name, "\r\n: ") || strpbrk(value, "\r\n"))
                return -EINVAL;
        d = malloc(sizeof(*d) + n + 1 + v + 1);
        if (!d)
                return -ENOMEM;
        memcpy(d->value, name, n + 1);
        memcpy(d->value + n + 1, value, v + 1);
        d->next = NULL;
        while (*tail) /* in the order added */
                tail = &(*tail)->next;
        *tail = d;
        return 0;
}

/* Sends resp (and releases it) with our headers and the handler's. */
static int queue(struct httpd_request *r, int status, const char *content_type, struct MHD_Response *resp) {
        enum MHD_Result ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (ok == MHD_YES)
                ok = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (ok == MHD_YES)
                ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        for (struct decoded *h = r->headers; h && ok == MHD_YES; h = h->next)
                ok = MHD_add_response_header(resp, h->value, h->value + strlen(h->value) + 1);
        if (ok == MHD_YES)
                ok = MHD_queue_response(r->conn, (unsigned) status, resp);
        MHD_destroy_response(resp);
        if (ok != MHD_YES)
                return -EPIPE;
        r->status = status;
        if (r->st)
                r->st->status = status;
        return 0;
}

int httpd_respond(
        struct httpd_request *r, int status, const char *content_type, const void *body, size_t len) {
        struct MHD_Response *resp;

        if (r->status != 0)
                return -EALREADY;
        assert(status >= 100 && status <= 999);
        /* libmicrohttpd copies the body, so the caller's buffer may go away as soon as we return; it also
         * sends no body for HEAD while keeping Content-Length. */
        resp = MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return -ENOMEM;
        return queue(r, status, content_type, resp);
}

struct httpd_stream {
        int fd;
        httpd_stream_fn read;
        void *ud;
        void (*done)(void *ud);
};

bool httpd_stream_peer_gone(struct httpd_stream *s) {
        struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
        return s->fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct httpd_stream *s = cls;
        (void) pos;
        long n = s->read(s, s->ud, buf, max);
        return n > 0    ? (ssize_t) n
               : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
                        : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls) {
        struct httpd_stream *s = cls;
        if (s->done)
                s->done(s->ud);
        free(s);
}

int httpd_respond_stream(struct httpd_request *r, int status, const char *content_type, httpd_stream_fn read,
        void *ud, void (*done)(void *ud)) {
        struct MHD_Response *resp;
        const union MHD_ConnectionInfo *ci;
        struct httpd_stream *s;

        if (r->status != 0 || !r->h->thread_per_connection) {
                if (done)
                        done(ud);
                return r->status != 0 ? -EALREADY : -EOPNOTSUPP;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                if (done)
                        done(ud);
                return -ENOMEM;
        }
        ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *s = (struct httpd_stream){.fd = ci ? ci->connect_fd : -1, .read = read, .ud = ud, .done = done};
        /* from here stream_free() owns ud: libmicrohttpd calls it whatever happens */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
        if (!resp) {
                stream_free(s);
                return -ENOMEM;
        }
        return queue(r, status, content_type, resp);
}

/* The switched connection: the request's end (httpd_request_on_done()) waits for httpd_upgraded_close(),
 * as libmicrohttpd reports the request complete at the switch. */
struct httpd_upgraded {
        struct MHD_UpgradeResponseHandle *urh;
        void (*done)(void *ud, int status);
        void *done_ud;
};

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra, size_t n,
        MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
        struct upgrade *up = cls;
        struct conn_state *st = con_cls;
        struct httpd_upgraded *u = calloc(1, sizeof(*u));
        up->started = true;
        if (!u) {
                (void) MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                up->fn(NULL, -1, NULL, 0, up->ud);
                return;
        }
        u->urh = urh;
        /* a session's messages are small both ways (a keystroke, its echo): none waits for more */
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
                (void) setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        if (st) { /* the end of the request is the end of the connection */
                u->done = st->done;
                u->done_ud = st->done_ud;
                st->done = NULL;
        }
        up->fn(u, sock, extra, n, up->ud);
}

int httpd_respond_upgrade(struct httpd_request *r, const char *upgrade, httpd_upgrade_fn fn, void *ud) {
        struct MHD_Response *resp;
        struct upgrade *up;
        enum MHD_Result ok;

        if (r->status != 0)
                return -EALREADY;
        if (!r->h->thread_per_connection)
                return -EOPNOTSUPP;
        if (!r->st || !(up = calloc(1, sizeof(*up))))
                return -ENOMEM;
        *up = (struct upgrade){.fn = fn, .ud = ud};
        resp = MHD_create_response_for_upgrade(on_upgrade, up);
        if (!resp) {
                free(up);
                return -ENOMEM;
        }
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, upgrade);
        for (struct decoded *h = r->headers; h && ok == MHD_YES; h = h->next)
                ok = MHD_add_response_header(resp, h->value, h->value + strlen(h->value) + 1);
        if (ok == MHD_YES)
                ok = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
        MHD_destroy_response(resp);
        if (ok != MHD_YES) {
                free(up); /* the response was not queued: on_upgrade is never called */
                return -EPIPE;
        }
        r->st->upgrade = up; /* on_completed() frees it, and tells fn when the switch never happened */
        r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
        r->st->status = r->status;
        return 0;
}

void httpd_upgraded_close(struct httpd_upgraded *u) {
        (void) MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
        if (u->done)
                u->done(u->done_ud, MHD_HTTP_SWITCHING_PROTOCOLS);
        free(u);
}

int httpd_respond_status(struct httpd_request *r, int status, const char *reason, const char *fmt, ...) {
        _cleanup_(buf_release) struct buf msg = BUF_INIT(HTTPD_STATUS_MAX);
        json_object *o;
        const char *text;
        va_list ap;
        int ret;

        va_start(ap, fmt);
        (void) buf_vprintf(&msg, fmt, ap);
        va_end(ap);

        /* Built with json-c so that any text in the message is escaped. */
        o = json_object_new_object();
        if (!o)
                return httpd_respond(r, status, "text/plain; charset=utf-8", reason, strlen(reason));
        json_object_object_add(o, "kind", json_object_new_string("Status"));
        json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(o, "metadata", json_object_new_object());
        json_object_object_add(o, "status", json_object_new_string("Failure"));
        json_object_object_add(o, "message", json_object_new_string(buf_str(&msg)));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        json_object_object_add(o, "code", json_object_new_int(status));
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        ret = httpd_respond(r, status, "application/json", text, strlen(text));
        json_object_put(o);
        return ret;
}
