/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox's Postgres database: a small pool of libpq connections to one URL, and the schema, kept by
 * versioned migrations that run once, under an advisory lock, the first time any mbox program connects
 * (docs/store.md). Each table's file holds its migrations (migration.h), its writes and its reads:
 * taskoutput.h, artifact.h, history.h, project.h, session.h; retention.h prunes. Each table has one writer: the
 * operator writes task output, the apiserver everything it mirrors.
 *
 * The store never blocks start-up: store_new() only records the URL; connections are made on demand and
 * a database that is down is an error of that call, so callers can report it and carry on.
 */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>

#include "macro.h"
#include "merr.h"

struct store;

#define STORE_MAX_CONNECTIONS 32   /* the default: connections one process may hold at once */
#define STORE_WAIT_MS         5000 /* the default: how long an acquire waits when all are in use */

/* url: a libpq connection string or postgres:// URL. */
int store_new(const char *url, struct store **ret, struct merr *err);
/* At most max_open connections (0: the default) in use and idle together; an acquire that finds them all
 * in use waits up to wait_ms for one, then fails with -EBUSY. */
void store_set_limits(struct store *s, size_t max_open, long wait_ms);
/* Every statement on s's connections is cancelled after ms (0: never), as Postgres' statement_timeout;
 * migrations are exempt. For request paths: a query that runs long answers with an error instead of
 * holding its connection. Set before the first acquire. */
void store_set_statement_timeout(struct store *s, long ms);
/* The pool now, and since it was made. */
struct store_stats {
        size_t open, idle, max_open;
        unsigned long long waits; /* acquires that found every connection in use and waited */
        unsigned long long busy;  /* those that waited in vain (-EBUSY) */
};
void store_get_stats(struct store *s, struct store_stats *ret);
struct store *store_free(struct store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store *, store_free);

/* A connection with the schema up to date: an idle one from the pool or a new one; -EBUSY when every
 * connection the limits allow is in use and none came back in time. */
int store_acquire(struct store *s, PGconn **ret, struct merr *err);
/* A connection that listens on channel, for a thread that waits for notifications (PQconsumeInput(),
 * PQnotifies()): one of the pool's, held until store_unlisten() (-EBUSY when the pool has none to spare, or
 * may open fewer than STORE_LISTEN_MIN in all). */
#define STORE_LISTEN_MIN 4
int store_listen(struct store *s, const char *channel, PGconn **ret, struct merr *err);
void store_unlisten(struct store *s, PGconn *conn);
/* Gives conn back (kept when healthy and the pool has room, closed otherwise). */
void store_release(struct store *s, PGconn *conn);

/* Runs the migrations conn has not seen yet, in order, each in its own transaction. */
int store_migrate(PGconn *conn, struct merr *err);
/* Runs run() in a transaction that first takes the advisory lock lock (a number, as text): for tables whose
 * rows take versions from a sequence (nextval inside run()), so that versions commit in order and a reader
 * that sees version N has seen every change before it. Commits, or rolls back when run() fails. */
#define STORE_LOCK_ARTIFACTS    "7238201936"
#define STORE_LOCK_TASK_OUTPUTS "7238201937"
#define STORE_LOCK_SESSIONS     "7238201938"
int store_versioned(PGconn *conn, const char *lock,
        int (*run)(PGconn *conn, const void *ud, struct merr *err), const void *ud, struct merr *err);

/* Records res's error in err, as "what: <first line of libpq's message>" (what may be NULL), and returns
 * its code: -EEXIST for a unique violation (SQLSTATE 23505), -ETIMEDOUT for a statement cancelled by
 * statement_timeout (57014), -EBADMSG when the database refuses the data
 * itself (classes 22 data exception, 23 integrity constraint, 54 program limit: sending it again cannot
 * succeed), -EIO otherwise (connection, server, or anything a retry may mend). */
int store_error(struct merr *err, const PGresult *res, const char *what);

/* Runs sql (no parameters, no rows wanted: BEGIN, COMMIT, SET LOCAL ...) on conn. */
int store_exec(PGconn *conn, const char *sql, struct merr *err);

/* The schema version the migrations lead to. */
int store_schema_version(void);
