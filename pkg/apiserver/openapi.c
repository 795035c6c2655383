/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenAPI v3 of runtime.mbox.dev/v1alpha1, as kube-apiserver's aggregator fetches it (/openapi/v3, then the
 * group-version document it names) so that `kubectl explain objecthistories.state` and friends teach the
 * API. One self-contained document: the kinds, their lists, and the object metadata they carry.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/internal.h"

#define OPENAPI_HASH "mbox-v1alpha1-9" /* changes with the document: clients cache by it */
#define GV_PATH      "apis/" API_GROUP "/" API_VERSION
#define SCHEMA_PFX   "dev.mbox.runtime.v1alpha1."

static json_object *typed(const char *type, const char *format, const char *desc) {
        json_object *o = json_object_new_object();
        api_put(o, "type", type);
        if (format)
                api_put(o, "format", format);
        api_put(o, "description", desc);
        return o;
}

static json_object *str(const char *desc) {
        return typed("string", NULL, desc);
}

static json_object *when(const char *desc) {
        return typed("string", "date-time", desc);
}

/* An object schema with the given properties: name, schema, ..., NULL (the schemas are taken). */
static json_object *object(const char *desc, ...) {
        json_object *o = typed("object", NULL, desc), *props = json_object_new_object();
        va_list ap;
        va_start(ap, desc);
        for (const char *name; (name = va_arg(ap, const char *));)
                json_object_object_add(props, name, va_arg(ap, json_object *));
        va_end(ap);
        json_object_object_add(o, "properties", props);
        return o;
}

static json_object *ref(const char *schema, const char *desc) {
        json_object *o = json_object_new_object(), *all = json_object_new_array(),
                    *r = json_object_new_object();
        char target[128];
        snprintf(target, sizeof(target), "#/components/schemas/" SCHEMA_PFX "%s", schema);
        api_put(r, "$ref", target);
        json_object_array_add(all, r);
        json_object_object_add(o, "allOf", all);
        api_put(o, "description", desc);
        return o;
}

/* Adds kind's schema (apiVersion, kind and metadata added to o's properties) with its GroupVersionKind. */
static void add_kind(json_object *schemas, const char *kind, json_object *o, const char *meta_schema) {
        json_object *props = NULL, *gvks = json_object_new_array(), *gvk = json_object_new_object();
        char name[128];
        json_object_object_get_ex(o, "properties", &props);
        json_object_object_add(props, "apiVersion", str("runtime.mbox.dev/v1alpha1"));
        json_object_object_add(props, "kind", str("The kind of this object."));
        json_object_object_add(
                props, "metadata", ref(meta_schema, "Metadata; read-only, the server makes it."));
        api_put(gvk, "group", API_GROUP);
        api_put(gvk, "kind", kind);
        api_put(gvk, "version", API_VERSION);
        json_object_array_add(gvks, gvk);
        json_object_object_add(o, "x-kubernetes-group-version-kind", gvks);
        snprintf(name, sizeof(name), SCHEMA_PFX "%s", kind);
        json_object_object_add(schemas, name, o);
}

static void add_list(json_object *schemas, const char *kind, const char *what) {
        json_object *items = typed("array", NULL, what);
        char list[64];
        json_object_object_add(items, "items", ref(kind, kind));
        snprintf(list, sizeof(list), "%sList", kind);
        add_kind(schemas, list, object(what, "items", items, NULL), "ListMeta");
}

/* The JSON body of a request or response, as the schema of kind. */
static json_object *json_content(const char *kind) {
        json_object *content = json_object_new_object(), *json = json_object_new_object(),
                    *sch = json_object_new_object();
        char schema[128];
        snprintf(schema, sizeof(schema), "#/components/schemas/" SCHEMA_PFX "%s", kind);
        api_put(sch, "$ref", schema);
        json_object_object_add(json, "schema", sch);
        json_object_object_add(content, "application/json", json);
        return content;
}

/* An operation on the collection, answering code with a body of schema answer. */
static json_object *operation(const char *kind, const char *what, const char *code, const char *answer) {
        json_object *op = json_object_new_object(), *resp = json_object_new_object(),
                    *ok = json_object_new_object(), *gvk = json_object_new_object();
        api_put(ok, "description", "OK");
        json_object_object_add(ok, "content", json_content(answer));
        json_object_object_add(resp, code, ok);
        api_put(op, "description", what);
        json_object_object_add(op, "responses", resp);
        /* kubectl explain finds the kind of a resource here */
        api_put(gvk, "group", API_GROUP);
        api_put(gvk, "kind", kind);
        api_put(gvk, "version", API_VERSION);
        json_object_object_add(op, "x-kubernetes-group-version-kind", gvk);
        return op;
}

/* fieldValidation, which kubectl looks for on an operation to leave checking fields to the server. */
static json_object *field_validation(void) {
        json_object *params = json_object_new_array(), *fv = json_object_new_object();
        api_put(fv, "name", "fieldValidation");
        api_put(fv, "in", "query");
        api_put(fv, "description",
                "Strict (the default): unknown fields are an error; Warn: dropped with a warning; Ignore: "
                "dropped.");
        json_object_object_add(fv, "schema", typed("string", NULL, "Strict, Warn or Ignore."));
        json_object_array_add(params, fv);
        return params;
}

/* The collection's path: get (list) with API_LIST; post (create) there with API_CREATE, and patch (labels
 * and annotations) on the item's path with API_PATCH. */
static void add_path(json_object *paths, const char *resource, const char *kind, unsigned verbs) {
        char path[160], list[80], what[96];
        json_object *item = json_object_new_object();
        snprintf(path, sizeof(path), "/" GV_PATH "/namespaces/{namespace}/%s", resource);
        snprintf(list, sizeof(list), "%sList", kind);
        snprintf(what, sizeof(what), "list or watch %s", kind);
        if (verbs & API_LIST)
                json_object_object_add(item, "get", operation(kind, what, "200", list));
        if (verbs & API_CREATE) {
                json_object *post = operation(kind, "create", "201", kind), *body = json_object_new_object();
                json_object_object_add(body, "content", json_content(kind));
                json_object_object_add(body, "required", json_object_new_boolean(1));
                json_object_object_add(post, "requestBody", body);
                json_object_object_add(post, "parameters", field_validation());
                json_object_object_add(item, "post", post);
        }
        /* kubectl leaves checking fields to the server only when the kind's PATCH takes fieldValidation
         * (cli-runtime's query parameter verifier reads no other operation): a kind that is only created
         * lists one too, saying it is not served, or kubectl create would validate on the client */
        if (verbs & (API_PATCH | API_CREATE)) {
                bool served = verbs & API_PATCH;
                json_object *one = json_object_new_object(),
                            *patch = operation(kind,
                                    served ? "merge patch of metadata.labels and metadata.annotations"
                                           : "not served (405): listed for the fieldValidation parameter "
                                             "of create",
                                    "200", kind),
                            *pbody = json_object_new_object(), *pcontent = json_object_new_object(),
                            *pjson = json_object_new_object();
                json_object_object_add(pjson, "schema", typed("object", NULL, "A JSON merge patch."));
                json_object_object_add(pcontent, "application/merge-patch+json", pjson);
                json_object_object_add(pbody, "content", pcontent);
                json_object_object_add(patch, "requestBody", pbody);
                json_object_object_add(patch, "parameters", field_validation());
                json_object_object_add(one, "patch", patch);
                snprintf(path, sizeof(path), "/" GV_PATH "/namespaces/{namespace}/%s/{name}", resource);
                json_object_object_add(paths, path, one);
                snprintf(path, sizeof(path), "/" GV_PATH "/namespaces/{namespace}/%s", resource);
        }
        json_object_object_add(paths, path, item);
}

json_object *api_schema_objecthistory(void) {
        json_object *type = str(
                            "ADDED: the first state seen; MODIFIED: a change; DELETED: the object was gone "
                            "(its last state)."),
                    *enm = json_object_new_array(), *state;
        json_object_array_add(enm, json_object_new_string("ADDED"));
        json_object_array_add(enm, json_object_new_string("MODIFIED"));
        json_object_array_add(enm, json_object_new_string("DELETED"));
        json_object_object_add(type, "enum", enm);
        state = typed("object", NULL, "The whole object as it was, without metadata.managedFields.");
        json_object_object_add(state, "x-kubernetes-preserve-unknown-fields", json_object_new_boolean(1));
        return object("One state of an mbox object (Project, EnvironmentTemplate, Sandbox, ExecutionTask, "
                      "and the "
                      "SandboxClaims and agent-sandbox Sandboxes under them) as mbox-apiserver saw it in a "
                      "watch "
                      "and stored it, kept after the object is gone. Named <object>.<sequence number>. list "
                      "and "
                      "watch take field selectors on object.kind, object.name, object.uid, "
                      "object.apiVersion, "
                      "type and phase, label selectors on the object's labels, and since/until times.",
                "object",
                object("The object this state belongs to.", "apiVersion",
                        str("Its group and version, e.g. mbox.dev/v1alpha1."), "kind",
                        str("Its kind, e.g. Sandbox."), "name", str("Its name."), "uid",
                        str("Its uid: one object across recreations of the same name."), "resourceVersion",
                        str("Its resourceVersion in this state."), NULL),
                "type", type, "phase", str("The object's status.phase in this state, if it has one."),
                "changedAt",
                when("When the state came to be: the newest write of any field manager, to the "
                     "second "
                     "(a deletion: when it was seen)."),
                "recordedAt", when("When mbox-apiserver stored it."), "state", state, NULL);
}

json_object *api_schema_taskoutput(void) {
        return object("The full output of an ExecutionTask as mbox-operator stored it, named like the task "
                      "(the "
                      "latest run when a name was reused); watch sends ADDED when a run starts and MODIFIED "
                      "when its output "
                      "ends. Its log subresource returns one stream's bytes: "
                      "stream=stdout|stderr, limitBytes=N, follow=true while the task runs.",
                "status",
                object("What was stored.", "taskUID", str("uid of the ExecutionTask run."), "stdoutBytes",
                        typed("integer", "int64", "Bytes the command wrote to standard output."),
                        "stderrBytes",
                        typed("integer", "int64", "Bytes the command wrote to standard error."), "complete",
                        typed("boolean", NULL, "Whether every byte the command wrote is stored."), "error",
                        str("Why the output is not complete."), "limitBytes",
                        typed("integer", "int64", "Most bytes of output (both streams) stored for the task."),
                        "truncated",
                        typed("boolean", NULL,
                                "Whether the command wrote more than limitBytes, so that only the "
                                "beginning is stored."),
                        "droppedBytes",
                        typed("integer", "int64", "Bytes written past limitBytes, not stored."), "startedAt",
                        when("When the command started."), "finishedAt", when("When its output ended."),
                        NULL),
                NULL);
}

json_object *api_schema_artifact(void) {
        json_object *status = object("Set by the server.", "source",
                str("Task: recorded by mbox-operator from the task's declared outputs; Registered: created "
                    "through this API; Recorded: a terminal session's recording, registered by "
                    "mbox-apiserver "
                    "when the session ended."),
                "registeredBy", str("Who created it (Registered), or opened the session (Recorded)."), NULL);
        return object("A reference to a file, with what it is and where it came from. mbox-operator records "
                      "the files an ExecutionTask declared and produced (named <task>-<artifact>); anyone "
                      "with create on artifacts registers others. A named task vouches for the provenance: "
                      "the server fills in its uid, sandbox and pod and refuses values that contradict it.",
                "spec",
                object("The file and where it came from.", "kind",
                        str("What it is, a DNS label: file (the default), report, log, ..."), "name",
                        str("A name for people; for a task's artifact, its name in the task."), "uri",
                        str("Where it is: workspace:///<absolute path in the sandbox workspace>, or "
                            "another scheme://... URI. Required."),
                        "path", str("For a workspace URI, its path (filled in)."), "contentType",
                        str("Media type, e.g. application/json."), "sizeBytes",
                        typed("integer", "int64", "Size in bytes."), "digest",
                        str("sha256:<64 hex digits> (or sha512:) of its content."), "task",
                        object("The ExecutionTask that produced it.", "name",
                                str("Its name, in the artifact's namespace."), "uid",
                                str("Its uid (filled in from the task)."), NULL),
                        "sandbox", str("The Sandbox it was produced in (filled in from the task)."), "pod",
                        str("The pod the command ran in (filled in from the task)."), NULL),
                "status", status, NULL);
}

/* An array of strings. */
static json_object *strings(const char *desc) {
        json_object *o = typed("array", NULL, desc);
        json_object_object_add(o, "items", str("A string."));
        return o;
}

json_object *api_schema_session(void) {
        return object("An exec or terminal session opened on a Sandbox (sandboxes/NAME/exec, "
                      "sandboxes/NAME/terminal), recorded by mbox-apiserver when it opens and again when it "
                      "ends; watch sends ADDED when a session opens and MODIFIED when it ends. Named "
                      "<sandbox>-<5 characters>; kept after the sandbox is gone, for the retention of task "
                      "records. List and watch take field selectors on spec.sandbox, spec.kind, "
                      "spec.user.name, status.phase and status.reason.",
                "spec",
                object("What was opened, and by whom.", "sandbox", str("The Sandbox it was opened on."),
                        "pod", str("The pod the command ran in."), "kind", str("exec or terminal."),
                        "command", strings("The command and its arguments."), "tty",
                        typed("boolean", NULL, "Whether the session has a terminal."), "user",
                        object("Who opened it, as the API server authenticated them.", "name",
                                str("User name."), "uid", str("User uid, if the authenticator gave one."),
                                "groups", strings("The user's groups."), NULL),
                        NULL),
                "status",
                object("How it went.", "phase", str("Active while the session is open, then Ended."),
                        "startedAt", when("When it opened."), "endedAt", when("When it ended."), "bytesIn",
                        typed("integer", "int64", "Bytes sent to the command (standard input)."), "bytesOut",
                        typed("integer", "int64", "Bytes the command sent back (its output)."), "exitCode",
                        typed("integer", "int32", "The command's exit code, when known."), "reason",
                        str("Why it ended: Exited, ClientClosed, IdleTimeout, SandboxStopped, Limit, "
                            "Error."),
                        "recording",
                        str("The Artifact its recording became (a template's spec.sessions.record), once it "
                            "ended."),
                        NULL),
                NULL);
}

json_object *api_schema_previewgrant(void) {
        return object("A short-lived signed link to one port of a Sandbox (docs/previews.md), for a browser: "
                      "create only, nothing is stored. Who may mint one for a Private port: the sandbox's "
                      "creator and project admins; for a Project or Public port: anyone allowed to create "
                      "previewgrants in the namespace.",
                "spec",
                object("What the link opens.", "sandbox", str("The Sandbox, in the grant's namespace."),
                        "port", str("The name of one of its ports (status.previewURLs[].name)."),
                        "ttlSeconds",
                        typed("integer", "int64",
                                "How long the link is valid: 60 to 3600 seconds, 300 by "
                                "default."),
                        NULL),
                "status",
                object("Set by the server.", "url",
                        str("The port's preview URL with the signed token: open it in a browser, which then "
                            "gets a cookie for the port."),
                        "expirationTimestamp", when("When the link stops working."), NULL),
                NULL);
}

static json_object *count(const char *desc) {
        return typed("integer", "int64", desc);
}

json_object *api_schema_preview_access(void) {
        return object("The requests to one port of a Sandbox's previews in one minute, by one user or grant, "
                      "one way in, added up: the access log of previews, written by mbox-apiserver every "
                      "--preview-access-flush-interval (10s), so a minute's counts grow until it is over; "
                      "watch sends ADDED when a minute's first requests are stored and MODIFIED with its "
                      "newest counts. Named <sandbox>.<port>.<YYYYMMDDhhmm>.<8 hex digits>; kept after the "
                      "sandbox is gone, for the retention of task records. List and watch take field "
                      "selectors on spec.sandbox, spec.port, spec.user, spec.grant and spec.via.",
                "spec",
                object("What was opened, by whom, how and when.", "sandbox", str("The Sandbox."),
                        "sandboxUID", str("The Sandbox's uid, which tells apart sandboxes of one name."),
                        "port", str("The port, by its name in the template."), "user",
                        str("The Kubernetes user, as the API server authenticated them; absent for requests "
                            "without one (a browser's with a grant, an anonymous one to a Public port)."),
                        "grant", str("The preview grant that admitted a browser's requests."), "via",
                        str("Gateway (a browser, at the preview URL) or Proxy (sandboxes/NAME/proxy)."),
                        "window",
                        object("The minute the requests were answered in.", "start", when("Its start."),
                                "end", when("Its end, a minute later."), NULL),
                        NULL),
                "status",
                object("The requests of the minute, added up.", "requests", count("Requests answered."),
                        "responses",
                        object("Requests by the class of the status sent (a WebSocket is 101).", "1xx",
                                count("Informational, 101 Switching Protocols among them."), "2xx",
                                count("Successful."), "3xx", count("Redirections."), "4xx",
                                count("Client errors."), "5xx", count("Server errors."), NULL),
                        "bytesIn", count("Body bytes from the clients (a WebSocket's whole connection)."),
                        "bytesOut", count("Body bytes to the clients (a WebSocket's whole connection)."),
                        "firstRequestAt", when("When the first of them was answered."), "lastRequestAt",
                        when("When the last of them was answered."), "maxDurationMicroseconds",
                        count("How long the longest took, in microseconds."), NULL),
                NULL);
}

static char *document;

static void build(void) {
        json_object *doc = json_object_new_object(), *info = json_object_new_object(),
                    *paths = json_object_new_object(), *comp = json_object_new_object(),
                    *schemas = json_object_new_object();
        api_put(doc, "openapi", "3.0.0");
        api_put(info, "title", "mbox-apiserver");
        api_put(info, "version", API_VERSION);
        json_object_object_add(doc, "info", info);
        for (const struct api_resource *r = api_resources; r->name; r++)
                if (r->store || r->create) /* a resource of connect subresources alone has none */
                        add_path(paths, r->name, r->kind, r->verbs);
        json_object_object_add(doc, "paths", paths);

        json_object *labels = typed("object", NULL, "Labels (Artifact): for label selectors."),
                    *annotations = typed("object", NULL, "Annotations (Artifact)."), *sv = str("A value.");
        json_object_object_add(labels, "additionalProperties", sv);
        json_object_object_add(annotations, "additionalProperties", json_object_get(sv));
        json_object_object_add(schemas, SCHEMA_PFX "ObjectMeta",
                object("Metadata of a record.", "name", str("Name of the record."), "namespace",
                        str("Namespace of the record: its object's namespace (for a Project, the project's "
                            "namespace)."),
                        "resourceVersion",
                        str("For an ObjectHistory its sequence number: a watch from it sees what came "
                            "after."),
                        "creationTimestamp",
                        when("When the record was made (for an ObjectHistory, when the state came to be)."),
                        "uid", str("Unique for the record's lifetime (Artifact, TaskOutput, Session)."),
                        "generateName",
                        str("Create only (Artifact): a name made of this prefix and five random characters."),
                        "labels", labels, "annotations", annotations, NULL));
        json_object_object_add(schemas, SCHEMA_PFX "ListMeta",
                object("Metadata of a list.", "resourceVersion",
                        str("Where a watch that follows this list starts."), "continue",
                        str("Give it back as continue for the next page; absent on the last page."), NULL));

        for (const struct api_resource *r = api_resources; r->name; r++) {
                if (!r->schema)
                        continue;
                add_kind(schemas, r->kind, r->schema(), "ObjectMeta");
                if (r->verbs & API_LIST)
                        add_list(schemas, r->kind, r->list_description);
        }

        json_object_object_add(comp, "schemas", schemas);
        json_object_object_add(doc, "components", comp);
        const char *text =
                json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        document = text ? strdup(text) : NULL;
        json_object_put(doc);
}

/* /openapi/v3 (the index), /openapi/v3/apis/runtime.mbox.dev/v1alpha1 (the document), /openapi/v2. */
void api_openapi(struct httpd_request *req, void *userdata) {
        struct apiserver *s = userdata;
        struct api_user user;
        const char *path = httpd_request_path(req);
        if (api_authenticate(s, req, &user) < 0)
                return;
        if (strcmp(path, "/openapi/v2") == 0) {
                /* kube-apiserver still merges every server's v2 document; kubectl explain reads v3 */
                static const char V2[] =
                        "{\"swagger\":\"2.0\",\"info\":{\"title\":\"mbox-apiserver\",\"version\":"
                        "\"" API_VERSION "\"},\"paths\":{},\"definitions\":{}}";
                httpd_respond(req, 200, "application/json", V2, strlen(V2));
        } else if (strcmp(path, "/openapi/v3") == 0 || strcmp(path, "/openapi/v3/") == 0) {
                static const char INDEX[] =
                        "{\"paths\":{\"" GV_PATH "\":{\"serverRelativeURL\":\"/openapi/v3/" GV_PATH
                        "?hash=" OPENAPI_HASH "\"}}}";
                httpd_respond(req, 200, "application/json", INDEX, strlen(INDEX));
        } else if (strcmp(path, "/openapi/v3/" GV_PATH) == 0) {
                static pthread_once_t once = PTHREAD_ONCE_INIT;
                (void) pthread_once(&once, build);
                if (document)
                        httpd_respond(req, 200, "application/json", document, strlen(document));
                else
                        httpd_respond_status(req, 500, "InternalError", "out of memory");
        } else
                httpd_respond_status(req, 404, "NotFound", "no OpenAPI document at %s", path);
}
