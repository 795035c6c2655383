/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An informer for one resource type: a reflector thread that lists (in pages) and then watches from the
 * list's resourceVersion, keeping a read-only cache of the objects, and calling handlers for each change.
 * A watch that ends is resumed from the newest resourceVersion seen (bookmarks included); an expired one
 * (410) leads to a relist, whose differences from the cache are delivered as adds, updates and deletes, so
 * the cache never loses or duplicates an object. Failures back off from 0.8 s to 30 s with jitter.
 *
 * Handlers run on the informer's thread and should only enqueue keys (workqueue.h); the objects they get
 * are borrowed for the call. Cache reads are safe from any thread and hand out copies
 * (json_object_put() them).
 *
 * The cache keeps each object as its compact JSON text (about the size of the object on the wire; a json-c
 * tree is ten times that) and builds a tree when one is asked for. metadata.managedFields is dropped from
 * every object, cached or handed to handlers, unless keep_managed_fields is set (as client-go users do with
 * a transform): it is most of a typical object's JSON and only server-side apply needs it.
 *
 * Keys are "namespace/name", or "name" for cluster-scoped objects, as client-go's MetaNamespaceKeyFunc.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"
#include "merr.h"

struct informer_handlers {
        void (*on_add)(const char *key, json_object *obj, void *userdata);
        void (*on_update)(const char *key, json_object *old_obj, json_object *new_obj, void *userdata);
        void (*on_delete)(const char *key, json_object *last_obj, void *userdata);
        void *userdata;
};

struct informer_options {
        const char *label_selector;
        const char *field_selector;
        long page_size;             /* list page size (default 500) */
        long watch_timeout_seconds; /* 0: random in [300, 600) as client-go */
        bool keep_managed_fields;   /* keep metadata.managedFields (dropped by default) */
        bool metadata_only;         /* cache PartialObjectMetadata: apiVersion, kind and metadata only */
};

struct informer;

/* Takes ownership of cfg (also on failure); copies r and the options' strings. */
int informer_new(struct kube_config *cfg, const struct kube_resource *r, const struct informer_options *o,
        const struct informer_handlers *h, struct informer **ret, struct merr *err);
/* Stops the thread if it runs, then frees. */
struct informer *informer_free(struct informer *inf);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct informer *, informer_free);

int informer_start(struct informer *inf, struct merr *err);
void informer_stop(struct informer *inf);
/* Asks the thread to stop without waiting for it. A request in flight notices within about a second (curl's
 * progress callback), so a program with many informers cancels them all, then stops each. */
void informer_cancel(struct informer *inf);

/* Waits until the first list has filled the cache; false on timeout. */
bool informer_wait_synced(struct informer *inf, long timeout_ms);

/* A deep copy of the cached object, owned by the caller, or NULL (absent or out of memory). A copy, not a
 * reference: json-c's reference counts are not thread-safe, so cached objects never leave the cache. */
json_object *informer_get(struct informer *inf, const char *key);
size_t informer_len(struct informer *inf);
/* Calls fn for every cached object in namespace ns (NULL: all), under the cache lock: fn must not call
 * back into the informer. obj is built for the call (from the cached text) and freed after it: borrowed, as
 * before, and not shared with anything else. */
void informer_foreach(struct informer *inf, const char *ns,
        void (*fn)(const char *key, json_object *obj, void *ud), void *ud);

/*
 * Indexes, as client-go's Indexers: an index function gives each object zero, one or several values, and
 * the informer keeps, for every value, the keys of the cached objects that have it, through adds, updates
 * (the old values dropped, the new ones added), deletes and relists. So "which ConfigMaps have label
 * app=web" or "which Pods does the ReplicaSet with this uid control" cost the number of matches, not a
 * scan of the cache. An index holds keys and values only, never objects.
 *
 * fn calls emit(value, ectx) for each of obj's values (a value emitted twice counts once; value is copied,
 * so it may point into obj). It runs on the reflector thread, for each object that is added or changes and
 * for the cached object it replaces, and must give the same values for the same object every time. ud is
 * passed through, borrowed for the informer's life.
 */
typedef void (*informer_emit_fn)(const char *value, void *ectx);
typedef void (*informer_index_fn)(json_object *obj, informer_emit_fn emit, void *ectx, void *ud);

#define INFORMER_MAX_INDEXES 16

/* Adds an index called name (copied) before informer_start(). -EBUSY once started, -EEXIST for a name
 * already there, -E2BIG beyond INFORMER_MAX_INDEXES, -ENOMEM. */
int informer_add_index(
        struct informer *inf, const char *name, informer_index_fn fn, void *ud, struct merr *err);

/* Calls fn for each cached object whose index has value, as informer_foreach() does (under the cache lock,
 * obj built for the call and borrowed). Returns how many objects fn was called for, -ENOENT for an index
 * that was never added, or -ENOMEM. */
int informer_index_foreach(struct informer *inf, const char *index, const char *value,
        void (*fn)(const char *key, json_object *obj, void *ud), void *ud);
/* The keys whose index has value, without building any object: a NULL-terminated array owned by the
 * caller (free each string, then the array; informer_keys_free() does both), in no particular order.
 * Returns their number, -ENOENT for an unknown index, or -ENOMEM. A controller that enqueues keys needs
 * nothing more. */
int informer_index_keys(struct informer *inf, const char *index, const char *value, char ***ret_keys);
char **informer_keys_free(char **keys);
/* How many cached objects have value in the index (0 for an unknown index). */
size_t informer_index_count(struct informer *inf, const char *index, const char *value);

/* Index functions for the common cases. informer_index_label: the value of the label named by ud (a const
 * char *), when the object has it. informer_index_controller_uid: the uid of the object's controller owner
 * (the ownerReference with controller: true), so a parent finds its children by its uid. */
void informer_index_label(json_object *obj, informer_emit_fn emit, void *ectx, void *ud);
void informer_index_controller_uid(json_object *obj, informer_emit_fn emit, void *ectx, void *ud);

/* How many lists the reflector has made (1 after the first sync; more after expiries). */
unsigned long informer_lists(struct informer *inf);

/* For tests of the relist path without a real 410 (which needs etcd compacted under a stopped API server):
 * informer_hold() makes the reflector stop once its current watch ends (a watch_timeout_seconds of a few
 * seconds keeps that short) and waits up to timeout_ms until it has, false on timeout; informer_release()
 * lets it go on with a relist, exactly as after a 410, so what changed meanwhile arrives as the relist's
 * differences. */
bool informer_hold(struct informer *inf, long timeout_ms);
void informer_release(struct informer *inf);

