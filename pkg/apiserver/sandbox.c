/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox behind a request on a running sandbox (artifacts/NAME/content, sandboxes/NAME/exec, terminal,
 * log, files): the mbox.dev Sandbox, read with mbox-apiserver's own client, and its pod while it runs.
 * Callers have authorized the request for the runtime.mbox.dev subresource before; the Sandbox is read
 * only to find where it runs, from the sandbox cache (previews.c) when that has it running.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/internal.h"
#include "jsonutil.h"

/* Fills ret from the Sandbox sb when it runs: 0, or -EAGAIN with its phase (NULL: none yet) in *phase. */
static int running(
        json_object *sb, const char *ns, const char *name, struct api_sandbox *ret, const char **phase) {
        const char *pod = NULL, *tmpl = NULL, *tmpl_ns = NULL;
        *phase = NULL;
        (void) json_get_string(sb, "status.phase", JSON_OPTIONAL, phase, NULL);
        (void) json_get_string(sb, "status.podName", JSON_OPTIONAL, &pod, NULL);
        (void) json_get_string(sb, "status.template.name", JSON_OPTIONAL, &tmpl, NULL);
        (void) json_get_string(sb, "status.template.namespace", JSON_OPTIONAL, &tmpl_ns, NULL);
        if (!*phase || strcmp(*phase, "Running") != 0 || !pod)
                return -EAGAIN;
        snprintf(ret->ns, sizeof(ret->ns), "%s", ns);
        snprintf(ret->name, sizeof(ret->name), "%s", name);
        snprintf(ret->pod, sizeof(ret->pod), "%s", pod);
        snprintf(ret->template_name, sizeof(ret->template_name), "%s", tmpl ? tmpl : "");
        snprintf(ret->template_ns, sizeof(ret->template_ns), "%s", tmpl_ns ? tmpl_ns : ns);
        return 0;
}

/* The sandbox cache answers for a sandbox it has running; anything else (not there yet, not running in
 * it) is read from kube-apiserver, which has the last word. */
int api_sandbox_running(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name,
        struct api_sandbox *ret) {
        struct kube_client *kc = NULL;
        struct merr err = MERR_INIT;
        const char *phase = NULL;
        struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = ns,
                .name = name};
        *ret = (struct api_sandbox){0};
        json_object *sb = api_sandbox_cached(s, ns, name);
        int r = sb ? running(sb, ns, name, ret, &phase) : -ENOENT;
        json_object_put(sb);
        if (r == 0)
                return 0;
        sb = NULL;
        r = kube_pool_get(s->clients, &kc, &err);
        if (r >= 0) {
                r = kube_get(kc, &rs, &sb, &err);
                kube_pool_put(s->clients, kc);
        }
        if (r == -ENOENT) {
                httpd_respond_status(
                        req, 404, "NotFound", "sandbox \"%s\" not found in namespace %s", name, ns);
                return r;
        }
        if (r < 0) {
                httpd_respond_status(
                        req, 503, "ServiceUnavailable", "looking up sandbox %s: %s", name, merr_msg(&err));
                return r;
        }
        r = running(sb, ns, name, ret, &phase);
        if (r < 0)
                httpd_respond_status(req, 409, "Conflict",
                        "sandbox %s is %s: it must be running (spec.state: Running) for this request", name,
                        phase ? phase : "not running yet");
        json_object_put(sb);
        return r;
}
