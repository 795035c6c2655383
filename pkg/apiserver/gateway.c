/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The preview gateway (docs/previews.md): an HTTP/1.1 listener of its own for browsers, one origin per
 * sandbox port (PORT--SANDBOX--PROJECT.<--preview-domain>), so that an app owns "/" and its cookies.
 * A thread per connection reads a request head, finds the preview by its Host, checks who may open it
 * (Public: anyone, where the project allows it; else the cookie a grant set), makes sure the sandbox runs
 * (waking it), and passes the request on to the pod with its body as it comes, then the response the same
 * way, over one upstream connection kept for the client connection's life. A WebSocket (or any upgrade) is
 * switched only when the pod answers 101; then bytes flow both ways until one side ends.
 *
 * Not libmicrohttpd (httpd.c): that reads request bodies whole, and a proxy must stream them.
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
#include "httpmsg.h"
#include "log.h"
#include "previewtoken.h"
#include "timestamp.h"

#define GW_COOKIE      "mbox_preview"
#define GW_GRANT_PATH  "/.mbox/grant"
#define GW_RESPONSE_MS 60000 /* how long the pod may take to start its response */

struct conn {
        struct api_listener *l;
        struct apiserver *s;
        int fd, slot;
        const char *peer;
        struct api_upstream up;
        char up_key[600]; /* the preview the upstream connection goes to */
        char in[API_HEAD_MAX];
        size_t in_len;
        /* the request in progress */
        struct http_head req; /* points into in: good until its head is consumed */
        char method[16];
        bool html, keep_alive; /* what the request said, kept past its head's consumption */
        struct api_preview_target t;
        char user[256], grant[33];
        char denied[600]; /* why a grant's maker may no longer open the preview */
        uint64_t bytes_in, bytes_out;
        int status;
};

/* ---- answers of the gateway itself */

static void html_escape(struct buf *b, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '<':
                        buf_puts(b, "&lt;");
                        break;
                case '>':
                        buf_puts(b, "&gt;");
                        break;
                case '&':
                        buf_puts(b, "&amp;");
                        break;
                case '"':
                        buf_puts(b, "&quot;");
                        break;
                default:
                        buf_putc(b, *s);
                }
}

/* A small page (or plain text for a client that does not ask for HTML), with the connection closed after
 * it unless keep is set. extra: more header lines, each ending in CRLF. */
static void page(struct conn *c, int status, const char *reason, const char *title, const char *text,
        const char *extra, bool refresh, bool keep) {
        _cleanup_(buf_release) struct buf body = BUF_INIT(64 * 1024), head = BUF_INIT(64 * 1024);
        bool html = c->html;
        if (html) {
                buf_puts(&body, "<!doctype html><html><head><meta charset=\"utf-8\"><title>");
                html_escape(&body, title);
                buf_puts(&body, "</title>");
                if (refresh)
                        buf_puts(&body, "<meta http-equiv=\"refresh\" content=\"2\">");
                buf_puts(&body, "<style>body{font:16px system-ui,sans-serif;margin:15vh auto;max-width:36em;"
                                "padding:0 1em;color:#222}</style></head><body><h1>");
                html_escape(&body, title);
                buf_puts(&body, "</h1><p>");
                html_escape(&body, text);
                buf_puts(&body, "</p></body></html>\n");
        } else
                buf_printf(&body, "%s: %s\n", title, text);
        buf_printf(&head,
                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n%s%s\r\n",
                status, reason, html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8", body.len,
                extra ? extra : "", keep ? "" : "Connection: close\r\n");
        c->status = status;
        c->bytes_out += body.len;
        if (api_sock_write(c->fd, head.data, head.len, 5000) == 0 && strcmp(c->method, "HEAD") != 0)
                (void) api_sock_write(c->fd, body.data, body.len, 5000);
}

/* ---- who may open a preview */

static bool claims_match(const struct preview_claims *cl, const struct api_preview_target *t) {
        return strcmp(cl->namespace, t->ns) == 0 && strcmp(cl->sandbox, t->name) == 0 &&
               strcmp(cl->sandbox_uid, t->uid) == 0 && strcmp(cl->port, t->port_name) == 0;
}

/* Whether the grant's maker may still open the port, asked as they were authenticated when they made it
 * (SubjectAccessReview, cached as every other): a member who left the project, or a port made Private
 * that they may not open, ends the grant's links and cookies within the cache's time. 1 yes, 0 no (why
 * into c->denied), < 0 when it cannot be asked. */
_Static_assert(
        sizeof(((struct api_user *) NULL)->groups) >= PREVIEW_GROUPS_MAX, "a link's groups fit a user's");
static int maker_allowed(struct conn *c, const struct preview_claims *cl) {
        struct api_user u = {0};
        struct merr err = MERR_INIT;
        char why[256];
        snprintf(u.name, sizeof(u.name), "%s", cl->user);
        snprintf(u.uid, sizeof(u.uid), "%s", cl->user_uid);
        for (const char *g = cl->groups; *g; g += strlen(g) + 1)
                u.n_groups++;
        memcpy(u.groups, cl->groups, sizeof(cl->groups));
        const struct api_attrs attrs = {.verb = "get",
                .namespace = c->t.ns,
                .resource = "sandboxes",
                .subresource = "proxy",
                .name = c->t.name};
        int r = api_access(c->s, &u, &attrs, why, sizeof(why), &err);
        if (r == 0)
                snprintf(c->denied, sizeof(c->denied),
                        "%s, who made this preview link, may no longer open previews of sandbox %s.",
                        cl->user, c->t.name);
        else if (r > 0 && strcmp(c->t.visibility, "Private") == 0 &&
                 (r = api_preview_private_allowed(c->s, &u, c->t.ns, c->t.name, c->t.creator, &err)) == 0)
                snprintf(c->denied, sizeof(c->denied),
                        "Port %s of sandbox %s is Private now, and %s, who made this preview link, may not "
                        "open it.",
                        c->t.port_name, c->t.name, cl->user);
        if (r < 0)
                log_warn("cannot check a preview link's maker", "user", cl->user, "sandbox", c->t.name,
                        "error", merr_msg(&err));
        return r;
}

/* Whether the request may open the preview: Public ports always (the operator shows Public only where the
 * project allows it), others with the cookie a grant for this very port set, while its maker may still
 * open it. 1 yes, 0 no cookie for it, -EACCES its maker may no longer (c->denied says why), other < 0 the
 * check failed. */
static int admitted(struct conn *c) {
        char tok[PREVIEW_TOKEN_MAX_LEN + 1];
        struct preview_claims cl;
        if (strcmp(c->t.visibility, "Public") == 0)
                return 1;
        for (size_t n = 0;
                c->s->preview_key && n < 8 && api_cookie_get(&c->req, GW_COOKIE, n, tok, sizeof(tok)); n++)
                if (preview_token_verify(c->s->preview_key, tok, strlen(tok), time(NULL), &cl) == 0 &&
                        cl.kind == PREVIEW_TOKEN_COOKIE && claims_match(&cl, &c->t)) {
                        snprintf(c->user, sizeof(c->user), "%s", cl.user);
                        snprintf(c->grant, sizeof(c->grant), "%s", cl.id);
                        int r = maker_allowed(c, &cl);
                        return r == 0 ? -EACCES : r;
                }
        return 0;
}

/* A query parameter of the request target, decoded, into out; false when absent or malformed. */
static bool query_param(const struct http_head *h, const char *key, char *out, size_t size) {
        const char *q = memchr(h->target, '?', h->target_len);
        char *v = NULL;
        if (!q || httpd_query_value(q + 1, (size_t) (h->target + h->target_len - q - 1), key, &v) <= 0)
                return false;
        bool ok = strlen(v) < size;
        if (ok)
                memcpy(out, v, strlen(v) + 1);
        free(v);
        return ok;
}

/* Whether p is a path on this origin: "/" then printable ASCII, not "//" nor "/\\" (which browsers take
 * for another host; they also drop tabs and newlines, so none may come between). */
static bool local_path(const char *p) {
        if (p[0] != '/' || p[1] == '/' || p[1] == '\\')
                return false;
        for (; *p; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f || *p == '\\')
                        return false;
        return true;
}

/* GET /.mbox/grant?token=LINK[&next=/path]: the link of a preview grant. A valid one sets the cookie that
 * opens this preview (host-only: no Domain, so no other sandbox or port gets it) and sends the browser
 * on to next. */
static void grant(struct conn *c) {
        char tok[PREVIEW_TOKEN_MAX_LEN + 1], next[2048] = "/";
        struct preview_claims cl;
        int r = !c->s->preview_key ? -EBADMSG
                : !query_param(&c->req, "token", tok, sizeof(tok))
                        ? -ENOENT
                        : preview_token_verify(c->s->preview_key, tok, strlen(tok), time(NULL), &cl);
        if (r == 0 && (cl.kind != PREVIEW_TOKEN_LINK || !claims_match(&cl, &c->t)))
                r = -EPERM;
        if (r == 0 && (r = maker_allowed(c, &cl)) <= 0) {
                snprintf(c->user, sizeof(c->user), "%s", cl.user);
                snprintf(c->grant, sizeof(c->grant), "%s", cl.id);
                if (r == 0)
                        page(c, 403, "Forbidden", "This preview link no longer opens this preview", c->denied,
                                NULL, false, false);
                else
                        page(c, 503, "Service Unavailable", "Cannot check this preview link",
                                "Whether its maker may still open the preview could not be asked; try again.",
                                "Retry-After: 5\r\n", false, false);
                return;
        }
        if (r < 0) {
                page(c, 403, "Forbidden", "This preview link does not open this preview",
                        r == -EKEYEXPIRED
                                ? "The link has expired: ask for a new one (mbox preview open, or kubectl "
                                  "create a PreviewGrant)."
                        : r == -ENOENT ? "The link has no token."
                        : r == -EPERM  ? "The link was made for another sandbox or port."
                                       : "The link is not valid.",
                        NULL, false, false);
                return;
        }
        /* next: a path on this origin only */
        if (!query_param(&c->req, "next", next, sizeof(next)) || !local_path(next))
                snprintf(next, sizeof(next), "/");
        struct preview_claims ck = cl;
        ck.kind = PREVIEW_TOKEN_COOKIE;
        ck.expires = time(NULL) + c->s->opt.preview_session_ms / 1000;
        _cleanup_free_ char *value = NULL;
        if (preview_token_sign(c->s->preview_key, &ck, &value) < 0) {
                page(c, 500, "Internal Server Error", "Cannot open the preview", "Signing its cookie failed.",
                        NULL, false, false);
                return;
        }
        const char *scheme = c->s->opt.preview_scheme ? c->s->opt.preview_scheme : "http";
        _cleanup_(buf_release) struct buf extra = BUF_INIT(64 * 1024);
        buf_printf(&extra,
                "Location: %s\r\nSet-Cookie: " GW_COOKIE
                "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s\r\n",
                next, value, c->s->opt.preview_session_ms / 1000,
                strcmp(scheme, "https") == 0 ? "; Secure" : "");
        snprintf(c->user, sizeof(c->user), "%s", cl.user);
        snprintf(c->grant, sizeof(c->grant), "%s", cl.id);
        page(c, 303, "See Other", "Opening the preview", "Go on to the preview.", extra.data, false, true);
}

/* ---- passing a request on */

/* The access log (previewaccess.c): every request to a preview that was found. */
static void note(struct conn *c, int64_t started_ms) {
        if (!c->t.ns[0] || !c->status)
                return;
        struct api_preview_hit h = {.namespace = c->t.ns,
                .sandbox = c->t.name,
                .sandbox_uid = c->t.uid,
                .port = c->t.port_name,
                .user = "", /* a browser has no Kubernetes identity: the grant that let it in says who */
                .grant = c->grant[0] ? c->grant : NULL,
                .via = "Gateway",
                .status = c->status,
                .bytes_in = c->bytes_in,
                .bytes_out = c->bytes_out,
                .duration_us = (timestamp_monotonic_ms() - started_ms) * 1000};
        api_preview_access_note(c->s, &h);
}

/* The fields that say where a request came from: the gateway sets them (X-Forwarded-For with the
 * client's chain before it), a client cannot. */
static bool forwarded(const struct http_field *f) {
        static const char *const names[] = {"forwarded", "x-forwarded-for", "x-forwarded-host",
                "x-forwarded-proto", "x-forwarded-port", "x-real-ip", NULL};
        for (const char *const *n = names; *n; n++)
                if (f->name_len == strlen(*n) && strncasecmp(f->name, *n, f->name_len) == 0)
                        return true;
        return false;
}

/* The request head as the pod gets it: hop-by-hop fields and the gateway's cookie out, X-Forwarded-* in. */
static void forward_head(struct conn *c, struct buf *b, bool upgrade) {
        const struct http_head *h = &c->req;
        size_t n;
        const char *host = http_head_get(h, "host", &n);
        /* the client's HTTP version: an HTTP/1.0 client gets no chunked body from the pod */
        buf_printf(b, "%.*s %.*s HTTP/1.%d\r\n", (int) h->method_len, h->method, (int) h->target_len,
                h->target, h->minor);
        for (size_t i = 0; i < h->n_fields; i++) {
                const struct http_field *f = &h->fields[i];
                /* Expect: 100-continue is answered by the gateway itself (proxy()) */
                if (http_field_hop_by_hop(h, f) || forwarded(f) ||
                        (f->name_len == 6 && strncasecmp(f->name, "expect", 6) == 0))
                        continue;
                if (f->name_len == 6 && strncasecmp(f->name, "cookie", 6) == 0) {
                        /* the other cookies are the app's */
                        _cleanup_(buf_release) struct buf kept = BUF_INIT(64 * 1024);
                        const char *p = f->value, *pair;
                        size_t len;
                        while (api_cookie_next(&p, f->value + f->value_len, &pair, &len))
                                if (!api_cookie_is(pair, len, GW_COOKIE))
                                        buf_printf(&kept, "%s%.*s", kept.len ? "; " : "", (int) len, pair);
                        if (kept.len)
                                buf_printf(b, "Cookie: %.*s\r\n", (int) kept.len, kept.data);
                        continue;
                }
                buf_printf(b, "%.*s: %.*s\r\n", (int) f->name_len, f->name, (int) f->value_len, f->value);
        }
        const char *xff = http_head_get(h, "x-forwarded-for", &n);
        if (xff)
                buf_printf(b, "X-Forwarded-For: %.*s, %s\r\n", (int) n, xff, c->peer);
        else
                buf_printf(b, "X-Forwarded-For: %s\r\n", c->peer);
        http_head_get(h, "host", &n);
        if (host)
                buf_printf(b, "X-Forwarded-Host: %.*s\r\n", (int) n, host);
        buf_printf(
                b, "X-Forwarded-Proto: %s\r\n", c->s->opt.preview_scheme ? c->s->opt.preview_scheme : "http");
        if (upgrade) {
                const char *u = http_head_get(h, "upgrade", &n);
                buf_printf(b, "Connection: Upgrade\r\nUpgrade: %.*s\r\n", (int) n, u);
        }
        buf_puts(b, "\r\n");
}

/* Drops the first n bytes read from the client (a request's head, once it is answered). */
static void consume(struct conn *c, size_t n) {
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
}

static void relay_active(void *ud) {
        struct conn *c = ud;
        api_preview_activity(c->s, &c->t);
}

/* Whether the kept connection to the pod is still good for another request: a pod that closed it (or
 * sent what nobody asked for) makes it readable. */
static bool upstream_idle(struct conn *c) {
        struct pollfd p = {.fd = c->up.fd, .events = POLLIN};
        return c->up.len == 0 && poll(&p, 1, 0) == 0;
}

/* The connection to the pod, known to api_gateway_stop() so that a request waiting on it ends at once. */
static void set_upstream(struct conn *c, int fd) {
        c->up.fd = fd;
        api_listener_set_upstream(c->l, c->slot, fd);
}

static void close_upstream(struct conn *c) {
        api_listener_set_upstream(c->l, c->slot, -1);
        api_upstream_close(&c->up);
        c->up_key[0] = 0;
}

/* Forwards the request in c->req (its head c->req.size bytes at c->in) and the pod's answer. Returns true
 * when the client connection can serve another request. */
static bool proxy(struct conn *c) {
        long idle = c->s->opt.preview_idle_timeout_ms;
        size_t n;
        bool expect = http_head_has_token(&c->req, "expect", "100-continue");
        bool upgrade = http_head_has_token(&c->req, "connection", "upgrade") &&
                       http_head_get(&c->req, "upgrade", &n);
        char key[600];
        snprintf(key, sizeof(key), "%s/%s/%u/%s", c->t.ns, c->t.pod, c->t.port, c->t.pod_ip);
        if (c->up.fd >= 0 && (strcmp(key, c->up_key) != 0 || !upstream_idle(c)))
                close_upstream(c);
        struct merr err = MERR_INIT;
        if (c->up.fd < 0) {
                int fd = api_preview_connect(c->s, &c->t, &err);
                if (fd < 0) {
                        char msg[600];
                        snprintf(msg, sizeof(msg),
                                "The sandbox does not answer on port %u (%s): is the app running?", c->t.port,
                                merr_msg(&err));
                        page(c, 502, "Bad Gateway", "The preview does not answer", msg, NULL, false, false);
                        return false;
                }
                set_upstream(c, fd);
                snprintf(c->up_key, sizeof(c->up_key), "%s", key);
        }
        struct http_body body;
        if (http_body_init(&body, &c->req, HTTP_REQUEST, NULL) < 0) {
                page(c, 400, "Bad Request", "Bad request", "The request's framing is not valid.", NULL, false,
                        false);
                return false;
        }
        _cleanup_(buf_release) struct buf head = BUF_INIT(64 * 1024);
        forward_head(c, &head, upgrade);
        consume(c, c->req.size);
        if (api_sock_write(c->up.fd, head.data, head.len, idle) < 0) {
                /* a kept connection the pod closed meanwhile: once more on a new one */
                close_upstream(c);
                int fd = api_preview_connect(c->s, &c->t, &err);
                if (fd < 0 || api_sock_write(fd, head.data, head.len, idle) < 0) {
                        if (fd >= 0)
                                close(fd);
                        page(c, 502, "Bad Gateway", "The preview does not answer",
                                "The sandbox closed the connection.", NULL, false, false);
                        return false;
                }
                set_upstream(c, fd);
                snprintf(c->up_key, sizeof(c->up_key), "%s", key);
        }
        /* a client that waits for 100 Continue before its body gets it from here: the pod never saw Expect */
        static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!http_body_done(&body) && expect && api_sock_write(c->fd, go_on, sizeof(go_on) - 1, idle) < 0)
                return false;
        if (api_pass_body(&body, c->fd, c->in, &c->in_len, sizeof(c->in), c->up.fd, &c->bytes_in, idle) < 0) {
                c->status = 499;
                return false;
        }
        struct http_head rh;
        long hn;
        for (;;) {
                hn = api_upstream_read_head(&c->up, &rh, GW_RESPONSE_MS);
                if (hn < 0) {
                        page(c, 502, "Bad Gateway", "The preview sent no valid answer",
                                hn == -ETIMEDOUT ? "The app took too long to answer."
                                                 : "The app's response was not HTTP/1.x.",
                                NULL, false, false);
                        return false;
                }
                if (rh.status == 101 || rh.status >= 200)
                        break;
                /* 100 Continue and other interim answers pass as they are */
                if (api_sock_write(c->fd, c->up.buf, (size_t) hn, idle) < 0)
                        return false;
                api_upstream_consume(&c->up, (size_t) hn);
        }
        c->status = rh.status;
        if (rh.status == 101) {
                if (!upgrade) {
                        page(c, 502, "Bad Gateway", "The preview sent no valid answer",
                                "The app switched protocols without being asked to.", NULL, false, false);
                        return false;
                }
                /* the pod's 101 as it is: its Upgrade and Connection fields belong to the switch */
                /* then what either side sent past the switch, then both ways */
                if (api_sock_write(c->fd, c->up.buf, c->up.len, idle) < 0 ||
                        api_sock_write(c->up.fd, c->in, c->in_len, idle) < 0)
                        return false;
                c->bytes_out += c->up.len - (size_t) hn, c->bytes_in += c->in_len;
                c->up.len = c->in_len = 0;
                const struct api_relay_opts ro = {.idle_ms = idle, .active = relay_active, .ud = c};
                api_relay(c->fd, c->up.fd, &ro, &c->bytes_in, &c->bytes_out);
                return false;
        }
        struct http_body rb;
        if (http_body_init(&rb, &rh, HTTP_RESPONSE, c->method) < 0) {
                page(c, 502, "Bad Gateway", "The preview sent no valid answer",
                        "The app's response framing is not valid.", NULL, false, false);
                return false;
        }
        bool keep = c->keep_alive && rb.framing != HTTP_BODY_UNTIL_CLOSE && !upgrade;
        bool up_keep = http_head_keep_alive(&rh) && rb.framing != HTTP_BODY_UNTIL_CLOSE;
        head.len = 0;
        buf_printf(&head, "HTTP/1.1 %d %.*s\r\n", rh.status, (int) rh.reason_len, rh.reason);
        for (size_t i = 0; i < rh.n_fields; i++) {
                const struct http_field *f = &rh.fields[i];
                if (!http_field_hop_by_hop(&rh, f))
                        buf_printf(&head, "%.*s: %.*s\r\n", (int) f->name_len, f->name, (int) f->value_len,
                                f->value);
        }
        buf_puts(&head, keep ? "\r\n" : "Connection: close\r\n\r\n");
        api_upstream_consume(&c->up, (size_t) hn);
        if (api_sock_write(c->fd, head.data, head.len, idle) < 0)
                return false;
        if (api_pass_body(
                    &rb, c->up.fd, c->up.buf, &c->up.len, sizeof(c->up.buf), c->fd, &c->bytes_out, idle) < 0)
                return false;
        if (!up_keep || c->up.len)
                close_upstream(c);
        return keep;
}

/* ---- a connection */

/* The host label of the request (the part before .<domain>), into label; false when the Host is not one
 * of the gateway's. */
static bool host_label(struct conn *c, char *label, size_t size) {
        size_t n;
        const char *host = http_head_get(&c->req, "host", &n);
        const char *domain = c->s->opt.preview_domain ? c->s->opt.preview_domain : "";
        size_t dn = strcspn(domain, ":");
        if (!host)
                return false;
        const char *colon = memchr(host, ':', n);
        size_t hn = colon ? (size_t) (colon - host) : n;
        if (hn <= dn + 1 || host[hn - dn - 1] != '.' || strncasecmp(host + hn - dn, domain, dn) != 0 ||
                hn - dn - 1 >= size)
                return false;
        for (size_t i = 0; i < hn - dn - 1; i++) {
                char ch = host[i];
                if (ch >= 'A' && ch <= 'Z')
                        ch = (char) (ch - 'A' + 'a');
                if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
                        return false;
                label[i] = ch;
        }
        label[hn - dn - 1] = 0;
        return true;
}

static bool is_browser(struct conn *c) {
        return (strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0) && c->html;
}

/* Serves one request whose head is in c->req; true when the connection may carry another. */
static bool serve(struct conn *c);

/* The request whose head of n bytes is in c->req, or one whose head is refused (n < 0). */
static bool serve_request(void *conn, long n) {
        struct conn *c = conn;
        if (n > 0)
                return serve(c);
        c->method[0] = 0;
        c->html = false;
        if (n == -E2BIG)
                page(c, 431, "Request Header Fields Too Large", "Request too large",
                        "The request's head is larger than 16 KiB.", NULL, false, false);
        else
                page(c, 400, "Bad Request", "Bad request", "The request is not valid HTTP/1.1.", NULL, false,
                        false);
        return false;
}

static bool serve(struct conn *c) {
        char label[256];
        int64_t started = timestamp_monotonic_ms();
        size_t n;
        c->status = 0, c->bytes_in = c->bytes_out = 0, c->user[0] = c->grant[0] = c->denied[0] = 0;
        const char *accept = http_head_get(&c->req, "accept", &n);
        c->html = accept && memmem(accept, n, "text/html", 9);
        c->keep_alive = http_head_keep_alive(&c->req);
        c->t = (struct api_preview_target){0};
        snprintf(c->method, sizeof(c->method), "%.*s",
                (int) (c->req.method_len < 15 ? c->req.method_len : 15), c->req.method);
        int r = host_label(c, label, sizeof(label)) ? api_preview_find(c->s, label, NULL, NULL, NULL, &c->t)
                                                    : -ENOENT;
        if (r == -EEXIST) {
                c->t = (struct api_preview_target){0};
                page(c, 409, "Conflict", "Two sandboxes share this preview address",
                        "Their slugs (spec.slug) and their projects' make one host name: give one of them "
                        "another "
                        "slug.",
                        NULL, false, false);
                return false;
        }
        if (r < 0) {
                c->t = (struct api_preview_target){0};
                page(c, 404, "Not Found", "No such preview",
                        "No sandbox has a preview at this address. Its URL is in the sandbox's "
                        "status.previewURLs.",
                        NULL, false, false);
                return false;
        }
        bool keep = false;
        const char *q = memchr(c->req.target, '?', c->req.target_len);
        size_t pn = q ? (size_t) (q - c->req.target) : c->req.target_len;
        if (pn == strlen(GW_GRANT_PATH) && memcmp(c->req.target, GW_GRANT_PATH, pn) == 0) {
                grant(c);
                /* a GET without a body: what follows its head is the next request */
                keep = c->status == 303 && c->keep_alive && !http_head_get(&c->req, "content-length", &n) &&
                       !http_head_get(&c->req, "transfer-encoding", &n);
                consume(c, c->req.size);
        } else if ((r = admitted(c)) == -EACCES)
                page(c, 403, "Forbidden", "This preview link no longer opens this preview", c->denied, NULL,
                        false, false);
        else if (r < 0)
                page(c, 503, "Service Unavailable", "Cannot check this preview link",
                        "Whether its maker may still open the preview could not be asked; try again.",
                        "Retry-After: 5\r\n", false, false);
        else if (r == 0) {
                char msg[700];
                snprintf(msg, sizeof(msg),
                        "Port %s of sandbox %s is %s: open it with a preview link (mbox preview open %s %s, "
                        "or "
                        "kubectl create a PreviewGrant in namespace %s).",
                        c->t.port_name, c->t.name,
                        strcmp(c->t.visibility, "Private") == 0 ? "private" : "for project members",
                        c->t.name, c->t.port_name, c->t.ns);
                page(c, 401, "Unauthorized", "This preview needs a preview link", msg, NULL, false, false);
        } else {
                r = api_preview_ready(
                        c->s, &c->t, is_browser(c) ? 0 : c->s->opt.preview_wake_timeout_ms, c->user);
                if (r == -EINPROGRESS && is_browser(c))
                        page(c, 503, "Service Unavailable", "Starting the sandbox…",
                                "The sandbox was stopped after its idle time and is starting again. This "
                                "page reloads by itself.",
                                "Retry-After: 2\r\n", true, false);
                else if (r < 0) {
                        char msg[600];
                        snprintf(msg, sizeof(msg), "Sandbox %s is %s%s%s.", c->t.name,
                                c->t.phase[0] ? c->t.phase : "not running",
                                r == -EINPROGRESS ? " and still starting" : "",
                                r == -EAGAIN ? ": start it (spec.state: Running) to open its preview" : "");
                        page(c, 503, "Service Unavailable", "The preview is not running", msg,
                                "Retry-After: 5\r\n", false, false);
                } else {
                        api_preview_activity(c->s, &c->t);
                        keep = proxy(c);
                }
        }
        note(c, started);
        return keep;
}

/* A connection, on its own thread: its requests one after the other. */
static void serve_conn(struct api_listener *l, int fd, int slot, const char *peer) {
        struct conn *c = calloc(1, sizeof(*c));
        if (!c)
                return;
        *c = (struct conn){.l = l, .s = l->ud, .fd = fd, .slot = slot, .peer = peer};
        c->up.fd = -1;
        api_serve_requests(fd, c->in, sizeof(c->in), &c->in_len, &c->req, c->s->opt.preview_idle_timeout_ms,
                serve_request, c);
        close_upstream(c);
        free(c);
}

int api_gateway_start(struct apiserver *s, struct merr *err) {
        if (!s->opt.preview_domain)
                return merr_set(
                        err, -EINVAL, "--preview-listen needs --preview-domain (the hosts it serves)");
        if (s->opt.preview_max_connections > API_PREVIEW_MAX_CONNECTIONS)
                s->opt.preview_max_connections = API_PREVIEW_MAX_CONNECTIONS;
        return api_listener_new("preview gateway", "preview-listen", s->opt.preview_listen,
                s->opt.preview_max_connections, serve_conn, s, &s->gateway, err);
}

void api_gateway_stop(struct apiserver *s) {
        api_listener_free(s->gateway);
        s->gateway = NULL;
}
