/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shell completion. `mbox completion bash|zsh` prints a script that asks `mbox __complete WORD...` (the
 * words typed so far, the one being completed last) for candidates: commands, verbs, -o formats, and the
 * names of objects on the cluster (sandboxes, projects, templates, ...) in the project the words name.
 * Run as kubectl_complete-mbox, it answers kubectl's plugin completion (`kubectl mbox <TAB>`) the same
 * way, in the form kubectl wants (the candidates, then ":4", no file names).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct cli_command *cli_commands;

static void print_names(const struct cli_target *t, const struct cli_kind *k, const char *prefix) {
        struct cli_ctx x = {0};
        struct merr err = MERR_INIT;
        json_object *list = NULL, *items = NULL;
        if (cli_connect(t, &x.c, x.ns, &err) < 0)
                return;
        kube_client_set_timeout(x.c, 5000);
        struct kube_resource r = {.group = k->group,
                .version = k->version,
                .resource = k->resource,
                .namespace = k->cluster_scoped ? NULL : x.ns};
        struct kube_list_opts o = {.limit = 500, .metadata_only = true};
        if (kube_list(x.c, &r, &o, &list, &err) >= 0 && json_object_object_get_ex(list, "items", &items))
                for (size_t i = 0; i < json_object_array_length(items); i++) {
                        json_object *md = NULL, *name = NULL;
                        if (json_object_object_get_ex(json_object_array_get_idx(items, i), "metadata", &md) &&
                                json_object_object_get_ex(md, "name", &name))
                                printf("%s%s\n", prefix, json_object_get_string(name));
                }
        json_object_put(list);
        kube_client_free(x.c);
}

/* the kind whose names the first word's verbs take */
static const struct cli_kind *kind_of(const char *noun) {
        static const struct {
                const char *noun;
                const struct cli_kind *k;
        } nouns[] = {
                {"project", &cli_projects},
                {"template", &cli_templates},
                {"sandbox", &cli_sandboxes},
                {"task", &cli_tasks},
                {"artifact", &cli_artifacts},
                {"session", &cli_sessions},
                {"exec", &cli_sandboxes},
                {"terminal", &cli_sandboxes},
                {"logs", &cli_sandboxes},
                {"cp", &cli_sandboxes},
                {"preview", &cli_sandboxes},
        };
        for (size_t i = 0; i < sizeof(nouns) / sizeof(*nouns); i++)
                if (strcmp(noun, nouns[i].noun) == 0)
                        return nouns[i].k;
        return NULL;
}

int cli_complete(int argc, char **argv) {
        /* argv[0] is "__complete" (or the kubectl plugin's name); the last word is the one being typed */
        int n = argc - 1;
        char **w = argv + 1;
        const char *cur = n > 0 ? w[n - 1] : "";
        const char *prev = n > 1 ? w[n - 2] : "";
        struct cli_target t = {0};
        bool kubectl = strstr(argv[0], "kubectl_complete") != NULL;
        /* where the names come from: the flags typed so far */
        for (int i = 0; i + 1 < n - 1; i++) {
                if (strcmp(w[i], "-p") == 0 || strcmp(w[i], "--project") == 0)
                        t.project = w[i + 1];
                else if (strcmp(w[i], "-n") == 0 || strcmp(w[i], "--namespace") == 0)
                        t.namespace = w[i + 1];
                else if (strcmp(w[i], "--context") == 0)
                        t.context = w[i + 1];
                else if (strcmp(w[i], "--kubeconfig") == 0)
                        t.kubeconfig = w[i + 1];
        }
        if (n <= 1) { /* the command, or the noun */
                const char *last = "";
                for (const struct cli_command *c = cli_commands; c->name; c++) {
                        size_t len = strcspn(c->name, " ");
                        if (!c->help ||
                                (strncmp(last, c->name, len) == 0 && (last[len] == ' ' || !last[len])))
                                continue;
                        printf("%.*s\n", (int) len, c->name);
                        last = c->name;
                }
        } else if (strcmp(prev, "-o") == 0 || strcmp(prev, "--output") == 0) {
                for (const char *const *o = cli_output_choices; *o; o++)
                        puts(*o);
        } else if (strcmp(prev, "-p") == 0 || strcmp(prev, "--project") == 0) {
                print_names(&t, &cli_projects, "");
        } else if (strcmp(prev, "-t") == 0 || strcmp(prev, "--template") == 0) {
                print_names(&t, &cli_templates, "");
        } else if (strcmp(w[0], "history") == 0) {
                const char *slash = strchr(cur, '/');
                char noun[32];
                snprintf(noun, sizeof(noun), "%.*s", slash ? (int) (slash - cur) : 0, cur);
                const struct cli_kind *k = slash ? kind_of(noun) : NULL;
                if (k) {
                        snprintf(noun + strlen(noun), sizeof(noun) - strlen(noun), "/");
                        print_names(&t, k, noun);
                } else
                        puts("project/\ntemplate/\nsandbox/\ntask/");
        } else if (n == 2 && !kind_of(w[0])) {
                /* nothing to name after a command of one word that takes no object */
        } else if (n == 2 && strcmp(w[0], "exec") != 0 && strcmp(w[0], "terminal") != 0 &&
                   strcmp(w[0], "logs") != 0) {
                for (const struct cli_command *c = cli_commands; c->name; c++) {
                        size_t len = strlen(w[0]);
                        if (c->help && strncmp(c->name, w[0], len) == 0 && c->name[len] == ' ')
                                printf("%s\n", c->name + len + 1);
                }
        } else if (cur[0] != '-' && kind_of(w[0])) {
                print_names(&t, kind_of(w[0]), "");
        }
        if (kubectl)
                puts(":4");
        return 0;
}

static const char bash_script[] = "# mbox completion for bash: source <(mbox completion bash)\n"
                                  "_mbox() {\n"
                                  "        local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\\n'\n"
                                  "        COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" __complete "
                                  "\"${COMP_WORDS[@]:1:COMP_CWORD}\" "
                                  "2>/dev/null)\" -- \"$cur\"))\n"
                                  "}\n"
                                  "complete -o default -F _mbox mbox kubectl-mbox\n";

static const char zsh_script[] = "#compdef mbox kubectl-mbox\n"
                                 "# mbox completion for zsh: source <(mbox completion zsh), after compinit\n"
                                 "_mbox() {\n"
                                 "        local -a c\n"
                                 "        c=(${(f)\"$(${words[1]} __complete \"${(@)words[2,CURRENT]}\" "
                                 "2>/dev/null)\"})\n"
                                 "        compadd -a c\n"
                                 "}\n"
                                 "compdef _mbox mbox kubectl-mbox\n";

static const char completion_usage[] =
        "Usage: mbox completion bash|zsh\n"
        "Prints the shell's completion script: commands, verbs, formats, and the names of the objects on\n"
        "the cluster (in the project that -p names). `make install` installs both; `kubectl mbox <TAB>`\n"
        "completes through kubectl_complete-mbox.\n"
        "\nExamples:\n"
        "  source <(mbox completion bash)\n"
        "  mbox completion zsh > \"${fpath[1]}/_mbox\"\n";

int cli_completion(int argc, char **argv) {
        struct flag_args args;
        const struct flag flags[] = {{0}};
        int rc = flag_main_args("mbox completion", completion_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0)
                return cli_usage_error("mbox completion", "name the shell: bash or zsh");
        if (strcmp(args.pos[0], "bash") == 0)
                fputs(bash_script, stdout);
        else if (strcmp(args.pos[0], "zsh") == 0)
                fputs(zsh_script, stdout);
        else
                return cli_usage_error("mbox completion", "the shells are bash and zsh");
        return 0;
}
