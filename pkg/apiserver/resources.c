/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resources of runtime.mbox.dev/v1alpha1, one entry each (resource.h): what they are called, their
 * verbs and subresources, where their records come from (pkg/store), and how a row is shown, as an object
 * and as a row of kubectl get. Everything else (routing, get, list, watch, Tables, discovery, OpenAPI) is
 * made from these entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "store/artifact.h"
#include "store/history.h"
#include "store/previewaccess.h"
#include "store/session.h"
#include "store/taskoutput.h"

#define S(c) \
        { API_STRING, (c), 0, NULL }
#define S_SET(c) \
        { API_STRING_SET, (c), 0, NULL }
#define INT(c) \
        { API_INT, (c), 0, NULL }

/* ---- TaskOutput: the full output of an ExecutionTask, as the operator stored it (pkg/store/taskoutput.h).
 * Named like its task; when a task name was used more than once, the latest run. ---- */

static const struct api_field_out taskoutput_fields[] = {
        {"metadata.name", S(STORE_TASK_OUTPUT_NAME)},
        {"metadata.namespace", S(STORE_TASK_OUTPUT_NS)},
        {"metadata.uid", S(STORE_TASK_OUTPUT_UID)},
        {"metadata.resourceVersion", S(STORE_TASK_OUTPUT_VERSION)},
        {"metadata.creationTimestamp", S(STORE_TASK_OUTPUT_STARTED)},
        {"status.taskUID", S(STORE_TASK_OUTPUT_UID)},
        {"status.stdoutBytes", INT(STORE_TASK_OUTPUT_STDOUT)},
        {"status.stderrBytes", INT(STORE_TASK_OUTPUT_STDERR)},
        {"status.complete", {API_BOOL, STORE_TASK_OUTPUT_COMPLETE, 0, NULL}},
        {"status.error", S_SET(STORE_TASK_OUTPUT_ERROR)},
        {"status.startedAt", S(STORE_TASK_OUTPUT_STARTED)},
        {"status.finishedAt", S_SET(STORE_TASK_OUTPUT_FINISHED)},
        {"status.limitBytes", {API_INT_SET, STORE_TASK_OUTPUT_LIMIT, 0, NULL}},
        {"status.truncated", {API_POSITIVE, STORE_TASK_OUTPUT_DROPPED, 0, NULL}},
        {"status.droppedBytes", {API_INT_POSITIVE, STORE_TASK_OUTPUT_DROPPED, 0, NULL}},
        {NULL},
};

static const struct api_table_column taskoutput_columns[] = {
        {"Name", "string", "name", "Name of the ExecutionTask.", S(STORE_TASK_OUTPUT_NAME)},
        {"Stdout", "integer", "", "Bytes written to standard output.", INT(STORE_TASK_OUTPUT_STDOUT)},
        {"Stderr", "integer", "", "Bytes written to standard error.", INT(STORE_TASK_OUTPUT_STDERR)},
        {"Complete", "boolean", "", "Whether every byte was stored.",
                {API_BOOL, STORE_TASK_OUTPUT_COMPLETE, 0, NULL}},
        {"Age", "string", "", "Time since the command started.",
                {API_AGE, STORE_TASK_OUTPUT_STARTED, 0, NULL}},
        {NULL},
};

static const struct api_subresource taskoutput_subresources[] = {
        /* one stream's bytes: ?stream=stdout|stderr, ?limitBytes=N, ?follow=true until the output ends */
        {"log", "taskoutputs/log", API_GET, api_taskoutput_log_follows, api_taskoutput_log},
        {NULL},
};

/* ---- Artifact: a reference to a file, with what it is and where it came from (pkg/store/artifact.h) ---- */

static const struct api_field_out artifact_fields[] = {
        {"metadata.name", S(STORE_ARTIFACT_NAME)},
        {"metadata.namespace", S(STORE_ARTIFACT_NS)},
        {"metadata.uid", S(STORE_ARTIFACT_UID)},
        {"metadata.resourceVersion", S(STORE_ARTIFACT_VERSION)},
        {"metadata.creationTimestamp", S(STORE_ARTIFACT_CREATED)},
        {"metadata.labels", {API_MAP, STORE_ARTIFACT_LABELS, 0, NULL}},
        {"metadata.annotations", {API_MAP, STORE_ARTIFACT_ANNOTATIONS, 0, NULL}},
        {"spec.kind", S(STORE_ARTIFACT_KIND)},
        {"spec.name", S_SET(STORE_ARTIFACT_TITLE)},
        {"spec.uri", S(STORE_ARTIFACT_URI)},
        {"spec.path", S_SET(STORE_ARTIFACT_PATH)},
        {"spec.contentType", S_SET(STORE_ARTIFACT_CONTENT_TYPE)},
        {"spec.sizeBytes", {API_INT_SET, STORE_ARTIFACT_SIZE, 0, NULL}},
        {"spec.digest", S_SET(STORE_ARTIFACT_DIGEST)},
        {"spec.task.name", S_SET(STORE_ARTIFACT_TASK)},
        {"spec.task.uid", S_SET(STORE_ARTIFACT_TASK_UID), .in_parent = true},
        {"spec.sandbox", S_SET(STORE_ARTIFACT_SANDBOX)},
        {"spec.pod", S_SET(STORE_ARTIFACT_POD)},
        {"status.source", S(STORE_ARTIFACT_SOURCE)},
        {"status.registeredBy", S_SET(STORE_ARTIFACT_REGISTERED_BY)},
        {NULL},
};

static const struct api_table_column artifact_columns[] = {
        {"Name", "string", "name", "Name of the artifact.", S(STORE_ARTIFACT_NAME)},
        {"Kind", "string", "", "What it is (file, report, ...).", S(STORE_ARTIFACT_KIND)},
        {"Task", "string", "", "ExecutionTask that produced it.", S(STORE_ARTIFACT_TASK)},
        {"Sandbox", "string", "", "Sandbox it was produced in.", S(STORE_ARTIFACT_SANDBOX)},
        {"Type", "string", "", "Media type.", S(STORE_ARTIFACT_CONTENT_TYPE)},
        {"Size", "integer", "", "Size in bytes.", {API_INT_SET, STORE_ARTIFACT_SIZE, 0, NULL}},
        {"Age", "string", "", "Time since it was recorded.", {API_AGE, STORE_ARTIFACT_CREATED, 0, NULL}},
        {NULL},
};

static const struct api_subresource artifact_subresources[] = {
        /* the bytes of a workspace artifact, from its running sandbox */
        {"content", "artifacts/content", API_GET, NULL, api_artifact_content},
        {NULL},
};

/* ---- ObjectHistory: one state of an mbox object as the mirror stored it (pkg/store/history.h), kept
 * after the object is gone; named <object>.<id>, ordered by id (the order the states were seen). A
 * Project's states are in its namespace. ---- */

#define HISTORY_NAME \
        { API_DOTTED, STORE_HISTORY_NAME, STORE_HISTORY_ID, NULL }

static const struct api_field_out history_fields[] = {
        {"metadata.name", HISTORY_NAME},
        {"metadata.namespace", S(STORE_HISTORY_NS)},
        {"metadata.resourceVersion", S(STORE_HISTORY_ID)},
        {"metadata.creationTimestamp", S(STORE_HISTORY_CHANGED)},
        {"object.apiVersion", S(STORE_HISTORY_API_VERSION)},
        {"object.kind", S(STORE_HISTORY_KIND)},
        {"object.name", S(STORE_HISTORY_NAME)},
        {"object.uid", S(STORE_HISTORY_UID)},
        {"object.resourceVersion", S(STORE_HISTORY_RV)},
        {"type", S(STORE_HISTORY_EVENT)},
        {"phase", S(STORE_HISTORY_PHASE)},
        {"changedAt", S(STORE_HISTORY_CHANGED)},
        {"recordedAt", S(STORE_HISTORY_RECORDED)},
        {"state", {API_JSON, STORE_HISTORY_OBJECT, 0, NULL}},
        {NULL},
};

/* Kind.group for what is not mbox.dev's, as kubectl names resources. */
static json_object *history_kind(PGresult *res, int row) {
        const char *av = PQgetvalue(res, row, STORE_HISTORY_API_VERSION);
        char kind[300];
        if (strncmp(av, "mbox.dev/", 9) == 0)
                snprintf(kind, sizeof(kind), "%s", PQgetvalue(res, row, STORE_HISTORY_KIND));
        else
                snprintf(kind, sizeof(kind), "%s.%.*s", PQgetvalue(res, row, STORE_HISTORY_KIND),
                        (int) strcspn(av, "/"), av);
        return json_object_new_string(kind);
}

static const struct api_table_column history_columns[] = {
        {"Name", "string", "name", "<object>.<sequence number>.", HISTORY_NAME},
        {"Kind", "string", "", "Kind of the object.", {API_FUNC, 0, 0, history_kind}},
        {"Object", "string", "", "Name of the object.", S(STORE_HISTORY_NAME)},
        {"Type", "string", "", "ADDED, MODIFIED or DELETED.", S(STORE_HISTORY_EVENT)},
        {"Phase", "string", "", "status.phase in this state.", S(STORE_HISTORY_PHASE)},
        {"Changed", "string", "date-time", "When the state came to be.", S(STORE_HISTORY_CHANGED)},
        {NULL},
};

/* <object>.<id>: the state id of the object, which no other has. */
static int history_name(const struct api_resource *res, const char *name, struct api_query *q) {
        const char *dot = strrchr(name, '.');
        long long id;
        char a[24], lhs[64];
        if (!dot || !api_parse_num(dot + 1, 1, 999999999999999999LL, &id))
                return -ENOENT;
        snprintf(a, sizeof(a), "%lld", id);
        _cleanup_free_ char *object = strndup(name, (size_t) (dot - name));
        if (!object)
                return -ENOMEM;
        snprintf(lhs, sizeof(lhs), "%s =", res->store->rv);
        if (api_query_cond(q, lhs, a) < 0)
                return -E2BIG;
        snprintf(lhs, sizeof(lhs), "%s =", res->store->name_col);
        return api_query_cond(q, lhs, object) < 0 ? -E2BIG : 0;
}

/* ---- Session: an exec or terminal session opened on a Sandbox, as mbox-apiserver recorded it
 * (pkg/store/session.h): who, where, what command, and how it ended. Named <sandbox>-<5 characters>. ---- */

static const struct api_field_out session_fields[] = {
        {"metadata.name", S(STORE_SESSION_NAME)},
        {"metadata.namespace", S(STORE_SESSION_NS)},
        {"metadata.uid", S(STORE_SESSION_UID)},
        {"metadata.resourceVersion", S(STORE_SESSION_VERSION)},
        {"metadata.creationTimestamp", S(STORE_SESSION_STARTED)},
        {"spec.sandbox", S(STORE_SESSION_SANDBOX)},
        {"spec.pod", S_SET(STORE_SESSION_POD)},
        {"spec.kind", S(STORE_SESSION_KIND)},
        {"spec.command", {API_JSON, STORE_SESSION_COMMAND, 0, NULL}},
        {"spec.tty", {API_BOOL, STORE_SESSION_TTY, 0, NULL}},
        {"spec.user.name", S(STORE_SESSION_USER)},
        {"spec.user.uid", S_SET(STORE_SESSION_USER_UID)},
        {"spec.user.groups", {API_JSON, STORE_SESSION_GROUPS, 0, NULL}},
        {"status.phase", S(STORE_SESSION_PHASE)},
        {"status.startedAt", S(STORE_SESSION_STARTED)},
        {"status.endedAt", S_SET(STORE_SESSION_ENDED)},
        {"status.bytesIn", INT(STORE_SESSION_BYTES_IN)},
        {"status.bytesOut", INT(STORE_SESSION_BYTES_OUT)},
        {"status.exitCode", {API_INT_SET, STORE_SESSION_EXIT_CODE, 0, NULL}},
        {"status.reason", S_SET(STORE_SESSION_REASON)},
        {"status.recording", S_SET(STORE_SESSION_RECORDING)},
        {NULL},
};

static const struct api_table_column session_columns[] = {
        {"Name", "string", "name", "Name of the session.", S(STORE_SESSION_NAME)},
        {"Sandbox", "string", "", "Sandbox it was opened on.", S(STORE_SESSION_SANDBOX)},
        {"Kind", "string", "", "exec or terminal.", S(STORE_SESSION_KIND)},
        {"User", "string", "", "Who opened it.", S(STORE_SESSION_USER)},
        {"Command", "string", "", "The command, its words joined.", S(STORE_SESSION_COMMAND_LINE)},
        {"Phase", "string", "", "Active or Ended.", S(STORE_SESSION_PHASE)},
        {"Exit code", "integer", "", "Exit code of the command, when known.",
                {API_INT_SET, STORE_SESSION_EXIT_CODE, 0, NULL}},
        {"Age", "string", "", "Time since it opened.", {API_AGE, STORE_SESSION_STARTED, 0, NULL}},
        {NULL},
};

/* ---- PreviewAccess: the requests to one port of a sandbox's previews in one minute, by one user or grant,
 * one way in, added up (pkg/store/previewaccess.h). Named <sandbox>.<port>.<YYYYMMDDhhmm>.<8 hex
 * digits>. ---- */

static const struct api_field_out preview_access_fields[] = {
        {"metadata.name", S(STORE_PREVIEW_ACCESS_NAME)},
        {"metadata.namespace", S(STORE_PREVIEW_ACCESS_NS)},
        {"metadata.uid", S(STORE_PREVIEW_ACCESS_UID)},
        {"metadata.resourceVersion", S(STORE_PREVIEW_ACCESS_VERSION)},
        {"metadata.creationTimestamp", S(STORE_PREVIEW_ACCESS_FIRST_S)},
        {"spec.sandbox", S(STORE_PREVIEW_ACCESS_SANDBOX)},
        {"spec.sandboxUID", S_SET(STORE_PREVIEW_ACCESS_SANDBOX_UID)},
        {"spec.port", S(STORE_PREVIEW_ACCESS_PORT)},
        {"spec.user", S_SET(STORE_PREVIEW_ACCESS_USER)},
        {"spec.grant", S_SET(STORE_PREVIEW_ACCESS_GRANT)},
        {"spec.via", S(STORE_PREVIEW_ACCESS_VIA)},
        {"spec.window.start", S(STORE_PREVIEW_ACCESS_WINDOW)},
        {"spec.window.end", S(STORE_PREVIEW_ACCESS_WINDOW_END)},
        {"status.requests", INT(STORE_PREVIEW_ACCESS_REQUESTS)},
        {"status.responses.1xx", INT(STORE_PREVIEW_ACCESS_1XX)},
        {"status.responses.2xx", INT(STORE_PREVIEW_ACCESS_2XX)},
        {"status.responses.3xx", INT(STORE_PREVIEW_ACCESS_3XX)},
        {"status.responses.4xx", INT(STORE_PREVIEW_ACCESS_4XX)},
        {"status.responses.5xx", INT(STORE_PREVIEW_ACCESS_5XX)},
        {"status.bytesIn", INT(STORE_PREVIEW_ACCESS_BYTES_IN)},
        {"status.bytesOut", INT(STORE_PREVIEW_ACCESS_BYTES_OUT)},
        {"status.firstRequestAt", S(STORE_PREVIEW_ACCESS_FIRST)},
        {"status.lastRequestAt", S(STORE_PREVIEW_ACCESS_LAST)},
        {"status.maxDurationMicroseconds", INT(STORE_PREVIEW_ACCESS_MAX_DURATION_US)},
        {NULL},
};

static const struct api_table_column preview_access_columns[] = {
        {"Name", "string", "name", "Name of the record.", S(STORE_PREVIEW_ACCESS_NAME)},
        {"Sandbox", "string", "", "Sandbox whose port was opened.", S(STORE_PREVIEW_ACCESS_SANDBOX)},
        {"Port", "string", "", "Its port.", S(STORE_PREVIEW_ACCESS_PORT)},
        {"User", "string", "", "Who: the user, else grant:<id>, else anonymous (a Public port).",
                S(STORE_PREVIEW_ACCESS_WHO)},
        {"Via", "string", "", "Gateway (a browser) or Proxy (sandboxes/NAME/proxy).",
                S(STORE_PREVIEW_ACCESS_VIA)},
        {"Requests", "integer", "", "Requests answered in the minute.", INT(STORE_PREVIEW_ACCESS_REQUESTS)},
        {"2xx", "integer", "", "Of them answered 2xx.", INT(STORE_PREVIEW_ACCESS_2XX)},
        {"4xx", "integer", "", "Of them answered 4xx.", INT(STORE_PREVIEW_ACCESS_4XX)},
        {"5xx", "integer", "", "Of them answered 5xx.", INT(STORE_PREVIEW_ACCESS_5XX)},
        {"Bytes-out", "integer", "", "Bytes sent to the clients.", INT(STORE_PREVIEW_ACCESS_BYTES_OUT)},
        {"Window", "string", "date-time", "The minute, from its start.", S(STORE_PREVIEW_ACCESS_WINDOW)},
        {"Age", "string", "", "Time since the first request of the minute.",
                {API_AGE, STORE_PREVIEW_ACCESS_FIRST_S, 0, NULL}},
        {NULL},
};

/* ---- Sandbox: a way into a running mbox.dev Sandbox, as pods/exec and pods/log are into a pod. No
 * records: only its connect subresources (docs/sessions.md). ---- */

static const struct api_subresource sandbox_subresources[] = {
        /* a command in the main container, the pods/exec WebSocket protocol (query as pods/exec's) */
        {"exec", "sandboxes/exec", API_GET | API_CREATE, api_session_long_running, api_sandbox_exec,
                .upgrade = true},
        /* the template's Terminal entrypoint (else a login shell) on a TTY, the same protocol */
        {"terminal", "sandboxes/terminal", API_GET | API_CREATE, api_session_long_running,
                api_sandbox_terminal, .upgrade = true},
        /* list, download (GET), upload (PUT) and remove (DELETE) files in its main container */
        {"files", "sandboxes/files", API_GET | API_UPDATE | API_DELETE, NULL, api_sandbox_files},
        /* a preview for API clients: proxy/PORT/PATH, every method (docs/previews.md) */
        {"proxy", "sandboxes/proxy", API_GET | API_CREATE | API_UPDATE | API_PATCH | API_DELETE,
                api_session_long_running, api_sandbox_proxy, .tail = true},
        /* the main container's log, with pods/log's query parameters (follow, tailLines, ...) */
        {"log", "sandboxes/log", API_GET, api_sandbox_log_follows, api_sandbox_log},
        {NULL},
};

/* ---- the table ---- */

const struct api_resource api_resources[] = {
        {
                .name = "taskoutputs",
                .singular = "taskoutput",
                .kind = "TaskOutput",
                .namespaced = true,
                .verbs = API_GET | API_LIST | API_WATCH,
                .store = &store_task_output_source,
                .token = "t1.",
                .fields = taskoutput_fields,
                .columns = taskoutput_columns,
                .row = {STORE_TASK_OUTPUT_NS, STORE_TASK_OUTPUT_UID, STORE_TASK_OUTPUT_STARTED, -1},
                .subresources = taskoutput_subresources,
                .schema = api_schema_taskoutput,
                .list_description = "Task outputs.",
        },
        {
                .name = "artifacts",
                .singular = "artifact",
                .kind = "Artifact",
                .namespaced = true,
                .verbs = API_GET | API_LIST | API_WATCH | API_CREATE | API_PATCH | API_DELETE,
                .store = &store_artifact_source,
                .token = "a1.",
                .fields = artifact_fields,
                .columns = artifact_columns,
                .row = {STORE_ARTIFACT_NS, STORE_ARTIFACT_UID, STORE_ARTIFACT_CREATED, STORE_ARTIFACT_LABELS},
                .create = api_artifact_create,
                .patch = api_artifact_patch,
                .remove = api_artifact_delete,
                .subresources = artifact_subresources,
                .schema = api_schema_artifact,
                .list_description = "Artifacts.",
        },
        {
                .name = "objecthistories",
                .singular = "objecthistory",
                .kind = "ObjectHistory",
                .namespaced = true,
                .verbs = API_GET | API_LIST | API_WATCH,
                .store = &store_history_source,
                .token = "h1.",
                .fields = history_fields,
                .columns = history_columns,
                .row = {STORE_HISTORY_NS, -1, STORE_HISTORY_CHANGED, -1},
                .name_query = history_name,
                .schema = api_schema_objecthistory,
                .list_description = "States of mbox objects.",
        },
        {
                .name = "sessions",
                .singular = "session",
                .kind = "Session",
                .namespaced = true,
                .verbs = API_GET | API_LIST | API_WATCH,
                .store = &store_session_source,
                .token = "s1.",
                .fields = session_fields,
                .columns = session_columns,
                .row = {STORE_SESSION_NS, STORE_SESSION_UID, STORE_SESSION_STARTED, -1},
                .schema = api_schema_session,
                .list_description = "Exec and terminal sessions.",
        },
        {
                /* create-only, like a TokenRequest: a signed link to one port of a sandbox, not stored
                 * (previewgrant.c) */
                .name = "previewgrants",
                .singular = "previewgrant",
                .kind = "PreviewGrant",
                .namespaced = true,
                .verbs = API_CREATE,
                .create = api_previewgrant_create,
                .schema = api_schema_previewgrant,
        },
        {
                .name = "previewaccesses",
                .singular = "previewaccess",
                .kind = "PreviewAccess",
                .namespaced = true,
                .verbs = API_GET | API_LIST | API_WATCH,
                .store = &store_preview_access_source,
                .token = "p1.",
                .fields = preview_access_fields,
                .columns = preview_access_columns,
                .row = {STORE_PREVIEW_ACCESS_NS, STORE_PREVIEW_ACCESS_UID, STORE_PREVIEW_ACCESS_FIRST_S, -1},
                .schema = api_schema_preview_access,
                .list_description = "The access log of previews: requests by port, user and minute.",
        },
        {
                .name = "sandboxes",
                .singular = "sandbox",
                .kind = "Sandbox",
                .namespaced = true,
                .subresources = sandbox_subresources,
        },
        {NULL},
};

const struct api_resource *api_resource_find(const char *name) {
        for (const struct api_resource *r = api_resources; r->name; r++)
                if (strcmp(r->name, name) == 0)
                        return r;
        return NULL;
}

const struct api_subresource *api_subresource_find(const struct api_resource *res, const char *name) {
        for (const struct api_subresource *sub = res->subresources; sub && sub->name; sub++)
                if (strcmp(sub->name, name) == 0)
                        return sub;
        return NULL;
}
