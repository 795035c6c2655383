/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"

/* A scrape that outgrows this is a metrics bug (unbounded label values), better failed than served. */
#define HEALTH_METRICS_MAX (16 * 1024 * 1024)
#define HEALTH_REASON_MAX  1024

/* The routes' userdata, owned by the httpd (httpd_attach()). */
struct health {
        struct metrics *metrics;
        bool (*ready)(void *ud, struct buf *why);
        void *ud;
};

static bool method_allowed(struct httpd_request *r) {
        const char *m = httpd_request_method(r);

        if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
                return true;
        (void) httpd_respond_status(r, 405, "MethodNotAllowed", "method '%s' is not allowed", m);
        return false;
}

void health_respond_metrics(struct httpd_request *r, struct metrics *m) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(HEALTH_METRICS_MAX);
        int ret = metrics_render(m, &out);

        if (ret < 0) {
                (void) httpd_respond_status(r, 500, "InternalError", "render metrics: %s", strerror(-ret));
                return;
        }
        (void) httpd_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
}

static void on_metrics(struct httpd_request *r, void *userdata) {
        struct health *hl = userdata;

        if (method_allowed(r))
                health_respond_metrics(r, hl->metrics);
}

static void on_alive(struct httpd_request *r, void *userdata) {
        (void) userdata;
        if (!method_allowed(r))
                return;
        (void) httpd_respond(r, 200, "text/plain; charset=utf-8", "ok", 2);
}

static void on_ready(struct httpd_request *r, void *userdata) {
        struct health *hl = userdata;
        _cleanup_(buf_release) struct buf why = BUF_INIT(HEALTH_REASON_MAX);

        if (!method_allowed(r))
                return;
        if (!hl->ready || hl->ready(hl->ud, &why)) {
                (void) httpd_respond(r, 200, "text/plain; charset=utf-8", "ok", 2);
                return;
        }
        if (why.len == 0)
                (void) buf_puts(&why, "not ready");
        (void) httpd_respond(r, 503, "text/plain; charset=utf-8", why.data, why.len);
}

int health_serve(struct httpd *h, struct metrics *m, bool (*ready)(void *ud, struct buf *why), void *ud) {
        static const struct {
                const char *path;
                httpd_handler_fn fn;
        } routes[] = {
                {"/metrics", on_metrics},
                {"/healthz", on_alive},
                {"/livez", on_alive},
                {"/readyz", on_ready},
        };
        struct health *hl;
        int r;

        hl = calloc(1, sizeof(*hl));
        if (!hl)
                return -ENOMEM;
        *hl = (struct health){.metrics = m, .ready = ready, .ud = ud};
        r = httpd_attach(h, hl, free);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
                if (!m && routes[i].fn == on_metrics)
                        continue;
                r = httpd_handle(h, routes[i].path, routes[i].fn, hl);
                if (r < 0)
                        return r;
        }
        return 0;
}
