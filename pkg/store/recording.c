/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/migration.h"
#include "store/recording.h"

/* ---- schema ---- */

const struct store_migration store_recording_migrations[] = {
        {9, "session recordings",
                /* the chunks of a session's asciicast go with the session (retention deletes sessions);
                 * the session names the artifact its recording became, an artifact of a third source */
                "CREATE TABLE session_recording_chunks ("
                "  session_uid uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,"
                "  seq integer NOT NULL CHECK (seq >= 0),"
                "  data bytea NOT NULL,"
                "  PRIMARY KEY (session_uid, seq));"
                "ALTER TABLE sessions ADD COLUMN recording text;"
                "ALTER TABLE artifacts DROP CONSTRAINT artifacts_source_check;"
                "ALTER TABLE artifacts ADD CONSTRAINT artifacts_source_check "
                "  CHECK (source IN ('Task', 'Registered', 'Recorded'));"},
        {0},
};

/* ---- writes ---- */

int store_recording_write(
        PGconn *conn, const char *session_uid, int seq, const void *data, size_t len, struct merr *err) {
        char n[16];
        snprintf(n, sizeof(n), "%d", seq);
        const char *params[] = {session_uid, n, data};
        const int lengths[] = {0, 0, (int) len};
        const int formats[] = {0, 0, 1}; /* the bytes go as binary: no escaping */
        PGresult *res = PQexecParams(conn,
                "INSERT INTO session_recording_chunks (session_uid, seq, data) VALUES ($1, $2, $3)", 3, NULL,
                params, lengths, formats, 0);
        int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : store_error(err, res, "writing the recording");
        PQclear(res);
        return r;
}

int store_recording_session(
        PGconn *conn, const char *session_uid, char ret_name[static 64], struct merr *err) {
        const char *params[] = {session_uid};
        PGresult *res = PQexecParams(
                conn, "SELECT name FROM sessions WHERE uid = $1", 1, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? store_error(err, res, "reading the session")
                : PQntuples(res) == 0 ? merr_set(err, -ENOENT, "no session has uid %s", session_uid)
                                      : 0;
        if (r == 0)
                snprintf(ret_name, 64, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return r;
}

int store_recording_finish(
        PGconn *conn, const char *session_uid, const struct artifact *a, struct merr *err) {
        char uid[37];
        int r = artifact_create(conn, a, uid, err);
        if (r < 0)
                return r;
        const char *params[] = {session_uid, a->name};
        PGresult *res = PQexecParams(
                conn, "UPDATE sessions SET recording = $2 WHERE uid = $1", 2, NULL, params, NULL, NULL, 0);
        r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : store_error(err, res, "naming the recording");
        PQclear(res);
        return r;
}

/* ---- reads ---- */

int store_recording_of(
        PGconn *conn, const char *ns, const char *name, char ret_uid[static 37], struct merr *err) {
        const char *params[] = {ns, name};
        PGresult *res = PQexecParams(conn,
                "SELECT s.uid FROM artifacts a JOIN sessions s ON s.namespace = a.namespace AND "
                "s.recording = a.name AND a.uri = '" RECORDING_URI "' || s.name "
                "WHERE a.namespace = $1 AND a.name = $2 AND a.deleted_rv IS NULL AND a.source = 'Recorded' "
                "AND a.project_uid IS NOT DISTINCT FROM (SELECT project_uid FROM namespace_projects "
                "WHERE namespace = $1)",
                2, NULL, params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                r = store_error(err, res, "reading the recording");
        else if (PQntuples(res) > 0) {
                snprintf(ret_uid, 37, "%s", PQgetvalue(res, 0, 0));
                r = 1;
        }
        PQclear(res);
        return r;
}

int store_recording_chunk(PGconn *conn, const char *uid, int seq, PGresult **ret, struct merr *err) {
        char n[16];
        snprintf(n, sizeof(n), "%d", seq);
        const char *params[] = {uid, n};
        PGresult *res = PQexecParams(conn,
                "SELECT data FROM session_recording_chunks WHERE session_uid = $1 AND seq = $2", 2, NULL,
                params, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
                int r = PQresultStatus(res) == PGRES_TUPLES_OK
                                ? 0
                                : store_error(err, res, "reading the recording");
                PQclear(res);
                return r;
        }
        *ret = res;
        return 1;
}
