/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The WebSocket connection that pods/exec and pods/portforward share (kube-protocols.md §1 and §2), used by
 * pkg/kube's exec.c and portforward.c and by mbox-apiserver's session relay (pkg/apiserver/session.c), which
 * carries a client's messages over one opened by kube_exec_dial(). Dials the API server, speaks TLS with the
 * config's in-memory credentials, sends the HTTP upgrade, checks it exactly (101, Sec-WebSocket-Accept, a
 * subprotocol that was offered), decodes a refusal before the upgrade as a Status, and frames messages with
 * wslay. No public header includes this one.
 *
 * The replay functions run the message handling of exec and port-forward over server bytes held in memory
 * (the fuzz target tests/fuzz/fuzz-websocket.c), through the same wslay receive path as a real session.
 */
#pragma once

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "kube/client.h"
#include "kube/exec.h"
#include "merr.h"

/* One message may be at most this large; the servers send far smaller ones (32 KiB for the kubelet). */
#define KWS_MAX_MSG (16u * 1024 * 1024)

struct kws {
        int fd;
        SSL_CTX *ctx;
        SSL *ssl;
        wslay_event_context_ptr ws;
        char protocol[32]; /* the negotiated subprotocol */
        bool closed;       /* the server closed the WebSocket or the connection */
        /* every binary message from the server; msg[0] is the channel byte, len >= 1 */
        void (*on_msg)(struct kws *w, const uint8_t *msg, size_t len, void *userdata);
        /* NULL or false while the owner cannot take more data: reading pauses (TCP back-pressure) */
        bool (*can_recv)(void *userdata);
        void *userdata;
        /* the connect, the TLS handshake and the upgrade end by this monotonic time (0: 30 s from the
         * start) or as soon as *cancel is true (NULL: never): kws_connect() then fails with -ETIMEDOUT or
         * -ECANCELED */
        long long deadline_ms;
        const atomic_bool *cancel;
        /* replay transport: server bytes from memory, client frames discarded */
        bool replaying;
        const uint8_t *replay;
        size_t replay_len, replay_off;
};

#define KWS_INIT \
        { .fd = -1 }

/*
 * Opens a WebSocket to path_query (an API path with its query, without the server's path prefix), offering
 * the NULL-terminated protocols in order. what names the operation in messages ("exec"). Every step honours
 * w->deadline_ms and w->cancel. On success the socket is non-blocking and w->protocol holds the server's
 * choice. On failure w is closed.
 */
int kws_connect(struct kws *w, struct kube_client *c, const char *path_query, const char *const *protocols,
        const char *what, struct merr *err);

/*
 * A connection to the API server of cfg that carries someone else's credentials: TLS checked against cfg's
 * CA, but no client certificate and no token of cfg's. *ret_fd is one end of a socket pair whose bytes a
 * thread of its own passes over TLS both ways until either side closes; the caller closes it. The connect
 * and handshake end within timeout_ms. Returns 0, or < 0 with err. ret_prefix (may be NULL) gets the
 * server's path prefix ("" or "/prefix"), borrowed from cfg.
 */
int kube_tls_tunnel(const struct kube_config *cfg, long timeout_ms, int *ret_fd, const char **ret_prefix,
        struct merr *err);

/* Sets w up to read the given server bytes instead of a socket. */
int kws_replay_init(struct kws *w, const uint8_t *data, size_t len);

void kws_close(struct kws *w);
/* Sends the close frame (1000) and what is queued before it, waiting up to timeout_ms: a peer that is
 * left then knows the session ended on purpose. kws_close() still frees w. */
void kws_close_normally(struct kws *w, int timeout_ms);

/* Queues one binary message: the channel byte, then data (wslay copies it). */
int kws_queue(struct kws *w, uint8_t channel, const void *data, size_t len);
/* Queues one binary message as it is. */
int kws_queue_raw(struct kws *w, const void *msg, size_t len);
size_t kws_queued(struct kws *w);

/* Whether the session still has something to read or write. */
bool kws_active(struct kws *w);

/* One round of I/O: waits up to timeout_ms for the socket, receives what arrived (unless can_recv says
 * no), sends what is queued. Returns 0 or a negative errno from poll. */
int kws_pump(struct kws *w, int timeout_ms);

/* The socket for an outer poll loop, and the events it waits for now; SSL may hold decrypted bytes that
 * poll does not see: kws_pending(). */
short kws_events(struct kws *w);
bool kws_pending(struct kws *w);
/* Receives and sends after an outer poll reported revents on kws->fd. */
void kws_dispatch(struct kws *w, short revents);

/* A peer that hangs up makes writes raise SIGPIPE. The library must not change the process's signal
 * handling, so SIGPIPE is blocked for the calling thread around socket work and a pending one consumed. */
void kws_sigpipe_block(sigset_t *old);
void kws_sigpipe_restore(const sigset_t *old);

/* The message handling of exec (the status channel decoded as kube_exec() does, protocol
 * "v5.channel.k8s.io" or "v4.channel.k8s.io") and of port-forward (data bytes counted, the error channel
 * reported) over server bytes in memory. For fuzzing. */
int kube_exec_replay(const uint8_t *data, size_t len, const char *protocol, struct kube_exec_result *ret,
        struct merr *err);
int kube_portforward_replay(
        const uint8_t *data, size_t len, uint16_t port, size_t *ret_bytes, struct merr *err);
