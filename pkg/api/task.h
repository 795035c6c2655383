/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of mbox.dev/v1alpha1 ExecutionTask (namespaced): parse with the validation and defaults of
 * crds/mbox.dev_executiontasks.yaml, check updates, compare and emit. See common.h for ownership and
 * messages.
 */
#pragma once

#include "api/common.h"

struct task_artifact {
        char *name;
        char *path;
        char *content_type;
        bool optional; /* default false */
};

struct task_spec {
        char *sandbox_ref_name;
        struct api_strv command;
        char *working_dir;
        struct api_env env;
        char *stdin_data;        /* spec.stdin */
        int64_t timeout_seconds; /* default 600 */
        bool cancel;             /* default false */
        struct task_artifact *artifacts;
        size_t n_artifacts;
        bool has_artifacts;
        bool has_ttl_seconds_after_finished;
        int64_t ttl_seconds_after_finished;
        bool has_metadata;
        struct api_map metadata;
};

/* An artifact as status.artifacts lists it: found (with uri, size, digest and the Artifact's name) or
 * not (name and path only). */
struct task_artifact_status {
        char *name;
        char *path;
        char *uri;
        char *content_type;
        bool has_size_bytes;
        int64_t size_bytes;
        char *digest;        /* "sha256:<hex>" */
        char *artifact_name; /* of the Artifact in runtime.mbox.dev */
};

/* Every status field of the CRD. Strings are NULL when absent; an empty string is kept as one (an empty
 * stdoutTail says the command wrote nothing). Times are metav1.Time strings as written. */
struct task_status {
        bool has_observed_generation;
        int64_t observed_generation;
        char *phase; /* Pending, Running, Succeeded, Failed, Canceled, TimedOut */
        char *reason;
        char *message;
        bool has_exit_code;
        int64_t exit_code;
        char *start_time;
        char *pod_name;
        char *completion_time;
        char *duration; /* how long the command ran, a Go duration */
        char *stdout_tail;
        char *stderr_tail;
        bool has_stdout_bytes, has_stderr_bytes;
        int64_t stdout_bytes, stderr_bytes;
        bool has_output_truncated;
        bool output_truncated;
        bool has_output_dropped_bytes;
        int64_t output_dropped_bytes;
        char *log_ref_name; /* logRef, absent when both are NULL */
        char *log_ref_uri;
        bool has_artifacts;
        struct task_artifact_status *artifacts;
        size_t n_artifacts;
        struct api_conditions conditions;
};

struct task {
        struct api_meta meta;
        struct task_spec spec;
        bool has_status;
        struct task_status status;
};

int task_from_json(json_object *obj, struct task **ret, struct merr *err);
/* Everything but cancel and ttlSecondsAfterFinished is immutable; cancel only goes from false to true; a
 * finished task (Succeeded, Failed, Canceled, TimedOut) keeps its phase. */
int task_validate_update(const struct task *old, const struct task *new, struct merr *err);
int task_to_json(const struct task *t, json_object **ret);
int task_status_to_json(const struct task *t, json_object **ret);
/* The status alone, for a status built apart from its object (the operator's). */
int task_status_emit(const struct task_status *st, json_object **ret);
void task_status_release(struct task_status *st);
bool task_equal(const struct task *a, const struct task *b);
/* True for the phases a task does not leave. */
bool task_phase_is_final(const char *phase);
/* A new object named name (in namespace, for namespaced kinds; NULL otherwise) with the CRD defaults applied
 * and every other field empty, for callers that build objects: fill it in (strings are owned, so strdup()
 * them) and check it with task_validate(). NULL when out of memory. */
struct task *task_new(const char *name, const char *namespace);
/* Applies every rule of task_from_json() to an object built in C (by emitting and parsing it again). */
int task_validate(const struct task *t, struct merr *err);
struct task *task_free(struct task *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct task *, task_free);
