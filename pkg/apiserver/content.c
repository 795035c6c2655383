/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content subresource of an Artifact (artifacts/NAME/content): the bytes of a workspace:// artifact,
 * read from its sandbox's pod through pods/exec and streamed as they come. The sandbox must be running;
 * the file must still be there (404 otherwise). While streaming the bytes are counted and hashed: when the
 * artifact records a size or digest and the file no longer matches it, the stream is broken off instead of
 * ending cleanly, so a client never takes a changed file for the recorded one.
 *
 * One exec runs on a thread of its own and writes into a pipe; the connection's thread reads the pipe
 * (httpd_respond_stream()), so a slow client slows the exec down instead of filling memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "kube/exec.h"
#include "log.h"
#include "store/artifact.h"

#define CONTENT_TIMEOUT_MS (3600 * 1000L) /* a download ends after an hour */

struct content {
        struct apiserver *s;
        char ns[64], name[256], pod[256], path[4096], digest[140];
        long long size; /* -1: not recorded */
        int fd[2];      /* the pipe: the exec writes [1], the stream reads [0] */
        pthread_t thread;
        bool started;
        atomic_bool cancel;
        int exec_r, exit_code; /* the exec's outcome, once the pipe is at its end */
        long long got;
        EVP_MD_CTX *md;
};

static int to_pipe(const char *data, size_t len, void *ud) {
        struct content *c = ud;
        while (len > 0) {
                ssize_t n = write(c->fd[1], data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno; /* the reader went away: end the exec */
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Runs argv in the pod; output to out (NULL: dropped). Returns the exit code, or < 0. */
static int run(struct content *c, const char *const *argv, int (*out)(const char *, size_t, void *),
        struct merr *err) {
        struct kube_client *kc = NULL;
        struct kube_exec_result res = {0};
        struct kube_exec_opts o = {.namespace = c->ns,
                .pod = c->pod,
                .command = argv,
                .stdin_fd = -1,
                .on_stdout = out,
                .userdata = c,
                .timeout_ms = CONTENT_TIMEOUT_MS,
                .cancel = &c->cancel};
        int r = kube_pool_get(c->s->clients, &kc, err);
        if (r < 0)
                return r;
        r = kube_exec(kc, &o, &res, err);
        kube_pool_put(c->s->clients, kc);
        return r < 0 ? r : res.exit_code;
}

static void *produce(void *ud) {
        struct content *c = ud;
        struct merr err = MERR_INIT;
        const char *const argv[] = {"cat", "--", c->path, NULL};
        int r = run(c, argv, to_pipe, &err);
        c->exec_r = r < 0 ? r : 0;
        c->exit_code = r < 0 ? -1 : r;
        if (r < 0 && !atomic_load(&c->cancel))
                log_warn("artifact download failed", "namespace", c->ns, "artifact", c->name, "error",
                        merr_msg(&err));
        close(c->fd[1]);
        c->fd[1] = -1;
        return NULL;
}

static void content_free(void *ud) {
        struct content *c = ud;
        atomic_store(&c->cancel, true);
        if (c->fd[0] >= 0)
                close(c->fd[0]); /* a producer blocked on a full pipe gets EPIPE */
        if (c->started)
                pthread_join(c->thread, NULL);
        if (c->fd[1] >= 0)
                close(c->fd[1]);
        EVP_MD_CTX_free(c->md);
        free(c);
}

/* Whether what came is what was recorded: the exec succeeded, and size and digest match. */
static bool intact(struct content *c) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 8] = "sha256:";
        if (c->exec_r < 0 || c->exit_code != 0 || (c->size >= 0 && c->got != c->size))
                return false;
        if (!*c->digest || strncmp(c->digest, "sha256:", 7) != 0)
                return true; /* nothing recorded to compare with (sha512 digests are not checked) */
        if (EVP_DigestFinal_ex(c->md, md, &n) != 1)
                return false;
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 7 + 2 * i, 3, "%02x", md[i]);
        return strcmp(hex, c->digest) == 0;
}

static long content_read(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct content *c = ud;
        for (;;) {
                struct pollfd p = {.fd = c->fd[0], .events = POLLIN};
                int r = poll(&p, 1, 200);
                if (r < 0 && errno != EINTR)
                        return -1;
                if (httpd_stream_peer_gone(hs))
                        return -1;
                if (r <= 0)
                        continue;
                ssize_t n = read(c->fd[0], buf, max);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n > 0) {
                        c->got += n;
                        (void) EVP_DigestUpdate(c->md, buf, (size_t) n);
                        return (long) n;
                }
                /* the end: the producer has closed its side */
                pthread_join(c->thread, NULL);
                c->started = false;
                if (intact(c))
                        return 0;
                char got[32];
                snprintf(got, sizeof(got), "%lld", c->got);
                log_warn("artifact download broken off: the file is not the one recorded", "namespace", c->ns,
                        "artifact", c->name, "bytes", got);
                return -1;
        }
}

void api_artifact_content(const struct api_request *r) {
        struct httpd_request *req = r->req;
        struct apiserver *s = r->s;
        const char *ns = r->namespace, *name = r->name;
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        struct artifact_location *at = calloc(1, sizeof(*at));
        char sandbox[256] = "", uri[64] = "", content_type[256] = "application/octet-stream";
        struct api_sandbox sb;
        struct content *c = calloc(1, sizeof(*c));
        if (!at || !c || !(c->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                if (c)
                        EVP_MD_CTX_free(c->md);
                free(c);
                free(at);
                return;
        }
        c->s = s;
        c->fd[0] = c->fd[1] = -1;
        snprintf(c->ns, sizeof(c->ns), "%s", ns ? ns : "");
        snprintf(c->name, sizeof(c->name), "%s", name);
        if (api_connect(req, s, r->res, &conn) < 0) {
                content_free(c);
                free(at);
                return;
        }
        int rows = artifact_locate(conn, c->ns, name, at, &err);
        if (rows > 0) {
                snprintf(c->path, sizeof(c->path), "%s", at->path);
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
        else if (rows > 0 && (strncmp(uri, "workspace://", 12) != 0 || !*c->path))
                httpd_respond_status(req, 400, "BadRequest",
                        "artifact %s is not in a workspace (%s...): fetch it from where its URI points", name,
                        uri);
        else if (rows > 0 && !*sandbox)
                httpd_respond_status(
                        req, 400, "BadRequest", "artifact %s names no sandbox to read it from", name);
        else if (rows > 0 && api_sandbox_running(req, s, c->ns, sandbox, &sb) >= 0) {
                snprintf(c->pod, sizeof(c->pod), "%s", sb.pod);
                /* is the file there? Answered before the stream starts: its status cannot change after */
                const char *const test[] = {"test", "-f", c->path, NULL};
                int k = run(c, test, NULL, &err);
                if (k < 0)
                        httpd_respond_status(req, 503, "ServiceUnavailable", "reading sandbox %s: %s",
                                sandbox, merr_msg(&err));
                else if (k != 0)
                        httpd_respond_status(req, 404, "NotFound", "%s is no longer a file in sandbox %s",
                                c->path, sandbox);
                else if (pipe2(c->fd, O_CLOEXEC) < 0 || pthread_create(&c->thread, NULL, produce, c) != 0)
                        httpd_respond_status(req, 500, "InternalError", "cannot start the download");
                else {
                        c->started = true;
                        (void) httpd_respond_stream(req, 200, content_type, content_read, c, content_free);
                        return;
                }
        }
        content_free(c);
}
