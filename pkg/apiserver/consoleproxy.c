/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The console's way to kube-apiserver (docs/console.md): each request on a TLS connection of its own
 * (kube_tls_tunnel(): the cluster's CA, no client certificate of mbox-apiserver's) with the signed-in
 * user's token as the only credential, so kube-apiserver authenticates, authorizes and audits the user
 * as if their browser had called it. What the browser sent as credentials or identity (Authorization,
 * Cookie, Impersonate-*, X-Remote-*) is dropped. Bodies stream both ways as they come (watches), and a
 * WebSocket (exec, terminal, port-forward) is relayed after kube-apiserver's 101.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "apiserver/console.h"
#include "jsonutil.h"
#include "kube/status.h"
#include "kube/websocket.h"
#include "log.h"

#define DIAL_MS         10000
#define RESPONSE_MS     60000   /* how long kube-apiserver may take to start its response */
#define STREAM_MS       3600000 /* a watch may be silent this long (kube-apiserver ends one within 30 min) */
#define REVIEW_MAX      (1024 * 1024)
#define SSR_PATH        "/apis/authentication.k8s.io/v1/selfsubjectreviews"
#define UPGRADE_IDLE_MS (30 * 60 * 1000L)

/* A connection to kube-apiserver with no credential of mbox-apiserver's on it: its socket, the server's
 * host[:port] (for Host) and path prefix. */
static int dial(struct apiserver *s, int *ret_fd, char *host, size_t hsize, char *prefix, size_t psize,
        struct merr *err) {
        struct kube_client *kc;
        int r = kube_pool_get(s->clients, &kc, err);
        if (r < 0)
                return r;
        const struct kube_config *cfg = kube_client_config(kc);
        const char *pre = "";
        r = kube_tls_tunnel(cfg, DIAL_MS, ret_fd, &pre, err);
        if (r >= 0) {
                const char *a = cfg->server + strlen("https://");
                snprintf(host, hsize, "%.*s", (int) (pre - a), a);
                snprintf(prefix, psize, "%s", pre);
        }
        kube_pool_put(s->clients, kc);
        return r;
}

/* ---- who a token is */

/* {"username":…,"groups":[…]} from a SelfSubjectReview's status.userInfo. */
static json_object *who(json_object *review) {
        json_object *st, *ui, *name, *groups;
        if (!json_object_object_get_ex(review, "status", &st) ||
                !json_object_object_get_ex(st, "userInfo", &ui) ||
                !json_object_object_get_ex(ui, "username", &name) ||
                !json_object_is_type(name, json_type_string))
                return NULL;
        json_object *o = json_object_new_object(), *g = json_object_new_array();
        json_object_object_add(o, "username", json_object_get(name));
        if (json_object_object_get_ex(ui, "groups", &groups) && json_object_is_type(groups, json_type_array))
                for (size_t i = 0; i < json_object_array_length(groups); i++) {
                        json_object *e = json_object_array_get_idx(groups, i);
                        if (json_object_is_type(e, json_type_string))
                                json_object_array_add(g, json_object_get(e));
                }
        json_object_object_add(o, "groups", g);
        return o;
}

int console_review(struct console_conn *c, const char *token, json_object **ret, char *msg, size_t size) {
        static const char review[] =
                "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}";
        _cleanup_(buf_release) struct buf req = BUF_INIT(CONSOLE_TOKEN_MAX + 4096),
                                          body = BUF_INIT(REVIEW_MAX);
        char host[256], prefix[256], io[16 * 1024];
        struct merr err = MERR_INIT;
        struct api_upstream *up = calloc(1, sizeof(*up));
        if (!up) {
                snprintf(msg, size, "out of memory");
                return 503;
        }
        up->fd = -1;
        int code = 503;
        if (dial(c->s, &up->fd, host, sizeof(host), prefix, sizeof(prefix), &err) < 0) {
                snprintf(msg, size, "%s", merr_msg(&err));
                goto out;
        }
        buf_printf(&req,
                "POST %s" SSR_PATH " HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: "
                "application/json\r\nAccept: application/json\r\nUser-Agent: mbox-console\r\nContent-Length: "
                "%zu\r\nConnection: close\r\n\r\n%s",
                prefix, host, token, sizeof(review) - 1, review);
        int r = api_sock_write(up->fd, req.data, req.len, DIAL_MS);
        explicit_bzero(req.data, req.len);
        struct http_head h;
        long hn = r < 0 ? r : api_upstream_read_head(up, &h, RESPONSE_MS);
        struct http_body b;
        code = 502;
        if (hn < 0 || http_body_init(&b, &h, HTTP_RESPONSE, "POST") < 0) {
                snprintf(msg, size, "kube-apiserver sent no valid answer (%s)",
                        strerror((int) -(hn < 0 ? hn : -EBADMSG)));
                goto out;
        }
        int status = h.status;
        api_upstream_consume(up, (size_t) hn);
        ssize_t n;
        while ((n = api_body_next(
                        &b, up->fd, up->buf, &up->len, sizeof(up->buf), io, sizeof(io), RESPONSE_MS)) > 0)
                if (buf_append(&body, io, (size_t) n) < 0) {
                        n = -E2BIG;
                        break;
                }
        if (n < 0) {
                snprintf(msg, size, "kube-apiserver's answer did not come whole (%s)", strerror((int) -n));
                goto out;
        }
        if (status >= 200 && status < 300) {
                _cleanup_json_ json_object *o = json_tokener_parse(buf_str(&body));
                *ret = o ? who(o) : NULL;
                code = *ret ? 0 : 502;
                if (!*ret)
                        snprintf(msg, size,
                                "kube-apiserver's SelfSubjectReview has no status.userInfo.username");
                goto out;
        }
        struct kube_error ke;
        struct merr se = MERR_INIT;
        (void) kube_status_decode(status, body.data, body.len, &ke, &se);
        snprintf(msg, size, "%s", ke.message[0] ? ke.message : merr_msg(&se));
        code = status == 401 || status == 403 ? status : 502;
out:
        api_upstream_close(up);
        free(up);
        return code;
}

/* ---- passing requests on */

static bool named(const struct http_field *f, const char *name, bool prefix) {
        size_t n = strlen(name);
        return (prefix ? f->name_len >= n : f->name_len == n) && strncasecmp(f->name, name, n) == 0;
}

/* The fields the browser may not send on: its credentials and claims of identity (the token is the only
 * credential), the Host (kube-apiserver's own is sent), and what concerns this hop only. */
static bool dropped(const struct http_head *h, const struct http_field *f) {
        return http_field_hop_by_hop(h, f) || named(f, "authorization", false) || named(f, "cookie", false) ||
               named(f, "host", false) || named(f, "origin", false) || named(f, "expect", false) ||
               named(f, "impersonate-", true) || named(f, "x-remote-", true) ||
               named(f, "forwarded", false) || named(f, "x-forwarded-", true);
}

/* Whether the value of field name is exactly want. */
static bool field_is(const struct http_head *h, const char *name, const char *want) {
        size_t n;
        const char *v = http_head_get(h, name, &n);
        return v && n == strlen(want) && strncmp(v, want, n) == 0;
}

/* Whether a WebSocket comes from a page of the console itself: its Origin is this very host. A page of
 * another site cannot set Origin, and the browser sends the console's cookie to any page's WebSocket. */
static bool same_origin(const struct http_head *h) {
        size_t on, hn;
        const char *origin = http_head_get(h, "origin", &on), *host = http_head_get(h, "host", &hn);
        if (!origin || !host)
                return false;
        static const char *const schemes[] = {"http://", "https://"};
        for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
                size_t sn = strlen(schemes[i]);
                if (on == sn + hn && strncasecmp(origin, schemes[i], sn) == 0 &&
                        strncasecmp(origin + sn, host, hn) == 0)
                        return true;
        }
        return false;
}

/* Whether the n bytes at p, percent-decoded as kube-apiserver decodes a path, are word. */
static bool segment_is(const char *p, size_t n, const char *word) {
        int dn = 0;
        char *seg = curl_easy_unescape(NULL, p, (int) n, &dn);
        bool is = seg && (size_t) dn == strlen(word) && memcmp(seg, word, (size_t) dn) == 0;
        curl_free(seg);
        return is;
}

/* Whether the path (n bytes, before any query) is a proxy subresource: /api/v1/[namespaces/NS/]RES/NAME/proxy
 * or /apis/GROUP/VERSION/[namespaces/NS/]RES/NAME/proxy, and what follows. Those answer with what a pod,
 * a service or a node sends, which must never run on the console's origin with the console's cookie (a
 * sandbox's app is opened through its preview, on an origin of its own). */
static bool proxy_subresource(const char *path, size_t n) {
        const char *seg[12];
        size_t len[12], count = 0;
        for (size_t i = 0; i < n && count < ARRAY_SIZE(seg);) {
                while (i < n && path[i] == '/')
                        i++;
                size_t j = i;
                while (j < n && path[j] != '/')
                        j++;
                if (j > i) {
                        seg[count] = path + i;
                        len[count++] = j - i;
                }
                i = j;
        }
        if (count < 1)
                return false;
        size_t base = segment_is(seg[0], len[0], "api") ? 2 : 3;
        if (base < count && segment_is(seg[base], len[base], "namespaces"))
                base += 2;
        return base + 2 < count && segment_is(seg[base + 2], len[base + 2], "proxy");
}

/* Added to every answer passed on: a document from kube-apiserver (an artifact's bytes, a Status) opened in
 * the browser runs no script and is framed nowhere; the console's own fetches do not mind. */
#define PASSED_ON_HEADERS                                                                             \
        "Content-Security-Policy: sandbox; default-src 'none'\r\nX-Content-Type-Options: nosniff\r\n" \
        "X-Frame-Options: DENY\r\n"

bool console_proxy(struct console_conn *c, const char *token) {
        const struct http_head *h = &c->req;
        size_t n;
        bool safe = strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0 ||
                    strcmp(c->method, "OPTIONS") == 0;
        bool upgrade = http_head_has_token(h, "connection", "upgrade") && http_head_get(h, "upgrade", &n);
        if (!safe && !field_is(h, "x-mbox-console", "1")) {
                console_status(c, 403, "Forbidden", NULL,
                        "the console's %s requests must carry the header X-Mbox-Console: 1 (a guard against "
                        "requests that other sites make with the console's cookie)",
                        c->method);
                return c->keep;
        }
        size_t pn = h->target_len;
        const char *q = memchr(h->target, '?', h->target_len);
        if (q)
                pn = (size_t) (q - h->target);
        if (proxy_subresource(h->target, pn)) {
                console_status(c, 403, "Forbidden", NULL,
                        "the console does not pass on proxy subresources (what a pod, service or node "
                        "answers must not run as the console's page): open a sandbox's app through its "
                        "preview (the Preview tab, or mbox preview open)");
                return c->keep;
        }
        /* a field that Connection names is not passed on: framing and Host must reach kube-apiserver */
        if (http_head_has_token(h, "connection", "content-length") ||
                http_head_has_token(h, "connection", "transfer-encoding") ||
                http_head_has_token(h, "connection", "host")) {
                c->keep = false;
                console_status(c, 400, "BadRequest", NULL,
                        "the Connection field may not name Content-Length, Transfer-Encoding or Host");
                return false;
        }
        if (upgrade && !same_origin(h)) {
                size_t on;
                const char *o = http_head_get(h, "origin", &on);
                console_status(c, 403, "Forbidden", NULL,
                        "a WebSocket through the console must come from the console's own page: its Origin "
                        "(%.*s) is not this host",
                        o ? (int) (on > 200 ? 200 : on) : 4, o ? o : "none");
                return c->keep;
        }
        struct http_body body;
        if (http_body_init(&body, h, HTTP_REQUEST, NULL) < 0) {
                c->keep = false;
                console_status(c, 400, "BadRequest", NULL, "the request's framing is not valid");
                return false;
        }
        char host[256], prefix[256];
        struct merr err = MERR_INIT;
        _cleanup_(buf_release) struct buf head = BUF_INIT(64 * 1024 + CONSOLE_TOKEN_MAX);
        struct api_upstream *up = calloc(1, sizeof(*up));
        if (!up) {
                console_status(c, 503, "ServiceUnavailable", NULL, "out of memory");
                return false;
        }
        up->fd = -1;
        bool keep = false;
        if (dial(c->s, &up->fd, host, sizeof(host), prefix, sizeof(prefix), &err) < 0) {
                console_status(c, 503, "ServiceUnavailable", "Retry-After: 2\r\n",
                        "cannot reach kube-apiserver: %s", merr_msg(&err));
                goto out;
        }
        api_listener_set_upstream(c->l, c->slot, up->fd);
        long idle = c->s->opt.console_idle_timeout_ms;
        buf_printf(&head, "%.*s %s%.*s HTTP/1.1\r\nHost: %s\r\n", (int) h->method_len, h->method, prefix,
                (int) h->target_len, h->target, host);
        for (size_t i = 0; i < h->n_fields; i++) {
                const struct http_field *f = &h->fields[i];
                if (!dropped(h, f))
                        buf_printf(&head, "%.*s: %.*s\r\n", (int) f->name_len, f->name, (int) f->value_len,
                                f->value);
        }
        if (upgrade) {
                const char *u = http_head_get(h, "upgrade", &n);
                buf_printf(&head, "Connection: Upgrade\r\nUpgrade: %.*s\r\n", (int) n, u);
        } else
                buf_puts(&head, "Connection: close\r\n");
        buf_printf(&head, "Authorization: Bearer %s\r\n\r\n", token);
        bool expect = http_head_has_token(h, "expect", "100-continue");
        console_consume_head(c);
        int r = api_sock_write(up->fd, head.data, head.len, idle);
        explicit_bzero(head.data, head.len);
        if (r < 0) {
                console_status(c, 502, "BadGateway", NULL, "kube-apiserver closed the connection");
                goto out;
        }
        /* a client that waits for 100 Continue before its body gets it from here: kube-apiserver never saw
         * Expect */
        static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!http_body_done(&body) && expect && api_sock_write(c->fd, go_on, sizeof(go_on) - 1, idle) < 0)
                goto out;
        uint64_t count = 0;
        /* kube-apiserver may answer (a refusal) before it read the whole body, and then stop reading it:
         * that answer is still passed on, on a connection that ends after it */
        bool partial =
                api_pass_body(&body, c->fd, c->in, &c->in_len, sizeof(c->in), up->fd, &count, idle) < 0;
        if (partial)
                c->keep = false;
        struct http_head rh;
        long hn;
        for (;;) {
                hn = api_upstream_read_head(up, &rh, partial ? DIAL_MS : RESPONSE_MS);
                if (hn < 0) {
                        console_status(c, 502, "BadGateway", NULL, "kube-apiserver sent no valid answer (%s)",
                                strerror((int) -hn));
                        goto out;
                }
                if (rh.status == 101 || rh.status >= 200)
                        break;
                if (api_sock_write(c->fd, up->buf, (size_t) hn, idle) < 0)
                        goto out;
                api_upstream_consume(up, (size_t) hn);
        }
        if (rh.status == 101) {
                if (!upgrade) {
                        console_status(
                                c, 502, "BadGateway", NULL, "kube-apiserver switched protocols unasked");
                        goto out;
                }
                /* kube-apiserver's 101 as it is, what either side sent past the switch, then both ways */
                uint64_t in = 0, out_bytes = 0;
                if (api_sock_write(c->fd, up->buf, up->len, idle) < 0 ||
                        api_sock_write(up->fd, c->in, c->in_len, idle) < 0)
                        goto out;
                up->len = c->in_len = 0;
                const struct api_relay_opts ro = {.idle_ms = UPGRADE_IDLE_MS};
                api_relay(c->fd, up->fd, &ro, &in, &out_bytes);
                goto out;
        }
        struct http_body rb;
        if (http_body_init(&rb, &rh, HTTP_RESPONSE, c->method) < 0) {
                console_status(c, 502, "BadGateway", NULL, "kube-apiserver's response framing is not valid");
                goto out;
        }
        keep = c->keep && rb.framing != HTTP_BODY_UNTIL_CLOSE && !upgrade;
        head.len = 0;
        buf_printf(&head, "HTTP/1.1 %d %.*s\r\n", rh.status, (int) rh.reason_len, rh.reason);
        for (size_t i = 0; i < rh.n_fields; i++) {
                const struct http_field *f = &rh.fields[i];
                if (!http_field_hop_by_hop(&rh, f) && !named(f, "set-cookie", false) &&
                        !named(f, "content-security-policy", false) && !named(f, "x-frame-options", false) &&
                        !named(f, "x-content-type-options", false))
                        buf_printf(&head, "%.*s: %.*s\r\n", (int) f->name_len, f->name, (int) f->value_len,
                                f->value);
        }
        buf_puts(&head, PASSED_ON_HEADERS);
        buf_puts(&head, keep ? "\r\n" : "Connection: close\r\n\r\n");
        api_upstream_consume(up, (size_t) hn);
        if (api_sock_write(c->fd, head.data, head.len, idle) < 0 ||
                api_pass_body(&rb, up->fd, up->buf, &up->len, sizeof(up->buf), c->fd, &count, STREAM_MS) < 0)
                keep = false;
out:
        api_listener_set_upstream(c->l, c->slot, -1);
        api_upstream_close(up);
        free(up);
        c->keep = keep;
        return keep;
}
