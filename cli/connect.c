/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster and the namespace a command works in, and what every command writes with. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "api/project.h"
#include "cli.h"
#include "kube/config.h"

/* --verbose: each request as it ends, as kubectl -v=6 shows it */
static void trace(const char *method, const char *url, int code, double secs, void *ud) {
        (void) ud;
        if (code > 0)
                fprintf(stderr, "%s %s %d in %.0f ms\n", method, url, code, secs * 1000);
        else
                fprintf(stderr, "%s %s: no answer after %.0f ms\n", method, url, secs * 1000);
}

int cli_connect(const struct cli_target *t, struct kube_client **ret, char ns[static 64], struct merr *err) {
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        int r = t->kubeconfig ? kube_config_load(t->kubeconfig, t->context, &cfg, err)
                              : kube_config_default(t->context, &cfg, err);
        if (r < 0)
                return r;
        snprintf(ns, 64, "%s", t->namespace ? t->namespace : cfg->namespace);
        r = kube_client_new(cfg, &c, err); /* takes cfg */
        if (r < 0)
                return r;
        if (t->verbose)
                kube_client_set_trace(c, trace, NULL);
        if (t->project) {
                /* the namespace the project owns, as its spec says */
                struct kube_resource rs = {.group = "mbox.dev",
                        .version = "v1alpha1",
                        .resource = "projects",
                        .name = t->project};
                json_object *obj = NULL;
                struct project *p = NULL;
                char buf[64];
                r = kube_get(c, &rs, &obj, err);
                if (r == -ENOENT)
                        r = merr_set(err, r, "project \"%s\" not found", t->project);
                if (r == -EACCES) {
                        /* Projects are cluster-scoped: members may not read theirs. Its default namespace
                         * then (a project with another one is given with -n). */
                        snprintf(ns, 64, "mbox-%s", t->project);
                        merr_clear(err);
                        r = 0;
                } else if (r >= 0 && (r = project_from_json(obj, &p, err)) >= 0)
                        snprintf(ns, 64, "%s", project_namespace(p, buf, sizeof(buf)));
                project_free(p);
                json_object_put(obj);
        }
        if (r < 0) {
                kube_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int cli_fail(const struct merr *err) {
        fprintf(stderr, "mbox: %s\n", merr_msg(err));
        return 1;
}

int cli_write(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        (void) poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 1000);
                        continue;
                }
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t) n;
        }
        return 0;
}
