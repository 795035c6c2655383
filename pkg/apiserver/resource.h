/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resources mbox-apiserver serves (resources.c): one entry each, which drives routing, admission and
 * authorization (server.c), get, list and watch of its records (list.c, watch.c), their JSON and Table
 * (record.c), discovery and OpenAPI. What no entry can say is a handler: writes (artifact.c) and
 * subresources (taskoutput.c, content.c, files.c). Private to pkg/apiserver, through internal.h.
 *
 * Adding a resource: its table's file in pkg/store (schema migration, writes, a struct store_source with
 * its columns), then one entry in resources.c (records: the JSON path of each column; Table: its columns),
 * its schema in openapi.c, and a handler for what is not a read. The next connect subresources (exec,
 * terminal, proxy) are struct api_subresource entries: verbs API_GET and/or API_CREATE (the SAR verb of
 * the HTTP method, as kube-apiserver's pods/exec), long_running set, and a handler that upgrades or
 * streams.
 */
#pragma once

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "store/source.h"

struct apiserver;
struct api_user;
struct api_query;
struct httpd_request;
struct api_resource;

/* What a request names, and who asks: what every handler gets. */
struct api_request {
        struct httpd_request *req;
        struct apiserver *s;
        const struct api_user *user;
        const struct api_resource *res;
        const char *namespace; /* NULL: every namespace */
        const char *name;      /* NULL: the collection */
        const char *tail;      /* a subresource's rest of the path (.tail subresources), decoded */
};

/* Verbs, as SubjectAccessReviews and discovery name them. A subresource's HTTP methods are its verbs, as
 * kube-apiserver's connect subresources: GET is get, POST create, PUT update, DELETE delete. */
enum {
        API_GET = 1 << 0,
        API_LIST = 1 << 1,
        API_WATCH = 1 << 2,
        API_CREATE = 1 << 3, /* POST on the collection */
        API_PATCH = 1 << 4,  /* PATCH by name */
        API_DELETE = 1 << 5, /* DELETE by name */
        API_UPDATE = 1 << 6, /* PUT: subresources only */
};

/* A value of a record's JSON or a Table's cell, from the columns of a row. Absent values are left out of a
 * record and are null in a Table. */
enum api_value_type {
        API_STRING,       /* the text of col */
        API_STRING_SET,   /* the text, absent when empty */
        API_INT,          /* col as an int64 */
        API_INT_SET,      /* an int64, absent when empty */
        API_INT_POSITIVE, /* an int64, absent unless > 0 */
        API_BOOL,         /* Postgres' boolean text: 't' is true */
        API_POSITIVE,     /* true when the number col is > 0 */
        API_MAP,          /* a JSON object, absent unless it has a key */
        API_JSON,         /* JSON, {} when col holds none */
        API_AGE,          /* kubectl's age of the timestamp col */
        API_DOTTED,       /* "<col>.<col2>" */
        API_FUNC,         /* func(res, row): what the kinds above cannot say */
};
struct api_value {
        enum api_value_type type;
        int col, col2;
        json_object *(*func)(PGresult *res, int row);
};

/* A field of the record: its JSON path ("metadata.name", "status.stdoutBytes"; objects on the way are
 * made in the order their first field comes) and value. in_parent: put only when the object it goes into
 * exists already (spec.task.uid, beside spec.task.name). A list ends with {NULL}. */
struct api_field_out {
        const char *path;
        struct api_value value;
        bool in_parent;
};

/* A column of the Table (kubectl get): its definition and cell. The first column is the name. A list ends
 * with {NULL}. */
struct api_table_column {
        const char *name, *type, *format, *description;
        struct api_value value;
};
/* Where a Table row's object metadata comes from (column numbers, -1: none; the name is the first cell). */
struct api_row_meta {
        int ns, uid, created, labels;
};

/* A subresource (RESOURCE/NAME/SUB). A list ends with {NULL}. */
struct api_subresource {
        const char *name;  /* "log" */
        const char *label; /* "taskoutputs/log": the metrics label and the name in discovery */
        unsigned
                verbs; /* API_GET (GET, HEAD, OPTIONS), API_CREATE (POST), API_UPDATE (PUT), API_PATCH (PATCH), API_DELETE (DELETE) */
        /* whether this request is long-running (a log follow, an exec session): limits of its own, no
         * latency; NULL: never */
        bool (*long_running)(struct httpd_request *req);
        void (*handle)(const struct api_request *r);
        /* a WebSocket session (exec, terminal; verbs API_GET | API_CREATE): its GET, the upgrade, is
         * authorized as create, as kube-apiserver authorizes pods/exec */
        bool upgrade;
        /* takes a path after its name (proxy/PORT/...: api_request.tail) */
        bool tail;
};

struct api_resource {
        const char *name;     /* "taskoutputs": the path segment, the SAR resource, the metrics label */
        const char *singular; /* "taskoutput" */
        const char *kind;     /* "TaskOutput" */
        bool namespaced;
        unsigned verbs;
        /* the records: their table's reads, and what continue tokens start with ("h1.") */
        const struct store_source *store;
        const char *token;
        const struct api_field_out *fields;
        const struct api_table_column *columns;
        struct api_row_meta row;
        /* get by a name that is not one column (an ObjectHistory's <object>.<id>): its conditions into q;
         * -ENOENT when no record can have it, -E2BIG. NULL: store->name_col = name */
        int (*name_query)(const struct api_resource *res, const char *name, struct api_query *q);
        /* writes (the verbs API_CREATE, API_PATCH, API_DELETE) */
        void (*create)(const struct api_request *r);
        void (*patch)(const struct api_request *r);
        void (*remove)(const struct api_request *r);
        const struct api_subresource *subresources; /* NULL: none */
        /* OpenAPI: the kind's schema (openapi.c), and what its list is */
        json_object *(*schema)(void);
        const char *list_description;
};

/* The table; it ends with {NULL}. */
extern const struct api_resource api_resources[];
const struct api_resource *api_resource_find(const char *name);
const struct api_subresource *api_subresource_find(const struct api_resource *res, const char *name);

/* Handlers of what the table cannot say. */
void api_artifact_create(const struct api_request *r); /* artifact.c */
void api_artifact_patch(const struct api_request *r);
void api_artifact_delete(const struct api_request *r);
void api_artifact_content(const struct api_request *r); /* artifacts/NAME/content (content.c) */
void api_taskoutput_log(const struct api_request *r);   /* taskoutputs/NAME/log (taskoutput.c) */
bool api_taskoutput_log_follows(struct httpd_request *req);
void api_sandbox_exec(const struct api_request *r); /* sandboxes/NAME/exec, terminal (session.c) */
void api_sandbox_terminal(const struct api_request *r);
bool api_session_long_running(struct httpd_request *req);
void api_sandbox_files(const struct api_request *r);       /* sandboxes/NAME/files (files.c) */
void api_sandbox_log(const struct api_request *r);         /* sandboxes/NAME/log (sandboxlog.c) */
void api_previewgrant_create(const struct api_request *r); /* previewgrants (previewgrant.c) */
void api_sandbox_proxy(const struct api_request *r); /* sandboxes/NAME/proxy/PORT/... (sandboxproxy.c) */
bool api_sandbox_log_follows(struct httpd_request *req);
/* The kinds' schemas (openapi.c). */
json_object *api_schema_taskoutput(void);
json_object *api_schema_artifact(void);
json_object *api_schema_objecthistory(void);
json_object *api_schema_session(void);
json_object *api_schema_previewgrant(void);
json_object *api_schema_preview_access(void);
