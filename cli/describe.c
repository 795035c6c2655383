/* SPDX-License-Identifier: Apache-2.0 */
/*
 * describe, as kubectl describe shows a custom resource: the object's metadata, its spec and status as
 * indented "Field Name: value" lines, its conditions as a table, and the Events about it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonutil.h"
#include "timestamp.h"

#define MAX_EVENTS 50

/* "templateRef" -> "Template Ref", as kubectl describe names fields */
static void title(const char *key, char *out, size_t size) {
        size_t n = 0;
        for (const char *c = key; *c && n + 2 < size; c++) {
                if (c != key && isupper((unsigned char) *c) && !isupper((unsigned char) c[-1]))
                        out[n++] = ' ';
                out[n++] = c == key ? (char) toupper((unsigned char) *c) : *c;
        }
        out[n] = '\0';
}

/* "5m", "3h", "2d": how long ago an RFC 3339 time was */
static const char *age(const char *when, char *out, size_t size) {
        struct timestamp t, now;
        int64_t ns = 0;
        if (!when || timestamp_parse(when, &t, NULL) < 0 || timestamp_now(&now) < 0 ||
                timestamp_diff(&now, &t, &ns) < 0) {
                snprintf(out, size, "%s", "<unknown>");
                return out;
        }
        int64_t s = ns / 1000000000;
        if (s < 120)
                snprintf(out, size, "%llds", (long long) s);
        else if (s < 7200)
                snprintf(out, size, "%lldm", (long long) (s / 60));
        else if (s < 2 * 86400)
                snprintf(out, size, "%lldh", (long long) (s / 3600));
        else
                snprintf(out, size, "%lldd", (long long) (s / 86400));
        return out;
}

static const char *str(json_object *o, const char *path) {
        const char *s = NULL;
        return json_get_string(o, path, JSON_OPTIONAL, &s, NULL) > 0 ? s : "";
}

static void fields(json_object *v, int indent);

static void scalar(json_object *v, int indent) {
        const char *s = json_object_get_type(v) == json_type_string
                                ? json_object_get_string(v)
                                : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (!strchr(s, '\n')) {
                printf("%s\n", s);
                return;
        }
        putchar('\n'); /* several lines (a check's output): indented below the field */
        for (const char *line = s; *line;) {
                const char *end = strchrnul(line, '\n');
                printf("%*s%.*s\n", indent + 2, "", (int) (end - line), line);
                line = *end ? end + 1 : end;
        }
}

static void fields(json_object *v, int indent) {
        char name[128];
        int width = 0; /* the values of one level line up, as kubectl's */
        json_object_object_foreach (v, k, kv) {
                enum json_type ty = json_object_get_type(kv);
                title(k, name, sizeof(name));
                if (ty != json_type_object && ty != json_type_array && (int) strlen(name) > width)
                        width = (int) strlen(name);
        }
        json_object_object_foreach (v, key, val) {
                if (indent == 2 && strcmp(key, "conditions") == 0)
                        continue; /* a table of their own */
                title(key, name, sizeof(name));
                enum json_type ty = json_object_get_type(val);
                if (ty == json_type_object) {
                        printf("%*s%s:\n", indent, "", name);
                        fields(val, indent + 2);
                } else if (ty == json_type_array) {
                        printf("%*s%s:\n", indent, "", name);
                        for (size_t i = 0; i < json_object_array_length(val); i++) {
                                json_object *e = json_object_array_get_idx(val, i);
                                if (json_object_get_type(e) == json_type_object) {
                                        printf("%*s-\n", indent + 2, "");
                                        fields(e, indent + 4);
                                } else {
                                        printf("%*s", indent + 2, "");
                                        scalar(e, indent + 2);
                                }
                        }
                } else {
                        printf("%*s%s:  %*s", indent, "", name, width - (int) strlen(name), "");
                        scalar(val, indent);
                }
        }
}

static void map_line(json_object *obj, const char *path, const char *label) {
        json_object *m = NULL;
        bool first = true;
        printf("%-13s", label);
        if (json_get_object(obj, path, JSON_OPTIONAL, &m, NULL) > 0) {
                json_object_object_foreach (m, k, v) {
                        printf("%*s%s=%s\n", first ? 0 : 13, "", k, json_object_get_string(v));
                        first = false;
                }
        }
        if (first)
                puts("<none>");
}

static void conditions(json_object *obj) {
        json_object *cs = NULL;
        char a[32];
        if (json_get_array(obj, "status.conditions", JSON_OPTIONAL, &cs, NULL) <= 0 ||
                json_object_array_length(cs) == 0)
                return;
        puts("Conditions:");
        printf("  %-22s %-8s %-28s %-6s %s\n", "Type", "Status", "Reason", "Age", "Message");
        printf("  %-22s %-8s %-28s %-6s %s\n", "----", "------", "------", "---", "-------");
        for (size_t i = 0; i < json_object_array_length(cs); i++) {
                json_object *c = json_object_array_get_idx(cs, i);
                printf("  %-22s %-8s %-28s %-6s %s\n", str(c, "type"), str(c, "status"), str(c, "reason"),
                        age(str(c, "lastTransitionTime"), a, sizeof(a)), str(c, "message"));
        }
}

/* the Events whose involvedObject is this object, newest last (as kubectl describe) */
static void events(struct cli_ctx *x, json_object *obj, const char *ns) {
        char sel[128];
        json_object *list = NULL, *items = NULL;
        struct kube_resource r = {.version = "v1", .resource = "events", .namespace = ns};
        snprintf(sel, sizeof(sel), "involvedObject.uid=%s", str(obj, "metadata.uid"));
        struct kube_list_opts o = {.field_selector = sel, .limit = MAX_EVENTS};
        if (kube_list(x->c, &r, &o, &list, NULL) < 0) {
                puts("Events:        <cannot be read>");
                return;
        }
        if (json_get_array(list, "items", JSON_OPTIONAL, &items, NULL) <= 0 ||
                json_object_array_length(items) == 0) {
                puts("Events:        <none>");
                json_object_put(list);
                return;
        }
        char a[32];
        puts("Events:");
        printf("  %-8s %-24s %-6s %-20s %s\n", "Type", "Reason", "Age", "From", "Message");
        printf("  %-8s %-24s %-6s %-20s %s\n", "----", "------", "---", "----", "-------");
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *e = json_object_array_get_idx(items, i);
                const char *when = str(e, "lastTimestamp");
                if (!*when)
                        when = str(e, "eventTime");
                const char *from = str(e, "source.component");
                if (!*from)
                        from = str(e, "reportingComponent");
                printf("  %-8s %-24s %-6s %-20s %s\n", str(e, "type"), str(e, "reason"),
                        age(when, a, sizeof(a)), from, str(e, "message"));
        }
        json_object_put(list);
}

int cli_describe(struct cli_ctx *x, const struct cli_kind *k, const char *name) {
        struct merr err = MERR_INIT;
        json_object *obj = NULL;
        struct kube_resource r = {.group = k->group,
                .version = k->version,
                .resource = k->resource,
                .namespace = k->cluster_scoped ? NULL : x->ns,
                .name = name};
        char a[32];
        if (kube_get(x->c, &r, &obj, &err) < 0)
                return cli_error(x, "get", k, name, &err);
        printf("%-13s%s\n", "Name:", name);
        if (!k->cluster_scoped)
                printf("%-13s%s\n", "Namespace:", x->ns);
        map_line(obj, "metadata.labels", "Labels:");
        map_line(obj, "metadata.annotations", "Annotations:");
        printf("%-13s%s/%s\n", "API Version:", k->group, k->version);
        printf("%-13s%s\n", "Kind:", k->kind);
        printf("%-13s%s (%s ago)\n", "Created:", str(obj, "metadata.creationTimestamp"),
                age(str(obj, "metadata.creationTimestamp"), a, sizeof(a)));
        /* the rest of the object: spec, status, and the top-level fields of kinds without a spec */
        json_object_object_foreach (obj, key, val) {
                if (strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0 ||
                        strcmp(key, "metadata") == 0)
                        continue;
                char t[128];
                title(key, t, sizeof(t));
                if (json_object_get_type(val) == json_type_object) {
                        printf("%s:\n", t);
                        fields(val, 2);
                } else {
                        json_object *wrap = json_object_new_object();
                        json_object_object_add(wrap, key, json_object_get(val));
                        fields(wrap, 0);
                        json_object_put(wrap);
                }
        }
        conditions(obj);
        events(x, obj, k->cluster_scoped ? NULL : x->ns);
        json_object_put(obj);
        return 0;
}
