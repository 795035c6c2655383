/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An embedded HTTP/1.1 server over libmicrohttpd (docs/http-server.md says why that library).
 *
 *   struct httpd_options o = { .listen = "127.0.0.1:0" };
 *   _cleanup_(httpd_freep) struct httpd *h = NULL;
 *   r = httpd_new(&o, &h, &err);
 *   r = httpd_handle(h, "/healthz", on_healthz, NULL);
 *   r = httpd_start(h, &err);
 *   ... httpd_port(h) ...
 *
 * A few server threads (options.threads) each run an epoll loop over their share of the connections and
 * call the handlers, so handlers run concurrently and must be quick: render and respond, never wait on the
 * network. With options.thread_per_connection every connection has a thread of its own instead, and a
 * response may be a stream (httpd_respond_stream()) whose producer waits for what it sends next. Every
 * handler responds exactly once; one that returns without responding gets a 500. Requests for paths without
 * a handler get a 404 metav1.Status. A request's body is read whole before its handler is called
 * (httpd_request_body()); one larger than options.max_body is answered 413 without calling the handler.
 * Routes are fixed before httpd_start().
 *
 * Request data (method, path, query values, headers) is borrowed: valid until the handler returns.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "merr.h"

struct httpd;
struct httpd_request;

struct httpd_options {
        /* "127.0.0.1:8080", "[::1]:0", ":8080" (every address, IPv6 and IPv4); numeric hosts only; port 0
         * picks a free port (see httpd_port()). */
        const char *listen;
        unsigned max_connections; /* concurrent connections, more are refused; 0 means 1024 */
        unsigned threads;         /* server threads; 0 means 4 */
        unsigned idle_timeout_s;  /* a connection silent this long is closed; 0 means 60 */
        /* TLS (GnuTLS inside libmicrohttpd; docs/http-server.md): PEM text, copied. Both or neither. */
        const char *tls_cert_pem; /* the serving certificate, then its chain */
        const char *tls_key_pem;
        /* CA(s) that client certificates are checked against (httpd_request_client_cn()); NULL: clients
         * are not asked for certificates. A request without one is still served: handlers decide. */
        const char *client_ca_pem;
        /* a thread per connection (up to max_connections) instead of the shared loops: for streams */
        bool thread_per_connection;
        size_t max_body; /* bytes of a request body; 0 means 1 MiB */
        /* Connections that no handler has trusted yet (httpd_request_trust()): with max_untrusted set, at
         * most that many are open, the oldest closed to make room for a new one, and each is closed after
         * untrusted_timeout_s of silence (0 means 10) instead of idle_timeout_s. A connection whose request
         * has been read whole is not closed for a newer one until the response is sent. Clients that
         * connect and say nothing, send slowly, or only what is refused, then cannot take the slots of those
         * that authenticate. */
        unsigned max_untrusted; /* 0: every connection is trusted from the start */
        unsigned untrusted_timeout_s;
};

/* What the server holds now, and what it has closed to make room. */
struct httpd_stats {
        unsigned long connections, untrusted;
        unsigned long long evicted; /* untrusted connections closed for a newer one */
};

typedef void (*httpd_handler_fn)(struct httpd_request *req, void *userdata);

/* Checks and copies the options. Returns 0, -EINVAL for a malformed listen address, or -ENOMEM. */
int httpd_new(const struct httpd_options *o, struct httpd **ret, struct merr *err);

/* Routes path to fn: an exact path, or "/prefix/" (trailing slash) for every path under it; the exact match
 * wins, then the longest prefix. Only before httpd_start(). Returns 0, -EEXIST, -EBUSY after start,
 * -EINVAL for a path not starting with '/', or -ENOMEM. */
int httpd_handle(struct httpd *h, const char *path, httpd_handler_fn fn, void *userdata);

/* Hands data to h, which calls destroy(data) when it is freed, after the last handler returned: for the
 * userdata of routes registered by helpers (health_serve()). Returns 0 or -ENOMEM (data is then
 * destroyed). */
int httpd_attach(struct httpd *h, void *data, void (*destroy)(void *data));

/* Binds and starts serving. Returns 0, or a negative errno with the reason in err: the bind's errno
 * (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES), or -EIO when libmicrohttpd does not start. */
int httpd_start(struct httpd *h, struct merr *err);

/* The bound port (useful with port 0), or -ENOTCONN before httpd_start(). */
int httpd_port(struct httpd *h);

/* Stops (closes the listen socket and every connection, waits for handlers in progress), then frees.
 * Accepts NULL; returns NULL. */
struct httpd *httpd_free(struct httpd *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct httpd *, httpd_free);

void httpd_get_stats(struct httpd *h, struct httpd_stats *ret);

/* Trusts the connection r came on (see max_untrusted): it is then kept for idle_timeout_s between
 * requests and never closed for a newer one. */
void httpd_request_trust(struct httpd_request *r);

/* Calls fn(ud, status) once the response to r has been sent whole, or the connection broke (a stream's end
 * included): for accounting that lasts as long as the request. One per request; before responding. Returns
 * 0 or -EALREADY when r already has one. */
int httpd_request_on_done(struct httpd_request *r, void (*fn)(void *ud, int status), void *ud);

/* "GET", "HEAD", ... */
const char *httpd_request_method(struct httpd_request *r);
/* The URL-decoded path, without the query ("/metrics"). Dot segments are left as sent: routes match bytes. */
const char *httpd_request_path(struct httpd_request *r);
/* The request target as the client sent it: the path still escaped, then the query ("/a%20b?x=1"). */
const char *httpd_request_target(struct httpd_request *r);
/* The decoded value of the first query parameter named key ("" for "?key" or "?key="), or NULL when absent
 * or when memory runs out. */
const char *httpd_request_query(struct httpd_request *r, const char *key);
/* Calls fn(value, ud) with the decoded value of every query parameter named key, in order (a pods/exec
 * command= per word). Returns how many, -EINVAL when one is malformed (a bad escape, a NUL: none may be
 * skipped), or -ENOMEM. */
long httpd_request_query_each(
        struct httpd_request *r, const char *key, void (*fn)(const char *value, void *ud), void *ud);
/* The request body (len bytes, followed by a NUL; "" when there was none). */
const void *httpd_request_body(struct httpd_request *r, size_t *len);
/* A request header by case-insensitive name, or NULL. */
const char *httpd_request_header(struct httpd_request *r, const char *name);
/* Every header whose name is name (case-insensitive), or starts with name when prefix is true, in the
 * order sent: calls fn(name, value, ud) for each. Returns how many. */
size_t httpd_request_headers(struct httpd_request *r, const char *name, bool prefix,
        void (*fn)(const char *name, const char *value, void *ud), void *ud);

/* The common name of the client certificate the request came with, once its chain verified against
 * client_ca_pem, into cn. Returns 1, 0 when the client sent none (or the server is not TLS), or -EACCES
 * when it sent one that does not verify. */
int httpd_request_client_cn(struct httpd_request *r, char *cn, size_t size);

/* Adds a header to the response the handler is about to send (Warning, Location, ...). Returns 0, -EINVAL for
 * a name or value that would break the header block, -EALREADY after the response, or -ENOMEM. */
int httpd_request_add_header(struct httpd_request *r, const char *name, const char *value);

/* Sends the whole response with Content-Length (no body for HEAD). Returns 0, -EALREADY when the request
 * was already answered, or -EPIPE when the client went away. */
int httpd_respond(
        struct httpd_request *r, int status, const char *content_type, const void *body, size_t len);

/* A streamed response (chunked, for watches and logs that follow), only with thread_per_connection. After
 * the handler returns, read() is called on the connection's thread for each piece: it may wait for data,
 * returns the bytes it wrote to buf (at most max), 0 at the end of the stream, or < 0 to break the
 * connection. It should check httpd_stream_peer_gone() while it waits. done(ud) is called once the
 * stream is over (also when it never started). Returns like httpd_respond(); on failure done(ud) has been
 * called. */
struct httpd_stream;
typedef long (*httpd_stream_fn)(struct httpd_stream *s, void *ud, char *buf, size_t max);
int httpd_respond_stream(struct httpd_request *r, int status, const char *content_type, httpd_stream_fn read,
        void *ud, void (*done)(void *ud));
/* True once the client has closed its side of the connection. */
bool httpd_stream_peer_gone(struct httpd_stream *s);

/* Switches the connection to another protocol (a WebSocket), only with thread_per_connection: sends 101
 * with the handler's headers (httpd_request_add_header(): Sec-WebSocket-Accept, ...) and "Upgrade:
 * upgrade"; then calls fn(u, fd, extra, n, ud) on the connection's thread with the socket of the new
 * protocol (for TLS, one end of a socket pair whose bytes the server encrypts) and the bytes already read
 * past the request. fn must return soon (hand fd to a thread of its own: for TLS the bytes flow once it
 * returns) and the owner must end the connection with httpd_upgraded_close(u) exactly once, never
 * close(fd). When the 101 cannot be sent, fn is called with u NULL and fd -1 instead. httpd_request_on_done()'s
 * fn runs after the connection ends. Returns like httpd_respond(); when it fails, fn is never called. */
struct httpd_upgraded;
typedef void (*httpd_upgrade_fn)(struct httpd_upgraded *u, int fd, const char *extra, size_t n, void *ud);
int httpd_respond_upgrade(struct httpd_request *r, const char *upgrade, httpd_upgrade_fn fn, void *ud);
void httpd_upgraded_close(struct httpd_upgraded *u);

/* Responds with a metav1.Status object, as Kubernetes API servers report errors: reason is its machine
 * reason ("NotFound", "ServiceUnavailable"), the message is formatted. Returns like httpd_respond(). */
int httpd_respond_status(struct httpd_request *r, int status, const char *reason, const char *fmt, ...)
        _printf_(4, 5);

/*
 * Query decoding, exposed for its fuzz target: finds the first parameter named key in a raw query string
 * ("a=1&b=x%20y"; '+' is a space), as Go's url.ParseQuery does, skipping pairs with malformed escapes.
 * Returns 1 with the decoded value in *ret (free() it), 0 when absent, or -ENOMEM.
 */
int httpd_query_value(const char *query, size_t len, const char *key, char **ret);
