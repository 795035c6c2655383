/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A run of an ExecutionTask (docs/tasks.md): the thread that execs the command in the sandbox's Pod once
 * the reconcile (task.c) recorded the task Running.
 *
 * The command runs under a small launcher (LAUNCH_SCRIPT) that records its PID and start time in the pod
 * and takes the env and stdin from the exec's stdin, never the URL; a timeout, a cancel, a deletion or an
 * operator restart kills the launcher's whole process tree in the pod (a closed exec stream alone leaves
 * it running), whatever the command does to its environment or session. Output goes to bounded tails for
 * status and, with a database, to Postgres (pkg/store/taskoutput.h) up to the task's limit (records.c),
 * the rest counted and dropped. Declared artifacts are checked (size, sha256 digest, content type) once
 * the command exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api/sandbox.h"
#include "buf.h"
#include "duration.h"
#include "jsonutil.h"
#include "kube/exec.h"
#include "kube/pool.h"
#include "log.h"
#include "operator/taskrun.h"
#include "store/artifact.h"
#include "store/taskoutput.h"

#define NS_PER_S        1000000000LL
#define ACTIVITY_STEP_S 15

void task_run_free(struct task_run *r) {
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

void task_count(struct mbox_operator *op, const char *phase) {
        if (op->m_tasks)
                metric_add(op->m_tasks, (const char *const[]){phase, NULL}, 1);
}

/* ---- the status a task shows ---- */

void task_outcome_msg(struct task_outcome *o, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->message, sizeof(o->message), fmt, ap);
        va_end(ap);
}

/* The status of task t for outcome oc, plus what a run adds (NULL when it has not started) and the
 * artifacts it found (found: NULL or a status whose artifacts are borrowed for the emit), as JSON in *ret.
 * Built afresh each time; only lastTransitionTime carries over from t's conditions. */
int task_build_status(const struct task *t, const struct task_outcome *oc, const struct task_run *run,
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
static int write_final(struct kube_client *c, struct task_run *run, const struct task_outcome *oc,
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
                        const char *uid = kube_str(cur, "metadata.uid"), *phase = NULL;
                        json_object *st = NULL;
                        if (!uid || strcmp(uid, run->uid) != 0)
                                return -ENOENT;
                        /* a task that no longer parses (a schema newer than this operator) still gets its
                         * end, built over the view the run started with */
                        if (task_from_json(cur, &t, NULL) >= 0)
                                phase = t->status.phase;
                        else
                                phase = kube_str(cur, "status.phase");
                        if (task_phase_is_final(phase))
                                return merr_set(err, -EALREADY, "the task already ended as %s", phase);
                        if (task_build_status(t ? t : run->t, oc, run, found, &st) < 0)
                                return merr_set(err, -ENOMEM, "building the status of task %s", run->key);
                        if (!t) /* the generation is the object's, not that of the view the run began with */
                                json_object_object_add(st, "observedGeneration",
                                        json_object_get(kube_field(cur, "metadata.generation")));
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
void task_record_activity(struct mbox_operator *op, struct kube_client *c, const char *ns, const char *name) {
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
        _cleanup_(sandbox_freep) struct sandbox *sv = NULL;
        int64_t since = 0;
        timestamp_now(&t);
        if (sb && sandbox_from_json(sb, &sv, NULL) == 0 && (last = sv->status.last_activity_at).sec &&
                timestamp_diff(&t, &last, &since) == 0 && since < ACTIVITY_STEP_S * NS_PER_S)
                return;
        task_record_activity(run->op, c, run->ns, run->sandbox);
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
int task_kill(struct kube_client *c, const char *ns, const char *pod, const char *uid, const char *pid,
        const char *start, struct merr *err) {
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
        struct kube_client *c, struct task_run *run, struct task_outcome *oc, struct task_status *found) {
        struct merr err = MERR_INIT;
        int64_t timeout = run->t->spec.timeout_seconds;
        /* the end of the env block and the tag of the launcher's first line: unguessable, so no value can
         * end the block early and the command cannot forge the line */
        unsigned char nonce[12];
        size_t n = 0;
        if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t) sizeof(nonce)) {
                oc->phase = "Failed";
                oc->reason = "ExecFailed";
                task_outcome_msg(oc, "no random bytes for the command's input: %s", strerror(errno));
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
                task_outcome_msg(oc, "%s",
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
                task_outcome_msg(oc, "the command exited with code %d", res.exit_code);
        } else {
                struct merr kerr = MERR_INIT;
                int k = task_kill(c, run->ns, run->pod, run->uid, run->proc_pid, run->proc_start, &kerr);
                const char *killed = k == 0 ? "its processes were killed" : merr_msg(&kerr);
                if (rc == -ETIMEDOUT) {
                        oc->phase = "TimedOut";
                        oc->reason = "TimedOut";
                        task_outcome_msg(oc, "the command ran longer than timeoutSeconds (%" PRId64 " s); %s",
                                timeout, killed);
                } else if (rc == -ECANCELED && end == END_SHUTDOWN) {
                        oc->phase = "Failed";
                        oc->reason = "OperatorStopped";
                        task_outcome_msg(oc,
                                "mbox-operator stopped while the command ran; %s. Create the task again to "
                                "run it again",
                                killed);
                } else if (rc == -ECANCELED) {
                        oc->phase = "Canceled";
                        oc->reason = "Canceled";
                        task_outcome_msg(oc, "%s; %s",
                                end == END_DELETED ? "the task was deleted" : "spec.cancel was set", killed);
                } else {
                        oc->phase = "Failed";
                        oc->reason = "ExecFailed";
                        task_outcome_msg(oc, "%s (%s)", merr_msg(&err), killed);
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
                                task_outcome_msg(oc,
                                        "the command exited with code 0, but its artifacts could not be "
                                        "checked: %s",
                                        merr_msg(&err));
                        }
                } else {
                        record_artifacts(run, found);
                        if (missing[0] && oc->exit_code == 0) {
                                oc->phase = "Failed";
                                oc->reason = "ArtifactMissing";
                                task_outcome_msg(
                                        oc, "the command exited with code 0, but artifact %s", missing);
                        }
                }
        }
}

void *task_run_main(void *arg) {
        struct task_run *run = arg;
        struct mbox_operator *op = run->op;
        struct kube_client *c = NULL;
        struct merr err = MERR_INIT;
        struct task_outcome oc = {0};
        struct task_status found = {0}; /* the artifacts found */

        if (kube_pool_get(op->clients, &c, &err) < 0) {
                oc.phase = "Failed";
                oc.reason = "ExecFailed";
                task_outcome_msg(&oc, "cannot reach the API server: %s", merr_msg(&err));
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
        task_count(op, oc.phase);
        if (c)
                kube_pool_put(op->clients, c);

        pthread_mutex_lock(&op->lock);
        if (strmap_get(op->runs, run->key) == run)
                strmap_remove(op->runs, run->key);
        if (op->m_tasks_running)
                metric_set(op->m_tasks_running, NULL, (double) strmap_size(op->runs));
        pthread_mutex_unlock(&op->lock);
        /* room for the next ones */
        if (run->on_end)
                run->on_end(op, run->ns, run->sandbox);
        op_enqueue(op, CTL_TASK, run->key);
        task_run_free(run);
        /* the last use of op: operator_free() waits for this count to reach 0 before it frees the queues
         * and caches used above */
        pthread_mutex_lock(&op->lock);
        op->n_threads_running--;
        pthread_cond_broadcast(&op->cond);
        pthread_mutex_unlock(&op->lock);
        return NULL;
}
