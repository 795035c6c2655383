/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operational endpoints every mbox program serves, on an httpd that is not started yet:
 *
 *   /metrics            the registry in the Prometheus text format (text/plain; version=0.0.4)
 *   /healthz, /livez    200 "ok" while the process serves HTTP at all
 *   /readyz             200 "ok" when ready() says so, else 503 with the reason it wrote
 *
 * m (NULL: no /metrics) and ud are borrowed and must outlive h. ready may be NULL (always ready); it is
 * called from the server's threads, concurrently, so it must be thread-safe and quick (read a flag, not the
 * network).
 */
#pragma once

#include <stdbool.h>

#include "buf.h"
#include "httpd.h"
#include "metrics.h"

/* Responds with m rendered (200), or a 500 Status when it cannot be: the body of /metrics, for servers
 * that serve it behind their own checks. */
void health_respond_metrics(struct httpd_request *r, struct metrics *m);

/* Registers the routes. Returns 0 or an error of httpd_handle(). */
int health_serve(struct httpd *h, struct metrics *m, bool (*ready)(void *ud, struct buf *why), void *ud);
