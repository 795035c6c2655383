/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The history of mbox objects (object_history, migration 3): one row per state of an object as a watch
 * delivered it, unique on (uid, resourceVersion), numbered by id in the order the states were stored; and
 * where each watched resource's mirror resumes (mirror_state). mbox-apiserver's mirror is the only writer
 * (several replicas may be: a state is one row whoever stores it first); reads are store_history_source.
 */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "merr.h"
#include "store/source.h"
#include "store/store.h"

/* Reads: ObjectHistory records, named <object>.<id>, versioned by id; the columns of its select. */
extern const struct store_source store_history_source;
enum {
        STORE_HISTORY_ID,
        STORE_HISTORY_API_VERSION,
        STORE_HISTORY_KIND,
        STORE_HISTORY_NS,
        STORE_HISTORY_NAME,
        STORE_HISTORY_UID,
        STORE_HISTORY_RV,
        STORE_HISTORY_EVENT,
        STORE_HISTORY_PHASE,
        STORE_HISTORY_CHANGED,
        STORE_HISTORY_RECORDED,
        STORE_HISTORY_OBJECT,
};

/* One state to store. event: ADDED, MODIFIED, DELETED, or SYNC for a listed state (worked out when stored:
 * ADDED when its object is new to the history, else MODIFIED); changed_at RFC 3339; object: the JSON text
 * of the object as json-c writes it (a "\u0000" in it becomes U+FFFD: jsonb has no NUL character, and the
 * whole batch would be refused, again and again). */
struct store_history_state {
        const char *api_version, *kind, *namespace, *name, *uid, *resource_version, *event, *phase,
                *changed_at, *object;
};
/* Appends st to b as a line of COPY's text format, the form store_history_append() takes. The first six
 * fields of a line are its apiVersion, kind, namespace, name, uid and resourceVersion, tab-separated. */
int store_history_line(struct buf *b, const struct store_history_state *st);

/* Stores states, len bytes of lines (store_history_line()), inside the caller's transaction, each state at
 * most once. maybe_stored: some may be stored already (go the careful way at once: a scratch table);
 * otherwise COPY is tried first. What the mirror does with a batch, and what bench/apiserver measures. */
int store_history_append(PGconn *conn, const char *lines, size_t len, bool maybe_stored, struct merr *err);

/* After a relist of (api_version, kind) at resourceVersion list_rv, inside the caller's transaction: what
 * the history has alive of that kind and uids_json (a JSON array of the uids listed) has not gets a
 * DELETED state, unless its newest stored state is newer than the list (stored after it). */
int store_history_gone(PGconn *conn, const char *api_version, const char *kind, const char *list_rv,
        const char *uids_json, struct merr *err);

/* Deletes up to STORE_HISTORY_PRUNE_BATCH of the oldest states recorded longer than keep_ms ago; sets
 * how many went. Call it again while that is the batch. */
#define STORE_HISTORY_PRUNE_BATCH 5000
int store_history_prune(PGconn *conn, long long keep_ms, long long *ret_pruned, struct merr *err);

/* Where the mirror of resource ("group/resource") resumes: 1 with *ret set (caller frees), 0 when it has
 * none, < 0 on failure. */
int store_mirror_resume_point(struct store *s, const char *resource, char **ret, struct merr *err);
/* Moves it to rv, inside the caller's transaction (the one that stored the states up to rv). */
int store_mirror_save(PGconn *conn, const char *resource, const char *rv, struct merr *err);
