/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records of a project (docs/store.md): namespace_projects, which project owns a namespace now, kept from
 * the mirrored states of Projects, and the triggers that stamp every new record with its namespace's
 * project.
 */
#include <stdio.h>

#include "store/migration.h"
#include "store/project.h"

/* ---- schema ---- */

/* namespace_projects, project_uid on every record table, and the triggers */
const struct store_migration store_project_migrations[] = {
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
        {0},
};

int store_namespace_project(PGconn *conn, const char *ns, char ret_uid[static 37], char *ret_name,
        size_t name_size, struct merr *err) {
        const char *params[] = {ns};
        PGresult *res = PQexecParams(conn,
                "SELECT project_uid, project_name FROM namespace_projects WHERE namespace = $1", 1, NULL,
                params, NULL, NULL, 0);
        int r = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                r = store_error(err, res, "reading the namespace's project");
        else if (PQntuples(res) > 0) {
                snprintf(ret_uid, 37, "%s", PQgetvalue(res, 0, 0));
                if (ret_name)
                        snprintf(ret_name, name_size, "%s", PQgetvalue(res, 0, 1));
                r = 1;
        }
        PQclear(res);
        return r;
}
