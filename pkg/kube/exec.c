/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/exec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "buf.h"
#include "jsonutil.h"

#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HANDSHAKE_MAX (64 * 1024)
#define STATUS_MAX    (64 * 1024)
#define STDIN_CHUNK   (32 * 1024)

struct session {
        int fd;
        SSL_CTX *ctx;
        SSL *ssl;
        wslay_event_context_ptr ws;
        bool v5;
        const struct kube_exec_opts *o;
        struct kube_exec_result *res;
        struct buf status; /* channel 3 */
        int abort_r;       /* a sink asked to stop */
        bool closed;       /* the server closed the WebSocket or the connection */
};

static long long mono_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void session_close(struct session *s) {
        if (s->ws)
                wslay_event_context_free(s->ws);
        if (s->ssl) {
                (void) SSL_shutdown(s->ssl);
                SSL_free(s->ssl);
        }
        if (s->ctx)
                SSL_CTX_free(s->ctx);
        if (s->fd >= 0)
                close(s->fd);
        buf_release(&s->status);
}

static const char *ssl_error(void) {
        unsigned long e = ERR_get_error();

        return e ? ERR_reason_error_string(e) : "unknown TLS error";
}

/* TLS credentials from the in-memory blobs of the config: the same ones the REST client uses. */
static int tls_setup(struct session *s, const struct kube_config *cfg, const char *host, struct merr *err) {
        s->ctx = SSL_CTX_new(TLS_client_method());
        if (!s->ctx)
                return merr_set(err, -ENOMEM, "TLS: %s", ssl_error());
        (void) SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
        if (cfg->insecure)
                SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, NULL);
        else {
                SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
                if (cfg->ca.len > 0) {
                        X509_STORE *store = SSL_CTX_get_cert_store(s->ctx);
                        BIO *bio = BIO_new_mem_buf(cfg->ca.data, (int) cfg->ca.len);
                        X509 *x;
                        int n = 0;

                        while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
                                (void) X509_STORE_add_cert(store, x);
                                X509_free(x);
                                n++;
                        }
                        BIO_free(bio);
                        ERR_clear_error();
                        if (n == 0)
                                return merr_set(
                                        err, -EINVAL, "%s: no CA certificate could be read", cfg->source);
                } else if (SSL_CTX_set_default_verify_paths(s->ctx) != 1)
                        return merr_set(err, -EIO, "TLS: cannot load the system CAs");
        }
        if (cfg->cert.len > 0) {
                BIO *cb = BIO_new_mem_buf(cfg->cert.data, (int) cfg->cert.len);
                BIO *kb = BIO_new_mem_buf(cfg->key.data, (int) cfg->key.len);
                X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
                EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
                bool ok = cert && key && SSL_CTX_use_certificate(s->ctx, cert) == 1 &&
                          SSL_CTX_use_PrivateKey(s->ctx, key) == 1;

                X509_free(cert);
                EVP_PKEY_free(key);
                BIO_free(cb);
                BIO_free(kb);
                if (!ok)
                        return merr_set(err, -EINVAL, "%s: client certificate: %s", cfg->source, ssl_error());
        }
        s->ssl = SSL_new(s->ctx);
        if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
                return merr_set(err, -ENOMEM, "TLS: %s", ssl_error());
        (void) SSL_set_tlsext_host_name(s->ssl, host);
        if (!cfg->insecure) {
                /* an IP address is matched against IP SANs, a name against DNS SANs */
                X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);

                if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 && SSL_set1_host(s->ssl, host) != 1)
                        return merr_set(err, -EIO, "TLS: cannot set the expected host '%s'", host);
                ERR_clear_error();
        }
        if (SSL_connect(s->ssl) != 1)
                return merr_set(err, -EPROTO, "TLS handshake with '%s' failed: %s", host, ssl_error());
        return 0;
}

/* Splits "https://host:port/prefix" into its parts. */
static int parse_server(const char *server, char *host, size_t hsize, char *port, size_t psize,
        const char **prefix, struct merr *err) {
        const char *p, *end, *colon;

        if (strncmp(server, "https://", 8) != 0)
                return merr_set(err, -EPROTONOSUPPORT, "exec needs an https server, not '%s'", server);
        p = server + 8;
        end = p + strcspn(p, "/");
        *prefix = end;
        if (*p == '[') { /* [v6]:port */
                const char *close = memchr(p, ']', (size_t) (end - p));

                if (!close)
                        return merr_set(err, -EINVAL, "bad server address '%s'", server);
                (void) snprintf(host, hsize, "%.*s", (int) (close - p - 1), p + 1);
                colon = close[1] == ':' ? close + 1 : NULL;
        } else {
                colon = memchr(p, ':', (size_t) (end - p));
                (void) snprintf(host, hsize, "%.*s", (int) ((colon ? colon : end) - p), p);
        }
        (void) snprintf(port, psize, "%.*s", colon ? (int) (end - colon - 1) : 3, colon ? colon + 1 : "443");
        return 0;
}

static int dial(const char *host, const char *port, struct merr *err) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        int fd = -1, r;

        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return merr_set(err, -EHOSTUNREACH, "cannot resolve '%s': %s", host, gai_strerror(r));
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0)
                        continue;
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                        break;
                r = -errno;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0)
                return merr_set(err, r < 0 ? r : -ECONNREFUSED, "cannot connect to '%s:%s'", host, port);
        return fd;
}

static int ssl_write_all(SSL *ssl, const char *p, size_t n) {
        while (n > 0) {
                int w = SSL_write(ssl, p, (int) (n > INT32_MAX ? INT32_MAX : n));

                if (w <= 0)
                        return -EIO;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

static void base64(const unsigned char *in, size_t n, char *out) {
        (void) EVP_EncodeBlock((unsigned char *) out, in, (int) n);
}

static const char *header_value(const char *headers, const char *name, char *out, size_t size) {
        size_t nl = strlen(name);

        for (const char *l = strstr(headers, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
                const char *line = l + 2;

                if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
                        const char *v = line + nl + 1;
                        size_t len;

                        v += strspn(v, " \t");
                        len = strcspn(v, "\r");
                        (void) snprintf(out, size, "%.*s", (int) len, v);
                        return out;
                }
        }
        return NULL;
}

static int handshake(struct session *s, struct kube_client *c, const char *host, const char *port,
        const char *path, struct merr *err) {
        _cleanup_(buf_release) struct buf req = BUF_INIT(256 * 1024), resp = BUF_INIT(HANDSHAKE_MAX);
        unsigned char nonce[16], sha[EVP_MAX_MD_SIZE];
        char key[32], accept[64], want[64], proto[64], keyguid[128];
        const char *token = NULL;
        unsigned shalen = 0;
        char *end;
        long code;
        int r;

        if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t) sizeof(nonce))
                return merr_set(err, -EIO, "no randomness for the WebSocket key");
        base64(nonce, sizeof(nonce), key);
        r = kube_config_token((struct kube_config *) kube_client_config(c), &token, err);
        if (r < 0 && !token)
                return r;
        r = buf_printf(&req,
                "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\nUser-Agent: mbox/0.1\r\n",
                path, host, port, key);
        if (r >= 0 && token)
                r = buf_printf(&req, "Authorization: Bearer %s\r\n", token);
        if (r >= 0)
                r = buf_puts(&req, "\r\n");
        if (r < 0)
                return merr_set(err, -E2BIG, "exec request too long");
        r = ssl_write_all(s->ssl, req.data, req.len);
        memset(req.data, 0, req.len);
        if (r < 0)
                return merr_set(err, -ECONNRESET, "exec: sending the upgrade request failed");

        /* read up to the end of the headers, byte by byte so nothing of the WebSocket stream is consumed */
        while (!strstr(buf_str(&resp), "\r\n\r\n")) {
                char ch;

                if (SSL_read(s->ssl, &ch, 1) != 1)
                        return merr_set(err, -ECONNRESET, "exec: connection closed during the upgrade");
                if (buf_putc(&resp, ch) < 0)
                        return merr_set(err, -E2BIG, "exec: upgrade response headers too large");
        }
        if (strncmp(buf_str(&resp), "HTTP/1.1 ", 9) != 0)
                return merr_set(err, -EPROTO, "exec: not an HTTP/1.1 response");
        errno = 0;
        code = strtol(buf_str(&resp) + 9, &end, 10);
        if (errno != 0 || end == buf_str(&resp) + 9)
                return merr_set(err, -EPROTO, "exec: bad status line");
        if (code != 101) {
                /* a refusal before the upgrade: an ordinary response with a Status body */
                _cleanup_(buf_release) struct buf body = BUF_INIT(STATUS_MAX);
                char clen[32];
                long want_len = -1;
                struct kube_error ke;

                if (header_value(buf_str(&resp), "Content-Length", clen, sizeof(clen)))
                        want_len = strtol(clen, NULL, 10);
                while (want_len < 0 || (long) body.len < want_len) {
                        char chunk[4096];
                        int n = SSL_read(s->ssl, chunk, sizeof(chunk));

                        if (n <= 0 || buf_append(&body, chunk, (size_t) n) < 0)
                                break;
                }
                return kube_status_decode((int) code, body.data, body.len, &ke, err);
        }
        if (!header_value(buf_str(&resp), "Sec-WebSocket-Accept", accept, sizeof(accept)))
                return merr_set(err, -EPROTO, "exec: upgrade without Sec-WebSocket-Accept");
        (void) snprintf(keyguid, sizeof(keyguid), "%s%s", key, WS_GUID);
        if (EVP_Digest(keyguid, strlen(keyguid), sha, &shalen, EVP_sha1(), NULL) != 1)
                return merr_set(err, -EIO, "exec: SHA-1 unavailable");
        base64(sha, shalen, want);
        if (strcmp(accept, want) != 0)
                return merr_set(err, -EPROTO, "exec: wrong Sec-WebSocket-Accept");
        if (!header_value(buf_str(&resp), "Sec-WebSocket-Protocol", proto, sizeof(proto)))
                return merr_set(err, -EPROTO, "exec: the server chose no subprotocol");
        if (strcmp(proto, "v5.channel.k8s.io") != 0 && strcmp(proto, "v4.channel.k8s.io") != 0)
                return merr_set(err, -EPROTO, "exec: unexpected subprotocol '%s'", proto);
        s->v5 = strcmp(proto, "v5.channel.k8s.io") == 0;
        (void) snprintf(s->res->protocol, sizeof(s->res->protocol), "%s", proto);
        return 0;
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *data, size_t len, int flags, void *user) {
        struct session *s = user;
        int n;

        (void) flags;
        n = SSL_read(s->ssl, data, (int) len);
        if (n > 0)
                return n;
        switch (SSL_get_error(s->ssl, n)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        default:
                s->closed = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user) {
        struct session *s = user;
        int n;

        (void) flags;
        n = SSL_write(s->ssl, data, (int) len);
        if (n > 0)
                return n;
        switch (SSL_get_error(s->ssl, n)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        default:
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user) {
        (void) ctx, (void) user;
        return getrandom(buf, len, 0) == (ssize_t) len ? 0 : -1;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *user) {
        struct session *s = user;
        const char *p = (const char *) m->msg + 1;
        size_t n = m->msg_length ? m->msg_length - 1 : 0;
        int r = 0;

        (void) ctx;
        if (m->opcode == WSLAY_CONNECTION_CLOSE) {
                s->closed = true;
                return;
        }
        if (m->opcode != WSLAY_BINARY_FRAME || m->msg_length == 0 || n == 0)
                return; /* the ready frame and empty messages carry nothing */
        switch (m->msg[0]) {
        case 1:
                s->res->stdout_bytes += n;
                if (s->o->on_stdout)
                        r = s->o->on_stdout(p, n, s->o->userdata);
                break;
        case 2:
                s->res->stderr_bytes += n;
                if (s->o->on_stderr)
                        r = s->o->on_stderr(p, n, s->o->userdata);
                break;
        case 3:
                (void) buf_append(&s->status, p, n);
                break;
        default:
                break;
        }
        if (r < 0 && s->abort_r == 0)
                s->abort_r = r;
}

static int queue(struct session *s, uint8_t channel, const char *data, size_t len) {
        _cleanup_free_ uint8_t *msg = malloc(len + 1);
        struct wslay_event_msg m;

        if (!msg)
                return -ENOMEM;
        msg[0] = channel;
        if (len)
                memcpy(msg + 1, data, len);
        m = (struct wslay_event_msg){.opcode = WSLAY_BINARY_FRAME, .msg = msg, .msg_length = len + 1};
        return wslay_event_queue_msg(s->ws, &m) == 0 ? 0 : -ENOMEM; /* wslay copies the message */
}

static int send_resize(struct session *s, unsigned w, unsigned h) {
        char json[64];
        int n = snprintf(json, sizeof(json), "{\"Width\":%u,\"Height\":%u}", w, h);

        return queue(s, 4, json, (size_t) n);
}

/* The exit code from the status channel (kube-protocols.md §1.4): never from the message text. */
static int decode_status(struct session *s, struct merr *err) {
        _cleanup_json_ json_object *st = NULL;
        const char *status = NULL, *reason = NULL, *message = NULL;
        json_object *causes = NULL;
        int r;

        if (s->status.len == 0)
                return merr_set(err, -ECONNRESET, "exec: the connection ended without an exit status");
        r = json_parse(s->status.data, s->status.len, 32, &st, err);
        if (r < 0 || json_get_string(st, "status", 0, &status, err) < 0)
                return merr_wrap(err, -EPROTO, "exec: bad status");
        if (strcmp(status, "Success") == 0) {
                s->res->exit_code = 0;
                return 0;
        }
        (void) json_get_string(st, "reason", JSON_OPTIONAL, &reason, NULL);
        (void) json_get_string(st, "message", JSON_OPTIONAL, &message, NULL);
        if (reason && strcmp(reason, "NonZeroExitCode") == 0 &&
                json_get_array(st, "details.causes", 0, &causes, NULL) > 0)
                for (size_t i = 0; i < json_object_array_length(causes); i++) {
                        json_object *cause = json_object_array_get_idx(causes, i);
                        const char *cr = NULL, *cm = NULL;
                        char *end;
                        long v;

                        if (json_get_string(cause, "reason", 0, &cr, NULL) <= 0 ||
                                strcmp(cr, "ExitCode") != 0 ||
                                json_get_string(cause, "message", 0, &cm, NULL) <= 0)
                                continue;
                        errno = 0;
                        v = strtol(cm, &end, 10);
                        if (errno != 0 || *end || end == cm || v < 0 || v > 255)
                                return merr_set(err, -EPROTO, "exec: bad exit code '%.16s'", cm);
                        s->res->exit_code = (int) v;
                        return 0;
                }
        return merr_set(err, -EIO, "exec failed: %s%s%s", reason ? reason : "Failure", message ? ": " : "",
                message ? message : "");
}

static int append_query(struct kube_client *c, struct buf *b, const char *k, const char *v) {
        (void) c;
        if (buf_printf(b, "%c%s=", strchr(buf_str(b), '?') ? '&' : '?', k) < 0)
                return -E2BIG;
        for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
                int r = (isalnum(*p) || strchr("-._~", *p)) ? buf_putc(b, (char) *p)
                                                            : buf_printf(b, "%%%02X", *p);

                if (r < 0)
                        return -E2BIG;
        }
        return 0;
}

static int exec_session(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err);

/* A peer that hangs up makes writes raise SIGPIPE. The library must not change the process's signal
 * handling, so SIGPIPE is blocked for this thread during the session and any pending one is consumed. */
int kube_exec(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err) {
        sigset_t pipe_set, old;
        struct timespec zero = {0};
        int r;

        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        (void) pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
        r = exec_session(c, o, ret, err);
        while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
                ;
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

static int exec_session(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err) {
        _cleanup_(buf_release) struct buf path = BUF_INIT(128 * 1024);
        const struct kube_config *cfg = kube_client_config(c);
        struct kube_exec_result res = {0};
        struct session s = {.fd = -1, .o = o, .res = &res};
        struct wslay_event_callbacks cbs = {.recv_callback = ws_recv,
                .send_callback = ws_send,
                .genmask_callback = ws_genmask,
                .on_msg_recv_callback = ws_on_msg};
        struct kube_resource pod = {.version = "v1",
                .resource = "pods",
                .namespace = o->namespace,
                .name = o->pod,
                .subresource = "exec"};
        char host[256], port[16];
        const char *prefix = "";
        size_t stdin_off = 0;
        bool stdin_open = o->has_stdin || o->stdin_fd >= 0;
        long long deadline = o->timeout_ms > 0 ? mono_ms() + o->timeout_ms : 0, next_resize = 0;
        int r;

        buf_init(&s.status, STATUS_MAX);
        if (!o->command || !o->command[0])
                return merr_set(err, -EINVAL, "exec: empty command");
        r = parse_server(cfg->server, host, sizeof(host), port, sizeof(port), &prefix, err);
        if (r < 0)
                return r;
        r = buf_puts(&path, prefix);
        if (r >= 0)
                r = kube_resource_path(&pod, &path, err);
        for (size_t i = 0; r >= 0 && o->command[i]; i++)
                r = append_query(c, &path, "command", o->command[i]);
        if (r >= 0 && o->container)
                r = append_query(c, &path, "container", o->container);
        if (r >= 0)
                r = append_query(c, &path, "stdin", stdin_open ? "true" : "false");
        if (r >= 0)
                r = append_query(c, &path, "stdout", "true");
        if (r >= 0)
                r = append_query(c, &path, "stderr", o->tty ? "false" : "true");
        if (r >= 0)
                r = append_query(c, &path, "tty", o->tty ? "true" : "false");
        if (r < 0)
                return merr_set(err, r, "exec: request too long");

        s.fd = dial(host, port, err);
        if (s.fd < 0)
                return s.fd;
        r = tls_setup(&s, cfg, host, err);
        if (r >= 0)
                r = handshake(&s, c, host, port, buf_str(&path), err);
        if (r >= 0 && wslay_event_context_client_init(&s.ws, &cbs, &s) != 0)
                r = merr_set(err, -ENOMEM, "out of memory");
        if (r < 0) {
                session_close(&s);
                return merr_wrap(err, r, "exec in pod '%s/%s'", o->namespace, o->pod);
        }
        (void) fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);

        if (o->tty && o->get_size) {
                unsigned w = 0, h = 0;

                if (o->get_size(&w, &h, o->userdata) || (w && h))
                        (void) send_resize(&s, w, h);
        }
        if (stdin_open && !s.v5 && o->has_stdin && o->stdin_len == 0 && o->stdin_fd < 0)
                stdin_open = false;

        while (!s.closed && s.abort_r == 0 && (wslay_event_want_read(s.ws) || wslay_event_want_write(s.ws))) {
                struct pollfd pfd = {.fd = s.fd, .events = POLLIN};
                long long now = mono_ms();
                int timeout = 100;

                if (deadline && now > deadline) {
                        r = merr_set(err, -ETIMEDOUT, "exec in pod '%s/%s': timed out after %ld ms",
                                o->namespace, o->pod, o->timeout_ms);
                        break;
                }
                /* feed stdin while little is queued, so a large input never piles up in memory */
                while (stdin_open && wslay_event_get_queued_msg_count(s.ws) < 8) {
                        char chunk[STDIN_CHUNK];
                        ssize_t n;

                        if (o->stdin_fd >= 0) {
                                n = read(o->stdin_fd, chunk, sizeof(chunk));
                                if (n < 0 && errno == EINTR)
                                        continue;
                                if (n < 0 && errno == EAGAIN)
                                        break;
                        } else {
                                n = (ssize_t) (o->stdin_len - stdin_off < sizeof(chunk)
                                                       ? o->stdin_len - stdin_off
                                                       : sizeof(chunk));
                                memcpy(chunk, o->stdin_data + stdin_off, (size_t) n);
                                stdin_off += (size_t) n;
                        }
                        if (n > 0) {
                                if (queue(&s, 0, chunk, (size_t) n) < 0)
                                        break;
                                continue;
                        }
                        /* end of input: v5 half-closes stdin; v4 cannot, so the process keeps its stdin */
                        if (s.v5)
                                (void) wslay_event_queue_msg(
                                        s.ws, &(struct wslay_event_msg){.opcode = WSLAY_BINARY_FRAME,
                                                      .msg = (const uint8_t *) "\xff\x00",
                                                      .msg_length = 2});
                        stdin_open = false;
                }
                if (o->tty && o->get_size && now >= next_resize) {
                        unsigned w = 0, h = 0;

                        if (o->get_size(&w, &h, o->userdata))
                                (void) send_resize(&s, w, h);
                        next_resize = now + 100;
                }
                if (wslay_event_want_write(s.ws))
                        pfd.events |= POLLOUT;
                if (SSL_pending(s.ssl) == 0 && poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
                        r = merr_set(err, -errno, "exec: poll failed");
                        break;
                }
                if ((SSL_pending(s.ssl) > 0 || (pfd.revents & (POLLIN | POLLHUP | POLLERR))) &&
                        wslay_event_recv(s.ws) != 0 && !s.closed) {
                        s.closed = true;
                }
                if (wslay_event_want_write(s.ws) && wslay_event_send(s.ws) != 0)
                        s.closed = true;
        }
        if (r >= 0 && s.abort_r < 0)
                r = merr_set(err, s.abort_r, "exec in pod '%s/%s': stopped by the output handler",
                        o->namespace, o->pod);
        if (r >= 0) {
                r = decode_status(&s, err);
                if (r < 0)
                        (void) merr_wrap(err, r, "exec in pod '%s/%s'", o->namespace, o->pod);
        }
        session_close(&s);
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}
