/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-apiserver: flags, certificates, logging and signals; the server is pkg/apiserver.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/apiserver.h"
#include "flag.h"
#include "kube/leader.h"
#include "log.h"
#include "macro.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static const char usage[] =
        "Usage: mbox-apiserver [OPTION]...\n"
        "Serves the runtime.mbox.dev aggregated API (object history, task output, artifacts) behind\n"
        "kube-apiserver, and mirrors every state of the mbox kinds into the database.\n";

static char *read_file(const char *flag, const char *path) {
        FILE *f = fopen(path, "re");
        char *data = NULL;
        size_t len = 0;
        if (!f) {
                fprintf(stderr, "mbox-apiserver: --%s: cannot open '%s': %s\n", flag, path, strerror(errno));
                return NULL;
        }
        FILE *m = open_memstream(&data, &len);
        char chunk[4096];
        size_t n;
        while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                fwrite(chunk, 1, n, m);
        fclose(f);
        if (!m || fclose(m) != 0) {
                free(data);
                fprintf(stderr, "mbox-apiserver: --%s: cannot read '%s'\n", flag, path);
                return NULL;
        }
        return data;
}

/* What the flags set (the defaults of apiserver_options are apiserver_new()'s). */
struct settings {
        struct apiserver_options o;
        const char *bind, *port, *cert_file, *key_file, *ca_file, *names;
        int log_format, log_level;
        int preview_transport;
};

static const char *const preview_transports[] = {"auto", "pod-ip", "port-forward", NULL};

/* Parses the flags into s: -1 when the program goes on, else its exit status. */
static int parse_flags(struct settings *s, int argc, char **argv) {
        const struct flag flags[] = {
                FLAG_HEADING("Serving:"),
                {"bind-address", FLAG_STRING, .value = &s->bind, .arg = "ADDR",
                        .help = "address to listen on", .def = "0.0.0.0; 127.0.0.1 for a local process"},
                {"secure-port", FLAG_STRING, .value = &s->port, .arg = "PORT", .help = "HTTPS port",
                        .def = "8443; 0 picks a free one, logged"},
                {"tls-cert-file", FLAG_STRING, .value = &s->cert_file, .arg = "FILE",
                        .help = "serving certificate (PEM, then its chain)"},
                {"tls-private-key-file", FLAG_STRING, .value = &s->key_file, .arg = "FILE",
                        .help = "its key (PEM)"},
                FLAG_HEADING(
                        "Authentication and authorization (the aggregation layer's front proxy, or a bearer "
                        "token\nchecked with a TokenReview; every request then with a SubjectAccessReview):"),
                {"requestheader-client-ca-file", FLAG_STRING, .value = &s->ca_file, .arg = "FILE",
                        .help = "CA of kube-apiserver's front-proxy client certificate; only requests with "
                                "such a "
                                "certificate are served (default: from ConfigMap "
                                "kube-system/extension-apiserver-authentication, with the allowed names)"},
                {"requestheader-allowed-names", FLAG_STRING, .value = &s->names, .arg = "NAMES",
                        .help = "common names that certificate may have, comma-separated (default: any, or "
                                "the "
                                "ConfigMap's list)"},
                {"kubeconfig", FLAG_STRING, .value = &s->o.kubeconfig, .arg = "PATHS",
                        .help = "for SubjectAccessReviews (default: $KUBECONFIG, ~/.kube/config, then the "
                                "in-cluster ServiceAccount)"},
                {"context", FLAG_STRING, .value = &s->o.context, .arg = "NAME", .help = "kubeconfig context"},
                {"preview-signing-key-file", FLAG_STRING, .value = &s->o.preview_key_file, .arg = "FILE",
                        .help = "HMAC key (at least 32 bytes, the whole file) that signs preview grants; "
                                "give "
                                "every replica the same one",
                        .def = "a random key at start: grants do not survive a restart nor work on another "
                               "replica"},
                {"authorization-cache-ttl", FLAG_COUNT, FLAG_INTO(&s->o.authz_cache_ms), .arg = "MS",
                        .min = 1, .max = 86400000, .help = "reuse a SubjectAccessReview answer this long",
                        .def = "10000"},
                FLAG_HEADING("Data:"),
                {"database-url", FLAG_STRING, .value = &s->o.database_url, .arg = "URL",
                        .help = "Postgres with mbox's records (default: the environment variable "
                                "MBOX_DATABASE_URL; without one, records answer 503). The history mirror "
                                "runs "
                                "while there is one: it lists and watches the mbox kinds with --kubeconfig's "
                                "identity."},
                {"database-max-connections", FLAG_COUNT, FLAG_INTO(&s->o.database_max_connections),
                        .arg = "N", .min = 2, .max = 1000,
                        .help = "database connections held at once, at most (default 32); a request that "
                                "finds "
                                "them all in use for 5 s gets 503 with Retry-After"},
                {"history-retention", FLAG_DURATION, FLAG_INTO(&s->o.history_retention_ms), .arg = "DURATION",
                        .min = 0, .help = "prune history stored longer ago than this, e.g. 2160h",
                        .def = "0: keep it all"},
                {"preview-access-flush-interval", FLAG_DURATION, FLAG_INTO(&s->o.preview_access_flush_ms),
                        .arg = "DURATION", .min = 100,
                        .help = "the access log of previews is written this often, added up by minute",
                        .def = "10s"},
                FLAG_HEADING("Limits (a request beyond them is answered 429 with Retry-After):"),
                {"max-requests-inflight", FLAG_COUNT, FLAG_INTO(&s->o.max_inflight), .arg = "N", .min = 1,
                        .max = 10000, .help = "requests served at once, watches and log follows aside",
                        .def = "64"},
                {"max-requests-inflight-per-user", FLAG_COUNT, FLAG_INTO(&s->o.max_inflight_per_user),
                        .arg = "N", .min = 1, .max = 10000, .help = "of them, one user's", .def = "16"},
                {"max-long-running", FLAG_COUNT, FLAG_INTO(&s->o.max_long_running), .arg = "N", .min = 1,
                        .max = 10000, .help = "watches and log follows at once", .def = "160"},
                {"max-long-running-per-user", FLAG_COUNT, FLAG_INTO(&s->o.max_long_running_per_user),
                        .arg = "N", .min = 1, .max = 10000, .help = "of them, one user's", .def = "64"},
                {"max-sessions-per-sandbox", FLAG_COUNT, FLAG_INTO(&s->o.max_sessions_per_sandbox),
                        .arg = "N", .min = 1, .max = 10000,
                        .help = "exec and terminal sessions open at once in one sandbox", .def = "16"},
                {"max-sessions-per-user", FLAG_COUNT, FLAG_INTO(&s->o.max_sessions_per_user), .arg = "N",
                        .min = 1, .max = 10000, .help = "of them, one user's, in any sandbox", .def = "32"},
                {"session-idle-timeout", FLAG_DURATION, FLAG_INTO(&s->o.session_idle_timeout_ms),
                        .arg = "DURATION", .min = 1000,
                        .help = "a session with no message either way for this long is ended", .def = "30m"},
                {"max-recording-size", FLAG_BYTES, FLAG_INTO(&s->o.max_recording_bytes), .arg = "QUANTITY",
                        .min = 64 * 1024, .max = 16LL * 1024 * 1024 * 1024,
                        .help = "a terminal session's recording stops with a marker past this size",
                        .def = "64Mi"},
                {"request-timeout", FLAG_DURATION, FLAG_INTO(&s->o.request_timeout_ms), .arg = "DURATION",
                        .min = 1000, .help = "a request's database statement is cancelled after this",
                        .def = "60s"},
                {"max-list-bytes", FLAG_BYTES, FLAG_INTO(&s->o.max_list_bytes), .arg = "QUANTITY",
                        .min = 64 * 1024, .max = 1024LL * 1024 * 1024,
                        .help = "a page of a list, or of a watch's events, ends once its records pass this "
                                "size, "
                                "e.g. 4Mi (default 4Mi); the rest follows with continue"},
                FLAG_HEADING("Previews (docs/previews.md):"),
                {"preview-listen", FLAG_STRING, .value = &s->o.preview_listen, .arg = "HOST:PORT",
                        .help = "serve the preview gateway for browsers here, plain HTTP (default: no "
                                "gateway)"},
                {"preview-domain", FLAG_STRING, .value = &s->o.preview_domain, .arg = "HOST[:PORT]",
                        .help = "the gateway serves hosts PORT--SANDBOX--PROJECT.DOMAIN; the operator's "
                                "--preview-domain"},
                {"preview-scheme", FLAG_STRING, .value = &s->o.preview_scheme, .arg = "SCHEME",
                        .help = "the scheme browsers use (https behind a TLS ingress: cookies are then "
                                "Secure)",
                        .def = "http"},
                {"preview-transport", FLAG_CHOICE, FLAG_INTO(&s->preview_transport), .arg = "WAY",
                        .choices = preview_transports,
                        .help = "how previews reach pods: auto (the pod IP, else port-forward), pod-ip, "
                                "port-forward",
                        .def = "auto"},
                {"preview-wake-timeout", FLAG_DURATION, FLAG_INTO(&s->o.preview_wake_timeout_ms),
                        .arg = "DURATION", .min = 1000,
                        .help = "how long a request to an idle-stopped sandbox waits for it to run",
                        .def = "60s"},
                {"preview-idle-timeout", FLAG_DURATION, FLAG_INTO(&s->o.preview_idle_timeout_ms),
                        .arg = "DURATION", .min = 1000,
                        .help = "a gateway connection silent this long is closed", .def = "5m"},
                {"preview-session-ttl", FLAG_DURATION, FLAG_INTO(&s->o.preview_session_ms), .arg = "DURATION",
                        .min = 60000, .help = "how long the cookie a preview grant sets lasts", .def = "12h"},
                {"preview-max-connections", FLAG_COUNT, FLAG_INTO(&s->o.preview_max_connections), .arg = "N",
                        .min = 1, .max = 1024, .help = "gateway connections at once", .def = "1024"},
                FLAG_HEADING("Web console (docs/console.md):"),
                {"console-listen", FLAG_STRING, .value = &s->o.console_listen, .arg = "HOST:PORT",
                        .help = "serve the web console here, plain HTTP (default: no console); it signs "
                                "users in with their own Kubernetes tokens"},
                {"console-dir", FLAG_STRING, .value = &s->o.console_dir, .arg = "DIR",
                        .help = "the console's files (web/dist, built by make web)"},
                {"console-idle-timeout", FLAG_DURATION, FLAG_INTO(&s->o.console_idle_timeout_ms),
                        .arg = "DURATION", .min = 1000,
                        .help = "a console connection silent this long between requests is closed",
                        .def = "5m"},
                {"console-max-connections", FLAG_COUNT, FLAG_INTO(&s->o.console_max_connections), .arg = "N",
                        .min = 1, .max = 4096, .help = "console connections at once", .def = "256"},
                FLAG_HEADING("Leader election (a coordination.k8s.io/v1 Lease; every replica serves, one "
                             "mirrors):"),
                {"leader-elect", FLAG_BOOL, .value = &s->o.leader_elect,
                        .help = "mirror the history only while holding the Lease; needed when replicas share "
                                "a "
                                "database",
                        .def = "false"},
                LEADER_FLAGS(&s->o.leader, "mbox-apiserver"),
                FLAG_HEADING(NULL),
                LOG_FLAGS(&s->log_format, &s->log_level),
                {0},
        };
        int rc = flag_main("mbox-apiserver", usage, flags, argc, argv);
        if (rc >= 0)
                return rc;
        if (!s->cert_file || !s->key_file) {
                fprintf(stderr, "mbox-apiserver: --tls-cert-file and --tls-private-key-file are required "
                                "(see --help)\n");
                return 2;
        }
        s->o.preview_transport = preview_transports[s->preview_transport];
        if (s->o.console_listen && !s->o.console_dir) {
                fprintf(stderr, "mbox-apiserver: --console-listen needs --console-dir (see --help)\n");
                return 2;
        }
        if (!s->o.database_url) {
                const char *url = secure_getenv("MBOX_DATABASE_URL");
                s->o.database_url = url && *url ? url : NULL;
        }
        return -1;
}

int main(int argc, char **argv) {
        struct settings s = {.bind = "0.0.0.0",
                .port = "8443",
                .log_format = LOG_FORMAT_TEXT,
                .log_level = LOG_LEVEL_INFO};
        struct apiserver_options *o = &s.o;
        int rc = parse_flags(&s, argc, argv);
        if (rc >= 0)
                return rc;
        log_setup(s.log_level, s.log_format, STDERR_FILENO);

        struct merr err = MERR_INIT;
        _cleanup_free_ char *cert = read_file("tls-cert-file", s.cert_file),
                            *key = read_file("tls-private-key-file", s.key_file),
                            *ca = s.ca_file ? read_file("requestheader-client-ca-file", s.ca_file) : NULL,
                            *names_copy = s.names ? strdup(s.names) : NULL;
        char **cm_names = NULL;
        if (!cert || !key || (s.ca_file && !ca))
                return 1;
        if (!s.ca_file && apiserver_load_requestheader(o->kubeconfig, o->context, &ca, &cm_names, &err) < 0) {
                log_error("no --requestheader-client-ca-file, and the cluster's could not be read", "error",
                        merr_msg(&err));
                return 1;
        }
        const char *allowed[32] = {NULL};
        size_t n = 0;
        for (char *save = NULL, *t = names_copy ? strtok_r(names_copy, ",", &save) : NULL;
                t && n < ARRAY_SIZE(allowed) - 1; t = strtok_r(NULL, ",", &save))
                allowed[n++] = t;
        for (size_t i = 0; !s.names && cm_names && cm_names[i] && n < ARRAY_SIZE(allowed) - 1; i++)
                allowed[n++] = cm_names[i];
        char listen[300];
        snprintf(listen, sizeof(listen), strchr(s.bind, ':') ? "[%s]:%s" : "%s:%s", s.bind, s.port);
        o->listen = listen;
        o->tls_cert_pem = cert;
        o->tls_key_pem = key;
        o->requestheader_ca_pem = ca;
        o->allowed_names = allowed;

        if (!o->preview_key_file)
                log_warn(
                        "no --preview-signing-key-file: preview grants are signed with a random key, so they "
                        "do not survive a restart nor work across replicas");
        _cleanup_(apiserver_freep) struct apiserver *srv = NULL;
        if (apiserver_new(o, &srv, &err) < 0 || apiserver_start(srv, &err) < 0) {
                log_error("cannot start", "error", merr_msg(&err));
                return 1;
        }
        explicit_bzero(key, strlen(key));
        char p[16];
        snprintf(p, sizeof(p), "%d", apiserver_port(srv));
        log_info("serving runtime.mbox.dev", "address", listen, "port", p, "database",
                o->database_url ? "yes" : "no");
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        while (!stop)
                pause();
        log_info("stopped");
        for (size_t i = 0; cm_names && cm_names[i]; i++)
                free(cm_names[i]);
        free(cm_names);
        return 0;
}
