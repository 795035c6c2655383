/* SPDX-License-Identifier: Apache-2.0 */
/* metav1 Table output, which kubectl get asks for (Accept: application/json;as=Table;g=meta.k8s.io). */
#include <inttypes.h>
#include <stdio.h>
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

json_object *api_column(const char *name, const char *type, const char *format, const char *desc) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "name", json_object_new_string(name));
        json_object_object_add(c, "type", json_object_new_string(type));
        json_object_object_add(c, "format", json_object_new_string(format));
        json_object_object_add(c, "description", json_object_new_string(desc));
        json_object_object_add(c, "priority", json_object_new_int(0));
        return c;
}

json_object *api_table(json_object *columns) {
        json_object *t = json_object_new_object(), *meta = json_object_new_object();
        json_object_object_add(t, "kind", json_object_new_string("Table"));
        json_object_object_add(t, "apiVersion", json_object_new_string("meta.k8s.io/v1"));
        json_object_object_add(meta, "resourceVersion", json_object_new_string(""));
        json_object_object_add(t, "metadata", meta);
        json_object_object_add(t, "columnDefinitions", columns);
        json_object_object_add(t, "rows", json_object_new_array());
        return t;
}

json_object *api_table_row(json_object *table, json_object *cells, const char *ns, const char *name,
        const char *uid, const char *created) {
        json_object *rows = NULL, *row = json_object_new_object(), *obj = json_object_new_object(),
                    *m = json_object_new_object();
        json_object_object_get_ex(table, "rows", &rows);
        json_object_object_add(row, "cells", cells);
        json_object_object_add(obj, "kind", json_object_new_string("PartialObjectMetadata"));
        json_object_object_add(obj, "apiVersion", json_object_new_string("meta.k8s.io/v1"));
        json_object_object_add(m, "name", json_object_new_string(name));
        json_object_object_add(m, "namespace", json_object_new_string(ns));
        json_object_object_add(m, "uid", json_object_new_string(uid));
        json_object_object_add(m, "creationTimestamp", json_object_new_string(created));
        json_object_object_add(obj, "metadata", m);
        json_object_object_add(row, "object", obj);
        json_object_array_add(rows, row);
        return m;
}
