/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is asking and may they: front-proxy authentication as kube-apiserver's aggregation layer does it
 * (the client certificate chains to the requestheader CA and its CN is an allowed name; only then are
 * X-Remote-User and X-Remote-Group believed), or a bearer token checked with a TokenReview (clients that
 * reach the server directly); then delegated authorization through SubjectAccessReviews. Both answers
 * are reused for a short while.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"
#include "timestamp.h"
#include "jsonutil.h"
#include "log.h"

#define AUTHZ_CACHE_MAX 4096

/* Appends the strings to a NUL-separated list that ends with an empty string; false when it is full. */
static bool list_add(char *list, size_t size, size_t *used, const char *a, const char *b) {
        size_t na = strlen(a) + 1, nb = b ? strlen(b) + 1 : 0;
        if (*used + na + nb + 1 > size)
                return false;
        memcpy(list + *used, a, na);
        *used += na;
        if (b) {
                memcpy(list + *used, b, nb);
                *used += nb;
        }
        list[*used] = '\0';
        return true;
}

struct identity_walk {
        struct api_user *u;
        size_t groups_used, extra_used;
        bool overflow;
};

static void add_group(const char *name, const char *value, void *ud) {
        struct identity_walk *w = ud;
        (void) name;
        if (!list_add(w->u->groups, sizeof(w->u->groups), &w->groups_used, value, NULL))
                w->overflow = true;
        else
                w->u->n_groups++;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) (c | 0x20);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* X-Remote-Extra-<key>: value, as k8s.io/apiserver reads it: the key lowercased, then percent-decoded. */
static void add_extra_header(const char *name, const char *value, void *ud) {
        struct identity_walk *w = ud;
        const char *k = name + strlen("X-Remote-Extra-");
        char key[256];
        size_t n = 0;
        for (; *k && n + 1 < sizeof(key); k++) {
                int hi, lo;
                if (*k == '%' && (hi = hex_digit(k[1])) >= 0 && (lo = hex_digit(k[2])) >= 0) {
                        key[n++] = (char) (hi * 16 + lo);
                        k += 2;
                } else {
                        key[n++] = (char) (*k >= 'A' && *k <= 'Z' ? *k | 0x20 : *k);
                }
        }
        key[n] = '\0';
        if (*k || !n || memchr(key, '\0', n) ||
                !list_add(w->u->extra, sizeof(w->u->extra), &w->extra_used, key, value))
                w->overflow = true;
        else
                w->u->n_extra++;
}

struct cached_user {
        long long expires_ms;
        struct api_user user;
};

/* The user of a bearer token, from a TokenReview (answers kept for the authorization cache's time, keyed
 * by the token's SHA-256, never the token). Answers the request on failure. */
static int token_user(
        struct apiserver *s, struct httpd_request *req, const char *token, struct api_user *user) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        char key[2 * SHA256_DIGEST_LENGTH + 8] = "token:";
        SHA256((const unsigned char *) token, strlen(token), md);
        for (size_t i = 0; i < sizeof(md); i++)
                snprintf(key + 6 + 2 * i, 3, "%02x", md[i]);
        long long now = timestamp_monotonic_ms();
        pthread_mutex_lock(&s->lock);
        struct cached_user *c = strmap_get(s->tokens, key);
        bool hit = c && c->expires_ms > now;
        if (hit)
                *user = c->user;
        pthread_mutex_unlock(&s->lock);
        if (hit)
                return 0;

        _cleanup_json_ json_object *tr = json_object_new_object(), *res = NULL;
        json_object *spec = json_object_new_object();
        json_object_object_add(tr, "apiVersion", json_object_new_string("authentication.k8s.io/v1"));
        json_object_object_add(tr, "kind", json_object_new_string("TokenReview"));
        json_object_object_add(spec, "token", json_object_new_string(token));
        json_object_object_add(tr, "spec", spec);
        struct kube_client *kc = NULL;
        struct merr err = MERR_INIT;
        struct kube_resource rs = {
                .group = "authentication.k8s.io", .version = "v1", .resource = "tokenreviews"};
        int r = kube_pool_get(s->clients, &kc, &err);
        if (r >= 0) {
                r = kube_create(kc, &rs, tr, NULL, &res, &err);
                kube_pool_put(s->clients, kc);
        }
        if (r < 0) {
                log_warn("TokenReview failed", "error", merr_msg(&err));
                httpd_respond_status(req, 500, "InternalError", "authentication failed: %s", merr_msg(&err));
                return r;
        }
        bool ok = false;
        const char *name = NULL;
        json_object *groups = NULL;
        json_get_bool(res, "status.authenticated", JSON_OPTIONAL, &ok, NULL);
        json_get_string(res, "status.user.username", JSON_OPTIONAL, &name, NULL);
        if (!ok || !name || !*name || strlen(name) >= sizeof(user->name)) {
                httpd_respond_status(req, 401, "Unauthorized", "the bearer token is not valid");
                return -EACCES;
        }
        *user = (struct api_user){.name = ""};
        snprintf(user->name, sizeof(user->name), "%s", name);
        const char *uid = NULL;
        json_get_string(res, "status.user.uid", JSON_OPTIONAL, &uid, NULL);
        snprintf(user->uid, sizeof(user->uid), "%s", uid ? uid : "");
        struct identity_walk w = {.u = user};
        json_object *extra = NULL;
        if (json_get_array(res, "status.user.groups", JSON_OPTIONAL, &groups, NULL) > 0)
                for (size_t i = 0; i < json_object_array_length(groups); i++)
                        add_group(NULL, json_object_get_string(json_object_array_get_idx(groups, i)), &w);
        if (json_get_object(res, "status.user.extra", JSON_OPTIONAL, &extra, NULL) > 0) {
                json_object_object_foreach (extra, ekey, values) {
                        for (size_t i = 0; json_object_is_type(values, json_type_array) &&
                                           i < json_object_array_length(values);
                                i++) {
                                const char *v = json_object_get_string(json_object_array_get_idx(values, i));
                                if (list_add(user->extra, sizeof(user->extra), &w.extra_used, ekey, v))
                                        user->n_extra++;
                                else
                                        w.overflow = true;
                        }
                }
        }
        if (w.overflow || (uid && strlen(uid) >= sizeof(user->uid))) {
                httpd_respond_status(
                        req, 401, "Unauthorized", "the token's user has too many groups or extras");
                return -EACCES;
        }
        struct cached_user *nc = malloc(sizeof(*nc));
        if (nc) {
                *nc = (struct cached_user){.expires_ms = now + s->opt.authz_cache_ms, .user = *user};
                pthread_mutex_lock(&s->lock);
                if (strmap_size(s->tokens) >= AUTHZ_CACHE_MAX) {
                        strmap_free(s->tokens);
                        s->tokens = strmap_new(free);
                }
                if (!s->tokens || strmap_put(s->tokens, key, nc) < 0)
                        free(nc);
                pthread_mutex_unlock(&s->lock);
        }
        return 0;
}

int api_authenticate(struct apiserver *s, struct httpd_request *req, struct api_user *user) {
        char cn[256] = "";
        int r = httpd_request_client_cn(req, cn, sizeof(cn));
        *user = (struct api_user){.name = ""};
        if (r < 0) {
                httpd_respond_status(req, 401, "Unauthorized", "the client certificate does not verify");
                return -EACCES;
        }
        if (r == 0) {
                const char *auth = httpd_request_header(req, "Authorization");
                /* a client with a token stays untrusted: it holds a slot while it is answered, and
                 * idle, it may be closed for a newer connection (httpd max_untrusted) */
                if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && auth[7])
                        return token_user(s, req, auth + 7, user);
                httpd_respond_status(req, 401, "Unauthorized",
                        "authentication required: a bearer token, or the front proxy of kube-apiserver (the "
                        "aggregation layer)");
                return -EACCES;
        }
        bool allowed = !s->allowed || !s->allowed[0];
        for (size_t i = 0; s->allowed && s->allowed[i]; i++)
                allowed |= strcmp(s->allowed[i], cn) == 0;
        if (!allowed) {
                httpd_respond_status(req, 401, "Unauthorized",
                        "client certificate '%s' is not an allowed front proxy", cn);
                return -EACCES;
        }
        const char *u = httpd_request_header(req, "X-Remote-User");
        if (!u || !*u || strlen(u) >= sizeof(user->name)) {
                httpd_respond_status(req, 401, "Unauthorized", "the front proxy sent no X-Remote-User");
                return -EACCES;
        }
        snprintf(user->name, sizeof(user->name), "%s", u);
        const char *uid = httpd_request_header(req, "X-Remote-Uid");
        if (uid && strlen(uid) >= sizeof(user->uid)) {
                httpd_respond_status(
                        req, 401, "Unauthorized", "the front proxy sent an X-Remote-Uid that is too long");
                return -EACCES;
        }
        snprintf(user->uid, sizeof(user->uid), "%s", uid ? uid : "");
        struct identity_walk w = {.u = user};
        httpd_request_headers(req, "X-Remote-Group", false, add_group, &w);
        httpd_request_headers(req, "X-Remote-Extra-", true, add_extra_header, &w);
        if (w.overflow) {
                httpd_respond_status(req, 401, "Unauthorized",
                        "too many or too long X-Remote-Group or X-Remote-Extra- headers");
                return -EACCES;
        }
        /* the connection is kube-apiserver's (its front-proxy certificate): it may stay open between
         * requests and is never closed for a newer one (httpd max_untrusted) */
        httpd_request_trust(req);
        return 0;
}

struct cached {
        long long expires_ms;
        bool allowed;
        char reason[256];
};

static void put_str(json_object *o, const char *k, const char *v) {
        if (v && *v)
                json_object_object_add(o, k, json_object_new_string(v));
}

/* Asks kube-apiserver. Returns 1 allowed, 0 denied (reason in why), or a negative errno. */
static int review(struct apiserver *s, const struct api_user *user, const struct api_attrs *a, char *why,
        size_t size, struct merr *err) {
        _cleanup_json_ json_object *sar = json_object_new_object(), *res = NULL;
        json_object *spec = json_object_new_object(), *ra = json_object_new_object(),
                    *groups = json_object_new_array();
        json_object_object_add(sar, "apiVersion", json_object_new_string("authorization.k8s.io/v1"));
        json_object_object_add(sar, "kind", json_object_new_string("SubjectAccessReview"));
        json_object_object_add(sar, "spec", spec);
        put_str(spec, "user", user->name);
        put_str(spec, "uid", user->uid);
        for (const char *g = user->groups; *g; g += strlen(g) + 1)
                json_object_array_add(groups, json_object_new_string(g));
        json_object_object_add(spec, "groups", groups);
        if (user->n_extra) {
                json_object *extra = json_object_new_object(), *values;
                for (const char *k = user->extra; *k;) {
                        const char *v = k + strlen(k) + 1;
                        if (!json_object_object_get_ex(extra, k, &values)) {
                                values = json_object_new_array();
                                json_object_object_add(extra, k, values);
                        }
                        json_object_array_add(values, json_object_new_string(v));
                        k = v + strlen(v) + 1;
                }
                json_object_object_add(spec, "extra", extra);
        }
        put_str(ra, "verb", a->verb);
        if (a->path)
                put_str(ra, "path", a->path);
        else {
                put_str(ra, "namespace", a->namespace);
                put_str(ra, "group", API_GROUP);
                put_str(ra, "version", API_VERSION);
                put_str(ra, "resource", a->resource);
                put_str(ra, "subresource", a->subresource);
                put_str(ra, "name", a->name);
        }
        json_object_object_add(spec, a->path ? "nonResourceAttributes" : "resourceAttributes", ra);

        struct kube_client *c = NULL;
        int r = kube_pool_get(s->clients, &c, err);
        if (r < 0)
                return r;
        struct kube_resource rs = {
                .group = "authorization.k8s.io", .version = "v1", .resource = "subjectaccessreviews"};
        r = kube_create(c, &rs, sar, NULL, &res, err);
        kube_pool_put(s->clients, c);
        if (r < 0)
                return r;
        bool allowed = false;
        json_get_bool(res, "status.allowed", JSON_OPTIONAL, &allowed, NULL);
        const char *reason = NULL;
        json_get_string(res, "status.reason", JSON_OPTIONAL, &reason, NULL);
        snprintf(why, size, "%s", reason ? reason : "");
        return allowed ? 1 : 0;
}

/* A field into the digest, its length first, so that no two different identities or requests hash the
 * same bytes. */
static void hash_field(EVP_MD_CTX *h, const char *v, size_t n) {
        uint64_t len = n;
        EVP_DigestUpdate(h, &len, sizeof(len));
        EVP_DigestUpdate(h, v ? v : "", n);
}

static void hash_str(EVP_MD_CTX *h, const char *v) {
        hash_field(h, v, v ? strlen(v) : 0);
}

static size_t list_size(const char *list) {
        const char *p = list;
        while (*p)
                p += strlen(p) + 1;
        return (size_t) (p - list);
}

/* The decision cache's key: the whole identity (name, uid, every group and extra) and the request's
 * attributes, hashed, as hex; -ENOMEM when the digest cannot be had. */
static int authz_key(
        const struct api_user *user, const struct api_attrs *a, char out[2 * SHA256_DIGEST_LENGTH + 1]) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        EVP_MD_CTX *h = EVP_MD_CTX_new();
        if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(h);
                return -ENOMEM;
        }
        hash_str(h, user->name);
        hash_str(h, user->uid);
        hash_field(h, user->groups, list_size(user->groups));
        hash_field(h, user->extra, list_size(user->extra));
        hash_str(h, a->verb);
        hash_str(h, a->namespace);
        hash_str(h, a->resource);
        hash_str(h, a->subresource);
        hash_str(h, a->name);
        hash_str(h, a->path);
        EVP_DigestFinal_ex(h, md, NULL);
        EVP_MD_CTX_free(h);
        for (size_t i = 0; i < sizeof(md); i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        return 0;
}

int api_access(struct apiserver *s, const struct api_user *user, const struct api_attrs *a, char *why,
        size_t size, struct merr *err) {
        char key[2 * SHA256_DIGEST_LENGTH + 1];
        if (authz_key(user, a, key) < 0)
                return merr_set(err, -ENOMEM, "no SHA-256");
        long long now = timestamp_monotonic_ms();
        int r = -1;
        pthread_mutex_lock(&s->lock);
        struct cached *c = strmap_get(s->authz, key);
        if (c && c->expires_ms > now) {
                r = c->allowed;
                snprintf(why, size, "%s", c->reason);
        }
        pthread_mutex_unlock(&s->lock);
        if (r >= 0)
                return r;
        r = review(s, user, a, why, size, err);
        if (r < 0)
                return r;
        struct cached *nc = malloc(sizeof(*nc));
        if (nc) {
                *nc = (struct cached){.expires_ms = now + s->opt.authz_cache_ms, .allowed = r == 1};
                snprintf(nc->reason, sizeof(nc->reason), "%s", why);
                pthread_mutex_lock(&s->lock);
                if (strmap_size(s->authz) >= AUTHZ_CACHE_MAX) {
                        strmap_free(s->authz);
                        s->authz = strmap_new(free);
                }
                if (!s->authz || strmap_put(s->authz, key, nc) < 0)
                        free(nc);
                pthread_mutex_unlock(&s->lock);
        }
        return r;
}

int api_authorize(struct apiserver *s, struct httpd_request *req, const struct api_user *user,
        const struct api_attrs *a) {
        char why[256] = "";
        struct merr err = MERR_INIT;
        int r = api_access(s, user, a, why, sizeof(why), &err);
        if (r < 0) {
                log_warn("SubjectAccessReview failed", "user", user->name, "error", merr_msg(&err));
                httpd_respond_status(req, 500, "InternalError", "authorization failed: %s", merr_msg(&err));
                return r;
        }
        if (r == 1)
                return 0;
        if (a->path) {
                httpd_respond_status(req, 403, "Forbidden",
                        "forbidden: User \"%s\" cannot %s path \"%s\"%s%s", user->name, a->verb, a->path,
                        why[0] ? ": " : "", why);
                return -EPERM;
        }
        char what[512], where[160] = "";
        snprintf(what, sizeof(what), "%s%s%s", a->resource, a->subresource ? "/" : "",
                a->subresource ? a->subresource : "");
        if (a->namespace)
                snprintf(where, sizeof(where), " in the namespace \"%s\"", a->namespace);
        httpd_respond_status(req, 403, "Forbidden",
                "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\"%s%s%s",
                a->resource, a->name ? a->name : "", user->name, a->verb, what, API_GROUP, where,
                why[0] ? ": " : "", why);
        return -EPERM;
}
