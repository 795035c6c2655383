/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ObjectHistory (runtime.mbox.dev/v1alpha1, namespaced, read-only): one state of an mbox object as the
 * mirror stored it (mirror.c), kept after the object is gone. Named <object>.<id>, ordered by id (the
 * order the states were seen). A Project's states are in its namespace. list takes:
 *   fieldSelector  object.kind, object.name, object.uid, object.apiVersion, type, phase,
 *                  metadata.name, metadata.namespace (=, ==, !=)
 *   labelSelector  on the object's labels in that state
 *   since, until   RFC 3339: states that came to be at or after since, before until
 *   limit, continue
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "timestamp.h"

static const struct api_field fields[] = {
        {"object.kind", "kind"},
        {"object.name", "name"},
        {"object.uid", "uid::text"},
        {"object.apiVersion", "api_version"},
        {"type", "event"},
        {"phase", "phase"},
        {"metadata.name", "(name || '.' || id::text)"},
        {"metadata.namespace", "namespace"},
        {"project.uid", "project_uid::text"},
        {NULL, NULL},
};

static const char SELECT[] =
        "SELECT id, api_version, kind, namespace, name, uid, resource_version, event, phase, "
        "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), object::text "
        "FROM object_history WHERE true";

enum {
        C_ID,
        C_API_VERSION,
        C_KIND,
        C_NS,
        C_NAME,
        C_UID,
        C_RV,
        C_EVENT,
        C_PHASE,
        C_CHANGED,
        C_RECORDED,
        C_OBJECT
};

static json_object *record(PGresult *res, int i) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *ref = json_object_new_object();
        char name[400];
        snprintf(name, sizeof(name), "%s.%s", PQgetvalue(res, i, C_NAME), PQgetvalue(res, i, C_ID));
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", "ObjectHistory");
        api_put(meta, "name", name);
        api_put(meta, "namespace", PQgetvalue(res, i, C_NS));
        api_put(meta, "resourceVersion", PQgetvalue(res, i, C_ID));
        api_put(meta, "creationTimestamp", PQgetvalue(res, i, C_CHANGED));
        json_object_object_add(o, "metadata", meta);
        api_put(ref, "apiVersion", PQgetvalue(res, i, C_API_VERSION));
        api_put(ref, "kind", PQgetvalue(res, i, C_KIND));
        api_put(ref, "name", PQgetvalue(res, i, C_NAME));
        api_put(ref, "uid", PQgetvalue(res, i, C_UID));
        api_put(ref, "resourceVersion", PQgetvalue(res, i, C_RV));
        json_object_object_add(o, "object", ref);
        api_put(o, "type", PQgetvalue(res, i, C_EVENT));
        api_put(o, "phase", PQgetvalue(res, i, C_PHASE));
        api_put(o, "changedAt", PQgetvalue(res, i, C_CHANGED));
        api_put(o, "recordedAt", PQgetvalue(res, i, C_RECORDED));
        json_object *state = json_tokener_parse(PQgetvalue(res, i, C_OBJECT));
        json_object_object_add(o, "state", state ? state : json_object_new_object());
        return o;
}

/* A Table of rows [from, to) of res. */
static json_object *table(PGresult *res, int from, int to) {
        json_object *cols = json_object_new_array();
        json_object_array_add(cols, api_column("Name", "string", "name", "<object>.<sequence number>."));
        json_object_array_add(cols, api_column("Kind", "string", "", "Kind of the object."));
        json_object_array_add(cols, api_column("Object", "string", "", "Name of the object."));
        json_object_array_add(cols, api_column("Type", "string", "", "ADDED, MODIFIED or DELETED."));
        json_object_array_add(cols, api_column("Phase", "string", "", "status.phase in this state."));
        json_object_array_add(
                cols, api_column("Changed", "string", "date-time", "When the state came to be."));
        json_object *t = api_table(cols);
        for (int i = from; i < to; i++) {
                json_object *cells = json_object_new_array();
                char name[400];
                snprintf(name, sizeof(name), "%s.%s", PQgetvalue(res, i, C_NAME), PQgetvalue(res, i, C_ID));
                json_object_array_add(cells, json_object_new_string(name));
                /* Kind.group for what is not mbox.dev's, as kubectl names resources */
                const char *av = PQgetvalue(res, i, C_API_VERSION);
                char kind[300];
                if (strncmp(av, "mbox.dev/", 9) == 0)
                        snprintf(kind, sizeof(kind), "%s", PQgetvalue(res, i, C_KIND));
                else
                        snprintf(kind, sizeof(kind), "%s.%.*s", PQgetvalue(res, i, C_KIND),
                                (int) strcspn(av, "/"), av);
                json_object_array_add(cells, json_object_new_string(kind));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_NAME)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_EVENT)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_PHASE)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_CHANGED)));
                api_table_row(t, cells, PQgetvalue(res, i, C_NS), name, "", PQgetvalue(res, i, C_CHANGED));
        }
        return t;
}

static const struct api_source source = {.resource = "objecthistories",
        .kind = "ObjectHistory",
        .select = SELECT,
        .events = SELECT,
        .rv = "id",
        .name_col = NULL, /* <object>.<id>: api_objecthistories() */
        .newest = "SELECT coalesce(max(id), 0) FROM object_history",
        .fields = fields,
        .labels = "(object->'metadata'->'labels')",
        .time = "changed_at",
        .token = "h1.",
        .c_rv = C_ID,
        .c_type = -1, /* a new state is a new record */
        .history = true,
        .record = record,
        .table = table};

void api_objecthistories(
        struct httpd_request *req, struct apiserver *s, const char *ns, const char *name, bool watch) {
        if (watch || !name) {
                api_serve(req, s, &source, ns, name, watch);
                return;
        }
        /* <object>.<id> */
        struct api_query q = {.where = BUF_INIT(64 * 1024)};
        const char *dot = strrchr(name, '.');
        long long id;
        char a[24], *object = NULL;
        if (!dot || !api_parse_num(dot + 1, 1, 999999999999999999LL, &id)) {
                httpd_respond_status(
                        req, 404, "NotFound", "objecthistories.%s \"%s\" not found", API_GROUP, name);
                return;
        }
        snprintf(a, sizeof(a), "%lld", id);
        object = strndup(name, (size_t) (dot - name));
        if (!object || api_query_cond(&q, "id =", a) < 0 || api_query_cond(&q, "name =", object) < 0)
                httpd_respond_status(req, 400, "BadRequest", "request too large");
        else
                api_get(req, s, &source, ns, name, &q);
        free(object);
        api_query_free(&q);
}
