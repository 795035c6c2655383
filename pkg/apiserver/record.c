/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A resource's rows as its objects and as metav1 Tables, which kubectl get asks for (Accept:
 * application/json;as=Table;g=meta.k8s.io), both as its entry in the resource table describes them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "timestamp.h"

bool api_wants_table(struct httpd_request *req) {
        const char *accept = httpd_request_header(req, "Accept");
        return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

void api_age(const char *rfc3339, char *buf, size_t size) {
        struct timestamp t, now;
        int64_t d = 0;
        timestamp_now(&now);
        if (timestamp_parse(rfc3339, &t, NULL) < 0 || timestamp_diff(&now, &t, &d) < 0) {
                snprintf(buf, size, "<unknown>");
                return;
        }
        int64_t s = d / 1000000000;
        if (s < 120)
                snprintf(buf, size, "%" PRId64 "s", s < 0 ? 0 : s);
        else if (s < 7200)
                snprintf(buf, size, "%" PRId64 "m", s / 60);
        else if (s < 172800)
                snprintf(buf, size, "%" PRId64 "h", s / 3600);
        else
                snprintf(buf, size, "%" PRId64 "d", s / 86400);
}

/* The value v of row, or NULL when it is absent. */
static json_object *value(const struct api_value *v, PGresult *res, int row) {
        const char *text = v->type == API_FUNC ? "" : PQgetvalue(res, row, v->col);
        char buf[400];
        switch (v->type) {
        case API_STRING:
                return json_object_new_string(text);
        case API_STRING_SET:
                return *text ? json_object_new_string(text) : NULL;
        case API_INT:
                return json_object_new_int64(strtoll(text, NULL, 10));
        case API_INT_SET:
                return *text ? json_object_new_int64(strtoll(text, NULL, 10)) : NULL;
        case API_INT_POSITIVE: {
                long long n = strtoll(text, NULL, 10);
                return n > 0 ? json_object_new_int64(n) : NULL;
        }
        case API_BOOL:
                return json_object_new_boolean(text[0] == 't');
        case API_POSITIVE:
                return json_object_new_boolean(strtoll(text, NULL, 10) > 0);
        case API_MAP: {
                json_object *m = json_tokener_parse(text);
                if (m && json_object_is_type(m, json_type_object) && json_object_object_length(m) > 0)
                        return m;
                json_object_put(m);
                return NULL;
        }
        case API_JSON: {
                json_object *o = json_tokener_parse(text);
                return o ? o : json_object_new_object();
        }
        case API_AGE:
                api_age(text, buf, sizeof(buf));
                return json_object_new_string(buf);
        case API_DOTTED:
                snprintf(buf, sizeof(buf), "%s.%s", text, PQgetvalue(res, row, v->col2));
                return json_object_new_string(buf);
        case API_FUNC:
                return v->func(res, row);
        }
        return NULL;
}

/* o[path] = v (taken), making the objects on the way unless in_parent. */
static void put_path(json_object *o, const char *path, json_object *v, bool in_parent) {
        char key[64];
        for (;;) {
                size_t n = strcspn(path, ".");
                snprintf(key, sizeof(key), "%.*s", (int) n, path);
                if (path[n] == '\0') {
                        json_object_object_add(o, key, v);
                        return;
                }
                json_object *next = NULL;
                if (!json_object_object_get_ex(o, key, &next)) {
                        if (in_parent && !strchr(path + n + 1, '.')) {
                                json_object_put(v);
                                return;
                        }
                        next = json_object_new_object();
                        json_object_object_add(o, key, next);
                }
                o = next;
                path += n + 1;
        }
}

json_object *api_record(const struct api_resource *r, PGresult *res, int row) {
        json_object *o = json_object_new_object();
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", r->kind);
        for (const struct api_field_out *f = r->fields; f->path; f++) {
                json_object *v = value(&f->value, res, row);
                if (v)
                        put_path(o, f->path, v, f->in_parent);
        }
        return o;
}

static json_object *column(const struct api_table_column *c) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(c->name));
        json_object_object_add(o, "type", json_object_new_string(c->type));
        json_object_object_add(o, "format", json_object_new_string(c->format));
        json_object_object_add(o, "description", json_object_new_string(c->description));
        json_object_object_add(o, "priority", json_object_new_int(0));
        return o;
}

/* Adds a row (takes cells) with its object's metadata, as kubectl reads it (--show-labels). */
static void add_row(
        json_object *rows, json_object *cells, const struct api_row_meta *m, PGresult *res, int row) {
        json_object *r = json_object_new_object(), *obj = json_object_new_object(),
                    *meta = json_object_new_object();
        json_object_object_add(r, "cells", cells);
        json_object_object_add(obj, "kind", json_object_new_string("PartialObjectMetadata"));
        json_object_object_add(obj, "apiVersion", json_object_new_string("meta.k8s.io/v1"));
        json_object_object_add(meta, "name",
                json_object_new_string(json_object_get_string(json_object_array_get_idx(cells, 0))));
        json_object_object_add(meta, "namespace", json_object_new_string(PQgetvalue(res, row, m->ns)));
        json_object_object_add(
                meta, "uid", json_object_new_string(m->uid >= 0 ? PQgetvalue(res, row, m->uid) : ""));
        json_object_object_add(
                meta, "creationTimestamp", json_object_new_string(PQgetvalue(res, row, m->created)));
        if (m->labels >= 0) {
                json_object *labels = value(&(struct api_value){API_MAP, m->labels, 0, NULL}, res, row);
                if (labels)
                        json_object_object_add(meta, "labels", labels);
        }
        json_object_object_add(obj, "metadata", meta);
        json_object_object_add(r, "object", obj);
        json_object_array_add(rows, r);
}

json_object *api_table(const struct api_resource *r, PGresult *res, int from, int to) {
        json_object *t = json_object_new_object(), *meta = json_object_new_object(),
                    *cols = json_object_new_array(), *rows = json_object_new_array();
        json_object_object_add(t, "kind", json_object_new_string("Table"));
        json_object_object_add(t, "apiVersion", json_object_new_string("meta.k8s.io/v1"));
        json_object_object_add(meta, "resourceVersion", json_object_new_string(""));
        json_object_object_add(t, "metadata", meta);
        for (const struct api_table_column *c = r->columns; c->name; c++)
                json_object_array_add(cols, column(c));
        json_object_object_add(t, "columnDefinitions", cols);
        for (int i = from; i < to; i++) {
                json_object *cells = json_object_new_array();
                for (const struct api_table_column *c = r->columns; c->name; c++)
                        json_object_array_add(cells, value(&c->value, res, i));
                add_row(rows, cells, &r->row, res, i);
        }
        json_object_object_add(t, "rows", rows);
        return t;
}
