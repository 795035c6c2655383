/* SPDX-License-Identifier: Apache-2.0 */
/* mbox logs: a sandbox's log through runtime.mbox.dev's sandboxes/NAME/log, streamed as it comes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int to_stdout(const char *data, size_t len, void *ud) {
        (void) ud;
        return cli_write(STDOUT_FILENO, data, len); /* stdout gone (a pager quit): stop */
}

static const char logs_usage[] =
        "Usage: mbox logs SANDBOX [OPTION]...\n"
        "Prints the log of the sandbox's main container (what its command wrote), as `kubectl logs` does for "
        "a\n"
        "container; after a stop and a start, the new pod's. Needs get on sandboxes/log in runtime.mbox.dev\n"
        "(every project role has it).\n"
        "\nExamples:\n"
        "  mbox logs -p demo demo-sandbox --tail=20\n"
        "  mbox logs -p demo demo-sandbox -f --since=10m\n";

int cli_logs(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        bool follow = false, timestamps = false;
        const char *tail = NULL, *since = NULL;
        const struct flag flags[] = {
                FLAG_HEADING("Log:"),
                {"follow", FLAG_BOOL, .value = &follow, .short_name = 'f',
                        .help = "go on printing what comes, until interrupted or the sandbox stops"},
                {"tail", FLAG_STRING, .value = &tail, .arg = "N", .help = "only the last N lines"},
                {"since", FLAG_STRING, .value = &since, .arg = "DURATION",
                        .help = "only what is newer than this, e.g. 10m"},
                {"timestamps", FLAG_BOOL, .value = &timestamps, .help = "each line with its time"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox logs", logs_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0) {
                fprintf(stderr, "mbox logs: give one SANDBOX (see --help)\n");
                return 2;
        }
        struct merr err = MERR_INIT;
        int64_t since_ms = 0;
        char since_s[24] = "";
        if (since && flag_duration_ms("since", since, 1000, &since_ms, &err) < 0) {
                fprintf(stderr, "mbox logs: %s\n", merr_msg(&err));
                return 2;
        }
        if (since)
                snprintf(since_s, sizeof(since_s), "%lld", (long long) (since_ms / 1000));
        const char *query[12];
        size_t n = 0;
        if (follow)
                query[n++] = "follow", query[n++] = "true";
        if (timestamps)
                query[n++] = "timestamps", query[n++] = "true";
        if (tail)
                query[n++] = "tailLines", query[n++] = tail;
        if (since)
                query[n++] = "sinceSeconds", query[n++] = since_s;
        query[n] = NULL;
        struct kube_client *c = NULL;
        char ns[64];
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        struct kube_resource r = {.group = "runtime.mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = ns,
                .name = args.pos[0],
                .subresource = "log"};
        struct kube_stream_opts o = {.query = query, .on_data = to_stdout};
        rc = kube_get_stream(c, &r, &o, &err);
        kube_client_free(c);
        return rc < 0 ? cli_fail(&err) : 0;
}
