/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/artifact.h"
#include "buf.h"

#define BODY_DEPTH 16 /* an Artifact is four levels deep; anything deeper is refused while decoding */

/* The fields an Artifact has, as a tree: name, and its children for objects (NULL-terminated). */
struct field {
        const char *name;
        const struct field *children; /* NULL: a leaf; FREE: any keys (labels, status) */
};
static const struct field FREE[] = {{NULL, NULL}};
static const struct field TASK[] = {{"name", NULL}, {"uid", NULL}, {NULL, NULL}};
static const struct field SPEC[] = {{"kind", NULL}, {"name", NULL}, {"uri", NULL}, {"path", NULL},
        {"contentType", NULL}, {"sizeBytes", NULL}, {"digest", NULL}, {"task", TASK}, {"sandbox", NULL},
        {"pod", NULL}, {NULL, NULL}};
/* ObjectMeta: what a client may send; the server sets or ignores what is not name, labels, annotations */
static const struct field META[] = {{"name", NULL}, {"generateName", NULL}, {"namespace", NULL},
        {"labels", FREE}, {"annotations", FREE}, {"uid", NULL}, {"resourceVersion", NULL},
        {"generation", NULL}, {"creationTimestamp", NULL}, {"deletionTimestamp", NULL},
        {"deletionGracePeriodSeconds", NULL}, {"finalizers", FREE}, {"ownerReferences", FREE},
        {"managedFields", FREE}, {"selfLink", NULL}, {NULL, NULL}};
static const struct field ROOT[] = {{"apiVersion", NULL}, {"kind", NULL}, {"metadata", META}, {"spec", SPEC},
        {"status", FREE}, {NULL, NULL}};

/* Appends `unknown field "path"` for each key of o that fields does not have (as the API server words it). */
static void unknown_fields(json_object *o, const char *path, const struct field *fields, struct buf *out) {
        if (!o || !json_object_is_type(o, json_type_object) || fields == FREE)
                return;
        json_object_object_foreach (o, k, v) {
                const struct field *f = fields;
                char p[API_PATH_MAX];
                while (f->name && strcmp(f->name, k) != 0)
                        f++;
                api_path(p, sizeof(p), path, k);
                if (!f->name)
                        (void) buf_printf(out, "%sunknown field \"%s\"", out->len ? ", " : "", p);
                else if (f->children)
                        unknown_fields(v, p, f->children, out);
        }
}

/* Drops what unknown_fields() would report. */
static void drop_unknown(json_object *o, const struct field *fields) {
        if (!o || !json_object_is_type(o, json_type_object) || fields == FREE)
                return;
        bool again = true;
        while (again) { /* deleting while iterating is not allowed: one at a time */
                again = false;
                json_object_object_foreach (o, k, v) {
                        const struct field *f = fields;
                        while (f->name && strcmp(f->name, k) != 0)
                                f++;
                        if (!f->name) {
                                json_object_object_del(o, k);
                                again = true;
                                break;
                        }
                        if (f->children)
                                drop_unknown(v, f->children);
                }
        }
}

static bool is_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[n] == '\0';
}

/* scheme://rest (RFC 3986 scheme), printable ASCII without spaces; for workspace:// an absolute path
 * without . or .. segments, returned in *path; never session:// (recordings, which no client creates). */
static void check_uri(const char *uri, const char **path, struct api_errors *e) {
        size_t n = strspn(uri, "abcdefghijklmnopqrstuvwxyz0123456789+.-");
        *path = NULL;
        if (n == 0 || !(uri[0] >= 'a' && uri[0] <= 'z') || strncmp(uri + n, "://", 3) != 0 ||
                uri[n + 3] == '\0') {
                api_errors_add(e, "spec.uri",
                        "Invalid value: \"%.128s\": must be a URI such as "
                        "workspace:///workspace/out/report.json",
                        uri);
                return;
        }
        for (const char *p = uri; *p; p++)
                if (*p <= ' ' || *p == 0x7f) {
                        api_errors_add(e, "spec.uri",
                                "Invalid value: \"%.128s\": must not contain spaces or "
                                "control characters",
                                uri);
                        return;
                }
        if (strncmp(uri, ARTIFACT_SESSION, strlen(ARTIFACT_SESSION)) == 0) {
                api_errors_add(e, "spec.uri",
                        "Forbidden: a session:// URI names the recording of a terminal session, which "
                        "mbox-apiserver registers itself when the session ends; it cannot be created");
                return;
        }
        if (strncmp(uri, ARTIFACT_WORKSPACE, strlen(ARTIFACT_WORKSPACE)) != 0)
                return;
        const char *p = uri + strlen(ARTIFACT_WORKSPACE);
        if (*p != '/') {
                api_errors_add(e, "spec.uri",
                        "Invalid value: \"%.128s\": a workspace URI has an empty host and an absolute path "
                        "(workspace:///workspace/...)",
                        uri);
                return;
        }
        for (const char *s = p; *s;) {
                s++;
                size_t seg = strcspn(s, "/");
                if ((seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.') ||
                        (seg == 0 && s[0] == '/')) {
                        api_errors_add(e, "spec.uri",
                                "Invalid value: \"%.128s\": the path must not have empty, . or .. segments",
                                uri);
                        return;
                }
                s += seg;
        }
        *path = p;
}

static void parse_spec(json_object *spec, struct api_artifact *a, struct api_errors *e) {
        static const struct api_str_rule kind = {.max_len = 63, .pattern = API_PAT_DNS_LABEL},
                                         title = {.max_len = 253}, uri = {.required = true, .max_len = 4096},
                                         path = {.max_len = 4096, .pattern = API_PAT_ABS_PATH},
                                         media = {.max_len = 255, .pattern = API_PAT_MEDIA_TYPE},
                                         digest = {.max_len = 7 + 128},
                                         object = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN},
                                         uid = {.max_len = 36};
        json_object *task = NULL;
        const char *wpath = NULL;
        if (api_get_str(spec, "kind", "spec", &kind, &a->kind, e) == 0 && !api_has(spec, "kind"))
                a->kind = api_strdup("file", e);
        (void) api_get_str(spec, "name", "spec", &title, &a->title, e);
        if (api_get_str(spec, "uri", "spec", &uri, &a->uri, e) > 0)
                check_uri(a->uri, &wpath, e);
        if (api_get_str(spec, "path", "spec", &path, &a->path, e) > 0 && wpath && strcmp(a->path, wpath) != 0)
                api_errors_add(e, "spec.path",
                        "Invalid value: \"%.128s\": must be the path of spec.uri (%.128s)", a->path, wpath);
        if (!a->path && wpath)
                a->path = api_strdup(wpath, e);
        (void) api_get_str(spec, "contentType", "spec", &media, &a->content_type, e);
        a->has_size = api_get_int(spec, "sizeBytes", "spec", false, 0, INT64_MAX, &a->size_bytes, e) > 0;
        if (api_get_str(spec, "digest", "spec", &digest, &a->digest, e) > 0 &&
                !(strncmp(a->digest, "sha256:", 7) == 0 && strlen(a->digest) == 7 + 64 &&
                        is_hex(a->digest + 7, 64)) &&
                !(strncmp(a->digest, "sha512:", 7) == 0 && strlen(a->digest) == 7 + 128 &&
                        is_hex(a->digest + 7, 128)))
                api_errors_add(e, "spec.digest",
                        "Invalid value: \"%.80s\": must be sha256:<64 hex digits> or sha512:<128 hex digits>",
                        a->digest);
        if (api_get_obj(spec, "task", "spec", false, &task, e) > 0) {
                struct api_str_rule required = object;
                required.required = true;
                (void) api_get_str(task, "name", "spec.task", &required, &a->task_name, e);
                (void) api_get_str(task, "uid", "spec.task", &uid, &a->task_uid, e);
        }
        (void) api_get_str(spec, "sandbox", "spec", &object, &a->sandbox, e);
        (void) api_get_str(spec, "pod", "spec", &object, &a->pod, e);
}

static void parse_meta(json_object *obj, struct api_artifact *a, struct api_errors *e) {
        static const struct api_str_rule name = {.max_len = 253, .pattern = API_PAT_DNS_SUBDOMAIN},
                                         prefix = {.max_len = 253 - 5}, any = {.max_len = 0},
                                         ns = {.max_len = 63, .pattern = API_PAT_DNS_LABEL};
        json_object *md = NULL;
        char *s = NULL;
        if (api_get_str(obj, "apiVersion", "", &any, &s, e) > 0 && strcmp(s, ARTIFACT_API_VERSION) != 0)
                api_errors_add(e, "apiVersion", "Unsupported value: \"%.64s\": supported values: \"%s\"", s,
                        ARTIFACT_API_VERSION);
        free(s);
        s = NULL;
        if (api_get_str(obj, "kind", "", &any, &s, e) > 0 && strcmp(s, "Artifact") != 0)
                api_errors_add(e, "kind", "Unsupported value: \"%.64s\": supported values: \"Artifact\"", s);
        free(s);
        s = NULL;
        (void) api_get_obj(obj, "metadata", "", false, &md, e);
        (void) api_get_str(md, "name", "metadata", &name, &a->name, e);
        if (api_get_str(md, "generateName", "metadata", &prefix, &a->generate_name, e) > 0) {
                char probe[260];
                snprintf(probe, sizeof(probe), "%sx0x0x", a->generate_name);
                if (!api_is_dns_subdomain(probe))
                        api_errors_add(e, "metadata.generateName",
                                "Invalid value: \"%.64s\": a name made from it would not be a lowercase RFC "
                                "1123 subdomain",
                                a->generate_name);
        }
        if (!api_has(md, "name") && !api_has(md, "generateName"))
                api_errors_add(e, "metadata.name", "Required value: name or generateName is required");
        (void) api_get_str(md, "namespace", "metadata", &ns, &a->namespace, e);
        if (api_get_str(md, "resourceVersion", "metadata", &any, &s, e) > 0 && *s)
                api_errors_add(
                        e, "metadata.resourceVersion", "Forbidden: must not be set to create an object");
        free(s);
        (void) api_get_map(md, "labels", "metadata", true, &a->labels, e);
        (void) api_get_map(md, "annotations", "metadata", false, &a->annotations, e);
}

/* One JSON object that is all of data, into *ret; fields an Artifact does not have are an error (strict) or
 * dropped. */
static int decode(
        const char *data, size_t len, bool strict, json_object **ret, char **dropped, struct merr *err) {
        json_tokener *tok = json_tokener_new_ex(BODY_DEPTH);
        json_object *obj = NULL;
        int r = 0;
        if (!tok)
                return merr_set(err, -ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        if (len > 0 && len < INT32_MAX)
                obj = json_tokener_parse_ex(tok, data, (int) len);
        if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
                json_tokener_get_parse_end(tok) != len)
                r = merr_set(err, -EBADMSG, "the body is not one JSON object%s%s",
                        obj || len == 0 ? "" : ": ",
                        obj || len == 0 ? "" : json_tokener_error_desc(json_tokener_get_error(tok)));
        else if (!json_object_is_type(obj, json_type_object))
                r = merr_set(err, -EBADMSG, "the body is not a JSON object");
        else {
                _cleanup_(buf_release) struct buf unknown = BUF_INIT(4096);
                unknown_fields(obj, "", ROOT, &unknown);
                if (unknown.len && strict)
                        r = merr_set(err, -EBADMSG, "strict decoding error: %s", buf_str(&unknown));
                else if (unknown.len) {
                        drop_unknown(obj, ROOT);
                        *dropped = strdup(buf_str(&unknown));
                }
        }
        json_tokener_free(tok);
        if (r < 0)
                json_object_put(obj);
        else
                *ret = obj;
        return r;
}

int api_artifact_parse(
        const char *data, size_t len, bool strict, struct api_artifact *ret, struct merr *err) {
        struct api_errors e = API_ERRORS_INIT;
        struct api_artifact a = {0};
        json_object *obj = NULL, *spec = NULL;
        int r = decode(data, len, strict, &obj, &a.dropped, err);
        if (r < 0)
                return r;
        parse_meta(obj, &a, &e);
        if (api_get_obj(obj, "spec", "", true, &spec, &e) > 0)
                parse_spec(spec, &a, &e);
        r = api_errors_to_merr(&e, err);
        api_errors_release(&e);
        json_object_put(obj);
        if (r < 0)
                api_artifact_release(&a);
        else
                *ret = a;
        return r;
}

void api_artifact_release(struct api_artifact *a) {
        if (!a)
                return;
        free(a->name);
        free(a->generate_name);
        free(a->namespace);
        api_map_release(&a->labels);
        api_map_release(&a->annotations);
        free(a->kind);
        free(a->title);
        free(a->uri);
        free(a->path);
        free(a->content_type);
        free(a->digest);
        free(a->task_name);
        free(a->task_uid);
        free(a->sandbox);
        free(a->pod);
        free(a->dropped);
        *a = (struct api_artifact){0};
}

/* Merges the patch's map (an object or null) into m. */
static void merge_map(json_object *m, json_object *patch) {
        if (!patch) { /* null: all gone */
                while (json_object_object_length(m) > 0) {
                        struct json_object_iterator it = json_object_iter_begin(m);
                        json_object_object_del(m, json_object_iter_peek_name(&it));
                }
                return;
        }
        json_object_object_foreach (patch, k, v) {
                if (v)
                        json_object_object_add(m, k, json_object_get(v));
                else
                        json_object_object_del(m, k);
        }
}

int api_artifact_merge_meta(const char *data, size_t len, bool strict, json_object *labels,
        json_object *annotations, struct api_artifact_patch *ret, struct merr *err) {
        static const struct api_str_rule any = {.max_len = 253};
        struct api_errors e = API_ERRORS_INIT;
        struct api_artifact_patch p = {0};
        json_object *md = NULL, *v = NULL;
        int r = decode(data, len, strict, &p.doc, &p.dropped, err);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(p.doc, "apiVersion", &v) &&
                !(json_object_is_type(v, json_type_string) &&
                        strcmp(json_object_get_string(v), ARTIFACT_API_VERSION) == 0))
                api_errors_add(&e, "apiVersion", "Invalid value: must be %s", ARTIFACT_API_VERSION);
        if (json_object_object_get_ex(p.doc, "kind", &v) &&
                !(json_object_is_type(v, json_type_string) &&
                        strcmp(json_object_get_string(v), "Artifact") == 0))
                api_errors_add(&e, "kind", "Invalid value: must be Artifact");
        if (json_object_object_get_ex(p.doc, "spec", NULL))
                api_errors_add(&e, "spec", "Forbidden: an artifact's spec does not change; create another");
        if (json_object_object_get_ex(p.doc, "status", NULL))
                api_errors_add(&e, "status", "Forbidden: set by the server");
        if (api_get_obj(p.doc, "metadata", "", false, &md, &e) > 0) {
                char *s = NULL;
                /* preconditions, borrowed from the patch */
                if (api_get_str(md, "resourceVersion", "metadata", &any, &s, &e) > 0)
                        p.resource_version =
                                json_object_get_string(json_object_object_get(md, "resourceVersion"));
                free(s);
                s = NULL;
                if (api_get_str(md, "uid", "metadata", &any, &s, &e) > 0)
                        p.uid = json_object_get_string(json_object_object_get(md, "uid"));
                free(s);
                s = NULL;
                if (api_get_str(md, "name", "metadata", &any, &s, &e) > 0)
                        p.name = json_object_get_string(json_object_object_get(md, "name"));
                free(s);
                const char *maps[] = {"labels", "annotations"};
                json_object *into[] = {labels, annotations};
                for (size_t i = 0; i < 2; i++) {
                        if (!json_object_object_get_ex(md, maps[i], &v))
                                continue;
                        if (v && !json_object_is_type(v, json_type_object)) {
                                api_errors_add(&e, i ? "metadata.annotations" : "metadata.labels",
                                        "Invalid value: must be an object or null");
                                continue;
                        }
                        merge_map(into[i], v);
                }
                /* the result must be valid labels and annotations */
                json_object *check = json_object_new_object();
                struct api_map m[2] = {{NULL, 0}, {NULL, 0}};
                json_object_object_add(check, "labels", json_object_get(labels));
                json_object_object_add(check, "annotations", json_object_get(annotations));
                (void) api_get_map(check, "labels", "metadata", true, &m[0], &e);
                (void) api_get_map(check, "annotations", "metadata", false, &m[1], &e);
                api_map_release(&m[0]);
                api_map_release(&m[1]);
                json_object_put(check);
        }
        r = api_errors_to_merr(&e, err);
        api_errors_release(&e);
        if (r < 0)
                api_artifact_patch_release(&p);
        else
                *ret = p;
        return r;
}

void api_artifact_patch_release(struct api_artifact_patch *p) {
        if (!p)
                return;
        json_object_put(p->doc);
        free(p->dropped);
        *p = (struct api_artifact_patch){0};
}
