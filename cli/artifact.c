/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox artifact get|push: an Artifact's bytes through runtime.mbox.dev's artifacts/NAME/content, streamed
 * (cli_download()), and the registration of a file of a sandbox, or of what a task wrote, as an Artifact
 * (docs/apiserver.md, "Artifact").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "cli.h"
#include "jsonutil.h"

static struct kube_resource artifacts_in(const char *ns, const char *name) {
        return (struct kube_resource){.group = "runtime.mbox.dev",
                .version = "v1alpha1",
                .resource = "artifacts",
                .namespace = ns,
                .name = name};
}

static const char get_usage[] =
        "Usage: mbox artifact get NAME [OPTION]...\n"
        "Writes an artifact's bytes to stdout, or to a file with -o, streamed as they come from the sandbox\n"
        "(which must be running). The server checks them against the size and digest the artifact records:\n"
        "a file that changed since is broken off, and -o then leaves no file behind. Needs get on\n"
        "artifacts/content in runtime.mbox.dev (every project role).\n"
        "\nExamples:\n"
        "  mbox artifact get -p demo list-workspace-report -o report.json\n"
        "  mbox artifact get -p demo build-log | less\n";

int cli_artifact_get(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const char *out = NULL;
        const struct flag flags[] = {
                FLAG_HEADING("Output:"),
                {"output", FLAG_STRING, .value = &out, .arg = "FILE", .short_name = 'o',
                        .help = "write to FILE (replaced once the whole artifact came) instead of stdout"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox artifact get", get_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0) {
                fprintf(stderr, "mbox artifact get: give one NAME (see --help)\n");
                return 2;
        }
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        struct kube_resource r = artifacts_in(ns, args.pos[0]);
        r.subresource = "content";
        rc = cli_download(c, &r, NULL, out, NULL, &err);
        kube_client_free(c);
        return rc < 0 ? cli_fail(&err) : 0;
}

/* --label K=V, again for more */
static int parse_label(const struct flag *f, const char *arg, struct merr *err) {
        json_object *labels = f->value;
        const char *eq = strchr(arg, '=');
        char key[320];
        if (!eq || eq == arg || (size_t) (eq - arg) >= sizeof(key))
                return merr_set(err, -EINVAL, "'%s' is not KEY=VALUE", arg);
        snprintf(key, sizeof(key), "%.*s", (int) (eq - arg), arg);
        return api_put_str(labels, key, eq + 1);
}

static const char push_usage[] =
        "Usage: mbox artifact push SANDBOX:PATH [OPTION]...\n"
        "   or: mbox artifact push --task TASK PATH [OPTION]...\n"
        "Registers a file of a sandbox as an artifact: a record of it that outlives the task and the\n"
        "sandbox's stop, whose bytes mbox artifact get reads while the sandbox runs. With --task, the file "
        "a\n"
        "task wrote in its sandbox: the server fills in the task's uid, sandbox and pod. Prints the\n"
        "artifact's name. Needs create on artifacts in runtime.mbox.dev (project Developers).\n"
        "\nExamples:\n"
        "  mbox artifact push -p demo demo-sandbox:/workspace/dist/app.tar.gz --kind build\n"
        "  mbox artifact push -p demo --task build-7xq2k /workspace/reports/test.json --name test-report \\\n"
        "      --kind report --content-type application/json -l suite=unit\n";

int cli_artifact_push(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const char *name = NULL, *task = NULL, *kind = NULL, *title = NULL, *content_type = NULL;
        _cleanup_json_ json_object *labels = json_object_new_object();
        if (!labels)
                return 1;
        const struct flag flags[] = {
                FLAG_HEADING("Artifact:"),
                {"name", FLAG_STRING, .value = &name, .arg = "NAME",
                        .help = "the artifact's name (default: the sandbox's or the task's and five random "
                                "characters)"},
                {"task", FLAG_STRING, .value = &task, .arg = "TASK", .help = "the task that wrote the file"},
                {"kind", FLAG_STRING, .value = &kind, .arg = "KIND",
                        .help = "what it is, a DNS label: report, log, build... (default: file)"},
                {"title", FLAG_STRING, .value = &title, .arg = "TEXT", .help = "a name for people"},
                {"content-type", FLAG_STRING, .value = &content_type, .arg = "TYPE",
                        .help = "its media type, as application/json"},
                {"label", FLAG_FUNC, .value = labels, .arg = "KEY=VALUE", .short_name = 'l',
                        .parse = parse_label, .help = "a label; again for more"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox artifact push", push_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        char sandbox[254] = "";
        const char *path = args.n_pos == 1 ? args.pos[0] : NULL, *colon = path ? strchr(path, ':') : NULL;
        if (!task && colon && colon > path && (size_t) (colon - path) < sizeof(sandbox)) {
                snprintf(sandbox, sizeof(sandbox), "%.*s", (int) (colon - path), path);
                path = colon + 1;
        }
        if (args.n_rest > 0 || !path || (!task && !*sandbox)) {
                fprintf(stderr,
                        "mbox artifact push: give SANDBOX:PATH, or --task TASK and PATH (see --help)\n");
                return 2;
        }
        if (path[0] != '/') {
                fprintf(stderr, "mbox artifact push: the path in the sandbox must be absolute, not '%s'\n",
                        path);
                return 2;
        }
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64], uri[4200], prefix[80];
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        snprintf(uri, sizeof(uri), "workspace://%s", path);
        snprintf(prefix, sizeof(prefix), "%.57s-", task ? task : sandbox);
        _cleanup_json_ json_object *obj = json_object_new_object(), *created = NULL;
        json_object *meta = json_object_new_object(), *spec = json_object_new_object(),
                    *task_ref = task ? json_object_new_object() : NULL;
        rc = api_put_str(obj, "apiVersion", "runtime.mbox.dev/v1alpha1");
        if (rc >= 0)
                rc = api_put_str(obj, "kind", "Artifact");
        if (rc >= 0)
                rc = api_put_str(meta, name ? "name" : "generateName", name ? name : prefix);
        if (rc >= 0 && json_object_object_length(labels) > 0)
                rc = api_put_obj(meta, "labels", json_object_get(labels));
        if (rc >= 0)
                rc = api_put_str(spec, "uri", uri);
        if (rc >= 0 && task)
                rc = api_put_str(task_ref, "name", task);
        if (rc >= 0 && task)
                rc = api_put_obj(spec, "task", json_object_get(task_ref));
        if (rc >= 0 && *sandbox)
                rc = api_put_str(spec, "sandbox", sandbox);
        const struct {
                const char *key, *value;
        } optional[] = {{"kind", kind}, {"name", title}, {"contentType", content_type}};
        for (size_t i = 0; rc >= 0 && i < sizeof(optional) / sizeof(*optional); i++)
                if (optional[i].value)
                        rc = api_put_str(spec, optional[i].key, optional[i].value);
        if (rc >= 0)
                rc = api_put_obj(obj, "metadata", json_object_get(meta));
        if (rc >= 0)
                rc = api_put_obj(obj, "spec", json_object_get(spec));
        json_object_put(meta);
        json_object_put(spec);
        json_object_put(task_ref);
        if (rc < 0)
                merr_set(&err, -ENOMEM, "out of memory");
        struct kube_resource r = artifacts_in(ns, NULL);
        if (rc >= 0)
                rc = kube_create(c, &r, obj, NULL, &created, &err);
        kube_client_free(c);
        const char *got = NULL;
        if (rc >= 0 && json_get_string(created, "metadata.name", 0, &got, &err) < 0)
                rc = -EPROTO;
        if (rc < 0)
                return cli_fail(&err);
        printf("%s\n", got);
        return 0;
}
