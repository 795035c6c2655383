/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/websocket.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "kube/status.h"
#include "timestamp.h"

#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HANDSHAKE_MAX (64 * 1024)
#define STATUS_MAX    (64 * 1024)

static const char *ssl_error(void) {
        unsigned long e = ERR_get_error();

        return e ? ERR_reason_error_string(e) : "unknown TLS error";
}

/* TLS credentials from the in-memory blobs of the config: the same ones the REST client uses. */
#define CONNECT_TIMEOUT_MS 30000 /* when the caller sets no deadline */

/* Waits until w->fd is ready for events, the deadline passes or w->cancel is set: 0, -ETIMEDOUT,
 * -ECANCELED, or another negative errno. Wakes every 200 ms to look at the cancel flag. */
static int wait_fd(struct kws *w, short events) {
        for (;;) {
                if (w->cancel && atomic_load(w->cancel))
                        return -ECANCELED;
                long long left = w->deadline_ms - timestamp_monotonic_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pfd = {.fd = w->fd, .events = events};
                int n = poll(&pfd, 1, left < 200 ? (int) left : 200);
                if (n > 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return -errno;
        }
}

/* After an SSL call on the non-blocking socket returned ret: waits for what it wants (0), or says why it
 * cannot go on (< 0; -EIO for a TLS error or a closed connection). */
static int ssl_wait(struct kws *w, int ret) {
        int e = SSL_get_error(w->ssl, ret);
        if (e == SSL_ERROR_WANT_READ)
                return wait_fd(w, POLLIN);
        if (e == SSL_ERROR_WANT_WRITE)
                return wait_fd(w, POLLOUT);
        return -EIO;
}

/* SSL_read of up to n bytes within the deadline: the count (> 0), or < 0 (-EIO: closed or failed). */
static int ssl_read_some(struct kws *w, void *p, size_t n) {
        for (;;) {
                int r = SSL_read(w->ssl, p, (int) (n > INT32_MAX ? INT32_MAX : n));
                if (r > 0)
                        return r;
                int rc = ssl_wait(w, r);
                if (rc < 0)
                        return rc;
        }
}

static const char *why(int rc) {
        return rc == -ETIMEDOUT ? "timed out" : rc == -ECANCELED ? "cancelled" : NULL;
}

/* A new TLS context for cfg: its CA (or the system's), its client certificate, TLS 1.2 at least. */
static SSL_CTX *ctx_new(const struct kube_config *cfg, struct merr *err) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx) {
                merr_set(err, -ENOMEM, "TLS: %s", ssl_error());
                return NULL;
        }
        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        /* wslay resends the rest of a frame after a partial or blocked write, from a buffer that may move */
        /* a session may idle for hours: its record buffers go back between messages */
        (void) SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                             SSL_MODE_RELEASE_BUFFERS);
        if (cfg->insecure)
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        else {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
                if (cfg->ca.len > 0) {
                        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
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
                        if (n == 0) {
                                SSL_CTX_free(ctx);
                                merr_set(err, -EINVAL, "%s: no CA certificate could be read", cfg->source);
                                return NULL;
                        }
                } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
                        SSL_CTX_free(ctx);
                        merr_set(err, -EIO, "TLS: cannot load the system CAs");
                        return NULL;
                }
        }
        if (cfg->cert.len > 0) {
                BIO *cb = BIO_new_mem_buf(cfg->cert.data, (int) cfg->cert.len);
                BIO *kb = BIO_new_mem_buf(cfg->key.data, (int) cfg->key.len);
                X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
                EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
                bool ok = cert && key && SSL_CTX_use_certificate(ctx, cert) == 1 &&
                          SSL_CTX_use_PrivateKey(ctx, key) == 1;

                X509_free(cert);
                EVP_PKEY_free(key);
                BIO_free(cb);
                BIO_free(kb);
                if (!ok) {
                        merr_set(err, -EINVAL, "%s: client certificate: %s", cfg->source, ssl_error());
                        SSL_CTX_free(ctx);
                        return NULL;
                }
        }
        return ctx;
}

/* ---- TLS contexts and sessions, kept across dials ----
 *
 * Every dial to the same server with the same credentials shares one context (its CA store and key parsed
 * once) and resumes the last TLS session the server gave (no certificate exchange): an exec through
 * mbox-apiserver dials kube-apiserver once per session. A context is keyed by a digest of the server and
 * everything that shapes it, so a renewed client certificate makes a new one; the least recently used of
 * CTX_CACHE_MAX goes. */

#define CTX_CACHE_MAX 8

struct ctx_entry {
        unsigned char id[32];
        SSL_CTX *ctx;         /* one reference held here */
        SSL_SESSION *session; /* the newest the server gave, or NULL */
        unsigned long long used;
};

static struct ctx_entry ctx_cache[CTX_CACHE_MAX];
static unsigned long long ctx_clock;
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

static bool ctx_id(const struct kube_config *cfg, unsigned char id[32]) {
        unsigned int n = 0;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        bool ok =
                md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                EVP_DigestUpdate(md, cfg->server, strlen(cfg->server) + 1) == 1 &&
                EVP_DigestUpdate(md, cfg->insecure ? "i" : "v", 1) == 1 &&
                EVP_DigestUpdate(md, cfg->ca.data ? (const void *) cfg->ca.data : "", cfg->ca.len) == 1 &&
                EVP_DigestUpdate(md, "\n--\n", 4) == 1 &&
                EVP_DigestUpdate(md, cfg->cert.data ? (const void *) cfg->cert.data : "", cfg->cert.len) ==
                        1 &&
                EVP_DigestUpdate(md, "\n--\n", 4) == 1 &&
                EVP_DigestUpdate(md, cfg->key.data ? (const void *) cfg->key.data : "", cfg->key.len) == 1 &&
                EVP_DigestFinal_ex(md, id, &n) == 1 && n == 32;
        EVP_MD_CTX_free(md);
        return ok;
}

/* The server gave a session (TLS 1.3 sends it after the handshake): the newest is kept for the next dial. */
static int on_new_session(SSL *ssl, SSL_SESSION *session) {
        SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
        int kept = 0;
        pthread_mutex_lock(&ctx_lock);
        for (size_t i = 0; i < CTX_CACHE_MAX && !kept; i++)
                if (ctx_cache[i].ctx == ctx) {
                        if (ctx_cache[i].session)
                                SSL_SESSION_free(ctx_cache[i].session);
                        ctx_cache[i].session = session;
                        kept = 1;
                }
        pthread_mutex_unlock(&ctx_lock);
        return kept; /* 1: the reference is ours now */
}

/* The context for cfg (a reference for the caller) and, into ssl once it exists, the session to resume. */
static SSL_CTX *ctx_get(const struct kube_config *cfg, struct merr *err) {
        unsigned char id[32];
        if (!ctx_id(cfg, id))
                return ctx_new(cfg, err);
        pthread_mutex_lock(&ctx_lock);
        for (size_t i = 0; i < CTX_CACHE_MAX; i++)
                if (ctx_cache[i].ctx && memcmp(ctx_cache[i].id, id, sizeof(id)) == 0) {
                        SSL_CTX *ctx = ctx_cache[i].ctx;
                        ctx_cache[i].used = ++ctx_clock;
                        SSL_CTX_up_ref(ctx);
                        pthread_mutex_unlock(&ctx_lock);
                        return ctx;
                }
        pthread_mutex_unlock(&ctx_lock);
        SSL_CTX *ctx = ctx_new(cfg, err);
        if (!ctx)
                return NULL;
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, on_new_session);
        pthread_mutex_lock(&ctx_lock);
        size_t lru = 0;
        for (size_t i = 1; i < CTX_CACHE_MAX; i++)
                if (ctx_cache[i].used < ctx_cache[lru].used)
                        lru = i;
        struct ctx_entry *e = &ctx_cache[lru];
        if (e->session)
                SSL_SESSION_free(e->session);
        if (e->ctx)
                SSL_CTX_free(e->ctx); /* dials still using it hold their own references */
        *e = (struct ctx_entry){.ctx = ctx, .used = ++ctx_clock};
        memcpy(e->id, id, sizeof(id));
        SSL_CTX_up_ref(ctx);
        pthread_mutex_unlock(&ctx_lock);
        return ctx;
}

/* The session to resume on ssl, if its context's server gave one. */
static void ctx_resume(SSL *ssl) {
        SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
        pthread_mutex_lock(&ctx_lock);
        for (size_t i = 0; i < CTX_CACHE_MAX; i++)
                if (ctx_cache[i].ctx == ctx && ctx_cache[i].session) {
                        (void) SSL_set_session(ssl, ctx_cache[i].session);
                        break;
                }
        pthread_mutex_unlock(&ctx_lock);
}

static int tls_setup(struct kws *s, const struct kube_config *cfg, const char *host, struct merr *err) {
        struct merr fail = MERR_INIT;
        s->ctx = ctx_get(cfg, &fail);
        if (!s->ctx)
                return merr_set(err, fail.code ? fail.code : -ENOMEM, "%s",
                        fail.code ? fail.msg : "TLS: out of memory");
        s->ssl = SSL_new(s->ctx);
        if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
                return merr_set(err, -ENOMEM, "TLS: %s", ssl_error());
        ctx_resume(s->ssl);
        (void) SSL_set_tlsext_host_name(s->ssl, host);
        if (!cfg->insecure) {
                /* an IP address is matched against IP SANs, a name against DNS SANs */
                X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);

                if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 && SSL_set1_host(s->ssl, host) != 1)
                        return merr_set(err, -EIO, "TLS: cannot set the expected host '%s'", host);
                ERR_clear_error();
        }
        int r;
        while ((r = SSL_connect(s->ssl)) != 1) {
                int rc = ssl_wait(s, r);
                if (rc == -EIO)
                        return merr_set(
                                err, -EPROTO, "TLS handshake with '%s' failed: %s", host, ssl_error());
                if (rc < 0)
                        return merr_set(
                                err, rc, "TLS handshake with '%s': %s", host, why(rc) ? why(rc) : "failed");
        }
        return 0;
}

/* Splits "https://host:port/prefix" into its parts. */
static int parse_server(const char *server, char *host, size_t hsize, char *port, size_t psize,
        const char **prefix, struct merr *err) {
        const char *p, *end, *colon;

        if (strncmp(server, "https://", 8) != 0)
                return merr_set(err, -EPROTONOSUPPORT, "WebSocket needs an https server, not '%s'", server);
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

/* Connects w->fd (non-blocking) to host:port within the deadline. */
static int dial(struct kws *w, const char *host, const char *port, struct merr *err) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        int r;

        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return merr_set(err, -EHOSTUNREACH, "cannot resolve '%s': %s", host, gai_strerror(r));
        r = -ECONNREFUSED;
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                w->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                if (w->fd < 0)
                        continue;
                /* sessions are small messages both ways (a keystroke, its echo): none waits for more */
                (void) setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
                if (connect(w->fd, a->ai_addr, a->ai_addrlen) == 0)
                        r = 0;
                else if (errno != EINPROGRESS)
                        r = -errno;
                else if ((r = wait_fd(w, POLLOUT)) == 0) {
                        int e = 0;
                        socklen_t len = sizeof(e);
                        r = getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 ? -errno : -e;
                }
                if (r == 0 || r == -ETIMEDOUT || r == -ECANCELED)
                        break;
                close(w->fd);
                w->fd = -1;
        }
        freeaddrinfo(ai);
        if (r < 0)
                return merr_set(err, r, "cannot connect to '%s:%s'%s%s", host, port, why(r) ? ": " : "",
                        why(r) ? why(r) : "");
        return 0;
}

static int ssl_write_all(struct kws *w, const char *p, size_t n) {
        while (n > 0) {
                int k = SSL_write(w->ssl, p, (int) (n > INT32_MAX ? INT32_MAX : n));

                if (k <= 0) {
                        int rc = ssl_wait(w, k);
                        if (rc < 0)
                                return rc;
                        continue;
                }
                p += k;
                n -= (size_t) k;
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

static int handshake(struct kws *s, const char *token, const char *host, const char *port, const char *path,
        const char *const *protocols, const char *what, long *ret_code, struct merr *err) {
        _cleanup_(buf_release) struct buf req = BUF_INIT(256 * 1024), resp = BUF_INIT(HANDSHAKE_MAX);
        unsigned char nonce[16], sha[EVP_MAX_MD_SIZE];
        char key[32], accept[64], want[64], proto[64], keyguid[128];
        unsigned shalen = 0;
        char *end;
        long code;
        int r;

        if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t) sizeof(nonce))
                return merr_set(err, -EIO, "no randomness for the WebSocket key");
        base64(nonce, sizeof(nonce), key);
        r = buf_printf(&req,
                "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nUser-Agent: mbox/0.1\r\n"
                "Sec-WebSocket-Protocol: ",
                path, host, port, key);
        for (size_t i = 0; r >= 0 && protocols[i]; i++)
                r = buf_printf(&req, "%s%s", i ? ", " : "", protocols[i]);
        if (r >= 0)
                r = buf_puts(&req, "\r\n");
        if (r >= 0 && token)
                r = buf_printf(&req, "Authorization: Bearer %s\r\n", token);
        if (r >= 0)
                r = buf_puts(&req, "\r\n");
        if (r < 0)
                return merr_set(err, -E2BIG, "%s: request too long", what);
        r = ssl_write_all(s, req.data, req.len);
        memset(req.data, 0, req.len);
        if (r < 0 && why(r))
                return merr_set(err, r, "%s: sending the upgrade request %s", what, why(r));
        if (r < 0)
                return merr_set(err, -ECONNRESET, "%s: sending the upgrade request failed", what);

        /* read up to the end of the headers, byte by byte so nothing of the WebSocket stream is consumed */
        while (!strstr(buf_str(&resp), "\r\n\r\n")) {
                char ch;

                r = ssl_read_some(s, &ch, 1);
                if (r < 0 && why(r))
                        return merr_set(err, r, "%s: the upgrade %s", what, why(r));
                if (r != 1)
                        return merr_set(err, -ECONNRESET, "%s: connection closed during the upgrade", what);
                if (buf_putc(&resp, ch) < 0)
                        return merr_set(err, -E2BIG, "%s: upgrade response headers too large", what);
        }
        if (strncmp(buf_str(&resp), "HTTP/1.1 ", 9) != 0)
                return merr_set(err, -EPROTO, "%s: not an HTTP/1.1 response", what);
        errno = 0;
        code = strtol(buf_str(&resp) + 9, &end, 10);
        *ret_code = code;
        if (errno != 0 || end == buf_str(&resp) + 9)
                return merr_set(err, -EPROTO, "%s: bad status line", what);
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
                        int n = ssl_read_some(s, chunk, sizeof(chunk));

                        if (n <= 0 || buf_append(&body, chunk, (size_t) n) < 0)
                                break;
                }
                return kube_status_decode((int) code, body.data, body.len, &ke, err);
        }
        if (!header_value(buf_str(&resp), "Sec-WebSocket-Accept", accept, sizeof(accept)))
                return merr_set(err, -EPROTO, "%s: upgrade without Sec-WebSocket-Accept", what);
        (void) snprintf(keyguid, sizeof(keyguid), "%s%s", key, WS_GUID);
        if (EVP_Digest(keyguid, strlen(keyguid), sha, &shalen, EVP_sha1(), NULL) != 1)
                return merr_set(err, -EIO, "%s: SHA-1 unavailable", what);
        base64(sha, shalen, want);
        if (strcmp(accept, want) != 0)
                return merr_set(err, -EPROTO, "%s: wrong Sec-WebSocket-Accept", what);
        if (!header_value(buf_str(&resp), "Sec-WebSocket-Protocol", proto, sizeof(proto)))
                return merr_set(err, -EPROTO, "%s: the server chose no subprotocol", what);
        for (size_t i = 0; protocols[i]; i++)
                if (strcmp(proto, protocols[i]) == 0) {
                        (void) snprintf(s->protocol, sizeof(s->protocol), "%s", proto);
                        return 0;
                }
        return merr_set(err, -EPROTO, "%s: unexpected subprotocol '%s'", what, proto);
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *data, size_t len, int flags, void *user) {
        struct kws *s = user;
        int n;

        (void) flags;
        if (s->can_recv && !s->can_recv(s->userdata)) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (s->replaying) {
                size_t left = s->replay_len - s->replay_off;

                if (left == 0) {
                        s->closed = true;
                        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                        return -1;
                }
                /* odd chunk sizes, so frames straddle reads as they do on a socket */
                if (len > left)
                        len = left;
                if (len > 7)
                        len = len / 2 + 1;
                memcpy(data, s->replay + s->replay_off, len);
                s->replay_off += len;
                return (ssize_t) len;
        }
        n = SSL_read(s->ssl, data, (int) (len > INT32_MAX ? INT32_MAX : len));
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
        struct kws *s = user;
        int n;

        (void) flags;
        if (s->replaying)
                return (ssize_t) len;
        n = SSL_write(s->ssl, data, (int) (len > INT32_MAX ? INT32_MAX : len));
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
        struct kws *s = user;

        (void) ctx;
        if (s->replaying) {
                memset(buf, 0, len);
                return 0;
        }
        return getrandom(buf, len, 0) == (ssize_t) len ? 0 : -1;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *user) {
        struct kws *s = user;

        (void) ctx;
        if (m->opcode == WSLAY_CONNECTION_CLOSE) {
                s->closed = true;
                return;
        }
        /* empty messages carry nothing; text frames belong to the base64 protocols, which are not offered */
        if (m->opcode != WSLAY_BINARY_FRAME || m->msg_length == 0)
                return;
        if (s->on_msg)
                s->on_msg(s, m->msg, m->msg_length, s->userdata);
}

static int ws_init(struct kws *w) {
        struct wslay_event_callbacks cbs = {.recv_callback = ws_recv,
                .send_callback = ws_send,
                .genmask_callback = ws_genmask,
                .on_msg_recv_callback = ws_on_msg};

        if (wslay_event_context_client_init(&w->ws, &cbs, w) != 0)
                return -ENOMEM;
        wslay_event_config_set_max_recv_msg_length(w->ws, KWS_MAX_MSG);
        return 0;
}

int kws_connect(struct kws *w, struct kube_client *c, const char *path_query, const char *const *protocols,
        const char *what, struct merr *err) {
        _cleanup_(buf_release) struct buf path = BUF_INIT(256 * 1024);
        const struct kube_config *cfg = kube_client_config(c);
        char host[256], port[16];
        const char *prefix = "", *token = NULL;
        long code = 0;
        int64_t t0 = timestamp_monotonic_ms();
        int r;

        r = parse_server(cfg->server, host, sizeof(host), port, sizeof(port), &prefix, err);
        if (r < 0)
                return r;
        if (buf_puts(&path, prefix) < 0 || buf_puts(&path, path_query) < 0)
                return merr_set(err, -E2BIG, "%s: request too long", what);
        if (!w->deadline_ms)
                w->deadline_ms = timestamp_monotonic_ms() + CONNECT_TIMEOUT_MS;
        r = dial(w, host, port, err);
        /* the token first: an exec credential plugin that runs again may also renew the certificate */
        if (r >= 0)
                r = kube_config_token((struct kube_config *) cfg, &token, err);
        if (r >= 0 || token)
                r = tls_setup(w, cfg, host, err);
        if (r >= 0)
                r = handshake(w, token, host, port, buf_str(&path), protocols, what, &code, err);
        if (r >= 0 && ws_init(w) < 0)
                r = merr_set(err, -ENOMEM, "out of memory");
        if (kube_client_traced(c)) {
                _cleanup_(buf_release) struct buf url = BUF_INIT(256 * 1024);
                (void) buf_printf(&url, "%s%s", cfg->server, path_query);
                kube_client_trace(
                        c, "GET", buf_str(&url), (int) code, (double) (timestamp_monotonic_ms() - t0) / 1000);
        }
        if (r < 0) {
                kws_close(w);
                return r;
        }
        (void) fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
        return 0;
}

/* ---- a TLS tunnel for someone else's requests */

#define TUNNEL_BUF     (64 * 1024)
#define TUNNEL_IDLE_MS (60 * 60 * 1000) /* neither side moved a byte this long: the tunnel ends */

struct tunnel {
        struct kws w; /* the TLS side */
        int plain;    /* the tunnel's end of the socket pair */
        /* bytes read from one side and not yet written to the other: up (plain -> TLS), down (TLS -> plain) */
        char up[TUNNEL_BUF], down[TUNNEL_BUF];
        size_t up_len, up_off, down_len, down_off;
        /* up ended: the server stopped taking bytes (it may have answered a request before reading all of
         * its body, then closed); what it sent still goes down */
        bool up_done;
};

/* One step of each direction, never blocking: what either side has is taken only once the other side took
 * what came before, so a peer that stops reading holds back its own direction only, never the other
 * (a terminal that pastes a lot while its command prints a lot). Returns < 0 when the tunnel ends; sets
 * the poll events each socket waits for, and *ready when TLS holds decrypted bytes to read at once. */
static int tunnel_step(struct tunnel *t, short *tls_ev, short *plain_ev, bool *ready, bool *moved) {
        struct kws *w = &t->w;
        *tls_ev = *plain_ev = 0;
        *ready = false;
        /* down: TLS -> plain; the tunnel ends once the server has closed and all it sent is delivered */
        if (t->down_off < t->down_len) {
                ssize_t k = send(t->plain, t->down + t->down_off, t->down_len - t->down_off,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0) {
                        t->down_off += (size_t) k;
                        *moved = true;
                } else if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return -1;
        }
        if (t->down_off == t->down_len) {
                t->down_off = t->down_len = 0;
                int n = SSL_read(w->ssl, t->down, sizeof(t->down));
                if (n > 0) {
                        t->down_len = (size_t) n;
                        *moved = true;
                } else {
                        int e = SSL_get_error(w->ssl, n);
                        if (e == SSL_ERROR_WANT_READ)
                                *tls_ev |= POLLIN;
                        else if (e == SSL_ERROR_WANT_WRITE)
                                *tls_ev |= POLLOUT;
                        else
                                return -1; /* closed, or broken */
                }
        }
        if (t->down_off < t->down_len)
                *plain_ev |= POLLOUT;
        else
                *ready = SSL_has_pending(w->ssl);
        /* up: plain -> TLS (a write that wanted more is repeated with the same bytes, as OpenSSL asks) */
        if (t->up_off == t->up_len) {
                t->up_off = t->up_len = 0;
                ssize_t n = recv(t->plain, t->up, sizeof(t->up), MSG_DONTWAIT);
                if (n > 0) {
                        /* once up ended, the rest is read and dropped, so the sender gets to its answer */
                        t->up_len = t->up_done ? 0 : (size_t) n;
                        *moved = true;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        return -1; /* whoever used the tunnel has gone */
        }
        if (!t->up_done && t->up_off < t->up_len) {
                int n = SSL_write(w->ssl, t->up + t->up_off, (int) (t->up_len - t->up_off));
                if (n > 0) {
                        t->up_off += (size_t) n;
                        *moved = true;
                } else {
                        int e = SSL_get_error(w->ssl, n);
                        if (e == SSL_ERROR_WANT_WRITE)
                                *tls_ev |= POLLOUT;
                        else if (e == SSL_ERROR_WANT_READ)
                                *tls_ev |= POLLIN;
                        else {
                                t->up_done = true;
                                t->up_off = t->up_len = 0;
                                *moved = true;
                        }
                }
        }
        if (t->up_off == t->up_len)
                *plain_ev |= POLLIN;
        return 0;
}

/* Passes bytes between the plain end of the pair and TLS until either side ends or both are idle for
 * TUNNEL_IDLE_MS. */
static void *tunnel_main(void *arg) {
        struct tunnel *t = arg;
        struct kws *w = &t->w;
        sigset_t old;
        kws_sigpipe_block(&old);
        (void) fcntl(t->plain, F_SETFL, fcntl(t->plain, F_GETFL) | O_NONBLOCK);
        int64_t last = timestamp_monotonic_ms();
        for (;;) {
                short tls_ev, plain_ev;
                bool ready, moved = false;
                if (tunnel_step(t, &tls_ev, &plain_ev, &ready, &moved) < 0)
                        break;
                int64_t now = timestamp_monotonic_ms();
                if (moved) {
                        last = now;
                        continue; /* step again until neither side has anything */
                }
                if (now - last >= TUNNEL_IDLE_MS)
                        break;
                if (ready)
                        continue;
                struct pollfd p[2] = {{.fd = w->fd, .events = tls_ev}, {.fd = t->plain, .events = plain_ev}};
                if (poll(p, 2, (int) (TUNNEL_IDLE_MS - (now - last))) < 0 && errno != EINTR)
                        break;
                /* whoever used the tunnel has gone: what is left for it has no reader */
                if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))
                        break;
        }
        close(t->plain);
        kws_close(w);
        free(t);
        kws_sigpipe_restore(&old);
        return NULL;
}

int kube_tls_tunnel(const struct kube_config *cfg, long timeout_ms, int *ret_fd, const char **ret_prefix,
        struct merr *err) {
        char host[256], port[16];
        const char *prefix = "";
        int pair[2];
        int r = parse_server(cfg->server, host, sizeof(host), port, sizeof(port), &prefix, err);
        if (r < 0)
                return r;
        /* the server and its CA only: whoever uses the tunnel authenticates on it */
        const struct kube_config anon = {
                .source = cfg->source, .server = cfg->server, .ca = cfg->ca, .insecure = cfg->insecure};
        struct tunnel *t = calloc(1, sizeof(*t));
        if (!t)
                return merr_set(err, -ENOMEM, "out of memory");
        struct kws *w = &t->w;
        w->fd = -1;
        w->deadline_ms = timestamp_monotonic_ms() + timeout_ms;
        r = dial(w, host, port, err);
        if (r >= 0)
                r = tls_setup(w, &anon, host, err);
        if (r >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                r = merr_set(err, -errno, "socketpair: %s", strerror(errno));
        if (r < 0) {
                kws_close(w);
                free(t);
                return r;
        }
        t->plain = pair[1];
        pthread_t th;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 256 * 1024);
        r = pthread_create(&th, &a, tunnel_main, t);
        pthread_attr_destroy(&a);
        if (r != 0) {
                close(pair[0]), close(pair[1]);
                kws_close(w);
                free(t);
                return merr_set(err, -EAGAIN, "no thread for a connection to '%s'", cfg->server);
        }
        *ret_fd = pair[0];
        if (ret_prefix)
                *ret_prefix = prefix;
        return 0;
}

int kws_replay_init(struct kws *w, const uint8_t *data, size_t len) {
        w->replaying = true;
        w->replay = data;
        w->replay_len = len;
        w->replay_off = 0;
        return ws_init(w);
}

void kws_close_normally(struct kws *w, int timeout_ms) {
        if (!w->ws || w->closed || w->replaying)
                return;
        (void) wslay_event_queue_close(w->ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
        for (int waited = 0; waited < timeout_ms && !w->closed && wslay_event_want_write(w->ws); waited += 50)
                if (kws_pump(w, 50) < 0)
                        break;
}

void kws_close(struct kws *w) {
        if (w->ws)
                wslay_event_context_free(w->ws);
        w->ws = NULL;
        if (w->ssl) {
                (void) SSL_shutdown(w->ssl);
                SSL_free(w->ssl);
        }
        w->ssl = NULL;
        if (w->ctx)
                SSL_CTX_free(w->ctx);
        w->ctx = NULL;
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
        ERR_clear_error();
}

int kws_queue_raw(struct kws *w, const void *msg, size_t len) {
        struct wslay_event_msg m = {.opcode = WSLAY_BINARY_FRAME, .msg = msg, .msg_length = len};

        return wslay_event_queue_msg(w->ws, &m) == 0 ? 0 : -ENOMEM; /* wslay copies the message */
}

int kws_queue(struct kws *w, uint8_t channel, const void *data, size_t len) {
        _cleanup_free_ uint8_t *msg = malloc(len + 1);

        if (!msg)
                return -ENOMEM;
        msg[0] = channel;
        if (len)
                memcpy(msg + 1, data, len);
        return kws_queue_raw(w, msg, len + 1);
}

size_t kws_queued(struct kws *w) {
        return wslay_event_get_queued_msg_count(w->ws);
}

bool kws_active(struct kws *w) {
        return !w->closed && (wslay_event_want_read(w->ws) || wslay_event_want_write(w->ws));
}

static bool may_recv(struct kws *w) {
        return wslay_event_want_read(w->ws) && (!w->can_recv || w->can_recv(w->userdata));
}

short kws_events(struct kws *w) {
        short ev = 0;

        if (w->closed)
                return 0;
        if (may_recv(w))
                ev |= POLLIN;
        if (wslay_event_want_write(w->ws))
                ev |= POLLOUT;
        return ev;
}

bool kws_pending(struct kws *w) {
        return !w->closed && w->ssl && SSL_pending(w->ssl) > 0 && may_recv(w);
}

void kws_dispatch(struct kws *w, short revents) {
        if (w->closed)
                return;
        if ((kws_pending(w) || (revents & (POLLIN | POLLHUP | POLLERR))) && may_recv(w) &&
                wslay_event_recv(w->ws) != 0)
                w->closed = true;
        /* after the server's close, its answer (queued by wslay) still goes out: the server waits for it */
        if ((!w->closed || wslay_event_get_close_received(w->ws)) && wslay_event_want_write(w->ws) &&
                wslay_event_send(w->ws) != 0)
                w->closed = true;
}

int kws_pump(struct kws *w, int timeout_ms) {
        struct pollfd pfd = {.fd = w->fd, .events = kws_events(w)};

        if (w->closed)
                return 0;
        if (w->replaying) {
                kws_dispatch(w, POLLIN);
                return 0;
        }
        if (kws_pending(w))
                pfd.revents = POLLIN;
        else if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
                return -errno;
        kws_dispatch(w, pfd.revents);
        return 0;
}

void kws_sigpipe_block(sigset_t *old) {
        sigset_t pipe_set;

        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        (void) pthread_sigmask(SIG_BLOCK, &pipe_set, old);
}

void kws_sigpipe_restore(const sigset_t *old) {
        sigset_t pipe_set;
        struct timespec zero = {0};

        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
                ;
        (void) pthread_sigmask(SIG_SETMASK, old, NULL);
}
