/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Kubernetes REST client over libcurl.
 *
 * One client holds one CURL easy handle, reused for every request, so connections are kept alive and
 * reused. TLS material comes from memory (CURLOPT_SSLCERT_BLOB, SSLKEY_BLOB, CAINFO_BLOB). Every response
 * body is size-capped; the HTTP status is checked before the body is decoded. A 2xx body is parsed as it
 * arrives (json_stream, with json_parse()'s checks, into a tree with compacted hash tables), never held
 * whole next to its tree (kube_list_each() goes further: one list item at a time); a non-2xx body is read
 * into a buffer (given back after a large one) and decoded as a metav1.Status (kube/status.h), whose errno
 * mapping callers branch on:
 * -ENOENT not found, -EEXIST already exists, -ESTALE conflict (re-read and retry), -ENODATA expired,
 * -EAGAIN retry later, -EACCES forbidden, -EPERM unauthorized, -EINVAL invalid (see status.h).
 * Transport failures: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -ECONNRESET, -EPROTO (TLS handshake or
 * verification), -EFBIG (body over the cap).
 *
 * Thread safety: a client is not thread-safe. Use one client per thread, or serialise calls on a shared
 * client with a mutex. Different clients share nothing (curl_global_init is done once, under pthread_once).
 *
 * Ownership: objects passed in are borrowed; objects returned through ret are owned by the caller
 * (json_object_put()). ret may be NULL when the caller does not want the response; ret is set only on
 * success, and may be set to NULL when a successful response had an empty body.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json_object.h>

#include "buf.h"
#include "kube/config.h"
#include "kube/liststream.h"
#include "kube/status.h"
#include "kube/watch.h"
#include "merr.h"

#define KUBE_DEFAULT_MAX_BODY   (64u * 1024 * 1024)
#define KUBE_DEFAULT_TIMEOUT_MS 30000L
#define KUBE_MAX_JSON_DEPTH     128

struct kube_client;

/* Creates a client; takes ownership of cfg (also on failure). */
int kube_client_new(struct kube_config *cfg, struct kube_client **ret, struct merr *err);
struct kube_client *kube_client_free(struct kube_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_client *, kube_client_free);

/* Whole-request timeout (0: none; default 30 s) and response body cap (default 64 MiB). */
void kube_client_set_timeout(struct kube_client *c, long timeout_ms);
void kube_client_set_max_body(struct kube_client *c, size_t max);

/* While *flag is true, requests (a long watch included) are abandoned within about a second with
 * -ECANCELED. The flag is borrowed; NULL removes it. */
void kube_client_set_cancel(struct kube_client *c, const atomic_bool *flag);

/* The Accept header of the requests that do not choose their own (kube_get_stream() and metadata-only
 * lists do), e.g. "application/json;as=Table;v=v1;g=meta.k8s.io, application/json" for kubectl get's
 * Tables; borrowed; NULL goes back to application/json. */
void kube_client_set_accept(struct kube_client *c, const char *accept);

/* Called once each request is over with its method, URL, HTTP status (0 when no answer came) and how long
 * it took, e.g. for a command's --verbose; NULL removes it. */
typedef void (*kube_trace_fn)(
        const char *method, const char *url, int http_code, double seconds, void *userdata);
void kube_client_set_trace(struct kube_client *c, kube_trace_fn fn, void *userdata);
/* For the requests that do not go through the client's own handle (a WebSocket's upgrade): whether a trace
 * is set, and a call of it. */
bool kube_client_traced(const struct kube_client *c);
void kube_client_trace(struct kube_client *c, const char *method, const char *url, int code, double seconds);

/* Requests go through t (kube/transport.h: one multiplexed connection for many clients) instead of the
 * client's own connection; NULL goes back to it. t is borrowed and must outlive the client's requests. */
struct kube_transport;
void kube_client_set_transport(struct kube_client *c, struct kube_transport *t);

/* The config in use (borrowed), e.g. for its namespace. */
const struct kube_config *kube_client_config(const struct kube_client *c);

/* How many connections the client has opened so far (keep-alive reuses one for many requests). */
unsigned long kube_client_connections(const struct kube_client *c);

/* The Status of the last failed request (http_code 0 when it failed before a response). Borrowed, valid
 * until the next request. */
const struct kube_error *kube_client_last_error(const struct kube_client *c);

/* Names a resource or collection. group NULL or "" is the core group (/api/v1). namespace NULL for
 * cluster-scoped resources (or all namespaces in a list); name NULL for the collection; subresource
 * ("status", "scale") needs a name. */
struct kube_resource {
        const char *group;
        const char *version;
        const char *resource; /* plural: "configmaps", "sandboxtemplates" */
        const char *namespace;
        const char *name;
        const char *subresource;
};

/* Appends the URL path of r ("/apis/g/v/namespaces/ns/res/name/sub"), each segment URL-escaped. */
int kube_resource_path(const struct kube_resource *r, struct buf *out, struct merr *err);

struct kube_list_opts {
        long limit;                 /* 0: no limit */
        const char *continue_token; /* from the previous page's metadata.continue */
        const char *label_selector;
        const char *field_selector;
        const char *resource_version;
        bool metadata_only; /* items as PartialObjectMetadata: metadata only, as client-go's metadata client */
};

struct kube_write_opts {
        bool dry_run;              /* dryRun=All */
        const char *field_manager; /* fieldManager; required for server-side apply */
        bool force;                /* force=true, server-side apply only */
};

struct kube_delete_opts {
        const char *propagation_policy; /* "Foreground", "Background", "Orphan" or NULL */
        const char *uid;                /* preconditions.uid */
        const char *resource_version;   /* preconditions.resourceVersion */
        long grace_period_seconds;      /* < 0: server default */
        bool dry_run;
};

enum kube_patch_type {
        KUBE_PATCH_MERGE,     /* application/merge-patch+json */
        KUBE_PATCH_JSON,      /* application/json-patch+json */
        KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types only) */
        KUBE_PATCH_APPLY,     /* application/apply-patch+yaml (server-side apply; JSON is YAML) */
};

int kube_get(struct kube_client *c, const struct kube_resource *r, json_object **ret, struct merr *err);
/* One page of a list; the next page's token is the result's metadata.continue. */
int kube_list(struct kube_client *c, const struct kube_resource *r, const struct kube_list_opts *o,
        json_object **ret, struct merr *err);
/*
 * Lists every page of a collection (from o->continue_token when set, o->limit items per page when set)
 * and calls fn for each item as the response arrives, the item borrowed for the call (json_object_get() it
 * to keep it): the list is never held whole, only one item at a time plus the list's metadata
 * (kube/liststream.h). Items get the apiVersion and kind their list omits. The client's body cap
 * (kube_client_set_max_body()) applies to each item, not to the whole list. o->resource_version applies to
 * the first page only (the continue token carries the snapshot after it).
 *
 * Returns 0, what fn returned when it stopped the list (< 0), or a negative errno; the items delivered
 * before an error stay delivered, so a caller that keeps them discards them on failure. A non-2xx answer
 * is decoded as a Status, as for kube_list(). ret_resource_version (may be NULL) receives the list's
 * metadata.resourceVersion (owned, free()), where a watch of the same collection starts; it is set only on
 * success, and a list without one is then an error. A page whose continue token is the one just sent ends
 * the list with -EPROTO rather than paging forever.
 */
int kube_list_each(struct kube_client *c, const struct kube_resource *r, const struct kube_list_opts *o,
        kube_list_item_fn fn, void *userdata, char **ret_resource_version, struct merr *err);
int kube_create(struct kube_client *c, const struct kube_resource *r, json_object *obj,
        const struct kube_write_opts *o, json_object **ret, struct merr *err);
/* PUT; obj carries metadata.resourceVersion for optimistic concurrency (-ESTALE when it is stale). */
int kube_update(struct kube_client *c, const struct kube_resource *r, json_object *obj,
        const struct kube_write_opts *o, json_object **ret, struct merr *err);
int kube_patch(struct kube_client *c, const struct kube_resource *r, enum kube_patch_type type,
        const char *patch, size_t len, const struct kube_write_opts *o, json_object **ret, struct merr *err);
/* Server-side apply of obj with o->field_manager (required) and o->force. */
int kube_apply(struct kube_client *c, const struct kube_resource *r, json_object *obj,
        const struct kube_write_opts *o, json_object **ret, struct merr *err);
/* ret receives the object (being deleted) or a Status, as the server answers. */
int kube_delete(struct kube_client *c, const struct kube_resource *r, const struct kube_delete_opts *o,
        json_object **ret, struct merr *err);

/*
 * The request under all of the above: method, a path with its query already escaped, an optional body
 * with its content type. 2xx bodies are parsed as JSON into ret; anything else is decoded as a Status.
 * Returns the HTTP code (2xx) on success.
 */
int kube_request(struct kube_client *c, const char *method, const char *path_and_query,
        const char *content_type, const char *body, size_t len, json_object **ret, struct merr *err);

/* A GET whose successful body is handed over as it arrives, never held (pods/log, a follow included). */
struct kube_stream_opts {
        const char *const
                *query; /* name, value, name, value, ..., NULL: the query, escaped here; NULL: none */
        /* once the answer is known to be a success, before any of its body (NULL: not told) */
        void (*on_start)(void *userdata);
        /* each piece of the body as it arrives; returning < 0 ends the request with that error */
        int (*on_data)(const char *data, size_t len, void *userdata);
        void *userdata;
        long timeout_ms; /* the whole request, body included (0: none); the client's timeout does not apply */
        /* set from another thread to abandon the request (seen within about a second: -ECANCELED); NULL:
         * the client's flag (kube_client_set_cancel()) */
        const atomic_bool *cancel;
};

/* GETs r (a subresource such as pods/log) and streams its 2xx body to o->on_data as it arrives. Returns 0
 * when the body has ended, what on_data returned when it stopped it, or a negative errno; a non-2xx answer
 * is decoded as a Status (kube_client_last_error()), as for every request, and then on_start was never
 * called. on_start and on_data run on the transport's thread when the client has one (keep them short). */
int kube_get_stream(struct kube_client *c, const struct kube_resource *r, const struct kube_stream_opts *o,
        struct merr *err);

struct kube_watch_opts {
        const char *resource_version; /* resume after this; NULL or "" for the current state first */
        const char *label_selector;
        const char *field_selector;
        long timeout_seconds;     /* the server ends the watch after this (default 300) */
        bool send_initial_events; /* streaming list: ADDED for every object, then the end bookmark */
        size_t max_event_bytes;   /* cap on one event (default: the client's body cap) */
        bool metadata_only;       /* objects as PartialObjectMetadata (see kube_list_opts) */
};

/* Watches a collection (bookmarks allowed) and calls cb for each event as it arrives, without buffering
 * the response. Returns 0 when the server ends the watch (timeout), what cb returned when it stopped the
 * watch (< 0), or a negative errno. A watch that is too old arrives as an ERROR event (see
 * kube_watch_event_is_expired()), not as an error return. */
int kube_watch(struct kube_client *c, const struct kube_resource *r, const struct kube_watch_opts *o,
        kube_watch_event_fn cb, void *userdata, struct merr *err);
