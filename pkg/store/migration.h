/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The schema, table by table: each table's file keeps the migrations that made its table, beside its
 * reads and writes; store.c runs them all in version order (store_migrate()). Private to pkg/store.
 *
 * Append only: a released migration never changes; a new one takes the next version (one more than
 * store_schema_version()), goes in the file of the table it changes, and a new file's list is named in
 * store.c. One migration that changes several tables lives with the one it is about.
 */
#pragma once

struct store_migration {
        int version;
        const char *name;
        const char *sql;
};

/* Each list ends with {0}. */
extern const struct store_migration store_task_output_migrations[]; /* taskoutput.c: 1, 5, 7 */
extern const struct store_migration store_artifact_migrations[];    /* artifact.c: 2, 4 */
extern const struct store_migration store_history_migrations[];     /* history.c: 3 */
extern const struct store_migration store_project_migrations[];     /* project.c: 6 */
extern const struct store_migration store_session_migrations[];     /* session.c: 8 */
extern const struct store_migration store_recording_migrations[];   /* recording.c: 9 */
/* previewaccess.c: 10 */
extern const struct store_migration store_preview_access_migrations[];
