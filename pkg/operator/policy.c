/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The project's policy for what a template brings into its namespace: network egress Allowed only when
 * spec.policy.network.allowInternet, a RuntimeClass only from spec.policy.allowedRuntimeClasses, and env
 * from a Secret only as spec.policy.credentials lists that Secret for that template. Sandboxes are admitted by it (sandbox.c), and a template's warm pool in a namespace
 * keeps no pods the policy would not admit (runtime.c).
 */
#include <stdio.h>
#include <string.h>

#include "api/project.h"
#include "api/template.h"
#include "operator/internal.h"

static bool strv_has(const struct api_strv *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0)
                        return true;
        return false;
}

/* Whether the project's credential boundary lets Secret secret into sandboxes of template tns/tname. */
static bool credential_allowed(
        const struct project *p, const char *ns, const char *secret, const char *tns, const char *tname) {
        for (size_t i = 0; i < p->spec.policy.n_credentials; i++) {
                const struct project_credential *c = &p->spec.policy.credentials[i];
                if (strcmp(c->secret_name, secret) != 0)
                        continue;
                for (size_t j = 0; j < c->n_templates; j++) {
                        const char *rns = c->templates[j].namespace ? c->templates[j].namespace : ns;
                        if (strcmp(c->templates[j].name, tname) == 0 && strcmp(rns, tns) == 0)
                                return true;
                }
        }
        return false;
}

const char *op_policy_problem(const struct project *p, const struct template *t, const char *ns,
        const char *tns, const char *tname, const char **reason, char *buf, size_t size) {
        const char *rc = t->spec.runtime_class_name, *egress = t->spec.network_egress;
        if (egress && strcmp(egress, "Allowed") == 0 && !p->spec.policy.network.allow_internet) {
                *reason = "NetworkEgressNotAllowed";
                snprintf(buf, size,
                        "template %s/%s asks for network.egress Allowed (the public internet), which project "
                        "%s "
                        "does not allow: set the project's spec.policy.network.allowInternet, or use a "
                        "template "
                        "with egress Restricted or Denied",
                        tns, tname, p->meta.name);
                return buf;
        }
        if (rc && !strv_has(&p->spec.policy.allowed_runtime_classes, rc)) {
                *reason = "RuntimeClassNotAllowed";
                snprintf(buf, size,
                        "template %s/%s uses RuntimeClass %s, which project %s does not allow: add it to the "
                        "project's spec.policy.allowedRuntimeClasses or use another template",
                        tns, tname, rc, p->meta.name);
                return buf;
        }
        for (size_t i = 0; i < t->spec.env.n; i++) {
                const struct api_env_var *e = &t->spec.env.items[i];
                if (!e->secret_name || credential_allowed(p, ns, e->secret_name, tns, tname))
                        continue;
                *reason = "CredentialNotAllowed";
                snprintf(buf, size,
                        "template %s/%s takes env %s from Secret %s, which project %s's "
                        "spec.policy.credentials does not allow for this template",
                        tns, tname, e->name, e->secret_name, p->meta.name);
                return buf;
        }
        return NULL;
}
