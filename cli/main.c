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
        {"project list", "list projects", cli_project_list},
        {"project create", "create a project", cli_project_create},
        {"project delete", "delete projects", cli_project_delete},
        {"project describe", "show a project, its conditions and events", cli_project_describe},
        {"template list", "list a project's environment templates", cli_template_list},
        {"template describe", "show a template, its conditions and events", cli_template_describe},
        {"template validate", "show a template's validation result and output", cli_template_validate},
        {"sandbox list", "list a project's sandboxes", cli_sandbox_list},
        {"sandbox create", "create a sandbox from a template", cli_sandbox_create},
        {"sandbox delete", "delete sandboxes", cli_sandbox_delete},
        {"sandbox stop", "stop a sandbox, keeping its workspace", cli_sandbox_stop},
        {"sandbox start", "start a stopped sandbox", cli_sandbox_start},
        {"sandbox describe", "show a sandbox, its conditions and events", cli_sandbox_describe},
        {"exec", "run a command in a sandbox", cli_exec},
        {"terminal", "open a sandbox's terminal", cli_terminal},
        {"logs", "print a sandbox's log", cli_logs},
        {"cp", "copy a file into or out of a sandbox", cli_cp},
        {"preview url", "print a link to a sandbox's preview", cli_preview_url},
        {"preview open", "open a sandbox's preview in a browser", cli_preview_open},
        {"task list", "list a project's execution tasks", cli_task_list},
        {"task run", "run a command as a task and follow it", cli_task_run},
        {"task logs", "print a task's output", cli_task_logs},
        {"task cancel", "cancel a task", cli_task_cancel},
        {"task wait", "wait until a task ends", cli_task_wait},
        {"artifact list", "list a project's artifacts", cli_artifact_list},
        {"artifact get", "write an artifact's bytes", cli_artifact_get},
        {"artifact push", "register a sandbox's file as an artifact", cli_artifact_push},
        {"session list", "list the exec and terminal sessions opened", cli_session_list},
        {"history", "the states an object went through", cli_history},
        {"completion", "print the bash or zsh completion script", cli_completion},
        {"__complete", NULL, cli_complete}, /* what the completion scripts ask; not in the help */
        {NULL},
};

static void usage(FILE *f) {
        fputs("Usage: mbox COMMAND [OPTION]... [ARG]...\n"
              "Works with mbox sandboxes on the cluster of the current kubeconfig context.\n\nCommands:\n",
                f);
        for (const struct cli_command *c = commands; c->name; c++)
                if (c->help)
                        fprintf(f, "  %-20s%s\n", c->name, c->help);
        fputs("\nmbox COMMAND --help tells more about each. The resource commands take -o "
              "table|wide|json|yaml|name\n"
              "and every command --verbose (each HTTP request on stderr).\n"
              "Exit status: 0 ok, 1 an error (one line on stderr), 2 bad usage (a flag or argument);\n"
              "exec, task run and task wait pass on the command's own.\n",
                f);
}

int main(int argc, char **argv) {
        cli_commands = commands;
        if (strstr(argv[0], "kubectl_complete-")) /* kubectl's completion of the plugin */
                return cli_complete(argc, argv);
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
