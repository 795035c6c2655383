/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding of Kubernetes error responses: every non-2xx response body is read as a metav1.Status, never as
 * the success type (the mistake of kubernetes-client/c, its issues #89/#107).
 *
 * The HTTP code is mapped to one negative errno, so callers can branch without string compares:
 *
 *   HTTP  reason                          errno          caller's usual reaction
 *   400   BadRequest                      -EINVAL        fix the request
 *   401   Unauthorized                    -EPERM         credentials are wrong or expired
 *   403   Forbidden                       -EACCES        RBAC denies it
 *   404   NotFound                        -ENOENT        gone / not created yet
 *   405   MethodNotAllowed                -EOPNOTSUPP
 *   409   AlreadyExists                   -EEXIST        create of an existing name
 *   409   Conflict (any other 409)        -ESTALE        stale resourceVersion: re-read and retry
 *   410   Expired / Gone                  -ENODATA       continue token or resourceVersion too old: relist
 *   413   RequestEntityTooLarge           -E2BIG
 *   415   UnsupportedMediaType            -EPROTONOSUPPORT
 *   422   Invalid                         -EINVAL        details in causes[]
 *   429   TooManyRequests                 -EAGAIN        retry later
 *   5xx   InternalError, Timeout, ...     -EAGAIN        retry later
 *   other 4xx                             -EPROTO
 *
 * A body that is not a Status (the aggregator's plain-text "service unavailable", an HTML page from a
 * proxy, an empty body) still gives a clear error naming the HTTP code and the start of the body.
 */
#pragma once

#include <stddef.h>

#include "merr.h"

#define KUBE_ERROR_MAX_CAUSES 16

struct kube_error_cause {
        char reason[64]; /* "FieldValueInvalid", "FieldValueRequired", ... ("type" in older servers) */
        char field[256]; /* "spec.replicas"; empty when absent */
        char message[256];
};

/* A decoded metav1.Status. Plain data, no allocations: copy it, zero it, keep it on the stack. Strings are
 * always NUL-terminated and truncated when longer. */
struct kube_error {
        int http_code;   /* the HTTP status of the response (0 when there was no response) */
        int status_code; /* Status.code as the server wrote it (0 when absent) */
        char reason[64]; /* Status.reason: "NotFound", "Conflict", "AlreadyExists", "Invalid", ... */
        char message[1024];
        char kind[64]; /* details.kind and details.name, when present */
        char name[256];
        long retry_after; /* details.retryAfterSeconds, 0 when absent */
        size_t n_causes;  /* causes kept (at most KUBE_ERROR_MAX_CAUSES) */
        size_t n_causes_total;
        struct kube_error_cause causes[KUBE_ERROR_MAX_CAUSES];
        int code; /* the negative errno the response maps to */
};

/* The negative errno for an HTTP error code and Status reason (reason may be NULL), as in the table above.
 * 2xx and other codes below 400 give -EPROTO (they are not errors a caller should have passed here). */
int kube_errno_from_http(int http_code, const char *reason);

/*
 * Decodes the body data[0..len) of a response with HTTP status http_code (>= 300) as a metav1.Status.
 * Fills ret (optional) and err (optional) with a message such as
 *   "404 NotFound: configmaps \"web\" not found"
 *   "422 Invalid: ConfigMap \"x\" is invalid: metadata.name: Invalid value: ...; causes: metadata.name: ..."
 *   "503: response is not a Status: service unavailable"
 * and returns the mapped negative errno (never 0). A body that is not a Status is not an error of its own:
 * ret then has http_code, an empty reason and the start of the body as its message.
 */
int kube_status_decode(int http_code, const char *data, size_t len, struct kube_error *ret, struct merr *err);
