/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access log of previews: what went through a sandbox's preview ports (the gateway for browsers, the
 * sandboxes/NAME/proxy subresource for API clients), aggregated so that a busy app does not write a row per
 * request. One row per namespace, sandbox (name and uid), port, user, grant, way in and minute: how many
 * requests, how many answers of each status class, bytes each way, the first and last request and the
 * longest. mbox-apiserver, which proxies them, is the only writer: it adds up hits in memory and adds each
 * window's counts to its row a batch at a time (store_preview_access_add), so a window that spans two
 * flushes is one row. Rows outlive their sandbox and go with the retention of task records (retention.h),
 * counted from their last request.
 *
 * A row's creation and each later addition take the next number of one sequence, its resourceVersion, and
 * commit in that order: a watch sees ADDED when a window's first hits are stored and MODIFIED with its
 * newest counts after that.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "merr.h"
#include "store/source.h"
#include "store/store.h"

/* The advisory lock of the table's versions (store_versioned()). */
#define STORE_LOCK_PREVIEW_ACCESSES "7238201940"

#define STORE_PREVIEW_ACCESS_BATCH 500 /* windows one statement adds at most */

/* One window's counts for one key. Strings are borrowed; the caller bounds them. */
struct store_preview_access {
        const char *namespace, *sandbox, *sandbox_uid, *port;
        const char *user;  /* "" for an anonymous request to a Public port */
        const char *grant; /* the preview grant that admitted it, "" for none */
        const char *via;   /* "Gateway" or "Proxy" */
        int64_t window;    /* the start of its minute, in seconds since the epoch */
        int64_t requests;
        int64_t classes[5]; /* answers with status 1xx, 2xx, 3xx, 4xx, 5xx */
        int64_t bytes_in, bytes_out;
        int64_t first_us, last_us; /* the first and last request, in microseconds since the epoch */
        int64_t max_duration_us;   /* the longest request */
};

/* Adds the n windows of rows (keys all different) to their rows, creating those that are new, in one
 * statement and transaction: all or none. Callers pass at most STORE_PREVIEW_ACCESS_BATCH at a time.
 * -EBADMSG when the database refuses a value (via neither Gateway nor Proxy, a string that is not UTF-8):
 * sending the same windows again cannot succeed. */
int store_preview_access_add(
        PGconn *conn, const struct store_preview_access *rows, size_t n, struct merr *err);

/* Reads: every window, listed in the order they were first stored, a record's resourceVersion its newest
 * change. The columns of its select and events: */
extern const struct store_source store_preview_access_source;
enum {
        STORE_PREVIEW_ACCESS_RV,
        STORE_PREVIEW_ACCESS_TYPE,
        STORE_PREVIEW_ACCESS_VERSION,
        STORE_PREVIEW_ACCESS_NS,
        STORE_PREVIEW_ACCESS_NAME, /* <sandbox>.<port>.<YYYYMMDDhhmm>.<8 hex digits of the rest of the key> */
        STORE_PREVIEW_ACCESS_UID,
        STORE_PREVIEW_ACCESS_SANDBOX,
        STORE_PREVIEW_ACCESS_SANDBOX_UID,
        STORE_PREVIEW_ACCESS_PORT,
        STORE_PREVIEW_ACCESS_USER,
        STORE_PREVIEW_ACCESS_GRANT,
        STORE_PREVIEW_ACCESS_WHO, /* the user, else grant:<id>, else anonymous */
        STORE_PREVIEW_ACCESS_VIA,
        STORE_PREVIEW_ACCESS_WINDOW,     /* RFC 3339, the start of the minute */
        STORE_PREVIEW_ACCESS_WINDOW_END, /* a minute later */
        STORE_PREVIEW_ACCESS_REQUESTS,
        STORE_PREVIEW_ACCESS_1XX,
        STORE_PREVIEW_ACCESS_2XX,
        STORE_PREVIEW_ACCESS_3XX,
        STORE_PREVIEW_ACCESS_4XX,
        STORE_PREVIEW_ACCESS_5XX,
        STORE_PREVIEW_ACCESS_BYTES_IN,
        STORE_PREVIEW_ACCESS_BYTES_OUT,
        STORE_PREVIEW_ACCESS_FIRST, /* RFC 3339 with microseconds */
        STORE_PREVIEW_ACCESS_LAST,
        STORE_PREVIEW_ACCESS_FIRST_S, /* the first request to the second: the record's creation */
        STORE_PREVIEW_ACCESS_MAX_DURATION_US,
};
