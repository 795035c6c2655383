/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for C integration tests against the local cluster that hack/cluster.sh runs (the integration
 * runner brings it up before any test starts).
 *
 *   tc_kubeconfig()              path of the admin kubeconfig ($MBOX_STATE_DIR/kubeconfig)
 *   tc_kubectl(out, args...)     runs the cluster's kubectl with the admin kubeconfig; stdout into out
 *   tc_namespace_new(prefix)     creates a fresh namespace "<prefix>-<random>" and returns its name
 *   tc_namespace_delete(name)    deletes it without waiting (what tests do when they end)
 *   tc_ns_setup/tc_ns_teardown   a Check fixture giving each test a fresh namespace in tc_ns, named after
 *                                the test program ("kube-exec-1a2b3c4d" for test-kube-exec)
 *   tc_config(), tc_client()     the admin kubeconfig loaded, and a client over it (they assert)
 *
 * Strings returned are owned by the caller (free()).
 */
#pragma once

#include "buf.h"
#include "macro.h"

const char *tc_state_dir(void);
char *tc_kubeconfig(void);

/* Runs kubectl with the given NULL-terminated arguments. Returns its exit status (>= 0) or a negative
 * errno when it could not be run. stdout goes to out when out is not NULL; stderr is inherited. */
int tc_kubectl(struct buf *out, ...) _sentinel_;

char *tc_namespace_new(const char *prefix);
int tc_namespace_delete(const char *name);

extern char *tc_ns;
void tc_ns_setup(void);
void tc_ns_teardown(void);

struct kube_config *tc_config(void);
struct kube_client *tc_client(void);
