/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed view of runtime.mbox.dev/v1alpha1 Artifact as a client sends it to be created: a reference to a
 * file (workspace:///path, or a URL elsewhere; session:// is mbox-apiserver's own, for recordings) with what it is and where it came from. The server fills in
 * the rest (uid, times, the task's uid, sandbox and pod when a task is named). See common.h for ownership
 * and messages.
 */
#pragma once

#include "api/common.h"

#define ARTIFACT_API_VERSION "runtime.mbox.dev/v1alpha1"
#define ARTIFACT_WORKSPACE   "workspace://"
#define ARTIFACT_SESSION     "session://" /* a session's recording: registered by mbox-apiserver only */

struct api_artifact {
        char *name, *generate_name, *namespace; /* metadata; one of name and generate_name */
        struct api_map labels, annotations;
        char *kind;  /* default "file" */
        char *title; /* spec.name */
        char *uri;
        char *path; /* for a workspace URI its path (checked or filled in) */
        char *content_type, *digest;
        bool has_size;
        int64_t size_bytes;
        char *task_name, *task_uid, *sandbox, *pod;
        char *dropped; /* not strict: the unknown fields dropped ("unknown field \"spec.x\", ..."), or NULL */
};

/* Parses a create request's body: one JSON object, nothing after it. strict: a field the kind does not
 * have is an error (fieldValidation=Strict, the default), else it is dropped and named in ret->dropped. Returns 0; -EBADMSG when the
 * body does not decode (not JSON, not an object, unknown fields), -EINVAL when it decodes but a field is
 * invalid; every problem is in err. */
int api_artifact_parse(const char *data, size_t len, bool strict, struct api_artifact *ret, struct merr *err);
void api_artifact_release(struct api_artifact *a);

/* Applies a JSON merge patch (RFC 7386) to an artifact, of which only metadata.labels and
 * metadata.annotations change: labels and annotations (JSON objects, modified in place) are the artifact's.
 * A patch may also carry metadata.resourceVersion and metadata.uid, returned as preconditions (borrowed
 * from the patch, valid until the next call, or NULL), and must not change anything else. strict as for
 * api_artifact_parse(). Returns 0; -EBADMSG when the patch does not decode, -EINVAL when it asks for what
 * cannot be or the result is invalid. */
struct api_artifact_patch {
        json_object *doc; /* owns the decoded patch */
        const char *resource_version, *uid, *name;
        char *dropped; /* as in struct api_artifact */
};
int api_artifact_merge_meta(const char *data, size_t len, bool strict, json_object *labels,
        json_object *annotations, struct api_artifact_patch *ret, struct merr *err);
void api_artifact_patch_release(struct api_artifact_patch *p);
