/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-apiserver's metrics (docs/apiserver.md lists them): requests by verb, resource and code, their
 * latency, requests in flight and those refused for it (inflight.c), preview requests and those the access
 * log dropped (previewaccess.c), counted as they happen; connections,
 * the database pool and the history mirror (whether it leads, its queue and lag, gaps, relists), read when
 * /metrics is scraped. /metrics is served on the secure
 * port to callers allowed to get that non-resource URL, as kube-apiserver serves its own.
 */
#include <errno.h>
#include <string.h>

#include "apiserver/internal.h"
#include "health.h"

static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

int api_metrics_new(struct apiserver *s) {
        struct metrics *m = NULL;
        if (metrics_new(&m) < 0)
                return -ENOMEM;
        s->metrics = m;
        s->m_requests = metrics_counter(m, "mbox_apiserver_requests_total",
                "Requests answered, by verb, resource and HTTP code.",
                (const char *const[]){"verb", "resource", "code", NULL});
        s->m_latency = metrics_histogram(m, "mbox_apiserver_request_duration_seconds",
                "Time from a request's start to the end of its response, by verb and resource (watches and "
                "log follows are left out).",
                (const char *const[]){"verb", "resource", NULL}, latency_buckets,
                ARRAY_SIZE(latency_buckets));
        s->m_in_flight = metrics_gauge(m, "mbox_apiserver_requests_in_flight",
                "Requests being served: short ones, and long-running ones (watches, log follows).",
                (const char *const[]){"kind", NULL});
        s->m_rejected = metrics_counter(m, "mbox_apiserver_requests_rejected_total",
                "Requests answered 429 for the limits of requests in flight, by kind and by the limit "
                "(one user's, or the server's).",
                (const char *const[]){"kind", "limit", NULL});
        s->m_connections = metrics_gauge(m, "mbox_apiserver_connections",
                "Open connections: trusted once a request on them came from kube-apiserver's front proxy, "
                "untrusted before.",
                (const char *const[]){"state", NULL});
        s->m_evicted = metrics_counter(m, "mbox_apiserver_connections_evicted_total",
                "Untrusted connections closed to make room for a newer one.", NULL);
        s->m_db_connections = metrics_gauge(m, "mbox_apiserver_database_connections",
                "Database connections held, in use or idle.", (const char *const[]){"state", NULL});
        s->m_db_max = metrics_gauge(m, "mbox_apiserver_database_connections_max",
                "The most database connections this process may hold.", NULL);
        s->m_db_waits = metrics_counter(m, "mbox_apiserver_database_waits_total",
                "Requests for a database connection that found all in use and waited.", NULL);
        s->m_db_busy = metrics_counter(m, "mbox_apiserver_database_busy_total",
                "Requests for a database connection that waited in vain (answered 503).", NULL);
        s->m_mirror_leading = metrics_gauge(m, "mbox_apiserver_mirror_leading",
                "1 while this replica writes the history (holds the Lease, or runs without election).", NULL);
        s->m_mirror_queued = metrics_gauge(
                m, "mbox_apiserver_mirror_queued", "Changes the mirror has seen and not stored yet.", NULL);
        s->m_mirror_lag = metrics_gauge(m, "mbox_apiserver_mirror_lag_seconds",
                "How long the oldest change not stored yet has waited (0 when none waits).", NULL);
        s->m_mirror_gaps = metrics_counter(m, "mbox_apiserver_mirror_gaps_total",
                "States the database refused: logged with their object, not stored.", NULL);
        s->m_mirror_relists = metrics_counter(m, "mbox_apiserver_mirror_relists_total",
                "Lists made because a watch's resume point was gone (410).", NULL);
        s->m_preview_requests = metrics_counter(m, "mbox_preview_requests_total",
                "Requests to sandbox previews answered, by way in (Gateway, Proxy) and status class (1xx to "
                "5xx, other).",
                (const char *const[]){"via", "code_class", NULL});
        s->m_preview_dropped = metrics_counter(m, "mbox_preview_access_dropped_total",
                "Preview requests left out of the access log: no database, too many windows held, or "
                "refused by the database.",
                NULL);
        if (!s->m_requests || !s->m_latency || !s->m_in_flight || !s->m_rejected || !s->m_connections ||
                !s->m_evicted || !s->m_db_connections || !s->m_db_max || !s->m_db_waits || !s->m_db_busy ||
                !s->m_mirror_leading || !s->m_mirror_queued || !s->m_mirror_lag || !s->m_mirror_gaps ||
                !s->m_mirror_relists || !s->m_preview_requests || !s->m_preview_dropped)
                return -ENOMEM;
        /* the kinds in flight render from the start */
        metric_add(s->m_in_flight, (const char *const[]){"short"}, 0);
        metric_add(s->m_in_flight, (const char *const[]){"long"}, 0);
        return 0;
}

/* A counter kept elsewhere, brought up to its value (counters only grow). */
static void counter_to(struct metric *mt, double v) {
        double now = metric_get(mt, NULL);
        if (v > now)
                metric_add(mt, NULL, v - now);
}

/* The values read at scrape time. Under s->scrape_lock. */
static void refresh(struct apiserver *s) {
        struct httpd_stats hs;
        httpd_get_stats(s->httpd, &hs);
        metric_set(
                s->m_connections, (const char *const[]){"trusted"}, (double) (hs.connections - hs.untrusted));
        metric_set(s->m_connections, (const char *const[]){"untrusted"}, (double) hs.untrusted);
        counter_to(s->m_evicted, (double) hs.evicted);
        if (s->store) {
                struct store_stats ss;
                store_get_stats(s->store, &ss);
                metric_set(
                        s->m_db_connections, (const char *const[]){"in_use"}, (double) (ss.open - ss.idle));
                metric_set(s->m_db_connections, (const char *const[]){"idle"}, (double) ss.idle);
                metric_set(s->m_db_max, NULL, (double) ss.max_open);
                counter_to(s->m_db_waits, (double) ss.waits);
                counter_to(s->m_db_busy, (double) ss.busy);
        }
        struct api_mirror_stats ms = api_mirror_stats(s->mirror);
        metric_set(s->m_mirror_leading, NULL, ms.leading ? 1 : 0);
        metric_set(s->m_mirror_queued, NULL, (double) ms.queued);
        metric_set(s->m_mirror_lag, NULL, (double) ms.lag_ms / 1000.0);
        counter_to(s->m_mirror_gaps, (double) ms.gaps);
        counter_to(s->m_mirror_relists, (double) ms.relists);
}

void api_metrics(struct httpd_request *req, void *userdata) {
        struct apiserver *s = userdata;
        struct api_user user;
        struct api_call *c = api_call_begin(s, req);
        if (api_authenticate(s, req, &user) < 0)
                return;
        if (strcmp(httpd_request_method(req), "GET") != 0) {
                httpd_respond_status(req, 405, "MethodNotAllowed", "%s is not supported on /metrics",
                        httpd_request_method(req));
                return;
        }
        struct api_attrs attrs = {.verb = "get", .path = "/metrics"};
        /* admitted before it is authorized, as every request (server.c) */
        if (api_call_admit(c, req, &user, "get", "metrics", false) < 0 ||
                api_authorize(s, req, &user, &attrs) < 0)
                return;
        pthread_mutex_lock(&s->scrape_lock);
        refresh(s);
        health_respond_metrics(req, s->metrics);
        pthread_mutex_unlock(&s->scrape_lock);
}
