/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store/retention.h"

/* Records past the retention of their namespace, oldest first: $1 namespaces and $2 their retention in
 * ms (a namespace two projects claim keeps the longer; 0 keeps), $3 every other namespace's (0 keeps); $4, the shortest of them, lets the index of end times skip
 * every younger record; $5 the batch; $6 the running tasks, whose outputs are being written. */
static const char PRUNE_OUTPUTS[] =
        "WITH p AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS p(namespace, keep_ms)), "
        "o AS (SELECT task_uid, finished_at, coalesce(finished_at, started_at) AS ended, "
        "coalesce((SELECT CASE WHEN bool_or(keep_ms = 0) THEN 0 ELSE max(keep_ms) END FROM p "
        "WHERE p.namespace = t.namespace), $3::bigint) AS keep_ms "
        "FROM task_outputs t "
        "WHERE coalesce(finished_at, started_at) < now() - $4::bigint * interval '1 millisecond') "
        "DELETE FROM task_outputs WHERE task_uid IN (SELECT task_uid FROM o WHERE keep_ms > 0 "
        "AND ended < now() - keep_ms * interval '1 millisecond' "
        "AND (finished_at IS NOT NULL OR task_uid <> ALL($6::uuid[])) ORDER BY ended LIMIT $5)";

/* The artifacts a task produced are recorded when its command has exited: their creation is its end. */
static const char PRUNE_ARTIFACTS[] =
        "WITH p AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS p(namespace, keep_ms)), "
        "a AS (SELECT uid, created_at, "
        "coalesce((SELECT CASE WHEN bool_or(keep_ms = 0) THEN 0 ELSE max(keep_ms) END FROM p "
        "WHERE p.namespace = t.namespace), $3::bigint) AS keep_ms "
        "FROM artifacts t "
        "WHERE source = 'Task' AND created_at < now() - $4::bigint * interval '1 millisecond') "
        "DELETE FROM artifacts WHERE uid IN (SELECT uid FROM a WHERE keep_ms > 0 "
        "AND created_at < now() - keep_ms * interval '1 millisecond' ORDER BY created_at LIMIT $5)";

/* Sessions that ended longer ago than their namespace's retention; open ones stay. Their recordings go with
 * them: the chunks by the foreign key, the artifact they became here. */
static const char PRUNE_SESSIONS[] =
        "WITH p AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS p(namespace, keep_ms)), "
        "s AS (SELECT uid, ended_at, "
        "coalesce((SELECT CASE WHEN bool_or(keep_ms = 0) THEN 0 ELSE max(keep_ms) END FROM p "
        "WHERE p.namespace = t.namespace), $3::bigint) AS keep_ms "
        "FROM sessions t "
        "WHERE ended_at < now() - $4::bigint * interval '1 millisecond'), "
        "gone AS (SELECT uid FROM s WHERE keep_ms > 0 "
        "AND ended_at < now() - keep_ms * interval '1 millisecond' ORDER BY ended_at LIMIT $5), "
        "recordings AS (DELETE FROM artifacts WHERE source = 'Recorded' AND (namespace, name) IN "
        "(SELECT namespace, recording FROM sessions WHERE uid IN (SELECT uid FROM gone) "
        "AND recording IS NOT NULL)) "
        "DELETE FROM sessions WHERE uid IN (SELECT uid FROM gone)";

/* Preview access windows whose last request is older than their namespace's retention. */
static const char PRUNE_PREVIEW_ACCESSES[] =
        "WITH p AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS p(namespace, keep_ms)), "
        "a AS (SELECT uid, last_at, "
        "coalesce((SELECT CASE WHEN bool_or(keep_ms = 0) THEN 0 ELSE max(keep_ms) END FROM p "
        "WHERE p.namespace = t.namespace), $3::bigint) AS keep_ms "
        "FROM preview_accesses t "
        "WHERE last_at < now() - $4::bigint * interval '1 millisecond') "
        "DELETE FROM preview_accesses WHERE uid IN (SELECT uid FROM a WHERE keep_ms > 0 "
        "AND last_at < now() - keep_ms * interval '1 millisecond' ORDER BY last_at LIMIT $5)";

/* v as a Postgres array literal: {"a","b"}. */
static int put_array(struct buf *b, const char *const *v, size_t n) {
        int r = buf_putc(b, '{');
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (i > 0)
                        r = buf_putc(b, ',');
                if (r >= 0)
                        r = buf_putc(b, '"');
                for (const char *s = v[i]; r >= 0 && *s; s++)
                        r = *s == '"' || *s == '\\' ? buf_printf(b, "\\%c", *s) : buf_putc(b, *s);
                if (r >= 0)
                        r = buf_putc(b, '"');
        }
        return r < 0 ? r : buf_putc(b, '}');
}

static int64_t run(
        PGconn *conn, const char *sql, int n, const char *const *params, const char *what, struct merr *err) {
        PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
        int64_t count = PQresultStatus(res) == PGRES_COMMAND_OK ? strtoll(PQcmdTuples(res), NULL, 10)
                                                                : store_error(err, res, what);
        PQclear(res);
        return count;
}

/* The parameters of the prune statements (v: $1 to $6, as above); keep_all when no retention is in force. */
struct prune_params {
        struct buf ns, keep, running;
        char def[32], min[32], batch[16];
        const char *v[6];
        bool keep_all;
};

static void prune_params_release(struct prune_params *p) {
        buf_release(&p->ns);
        buf_release(&p->keep);
        buf_release(&p->running);
}

static int prune_params(struct prune_params *p, const struct store_retention *r, struct merr *err) {
        int64_t shortest = r->default_ms; /* of the retentions that are not 0 */
        buf_init(&p->ns, 1 << 20);
        buf_init(&p->keep, 1 << 20);
        buf_init(&p->running, 1 << 20);
        int rc = buf_putc(&p->keep, '{');
        for (size_t i = 0; rc >= 0 && i < r->n; i++) {
                if (r->keep_ms[i] > 0 && (shortest == 0 || r->keep_ms[i] < shortest))
                        shortest = r->keep_ms[i];
                rc = buf_printf(&p->keep, "%s%" PRId64, i == 0 ? "" : ",", r->keep_ms[i]);
        }
        if (rc >= 0)
                rc = buf_putc(&p->keep, '}');
        if (rc >= 0)
                rc = put_array(&p->ns, r->namespaces, r->n);
        if (rc >= 0)
                rc = put_array(&p->running, r->running, r->n_running);
        if (rc < 0)
                return merr_set(err, rc, "task record retention: too many namespaces or running tasks");
        snprintf(p->def, sizeof(p->def), "%" PRId64, r->default_ms);
        snprintf(p->min, sizeof(p->min), "%" PRId64, shortest);
        snprintf(p->batch, sizeof(p->batch), "%d", STORE_PRUNE_BATCH);
        const char *v[] = {p->ns.data, p->keep.data, p->def, p->min, p->batch, p->running.data};
        memcpy(p->v, v, sizeof(v));
        p->keep_all = shortest <= 0;
        return 0;
}

int store_prune_task_records(PGconn *conn, const struct store_retention *r, int64_t *ret_outputs,
        int64_t *ret_artifacts, struct merr *err) {
        _cleanup_(prune_params_release) struct prune_params p = {0};
        int rc = prune_params(&p, r, err);
        if (rc < 0)
                return rc;
        if (p.keep_all) {
                *ret_outputs = *ret_artifacts = 0;
                return 0;
        }
        int64_t outputs = run(conn, PRUNE_OUTPUTS, 6, p.v, "pruning task outputs", err);
        if (outputs < 0)
                return (int) outputs;
        int64_t artifacts = run(conn, PRUNE_ARTIFACTS, 5, p.v, "pruning task artifacts", err);
        if (artifacts < 0)
                return (int) artifacts;
        *ret_outputs = outputs;
        *ret_artifacts = artifacts;
        return 0;
}

int store_prune_sessions(PGconn *conn, const struct store_retention *r, int64_t *ret, struct merr *err) {
        _cleanup_(prune_params_release) struct prune_params p = {0};
        int rc = prune_params(&p, r, err);
        if (rc < 0)
                return rc;
        int64_t n = p.keep_all ? 0 : run(conn, PRUNE_SESSIONS, 5, p.v, "pruning sessions", err);
        if (n < 0)
                return (int) n;
        *ret = n;
        return 0;
}

int store_prune_preview_accesses(
        PGconn *conn, const struct store_retention *r, int64_t *ret, struct merr *err) {
        _cleanup_(prune_params_release) struct prune_params p = {0};
        int rc = prune_params(&p, r, err);
        if (rc < 0)
                return rc;
        int64_t n =
                p.keep_all ? 0 : run(conn, PRUNE_PREVIEW_ACCESSES, 5, p.v, "pruning preview accesses", err);
        if (n < 0)
                return (int) n;
        *ret = n;
        return 0;
}
