/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recordings of terminal sessions (docs/sessions.md, "Recordings"): the asciicast of a session, written as
 * it is made in chunks (rows of session_recording_chunks, numbered from 0) that belong to the session's
 * record (session.h) and go with it when retention prunes it. When the session ends, the recording becomes
 * an Artifact (artifact.h) of source Recorded whose URI is session://<session name>, and the session's
 * record names it. mbox-apiserver, which runs the sessions, is the only writer.
 */
#pragma once

#include <stddef.h>

#include "merr.h"
#include "store/artifact.h"
#include "store/store.h"

#define RECORDING_URI "session://"

/* Stores chunk seq of the recording of the session session_uid. */
int store_recording_write(
        PGconn *conn, const char *session_uid, int seq, const void *data, size_t len, struct merr *err);

/* The name of the session session_uid (0 with it in ret_name, -ENOENT when there is no such session). */
int store_recording_session(
        PGconn *conn, const char *session_uid, char ret_name[static 64], struct merr *err);

/* Registers the finished recording of the session session_uid as the artifact a (its source Recorded) and
 * names it in the session's record. -EEXIST when a live artifact has a's name. */
int store_recording_finish(PGconn *conn, const char *session_uid, const struct artifact *a, struct merr *err);

/* The session whose recording the live artifact ns/name is: 1 with its uid in ret_uid, 0 when the artifact
 * is no recording or its session is gone (pruned), < 0 on failure ("reading the recording: ..."). */
int store_recording_of(
        PGconn *conn, const char *ns, const char *name, char ret_uid[static 37], struct merr *err);

/* Chunk seq of the recording of session uid: 1 with *ret the result (one row, its bytes in column 0,
 * binary; PQclear() it), 0 when there is no such chunk (past the end), < 0 on failure. */
int store_recording_chunk(PGconn *conn, const char *uid, int seq, PGresult **ret, struct merr *err);
