/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact (runtime.mbox.dev/v1alpha1, namespaced, read-only for now): a file an ExecutionTask declared
 * and produced, as the operator recorded it once the command exited (task_artifacts, pkg/store), with its
 * provenance: task, sandbox, pod. Named <task>-<artifact> (status.artifacts[].artifactName of the task).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "jsonutil.h"

static const char SQL[] =
        "SELECT DISTINCT ON (namespace, artifact_name) namespace, artifact_name, task_uid, name, task_name, "
        "sandbox, "
        "pod, path, uri, content_type, size_bytes, digest, "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "FROM task_artifacts WHERE ($1 = '' OR namespace = $1) AND ($2 = '' OR artifact_name = $2) "
        "ORDER BY namespace, artifact_name, created_at DESC";

enum {
        C_NS,
        C_NAME,
        C_TASK_UID,
        C_ARTIFACT,
        C_TASK,
        C_SANDBOX,
        C_POD,
        C_PATH,
        C_URI,
        C_TYPE,
        C_SIZE,
        C_DIGEST,
        C_CREATED
};

static json_object *record(PGresult *res, int i) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *spec = json_object_new_object(), *task = json_object_new_object();
        char uid[128];
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", "Artifact");
        /* one record per task run and artifact: the task's uid and the artifact's name make it unique */
        snprintf(uid, sizeof(uid), "%s-%s", PQgetvalue(res, i, C_TASK_UID), PQgetvalue(res, i, C_ARTIFACT));
        api_put(meta, "name", PQgetvalue(res, i, C_NAME));
        api_put(meta, "namespace", PQgetvalue(res, i, C_NS));
        api_put(meta, "creationTimestamp", PQgetvalue(res, i, C_CREATED));
        json_object_object_add(o, "metadata", meta);
        api_put(spec, "name", PQgetvalue(res, i, C_ARTIFACT));
        api_put(spec, "uri", PQgetvalue(res, i, C_URI));
        api_put(spec, "path", PQgetvalue(res, i, C_PATH));
        api_put(spec, "contentType", PQgetvalue(res, i, C_TYPE));
        json_object_object_add(
                spec, "sizeBytes", json_object_new_int64(strtoll(PQgetvalue(res, i, C_SIZE), NULL, 10)));
        api_put(spec, "digest", PQgetvalue(res, i, C_DIGEST));
        api_put(task, "name", PQgetvalue(res, i, C_TASK));
        api_put(task, "uid", PQgetvalue(res, i, C_TASK_UID));
        json_object_object_add(spec, "task", task);
        api_put(spec, "sandbox", PQgetvalue(res, i, C_SANDBOX));
        api_put(spec, "pod", PQgetvalue(res, i, C_POD));
        json_object_object_add(o, "spec", spec);
        return o;
}

static json_object *table(PGresult *res) {
        json_object *cols = json_object_new_array();
        json_object_array_add(cols,
                api_column("Name", "string", "name", "Name of the artifact record (<task>-<artifact>)."));
        json_object_array_add(cols, api_column("Task", "string", "", "ExecutionTask that produced it."));
        json_object_array_add(cols, api_column("Sandbox", "string", "", "Sandbox it was produced in."));
        json_object_array_add(cols, api_column("Type", "string", "", "Media type."));
        json_object_array_add(cols, api_column("Size", "integer", "", "Size in bytes."));
        json_object_array_add(cols, api_column("Age", "string", "", "Time since it was recorded."));
        json_object *t = api_table(cols);
        for (int i = 0; i < PQntuples(res); i++) {
                json_object *cells = json_object_new_array();
                char a[32], uid[128];
                api_age(PQgetvalue(res, i, C_CREATED), a, sizeof(a));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_NAME)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_TASK)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_SANDBOX)));
                json_object_array_add(cells, json_object_new_string(PQgetvalue(res, i, C_TYPE)));
                json_object_array_add(
                        cells, json_object_new_int64(strtoll(PQgetvalue(res, i, C_SIZE), NULL, 10)));
                json_object_array_add(cells, json_object_new_string(a));
                snprintf(uid, sizeof(uid), "%s-%s", PQgetvalue(res, i, C_TASK_UID),
                        PQgetvalue(res, i, C_ARTIFACT));
                api_table_row(t, cells, PQgetvalue(res, i, C_NS), PQgetvalue(res, i, C_NAME), uid,
                        PQgetvalue(res, i, C_CREATED));
        }
        return t;
}

void api_artifacts(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name) {
        static const struct api_kind kind = {"artifacts", "Artifact", SQL, record, table, NULL};
        api_serve_records(req, s, &kind, ns, name, NULL);
}
