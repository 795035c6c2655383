/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox preview url|open: a link to a sandbox's preview for a browser (docs/previews.md): a PreviewGrant
 * created through runtime.mbox.dev with the caller's own rights, whose status.url the browser opens once to
 * get the cookie of that port. A Public port needs no grant: its URL is printed as it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "jsonutil.h"
#include "kube/object.h"

/* The preview URL of sandbox's port (the first one when port is NULL), or with a grant for it. */
static int preview_link(const struct cli_target *t, const char *sandbox, const char *port, long ttl,
        char **ret, struct merr *err) {
        struct kube_client *c = NULL;
        char ns[64];
        json_object *sb = NULL, *grant = NULL, *created = NULL;
        int r = cli_connect(t, &c, ns, err);
        if (r < 0)
                return r;
        struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = ns,
                .name = sandbox};
        r = kube_get(c, &rs, &sb, err);
        if (r == -ENOENT)
                r = merr_set(err, r, "sandbox \"%s\" not found in namespace %s", sandbox, ns);
        json_object *urls = r >= 0 ? kube_field(sb, "status.previewURLs") : NULL, *u = NULL;
        for (size_t i = 0; urls && json_object_is_type(urls, json_type_array) &&
                           i < json_object_array_length(urls) && !u;
                i++) {
                json_object *e = json_object_array_get_idx(urls, i);
                if (!port || (kube_str(e, "name") && strcmp(kube_str(e, "name"), port) == 0))
                        u = e;
        }
        if (r >= 0 && !u)
                r = merr_set(err, -ENOENT, "sandbox \"%s\" has no preview %s%s%s", sandbox,
                        port ? "port \"" : "ports", port ? port : "",
                        port ? "\"" : " (status.previewURLs is empty)");
        if (r >= 0 && strcmp(kube_str(u, "visibility") ? kube_str(u, "visibility") : "", "Public") == 0) {
                *ret = strdup(kube_str(u, "url"));
                r = *ret ? 0 : merr_set(err, -ENOMEM, "out of memory");
        } else if (r >= 0) {
                struct kube_resource gr = {.group = "runtime.mbox.dev",
                        .version = "v1alpha1",
                        .resource = "previewgrants",
                        .namespace = ns};
                grant = json_object_new_object();
                json_object *spec = json_object_new_object();
                json_object_object_add(
                        grant, "apiVersion", json_object_new_string("runtime.mbox.dev/v1alpha1"));
                json_object_object_add(grant, "kind", json_object_new_string("PreviewGrant"));
                json_object_object_add(spec, "sandbox", json_object_new_string(sandbox));
                json_object_object_add(spec, "port", json_object_new_string(kube_str(u, "name")));
                if (ttl > 0)
                        json_object_object_add(spec, "ttlSeconds", json_object_new_int64(ttl));
                json_object_object_add(grant, "spec", spec);
                r = kube_create(c, &gr, grant, NULL, &created, err);
                const char *url = r >= 0 ? kube_str(created, "status.url") : NULL;
                if (r >= 0 && !url)
                        r = merr_set(err, -EPROTO, "the server's PreviewGrant has no status.url");
                if (r >= 0 && !(*ret = strdup(url)))
                        r = merr_set(err, -ENOMEM, "out of memory");
        }
        json_object_put(sb);
        json_object_put(grant);
        json_object_put(created);
        kube_client_free(c);
        return r;
}

static const char usage[] =
        "Usage: mbox preview url SANDBOX [PORT] [OPTION]...\n"
        "   or: mbox preview open SANDBOX [PORT] [OPTION]...\n"
        "Prints (url) or opens in a browser (open) a link to a port of a sandbox (the first one when PORT "
        "is\n"
        "not given). A Public port's link is its preview URL; for the others, a preview grant is created\n"
        "with your own rights (create previewgrants in runtime.mbox.dev; a Private port also needs you to "
        "be\n"
        "the sandbox's creator or a project admin): a link that works once for --ttl and sets a cookie for\n"
        "that port in the browser that opens it. Anyone with the link can use it until it expires.\n"
        "\nExamples:\n"
        "  mbox preview url -p demo demo-sandbox web\n"
        "  mbox preview open -p demo demo-sandbox\n"
        "  mbox preview url -p demo demo-sandbox web --ttl 10m | xargs chromium\n";

static int run(int argc, char **argv, bool open_it) {
        struct cli_target t = {0};
        struct flag_args args;
        long long ttl_ms = 0;
        const struct flag flags[] = {
                FLAG_HEADING("Link:"),
                {"ttl", FLAG_DURATION, FLAG_INTO(&ttl_ms), .arg = "DURATION", .min = 60000, .max = 3600000,
                        .help = "how long the link works, 1m to 1h (default: the server's, 5m)"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        const char *name = open_it ? "mbox preview open" : "mbox preview url";
        int rc = flag_main_args(name, usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos < 1 || args.n_pos > 2 || args.n_rest > 0) {
                fprintf(stderr, "%s: give SANDBOX and maybe PORT (see --help)\n", name);
                return 2;
        }
        struct merr err = MERR_INIT;
        char *url = NULL;
        if (preview_link(&t, args.pos[0], args.n_pos > 1 ? args.pos[1] : NULL, (long) (ttl_ms / 1000), &url,
                    &err) < 0)
                return cli_fail(&err);
        if (!open_it) {
                printf("%s\n", url);
                free(url);
                return 0;
        }
        /* $BROWSER, else xdg-open; the link is printed too, for a terminal without a browser */
        const char *browser = secure_getenv("BROWSER");
        fprintf(stderr, "Opening %s\n", url);
        pid_t pid = fork();
        if (pid == 0) {
                execlp(browser && *browser ? browser : "xdg-open", browser && *browser ? browser : "xdg-open",
                        url, (char *) NULL);
                _exit(127);
        }
        int status = 0;
        rc = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0
                                                                                                         : 1;
        if (rc)
                fprintf(stderr,
                        "mbox: cannot start a browser (set $BROWSER); open the link above yourself\n");
        free(url);
        return rc;
}

int cli_preview_url(int argc, char **argv) {
        return run(argc, argv, false);
}

int cli_preview_open(int argc, char **argv) {
        return run(argc, argv, true);
}
