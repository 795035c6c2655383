/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every resource command shares: the kinds, the connection, one-line errors from a Status, and
 * kubectl's output formats. table and wide print the Table the server makes (as kubectl get asks for it:
 * the CRDs' printer columns, runtime.mbox.dev's own), json and yaml the objects (a List for several), name
 * kind.group/name. One printer serves every noun.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "cli.h"
#include "jsonutil.h"
#include "timestamp.h"

const struct cli_kind cli_projects = {"project", "mbox.dev", "v1alpha1", "projects", "Project", true},
                      cli_templates = {"template", "mbox.dev", "v1alpha1", "environmenttemplates",
                              "EnvironmentTemplate", false},
                      cli_sandboxes = {"sandbox", "mbox.dev", "v1alpha1", "sandboxes", "Sandbox", false},
                      cli_tasks = {"task", "mbox.dev", "v1alpha1", "executiontasks", "ExecutionTask", false},
                      cli_sessions = {"session", "runtime.mbox.dev", "v1alpha1", "sessions", "Session",
                              false},
                      cli_artifacts = {"artifact", "runtime.mbox.dev", "v1alpha1", "artifacts", "Artifact",
                              false},
                      cli_histories = {"history", "runtime.mbox.dev", "v1alpha1", "objecthistories",
                              "ObjectHistory", false};

const char *const cli_output_choices[] = {"table", "wide", "json", "yaml", "name", NULL};

/* what kubectl get sends: a Table, else the object */
#define ACCEPT_TABLE "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
#define PAGE         500 /* items per request, as kubectl's --chunk-size */
#define MAX_COLUMNS  32

int cli_open(const struct cli_target *t, struct cli_ctx *x) {
        struct merr err = MERR_INIT;
        x->t = t;
        x->c = NULL;
        if (cli_connect(t, &x->c, x->ns, &err) < 0)
                return cli_fail(&err);
        return 0;
}

void cli_close(struct cli_ctx *x) {
        x->c = kube_client_free(x->c);
}

int cli_usage_error(const char *prog, const char *what) {
        fprintf(stderr, "%s: %s (see --help)\n", prog, what);
        return 2;
}

const char *cli_where(const struct cli_ctx *x, const struct cli_kind *k, char *buf, size_t size) {
        if (k->cluster_scoped)
                snprintf(buf, size, "%s", "");
        else if (x->t->project)
                snprintf(buf, size, " in project %s", x->t->project);
        else
                snprintf(buf, size, " in namespace %s", x->ns);
        return buf;
}

static struct kube_resource resource(const struct cli_ctx *x, const struct cli_kind *k, const char *name) {
        return (struct kube_resource){.group = k->group,
                .version = k->version,
                .resource = k->resource,
                .namespace = k->cluster_scoped ? NULL : x->ns,
                .name = name};
}

/* The user a Forbidden Status names: `User "u" cannot ...` */
static void forbidden_user(const char *msg, char *out, size_t size) {
        const char *p = strstr(msg, "User \"");
        const char *end = p ? strchr(p + 6, '"') : NULL;
        if (p && end)
                snprintf(out, size, "user \"%.*s\"", (int) (end - p - 6), p + 6);
        else
                snprintf(out, size, "%s", "you");
}

int cli_error(const struct cli_ctx *x, const char *verb, const struct cli_kind *k, const char *name,
        const struct merr *err) {
        const struct kube_error *e = x->c ? kube_client_last_error(x->c) : NULL;
        char where[96], who[300], what[320];
        cli_where(x, k, where, sizeof(where));
        if (name)
                snprintf(what, sizeof(what), "%s \"%s\"", k->noun, name);
        else
                snprintf(what, sizeof(what), "%s", k->resource);
        if (!e || e->http_code == 0) /* no answer: the transport's reason */
                return cli_fail(err);
        const char *msg = e->message[0] ? e->message : merr_msg(err);
        switch (e->code) {
        case -ENOENT:
                if (name)
                        fprintf(stderr, "mbox: %s not found%s\n", what, where);
                else
                        fprintf(stderr, "mbox: the cluster serves no %s.%s (is mbox installed?)\n",
                                k->resource, k->group);
                return 1;
        case -EACCES:
                forbidden_user(msg, who, sizeof(who));
                fprintf(stderr, "mbox: forbidden: %s cannot %s %s%s\n", who, verb, k->resource, where);
                return 1;
        case -EPERM:
                fprintf(stderr, "mbox: unauthorized: the cluster did not accept the credentials of the "
                                "kubeconfig (log in again)\n");
                return 1;
        case -EEXIST:
                fprintf(stderr, "mbox: %s already exists%s\n", what, where);
                return 1;
        case -ESTALE:
                fprintf(stderr, "mbox: cannot %s %s: it changed meanwhile, try again\n", verb, what);
                return 1;
        default:
                break;
        }
        /* invalid and the rest: the server's own words, after the object it names */
        const char *p = strstr(msg, " is invalid: ");
        if (p)
                fprintf(stderr, "mbox: %s is invalid: %s\n", what, p + 13);
        else
                fprintf(stderr, "mbox: cannot %s %s%s: %s\n", verb, what, where, msg);
        return 1;
}

/* ---- table and wide: the server's Table ---- */

struct table {
        size_t ncols;
        int keep[MAX_COLUMNS]; /* the Table's column index of each printed column */
        char **cells;          /* rows × ncols, owned */
        size_t nrows, cap;
        size_t width[MAX_COLUMNS];
        bool header; /* columns taken from the first page */
};

static char *cell_text(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null: /* as kubectl: an empty cell */
                return strdup("");
        case json_type_string:
                return strdup(json_object_get_string(v));
        default:
                return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        }
}

static int table_add(struct table *t, char **row) {
        if (t->nrows == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                char **n = realloc(t->cells, cap * t->ncols * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                t->cells = n;
                t->cap = cap;
        }
        for (size_t i = 0; i < t->ncols; i++) {
                t->cells[t->nrows * t->ncols + i] = row[i];
                size_t w = row[i] ? strlen(row[i]) : 0;
                if (w > t->width[i])
                        t->width[i] = w;
        }
        t->nrows++;
        return 0;
}

/* One page of a Table into t; the first one sets the columns (and the header row). */
static int table_page(struct table *t, json_object *page, bool wide) {
        json_object *defs = NULL, *rows = NULL;
        if (json_get_array(page, "columnDefinitions", JSON_OPTIONAL, &defs, NULL) < 0 ||
                json_get_array(page, "rows", JSON_OPTIONAL, &rows, NULL) < 0)
                return -EPROTO;
        if (!t->header) {
                char *head[MAX_COLUMNS];
                size_t n = defs ? json_object_array_length(defs) : 0;
                for (size_t i = 0; i < n && t->ncols < MAX_COLUMNS; i++) {
                        json_object *d = json_object_array_get_idx(defs, i);
                        int64_t prio = 0;
                        const char *name = "";
                        (void) json_get_int64(d, "priority", JSON_OPTIONAL, &prio, NULL);
                        (void) json_get_string(d, "name", JSON_OPTIONAL, &name, NULL);
                        if (prio > 0 && !wide)
                                continue;
                        char *h = strdup(name);
                        for (char *c = h; c && *c; c++)
                                *c = (char) toupper((unsigned char) *c);
                        t->keep[t->ncols] = (int) i;
                        head[t->ncols++] = h;
                }
                t->header = true;
                if (t->ncols == 0)
                        return -EPROTO;
                if (table_add(t, head) < 0)
                        return -ENOMEM;
        }
        for (size_t r = 0; rows && r < json_object_array_length(rows); r++) {
                json_object *cells = NULL;
                char *row[MAX_COLUMNS];
                if (json_get_array(json_object_array_get_idx(rows, r), "cells", JSON_REQUIRED, &cells, NULL) <
                        0)
                        return -EPROTO;
                for (size_t i = 0; i < t->ncols; i++)
                        row[i] = cell_text(json_object_array_get_idx(cells, (size_t) t->keep[i]));
                if (table_add(t, row) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* kubectl's layout: columns padded to the widest cell, three spaces apart */
static void table_print(const struct table *t, size_t from) {
        for (size_t r = from; r < t->nrows; r++) {
                for (size_t i = 0; i < t->ncols; i++) {
                        const char *s = t->cells[r * t->ncols + i];
                        if (i + 1 < t->ncols)
                                printf("%-*s   ", (int) t->width[i], s ? s : "");
                        else
                                printf("%s\n", s ? s : "");
                }
        }
        fflush(stdout);
}

static void table_free(struct table *t) {
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        *t = (struct table){0};
}

/* ---- json, yaml, name ---- */

static bool needs_quotes(const char *s) {
        static const char *const words[] = {
                "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", NULL};
        char *end;
        if (!*s)
                return true;
        for (const char *const *w = words; *w; w++)
                if (strcasecmp(s, *w) == 0)
                        return true;
        (void) strtod(s, &end);
        if (*end == '\0' || isspace((unsigned char) s[0]))
                return true;
        /* a date reads back as a timestamp: quoted, as kubectl writes creationTimestamp */
        return strlen(s) >= 10 && isdigit((unsigned char) s[0]) && isdigit((unsigned char) s[3]) &&
               s[4] == '-' && s[7] == '-';
}

static int yaml_value(yaml_emitter_t *e, json_object *v) {
        yaml_event_t ev;
        switch (json_object_get_type(v)) {
        case json_type_object:
                yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
                if (!yaml_emitter_emit(e, &ev))
                        return -EIO;
                json_object_object_foreach (v, key, val) {
                        yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) key, (int) strlen(key),
                                1, 1,
                                needs_quotes(key) ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
                        if (!yaml_emitter_emit(e, &ev) || yaml_value(e, val) < 0)
                                return -EIO;
                }
                yaml_mapping_end_event_initialize(&ev);
                break;
        case json_type_array:
                yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
                if (!yaml_emitter_emit(e, &ev))
                        return -EIO;
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (yaml_value(e, json_object_array_get_idx(v, i)) < 0)
                                return -EIO;
                yaml_sequence_end_event_initialize(&ev);
                break;
        case json_type_string: {
                const char *s = json_object_get_string(v);
                yaml_scalar_style_t style = strchr(s, '\n')   ? YAML_LITERAL_SCALAR_STYLE
                                            : needs_quotes(s) ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                                              : YAML_ANY_SCALAR_STYLE;
                yaml_scalar_event_initialize(
                        &ev, NULL, NULL, (yaml_char_t *) s, (int) json_object_get_string_len(v), 1, 1, style);
                break;
        }
        default: {
                const char *s = json_object_get_type(v) == json_type_null
                                        ? "null"
                                        : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
                yaml_scalar_event_initialize(
                        &ev, NULL, NULL, (yaml_char_t *) s, (int) strlen(s), 1, 1, YAML_PLAIN_SCALAR_STYLE);
                break;
        }
        }
        return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
}

/* v as a YAML document on stdout, as kubectl -o yaml writes it */
static int print_yaml(json_object *v) {
        yaml_emitter_t e;
        yaml_event_t ev;
        int r = -EIO;
        if (!yaml_emitter_initialize(&e))
                return -ENOMEM;
        yaml_emitter_set_output_file(&e, stdout);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_width(&e, -1);
        yaml_emitter_set_indent(&e, 2);
        yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
        if (!yaml_emitter_emit(&e, &ev))
                goto out;
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        if (!yaml_emitter_emit(&e, &ev) || yaml_value(&e, v) < 0)
                goto out;
        yaml_document_end_event_initialize(&ev, 1);
        if (!yaml_emitter_emit(&e, &ev))
                goto out;
        yaml_stream_end_event_initialize(&ev);
        if (yaml_emitter_emit(&e, &ev))
                r = 0;
out:
        yaml_emitter_delete(&e);
        fflush(stdout);
        return r;
}

static void print_name(const struct cli_kind *k, json_object *obj) {
        const char *name = "";
        char kind[64];
        (void) json_get_string(obj, "metadata.name", JSON_OPTIONAL, &name, NULL);
        snprintf(kind, sizeof(kind), "%s", k->kind);
        for (char *c = kind; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        printf("%s.%s/%s\n", kind, k->group, name);
}

/* obj in json, yaml or name */
static int print_object(const struct cli_kind *k, enum cli_output out, json_object *obj) {
        json_object *md = NULL;
        /* as kubectl without --show-managed-fields */
        if (json_get_object(obj, "metadata", JSON_OPTIONAL, &md, NULL) > 0)
                json_object_object_del(md, "managedFields");
        json_object *items = NULL;
        if (json_get_array(obj, "items", JSON_OPTIONAL, &items, NULL) > 0)
                for (size_t i = 0; i < json_object_array_length(items); i++)
                        if (json_get_object(json_object_array_get_idx(items, i), "metadata", JSON_OPTIONAL,
                                    &md, NULL) > 0)
                                json_object_object_del(md, "managedFields");
        if (out == CLI_OUT_NAME)
                print_name(k, obj);
        else if (out == CLI_OUT_YAML)
                return print_yaml(obj);
        else
                puts(json_object_to_json_string_ext(obj,
                        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout); /* a watch's lines as they come */
        return 0;
}

int cli_print_done(const struct cli_ctx *x, const struct cli_kind *k, json_object *obj, const char *done) {
        if (x->out == CLI_OUT_TABLE || x->out == CLI_OUT_WIDE || !obj) {
                const char *name = "";
                (void) json_get_string(obj, "metadata.name", JSON_OPTIONAL, &name, NULL);
                printf("%s \"%s\" %s\n", k->noun, name, done);
                return 0;
        }
        return print_object(k, x->out, obj);
}

/* ---- get and list ---- */

struct collect {
        const struct cli_kind *k;
        enum cli_output out;
        json_object *items; /* json, yaml: the List's items */
        size_t n;
};

static int collect_item(json_object *item, void *ud) {
        struct collect *c = ud;
        c->n++;
        if (c->out == CLI_OUT_NAME) {
                print_name(c->k, item);
                return 0;
        }
        return json_object_array_add(c->items, json_object_get(item)) == 0 ? 0 : -ENOMEM;
}

static void none_found(const struct cli_ctx *x, const struct cli_kind *k) {
        char where[96];
        fprintf(stderr, "No %s found%s.\n", k->resource, cli_where(x, k, where, sizeof(where)));
}

/* One object's row comes from a list of its name, which takes the other selectors too; the columns are the
 * same as the whole list's. */
static int get_table(struct cli_ctx *x, const struct cli_kind *k, const char *name,
        const struct kube_list_opts *lo, struct merr *err) {
        struct kube_resource r = resource(x, k, NULL);
        struct kube_list_opts o = *lo;
        struct table t = {0};
        char *token = NULL, sel[512];
        int rc = 0;
        if (name) {
                snprintf(sel, sizeof(sel), "metadata.name=%s%s%s", name, lo->field_selector ? "," : "",
                        lo->field_selector ? lo->field_selector : "");
                o.field_selector = sel;
        }
        kube_client_set_accept(x->c, ACCEPT_TABLE);
        do {
                json_object *page = NULL;
                const char *next = NULL;
                o.continue_token = token;
                rc = kube_list(x->c, &r, &o, &page, err);
                if (rc >= 0 && (rc = table_page(&t, page, x->out == CLI_OUT_WIDE)) < 0)
                        rc = merr_set(err, rc, "the server's answer is not a Table");
                free(token);
                token = NULL;
                if (rc >= 0 && json_get_string(page, "metadata.continue", JSON_OPTIONAL, &next, NULL) > 0 &&
                        *next)
                        token = strdup(next);
                json_object_put(page);
        } while (rc >= 0 && token);
        kube_client_set_accept(x->c, NULL);
        if (rc >= 0 && t.nrows <= 1 && name) {
                /* not listed: the server's own answer for the name (404) */
                struct kube_resource one = resource(x, k, name);
                rc = kube_get(x->c, &one, NULL, err);
        }
        if (rc >= 0 && t.nrows <= 1 && !name)
                none_found(x, k);
        else if (rc >= 0 && t.nrows > 1)
                table_print(&t, 0);
        table_free(&t);
        return rc < 0 ? rc : 0;
}

int cli_get(struct cli_ctx *x, const struct cli_kind *k, const char *name, const char *label_selector,
        const char *field_selector) {
        struct merr err = MERR_INIT;
        struct kube_list_opts o = {
                .limit = PAGE, .label_selector = label_selector, .field_selector = field_selector};
        struct kube_resource r = resource(x, k, name);
        int rc;
        if (x->out == CLI_OUT_TABLE || x->out == CLI_OUT_WIDE) {
                rc = get_table(x, k, name, &o, &err);
                return rc < 0 ? cli_error(x, name ? "get" : "list", k, name, &err) : 0;
        }
        if (name) {
                json_object *obj = NULL;
                rc = kube_get(x->c, &r, &obj, &err);
                if (rc < 0)
                        return cli_error(x, "get", k, name, &err);
                rc = print_object(k, x->out, obj);
                json_object_put(obj);
                return rc < 0 ? 1 : 0;
        }
        struct collect c = {.k = k, .out = x->out, .items = json_object_new_array()};
        rc = kube_list_each(x->c, &r, &o, collect_item, &c, NULL, &err);
        if (rc < 0) {
                json_object_put(c.items);
                return cli_error(x, "list", k, NULL, &err);
        }
        if (x->out != CLI_OUT_NAME) {
                json_object *list = json_object_new_object();
                json_object_object_add(list, "apiVersion", json_object_new_string("v1"));
                json_object_object_add(list, "items", c.items);
                json_object_object_add(list, "kind", json_object_new_string("List"));
                json_object *md = json_object_new_object();
                json_object_object_add(md, "resourceVersion", json_object_new_string(""));
                json_object_object_add(list, "metadata", md);
                rc = print_object(k, x->out, list);
                json_object_put(list);
        } else {
                json_object_put(c.items);
                if (c.n == 0)
                        none_found(x, k);
        }
        return rc < 0 ? 1 : 0;
}

/* ---- delete ---- */

int cli_delete(struct cli_ctx *x, const struct cli_kind *k, const char *name, bool wait, int64_t timeout_ms) {
        struct merr err = MERR_INIT;
        struct kube_resource r = resource(x, k, name);
        struct kube_delete_opts o = {.propagation_policy = "Background", .grace_period_seconds = -1};
        if (kube_delete(x->c, &r, &o, NULL, &err) < 0)
                return cli_error(x, "delete", k, name, &err);
        /* until a get says it is gone (finalizers run first) */
        int64_t deadline = timestamp_monotonic_ms() + timeout_ms;
        int rc = 0;
        while (wait && (rc = kube_get(x->c, &r, NULL, &err)) >= 0 && timestamp_monotonic_ms() < deadline)
                usleep(250 * 1000);
        if (wait && rc >= 0) {
                fprintf(stderr, "mbox: %s \"%s\" is still there after the --timeout\n", k->noun, name);
                return 1;
        }
        if (wait && rc != -ENOENT)
                return cli_error(x, "get", k, name, &err);
        printf("%s \"%s\" deleted\n", k->noun, name);
        return 0;
}

/* ---- watch ---- */

struct follow {
        const struct cli_kind *k;
        enum cli_output out;
        struct table t;
        char *rv;       /* where the watch resumes */
        size_t printed; /* objects so far: YAML documents after the first start with --- */
};

static int follow_print(struct follow *f, json_object *obj) {
        if (f->out == CLI_OUT_YAML && f->printed > 0)
                fputs("---\n", stdout);
        f->printed++;
        return print_object(f->k, f->out, obj);
}

static int on_event(const struct kube_watch_event *ev, void *ud) {
        struct follow *f = ud;
        if (ev->type == KUBE_EVENT_ERROR)
                return -EPROTO;
        if (ev->resource_version) {
                free(f->rv);
                f->rv = strdup(ev->resource_version);
        }
        if (ev->type == KUBE_EVENT_BOOKMARK || !ev->object)
                return 0;
        if (f->out != CLI_OUT_TABLE && f->out != CLI_OUT_WIDE)
                return follow_print(f, ev->object);
        size_t from = f->t.header ? f->t.nrows : 0;
        if (table_page(&f->t, ev->object, f->out == CLI_OUT_WIDE) < 0)
                return -EPROTO;
        table_print(&f->t, from);
        return 0;
}

int cli_watch(
        struct cli_ctx *x, const struct cli_kind *k, const char *label_selector, const char *field_selector) {
        struct merr err = MERR_INIT;
        struct kube_resource r = resource(x, k, NULL);
        struct kube_list_opts lo = {.label_selector = label_selector, .field_selector = field_selector};
        struct follow f = {.k = k, .out = x->out};
        json_object *list = NULL, *items = NULL;
        const char *rv = NULL;
        bool table = x->out == CLI_OUT_TABLE || x->out == CLI_OUT_WIDE;
        /* what there is, then what changes after it, as kubectl get -w */
        kube_client_set_accept(x->c, table ? ACCEPT_TABLE : NULL);
        int rc = kube_list(x->c, &r, &lo, &list, &err);
        if (rc >= 0 && json_get_string(list, "metadata.resourceVersion", JSON_REQUIRED, &rv, &err) >= 0)
                f.rv = strdup(rv);
        if (rc >= 0 && table && table_page(&f.t, list, x->out == CLI_OUT_WIDE) >= 0)
                table_print(&f.t, 0);
        else if (rc >= 0 && json_get_array(list, "items", JSON_OPTIONAL, &items, NULL) > 0)
                for (size_t i = 0; i < json_object_array_length(items); i++)
                        (void) follow_print(&f, json_object_array_get_idx(items, i));
        json_object_put(list);
        while (rc >= 0 && f.rv) {
                struct kube_watch_opts o = {.resource_version = f.rv,
                        .label_selector = label_selector,
                        .field_selector = field_selector,
                        .timeout_seconds = 1800};
                rc = kube_watch(x->c, &r, &o, on_event, &f, &err);
        }
        kube_client_set_accept(x->c, NULL);
        table_free(&f.t);
        free(f.rv);
        return cli_error(x, "watch", k, NULL, &err);
}
