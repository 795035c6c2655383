/* SPDX-License-Identifier: Apache-2.0 */
/* Kubeconfig loading and merging, inline and file certificates, tokens, in-cluster config, and the one clear
 * error each malformed kubeconfig gives. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "jsonutil.h"
#include "kube/config.h"
#include "testutil.h"

/* A self-signed P-256 certificate with its key, and an unrelated key. */
static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIBdDCCARugAwIBAgIURzoeyKqMItZz8So9rEcxhQcBrRgwCgYIKoZIzj0EAwIw\n"
                               "DzENMAsGA1UEAwwEdGVzdDAgFw0yNjExMjYwNjE4NTJaGA8yMTI2MTEwMjA2MTg1\n"
                               "MlowDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABL9d\n"
                               "UoJpjEdLBUea7kaeBX4x2HdMbxqqZEAI4SgCKz/X0KJw30xRuVF2RhYw6XKB/sgT\n"
                               "M+kpNTLjQPXyjxdx9e+jUzBRMB0GA1UdDgQWBBQy735jyEZ98388PDErGxouW5ap\n"
                               "ZDAfBgNVHSMEGDAWgBQy735jyEZ98388PDErGxouW5apZDAPBgNVHRMBAf8EBTAD\n"
                               "AQH/MAoGCCqGSM49BAMCA0cAMEQCIFIZ2szgQrrwJ7JGLy5BZ57CEG+WO2cYoa6S\n"
                               "Fij5rwZXAiAdoIerS13dmFy8XxbSwFcVEgVHzVxnS3z+ElqK/hcEkg==\n"
                               "-----END CERTIFICATE-----\n";
static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHrC5T2MFnypGQhDD\n"
                              "3ZC1MJKUzBIQ48+cDm6SEF+GvfWhRANCAAS/XVKCaYxHSwVHmu5GngV+Mdh3TG8a\n"
                              "qmRACOEoAis/19CicN9MUblRdkYWMOlygf7IEzPpKTUy40D18o8XcfXv\n"
                              "-----END PRIVATE KEY-----\n";
static const char other_key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                                    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSJMf0UYS+MsFdkfr\n"
                                    "fr3e8v2NvVudHEQdtoAlPsWMjKuhRANCAARKHFOcBBsdChjSxOrU24gCfk5M4Th/\n"
                                    "ZqIsO7YJl3EIad82wMw2FlwJvvBGx3/AOd3KEaECWVqnggkRsgQjcswK\n"
                                    "-----END PRIVATE KEY-----\n";

static char *b64(const char *s) {
        size_t n = strlen(s);
        char *out = malloc(4 * ((n + 2) / 3) + 1);

        ck_assert_ptr_nonnull(out);
        EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s, (int) n);
        return out;
}

static char *dir;

static void setup(void) {
        dir = strdup("/tmp/kube-config-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", dir), 0);
        (void) !system(cmd);
        free(dir);
}

/* Writes dir/name (creating one level of subdirectory) and returns its path. */
static char *put(const char *name, const char *content) {
        char *p = NULL;
        const char *slash = strchr(name, '/');
        FILE *f;

        if (slash) {
                _cleanup_free_ char *sub = NULL;

                ck_assert_int_ge(asprintf(&sub, "%s/%.*s", dir, (int) (slash - name), name), 0);
                (void) mkdir(sub, 0700);
        }
        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
        return p;
}

static struct kube_config *load_mem(const char *yaml, const char *context) {
        struct kube_config *c = NULL;
        struct merr e = MERR_INIT;

        ck_assert_msg(kube_config_load_data(yaml, strlen(yaml), "mem", NULL, context, &c, &e) == 0, "%s",
                merr_msg(&e));
        return c;
}

START_TEST(test_base64) {
        struct kube_blob b;

        ck_assert_int_eq(kube_base64_decode("aGVsbG8=", 8, &b), 0);
        ck_assert_uint_eq(b.len, 5);
        ck_assert_str_eq((char *) b.data, "hello");
        free(b.data);
        ck_assert_int_eq(kube_base64_decode("aGVs\nbG8h\r\n", 11, &b), 0);
        ck_assert_str_eq((char *) b.data, "hello!");
        free(b.data);
        ck_assert_int_eq(kube_base64_decode("", 0, &b), 0);
        ck_assert_uint_eq(b.len, 0);
        free(b.data);
        ck_assert_int_eq(kube_base64_decode("aGVsbG8", 7, &b), -EINVAL);  /* padding missing */
        ck_assert_int_eq(kube_base64_decode("aGV$bG8=", 8, &b), -EINVAL); /* not base64 */
        ck_assert_int_eq(kube_base64_decode("aG=sbG8=", 8, &b), -EINVAL); /* data after padding */
        ck_assert_int_eq(kube_base64_decode("a===", 4, &b), -EINVAL);
        ck_assert_int_eq(kube_base64_decode("aGVsbG8=aGVs", 12, &b), -EINVAL);
}
END_TEST

START_TEST(test_inline_data) {
        _cleanup_free_ char *ca = b64(cert_pem), *crt = b64(cert_pem), *key = b64(key_pem), *y = NULL;
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;

        ck_assert_int_ge(
                asprintf(&y,
                        "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
                        "clusters:\n- name: k\n  cluster:\n    server: https://k.example:6443/\n"
                        "    certificate-authority-data: %s\n"
                        "users:\n- name: admin\n  user:\n    client-certificate-data: %s\n"
                        "    client-key-data: %s\n"
                        "contexts:\n- name: dev\n  context: {cluster: k, user: admin, namespace: team}\n",
                        ca, crt, key),
                0);
        c = load_mem(y, NULL);
        ck_assert_str_eq(c->server, "https://k.example:6443");
        ck_assert_str_eq(c->namespace, "team");
        ck_assert_str_eq(c->context, "dev");
        ck_assert_str_eq(c->source, "kubeconfig 'mem'");
        ck_assert_uint_eq(c->ca.len, strlen(cert_pem));
        ck_assert_str_eq((char *) c->ca.data, cert_pem);
        ck_assert_str_eq((char *) c->cert.data, cert_pem);
        ck_assert_str_eq((char *) c->key.data, key_pem);
        ck_assert(!c->insecure);
        ck_assert_ptr_null(c->token);
}
END_TEST

START_TEST(test_file_certs_relative_paths) {
        _cleanup_free_ char *p = NULL, *a = put("pki/ca.crt", cert_pem), *b = put("pki/admin.crt", cert_pem),
                            *k = put("pki/admin.key", key_pem);
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct merr e = MERR_INIT;

        p = put("config",
                "clusters:\n- name: k\n  cluster:\n    server: http://127.0.0.1:8080\n"
                "    certificate-authority: pki/ca.crt\n"
                "users:\n- name: admin\n  user:\n    client-certificate: pki/admin.crt\n"
                "    client-key: pki/admin.key\n"
                "contexts:\n- name: dev\n  context: {cluster: k, user: admin}\ncurrent-context: dev\n");
        ck_assert_msg(kube_config_load(p, NULL, &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "http://127.0.0.1:8080");
        ck_assert_str_eq(c->namespace, "default");
        ck_assert_str_eq((char *) c->ca.data, cert_pem);
        ck_assert_str_eq((char *) c->cert.data, cert_pem);
        ck_assert_str_eq((char *) c->key.data, key_pem);
        c = kube_config_free(c);

        /* the file the reference names is missing: the error names the field and the resolved path */
        ck_assert_int_eq(unlink(k), 0);
        ck_assert_int_eq(kube_config_load(p, NULL, &c, &e), -ENOENT);
        ck_assert_ptr_null(c);
        ck_assert_msg(strstr(e.msg, "users[0].user.client-key: cannot read '") && strstr(e.msg, k) &&
                              strstr(e.msg, "No such file or directory"),
                "%s", e.msg);
        (void) a;
        (void) b;
}
END_TEST

START_TEST(test_merge) {
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *paths = NULL, *tok = put("second/token", "from-file\n");
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct merr e = MERR_INIT;

        p1 = put("first", "current-context: one\n"
                          "clusters:\n- name: shared\n  cluster: {server: 'https://first:1'}\n"
                          "users:\n- name: u\n  user: {token: first-token}\n"
                          "contexts:\n- name: one\n  context: {cluster: shared, user: u}\n");
        p2 = put("second/config", "current-context: two\n"
                                  "clusters:\n- name: shared\n  cluster: {server: 'https://second:2'}\n"
                                  "- name: own\n  cluster: {server: 'https://own:3'}\n"
                                  "users:\n- name: u\n  user: {token: second-token}\n"
                                  "- name: v\n  user: {tokenFile: token}\n"
                                  "contexts:\n- name: one\n  context: {cluster: own}\n"
                                  "- name: two\n  context: {cluster: own, user: v, namespace: ns2}\n"
                                  "- name: mixed\n  context: {cluster: shared, user: v}\n");
        /* empty entries and missing files are skipped */
        ck_assert_int_ge(asprintf(&paths, "%s/missing::%s:%s", dir, p1, p2), 0);
        ck_assert_msg(kube_config_load(paths, NULL, &c, &e) == 0, "%s", merr_msg(&e));
        /* current-context and every name come from the first file that has them */
        ck_assert_str_eq(c->context, "one");
        ck_assert_str_eq(c->server, "https://first:1");
        ck_assert_str_eq(c->token, "first-token");
        c = kube_config_free(c);

        ck_assert_msg(kube_config_load(paths, "two", &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "https://own:3");
        ck_assert_str_eq(c->namespace, "ns2");
        ck_assert_str_eq(c->token, "from-file"); /* relative to the second file's directory */
        c = kube_config_free(c);

        ck_assert_msg(kube_config_load(paths, "mixed", &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "https://first:1");
        c = kube_config_free(c);

        ck_assert_int_eq(kube_config_load(paths, "three", &c, &e), -ENOENT);
        ck_assert_msg(strstr(e.msg, "context 'three' not found") && strstr(e.msg, p2), "%s", e.msg);
        free(paths);
        ck_assert_int_ge(asprintf(&paths, "%s/missing:%s/missing2", dir, dir), 0);
        ck_assert_int_eq(kube_config_load(paths, NULL, &c, &e), -ENOENT);
        ck_assert_msg(strstr(e.msg, "no such file"), "%s", e.msg);
}
END_TEST

START_TEST(test_kubeconfig_env) {
        _cleanup_free_ char *p =
                put("envconfig", "current-context: x\nclusters:\n- name: c\n  cluster: "
                                 "{server: 'https://env:1'}\ncontexts:\n- name: x\n  context: "
                                 "{cluster: c}\n");
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(setenv("KUBECONFIG", p, 1), 0);
        ck_assert_msg(kube_config_load(NULL, NULL, &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "https://env:1");
        c = kube_config_free(c);
        ck_assert_msg(kube_config_default(NULL, &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "https://env:1");
        ck_assert_int_eq(unsetenv("KUBECONFIG"), 0);
}
END_TEST

START_TEST(test_tokens) {
        _cleanup_free_ char *tf = put("tok", "  one\n"), *p = NULL;
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct merr e = MERR_INIT;
        struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
        const char *t;

        c = load_mem("current-context: x\nclusters:\n- name: c\n  cluster: {server: 'https://a:1', "
                     "insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: abc}\n"
                     "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
                NULL);
        ck_assert(c->insecure);
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "abc");
        c = kube_config_free(c);

        /* tokenFile wins over token, and is re-read when it changes */
        p = put("config", "current-context: x\nclusters:\n- name: c\n  cluster: {server: 'https://a:1'}\n"
                          "users:\n- name: u\n  user: {token: inline, tokenFile: tok}\n"
                          "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
        ck_assert_msg(kube_config_load(p, NULL, &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "one");
        free(put("tok", "two\n"));
        ck_assert_int_eq(utimensat(AT_FDCWD, tf, ts, 0), 0);
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "one"); /* checked less than a minute ago */
        c->token_checked -= 61;
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "two");
        /* a failed re-read keeps the old token and reports why */
        ck_assert_int_eq(unlink(tf), 0);
        c->token_checked -= 61;
        ck_assert_int_eq(kube_config_token(c, &t, &e), -ENOENT);
        ck_assert_str_eq(t, "two");
        ck_assert_msg(strstr(e.msg, tf), "%s", e.msg);
}
END_TEST

START_TEST(test_context_override_and_current) {
        const char *y = "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://a:1'}\n"
                        "- name: d\n  cluster: {server: 'https://b:2'}\n"
                        "contexts:\n- name: a\n  context: {cluster: c}\n- name: b\n  context: {cluster: d}\n";
        _cleanup_(kube_config_freep) struct kube_config *c = load_mem(y, NULL), *d = load_mem(y, "b");
        struct kube_config *none = NULL;
        struct merr e = MERR_INIT;
        const char *noctx = "clusters:\n- name: c\n  cluster: {server: 'https://a:1'}\n";

        ck_assert_str_eq(c->server, "https://a:1");
        ck_assert_str_eq(d->server, "https://b:2");
        ck_assert_str_eq(d->context, "b");
        ck_assert_int_eq(kube_config_load_data(noctx, strlen(noctx), "mem", NULL, NULL, &none, &e), -ENOENT);
        ck_assert_str_eq(e.msg, "kubeconfig 'mem': current-context is not set");
        ck_assert_int_eq(kube_config_load_data("", 0, "mem", NULL, NULL, &none, &e), -ENOENT);
        ck_assert_ptr_null(none);
}
END_TEST

struct bad {
        const char *yaml;
        int code;
        const char *msg; /* exact message, or a part of it when it starts with '~' */
};

#define HEAD    "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
#define CLUSTER "clusters:\n- name: c\n  cluster: {server: 'https://a:1'}\n"

START_TEST(test_malformed) {
        _cleanup_free_ char *crt = b64(cert_pem), *key = b64(key_pem), *other = b64(other_key_pem);
        _cleanup_free_ char *mismatch = NULL, *notpem = b64("hello"), *badca = NULL, *notkey = NULL;

        ck_assert_int_ge(asprintf(&mismatch,
                                 HEAD CLUSTER "users:\n- name: u\n  user: {client-certificate-data: %s, "
                                              "client-key-data: %s}\n",
                                 crt, other),
                0);
        ck_assert_int_ge(asprintf(&badca,
                                 HEAD "clusters:\n- name: c\n  cluster: {server: 'https://a', "
                                      "certificate-authority-data: %s}\n",
                                 notpem),
                0);
        ck_assert_int_ge(asprintf(&notkey,
                                 HEAD CLUSTER "users:\n- name: u\n  user: {client-certificate-data: %s, "
                                              "client-key-data: %s}\n",
                                 crt, crt),
                0);
        const struct bad cases[] = {
                {"- a\n- b\n", -EINVAL, "kubeconfig 'mem': expected a mapping at the top, got array"},
                {"clusters: {}\n", -EINVAL, "kubeconfig 'mem': field 'clusters': expected array, got object"},
                {"clusters:\n- cluster: {}\n", -ENOENT,
                        "kubeconfig 'mem': field 'clusters[0].name': required value is missing"},
                {"users:\n- 7\n", -EINVAL,
                        "kubeconfig 'mem': field 'users[0]': expected object, got integer"},
                {"current-context: [a]\n", -EINVAL,
                        "kubeconfig 'mem': field 'current-context': expected string, got array"},
                {"clusters:\n- name: c\n  cluster: {server: x\n", -EINVAL, "~kubeconfig 'mem': line "},
                {"a: 1\n---\nb: 2\n", -EINVAL, "kubeconfig 'mem': holds 2 documents, expected one"},
                {HEAD "clusters:\n- name: other\n  cluster: {server: 'https://a:1'}\n", -ENOENT,
                        "kubeconfig 'mem': contexts[0].context.cluster: cluster 'c' not found"},
                {HEAD CLUSTER, -ENOENT, "kubeconfig 'mem': contexts[0].context.user: user 'u' not found"},
                {HEAD "clusters:\n- name: c\n  cluster: {}\n", -ENOENT,
                        "kubeconfig 'mem': field 'clusters[0].cluster.server': required value is missing"},
                {HEAD "clusters:\n- name: c\n  cluster: {server: 'ftp://a'}\n", -EINVAL,
                        "kubeconfig 'mem': clusters[0].cluster.server: 'ftp://a' is not an http or https "
                        "URL"},
                {HEAD "clusters:\n- name: c\n  cluster: {server: ''}\n", -EINVAL,
                        "kubeconfig 'mem': clusters[0].cluster.server: must not be empty"},
                {HEAD "clusters:\n- name: c\n  cluster: {server: 'https://a', insecure-skip-tls-verify: "
                      "yes}\n",
                        -EINVAL,
                        "kubeconfig 'mem': field 'clusters[0].cluster.insecure-skip-tls-verify': expected "
                        "boolean, got string"},
                {HEAD "clusters:\n- name: c\n  cluster: {server: 'https://a', certificate-authority-data: "
                      "'%%%'}\n",
                        -EINVAL,
                        "kubeconfig 'mem': clusters[0].cluster.certificate-authority-data: invalid base64"},
                {badca, -EINVAL,
                        "kubeconfig 'mem': clusters[0].cluster.certificate-authority-data: not a PEM "
                        "certificate"},
                {HEAD "clusters:\n- name: c\n  cluster: {server: 'https://a', certificate-authority: "
                      "/x/ca}\n",
                        -EPERM,
                        "kubeconfig 'mem': clusters[0].cluster.certificate-authority: file references are "
                        "not allowed here"},
                {HEAD "clusters:\n- name: c\n  cluster: {server: 'https://a', certificate-authority: ca}\n",
                        -EPERM,
                        "kubeconfig 'mem': clusters[0].cluster.certificate-authority: file references are "
                        "not "
                        "allowed here"},
                {HEAD CLUSTER "users:\n- name: u\n  user: {client-key-data: '!!'}\n", -EINVAL,
                        "kubeconfig 'mem': users[0].user.client-key-data: invalid base64"},
                {mismatch, -EINVAL,
                        "kubeconfig 'mem': users[0].user: client-key does not match client-certificate"},
                {notkey, -EINVAL,
                        "kubeconfig 'mem': users[0].user.client-key-data: not an unencrypted PEM private "
                        "key"},
                {HEAD CLUSTER "users:\n- name: u\n  user:\n    exec: {apiVersion: "
                              "client.authentication.k8s.io/v1, command: aws, interactiveMode: Never}\n",
                        -EPERM,
                        "kubeconfig 'mem': users[0].user.exec: credential plugins are not run for this "
                        "kubeconfig"},
                {HEAD CLUSTER "users:\n- name: u\n  user:\n    exec: {apiVersion: "
                              "client.authentication.k8s.io/v1alpha1, command: aws}\n",
                        -EOPNOTSUPP,
                        "~users[0].user.exec.apiVersion: 'client.authentication.k8s.io/v1alpha1' is "
                        "not supported"},
                {HEAD CLUSTER "users:\n- name: u\n  user:\n    exec: {apiVersion: "
                              "client.authentication.k8s.io/v1, command: aws}\n",
                        -EINVAL,
                        "~users[0].user.exec.interactiveMode: must be set for "
                        "client.authentication.k8s.io/v1"},
                {HEAD CLUSTER "users:\n- name: u\n  user:\n    exec: {apiVersion: "
                              "client.authentication.k8s.io/v1, command: aws, interactiveMode: Always}\n",
                        -EOPNOTSUPP, "~interactiveMode: 'Always' needs a terminal"},
                {HEAD CLUSTER "users:\n- name: u\n  user:\n    token: t\n    exec: {apiVersion: "
                              "client.authentication.k8s.io/v1beta1, command: aws}\n",
                        -EINVAL, "~exec and token or tokenFile are mutually exclusive"},
                {HEAD CLUSTER "users:\n- name: u\n  user: {username: a, password: b}\n", -EOPNOTSUPP,
                        "kubeconfig 'mem': users[0].user.username: basic authentication is not supported"},
                {HEAD CLUSTER "users:\n- name: u\n  user: {token: 5}\n", -EINVAL,
                        "kubeconfig 'mem': field 'users[0].user.token': expected string, got integer"},
        };
        struct kube_config *c = NULL;
        struct merr e = MERR_INIT;

        (void) key;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                const struct bad *b = &cases[i];
                int r;

                merr_clear(&e);
                r = kube_config_load_data(b->yaml, strlen(b->yaml), "mem", NULL, NULL, &c, &e);
                ck_assert_msg(r == b->code, "case %zu: got %d (%s), want %d", i, r, e.msg, b->code);
                ck_assert_ptr_null(c);
                ck_assert_int_eq(e.code, r);
                if (b->msg[0] == '~')
                        ck_assert_msg(
                                strstr(e.msg, b->msg + 1), "case %zu: '%s' lacks '%s'", i, e.msg, b->msg + 1);
                else
                        ck_assert_msg(strcmp(e.msg, b->msg) == 0, "case %zu: '%s' != '%s'", i, e.msg, b->msg);
        }
}
END_TEST

START_TEST(test_missing_key_or_cert) {
        _cleanup_free_ char *crt = b64(cert_pem), *y = NULL;
        struct kube_config *c = NULL;
        struct merr e = MERR_INIT;

        ck_assert_int_ge(
                asprintf(&y, HEAD CLUSTER "users:\n- name: u\n  user: {client-certificate-data: %s}\n", crt),
                0);
        ck_assert_int_eq(kube_config_load_data(y, strlen(y), "mem", NULL, NULL, &c, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "kubeconfig 'mem': users[0].user: client-certificate without client-key");
}
END_TEST

/* ---- exec credential plugins */

/* Writes an executable shell script into the test directory and returns its path. */
static char *put_plugin(const char *name, const char *body) {
        _cleanup_free_ char *script = NULL;
        char *p;

        ck_assert_int_ge(asprintf(&script, "#!/bin/sh\n%s", body), 0);
        p = put(name, script);
        ck_assert_int_eq(chmod(p, 0700), 0);
        return p;
}

static char *slurp(const char *name) {
        _cleanup_free_ char *p = NULL;
        char *buf = calloc(1, 65536);
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "re");
        ck_assert_msg(f != NULL, "%s", p);
        (void) !fread(buf, 1, 65535, f);
        fclose(f);
        return buf;
}

static int load_exec_user(const char *user_yaml, struct kube_config **ret, struct merr *e) {
        _cleanup_free_ char *yaml = NULL, *p = NULL;

        ck_assert_int_ge(
                asprintf(&yaml,
                        "current-context: x\nclusters:\n- name: c\n  cluster: {server: 'https://a:1', "
                        "certificate-authority-data: '%s'}\nusers:\n- name: u\n  user:\n%s"
                        "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
                        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkRENDQVJ1Z0F3SUJBZ0lVUnpvZXlLcU1JdFp6OFNv"
                        "OXJFY3hoUWNCclJnd0NnWUlLb1pJemowRUF3SXcKRHpFTk1Bc0dBMVVFQXd3RWRHVnpkREFnRncweU5qRXhN"
                        "all3TmpFNE5USmFHQTh5TVRJMk1URXdNakEyTVRnMQpNbG93RHpFTk1Bc0dBMVVFQXd3RWRHVnpkREJaTUJN"
                        "R0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEEwSUFCTDlkClVvSnBqRWRMQlVlYTdrYWVCWDR4MkhkTWJ4cXFa"
                        "RUFJNFNnQ0t6L1gwS0p3MzB4UnVWRjJSaFl3NlhLQi9zZ1QKTStrcE5UTGpRUFh5anhkeDllK2pVekJSTUIw"
                        "R0ExVWREZ1FXQkJReTczNWp5RVo5ODM4OFBERXJHeG91VzVhcApaREFmQmdOVkhTTUVHREFXZ0JReTczNWp5"
                        "RVo5ODM4OFBERXJHeG91VzVhcFpEQVBCZ05WSFJNQkFmOEVCVEFECkFRSC9NQW9HQ0NxR1NNNDlCQU1DQTBj"
                        "QU1FUUNJRklaMnN6Z1FycndKN0pHTHk1Qlo1N0NFRytXTzJjWW9hNlMKRmlqNXJ3WlhBaUFkb0llclMxM2Rt"
                        "Rnk4WHhiU3dGY1ZFZ1ZIelZ4blMzeitFbHFLL2hjRWtnPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo"
                        "=",
                        user_yaml),
                0);
        p = put("config", yaml);
        return kube_config_load(p, NULL, ret, e);
}

START_TEST(test_exec_plugin_token_args_env_and_info) {
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        _cleanup_free_ char *args = NULL, *info = NULL, *env = NULL;
        struct merr e = MERR_INIT;
        const char *t;

        free(put_plugin("bin/plugin",
                "d=$(dirname \"$0\")\nprintf '%s|' \"$@\" >\"$d/../args\"\n"
                "printf '%s' \"$KUBERNETES_EXEC_INFO\" >\"$d/../info\"\n"
                "printf '%s %s' \"$GREETING\" \"$(cat)\" >\"$d/../env\"\n"
                "echo run >>\"$d/../runs\"\n"
                "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                "\"status\":{\"token\":\"tok-'$(wc -l <\"$d/../runs\")'\","
                "\"expirationTimestamp\":\"2999-01-01T00:00:00Z\"}}'\n"));
        ck_assert_msg(
                load_exec_user("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                               "      command: ./bin/plugin\n      args: [get-token, --cluster, 'a b']\n"
                               "      env: [{name: GREETING, value: hello}]\n"
                               "      interactiveMode: IfAvailable\n      provideClusterInfo: true\n",
                        &c, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_ptr_nonnull(c->exec);
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "tok-1");
        ck_assert_int_eq(c->exec_expiry, 32472144000); /* 2999-01-01 */
        /* relative to the kubeconfig's directory, with its args, env and an empty stdin */
        args = slurp("args");
        ck_assert_str_eq(args, "get-token|--cluster|a b|");
        env = slurp("env");
        ck_assert_str_eq(env, "hello ");
        info = slurp("info");
        ck_assert_msg(strstr(info, "\"apiVersion\":\"client.authentication.k8s.io/v1\"") &&
                              strstr(info, "\"kind\":\"ExecCredential\"") &&
                              strstr(info, "\"interactive\":false") &&
                              strstr(info, "\"server\":\"https://a:1\"") &&
                              strstr(info, "\"certificate-authority-data\":\"LS0t"),
                "%s", info);
        /* cached until it expires */
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "tok-1");
        c->exec_expiry = time(NULL) - 1;
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_str_eq(t, "tok-2");
}
END_TEST

START_TEST(test_exec_plugin_expired_and_failing) {
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct merr e = MERR_INIT;
        const char *t;

        /* first run: a token that has already expired; later runs fail with a message on stderr */
        free(put_plugin("plugin", "d=$(dirname \"$0\")\nif [ -e \"$d/ran\" ]; then echo 'token service down' "
                                  ">&2; echo more >&2; exit 3; fi\n: >\"$d/ran\"\n"
                                  "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
                                  "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"old\","
                                  "\"expirationTimestamp\":\"2001-01-01T00:00:00Z\"}}'\n"));
        ck_assert_msg(load_exec_user("    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: "
                                     "./plugin}\n",
                              &c, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_str_eq(c->token, "old");
        /* expired: the plugin runs again, fails, and the expired token is dropped */
        ck_assert_int_eq(kube_config_token(c, &t, &e), -EIO);
        ck_assert_ptr_null(t);
        ck_assert_msg(strstr(e.msg, "users[0].user.exec: credential plugin './plugin' exited with status 3: "
                                    "'token service down'"),
                "%s", e.msg);
}
END_TEST

START_TEST(test_exec_plugin_client_certificate) {
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        _cleanup_json_ json_object *o = json_object_new_object(), *st = json_object_new_object();
        struct merr e = MERR_INIT;
        const char *t;

        json_object_object_add(o, "apiVersion", json_object_new_string("client.authentication.k8s.io/v1"));
        json_object_object_add(o, "kind", json_object_new_string("ExecCredential"));
        json_object_object_add(st, "clientCertificateData", json_object_new_string(cert_pem));
        json_object_object_add(st, "clientKeyData", json_object_new_string(key_pem));
        json_object_object_add(o, "status", json_object_get(st));
        free(put("cred.json", json_object_to_json_string(o)));
        free(put_plugin("plugin", "cat \"$(dirname \"$0\")/cred.json\"\n"));
        ck_assert_msg(load_exec_user("    exec: {apiVersion: client.authentication.k8s.io/v1, command: "
                                     "./plugin, interactiveMode: Never}\n",
                              &c, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_str_eq((const char *) c->cert.data, cert_pem);
        ck_assert_str_eq((const char *) c->key.data, key_pem);
        ck_assert_int_eq(c->exec_expiry, 0);
        ck_assert_int_eq(kube_config_token(c, &t, &e), 0);
        ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_exec_plugin_errors_name_the_plugin) {
        static const struct {
                const char *body; /* NULL: no such command */
                int code;
                const char *msg;
        } cases[] = {
                {"echo 'not json'\n", -EINVAL, "credential plugin './plugin': output is not JSON"},
                {"echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"Other\"}'\n", -EINVAL,
                        "credential plugin './plugin': output: kind 'Other' is not 'ExecCredential'"},
                {"echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"token\":\"x\"}}'\n",
                        -EINVAL,
                        "output: apiVersion 'client.authentication.k8s.io/v1beta1' is not the "
                        "configured 'client.authentication.k8s.io/v1'"},
                {"echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{}}'\n",
                        -EINVAL, "output: status has neither a token nor clientCertificateData"},
                {"echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"token\":\"x\",\"expirationTimestamp\":\"soon\"}}'\n",
                        -EINVAL, "output: status.expirationTimestamp"},
                {"kill -9 $$\n", -EIO, "credential plugin './plugin' was killed by signal 9"},
                {NULL, -ENOENT,
                        "users[0].user.exec: cannot run credential plugin 'mbox-no-such-plugin': No such "
                        "file "
                        "or directory; install it with: apt install nothing"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct kube_config *c = NULL;
                struct merr e = MERR_INIT;
                int r;

                if (cases[i].body) {
                        free(put_plugin("plugin", cases[i].body));
                        r = load_exec_user("    exec: {apiVersion: client.authentication.k8s.io/v1, command: "
                                           "./plugin, interactiveMode: Never}\n",
                                &c, &e);
                } else
                        r = load_exec_user(
                                "    exec: {apiVersion: client.authentication.k8s.io/v1, command: "
                                "mbox-no-such-plugin, interactiveMode: Never, installHint: 'install "
                                "it with: apt install nothing'}\n",
                                &c, &e);
                ck_assert_msg(r == cases[i].code, "case %zu: %d %s", i, r, e.msg);
                ck_assert_ptr_null(c);
                ck_assert_msg(
                        strstr(e.msg, cases[i].msg), "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
                ck_assert_msg(strncmp(e.msg, "kubeconfig '", 12) == 0, "%s", e.msg);
        }
}
END_TEST

START_TEST(test_exec_credential_parse) {
        struct kube_exec_credential cred = {0};
        struct merr e = MERR_INIT;
        const char *ok = "{\"apiVersion\":\"v\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\","
                         "\"expirationTimestamp\":\"1970-01-01T00:00:10Z\"}}";

        ck_assert_int_eq(kube_exec_credential_parse(ok, strlen(ok), "v", &cred, &e), 0);
        ck_assert_str_eq(cred.token, "t");
        ck_assert_int_eq(cred.expiry, 10);
        kube_exec_credential_release(&cred);
        ck_assert_int_eq(kube_exec_credential_parse("[]", 2, "v", &cred, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "output is not an ExecCredential but a JSON array");
        ok = "{\"apiVersion\":\"v\",\"kind\":\"ExecCredential\",\"status\":{\"clientKeyData\":\"k\"}}";
        ck_assert_int_eq(kube_exec_credential_parse(ok, strlen(ok), "v", &cred, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "output: status.clientKeyData without status.clientCertificateData");
        ok = "{\"apiVersion\":\"v\",\"kind\":\"ExecCredential\",\"status\":{\"clientKeyData\":\"k\","
             "\"clientCertificateData\":\"c\"}}";
        ck_assert_int_eq(kube_exec_credential_parse(ok, strlen(ok), "v", &cred, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "output: status.clientCertificateData is not a PEM certificate");
}
END_TEST

START_TEST(test_in_cluster) {
        _cleanup_free_ char *t = put("var/run", ""), *root = NULL, *cmd = NULL;
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct merr e = MERR_INIT;
        const char *sa = "var/run/secrets/kubernetes.io/serviceaccount";
        FILE *f;

        (void) t;
        ck_assert_int_ge(asprintf(&cmd, "rm -f '%s/var/run' && mkdir -p '%s/%s'", dir, dir, sa), 0);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_ge(asprintf(&root, "%s/", dir), 0);
        ck_assert_int_eq(unsetenv("KUBERNETES_SERVICE_HOST"), 0);
        ck_assert_int_eq(kube_config_in_cluster(root, &c, &e), -ENXIO);
        ck_assert_msg(strstr(e.msg, "KUBERNETES_SERVICE_HOST"), "%s", e.msg);
        ck_assert_int_eq(setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1), 0);
        ck_assert_int_eq(setenv("KUBERNETES_SERVICE_PORT", "443", 1), 0);
        ck_assert_int_eq(kube_config_in_cluster(root, &c, &e), -ENOENT);
        ck_assert_msg(strstr(e.msg, "serviceaccount/token"), "%s", e.msg);
        {
                _cleanup_free_ char *p = NULL;

                ck_assert_int_ge(asprintf(&p, "%s/%s/token", dir, sa), 0);
                f = fopen(p, "we");
                fputs("sa-token\n", f);
                fclose(f);
                free(p);
                ck_assert_int_ge(asprintf(&p, "%s/%s/ca.crt", dir, sa), 0);
                f = fopen(p, "we");
                fputs(cert_pem, f);
                fclose(f);
        }
        ck_assert_msg(kube_config_in_cluster(root, &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "https://10.96.0.1:443");
        ck_assert_str_eq(c->token, "sa-token");
        ck_assert_str_eq(c->namespace, "default");
        ck_assert_str_eq((char *) c->ca.data, cert_pem);
        c = kube_config_free(c);
        {
                _cleanup_free_ char *p = NULL;

                ck_assert_int_ge(asprintf(&p, "%s/%s/namespace", dir, sa), 0);
                f = fopen(p, "we");
                fputs("team-a", f);
                fclose(f);
        }
        ck_assert_int_eq(setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1), 0);
        ck_assert_msg(kube_config_in_cluster(root, &c, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(c->server, "https://[fd00::1]:443");
        ck_assert_str_eq(c->namespace, "team-a");
        ck_assert_str_eq(c->token_file + strlen(root), "var/run/secrets/kubernetes.io/serviceaccount/token");
        ck_assert_int_eq(unsetenv("KUBERNETES_SERVICE_HOST"), 0);
        ck_assert_int_eq(unsetenv("KUBERNETES_SERVICE_PORT"), 0);
}
END_TEST

static Suite *kube_config_suite(void) {
        Suite *s = suite_create("kube-config");
        TCase *tc = tcase_create("config");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_base64);
        tcase_add_test(tc, test_inline_data);
        tcase_add_test(tc, test_file_certs_relative_paths);
        tcase_add_test(tc, test_merge);
        tcase_add_test(tc, test_kubeconfig_env);
        tcase_add_test(tc, test_tokens);
        tcase_add_test(tc, test_context_override_and_current);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_missing_key_or_cert);
        tcase_add_test(tc, test_in_cluster);
        tcase_add_test(tc, test_exec_plugin_token_args_env_and_info);
        tcase_add_test(tc, test_exec_plugin_expired_and_failing);
        tcase_add_test(tc, test_exec_plugin_client_certificate);
        tcase_add_test(tc, test_exec_plugin_errors_name_the_plugin);
        tcase_add_test(tc, test_exec_credential_parse);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(kube_config_suite)
