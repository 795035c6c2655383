/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/migration.h"
#include "store/project.h"
#include "store/taskoutput.h"
#include "timestamp.h"

/* ---- schema ---- */

/* task_outputs and task_output_chunks; migration 7 also indexes the task artifacts retention.c prunes */
const struct store_migration store_task_output_migrations[] = {
        {1, "task output",
                "CREATE TABLE task_outputs ("
                "  task_uid uuid PRIMARY KEY,"
                "  namespace text NOT NULL,"
                "  task_name text NOT NULL,"
                "  stdout_bytes bigint NOT NULL DEFAULT 0,"
                "  stderr_bytes bigint NOT NULL DEFAULT 0,"
                "  complete boolean NOT NULL DEFAULT false,"
                "  error text,"
                "  started_at timestamptz NOT NULL DEFAULT now(),"
                "  finished_at timestamptz);"
                "CREATE INDEX task_outputs_by_task ON task_outputs (namespace, task_name, started_at);"
                "CREATE TABLE task_output_chunks ("
                "  task_uid uuid NOT NULL REFERENCES task_outputs ON DELETE CASCADE,"
                "  stream smallint NOT NULL CHECK (stream IN (1, 2)),"
                "  seq integer NOT NULL,"
                "  data bytea NOT NULL,"
                "  PRIMARY KEY (task_uid, stream, seq));"},
        {5, "task output versions",
                /* a task output's resourceVersion for watches, as for artifacts: the start, the end */
                "CREATE SEQUENCE task_output_versions;"
                "ALTER TABLE task_outputs ADD COLUMN created_rv bigint, ADD COLUMN modified_rv bigint;"
                "UPDATE task_outputs t SET created_rv = v.n FROM (SELECT task_uid, "
                "  nextval('task_output_versions') AS n FROM (SELECT task_uid FROM task_outputs"
                "  ORDER BY started_at) o) v WHERE t.task_uid = v.task_uid;"
                "ALTER TABLE task_outputs ALTER COLUMN created_rv SET NOT NULL;"
                "CREATE INDEX task_outputs_by_created ON task_outputs (created_rv);"
                "CREATE INDEX task_outputs_by_modified ON task_outputs (modified_rv) WHERE modified_rv IS "
                "NOT "
                "NULL;"},
        {7, "bounded task output and retention",
                /* the cap a task's output was stored under and how many bytes past it were dropped; the
                 * indexes are what the operator's retention pass reads, oldest first */
                "ALTER TABLE task_outputs ADD COLUMN limit_bytes bigint,"
                "  ADD COLUMN dropped_bytes bigint NOT NULL DEFAULT 0;"
                "CREATE INDEX task_outputs_by_end ON task_outputs ((coalesce(finished_at, started_at)));"
                "CREATE INDEX artifacts_of_tasks_by_created ON artifacts (created_at) WHERE source = "
                "'Task';"},
        {0},
};

/* ---- reads ---- */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS                                                                                            \
        "SELECT rv, type, version, namespace, task_name, task_uid, stdout_bytes, stderr_bytes, complete, " \
        "coalesce(error, ''), " TS("started_at") ", coalesce(" TS(                                         \
                "finished_at") ", ''), "                                                                   \
                               "coalesce(limit_bytes::text, ''), dropped_bytes FROM "
/* records: the latest run of each task name, in the order they started; resourceVersion: the newest change */
static const char SELECT[] =
        COLUMNS "(SELECT DISTINCT ON (namespace, task_name) created_rv AS rv, 'ADDED' AS type, "
                "greatest(created_rv, modified_rv) AS version, * FROM task_outputs "
                "ORDER BY namespace, task_name, started_at DESC) o WHERE true";
/* changes: an output started (ADDED), its newest change (MODIFIED: it ended) */
static const char EVENTS[] = COLUMNS
        "(SELECT created_rv AS rv, 'ADDED' AS type, created_rv AS version, * FROM task_outputs UNION ALL "
        "SELECT modified_rv, 'MODIFIED', modified_rv, * FROM task_outputs WHERE modified_rv IS NOT NULL) o "
        "WHERE true";

static const struct store_field fields[] = {
        {"metadata.name", "task_name"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {"status.complete", "complete::text"},
        {NULL, NULL},
};

const struct store_source store_task_output_source = {
        .select = SELECT,
        .events = EVENTS,
        .rv = "rv",
        .version = "version",
        .name_col = "task_name",
        .newest = "SELECT greatest((SELECT coalesce(max(created_rv), 0) FROM task_outputs), "
                  "(SELECT coalesce(max(modified_rv), 0) FROM task_outputs))",
        .fields = fields,
        .labels = "'{}'::jsonb",
        .time = NULL,
        .c_rv = STORE_TASK_OUTPUT_RV,
        .c_type = STORE_TASK_OUTPUT_TYPE,
};

int task_output_latest(
        PGconn *conn, const char *ns, const char *name, char ret_uid[static 64], struct merr *err) {
        char sql[sizeof(SELECT) + 256];
        snprintf(sql, sizeof(sql), "%s AND namespace = $1 AND task_name = $2" STORE_IN_PROJECT_NOW("1"),
                SELECT);
        const char *params[] = {ns, name};
        PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                r = store_error(err, res, "reading taskoutputs");
        else if (PQntuples(res) > 0) {
                snprintf(ret_uid, 64, "%s", PQgetvalue(res, 0, STORE_TASK_OUTPUT_UID));
                r = 1;
        }
        PQclear(res);
        return r;
}

int task_output_chunk(PGconn *conn, const char *uid, enum task_stream stream, int seq, PGresult **ret) {
        char st[4], n[16];
        snprintf(st, sizeof(st), "%d", (int) stream);
        snprintf(n, sizeof(n), "%d", seq);
        const char *params[] = {uid, st, n};
        PGresult *res = PQexecParams(conn,
                "SELECT data FROM task_output_chunks WHERE task_uid = $1 AND stream = $2 AND seq = $3", 3,
                NULL, params, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
                int r = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -EIO;
                PQclear(res);
                return r;
        }
        *ret = res;
        return 1;
}

int task_output_finished(PGconn *conn, const char *uid) {
        const char *params[] = {uid};
        PGresult *res =
                PQexecParams(conn, "SELECT finished_at IS NOT NULL FROM task_outputs WHERE task_uid = $1", 1,
                        NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? -EIO
                : PQntuples(res) == 0                  ? 1 /* the record went away */
                                                       : PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        return r;
}

/* ---- writes ---- */

struct stream_buf {
        char *data;
        size_t len;
        int seq;
        uint64_t total;
        int64_t flushed_ms; /* when a chunk was last written */
};

struct task_output {
        struct store *store;
        PGconn *conn;
        char uid[64];
        struct stream_buf s[2];
        uint64_t limit, stored,
                dropped; /* bytes of both streams: the most stored (0: no limit), stored, not */
        int failed;      /* the first failure's code; later writes return it */
};

/* The start and the end of an output each take a version (store_versioned()): a watch sees them. */
static int run_begin(PGconn *conn, const void *ud, struct merr *err) {
        const char *const *params = ud;
        PGresult *res = PQexecParams(conn,
                "INSERT INTO task_outputs (task_uid, namespace, task_name, limit_bytes, created_rv) VALUES "
                "($1, "
                "$2, $3, $4, nextval('task_output_versions')) ON CONFLICT (task_uid) DO UPDATE SET complete "
                "= "
                "false, finished_at = NULL, limit_bytes = $4, dropped_bytes = 0, modified_rv = "
                "nextval('task_output_versions')",
                4, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0
                                                        : store_error(err, res, "recording the task output");
        PQclear(res);
        return r;
}

static int run_end(PGconn *conn, const void *ud, struct merr *err) {
        const char *const *params = ud;
        /* followers waiting for the end hear of it at the commit (TASK_OUTPUT_CHANNEL) */
        PGresult *res = PQexecParams(conn,
                "WITH u AS (UPDATE task_outputs SET stdout_bytes = $2, stderr_bytes = $3, complete = $4, "
                "error = $5, dropped_bytes = $6, finished_at = now(), modified_rv = "
                "nextval('task_output_versions') WHERE task_uid = $1 RETURNING task_uid) "
                "SELECT pg_notify('" TASK_OUTPUT_CHANNEL "', task_uid::text) FROM u",
                6, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) == PGRES_TUPLES_OK ? 0
                                                       : store_error(err, res, "finishing the task output");
        PQclear(res);
        return r;
}

int task_output_begin(struct store *s, const char *ns, const char *name, const char *uid, uint64_t limit,
        struct task_output **ret, struct merr *err) {
        struct task_output *o = calloc(1, sizeof(*o));
        char lim[32];
        if (!o)
                return merr_set(err, -ENOMEM, "allocating task output");
        o->store = s;
        o->limit = limit;
        snprintf(lim, sizeof(lim), "%" PRIu64, limit);
        snprintf(o->uid, sizeof(o->uid), "%s", uid);
        for (int i = 0; i < 2; i++)
                if (!(o->s[i].data = malloc(TASK_OUTPUT_CHUNK))) {
                        task_output_abandon(o);
                        return merr_set(err, -ENOMEM, "allocating task output");
                }
        int r = store_acquire(s, &o->conn, err);
        if (r < 0) {
                task_output_abandon(o);
                return r;
        }
        const char *params[] = {uid, ns, name, limit ? lim : NULL};
        r = store_versioned(o->conn, STORE_LOCK_TASK_OUTPUTS, run_begin, params, err);
        if (r < 0) {
                task_output_abandon(o);
                return r;
        }
        *ret = o;
        return 0;
}

static int flush(struct task_output *o, enum task_stream stream, struct merr *err) {
        struct stream_buf *b = &o->s[stream - 1];
        if (b->len == 0)
                return 0;
        char st[4], seq[16];
        snprintf(st, sizeof(st), "%d", (int) stream);
        snprintf(seq, sizeof(seq), "%d", b->seq);
        const char *params[] = {o->uid, st, seq, b->data};
        const int lengths[] = {0, 0, 0, (int) b->len};
        const int formats[] = {0, 0, 0, 1}; /* data goes as binary: no escaping, no copy */
        /* and its followers hear of it (TASK_OUTPUT_CHANNEL) */
        PGresult *res = PQexecParams(o->conn,
                "WITH c AS (INSERT INTO task_output_chunks (task_uid, stream, seq, data) VALUES ($1, $2, $3, "
                "$4) RETURNING task_uid) SELECT pg_notify('" TASK_OUTPUT_CHANNEL "', task_uid::text) FROM c",
                4, NULL, params, lengths, formats, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                r = o->failed = store_error(err, res, "writing task output");
        PQclear(res);
        if (r == 0) {
                b->seq++;
                b->len = 0;
                b->flushed_ms = timestamp_monotonic_ms();
        }
        return r;
}

int task_output_write(
        struct task_output *o, enum task_stream stream, const char *data, size_t len, struct merr *err) {
        if (o->failed)
                return merr_set(err, o->failed, "task output: an earlier write failed");
        if (stream != TASK_STDOUT && stream != TASK_STDERR)
                return merr_set(err, -EINVAL, "task output: unknown stream %d", (int) stream);
        struct stream_buf *b = &o->s[stream - 1];
        b->total += len;
        /* past the limit only the count goes on: a command that writes gigabytes costs no more than that */
        if (o->limit && len > o->limit - o->stored) {
                size_t keep = (size_t) (o->limit - o->stored);
                o->dropped += len - keep;
                len = keep;
        }
        o->stored += len;
        while (len > 0) {
                size_t n = TASK_OUTPUT_CHUNK - b->len < len ? TASK_OUTPUT_CHUNK - b->len : len;
                memcpy(b->data + b->len, data, n);
                b->len += n;
                data += n;
                len -= n;
                if (b->len == TASK_OUTPUT_CHUNK) {
                        int r = flush(o, stream, err);
                        if (r < 0)
                                return r;
                }
        }
        /* what a follower (the log's follow) sees while the command runs: a partial chunk goes out too,
         * at most once a second per stream, so slow output shows up and fast output stays in full chunks */
        if (b->len > 0 && timestamp_monotonic_ms() - b->flushed_ms >= TASK_OUTPUT_FLUSH_MS)
                return flush(o, stream, err);
        return 0;
}

uint64_t task_output_dropped(const struct task_output *o) {
        return o->dropped;
}

int task_output_end(struct task_output *o, bool complete, const char *error, struct merr *err) {
        int r = o->failed ? merr_set(err, o->failed, "task output: an earlier write failed") : 0;
        char over[160];
        if (o->dropped && !error) {
                snprintf(over, sizeof(over),
                        "the output passed its limit of %" PRIu64 " bytes: the %" PRIu64 " bytes after it "
                        "were dropped",
                        o->limit, o->dropped);
                error = over;
        }
        if (r == 0)
                r = flush(o, TASK_STDOUT, err);
        if (r == 0)
                r = flush(o, TASK_STDERR, err);
        if (r == 0) {
                char out[32], errb[32], dropped[32];
                snprintf(out, sizeof(out), "%" PRIu64, o->s[0].total);
                snprintf(errb, sizeof(errb), "%" PRIu64, o->s[1].total);
                snprintf(dropped, sizeof(dropped), "%" PRIu64, o->dropped);
                const char *params[] = {
                        o->uid, out, errb, complete && !o->dropped ? "true" : "false", error, dropped};
                r = store_versioned(o->conn, STORE_LOCK_TASK_OUTPUTS, run_end, params, err);
        }
        task_output_abandon(o);
        return r;
}

void task_output_abandon(struct task_output *o) {
        if (!o)
                return;
        if (o->conn)
                store_release(o->store, o->conn);
        free(o->s[0].data);
        free(o->s[1].data);
        free(o);
}
