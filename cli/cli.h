/* SPDX-License-Identifier: Apache-2.0 */
/* What the mbox command's files share. */
#pragma once

#include <stdbool.h>

#include "flag.h"
#include "kube/client.h"
#include "merr.h"

struct cli_command {
        const char *name, *help;           /* name: "exec", or a noun and its verb: "sandbox list" */
        int (*run)(int argc, char **argv); /* argv[0] is the command's name (the verb's for "noun verb") */
};

/* The flags every command takes: where the cluster is, and which project's namespace. */
struct cli_target {
        const char *kubeconfig, *context, *namespace, *project;
        bool verbose;
};
#define CLI_TARGET_FLAGS(t)                                                                           \
        FLAG_HEADING("Where:"),                                                                       \
                {"namespace", FLAG_STRING, .value = &(t)->namespace, .arg = "NS", .short_name = 'n',  \
                        .help = "the namespace (default: the context's)"},                            \
                {"project", FLAG_STRING, .value = &(t)->project, .arg = "PROJECT", .short_name = 'p', \
                        .help = "the namespace of this mbox project instead"},                        \
                {"kubeconfig", FLAG_STRING, .value = &(t)->kubeconfig, .arg = "PATHS",                \
                        .help = "kubeconfig files (default: $KUBECONFIG, else ~/.kube/config)"},      \
                {"verbose", FLAG_BOOL, .value = &(t)->verbose,                                        \
                        .help = "print each HTTP request on stderr: method, URL, status, time"},      \
        {                                                                                             \
                "context", FLAG_STRING, .value = &(t)->context, .arg = "NAME",                        \
                                        .help = "the kubeconfig context (default: the current one)"   \
        }

/* A client for t, and the namespace it names into ns. Returns 0, or < 0 with the reason in err. */
int cli_connect(const struct cli_target *t, struct kube_client **ret, char ns[static 64], struct merr *err);

/* Writes it all to fd, waiting while it would block (a terminal's stdout shares stdin's O_NONBLOCK in a
 * session). Returns 0 or -errno (the reader is gone). */
int cli_write(int fd, const char *data, size_t len);

/* Prints "mbox: <what went wrong>" on stderr and returns 1. */
int cli_fail(const struct merr *err);

int cli_exec(int argc, char **argv);
int cli_terminal(int argc, char **argv);
int cli_logs(int argc, char **argv);

/* GETs r (query as for kube_stream_opts) and streams its body to the file local (NULL or "-": stdout), by
 * way of a temporary file beside it renamed at the end, so a broken download leaves no file; with a
 * progress line on stderr when it is a terminal and the body is large. A body that begins with refuse
 * (NULL: none) is stopped with -EISDIR. Returns 0, or < 0 with the reason in err. */
int cli_download(struct kube_client *c, const struct kube_resource *r, const char *const *query,
        const char *local, const char *refuse, struct merr *err);

int cli_task_run(int argc, char **argv);
int cli_task_logs(int argc, char **argv);
int cli_task_cancel(int argc, char **argv);
int cli_task_wait(int argc, char **argv);
int cli_artifact_get(int argc, char **argv);
int cli_artifact_push(int argc, char **argv);
int cli_cp(int argc, char **argv);
int cli_preview_url(int argc, char **argv);
int cli_preview_open(int argc, char **argv);
/* ---- resource commands: connection, one-line errors, output (output.c, describe.c) ---- */

/* A kind as the commands name it: its REST names, its Kind, and its noun for messages ("sandbox"). */
struct cli_kind {
        const char *noun, *group, *version, *resource, *kind;
        bool cluster_scoped;
};
extern const struct cli_kind cli_projects, cli_templates, cli_sandboxes, cli_tasks, cli_sessions,
        cli_artifacts, cli_histories;

/* -o: kubectl's output formats */
enum cli_output { CLI_OUT_TABLE, CLI_OUT_WIDE, CLI_OUT_JSON, CLI_OUT_YAML, CLI_OUT_NAME };
extern const char *const cli_output_choices[];
#define CLI_OUTPUT_FLAG(o)                                                                                 \
        {                                                                                                  \
                "output", FLAG_CHOICE, FLAG_INTO(o),                                                       \
                        .short_name = 'o', .arg = "FORMAT", .choices = cli_output_choices, .def = "table", \
                        .help = "table, wide (more columns), json, yaml or name (kind.group/name)"         \
        }

/* A resource command once connected: the client, the namespace, the output format. */
struct cli_ctx {
        struct kube_client *c;
        const struct cli_target *t;
        char ns[64];
        enum cli_output out;
};
/* Connects (cli_connect()); 0, or 1 with the reason printed. */
int cli_open(const struct cli_target *t, struct cli_ctx *x);
void cli_close(struct cli_ctx *x);
/* "in project demo", "in namespace x", or "" for a cluster-scoped kind. */
const char *cli_where(const struct cli_ctx *x, const struct cli_kind *k, char *buf, size_t size);
/* Prints "mbox: " and one line on the failed VERB ("get", "delete") of k's NAME (NULL: the collection)
 * from the server's Status, and returns 1. */
int cli_error(const struct cli_ctx *x, const char *verb, const struct cli_kind *k, const char *name,
        const struct merr *err);
/* Prints "PROG: WHAT (see --help)" on stderr and returns 2. */
int cli_usage_error(const char *prog, const char *what);
/* Prints k's object NAME, or every object (name NULL) matching the selectors (may be NULL), in x->out:
 * kubectl get's table from the server's Table, json/yaml of the objects, or kind.group/name. */
int cli_get(struct cli_ctx *x, const struct cli_kind *k, const char *name, const char *label_selector,
        const char *field_selector);
/* Follows k's objects as kubectl get -w does: rows (or objects) as they change, until interrupted. */
int cli_watch(
        struct cli_ctx *x, const struct cli_kind *k, const char *label_selector, const char *field_selector);
/* After a write: obj in x->out for json, yaml and name, else "NOUN "NAME" DONE" ("created"). */
int cli_print_done(const struct cli_ctx *x, const struct cli_kind *k, json_object *obj, const char *done);
/* Deletes k's NAME and prints "NOUN "NAME" deleted"; with wait, once it is gone (within timeout_ms). */
int cli_delete(struct cli_ctx *x, const struct cli_kind *k, const char *name, bool wait, int64_t timeout_ms);
#define CLI_WAIT_FLAGS(wait, timeout_ms, what)                                                         \
        {"wait", FLAG_BOOL, .value = (wait), .help = "return once " what ", printing the progress"}, { \
                "timeout", FLAG_DURATION, FLAG_INTO(timeout_ms),                                       \
                        .arg = "DURATION", .min = 1000, .def = "5m",                                   \
                        .help = "how long --wait waits before it gives up (exit 1)"                    \
        }
/* kubectl describe: the object's fields, its conditions and its recent Events. */
int cli_describe(struct cli_ctx *x, const struct cli_kind *k, const char *name);
/* A generic "NOUN list" and "NOUN describe" for the kinds that need nothing else. */
int cli_list_kind(const struct cli_kind *k, int argc, char **argv);
int cli_describe_kind(const struct cli_kind *k, int argc, char **argv);

int cli_project_list(int argc, char **argv);
int cli_project_create(int argc, char **argv);
int cli_project_delete(int argc, char **argv);
int cli_project_describe(int argc, char **argv);
int cli_template_list(int argc, char **argv);
int cli_template_describe(int argc, char **argv);
int cli_template_validate(int argc, char **argv);
int cli_sandbox_list(int argc, char **argv);
int cli_sandbox_create(int argc, char **argv);
int cli_sandbox_delete(int argc, char **argv);
int cli_sandbox_stop(int argc, char **argv);
int cli_sandbox_start(int argc, char **argv);
int cli_sandbox_describe(int argc, char **argv);
int cli_session_list(int argc, char **argv);
int cli_task_list(int argc, char **argv);
int cli_artifact_list(int argc, char **argv);
int cli_history(int argc, char **argv);

/* Shell completion (complete.c): the command table main() runs, the scripts, the candidates. */
extern const struct cli_command *cli_commands;
int cli_completion(int argc, char **argv);
int cli_complete(int argc, char **argv);
