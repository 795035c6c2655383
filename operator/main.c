/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-operator: flags, logging, the health and metrics server, signals; everything else is
 * pkg/operator.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flag.h"
#include "health.h"
#include "kube/leader.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "operator/operator.h"

static struct mbox_operator *the_operator;

static void on_signal(int sig) {
        (void) sig;
        if (the_operator)
                operator_stop(the_operator);
}

static void usage(FILE *f) {
        fputs("Usage: mbox-operator [OPTION]...\n"
              "Reconciles mbox.dev Projects, EnvironmentTemplates and Sandboxes into namespaces, policy and\n"
              "agent-sandbox resources, and runs ExecutionTasks in sandbox pods.\n"
              "\n"
              "Connection:\n"
              "      --kubeconfig=PATHS         kubeconfig files, colon-separated (default: $KUBECONFIG,\n"
              "                                 ~/.kube/config, then the in-cluster ServiceAccount)\n"
              "      --context=NAME             kubeconfig context (default: current-context)\n"
              "\n"
              "Behaviour:\n"
              "      --library-namespace=NS     namespace of the platform template library, usable by every\n"
              "                                 project; also where mbox-apiserver runs (default "
              "mbox-system)\n"
              "      --project-workers=N        concurrent Project reconciles (default 2)\n"
              "      --template-workers=N       concurrent EnvironmentTemplate reconciles (default 2)\n"
              "      --sandbox-workers=N        concurrent Sandbox reconciles (default 8)\n"
              "      --preview-base-url=URL     prefix of the preview URLs written to sandbox status, e.g. "
              "the\n"
              "                                 kube-apiserver's address (default: none, URLs are paths)\n"
              "      --resync=DURATION          reconcile every object again after this long (default 10m)\n"
              "\n"
              "Execution tasks:\n"
              "      --task-workers=N           concurrent ExecutionTask reconciles (default 4)\n"
              "      --max-running-tasks=N      commands running at once over all projects; more wait in\n"
              "                                 Pending with reason ConcurrencyLimit (default 64)\n"
              "      --task-tail-bytes=N        size of status.stdoutTail and stderrTail (default 4096, at\n"
              "                                 most 16384)\n"
              "      --task-start-timeout=DURATION  how long a task waits for its sandbox to be ready "
              "before\n"
              "                                 it fails with reason SandboxNotReady (default 5m)\n"
              "      --database-url=URL         Postgres that keeps the full output of every task, e.g.\n"
              "                                 postgresql://mbox@127.0.0.1:5432/mbox (default: the\n"
              "                                 environment variable MBOX_DATABASE_URL, else none: only the\n"
              "                                 tails in status are kept, and status says so)\n"
              "      --max-task-output=BYTES    most bytes of one task's output (both streams) stored in "
              "the\n"
              "                                 database, e.g. 16Mi; the rest is counted and dropped, and\n"
              "                                 status.outputTruncated says so. A project's\n"
              "                                 spec.quota.maxTaskOutput may set less (default 64Mi)\n"
              "      --task-output-retention=DURATION  delete the output and artifact records of a task\n"
              "                                 this long after it finished, e.g. 720h, unless its "
              "project's\n"
              "                                 spec.policy.lifecycle.taskOutputRetention says otherwise\n"
              "                                 (default 0: kept)\n"
              "      --internal-cidrs=CIDR,...  ranges that sandboxes allowed the internet still cannot "
              "reach:\n"
              "                                 the cluster's pod and service ranges and the API server's\n"
              "                                 address where they are outside the private ranges (which,\n"
              "                                 with link-local and loopback, are always blocked)\n"
              "\n"
              "Leader election (a coordination.k8s.io/v1 Lease; standby replicas wait for it):\n"
              "      --leader-elect[=BOOL]      take the Lease before doing any work (default false)\n",
                f);
        fputs(LEADER_FLAGS_HELP("mbox-operator"), f);
        fputs("\n"
              "Observability:\n"
              "      --health-address=ADDR      serve /healthz, /livez, /readyz and /metrics (default "
              ":8081;\n"
              "                                 empty to disable)\n"
              "      --metrics-address=ADDR     also serve /metrics here (default: only on the health "
              "address)\n"
              "      --log-format=text|json     (default text)\n"
              "      --log-level=LEVEL          debug, info, warn or error (default info)\n"
              "  -h, --help                     this help\n",
                f);
}

/* r as it is; when a flag_* parser (pkg/flag.h) refused the value, says why. */
static int bad_flag(int r, const struct merr *e) {
        if (r < 0 && e->code)
                fprintf(stderr, "mbox-operator: %s\n", merr_msg(e));
        return r;
}

static int parse_workers(const char *flag, const char *s, int *ret, struct merr *e) {
        long v = 0;
        int r = flag_count(flag, s, 1, 1000, &v, e);
        *ret = r < 0 ? *ret : (int) v;
        return r;
}

static bool ready(void *ud, struct buf *why) {
        if (operator_ready(ud))
                return true;
        buf_puts(why, "caches not synced yet");
        return false;
}

enum {
        OPT_KUBECONFIG = 256,
        OPT_CONTEXT,
        OPT_LIBRARY,
        OPT_PW,
        OPT_TW,
        OPT_SW,
        OPT_PREVIEW,
        OPT_RESYNC,
        OPT_TASK_WORKERS,
        OPT_MAX_TASKS,
        OPT_TAIL,
        OPT_TASK_START,
        OPT_DB,
        OPT_MAX_OUTPUT,
        OPT_OUTPUT_RETENTION,
        OPT_INTERNAL,
        OPT_LE,
        OPT_LE_LAST = OPT_LE + LEADER_FLAG__MAX - 1,
        OPT_HEALTH,
        OPT_METRICS,
        OPT_LOG_FORMAT,
        OPT_LOG_LEVEL,
};

/* --internal-cidrs: CIDR[,CIDR...], each an address and a prefix length that parse. */
static int check_cidrs(const char *list) {
        char buf[1024], *save = NULL;
        if (strlen(list) >= sizeof(buf)) {
                fprintf(stderr, "mbox-operator: --internal-cidrs: at most %zu characters\n", sizeof(buf) - 1);
                return -EINVAL;
        }
        snprintf(buf, sizeof(buf), "%s", list);
        for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                char *slash = strchr(c, '/'), *end = NULL;
                unsigned char addr[16];
                bool v6 = strchr(c, ':') != NULL;
                long bits = slash ? strtol(slash + 1, &end, 10) : -1;
                if (slash)
                        *slash = '\0';
                if (!slash || !end || *end || bits < 0 || bits > (v6 ? 128 : 32) ||
                        inet_pton(v6 ? AF_INET6 : AF_INET, c, addr) != 1) {
                        fprintf(stderr,
                                "mbox-operator: --internal-cidrs: '%s%s%s' is not a CIDR such as "
                                "10.96.0.0/12\n",
                                c, slash ? "/" : "", slash ? slash + 1 : "");
                        return -EINVAL;
                }
        }
        return 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
                {"context", required_argument, NULL, OPT_CONTEXT},
                {"library-namespace", required_argument, NULL, OPT_LIBRARY},
                {"project-workers", required_argument, NULL, OPT_PW},
                {"template-workers", required_argument, NULL, OPT_TW},
                {"sandbox-workers", required_argument, NULL, OPT_SW},
                {"preview-base-url", required_argument, NULL, OPT_PREVIEW},
                {"resync", required_argument, NULL, OPT_RESYNC},
                {"task-workers", required_argument, NULL, OPT_TASK_WORKERS},
                {"max-running-tasks", required_argument, NULL, OPT_MAX_TASKS},
                {"task-tail-bytes", required_argument, NULL, OPT_TAIL},
                {"task-start-timeout", required_argument, NULL, OPT_TASK_START},
                {"database-url", required_argument, NULL, OPT_DB},
                {"max-task-output", required_argument, NULL, OPT_MAX_OUTPUT},
                {"task-output-retention", required_argument, NULL, OPT_OUTPUT_RETENTION},
                {"internal-cidrs", required_argument, NULL, OPT_INTERNAL},
                LEADER_FLAG_OPTIONS(OPT_LE),
                {"health-address", required_argument, NULL, OPT_HEALTH},
                {"metrics-address", required_argument, NULL, OPT_METRICS},
                {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
                {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct operator_options o = {0};
        const char *health_addr = ":8081", *metrics_addr = NULL;
        int log_format = LOG_FORMAT_TEXT, log_level = LOG_LEVEL_INFO, c;
        int64_t resync_ms = 0, task_start_ms = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                struct merr fe = MERR_INIT; /* what a flag_* parser found wrong */
                int r = 0;
                switch (c) {
                case OPT_KUBECONFIG:
                        o.kubeconfig = optarg;
                        break;
                case OPT_CONTEXT:
                        o.context = optarg;
                        break;
                case OPT_LIBRARY:
                        o.library_namespace = optarg;
                        break;
                case OPT_PW:
                        r = parse_workers("project-workers", optarg, &o.project_workers, &fe);
                        break;
                case OPT_TW:
                        r = parse_workers("template-workers", optarg, &o.template_workers, &fe);
                        break;
                case OPT_SW:
                        r = parse_workers("sandbox-workers", optarg, &o.sandbox_workers, &fe);
                        break;
                case OPT_PREVIEW:
                        o.preview_base_url = optarg;
                        break;
                case OPT_RESYNC:
                        r = flag_duration_ms("resync", optarg, 1, &resync_ms, &fe);
                        break;
                case OPT_TASK_WORKERS:
                        r = parse_workers("task-workers", optarg, &o.task_workers, &fe);
                        break;
                case OPT_MAX_TASKS:
                        r = parse_workers("max-running-tasks", optarg, &o.max_running_tasks, &fe);
                        break;
                case OPT_TAIL: {
                        long v = 0;
                        if ((r = flag_count("task-tail-bytes", optarg, 1, 16384, &v, &fe)) >= 0)
                                o.task_tail_bytes = (size_t) v;
                        break;
                }
                case OPT_TASK_START:
                        r = flag_duration_ms("task-start-timeout", optarg, 1, &task_start_ms, &fe);
                        break;
                case OPT_DB:
                        o.database_url = optarg;
                        break;
                case OPT_MAX_OUTPUT:
                        r = flag_bytes("max-task-output", optarg, 1, INT64_MAX, &o.max_task_output, &fe);
                        break;
                case OPT_OUTPUT_RETENTION:
                        r = flag_duration_ms(
                                "task-output-retention", optarg, 0, &o.task_output_retention_ms, &fe);
                        break;
                case OPT_INTERNAL:
                        r = check_cidrs(optarg);
                        o.internal_cidrs = optarg;
                        break;
                case OPT_LE ... OPT_LE_LAST: {
                        struct merr e = MERR_INIT;
                        struct leader_options lo = {.namespace = o.leader_namespace,
                                .name = o.leader_name,
                                .identity = o.leader_identity,
                                .lease_duration_ms = o.lease_duration_ms,
                                .renew_deadline_ms = o.renew_deadline_ms,
                                .retry_period_ms = o.retry_period_ms};
                        if ((r = leader_parse_flag(c - OPT_LE, optarg, &o.leader_elect, &lo, &e)) < 0)
                                fprintf(stderr, "mbox-operator: %s\n", merr_msg(&e));
                        o.leader_namespace = lo.namespace;
                        o.leader_name = lo.name;
                        o.leader_identity = lo.identity;
                        o.lease_duration_ms = lo.lease_duration_ms;
                        o.renew_deadline_ms = lo.renew_deadline_ms;
                        o.retry_period_ms = lo.retry_period_ms;
                        break;
                }
                case OPT_HEALTH:
                        health_addr = optarg;
                        break;
                case OPT_METRICS:
                        metrics_addr = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        if ((log_format = log_format_from_string(optarg)) < 0) {
                                fprintf(stderr,
                                        "mbox-operator: --log-format: expected text or json, got '%s'\n",
                                        optarg);
                                r = -EINVAL;
                        }
                        break;
                case OPT_LOG_LEVEL:
                        if ((log_level = log_level_from_string(optarg)) < 0) {
                                fprintf(stderr,
                                        "mbox-operator: --log-level: expected debug, info, warn or error, "
                                        "got '%s'\n",
                                        optarg);
                                r = -EINVAL;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
                if (bad_flag(r, &fe) < 0)
                        return 2;
        }
        if (optind < argc) {
                fprintf(stderr, "mbox-operator: unexpected argument '%s' (see --help)\n", argv[optind]);
                return 2;
        }
        if (!o.database_url) {
                const char *url = secure_getenv("MBOX_DATABASE_URL");
                o.database_url = url && *url ? url : NULL;
        }
        o.resync_ns = (int64_t) resync_ms * 1000000;
        o.task_start_timeout_ns = (int64_t) task_start_ms * 1000000;
        log_setup(log_level, log_format, STDERR_FILENO);
        /* Dozens of threads (informers, workers, task runs) each parse JSON: glibc would give them up to 8
         * arenas per core, which hold on to freed memory. Two arenas cut the peak RSS of make
         * bench-operator by a seventh (docs/operator-bench.md); MALLOC_ARENA_MAX still overrides. */
        if (!secure_getenv("MALLOC_ARENA_MAX"))
                mallopt(M_ARENA_MAX, 2);

        struct merr err = MERR_INIT;
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_(operator_freep) struct mbox_operator *op = NULL;
        _cleanup_(httpd_freep) struct httpd *health = NULL, *metrics_srv = NULL;
        if (metrics_new(&m) < 0) {
                log_error("out of memory");
                return 1;
        }
        if (operator_new(&o, m, &op, &err) < 0) {
                log_error("cannot start", "error", merr_msg(&err));
                return 1;
        }
        the_operator = op;
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (health_addr && *health_addr) {
                struct httpd_options ho = {.listen = health_addr, .max_connections = 8};
                if (httpd_new(&ho, &health, &err) < 0 || health_serve(health, m, ready, op) < 0 ||
                        httpd_start(health, &err) < 0) {
                        log_error("cannot serve health", "address", health_addr, "error", merr_msg(&err));
                        return 1;
                }
                char port[16];
                snprintf(port, sizeof(port), "%d", httpd_port(health));
                log_info("serving /healthz, /readyz and /metrics", "address", health_addr, "port", port);
        }
        if (metrics_addr && *metrics_addr) {
                struct httpd_options mo = {.listen = metrics_addr, .max_connections = 4};
                if (httpd_new(&mo, &metrics_srv, &err) < 0 || health_serve(metrics_srv, m, ready, op) < 0 ||
                        httpd_start(metrics_srv, &err) < 0) {
                        log_error("cannot serve metrics", "address", metrics_addr, "error", merr_msg(&err));
                        return 1;
                }
        }
        log_info("mbox-operator starting", "health", health_addr ? health_addr : "", "leader_elect",
                o.leader_elect ? "true" : "false");
        int rc = operator_run(op, &err);
        the_operator = NULL;
        if (rc < 0) {
                log_error("stopped", "error", merr_msg(&err));
                return 1;
        }
        log_info("stopped");
        return 0;
}
