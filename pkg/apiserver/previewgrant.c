/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PreviewGrant (docs/previews.md): create-only, like a TokenRequest. A caller allowed to create
 * previewgrants in a namespace asks for a link to one port of a sandbox there; the answer's status.url is
 * the port's preview URL (status.previewURLs[].url) with a signed LINK token (pkg/previewtoken.h) that the
 * preview gateway turns into a cookie. Nothing is stored: the token is the grant.
 *
 * Who may mint one past the SubjectAccessReview of the request depends on the port's visibility as the
 * sandbox's status shows it: Public and Project ports, any caller; Private ports, the sandbox's creator
 * (the annotation mbox.dev/creator, which an admission policy stamps and keeps: manifests/base) and whoever
 * may use the verb "private" on sandboxes/proxy in the namespace (project admins).
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/sandbox.h"
#include "apiserver/internal.h"
#include "jsonutil.h"
#include "log.h"
#include "previewtoken.h"
#include "timestamp.h"

#define TTL_DEFAULT 300
#define TTL_MIN     60
#define TTL_MAX     3600

#define CREATOR_ANNOTATION "mbox.dev/creator"

int api_preview_private_allowed(struct apiserver *s, const struct api_user *user, const char *ns,
        const char *sandbox, const char *creator, struct merr *err) {
        char why[256];
        if (creator && *creator && strcmp(creator, user->name) == 0)
                return 1;
        const struct api_attrs attrs = {.verb = "private",
                .namespace = ns,
                .resource = "sandboxes",
                .subresource = "proxy",
                .name = sandbox};
        return api_access(s, user, &attrs, why, sizeof(why), err);
}

/* What the request asks for. */
struct grant_request {
        const char *name; /* metadata.name, if given */
        const char *sandbox, *port;
        int64_t ttl;
};

/* Whether the media type of content_type (its parameters aside) is application/json. */
static bool is_json(const char *content_type) {
        static const char WANT[] = "application/json";
        size_t n = content_type ? strcspn(content_type, "; ") : 0;
        return n == sizeof(WANT) - 1 && strncasecmp(content_type, WANT, n) == 0;
}

/* Refuses (400) a key of o that is not in known: unknown fields are an error unless fieldValidation says
 * Ignore or Warn (then they are dropped, as Kubernetes does). */
static int check_keys(
        struct httpd_request *req, json_object *o, const char *where, const char *const *known, bool strict) {
        if (!strict)
                return 0;
        json_object_object_foreach (o, key, val) {
                (void) val;
                bool ok = false;
                for (size_t i = 0; known[i] && !ok; i++)
                        ok = strcmp(key, known[i]) == 0;
                if (!ok) {
                        httpd_respond_status(req, 400, "BadRequest",
                                "strict decoding error: unknown field \"%s%.64s\"", where, key);
                        return -EINVAL;
                }
        }
        return 0;
}

/* 422 Invalid for field, as Kubernetes words it. */
static int invalid(struct httpd_request *req, const char *field, const char *why) {
        httpd_respond_status(
                req, 422, "Invalid", "PreviewGrant.%s \"\" is invalid: %s: %s", API_GROUP, field, why);
        return -EINVAL;
}

/* Whether s (at most max bytes) is a lowercase RFC 1123 name: [a-z0-9] at both ends, [-a-z0-9] between,
 * and dots too when dots is set (a DNS subdomain, as object names are). */
static bool is_name(const char *s, size_t max, bool dots) {
        size_t n = strlen(s);
        if (n == 0 || n > max || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
                            (dots && s[i] == '.')))
                        return false;
        return true;
}

/* Parses the body into g (borrowing from *doc); answers 400/415/422 and returns < 0 when it is not one. */
static int parse_request(
        struct httpd_request *req, const char *ns, json_object **doc, struct grant_request *g) {
        static const char *const TOP[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
        static const char *const SPEC[] = {"sandbox", "port", "ttlSeconds", NULL};
        struct merr err = MERR_INIT;
        json_object *spec = NULL;
        const char *v = NULL, *fv = httpd_request_query(req, "fieldValidation");
        size_t len = 0;
        const char *body = httpd_request_body(req, &len);
        bool strict = !fv || !*fv || strcmp(fv, "Strict") == 0;
        *g = (struct grant_request){.ttl = TTL_DEFAULT};
        if (!strict && strcmp(fv, "Warn") != 0 && strcmp(fv, "Ignore") != 0) {
                httpd_respond_status(req, 400, "BadRequest",
                        "fieldValidation: expected Strict, Warn or Ignore, got \"%.32s\"", fv);
                return -EINVAL;
        }
        if (!is_json(httpd_request_header(req, "Content-Type"))) {
                httpd_respond_status(
                        req, 415, "UnsupportedMediaType", "the body of a create must be application/json");
                return -EINVAL;
        }
        if (json_parse(body, len, 8, doc, &err) < 0 || !json_object_is_type(*doc, json_type_object)) {
                httpd_respond_status(req, 400, "BadRequest", "the body is not a JSON object%s%s",
                        err.code ? ": " : "", err.code ? merr_msg(&err) : "");
                return -EINVAL;
        }
        if (check_keys(req, *doc, "", TOP, strict) < 0)
                return -EINVAL;
        const char *gv = NULL, *kind = NULL;
        if (json_get_string(*doc, "apiVersion", JSON_OPTIONAL, &gv, NULL) < 0 ||
                (gv && strcmp(gv, API_GV) != 0) ||
                json_get_string(*doc, "kind", JSON_OPTIONAL, &kind, NULL) < 0 ||
                (kind && strcmp(kind, "PreviewGrant") != 0)) {
                httpd_respond_status(req, 400, "BadRequest",
                        "the body must be a PreviewGrant of " API_GV " (apiVersion, kind)");
                return -EINVAL;
        }
        v = NULL; /* an absent field leaves v as it was */
        if (json_get_string(*doc, "metadata.namespace", JSON_OPTIONAL, &v, NULL) < 0 ||
                (v && strcmp(v, ns) != 0)) {
                httpd_respond_status(req, 400, "BadRequest",
                        "the namespace of the provided object does not match the namespace sent on the "
                        "request");
                return -EINVAL;
        }
        (void) json_get_string(*doc, "metadata.name", JSON_OPTIONAL, &g->name, NULL);
        if (g->name && strlen(g->name) > 253)
                return invalid(req, "metadata.name", "must be no more than 253 characters");
        if (json_get_object(*doc, "spec", JSON_REQUIRED, &spec, NULL) <= 0)
                return invalid(req, "spec", "Required value: spec.sandbox and spec.port");
        if (check_keys(req, spec, "spec.", SPEC, strict) < 0)
                return -EINVAL;
        if (json_get_string(spec, "sandbox", JSON_REQUIRED, &g->sandbox, NULL) <= 0 || !*g->sandbox)
                return invalid(req, "spec.sandbox", "Required value: the name of a Sandbox in the namespace");
        if (!is_name(g->sandbox, 253, true))
                return invalid(req, "spec.sandbox",
                        "Invalid value: must be a Sandbox name (at most 253 lowercase letters, digits, "
                        "'-' and '.')");
        if (json_get_string(spec, "port", JSON_REQUIRED, &g->port, NULL) <= 0 || !*g->port)
                return invalid(req, "spec.port", "Required value: the name of one of the sandbox's ports");
        if (!is_name(g->port, 15, false))
                return invalid(req, "spec.port",
                        "Invalid value: must be a port name (at most 15 lowercase letters, digits and '-')");
        int r = json_get_int_range(spec, "ttlSeconds", JSON_OPTIONAL, TTL_MIN, TTL_MAX, &g->ttl, NULL);
        if (r == -ERANGE || r == -EINVAL)
                return invalid(req, "spec.ttlSeconds",
                        "Invalid value: must be an integer from 60 to 3600 (seconds; default 300)");
        return 0;
}

/* The mbox.dev Sandbox ns/name (*obj, and parsed), read as mbox-apiserver; answers 404/503/500 and
 * returns < 0 when it cannot be had. */
static int get_sandbox(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name,
        json_object **obj, struct sandbox **ret) {
        struct kube_client *kc = NULL;
        struct merr err = MERR_INIT;
        const struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = ns,
                .name = name};
        int r = kube_pool_get(s->clients, &kc, &err);
        if (r >= 0) {
                r = kube_get(kc, &rs, obj, &err);
                kube_pool_put(s->clients, kc);
        }
        if (r == -ENOENT) {
                httpd_respond_status(
                        req, 404, "NotFound", "sandbox \"%s\" not found in namespace %s", name, ns);
                return r;
        }
        if (r < 0) {
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "looking up sandbox %s: %s", name, merr_msg(&err));
                return r;
        }
        r = sandbox_from_json(*obj, ret, &err);
        if (r < 0)
                httpd_respond_status(req, 500, "InternalError", "sandbox %s: %s", name, merr_msg(&err));
        return r;
}

/* The port's preview (status.previewURLs), or NULL with the request answered: 409 when the sandbox shows
 * none, 404 naming the ports it has. */
static const struct sandbox_preview_url *find_port(
        struct httpd_request *req, const struct sandbox *sb, const char *port) {
        const struct sandbox_status *st = &sb->status;
        char names[512] = "";
        size_t n = 0;
        if (!st->n_preview_urls) {
                httpd_respond_status(req, 409, "Conflict",
                        "sandbox %s has no preview URLs: it needs ports (spec.ports or its template's), "
                        "and mbox-operator a --preview-domain (it is %s)",
                        sb->meta.name, st->phase ? st->phase : "not resolved yet");
                return NULL;
        }
        for (size_t i = 0; i < st->n_preview_urls; i++) {
                const struct sandbox_preview_url *u = &st->preview_urls[i];
                if (u->name && strcmp(u->name, port) == 0 && u->url)
                        return u;
                if (u->name && n < sizeof(names))
                        n += (size_t) snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", u->name);
        }
        httpd_respond_status(req, 404, "NotFound", "sandbox %s has no port \"%s\"; its ports: %s",
                sb->meta.name, port, names);
        return NULL;
}

/* 16 random bytes as hex. */
static int grant_id(char out[33]) {
        unsigned char b[16];
        if (RAND_bytes(b, sizeof(b)) != 1)
                return -EIO;
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
        return 0;
}

static json_object *grant_json(const char *ns, const struct grant_request *g, const char *name,
        const char *created, const char *url, const char *expires) {
        json_object *o = json_object_new_object(), *meta = json_object_new_object(),
                    *spec = json_object_new_object(), *status = json_object_new_object();
        api_put(o, "apiVersion", API_GV);
        api_put(o, "kind", "PreviewGrant");
        api_put(meta, "name", name);
        api_put(meta, "namespace", ns);
        api_put(meta, "creationTimestamp", created);
        json_object_object_add(o, "metadata", meta);
        api_put(spec, "sandbox", g->sandbox);
        api_put(spec, "port", g->port);
        json_object_object_add(spec, "ttlSeconds", json_object_new_int64(g->ttl));
        json_object_object_add(o, "spec", spec);
        api_put(status, "url", url);
        api_put(status, "expirationTimestamp", expires);
        json_object_object_add(o, "status", status);
        return o;
}

void api_previewgrant_create(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const char *ns = r->namespace;
        _cleanup_json_ json_object *doc = NULL, *obj = NULL;
        _cleanup_free_ char *token = NULL, *url = NULL;
        struct sandbox *sb = NULL;
        struct grant_request g;
        struct merr err = MERR_INIT;
        if (!ns) {
                httpd_respond_status(
                        req, 405, "MethodNotAllowed", "previewgrants are created in a namespace");
                return;
        }
        if (httpd_request_query(req, "dryRun")) {
                httpd_respond_status(req, 400, "BadRequest", "dryRun is not supported for previewgrants");
                return;
        }
        if (parse_request(req, ns, &doc, &g) < 0 || get_sandbox(req, s, ns, g.sandbox, &obj, &sb) < 0)
                goto out;
        const struct sandbox_preview_url *u = find_port(req, sb, g.port);
        if (!u)
                goto out;
        /* the gateway asks this of the maker on every request the link opens: a link that could never
         * open is refused here */
        const struct api_attrs open_attrs = {.verb = "get",
                .namespace = ns,
                .resource = "sandboxes",
                .subresource = "proxy",
                .name = g.sandbox};
        char why[256];
        int may = api_access(s, r->user, &open_attrs, why, sizeof(why), &err);
        if (may < 0) {
                httpd_respond_status(req, 500, "InternalError", "authorization failed: %s", merr_msg(&err));
                goto out;
        }
        if (may == 0) {
                httpd_respond_status(req, 403, "Forbidden",
                        "%s may not open previews of sandbox %s (get on sandboxes/proxy), so a link of "
                        "theirs "
                        "would not open it",
                        r->user->name, g.sandbox);
                goto out;
        }
        const char *visibility = u->visibility ? u->visibility : "Private";
        if (strcmp(visibility, "Private") == 0) {
                const char *creator = NULL;
                (void) json_get_string(
                        obj, "metadata.annotations.mbox\\.dev/creator", JSON_OPTIONAL, &creator, NULL);
                int k = api_preview_private_allowed(s, r->user, ns, g.sandbox, creator, &err);
                if (k < 0) {
                        log_warn(
                                "SubjectAccessReview failed", "user", r->user->name, "error", merr_msg(&err));
                        httpd_respond_status(
                                req, 500, "InternalError", "authorization failed: %s", merr_msg(&err));
                        goto out;
                }
                if (k == 0) {
                        httpd_respond_status(req, 403, "Forbidden",
                                "the port \"%s\" of sandbox %s is Private: only its creator (%s) and project "
                                "admins (allowed the verb private on sandboxes/proxy) may open it; ask one "
                                "of "
                                "them for a grant, or for the port's visibility to be Project",
                                g.port, g.sandbox, creator && *creator ? creator : "not recorded");
                        goto out;
                }
        }
        struct timestamp now, until;
        char created[40], expires[40];
        struct preview_claims c = {.kind = PREVIEW_TOKEN_LINK};
        if (timestamp_now(&now) < 0 || grant_id(c.id) < 0) {
                httpd_respond_status(req, 500, "InternalError", "no clock or no random bytes");
                goto out;
        }
        now.nsec = 0;
        until = (struct timestamp){.sec = now.sec + g.ttl};
        c.expires = until.sec;
        snprintf(c.namespace, sizeof(c.namespace), "%s", ns);
        snprintf(c.sandbox, sizeof(c.sandbox), "%s", g.sandbox);
        snprintf(c.sandbox_uid, sizeof(c.sandbox_uid), "%s", sb->meta.uid ? sb->meta.uid : "");
        snprintf(c.port, sizeof(c.port), "%s", g.port);
        snprintf(c.user, sizeof(c.user), "%s", r->user->name);
        snprintf(c.user_uid, sizeof(c.user_uid), "%s", r->user->uid);
        /* the maker's groups go with the link: the gateway asks with them whether the maker still may */
        size_t glen = 0;
        for (const char *p = r->user->groups; *p; p += strlen(p) + 1)
                glen += strlen(p) + 1;
        if (glen + 1 <= sizeof(c.groups))
                memcpy(c.groups, r->user->groups, glen + 1);
        else
                memset(c.groups, 'g', sizeof(c.groups)); /* does not end: refused by the signing below */
        timestamp_format(&now, created, sizeof(created));
        timestamp_format(&until, expires, sizeof(expires));
        int k = preview_token_sign(s->preview_key, &c, &token);
        if (k == -E2BIG) {
                httpd_respond_status(req, 400, "BadRequest",
                        "%s is in too many groups (%zu bytes of names) for a preview link to carry: ask a "
                        "project member in fewer groups for the link",
                        r->user->name, glen);
                goto out;
        }
        if (k < 0 || asprintf(&url, "%s.mbox/grant?token=%s", u->url, token) < 0) {
                url = NULL;
                httpd_respond_status(req, 500, "InternalError", "signing the grant: out of memory");
                goto out;
        }
        log_info("preview grant", "namespace", ns, "sandbox", g.sandbox, "port", g.port, "visibility",
                visibility, "user", r->user->name, "id", c.id, "expires", expires);
        json_object *o = grant_json(ns, &g, g.name ? g.name : c.id, created, url, expires);
        api_respond_json(req, 201, o);
        json_object_put(o);
out:
        sandbox_free(sb);
}
