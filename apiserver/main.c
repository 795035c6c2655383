/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-apiserver: flags, certificates, logging and signals; the server is pkg/apiserver.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/apiserver.h"
#include "flag.h"
#include "log.h"
#include "macro.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static void usage(FILE *f) {
        fputs("Usage: mbox-apiserver [OPTION]...\n"
              "Serves the runtime.mbox.dev aggregated API (object history, task output, artifacts) behind\n"
              "kube-apiserver, and mirrors every state of the mbox kinds into the database.\n"
              "\n"
              "Serving:\n"
              "      --bind-address=ADDR        address to listen on (default 0.0.0.0; 127.0.0.1 for a "
              "local\n"
              "                                 process)\n"
              "      --secure-port=PORT         HTTPS port (default 8443; 0 picks a free one, logged)\n"
              "      --tls-cert-file=FILE       serving certificate (PEM, then its chain)\n"
              "      --tls-private-key-file=FILE  its key (PEM)\n"
              "\n"
              "Authentication and authorization (the aggregation layer's front proxy, or a bearer token\n"
              "checked with a TokenReview; every request then with a SubjectAccessReview):\n"
              "      --requestheader-client-ca-file=FILE  CA of kube-apiserver's front-proxy client\n"
              "                                 certificate; only requests with such a certificate are "
              "served\n"
              "                                 (default: from ConfigMap kube-system/extension-apiserver-\n"
              "                                 authentication, with the allowed names)\n"
              "      --requestheader-allowed-names=NAMES  common names that certificate may have, comma-\n"
              "                                 separated (default: any, or the ConfigMap's list)\n"
              "      --kubeconfig=PATHS         for SubjectAccessReviews (default: $KUBECONFIG, "
              "~/.kube/config,\n"
              "                                 then the in-cluster ServiceAccount)\n"
              "      --context=NAME             kubeconfig context\n"
              "      --authorization-cache-ttl=MS  reuse a SubjectAccessReview answer this long (default "
              "10000)\n"
              "\n"
              "Data:\n"
              "      --database-url=URL         Postgres with mbox's records (default: the environment\n"
              "                                 variable MBOX_DATABASE_URL; without one, records answer "
              "503)\n"
              "                                 The history mirror runs while there is one: it lists and\n"
              "                                 watches the mbox kinds with --kubeconfig's identity.\n"
              "      --database-max-connections=N  database connections held at once, at most (default 32);\n"
              "                                 a request that finds them all in use for 5 s gets 503 with\n"
              "                                 Retry-After\n"
              "      --history-retention=DURATION  prune history stored longer ago than this, e.g. 2160h\n"
              "                                 (default 0: keep it all)\n"
              "\n"
              "Limits (a request beyond them is answered 429 with Retry-After):\n"
              "      --max-requests-inflight=N  requests served at once, watches and log follows aside\n"
              "                                 (default 64)\n"
              "      --max-requests-inflight-per-user=N  of them, one user's (default 16)\n"
              "      --max-long-running=N       watches and log follows at once (default 160)\n"
              "      --max-long-running-per-user=N  of them, one user's (default 64)\n"
              "      --request-timeout=DURATION  a request's database statement is cancelled after this\n"
              "                                 (default 60s)\n"
              "      --max-list-bytes=QUANTITY  a page of a list, or of a watch's events, ends once its\n"
              "                                 records pass this size, e.g. 4Mi (default 4Mi); the rest\n"
              "                                 follows with continue\n"
              "\n"
              "Leader election (a coordination.k8s.io/v1 Lease; every replica serves, one mirrors):\n"
              "      --leader-elect[=BOOL]      mirror the history only while holding the Lease; needed\n"
              "                                 when replicas share a database (default false)\n",
                f);
        fputs(LEADER_FLAGS_HELP("mbox-apiserver"), f);
        fputs("\n"
              "      --log-format=text|json     (default text)\n"
              "      --log-level=LEVEL          debug, info, warn or error (default info)\n"
              "  -h, --help                     this help\n",
                f);
}

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

enum {
        OPT_BIND = 256,
        OPT_PORT,
        OPT_CERT,
        OPT_KEY,
        OPT_RH_CA,
        OPT_RH_NAMES,
        OPT_KUBECONFIG,
        OPT_CONTEXT,
        OPT_AUTHZ_TTL,
        OPT_DB,
        OPT_RETENTION,
        OPT_DB_MAX,
        OPT_MAX_INFLIGHT,
        OPT_MAX_INFLIGHT_USER,
        OPT_MAX_LONG,
        OPT_MAX_LONG_USER,
        OPT_REQUEST_TIMEOUT,
        OPT_MAX_LIST_BYTES,
        OPT_LOG_FORMAT,
        OPT_LOG_LEVEL,
        OPT_LE,
        OPT_LE_LAST = OPT_LE + LEADER_FLAG__MAX - 1,
};

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"bind-address", required_argument, NULL, OPT_BIND},
                {"secure-port", required_argument, NULL, OPT_PORT},
                {"tls-cert-file", required_argument, NULL, OPT_CERT},
                {"tls-private-key-file", required_argument, NULL, OPT_KEY},
                {"requestheader-client-ca-file", required_argument, NULL, OPT_RH_CA},
                {"requestheader-allowed-names", required_argument, NULL, OPT_RH_NAMES},
                {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
                {"context", required_argument, NULL, OPT_CONTEXT},
                {"authorization-cache-ttl", required_argument, NULL, OPT_AUTHZ_TTL},
                {"database-url", required_argument, NULL, OPT_DB},
                {"history-retention", required_argument, NULL, OPT_RETENTION},
                {"database-max-connections", required_argument, NULL, OPT_DB_MAX},
                {"max-requests-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
                {"max-requests-inflight-per-user", required_argument, NULL, OPT_MAX_INFLIGHT_USER},
                {"max-long-running", required_argument, NULL, OPT_MAX_LONG},
                {"max-long-running-per-user", required_argument, NULL, OPT_MAX_LONG_USER},
                {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
                {"max-list-bytes", required_argument, NULL, OPT_MAX_LIST_BYTES},
                {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
                {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                LEADER_FLAG_OPTIONS(OPT_LE),
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *bind = "0.0.0.0", *port = "8443", *cert_file = NULL, *key_file = NULL, *ca_file = NULL,
                   *names = NULL;
        struct apiserver_options o = {0};
        int log_format = LOG_FORMAT_TEXT, log_level = LOG_LEVEL_INFO, c, option_index = 0;
        while ((c = getopt_long(argc, argv, "h", opts, &option_index)) != -1) {
                struct merr fe = MERR_INIT; /* what a flag_* parser (pkg/flag.h) found wrong */
                long count = 0;
                int64_t ms = 0;
                int r = 0;
                switch (c) {
                case OPT_BIND:
                        bind = optarg;
                        break;
                case OPT_PORT:
                        port = optarg;
                        break;
                case OPT_CERT:
                        cert_file = optarg;
                        break;
                case OPT_KEY:
                        key_file = optarg;
                        break;
                case OPT_RH_CA:
                        ca_file = optarg;
                        break;
                case OPT_RH_NAMES:
                        names = optarg;
                        break;
                case OPT_KUBECONFIG:
                        o.kubeconfig = optarg;
                        break;
                case OPT_CONTEXT:
                        o.context = optarg;
                        break;
                case OPT_AUTHZ_TTL:
                        if ((r = flag_count("authorization-cache-ttl", optarg, 1, 86400000, &count, &fe)) >=
                                0)
                                o.authz_cache_ms = count;
                        break;
                case OPT_RETENTION:
                        if ((r = flag_duration_ms("history-retention", optarg, 0, &ms, &fe)) >= 0)
                                o.history_retention_ms = ms;
                        break;
                case OPT_DB:
                        o.database_url = optarg;
                        break;
                case OPT_DB_MAX:
                        if ((r = flag_count("database-max-connections", optarg, 2, 1000, &count, &fe)) >= 0)
                                o.database_max_connections = (size_t) count;
                        break;
                case OPT_MAX_INFLIGHT:
                case OPT_MAX_INFLIGHT_USER:
                case OPT_MAX_LONG:
                case OPT_MAX_LONG_USER:
                        if ((r = flag_count(opts[option_index].name, optarg, 1, 10000, &count, &fe)) < 0)
                                break;
                        *(c == OPT_MAX_INFLIGHT              ? &o.max_inflight
                                : c == OPT_MAX_INFLIGHT_USER ? &o.max_inflight_per_user
                                : c == OPT_MAX_LONG          ? &o.max_long_running
                                                    : &o.max_long_running_per_user) = (unsigned) count;
                        break;
                case OPT_REQUEST_TIMEOUT:
                        if ((r = flag_duration_ms("request-timeout", optarg, 1000, &ms, &fe)) >= 0)
                                o.request_timeout_ms = ms;
                        break;
                case OPT_MAX_LIST_BYTES: {
                        int64_t v = 0;
                        if ((r = flag_bytes("max-list-bytes", optarg, 64 * 1024, 1024LL * 1024 * 1024, &v,
                                     &fe)) >= 0)
                                o.max_list_bytes = (size_t) v;
                        break;
                }
                case OPT_LOG_FORMAT:
                        if ((log_format = log_format_from_string(optarg)) < 0) {
                                fprintf(stderr,
                                        "mbox-apiserver: --log-format: expected text or json, got '%s'\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case OPT_LOG_LEVEL:
                        if ((log_level = log_level_from_string(optarg)) < 0) {
                                fprintf(stderr,
                                        "mbox-apiserver: --log-level: expected debug, info, warn or error, "
                                        "got '%s'\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case OPT_LE ... OPT_LE_LAST: {
                        struct merr e = MERR_INIT;
                        if (leader_parse_flag(c - OPT_LE, optarg, &o.leader_elect, &o.leader, &e) < 0) {
                                fprintf(stderr, "mbox-apiserver: %s\n", merr_msg(&e));
                                return 2;
                        }
                        break;
                }
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
                if (r < 0) {
                        fprintf(stderr, "mbox-apiserver: %s\n", merr_msg(&fe));
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "mbox-apiserver: unexpected argument '%s' (see --help)\n", argv[optind]);
                return 2;
        }
        if (!cert_file || !key_file) {
                fprintf(stderr, "mbox-apiserver: --tls-cert-file and --tls-private-key-file are required "
                                "(see --help)\n");
                return 2;
        }
        if (!o.database_url) {
                const char *url = secure_getenv("MBOX_DATABASE_URL");
                o.database_url = url && *url ? url : NULL;
        }
        log_setup(log_level, log_format, STDERR_FILENO);

        struct merr err = MERR_INIT;
        _cleanup_free_ char *cert = read_file("tls-cert-file", cert_file),
                            *key = read_file("tls-private-key-file", key_file),
                            *ca = ca_file ? read_file("requestheader-client-ca-file", ca_file) : NULL,
                            *names_copy = names ? strdup(names) : NULL;
        char **cm_names = NULL;
        if (!cert || !key || (ca_file && !ca))
                return 1;
        if (!ca_file && apiserver_load_requestheader(o.kubeconfig, o.context, &ca, &cm_names, &err) < 0) {
                log_error("no --requestheader-client-ca-file, and the cluster's could not be read", "error",
                        merr_msg(&err));
                return 1;
        }
        const char *allowed[32] = {NULL};
        size_t n = 0;
        for (char *save = NULL, *t = names_copy ? strtok_r(names_copy, ",", &save) : NULL;
                t && n < ARRAY_SIZE(allowed) - 1; t = strtok_r(NULL, ",", &save))
                allowed[n++] = t;
        for (size_t i = 0; !names && cm_names && cm_names[i] && n < ARRAY_SIZE(allowed) - 1; i++)
                allowed[n++] = cm_names[i];
        char listen[300];
        snprintf(listen, sizeof(listen), strchr(bind, ':') ? "[%s]:%s" : "%s:%s", bind, port);
        o.listen = listen;
        o.tls_cert_pem = cert;
        o.tls_key_pem = key;
        o.requestheader_ca_pem = ca;
        o.allowed_names = allowed;

        _cleanup_(apiserver_freep) struct apiserver *s = NULL;
        if (apiserver_new(&o, &s, &err) < 0 || apiserver_start(s, &err) < 0) {
                log_error("cannot start", "error", merr_msg(&err));
                return 1;
        }
        explicit_bzero(key, strlen(key));
        char p[16];
        snprintf(p, sizeof(p), "%d", apiserver_port(s));
        log_info("serving runtime.mbox.dev", "address", listen, "port", p, "database",
                o.database_url ? "yes" : "no");
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
