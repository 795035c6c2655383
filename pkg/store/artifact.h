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
#include "store/source.h"
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
        const char *source; /* NULL: Registered with registered_by, else Task (recording.h: Recorded) */
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

/* Reads: the live artifacts, listed in the order they were created, a record's resourceVersion its newest
 * change; a watch sees ADDED, MODIFIED (labels, annotations) and DELETED. The columns of its select and
 * events: */
extern const struct store_source store_artifact_source;
enum {
        STORE_ARTIFACT_RV,
        STORE_ARTIFACT_TYPE,
        STORE_ARTIFACT_VERSION,
        STORE_ARTIFACT_NS,
        STORE_ARTIFACT_NAME,
        STORE_ARTIFACT_UID,
        STORE_ARTIFACT_KIND,
        STORE_ARTIFACT_TITLE,
        STORE_ARTIFACT_URI,
        STORE_ARTIFACT_PATH,
        STORE_ARTIFACT_CONTENT_TYPE,
        STORE_ARTIFACT_SIZE,
        STORE_ARTIFACT_DIGEST,
        STORE_ARTIFACT_TASK,
        STORE_ARTIFACT_TASK_UID,
        STORE_ARTIFACT_SANDBOX,
        STORE_ARTIFACT_POD,
        STORE_ARTIFACT_LABELS,
        STORE_ARTIFACT_ANNOTATIONS,
        STORE_ARTIFACT_SOURCE,
        STORE_ARTIFACT_REGISTERED_BY,
        STORE_ARTIFACT_CREATED,
};
/* The live artifact ns/name (of the project that owns ns now) in store_artifact_source's columns: *ret
 * holds 0 or 1 rows (PQclear() it); < 0 on failure ("reading the artifact: ..."). */
int artifact_get_live(PGconn *conn, const char *ns, const char *name, PGresult **ret, struct merr *err);

/* Where the bytes of the live artifact ns/name are, for a download. */
struct artifact_location {
        char path[4096], sandbox[256], digest[160];
        char uri[64];           /* the first 40 characters of its URI */
        char content_type[256]; /* "" when it has none */
        long long size;         /* -1: not known */
};
/* 1 with ret set, 0 when there is no such artifact, < 0 on failure ("reading artifacts: ..."). */
int artifact_locate(
        PGconn *conn, const char *ns, const char *name, struct artifact_location *ret, struct merr *err);
