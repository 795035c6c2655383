/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox exec and mbox terminal: a session through runtime.mbox.dev's sandboxes/NAME/exec and terminal, in
 * the pods/exec protocol (pkg/kube/exec.h). The local terminal is put in raw mode for a TTY and restored
 * on every way out; its size is sent when it changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "kube/exec.h"

/* ---- the local terminal, restored however the program ends ---- */

static struct termios saved_tio;
static bool raw_on;
static int saved_flags = -1;

static void restore(void) {
        if (raw_on)
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
        raw_on = false;
        if (saved_flags >= 0)
                (void) fcntl(STDIN_FILENO, F_SETFL, saved_flags);
        saved_flags = -1;
}

static void on_fatal_signal(int sig) {
        restore();
        signal(sig, SIG_DFL);
        raise(sig);
}

static int raw_mode(void) {
        struct termios t;
        if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
                return -errno;
        t = saved_tio;
        cfmakeraw(&t);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
                return -errno;
        raw_on = true;
        return 0;
}

/* stdin is read without blocking while the session runs (kube_exec_opts.stdin_fd); the flags come back
 * at the end, as the shell shares them */
static void stdin_nonblocking(void) {
        saved_flags = fcntl(STDIN_FILENO, F_GETFL);
        if (saved_flags >= 0)
                (void) fcntl(STDIN_FILENO, F_SETFL, saved_flags | O_NONBLOCK);
}

static void guard(void) {
        static const int sigs[] = {SIGHUP, SIGTERM, SIGQUIT, SIGINT};
        atexit(restore);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
                signal(sigs[i], on_fatal_signal);
}

struct size {
        unsigned w, h;
        /* the escape to leave a terminal, as ssh's: Enter ~ . leaves, ~ ~ sends one ~ */
        bool line_start, tilde;
};

/* Passes the keys typed on, but for the escape: "~." at the start of a line ends the session. */
static int escape(const char *in, size_t len, char *out, size_t *out_len, void *ud) {
        struct size *st = ud;
        size_t m = 0;
        for (size_t i = 0; i < len; i++) {
                char c = in[i];
                if (st->tilde) {
                        st->tilde = false;
                        if (c == '.')
                                return -ECANCELED;
                        if (c != '~')
                                out[m++] = '~';
                        out[m++] = c;
                } else if (st->line_start && c == '~') {
                        st->tilde = true;
                        continue;
                } else
                        out[m++] = c;
                st->line_start = c == '\r' || c == '\n';
        }
        *out_len = m;
        return 0;
}

/* The terminal's size; true when it changed since the last call. */
static bool get_size(unsigned *w, unsigned *h, void *ud) {
        struct size *last = ud;
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
                return false;
        *w = ws.ws_col;
        *h = ws.ws_row;
        bool changed = *w != last->w || *h != last->h;
        last->w = *w;
        last->h = *h;
        return changed;
}

static int to_stdout(const char *data, size_t len, void *ud) {
        (void) ud;
        return cli_write(STDOUT_FILENO, data, len);
}

static int to_stderr(const char *data, size_t len, void *ud) {
        (void) ud;
        return cli_write(STDERR_FILENO, data, len);
}

/* Runs the session on sandbox/sub; returns the command's exit code, or 1 with the reason printed. */
static int run(const struct cli_target *t, const char *sandbox, const char *sub, char *const *command,
        bool interactive, bool tty) {
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        struct size last = {.line_start = true};
        int r = cli_connect(t, &c, ns, &err);
        if (r < 0)
                return cli_fail(&err);
        struct kube_resource target = {.group = "runtime.mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = ns,
                .name = sandbox,
                .subresource = sub};
        struct kube_exec_opts o = {.namespace = ns,
                .pod = sandbox,
                .target = &target,
                .command = (const char *const *) command,
                .tty = tty,
                .stdin_fd = interactive ? STDIN_FILENO : -1,
                .filter_stdin = tty && interactive && isatty(STDIN_FILENO) ? escape : NULL,
                .on_stdout = to_stdout,
                .on_stderr = to_stderr,
                .get_size = tty ? get_size : NULL,
                .userdata = &last};
        struct kube_exec_result res;
        guard();
        /* raw mode only when this terminal's keys go to the command: without --stdin, Ctrl-C stays ours */
        if (tty && interactive && isatty(STDIN_FILENO) && raw_mode() < 0) {
                kube_client_free(c);
                fprintf(stderr, "mbox: cannot put the terminal in raw mode: %s\n", strerror(errno));
                return 1;
        }
        if (interactive)
                stdin_nonblocking();
        r = kube_exec(c, &o, &res, &err);
        restore();
        kube_client_free(c);
        if (r == -ECANCELED) {
                fprintf(stderr, "\r\nmbox: left the session (~.)\n");
                return 0;
        }
        if (r < 0)
                return cli_fail(&err);
        return res.exit_code;
}

static const char exec_usage[] =
        "Usage: mbox exec SANDBOX [OPTION]... -- COMMAND [ARG]...\n"
        "Runs a command in the sandbox's main container, as `kubectl exec` does in a pod, and exits with "
        "its\n"
        "exit code. Needs create on sandboxes/exec in runtime.mbox.dev (project Developers have it).\n"
        "\nExamples:\n"
        "  mbox exec -p demo demo-sandbox -- ls -l /workspace\n"
        "  mbox exec -p demo -it demo-sandbox -- sh\n";

int cli_exec(int argc, char **argv) {
        struct cli_target t = {0};
        bool interactive = false, tty = false;
        struct flag_args args;
        const struct flag flags[] = {
                FLAG_HEADING("Session:"),
                {"stdin", FLAG_BOOL, .value = &interactive, .short_name = 'i',
                        .help = "pass this program's stdin to the command"},
                {"tty", FLAG_BOOL, .value = &tty, .short_name = 't',
                        .help = "run the command on a terminal (with --stdin: this one, in raw mode)"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox exec", exec_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest < 1) {
                fprintf(stderr, "mbox exec: give one SANDBOX, then -- and the command (see --help)\n");
                return 2;
        }
        char **command = calloc((size_t) args.n_rest + 1, sizeof(*command));
        if (!command)
                return 1;
        for (int i = 0; i < args.n_rest; i++)
                command[i] = args.rest[i];
        rc = run(&t, args.pos[0], "exec", command, interactive, tty);
        free(command);
        return rc;
}

static const char terminal_usage[] =
        "Usage: mbox terminal SANDBOX [OPTION]...\n"
        "Opens the sandbox's terminal: its template's Terminal entrypoint, else a login shell, on a TTY "
        "that\n"
        "follows this terminal's size. Exit the shell to leave, or type Enter ~ . to leave at once (~ ~\n"
        "types one ~). Needs create on sandboxes/terminal in\n"
        "runtime.mbox.dev (project Developers have it).\n"
        "\nExample:\n"
        "  mbox terminal -p demo demo-sandbox\n";

int cli_terminal(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const struct flag flags[] = {
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox terminal", terminal_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0) {
                fprintf(stderr, "mbox terminal: give one SANDBOX (see --help)\n");
                return 2;
        }
        return run(&t, args.pos[0], "terminal", NULL, true, true);
}
