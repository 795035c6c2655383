/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/liststream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonutil.h"

/* Nesting allowed inside one item or one top-level value, as for a whole response (KUBE_MAX_JSON_DEPTH). */
#define LIST_MAX_DEPTH 128

enum state {
        LS_BEGIN,       /* before the list's '{' */
        LS_KEY_OR_END,  /* after '{': a key or '}' */
        LS_KEY,         /* in a key of the list */
        LS_COLON,       /* after a key */
        LS_VALUE,       /* before a value of the list */
        LS_IN_VALUE,    /* in a string, object or array value other than the items */
        LS_IN_SCALAR,   /* in a number, true, false or null */
        LS_NEXT_OR_END, /* after a value: ',' or '}' */
        LS_KEY_NEXT,    /* after ',': a key */
        LS_ITEMS_FIRST, /* after "items":[ : an item or ']' */
        LS_ITEMS_NEXT,  /* after an item: ',' or ']' */
        LS_ITEMS_ITEM,  /* after ',' in the items: an item */
        LS_IN_ITEM,     /* in an item */
        LS_END,         /* after the list's '}': only whitespace */
};

/* Where a byte goes: nowhere (whitespace and commas between items), the list's text, or the item's. */
enum dest {
        D_NONE,
        D_META,
        D_ITEM,
};

enum key {
        KEY_OTHER,
        KEY_ITEMS,
        KEY_KIND,
        KEY_API_VERSION,
};

struct kube_list_stream {
        enum state st;
        bool in_string, escape;
        int depth; /* open brackets in the current item or value */
        char stack[LIST_MAX_DEPTH];
        struct buf item; /* the item being assembled */
        struct buf meta; /* the list without its items */
        size_t off;      /* bytes fed before this call */
        size_t items;    /* delivered so far */
        size_t key_at;   /* in meta, where the current key starts */
        size_t value_at; /* in meta, where the current value starts */
        enum key key;
        char *kind, *api_version; /* the list's, once seen */
        struct kube_item_type type;
        int error; /* < 0 after a failure */
};

int kube_item_type_set(struct kube_item_type *t, const char *list_kind, const char *list_api_version) {
        size_t n;

        kube_item_type_release(t);
        if (!list_kind || !list_api_version)
                return 0;
        n = strlen(list_kind);
        if (n <= 4 || strcmp(list_kind + n - 4, "List") != 0)
                return 0;
        t->kind = json_object_new_string_len(list_kind, (int) (n - 4));
        t->api_version = json_object_new_string(list_api_version);
        if (!t->kind || !t->api_version) {
                kube_item_type_release(t);
                return -ENOMEM;
        }
        return 1;
}

static int add_shared(json_object *obj, const char *key, json_object *v) {
        if (json_object_object_add(obj, key, json_object_get(v)) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int kube_item_type_apply(const struct kube_item_type *t, json_object *item) {
        int r;

        if (!t->kind || !t->api_version || !json_object_is_type(item, json_type_object) ||
                json_object_object_get_ex(item, "kind", NULL))
                return 0;
        r = add_shared(item, "apiVersion", t->api_version);
        if (r >= 0)
                r = add_shared(item, "kind", t->kind);
        return r;
}

void kube_item_type_release(struct kube_item_type *t) {
        json_object_put(t->kind);
        json_object_put(t->api_version);
        t->kind = t->api_version = NULL;
}

int kube_list_stream_new(size_t max_item_bytes, struct kube_list_stream **ret) {
        struct kube_list_stream *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        buf_init(&s->item, max_item_bytes);
        buf_init(&s->meta, KUBE_LIST_MAX_META);
        *ret = s;
        return 0;
}

struct kube_list_stream *kube_list_stream_free(struct kube_list_stream *s) {
        if (!s)
                return NULL;
        buf_release(&s->item);
        buf_release(&s->meta);
        free(s->kind);
        free(s->api_version);
        kube_item_type_release(&s->type);
        free(s);
        return NULL;
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static enum dest dest_of(const struct kube_list_stream *s, char c) {
        switch (s->st) {
        case LS_ITEMS_FIRST:
        case LS_ITEMS_NEXT:
        case LS_ITEMS_ITEM:
                return c == ']' ? D_META : c == '{' ? D_ITEM : D_NONE;
        case LS_IN_ITEM:
                return D_ITEM;
        case LS_END:
                return D_NONE;
        default:
                return D_META;
        }
}

static int too_big(const struct kube_list_stream *s, enum dest d, struct merr *err) {
        if (d == D_ITEM)
                return merr_set(err, -E2BIG, "list response: items[%zu] is larger than %zu bytes", s->items,
                        s->item.max);
        return merr_set(err, -E2BIG, "list response: the list outside its items is larger than %zu bytes",
                s->meta.max);
}

/* Whether n more bytes for d stay within its cap. */
static bool fits(const struct kube_list_stream *s, enum dest d, size_t n) {
        const struct buf *b = d == D_ITEM ? &s->item : &s->meta;

        return d == D_NONE || (b->len <= b->max && n <= b->max - b->len);
}

static int flush(struct kube_list_stream *s, enum dest d, const char *p, size_t n, struct merr *err) {
        int r;

        if (d == D_NONE || n == 0)
                return 0;
        r = buf_append(d == D_ITEM ? &s->item : &s->meta, p, n);
        if (r == -ENOBUFS)
                return too_big(s, d, err);
        return r < 0 ? merr_set(err, r, "out of memory") : 0;
}

static int unexpected(const struct kube_list_stream *s, const char *data, size_t len, size_t i,
        const char *want, struct merr *err) {
        char what[MERR_QUOTE_SIZE];

        return merr_set(err, -EINVAL, "list response: offset %zu: expected %s, got %s", s->off + i, want,
                merr_describe_at(data, len, i, what, sizeof(what)));
}

/* One byte inside an item or a nested value. Returns 1 when it closes the item or value, 0 otherwise,
 * -E2BIG when nesting too deep, -EINVAL for a bracket that closes what was not opened. */
static int nest(struct kube_list_stream *s, char c) {
        if (s->in_string) {
                if (s->escape)
                        s->escape = false;
                else if (c == '\\')
                        s->escape = true;
                else if (c == '"') {
                        s->in_string = false;
                        return s->depth == 0;
                }
                return 0;
        }
        switch (c) {
        case '"':
                s->in_string = true;
                return 0;
        case '{':
        case '[':
                if (s->depth >= LIST_MAX_DEPTH)
                        return -E2BIG;
                s->stack[s->depth++] = c;
                return 0;
        case '}':
        case ']':
                if (s->depth == 0 || s->stack[s->depth - 1] != (c == '}' ? '{' : '['))
                        return -EINVAL;
                s->depth--;
                return s->depth == 0;
        default:
                return 0;
        }
}

static void nest_start(struct kube_list_stream *s) {
        s->depth = 0;
        s->in_string = s->escape = false;
}

/* Parses meta[from..] (one JSON value of the list: a key or a short value). */
static int parse_meta(struct kube_list_stream *s, size_t from, json_object **ret, struct merr *err) {
        int r = json_parse(s->meta.data + from, s->meta.len - from, LIST_MAX_DEPTH, ret, err);

        return r < 0 ? merr_wrap(err, r, "list response") : 0;
}

static int key_done(struct kube_list_stream *s, struct merr *err) {
        _cleanup_json_ json_object *k = NULL;
        const char *p;
        size_t n;
        int r;

        r = parse_meta(s, s->key_at, &k, err);
        if (r < 0)
                return r;
        p = json_object_get_string(k);
        n = (size_t) json_object_get_string_len(k);
        s->key = n == 5 && memcmp(p, "items", 5) == 0          ? KEY_ITEMS
                 : n == 4 && memcmp(p, "kind", 4) == 0         ? KEY_KIND
                 : n == 10 && memcmp(p, "apiVersion", 10) == 0 ? KEY_API_VERSION
                                                               : KEY_OTHER;
        return 0;
}

static int value_done(struct kube_list_stream *s, struct merr *err) {
        _cleanup_json_ json_object *v = NULL;
        char **dst;
        int r;

        if (s->key != KEY_KIND && s->key != KEY_API_VERSION)
                return 0;
        r = parse_meta(s, s->value_at, &v, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_string))
                return 0; /* not a type the items can take; kept in the list as it is */
        dst = s->key == KEY_KIND ? &s->kind : &s->api_version;
        free(*dst);
        *dst = strdup(json_object_get_string(v));
        if (!*dst)
                return merr_set(err, -ENOMEM, "out of memory");
        r = kube_item_type_set(&s->type, s->kind, s->api_version);
        return r < 0 ? merr_set(err, r, "out of memory") : 0;
}

static int item_done(struct kube_list_stream *s, kube_list_item_fn fn, void *userdata, struct merr *err) {
        _cleanup_(json_stream_freep) struct json_stream *js = NULL;
        _cleanup_json_ json_object *o = NULL;
        int r;

        /* parsed as kube_request() parses a body: the same checks, the hash tables compacted */
        r = json_stream_new(LIST_MAX_DEPTH, JSON_PARSE_COMPACT, &js);
        if (r < 0)
                return merr_set(err, r, "out of memory");
        r = json_stream_feed(js, s->item.data, s->item.len, err);
        if (r >= 0)
                r = json_stream_finish(js, &o, err);
        buf_reset(&s->item);
        if (r < 0)
                return merr_wrap(err, r, "list response: items[%zu]", s->items);
        r = kube_item_type_apply(&s->type, o);
        if (r < 0)
                return merr_set(err, r, "out of memory");
        s->items++;
        r = fn ? fn(o, userdata) : 0;
        return r < 0 ? r : 0;
}

int kube_list_stream_feed(struct kube_list_stream *s, const char *data, size_t len, kube_list_item_fn fn,
        void *userdata, struct merr *err) {
        const char *run = data; /* the bytes not yet appended, all going to rd */
        enum dest rd = s->st == LS_IN_ITEM ? D_ITEM : D_NONE;
        int delivered = 0, r = 0;

        if (s->error < 0)
                return merr_set(err, s->error, "list response: decoding already failed");
        for (size_t i = 0; i < len; i++) {
                char c;
                enum dest d;
                enum { EV_NONE, EV_KEY, EV_VALUE, EV_ITEM } ev = EV_NONE;

                /* most of a list is strings inside items: skip to what can end one */
                if (s->st == LS_IN_ITEM && s->in_string && !s->escape) {
                        while (i < len && data[i] != '"' && data[i] != '\\')
                                i++;
                        if (i == len)
                                break;
                }
                c = data[i];
                d = dest_of(s, c);
                if (d != rd) {
                        r = flush(s, rd, run, (size_t) (data + i - run), err);
                        if (r < 0)
                                goto fail;
                        run = data + i;
                        rd = d;
                }
                /* the cap holds at the byte that crosses it, however the body is cut into chunks */
                if (!fits(s, rd, (size_t) (data + i + 1 - run))) {
                        r = too_big(s, rd, err);
                        goto fail;
                }
        again:
                switch (s->st) {
                case LS_BEGIN:
                        if (is_ws(c))
                                break;
                        if (c != '{') {
                                r = unexpected(s, data, len, i, "a JSON object", err);
                                goto fail;
                        }
                        s->st = LS_KEY_OR_END;
                        break;
                case LS_KEY_OR_END:
                case LS_KEY_NEXT:
                        if (is_ws(c))
                                break;
                        if (c == '"') {
                                s->key_at = s->meta.len + (size_t) (data + i - run);
                                s->escape = false;
                                s->st = LS_KEY;
                                break;
                        }
                        if (c == '}' && s->st == LS_KEY_OR_END) {
                                s->st = LS_END;
                                break;
                        }
                        r = unexpected(
                                s, data, len, i, s->st == LS_KEY_OR_END ? "a key or '}'" : "a key", err);
                        goto fail;
                case LS_KEY:
                        if (s->escape)
                                s->escape = false;
                        else if (c == '\\')
                                s->escape = true;
                        else if (c == '"')
                                ev = EV_KEY;
                        break;
                case LS_COLON:
                        if (is_ws(c))
                                break;
                        if (c != ':') {
                                r = unexpected(s, data, len, i, "':'", err);
                                goto fail;
                        }
                        s->st = LS_VALUE;
                        break;
                case LS_VALUE:
                        if (is_ws(c))
                                break;
                        s->value_at = s->meta.len + (size_t) (data + i - run);
                        if (c == '[' && s->key == KEY_ITEMS) {
                                s->st = LS_ITEMS_FIRST;
                                break;
                        }
                        if (c == ',' || c == '}' || c == ']' || c == ':') {
                                r = unexpected(s, data, len, i, "a value", err);
                                goto fail;
                        }
                        nest_start(s);
                        if (c == '"' || c == '{' || c == '[') {
                                (void) nest(s, c);
                                s->st = LS_IN_VALUE;
                        } else
                                s->st = LS_IN_SCALAR;
                        break;
                case LS_IN_VALUE:
                        r = nest(s, c);
                        if (r < 0) {
                                r = unexpected(s, data, len, i,
                                        r == -E2BIG ? "at most 128 levels of nesting" : "a matching bracket",
                                        err);
                                goto fail;
                        }
                        if (r > 0)
                                ev = EV_VALUE;
                        break;
                case LS_IN_SCALAR:
                        if (c != ',' && c != '}' && !is_ws(c))
                                break;
                        /* the value ended before this byte, which belongs to what follows it */
                        r = flush(s, rd, run, (size_t) (data + i - run), err);
                        if (r < 0)
                                goto fail;
                        run = data + i;
                        r = value_done(s, err);
                        if (r < 0)
                                goto fail;
                        s->st = LS_NEXT_OR_END;
                        goto again;
                case LS_NEXT_OR_END:
                        if (is_ws(c))
                                break;
                        if (c == ',')
                                s->st = LS_KEY_NEXT;
                        else if (c == '}')
                                s->st = LS_END;
                        else {
                                r = unexpected(s, data, len, i, "',' or '}'", err);
                                goto fail;
                        }
                        break;
                case LS_ITEMS_FIRST:
                case LS_ITEMS_ITEM:
                        if (is_ws(c))
                                break;
                        if (c == '{') {
                                nest_start(s);
                                (void) nest(s, c);
                                s->st = LS_IN_ITEM;
                                break;
                        }
                        if (c == ']' && s->st == LS_ITEMS_FIRST) {
                                s->st = LS_NEXT_OR_END;
                                break;
                        }
                        r = unexpected(s, data, len, i, "an object in items", err);
                        goto fail;
                case LS_ITEMS_NEXT:
                        if (is_ws(c))
                                break;
                        if (c == ',')
                                s->st = LS_ITEMS_ITEM;
                        else if (c == ']')
                                s->st = LS_NEXT_OR_END;
                        else {
                                r = unexpected(s, data, len, i, "',' or ']' after an item", err);
                                goto fail;
                        }
                        break;
                case LS_IN_ITEM:
                        r = nest(s, c);
                        if (r < 0) {
                                r = unexpected(s, data, len, i,
                                        r == -E2BIG ? "at most 128 levels of nesting" : "a matching bracket",
                                        err);
                                goto fail;
                        }
                        if (r > 0)
                                ev = EV_ITEM;
                        break;
                case LS_END:
                        if (!is_ws(c)) {
                                r = unexpected(s, data, len, i, "the end of the response", err);
                                goto fail;
                        }
                        break;
                }
                if (ev == EV_NONE)
                        continue;
                /* the byte that completed something belongs to it */
                r = flush(s, rd, run, (size_t) (data + i + 1 - run), err);
                if (r < 0)
                        goto fail;
                run = data + i + 1;
                switch (ev) {
                case EV_KEY:
                        r = key_done(s, err);
                        s->st = LS_COLON;
                        break;
                case EV_VALUE:
                        r = value_done(s, err);
                        s->st = LS_NEXT_OR_END;
                        break;
                case EV_ITEM:
                        r = item_done(s, fn, userdata, err);
                        s->st = LS_ITEMS_NEXT;
                        if (r >= 0)
                                delivered++;
                        break;
                default:
                        break;
                }
                if (r < 0)
                        goto fail;
        }
        r = flush(s, rd, run, (size_t) (data + len - run), err);
        if (r < 0)
                goto fail;
        s->off += len;
        return delivered;
fail:
        s->error = r;
        return r;
}

int kube_list_stream_finish(struct kube_list_stream *s, json_object **ret, struct merr *err) {
        json_object *list = NULL;
        int r;

        if (s->error < 0)
                return merr_set(err, s->error, "list response: decoding already failed");
        switch (s->st) {
        case LS_END:
                break;
        case LS_BEGIN:
                return s->error = merr_set(err, -EPIPE, "list response is empty");
        case LS_IN_ITEM:
                return s->error = merr_set(err, -EPIPE,
                               "list response ended inside items[%zu] (%zu bytes of it received)", s->items,
                               s->item.len);
        default:
                return s->error = merr_set(
                               err, -EPIPE, "list response ended before the list did (%zu bytes)", s->off);
        }
        r = json_parse(s->meta.data, s->meta.len, LIST_MAX_DEPTH, &list, err);
        if (r < 0)
                return s->error = merr_wrap(err, r, "list response (outside the items)");
        buf_release(&s->item);
        buf_release(&s->meta);
        s->error = -EALREADY;
        *ret = list;
        return 0;
}
