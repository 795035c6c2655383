/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandboxes/NAME/proxy/PORT/PATH (docs/previews.md): a preview for API clients with a Kubernetes identity,
 * in the shape of pods/proxy. kube-apiserver authenticates the caller and passes the request on; it is
 * authorized here by SubjectAccessReview (the HTTP method's verb on sandboxes/proxy), then by the port's
 * visibility, and passed to the pod as the gateway does: without the caller's credentials or mbox's
 * headers, with X-Forwarded-*, the response streamed back, an upgrade only once the pod answered 101.
 * The request body comes whole through mbox-apiserver's HTTP server (at most 1 MiB); responses stream.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "log.h"
#include "timestamp.h"

#define PROXY_RESPONSE_MS 60000 /* how long the pod may take to start its response */

struct proxied {
        struct apiserver *s;
        struct api_upstream up;
        struct http_body body;
        long idle_ms;
        /* for the access log */
        struct api_preview_target t;
        char user[256];
        int status;
        uint64_t bytes_in, bytes_out;
        int64_t started_ms;
};

/* The access log (previewaccess.c): every request to a preview that was found. */
static void note(struct apiserver *s, const struct api_preview_target *t, const char *user, int status,
        uint64_t bytes_in, uint64_t bytes_out, int64_t started_ms) {
        if (!status)
                return;
        struct api_preview_hit h = {.namespace = t->ns,
                .sandbox = t->name,
                .sandbox_uid = t->uid,
                .port = t->port_name,
                .user = user,
                .via = "Proxy",
                .status = status,
                .bytes_in = bytes_in,
                .bytes_out = bytes_out,
                .duration_us = (timestamp_monotonic_ms() - started_ms) * 1000};
        api_preview_access_note(s, &h);
}

static void proxied_free(void *ud) {
        struct proxied *p = ud;
        note(p->s, &p->t, p->user, p->status, p->bytes_in, p->bytes_out, p->started_ms);
        api_upstream_close(&p->up);
        free(p);
}

/* Whether the caller's field name goes to the pod: not the hop's own, not credentials nor what
 * kube-apiserver adds for mbox-apiserver, not what the proxy sets itself. */
static bool passes(const char *name) {
        static const char *const dropped[] = {"connection", "keep-alive", "proxy-connection",
                "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
                "host", "authorization", "cookie", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
                NULL};
        static const char *const prefixes[] = {"x-remote-", "impersonate-", NULL};
        for (const char *const *d = dropped; *d; d++)
                if (strcasecmp(name, *d) == 0)
                        return false;
        for (const char *const *p = prefixes; *p; p++)
                if (strncasecmp(name, *p, strlen(*p)) == 0)
                        return false;
        return true;
}

struct head_walk {
        struct buf *b;
        const char *conn; /* the Connection field, for the fields it names */
};

static void add_field(const char *name, const char *value, void *ud) {
        struct head_walk *w = ud;
        if (!passes(name) || strpbrk(value, "\r\n"))
                return;
        if (w->conn) { /* fields Connection names are the hop's */
                size_t n = strlen(name);
                for (const char *p = w->conn; (p = strcasestr(p, name)); p += n)
                        if ((p == w->conn || p[-1] == ',' || p[-1] == ' ') &&
                                (p[n] == 0 || p[n] == ',' || p[n] == ' '))
                                return;
        }
        buf_printf(w->b, "%s: %s\r\n", name, value);
}

/* The request line and head for the pod: the path after proxy/PORT as the caller sent it (still escaped),
 * then its query. */
static int request_head(const struct api_request *r, const struct api_preview_target *t, bool upgrade,
        size_t body_len, struct buf *b) {
        struct httpd_request *req = r->req;
        const char *raw = httpd_request_target(req);
        char mark[400];
        snprintf(mark, sizeof(mark), "/sandboxes/%s/proxy/%s", r->name, t->port_name);
        const char *p = strstr(raw, mark);
        if (!p)
                return -EINVAL;
        p += strlen(mark);
        const char *host = strstr(t->url, "://");
        host = host ? host + 3 : "";
        size_t hn = strcspn(host, "/");
        buf_printf(b, "%s %s%s HTTP/1.1\r\nHost: %.*s\r\n", httpd_request_method(req), *p == '/' ? "" : "/",
                p, (int) hn, host);
        struct head_walk w = {b, httpd_request_header(req, "connection")};
        httpd_request_headers(req, "", true, add_field, &w);
        const char *xff = httpd_request_header(req, "x-forwarded-for");
        buf_printf(b, "X-Forwarded-For: %s\r\nX-Forwarded-Host: %.*s\r\nX-Forwarded-Proto: https\r\n",
                xff && !strpbrk(xff, "\r\n") ? xff : "unknown", (int) hn, host);
        if (upgrade)
                buf_printf(b, "Connection: Upgrade\r\nUpgrade: %s\r\n", httpd_request_header(req, "upgrade"));
        if (body_len || strcmp(httpd_request_method(req), "POST") == 0 ||
                strcmp(httpd_request_method(req), "PUT") == 0)
                buf_printf(b, "Content-Length: %zu\r\n", body_len);
        buf_puts(b, "\r\n");
        return 0;
}

static long stream_body(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct proxied *p = ud;
        long waited = 0;
        for (;;) {
                ssize_t n = api_body_next(
                        &p->body, p->up.fd, p->up.buf, &p->up.len, sizeof(p->up.buf), buf, max, 1000);
                if (n > 0)
                        p->bytes_out += (uint64_t) n;
                if (n != -ETIMEDOUT)
                        return n;
                waited += 1000;
                if (httpd_stream_peer_gone(hs) || waited >= p->idle_ms)
                        return -ETIMEDOUT;
        }
}

struct switched {
        struct proxied *p;
        struct httpd_upgraded *u;
        int fd;
};

static void relay_active(void *ud) {
        struct proxied *p = ud;
        api_preview_activity(p->s, &p->t);
}

/* An upgraded connection is counted with the sessions, so that shutdown ends it and waits for it
 * (api_sessions_stop()) before freeing what it uses. */
static bool relay_begin(struct apiserver *s) {
        pthread_mutex_lock(&s->lock);
        bool ok = !atomic_load(&s->sessions_stopping);
        if (ok)
                s->n_sessions++;
        pthread_mutex_unlock(&s->lock);
        return ok;
}

static void relay_end(struct apiserver *s) {
        pthread_mutex_lock(&s->lock);
        s->n_sessions--;
        pthread_cond_broadcast(&s->sessions_done);
        pthread_mutex_unlock(&s->lock);
}

static void *relay_thread(void *ud) {
        struct switched *sw = ud;
        struct apiserver *s = sw->p->s;
        const struct api_relay_opts o = {.idle_ms = sw->p->idle_ms,
                .stop = &s->sessions_stopping,
                .active = relay_active,
                .ud = sw->p};
        api_relay(sw->fd, sw->p->up.fd, &o, &sw->p->bytes_in, &sw->p->bytes_out);
        httpd_upgraded_close(sw->u);
        proxied_free(sw->p);
        free(sw);
        relay_end(s);
        return NULL;
}

static void on_switched(struct httpd_upgraded *u, int fd, const char *extra, size_t n, void *ud) {
        struct proxied *p = ud;
        struct switched *sw = NULL;
        pthread_t t;
        pthread_attr_t attr;
        if (!u) {
                proxied_free(p);
                return;
        }
        /* what each side sent past the switch first */
        if ((n && api_sock_write(p->up.fd, extra, n, p->idle_ms) < 0) ||
                (p->up.len && api_sock_write(fd, p->up.buf, p->up.len, p->idle_ms) < 0) ||
                !(sw = malloc(sizeof(*sw)))) {
                httpd_upgraded_close(u);
                proxied_free(p);
                return;
        }
        p->up.len = 0;
        *sw = (struct switched){p, u, fd};
        if (!relay_begin(p->s)) { /* shutting down */
                httpd_upgraded_close(u);
                proxied_free(p);
                free(sw);
                return;
        }
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&t, &attr, relay_thread, sw) != 0) {
                struct apiserver *s = p->s;
                httpd_upgraded_close(u);
                proxied_free(p);
                free(sw);
                relay_end(s);
        }
        pthread_attr_destroy(&attr);
}

/* The pod's answer to the caller: its status and fields, the body as it comes, or the switch. */
static void respond(struct httpd_request *req, struct proxied *p, bool upgrade) {
        struct http_head h;
        long hn = api_upstream_read_head(&p->up, &h, PROXY_RESPONSE_MS);
        while (hn > 0 && h.status >= 100 && h.status < 200 && h.status != 101) { /* interim answers */
                api_upstream_consume(&p->up, (size_t) hn);
                hn = api_upstream_read_head(&p->up, &h, PROXY_RESPONSE_MS);
        }
        if (hn < 0 || (h.status == 101 && !upgrade) ||
                http_body_init(&p->body, &h, HTTP_RESPONSE, httpd_request_method(req)) < 0) {
                httpd_respond_status(req, 502, "BadGateway",
                        "the sandbox's app sent no valid HTTP/1.x response%s",
                        hn == -ETIMEDOUT ? " in time" : "");
                p->status = 502;
                proxied_free(p);
                return;
        }
        char ctype[256] = "";
        for (size_t i = 0; i < h.n_fields; i++) {
                const struct http_field *f = &h.fields[i];
                char name[128], value[8192];
                if (f->name_len >= sizeof(name) || f->value_len >= sizeof(value))
                        continue;
                memcpy(name, f->name, f->name_len), name[f->name_len] = 0;
                memcpy(value, f->value, f->value_len), value[f->value_len] = 0;
                if (strcasecmp(name, "content-type") == 0 && f->value_len < sizeof(ctype))
                        memcpy(ctype, value, f->value_len + 1);
                else if (!http_field_hop_by_hop(&h, f) && strcasecmp(name, "content-length") != 0 &&
                         strcasecmp(name, "transfer-encoding") != 0)
                        (void) httpd_request_add_header(req, name, value);
        }
        api_upstream_consume(&p->up, (size_t) hn);
        p->status = h.status;
        if (h.status == 101) {
                size_t n;
                const char *proto = http_head_get(&h, "upgrade", &n);
                char token[64];
                snprintf(token, sizeof(token), "%.*s", (int) (proto && n < sizeof(token) ? n : 0),
                        proto ? proto : "");
                if (httpd_respond_upgrade(req, token, on_switched, p) < 0)
                        proxied_free(p);
                return;
        }
        if (p->body.framing == HTTP_BODY_NONE) {
                httpd_respond(req, h.status, ctype[0] ? ctype : NULL, "", 0);
                proxied_free(p);
                return;
        }
        (void) httpd_respond_stream(req, h.status, ctype[0] ? ctype : NULL, stream_body, p, proxied_free);
}

void api_sandbox_proxy(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        struct api_preview_target t;
        struct merr err = MERR_INIT;
        char port[64];
        const char *tail = r->tail ? r->tail : "";
        int64_t started = timestamp_monotonic_ms();
        size_t pn = strcspn(tail, "/");
        if (pn == 0 || pn >= sizeof(port)) {
                httpd_respond_status(req, 404, "NotFound",
                        "name the preview port: sandboxes/%s/proxy/PORT/PATH, PORT one of the names in the "
                        "sandbox's "
                        "status.previewURLs",
                        r->name);
                return;
        }
        snprintf(port, sizeof(port), "%.*s", (int) pn, tail);
        int rc = api_preview_find(s, NULL, r->namespace, r->name, port, &t);
        if (rc == -ENOENT) {
                httpd_respond_status(req, 404, "NotFound", "sandbox \"%s\" not found in namespace %s",
                        r->name, r->namespace);
                return;
        }
        if (rc < 0) {
                httpd_respond_status(req, 404, "NotFound",
                        "sandbox %s has no preview port named \"%s\" (its ports are in status.previewURLs)",
                        r->name, port);
                return;
        }
        if (strcmp(t.visibility, "Private") == 0) {
                rc = api_preview_private_allowed(s, r->user, r->namespace, r->name, t.creator, &err);
                if (rc <= 0) {
                        httpd_respond_status(req, rc < 0 ? 500 : 403, rc < 0 ? "InternalError" : "Forbidden",
                                rc < 0 ? "checking access to a private preview: %s"
                                       : "port %s of sandbox %s is Private: only its creator and project "
                                         "admins (verb "
                                         "private on sandboxes/proxy) may open it",
                                rc < 0 ? merr_msg(&err) : port, r->name);
                        note(s, &t, r->user->name, rc < 0 ? 500 : 403, 0, 0, started);
                        return;
                }
        }
        rc = api_preview_ready(s, &t, s->opt.preview_wake_timeout_ms, r->user->name);
        if (rc == -EINPROGRESS) {
                httpd_request_add_header(req, "Retry-After", "5");
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "sandbox %s is starting; try again", r->name);
                return;
        }
        if (rc < 0) {
                httpd_respond_status(req, rc == -ENOENT ? 404 : 409, rc == -ENOENT ? "NotFound" : "Conflict",
                        "sandbox %s is %s: it must be running (spec.state: Running) to open its preview",
                        r->name, t.phase[0] ? t.phase : "not running yet");
                return;
        }
        api_preview_activity(s, &t);
        bool upgrade = httpd_request_header(req, "upgrade") && httpd_request_header(req, "connection") &&
                       strcasestr(httpd_request_header(req, "connection"), "upgrade");
        size_t body_len = 0;
        const void *body = httpd_request_body(req, &body_len);
        _cleanup_(buf_release) struct buf head = BUF_INIT(64 * 1024);
        if (request_head(r, &t, upgrade, body_len, &head) < 0) {
                httpd_respond_status(
                        req, 400, "BadRequest", "the path after proxy/%s cannot be passed on as it is", port);
                return;
        }
        struct proxied *p = calloc(1, sizeof(*p));
        if (!p) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        p->s = s, p->idle_ms = s->opt.preview_idle_timeout_ms, p->t = t, p->started_ms = started;
        p->bytes_in = body_len;
        snprintf(p->user, sizeof(p->user), "%s", r->user->name);
        p->up.fd = api_preview_connect(s, &t, &err);
        if (p->up.fd < 0) {
                httpd_respond_status(req, 502, "BadGateway", "sandbox %s does not answer on port %u: %s",
                        r->name, t.port, merr_msg(&err));
                proxied_free(p);
                return;
        }
        if (api_sock_write(p->up.fd, head.data, head.len, p->idle_ms) < 0 ||
                (body_len && api_sock_write(p->up.fd, body, body_len, p->idle_ms) < 0)) {
                httpd_respond_status(req, 502, "BadGateway", "sandbox %s closed the connection", r->name);
                p->status = 502;
                proxied_free(p);
                return;
        }
        respond(req, p, upgrade);
}
