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
};
#define CLI_TARGET_FLAGS(t)                                                                           \
        FLAG_HEADING("Where:"),                                                                       \
                {"namespace", FLAG_STRING, .value = &(t)->namespace, .arg = "NS", .short_name = 'n',  \
                        .help = "the namespace (default: the context's)"},                            \
                {"project", FLAG_STRING, .value = &(t)->project, .arg = "PROJECT", .short_name = 'p', \
                        .help = "the namespace of this mbox project instead"},                        \
                {"kubeconfig", FLAG_STRING, .value = &(t)->kubeconfig, .arg = "PATHS",                \
                        .help = "kubeconfig files (default: $KUBECONFIG, else ~/.kube/config)"},      \
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
