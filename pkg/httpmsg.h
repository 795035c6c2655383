/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 messages as a proxy sees them (RFC 9112): the head of a request or a response parsed in place,
 * and where its body ends, so that bytes can be passed on as they come without holding a whole body.
 *
 *   struct http_head h;
 *   long n = http_head_parse(buf, len, HTTP_REQUEST, &h);   // 0: more bytes needed
 *   struct http_body b;
 *   http_body_init(&b, &h, HTTP_REQUEST, NULL);
 *   while (!http_body_done(&b)) { ... size_t take = http_body_feed(&b, data, n); forward take bytes ... }
 *
 * The parser is strict where lenience lets two readers of one message disagree (request smuggling): a
 * message with both Content-Length and Transfer-Encoding, several differing Content-Lengths, a
 * Transfer-Encoding other than a final "chunked", obs-fold, whitespace before a colon, or a bare CR are
 * refused. Heads are bounded by the caller's buffer and HTTP_MAX_HEADERS.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 100

enum http_kind { HTTP_REQUEST, HTTP_RESPONSE };

struct http_field {
        const char *name, *value; /* pointers into the parsed buffer, not NUL-terminated */
        size_t name_len, value_len;
};

struct http_head {
        /* request: method, target; response: status and reason. Not NUL-terminated. */
        const char *method, *target, *reason;
        size_t method_len, target_len, reason_len;
        int status;
        int minor; /* HTTP/1.<minor> */
        struct http_field fields[HTTP_MAX_HEADERS];
        size_t n_fields;
        size_t size; /* bytes of the head, the blank line included */
};

/* Parses the head at the start of buf. Returns its size (> 0), 0 when the blank line has not come yet, or
 * -EBADMSG for a malformed head, -E2BIG for more than HTTP_MAX_HEADERS fields. */
long http_head_parse(const char *buf, size_t len, enum http_kind kind, struct http_head *ret);

/* The value of the first field named name (case-insensitive), or NULL; its length in *len. */
const char *http_head_get(const struct http_head *h, const char *name, size_t *len);
/* Whether a comma-separated field (Connection, Upgrade) lists token, case-insensitively, in any of the
 * fields named name. */
bool http_head_has_token(const struct http_head *h, const char *name, const char *token);
/* Whether the field is one that concerns only this hop (Connection and what it names, Keep-Alive,
 * Proxy-*, TE, Trailer, Upgrade), which a proxy must not pass on. */
bool http_field_hop_by_hop(const struct http_head *h, const struct http_field *f);
/* Whether the connection stays open after this message (HTTP/1.1 without "Connection: close"). */
bool http_head_keep_alive(const struct http_head *h);

/* ---- bodies */

enum http_framing { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_UNTIL_CLOSE };

struct http_body {
        enum http_framing framing;
        uint64_t left; /* LENGTH: bytes to come; CHUNKED: bytes left of the current chunk's data */
        int state;     /* CHUNKED: where in the chunk syntax */
        unsigned line; /* CHUNKED: bytes of the current size or trailer line, bounded */
        bool done, bad;
};

/* How the body of the message h ends. For a response, request_method is the request's ("HEAD" has no
 * body) and status 1xx, 204 and 304 have none. Returns 0, or -EBADMSG for a framing that cannot be trusted
 * (the parser refuses those already, so only an invalid Content-Length gets here). */
int http_body_init(
        struct http_body *b, const struct http_head *h, enum http_kind kind, const char *request_method);
/* Looks at len bytes of body as they pass and returns how many of them belong to the body: fewer than len
 * once the body ends inside them (the rest is the next message). Sets b->bad (and returns what was good)
 * on malformed chunk syntax. HTTP_BODY_UNTIL_CLOSE takes everything. */
size_t http_body_feed(struct http_body *b, const char *data, size_t len);
/* Whether the whole body has passed. */
static inline bool http_body_done(const struct http_body *b) {
        return b->done;
}
