/* SPDX-License-Identifier: Apache-2.0 */
/* mbox template list|describe|validate: a project's EnvironmentTemplates and their validation. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/template.h"
#include "cli.h"
#include "timestamp.h"

int cli_template_list(int argc, char **argv) {
        return cli_list_kind(&cli_templates, argc, argv);
}

int cli_template_describe(int argc, char **argv) {
        return cli_describe_kind(&cli_templates, argc, argv);
}

/* the result of the current version: NotTested until a run of this version ended */
static const char *result(const struct template *t) {
        const struct template_validation *v = &t->status.validation;
        if (!t->status.has_validation || !v->status || !v->version || !t->status.version ||
                strcmp(v->version, t->status.version) != 0)
                return "NotTested";
        return v->status;
}

static const char validate_usage[] =
        "Usage: mbox template validate NAME [OPTION]...\n"
        "Shows whether the template's current version passed its validation (a sandbox started from it, "
        "then\n"
        "its check command), with the run's message and the check's output. mbox validates each new\n"
        "version by itself; --wait waits for the result. Exit status: 0 Passed (or not tested yet without\n"
        "--wait), 1 Failed.\n"
        "\nExamples:\n"
        "  mbox template validate -p demo node\n"
        "  mbox template validate -p demo node --wait --timeout 10m\n";

int cli_template_validate(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        bool wait = false;
        int64_t timeout_ms = 300000;
        const struct flag flags[] = {
                FLAG_HEADING("Validation:"),
                CLI_WAIT_FLAGS(&wait, &timeout_ms, "the current version is tested"),
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox template validate", validate_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0)
                return cli_usage_error("mbox template validate", "give one NAME");
        struct cli_ctx x = {0};
        if (cli_open(&t, &x))
                return 1;
        struct merr err = MERR_INIT;
        struct kube_resource r = {.group = cli_templates.group,
                .version = cli_templates.version,
                .resource = cli_templates.resource,
                .namespace = x.ns,
                .name = args.pos[0]};
        json_object *obj = NULL;
        struct template *tpl = NULL;
        int64_t deadline = timestamp_monotonic_ms() + timeout_ms;
        bool told = false;
        for (;;) {
                json_object_put(obj);
                obj = NULL;
                tpl = template_free(tpl);
                if (kube_get(x.c, &r, &obj, &err) < 0) {
                        rc = cli_error(&x, "get", &cli_templates, args.pos[0], &err);
                        goto out;
                }
                if (template_from_json(obj, &tpl, &err) < 0) {
                        rc = cli_fail(&err);
                        goto out;
                }
                if (!wait || strcmp(result(tpl), "NotTested") != 0)
                        break;
                if (timestamp_monotonic_ms() >= deadline) {
                        fprintf(stderr, "mbox: template \"%s\" is not tested yet after the --timeout\n",
                                args.pos[0]);
                        rc = 1;
                        goto out;
                }
                if (!told)
                        printf("template \"%s\" version %s: waiting for its validation\n", args.pos[0],
                                tpl->status.version ? tpl->status.version : "(not known yet)");
                told = true;
                fflush(stdout);
                sleep(1);
        }
        const char *status = result(tpl);
        const struct template_validation *v = &tpl->status.validation;
        bool tested = strcmp(status, "NotTested") != 0;
        printf("template \"%s\" version %s: %s", args.pos[0],
                tpl->status.version ? tpl->status.version : "(not known yet)", status);
        if (tested && v->time)
                printf(" at %s", v->time);
        putchar('\n');
        if (tested && v->message)
                printf("Message: %s\n", v->message);
        if (tested && v->output && *v->output)
                printf("Output:\n%s%s", v->output, v->output[strlen(v->output) - 1] == '\n' ? "" : "\n");
        rc = strcmp(status, "Failed") == 0 ? 1 : 0;
out:
        json_object_put(obj);
        template_free(tpl);
        cli_close(&x);
        return rc;
}
