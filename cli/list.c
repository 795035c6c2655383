/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verbs that only read: "NOUN list" and "NOUN describe" for every kind (the nouns' own files add the
 * rest), mbox session|task|artifact list, and mbox history (a kind's states from objecthistories).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

int cli_list_kind(const struct cli_kind *k, int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const char *labels = NULL, *fields = NULL;
        bool watch = false;
        long out = CLI_OUT_TABLE;
        char prog[64], usage[1024];
        const struct flag flags[] = {
                FLAG_HEADING("List:"),
                CLI_OUTPUT_FLAG(&out),
                {"selector", FLAG_STRING, .value = &labels, .arg = "SELECTOR", .short_name = 'l',
                        .help = "only objects whose labels match, e.g. app=web"},
                {"field-selector", FLAG_STRING, .value = &fields, .arg = "SELECTOR",
                        .help = "only objects whose fields match, as the server allows"},
                {"watch", FLAG_BOOL, .value = &watch, .short_name = 'w',
                        .help = "then print each change, until interrupted"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        snprintf(prog, sizeof(prog), "mbox %s list", k->noun);
        snprintf(usage, sizeof(usage),
                "Usage: mbox %s list [NAME] [OPTION]...\n"
                "Lists the %s%s, as `kubectl get %s.%s` does: the server's columns (-o wide: more),\n"
                "or the objects themselves.\n"
                "\nExamples:\n"
                "  mbox %s list%s\n"
                "  mbox %s list%s -o wide\n"
                "  mbox %s list%s -o yaml\n",
                k->noun, k->resource, k->cluster_scoped ? "" : " of a project (or namespace)", k->resource,
                k->group, k->noun, k->cluster_scoped ? "" : " -p demo", k->noun,
                k->cluster_scoped ? "" : " -p demo", k->noun, k->cluster_scoped ? "" : " -p demo");
        int rc = flag_main_args(prog, usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos > 1 || args.n_rest > 0)
                return cli_usage_error(prog, "give at most one NAME");
        if (watch && args.n_pos > 0)
                return cli_usage_error(prog, "--watch follows the whole list, not one NAME");
        struct cli_ctx x = {.out = (enum cli_output) out};
        if (cli_open(&t, &x))
                return 1;
        rc = watch ? cli_watch(&x, k, labels, fields)
                   : cli_get(&x, k, args.n_pos ? args.pos[0] : NULL, labels, fields);
        cli_close(&x);
        return rc;
}

int cli_describe_kind(const struct cli_kind *k, int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        char prog[64], usage[512];
        const struct flag flags[] = {
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        snprintf(prog, sizeof(prog), "mbox %s describe", k->noun);
        snprintf(usage, sizeof(usage),
                "Usage: mbox %s describe NAME [OPTION]...\n"
                "Shows a %s as `kubectl describe` does: its fields, its conditions and the Events about it.\n"
                "\nExample:\n"
                "  mbox %s describe%s NAME\n",
                k->noun, k->noun, k->noun, k->cluster_scoped ? "" : " -p demo");
        int rc = flag_main_args(prog, usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0)
                return cli_usage_error(prog, "give one NAME");
        struct cli_ctx x = {0};
        if (cli_open(&t, &x))
                return 1;
        rc = cli_describe(&x, k, args.pos[0]);
        cli_close(&x);
        return rc;
}

int cli_session_list(int argc, char **argv) {
        return cli_list_kind(&cli_sessions, argc, argv);
}

int cli_task_list(int argc, char **argv) {
        return cli_list_kind(&cli_tasks, argc, argv);
}

int cli_artifact_list(int argc, char **argv) {
        return cli_list_kind(&cli_artifacts, argc, argv);
}

/* The Kind a history names: the nouns, the Kinds and the plurals and short names kubectl takes */
static const char *history_kind(const char *word) {
        static const struct {
                const char *kind, *names[5];
        } kinds[] = {
                {"Project", {"project", "projects", "mproj", NULL}},
                {"EnvironmentTemplate",
                        {"template", "environmenttemplate", "environmenttemplates", "mtpl", "envtpl"}},
                {"Sandbox", {"sandbox", "sandboxes", "msb", NULL}},
                {"ExecutionTask", {"task", "executiontask", "executiontasks", "mtask", NULL}},
        };
        for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
                if (strcasecmp(word, kinds[i].kind) == 0)
                        return kinds[i].kind;
                for (size_t j = 0; j < 5 && kinds[i].names[j]; j++)
                        if (strcasecmp(word, kinds[i].names[j]) == 0)
                                return kinds[i].kind;
        }
        return NULL;
}

static const char history_usage[] =
        "Usage: mbox history [KIND/NAME] [OPTION]...\n"
        "Lists the states an mbox object went through, oldest first, as the history kept them\n"
        "(objecthistories in runtime.mbox.dev): when it changed, how, and its phase then. KIND is project,\n"
        "template, sandbox or task (or their kubectl names); without KIND/NAME, every object's.\n"
        "-o yaml shows each state whole.\n"
        "\nExamples:\n"
        "  mbox history -p demo sandbox/demo-sandbox\n"
        "  mbox history -p demo task/list-workspace -o yaml\n"
        "  mbox history -p demo sandbox/demo-sandbox -w\n";

int cli_history(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        bool watch = false;
        long out = CLI_OUT_TABLE;
        const struct flag flags[] = {
                FLAG_HEADING("History:"),
                CLI_OUTPUT_FLAG(&out),
                {"watch", FLAG_BOOL, .value = &watch, .short_name = 'w',
                        .help = "then print each new state as it is stored, until interrupted"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox history", history_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos > 1 || args.n_rest > 0)
                return cli_usage_error("mbox history", "give at most one KIND/NAME");
        char sel[384] = "";
        if (args.n_pos == 1) {
                const char *slash = strchr(args.pos[0], '/');
                char word[64];
                snprintf(word, sizeof(word), "%.*s", slash ? (int) (slash - args.pos[0]) : 0, args.pos[0]);
                const char *kind = slash ? history_kind(word) : NULL;
                if (!slash || !slash[1] || strlen(slash + 1) > 253)
                        return cli_usage_error(
                                "mbox history", "name the object as KIND/NAME, e.g. sandbox/web");
                if (!kind) {
                        fprintf(stderr,
                                "mbox history: '%s' is not a kind with a history: project, template, "
                                "sandbox or task\n",
                                word);
                        return 2;
                }
                snprintf(sel, sizeof(sel),
                        "object.apiVersion=mbox.dev/v1alpha1,object.kind=%s,object.name=%s", kind, slash + 1);
        }
        struct cli_ctx x = {.out = (enum cli_output) out};
        if (cli_open(&t, &x))
                return 1;
        rc = watch ? cli_watch(&x, &cli_histories, NULL, sel[0] ? sel : NULL)
                   : cli_get(&x, &cli_histories, NULL, NULL, sel[0] ? sel : NULL);
        cli_close(&x);
        return rc;
}
