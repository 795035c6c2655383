/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/migration.h"
#include "store/project.h"
#include "store/artifact.h"

/* ---- schema ---- */

/* artifacts (task_artifacts, from migration 2, was replaced by it in 4) */
const struct store_migration store_artifact_migrations[] = {
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
        {0},
};

/* ---- reads ---- */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS                                                                                           \
        "SELECT rv, type, version, namespace, name, uid, kind, title, uri, path, content_type, "          \
        "coalesce(size_bytes::text, ''), digest, task_name, coalesce(task_uid::text, ''), sandbox, pod, " \
        "labels::text, annotations::text, source, registered_by, " TS("created_at") " FROM "
/* records: listed in the order they were created; their resourceVersion is their newest change */
static const char SELECT[] =
        COLUMNS "(SELECT created_rv AS rv, 'ADDED' AS type, greatest(created_rv, modified_rv) AS version, * "
                "FROM artifacts WHERE deleted_rv IS NULL) a WHERE true";
/* changes: the creation, the newest change of labels or annotations, the deletion */
static const char EVENTS[] = COLUMNS
        "(SELECT created_rv AS rv, 'ADDED' AS type, created_rv AS version, * FROM artifacts UNION ALL "
        "SELECT modified_rv, 'MODIFIED', modified_rv, * FROM artifacts WHERE modified_rv IS NOT NULL "
        "UNION ALL SELECT deleted_rv, 'DELETED', deleted_rv, * FROM artifacts WHERE deleted_rv IS NOT NULL) "
        "a "
        "WHERE true";

static const struct store_field fields[] = {
        {"metadata.name", "name"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {"spec.kind", "kind"},
        {"spec.task.name", "task_name"},
        {"spec.sandbox", "sandbox"},
        {"status.source", "source"},
        {NULL, NULL},
};

const struct store_source store_artifact_source = {
        .select = SELECT,
        .events = EVENTS,
        .rv = "rv",
        .version = "version",
        .name_col = "name",
        .newest = "SELECT greatest((SELECT coalesce(max(created_rv), 0) FROM artifacts), "
                  "(SELECT coalesce(max(modified_rv), 0) FROM artifacts), "
                  "(SELECT coalesce(max(deleted_rv), 0) FROM artifacts))",
        .fields = fields,
        .labels = "labels",
        .time = NULL,
        .c_rv = STORE_ARTIFACT_RV,
        .c_type = STORE_ARTIFACT_TYPE,
};

int artifact_get_live(PGconn *conn, const char *ns, const char *name, PGresult **ret, struct merr *err) {
        char sql[sizeof(SELECT) + 256];
        snprintf(sql, sizeof(sql), "%s AND namespace = $1 AND name = $2" STORE_IN_PROJECT_NOW("1"), SELECT);
        const char *params[] = {ns, name};
        PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                int r = store_error(err, res, "reading the artifact");
                PQclear(res);
                return r;
        }
        *ret = res;
        return 0;
}

int artifact_locate(
        PGconn *conn, const char *ns, const char *name, struct artifact_location *ret, struct merr *err) {
        const char *params[] = {ns, name};
        PGresult *res = PQexecParams(conn,
                "SELECT path, sandbox, digest, coalesce(size_bytes, -1), left(uri, 40), content_type FROM "
                "artifacts "
                "WHERE namespace = $1 AND name = $2 AND deleted_rv IS NULL" STORE_IN_PROJECT_NOW("1"),
                2, NULL, params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                r = store_error(err, res, "reading artifacts");
        else if (PQntuples(res) > 0) {
                snprintf(ret->path, sizeof(ret->path), "%s", PQgetvalue(res, 0, 0));
                snprintf(ret->sandbox, sizeof(ret->sandbox), "%s", PQgetvalue(res, 0, 1));
                snprintf(ret->digest, sizeof(ret->digest), "%s", PQgetvalue(res, 0, 2));
                ret->size = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
                snprintf(ret->uri, sizeof(ret->uri), "%s", PQgetvalue(res, 0, 4));
                snprintf(ret->content_type, sizeof(ret->content_type), "%s", PQgetvalue(res, 0, 5));
                r = 1;
        }
        PQclear(res);
        return r;
}

/* ---- writes ---- */

static const char *nz(const char *s) {
        return s ? s : "";
}

/* Whether ns/name has a live artifact: 1, 0, or < 0. */
static int live(PGconn *conn, const char *ns, const char *name, struct merr *err) {
        const char *params[] = {ns, name};
        PGresult *res = PQexecParams(conn,
                "SELECT 1 FROM artifacts WHERE namespace = $1 AND name = $2 AND deleted_rv IS "
                "NULL" STORE_IN_PROJECT_NOW("1"),
                2, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? store_error(err, res, "reading artifacts")
                                                       : PQntuples(res) > 0;
        PQclear(res);
        return r;
}

/* Inserts a in the caller's transaction (holding the write lock). */
static int insert(PGconn *conn, const struct artifact *a, char uid[static 37], struct merr *err) {
        char size[32];
        snprintf(size, sizeof(size), "%" PRId64, a->size_bytes);
        const char *params[] = {a->namespace, a->name, nz(a->kind), nz(a->title), a->uri, nz(a->path),
                nz(a->content_type), a->has_size ? size : NULL, nz(a->digest), nz(a->task_name),
                a->task_uid && *a->task_uid ? a->task_uid : NULL, nz(a->sandbox), nz(a->pod),
                a->labels ? a->labels : "{}", a->annotations ? a->annotations : "{}",
                a->source          ? a->source
                : a->registered_by ? "Registered"
                                   : "Task",
                nz(a->registered_by)};
        PGresult *res = PQexecParams(conn,
                "INSERT INTO artifacts (namespace, name, kind, title, uri, path, content_type, size_bytes, "
                "digest, task_name, task_uid, sandbox, pod, labels, annotations, source, registered_by, "
                "created_rv) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
                "$17, nextval('artifact_versions')) RETURNING uid",
                17, NULL, params, NULL, NULL, 0);
        int r = 0;
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
                snprintf(uid, 37, "%s", PQgetvalue(res, 0, 0));
        else if (state && strcmp(state, "23505") == 0)
                r = merr_set(err, -EEXIST, "artifact %s already exists", a->name);
        else
                r = store_error(err, res, "storing an artifact");
        PQclear(res);
        return r;
}

/* Tombstones the live artifact ns/name (if uid, only when it is that one), in the caller's transaction. */
static int tombstone(PGconn *conn, const char *ns, const char *name, const char *uid, struct merr *err) {
        const char *params[] = {ns, name, uid && *uid ? uid : NULL};
        PGresult *res = PQexecParams(conn,
                "UPDATE artifacts SET deleted_at = now(), deleted_rv = nextval('artifact_versions') "
                "WHERE namespace = $1 AND name = $2 AND deleted_rv IS NULL AND ($3::uuid IS NULL OR uid = "
                "$3::uuid)" STORE_IN_PROJECT_NOW("1") " RETURNING uid",
                3, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? store_error(err, res, "deleting an artifact")
                                                       : PQntuples(res);
        PQclear(res);
        return r;
}

static int run_record(PGconn *conn, const void *ud, struct merr *err) {
        const struct artifact *a = ud;
        char uid[37];
        const char *params[] = {a->task_uid, nz(a->title)};
        PGresult *res = PQexecParams(conn,
                "SELECT 1 FROM artifacts WHERE task_uid = $1 AND title = $2 AND source = 'Task'", 2, NULL,
                params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? store_error(err, res, "reading artifacts")
                                                       : PQntuples(res);
        PQclear(res);
        if (r != 0) /* recorded before (perhaps deleted since), or failed */
                return r < 0 ? r : 0;
        r = tombstone(conn, a->namespace, a->name, NULL, err);
        return r < 0 ? r : insert(conn, a, uid, err);
}

int artifact_record_task(struct store *s, const struct artifact *a, struct merr *err) {
        PGconn *conn = NULL;
        int r = store_acquire(s, &conn, err);
        if (r < 0)
                return r;
        r = store_versioned(conn, STORE_LOCK_ARTIFACTS, run_record, a, err);
        store_release(s, conn);
        return r < 0 ? merr_wrap(err, r, "recording artifact %s", a->name) : 0;
}

struct create {
        const struct artifact *a;
        char *uid;
};

static int run_create(PGconn *conn, const void *ud, struct merr *err) {
        const struct create *c = ud;
        return insert(conn, c->a, c->uid, err);
}

int artifact_create(PGconn *conn, const struct artifact *a, char uid[static 37], struct merr *err) {
        struct create c = {a, uid};
        return store_versioned(conn, STORE_LOCK_ARTIFACTS, run_create, &c, err);
}

struct delete {
        const char *ns, *name, *uid;
};

static int run_delete(PGconn *conn, const void *ud, struct merr *err) {
        const struct delete *d = ud;
        int r = tombstone(conn, d->ns, d->name, d->uid, err);
        if (r == 0 && d->uid && *d->uid && (r = live(conn, d->ns, d->name, err)) > 0)
                return merr_set(err, -ESTALE, "the artifact %s has another uid than %s", d->name, d->uid);
        if (r == 0)
                return merr_set(err, -ENOENT, "artifact %s not found", d->name);
        return r < 0 ? r : 0;
}

int artifact_delete(PGconn *conn, const char *ns, const char *name, const char *uid, struct merr *err) {
        struct delete d = {ns, name, uid};
        return store_versioned(conn, STORE_LOCK_ARTIFACTS, run_delete, &d, err);
}

struct update {
        const char *ns, *name, *version, *labels, *annotations;
};

static int run_update(PGconn *conn, const void *ud, struct merr *err) {
        const struct update *u = ud;
        const char *params[] = {u->ns, u->name, u->version, u->labels, u->annotations};
        PGresult *res = PQexecParams(conn,
                "UPDATE artifacts SET labels = $4, annotations = $5, modified_rv = "
                "nextval('artifact_versions') "
                "WHERE namespace = $1 AND name = $2 AND deleted_rv IS NULL AND "
                "greatest(created_rv, modified_rv) = $3::bigint" STORE_IN_PROJECT_NOW("1") " RETURNING uid",
                5, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? store_error(err, res, "updating an artifact")
                                                       : PQntuples(res);
        PQclear(res);
        if (r != 0)
                return r < 0 ? r : 0;
        r = live(conn, u->ns, u->name, err);
        if (r > 0)
                return merr_set(
                        err, -ESTALE, "the artifact %s changed since version %s", u->name, u->version);
        return r < 0 ? r : merr_set(err, -ENOENT, "artifact %s not found", u->name);
}

int artifact_update_meta(PGconn *conn, const char *ns, const char *name, const char *version,
        const char *labels, const char *annotations, struct merr *err) {
        struct update u = {ns, name, version, labels, annotations};
        return store_versioned(conn, STORE_LOCK_ARTIFACTS, run_update, &u, err);
}
