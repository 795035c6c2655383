/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "timestamp.h"

#define POOL_MAX       16
#define MIGRATION_LOCK "7238201935" /* pg_advisory_xact_lock key shared by every mbox program */

struct migration {
        int version;
        const char *name;
        const char *sql;
};

/* Append only: a released migration never changes; a new one gets the next version. */
static const struct migration migrations[] = {
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
        {2, "task artifacts",
                "CREATE TABLE task_artifacts ("
                "  task_uid uuid NOT NULL,"
                "  name text NOT NULL,"
                "  namespace text NOT NULL,"
                "  task_name text NOT NULL,"
                "  sandbox text NOT NULL,"
                "  pod text NOT NULL,"
                "  path text NOT NULL,"
                "  uri text NOT NULL,"
                "  content_type text NOT NULL,"
                "  size_bytes bigint NOT NULL,"
                "  digest text NOT NULL,"
                "  artifact_name text NOT NULL,"
                "  created_at timestamptz NOT NULL DEFAULT now(),"
                "  PRIMARY KEY (task_uid, name));"
                "CREATE INDEX task_artifacts_by_name ON task_artifacts (namespace, artifact_name);"},
        {3, "object history",
                /* one row per state of an object as a watch delivered it; (uid, resource_version) is the
                 * state, so a replayed event or a relist finds its row and adds nothing */
                "CREATE TABLE object_history ("
                "  id bigserial PRIMARY KEY,"
                "  api_version text NOT NULL,"
                "  kind text NOT NULL,"
                "  namespace text NOT NULL,"
                "  name text NOT NULL,"
                "  uid uuid NOT NULL,"
                "  resource_version text NOT NULL,"
                "  event text NOT NULL CHECK (event IN ('ADDED', 'MODIFIED', 'DELETED')),"
                "  phase text NOT NULL DEFAULT '',"
                "  changed_at timestamptz NOT NULL,"
                "  recorded_at timestamptz NOT NULL DEFAULT now(),"
                "  object jsonb NOT NULL,"
                "  UNIQUE (uid, resource_version));"
                "CREATE INDEX object_history_by_object ON object_history (namespace, name, id);"
                "CREATE INDEX object_history_by_uid ON object_history (uid, id);"
                "CREATE INDEX object_history_by_kind ON object_history (kind, id);"
                /* where each watched resource's mirror resumes: the resourceVersion of the newest event
                 * whose row is stored, written in the same transaction as the rows */
                "CREATE TABLE mirror_state ("
                "  resource text PRIMARY KEY,"
                "  resource_version text NOT NULL,"
                "  updated_at timestamptz NOT NULL DEFAULT now());"},
        {4, "artifacts",
                /* every artifact, from a task's declared outputs or registered through the API, in one
                 * table; a deletion keeps the row as a tombstone so that watches see it, a change of its
                 * labels or annotations moves modified_rv. Versions come
                 * from one sequence, taken under ARTIFACT_LOCK (artifact.c) so that they commit in order */
                "CREATE SEQUENCE artifact_versions;"
                "CREATE TABLE artifacts ("
                "  uid uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                "  namespace text NOT NULL,"
                "  name text NOT NULL,"
                "  kind text NOT NULL,"
                "  title text NOT NULL DEFAULT '',"
                "  uri text NOT NULL,"
                "  path text NOT NULL DEFAULT '',"
                "  content_type text NOT NULL DEFAULT '',"
                "  size_bytes bigint,"
                "  digest text NOT NULL DEFAULT '',"
                "  task_name text NOT NULL DEFAULT '',"
                "  task_uid uuid,"
                "  sandbox text NOT NULL DEFAULT '',"
                "  pod text NOT NULL DEFAULT '',"
                "  labels jsonb NOT NULL DEFAULT '{}',"
                "  annotations jsonb NOT NULL DEFAULT '{}',"
                "  source text NOT NULL CHECK (source IN ('Task', 'Registered')),"
                "  registered_by text NOT NULL DEFAULT '',"
                "  created_at timestamptz NOT NULL DEFAULT now(),"
                "  created_rv bigint NOT NULL,"
                "  modified_rv bigint,"
                "  deleted_at timestamptz,"
                "  deleted_rv bigint);"
                "CREATE UNIQUE INDEX artifacts_live ON artifacts (namespace, name) WHERE deleted_rv IS NULL;"
                "CREATE UNIQUE INDEX artifacts_of_task ON artifacts (task_uid, title) WHERE source = 'Task';"
                "CREATE INDEX artifacts_by_created ON artifacts (created_rv);"
                "CREATE INDEX artifacts_by_modified ON artifacts (modified_rv) WHERE modified_rv IS NOT NULL;"
                "CREATE INDEX artifacts_by_deleted ON artifacts (deleted_rv) WHERE deleted_rv IS NOT NULL;"
                /* what migration 2 recorded: the newest run of a task name is the live one */
                "INSERT INTO artifacts (namespace, name, kind, title, uri, path, content_type, size_bytes,"
                "  digest, task_name, task_uid, sandbox, pod, source, created_at, created_rv, deleted_at,"
                "  deleted_rv)"
                "  SELECT namespace, artifact_name, 'file', name, uri, path, content_type, size_bytes, "
                "digest,"
                "    task_name, task_uid, sandbox, pod, 'Task', created_at, nextval('artifact_versions'),"
                "    CASE WHEN n > 1 THEN created_at END,"
                "    CASE WHEN n > 1 THEN nextval('artifact_versions') END"
                "  FROM (SELECT *, row_number() OVER (PARTITION BY namespace, artifact_name"
                "    ORDER BY created_at DESC) AS n FROM task_artifacts ORDER BY created_at) t;"
                "DROP TABLE task_artifacts;"},
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
        {6, "records of a project",
                /* Records belong to the project that owned their namespace when they were written, by uid:
                 * a new project on an old namespace name sees none of the old project's. namespace_projects
                 * is which project owns a namespace now, kept from the history of Projects (a Project with
                 * NamespaceReady=True owns its namespace until its DELETED state). */
                "CREATE TABLE namespace_projects ("
                "  namespace text PRIMARY KEY, "
                "  project_uid uuid NOT NULL, "
                "  project_name text NOT NULL, "
                "  since timestamptz NOT NULL DEFAULT now());"
                "ALTER TABLE object_history ADD COLUMN project_uid uuid;"
                "ALTER TABLE task_outputs ADD COLUMN project_uid uuid;"
                "ALTER TABLE artifacts ADD COLUMN project_uid uuid;"
                "CREATE INDEX object_history_by_project ON object_history (project_uid, id);"
                "CREATE INDEX task_outputs_by_project ON task_outputs (project_uid);"
                "CREATE INDEX artifacts_by_project ON artifacts (project_uid);"
                "DROP INDEX artifacts_live;"
                "CREATE UNIQUE INDEX artifacts_live ON artifacts (namespace, name, "
                "  coalesce(project_uid, '00000000-0000-0000-0000-000000000000'::uuid))"
                "  WHERE deleted_rv IS NULL;"
                /* a record takes the project its namespace has now */
                "CREATE FUNCTION mbox_record_project() RETURNS trigger LANGUAGE plpgsql AS $$ "
                " BEGIN "
                "  IF NEW.project_uid IS NULL THEN "
                "    NEW.project_uid := (SELECT project_uid FROM namespace_projects "
                "      WHERE namespace = NEW.namespace);"
                "  END IF;"
                "  RETURN NEW;"
                " END $$;"
                /* a state in the history: an object's states stay with the project of its earlier ones
                 * (a late state, or a relist's DELETED, may come after its namespace changed hands);
                 * a Project's keep namespace_projects */
                "CREATE FUNCTION mbox_history_project() RETURNS trigger LANGUAGE plpgsql AS $$ "
                " DECLARE n integer; created timestamptz;"
                " BEGIN "
                "  IF NEW.api_version <> 'mbox.dev/v1alpha1' OR NEW.kind <> 'Project' THEN "
                "    IF NEW.project_uid IS NULL THEN "
                "      NEW.project_uid := coalesce((SELECT project_uid FROM object_history "
                "          WHERE uid = NEW.uid AND project_uid IS NOT NULL ORDER BY id DESC LIMIT 1), "
                "        (SELECT project_uid FROM namespace_projects WHERE namespace = NEW.namespace));"
                "    END IF;"
                "    RETURN NEW;"
                "  END IF;"
                "  NEW.project_uid := NEW.uid;"
                "  IF NEW.event = 'DELETED' THEN "
                "    DELETE FROM namespace_projects "
                "      WHERE namespace = NEW.namespace AND project_uid = NEW.uid;"
                "  ELSIF EXISTS (SELECT 1 FROM jsonb_array_elements("
                "      CASE jsonb_typeof(NEW.object->'status'->'conditions') "
                "      WHEN 'array' THEN NEW.object->'status'->'conditions' ELSE '[]'::jsonb END) c "
                "      WHERE c->>'type' = 'NamespaceReady' AND c->>'status' = 'True') THEN "
                "    INSERT INTO namespace_projects (namespace, project_uid, project_name) "
                "      VALUES (NEW.namespace, NEW.uid, NEW.name) ON CONFLICT (namespace) DO UPDATE "
                "      SET project_uid = EXCLUDED.project_uid, project_name = EXCLUDED.project_name, "
                "        since = now() "
                "      WHERE namespace_projects.project_uid <> EXCLUDED.project_uid;"
                "    GET DIAGNOSTICS n = ROW_COUNT;"
                "    /* the namespace's records without a project since this one's creation are its own (a "
                "sandbox "
                "     * stored before its project, records from before migration 6); older ones stay without "
                "one */ "
                "    IF n > 0 THEN "
                "      created := (NEW.object->'metadata'->>'creationTimestamp')::timestamptz;"
                "      UPDATE object_history SET project_uid = NEW.uid WHERE namespace = NEW.namespace "
                "        AND project_uid IS NULL AND changed_at >= created;"
                "      UPDATE task_outputs SET project_uid = NEW.uid WHERE namespace = NEW.namespace "
                "        AND project_uid IS NULL AND started_at >= created;"
                "      UPDATE artifacts SET project_uid = NEW.uid WHERE namespace = NEW.namespace "
                "        AND project_uid IS NULL AND created_at >= created;"
                "    END IF;"
                "  END IF;"
                "  RETURN NEW;"
                " END $$;"
                "CREATE TRIGGER object_history_project BEFORE INSERT ON object_history "
                "  FOR EACH ROW EXECUTE FUNCTION mbox_history_project();"
                "CREATE TRIGGER task_outputs_project BEFORE INSERT ON task_outputs "
                "  FOR EACH ROW EXECUTE FUNCTION mbox_record_project();"
                "CREATE TRIGGER artifacts_project BEFORE INSERT ON artifacts "
                "  FOR EACH ROW EXECUTE FUNCTION mbox_record_project();"},
        {7, "bounded task output and retention",
                /* the cap a task's output was stored under and how many bytes past it were dropped; the
                 * indexes are what the operator's retention pass reads, oldest first */
                "ALTER TABLE task_outputs ADD COLUMN limit_bytes bigint,"
                "  ADD COLUMN dropped_bytes bigint NOT NULL DEFAULT 0;"
                "CREATE INDEX task_outputs_by_end ON task_outputs ((coalesce(finished_at, started_at)));"
                "CREATE INDEX artifacts_of_tasks_by_created ON artifacts (created_at) WHERE source = "
                "'Task';"},
};

struct store {
        char *url;
        pthread_mutex_t lock;
        pthread_cond_t freed; /* a connection went back or was closed */
        PGconn *idle[POOL_MAX];
        size_t n_idle;
        size_t n_open, max_open; /* connections in use or idle, and the most there may be */
        long wait_ms;            /* how long an acquire waits for one when all are in use */
        long statement_timeout_ms;
        unsigned long long waits, busy;
        atomic_bool migrated;
};

int store_schema_version(void) {
        return migrations[ARRAY_SIZE(migrations) - 1].version;
}

int store_new(const char *url, struct store **ret, struct merr *err) {
        struct store *s = calloc(1, sizeof(*s));
        if (!s || !(s->url = strdup(url))) {
                free(s);
                return merr_set(err, -ENOMEM, "allocating the store");
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->freed, NULL);
        s->max_open = STORE_MAX_CONNECTIONS;
        s->wait_ms = STORE_WAIT_MS;
        *ret = s;
        return 0;
}

void store_set_limits(struct store *s, size_t max_open, long wait_ms) {
        pthread_mutex_lock(&s->lock);
        s->max_open = max_open ? max_open : STORE_MAX_CONNECTIONS;
        s->wait_ms = wait_ms;
        pthread_mutex_unlock(&s->lock);
}

void store_set_statement_timeout(struct store *s, long ms) {
        pthread_mutex_lock(&s->lock);
        s->statement_timeout_ms = ms > 0 ? ms : 0;
        pthread_mutex_unlock(&s->lock);
}

void store_get_stats(struct store *s, struct store_stats *ret) {
        pthread_mutex_lock(&s->lock);
        *ret = (struct store_stats){.open = s->n_open,
                .idle = s->n_idle,
                .max_open = s->max_open,
                .waits = s->waits,
                .busy = s->busy};
        pthread_mutex_unlock(&s->lock);
}

/* One connection fewer (closed, or never made): a waiter may open one. Under s->lock. */
static void closed_locked(struct store *s) {
        s->n_open--;
        pthread_cond_signal(&s->freed);
}

struct store *store_free(struct store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_idle; i++)
                PQfinish(s->idle[i]);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->freed);
        free(s->url);
        free(s);
        return NULL;
}

int store_error(struct merr *err, const PGresult *res, const char *what) {
        const char *msg = PQresultErrorMessage(res), *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        int n = (int) strcspn(msg, "\n"); /* libpq's messages end with a newline, and may carry a detail */
        int code = -EIO;
        if (state && strcmp(state, "23505") == 0)
                code = -EEXIST;
        else if (state && strcmp(state, "57014") == 0) /* statement_timeout */
                code = -ETIMEDOUT;
        else if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                                  strncmp(state, "54", 2) == 0))
                code = -EBADMSG;
        if (what)
                return merr_set(err, code, "%s: %.*s", what, n, msg);
        return merr_set(err, code, "%.*s", n, msg);
}

static int exec_ok(PGconn *conn, const char *sql, struct merr *err, const char *what) {
        PGresult *res = PQexec(conn, sql);
        ExecStatusType st = PQresultStatus(res);
        int r = 0;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
                r = store_error(err, res, what);
        PQclear(res);
        return r;
}

int store_exec(PGconn *conn, const char *sql, struct merr *err) {
        return exec_ok(conn, sql, err, NULL);
}

int store_namespace_project(PGconn *conn, const char *ns, char ret_uid[static 37], struct merr *err) {
        const char *params[] = {ns};
        PGresult *res = PQexecParams(conn, "SELECT project_uid FROM namespace_projects WHERE namespace = $1",
                1, NULL, params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                r = store_error(err, res, "reading the namespace's project");
        else if (PQntuples(res) > 0) {
                snprintf(ret_uid, 37, "%s", PQgetvalue(res, 0, 0));
                r = 1;
        }
        PQclear(res);
        return r;
}

int store_migrate(PGconn *conn, struct merr *err) {
        int r = exec_ok(conn,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT "
                "NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                err, "creating schema_migrations");
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(migrations); i++) {
                const struct migration *m = &migrations[i];
                char version[16];
                snprintf(version, sizeof(version), "%d", m->version);
                /* a migration rewrites whole tables: it runs as long as it takes */
                r = exec_ok(conn,
                        "BEGIN; SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK
                        ")",
                        err, "locking the schema");
                if (r < 0)
                        break;
                const char *params[] = {version, m->name};
                PGresult *res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                        NULL, params, NULL, NULL, 0);
                bool done = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
                if (PQresultStatus(res) != PGRES_TUPLES_OK)
                        r = store_error(err, res, "reading schema_migrations");
                PQclear(res);
                if (r >= 0 && !done) {
                        r = exec_ok(conn, m->sql, err, m->name);
                        if (r >= 0) {
                                res = PQexecParams(conn,
                                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                                        NULL, params, NULL, NULL, 0);
                                if (PQresultStatus(res) != PGRES_COMMAND_OK)
                                        r = store_error(err, res, "recording a migration");
                                PQclear(res);
                        }
                        if (r < 0)
                                (void) merr_wrap(err, r, "schema migration %d (%s)", m->version, m->name);
                }
                (void) exec_ok(conn, r < 0 ? "ROLLBACK" : "COMMIT", r < 0 ? NULL : err, "committing");
        }
        return r;
}

int store_versioned(PGconn *conn, const char *lock,
        int (*run)(PGconn *conn, const void *ud, struct merr *err), const void *ud, struct merr *err) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%s)", lock);
        if (exec_ok(conn, "BEGIN", err, "starting a transaction") < 0)
                return -EIO;
        int r = exec_ok(conn, sql, err, "taking the version lock");
        if (r >= 0)
                r = run(conn, ud, err);
        if (r >= 0)
                r = exec_ok(conn, "COMMIT", err, "committing");
        if (r < 0)
                (void) exec_ok(conn, "ROLLBACK", NULL, NULL);
        return r;
}

/* Notices ("relation ... already exists, skipping") are not errors and not the log's business. */
static void ignore_notice(void *arg, const char *message) {
        (void) arg;
        (void) message;
}

/* An idle connection has nothing to read: when it has, the server closed it (a restart, an administrator's
 * pg_terminate_backend) and the first query on it would fail. */
static bool idle_ok(PGconn *conn) {
        struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
        return PQstatus(conn) == CONNECTION_OK && p.fd >= 0 && poll(&p, 1, 0) == 0;
}

int store_acquire(struct store *s, PGconn **ret, struct merr *err) {
        PGconn *conn = NULL;
        struct timespec deadline = timestamp_deadline(s->wait_ms);
        bool timed_out = false;
        /* an idle connection, else room for a new one, else wait until one is given back */
        pthread_mutex_lock(&s->lock);
        long statement_ms = s->statement_timeout_ms;
        if (s->n_idle == 0 && s->n_open >= s->max_open)
                s->waits++;
        while (s->n_idle == 0 && s->n_open >= s->max_open && !timed_out)
                timed_out = pthread_cond_timedwait(&s->freed, &s->lock, &deadline) == ETIMEDOUT;
        if (s->n_idle > 0)
                conn = s->idle[--s->n_idle];
        else if (s->n_open < s->max_open)
                s->n_open++;
        else {
                size_t max = s->max_open;
                long waited = s->wait_ms;
                s->busy++;
                pthread_mutex_unlock(&s->lock);
                return merr_set(
                        err, -EBUSY, "all %zu database connections are in use (waited %ld ms)", max, waited);
        }
        pthread_mutex_unlock(&s->lock);
        if (conn && !idle_ok(conn)) {
                PQfinish(conn);
                conn = NULL;
        }
        if (!conn) {
                conn = PQconnectdb(s->url);
                if (!conn || PQstatus(conn) != CONNECTION_OK) {
                        const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
                        int r = merr_set(
                                err, -EIO, "connecting to the database: %.*s", (int) strcspn(msg, "\n"), msg);
                        PQfinish(conn);
                        pthread_mutex_lock(&s->lock);
                        closed_locked(s);
                        pthread_mutex_unlock(&s->lock);
                        return r;
                }
                PQsetNoticeProcessor(conn, ignore_notice, NULL);
                char sql[64];
                snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", statement_ms);
                int r = statement_ms ? exec_ok(conn, sql, err, "setting the statement timeout") : 0;
                if (r < 0) {
                        PQfinish(conn);
                        pthread_mutex_lock(&s->lock);
                        closed_locked(s);
                        pthread_mutex_unlock(&s->lock);
                        return r;
                }
        }
        if (!atomic_load(&s->migrated)) {
                int r = store_migrate(conn, err);
                if (r < 0) {
                        store_release(s, conn);
                        return r;
                }
                atomic_store(&s->migrated, true);
        }
        *ret = conn;
        return 0;
}

void store_release(struct store *s, PGconn *conn) {
        if (!conn)
                return;
        bool keep = PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
        pthread_mutex_lock(&s->lock);
        if (keep && s->n_idle < POOL_MAX) {
                s->idle[s->n_idle++] = conn;
                conn = NULL;
                pthread_cond_signal(&s->freed);
        } else
                closed_locked(s);
        pthread_mutex_unlock(&s->lock);
        PQfinish(conn);
}
