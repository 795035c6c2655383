/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writes of Artifact (the resource itself, its reads, is an entry of resources.c): a reference to a
 * file, with what it is and where it came from, kept in the artifacts table (pkg/store/artifact.h). The
 * operator records the files a task declared and produced (named <task>-<artifact>); callers register
 * others with create. patch is a merge patch of labels and annotations: nothing else changes. A named task
 * is looked up and vouches for the provenance: its uid, sandbox and pod are filled in, and contradicting
 * them is refused.
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
static void respond_stored(const struct api_request *r, PGconn *conn, const char *name, int status) {
        struct merr err = MERR_INIT;
        PGresult *res = NULL;
        if (artifact_get_live(conn, r->namespace, name, &res, &err) < 0)
                api_respond_store_error(r->req, &err);
        else if (PQntuples(res) == 1) {
                _cleanup_json_ json_object *o = api_record(r->res, res, 0);
                api_respond_json(r->req, status, o);
        } else
                api_respond_not_found(r->req, r->res->name, name);
        PQclear(res);
}

void api_artifact_create(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const struct api_user *user = r->user;
        const char *ns = r->namespace;
        const char *ct = httpd_request_header(req, "Content-Type");
        struct api_artifact a = {0};
        struct merr err = MERR_INIT;
        json_object *task = NULL;
        PGconn *conn = NULL;
        _cleanup_free_ char *labels = NULL, *annotations = NULL;
        size_t len = 0;
        const char *body = httpd_request_body(req, &len);
        int k;
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
        k = api_artifact_parse(body, len, mode == FIELDS_STRICT, &a, &err);
        if (k == -EBADMSG) {
                httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                return;
        }
        if (k < 0) {
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
        if (provenance(req, s, ns, &a, &task) < 0 || api_connect(req, s, r->res, &conn) < 0)
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
                k = artifact_create(conn, &rec, uid, &err);
                if (k != -EEXIST || a.name)
                        break;
        }
        if (k == -EEXIST) {
                httpd_respond_status(
                        req, 409, "AlreadyExists", "artifacts.%s \"%s\" already exists", API_GROUP, name);
                goto out;
        }
        if (k < 0) {
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "storing the artifact: %s", merr_msg(&err));
                goto out;
        }
        log_info("artifact registered", "namespace", ns, "name", name, "user", user->name);
        respond_stored(r, conn, name, 201);
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

void api_artifact_patch(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const char *ns = r->namespace, *name = r->name;
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
        if (mode < 0 || api_connect(req, s, r->res, &conn) < 0)
                return;
        /* read, merge, write if nothing changed in between; again if something did */
        int tries;
        for (tries = 0; tries < 5; tries++) {
                struct api_artifact_patch p = {0};
                PGresult *res = NULL;
                if (artifact_get_live(conn, ns, name, &res, &err) < 0) {
                        api_respond_store_error(req, &err);
                        break;
                }
                if (PQntuples(res) == 0) {
                        api_respond_not_found(req, r->res->name, name);
                        PQclear(res);
                        break;
                }
                json_object *labels = parse_object(PQgetvalue(res, 0, STORE_ARTIFACT_LABELS)),
                            *annotations = parse_object(PQgetvalue(res, 0, STORE_ARTIFACT_ANNOTATIONS));
                char version[32], uid[40];
                snprintf(version, sizeof(version), "%s", PQgetvalue(res, 0, STORE_ARTIFACT_VERSION));
                snprintf(uid, sizeof(uid), "%s", PQgetvalue(res, 0, STORE_ARTIFACT_UID));
                PQclear(res);
                int k = api_artifact_merge_meta(
                        body, len, mode == FIELDS_STRICT, labels, annotations, &p, &err);
                if (k == -EBADMSG)
                        httpd_respond_status(req, 400, "BadRequest", "%s", merr_msg(&err));
                else if (k < 0)
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
                        k = artifact_update_meta(conn, ns, name, version, l, a, &err);
                        if (k == -ESTALE && !p.resource_version) {
                                json_object_put(labels);
                                json_object_put(annotations);
                                api_artifact_patch_release(&p);
                                continue; /* changed in between: merge into what it is now */
                        }
                        if (k == -ENOENT)
                                api_respond_not_found(req, r->res->name, name);
                        else if (k == -ESTALE)
                                httpd_respond_status(req, 409, "Conflict", "%s", merr_msg(&err));
                        else if (k < 0)
                                httpd_respond_status(req, 503, "ServiceUnavailable",
                                        "updating the artifact: %s", merr_msg(&err));
                        else
                                respond_stored(r, conn, name, 200);
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

void api_artifact_delete(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const char *ns = r->namespace, *name = r->name;
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
        if (api_connect(req, s, r->res, &conn) < 0)
                return;
        int k = artifact_delete(conn, ns, name, uid, &err);
        store_release(s->store, conn);
        if (k == -ENOENT)
                api_respond_not_found(req, r->res->name, name);
        else if (k == -ESTALE)
                httpd_respond_status(req, 409, "Conflict", "Precondition failed: %s", merr_msg(&err));
        else if (k < 0)
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "deleting the artifact: %s", merr_msg(&err));
        else
                api_respond_deleted(req, r->res->name, name);
}
