/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recordings of terminal sessions (docs/sessions.md, "Recordings"), private to pkg/apiserver: while a
 * session runs (session.c), what goes through it is written as asciicast v2 (asciicast.h) to Postgres in
 * chunks (store/recording.h), so memory stays at one chunk however long the session; when it ends, the
 * recording becomes an Artifact of kind recording, session://<session name>, whose content
 * (artifacts/NAME/content) is streamed back from the chunks.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/internal.h"

#define RECORDING_MAX_BYTES (64LL << 20) /* of one recording: past it, it stops with a marker */

enum api_record { API_RECORD_NONE, API_RECORD_OUTPUT, API_RECORD_INPUT /* output and input */ };

/* What a template asks for, from its spec.sessions.record (template: borrowed, NULL for none). */
enum api_record api_recording_mode(json_object *template);

/* The session being recorded; strings are copied. */
struct api_recording_session {
        const char *uid; /* of its Session record */
        const char *namespace, *sandbox, *pod, *user, *kind;
        const char *shell; /* the command's first word */
};

struct api_recording;
/* Starts recording a session: NULL when mode is API_RECORD_NONE, there is no database or no record, or
 * memory ran out (logged). */
struct api_recording *api_recording_start(
        struct apiserver *s, enum api_record mode, const struct api_recording_session *session);
/* A whole channel message of the exec protocol from the client (stdin 0, resize 4), or to the client
 * (stdout 1, stderr 2); others are not recorded. r may be NULL. */
void api_recording_client(struct api_recording *r, const uint8_t *msg, size_t len);
void api_recording_upstream(struct api_recording *r, const uint8_t *msg, size_t len);
/* Writes the rest, registers the artifact, names it in the session's record and frees r (NULL: nothing).
 * Failures are logged. */
void api_recording_end(struct api_recording *r);

/* The content of the recording artifact ns/name: the asciicast, streamed from the database. */
void api_recording_content(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name);
