/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the console's files share (console.c: the listener, its files, signing in; consoleproxy.c: the
 * proxy to kube-apiserver). docs/console.md describes the console; only pkg/apiserver includes this.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "apiserver/internal.h"

#define CONSOLE_COOKIE    "mbox_console"
#define CONSOLE_TOKEN_MAX 8192 /* bytes of a bearer token */

/* One browser connection, and the request on it. */
struct console_conn {
        struct api_listener *l;
        struct apiserver *s;
        int fd, slot;
        char in[API_HEAD_MAX];
        size_t in_len;
        struct http_head req; /* points into in: good until the head is consumed */
        char method[16];
        bool keep; /* the connection may carry another request after this one */
};

/* Sends a response of the console's own, with the security headers every answer carries. extra: more
 * header lines, each ending in CRLF (NULL: none). Closes the connection after it unless c->keep. */
void console_respond(struct console_conn *c, int status, const char *content_type, const char *extra,
        const void *body, size_t len);
/* A metav1.Status answer, as kube-apiserver writes its errors. */
void console_status(struct console_conn *c, int code, const char *reason, const char *extra, const char *fmt,
        ...) _printf_(5, 6);
/* Drops the request's head from c->in (once it is answered or passed on). */
void console_consume_head(struct console_conn *c);
/* Whether the request has a body (which must then be read, or the connection closed, after answering). */
bool console_has_body(const struct console_conn *c);

/* ---- consoleproxy.c */

/* Passes the request in c->req on to kube-apiserver with token as its only credential, and the answer
 * back (a WebSocket both ways after kube-apiserver's 101). Returns whether the connection may carry
 * another request. */
bool console_proxy(struct console_conn *c, const char *token);

/* Who token is, asked of kube-apiserver with that token (a SelfSubjectReview). Returns 0 with
 * {"username":…,"groups":[…]} in *ret (the caller's), or the HTTP code of a refusal (401 for a token it
 * does not accept) with kube-apiserver's message in msg, or 502/503 with why it could not be asked. */
int console_review(struct console_conn *c, const char *token, json_object **ret, char *msg, size_t size);
