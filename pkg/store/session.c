/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "store/migration.h"
#include "store/session.h"

/* ---- schema ---- */

const struct store_migration store_session_migrations[] = {
        {8, "sessions",
                /* one row per exec or terminal session; its start and its end each take a version from
                 * session_versions under STORE_LOCK_SESSIONS, so that they commit in order. ended_at and
                 * end_reason are NULL while it is open. Its project is stamped as the other records' are
                 * (migration 6) */
                "CREATE SEQUENCE session_versions;"
                "CREATE TABLE sessions ("
                "  uid uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                "  namespace text NOT NULL,"
                "  name text NOT NULL,"
                "  project_uid uuid,"
                "  sandbox text NOT NULL,"
                "  pod text NOT NULL DEFAULT '',"
                "  kind text NOT NULL CHECK (kind IN ('exec', 'terminal')),"
                "  user_name text NOT NULL,"
                "  user_uid text NOT NULL DEFAULT '',"
                "  groups jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(groups) = 'array'),"
                "  command jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(command) = 'array'),"
                "  tty boolean NOT NULL DEFAULT false,"
                "  started_at timestamptz NOT NULL DEFAULT now(),"
                "  ended_at timestamptz,"
                "  bytes_in bigint NOT NULL DEFAULT 0,"
                "  bytes_out bigint NOT NULL DEFAULT 0,"
                "  exit_code integer,"
                "  end_reason text,"
                "  created_rv bigint NOT NULL,"
                "  modified_rv bigint,"
                "  CHECK ((ended_at IS NULL) = (end_reason IS NULL)));"
                "CREATE UNIQUE INDEX sessions_by_name ON sessions (namespace, name);"
                "CREATE INDEX sessions_by_created ON sessions (created_rv);"
                "CREATE INDEX sessions_by_modified ON sessions (modified_rv) WHERE modified_rv IS NOT NULL;"
                "CREATE INDEX sessions_by_project ON sessions (project_uid);"
                /* what retention reads, oldest first */
                "CREATE INDEX sessions_by_end ON sessions (ended_at) WHERE ended_at IS NOT NULL;"
                "CREATE TRIGGER sessions_project BEFORE INSERT ON sessions "
                "  FOR EACH ROW EXECUTE FUNCTION mbox_record_project();"},
        {0},
};

/* ---- reads ---- */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS                                                                                     \
        "SELECT rv, type, version, namespace, name, uid, sandbox, pod, kind, user_name, user_uid, " \
        "groups::text, command::text, "                                                             \
        "left(array_to_string(ARRAY(SELECT jsonb_array_elements_text(command)), ' '), 256), tty, "  \
        "phase, " TS("started_at") ", coalesce(" TS(                                                \
                "ended_at") ", ''), bytes_in, bytes_out, "                                          \
                            "coalesce(exit_code::text, ''), coalesce(end_reason, ''), "                     \
                            "coalesce(recording, '') FROM "
#define PHASE "CASE WHEN ended_at IS NULL THEN 'Active' ELSE 'Ended' END AS phase"
/* records: listed in the order they opened; their resourceVersion is their newest change */
static const char SELECT[] = COLUMNS "(SELECT created_rv AS rv, 'ADDED' AS type, greatest(created_rv, "
                                     "modified_rv) AS version, " PHASE ", * FROM sessions) s WHERE true";
/* changes: the start (ADDED, the session as it opened), the end (MODIFIED) */
#define OPENED                                                                                          \
        "uid, namespace, name, project_uid, sandbox, pod, kind, user_name, user_uid, groups, command, " \
        "tty, started_at"
static const char EVENTS[] =
        COLUMNS "(SELECT created_rv AS rv, 'ADDED' AS type, created_rv AS version, 'Active' AS phase, " OPENED
                ", NULL::timestamptz AS ended_at, 0::bigint AS bytes_in, 0::bigint AS bytes_out, "
                "NULL::integer AS exit_code, NULL::text AS end_reason, NULL::text AS recording FROM sessions "
                "UNION ALL SELECT modified_rv, 'MODIFIED', modified_rv, 'Ended', " OPENED
                ", ended_at, bytes_in, bytes_out, exit_code, end_reason, recording FROM sessions WHERE "
                "modified_rv IS "
                "NOT NULL) s "
                "WHERE true";

static const struct store_field fields[] = {
        {"metadata.name", "name"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {"spec.sandbox", "sandbox"},
        {"spec.kind", "kind"},
        {"spec.user.name", "user_name"},
        {"status.phase", "phase"},
        {"status.reason", "end_reason"},
        {NULL, NULL},
};

const struct store_source store_session_source = {
        .select = SELECT,
        .events = EVENTS,
        .rv = "rv",
        .version = "version",
        .name_col = "name",
        .newest = "SELECT greatest((SELECT coalesce(max(created_rv), 0) FROM sessions), "
                  "(SELECT coalesce(max(modified_rv), 0) FROM sessions))",
        .fields = fields,
        .labels = "'{}'::jsonb",
        .time = NULL,
        .c_rv = STORE_SESSION_RV,
        .c_type = STORE_SESSION_TYPE,
};

/* ---- writes ---- */

void store_session_name(const char *sandbox, const unsigned char rnd[static 5], char ret[static 64]) {
        /* kube-apiserver's alphabet for generated names: no vowels, no 0, 1, 3 */
        static const char ALPHABET[] = "bcdfghjklmnpqrstvwxz2456789";
        char tail[6];
        for (size_t i = 0; i < 5; i++)
                tail[i] = ALPHABET[rnd[i] % (sizeof(ALPHABET) - 1)];
        tail[5] = '\0';
        snprintf(ret, 64, "%.*s-%s", STORE_SESSION_NAME_MAX - 6, sandbox, tail);
}

struct begin {
        const struct store_session *s;
        char *name, *uid;
};

#define NAME_TRIES 8 /* names taken already in a row before giving up: 27^5 names per sandbox */

static int run_begin(PGconn *conn, const void *ud, struct merr *err) {
        const struct begin *b = ud;
        const struct store_session *s = b->s;
        for (int i = 0; i < NAME_TRIES; i++) {
                unsigned char rnd[5];
                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                        return merr_set(err, -errno, "recording the session: no random bytes for its name");
                store_session_name(s->sandbox, rnd, b->name);
                const char *params[] = {s->namespace, b->name, s->sandbox, s->pod ? s->pod : "", s->kind,
                        s->user, s->user_uid ? s->user_uid : "", s->groups ? s->groups : "[]",
                        s->command ? s->command : "[]", s->tty ? "true" : "false"};
                PGresult *res = PQexecParams(conn,
                        "INSERT INTO sessions (namespace, name, sandbox, pod, kind, user_name, user_uid, "
                        "groups, command, tty, created_rv) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                        "nextval('session_versions')) ON CONFLICT (namespace, name) DO NOTHING RETURNING uid",
                        10, NULL, params, NULL, NULL, 0);
                int r = PQresultStatus(res) != PGRES_TUPLES_OK
                                ? store_error(err, res, "recording the session")
                                : PQntuples(res);
                if (r > 0)
                        snprintf(b->uid, 37, "%s", PQgetvalue(res, 0, 0));
                PQclear(res);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return merr_set(
                err, -EEXIST, "recording the session: %d names of sandbox %s taken", NAME_TRIES, s->sandbox);
}

int store_session_begin(PGconn *conn, const struct store_session *s, char ret_name[static 64],
        char ret_uid[static 37], struct merr *err) {
        char name[64], uid[37];
        struct begin b = {s, name, uid};
        int r = store_versioned(conn, STORE_LOCK_SESSIONS, run_begin, &b, err);
        if (r < 0)
                return r;
        memcpy(ret_name, name, sizeof(name));
        memcpy(ret_uid, uid, sizeof(uid));
        return 0;
}

struct end {
        const char *uid, *reason;
        long long in, out;
        int exit_code;
};

static int run_end(PGconn *conn, const void *ud, struct merr *err) {
        const struct end *e = ud;
        char in[24], out[24], code[16];
        snprintf(in, sizeof(in), "%lld", e->in);
        snprintf(out, sizeof(out), "%lld", e->out);
        snprintf(code, sizeof(code), "%d", e->exit_code);
        const char *params[] = {e->uid, in, out, e->exit_code < 0 ? NULL : code, e->reason};
        PGresult *res = PQexecParams(conn,
                "UPDATE sessions SET ended_at = now(), bytes_in = $2, bytes_out = $3, exit_code = $4, "
                "end_reason = $5, modified_rv = nextval('session_versions') "
                "WHERE uid = $1 AND ended_at IS NULL RETURNING name",
                5, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) != PGRES_TUPLES_OK ? store_error(err, res, "ending the session")
                                                       : PQntuples(res);
        PQclear(res);
        if (r == 0)
                return merr_set(err, -ENOENT, "no open session has uid %s", e->uid);
        return r < 0 ? r : 0;
}

int store_session_end(PGconn *conn, const char *uid, long long bytes_in, long long bytes_out, int exit_code,
        const char *reason, struct merr *err) {
        if (!reason || !*reason)
                return merr_set(err, -EINVAL, "ending session %s: a reason is needed", uid);
        struct end e = {uid, reason, bytes_in, bytes_out, exit_code};
        return store_versioned(conn, STORE_LOCK_SESSIONS, run_end, &e, err);
}
