/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions in a sandbox (docs/sessions.md): sandboxes/NAME/exec and sandboxes/NAME/terminal, WebSockets
 * that speak exactly the pods/exec protocol (kube-protocols.md §1), relayed to the pods/exec of the
 * sandbox's main container.
 *
 * The request is checked whole before anything is switched: a WebSocket of v5.channel.k8s.io or
 * v4.channel.k8s.io, the sandbox running, the limits. Then the exec to kube-apiserver is opened with the
 * protocol the client chose, and only once kube-apiserver has switched protocols is the client answered
 * 101: a refusal reaches the client as the Status it is, and no connection is ever left open as a tunnel
 * that nothing checked (the CVE-2018-1002105 class). From then on one thread per session carries whole
 * channel messages both ways, as they are: what the client may send is stdin (0), resize (4) and close
 * (255); what kube-apiserver sends goes back unchanged, its status channel (3) read for the exit code.
 *
 * Each side reads only while the other side's queue is small, so a slow reader slows the writer down
 * instead of filling memory. The client gets a ping every SESSION_PING_S seconds; a session with no
 * message either way for the idle timeout is ended. Every session is a Session record (pkg/store/session.h):
 * who, what, when, bytes each way, exit code and how it ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "api/project.h"
#include "apiserver/internal.h"
#include "apiserver/recording.h"
#include "jsonutil.h"
#include "kube/exec.h"
#include "kube/websocket.h"
#include "log.h"
#include "operator/runtime.h"
#include "store/session.h"
#include "timestamp.h"

#define SESSION_QUEUE_MAX  (1u << 20) /* bytes queued toward one side before the other is no longer read */
#define SESSION_MSG_MAX    (1u << 20) /* a message from the client (stdin, a resize) */
#define SESSION_PING_S     30
#define SESSION_POLL_MS    200
#define SESSION_CLOSE_MS   5000 /* the client answers the close within this */
#define SESSION_ARGS_MAX   256  /* command words */
#define SESSION_ACTIVITY_S 60   /* how often an active session moves its sandbox's lastActivityAt */
#define WS_GUID            "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static const char *const protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", NULL};

struct session {
        struct apiserver *s;
        struct api_sandbox sb;
        char user[256], kind[16], protocol[32], key[600], user_key[300], project_key[600];
        /* the limits: the project's (spec.quota, spec.policy.lifecycle), else the flags'; 0: none */
        long max_in_sandbox, max_in_project;
        long long idle_ms;
        char record[37]; /* the uid of its Session record ("": none, without a database) */
        char **argv;
        size_t argc;
        bool words_lost;
        bool tty, stdin, stdout, stderr;
        /* the client's side: the upgraded connection, and what it sent before the switch */
        struct httpd_upgraded *up;
        int fd;
        const char *extra;
        size_t extra_len, extra_off;
        char *extra_copy;
        wslay_event_context_ptr ws;
        bool client_closed;
        /* kube-apiserver's side */
        struct kws up_ws;
        struct buf status; /* channel 3 */
        /* what the record says */
        long long bytes_in, bytes_out, last_ms, activity_ms; /* activity_ms: last told to the sandbox */
        bool activity_told, messages;                        /* messages: any passed, either way */
        int exit_code;                                       /* -1: unknown */
        const char *reason;
        /* its recording (recording.h): what the template asks for, and the recording while it runs */
        enum api_record record_mode;
        struct api_recording *recording;
};

/* ---- the limits: sessions open on this replica, by sandbox and by user ---- */

/* Adds delta to the count at key (under s->lock); a count that reaches 0 goes. */
static int add(struct apiserver *s, const char *key, long delta) {
        long *n = strmap_get(s->sessions, key);
        if (n) {
                *n += delta;
                if (*n <= 0)
                        strmap_remove(s->sessions, key);
                return 0;
        }
        long *v = malloc(sizeof(*v));
        if (!v || strmap_put(s->sessions, key, v) < 0) {
                free(v);
                return -ENOMEM;
        }
        *v = delta;
        return 0;
}

static long get(struct apiserver *s, const char *key) {
        long *n = strmap_get(s->sessions, key);
        return n ? *n : 0;
}

/* The limits of the session: the project's that owns the namespace (spec.quota.maxSessionsPerSandbox and
 * maxSessionsPerUser, spec.policy.lifecycle.sessionIdleTimeout), else the flags'. The project is looked up
 * for each session (its limits change with it), in the projects' cache; when it cannot be, the flags'
 * apply. */
static void limits(struct session *x) {
        struct apiserver *s = x->s;
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        char uid[37], name[256] = "";
        _cleanup_(project_freep) struct project *p = NULL;
        x->max_in_sandbox = (long) s->opt.max_sessions_per_sandbox;
        x->max_in_project = 0;
        x->idle_ms = s->opt.session_idle_timeout_ms;
        int r = s->store ? store_acquire(s->store, &conn, &err) : -ENOTCONN;
        if (r >= 0)
                r = store_namespace_project(conn, x->sb.ns, uid, name, sizeof(name), &err);
        if (s->store)
                store_release(s->store, conn);
        if (r <= 0 || api_project_get(s, name, &p, &err) < 0)
                return;
        if (p->spec.quota.has_max_sessions_per_sandbox)
                x->max_in_sandbox = (long) p->spec.quota.max_sessions_per_sandbox;
        if (p->spec.quota.has_max_sessions_per_user)
                x->max_in_project = (long) p->spec.quota.max_sessions_per_user;
        if (p->spec.policy.lifecycle.session_idle_timeout.text)
                x->idle_ms = p->spec.policy.lifecycle.session_idle_timeout.ns / 1000000;
}

/* Takes a place for the session by its sandbox and by its user, in one step under the lock (and not once
 * api_sessions_stop() has begun); answers 429 when either is full. */
static int admit(struct httpd_request *req, struct session *x) {
        struct apiserver *s = x->s;
        int r = 0;
        snprintf(x->key, sizeof(x->key), "s\t%s/%s", x->sb.ns, x->sb.name);
        snprintf(x->user_key, sizeof(x->user_key), "u\t%s", x->user);
        snprintf(x->project_key, sizeof(x->project_key), "p\t%s\t%s", x->sb.ns, x->user);
        pthread_mutex_lock(&s->lock);
        bool stopping = atomic_load(&s->sessions_stopping);
        bool full_sandbox = get(s, x->key) >= x->max_in_sandbox,
             full_user = get(s, x->user_key) >= (long) s->opt.max_sessions_per_user,
             full_here = x->max_in_project > 0 && get(s, x->project_key) >= x->max_in_project;
        if (!stopping && !full_sandbox && !full_user && !full_here) {
                r = add(s, x->key, 1);
                if (r >= 0 && (r = add(s, x->user_key, 1)) < 0)
                        (void) add(s, x->key, -1);
                if (r >= 0 && (r = add(s, x->project_key, 1)) < 0) {
                        (void) add(s, x->key, -1);
                        (void) add(s, x->user_key, -1);
                }
                if (r >= 0)
                        s->n_sessions++;
        }
        pthread_mutex_unlock(&s->lock);
        if (stopping) {
                httpd_respond_status(req, 503, "ServiceUnavailable", "mbox-apiserver is shutting down");
                return -ESHUTDOWN;
        }
        if (full_sandbox || full_user || full_here) {
                (void) httpd_request_add_header(req, "Retry-After", "5");
                if (full_sandbox)
                        httpd_respond_status(req, 429, "TooManyRequests",
                                "sandbox %s has %ld sessions open, the most it may: close one first",
                                x->sb.name, x->max_in_sandbox);
                else if (full_here)
                        httpd_respond_status(req, 429, "TooManyRequests",
                                "%s has %ld sessions open in this project, the most one user may "
                                "(spec.quota.maxSessionsPerUser): close one first",
                                x->user, x->max_in_project);
                else
                        httpd_respond_status(req, 429, "TooManyRequests",
                                "%s has %u sessions open, the most one user may: close one first", x->user,
                                s->opt.max_sessions_per_user);
                return -EUSERS;
        }
        if (r < 0)
                httpd_respond_status(req, 500, "InternalError", "out of memory");
        return r;
}

/* Gives the place back, in one step under the lock: api_sessions_stop() may free s as soon as it sees the
 * last one go. */
static void release(struct session *x) {
        struct apiserver *s = x->s;
        pthread_mutex_lock(&s->lock);
        (void) add(s, x->key, -1);
        (void) add(s, x->user_key, -1);
        (void) add(s, x->project_key, -1);
        s->n_sessions--;
        pthread_cond_broadcast(&s->sessions_done);
        pthread_mutex_unlock(&s->lock);
}

static void session_free(struct session *x) {
        if (!x)
                return;
        for (size_t i = 0; i < x->argc; i++)
                free(x->argv[i]);
        free(x->argv);
        free(x->extra_copy);
        if (x->ws)
                wslay_event_context_free(x->ws);
        kws_close(&x->up_ws);
        buf_release(&x->status);
        free(x);
}

/* ---- the request ---- */

static bool query_bool(struct httpd_request *req, const char *key, bool dflt) {
        const char *v = httpd_request_query(req, key);
        if (!v)
                return dflt;
        return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* One more word of the command; a word that cannot be kept (too many, no memory) sets x->words_lost, so
 * that no other command than the one asked for runs. */
static void add_word(const char *value, void *ud) {
        struct session *x = ud;
        char **grown;
        if (x->argc + 1 >= SESSION_ARGS_MAX || !(grown = realloc(x->argv, (x->argc + 2) * sizeof(*grown)))) {
                x->words_lost = true;
                return;
        }
        x->argv = grown;
        if ((x->argv[x->argc] = strdup(value)))
                x->argv[++x->argc] = NULL;
        else
                x->words_lost = true;
}

/* Whether the comma-separated header value list has token (case-insensitive). */
static bool has_token(const char *list, const char *token) {
        size_t n = strlen(token);
        for (const char *p = list; p && *p;) {
                p += strspn(p, " \t,");
                size_t len = strcspn(p, " \t,");
                if (len == n && strncasecmp(p, token, n) == 0)
                        return true;
                p += len;
        }
        return false;
}

/* The WebSocket handshake of the request (RFC 6455 §4.2.1): the protocol chosen into x->protocol, the
 * Sec-WebSocket-Accept into accept; or < 0 with the request answered. */
static int handshake(struct httpd_request *req, struct session *x, char accept[static 64]) {
        const char *upgrade = httpd_request_header(req, "Upgrade"),
                   *connection = httpd_request_header(req, "Connection"),
                   *version = httpd_request_header(req, "Sec-WebSocket-Version"),
                   *key = httpd_request_header(req, "Sec-WebSocket-Key"),
                   *offered = httpd_request_header(req, "Sec-WebSocket-Protocol");
        if (strcmp(httpd_request_method(req), "GET") != 0 || !upgrade ||
                strcasecmp(upgrade, "websocket") != 0 || !connection || !has_token(connection, "upgrade")) {
                httpd_respond_status(req, 400, "BadRequest",
                        "sandboxes/%s is a WebSocket (GET with Upgrade: websocket and Sec-WebSocket-Protocol "
                        "v5.channel.k8s.io or v4.channel.k8s.io), as pods/exec; SPDY is not served",
                        x->kind);
                return -EPROTO;
        }
        if (!version || strcmp(version, "13") != 0) {
                (void) httpd_request_add_header(req, "Sec-WebSocket-Version", "13");
                httpd_respond_status(req, 426, "UpgradeRequired", "Sec-WebSocket-Version must be 13");
                return -EPROTO;
        }
        if (!key || strlen(key) != 24) {
                httpd_respond_status(req, 400, "BadRequest", "Sec-WebSocket-Key must be 16 bytes in base64");
                return -EPROTO;
        }
        /* the first the client offers that is served, as kube-apiserver chooses */
        *x->protocol = '\0';
        for (const char *p = offered; p && *p && !*x->protocol;) {
                p += strspn(p, " \t,");
                size_t len = strcspn(p, " \t,");
                for (size_t i = 0; protocols[i] && !*x->protocol; i++)
                        if (len == strlen(protocols[i]) && strncmp(p, protocols[i], len) == 0)
                                snprintf(x->protocol, sizeof(x->protocol), "%s", protocols[i]);
                p += len;
        }
        if (!*x->protocol) {
                httpd_respond_status(req, 400, "BadRequest",
                        "Sec-WebSocket-Protocol offers none of v5.channel.k8s.io, v4.channel.k8s.io (got "
                        "\"%.128s\")",
                        offered ? offered : "");
                return -EPROTO;
        }
        unsigned char sha[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char text[64];
        snprintf(text, sizeof(text), "%s" WS_GUID, key);
        if (EVP_Digest(text, strlen(text), sha, &n, EVP_sha1(), NULL) != 1) {
                httpd_respond_status(req, 500, "InternalError", "cannot hash the WebSocket key");
                return -EIO;
        }
        EVP_EncodeBlock((unsigned char *) accept, sha, (int) n);
        return 0;
}

/* The command of a terminal: the template's Terminal entrypoint, else a login shell. */
static int terminal_command(struct session *x, struct merr *err) {
        struct kube_client *kc = NULL;
        json_object *t = NULL, *eps = NULL;
        struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "environmenttemplates",
                .namespace = x->sb.template_ns,
                .name = x->sb.template_name};
        int r = 0;
        if (*x->sb.template_name && (r = kube_pool_get(x->s->clients, &kc, err)) >= 0) {
                r = kube_get(kc, &rs, &t, err);
                kube_pool_put(x->s->clients, kc);
        }
        if (r == -ENOENT)
                r = 0; /* the template is gone: a shell */
        if (r < 0)
                return r;
        if (t && json_get_array(t, "spec.entrypoints", JSON_OPTIONAL, &eps, NULL) > 0)
                for (size_t i = 0; i < json_object_array_length(eps) && x->argc == 0; i++) {
                        json_object *ep = json_object_array_get_idx(eps, i), *cmd = NULL;
                        const char *type = NULL;
                        if (json_get_string(ep, "type", 0, &type, NULL) <= 0 ||
                                strcmp(type, "Terminal") != 0 ||
                                json_get_array(ep, "command", JSON_OPTIONAL, &cmd, NULL) <= 0)
                                continue;
                        for (size_t k = 0; k < json_object_array_length(cmd); k++) {
                                const char *w = json_object_get_string(json_object_array_get_idx(cmd, k));
                                add_word(w ? w : "", x);
                        }
                }
        x->record_mode = api_recording_mode(t);
        json_object_put(t);
        if (x->argc == 0) {
                add_word("sh", x);
                add_word("-l", x);
        }
        return x->argc > 0 && !x->words_lost
                       ? 0
                       : merr_set(err, -E2BIG, "the Terminal entrypoint's command is too long");
}

/* ---- the record ---- */

static int json_words(struct buf *b, const char *const *words, size_t n) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(a, json_object_new_string(words[i]));
        const char *text = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        int r = text ? buf_puts(b, text) : -ENOMEM;
        json_object_put(a);
        return r;
}

/* The Session record of the session that opens now, written while kube-apiserver's exec is dialed
 * (record_start(), record_wait()): a session that cannot be recorded is not opened (503), and one recorded
 * whose exec could not be opened ends at once (Error). Without a database there is no record. */
struct record_begin {
        struct session *x;
        const struct api_user *user;
        char name[64];
        int r;
        struct merr err;
        pthread_t thread;
        bool started;
};

static void *record_write(void *ud) {
        struct record_begin *b = ud;
        struct session *x = b->x;
        _cleanup_(buf_release) struct buf groups = BUF_INIT(64 * 1024), command = BUF_INIT(64 * 1024);
        const char *g[256];
        size_t n = 0;
        PGconn *conn = NULL;
        for (const char *p = b->user->groups; *p && n < 256; p += strlen(p) + 1)
                g[n++] = p;
        b->r = json_words(&groups, g, n);
        if (b->r >= 0)
                b->r = json_words(&command, (const char *const *) x->argv, x->argc);
        if (b->r < 0) {
                merr_set(&b->err, b->r, "out of memory");
                return NULL;
        }
        const struct store_session rec = {.namespace = x->sb.ns,
                .sandbox = x->sb.name,
                .pod = x->sb.pod,
                .kind = x->kind,
                .user = b->user->name,
                .user_uid = b->user->uid,
                .groups = buf_str(&groups),
                .command = buf_str(&command),
                .tty = x->tty};
        b->r = store_acquire(x->s->store, &conn, &b->err);
        if (b->r >= 0)
                b->r = store_session_begin(conn, &rec, b->name, x->record, &b->err);
        store_release(x->s->store, conn);
        return NULL;
}

static void record_start(struct record_begin *b) {
        if (!b->x->s->store)
                return;
        /* without a thread, the record is written before the dial */
        b->started = pthread_create(&b->thread, NULL, record_write, b) == 0;
        if (!b->started)
                (void) record_write(b);
}

/* 0 once recorded (the client learns its record's name with the switch), or < 0 with the request answered */
static int record_wait(struct httpd_request *req, struct record_begin *b) {
        if (b->started)
                pthread_join(b->thread, NULL);
        b->started = false;
        if (!b->x->s->store)
                return 0;
        if (b->r < 0) {
                httpd_respond_status(req, 503, "ServiceUnavailable",
                        "the session cannot be recorded, so it is not opened: %s", merr_msg(&b->err));
                return b->r;
        }
        (void) httpd_request_add_header(req, "Mbox-Session", b->name);
        return 0;
}

static void record_end(struct session *x) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        if (!*x->record)
                return;
        int r = store_acquire(x->s->store, &conn, &err);
        if (r >= 0)
                r = store_session_end(conn, x->record, x->bytes_in, x->bytes_out, x->exit_code,
                        x->reason ? x->reason : "Error", &err);
        store_release(x->s->store, conn);
        if (r < 0)
                log_error(
                        "cannot record the end of a session", "session", x->record, "error", merr_msg(&err));
}

/* Session activity is sandbox activity: the sandbox's status.lastActivityAt moves to now, so that its idle
 * timeout does not stop it under a working user (best effort, as the operator's for tasks). */
static void record_activity(struct session *x) {
        struct kube_client *kc = NULL;
        struct merr err = MERR_INIT;
        struct timestamp now;
        char when[64], patch[128];
        struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = x->sb.ns,
                .name = x->sb.name,
                .subresource = "status"};
        x->activity_ms = timestamp_monotonic_ms();
        x->activity_told = true;
        if (timestamp_now(&now) < 0 || timestamp_format(&now, when, sizeof(when)) < 0)
                return;
        snprintf(patch, sizeof(patch), "{\"status\":{\"lastActivityAt\":\"%s\"}}", when);
        int r = kube_pool_get(x->s->clients, &kc, &err);
        if (r >= 0) {
                r = kube_patch(kc, &rs, KUBE_PATCH_MERGE, patch, strlen(patch), NULL, NULL, &err);
                kube_pool_put(x->s->clients, kc);
        }
        if (r < 0)
                log_warn("cannot record sandbox activity", "sandbox", x->sb.name, "namespace", x->sb.ns,
                        "error", merr_msg(&err));
}

/* ---- the relay ---- */

static ssize_t client_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
        struct session *x = ud;
        (void) flags;
        /* the client is read while kube-apiserver takes what it sent: one wslay_event_recv() reads on
         * until the socket would block, so the cap on what waits for kube-apiserver is checked here */
        if (wslay_event_get_queued_msg_length(x->up_ws.ws) >= SESSION_QUEUE_MAX) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (x->extra_off < x->extra_len) {
                size_t n = x->extra_len - x->extra_off < len ? x->extra_len - x->extra_off : len;
                memcpy(buf, x->extra + x->extra_off, n);
                x->extra_off += n;
                return (ssize_t) n;
        }
        ssize_t n = recv(x->fd, buf, len, 0);
        if (n > 0)
                return n;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        else
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
}

static ssize_t client_send(
        wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud) {
        struct session *x = ud;
        (void) flags;
        ssize_t n = send(x->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0)
                return n;
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                                           ? WSLAY_ERR_WOULDBLOCK
                                           : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
}

/* A message from the client: stdin, a resize or the close of stdin go to kube-apiserver as they are. */
static void client_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud) {
        struct session *x = ud;
        (void) ctx;
        if (arg->opcode != WSLAY_BINARY_FRAME || arg->msg_length == 0)
                return; /* pings are answered by wslay; a close is seen by the loop */
        uint8_t channel = arg->msg[0];
        if (channel != 0 && channel != 4 && channel != 255)
                return; /* output and status channels are the server's */
        x->last_ms = timestamp_monotonic_ms();
        x->messages = true;
        if (channel == 0)
                x->bytes_in += (long long) arg->msg_length - 1;
        api_recording_client(x->recording, arg->msg, arg->msg_length);
        if (kws_queue_raw(&x->up_ws, arg->msg, arg->msg_length) < 0 && !x->reason)
                x->reason = "Error";
}

/* A message from kube-apiserver: to the client unchanged; the status channel is kept for the exit code. */
static void upstream_msg(struct kws *w, const uint8_t *msg, size_t len, void *ud) {
        struct session *x = ud;
        struct wslay_event_msg m = {.opcode = WSLAY_BINARY_FRAME, .msg = msg, .msg_length = len};
        (void) w;
        api_recording_upstream(x->recording, msg, len);
        if (len > 1) {
                x->last_ms = timestamp_monotonic_ms();
                x->messages = true;
        }
        if (msg[0] == 1 || msg[0] == 2)
                x->bytes_out += (long long) len - 1;
        else if (msg[0] == 3)
                (void) buf_append(&x->status, msg + 1, len - 1);
        if (!x->client_closed && wslay_event_queue_msg(x->ws, &m) != 0 && !x->reason)
                x->reason = "Error";
}

/* kube-apiserver is read while the client takes what it sent. */
static bool upstream_can_recv(void *ud) {
        struct session *x = ud;
        return wslay_event_get_queued_msg_length(x->ws) < SESSION_QUEUE_MAX;
}

static void relay(struct session *x) {
        long long idle_ms = x->idle_ms, next_ping = 0;
        x->last_ms = timestamp_monotonic_ms();
        next_ping = x->last_ms + SESSION_PING_S * 1000LL;
        x->activity_ms = x->last_ms;
        while (!x->reason) {
                long long now = timestamp_monotonic_ms();
                if (atomic_load(&x->s->sessions_stopping)) {
                        x->reason = "ServerShutdown";
                        break;
                }
                if (idle_ms > 0 && now - x->last_ms >= idle_ms) {
                        x->reason = "IdleTimeout";
                        break;
                }
                /* a message since the last activity told: the first a second into the session (a short
                 * session's at its end, after the client has its answer), then every SESSION_ACTIVITY_S */
                if (x->last_ms > x->activity_ms &&
                        now - x->activity_ms >= (x->activity_told ? SESSION_ACTIVITY_S * 1000LL : 1000))
                        record_activity(x);
                if (now >= next_ping) {
                        struct wslay_event_msg ping = {.opcode = WSLAY_PING};
                        (void) wslay_event_queue_msg(x->ws, &ping);
                        next_ping = now + SESSION_PING_S * 1000LL;
                }
                if (!kws_active(&x->up_ws)) {
                        x->reason = x->status.len > 0 ? "Exited" : "SandboxClosed";
                        break;
                }
                if (!wslay_event_want_read(x->ws) || wslay_event_get_close_received(x->ws)) {
                        x->reason = "ClientClosed";
                        break;
                }
                /* the client is read while kube-apiserver takes what it sent */
                bool read_client = wslay_event_get_queued_msg_length(x->up_ws.ws) < SESSION_QUEUE_MAX;
                struct pollfd p[2] = {
                        {.fd = x->fd,
                                .events = (short) ((read_client ? POLLIN : 0) |
                                                   (wslay_event_want_write(x->ws) ? POLLOUT : 0))},
                        {.fd = x->up_ws.fd, .events = kws_events(&x->up_ws)},
                };
                bool pending = kws_pending(&x->up_ws) || (read_client && x->extra_off < x->extra_len);
                if (poll(p, 2, pending ? 0 : SESSION_POLL_MS) < 0 && errno != EINTR) {
                        x->reason = "Error";
                        break;
                }
                if (read_client &&
                        ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) || x->extra_off < x->extra_len) &&
                        wslay_event_recv(x->ws) != 0) {
                        x->client_closed = true;
                        x->reason = "ClientClosed";
                }
                if (!x->client_closed && wslay_event_want_write(x->ws) && wslay_event_send(x->ws) != 0) {
                        x->client_closed = true;
                        x->reason = "ClientClosed";
                }
                kws_dispatch(&x->up_ws, p[1].revents);
        }
        /* the closing handshake: what kube-apiserver sent last (the status) goes out, then the close, and the
         * connection ends once the client has answered it (it has read everything by then), within a few
         * seconds: closing the connection at once could drop bytes still on their way */
        if (!x->client_closed) {
                long long until = timestamp_monotonic_ms() + SESSION_CLOSE_MS;
                bool closing = false;
                while (!wslay_event_get_close_received(x->ws) && timestamp_monotonic_ms() < until) {
                        /* wslay sends a control frame before data still queued: the close waits for the
                         * data to be out */
                        if (!closing && wslay_event_get_queued_msg_count(x->ws) == 0) {
                                (void) wslay_event_queue_close(x->ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
                                closing = true;
                        }
                        struct pollfd p = {.fd = x->fd,
                                .events = (short) (POLLIN | (wslay_event_want_write(x->ws) ? POLLOUT : 0))};
                        if (poll(&p, 1, 100) < 0 && errno != EINTR)
                                break;
                        size_t queued = wslay_event_get_queued_msg_length(x->ws);
                        if ((p.revents & POLLOUT) && wslay_event_send(x->ws) != 0)
                                break;
                        /* a slow reader that still takes what is sent gets its time */
                        if (wslay_event_get_queued_msg_length(x->ws) < queued)
                                until = timestamp_monotonic_ms() + SESSION_CLOSE_MS;
                        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(x->ws) != 0)
                                break;
                }
        } else if (wslay_event_want_write(x->ws)) /* the answer to the client's close */
                (void) wslay_event_send(x->ws);
        if (x->status.len > 0) {
                struct merr err = MERR_INIT;
                if (kube_exec_exit_code(x->status.data, x->status.len, &x->exit_code, &err) < 0)
                        x->exit_code = -1;
        }
}

static void *session_thread(void *ud) {
        struct session *x = ud;
        sigset_t old;
        kws_sigpipe_block(&old);
        const struct api_recording_session rs = {.uid = x->record,
                .namespace = x->sb.ns,
                .sandbox = x->sb.name,
                .pod = x->sb.pod,
                .user = x->user,
                .kind = x->kind,
                .shell = x->argc > 0 ? x->argv[0] : NULL};
        x->recording = api_recording_start(x->s, x->record_mode, &rs);
        relay(x);
        kws_sigpipe_restore(&old);
        log_info("session ended", "kind", x->kind, "sandbox", x->sb.name, "namespace", x->sb.ns, "user",
                x->user, "reason", x->reason);
        httpd_upgraded_close(x->up);
        if (!x->activity_told && x->messages)
                record_activity(x);
        api_recording_end(x->recording); /* before the record's end, which a watch sees with it */
        record_end(x);
        release(x);
        session_free(x);
        return NULL;
}

/* The client's connection has switched: the relay runs on a thread of its own. */
static void on_switched(struct httpd_upgraded *u, int fd, const char *extra, size_t n, void *ud) {
        struct session *x = ud;
        static const struct wslay_event_callbacks cb = {.recv_callback = client_recv,
                .send_callback = client_send,
                .on_msg_recv_callback = client_msg};
        pthread_t t;
        pthread_attr_t attr;
        x->up = u;
        x->fd = fd;
        if (!u) { /* the 101 never went out */
                x->reason = "ClientClosed";
                record_end(x);
                release(x);
                session_free(x);
                return;
        }
        if (n > 0 && (x->extra_copy = malloc(n))) {
                memcpy(x->extra_copy, extra, n);
                x->extra = x->extra_copy;
                x->extra_len = n;
        }
        int flags = fcntl(fd, F_GETFL);
        (void) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (wslay_event_context_server_init(&x->ws, &cb, x) != 0 ||
                (wslay_event_config_set_max_recv_msg_length(x->ws, SESSION_MSG_MAX),
                        pthread_create(&t, &attr, session_thread, x) != 0)) {
                log_error("cannot start a session", "sandbox", x->sb.name);
                httpd_upgraded_close(u);
                x->reason = "Error";
                record_end(x);
                release(x);
                session_free(x);
        }
        pthread_attr_destroy(&attr);
}

/* exec and terminal: the request checked, kube-apiserver's exec opened, then the switch. */
static void open_session(const struct api_request *r, bool terminal) {
        struct httpd_request *req = r->req;
        struct merr err = MERR_INIT;
        char accept[64];
        struct session *x = calloc(1, sizeof(*x));
        if (!x) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        if (!r->namespace) { /* sandboxes live in namespaces */
                httpd_respond_status(
                        req, 404, "NotFound", "the server could not find the requested resource");
                free(x);
                return;
        }
        x->s = r->s;
        x->fd = -1;
        x->exit_code = -1;
        x->up_ws = (struct kws) KWS_INIT;
        buf_init(&x->status, 64 * 1024);
        snprintf(x->kind, sizeof(x->kind), "%s", terminal ? "terminal" : "exec");
        snprintf(x->user, sizeof(x->user), "%s", r->user->name);
        if (handshake(req, x, accept) < 0)
                goto fail;
        if (terminal) {
                x->tty = x->stdin = x->stdout = true;
                x->stderr = false;
        } else {
                x->tty = query_bool(req, "tty", false);
                /* a TTY always has its stdin open: KWOK's exec breaks down on a TTY without one */
                x->stdin = query_bool(req, "stdin", false) || x->tty;
                x->stdout = query_bool(req, "stdout", true);
                x->stderr = query_bool(req, "stderr", !x->tty) && !x->tty;
                long words = httpd_request_query_each(req, "command", add_word, x);
                if (words == -EINVAL) {
                        httpd_respond_status(req, 400, "BadRequest",
                                "command: a word is malformed (a bad %%-escape or a NUL in it)");
                        goto fail;
                }
                if (words <= 0 || x->argc == 0) {
                        httpd_respond_status(req, 400, "BadRequest",
                                "command: give the command to run, one word per command= parameter");
                        goto fail;
                }
                if (x->words_lost) {
                        httpd_respond_status(
                                req, 400, "BadRequest", "command: at most %d words", SESSION_ARGS_MAX - 2);
                        goto fail;
                }
                if (!x->stdin && !x->stdout && !x->stderr) {
                        httpd_respond_status(req, 400, "BadRequest",
                                "you must specify at least one of stdin, stdout, stderr");
                        goto fail;
                }
        }
        if (api_sandbox_running(req, r->s, r->namespace, r->name, &x->sb) < 0)
                goto fail;
        if (terminal && terminal_command(x, &err) < 0) {
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "reading the sandbox's template: %s", merr_msg(&err));
                goto fail;
        }
        limits(x);
        if (admit(req, x) < 0)
                goto fail;
        /* kube-apiserver's exec first, with the protocol the client chose: only its 101 lets the client's */
        const char *const chosen[] = {x->protocol, NULL};
        const struct kube_exec_request rq = {.namespace = x->sb.ns,
                .pod = x->sb.pod,
                .container = RUNTIME_CONTAINER,
                .command = (const char *const *) x->argv,
                .stdin = x->stdin,
                .stdout = x->stdout,
                .stderr = x->stderr,
                .tty = x->tty};
        struct kube_client *kc = NULL;
        struct record_begin rb = {.x = x, .user = r->user, .err = MERR_INIT};
        x->up_ws.on_msg = upstream_msg;
        x->up_ws.can_recv = upstream_can_recv;
        x->up_ws.userdata = x;
        x->up_ws.deadline_ms = timestamp_monotonic_ms() + 30000;
        record_start(&rb);
        int k = kube_pool_get(r->s->clients, &kc, &err);
        if (k >= 0) {
                /* the client lends its configuration: the WebSocket is a connection of its own */
                k = kube_exec_dial(kc, &rq, chosen, &x->up_ws, &err);
                kube_pool_put(r->s->clients, kc);
        }
        if (record_wait(req, &rb) < 0) {
                release(x);
                goto fail;
        }
        if (k < 0) {
                int code = k == -ENOENT ? 404 : k == -ETIMEDOUT ? 504 : 502;
                httpd_respond_status(req, code,
                        code == 404   ? "NotFound"
                        : code == 504 ? "Timeout"
                                      : "BadGateway",
                        "%s in sandbox %s: %s", x->kind, x->sb.name, merr_msg(&err));
                x->reason = "Error";
                record_end(x);
                release(x);
                goto fail;
        }
        if (httpd_request_add_header(req, "Sec-WebSocket-Accept", accept) < 0 ||
                httpd_request_add_header(req, "Sec-WebSocket-Protocol", x->protocol) < 0 ||
                httpd_respond_upgrade(req, "websocket", on_switched, x) < 0) {
                httpd_respond_status(req, 500, "InternalError", "cannot switch protocols");
                x->reason = "Error";
                record_end(x);
                release(x);
                goto fail;
        }
        log_info("session started", "kind", x->kind, "sandbox", x->sb.name, "namespace", x->sb.ns, "user",
                x->user, "protocol", x->protocol, "session", x->record);
        return;
fail:
        session_free(x);
}

void api_sandbox_exec(const struct api_request *r) {
        open_session(r, false);
}

void api_sandbox_terminal(const struct api_request *r) {
        open_session(r, true);
}

bool api_session_long_running(struct httpd_request *req) {
        (void) req;
        return true;
}

void api_sessions_stop(struct apiserver *s) {
        pthread_mutex_lock(&s->lock);
        atomic_store(&s->sessions_stopping, true);
        while (s->n_sessions > 0)
                pthread_cond_wait(&s->sessions_done, &s->lock);
        pthread_mutex_unlock(&s->lock);
}
