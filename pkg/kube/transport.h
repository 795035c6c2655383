/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One connection for many clients, as client-go shares one HTTP/2 connection among its goroutines.
 *
 * A kube_client holds its own connection: a TLS session and its buffers (about 190 KiB).
 * Many threads that each wait on their own requests (controller workers) would pay that once per thread.
 * A transport runs one thread that drives every request of the clients attached to it
 * (kube_client_set_transport()) over a curl multi handle: requests to one server are multiplexed as
 * HTTP/2 streams on one connection, and a thread waiting on a request costs its easy handle only.
 *
 * A client's call still blocks until its request ends, and its callbacks (body, watch events, progress)
 * run on the transport's thread meanwhile: keep them short, as kube_client's own are. Thread-safe.
 */
#pragma once

#include <curl/curl.h>

#include "macro.h"
#include "merr.h"

struct kube_transport;

int kube_transport_new(struct kube_transport **ret, struct merr *err);
/* Ends the thread once the requests in flight have ended. No client may start a request meanwhile. */
struct kube_transport *kube_transport_free(struct kube_transport *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_transport *, kube_transport_free);

/* Runs easy on the transport's thread and waits until it ends: curl_easy_perform()'s contract. Uses the
 * handle's CURLOPT_PRIVATE. */
CURLcode kube_transport_perform(struct kube_transport *t, CURL *easy);
