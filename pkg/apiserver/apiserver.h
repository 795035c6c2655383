/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-apiserver as a library: the runtime.mbox.dev aggregated API (docs/apiserver.md). kube-apiserver
 * proxies requests here with its front-proxy client certificate and the caller's identity in X-Remote-*
 * headers; every request but /healthz, /livez and /readyz is authenticated that way and authorized with
 * a SubjectAccessReview (cached briefly). Records come from Postgres (pkg/store).
 */
#pragma once

#include <stdbool.h>

#include "kube/leader.h"
#include "macro.h"
#include "merr.h"

struct apiserver_options {
        const char *listen;                     /* "127.0.0.1:8443", ":8443" */
        const char *tls_cert_pem, *tls_key_pem; /* serving certificate and key (PEM text) */
        const char *requestheader_ca_pem;       /* CA of the front-proxy client certificate */
        const char *const *allowed_names;       /* CNs it may have (NULL-terminated; NULL or empty: any) */
        const char *kubeconfig, *context;       /* for SubjectAccessReviews (NULL: in-cluster / default) */
        const char *database_url;               /* NULL: records answer 503 */
        size_t database_max_connections;        /* 0: STORE_MAX_CONNECTIONS */
        long long history_retention_ms;         /* history older than this is pruned (0: kept forever) */
        long authz_cache_ms; /* how long a SubjectAccessReview answer is reused (default 10 s) */
        /* Requests in flight (0: the default); beyond them a request is answered 429 with Retry-After.
         * Long-running requests (watches, log follows) are counted apart from the rest. */
        unsigned max_inflight, max_inflight_per_user;         /* defaults 64 and 16 */
        unsigned max_long_running, max_long_running_per_user; /* defaults 160 and 64 */
        long request_timeout_ms; /* a request's database statement is cancelled after this (0: 60 s) */
        size_t max_list_bytes;   /* a page of a list ends once its records pass this (0: 4 MiB) */
        /* exec and terminal sessions (docs/sessions.md) open at once on a replica, per sandbox and per user
         * (0: the default), and how long one may pass without a message either way (0: 30 min) */
        unsigned max_sessions_per_sandbox, max_sessions_per_user; /* defaults 16 and 32 */
        long long session_idle_timeout_ms;
        size_t max_recording_bytes; /* of one terminal recording (0: RECORDING_MAX_BYTES, 64 MiB) */
        /* the key that signs preview grants (at least 32 bytes); NULL: a random one, so that grants do
         * not outlive the process nor work on another replica */
        const char *preview_key_file;
        /* previews (docs/previews.md): the gateway's listen address (NULL: no gateway), the domain its
         * hosts end in, its scheme as browsers see it, the way to pods (auto, pod-ip, port-forward) */
        const char *preview_listen, *preview_domain, *preview_scheme, *preview_transport;
        long long preview_wake_timeout_ms; /* how long a request waits for a woken sandbox (0: 60 s) */
        long long preview_idle_timeout_ms; /* a gateway connection silent this long closes (0: 5 min) */
        long long preview_session_ms;      /* how long the cookie a grant sets lasts (0: 12 h) */
        unsigned preview_max_connections;  /* gateway connections at once (0: 1024) */
        /* the access log of previews is written this often (0: 10 s) */
        long long preview_access_flush_ms;
        /* the web console (docs/console.md): its listen address (NULL: none), the directory of its files
         * (web/dist), connections at once (0: 256) and how long one may stay silent between requests
         * (0: 5 min) */
        const char *console_listen, *console_dir;
        unsigned console_max_connections;
        long long console_idle_timeout_ms;
        /* only the holder of a Lease mirrors the history (replicas share the database); all serve. The
         * Lease: namespace mbox-system, name mbox-apiserver, identity <hostname>_<pid> unless given */
        bool leader_elect;
        struct leader_options leader;
};

#define API_MAX_INFLIGHT              64
#define API_MAX_INFLIGHT_PER_USER     16
#define API_MAX_LONG_RUNNING          160
#define API_MAX_LONG_RUNNING_PER_USER 64
#define API_REQUEST_TIMEOUT_MS        60000
#define API_MAX_LIST_BYTES            (4 * 1024 * 1024)
#define API_MAX_SESSIONS_PER_SANDBOX  16
#define API_MAX_SESSIONS_PER_USER     32
#define API_SESSION_IDLE_TIMEOUT_MS   (30 * 60 * 1000LL)
#define API_PREVIEW_WAKE_TIMEOUT_MS   (60 * 1000LL)
#define API_PREVIEW_IDLE_TIMEOUT_MS   (5 * 60 * 1000LL)
#define API_PREVIEW_SESSION_MS        (12 * 60 * 60 * 1000LL)
#define API_PREVIEW_MAX_CONNECTIONS   1024
#define API_PREVIEW_ACCESS_FLUSH_MS   10000
#define API_CONSOLE_MAX_CONNECTIONS   256
#define API_CONSOLE_IDLE_TIMEOUT_MS   (5 * 60 * 1000LL)

struct apiserver;

int apiserver_new(const struct apiserver_options *o, struct apiserver **ret, struct merr *err);
/* Binds and serves (threads of its own); returns once listening. */
int apiserver_start(struct apiserver *s, struct merr *err);
int apiserver_port(struct apiserver *s);
struct apiserver *apiserver_free(struct apiserver *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct apiserver *, apiserver_free);

/* The requestheader CA (PEM) and allowed names (NULL-terminated; caller frees both) from ConfigMap
 * kube-system/extension-apiserver-authentication, as kube-apiserver publishes them. */
int apiserver_load_requestheader(
        const char *kubeconfig, const char *context, char **ret_ca, char ***ret_names, struct merr *err);
