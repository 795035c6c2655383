/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox: the command line (docs/cli.md). main() picks the command, one word ("exec") or a noun and its verb
 * ("sandbox list"); each command parses its own flags, the common ones (kubeconfig, context, namespace or
 * project) among them, and runs over pkg/.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
        {"exec", "run a command in a sandbox", cli_exec},
        {"terminal", "open a sandbox's terminal", cli_terminal},
        {"logs", "print a sandbox's log", cli_logs},
        {"task run", "run a command as a task and follow it", cli_task_run},
        {"task logs", "print a task's output", cli_task_logs},
        {"task cancel", "cancel a task", cli_task_cancel},
        {"task wait", "wait until a task ends", cli_task_wait},
        {"artifact get", "write an artifact's bytes", cli_artifact_get},
        {"artifact push", "register a sandbox's file as an artifact", cli_artifact_push},
        {"cp", "copy a file into or out of a sandbox", cli_cp},
        {"preview url", "print a link to a sandbox's preview", cli_preview_url},
        {"preview open", "open a sandbox's preview in a browser", cli_preview_open},
        {NULL},
};

static void usage(FILE *f) {
        fputs("Usage: mbox COMMAND [OPTION]... [ARG]...\n"
              "Works with mbox sandboxes on the cluster of the current kubeconfig context.\n\nCommands:\n",
                f);
        for (const struct cli_command *c = commands; c->name; c++)
                fprintf(f, "  %-18s%s\n", c->name, c->help);
        fputs("\nmbox COMMAND --help tells more about each.\n"
              "Exit status: 0 ok, 1 an error, 2 bad usage; exec and task run and wait pass on the command's "
              "own.\n",
                f);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return 0;
        }
        /* "noun verb" first: argv[1] is the noun, argv[2] the verb, and the command sees argv[2] as its name */
        size_t n = strlen(argv[1]);
        for (const struct cli_command *c = commands; argc > 2 && c->name; c++)
                if (strncmp(c->name, argv[1], n) == 0 && c->name[n] == ' ' &&
                        strcmp(c->name + n + 1, argv[2]) == 0)
                        return c->run(argc - 2, argv + 2);
        for (const struct cli_command *c = commands; c->name; c++)
                if (strcmp(argv[1], c->name) == 0)
                        return c->run(argc - 1, argv + 1);
        fprintf(stderr, "mbox: unknown command '%s' (see mbox --help)\n", argv[1]);
        return 2;
}
