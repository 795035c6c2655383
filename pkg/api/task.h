/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of mbox.dev/v1alpha1 ExecutionTask (namespaced): parse with the validation and defaults of
 * crds/mbox.dev_executiontasks.yaml, check updates, compare and emit. The standard functions (task_from_json()
 * and the rest) are declared by API_KIND_DECLARE and described in kind.h; see common.h for ownership and
 * messages.
 */
#pragma once

#include "api/kind.h"

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

API_KIND_DECLARE(task, struct task, struct task_status);

/* True for the phases a task does not leave. */
bool task_phase_is_final(const char *phase);
