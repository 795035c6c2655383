/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox sandbox list|create|delete|stop|start|describe. create writes a Sandbox from flags; stop and start
 * patch its spec.state; --wait follows the sandbox with a watch and prints a line each time its phase
 * changes, until it is where the command wanted it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/sandbox.h"
#include "cli.h"
#include "jsonutil.h"
#include "timestamp.h"

#define MAX_ITEMS 64 /* --env and --port, as the CRD bounds them */

int cli_sandbox_list(int argc, char **argv) {
        return cli_list_kind(&cli_sandboxes, argc, argv);
}

int cli_sandbox_describe(int argc, char **argv) {
        return cli_describe_kind(&cli_sandboxes, argc, argv);
}

/* ---- --wait: the phase, from a watch ---- */

struct progress {
        const char *name, *want;
        char phase[32];
        int done; /* 1 arrived, -1 failed */
};

static int on_change(const struct kube_watch_event *ev, void *ud) {
        struct progress *p = ud;
        _cleanup_(sandbox_freep) struct sandbox *sb = NULL;
        if (ev->type == KUBE_EVENT_ERROR)
                return -EPROTO;
        if (ev->type == KUBE_EVENT_BOOKMARK || !ev->object)
                return 0;
        if (ev->type == KUBE_EVENT_DELETED) {
                fprintf(stderr, "mbox: sandbox \"%s\" was deleted meanwhile\n", p->name);
                p->done = -1;
                return -ECANCELED;
        }
        if (sandbox_from_json(ev->object, &sb, NULL) < 0 || !sb->status.phase ||
                strcmp(sb->status.phase, p->phase) == 0)
                return 0;
        const struct sandbox_status *st = &sb->status;
        snprintf(p->phase, sizeof(p->phase), "%s", st->phase);
        printf("sandbox \"%s\" %s%s%s%s%s\n", p->name, st->phase, st->reason ? ": " : "",
                st->reason ? st->reason : "", st->message ? ": " : "", st->message ? st->message : "");
        fflush(stdout);
        if (strcmp(st->phase, p->want) == 0)
                p->done = 1;
        else if (strcmp(st->phase, "Failed") == 0 || strcmp(st->phase, "Expired") == 0)
                p->done = -1;
        return p->done ? -ECANCELED : 0; /* ends the watch */
}

/* Waits from the state obj (just written) until the sandbox's phase is want. 0, or 1 with why printed. */
static int wait_phase(struct cli_ctx *x, json_object *obj, const char *want, int64_t timeout_ms) {
        struct merr err = MERR_INIT;
        const char *name = "", *rv = "";
        char sel[300];
        (void) json_get_string(obj, "metadata.name", JSON_OPTIONAL, &name, NULL);
        (void) json_get_string(obj, "metadata.resourceVersion", JSON_OPTIONAL, &rv, NULL);
        struct progress p = {.name = name, .want = want};
        struct kube_watch_event first = {.type = KUBE_EVENT_MODIFIED, .object = obj};
        if (on_change(&first, &p) < 0)
                return p.done > 0 ? 0 : 1;
        snprintf(sel, sizeof(sel), "metadata.name=%s", name);
        struct kube_resource r = {.group = cli_sandboxes.group,
                .version = cli_sandboxes.version,
                .resource = cli_sandboxes.resource,
                .namespace = x->ns};
        int64_t deadline = timestamp_monotonic_ms() + timeout_ms;
        char *from = strdup(rv);
        int rc = 0;
        while (!p.done && rc >= 0) {
                int64_t left = deadline - timestamp_monotonic_ms();
                if (left <= 0)
                        break;
                struct kube_watch_opts o = {.resource_version = from,
                        .field_selector = sel,
                        .timeout_seconds = left < 1000 ? 1 : left / 1000};
                rc = kube_watch(x->c, &r, &o, on_change, &p, &err);
        }
        free(from);
        if (p.done)
                return p.done > 0 ? 0 : 1;
        if (rc < 0)
                return cli_error(x, "watch", &cli_sandboxes, name, &err);
        fprintf(stderr, "mbox: sandbox \"%s\" is not %s after the --timeout (it is %s)\n", name, want,
                p.phase[0] ? p.phase : "without a phase");
        return 1;
}

/* ---- create ---- */

struct list {
        const char *items[MAX_ITEMS];
        int n;
};

/* --port name:port[:visibility] into a spec.ports item */
static int parse_port(const char *arg, struct sandbox_port *ret, struct merr *err) {
        char name[64], vis[32] = "";
        int port = 0, used = 0;
        if (sscanf(arg, "%63[^:]:%d%n", name, &port, &used) < 2 || port < 1 || port > 65535 ||
                (arg[used] && (arg[used] != ':' || sscanf(arg + used + 1, "%31s", vis) != 1)))
                return merr_set(
                        err, -EINVAL, "'%s' is not NAME:PORT[:VISIBILITY] (e.g. web:8080:project)", arg);
        static const char *const visibilities[] = {"Private", "Project", "Public"};
        const char *v = NULL;
        for (size_t i = 0; *vis && i < 3; i++)
                if (strcasecmp(vis, visibilities[i]) == 0)
                        v = visibilities[i];
        if (*vis && !v)
                return merr_set(err, -EINVAL, "visibility '%s' is not private, project or public", vis);
        ret->name = strdup(name);
        ret->port = port;
        ret->visibility = v ? strdup(v) : NULL;
        return 0;
}

static int add_item(const struct flag *f, const char *arg, struct merr *err) {
        struct list *l = f->value;
        if (l->n == MAX_ITEMS)
                return merr_set(err, -EINVAL, "at most %d", MAX_ITEMS);
        if (strcmp(f->name, "env") == 0 && (!strchr(arg, '=') || arg[0] == '='))
                return merr_set(err, -EINVAL, "'%s' is not NAME=VALUE", arg);
        if (strcmp(f->name, "port") == 0) {
                struct sandbox_port p = {0};
                int r = parse_port(arg, &p, err);
                free(p.name);
                free(p.visibility);
                if (r < 0)
                        return r;
        }
        l->items[l->n++] = arg;
        return 0;
}

static const char create_usage[] =
        "Usage: mbox sandbox create NAME [OPTION]...\n"
        "Creates a sandbox from an environment template (without --template: the project's default one).\n"
        "With --wait, prints each phase it goes through and returns once it is Running (exit 1 if it\n"
        "fails or expires first).\n"
        "\nExamples:\n"
        "  mbox sandbox create -p demo web --template node --wait\n"
        "  mbox sandbox create -p demo api --template node --env NODE_ENV=test --port web:3000:project\n";

int cli_sandbox_create(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const char *tpl = NULL;
        struct list env = {0}, ports = {0};
        bool wait = false;
        int64_t timeout_ms = 300000;
        long out = CLI_OUT_TABLE;
        const struct flag flags[] = {
                FLAG_HEADING("Sandbox:"),
                {"template", FLAG_STRING, .value = &tpl, .arg = "TEMPLATE", .short_name = 't',
                        .help = "the environment template to launch"},
                {"env", FLAG_FUNC, .value = &env, .arg = "NAME=VALUE", .short_name = 'e', .parse = add_item,
                        .help = "an environment variable (again for more)"},
                {"port", FLAG_FUNC, .value = &ports, .arg = "NAME:PORT[:VISIBILITY]", .parse = add_item,
                        .help = "a port to open as a preview; visibility private (default), project or "
                                "public"},
                CLI_WAIT_FLAGS(&wait, &timeout_ms, "it is Running"),
                CLI_OUTPUT_FLAG(&out),
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox sandbox create", create_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0)
                return cli_usage_error("mbox sandbox create", "give one NAME");
        struct merr err = MERR_INIT;
        struct cli_ctx x = {.out = (enum cli_output) out};
        if (cli_open(&t, &x))
                return 1;
        _cleanup_(sandbox_freep) struct sandbox *sb = sandbox_new(args.pos[0], x.ns);
        json_object *body = NULL;
        if (sb && tpl) {
                sb->spec.has_template_ref = true;
                sb->spec.template_ref_name = strdup(tpl);
        }
        if (sb && (sb->spec.env.items = calloc(MAX_ITEMS, sizeof(*sb->spec.env.items))))
                for (int i = 0; i < env.n; i++) {
                        const char *eq = strchr(env.items[i], '=');
                        struct api_env_var *v = &sb->spec.env.items[sb->spec.env.n++];
                        v->name = strndup(env.items[i], (size_t) (eq - env.items[i]));
                        v->value = strdup(eq + 1);
                }
        if (sb && (sb->spec.ports = calloc(MAX_ITEMS, sizeof(*sb->spec.ports))))
                for (int i = 0; i < ports.n; i++) /* checked by add_item() */
                        (void) parse_port(ports.items[i], &sb->spec.ports[sb->spec.n_ports++], &err);
        if (sb) {
                sb->spec.env.set = env.n > 0;
                sb->spec.has_ports = ports.n > 0;
        }
        if (!sb || !sb->spec.env.items || !sb->spec.ports || sandbox_to_json(sb, &body) < 0) {
                cli_close(&x);
                fputs("mbox: out of memory\n", stderr);
                return 1;
        }
        json_object *made = NULL;
        struct kube_resource r = {.group = cli_sandboxes.group,
                .version = cli_sandboxes.version,
                .resource = cli_sandboxes.resource,
                .namespace = x.ns};
        rc = kube_create(x.c, &r, body, &(struct kube_write_opts){.field_manager = "mbox"}, &made, &err);
        json_object_put(body);
        if (rc < 0)
                rc = cli_error(&x, "create", &cli_sandboxes, args.pos[0], &err);
        else if (wait) {
                printf("sandbox \"%s\" created\n", args.pos[0]);
                rc = wait_phase(&x, made, "Running", timeout_ms);
        } else
                rc = cli_print_done(&x, &cli_sandboxes, made, "created");
        json_object_put(made);
        cli_close(&x);
        return rc;
}

/* ---- delete, stop, start ---- */

int cli_sandbox_delete(int argc, char **argv) {
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
        static const char usage[] = "Usage: mbox sandbox delete NAME... [OPTION]...\n"
                                    "Deletes sandboxes with their workspaces.\n"
                                    "\nExamples:\n"
                                    "  mbox sandbox delete -p demo web\n"
                                    "  mbox sandbox delete -p demo web api --wait\n";
        int rc = flag_main_args("mbox sandbox delete", usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos < 1 || args.n_rest > 0)
                return cli_usage_error("mbox sandbox delete", "give at least one NAME");
        struct cli_ctx x = {0};
        if (cli_open(&t, &x))
                return 1;
        rc = 0;
        for (int i = 0; i < args.n_pos; i++)
                rc |= cli_delete(&x, &cli_sandboxes, args.pos[i], wait, timeout_ms);
        cli_close(&x);
        return rc ? 1 : 0;
}

/* stop and start: spec.state, then with --wait the phase it leads to */
static int set_state(
        int argc, char **argv, const char *verb, const char *state, const char *phase, const char *usage) {
        struct cli_target t = {0};
        struct flag_args args;
        bool wait = false;
        int64_t timeout_ms = 300000;
        char prog[32];
        long out = CLI_OUT_TABLE;
        const struct flag flags[] = {
                FLAG_HEADING("State:"),
                {"wait", FLAG_BOOL, .value = &wait,
                        .help = "return once the sandbox is there, printing its phases"},
                {"timeout", FLAG_DURATION, FLAG_INTO(&timeout_ms), .arg = "DURATION", .min = 1000,
                        .def = "5m", .help = "how long --wait waits before it gives up (exit 1)"},
                CLI_OUTPUT_FLAG(&out),
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        snprintf(prog, sizeof(prog), "mbox sandbox %s", verb);
        int rc = flag_main_args(prog, usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0)
                return cli_usage_error(prog, "give one NAME");
        struct cli_ctx x = {.out = (enum cli_output) out};
        if (cli_open(&t, &x))
                return 1;
        struct merr err = MERR_INIT;
        char patch[64];
        int n = snprintf(patch, sizeof(patch), "{\"spec\":{\"state\":\"%s\"}}", state);
        struct kube_resource r = {.group = cli_sandboxes.group,
                .version = cli_sandboxes.version,
                .resource = cli_sandboxes.resource,
                .namespace = x.ns,
                .name = args.pos[0]};
        json_object *obj = NULL;
        rc = kube_patch(x.c, &r, KUBE_PATCH_MERGE, patch, (size_t) n,
                &(struct kube_write_opts){.field_manager = "mbox"}, &obj, &err);
        if (rc < 0)
                rc = cli_error(&x, verb, &cli_sandboxes, args.pos[0], &err);
        else if (wait)
                rc = wait_phase(&x, obj, phase, timeout_ms);
        else
                rc = cli_print_done(
                        &x, &cli_sandboxes, obj, strcmp(verb, "stop") == 0 ? "stopping" : "starting");
        json_object_put(obj);
        cli_close(&x);
        return rc;
}

int cli_sandbox_stop(int argc, char **argv) {
        return set_state(argc, argv, "stop", "Stopped", "Stopped",
                "Usage: mbox sandbox stop NAME [OPTION]...\n"
                "Stops a sandbox (spec.state Stopped): its pod and processes go, its workspace stays.\n"
                "\nExamples:\n"
                "  mbox sandbox stop -p demo web\n"
                "  mbox sandbox stop -p demo web --wait\n");
}

int cli_sandbox_start(int argc, char **argv) {
        return set_state(argc, argv, "start", "Running", "Running",
                "Usage: mbox sandbox start NAME [OPTION]...\n"
                "Starts a stopped sandbox again (spec.state Running) on the same workspace.\n"
                "\nExamples:\n"
                "  mbox sandbox start -p demo web\n"
                "  mbox sandbox start -p demo web --wait\n");
}
