/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "store/migration.h"
#include "store/previewaccess.h"

/* ---- schema ---- */

const struct store_migration store_preview_access_migrations[] = {
        {10, "preview accesses",
                /* one row per key and minute, its counters added to by every flush of mbox-apiserver; its
                 * creation and each addition take a version from preview_access_versions under
                 * STORE_LOCK_PREVIEW_ACCESSES, so that they commit in order. Its project is stamped as the
                 * other records' are (migration 6) */
                "CREATE SEQUENCE preview_access_versions;"
                "CREATE TABLE preview_accesses ("
                "  uid uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                "  namespace text NOT NULL,"
                "  name text NOT NULL,"
                "  project_uid uuid,"
                "  sandbox text NOT NULL,"
                "  sandbox_uid text NOT NULL DEFAULT '',"
                "  port text NOT NULL,"
                "  user_name text NOT NULL DEFAULT '',"
                "  grant_id text NOT NULL DEFAULT '',"
                "  via text NOT NULL CHECK (via IN ('Gateway', 'Proxy')),"
                "  window_start timestamptz NOT NULL,"
                "  requests bigint NOT NULL DEFAULT 0,"
                "  status_1xx bigint NOT NULL DEFAULT 0,"
                "  status_2xx bigint NOT NULL DEFAULT 0,"
                "  status_3xx bigint NOT NULL DEFAULT 0,"
                "  status_4xx bigint NOT NULL DEFAULT 0,"
                "  status_5xx bigint NOT NULL DEFAULT 0,"
                "  bytes_in bigint NOT NULL DEFAULT 0,"
                "  bytes_out bigint NOT NULL DEFAULT 0,"
                "  first_at timestamptz NOT NULL,"
                "  last_at timestamptz NOT NULL,"
                "  max_duration_us bigint NOT NULL DEFAULT 0,"
                "  created_rv bigint NOT NULL,"
                "  modified_rv bigint);"
                "CREATE UNIQUE INDEX preview_accesses_key ON preview_accesses "
                "  (namespace, sandbox, sandbox_uid, port, user_name, grant_id, via, window_start);"
                "CREATE INDEX preview_accesses_by_name ON preview_accesses (namespace, name);"
                "CREATE INDEX preview_accesses_by_created ON preview_accesses (created_rv);"
                "CREATE INDEX preview_accesses_by_modified ON preview_accesses (modified_rv) "
                "  WHERE modified_rv IS NOT NULL;"
                "CREATE INDEX preview_accesses_by_project ON preview_accesses (project_uid);"
                /* what retention reads, oldest first */
                "CREATE INDEX preview_accesses_by_last ON preview_accesses (last_at);"
                "CREATE TRIGGER preview_accesses_project BEFORE INSERT ON preview_accesses "
                "  FOR EACH ROW EXECUTE FUNCTION mbox_record_project();"},
        {0},
};

/* ---- reads ---- */

#define TS(col)  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define TSU(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define WHO                                                                                            \
        "CASE WHEN user_name <> '' THEN user_name WHEN grant_id <> '' THEN 'grant:' || grant_id ELSE " \
        "'anonymous' END"
#define WINDOW     TS("window_start") ", " TS("(window_start + interval '1 minute')")
#define COUNTS     "requests, status_1xx, status_2xx, status_3xx, status_4xx, status_5xx, bytes_in, bytes_out"
#define FIRST_LAST TSU("first_at") ", " TSU("last_at") ", " TS("first_at")
#define COLUMNS                                                                                   \
        "SELECT rv, type, version, namespace, name, uid, sandbox, sandbox_uid, port, user_name, " \
        "grant_id, " WHO ", via, " WINDOW ", " COUNTS ", " FIRST_LAST ", max_duration_us FROM "
/* records: listed in the order they were first stored; their resourceVersion is their newest change */
static const char SELECT[] = COLUMNS "(SELECT created_rv AS rv, 'ADDED' AS type, greatest(created_rv, "
                                     "modified_rv) AS version, * FROM preview_accesses) a WHERE true";
/* changes: the creation and the newest addition, each with the counts there are */
static const char EVENTS[] = COLUMNS
        "(SELECT created_rv AS rv, 'ADDED' AS type, created_rv AS version, * FROM preview_accesses UNION ALL "
        "SELECT modified_rv, 'MODIFIED', modified_rv, * FROM preview_accesses WHERE modified_rv IS NOT NULL) "
        "a "
        "WHERE true";

static const struct store_field fields[] = {
        {"metadata.name", "name"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {"spec.sandbox", "sandbox"},
        {"spec.port", "port"},
        {"spec.user", "user_name"},
        {"spec.grant", "grant_id"},
        {"spec.via", "via"},
        {NULL, NULL},
};

const struct store_source store_preview_access_source = {
        .select = SELECT,
        .events = EVENTS,
        .rv = "rv",
        .version = "version",
        .name_col = "name",
        .newest = "SELECT greatest((SELECT coalesce(max(created_rv), 0) FROM preview_accesses), "
                  "(SELECT coalesce(max(modified_rv), 0) FROM preview_accesses))",
        .fields = fields,
        .labels = "'{}'::jsonb",
        .time = NULL,
        .c_rv = STORE_PREVIEW_ACCESS_RV,
        .c_type = STORE_PREVIEW_ACCESS_TYPE,
};

/* ---- writes ---- */

/* The windows as a JSON array, the statement's one parameter: sent as one value, whatever they hold. */
static int windows_json(const struct store_preview_access *rows, size_t n, json_object **ret) {
        json_object *a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct store_preview_access *w = &rows[i];
                json_object *o = json_object_new_object();
                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return -ENOMEM;
                }
                json_object_object_add(o, "ns", json_object_new_string(w->namespace));
                json_object_object_add(o, "sb", json_object_new_string(w->sandbox));
                json_object_object_add(
                        o, "sbuid", json_object_new_string(w->sandbox_uid ? w->sandbox_uid : ""));
                json_object_object_add(o, "port", json_object_new_string(w->port));
                json_object_object_add(o, "usr", json_object_new_string(w->user ? w->user : ""));
                json_object_object_add(o, "gr", json_object_new_string(w->grant ? w->grant : ""));
                json_object_object_add(o, "via", json_object_new_string(w->via));
                json_object_object_add(o, "w", json_object_new_int64(w->window));
                json_object_object_add(o, "req", json_object_new_int64(w->requests));
                static const char *const class_keys[] = {"c1", "c2", "c3", "c4", "c5"};
                for (size_t c = 0; c < 5; c++)
                        json_object_object_add(o, class_keys[c], json_object_new_int64(w->classes[c]));
                json_object_object_add(o, "bin", json_object_new_int64(w->bytes_in));
                json_object_object_add(o, "bout", json_object_new_int64(w->bytes_out));
                json_object_object_add(o, "f", json_object_new_int64(w->first_us));
                json_object_object_add(o, "l", json_object_new_int64(w->last_us));
                json_object_object_add(o, "d", json_object_new_int64(w->max_duration_us));
        }
        *ret = a;
        return 0;
}

/* A window's name: readable (sandbox, port, minute), and unique in its namespace by a hash of the rest of
 * its key (sandbox uid, user, grant, way in). */
static const char UPSERT[] =
        "INSERT INTO preview_accesses AS p (namespace, name, sandbox, sandbox_uid, port, user_name, "
        "grant_id, "
        "via, window_start, requests, status_1xx, status_2xx, status_3xx, status_4xx, status_5xx, bytes_in, "
        "bytes_out, first_at, last_at, max_duration_us, created_rv) "
        "SELECT ns, sb || '.' || port || '.' || to_char(to_timestamp(w) AT TIME ZONE 'UTC', "
        "'YYYYMMDDHH24MI') || '.' || left(md5(json_build_array(sbuid, usr, gr, via)::text), 8), "
        "sb, sbuid, port, usr, gr, via, to_timestamp(w), req, c1, c2, c3, c4, c5, bin, bout, "
        "'epoch'::timestamptz + f * interval '1 microsecond', 'epoch'::timestamptz + l * interval '1 "
        "microsecond', "
        "d, nextval('preview_access_versions') "
        "FROM jsonb_to_recordset($1::jsonb) AS t(ns text, sb text, sbuid text, port text, usr text, gr text, "
        "via text, w bigint, req bigint, c1 bigint, c2 bigint, c3 bigint, c4 bigint, c5 bigint, bin bigint, "
        "bout bigint, f bigint, l bigint, d bigint) "
        "ON CONFLICT (namespace, sandbox, sandbox_uid, port, user_name, grant_id, via, window_start) "
        "DO UPDATE SET requests = p.requests + EXCLUDED.requests, "
        "status_1xx = p.status_1xx + EXCLUDED.status_1xx, status_2xx = p.status_2xx + EXCLUDED.status_2xx, "
        "status_3xx = p.status_3xx + EXCLUDED.status_3xx, status_4xx = p.status_4xx + EXCLUDED.status_4xx, "
        "status_5xx = p.status_5xx + EXCLUDED.status_5xx, bytes_in = p.bytes_in + EXCLUDED.bytes_in, "
        "bytes_out = p.bytes_out + EXCLUDED.bytes_out, first_at = least(p.first_at, EXCLUDED.first_at), "
        "last_at = greatest(p.last_at, EXCLUDED.last_at), "
        "max_duration_us = greatest(p.max_duration_us, EXCLUDED.max_duration_us), "
        "modified_rv = nextval('preview_access_versions')";

static int run_add(PGconn *conn, const void *ud, struct merr *err) {
        const char *params[] = {ud};
        PGresult *res = PQexecParams(conn, UPSERT, 1, NULL, params, NULL, NULL, 0);
        int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0
                                                        : store_error(err, res, "storing preview accesses");
        PQclear(res);
        return r;
}

int store_preview_access_add(
        PGconn *conn, const struct store_preview_access *rows, size_t n, struct merr *err) {
        if (n == 0)
                return 0;
        json_object *a = NULL;
        if (windows_json(rows, n, &a) < 0)
                return merr_set(err, -ENOMEM, "storing preview accesses: out of memory");
        const char *text = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        int r = text ? store_versioned(conn, STORE_LOCK_PREVIEW_ACCESSES, run_add, text, err)
                     : merr_set(err, -ENOMEM, "storing preview accesses: out of memory");
        json_object_put(a);
        return r;
}
