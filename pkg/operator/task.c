/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ExecutionTask controller (docs/tasks.md). A reconcile decides; a thread per running task does the
 * waiting. A task waits in Pending until its Sandbox is Running and Ready (up to --task-start-timeout),
 * and until the concurrency limits (the project's maxRunningTasks and maxRunningTasksPerSandbox, the
 * operator's --max-running-tasks) leave room. It is then recorded as Running (an update on the cached
 * resourceVersion, so two operators can never both start it) before its thread execs the command in the
 * sandbox's Pod: a task runs at most once.
 *
 * The command runs under a small launcher (LAUNCH_SCRIPT) that records its PID and start time in the pod
 * and takes the env and stdin from the exec's stdin, never the URL; a timeout, a cancel, a deletion or an
 * operator restart kills the launcher's whole process tree in the pod (a closed exec stream alone leaves
 * it running), whatever the command does to its environment or session. Output goes to bounded tails for status and, with
 * a database, to Postgres (pkg/store/taskoutput.h) up to the task's limit (records.c), the rest counted
 * and dropped. Declared artifacts are checked (size, sha256 digest, content type) once the command exits.
 *
 * A task found Running that no thread of this process runs was started by an operator that is gone: its
 * processes are killed and it ends Failed with reason OperatorRestarted; it is never run again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api/project.h"
#include "api/task.h"
#include "buf.h"
#include "duration.h"
#include "jsonutil.h"
#include "kube/exec.h"
#include "kube/pool.h"
#include "log.h"
#include "operator/internal.h"
#include "store/artifact.h"
#include "store/taskoutput.h"
#include "tail.h"
#include "timestamp.h"

#define NS_PER_S          1000000000LL
#define NOT_FOUND_GRACE_S 10 /* a task may be applied just before its sandbox (one kubectl apply -f dir) */
#define ACTIVITY_STEP_S   15

enum run_end { END_NONE, END_CANCEL, END_DELETED, END_SHUTDOWN };

struct task_run {
        struct mbox_operator *op;
        char key[320], ns[64], name[256], uid[64], sandbox[64], pod[256];
        json_object *obj; /* the object as it was started, for events (owned) */
        struct task *t;   /* its typed view (owned) */
        atomic_bool cancel;
        atomic_int end; /* enum run_end: why cancel was set */
        struct timestamp started;
        struct tail out, err;
        struct task_output *store_out; /* NULL when not stored */
        char store_error[256];         /* why the full output is not stored */
        bool store_partial;            /* stored up to where the command was stopped */
        uint64_t output_limit;         /* bytes of output stored at most (0: no limit) */
        const char *limit_whose;       /* which setting the limit comes from (static) */
        uint64_t dropped;              /* bytes written past the limit */
        /* the launcher's first line of stdout, "<end line> <pid> <start time>": the handle KILL_SCRIPT
         * kills by, which the command cannot change (proc_pid "" until it came) */
        char end_line[80], first[160], proc_pid[24], proc_start[24];
        size_t first_len;
        bool first_done;
};

static void enqueue_limited(struct mbox_operator *op, const char *ns, const char *sb);

static void run_free(struct task_run *r) {
        if (!r)
                return;
        json_object_put(r->obj);
        task_free(r->t);
        tail_release(&r->out);
        tail_release(&r->err);
        task_output_abandon(r->store_out);
        free(r);
}

/* ---- helpers ---- */

/* A copy of v for a status field; an empty or missing value leaves the field absent. */
static int set_str(char **field, const char *v) {
        if (!v || !*v)
                return 0;
        return (*field = strdup(v)) ? 0 : -ENOMEM;
}

/* A metav1.Time (whole seconds) for a status field; a zero time leaves it absent. */
static int set_time(char **field, const struct timestamp *t) {
        char buf[64];
        struct timestamp w = *t;
        w.nsec = 0;
        if (!t->sec || timestamp_format(&w, buf, sizeof(buf)) < 0)
                return 0;
        return set_str(field, buf);
}

/* The tail as status shows it: present even when empty (the command wrote nothing). */
static int set_tail(char **field, const struct tail *t) {
        size_t n = 0;
        return (*field = tail_text(t, &n)) ? 0 : -ENOMEM;
}

static int64_t age_ns(json_object *obj) {
        struct timestamp created, now;
        int64_t d = 0;
        const char *s = kube_str(obj, "metadata.creationTimestamp");
        if (!s || timestamp_parse(s, &created, NULL) < 0)
                return 0;
        timestamp_now(&now);
        timestamp_diff(&now, &created, &d);
        return d;
}

static void count_task(struct mbox_operator *op, const char *phase) {
        if (op->m_tasks)
                metric_add(op->m_tasks, (const char *const[]){phase, NULL}, 1);
}

/* ---- the status a task shows ---- */

struct outcome {
        const char *phase, *reason;
        char message[1024];
        bool has_exit;
        int exit_code;
        struct timestamp completed;
};

static void set_msg(struct outcome *o, const char *fmt, ...) _printf_(2, 3);
static void set_msg(struct outcome *o, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->message, sizeof(o->message), fmt, ap);
        va_end(ap);
}

/* The status of task t for outcome oc, plus what a run adds (NULL when it has not started) and the
 * artifacts it found (found: NULL or a status whose artifacts are borrowed for the emit), as JSON in *ret.
 * Built afresh each time; only lastTransitionTime carries over from t's conditions. */
static int build_status(const struct task *t, const struct outcome *oc, const struct task_run *run,
        const struct task_status *found, json_object **ret) {
        struct task_status st = {.has_observed_generation = true, .observed_generation = t->meta.generation};
        int64_t gen = t->meta.generation;
        bool final = task_phase_is_final(oc->phase);
        struct timestamp now;
        bool oom = false;

        timestamp_now(&now);
        now.nsec = 0;
        oom |= set_str(&st.phase, oc->phase) < 0;
        oom |= set_str(&st.reason, oc->reason) < 0;
        oom |= set_str(&st.message, oc->message) < 0;
        if (oc->has_exit) {
                st.has_exit_code = true;
                st.exit_code = oc->exit_code;
        }
        /* a task that ends before it starts keeps what an earlier status said (an orphan's start) */
        const char *start = t->status.start_time;
        if (run) {
                oom |= set_time(&st.start_time, &run->started) < 0;
                oom |= set_str(&st.pod_name, run->pod) < 0;
        } else {
                oom |= set_str(&st.start_time, start) < 0;
                oom |= set_str(&st.pod_name, t->status.pod_name) < 0;
        }
        if (final) {
                oom |= set_time(&st.completion_time, &oc->completed) < 0;
                struct timestamp s;
                int64_t d = 0;
                char dur[DURATION_STR_MAX];
                if (run)
                        timestamp_diff(&oc->completed, &run->started, &d);
                else if (start && timestamp_parse(start, &s, NULL) == 0)
                        timestamp_diff(&oc->completed, &s, &d);
                if ((run || start) && duration_format(d / 1000000 * 1000000, dur, sizeof(dur)) > 0)
                        oom |= set_str(&st.duration, dur) < 0;
        }
        if (run && final) {
                bool stored = !run->store_error[0];
                oom |= set_tail(&st.stdout_tail, &run->out) < 0;
                oom |= set_tail(&st.stderr_tail, &run->err) < 0;
                st.has_stdout_bytes = st.has_stderr_bytes = true;
                st.stdout_bytes = (int64_t) run->out.total;
                st.stderr_bytes = (int64_t) run->err.total;
                if (stored) {
                        char uri[512];
                        st.has_output_truncated = true;
                        st.output_truncated = run->dropped > 0;
                        st.has_output_dropped_bytes = run->dropped > 0;
                        st.output_dropped_bytes = (int64_t) run->dropped;
                        snprintf(uri, sizeof(uri),
                                "/apis/runtime.mbox.dev/v1alpha1/namespaces/%s/taskoutputs/%s", run->ns,
                                run->name);
                        oom |= set_str(&st.log_ref_name, run->name) < 0;
                        oom |= set_str(&st.log_ref_uri, uri) < 0;
                }
        }
        if (found && found->has_artifacts) {
                st.has_artifacts = true;
                st.artifacts = found->artifacts;
                st.n_artifacts = found->n_artifacts;
        }
        const struct api_conditions *prev = &t->status.conditions;
        bool started = run || start;
        oom |= api_condition_next(&st.conditions, prev, "Started", started ? "True" : "False",
                       started      ? "Started"
                       : oc->reason ? oc->reason
                                    : "Pending",
                       started ? "the command was started in the sandbox pod" : oc->message, gen, &now) < 0;
        oom |= api_condition_next(&st.conditions, prev, "Completed", final ? "True" : "False",
                       final ? oc->phase : "NotFinished", final ? oc->message : "the task has not finished",
                       gen, &now) < 0;
        if (run && final) {
                bool stored = !run->store_error[0];
                char truncated[512];
                snprintf(truncated, sizeof(truncated),
                        "the first %" PRIu64 " bytes of output are stored, the limit of %s; the %" PRIu64
                        " bytes written after them were dropped%s",
                        run->output_limit, run->limit_whose ? run->limit_whose : "the task", run->dropped,
                        run->store_partial ? ", and the command was stopped" : "");
                oom |= api_condition_next(&st.conditions, prev, "OutputStored", stored ? "True" : "False",
                               !stored              ? "NotStored"
                               : run->dropped       ? "Truncated"
                               : run->store_partial ? "StoredUntilStopped"
                                                    : "Stored",
                               !stored        ? run->store_error
                               : run->dropped ? truncated
                               : run->store_partial
                                       ? "the output is stored up to where the command was stopped"
                                       : "the full output is stored",
                               gen, &now) < 0;
        }
        int r = oom ? -ENOMEM : task_status_emit(&st, ret);
        /* the artifacts are the caller's */
        st.artifacts = NULL;
        st.n_artifacts = 0;
        task_status_release(&st);
        return r < 0 ? -ENOMEM : 0;
}

/* Writes a status from a run's thread: first on the cached object (usually current: the Running write
 * came back through the watch while the command ran), then, after a conflict, read fresh; checks it is
 * still the same task. Returns 0, or -ENOENT when the task is gone. */
static int write_final(struct kube_client *c, struct task_run *run, const struct outcome *oc,
        const struct task_status *found, struct merr *err) {
        struct kube_resource r = op_resource(RES_TASK, run->ns, run->name);
        int rc = -EIO;
        for (int attempt = 0; attempt < 60; attempt++) {
                _cleanup_json_ json_object *cur = attempt == 0 ? op_get(run->op, RES_TASK, run->key) : NULL;
                merr_clear(err);
                rc = cur ? 0 : kube_get(c, &r, &cur, err);
                if (rc == -ENOENT)
                        return rc;
                if (rc == 0) {
                        _cleanup_(task_freep) struct task *t = NULL;
                        json_object *st = NULL;
                        if ((rc = task_from_json(cur, &t, err)) < 0)
                                return rc;
                        if (!t->meta.uid || strcmp(t->meta.uid, run->uid) != 0)
                                return -ENOENT;
                        if (task_phase_is_final(t->status.phase))
                                return merr_set(
                                        err, -EALREADY, "the task already ended as %s", t->status.phase);
                        if (build_status(t, oc, run, found, &st) < 0)
                                return merr_set(err, -ENOMEM, "building the status of task %s", run->key);
                        json_object_object_add(cur, "status", st);
                        struct kube_resource rs = r;
                        rs.subresource = "status";
                        if (run->op->m_writes)
                                metric_add(run->op->m_writes,
                                        (const char *const[]){"executiontasks.mbox.dev", "status", NULL}, 1);
                        rc = kube_update(c, &rs, cur, NULL, NULL, err);
                        if (rc == 0 || rc == -ENOENT)
                                return rc;
                }
                /* refusals do not change by retrying; an API server that is away may come back */
                if (rc == -EINVAL || rc == -EPERM || rc == -EACCES)
                        return rc;
                if (atomic_load(&run->end) == END_SHUTDOWN && attempt >= 4)
                        return rc;
                if (rc != -ESTALE)
                        nanosleep(&(struct timespec){attempt < 5 ? 0 : 1, attempt < 5 ? 200000000 : 0}, NULL);
        }
        return rc;
}

/* Sets the sandbox's status.lastActivityAt to now (best effort). */
static void record_activity(
        struct mbox_operator *op, struct kube_client *c, const char *ns, const char *name) {
        char now[64], patch[160];
        struct merr err = MERR_INIT;
        op_now(now, sizeof(now));
        snprintf(patch, sizeof(patch), "{\"status\":{\"lastActivityAt\":\"%s\"}}", now);
        struct kube_resource r = op_resource(RES_SANDBOX, ns, name);
        r.subresource = "status";
        if (op->m_writes)
                metric_add(op->m_writes, (const char *const[]){"sandboxes.mbox.dev", "patch", NULL}, 1);
        if (kube_patch(c, &r, KUBE_PATCH_MERGE, patch, strlen(patch), NULL, NULL, &err) < 0)
                log_warn("cannot record sandbox activity", "sandbox", name, "error", merr_msg(&err));
}

/* Moves the sandbox's status.lastActivityAt to now, so idle timeouts see task work (best effort). Idle
 * timeouts count in minutes: a time less than ACTIVITY_STEP_S old is left as it is. */
static void touch_sandbox(struct kube_client *c, struct task_run *run) {
        char key[160];
        struct timestamp last, t;
        snprintf(key, sizeof(key), "%s/%s", run->ns, run->sandbox);
        _cleanup_json_ json_object *sb = op_get(run->op, RES_SANDBOX, key);
        const char *s = sb ? kube_str(sb, "status.lastActivityAt") : NULL;
        int64_t since = 0;
        timestamp_now(&t);
        if (s && timestamp_parse(s, &last, NULL) == 0 && timestamp_diff(&t, &last, &since) == 0 &&
                since < ACTIVITY_STEP_S * NS_PER_S)
                return;
        record_activity(run->op, c, run->ns, run->sandbox);
}

/* ---- commands in the pod ---- */

/* The task's processes, one PID a line: the launcher (PID $1, checked by its start time $2 so that a
 * reused PID is never taken for it) and every descendant, skipping zombies; and every process that carries
 * MBOX_TASK_UID=<uid> ($0). A process that sheds the variable (env -u, env -i) or leaves the session
 * (setsid) is still a descendant while its parents live. */
#define TASK_TREE                                                                                         \
        "tree() { [ -n \"$1\" ] && cat /proc/[0-9]*/stat 2>/dev/null | awk -v p=\"$1\" -v start=\"$2\" '" \
        "{ n = split($0, a, /[)] /); split(a[n], f, \" \"); x = $1; pp[x] = f[2]; st[x] = f[20]; z[x] = " \
        "f[1] == \"Z\" } "                                                                                \
        "END { if (!(p in pp) || st[p] != start) exit; d[p] = 1; ch = 1; "                                \
        "while (ch) { ch = 0; for (x in pp) if (!(x in d) && (pp[x] in d)) { d[x] = 1; ch = 1 } } "       \
        "for (x in d) if (!z[x]) print x }'; "                                                            \
        "grep -ls \"MBOX_TASK_UID=$0\" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/||; "             \
        "s|/environ$||'; }; "

/* Kills every process of the task: stops the whole tree first (a stopped process cannot fork), looks
 * again until nothing new appears, then SIGKILLs it; ten rounds at most. $0: the task uid; $1, $2: the
 * launcher's PID and start time ("" when not known: then only the processes with the variable). */
static const char KILL_SCRIPT[] =
        "for t in awk grep sed sort tr; do command -v $t >/dev/null || { echo \"the sandbox has no $t: its "
        "processes cannot be found\" >&2; exit 2; }; done; " TASK_TREE
        "i=0; while [ $i -lt 10 ]; do i=$((i + 1)); "
        "k=$(tree \"$1\" \"$2\" | sort -un | tr '\\n' ' '); [ -n \"$k\" ] || exit 0; "
        "kill -STOP $k 2>/dev/null; n=$(tree \"$1\" \"$2\" | sort -un | tr '\\n' ' '); "
        "[ \"$n\" = \"$k\" ] && { kill -KILL $k 2>/dev/null; sleep 0.2; }; done; "
        "echo 'processes survived SIGKILL' >&2; exit 1";

/* Kills every process of the task in the pod (KILL_SCRIPT); pid and start: the launcher's, "" when not
 * known (a task left by an operator that is gone). */
static int kill_remote(struct kube_client *c, const char *ns, const char *pod, const char *uid,
        const char *pid, const char *start, struct merr *err) {
        const char *const argv[] = {"sh", "-c", KILL_SCRIPT, uid, pid, start, NULL};
        struct kube_exec_opts o = {
                .namespace = ns, .pod = pod, .command = argv, .stdin_fd = -1, .timeout_ms = 30000};
        struct kube_exec_result res;
        int rc = kube_exec(c, &o, &res, err);
        if (rc == 0 && res.exit_code != 0)
                rc = merr_set(err, -EBUSY, "processes of task %s survived SIGKILL", uid);
        return rc;
}

/* Runs the task's command. Its first line of stdout tells the operator the launcher's PID and start time
 * (after the end line, which the command cannot know: the kill's handle comes from the launcher and from
 * nothing the command can write). It then reads the task's env from stdin (one `set --` line of quoted
 * NAME=VALUE words, up to the end line $1) and execs the command under env, in the working directory $2
 * when set, with the rest of stdin (spec.stdin) when $3 is set, else with /dev/null (an exec stream's stdin
 * may not be closable). Env values and stdin never travel in the exec URL, which audit and kubelet logs
 * keep and whose size is limited. $0: the task uid. */
static const char LAUNCH_SCRIPT[] =
        "st() { shift 19; echo \"$1\"; }; read -r l </proc/$$/stat; t=${l##*) }; echo \"$1 $$ $(st $t)\"; "
        "e=$1; d=$2; i=$3; shift 3; b=; while IFS= read -r l; do [ \"$l\" = \"$e\" ] && break; b=\"$b$l\n\"; "
        "done; "
        "[ -z \"$d\" ] || cd -- \"$d\" || exit 126; eval \"$b\"; "
        "[ -n \"$i\" ] || exec env -- \"MBOX_TASK_UID=$0\" \"$@\" </dev/null; exec env -- "
        "\"MBOX_TASK_UID=$0\" \"$@\"";

static const char COLLECT_SCRIPT[] =
        "for p; do if [ -f \"$p\" ] && [ -r \"$p\" ]; then "
        "s=$(wc -c <\"$p\") && d=$(sha256sum <\"$p\") && echo ok $s ${d%% *} || echo unreadable; "
        "elif [ -e \"$p\" ]; then echo notfile; else echo missing; fi; done";

struct collect {
        char buf[8192];
        size_t len;
};

static int collect_sink(const char *data, size_t len, void *ud) {
        struct collect *c = ud;
        size_t n = sizeof(c->buf) - 1 - c->len < len ? sizeof(c->buf) - 1 - c->len : len;
        memcpy(c->buf + c->len, data, n);
        c->len += n;
        c->buf[c->len] = '\0';
        return 0;
}

static const char *guess_type(const char *path) {
        static const struct {
                const char *ext, *type;
        } types[] = {{".json", "application/json"}, {".txt", "text/plain"}, {".log", "text/plain"},
                {".md", "text/markdown"}, {".html", "text/html"}, {".xml", "application/xml"},
                {".csv", "text/csv"}, {".yaml", "application/yaml"}, {".yml", "application/yaml"},
                {".tar", "application/x-tar"}, {".gz", "application/gzip"}, {".tgz", "application/gzip"},
                {".zip", "application/zip"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
                {".svg", "image/svg+xml"}, {".pdf", "application/pdf"}};
        size_t n = strlen(path);
        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                size_t e = strlen(types[i].ext);
                if (n > e && strcasecmp(path + n - e, types[i].ext) == 0)
                        return types[i].type;
        }
        return "application/octet-stream";
}

/* Checks the declared artifacts into found (its artifacts); *missing names the first required one that is
 * not there. */
static int collect_artifacts(struct kube_client *c, struct task_run *run, struct task_status *found,
        char *missing, size_t missing_size, struct merr *err) {
        const struct task_spec *spec = &run->t->spec;
        size_t n = spec->n_artifacts;
        const char **argv = calloc(n + 5, sizeof(*argv));
        if (!argv)
                return merr_set(err, -ENOMEM, "collecting artifacts");
        argv[0] = "sh";
        argv[1] = "-c";
        argv[2] = COLLECT_SCRIPT;
        argv[3] = "mbox-artifacts";
        for (size_t i = 0; i < n; i++)
                argv[4 + i] = spec->artifacts[i].path;
        struct collect col = {.len = 0};
        struct kube_exec_opts o = {.namespace = run->ns,
                .pod = run->pod,
                .command = argv,
                .stdin_fd = -1,
                .on_stdout = collect_sink,
                .userdata = &col,
                .timeout_ms = 120000};
        struct kube_exec_result res;
        int rc = kube_exec(c, &o, &res, err);
        free(argv);
        if (rc < 0)
                return rc;
        found->artifacts = calloc(n ? n : 1, sizeof(*found->artifacts));
        if (!found->artifacts)
                return merr_set(err, -ENOMEM, "collecting artifacts");
        found->has_artifacts = true;
        found->n_artifacts = n;
        bool oom = false;
        char *save = NULL, *line = strtok_r(col.buf, "\n", &save);
        for (size_t i = 0; i < n; i++, line = line ? strtok_r(NULL, "\n", &save) : NULL) {
                const struct task_artifact *d = &spec->artifacts[i];
                struct task_artifact_status *a = &found->artifacts[i];
                oom |= set_str(&a->name, d->name) < 0;
                oom |= set_str(&a->path, d->path) < 0;
                long long size = 0;
                char digest[80] = "";
                if (line && sscanf(line, "ok %lld %64s", &size, digest) == 2 && strlen(digest) == 64) {
                        char uri[1100], artifact[320], full[80];
                        snprintf(uri, sizeof(uri), "workspace://%s", d->path);
                        snprintf(full, sizeof(full), "sha256:%s", digest);
                        snprintf(artifact, sizeof(artifact), "%.190s-%.60s", run->name, d->name);
                        oom |= set_str(&a->uri, uri) < 0;
                        oom |= set_str(&a->content_type,
                                       d->content_type ? d->content_type : guess_type(d->path)) < 0;
                        a->has_size_bytes = true;
                        a->size_bytes = size;
                        oom |= set_str(&a->digest, full) < 0;
                        oom |= set_str(&a->artifact_name, artifact) < 0;
                } else if (!d->optional && !missing[0])
                        snprintf(missing, missing_size, "%s (%s): %s", d->name, d->path,
                                line && strcmp(line, "notfile") == 0      ? "not a regular file"
                                : line && strcmp(line, "unreadable") == 0 ? "cannot be read"
                                                                          : "no such file");
        }
        return oom ? merr_set(err, -ENOMEM, "collecting artifacts") : 0;
}

/* Records the artifacts found (those with a digest) in the database, with their provenance (best effort:
 * status lists them either way). */
static void record_artifacts(struct task_run *run, const struct task_status *found) {
        if (!run->op->store)
                return;
        for (size_t i = 0; i < found->n_artifacts; i++) {
                const struct task_artifact_status *a = &found->artifacts[i];
                if (!a->digest)
                        continue;
                struct artifact rec = {.namespace = run->ns,
                        .name = a->artifact_name,
                        .kind = "file",
                        .title = a->name,
                        .uri = a->uri,
                        .path = a->path,
                        .content_type = a->content_type,
                        .digest = a->digest,
                        .has_size = true,
                        .size_bytes = a->size_bytes,
                        .task_name = run->name,
                        .task_uid = run->uid,
                        .sandbox = run->sandbox,
                        .pod = run->pod};
                struct merr err = MERR_INIT;
                if (artifact_record_task(run->op->store, &rec, &err) < 0)
                        log_warn("cannot record an artifact", "task", run->key, "error", merr_msg(&err));
        }
}

/* ---- a run ---- */

static int on_out(const char *data, size_t len, void *ud, struct tail *t, enum task_stream s) {
        struct task_run *run = ud;
        tail_add(t, data, len);
        if (run->store_out) {
                struct merr err = MERR_INIT;
                if (task_output_write(run->store_out, s, data, len, &err) < 0) {
                        snprintf(run->store_error, sizeof(run->store_error),
                                "the full output could not be stored: %s", merr_msg(&err));
                        task_output_abandon(run->store_out);
                        run->store_out = NULL;
                }
        }
        return 0;
}

/* The launcher's first line ("<end line> <pid> <start>\n") into run->proc_*; the rest is the command's. */
static size_t take_first_line(struct task_run *run, const char *data, size_t len) {
        size_t n = 0;
        while (n < len && !run->first_done) {
                char ch = data[n++];
                if (ch != '\n' && run->first_len + 1 < sizeof(run->first)) {
                        run->first[run->first_len++] = ch;
                        continue;
                }
                run->first_done = true;
                run->first[run->first_len] = '\0';
                size_t el = strlen(run->end_line);
                char pid[24] = "", start[24] = "";
                if (strncmp(run->first, run->end_line, el) == 0 &&
                        sscanf(run->first + el, " %23[0-9] %23[0-9]", pid, start) == 2) {
                        snprintf(run->proc_pid, sizeof(run->proc_pid), "%s", pid);
                        snprintf(run->proc_start, sizeof(run->proc_start), "%s", start);
                } else
                        log_warn("the task's launcher did not report its process", "task", run->key);
        }
        return n;
}

static int on_stdout(const char *data, size_t len, void *ud) {
        struct task_run *run = ud;
        size_t n = run->first_done ? 0 : take_first_line(run, data, len);
        return n == len ? 0 : on_out(data + n, len - n, ud, &run->out, TASK_STDOUT);
}

static int on_stderr(const char *data, size_t len, void *ud) {
        return on_out(data, len, ud, &((struct task_run *) ud)->err, TASK_STDERR);
}

/* argv: sh -c LAUNCH_SCRIPT <uid> <end line> <dir or ""> <"stdin" or ""> COMMAND... (no env value, no
 * stdin). */
static char **build_argv(struct task_run *run, const char *end) {
        const struct api_strv *cmd = &run->t->spec.command;
        size_t nc = cmd->n, i = 0;
        char **argv = calloc(nc + 8, sizeof(char *));
        const char *dir = run->t->spec.working_dir;
        if (!argv)
                return NULL;
        argv[i++] = strdup("sh");
        argv[i++] = strdup("-c");
        argv[i++] = strdup(LAUNCH_SCRIPT);
        argv[i++] = strdup(run->uid);
        argv[i++] = strdup(end);
        argv[i++] = strdup(dir ? dir : "");
        argv[i++] = strdup(run->t->spec.stdin_data ? "stdin" : "");
        for (size_t k = 0; k < nc; k++)
                argv[i++] = strdup(cmd->v[k]);
        for (size_t k = 0; k < i; k++)
                if (!argv[k]) {
                        for (size_t j = 0; j < i; j++)
                                free(argv[j]);
                        free(argv);
                        return NULL;
                }
        return argv;
}

/* s, single-quoted for sh. */
static int put_quoted(struct buf *b, const char *s) {
        int r = buf_putc(b, '\'');
        for (; *s && r >= 0; s++)
                r = *s == '\'' ? buf_puts(b, "'\\''") : buf_putc(b, *s);
        return r < 0 ? r : buf_putc(b, '\'');
}

/* What LAUNCH_SCRIPT reads on stdin: `set -- 'NAME=VALUE'... "$@"`, the end line, then spec.stdin. */
static int build_input(struct task_run *run, const char *end, struct buf *b) {
        const struct api_env *env = &run->t->spec.env;
        const char *stdin_data = run->t->spec.stdin_data;
        int r = buf_puts(b, "set --");
        for (size_t k = 0; r >= 0 && k < env->n; k++) {
                const char *v = env->items[k].value;
                char *kv = NULL;
                if (asprintf(&kv, "%s=%s", env->items[k].name, v ? v : "") < 0)
                        return -ENOMEM;
                r = buf_putc(b, ' ');
                if (r >= 0)
                        r = put_quoted(b, kv);
                free(kv);
        }
        if (r >= 0)
                r = buf_printf(b, " \"$@\"\n%s\n", end);
        if (r >= 0 && stdin_data)
                r = buf_append(b, stdin_data, strlen(stdin_data));
        return r;
}

static void run_command(
        struct kube_client *c, struct task_run *run, struct outcome *oc, struct task_status *found) {
        struct merr err = MERR_INIT;
        int64_t timeout = run->t->spec.timeout_seconds;
        /* the end of the env block and the tag of the launcher's first line: unguessable, so no value can
         * end the block early and the command cannot forge the line */
        unsigned char nonce[12];
        size_t n = 0;
        if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t) sizeof(nonce)) {
                oc->phase = "Failed";
                oc->reason = "ExecFailed";
                set_msg(oc, "no random bytes for the command's input: %s", strerror(errno));
                return;
        }
        n = (size_t) snprintf(run->end_line, sizeof(run->end_line), "MBOX-END-");
        for (size_t i = 0; i < sizeof(nonce); i++)
                n += (size_t) snprintf(run->end_line + n, sizeof(run->end_line) - n, "%02x", nonce[i]);
        _cleanup_(buf_release) struct buf input = BUF_INIT(4 << 20); /* env (64 × 32 KiB, quoted) and stdin */
        char **argv = build_argv(run, run->end_line);
        int built = argv ? build_input(run, run->end_line, &input) : -ENOMEM;
        if (built < 0) {
                for (size_t i = 0; argv && argv[i]; i++)
                        free(argv[i]);
                free(argv);
                oc->phase = "Failed";
                oc->reason = "ExecFailed";
                set_msg(oc, "%s",
                        built == -ENOMEM ? "out of memory building the command"
                                         : "the command's env and stdin are larger than 4 MiB");
                return;
        }
        if (run->op->store) {
                if (task_output_begin(run->op->store, run->ns, run->name, run->uid, run->output_limit,
                            &run->store_out, &err) < 0)
                        snprintf(run->store_error, sizeof(run->store_error),
                                "the full output could not be stored: %s", merr_msg(&err));
        } else
                snprintf(run->store_error, sizeof(run->store_error),
                        "the full output is not stored: mbox-operator runs without --database-url");
        merr_clear(&err);
        struct kube_exec_opts o = {.namespace = run->ns,
                .pod = run->pod,
                .command = (const char *const *) argv,
                .stdin_fd = -1,
                .has_stdin = true,
                .stdin_data = input.data,
                .stdin_len = input.len,
                .on_stdout = on_stdout,
                .on_stderr = on_stderr,
                .userdata = run,
                .timeout_ms = (long) timeout * 1000,
                .cancel = &run->cancel};
        struct kube_exec_result res;
        int rc = kube_exec(c, &o, &res, &err);
        for (size_t i = 0; argv[i]; i++)
                free(argv[i]);
        free(argv);

        enum run_end end = atomic_load(&run->end);
        if (rc == 0) {
                oc->has_exit = true;
                oc->exit_code = res.exit_code;
                oc->phase = res.exit_code == 0 ? "Succeeded" : "Failed";
                oc->reason = res.exit_code == 0 ? "Succeeded" : "NonZeroExitCode";
                set_msg(oc, "the command exited with code %d", res.exit_code);
        } else {
                struct merr kerr = MERR_INIT;
                int k = kill_remote(c, run->ns, run->pod, run->uid, run->proc_pid, run->proc_start, &kerr);
                const char *killed = k == 0 ? "its processes were killed" : merr_msg(&kerr);
                if (rc == -ETIMEDOUT) {
                        oc->phase = "TimedOut";
                        oc->reason = "TimedOut";
                        set_msg(oc, "the command ran longer than timeoutSeconds (%" PRId64 " s); %s", timeout,
                                killed);
                } else if (rc == -ECANCELED && end == END_SHUTDOWN) {
                        oc->phase = "Failed";
                        oc->reason = "OperatorStopped";
                        set_msg(oc,
                                "mbox-operator stopped while the command ran; %s. Create the task again to "
                                "run it again",
                                killed);
                } else if (rc == -ECANCELED) {
                        oc->phase = "Canceled";
                        oc->reason = "Canceled";
                        set_msg(oc, "%s; %s",
                                end == END_DELETED ? "the task was deleted" : "spec.cancel was set", killed);
                } else {
                        oc->phase = "Failed";
                        oc->reason = "ExecFailed";
                        set_msg(oc, "%s (%s)", merr_msg(&err), killed);
                }
        }
        if (run->store_out) {
                bool complete = rc == 0;
                run->dropped = task_output_dropped(run->store_out);
                if (run->dropped && run->op->m_output_dropped)
                        metric_add(run->op->m_output_dropped, NULL, (double) run->dropped);
                merr_clear(&err);
                if (task_output_end(run->store_out, complete, complete ? NULL : oc->message, &err) < 0)
                        snprintf(run->store_error, sizeof(run->store_error),
                                "the full output could not be stored: %s", merr_msg(&err));
                else
                        run->store_partial = !complete;
                run->store_out = NULL;
        }

        if (rc == 0 && run->t->spec.n_artifacts > 0) {
                char missing[512] = "";
                merr_clear(&err);
                if (collect_artifacts(c, run, found, missing, sizeof(missing), &err) < 0) {
                        task_status_release(found);
                        if (oc->exit_code == 0) {
                                oc->phase = "Failed";
                                oc->reason = "ArtifactCollectionFailed";
                                set_msg(oc,
                                        "the command exited with code 0, but its artifacts could not be "
                                        "checked: %s",
                                        merr_msg(&err));
                        }
                } else {
                        record_artifacts(run, found);
                        if (missing[0] && oc->exit_code == 0) {
                                oc->phase = "Failed";
                                oc->reason = "ArtifactMissing";
                                set_msg(oc, "the command exited with code 0, but artifact %s", missing);
                        }
                }
        }
}

static void *run_main(void *arg) {
        struct task_run *run = arg;
        struct mbox_operator *op = run->op;
        struct kube_client *c = NULL;
        struct merr err = MERR_INIT;
        struct outcome oc = {0};
        struct task_status found = {0}; /* the artifacts found */

        if (kube_pool_get(op->clients, &c, &err) < 0) {
                oc.phase = "Failed";
                oc.reason = "ExecFailed";
                set_msg(&oc, "cannot reach the API server: %s", merr_msg(&err));
        } else {
                touch_sandbox(c, run);
                run_command(c, run, &oc, &found);
                touch_sandbox(c, run);
        }
        timestamp_now(&oc.completed);
        if (atomic_load(&run->end) != END_DELETED && c) {
                merr_clear(&err);
                int rc = write_final(c, run, &oc, &found, &err);
                if (rc < 0 && rc != -ENOENT)
                        log_error("cannot record the end of a task", "task", run->key, "phase", oc.phase,
                                "error", merr_msg(&err));
                struct op_ctx cx = {.op = op, .c = c, .ctl = CTL_TASK};
                if (rc == 0)
                        op_event(&cx, run->obj, strcmp(oc.phase, "Succeeded") == 0 ? "Normal" : "Warning",
                                oc.reason, "%s", oc.message);
        }
        task_status_release(&found);
        log_info("task finished", "task", run->key, "phase", oc.phase, "reason", oc.reason);
        count_task(op, oc.phase);
        if (c)
                kube_pool_put(op->clients, c);

        pthread_mutex_lock(&op->lock);
        if (strmap_get(op->runs, run->key) == run)
                strmap_remove(op->runs, run->key);
        if (op->m_tasks_running)
                metric_set(op->m_tasks_running, NULL, (double) strmap_size(op->runs));
        pthread_mutex_unlock(&op->lock);
        /* room for the next ones */
        enqueue_limited(op, run->ns, run->sandbox);
        op_enqueue(op, CTL_TASK, run->key);
        run_free(run);
        /* the last use of op: operator_free() waits for this count to reach 0 before it frees the queues
         * and caches used above */
        pthread_mutex_lock(&op->lock);
        op->n_threads_running--;
        pthread_cond_broadcast(&op->cond);
        pthread_mutex_unlock(&op->lock);
        return NULL;
}

/* ---- waiting tasks ---- */

/* A task waiting on a concurrency limit (op->limited), so that a run's end wakes the next ones without
 * reading every task of the namespace. */
struct task_wait {
        char created[64], ns[64], sandbox[64], key[320];
};

static int cmp_wait(const void *a, const void *b) {
        const struct task_wait *x = *(struct task_wait *const *) a, *y = *(struct task_wait *const *) b;
        int c = strcmp(x->created, y->created);
        return c ? c : strcmp(x->key, y->key);
}

/* Enqueues the oldest waiting tasks of sandbox sb (8) and of namespace ns (8 more). */
static void enqueue_limited(struct mbox_operator *op, const char *ns, const char *sb) {
        const struct task_wait **list = NULL;
        size_t n = 0, iter = 0;
        const char *k;
        void *v;
        pthread_mutex_lock(&op->lock);
        list = calloc(strmap_size(op->limited) + 1, sizeof(*list));
        while (list && strmap_next(op->limited, &iter, &k, &v))
                if (strcmp(((struct task_wait *) v)->ns, ns) == 0)
                        list[n++] = v;
        if (list)
                qsort(list, n, sizeof(*list), cmp_wait);
        size_t same = 0, any = 0;
        for (size_t i = 0; i < n && (same < 8 || any < 8); i++) {
                bool mine = strcmp(list[i]->sandbox, sb) == 0;
                if (mine && same < 8)
                        same++;
                else if (any < 8)
                        any++;
                else
                        continue;
                op_enqueue(op, CTL_TASK, list[i]->key);
        }
        pthread_mutex_unlock(&op->lock);
        free(list);
}

static void set_limited(
        struct mbox_operator *op, const char *key, json_object *obj, const char *ns, const char *sb) {
        struct task_wait *w = calloc(1, sizeof(*w));
        const char *c = kube_str(obj, "metadata.creationTimestamp");
        if (!w)
                return;
        snprintf(w->created, sizeof(w->created), "%s", c ? c : "");
        snprintf(w->ns, sizeof(w->ns), "%s", ns);
        snprintf(w->sandbox, sizeof(w->sandbox), "%s", sb);
        snprintf(w->key, sizeof(w->key), "%s", key);
        pthread_mutex_lock(&op->lock);
        if (strmap_put(op->limited, key, w) < 0)
                free(w);
        pthread_mutex_unlock(&op->lock);
}

struct waiting {
        const char *sandbox;
        struct waiting_item {
                char key[320];
                char created[64];
        } * items;
        size_t n, cap;
};

static void collect_waiting_fn(const char *key, json_object *obj, void *ud) {
        struct waiting *w = ud;
        const char *phase = kube_str(obj, "status.phase"), *sb = kube_str(obj, "spec.sandboxRef.name");
        if ((phase && strcmp(phase, "Pending") != 0) || (w->sandbox && (!sb || strcmp(sb, w->sandbox) != 0)))
                return;
        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                struct waiting_item *n = realloc(w->items, cap * sizeof(*n));
                if (!n)
                        return;
                w->items = n;
                w->cap = cap;
        }
        const char *created = kube_str(obj, "metadata.creationTimestamp");
        snprintf(w->items[w->n].key, sizeof(w->items[w->n].key), "%s", key);
        snprintf(w->items[w->n].created, sizeof(w->items[w->n].created), "%s", created ? created : "");
        w->n++;
}

static int cmp_waiting(const void *a, const void *b) {
        const struct waiting_item *x = a, *y = b;
        int c = strcmp(x->created, y->created);
        return c ? c : strcmp(x->key, y->key);
}

void op_enqueue_waiting_tasks(struct mbox_operator *op, const char *ns, const char *sandbox, size_t n) {
        struct waiting w = {.sandbox = sandbox};
        informer_foreach(op->inf[RES_TASK], ns, collect_waiting_fn, &w);
        if (w.n > 1)
                qsort(w.items, w.n, sizeof(*w.items), cmp_waiting);
        for (size_t i = 0; i < w.n && i < n; i++)
                op_enqueue(op, CTL_TASK, w.items[i].key);
        free(w.items);
}

/* ---- the reconcile ---- */

/* Whether the limits leave room for one more task in ns/sandbox; why says which does not. Under lock. */
static bool has_room(struct mbox_operator *op, const struct project *p, const char *ns, const char *sandbox,
        char *why, size_t size) {
        size_t in_ns = 0, in_sb = 0, iter = 0;
        const char *k;
        void *v;
        while (strmap_next(op->runs, &iter, &k, &v)) {
                struct task_run *r = v;
                if (strcmp(r->ns, ns) == 0) {
                        in_ns++;
                        if (strcmp(r->sandbox, sandbox) == 0)
                                in_sb++;
                }
        }
        if (p && p->spec.quota.has_max_running_tasks_per_sandbox &&
                (int64_t) in_sb >= p->spec.quota.max_running_tasks_per_sandbox)
                snprintf(why, size,
                        "%zu tasks run in sandbox %s, the most Project %s allows per sandbox "
                        "(spec.quota.maxRunningTasksPerSandbox)",
                        in_sb, sandbox, p->meta.name);
        else if (p && p->spec.quota.has_max_running_tasks &&
                 (int64_t) in_ns >= p->spec.quota.max_running_tasks)
                snprintf(why, size,
                        "%zu tasks run in Project %s, the most it allows (spec.quota.maxRunningTasks)", in_ns,
                        p->meta.name);
        else if (strmap_size(op->runs) >= (size_t) op->opt.max_running_tasks)
                snprintf(why, size, "mbox-operator already runs %zu tasks, its limit (--max-running-tasks)",
                        strmap_size(op->runs));
        else
                return true;
        return false;
}

static int write_status(
        struct op_ctx *cx, json_object *obj, const struct task *t, struct outcome *oc, struct merr *err) {
        if (task_phase_is_final(oc->phase))
                timestamp_now(&oc->completed);
        _cleanup_json_ json_object *st = NULL;
        if (build_status(t, oc, NULL, NULL, &st) < 0)
                return merr_set(err, -ENOMEM, "building the status of task %s", t->meta.name);
        int rc = op_write_status(cx, RES_TASK, obj, st, err);
        if (rc > 0 && task_phase_is_final(oc->phase)) {
                op_event(cx, obj, "Warning", oc->reason, "%s", oc->message);
                count_task(cx->op, oc->phase);
        }
        return rc < 0 ? rc : 0;
}

static int finish_early(struct op_ctx *cx, json_object *obj, const struct task *t, const char *phase,
        const char *reason, struct merr *err, const char *fmt, ...) _printf_(7, 8);
static int finish_early(struct op_ctx *cx, json_object *obj, const struct task *t, const char *phase,
        const char *reason, struct merr *err, const char *fmt, ...) {
        struct outcome oc = {.phase = phase, .reason = reason};
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(oc.message, sizeof(oc.message), fmt, ap);
        va_end(ap);
        return write_status(cx, obj, t, &oc, err);
}

static int wait_pending(struct op_ctx *cx, json_object *obj, const struct task *t, const char *reason,
        int64_t recheck_ns, struct merr *err, const char *fmt, ...) _printf_(7, 8);
static int wait_pending(struct op_ctx *cx, json_object *obj, const struct task *t, const char *reason,
        int64_t recheck_ns, struct merr *err, const char *fmt, ...) {
        struct outcome oc = {.phase = "Pending", .reason = reason};
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(oc.message, sizeof(oc.message), fmt, ap);
        va_end(ap);
        cx->requeue_after_ns = recheck_ns;
        return write_status(cx, obj, t, &oc, err);
}

static int reconcile_final(struct op_ctx *cx, json_object *obj, const struct task *t, struct merr *err) {
        int64_t ttl = t->spec.has_ttl_seconds_after_finished ? t->spec.ttl_seconds_after_finished : -1;
        struct timestamp done, now;
        const char *ct = t->status.completion_time;
        (void) obj;
        if (ttl < 0 || !ct || timestamp_parse(ct, &done, NULL) < 0)
                return 0;
        int64_t since = 0;
        timestamp_now(&now);
        timestamp_diff(&now, &done, &since);
        if (since < ttl * NS_PER_S) {
                cx->requeue_after_ns = ttl * NS_PER_S - since;
                return 0;
        }
        int rc = op_delete(cx, RES_TASK, t->meta.namespace, t->meta.name, err);
        return rc < 0 ? rc : 0;
}

/* A task left Running by an operator that is gone: kill what may still run and end it honestly. */
static int reconcile_orphan(
        struct op_ctx *cx, json_object *obj, const struct task *t, const char *ns, struct merr *err) {
        const char *pod = t->status.pod_name, *uid = t->meta.uid;
        char killed[512] = "no pod was recorded";
        if (pod && uid) {
                struct merr kerr = MERR_INIT;
                if (kill_remote(cx->c, ns, pod, uid, "", "", &kerr) == 0)
                        snprintf(killed, sizeof(killed), "its processes in pod %s were killed", pod);
                else
                        snprintf(killed, sizeof(killed), "killing its processes failed: %s", merr_msg(&kerr));
        }
        return finish_early(cx, obj, t, "Failed", "OperatorRestarted", err,
                "mbox-operator restarted while the command ran, so its exit code and output are unknown; %s. "
                "The task is not run again: create it again to rerun it",
                killed);
}

static int start_run(struct op_ctx *cx, json_object *obj, struct task **tp, const char *key, const char *ns,
        const char *name, const char *sandbox, const char *pod, const struct project *p, struct merr *err) {
        struct mbox_operator *op = cx->op;
        const struct task *t = *tp;
        char why[512];
        struct task_run *run = calloc(1, sizeof(*run));
        size_t tail = op->opt.task_tail_bytes;
        if (!run || tail_init(&run->out, tail) < 0 || tail_init(&run->err, tail) < 0) {
                run_free(run);
                return merr_set(err, -ENOMEM, "allocating a task run");
        }
        run->op = op;
        snprintf(run->key, sizeof(run->key), "%s", key);
        snprintf(run->ns, sizeof(run->ns), "%s", ns);
        snprintf(run->name, sizeof(run->name), "%s", name);
        snprintf(run->uid, sizeof(run->uid), "%s", t->meta.uid ? t->meta.uid : "");
        snprintf(run->sandbox, sizeof(run->sandbox), "%s", sandbox);
        snprintf(run->pod, sizeof(run->pod), "%s", pod);
        run->obj = json_object_get(obj);
        run->output_limit = op_task_output_limit(op->opt.max_task_output, p, &run->limit_whose);
        timestamp_now(&run->started);
        run->started.nsec = 0;

        pthread_mutex_lock(&op->lock);
        bool room = has_room(op, p, ns, sandbox, why, sizeof(why));
        if (room && strmap_put(op->runs, key, run) < 0)
                room = false, snprintf(why, sizeof(why), "out of memory");
        pthread_mutex_unlock(&op->lock);
        if (!room) {
                run_free(run);
                set_limited(op, key, obj, ns, sandbox);
                return wait_pending(cx, obj, t, "ConcurrencyLimit", 30 * NS_PER_S, err, "waiting: %s", why);
        }

        /* the run keeps the view it was started with (sandbox points into it: copied above) */
        run->t = TAKE_PTR(*tp);
        /* Running is recorded first, on the cached resourceVersion: a task starts once or not at all */
        struct outcome oc = {.phase = "Running", .reason = "Started"};
        set_msg(&oc, "running in pod %s", pod);
        _cleanup_json_ json_object *st = NULL;
        int rc = build_status(t, &oc, run, NULL, &st) < 0
                         ? merr_set(err, -ENOMEM, "building the status of task %s", key)
                         : op_write_status(cx, RES_TASK, obj, st, err);
        /* the thread may end and free the run (and its view) before the event below is sent */
        _cleanup_free_ char *program = strdup(t->spec.command.n ? t->spec.command.v[0] : "the command");
        pthread_t thread;
        pthread_attr_t attr;
        if (rc >= 0) {
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                pthread_mutex_lock(&op->lock);
                op->n_threads_running++;
                if (op->m_tasks_running)
                        metric_set(op->m_tasks_running, NULL, (double) strmap_size(op->runs));
                pthread_mutex_unlock(&op->lock);
                int e = pthread_create(&thread, &attr, run_main, run);
                pthread_attr_destroy(&attr);
                if (e == 0) {
                        op_event(cx, obj, "Normal", "Started", "running %s in pod %s",
                                program ? program : "the command", pod);
                        return 0;
                }
                rc = merr_set(err, -e, "starting a task thread");
                pthread_mutex_lock(&op->lock);
                op->n_threads_running--;
                pthread_mutex_unlock(&op->lock);
        }
        pthread_mutex_lock(&op->lock);
        strmap_remove(op->runs, key);
        pthread_mutex_unlock(&op->lock);
        run_free(run);
        return rc;
}

int op_reconcile_task(struct op_ctx *cx, const char *key, struct merr *err) {
        struct mbox_operator *op = cx->op;
        _cleanup_json_ json_object *obj = op_get(op, RES_TASK, key);
        char ns[64], sbkey[160];
        const char *name;
        if (kube_split_key(key, ns, sizeof(ns), &name) < 0)
                return 0;
        _cleanup_(task_freep) struct task *t = NULL;
        struct merr perr = MERR_INIT;
        if (obj && task_from_json(obj, &t, &perr) < 0) {
                /* the API server validated it; a mismatch means a newer schema than this operator knows */
                op_event(cx, obj, "Warning", "InvalidSpec", "%s", merr_msg(&perr));
                return 0;
        }

        /* a run of this process: deletion and spec.cancel stop it; its thread writes the end. A task
         * waiting on a limit is listed again below if it still has to wait. */
        pthread_mutex_lock(&op->lock);
        strmap_remove(op->limited, key);
        struct task_run *run = strmap_get(op->runs, key);
        bool mine = run && t && strcmp(run->uid, t->meta.uid ? t->meta.uid : "") == 0;
        if (run && !mine) {
                atomic_store(&run->end, END_DELETED);
                atomic_store(&run->cancel, true);
        } else if (mine) {
                if (t->spec.cancel && !atomic_load(&run->cancel)) {
                        atomic_store(&run->end, END_CANCEL);
                        atomic_store(&run->cancel, true);
                }
        }
        pthread_mutex_unlock(&op->lock);
        if (!obj || mine)
                return 0;
        if (run) { /* a task recreated under the name of one still being stopped */
                cx->requeue_after_ns = NS_PER_S;
                return 0;
        }

        const char *phase = t->status.phase;
        if (task_phase_is_final(phase))
                return reconcile_final(cx, obj, t, err);
        if (phase && strcmp(phase, "Running") == 0)
                return reconcile_orphan(cx, obj, t, ns, err);

        if (t->spec.cancel)
                return finish_early(cx, obj, t, "Canceled", "Canceled", err,
                        "spec.cancel was set before the command started; it never ran");
        if (kube_str(obj, "metadata.deletionTimestamp"))
                return 0;

        const char *sbname = t->spec.sandbox_ref_name;
        snprintf(sbkey, sizeof(sbkey), "%s/%s", ns, sbname ? sbname : "");
        _cleanup_json_ json_object *sb = sbname ? op_get(op, RES_SANDBOX, sbkey) : NULL;
        int64_t age = age_ns(obj), bound = op->opt.task_start_timeout_ns;
        if (!sb) {
                if (age < NOT_FOUND_GRACE_S * NS_PER_S)
                        return wait_pending(cx, obj, t, "SandboxNotFound", NOT_FOUND_GRACE_S * NS_PER_S - age,
                                err, "waiting for Sandbox %s to appear in namespace %s", sbname, ns);
                return finish_early(cx, obj, t, "Failed", "SandboxNotFound", err,
                        "there is no Sandbox %s in namespace %s (a task runs in a sandbox of its own "
                        "namespace)",
                        sbname, ns);
        }
        const char *sphase = kube_str(sb, "status.phase"), *pod = kube_str(sb, "status.podName");
        const char *ready = kube_condition(sb, "status.conditions", "Ready", NULL, NULL);
        if (kube_str(sb, "metadata.deletionTimestamp"))
                return finish_early(cx, obj, t, "Failed", "SandboxTerminating", err,
                        "Sandbox %s is being deleted", sbname);
        const char *sreason = kube_str(sb, "status.reason"), *sstate = kube_str(sb, "spec.state");
        if (sphase && (strcmp(sphase, "Stopped") == 0 || strcmp(sphase, "Stopping") == 0) && sreason &&
                strcmp(sreason, "IdleTimeout") == 0 && !(sstate && strcmp(sstate, "Stopped") == 0)) {
                /* stopped for inactivity while its user wants it running: this task is activity, and
                 * starts it again (the sandbox controller sees lastActivityAt move past stoppedAt) */
                record_activity(op, cx->c, ns, sbname);
                return wait_pending(cx, obj, t, "SandboxNotReady", 5 * NS_PER_S, err,
                        "starting Sandbox %s again: it was stopped after its idle timeout", sbname);
        }
        if (sphase && (strcmp(sphase, "Stopped") == 0 || strcmp(sphase, "Stopping") == 0 ||
                              strcmp(sphase, "Expired") == 0))
                return finish_early(cx, obj, t, "Failed", "SandboxStopped", err,
                        "Sandbox %s is %s (%s); start it (spec.state: Running) and create the task again",
                        sbname, sphase,
                        kube_str(sb, "status.reason") ? kube_str(sb, "status.reason") : "stopped");
        if (sphase && strcmp(sphase, "Failed") == 0)
                return finish_early(cx, obj, t, "Failed", "SandboxFailed", err, "Sandbox %s failed: %s",
                        sbname,
                        kube_str(sb, "status.message") ? kube_str(sb, "status.message") : "no details");
        if (!sphase || strcmp(sphase, "Running") != 0 || !ready || strcmp(ready, "True") != 0 || !pod) {
                if (age >= bound) {
                        char d[DURATION_STR_MAX] = "";
                        duration_format(bound, d, sizeof(d));
                        return finish_early(cx, obj, t, "Failed", "SandboxNotReady", err,
                                "Sandbox %s was not ready within %s (phase %s): the task did not run", sbname,
                                d, sphase ? sphase : "none yet");
                }
                /* the sandbox's changes wake it; a look every 30 s is the safety net */
                return wait_pending(cx, obj, t, "SandboxNotReady",
                        bound - age < 30 * NS_PER_S ? bound - age : 30 * NS_PER_S, err,
                        "waiting for Sandbox %s to be Running and Ready (phase %s)", sbname,
                        sphase ? sphase : "none yet");
        }

        _cleanup_(project_freep) struct project *p = NULL;
        char pname[256];
        if (op_project_of_namespace(op, ns, pname, sizeof(pname))) {
                _cleanup_json_ json_object *pobj = op_get(op, RES_PROJECT, pname);
                merr_clear(&perr);
                if (pobj && project_from_json(pobj, &p, &perr) < 0)
                        p = NULL;
        }
        return start_run(cx, obj, &t, key, ns, name, sbname, pod, p, err);
}

bool op_tasks_running_in(struct mbox_operator *op, const char *ns, const char *sandbox) {
        size_t iter = 0;
        const char *k;
        void *v;
        bool found = false;
        pthread_mutex_lock(&op->lock);
        while (!found && strmap_next(op->runs, &iter, &k, &v)) {
                const struct task_run *r = v;
                found = strcmp(r->ns, ns) == 0 && strcmp(r->sandbox, sandbox) == 0;
        }
        pthread_mutex_unlock(&op->lock);
        return found;
}

char **op_tasks_running_uids(struct mbox_operator *op, size_t *ret_n) {
        size_t n = 0, iter = 0;
        const char *k;
        void *v;
        pthread_mutex_lock(&op->lock);
        char **uids = calloc(strmap_size(op->runs) + 1, sizeof(*uids));
        while (uids && strmap_next(op->runs, &iter, &k, &v))
                if ((uids[n] = strdup(((const struct task_run *) v)->uid)))
                        n++;
        pthread_mutex_unlock(&op->lock);
        if (uids)
                *ret_n = n;
        return uids;
}

void op_tasks_stop(struct mbox_operator *op, long wait_ms) {
        struct timespec deadline = timestamp_deadline(wait_ms);
        pthread_mutex_lock(&op->lock);
        size_t iter = 0;
        const char *k;
        void *v;
        while (strmap_next(op->runs, &iter, &k, &v)) {
                struct task_run *r = v;
                if (!atomic_load(&r->cancel)) {
                        atomic_store(&r->end, END_SHUTDOWN);
                        atomic_store(&r->cancel, true);
                }
        }
        while (op->n_threads_running > 0)
                if (pthread_cond_timedwait(&op->cond, &op->lock, &deadline) == ETIMEDOUT)
                        break;
        if (op->n_threads_running > 0)
                log_warn("tasks still ending at shutdown", "count",
                        op->n_threads_running > 1 ? "several" : "1");
        pthread_mutex_unlock(&op->lock);
}
