/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The front proxy's trust settings as kube-apiserver publishes them for aggregated servers: ConfigMap
 * kube-system/extension-apiserver-authentication, keys requestheader-client-ca-file (PEM) and
 * requestheader-allowed-names (a JSON array of strings). Read once at start-up, when the flags do not
 * give them (in a cluster, a Deployment cannot mount a ConfigMap of kube-system).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver.h"
#include "jsonutil.h"
#include "kube/pool.h"

int apiserver_load_requestheader(
        const char *kubeconfig, const char *context, char **ret_ca, char ***ret_names, struct merr *err) {
        _cleanup_(kube_pool_freep) struct kube_pool *pool = NULL;
        struct kube_client *c = NULL;
        _cleanup_json_ json_object *cm = NULL, *names = NULL;
        const char *ca = NULL, *names_json = NULL;
        struct kube_resource r = {.version = "v1",
                .resource = "configmaps",
                .namespace = "kube-system",
                .name = "extension-apiserver-authentication"};
        int rc = kube_pool_new(kubeconfig, context, 1, &pool, err);
        if (rc >= 0)
                rc = kube_pool_get(pool, &c, err);
        if (rc >= 0) {
                rc = kube_get(c, &r, &cm, err);
                kube_pool_put(pool, c);
        }
        if (rc < 0)
                return merr_wrap(err, rc, "reading kube-system/extension-apiserver-authentication");
        json_get_string(cm, "data.requestheader-client-ca-file", JSON_OPTIONAL, &ca, NULL);
        json_get_string(cm, "data.requestheader-allowed-names", JSON_OPTIONAL, &names_json, NULL);
        if (!ca || !*ca)
                return merr_set(err, -ENOENT,
                        "kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: "
                        "kube-apiserver runs without --requestheader-client-ca-file");
        size_t n = 0;
        if (names_json && *names_json) {
                names = json_tokener_parse(names_json);
                if (!names || !json_object_is_type(names, json_type_array))
                        return merr_set(
                                err, -EINVAL, "requestheader-allowed-names is not a JSON array of strings");
                n = json_object_array_length(names);
        }
        char **list = calloc(n + 1, sizeof(char *)), *ca_copy = strdup(ca);
        bool ok = list && ca_copy;
        for (size_t i = 0; ok && i < n; i++) {
                const char *v = json_object_get_string(json_object_array_get_idx(names, i));
                ok = v && (list[i] = strdup(v));
        }
        if (!ok) {
                for (size_t i = 0; list && list[i]; i++)
                        free(list[i]);
                free(list);
                free(ca_copy);
                return merr_set(err, -ENOMEM, "reading the requestheader settings");
        }
        *ret_ca = ca_copy;
        *ret_names = list;
        return 0;
}
