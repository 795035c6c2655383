/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The web console's listener (docs/console.md): its files from --console-dir, signing in with a
 * Kubernetes bearer token kept in an HttpOnly cookie, and the proxy to kube-apiserver (consoleproxy.c)
 * that sends every API call with that token. mbox-apiserver's own credentials are never used for a user.
 * One HTTP/1.1 listener of its own (listener.c), a thread per connection, as the preview gateway.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiserver/console.h"
#include "jsonutil.h"
#include "log.h"

#define SIGNIN_MAX (64 * 1024) /* bytes of a request body the console reads itself */

/* on every answer of the console's own, and on its files */
#define SECURITY_HEADERS                                                                              \
        "Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' " \
        "'unsafe-inline'; img-src 'self' data:\r\n"                                                   \
        "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n"

/* ---- answers */

static const char *reason_phrase(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 204:
                return "No Content";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 413:
                return "Content Too Large";
        case 415:
                return "Unsupported Media Type";
        case 431:
                return "Request Header Fields Too Large";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        default:
                return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
        }
}

/* The head of a response whose body is len bytes: 0, or < 0 when the client is gone. */
static int send_head(struct console_conn *c, int status, const char *type, const char *extra, size_t len) {
        _cleanup_(buf_release) struct buf head = BUF_INIT(64 * 1024);
        buf_printf(&head, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
        if (type)
                buf_printf(&head, "Content-Type: %s\r\n", type);
        if (status != 204)
                buf_printf(&head, "Content-Length: %zu\r\n", len);
        buf_printf(&head, SECURITY_HEADERS "%s%s\r\n", extra ? extra : "",
                c->keep ? "" : "Connection: close\r\n");
        int r = api_sock_write(c->fd, head.data, head.len, 5000);
        if (r < 0)
                c->keep = false;
        return r;
}

void console_respond(struct console_conn *c, int status, const char *content_type, const char *extra,
        const void *body, size_t len) {
        if (send_head(c, status, content_type, extra, len) == 0 && len && strcmp(c->method, "HEAD") != 0 &&
                api_sock_write(c->fd, body, len, 30000) < 0)
                c->keep = false;
}

void console_status(
        struct console_conn *c, int code, const char *reason, const char *extra, const char *fmt, ...) {
        char msg[1200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        _cleanup_json_ json_object *st = api_status_new("Failure", code, reason, msg);
        size_t n;
        const char *body = json_object_to_json_string_length(st, JSON_C_TO_STRING_PLAIN, &n);
        /* an unread body would be taken for the next request */
        if (console_has_body(c))
                c->keep = false;
        _cleanup_(buf_release) struct buf h = BUF_INIT(64 * 1024);
        buf_printf(&h, "Cache-Control: no-store\r\n%s", extra ? extra : "");
        console_respond(c, code, "application/json", h.data, body, n);
}

static void respond_json(struct console_conn *c, int status, json_object *o, const char *extra) {
        _cleanup_(buf_release) struct buf h = BUF_INIT(64 * 1024);
        size_t n;
        const char *body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
        buf_printf(&h, "Cache-Control: no-store\r\n%s", extra ? extra : "");
        console_respond(c, status, "application/json", h.data, body, n);
}

void console_consume_head(struct console_conn *c) {
        size_t n = c->req.size;
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
        c->req = (struct http_head){0}; /* its fields pointed into what moved */
}

bool console_has_body(const struct console_conn *c) {
        size_t n;
        const char *cl = http_head_get(&c->req, "content-length", &n);
        return http_head_get(&c->req, "transfer-encoding", &n) || (cl && !(n == 1 && cl[0] == '0'));
}

/* ---- signing in */

/* Whether v is a token as the console keeps it: cookie-octets (RFC 6265; printable ASCII but for space,
 * '"', ',', ';' and '\'), at least one. */
static bool token_ok(const char *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (v[i] <= 0x20 || v[i] >= 0x7f || strchr("\",;\\", v[i]))
                        return false;
        return n > 0;
}

/* The signed-in token: the one mbox_console cookie, as the sign-in set it. An empty or malformed one is
 * none (an empty token would reach kube-apiserver as an anonymous request), and so are two: cookies do not
 * keep to a port, so another service of this host may have set one of them. */
static bool console_token(const struct http_head *h, char *out, size_t size) {
        bool ok = api_cookie_count(h, CONSOLE_COOKIE) == 1 &&
                  api_cookie_get(h, CONSOLE_COOKIE, 0, out, size) && token_ok(out, strlen(out));
        if (!ok)
                explicit_bzero(out, size);
        return ok;
}

int api_console_signin_token(const char *body, size_t len, char *out, size_t size) {
        json_object *tok;
        struct json_tokener *t = json_tokener_new();
        if (!t)
                return -ENOMEM;
        json_object *o = json_tokener_parse_ex(t, body, (int) (len > INT32_MAX ? INT32_MAX : len));
        bool whole = o && json_tokener_get_error(t) == json_tokener_success;
        for (size_t i = whole ? json_tokener_get_parse_end(t) : len; i < len; i++)
                if (!strchr(" \t\r\n", body[i]) || !body[i])
                        whole = false;
        json_tokener_free(t);
        int r = 0;
        if (!whole || !json_object_is_type(o, json_type_object) ||
                !json_object_object_get_ex(o, "token", &tok) || !json_object_is_type(tok, json_type_string))
                r = -EBADMSG;
        else {
                const char *v = json_object_get_string(tok);
                size_t n = (size_t) json_object_get_string_len(tok);
                if (n >= size)
                        r = -E2BIG;
                else if (!token_ok(v, n))
                        r = -EINVAL;
                if (r == 0)
                        memcpy(out, v, n + 1);
        }
        json_object_put(o);
        return r;
}

/* Reads the request's body (at most SIGNIN_MAX bytes) into b: 0, -E2BIG, or another < 0. */
static int read_body(struct console_conn *c, struct buf *b) {
        struct http_body body;
        char io[16 * 1024];
        if (http_body_init(&body, &c->req, HTTP_REQUEST, NULL) < 0)
                return -EBADMSG;
        console_consume_head(c);
        for (;;) {
                ssize_t n =
                        api_body_next(&body, c->fd, c->in, &c->in_len, sizeof(c->in), io, sizeof(io), 30000);
                if (n == 0)
                        return 0;
                if (n < 0)
                        return (int) n;
                if (buf_append(b, io, (size_t) n) < 0)
                        return -E2BIG;
        }
}

static bool json_request(struct console_conn *c) {
        size_t n;
        const char *ct = http_head_get(&c->req, "content-type", &n);
        return ct && n >= 16 && strncasecmp(ct, "application/json", 16) == 0 &&
               (n == 16 || ct[16] == ';' || ct[16] == ' ');
}

/* The answer to a review that did not say who the token is. */
static void review_failed(struct console_conn *c, int code, const char *msg, bool signing_in) {
        if (code == 401)
                console_status(c, 401, "Unauthorized",
                        signing_in ? NULL
                                   : "Set-Cookie: " CONSOLE_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
                                     "SameSite=Strict\r\n",
                        "kube-apiserver does not accept this token (%s): sign in with a valid one, e.g. "
                        "kubectl create token SERVICEACCOUNT -n NAMESPACE",
                        msg);
        else
                console_status(c, code,
                        code == 403   ? "Forbidden"
                        : code == 503 ? "ServiceUnavailable"
                                      : "BadGateway",
                        NULL, "cannot ask kube-apiserver who the token is: %s", msg);
}

static void signin(struct console_conn *c) {
        _cleanup_(buf_release) struct buf body = BUF_INIT(SIGNIN_MAX);
        char token[CONSOLE_TOKEN_MAX + 1], msg[1024];
        if (strcmp(c->method, "POST") != 0) {
                console_status(c, 405, "MethodNotAllowed", "Allow: POST\r\n",
                        "sign in with POST /console/signin and {\"token\":\"...\"}");
                return;
        }
        if (!json_request(c)) {
                console_status(c, 415, "UnsupportedMediaType", NULL,
                        "send the token as JSON ({\"token\":\"...\"}) with Content-Type: application/json");
                return;
        }
        int r = read_body(c, &body);
        if (r < 0) {
                c->keep = false;
                console_status(c, r == -E2BIG ? 413 : 400,
                        r == -E2BIG ? "RequestEntityTooLarge" : "BadRequest", NULL,
                        r == -E2BIG ? "the sign-in body is larger than 64 KiB"
                                    : "the body did not come whole");
                return;
        }
        r = api_console_signin_token(body.data, body.len, token, sizeof(token));
        if (r < 0) {
                console_status(c, 400, "BadRequest", NULL, "%s",
                        r == -E2BIG ? "the token is longer than 8 KiB"
                        : r == -EINVAL
                                ? "the token is empty or holds characters no bearer token has (spaces, "
                                  "quotes, control characters)"
                                : "the body must be a JSON object {\"token\":\"<bearer token>\"}");
                return;
        }
        _cleanup_json_ json_object *who = NULL;
        int code = console_review(c, token, &who, msg, sizeof(msg));
        if (code != 0) {
                review_failed(c, code, msg, true);
                explicit_bzero(token, sizeof(token));
                return;
        }
        _cleanup_(buf_release) struct buf cookie = BUF_INIT(CONSOLE_TOKEN_MAX + 256);
        /* no Secure: the listener is plain HTTP (docs/console.md says how to serve it over TLS) */
        buf_printf(
                &cookie, "Set-Cookie: " CONSOLE_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict\r\n", token);
        explicit_bzero(token, sizeof(token));
        json_object *name;
        log_info("console sign-in", "user",
                json_object_object_get_ex(who, "username", &name) ? json_object_get_string(name) : "");
        respond_json(c, 200, who, cookie.data);
        explicit_bzero(cookie.data, cookie.len);
}

static void whoami(struct console_conn *c) {
        char token[CONSOLE_TOKEN_MAX + 1], msg[1024];
        if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
                console_status(c, 405, "MethodNotAllowed", "Allow: GET\r\n", "use GET /console/whoami");
                return;
        }
        if (!console_token(&c->req, token, sizeof(token))) {
                console_status(c, 401, "Unauthorized", NULL,
                        "not signed in: POST /console/signin with {\"token\":\"<bearer token>\"}");
                return;
        }
        _cleanup_json_ json_object *who = NULL;
        int code = console_review(c, token, &who, msg, sizeof(msg));
        explicit_bzero(token, sizeof(token));
        if (code != 0)
                review_failed(c, code, msg, false);
        else
                respond_json(c, 200, who, NULL);
}

static void signout(struct console_conn *c) {
        if (strcmp(c->method, "POST") != 0) {
                console_status(
                        c, 405, "MethodNotAllowed", "Allow: POST\r\n", "sign out with POST /console/signout");
                return;
        }
        if (console_has_body(c))
                c->keep = false;
        console_respond(c, 204, NULL,
                "Cache-Control: no-store\r\nSet-Cookie: " CONSOLE_COOKIE
                "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\r\n",
                NULL, 0);
}

/* ---- files */

int api_console_file(const char *path, size_t len, char *out, size_t size) {
        size_t o = 0;
        if (len == 0 || path[0] != '/' || size == 0)
                return -EINVAL;
        out[0] = 0;
        /* segment by segment, each decoded on its own: an escaped '/' cannot make a segment */
        for (size_t i = 1; i <= len;) {
                size_t n = 0;
                while (i + n < len && path[i + n] != '/')
                        n++;
                bool last = i + n >= len;
                if (n == 0 && last) /* a trailing slash */
                        break;
                int dn = 0;
                char *seg = n ? curl_easy_unescape(NULL, path + i, (int) n, &dn) : NULL;
                if (n && !seg)
                        return -ENOMEM;
                bool bad = dn == 0 || memchr(seg, 0, (size_t) dn) || memchr(seg, '/', (size_t) dn) ||
                           memchr(seg, '\\', (size_t) dn) || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0;
                bool fits = o + (size_t) dn + 2 <= size;
                if (!bad && fits) {
                        memcpy(out + o, seg, (size_t) dn);
                        o += (size_t) dn;
                        out[o++] = last ? 0 : '/';
                        out[o] = 0;
                }
                curl_free(seg);
                if (bad)
                        return -EINVAL;
                if (!fits)
                        return -E2BIG;
                i += n + 1;
        }
        return 0;
}

static const char *content_type(const char *file) {
        static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
                {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
                {".css", "text/css; charset=utf-8"}, {".json", "application/json"},
                {".map", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
                {".jpg", "image/jpeg"}, {".webp", "image/webp"}, {".ico", "image/x-icon"},
                {".woff2", "font/woff2"}, {".woff", "font/woff"}, {".ttf", "font/ttf"},
                {".txt", "text/plain; charset=utf-8"}, {".wasm", "application/wasm"}};
        const char *dot = strrchr(file, '.');
        for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
                if (strcasecmp(dot, types[i][0]) == 0)
                        return types[i][1];
        return "application/octet-stream";
}

/* The 503 page while the console's files are not there: the first thing someone who just ran make up
 * sees. */
static void not_built(struct console_conn *c) {
        static const char page[] =
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>The console is not built</title>"
                "<style>body{font:16px system-ui,sans-serif;margin:15vh auto;max-width:36em;padding:0 1em;"
                "color:#222}</style></head><body><h1>The console is not built</h1><p>Its files are not in "
                "the directory mbox-apiserver serves (--console-dir): run <code>make web</code>, then reload "
                "this page.</p></body></html>\n";
        if (console_has_body(c))
                c->keep = false;
        console_respond(c, 503, "text/html; charset=utf-8", "Cache-Control: no-store\r\nRetry-After: 5\r\n",
                page, sizeof(page) - 1);
}

static void plain(struct console_conn *c, int status, const char *text) {
        if (console_has_body(c))
                c->keep = false;
        console_respond(
                c, status, "text/plain; charset=utf-8", "Cache-Control: no-store\r\n", text, strlen(text));
}

/* Sends the open file fd (its size in st) whole. */
static void send_file(struct console_conn *c, int fd, const struct stat *st, const char *name, bool hashed) {
        char io[64 * 1024];
        /* Vite's hashed names under assets/ never change content; the rest (index.html) is asked again */
        const char *cache = hashed ? "Cache-Control: public, max-age=31536000, immutable\r\n"
                                   : "Cache-Control: no-cache\r\n";
        size_t left = (size_t) st->st_size;
        if (send_head(c, 200, content_type(name), cache, left) < 0 || strcmp(c->method, "HEAD") == 0)
                return;
        while (left) {
                ssize_t n = read(fd, io, left < sizeof(io) ? left : sizeof(io));
                if (n <= 0 || api_sock_write(c->fd, io, (size_t) n, 30000) < 0) {
                        c->keep = false; /* the length was promised: a short file ends the connection */
                        return;
                }
                left -= (size_t) n;
        }
}

static void serve_file(struct console_conn *c, const char *path, size_t len) {
        char rel[4096];
        if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
                plain(c, 405, "The console's files are read with GET.\n");
                return;
        }
        if (api_console_file(path, len, rel, sizeof(rel)) < 0) {
                plain(c, 400, "Bad request: the path is not one of the console's files.\n");
                return;
        }
        int dir = open(c->s->opt.console_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) {
                not_built(c);
                return;
        }
        const char *name = rel[0] ? rel : "index.html";
        int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
                close(fd);
                fd = -1;
        }
        const char *last = strrchr(rel, '/');
        last = last ? last + 1 : rel;
        if (fd < 0 && !strchr(last, '.')) { /* a route of the single-page app */
                name = "index.html";
                fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
                        close(fd);
                        fd = -1;
                }
                if (fd < 0) {
                        close(dir);
                        not_built(c);
                        return;
                }
        }
        close(dir);
        if (fd < 0) {
                plain(c, 404, "Not found.\n");
                return;
        }
        send_file(c, fd, &st, name, strncmp(name, "assets/", 7) == 0);
        close(fd);
}

/* ---- a connection */

/* Whether path (without the query) is one that kube-apiserver answers. */
static bool proxied(const char *p, size_t n) {
        static const char *const roots[] = {"/api", "/apis", "/version", "/openapi"};
        for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
                size_t rn = strlen(roots[i]);
                if (n >= rn && memcmp(p, roots[i], rn) == 0 && (n == rn || p[rn] == '/'))
                        return true;
        }
        return false;
}

static bool is_path(const char *p, size_t n, const char *want) {
        return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Serves the request in c->req; whether the connection may carry another. */
static bool serve(struct console_conn *c) {
        char token[CONSOLE_TOKEN_MAX + 1];
        const struct http_head *h = &c->req;
        c->keep = http_head_keep_alive(h);
        snprintf(c->method, sizeof(c->method), "%.*s", (int) (h->method_len < 15 ? h->method_len : 15),
                h->method);
        const char *q = memchr(h->target, '?', h->target_len);
        size_t pn = q ? (size_t) (q - h->target) : h->target_len;
        bool own = !proxied(h->target, pn);
        /* the console reads no body but the sign-in's: after one it would read as the next request */
        if (own && !is_path(h->target, pn, "/console/signin") && console_has_body(c))
                c->keep = false;
        if (is_path(h->target, pn, "/console/signin"))
                signin(c);
        else if (is_path(h->target, pn, "/console/whoami"))
                whoami(c);
        else if (is_path(h->target, pn, "/console/signout"))
                signout(c);
        else if (!own) {
                if (console_token(h, token, sizeof(token)))
                        (void) console_proxy(c, token);
                else
                        console_status(c, 401, "Unauthorized", NULL,
                                "not signed in to the console: POST /console/signin with "
                                "{\"token\":\"<bearer "
                                "token>\"} first");
                explicit_bzero(token, sizeof(token));
        } else
                serve_file(c, h->target, pn);
        /* what the handler did not read of a body stays unread: the connection then ends (c->keep) */
        if (c->keep && c->req.size)
                console_consume_head(c);
        return c->keep;
}

/* The request whose head of n bytes is in c->req, or one whose head is refused (n < 0). */
static bool serve_request(void *conn, long n) {
        struct console_conn *c = conn;
        if (n > 0)
                return serve(c);
        c->keep = false;
        snprintf(c->method, sizeof(c->method), "GET");
        if (n == -E2BIG)
                console_status(c, 431, "RequestHeaderFieldsTooLarge", NULL,
                        "the request's head is larger than 16 KiB");
        else
                console_status(c, 400, "BadRequest", NULL, "the request is not valid HTTP/1.1");
        return false;
}

static void serve_conn(struct api_listener *l, int fd, int slot, const char *peer) {
        (void) peer;
        struct console_conn *c = calloc(1, sizeof(*c));
        if (!c)
                return;
        *c = (struct console_conn){.l = l, .s = l->ud, .fd = fd, .slot = slot};
        api_serve_requests(fd, c->in, sizeof(c->in), &c->in_len, &c->req, c->s->opt.console_idle_timeout_ms,
                serve_request, c);
        explicit_bzero(c->in, sizeof(c->in));
        free(c);
}

int api_console_start(struct apiserver *s, struct merr *err) {
        int r = api_listener_new("console", "console-listen", s->opt.console_listen,
                s->opt.console_max_connections, serve_conn, s, &s->console, err);
        if (r >= 0 && access(s->opt.console_dir, R_OK | X_OK) < 0)
                log_warn("the console's files are not there yet: it answers 503 until make web builds them",
                        "dir", s->opt.console_dir);
        return r;
}

void api_console_stop(struct apiserver *s) {
        api_listener_free(s->console);
        s->console = NULL;
}
