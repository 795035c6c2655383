/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pods/portforward over WebSocket (kube-protocols.md §2.1): the channel protocol v4.channel.k8s.io that the
 * kubelet (here KWOK) serves and kube-apiserver passes through. One WebSocket carries one TCP connection to
 * one port of the pod: data on channel 0, error text on channel 1; the server's first message on each
 * channel is the port, 2 bytes little-endian, which is checked. v4 has no half-close: ending the session
 * closes the connection to the pod in both directions.
 *
 * kube_portforward_open() gives a byte stream with blocking read and write. kube_portforward_listen() is
 * what `kubectl port-forward` does: a loopback TCP listener whose every accepted connection gets its own
 * WebSocket, served by one thread with one poll loop.
 *
 * The alternative, SPDY tunnelled in WebSocket (what kubectl uses, §2.2), would need SPDY/3.1 with its zlib
 * header dictionary in C for no gain here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kube/client.h"
#include "merr.h"

struct kube_portforward;

/*
 * Opens a connection to port of the pod. Returns 0 with *ret set, or a negative errno: the API server's
 * refusal before the upgrade (404 pod, 403, 400) as its Status, or a transport failure. A port the pod
 * does not serve is only known after the upgrade: it comes as the server's error text, see read.
 */
int kube_portforward_open(struct kube_client *c, const char *namespace, const char *pod, uint16_t port,
        struct kube_portforward **ret, struct merr *err);

/*
 * Reads what the pod sent, waiting up to timeout_ms (< 0: no limit). Returns the number of bytes (> 0), 0
 * when the pod's side ended the connection, or a negative errno: -EIO when the server reported an error
 * on the error channel (its text in err and in kube_portforward_error()), -ETIMEDOUT, -EPROTO for a
 * port prefix that does not match. Bytes that arrived before an error are returned first.
 * Up to 256 KiB from the pod are held while nobody reads; beyond that the connection is not read.
 */
ssize_t kube_portforward_read(
        struct kube_portforward *pf, void *buf, size_t len, long timeout_ms, struct merr *err);

/*
 * Sends all len bytes to the pod, waiting up to timeout_ms (< 0: no limit). While it waits it keeps
 * reading what the pod sends into the buffer of at most 256 KiB; a pod that only answers after it has
 * been read from while the caller writes more than fits into the socket buffers makes this time out.
 * Returns 0 or a negative errno (-EPIPE once the session ended).
 */
int kube_portforward_write(
        struct kube_portforward *pf, const void *data, size_t len, long timeout_ms, struct merr *err);

/* The server's error text (e.g. "error forwarding port 81 to pod ...: ..."), or NULL when there is none. */
const char *kube_portforward_error(const struct kube_portforward *pf);

/* Closes the connection to the pod. NULL is fine; returns NULL. */
struct kube_portforward *kube_portforward_close(struct kube_portforward *pf);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_portforward *, kube_portforward_close);

/* ---- local listener */

struct kube_portforward_listener;

#define KUBE_PORTFORWARD_MAX_CONNS 64

/*
 * Listens on address:local_port (address NULL: "127.0.0.1"; local_port 0: any free port) and forwards each
 * accepted connection to pod_port of the pod over its own WebSocket, on a thread of its own. The listener
 * takes over c (also on failure) and uses it only on its thread. At most KUBE_PORTFORWARD_MAX_CONNS
 * connections at once; further ones wait in the kernel's backlog. A connection whose WebSocket cannot be
 * opened, or whose server reports an error, is closed; the last such message is
 * kube_portforward_listener_last_error().
 */
int kube_portforward_listen(struct kube_client *c, const char *namespace, const char *pod, uint16_t pod_port,
        const char *address, uint16_t local_port, struct kube_portforward_listener **ret, struct merr *err);

/* The local port actually bound. */
uint16_t kube_portforward_listener_port(const struct kube_portforward_listener *l);

/* Copies the last error of a forwarded connection into out ("" when none); returns how many connections
 * have been accepted so far. */
unsigned kube_portforward_listener_stats(struct kube_portforward_listener *l, char *out, size_t size);

/* Stops the thread, closes the listener and every connection, frees l and its client. NULL is fine. */
struct kube_portforward_listener *kube_portforward_listener_stop(struct kube_portforward_listener *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_portforward_listener *, kube_portforward_listener_stop);
