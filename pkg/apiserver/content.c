/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content subresource of an Artifact (artifacts/NAME/content): the bytes of a workspace:// artifact,
 * read from its sandbox's pod through pods/exec and streamed as they come; those of a session's recording
 * (session://) from the database (recording.c). The sandbox must be running;
 * the file must still be there (404 otherwise). While streaming the bytes are counted and hashed: when the
 * artifact records a size or digest and the file no longer matches it, the stream is broken off instead of
 * ending cleanly, so a client never takes a changed file for the recorded one.
 * The stream is api_pod_stream()'s (podexec.c).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "apiserver/recording.h"
#include "log.h"
#include "store/artifact.h"
#include "store/recording.h"

#define CONTENT_TIMEOUT_MS (3600 * 1000L) /* a download ends after an hour */

struct content {
        char ns[64], name[256], digest[140];
        long long size; /* -1: not recorded */
        long long got;
        EVP_MD_CTX *md;
};

static void content_free(void *ud) {
        struct content *c = ud;
        EVP_MD_CTX_free(c->md);
        free(c);
}

static void content_data(const char *data, size_t len, void *ud) {
        struct content *c = ud;
        c->got += (long long) len;
        (void) EVP_DigestUpdate(c->md, data, len);
}

/* Whether what came is what was recorded: the exec succeeded, and size and digest match. */
static bool intact(struct content *c, int result) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 8] = "sha256:";
        if (result != 0 || (c->size >= 0 && c->got != c->size))
                return false;
        if (!*c->digest || strncmp(c->digest, "sha256:", 7) != 0)
                return true; /* nothing recorded to compare with (sha512 digests are not checked) */
        if (EVP_DigestFinal_ex(c->md, md, &n) != 1)
                return false;
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 7 + 2 * i, 3, "%02x", md[i]);
        return strcmp(hex, c->digest) == 0;
}

static bool content_end(int result, const struct merr *err, void *ud) {
        struct content *c = ud;
        char got[32];
        if (result < 0) {
                log_warn("artifact download failed", "namespace", c->ns, "artifact", c->name, "error",
                        merr_msg(err));
                return false;
        }
        if (intact(c, result))
                return true;
        snprintf(got, sizeof(got), "%lld", c->got);
        log_warn("artifact download broken off: the file is not the one recorded", "namespace", c->ns,
                "artifact", c->name, "bytes", got);
        return false;
}

static const struct api_pod_stream_hooks content_hooks = {
        .on_data = content_data, .on_end = content_end, .free = content_free};

void api_artifact_content(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const char *ns = r->namespace, *name = r->name;
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        struct artifact_location *at = calloc(1, sizeof(*at));
        char sandbox[256] = "", uri[64] = "", content_type[256] = "application/octet-stream";
        struct api_sandbox sb;
        char path[4096] = "";
        struct content *c = calloc(1, sizeof(*c));
        if (!at || !c || !(c->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                if (c)
                        content_free(c);
                free(at);
                return;
        }
        snprintf(c->ns, sizeof(c->ns), "%s", ns ? ns : "");
        snprintf(c->name, sizeof(c->name), "%s", name);
        if (api_connect(req, s, r->res, &conn) < 0) {
                content_free(c);
                free(at);
                return;
        }
        int rows = artifact_locate(conn, c->ns, name, at, &err);
        if (rows > 0) {
                snprintf(path, sizeof(path), "%s", at->path);
                snprintf(sandbox, sizeof(sandbox), "%s", at->sandbox);
                snprintf(c->digest, sizeof(c->digest), "%s", at->digest);
                c->size = at->size;
                snprintf(uri, sizeof(uri), "%s", at->uri);
                if (*at->content_type)
                        snprintf(content_type, sizeof(content_type), "%s", at->content_type);
        } else if (rows < 0)
                api_respond_store_error(req, &err);
        free(at);
        store_release(s->store, conn);
        if (rows == 0)
                api_respond_not_found(req, r->res->name, name);
        else if (rows > 0 && strncmp(uri, RECORDING_URI, strlen(RECORDING_URI)) == 0)
                api_recording_content(req, s, c->ns, name); /* a session's recording, in the database */
        else if (rows > 0 && (strncmp(uri, "workspace://", 12) != 0 || !*path))
                httpd_respond_status(req, 400, "BadRequest",
                        "artifact %s is not in a workspace (%s...): fetch it from where its URI points", name,
                        uri);
        else if (rows > 0 && !*sandbox)
                httpd_respond_status(
                        req, 400, "BadRequest", "artifact %s names no sandbox to read it from", name);
        else if (rows > 0 && api_sandbox_running(req, s, c->ns, sandbox, &sb) >= 0) {
                /* is the file there? Answered before the stream starts: its status cannot change after */
                const char *const test[] = {"test", "-f", path, NULL};
                const char *const cat[] = {"cat", "--", path, NULL};
                struct kube_exec_opts o = {.namespace = c->ns,
                        .pod = sb.pod,
                        .command = test,
                        .stdin_fd = -1,
                        .timeout_ms = 60000};
                int k = api_pod_exec(s, &o, &err);
                if (k < 0)
                        httpd_respond_status(req, 503, "ServiceUnavailable", "reading sandbox %s: %s",
                                sandbox, merr_msg(&err));
                else if (k != 0)
                        httpd_respond_status(
                                req, 404, "NotFound", "%s is no longer a file in sandbox %s", path, sandbox);
                else {
                        struct api_pod_command cmd = {
                                .ns = c->ns, .pod = sb.pod, .argv = cat, .timeout_ms = CONTENT_TIMEOUT_MS};
                        api_pod_stream(req, s, &cmd, content_type, &content_hooks, c);
                        return;
                }
        }
        content_free(c);
}
