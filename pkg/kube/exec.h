/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pods/exec over WebSocket (kube-protocols.md §1): offers v5.channel.k8s.io and falls back to
 * v4.channel.k8s.io; streams stdin with a half-close (v5), delivers stdout and stderr separately as they
 * arrive, decodes the status channel into an exit code, and sends terminal resizes for TTY sessions.
 *
 * The WebSocket framing is wslay's (Debian libwslay-dev): a small, well-kept library that only encodes
 * and decodes frames and leaves sockets, TLS and the event loop to us, so the connection uses the same
 * OpenSSL credentials (kept in memory) as the REST client, and there is no hidden thread or global state.
 * See docs/kube-client.md.
 *
 * kube_exec() blocks until the command ends. All exec state lives in the call: any number of execs may
 * run at once, each on its own thread.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"
#include "merr.h"

struct kube_exec_opts {
        const char *namespace;
        const char *pod;
        /* another resource that speaks the pods/exec protocol (mbox's sandboxes/NAME/exec and terminal)
         * instead of pods/POD/exec; its command may then be NULL (the server chooses) */
        const struct kube_resource *target;
        const char *container;      /* NULL: the pod's only container */
        const char *const *command; /* NULL-terminated argv */
        bool tty;                   /* stderr is merged into stdout by the pty */

        /* stdin: read(2) from stdin_fd (non-blocking: a blocking read would stall the session) until EOF
         * (then half-close), or the bytes in stdin_data */
        int stdin_fd; /* -1: none */
        /* what is read from stdin_fd passes through here first (a terminal's escape keys): it puts what to
         * send into out (room for 2 * len bytes) and its length into *out_len; < 0 ends the session with that
         * error (-ECANCELED: the user left). NULL: sent as read. */
        int (*filter_stdin)(const char *in, size_t len, char *out, size_t *out_len, void *userdata);
        const char *stdin_data;
        size_t stdin_len;
        bool has_stdin;

        /* output sinks; returning < 0 aborts the exec with that error (as filter_stdin's does) */
        int (*on_stdout)(const char *data, size_t len, void *userdata);
        int (*on_stderr)(const char *data, size_t len, void *userdata);
        /* TTY size: the first call gives the initial size; later calls, about every 100 ms, may report a
         * change by returning true. NULL: no resizes. */
        bool (*get_size)(unsigned *width, unsigned *height, void *userdata);
        void *userdata;

        long timeout_ms; /* 0: none */
        /* set from another thread to end the session (seen within about 100 ms); NULL: never. Ending the
         * session does not by itself stop the remote process (kubelet may keep it running). */
        const atomic_bool *cancel;
};

struct kube_exec_result {
        int exit_code;       /* 0..255 */
        char protocol[32];   /* the negotiated subprotocol */
        size_t stdout_bytes; /* what arrived on each stream */
        size_t stderr_bytes;
};

/* Runs the command. Returns 0 with the exit code in ret (also for non-zero exits), or a negative errno:
 * the API server's refusal (404 pod, 403, 400) as its Status, or a failure inside the session (a
 * container that is not running, a lost connection, a timeout: -ETIMEDOUT, a cancel: -ECANCELED). */
int kube_exec(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec_result *ret,
        struct merr *err);

/*
 * pods/exec for a relay (mbox-apiserver's sandboxes/NAME/exec and terminal): the WebSocket is opened with
 * the streams and the protocol a client asked for, and then carries the client's channel messages as they
 * are. kube_exec() runs on the same two functions.
 */
struct kube_exec_request {
        const char *namespace;
        const char *pod;
        const struct kube_resource *target; /* as kube_exec_opts' */
        const char *container;              /* NULL: the pod's only container */
        const char *const *command;
        bool stdin, stdout, stderr, tty;
};
struct kws;
/* Opens w (KWS_INIT, with its callbacks, deadline and cancel set; websocket.h) to the request's pods/exec,
 * offering protocols in order. Returns 0, or < 0 with w closed: the API server's refusal as its Status. */
int kube_exec_dial(struct kube_client *c, const struct kube_exec_request *rq, const char *const *protocols,
        struct kws *w, struct merr *err);
/* The exit code in the body of a status channel message (kube-protocols.md §1.4; never from its text):
 * 0..255 into ret, or < 0: -EIO with the failure's reason and message, -EPROTO for a malformed one. */
int kube_exec_exit_code(const char *status, size_t len, int *ret, struct merr *err);
