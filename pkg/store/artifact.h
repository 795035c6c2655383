/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifacts: references to files a task produced (recorded by the operator from the task's declared
 * outputs) or that someone registered through mbox-apiserver, in the artifacts table. Names are unique
 * among the live artifacts of a namespace; a deleted one stays as a tombstone (deleted_rv) so that a watch
 * sees the deletion; only labels and annotations change after creation. Every change takes the next number of one sequence, its resourceVersion, and changes
 * commit in that order, so a reader that has seen version N has seen every change up to N.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "merr.h"
#include "store/store.h"

struct artifact {
        const char *namespace, *name;
        const char *kind;  /* "file", "report", ... */
        const char *title; /* spec.name: the declared name in the task, or a name for people */
        const char *uri, *path, *content_type, *digest;
        bool has_size;
        int64_t size_bytes;
        const char *task_name, *task_uid; /* task_uid NULL or "" when none */
        const char *sandbox, *pod;
        const char *labels, *annotations; /* JSON objects, NULL for {} */
        const char *registered_by;        /* NULL: recorded from a task by the operator */
};

/* Records an artifact a task produced (the operator, once the command exited). Recording the same task
 * uid and title again changes nothing, also after the artifact was deleted; a live artifact of the same
 * name (an earlier run of a task of that name) is replaced. */
int artifact_record_task(struct store *s, const struct artifact *a, struct merr *err);

/* Registers an artifact (mbox-apiserver, for a caller). Returns 0 with its uid (37 bytes), -EEXIST when a
 * live artifact has that name. */
int artifact_create(PGconn *conn, const struct artifact *a, char uid[static 37], struct merr *err);

/* Sets the labels and annotations (JSON objects) of the live artifact ns/name if its version is still
 * version (its resourceVersion). Returns 0, -ENOENT when there is no such artifact, -ESTALE when it
 * changed since. */
int artifact_update_meta(PGconn *conn, const char *ns, const char *name, const char *version,
        const char *labels, const char *annotations, struct merr *err);

/* Deletes the live artifact ns/name, leaving its tombstone. Returns 0, or -ENOENT. With uid (not NULL or
 * ""), only that artifact: -ESTALE when the live one has another uid. */
int artifact_delete(PGconn *conn, const char *ns, const char *name, const char *uid, struct merr *err);
