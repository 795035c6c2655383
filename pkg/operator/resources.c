/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resources the operator watches, reads and writes: where each is served, and which of its objects the
 * informer keeps. Owned children are watched through the managed-by label, so the caches hold only what
 * mbox made; agent-sandbox's Pods and PVCs through its name-hash label, metadata only.
 */
#include "operator/internal.h"

#define MANAGED LABEL_MANAGED_BY "=" OP_FIELD_MANAGER /* only what mbox-operator made */
const struct op_res_info op_res_info[RES__MAX] = {
        [RES_PROJECT] = {"mbox.dev", "v1alpha1", "projects", "Project", false, NULL},
        [RES_TEMPLATE] = {"mbox.dev", "v1alpha1", "environmenttemplates", "EnvironmentTemplate", true, NULL},
        [RES_SANDBOX] = {"mbox.dev", "v1alpha1", "sandboxes", "Sandbox", true, NULL},
        [RES_NAMESPACE] = {"", "v1", "namespaces", "Namespace", false, MANAGED},
        [RES_SERVICEACCOUNT] = {"", "v1", "serviceaccounts", "ServiceAccount", true, MANAGED},
        [RES_NETWORKPOLICY] = {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, MANAGED},
        [RES_RESOURCEQUOTA] = {"", "v1", "resourcequotas", "ResourceQuota", true, MANAGED},
        [RES_LIMITRANGE] = {"", "v1", "limitranges", "LimitRange", true, MANAGED},
        [RES_ROLEBINDING] = {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, MANAGED},
        [RES_AS_TEMPLATE] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxtemplates", "SandboxTemplate",
                true, MANAGED},
        [RES_AS_POOL] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxwarmpools", "SandboxWarmPool", true,
                MANAGED},
        [RES_AS_CLAIM] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxclaims", "SandboxClaim", true,
                MANAGED},
        /* pool Sandboxes and claimed ones carry no label of ours: all of them are watched */
        [RES_AS_SANDBOX] = {"agents.x-k8s.io", "v1beta1", "sandboxes", "Sandbox", true, NULL},
        [RES_TASK] = {"mbox.dev", "v1alpha1", "executiontasks", "ExecutionTask", true, NULL},
        [RES_POD] = {"", "v1", "pods", "Pod", true, AS_NAME_HASH, true},
        [RES_PVC] = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, AS_NAME_HASH, true},
};

struct kube_resource op_resource(enum op_res res, const char *ns, const char *name) {
        const struct op_res_info *i = &op_res_info[res];
        return (struct kube_resource){
                .group = i->group,
                .version = i->version,
                .resource = i->resource,
                .namespace = i->namespaced ? ns : NULL,
                .name = name,
        };
}
