/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ingest of the history mirror beside a plain COPY (make bench-apiserver; bench/apiserver/run.sh).
 *
 *   bench-ingest DATABASE-URL N
 *
 * Builds N states of Sandbox objects (a realistic object of about 1.5 KB each, 100 namespaces) as the
 * mirror's rows, then into an emptied object_history of DATABASE-URL:
 *   mirror:   what the mirror's writer does with new states, in batches of 1000: BEGIN,
 *             store_history_append() (COPY, each state at most once), store_mirror_save(), COMMIT;
 *   replayed: the same batches again, as after a restart: every state is there already, so each batch's
 *             COPY fails and the batch goes through the scratch table, adding nothing;
 *   copy:     the same rows, the same columns, in one plain COPY FROM STDIN.
 * Rows are built before the clocks start. Prints key=value lines: rows, mirror_s, replayed_s, copy_s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "store/history.h"
#include "store/store.h"

#define BATCH 1000

static const char OBJECT[] =
        "{\"apiVersion\":\"mbox.dev/v1alpha1\",\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"%s\","
        "\"namespace\":\"%s\",\"uid\":\"%s\",\"resourceVersion\":\"%d\",\"generation\":3,"
        "\"creationTimestamp\":\"2026-11-26T10:00:00Z\",\"labels\":{\"mbox.dev/project\":\"demo\","
        "\"mbox.dev/template\":\"nodejs-workspace\"},\"finalizers\":[\"mbox.dev/sandbox\"]},"
        "\"spec\":{\"templateRef\":{\"name\":\"nodejs-workspace\"},\"state\":\"Running\",\"ports\":[{"
        "\"name\":"
        "\"web\",\"port\":3000}],\"lifetime\":{\"maxLifetime\":\"24h\",\"idleTimeout\":\"2h\"}},"
        "\"status\":{\"phase\":\"Running\",\"observedGeneration\":3,\"templateVersion\":\"5d41402a\","
        "\"claimName\":\"%s\",\"sandboxName\":\"%s\",\"podName\":\"%s-7x2kq\",\"podIP\":\"10.0.3.17\","
        "\"lastActivityAt\":\"2026-11-26T10:05:00Z\",\"previewURLs\":[{\"name\":\"web\",\"url\":"
        "\"/apis/runtime.mbox.dev/v1alpha1/namespaces/%s/previews/%s-web/proxy/\"}],"
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"PodReady\",\"message\":"
        "\"the sandbox pod is ready\",\"lastTransitionTime\":\"2026-11-26T10:01:00Z\","
        "\"observedGeneration\":3},{\"type\":\"Admitted\",\"status\":\"True\",\"reason\":\"WithinQuota\","
        "\"message\":\"within the project's quota\",\"lastTransitionTime\":\"2026-11-26T10:00:01Z\","
        "\"observedGeneration\":3}]}}";

static double now_s(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg) {
        fprintf(stderr, "bench-ingest: %s: %s\n", what, msg);
        exit(1);
}

static void exec_ok(PGconn *conn, const char *sql) {
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                die(sql, PQresultErrorMessage(res));
        PQclear(res);
}

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: bench-ingest DATABASE-URL N\n");
                return 2;
        }
        int n = (int) strtol(argv[2], NULL, 10);
        struct store *st = NULL;
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        if (n < 1 || store_new(argv[1], &st, &err) < 0 || store_acquire(st, &conn, &err) < 0)
                die("database", merr_msg(&err));

        int batches = (n + BATCH - 1) / BATCH;
        struct buf *rows = calloc((size_t) batches, sizeof(*rows));
        struct buf copy = BUF_INIT(SIZE_MAX);
        if (!rows)
                die("memory", "out of memory");
        for (int i = 0; i < n; i++) {
                char ns[32], name[32], uid[40], obj[4096];
                struct buf *b = &rows[i / BATCH];
                snprintf(ns, sizeof(ns), "bench-%d", i % 100);
                snprintf(name, sizeof(name), "sandbox-%d", i / 100 % 1000);
                snprintf(uid, sizeof(uid), "%08x-0000-4000-8000-%012x", (unsigned) i / 100000, (unsigned) i);
                snprintf(obj, sizeof(obj), OBJECT, name, ns, uid, 1000 + i, name, name, name, ns, name);
                if (b->max == 0)
                        buf_init(b, SIZE_MAX);
                /* the mirror's line (COPY text format: the JSON's backslashes doubled; it has no tab or
                 * newline); the plain COPY gets the same bytes */
                size_t start = b->len;
                if (buf_printf(b,
                            "mbox.dev/"
                            "v1alpha1\tSandbox\t%s\t%s\t%s\t%d\tMODIFIED\tRunning\t2026-11-26T10:05:00Z\t",
                            ns, name, uid, 1000 + i) < 0)
                        die("memory", "out of memory");
                for (const char *p = obj; *p; p++)
                        if ((*p == '\\' && buf_putc(b, '\\') < 0) || buf_putc(b, *p) < 0)
                                die("memory", "out of memory");
                if (buf_putc(b, '\n') < 0 || buf_append(&copy, b->data + start, b->len - start) < 0)
                        die("memory", "out of memory");
        }

        double t[2];
        exec_ok(conn, "TRUNCATE object_history");
        for (int pass = 0; pass < 2; pass++) {
                double t0 = now_s();
                for (int b = 0; b < batches; b++) {
                        exec_ok(conn, "BEGIN");
                        if (store_history_append(conn, buf_str(&rows[b]), rows[b].len, false, &err) < 0 ||
                                store_mirror_save(conn, "bench", "1", &err) < 0)
                                die("mirror", merr_msg(&err));
                        exec_ok(conn, "COMMIT");
                }
                t[pass] = now_s() - t0;
                PGresult *res = PQexec(conn, "SELECT count(*) FROM object_history");
                if (PQresultStatus(res) != PGRES_TUPLES_OK || strtol(PQgetvalue(res, 0, 0), NULL, 10) != n)
                        die("mirror", "the table does not hold each state once");
                PQclear(res);
        }

        exec_ok(conn, "TRUNCATE object_history");
        double t0 = now_s();
        PGresult *res = PQexec(conn,
                "COPY object_history (api_version, kind, namespace, name, uid, resource_version, "
                "event, phase, changed_at, object) FROM STDIN");
        if (PQresultStatus(res) != PGRES_COPY_IN)
                die("copy", PQresultErrorMessage(res));
        PQclear(res);
        for (size_t off = 0; off < copy.len; off += 1 << 20) {
                size_t len = copy.len - off < (1 << 20) ? copy.len - off : (1 << 20);
                if (PQputCopyData(conn, copy.data + off, (int) len) != 1)
                        die("copy", PQerrorMessage(conn));
        }
        if (PQputCopyEnd(conn, NULL) != 1)
                die("copy", PQerrorMessage(conn));
        res = PQgetResult(conn);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                die("copy", PQresultErrorMessage(res));
        PQclear(res);
        while ((res = PQgetResult(conn)))
                PQclear(res);
        double copy_s = now_s() - t0;
        exec_ok(conn, "TRUNCATE object_history");

        printf("rows=%d\nmirror_s=%.3f\nreplayed_s=%.3f\ncopy_s=%.3f\n", n, t[0], t[1], copy_s);
        for (int b = 0; b < batches; b++)
                buf_release(&rows[b]);
        free(rows);
        buf_release(&copy);
        store_release(st, conn);
        store_free(st);
        return 0;
}
