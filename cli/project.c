/* SPDX-License-Identifier: Apache-2.0 */
/* mbox project list|create|delete|describe: the cluster-scoped Projects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/project.h"
#include "cli.h"
#include "jsonutil.h"
#include "timestamp.h"

int cli_project_list(int argc, char **argv) {
        return cli_list_kind(&cli_projects, argc, argv);
}

int cli_project_describe(int argc, char **argv) {
        return cli_describe_kind(&cli_projects, argc, argv);
}

/* the Ready condition's status, and its message */
static bool ready(json_object *obj, const char **message) {
        _cleanup_(project_freep) struct project *p = NULL;
        if (project_from_json(obj, &p, NULL) < 0)
                return false;
        const struct api_condition *c = api_condition_find(&p->status.conditions, "Ready");
        static char msg[512];
        snprintf(msg, sizeof(msg), "%s", c && c->message ? c->message : "");
        *message = msg;
        return c && c->status && strcmp(c->status, "True") == 0;
}

static const char create_usage[] =
        "Usage: mbox project create NAME [OPTION]...\n"
        "Creates a project: mbox gives it a namespace (mbox-NAME unless --namespace), its roles and policy.\n"
        "With --wait, returns once it is Ready.\n"
        "\nExamples:\n"
        "  mbox project create demo --display-name \"Demo Project\" --wait\n"
        "  mbox project create web --repository https://github.com/example/web -o yaml\n";

int cli_project_create(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const char *display = NULL, *description = NULL, *repo = NULL, *ns = NULL, *tpl = NULL;
        bool wait = false;
        int64_t timeout_ms = 300000;
        long out = CLI_OUT_TABLE;
        const struct flag flags[] = {
                FLAG_HEADING("Project:"),
                {"display-name", FLAG_STRING, .value = &display, .arg = "TEXT", .help = "a name for people"},
                {"description", FLAG_STRING, .value = &description, .arg = "TEXT", .help = "what it is for"},
                {"repository", FLAG_STRING, .value = &repo, .arg = "URL", .help = "its source repository"},
                {"project-namespace", FLAG_STRING, .value = &ns, .arg = "NS",
                        .help = "the namespace it owns (default mbox-NAME)"},
                {"default-template", FLAG_STRING, .value = &tpl, .arg = "TEMPLATE",
                        .help = "the template of sandboxes that name none"},
                CLI_WAIT_FLAGS(&wait, &timeout_ms, "it is Ready"),
                CLI_OUTPUT_FLAG(&out),
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox project create", create_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0)
                return cli_usage_error("mbox project create", "give one NAME");
        json_object *body = json_object_new_object(), *md = json_object_new_object(),
                    *spec = json_object_new_object();
        json_object_object_add(body, "apiVersion", json_object_new_string("mbox.dev/v1alpha1"));
        json_object_object_add(body, "kind", json_object_new_string("Project"));
        json_object_object_add(md, "name", json_object_new_string(args.pos[0]));
        json_object_object_add(body, "metadata", md);
        const char *keys[] = {"displayName", "description", "repositoryURL", "namespace"};
        const char *vals[] = {display, description, repo, ns};
        for (size_t i = 0; i < 4; i++)
                if (vals[i])
                        json_object_object_add(spec, keys[i], json_object_new_string(vals[i]));
        if (tpl) {
                json_object *ref = json_object_new_object();
                json_object_object_add(ref, "name", json_object_new_string(tpl));
                json_object_object_add(spec, "defaultTemplate", ref);
        }
        json_object_object_add(body, "spec", spec);
        struct cli_ctx x = {.out = (enum cli_output) out};
        if (cli_open(&t, &x)) {
                json_object_put(body);
                return 1;
        }
        struct merr err = MERR_INIT;
        struct kube_resource r = {.group = cli_projects.group,
                .version = cli_projects.version,
                .resource = cli_projects.resource,
                .name = NULL};
        json_object *made = NULL;
        rc = kube_create(x.c, &r, body, &(struct kube_write_opts){.field_manager = "mbox"}, &made, &err);
        json_object_put(body);
        if (rc < 0) {
                rc = cli_error(&x, "create", &cli_projects, args.pos[0], &err);
                goto out;
        }
        /* a project's readiness is a condition, not a phase: read it again until it is True */
        r.name = args.pos[0];
        int64_t deadline = timestamp_monotonic_ms() + timeout_ms;
        const char *message = "";
        while (wait && !ready(made, &message) && timestamp_monotonic_ms() < deadline) {
                usleep(250 * 1000);
                json_object_put(made);
                made = NULL;
                if (kube_get(x.c, &r, &made, &err) < 0) {
                        rc = cli_error(&x, "get", &cli_projects, args.pos[0], &err);
                        goto out;
                }
        }
        if (wait && !ready(made, &message)) {
                fprintf(stderr, "mbox: project \"%s\" is not Ready after the --timeout%s%s\n", args.pos[0],
                        *message ? ": " : "", message);
                rc = 1;
        } else
                rc = cli_print_done(&x, &cli_projects, made, wait ? "created, Ready" : "created");
out:
        json_object_put(made);
        cli_close(&x);
        return rc;
}

int cli_project_delete(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        bool wait = false;
        int64_t timeout_ms = 300000;
        const struct flag flags[] = {
                FLAG_HEADING("Delete:"),
                CLI_WAIT_FLAGS(&wait, &timeout_ms, "it is gone"),
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        static const char usage[] =
                "Usage: mbox project delete NAME... [OPTION]...\n"
                "Deletes projects, and with each its namespace: its templates, sandboxes and "
                "tasks.\n"
                "\nExample:\n"
                "  mbox project delete demo --wait\n";
        int rc = flag_main_args("mbox project delete", usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos < 1 || args.n_rest > 0)
                return cli_usage_error("mbox project delete", "give at least one NAME");
        struct cli_ctx x = {0};
        if (cli_open(&t, &x))
                return 1;
        rc = 0;
        for (int i = 0; i < args.n_pos; i++)
                rc |= cli_delete(&x, &cli_projects, args.pos[i], wait, timeout_ms);
        cli_close(&x);
        return rc ? 1 : 0;
}
