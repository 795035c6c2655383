/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-operator: flags, logging, the health and metrics server, signals; everything else is
 * pkg/operator.
 */
#include <arpa/inet.h>
#include <errno.h>
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

static bool ready(void *ud, struct buf *why) {
        if (operator_ready(ud))
                return true;
        buf_puts(why, "caches not synced yet");
        return false;
}

/* --internal-cidrs: CIDR[,CIDR...], each an address and a prefix length that parse. */
static int parse_cidrs(const struct flag *f, const char *list, struct merr *err) {
        char buf[1024], *save = NULL;
        if (strlen(list) >= sizeof(buf))
                return merr_set(err, -EINVAL, "at most %zu characters", sizeof(buf) - 1);
        snprintf(buf, sizeof(buf), "%s", list);
        for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                char *slash = strchr(c, '/'), *end = NULL;
                unsigned char addr[16];
                bool v6 = strchr(c, ':') != NULL;
                long bits = slash ? strtol(slash + 1, &end, 10) : -1;
                if (slash)
                        *slash = '\0';
                if (!slash || !end || *end || bits < 0 || bits > (v6 ? 128 : 32) ||
                        inet_pton(v6 ? AF_INET6 : AF_INET, c, addr) != 1)
                        return merr_set(err, -EINVAL, "'%s%s%s' is not a CIDR such as 10.96.0.0/12", c,
                                slash ? "/" : "", slash ? slash + 1 : "");
        }
        *(const char **) f->value = list;
        return 0;
}

static const char usage[] =
        "Usage: mbox-operator [OPTION]...\n"
        "Reconciles mbox.dev Projects, EnvironmentTemplates and Sandboxes into namespaces, policy and\n"
        "agent-sandbox resources, and runs ExecutionTasks in sandbox pods.\n";

/* What the flags set (the defaults of operator_options are operator_new()'s). */
struct settings {
        struct operator_options o;
        struct leader_options lease;
        const char *health_addr, *metrics_addr;
        int log_format, log_level;
        int64_t resync_ms, task_start_ms;
};

/* Parses the flags into s: -1 when the program goes on, else its exit status. */
static int parse_flags(struct settings *s, int argc, char **argv) {
        const struct flag flags[] = {
                FLAG_HEADING("Connection:"),
                {"kubeconfig", FLAG_STRING, .value = &s->o.kubeconfig, .arg = "PATHS",
                        .help = "kubeconfig files, colon-separated (default: $KUBECONFIG, ~/.kube/config, "
                                "then "
                                "the in-cluster ServiceAccount)"},
                {"context", FLAG_STRING, .value = &s->o.context, .arg = "NAME",
                        .help = "kubeconfig context (default: current-context)"},
                FLAG_HEADING("Behaviour:"),
                {"library-namespace", FLAG_STRING, .value = &s->o.library_namespace, .arg = "NS",
                        .help = "namespace of the platform template library, usable by every project; also "
                                "where mbox-apiserver runs",
                        .def = "mbox-system"},
                {"project-workers", FLAG_COUNT, FLAG_INTO(&s->o.project_workers), .arg = "N", .min = 1,
                        .max = 1000, .help = "concurrent Project reconciles", .def = "2"},
                {"template-workers", FLAG_COUNT, FLAG_INTO(&s->o.template_workers), .arg = "N", .min = 1,
                        .max = 1000, .help = "concurrent EnvironmentTemplate reconciles", .def = "2"},
                {"sandbox-workers", FLAG_COUNT, FLAG_INTO(&s->o.sandbox_workers), .arg = "N", .min = 1,
                        .max = 1000, .help = "concurrent Sandbox reconciles", .def = "8"},
                {"preview-domain", FLAG_STRING, .value = &s->o.preview_domain, .arg = "HOST[:PORT]",
                        .help = "domain of mbox-apiserver's preview gateway: sandbox status names each "
                                "preview "
                                "as SCHEME://PORT--SANDBOX--PROJECT.DOMAIN/ (default: none, no preview "
                                "URLs)"},
                {"preview-scheme", FLAG_STRING, .value = &s->o.preview_scheme, .arg = "SCHEME",
                        .help = "scheme of the preview URLs: https behind a TLS ingress", .def = "http"},
                {"resync", FLAG_DURATION, FLAG_INTO(&s->resync_ms), .arg = "DURATION", .min = 1,
                        .help = "reconcile every object again after this long", .def = "10m"},
                FLAG_HEADING("Execution tasks:"),
                {"task-workers", FLAG_COUNT, FLAG_INTO(&s->o.task_workers), .arg = "N", .min = 1, .max = 1000,
                        .help = "concurrent ExecutionTask reconciles", .def = "4"},
                {"max-running-tasks", FLAG_COUNT, FLAG_INTO(&s->o.max_running_tasks), .arg = "N", .min = 1,
                        .max = 1000,
                        .help = "commands running at once over all projects; more wait in Pending with "
                                "reason ConcurrencyLimit",
                        .def = "64"},
                {"task-tail-bytes", FLAG_COUNT, FLAG_INTO(&s->o.task_tail_bytes), .arg = "N", .min = 1,
                        .max = 16384, .help = "size of status.stdoutTail and stderrTail",
                        .def = "4096, at most 16384"},
                {"task-start-timeout", FLAG_DURATION, FLAG_INTO(&s->task_start_ms), .arg = "DURATION",
                        .min = 1,
                        .help = "how long a task waits for its sandbox to be ready before it fails with "
                                "reason SandboxNotReady",
                        .def = "5m"},
                {"database-url", FLAG_STRING, .value = &s->o.database_url, .arg = "URL",
                        .help = "Postgres that keeps the full output of every task, e.g. "
                                "postgresql://mbox@127.0.0.1:5432/mbox (default: the environment variable "
                                "MBOX_DATABASE_URL, else none: only the tails in status are kept, and status "
                                "says so)"},
                {"max-task-output", FLAG_BYTES, FLAG_INTO(&s->o.max_task_output), .arg = "BYTES", .min = 1,
                        .max = INT64_MAX,
                        .help = "most bytes of one task's output (both streams) stored in the database, e.g. "
                                "16Mi; the rest is counted and dropped, and status.outputTruncated says so. "
                                "A "
                                "project's spec.quota.maxTaskOutput may set less",
                        .def = "64Mi"},
                {"task-output-retention", FLAG_DURATION, FLAG_INTO(&s->o.task_output_retention_ms),
                        .arg = "DURATION", .min = 0,
                        .help = "delete the output and artifact records of a task this long after it "
                                "finished, e.g. 720h, unless its project's "
                                "spec.policy.lifecycle.taskOutputRetention says otherwise",
                        .def = "0: kept"},
                {"internal-cidrs", FLAG_FUNC, .value = &s->o.internal_cidrs, .parse = parse_cidrs,
                        .arg = "CIDR,...",
                        .help = "ranges that sandboxes allowed the internet still cannot reach: the "
                                "cluster's "
                                "pod and service ranges and the API server's address where they are outside "
                                "the private ranges (which, with link-local and loopback, are always "
                                "blocked)"},
                FLAG_HEADING(
                        "Leader election (a coordination.k8s.io/v1 Lease; standby replicas wait for it):"),
                {"leader-elect", FLAG_BOOL, .value = &s->o.leader_elect,
                        .help = "take the Lease before doing any work", .def = "false"},
                LEADER_FLAGS(&s->lease, "mbox-operator"),
                FLAG_HEADING("Observability:"),
                {"health-address", FLAG_STRING, .value = &s->health_addr, .arg = "ADDR",
                        .help = "serve /healthz, /livez, /readyz and /metrics",
                        .def = ":8081; empty to disable"},
                {"metrics-address", FLAG_STRING, .value = &s->metrics_addr, .arg = "ADDR",
                        .help = "also serve /metrics here (default: only on the health address)"},
                LOG_FLAGS(&s->log_format, &s->log_level),
                {0},
        };
        int rc = flag_main("mbox-operator", usage, flags, argc, argv);
        if (rc >= 0)
                return rc;
        struct operator_options *o = &s->o;
        o->leader_namespace = s->lease.namespace;
        o->leader_name = s->lease.name;
        o->leader_identity = s->lease.identity;
        o->lease_duration_ms = s->lease.lease_duration_ms;
        o->renew_deadline_ms = s->lease.renew_deadline_ms;
        o->retry_period_ms = s->lease.retry_period_ms;
        o->resync_ns = s->resync_ms * 1000000;
        o->task_start_timeout_ns = s->task_start_ms * 1000000;
        if (!o->database_url) {
                const char *url = secure_getenv("MBOX_DATABASE_URL");
                o->database_url = url && *url ? url : NULL;
        }
        return -1;
}

/* Serves health and metrics on addr. */
static int serve(const char *addr, unsigned max_connections, struct metrics *m, struct mbox_operator *op,
        struct httpd **ret, struct merr *err) {
        struct httpd_options ho = {.listen = addr, .max_connections = max_connections};
        int rc = httpd_new(&ho, ret, err);
        if (rc >= 0 && (rc = health_serve(*ret, m, ready, op)) < 0)
                merr_set(err, rc, "serving health");
        return rc < 0 ? rc : httpd_start(*ret, err);
}

int main(int argc, char **argv) {
        struct settings s = {
                .health_addr = ":8081", .log_format = LOG_FORMAT_TEXT, .log_level = LOG_LEVEL_INFO};
        int rc = parse_flags(&s, argc, argv);
        if (rc >= 0)
                return rc;
        log_setup(s.log_level, s.log_format, STDERR_FILENO);
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
        if (operator_new(&s.o, m, &op, &err) < 0) {
                log_error("cannot start", "error", merr_msg(&err));
                return 1;
        }
        the_operator = op;
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (s.health_addr && *s.health_addr) {
                if (serve(s.health_addr, 8, m, op, &health, &err) < 0) {
                        log_error("cannot serve health", "address", s.health_addr, "error", merr_msg(&err));
                        return 1;
                }
                char port[16];
                snprintf(port, sizeof(port), "%d", httpd_port(health));
                log_info("serving /healthz, /readyz and /metrics", "address", s.health_addr, "port", port);
        }
        if (s.metrics_addr && *s.metrics_addr && serve(s.metrics_addr, 4, m, op, &metrics_srv, &err) < 0) {
                log_error("cannot serve metrics", "address", s.metrics_addr, "error", merr_msg(&err));
                return 1;
        }
        log_info("mbox-operator starting", "health", s.health_addr ? s.health_addr : "", "leader_elect",
                s.o.leader_elect ? "true" : "false");
        rc = operator_run(op, &err);
        the_operator = NULL;
        if (rc < 0) {
                log_error("stopped", "error", merr_msg(&err));
                return 1;
        }
        log_info("stopped");
        return 0;
}
