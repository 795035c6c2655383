/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a Kubernetes API server is and how to authenticate to it: from kubeconfig files or from the
 * in-cluster service account.
 *
 * Kubeconfig: the paths of $KUBECONFIG (colon-separated) are merged as kubectl merges them: for clusters,
 * users and contexts, the first file that defines a name wins; current-context comes from the first file
 * that sets it; files that do not exist are skipped (but at least one must exist). Only the context in use,
 * and its cluster and user, are interpreted and validated. Supported:
 *   clusters[].cluster: server, certificate-authority (file), certificate-authority-data (base64),
 *                       insecure-skip-tls-verify, tls-server-name is ignored
 *   users[].user:       client-certificate / client-key (files), client-certificate-data /
 *                       client-key-data (base64), token, tokenFile, exec (credential plugins, below)
 *   contexts[].context: cluster, user, namespace
 * Not supported, each a clear error when the selected user uses it: auth-provider, username/password,
 * impersonation (as, as-groups).
 *
 * Exec credential plugins (client.authentication.k8s.io/v1 and v1beta1, as client-go runs them): command
 * with args, the process environment plus env, and KUBERNETES_EXEC_INFO holding an ExecCredential whose
 * spec.interactive is false (plus spec.cluster with provideClusterInfo). The library never gives a plugin
 * a terminal: stdin is /dev/null, so interactiveMode Always is refused, Never and IfAvailable run
 * non-interactively; v1 requires interactiveMode to be set. A command containing '/' is relative to the
 * kubeconfig's directory, a bare name is looked up in PATH. The plugin runs when the config is loaded (so
 * a client certificate it returns is there for kube_client_new()) and again from kube_config_token() once
 * status.expirationTimestamp has passed; without one its credential is kept for the config's life. It
 * gets 60 seconds; its stdout is capped at KUBE_CONFIG_MAX_FILE and its stderr is quoted in errors, which
 * name the plugin: "kubeconfig '/x/config': users[0].user.exec: credential plugin 'aws': exited with
 * status 1: <stderr>". A token from a plugin cannot be combined with user.token or user.tokenFile. A REST
 * client keeps the client certificate it was created with; exec and port-forward sessions take the
 * current one.
 *
 * Relative file paths are resolved against the directory of the kubeconfig that defines them. Certificates
 * and keys are read into memory and checked to be PEM (a key must match its certificate); they are handed
 * to libcurl as blobs, never written to temporary files.
 *
 * Every error names the file and the field:
 *   "kubeconfig '/x/config': users[0].user.client-key-data: invalid base64"
 *
 * A bearer token from a file (tokenFile, the in-cluster token) is re-read when the file changes; the file's
 * mtime is checked at most once a minute (see kube_config_token()).
 *
 * Thread safety: a kube_config is not shared; kube_client_new() takes ownership of one.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "merr.h"

struct kube_exec_plugin;

/* Bytes in memory: PEM certificates and keys. */
struct kube_blob {
        unsigned char *data; /* owned; NUL-terminated (not counted in len) for convenience */
        size_t len;
};

struct kube_config {
        char *source;          /* where it came from: "kubeconfig '/a:/b'" or "in-cluster config" */
        char *context;         /* the context used; NULL in-cluster */
        char *server;          /* "https://host:port" plus an optional path prefix, without trailing '/' */
        char *namespace;       /* the context's namespace, the service account's, or "default" */
        struct kube_blob ca;   /* trusted CAs; empty: the system's */
        struct kube_blob cert; /* client certificate and key; both empty or both set */
        struct kube_blob key;
        bool insecure;    /* insecure-skip-tls-verify */
        char *token;      /* bearer token; NULL for none */
        char *token_file; /* when set, token is read from it and re-read when it changes */
        struct timespec token_mtime;
        time_t token_checked;          /* CLOCK_MONOTONIC seconds of the last mtime check */
        struct kube_exec_plugin *exec; /* when set, token and certificate come from this plugin */
        time_t exec_expiry;            /* when the plugin's credential expires (UTC seconds); 0: never */
};

/* Limits on what is read: a kubeconfig file, a certificate, key or token file. */
#define KUBE_CONFIG_MAX_FILE (4u * 1024 * 1024)

/*
 * Loads a kubeconfig. paths is a colon-separated list as in $KUBECONFIG; NULL means $KUBECONFIG, or
 * $HOME/.kube/config when that is unset or empty. context selects a context by name instead of
 * current-context (NULL for current-context). On success *ret is a new config (kube_config_free()).
 */
int kube_config_load(const char *paths, const char *context, struct kube_config **ret, struct merr *err);

/*
 * Like kube_config_load() for one kubeconfig document in memory (for tests and fuzzing). name is used in
 * messages ("kubeconfig 'name': ..."). dir resolves relative file references; NULL forbids file
 * references altogether (they are errors).
 */
int kube_config_load_data(const char *data, size_t len, const char *name, const char *dir,
        const char *context, struct kube_config **ret, struct merr *err);

/*
 * The in-cluster config: server from $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT, token, CA and
 * namespace from <root>/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}. root is a
 * path prefix for tests; NULL or "" means "/". The namespace file is optional ("default").
 */
int kube_config_in_cluster(const char *root, struct kube_config **ret, struct merr *err);

/*
 * What a program without flags uses: the kubeconfig of $KUBECONFIG or ~/.kube/config when one exists,
 * else in-cluster config when $KUBERNETES_SERVICE_HOST is set. context as in kube_config_load().
 */
int kube_config_default(const char *context, struct kube_config **ret, struct merr *err);

/*
 * The current bearer token (borrowed, valid until the next call; NULL when there is none). When the token
 * comes from a file, the file's mtime is checked if the last check is at least a minute old, and the
 * file is re-read when it changed. A failed re-read keeps the old token and returns the error. When it
 * comes from an exec plugin whose credential has expired, the plugin is run again; when that fails the
 * expired token is dropped (NULL) and the error returned.
 */
int kube_config_token(struct kube_config *c, const char **ret, struct merr *err);

/* Frees c (NULL is fine) and returns NULL. Key material is wiped before it is freed. */
struct kube_config *kube_config_free(struct kube_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_config *, kube_config_free);

/* What an exec credential plugin printed: status of an ExecCredential. */
struct kube_exec_credential {
        char *token;           /* NULL when none */
        struct kube_blob cert; /* PEM; both empty or both set */
        struct kube_blob key;
        time_t expiry; /* status.expirationTimestamp in UTC seconds; 0: none */
};

/* Parses a plugin's output: an ExecCredential of api_version with a token, or a client certificate with
 * its key, or both. Errors describe the output ("kind: expected 'ExecCredential'"); the caller names the
 * plugin. Exposed for tests and fuzzing. */
int kube_exec_credential_parse(const char *data, size_t len, const char *api_version,
        struct kube_exec_credential *ret, struct merr *err);
void kube_exec_credential_release(struct kube_exec_credential *c);

/* Decodes standard base64 (with padding; line breaks allowed). Returns 0 and an allocated, NUL-terminated
 * blob, or -EINVAL. Exposed for tests. */
int kube_base64_decode(const char *s, size_t len, struct kube_blob *ret);
