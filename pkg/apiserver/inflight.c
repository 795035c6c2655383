/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests in flight: how many each user and everyone may have at once, as kube-apiserver's
 * --max-requests-inflight, with long-running requests (watches, log follows) counted apart; a request
 * beyond a limit is answered 429 TooManyRequests with Retry-After, which kubectl and client-go retry. Each
 * request is counted in the metrics when its response has been sent whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "log.h"
#include "timestamp.h"

/* One user's requests in flight; the entry goes when both are 0, so the map holds only active users. */
struct api_load {
        unsigned n_short, n_long;
};

struct api_call {
        struct apiserver *s;
        long long start_ms;
        const char *verb, *resource;
        bool long_running, admitted;
        char user[256];
};

static void call_done(void *ud, int status) {
        struct api_call *c = ud;
        struct apiserver *s = c->s;
        char code[8];
        snprintf(code, sizeof(code), "%d", status);
        metric_add(s->m_requests, (const char *const[]){c->verb, c->resource, code}, 1);
        if (!c->long_running)
                metric_observe(s->m_latency, (const char *const[]){c->verb, c->resource},
                        (double) (timestamp_monotonic_ms() - c->start_ms) / 1000.0);
        if (c->admitted) {
                pthread_mutex_lock(&s->lock);
                struct api_load *l = strmap_get(s->loads, c->user);
                if (c->long_running)
                        s->n_long--;
                else
                        s->n_short--;
                if (l) {
                        if (c->long_running)
                                l->n_long--;
                        else
                                l->n_short--;
                        if (l->n_short == 0 && l->n_long == 0)
                                strmap_remove(s->loads, c->user);
                }
                pthread_mutex_unlock(&s->lock);
                metric_add(s->m_in_flight, (const char *const[]){c->long_running ? "long" : "short"}, -1);
        }
        free(c);
}

struct api_call *api_call_begin(struct apiserver *s, struct httpd_request *req) {
        struct api_call *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL; /* not counted: a request is not refused for its metrics */
        *c = (struct api_call){
                .s = s, .start_ms = timestamp_monotonic_ms(), .verb = "unknown", .resource = "unknown"};
        if (httpd_request_on_done(req, call_done, c) < 0) {
                free(c);
                return NULL;
        }
        return c;
}

int api_call_admit(struct api_call *c, struct httpd_request *req, const struct api_user *user,
        const char *verb, const char *resource, bool long_running) {
        if (!c)
                return 0;
        struct apiserver *s = c->s;
        c->verb = verb;
        c->resource = resource;
        c->long_running = long_running;
        snprintf(c->user, sizeof(c->user), "%s", user->name);
        unsigned max = long_running ? s->opt.max_long_running : s->opt.max_inflight,
                 max_user = long_running ? s->opt.max_long_running_per_user : s->opt.max_inflight_per_user;
        const char *limit = NULL;
        unsigned mine = 0;
        pthread_mutex_lock(&s->lock);
        struct api_load *l = strmap_get(s->loads, c->user);
        unsigned all = long_running ? s->n_long : s->n_short;
        mine = l ? (long_running ? l->n_long : l->n_short) : 0;
        if (all >= max)
                limit = "overall";
        else if (mine >= max_user)
                limit = "user";
        else if (!l) {
                l = calloc(1, sizeof(*l));
                if (!l || strmap_put(s->loads, c->user, l) < 0) {
                        free(l); /* the map is unchanged */
                        limit = "overall";
                }
        }
        if (!limit) {
                if (long_running) {
                        s->n_long++;
                        l->n_long++;
                } else {
                        s->n_short++;
                        l->n_short++;
                }
                c->admitted = true;
        }
        pthread_mutex_unlock(&s->lock);
        if (!limit) {
                metric_add(s->m_in_flight, (const char *const[]){long_running ? "long" : "short"}, 1);
                return 0;
        }
        const char *kind = long_running ? "long-running requests (watches, log follows)" : "requests";
        metric_add(s->m_rejected, (const char *const[]){long_running ? "long" : "short", limit}, 1);
        (void) httpd_request_add_header(req, "Retry-After", "1");
        if (strcmp(limit, "user") == 0)
                httpd_respond_status(req, 429, "TooManyRequests",
                        "too many %s in flight for user \"%s\": %u, the most one user may have; try again "
                        "later",
                        kind, user->name, max_user);
        else
                httpd_respond_status(req, 429, "TooManyRequests",
                        "too many %s in flight: %u, the most this server takes at once; try again later",
                        kind, max);
        return -EBUSY;
}
