/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed preview tokens (docs/previews.md): what a preview grant's link carries, and the cookie the
 * preview gateway makes from it. A token says who may open which port of which sandbox until when, and is
 * signed with an HMAC-SHA256 key that only mbox-apiserver holds, so nothing is stored: any replica with the
 * same key verifies it.
 *
 * The text is base64url (no padding) of the claims as compact JSON, a '.', and base64url of the HMAC of
 * that first part: safe as it is in a URL query and in a cookie value. The signature is checked (in
 * constant time) before the claims are read.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "merr.h"

#define PREVIEW_KEY_MIN       32   /* bytes of a key, at least */
#define PREVIEW_KEY_MAX       4096 /* and at most (a key file is read whole) */
#define PREVIEW_TOKEN_MAX_LEN 3072 /* longer tokens are refused unread (a cookie holds 4096 bytes) */
#define PREVIEW_GROUPS_MAX    1536 /* bytes of the minter's groups, NUL-separated: more is not signed */

enum preview_token_kind { PREVIEW_TOKEN_LINK = 1, PREVIEW_TOKEN_COOKIE = 2 };

struct preview_claims {
        enum preview_token_kind kind;
        char namespace[64], sandbox[254], sandbox_uid[64], port[16];
        /* who minted the grant, as kube-apiserver authenticated them: the gateway asks again, request by
         * request, whether they may still open the port */
        char user[256], user_uid[128];
        char groups[PREVIEW_GROUPS_MAX]; /* NUL-separated, ends with an empty string */
        char id[33];     /* the grant's random id (hex), the same in the link and the cookie made from it */
        int64_t expires; /* unix seconds */
};

/* An HMAC-SHA256 key. */
struct preview_key;

/* The whole file at path as a key: PREVIEW_KEY_MIN to PREVIEW_KEY_MAX bytes, used as they are (a Secret's
 * value, 32 random bytes or their text). -EINVAL for a file too short or too long, or the open/read errno;
 * err says which file. */
int preview_key_load(const char *path, struct preview_key **ret, struct merr *err);
/* A new key of 32 random bytes. */
int preview_key_random(struct preview_key **ret, struct merr *err);
/* Wipes and frees k; NULL is fine. Returns NULL. */
struct preview_key *preview_key_free(struct preview_key *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct preview_key *, preview_key_free);

/* Signs c into a token (*ret, malloc'd, NUL-terminated). -EINVAL when a string of c is not NUL-terminated
 * within its field or kind is unknown, -E2BIG when groups does not end within its field or the token would
 * be longer than PREVIEW_TOKEN_MAX_LEN, -ENOMEM. */
int preview_token_sign(const struct preview_key *k, const struct preview_claims *c, char **ret);
/* Checks the len bytes of token (untrusted) against k, then its expiry against now (unix seconds). Returns
 * 0 with *ret filled; -EBADMSG when it is malformed, longer than PREVIEW_TOKEN_MAX_LEN or its signature is
 * not k's; -EKEYEXPIRED when it is k's but expires <= now. *ret is only set on success. */
int preview_token_verify(
        const struct preview_key *k, const char *token, size_t len, int64_t now, struct preview_claims *ret);
