/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decoder of a Kubernetes list response body ({"kind":"ConfigMapList","apiVersion":"v1",
 * "metadata":{...},"items":[...]}), fed in chunks as they arrive.
 *
 * A byte-level scanner (strings and their escapes, nesting depth) finds each element of the top-level
 * "items" array; only that element is buffered, parsed with json-c (jsonutil.h's checks, hash tables
 * compacted) and handed to the callback. Everything outside the items (kind, apiVersion, metadata) is kept
 * as text, with the items left out, and parsed once the body has ended. So memory is one item at a time
 * plus the list's small metadata, whatever the number of items. Each item is capped (max_item_bytes), and
 * so is the text outside the items (KUBE_LIST_MAX_META), so a hostile or broken server cannot make the
 * client grow without bound.
 *
 *   struct kube_list_stream *s;
 *   kube_list_stream_new(4 << 20, &s);
 *   while (chunk arrives) kube_list_stream_feed(s, chunk, n, on_item, userdata, &err);
 *   kube_list_stream_finish(s, &list, &err);   // list: the response without its items
 *
 * on_item() receives each item borrowed for the duration of the call (json_object_get() it to keep it).
 * Items of built-in kinds come without apiVersion and kind; the decoder gives them those of their list
 * (kube_item_type below) when the list's kind and apiVersion came before the items, as the API server
 * always sends them.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "macro.h"
#include "merr.h"

/* Cap on the text of the list outside its items: kind, apiVersion, metadata and the array's brackets. */
#define KUBE_LIST_MAX_META (1024u * 1024)

/* Returns >= 0 to go on, or a negative errno to stop decoding (feed returns it). item is borrowed. */
typedef int (*kube_list_item_fn)(json_object *item, void *userdata);

/*
 * The apiVersion and kind that a list's items lack: for a list of kind "ConfigMapList" and apiVersion
 * "v1", kind "ConfigMap" and apiVersion "v1". Both are shared by every item they are given to (one string
 * each, referenced).
 */
struct kube_item_type {
        json_object *kind;        /* owned; both NULL unless both are known */
        json_object *api_version; /* owned */
};

/* Derives the items' type from the list's kind and apiVersion (either may be NULL). Returns 1 when both
 * are known, 0 when not (kube_item_type_apply() then does nothing), -ENOMEM. t is released first. */
int kube_item_type_set(struct kube_item_type *t, const char *list_kind, const char *list_api_version);
/* Gives item (an object without "kind") the apiVersion and kind of t; leaves an item that has a kind, or
 * one that is not an object, as it is. Returns 0 or -ENOMEM. */
int kube_item_type_apply(const struct kube_item_type *t, json_object *item);
void kube_item_type_release(struct kube_item_type *t);

struct kube_list_stream;

int kube_list_stream_new(size_t max_item_bytes, struct kube_list_stream **ret);
struct kube_list_stream *kube_list_stream_free(struct kube_list_stream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_list_stream *, kube_list_stream_free);

/*
 * Scans data, delivering every item it completes; keeps a partial one for the next call. Returns the
 * number of items delivered, or a negative errno: -EINVAL for a malformed body (the message names the byte
 * offset, or the item's index, and what is wrong), -E2BIG for an item over the cap or metadata over
 * KUBE_LIST_MAX_META, or what the callback returned. After an error the stream only repeats it.
 */
int kube_list_stream_feed(struct kube_list_stream *s, const char *data, size_t len, kube_list_item_fn fn,
        void *userdata, struct merr *err);

/*
 * The body ended. Checks that it held exactly one complete JSON object, and hands the list without its
 * items to the caller (*ret, owned: "items" is an empty array when the list had one). Returns 0, -EPIPE
 * when the body ended early (inside an item, or before the list's closing brace), -EINVAL when what was
 * outside the items is not valid JSON.
 */
int kube_list_stream_finish(struct kube_list_stream *s, json_object **ret, struct merr *err);
