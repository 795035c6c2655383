/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The projects, from an informer on mbox.dev Projects: what a request takes from a project (a session's
 * limits) costs a lookup here rather than a request to kube-apiserver. The cache follows the projects
 * within a watch event's time; a project it does not have yet is read from kube-apiserver.
 */
#include <errno.h>

#include "api/project.h"
#include "apiserver/internal.h"
#include "kube/config.h"
#include "kube/informer.h"

int api_projects_new(struct apiserver *s, struct merr *err) {
        static const struct kube_resource rs = {
                .group = "mbox.dev", .version = "v1alpha1", .resource = "projects"};
        const struct apiserver_options *o = &s->opt;
        struct kube_config *cfg = NULL;
        int r = o->kubeconfig ? kube_config_load(o->kubeconfig, o->context, &cfg, err)
                              : kube_config_default(o->context, &cfg, err);
        if (r >= 0)
                r = informer_new(cfg, &rs, &(struct informer_options){0}, &(struct informer_handlers){0},
                        &s->projects, err);
        return r;
}

int api_projects_start(struct apiserver *s, struct merr *err) {
        return s->projects ? informer_start(s->projects, err) : 0;
}

void api_projects_free(struct apiserver *s) {
        informer_free(s->projects);
        s->projects = NULL;
}

int api_project_get(struct apiserver *s, const char *name, struct project **ret, struct merr *err) {
        struct kube_client *kc = NULL;
        struct kube_resource rs = {
                .group = "mbox.dev", .version = "v1alpha1", .resource = "projects", .name = name};
        json_object *obj = s->projects ? informer_get(s->projects, name) : NULL;
        int r = 0;
        if (!obj && (r = kube_pool_get(s->clients, &kc, err)) >= 0) {
                r = kube_get(kc, &rs, &obj, err);
                kube_pool_put(s->clients, kc);
        }
        if (r >= 0)
                r = project_from_json(obj, ret, err);
        json_object_put(obj);
        return r;
}
