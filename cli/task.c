/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox task run|logs|cancel|wait: ExecutionTasks (docs/tasks.md) as a command line runs them. A run
 * creates the task, waits on a watch until it starts, follows its stored output through runtime.mbox.dev's
 * taskoutputs/NAME/log (stdout and stderr each in a thread of its own, to this program's stdout and
 * stderr), then exits with the task's exit code. Nothing polls: every wait is a watch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/task.h"
#include "cli.h"
#include "jsonutil.h"
#include "timestamp.h"

#define STOP           (-EALREADY) /* a watch callback's "seen what was waited for" */
#define OUTPUT_WAIT_MS 10000       /* from Running to the output's record (the operator writes it next) */

static struct kube_resource tasks_in(const char *ns, const char *name) {
        return (struct kube_resource){.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "executiontasks",
                .namespace = ns,
                .name = name};
}

static struct kube_resource outputs_in(const char *ns, const char *name) {
        return (struct kube_resource){.group = "runtime.mbox.dev",
                .version = "v1alpha1",
                .resource = "taskoutputs",
                .namespace = ns,
                .name = name};
}

/* ---- waiting on one object, by a watch ---- */

/* Whether obj is what is waited for; ud is the waiter's. */
typedef bool (*wait_done_fn)(json_object *obj, void *ud);

struct waiter {
        wait_done_fn done;
        void *ud;
        json_object *got; /* the object that was waited for (owned) */
        char rv[64];      /* where the watch resumes */
        bool deleted;
};

static int on_event(const struct kube_watch_event *ev, void *ud) {
        struct waiter *w = ud;
        if (ev->resource_version)
                snprintf(w->rv, sizeof(w->rv), "%s", ev->resource_version);
        if (ev->type == KUBE_EVENT_DELETED) {
                w->deleted = true;
                return STOP;
        }
        if ((ev->type == KUBE_EVENT_ADDED || ev->type == KUBE_EVENT_MODIFIED) && w->done(ev->object, w->ud)) {
                w->got = json_object_get(ev->object);
                return STOP;
        }
        if (kube_watch_event_is_expired(ev)) {
                w->rv[0] = '\0'; /* list again */
                return STOP;
        }
        return 0;
}

/*
 * Waits until the object r names is done(), at most until deadline_ms (monotonic; 0: no end): a list of
 * that one name, then a watch from the list's version, again after the server ends a watch. Returns 1 with
 * the object in *ret (owned), 0 at the deadline, -ENOENT when it is not there (missing_ok: waits for it to
 * appear) or was deleted, or another negative errno.
 */
static int wait_for(struct kube_client *c, const struct kube_resource *r, bool missing_ok,
        int64_t deadline_ms, wait_done_fn done, void *ud, json_object **ret, struct merr *err) {
        struct kube_resource coll = *r;
        char selector[300];
        struct waiter w = {.done = done, .ud = ud};
        coll.name = NULL;
        snprintf(selector, sizeof(selector), "metadata.name=%s", r->name);
        for (;;) {
                if (!w.rv[0]) {
                        json_object *list = NULL, *items = NULL;
                        const char *rv = NULL;
                        struct kube_list_opts lo = {.field_selector = selector};
                        int k = kube_list(c, &coll, &lo, &list, err);
                        if (k < 0)
                                return k;
                        (void) json_get_array(list, "items", JSON_OPTIONAL, &items, NULL);
                        (void) json_get_string(list, "metadata.resourceVersion", JSON_OPTIONAL, &rv, NULL);
                        json_object *obj = items ? json_object_array_get_idx(items, 0) : NULL;
                        snprintf(w.rv, sizeof(w.rv), "%s", rv ? rv : "");
                        if (obj && done(obj, ud)) {
                                *ret = json_object_get(obj);
                                json_object_put(list);
                                return 1;
                        }
                        json_object_put(list);
                        if (!obj && !missing_ok)
                                return merr_set(err, -ENOENT, "task \"%s\" not found in namespace %s",
                                        r->name, r->namespace);
                }
                long secs = 300;
                if (deadline_ms > 0) {
                        int64_t left = deadline_ms - timestamp_monotonic_ms();
                        if (left <= 0)
                                return 0;
                        secs = left / 1000 + 1 < secs ? (long) (left / 1000 + 1) : secs;
                }
                struct kube_watch_opts wo = {
                        .resource_version = w.rv, .field_selector = selector, .timeout_seconds = secs};
                int k = kube_watch(c, &coll, &wo, on_event, &w, err);
                if (w.got) {
                        *ret = w.got;
                        return 1;
                }
                if (w.deleted)
                        return merr_set(err, -ENOENT, "task \"%s\" was deleted while mbox waited", r->name);
                if (k < 0 && k != STOP)
                        return k;
                merr_clear(err);
        }
}

/* ---- a task's status and what it means for the exit code ---- */

static bool is_final(json_object *obj, void *ud) {
        const char *phase = NULL;
        (void) ud;
        (void) json_get_string(obj, "status.phase", JSON_OPTIONAL, &phase, NULL);
        return task_phase_is_final(phase);
}

/* Running or final: its command has started, or it never will. */
static bool has_started(json_object *obj, void *ud) {
        const char *phase = NULL;
        (void) json_get_string(obj, "status.phase", JSON_OPTIONAL, &phase, NULL);
        return is_final(obj, ud) || (phase && strcmp(phase, "Running") == 0);
}

/* The record of this run's output (status.taskUID is the task's uid in ud). */
static bool is_run(json_object *obj, void *ud) {
        const char *uid = NULL;
        (void) json_get_string(obj, "status.taskUID", JSON_OPTIONAL, &uid, NULL);
        return uid && strcmp(uid, ud) == 0;
}

/* The exit status for a task that ended: its command's exit code when it ran to its end, else 1 with a
 * line that says why. */
static int outcome(json_object *obj, const char *name) {
        struct task_status st = {0};
        struct merr err = MERR_INIT;
        if (task_status_from_json(obj, &st, &err) < 0)
                return cli_fail(&err);
        int rc = 1;
        if (st.phase && strcmp(st.phase, "Succeeded") == 0)
                rc = 0;
        else if (st.phase && strcmp(st.phase, "Failed") == 0 && st.reason &&
                 strcmp(st.reason, "NonZeroExitCode") == 0 && st.has_exit_code)
                rc = (int) (st.exit_code & 0xff);
        else
                fprintf(stderr, "mbox: task \"%s\" %s: %s\n", name, st.phase ? st.phase : "ended",
                        st.message && *st.message ? st.message
                        : st.reason               ? st.reason
                                                  : "no reason given");
        task_status_release(&st);
        return rc;
}

/* ---- following the output ---- */

struct follow {
        struct cli_target target; /* the namespace resolved */
        const char *name, *stream;
        bool follow;
        int fd;
        int rc;
        struct merr err;
};

static int to_fd(const char *data, size_t len, void *ud) {
        return cli_write(*(int *) ud, data, len);
}

static void *follow_stream(void *ud) {
        struct follow *f = ud;
        struct kube_client *c = NULL;
        char ns[64];
        f->rc = cli_connect(&f->target, &c, ns, &f->err);
        if (f->rc < 0)
                return NULL;
        struct kube_resource r = outputs_in(ns, f->name);
        r.subresource = "log";
        const char *query[] = {"stream", f->stream, f->follow ? "follow" : NULL, "true", NULL};
        struct kube_stream_opts o = {.query = query, .on_data = to_fd, .userdata = &f->fd};
        f->rc = kube_get_stream(c, &r, &o, &f->err);
        kube_client_free(c);
        return NULL;
}

/* Prints the stored output of task name (stdout to stdout, stderr to stderr), both as they come; with
 * follow, until the command's output is finished. Returns 0, or 1 with the reason printed. */
static int print_output(const struct cli_target *t, const char *ns, const char *name, bool follow) {
        struct follow f[2] = {
                {.target = *t, .name = name, .stream = "stdout", .follow = follow, .fd = STDOUT_FILENO},
                {.target = *t, .name = name, .stream = "stderr", .follow = follow, .fd = STDERR_FILENO},
        };
        pthread_t th[2];
        bool started[2] = {false, false};
        for (int i = 0; i < 2; i++) {
                f[i].target.namespace = ns;
                f[i].target.project = NULL;
                f[i].err = (struct merr) MERR_INIT;
                started[i] = pthread_create(&th[i], NULL, follow_stream, &f[i]) == 0;
                if (!started[i])
                        follow_stream(&f[i]);
        }
        for (int i = 0; i < 2; i++)
                if (started[i])
                        (void) pthread_join(th[i], NULL);
        for (int i = 0; i < 2; i++)
                if (f[i].rc < 0) {
                        if (f[i].rc == -ENOENT)
                                merr_set(&f[i].err, -ENOENT,
                                        "no stored output of task \"%s\" in namespace %s", name, ns);
                        return cli_fail(&f[i].err);
                }
        return 0;
}

/* When the output was not stored (no database), the tails the task's status keeps. */
static void print_tails(json_object *obj) {
        const char *out = NULL, *errout = NULL;
        (void) json_get_string(obj, "status.stdoutTail", JSON_OPTIONAL, &out, NULL);
        (void) json_get_string(obj, "status.stderrTail", JSON_OPTIONAL, &errout, NULL);
        if (out)
                (void) cli_write(STDOUT_FILENO, out, strlen(out));
        if (errout)
                (void) cli_write(STDERR_FILENO, errout, strlen(errout));
}

/* Follows task name (uid) from its start to its end; returns the exit status (outcome()). */
static int follow_task(struct kube_client *c, const struct cli_target *t, const char *ns, const char *name,
        const char *uid) {
        struct merr err = MERR_INIT;
        struct kube_resource task = tasks_in(ns, name), out = outputs_in(ns, name);
        json_object *obj = NULL;
        int k = wait_for(c, &task, false, 0, has_started, NULL, &obj, &err);
        if (k < 0)
                return cli_fail(&err);
        const char *start = NULL;
        (void) json_get_string(obj, "status.startTime", JSON_OPTIONAL, &start, NULL);
        bool never_ran = is_final(obj, NULL) && !start;
        json_object_put(obj);
        obj = NULL;
        if (!never_ran) {
                /* the operator records the output right after Running; without a database it never does */
                json_object *rec = NULL;
                k = wait_for(c, &out, true, timestamp_monotonic_ms() + OUTPUT_WAIT_MS, is_run, (void *) uid,
                        &rec, &err);
                json_object_put(rec);
                if (k < 0)
                        return cli_fail(&err);
                if (k > 0 && print_output(t, ns, name, true) != 0)
                        return 1;
                if (k == 0)
                        never_ran = true; /* not stored: the status's tails at the end */
        }
        k = wait_for(c, &task, false, 0, is_final, NULL, &obj, &err);
        if (k < 0)
                return cli_fail(&err);
        if (never_ran)
                print_tails(obj);
        int rc = outcome(obj, name);
        json_object_put(obj);
        return rc;
}

/* ---- mbox task run ---- */

/* --env K=V, given again for each variable */
struct env_flag {
        struct api_env env;
};

static int parse_env(const struct flag *f, const char *arg, struct merr *err) {
        struct env_flag *e = f->value;
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg)
                return merr_set(err, -EINVAL, "'%s' is not NAME=VALUE", arg);
        struct api_env_var *items = realloc(e->env.items, (e->env.n + 1) * sizeof(*items));
        if (!items)
                return merr_set(err, -ENOMEM, "out of memory");
        e->env.items = items;
        items[e->env.n] =
                (struct api_env_var){.name = strndup(arg, (size_t) (eq - arg)), .value = strdup(eq + 1)};
        if (!items[e->env.n].name || !items[e->env.n].value) {
                free(items[e->env.n].name);
                free(items[e->env.n].value);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        e->env.n++;
        e->env.set = true;
        return 0;
}

/* The task to create, as JSON (owned); without a name, metadata.generateName "SANDBOX-". */
static int build_task(const char *ns, const char *name, const char *sandbox, char *const *command, int n,
        int64_t timeout_ms, const char *workdir, struct api_env *env, json_object **ret) {
        struct task *tk = task_new(name ? name : sandbox, ns);
        if (!tk)
                return -ENOMEM;
        int r = 0;
        tk->spec.sandbox_ref_name = strdup(sandbox);
        tk->spec.command.v = calloc((size_t) n, sizeof(char *));
        if (!tk->spec.sandbox_ref_name || !tk->spec.command.v)
                r = -ENOMEM;
        for (int i = 0; r == 0 && i < n; i++)
                if (!(tk->spec.command.v[tk->spec.command.n++] = strdup(command[i])))
                        r = -ENOMEM;
        if (r == 0 && workdir && !(tk->spec.working_dir = strdup(workdir)))
                r = -ENOMEM;
        if (timeout_ms > 0)
                tk->spec.timeout_seconds = (timeout_ms + 999) / 1000;
        tk->spec.env = *env; /* the task owns it from here */
        *env = (struct api_env){0};
        json_object *obj = NULL;
        if (r == 0)
                r = task_to_json(tk, &obj);
        task_free(tk);
        if (r >= 0 && !name) {
                json_object *meta = json_object_object_get(obj, "metadata");
                char prefix[80];
                snprintf(prefix, sizeof(prefix), "%.57s-", sandbox);
                json_object_object_del(meta, "name");
                r = api_put_str(meta, "generateName", prefix);
        }
        if (r < 0) {
                json_object_put(obj);
                return r;
        }
        *ret = obj;
        return 0;
}

static const char run_usage[] =
        "Usage: mbox task run SANDBOX [OPTION]... -- COMMAND [ARG]...\n"
        "Runs a command in the sandbox as an ExecutionTask: creates the task, prints its output as it comes\n"
        "(its stdout to stdout, its stderr to stderr) and exits with the command's exit code. A task that\n"
        "is canceled, times out or fails without an exit code ends mbox with 1 and a line that says why.\n"
        "Interrupting mbox leaves the task running (mbox task cancel stops it). Needs create, list and\n"
        "watch on executiontasks (mbox.dev), list and watch on taskoutputs and get on taskoutputs/log\n"
        "(runtime.mbox.dev): project Developers have them.\n"
        "\nExamples:\n"
        "  mbox task run -p demo demo-sandbox -- make test\n"
        "  mbox task run -p demo demo-sandbox --timeout 2m --env CI=1 --workdir /workspace -- npm test\n"
        "  t=$(mbox task run -p demo demo-sandbox --detach -- ./build.sh) && mbox task wait -p demo \"$t\"\n";

int cli_task_run(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        struct env_flag env = {0};
        const char *name = NULL, *workdir = NULL;
        int64_t timeout_ms = 0;
        bool detach = false;
        const struct flag flags[] = {
                FLAG_HEADING("Task:"),
                {"name", FLAG_STRING, .value = &name, .arg = "NAME",
                        .help = "the task's name (default: the sandbox's and five random characters)"},
                {"timeout", FLAG_DURATION, FLAG_INTO(&timeout_ms), .arg = "DURATION", .min = 1000,
                        .help = "kill the command after this long (default: the task's 10m)"},
                {"env", FLAG_FUNC, .value = &env, .arg = "NAME=VALUE", .parse = parse_env,
                        .help = "set a variable for the command; again for more"},
                {"workdir", FLAG_STRING, .value = &workdir, .arg = "DIR",
                        .help = "run the command in this directory"},
                {"detach", FLAG_BOOL, .value = &detach, .short_name = 'd',
                        .help = "print the task's name and return once it is created"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox task run", run_usage, flags, argc, argv, &args);
        if (rc < 0 && (args.n_pos != 1 || args.n_rest < 1)) {
                fprintf(stderr, "mbox task run: give one SANDBOX, then -- and the command (see --help)\n");
                rc = 2;
        }
        if (rc >= 0) {
                api_env_release(&env.env);
                return rc;
        }
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        json_object *obj = NULL, *created = NULL;
        if (cli_connect(&t, &c, ns, &err) < 0) {
                api_env_release(&env.env);
                return cli_fail(&err);
        }
        struct kube_resource coll = tasks_in(ns, NULL);
        rc = build_task(ns, name, args.pos[0], args.rest, args.n_rest, timeout_ms, workdir, &env.env, &obj);
        api_env_release(&env.env);
        if (rc < 0)
                merr_set(&err, rc, "out of memory");
        else
                rc = kube_create(c, &coll, obj, NULL, &created, &err);
        json_object_put(obj);
        const char *got = NULL, *uid = NULL;
        if (rc >= 0 && (json_get_string(created, "metadata.name", 0, &got, &err) < 0 ||
                               json_get_string(created, "metadata.uid", 0, &uid, &err) < 0))
                rc = -EPROTO;
        if (rc < 0) {
                rc = cli_fail(&err);
        } else if (detach) {
                printf("%s\n", got);
                rc = 0;
        } else
                rc = follow_task(c, &t, ns, got, uid);
        json_object_put(created);
        kube_client_free(c);
        return rc;
}

/* ---- mbox task logs, cancel, wait ---- */

static const char logs_usage[] =
        "Usage: mbox task logs TASK [OPTION]...\n"
        "Prints the output a task's latest run stored: its stdout to stdout, its stderr to stderr. With -f,\n"
        "goes on while the command runs, until its output is finished. Needs get on taskoutputs/log in\n"
        "runtime.mbox.dev (every project role).\n"
        "\nExamples:\n"
        "  mbox task logs -p demo list-workspace\n"
        "  mbox task logs -p demo build-7xq2k -f\n";

int cli_task_logs(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        bool follow = false;
        const struct flag flags[] = {
                FLAG_HEADING("Log:"),
                {"follow", FLAG_BOOL, .value = &follow, .short_name = 'f',
                        .help = "go on printing what comes, until the command's output is finished"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox task logs", logs_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0) {
                fprintf(stderr, "mbox task logs: give one TASK (see --help)\n");
                return 2;
        }
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        kube_client_free(c);
        return print_output(&t, ns, args.pos[0], follow);
}

static const char cancel_usage[] =
        "Usage: mbox task cancel TASK [OPTION]...\n"
        "Cancels a task (sets its spec.cancel): one that waits never runs, a running one is killed, with\n"
        "every process it started. The task ends Canceled. Needs patch on executiontasks (mbox.dev).\n"
        "\nExample:\n"
        "  mbox task cancel -p demo build-7xq2k\n";

int cli_task_cancel(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const struct flag flags[] = {
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox task cancel", cancel_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0) {
                fprintf(stderr, "mbox task cancel: give one TASK (see --help)\n");
                return 2;
        }
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        json_object *obj = NULL;
        static const char patch[] = "{\"spec\":{\"cancel\":true}}";
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        struct kube_resource r = tasks_in(ns, args.pos[0]);
        rc = kube_patch(c, &r, KUBE_PATCH_MERGE, patch, sizeof(patch) - 1, NULL, &obj, &err);
        kube_client_free(c);
        if (rc == -ENOENT)
                merr_set(&err, rc, "task \"%s\" not found in namespace %s", args.pos[0], ns);
        if (rc < 0)
                return cli_fail(&err);
        const char *phase = NULL;
        (void) json_get_string(obj, "status.phase", JSON_OPTIONAL, &phase, NULL);
        if (task_phase_is_final(phase))
                printf("task %s had already ended: %s\n", args.pos[0], phase);
        else
                printf("task %s canceled\n", args.pos[0]);
        json_object_put(obj);
        return 0;
}

static const char wait_usage[] =
        "Usage: mbox task wait TASK [OPTION]...\n"
        "Waits until a task ends (a watch: no polling) and exits as mbox task run does: with the command's\n"
        "exit code, or 1 and a line that says why for a task canceled, timed out or failed without one.\n"
        "Needs list and watch on executiontasks (mbox.dev): every project role.\n"
        "\nExamples:\n"
        "  mbox task wait -p demo build-7xq2k\n"
        "  mbox task wait -p demo build-7xq2k --timeout 5m || echo \"not done: $?\"\n";

int cli_task_wait(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        int64_t timeout_ms = 0;
        const struct flag flags[] = {
                FLAG_HEADING("Wait:"),
                {"timeout", FLAG_DURATION, FLAG_INTO(&timeout_ms), .arg = "DURATION", .min = 1,
                        .help = "give up after this long, with 1 (default: wait as long as it takes)"},
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox task wait", wait_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        if (args.n_pos != 1 || args.n_rest > 0) {
                fprintf(stderr, "mbox task wait: give one TASK (see --help)\n");
                return 2;
        }
        int64_t deadline = timeout_ms > 0 ? timestamp_monotonic_ms() + timeout_ms : 0;
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        json_object *obj = NULL;
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        struct kube_resource r = tasks_in(ns, args.pos[0]);
        int k = wait_for(c, &r, false, deadline, is_final, NULL, &obj, &err);
        kube_client_free(c);
        if (k < 0)
                return cli_fail(&err);
        if (k == 0) {
                fprintf(stderr, "mbox: task \"%s\" did not end within --timeout\n", args.pos[0]);
                return 1;
        }
        rc = outcome(obj, args.pos[0]);
        json_object_put(obj);
        return rc;
}
