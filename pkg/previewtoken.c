/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Preview tokens: claims as compact JSON, base64url, '.', base64url of HMAC-SHA256 over that first part
 * (the shape of a JWS in compact form, without its header: there is one algorithm and one key).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonutil.h"
#include "previewtoken.h"

#define MAC_LEN     32 /* SHA-256 */
#define MAC_B64_LEN 43 /* its base64url, unpadded */

struct preview_key {
        size_t len;
        unsigned char bytes[PREVIEW_KEY_MAX];
};

static int key_new(struct preview_key **ret) {
        /* OPENSSL_secure_zalloc would need a secure heap set up; a wipe on free is what matters here */
        struct preview_key *k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        *ret = k;
        return 0;
}

int preview_key_load(const char *path, struct preview_key **ret, struct merr *err) {
        _cleanup_(preview_key_freep) struct preview_key *k = NULL;
        unsigned char extra;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return merr_set(err, -errno, "preview signing key '%s': %m", path);
        if (key_new(&k) < 0) {
                close(fd);
                return merr_set(err, -ENOMEM, "preview signing key '%s': out of memory", path);
        }
        while (k->len < sizeof(k->bytes)) {
                ssize_t n = read(fd, k->bytes + k->len, sizeof(k->bytes) - k->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = -errno;
                        close(fd);
                        return merr_set(err, e, "preview signing key '%s': %m", path);
                }
                if (n == 0)
                        break;
                k->len += (size_t) n;
        }
        ssize_t more = k->len == sizeof(k->bytes) ? read(fd, &extra, 1) : 0;
        close(fd);
        if (more > 0)
                return merr_set(err, -EINVAL, "preview signing key '%s': larger than %d bytes", path,
                        PREVIEW_KEY_MAX);
        if (k->len < PREVIEW_KEY_MIN)
                return merr_set(err, -EINVAL, "preview signing key '%s': %zu bytes, at least %d are needed",
                        path, k->len, PREVIEW_KEY_MIN);
        *ret = TAKE_PTR(k);
        return 0;
}

int preview_key_random(struct preview_key **ret, struct merr *err) {
        struct preview_key *k = NULL;
        if (key_new(&k) < 0)
                return merr_set(err, -ENOMEM, "preview signing key: out of memory");
        k->len = 32;
        if (RAND_bytes(k->bytes, (int) k->len) != 1) {
                preview_key_free(k);
                return merr_set(err, -EIO, "preview signing key: no random bytes");
        }
        *ret = k;
        return 0;
}

struct preview_key *preview_key_free(struct preview_key *k) {
        if (k) {
                OPENSSL_cleanse(k, sizeof(*k));
                free(k);
        }
        return NULL;
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of in[0..n) without padding into out (room for (n * 4 + 2) / 3 + 1); returns its length. */
static size_t b64url_encode(const unsigned char *in, size_t n, char *out) {
        size_t o = 0, i = 0;
        for (; i + 3 <= n; i += 3) {
                unsigned v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8 | in[i + 2];
                out[o++] = B64URL[v >> 18 & 63];
                out[o++] = B64URL[v >> 12 & 63];
                out[o++] = B64URL[v >> 6 & 63];
                out[o++] = B64URL[v & 63];
        }
        if (n - i == 1) {
                unsigned v = (unsigned) in[i] << 16;
                out[o++] = B64URL[v >> 18 & 63];
                out[o++] = B64URL[v >> 12 & 63];
        } else if (n - i == 2) {
                unsigned v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8;
                out[o++] = B64URL[v >> 18 & 63];
                out[o++] = B64URL[v >> 12 & 63];
                out[o++] = B64URL[v >> 6 & 63];
        }
        out[o] = '\0';
        return o;
}

static int b64url_value(char c) {
        const char *p = c ? memchr(B64URL, c, sizeof(B64URL) - 1) : NULL;
        return p ? (int) (p - B64URL) : -1;
}

/* Decodes canonical unpadded base64url (the bits past the last byte are zero) into out (room for n * 3 /
 * 4 bytes); returns the number of bytes, or -EBADMSG. */
static ssize_t b64url_decode(const char *in, size_t n, unsigned char *out) {
        unsigned acc = 0;
        int bits = 0;
        size_t o = 0;
        if (n % 4 == 1)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                int v = b64url_value(in[i]);
                if (v < 0)
                        return -EBADMSG;
                acc = (acc << 6 | (unsigned) v) & 0xffffff;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (unsigned char) (acc >> bits);
                }
        }
        if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
                return -EBADMSG;
        return (ssize_t) o;
}

static bool mac(const struct preview_key *k, const char *data, size_t len, unsigned char out[MAC_LEN]) {
        unsigned int n = 0;
        return HMAC(EVP_sha256(), k->bytes, (int) k->len, (const unsigned char *) data, len, out, &n) &&
               n == MAC_LEN;
}

/* The claims' strings: their JSON keys, where they are and the room each has. */
#define FIELD(key, member) \
        { key, offsetof(struct preview_claims, member), sizeof(((struct preview_claims *) NULL)->member) }
static const struct {
        const char *key;
        size_t offset, size;
} STRINGS[] = {
        FIELD("ns", namespace),
        FIELD("sb", sandbox),
        FIELD("uid", sandbox_uid),
        FIELD("port", port),
        FIELD("user", user),
        FIELD("uuid", user_uid),
        FIELD("id", id),
};

/* The groups as a JSON array, or NULL when they do not end (an empty string) within their field. */
static json_object *groups_json(const struct preview_claims *c) {
        json_object *a = json_object_new_array();
        size_t at = 0;
        while (a && at < sizeof(c->groups) && c->groups[at]) {
                size_t n = strnlen(c->groups + at, sizeof(c->groups) - at);
                if (at + n >= sizeof(c->groups) - 1) /* no room left for the closing empty string */
                        break;
                json_object_array_add(a, json_object_new_string_len(c->groups + at, (int) n));
                at += n + 1;
        }
        if (a && (at >= sizeof(c->groups) || c->groups[at])) {
                json_object_put(a);
                return NULL;
        }
        return a;
}

/* The JSON array of strings a into groups; -EBADMSG when it is not one, or does not fit. */
static int groups_from_json(json_object *a, struct preview_claims *c) {
        size_t at = 0;
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *g = json_object_array_get_idx(a, i);
                if (!json_object_is_type(g, json_type_string))
                        return -EBADMSG;
                size_t n = (size_t) json_object_get_string_len(g);
                const char *v = json_object_get_string(g);
                if (n == 0 || memchr(v, '\0', n) || at + n + 2 > sizeof(c->groups))
                        return -EBADMSG;
                memcpy(c->groups + at, v, n + 1);
                at += n + 1;
        }
        c->groups[at] = 0;
        return 0;
}

int preview_token_sign(const struct preview_key *k, const struct preview_claims *c, char **ret) {
        unsigned char sig[MAC_LEN];
        if (c->kind != PREVIEW_TOKEN_LINK && c->kind != PREVIEW_TOKEN_COOKIE)
                return -EINVAL;
        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "k", json_object_new_int(c->kind));
        for (size_t i = 0; i < ARRAY_SIZE(STRINGS); i++) {
                const char *v = (const char *) c + STRINGS[i].offset;
                if (!memchr(v, '\0', STRINGS[i].size))
                        return -EINVAL;
                json_object_object_add(o, STRINGS[i].key, json_object_new_string(v));
        }
        json_object *groups = groups_json(c);
        if (!groups)
                return -E2BIG;
        json_object_object_add(o, "grp", groups);
        json_object_object_add(o, "exp", json_object_new_int64(c->expires));
        const char *text =
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        size_t n = strlen(text);
        _cleanup_free_ char *out = malloc((n * 4 + 2) / 3 + 1 + MAC_B64_LEN + 1);
        if (!out)
                return -ENOMEM;
        size_t m = b64url_encode((const unsigned char *) text, n, out);
        if (m + 1 + MAC_B64_LEN > PREVIEW_TOKEN_MAX_LEN) /* verify would refuse it unread */
                return -E2BIG;
        if (!mac(k, out, m, sig))
                return -ENOMEM;
        out[m++] = '.';
        b64url_encode(sig, sizeof(sig), out + m);
        *ret = TAKE_PTR(out);
        return 0;
}

/* The claims of the JSON text (signed by us, still read strictly): every key once, of its type, each
 * string within its field and without NUL. */
static int parse_claims(const char *text, size_t len, struct preview_claims *c) {
        _cleanup_json_ json_object *o = NULL;
        int64_t kind = 0;
        *c = (struct preview_claims){0};
        if (json_parse(text, len, 3, &o, NULL) < 0 || !json_object_is_type(o, json_type_object) ||
                json_object_object_length(o) != (int) ARRAY_SIZE(STRINGS) + 3)
                return -EBADMSG;
        json_object *groups = NULL;
        if (!json_object_object_get_ex(o, "grp", &groups) || groups_from_json(groups, c) < 0)
                return -EBADMSG;
        if (json_get_int_range(o, "k", 0, PREVIEW_TOKEN_LINK, PREVIEW_TOKEN_COOKIE, &kind, NULL) < 0 ||
                json_get_int64(o, "exp", 0, &c->expires, NULL) < 0)
                return -EBADMSG;
        c->kind = (enum preview_token_kind) kind;
        for (size_t i = 0; i < ARRAY_SIZE(STRINGS); i++) {
                json_object *v = NULL;
                if (!json_object_object_get_ex(o, STRINGS[i].key, &v) ||
                        !json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                size_t n = (size_t) json_object_get_string_len(v);
                const char *s = json_object_get_string(v);
                if (n >= STRINGS[i].size || memchr(s, '\0', n))
                        return -EBADMSG;
                memcpy((char *) c + STRINGS[i].offset, s, n + 1);
        }
        return 0;
}

int preview_token_verify(
        const struct preview_key *k, const char *token, size_t len, int64_t now, struct preview_claims *ret) {
        unsigned char want[MAC_LEN], got[MAC_LEN + 2];
        unsigned char payload[PREVIEW_TOKEN_MAX_LEN];
        struct preview_claims c;
        if (!token || len > PREVIEW_TOKEN_MAX_LEN)
                return -EBADMSG;
        const char *dot = memchr(token, '.', len);
        if (!dot)
                return -EBADMSG;
        size_t head = (size_t) (dot - token), tail = len - head - 1;
        if (head == 0 || tail != MAC_B64_LEN || b64url_decode(dot + 1, tail, got) != MAC_LEN)
                return -EBADMSG;
        if (!mac(k, token, head, want) || CRYPTO_memcmp(want, got, MAC_LEN) != 0)
                return -EBADMSG;
        ssize_t n = b64url_decode(token, head, payload);
        if (n <= 0 || parse_claims((const char *) payload, (size_t) n, &c) < 0)
                return -EBADMSG;
        if (c.expires <= now)
                return -EKEYEXPIRED;
        *ret = c;
        return 0;
}
