/* SPDX-License-Identifier: Apache-2.0 */
/*
 * object_history and mirror_state: the states the mirror stores (docs/apiserver.md), how they are read, and
 * how they are pruned. The schema is migration 3 (store.c); history.h says who writes and reads what.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/migration.h"
#include "store/history.h"

/* ---- schema ---- */

/* object_history and mirror_state */
const struct store_migration store_history_migrations[] = {
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
        {0},
};

/* ---- reads ---- */

static const struct store_field fields[] = {
        {"object.kind", "kind"},
        {"object.name", "name"},
        {"object.uid", "uid::text"},
        {"object.apiVersion", "api_version"},
        {"type", "event"},
        {"phase", "phase"},
        {"metadata.name", "(name || '.' || id::text)"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {NULL, NULL},
};

static const char SELECT[] =
        "SELECT id, api_version, kind, namespace, name, uid, resource_version, event, phase, "
        "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), object::text "
        "FROM object_history WHERE true";

const struct store_source store_history_source = {
        .select = SELECT,
        .events = SELECT,
        .rv = "id",
        .name_col = "name", /* of the object: a record is named <object>.<id> */
        .newest = "SELECT coalesce(max(id), 0) FROM object_history",
        .fields = fields,
        .labels = "(object->'metadata'->'labels')",
        .time = "changed_at",
        .c_rv = STORE_HISTORY_ID,
        .c_type = -1, /* a new state is a new record */
        .history = true,
};

/* ---- writes ---- */

/* jsonb has no NUL character: a "\u0000" in a string (a task's output tail may hold one) becomes U+FFFD,
 * or the whole batch would be refused, again and again. text is JSON as json-c writes it. */
static void scrub_nul(char *text) {
        for (char *p = text; *p; p++) {
                if (*p != '\\')
                        continue;
                if (!p[1])
                        break;
                if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
                        memcpy(p + 2, "fffd", 4);
                p++; /* the escaped character (a \uXXXX's digits hold no backslash) */
        }
}

/* Appends s as a field of COPY's text format: backslash, tab, newline and carriage return escaped. */
static int copy_field(struct buf *b, const char *s, char end) {
        for (; *s; s++) {
                const char *esc = *s == '\\'   ? "\\\\"
                                  : *s == '\t' ? "\\t"
                                  : *s == '\n' ? "\\n"
                                  : *s == '\r' ? "\\r"
                                               : NULL;
                if ((esc ? buf_puts(b, esc) : buf_putc(b, *s)) < 0)
                        return -ENOMEM;
        }
        return buf_putc(b, end);
}

int store_history_line(struct buf *b, const struct store_history_state *st) {
        const char *const cols[] = {st->api_version, st->kind, st->namespace, st->name, st->uid,
                st->resource_version, st->event, st->phase, st->changed_at};
        _cleanup_free_ char *object = strdup(st->object);
        int k = object ? 0 : -ENOMEM;
        for (size_t i = 0; k >= 0 && i < ARRAY_SIZE(cols); i++)
                k = copy_field(b, cols[i], '\t');
        if (k < 0)
                return k;
        scrub_nul(object);
        return copy_field(b, object, '\n');
}

#define HISTORY_COLUMNS \
        "api_version, kind, namespace, name, uid, resource_version, event, phase, changed_at, object"

/* States that may be stored already (replayed after a restart, or listed) go through a scratch table:
 * each is inserted unless its (uid, resourceVersion) is there, and a listed one is ADDED when its object
 * is new to the history, MODIFIED otherwise. */
static const char *const DEDUPE[] = {
        "SET LOCAL client_min_messages = warning",
        "CREATE TEMP TABLE IF NOT EXISTS mirror_batch (ord bigserial, api_version text, kind text, namespace "
        "text, "
        "name text, uid uuid, resource_version text, event text, phase text, changed_at timestamptz, object "
        "jsonb) ON COMMIT DELETE ROWS",
        "COPY mirror_batch (" HISTORY_COLUMNS ") FROM STDIN",
        "INSERT INTO object_history (" HISTORY_COLUMNS ") "
        "SELECT b.api_version, b.kind, b.namespace, b.name, b.uid, b.resource_version, "
        "CASE WHEN b.event <> 'SYNC' THEN b.event "
        "WHEN EXISTS (SELECT 1 FROM object_history h WHERE h.uid = b.uid) THEN 'MODIFIED' ELSE 'ADDED' END, "
        "b.phase, b.changed_at, b.object FROM mirror_batch b ORDER BY b.ord "
        "ON CONFLICT (uid, resource_version) DO NOTHING",
        "DELETE FROM mirror_batch",
};

/* After a relist: what the history has alive of this kind and the list had not is gone. An object whose
 * newest stored state is newer than the list ($5) is left alone: it was stored after the
 * list (a replica that had not yet stopped, or an older leader's last batch), so its absence from the list
 * says nothing of a deletion. Kubernetes resourceVersions are etcd revisions, numbers: $5 is the list's
 * when it is one (else NULL); were either not a number, the list decides alone. The CASE keeps a stored
 * version that is no number from being cast. */
static const char INSERT_GONE[] =
        "INSERT INTO object_history (api_version, kind, namespace, name, uid, resource_version, event, "
        "phase, changed_at, object) "
        "SELECT l.api_version, l.kind, l.namespace, l.name, l.uid, $3, 'DELETED', l.phase, now(), l.object "
        "FROM (SELECT DISTINCT ON (uid) * FROM object_history WHERE api_version = $1 AND kind = $2 "
        "ORDER BY uid, id DESC) l "
        "WHERE l.event <> 'DELETED' AND l.uid::text NOT IN (SELECT jsonb_array_elements_text($4::jsonb)) "
        "AND NOT COALESCE(CASE WHEN l.resource_version ~ '^[0-9]{1,30}$' THEN l.resource_version::numeric "
        "END "
        "> $5::numeric, false) "
        "ON CONFLICT (uid, resource_version) DO NOTHING";

static int exec_params(PGconn *conn, const char *sql, int n, const char *const *params, struct merr *err) {
        PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                r = store_error(err, res, NULL);
        PQclear(res);
        return r;
}

/* COPY ... FROM STDIN of len bytes of lines. */
static int copy_in(PGconn *conn, const char *sql, const char *lines, size_t len, struct merr *err) {
        PGresult *res = PQexec(conn, sql);
        int r = 0;
        if (PQresultStatus(res) != PGRES_COPY_IN)
                r = store_error(err, res, NULL);
        PQclear(res);
        if (r < 0)
                return r;
        for (size_t off = 0; off < len;) {
                int n = len - off > (1 << 20) ? (1 << 20) : (int) (len - off);
                if (PQputCopyData(conn, lines + off, n) != 1)
                        break;
                off += (size_t) n;
        }
        if (PQputCopyEnd(conn, NULL) != 1)
                return merr_set(err, -EIO, "%s", PQerrorMessage(conn));
        while ((res = PQgetResult(conn))) {
                if (r >= 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
                        r = store_error(err, res, NULL); /* -EEXIST: a state stored before */
                PQclear(res);
        }
        return r;
}

int store_history_append(PGconn *conn, const char *lines, size_t len, bool maybe_stored, struct merr *err) {
        int r;
        if (len == 0)
                return 0;
        if (!maybe_stored) {
                /* new states, the steady case: straight in with COPY; if one was stored after all, the
                 * savepoint takes the attempt back and the states go the careful way */
                r = exec_params(conn, "SAVEPOINT rows", 0, NULL, err);
                if (r >= 0)
                        r = copy_in(conn, "COPY object_history (" HISTORY_COLUMNS ") FROM STDIN", lines, len,
                                err);
                if (r >= 0)
                        return exec_params(conn, "RELEASE SAVEPOINT rows", 0, NULL, err);
                if (r != -EEXIST)
                        return r;
                merr_clear(err);
                r = exec_params(conn, "ROLLBACK TO SAVEPOINT rows", 0, NULL, err);
                if (r < 0)
                        return r;
        }
        r = 0;
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(DEDUPE); i++)
                r = strncmp(DEDUPE[i], "COPY", 4) == 0 ? copy_in(conn, DEDUPE[i], lines, len, err)
                                                       : exec_params(conn, DEDUPE[i], 0, NULL, err);
        return r;
}

static bool is_revision(const char *rv) {
        size_t n = rv ? strspn(rv, "0123456789") : 0;
        return n > 0 && n <= 30 && rv[n] == '\0';
}

int store_history_gone(PGconn *conn, const char *api_version, const char *kind, const char *list_rv,
        const char *uids_json, struct merr *err) {
        const char *params[] = {api_version, kind, list_rv, uids_json ? uids_json : "[]",
                is_revision(list_rv) ? list_rv : NULL};
        return exec_params(conn, INSERT_GONE, 5, params, err);
}

/* Retention: the oldest states go first, STORE_HISTORY_PRUNE_BATCH at a time. States are stored in id order as time
 * goes, so the head of the id index is where expired rows are; nothing else is read. */
static const char PRUNE[] =
        "DELETE FROM object_history WHERE id IN (SELECT id FROM object_history ORDER BY id LIMIT 5000) "
        "AND recorded_at < now() - make_interval(secs => $1::double precision / 1000)";

int store_history_prune(PGconn *conn, long long keep_ms, long long *ret_pruned, struct merr *err) {
        char keep[32];
        snprintf(keep, sizeof(keep), "%lld", keep_ms);
        const char *params[] = {keep};
        PGresult *res = PQexecParams(conn, PRUNE, 1, NULL, params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
                *ret_pruned = strtoll(PQcmdTuples(res), NULL, 10);
        else
                r = store_error(err, res, NULL);
        PQclear(res);
        return r;
}

/* ---- where the mirror resumes ---- */

int store_mirror_resume_point(struct store *s, const char *resource, char **ret, struct merr *err) {
        PGconn *conn = NULL;
        int r = store_acquire(s, &conn, err);
        if (r < 0)
                return r;
        const char *params[] = {resource};
        PGresult *pr = PQexecParams(conn, "SELECT resource_version FROM mirror_state WHERE resource = $1", 1,
                NULL, params, NULL, NULL, 0);
        if (PQresultStatus(pr) != PGRES_TUPLES_OK)
                r = store_error(err, pr, "reading mirror_state");
        else if (PQntuples(pr) == 1) {
                *ret = strdup(PQgetvalue(pr, 0, 0));
                r = *ret ? 1 : merr_set(err, -ENOMEM, "out of memory");
        }
        PQclear(pr);
        store_release(s, conn);
        return r;
}

static const char SAVE_RV[] =
        "INSERT INTO mirror_state (resource, resource_version) VALUES ($1, $2) ON CONFLICT (resource) DO "
        "UPDATE SET resource_version = EXCLUDED.resource_version, updated_at = now()";

int store_mirror_save(PGconn *conn, const char *resource, const char *rv, struct merr *err) {
        const char *params[] = {resource, rv};
        return exec_params(conn, SAVE_RV, 2, params, err);
}
