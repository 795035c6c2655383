/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions: one record per exec or terminal session opened on a Sandbox (sandboxes/NAME/exec,
 * sandboxes/NAME/terminal), in the sessions table: who opened it, in which pod, with what command, and how
 * it ended. A record is written when the session opens and once more when it ends; it outlives its sandbox
 * and goes with the retention of task records (retention.h). Its start and its end each take the next
 * number of one sequence, its resourceVersion, and commit in that order: a watch sees ADDED when a session
 * opens and MODIFIED when it ends. mbox-apiserver, which runs the sessions, is the only writer.
 */
#pragma once

#include <stdbool.h>

#include "merr.h"
#include "store/source.h"
#include "store/store.h"

#define STORE_SESSION_NAME_MAX 63 /* a generated name: <sandbox, cut to 57>-<5 characters> */

/* An opened session. Strings are borrowed; the caller bounds them (they come from a request). */
struct store_session {
        const char *namespace, *sandbox, *pod;
        const char *kind;            /* "exec" or "terminal" */
        const char *user, *user_uid; /* who opened it; user_uid NULL or "" when the authenticator gave none */
        const char *groups;          /* the user's groups, a JSON array of strings; NULL for [] */
        const char *command;         /* the argv, a JSON array of strings; NULL for [] */
        bool tty;
};

/* Records s as open and sets its generated name (unique in its namespace) and its uid. -EBADMSG when the
 * database refuses a value (a kind other than exec or terminal, groups or command not JSON arrays). */
int store_session_begin(PGconn *conn, const struct store_session *s, char ret_name[static 64],
        char ret_uid[static 37], struct merr *err);

/* Records the end of the open session uid: the bytes that went in (to the command) and came out, the
 * command's exit code (-1: not known) and why it ended (ClientClosed, IdleTimeout, SandboxStopped, Limit,
 * Error, Exited, ...). -ENOENT when no open session has that uid (it ended already). */
int store_session_end(PGconn *conn, const char *uid, long long bytes_in, long long bytes_out, int exit_code,
        const char *reason, struct merr *err);

/* <sandbox>-<5 characters from rnd>, as kube-apiserver makes a generated name: the sandbox's name is cut so
 * that the whole fits a DNS label (STORE_SESSION_NAME_MAX). */
void store_session_name(const char *sandbox, const unsigned char rnd[static 5], char ret[static 64]);

/* Reads: every session, listed in the order they opened, a record's resourceVersion its newest change. The
 * columns of its select and events: */
extern const struct store_source store_session_source;
enum {
        STORE_SESSION_RV,
        STORE_SESSION_TYPE,
        STORE_SESSION_VERSION,
        STORE_SESSION_NS,
        STORE_SESSION_NAME,
        STORE_SESSION_UID,
        STORE_SESSION_SANDBOX,
        STORE_SESSION_POD,
        STORE_SESSION_KIND,
        STORE_SESSION_USER,
        STORE_SESSION_USER_UID,
        STORE_SESSION_GROUPS,       /* a JSON array */
        STORE_SESSION_COMMAND,      /* a JSON array */
        STORE_SESSION_COMMAND_LINE, /* its words joined by spaces, cut to 256 characters */
        STORE_SESSION_TTY,
        STORE_SESSION_PHASE, /* Active, Ended */
        STORE_SESSION_STARTED,
        STORE_SESSION_ENDED, /* "" while open */
        STORE_SESSION_BYTES_IN,
        STORE_SESSION_BYTES_OUT,
        STORE_SESSION_EXIT_CODE, /* "" when not known */
        STORE_SESSION_REASON,    /* "" while open */
        STORE_SESSION_RECORDING, /* the artifact its recording became (recording.h), "" for none */
};
