/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/migration.h"
#include "store/store.h"
#include "timestamp.h"

#define POOL_MAX       16
#define MIGRATION_LOCK "7238201935" /* pg_advisory_xact_lock key shared by every mbox program */

/* Every table's migrations (migration.h), run in version order. */
static const struct store_migration *const tables[] = {
        store_task_output_migrations,
        store_artifact_migrations,
        store_history_migrations,
        store_project_migrations,
        store_session_migrations,
        store_recording_migrations,
        store_preview_access_migrations,
};

/* The migration of version v, or NULL. */
static const struct store_migration *migration(int v) {
        for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
                for (const struct store_migration *m = tables[t]; m->version; m++)
                        if (m->version == v)
                                return m;
        return NULL;
}

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
        int v = 0;
        for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
                for (const struct store_migration *m = tables[t]; m->version; m++)
                        if (m->version > v)
                                v = m->version;
        return v;
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

int store_migrate(PGconn *conn, struct merr *err) {
        int r = exec_ok(conn,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT "
                "NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                err, "creating schema_migrations");
        int last = store_schema_version();
        for (int v = 1; r >= 0 && v <= last; v++) {
                const struct store_migration *m = migration(v);
                char version[16];
                if (!m) {
                        r = merr_set(err, -EINVAL, "schema migration %d is missing", v);
                        break;
                }
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

int store_listen(struct store *s, const char *channel, PGconn **ret, struct merr *err) {
        /* one of the connections the pool may open, when it may open STORE_LISTEN_MIN at least: a smaller
         * pool keeps them all for requests */
        pthread_mutex_lock(&s->lock);
        bool room = s->max_open >= STORE_LISTEN_MIN && s->n_open < s->max_open;
        if (room)
                s->n_open++;
        pthread_mutex_unlock(&s->lock);
        if (!room)
                return merr_set(err, -EBUSY, "no database connection to spare for listening (%zu in all)",
                        s->max_open);
        PGconn *conn = PQconnectdb(s->url);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
                const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
                int r = merr_set(
                        err, -EIO, "connecting to the database: %.*s", (int) strcspn(msg, "\n"), msg);
                store_unlisten(s, conn);
                return r;
        }
        PQsetNoticeProcessor(conn, ignore_notice, NULL);
        char *quoted = PQescapeIdentifier(conn, channel, strlen(channel));
        char sql[256];
        snprintf(sql, sizeof(sql), "LISTEN %s", quoted ? quoted : "");
        PQfreemem(quoted);
        int r = quoted ? exec_ok(conn, sql, err, "listening for notifications")
                       : merr_set(err, -ENOMEM, "LISTEN");
        if (r < 0) {
                store_unlisten(s, conn);
                return r;
        }
        *ret = conn;
        return 0;
}

void store_unlisten(struct store *s, PGconn *conn) {
        PQfinish(conn);
        pthread_mutex_lock(&s->lock);
        closed_locked(s);
        pthread_mutex_unlock(&s->lock);
}
