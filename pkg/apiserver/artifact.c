/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact (runtime.mbox.dev/v1alpha1, namespaced): a reference to a file, with what it is and where it
 * came from, kept in the artifacts table (pkg/store/artifact.h). The operator records the files a task
 * declared and produced (named <task>-<artifact>); callers register others with create. get, list (label
 * selectors; field selectors on metadata.name, spec.kind, spec.task.name, spec.sandbox, status.source;
 * limit/continue), watch (ADDED, MODIFIED, DELETED), create, patch (a merge patch of labels and
 * annotations: nothing else changes), delete. A named task is looked up and vouches for the provenance:
 * its uid, sandbox and pod are filled in, and contradicting them is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "api/artifact.h"
#include "apiserver/internal.h"
#include "jsonutil.h"
#include "log.h"
#include "store/artifact.h"
#include "timestamp.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS                                                                                           \
        "SELECT rv, type, version, namespace, name, uid, kind, title, uri, path, content_type, "          \
        "coalesce(size_bytes::text, ''), digest, task_name, coalesce(task_uid::text, ''), sandbox, pod, " \
        "labels::text, annotations::text, source, registered_by, " TS("created_at") " FROM "
/* records: listed in the order they were created; their resourceVersion is their newest change */
static const char SELECT[] =
        COLUMNS "(SELECT created_rv AS rv, 'ADDED' AS type, greatest(created_rv, modified_rv) AS version, * "
                "FROM artifacts WHERE deleted_rv IS NULL) a WHERE true";
/* changes: the creation, the newest change of labels or annotations, the deletion */
static const char EVENTS[] = COLUMNS
        "(SELECT created_rv AS rv, 'ADDED' AS type, created_rv AS version, * FROM artifacts UNION ALL "
        "SELECT modified_rv, 'MODIFIED', modified_rv, * FROM artifacts WHERE modified_rv IS NOT NULL "
        "UNION ALL SELECT deleted_rv, 'DELETED', deleted_rv, * FROM artifacts WHERE deleted_rv IS NOT NULL) "
        "a "
        "WHERE true";

enum {
        C_RV,
        C_TYPE,
        C_VERSION,
        C_NS,
        C_NAME,
        C_UID,
        C_KIND,
        C_TITLE,
        C_URI,
        C_PATH,
        C_CONTENT_TYPE,
        C_SIZE,
        C_DIGEST,
        C_TASK,
        C_TASK_UID,
        C_SANDBOX,
        C_POD,
        C_LABELS,
        C_ANNOTATIONS,
        C_SOURCE,
        C_REGISTERED_BY,
        C_CREATED
};

static const struct api_field fields[] = {
        {"metadata.name", "name"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {"spec.kind", "kind"},
        {"spec.task.name", "task_name"},
        {"spec.sandbox", "sandbox"},
        {"status.source", "source"},
        {NULL, NULL},
};

/* o[key] = the value of column c in row i, when it is not empty. */
static void put_col(json_object *o, const char *key, PGresult *res, int i, int c) {
        if (*PQgetvalue(res, i, c))
                api_put(o, key, PQgetvalue(res, i, c));
}

static void put_map(json_object *o, const char *key, const char *json) {
        json_object *m = json_tokener_parse(json);
        if (m && json_object_is_type(m, json_type_object) && json_object_object_length(m) > 0)
                json_object_object_add(o, key, m);
        else
                json_object_put(m);
}

static json_object *record(PGresult *res, int i) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *spec = json_object_new_object(), *st = json_object_new_object();
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", "Artifact");
        api_put(meta, "name", PQgetvalue(res, i, C_NAME));
        api_put(meta, "namespace", PQgetvalue(res, i, C_NS));
        api_put(meta, "uid", PQgetvalue(res, i, C_UID));
        api_put(meta, "resourceVersion", PQgetvalue(res, i, C_VERSION));
        api_put(meta, "creationTimestamp", PQgetvalue(res, i, C_CREATED));
        put_map(meta, "labels", PQgetvalue(res, i, C_LABELS));
        put_map(meta, "annotations", PQgetvalue(res, i, C_ANNOTATIONS));
        json_object_object_add(o, "metadata", meta);
        api_put(spec, "kind", PQgetvalue(res, i, C_KIND));
        put_col(spec, "name", res, i, C_TITLE);
        api_put(spec, "uri", PQgetvalue(res, i, C_URI));
        put_col(spec, "path", res, i, C_PATH);
        put_col(spec, "contentType", res, i, C_CONTENT_TYPE);
        if (*PQgetvalue(res, i, C_SIZE))
                json_object_object_add(spec, "sizeBytes",
                        json_object_new_int64(strtoll(PQgetvalue(res, i, C_SIZE), NULL, 10)));
        put_col(spec, "digest", res, i, C_DIGEST);
        if (*PQgetvalue(res, i, C_TASK)) {
                json_object *task = json_object_new_object();
                api_put(task, "name", PQgetvalue(res, i, C_TASK));
                put_col(task, "uid", res, i, C_TASK_UID);
                json_object_object_add(spec, "task", task);
        }
        put_col(spec, "sandbox", res, i, C_SANDBOX);
        put_col(spec, "pod", res, i, C_POD);
        json_object_object_add(o, "spec", spec);
        api_put(st, "source", PQgetvalue(res, i, C_SOURCE));
        put_col(st, "registeredBy", res, i, C_REGISTERED_BY);
        json_object_object_add(o, "status", st);
        return o;
}

static json_object *table(PGresult *res, int from, int to) {
        json_object *cols = json_object_new_array();
        json_object_array_add(cols, api_column("Name", "string", "name", "Name of the artifact."));
        json_object_array_add(cols, api_column("Kind", "string", "", "What it is (file, report, ...)."));
        json_object_array_add(cols, api_column("Task", "string", "", "ExecutionTask that produced it."));
        json_object_array_add(cols, api_column("Sandbox", "string", "", "Sandbox it was produced in."));
        json_object_array_add(cols, api_column("Type", "string", "", "Media type."));
        json_object_array_add(cols, api_column("Size", "integer", "", "Size in bytes."));
        json_object_array_add(cols, api_column("Age", "string", "", "Time since it was recorded."));
        json_object *t = api_table(cols);
        for (int i = from; i < to; i++) {
                json_object *cells = json_object_new_array();
                char a[32];
                api_age(PQgetvalue(res, i, C_CREATED), a, sizeof(a));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_NAME)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_KIND)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_TASK)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_SANDBOX)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_CONTENT_TYPE)));
                json_object_array_add(
                        cells, *PQgetvalue(res, i, C_SIZE)
                                       ? json_object_new_int64(strtoll(PQgetvalue(res, i, C_SIZE), NULL, 10))
                                       : json_object_new_null());
                json_object_array_add(cells, json_object_new_string(a));
                json_object *meta = api_table_row(t, cells, PQgetvalue(res, i, C_NS),
                        PQgetvalue(res, i, C_NAME), PQgetvalue(res, i, C_UID), PQgetvalue(res, i, C_CREATED));
                put_map(meta, "labels", PQgetvalue(res, i, C_LABELS));
        }
        return t;
}

static const struct api_source source = {.resource = "artifacts",
        .kind = "Artifact",
        .select = SELECT,
        .events = EVENTS,
        .rv = "rv",
        .version = "version",
        .name_col = "name",
        .newest = "SELECT greatest((SELECT coalesce(max(created_rv), 0) FROM artifacts), "
                  "(SELECT coalesce(max(modified_rv), 0) FROM artifacts), "
                  "(SELECT coalesce(max(deleted_rv), 0) FROM artifacts))",
        .fields = fields,
        .labels = "labels",
        .time = NULL,
        .token = "a1.",
        .c_rv = C_RV,
        .c_type = C_TYPE,
        .record = record,
        .table = table};

/* ---- create ---- */

/* A string of an object fetched from Kubernetes, or "". */
static const char *field(json_object *o, const char *path) {
        const char *v = NULL;
        return json_get_string(o, path, JSON_OPTIONAL, &v, NULL) >= 0 && v ? v : "";
}

/* Checks the task (or sandbox) the artifact names, and fills in what the task knows. Returns 0, or < 0
 * with the request answered (422 for provenance that does not hold). The lookup is made as mbox-apiserver:
 * the caller may create artifacts in the namespace, which the developer role pairs with reading tasks. */
static int provenance(struct httpd_request *req, struct apiserver *s, const char *ns, struct api_artifact *a,
        json_object **hold) {
        struct kube_client *kc = NULL;
        struct merr err = MERR_INIT;
        bool task = a->task_name != NULL;
        if (!task && !a->sandbox)
                return 0;
        struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = task ? "executiontasks" : "sandboxes",
                .namespace = ns,
                .name = task ? a->task_name : a->sandbox};
        int r = kube_pool_get(s->clients, &kc, &err);
        if (r >= 0) {
                r = kube_get(kc, &rs, hold, &err);
                kube_pool_put(s->clients, kc);
        }
        if (r == -ENOENT) {
                httpd_respond_status(req, 422, "Invalid",
                        "Artifact.%s \"%s\" is invalid: %s: Not found: %s \"%s\" in namespace \"%s\"",
                        API_GROUP, a->name, task ? "spec.task.name" : "spec.sandbox",
                        task ? "ExecutionTask" : "Sandbox", rs.name, ns);
                return r;
        }
        if (r < 0) {
                httpd_respond_status(req, 503, "ServiceUnavailable", "looking up %s %s: %s", rs.resource,
                        rs.name, merr_msg(&err));
                return r;
        }
        if (!task)
                return 0;
        const struct {
                const char *path, *have, *known;
        } facts[] = {
                {"spec.task.uid", a->task_uid, field(*hold, "metadata.uid")},
                {"spec.sandbox", a->sandbox, field(*hold, "spec.sandboxRef.name")},
                {"spec.pod", a->pod, field(*hold, "status.podName")},
        };
        for (size_t i = 0; i < ARRAY_SIZE(facts); i++)
                if (facts[i].have && *facts[i].known && strcmp(facts[i].have, facts[i].known) != 0) {
                        httpd_respond_status(req, 422, "Invalid",
                                "Artifact.%s \"%s\" is invalid: %s: Invalid value: \"%s\": ExecutionTask "
                                "\"%s\" says \"%s\"",
                                API_GROUP, a->name, facts[i].path, facts[i].have, a->task_name,
                                facts[i].known);
                        return -EINVAL;
                }
        char **fill[] = {&a->task_uid, &a->sandbox, &a->pod};
        for (size_t i = 0; i < ARRAY_SIZE(fill); i++)
                if (!*fill[i] && *facts[i].known && !(*fill[i] = strdup(facts[i].known))) {
                        httpd_respond_status(req, 500, "InternalError", "out of memory");
                        return -ENOMEM;
                }
        return 0;
}

static char *map_json(const struct api_map *m) {
        json_object *o = json_object_new_object();
        for (size_t i = 0; i < m->n; i++)
                api_put(o, m->items[i].key, m->items[i].value);
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        char *r = s ? strdup(s) : NULL;
        json_object_put(o);
        return r;
}

/* name = generateName + 5 characters, as the API server makes them */
static void generate_name(const char *prefix, char *buf, size_t size) {
        static const char ALPHABET[] = "bcdfghjklmnpqrstvwxz2456789";
        unsigned char rnd[5] = {0};
        char tail[6];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                rnd[0] ^= (unsigned char) timestamp_monotonic_ms(); /* collisions are retried */
        for (size_t i = 0; i < 5; i++)
                tail[i] = ALPHABET[rnd[i] % (sizeof(ALPHABET) - 1)];
        tail[5] = '\0';
        snprintf(buf, size, "%s%s", prefix, tail);
}

/* Whether content_type is the media type want (parameters aside). */
static bool is_type(const char *content_type, const char *want) {
        size_t n = content_type ? strcspn(content_type, "; ") : 0;
        return n == strlen(want) && strncasecmp(content_type, want, n) == 0;
}

/* fieldValidation: Strict (the default) refuses unknown fields; Warn drops them with a Warning header (kubectl
 * prints it), Ignore drops them. */
enum field_validation { FIELDS_STRICT, FIELDS_WARN, FIELDS_IGNORE };

/* The request's fieldValidation, or -EINVAL with the request answered. */
static int field_validation(struct httpd_request *req) {
        const char *v = httpd_request_query(req, "fieldValidation");
        if (!v || !*v || strcmp(v, "Strict") == 0)
                return FIELDS_STRICT;
        if (strcmp(v, "Warn") == 0)
                return FIELDS_WARN;
        if (strcmp(v, "Ignore") == 0)
                return FIELDS_IGNORE;
        httpd_respond_status(
                req, 400, "BadRequest", "fieldValidation: expected Strict, Warn or Ignore, got \"%.32s\"", v);
        return -EINVAL;
}

/* With Warn, says which fields were dropped: Warning: 299 - "unknown field \"spec.x\"" (RFC 7234). */
static void warn_dropped(struct httpd_request *req, int mode, const char *dropped) {
        char value[4096];
        size_t n = 0;
        if (mode != FIELDS_WARN || !dropped)
                return;
        n += (size_t) snprintf(value, sizeof(value), "299 - \"");
        for (const char *p = dropped; *p && n + 4 < sizeof(value); p++) {
                if (*p == '"' || *p == '\\')
                        value[n++] = '\\';
                value[n++] = *p;
        }
        value[n++] = '"';
        value[n] = '\0';
        (void) httpd_request_add_header(req, "Warning", value);
}

/* Answers with the live artifact ns/name as stored (status 200 or 201). */
static void respond_stored(
        struct httpd_request *req, PGconn *conn, const char *ns, const char *name, int status) {
        char sql[sizeof(SELECT) + 256];
        snprintf(sql, sizeof(sql), "%s AND namespace = $1 AND name = $2" STORE_IN_PROJECT_NOW("1"), SELECT);
        const char *params[] = {ns, name};
        PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
                _cleanup_json_ json_object *o = record(res, 0);
                api_respond_json(req, status, o);
        } else if (PQresultStatus(res) == PGRES_TUPLES_OK)
                httpd_respond_status(req, 404, "NotFound", "artifacts.%s \"%s\" not found", API_GROUP, name);
        else
                api_respond_db_error(req, res, "reading the artifact");
        PQclear(res);
}

static void create(
        struct httpd_request *req, struct apiserver *s, const struct api_user *user, const char *ns) {
        const char *ct = httpd_request_header(req, "Content-Type");
        struct api_artifact a = {0};
        struct merr err = MERR_INIT;
        json_object *task = NULL;
        PGconn *conn = NULL;
        _cleanup_free_ char *labels = NULL, *annotations = NULL;
        size_t len = 0;
        const char *body = httpd_request_body(req, &len);
        int r;
        if (!ns) {
                httpd_respond_status(req, 405, "MethodNotAllowed", "artifacts are created in a namespace");
                return;
        }
        if (httpd_request_query(req, "dryRun")) {
                httpd_respond_status(req, 400, "BadRequest", "dryRun is not supported for artifacts");
                return;
        }
        if (!is_type(ct, "application/json")) {
                httpd_respond_status(req, 415, "UnsupportedMediaType",
                        "the body of a create must be application/json, not %.64s", ct ? ct : "(none)");
                return;
        }
        int mode = field_validation(req);
        if (mode < 0)
                return;
        r = api_artifact_parse(body, len, mode == FIELDS_STRICT, &a, &err);
        if (r == -EBADMSG) {
                httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                return;
        }
        if (r < 0) {
                httpd_respond_status(req, 422, "Invalid", "Artifact.%s \"%s\" is invalid: %s", API_GROUP,
                        a.name ? a.name : "", merr_msg(&err));
                return;
        }
        warn_dropped(req, mode, a.dropped);
        if (a.namespace && strcmp(a.namespace, ns) != 0) {
                httpd_respond_status(req, 400, "BadRequest",
                        "the namespace of the provided object does not match the namespace sent on the "
                        "request");
                goto out;
        }
        if (provenance(req, s, ns, &a, &task) < 0 || api_source_connect(req, s, &source, &conn) < 0)
                goto out;
        labels = map_json(&a.labels);
        annotations = map_json(&a.annotations);
        char name[260], uid[37];
        struct artifact rec = {.namespace = ns,
                .name = name,
                .kind = a.kind,
                .title = a.title,
                .uri = a.uri,
                .path = a.path,
                .content_type = a.content_type,
                .digest = a.digest,
                .has_size = a.has_size,
                .size_bytes = a.size_bytes,
                .task_name = a.task_name,
                .task_uid = a.task_uid,
                .sandbox = a.sandbox,
                .pod = a.pod,
                .labels = labels,
                .annotations = annotations,
                .registered_by = user->name};
        /* a generated name that is taken gets another try, as the API server does */
        for (int tries = 0; tries < 8; tries++) {
                if (a.name)
                        snprintf(name, sizeof(name), "%s", a.name);
                else
                        generate_name(a.generate_name, name, sizeof(name));
                merr_clear(&err);
                r = artifact_create(conn, &rec, uid, &err);
                if (r != -EEXIST || a.name)
                        break;
        }
        if (r == -EEXIST) {
                httpd_respond_status(
                        req, 409, "AlreadyExists", "artifacts.%s \"%s\" already exists", API_GROUP, name);
                goto out;
        }
        if (r < 0) {
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "storing the artifact: %s", merr_msg(&err));
                goto out;
        }
        log_info("artifact registered", "namespace", ns, "name", name, "user", user->name);
        respond_stored(req, conn, ns, name, 201);
out:
        if (conn)
                store_release(s->store, conn);
        json_object_put(task);
        api_artifact_release(&a);
}

/* ---- patch ---- */

static json_object *parse_object(const char *text) {
        json_object *o = json_tokener_parse(text);
        if (o && json_object_is_type(o, json_type_object))
                return o;
        json_object_put(o);
        return json_object_new_object();
}

static void patch(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name) {
        const char *ct = httpd_request_header(req, "Content-Type");
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        size_t len = 0;
        const char *body = httpd_request_body(req, &len);
        if (httpd_request_query(req, "dryRun")) {
                httpd_respond_status(req, 400, "BadRequest", "dryRun is not supported for artifacts");
                return;
        }
        if (!is_type(ct, "application/merge-patch+json")) {
                httpd_respond_status(req, 415, "UnsupportedMediaType",
                        "artifacts take application/merge-patch+json patches (of metadata.labels and "
                        "metadata.annotations), not %.64s",
                        ct ? ct : "(none)");
                return;
        }
        int mode = field_validation(req);
        if (mode < 0 || api_source_connect(req, s, &source, &conn) < 0)
                return;
        char sql[sizeof(SELECT) + 256];
        snprintf(sql, sizeof(sql), "%s AND namespace = $1 AND name = $2" STORE_IN_PROJECT_NOW("1"), SELECT);
        const char *params[] = {ns, name};
        /* read, merge, write if nothing changed in between; again if something did */
        int tries;
        for (tries = 0; tries < 5; tries++) {
                struct api_artifact_patch p = {0};
                PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
                if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                        api_respond_db_error(req, res, "reading the artifact");
                        PQclear(res);
                        break;
                }
                if (PQntuples(res) == 0) {
                        httpd_respond_status(
                                req, 404, "NotFound", "artifacts.%s \"%s\" not found", API_GROUP, name);
                        PQclear(res);
                        break;
                }
                json_object *labels = parse_object(PQgetvalue(res, 0, C_LABELS)),
                            *annotations = parse_object(PQgetvalue(res, 0, C_ANNOTATIONS));
                char version[32], uid[40];
                snprintf(version, sizeof(version), "%s", PQgetvalue(res, 0, C_VERSION));
                snprintf(uid, sizeof(uid), "%s", PQgetvalue(res, 0, C_UID));
                PQclear(res);
                int r = api_artifact_merge_meta(
                        body, len, mode == FIELDS_STRICT, labels, annotations, &p, &err);
                if (r == -EBADMSG)
                        httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                else if (r < 0)
                        httpd_respond_status(req, 422, "Invalid", "Artifact.%s \"%s\" is invalid: %s",
                                API_GROUP, name, merr_msg(&err));
                else if (p.name && strcmp(p.name, name) != 0)
                        httpd_respond_status(req, 400, "BadRequest",
                                "metadata.name: the name of the object (%.64s) "
                                "does not match the name on the URL (%s)",
                                p.name, name);
                else if ((p.uid && strcmp(p.uid, uid) != 0) ||
                         (p.resource_version && strcmp(p.resource_version, version) != 0))
                        httpd_respond_status(req, 409, "Conflict",
                                "Operation cannot be fulfilled on artifacts.%s \"%s\": the object has been "
                                "modified; please apply your changes to the latest version and try again",
                                API_GROUP, name);
                else {
                        if (tries == 0) /* the same patch each try */
                                warn_dropped(req, mode, p.dropped);
                        const char *l = json_object_to_json_string_ext(labels, JSON_C_TO_STRING_PLAIN),
                                   *a = json_object_to_json_string_ext(annotations, JSON_C_TO_STRING_PLAIN);
                        merr_clear(&err);
                        r = artifact_update_meta(conn, ns, name, version, l, a, &err);
                        if (r == -ESTALE && !p.resource_version) {
                                json_object_put(labels);
                                json_object_put(annotations);
                                api_artifact_patch_release(&p);
                                continue; /* changed in between: merge into what it is now */
                        }
                        if (r == -ENOENT)
                                httpd_respond_status(req, 404, "NotFound", "artifacts.%s \"%s\" not found",
                                        API_GROUP, name);
                        else if (r == -ESTALE)
                                httpd_respond_status(req, 409, "Conflict", "%s", merr_msg(&err));
                        else if (r < 0)
                                httpd_respond_status(req, 503, "ServiceUnavailable",
                                        "updating the artifact: %s", merr_msg(&err));
                        else
                                respond_stored(req, conn, ns, name, 200);
                }
                json_object_put(labels);
                json_object_put(annotations);
                api_artifact_patch_release(&p);
                break;
        }
        if (tries == 5)
                httpd_respond_status(req, 409, "Conflict", "artifacts.%s \"%s\" kept changing; try again",
                        API_GROUP, name);
        store_release(s->store, conn);
}

/* ---- delete ---- */

static void delete (struct httpd_request *req, struct apiserver *s, const char *ns, const char *name) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        size_t len = 0;
        const char *body = httpd_request_body(req, &len), *uid = NULL;
        _cleanup_json_ json_object *opts = NULL;
        if (httpd_request_query(req, "dryRun")) {
                httpd_respond_status(req, 400, "BadRequest", "dryRun is not supported for artifacts");
                return;
        }
        /* DeleteOptions: only preconditions.uid means anything for an artifact */
        if (len > 0) {
                opts = json_tokener_parse(body);
                if (!opts || !json_object_is_type(opts, json_type_object) ||
                        json_get_string(opts, "preconditions.uid", JSON_OPTIONAL, &uid, &err) < 0) {
                        httpd_respond_status(req, 400, "BadRequest",
                                "the body of a delete must be DeleteOptions as JSON%s%s",
                                err.code ? ": " : "", err.code ? merr_msg(&err) : "");
                        return;
                }
                if (uid && strlen(uid) != 36) {
                        httpd_respond_status(req, 409, "Conflict",
                                "Precondition failed: UID in precondition: %.64s, no artifact has it", uid);
                        return;
                }
        }
        if (api_source_connect(req, s, &source, &conn) < 0)
                return;
        int r = artifact_delete(conn, ns, name, uid, &err);
        store_release(s->store, conn);
        if (r == -ENOENT)
                httpd_respond_status(req, 404, "NotFound", "artifacts.%s \"%s\" not found", API_GROUP, name);
        else if (r == -ESTALE)
                httpd_respond_status(req, 409, "Conflict", "Precondition failed: %s", merr_msg(&err));
        else if (r < 0)
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "deleting the artifact: %s", merr_msg(&err));
        else {
                _cleanup_json_ json_object *st = json_object_new_object();
                json_object *details = json_object_new_object();
                api_put(st, "kind", "Status");
                api_put(st, "apiVersion", "v1");
                json_object_object_add(st, "metadata", json_object_new_object());
                api_put(st, "status", "Success");
                api_put(details, "name", name);
                api_put(details, "group", API_GROUP);
                api_put(details, "kind", "artifacts");
                json_object_object_add(st, "details", details);
                api_respond_json(req, 200, st);
        }
}

void api_artifacts(struct httpd_request *req, struct apiserver *s, const struct api_user *user,
        const char *ns, const char *name, bool watch) {
        const char *method = httpd_request_method(req);
        if (strcmp(method, "POST") == 0)
                create(req, s, user, ns);
        else if (strcmp(method, "DELETE") == 0)
                delete (req, s, ns, name);
        else if (strcmp(method, "PATCH") == 0)
                patch(req, s, ns, name);
        else
                api_serve(req, s, &source, ns, name, watch);
}
