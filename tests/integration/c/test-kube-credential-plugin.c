/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec credential plugins against the real kube-apiserver: a kubeconfig whose user is a shell-script plugin
 * printing the cluster's real client certificate authenticates REST and WebSocket requests; a plugin
 * printing a ServiceAccount token from `kubectl create token` authenticates as that ServiceAccount (its
 * RBAC applies), is run again once its token has expired, and a plugin printing a wrong token is refused
 * with 401.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "jsonutil.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/portforward.h"
#include "testcluster.h"
#include "testutil.h"

static char dir[] = "/tmp/mbox-credplugin-XXXXXX";

static void setup(void) {
        tc_ns_setup();
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", dir), 0);
        (void) !system(cmd);
        memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
        tc_ns_teardown();
}

static void put(const char *name, const char *content, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(p, mode), 0);
}

static char *b64(const struct kube_blob *b) {
        char *out = malloc(4 * ((b->len + 2) / 3) + 1);

        ck_assert_ptr_nonnull(out);
        EVP_EncodeBlock((unsigned char *) out, b->data, (int) b->len);
        return out;
}

/* A kubeconfig for the test cluster whose user is ./plugin (v1), and a client over it. */
static int plugin_client(struct kube_client **ret, struct merr *e) {
        _cleanup_(kube_config_freep) struct kube_config *admin = tc_config();
        _cleanup_free_ char *ca = b64(&admin->ca), *yaml = NULL, *path = NULL;
        struct kube_config *cfg = NULL;
        int r;

        ck_assert_int_ge(
                asprintf(&yaml,
                        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                        "clusters:\n- name: c\n  cluster: {server: '%s', certificate-authority-data: '%s'}\n"
                        "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1,"
                        " command: ./plugin, interactiveMode: Never}\n"
                        "contexts:\n- name: x\n  context: {cluster: c, user: u, namespace: %s}\n",
                        admin->server, ca, tc_ns),
                0);
        put("config", yaml, 0600);
        ck_assert_int_ge(asprintf(&path, "%s/config", dir), 0);
        r = kube_config_load(path, NULL, &cfg, e);
        if (r < 0)
                return r;
        return kube_client_new(cfg, ret, e);
}

static void put_credential(
        const char *token, const struct kube_blob *cert, const struct kube_blob *key, const char *expiry) {
        _cleanup_json_ json_object *o = json_object_new_object(), *st = json_object_new_object();

        json_object_object_add(o, "apiVersion", json_object_new_string("client.authentication.k8s.io/v1"));
        json_object_object_add(o, "kind", json_object_new_string("ExecCredential"));
        if (token)
                json_object_object_add(st, "token", json_object_new_string(token));
        if (cert) {
                json_object_object_add(
                        st, "clientCertificateData", json_object_new_string((const char *) cert->data));
                json_object_object_add(st, "clientKeyData", json_object_new_string((const char *) key->data));
        }
        if (expiry)
                json_object_object_add(st, "expirationTimestamp", json_object_new_string(expiry));
        json_object_object_add(o, "status", json_object_get(st));
        put("cred.json", json_object_to_json_string(o), 0600);
        /* counts its runs, then prints the credential */
        put("plugin", "#!/bin/sh\nd=$(dirname \"$0\")\necho run >>\"$d/runs\"\ncat \"$d/cred.json\"\n", 0700);
}

static int runs(void) {
        _cleanup_free_ char *p = NULL;
        char line[16];
        int n = 0;
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/runs", dir), 0);
        f = fopen(p, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                n++;
        fclose(f);
        return n;
}

START_TEST(test_plugin_client_certificate) {
        _cleanup_(kube_config_freep) struct kube_config *admin = tc_config();
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        struct kube_portforward *pf = NULL;
        struct kube_resource ns = {.version = "v1", .resource = "namespaces", .name = tc_ns};
        _cleanup_json_ json_object *obj = NULL;
        struct merr e = MERR_INIT;

        ck_assert_uint_gt(admin->cert.len, 0);
        put_credential(NULL, &admin->cert, &admin->key, NULL);
        ck_assert_msg(plugin_client(&c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_msg(kube_get(c, &ns, &obj, &e) == 0, "%s", merr_msg(&e));
        /* the WebSocket path takes the plugin's certificate too: an authenticated 404, not a 401 */
        ck_assert_int_eq(kube_portforward_open(c, tc_ns, "no-such-pod", 80, &pf, &e), -ENOENT);
        ck_assert_msg(strstr(e.msg, "404 NotFound") && strstr(e.msg, "no-such-pod"), "%s", e.msg);
        ck_assert_int_eq(runs(), 1);
}
END_TEST

START_TEST(test_plugin_service_account_token) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(buf_release) struct buf token = BUF_INIT(8192);
        _cleanup_json_ json_object *obj = NULL;
        struct kube_resource pods = {.version = "v1", .resource = "pods", .namespace = tc_ns};
        struct kube_resource secrets = {.version = "v1", .resource = "secrets", .namespace = tc_ns};
        struct merr e = MERR_INIT;
        char *nl;

        ck_assert_int_eq(tc_kubectl(NULL, "-n", tc_ns, "create", "serviceaccount", "reader", NULL), 0);
        {
                _cleanup_free_ char *sa = NULL;

                ck_assert_int_ge(asprintf(&sa, "--serviceaccount=%s:reader", tc_ns), 0);
                ck_assert_int_eq(tc_kubectl(NULL, "-n", tc_ns, "create", "rolebinding", "reader-view",
                                         "--clusterrole=view", sa, NULL),
                        0);
        }
        ck_assert_int_eq(tc_kubectl(&token, "-n", tc_ns, "create", "token", "reader", NULL), 0);
        nl = strchr(token.data, '\n');
        if (nl)
                *nl = '\0';

        /* an expired credential: the plugin runs again before each request */
        put_credential(buf_str(&token), NULL, NULL, "2001-01-01T00:00:00Z");
        ck_assert_msg(plugin_client(&c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(runs(), 1);
        ck_assert_msg(kube_list(c, &pods, NULL, &obj, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(runs(), 2);
        /* authenticated as the ServiceAccount: view does not include secrets */
        json_object_put(TAKE_PTR(obj));
        ck_assert_int_eq(kube_list(c, &secrets, NULL, &obj, &e), -EACCES);
        ck_assert_msg(strstr(e.msg, "403 Forbidden") && strstr(e.msg, "reader") && strstr(e.msg, "secrets"), "%s",
                e.msg);
        ck_assert_int_eq(runs(), 3);

        /* a token the API server does not know: 401 */
        c = kube_client_free(c);
        put_credential("not-a-real-token", NULL, NULL, NULL);
        ck_assert_msg(plugin_client(&c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_list(c, &pods, NULL, &obj, &e), -EPERM);
        ck_assert_msg(strstr(e.msg, "401 Unauthorized"), "%s", e.msg);
}
END_TEST

static Suite *plugin_suite(void) {
        Suite *s = suite_create("kube-credential-plugin");
        TCase *tc = tcase_create("plugin");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_plugin_client_certificate);
        tcase_add_test(tc, test_plugin_service_account_token);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(plugin_suite)
