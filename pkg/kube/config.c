/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "jsonutil.h"
#include "timestamp.h"
#include "yaml2json.h"

#define MAX_FILES             64
#define TOKEN_RECHECK_SECONDS 60
#define SA_DIR                "/var/run/secrets/kubernetes.io/serviceaccount"
#define EXEC_TIMEOUT_MS       60000
#define EXEC_STDERR_MAX       4096
#define EXEC_MAX_ARGS         256
#define EXEC_V1               "client.authentication.k8s.io/v1"
#define EXEC_V1BETA1          "client.authentication.k8s.io/v1beta1"

extern char **environ;

/* A user's exec credential plugin, ready to run. */
struct kube_exec_plugin {
        char *where;       /* "kubeconfig '/x/config': users[0].user.exec", for messages */
        char *name;        /* the command as written */
        char *api_version; /* EXEC_V1 or EXEC_V1BETA1 */
        char *install_hint;
        char **argv; /* the resolved command, then args; NULL-terminated */
        char **env;  /* "NAME=value" set on top of the process environment, KUBERNETES_EXEC_INFO last */
        size_t n_env;
};

/* One kubeconfig file (or document) taking part in a merge. */
struct kc_file {
        char *name; /* for messages: the path as given */
        char *dir;  /* for relative references; NULL forbids file references */
        json_object *doc;
};

/* An entry of clusters[], users[] or contexts[]: where it is, for messages. */
struct kc_ref {
        const struct kc_file *file;
        char path[64]; /* "users[3]" */
        json_object *entry;
};

static void blob_free(struct kube_blob *b) {
        if (b->data) {
                OPENSSL_cleanse(b->data, b->len);
                free(b->data);
        }
        *b = (struct kube_blob){0};
}

static void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static void exec_plugin_free(struct kube_exec_plugin *p) {
        if (!p)
                return;
        free(p->where);
        free(p->name);
        free(p->api_version);
        free(p->install_hint);
        strv_free(p->argv);
        for (size_t i = 0; p->env && i < p->n_env; i++) {
                OPENSSL_cleanse(p->env[i], strlen(p->env[i]));
                free(p->env[i]);
        }
        free(p->env);
        free(p);
}

static void token_free(char **t) {
        if (*t) {
                OPENSSL_cleanse(*t, strlen(*t));
                free(*t);
        }
        *t = NULL;
}

void kube_exec_credential_release(struct kube_exec_credential *c) {
        if (!c)
                return;
        token_free(&c->token);
        blob_free(&c->cert);
        blob_free(&c->key);
        c->expiry = 0;
}

struct kube_config *kube_config_free(struct kube_config *c) {
        if (!c)
                return NULL;
        free(c->source);
        free(c->context);
        free(c->server);
        free(c->namespace);
        blob_free(&c->ca);
        blob_free(&c->cert);
        blob_free(&c->key);
        token_free(&c->token);
        free(c->token_file);
        exec_plugin_free(c->exec);
        free(c);
        return NULL;
}

static int b64_value(unsigned char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int kube_base64_decode(const char *s, size_t len, struct kube_blob *ret) {
        unsigned char *out;
        size_t o = 0, n = 0, pad = 0;
        uint32_t acc = 0;

        out = malloc(len / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                int v;

                if (c == '\n' || c == '\r')
                        continue;
                if (c == '=') {
                        pad++;
                        n++;
                        acc <<= 6;
                        if (pad > 2)
                                goto bad;
                } else {
                        v = b64_value(c);
                        if (v < 0 || pad > 0)
                                goto bad;
                        acc = (acc << 6) | (uint32_t) v;
                        n++;
                }
                if (n % 4 == 0) {
                        out[o++] = (unsigned char) (acc >> 16);
                        if (pad < 2)
                                out[o++] = (unsigned char) (acc >> 8);
                        if (pad < 1)
                                out[o++] = (unsigned char) acc;
                        acc = 0;
                }
        }
        if (n % 4 != 0)
                goto bad;
        out[o] = '\0';
        *ret = (struct kube_blob){.data = out, .len = o};
        return 0;
bad:
        OPENSSL_cleanse(out, len / 4 * 3 + 4);
        free(out);
        return -EINVAL;
}

/* Reads a whole regular file of at most max bytes into a NUL-terminated blob. */
static int read_file(const char *path, size_t max, struct kube_blob *ret, struct timespec *ret_mtime) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(max);
        struct stat st;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto out;
        }
        for (;;) {
                char chunk[8192];
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                r = buf_append(&b, chunk, (size_t) n);
                if (r < 0) {
                        r = r == -ENOBUFS ? -EFBIG : r;
                        goto out;
                }
        }
        ret->data = (unsigned char *) buf_detach(&b, &ret->len);
        if (!ret->data)
                r = -ENOMEM;
        else if (ret_mtime)
                *ret_mtime = st.st_mtim;
out:
        close(fd);
        if (b.data)
                OPENSSL_cleanse(b.data, b.len);
        return r;
}

static const char *errno_text(int r) {
        if (r == -EFBIG)
                return "file is larger than the limit";
        return strerror(-r);
}

static char *trim_dup(const char *s, size_t len) {
        while (len > 0 && strchr(" \t\r\n", s[len - 1]))
                len--;
        while (len > 0 && strchr(" \t\r\n", *s)) {
                s++;
                len--;
        }
        return strndup(s, len);
}

/* ---- PEM checks, so that a bad certificate is reported at load with its field, not at the first request */

static int no_password(char *buf, int size, int rwflag, void *u) {
        (void) buf;
        (void) size;
        (void) rwflag;
        (void) u;
        return 0;
}

static X509 *pem_cert(const struct kube_blob *b) {
        BIO *bio;
        X509 *x;

        if (b->len > INT_MAX)
                return NULL;
        bio = BIO_new_mem_buf(b->data, (int) b->len);
        if (!bio)
                return NULL;
        x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
        BIO_free(bio);
        ERR_clear_error();
        return x;
}

static EVP_PKEY *pem_key(const struct kube_blob *b) {
        EVP_PKEY *k;
        BIO *bio;

        if (b->len > INT_MAX)
                return NULL;
        bio = BIO_new_mem_buf(b->data, (int) b->len);
        if (!bio)
                return NULL;
        k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
        BIO_free(bio);
        ERR_clear_error();
        return k;
}

/* ---- exec credential plugins: what they print */

static int blob_from_string(const char *s, struct kube_blob *ret) {
        ret->len = strlen(s);
        ret->data = (unsigned char *) strdup(s);
        return ret->data ? 0 : -ENOMEM;
}

int kube_exec_credential_parse(const char *data, size_t len, const char *api_version,
        struct kube_exec_credential *ret, struct merr *err) {
        _cleanup_json_ json_object *doc = NULL;
        struct kube_exec_credential cred = {0};
        const char *kind = NULL, *av = NULL, *token = NULL, *cert = NULL, *key = NULL, *exp = NULL;
        char q[MERR_QUOTE_SIZE];
        json_object *status;
        int r;

        r = json_parse(data, len, 16, &doc, err);
        if (r < 0)
                return merr_wrap(err, r, "output is not JSON");
        if (!json_object_is_type(doc, json_type_object))
                return merr_set(
                        err, -EINVAL, "output is not an ExecCredential but a JSON %s", json_type_label(doc));
        if (json_get_string(doc, "kind", 0, &kind, err) < 0 ||
                json_get_string(doc, "apiVersion", 0, &av, err) < 0)
                return merr_wrap(err, -EINVAL, "output");
        if (strcmp(kind, "ExecCredential") != 0)
                return merr_set(err, -EINVAL, "output: kind '%s' is not 'ExecCredential'",
                        merr_quote(kind, strlen(kind), q, sizeof(q)));
        if (strcmp(av, api_version) != 0)
                return merr_set(err, -EINVAL, "output: apiVersion '%s' is not the configured '%s'",
                        merr_quote(av, strlen(av), q, sizeof(q)), api_version);
        r = json_get_object(doc, "status", 0, &status, err);
        if (r >= 0)
                r = json_get_string(status, "token", JSON_OPTIONAL, &token, err);
        if (r >= 0)
                r = json_get_string(status, "clientCertificateData", JSON_OPTIONAL, &cert, err);
        if (r >= 0)
                r = json_get_string(status, "clientKeyData", JSON_OPTIONAL, &key, err);
        if (r >= 0)
                r = json_get_string(status, "expirationTimestamp", JSON_OPTIONAL, &exp, err);
        if (r < 0)
                return merr_wrap(err, r == -ENOENT ? -EINVAL : r, "output");
        if (token && (!*token || strpbrk(token, "\r\n")))
                return merr_set(err, -EINVAL, "output: status.token must be one non-empty line");
        if (cert && !*cert)
                cert = NULL;
        if (key && !*key)
                key = NULL;
        if (!cert != !key)
                return merr_set(err, -EINVAL, "output: status.%s without status.%s",
                        cert ? "clientCertificateData" : "clientKeyData",
                        cert ? "clientKeyData" : "clientCertificateData");
        if (!token && !cert)
                return merr_set(err, -EINVAL,
                        "output: status has neither a token nor clientCertificateData and clientKeyData");
        if (exp) {
                struct timestamp ts;

                r = timestamp_parse(exp, &ts, err);
                if (r < 0)
                        return merr_wrap(err, r, "output: status.expirationTimestamp");
                /* an expiry at or before the epoch is one that has passed: 1 keeps it distinct from "none" */
                cred.expiry = ts.sec > 0 ? (time_t) ts.sec : 1;
        }
        if (token && !(cred.token = strdup(token)))
                return merr_set(err, -ENOMEM, "out of memory");
        if (cert) {
                EVP_PKEY *k;
                X509 *x;

                if (blob_from_string(cert, &cred.cert) < 0 || blob_from_string(key, &cred.key) < 0) {
                        kube_exec_credential_release(&cred);
                        return merr_set(err, -ENOMEM, "out of memory");
                }
                x = pem_cert(&cred.cert);
                k = x ? pem_key(&cred.key) : NULL;
                r = x && k ? X509_check_private_key(x, k) : 0;
                ERR_clear_error();
                X509_free(x);
                EVP_PKEY_free(k);
                if (r != 1) {
                        kube_exec_credential_release(&cred);
                        return merr_set(err, -EINVAL, "output: status.%s",
                                !x   ? "clientCertificateData is not a PEM certificate"
                                : !k ? "clientKeyData is not an unencrypted PEM private key"
                                     : "clientKeyData does not match clientCertificateData");
                }
        }
        *ret = cred;
        return 0;
}

/* ---- kubeconfig */

struct loader {
        struct kc_file files[MAX_FILES];
        size_t n_files;
        const char *names; /* all paths, for messages that are about the merge */
};

static void loader_release(struct loader *l) {
        for (size_t i = 0; i < l->n_files; i++) {
                free(l->files[i].name);
                free(l->files[i].dir);
                json_object_put(l->files[i].doc);
        }
        l->n_files = 0;
}

/* Checks the shape of one document: an object whose lists hold objects with a string name. */
static int check_shape(const struct kc_file *f, struct merr *err) {
        static const char *const lists[] = {"clusters", "users", "contexts"};
        const char *s;
        int r;

        if (!json_object_is_type(f->doc, json_type_object))
                return merr_set(err, -EINVAL, "kubeconfig '%s': expected a mapping at the top, got %s",
                        f->name, json_type_label(f->doc));
        r = json_get_string(f->doc, "current-context", JSON_OPTIONAL, &s, err);
        if (r < 0)
                return merr_wrap(err, r, "kubeconfig '%s'", f->name);
        for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
                json_object *arr;

                r = json_get_array(f->doc, lists[i], JSON_OPTIONAL, &arr, err);
                if (r < 0)
                        return merr_wrap(err, r, "kubeconfig '%s'", f->name);
                if (r == 0)
                        continue;
                for (size_t j = 0; j < json_object_array_length(arr); j++) {
                        char path[64];
                        json_object *o;

                        (void) snprintf(path, sizeof(path), "%s[%zu]", lists[i], j);
                        r = json_get_object(f->doc, path, 0, &o, err);
                        if (r >= 0) {
                                (void) snprintf(path, sizeof(path), "%s[%zu].name", lists[i], j);
                                r = json_get_string(f->doc, path, 0, &s, err);
                        }
                        if (r < 0)
                                return merr_wrap(err, r, "kubeconfig '%s'", f->name);
                }
        }
        return 0;
}

static int loader_add(
        struct loader *l, const char *name, const char *dir, const char *data, size_t len, struct merr *err) {
        _cleanup_json_ json_object *docs = NULL;
        struct kc_file *f;
        size_t n;
        int r;

        if (l->n_files >= MAX_FILES)
                return merr_set(err, -E2BIG, "kubeconfig: more than %d files", MAX_FILES);
        r = yaml_to_json(data, len, NULL, &docs, err);
        if (r < 0)
                return merr_wrap(err, r, "kubeconfig '%s'", name);
        n = json_object_array_length(docs);
        if (n > 1)
                return merr_set(err, -EINVAL, "kubeconfig '%s': holds %zu documents, expected one", name, n);
        f = &l->files[l->n_files];
        *f = (struct kc_file){0};
        f->name = strdup(name);
        f->dir = dir ? strdup(dir) : NULL;
        /* an empty file is an empty config, as for kubectl */
        f->doc = n == 1 ? json_object_get(json_object_array_get_idx(docs, 0)) : json_object_new_object();
        if (!f->name || (dir && !f->dir) || !f->doc) {
                free(f->name);
                free(f->dir);
                json_object_put(f->doc);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        l->n_files++;
        r = check_shape(f, err);
        return r < 0 ? r : 0;
}

static int find_named(const struct loader *l, const char *list, const char *name, struct kc_ref *ret) {
        for (size_t i = 0; i < l->n_files; i++) {
                json_object *arr;

                if (json_get_array(l->files[i].doc, list, JSON_OPTIONAL, &arr, NULL) <= 0)
                        continue;
                for (size_t j = 0; j < json_object_array_length(arr); j++) {
                        json_object *e = json_object_array_get_idx(arr, j), *v;

                        if (json_object_object_get_ex(e, "name", &v) &&
                                strcmp(json_object_get_string(v), name) == 0) {
                                ret->file = &l->files[i];
                                ret->entry = e;
                                (void) snprintf(ret->path, sizeof(ret->path), "%s[%zu]", list, j);
                                return 1;
                        }
                }
        }
        return 0;
}

/* A string field of an entry, e.g. field "user.token" of users[2] → "users[2].user.token". */
static int ref_string(
        const struct kc_ref *ref, const char *field, unsigned flags, const char **ret, struct merr *err) {
        char path[256];
        int r;

        (void) snprintf(path, sizeof(path), "%s.%s", ref->path, field);
        r = json_get_string(ref->file->doc, path, flags, ret, err);
        if (r < 0)
                return merr_wrap(err, r, "kubeconfig '%s'", ref->file->name);
        if (r > 0 && !**ret && !(flags & JSON_OPTIONAL))
                return merr_set(
                        err, -EINVAL, "kubeconfig '%s': %s: must not be empty", ref->file->name, path);
        return r > 0 && **ret ? 1 : 0;
}

static bool ref_has(const struct kc_ref *ref, const char *field) {
        char path[256];

        (void) snprintf(path, sizeof(path), "%s.%s", ref->path, field);
        return json_lookup(ref->file->doc, path, NULL, NULL) > 0;
}

static int resolve_path(
        const struct kc_ref *ref, const char *field, const char *p, char **ret, struct merr *err) {
        char *s = NULL;

        if (!ref->file->dir)
                return merr_set(err, -EPERM, "kubeconfig '%s': %s.%s: file references are not allowed here",
                        ref->file->name, ref->path, field);
        if (p[0] == '/')
                s = strdup(p);
        else if (asprintf(&s, "%s/%s", ref->file->dir, p) < 0)
                s = NULL;
        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        *ret = s;
        return 0;
}

/*
 * Reads key material given either inline as base64 (field_data) or as a file (field_file); data wins, as
 * in client-go. Returns 1 when found, 0 when neither is set.
 */
static int load_blob(const struct kc_ref *ref, const char *field_file, const char *field_data,
        struct kube_blob *ret, struct merr *err) {
        _cleanup_free_ char *path = NULL;
        const char *s;
        int r;

        r = ref_string(ref, field_data, JSON_OPTIONAL, &s, err);
        if (r < 0)
                return r;
        if (r > 0) {
                r = kube_base64_decode(s, strlen(s), ret);
                if (r == -EINVAL)
                        return merr_set(err, r, "kubeconfig '%s': %s.%s: invalid base64", ref->file->name,
                                ref->path, field_data);
                if (r < 0)
                        return merr_set(err, r, "out of memory");
                return 1;
        }
        r = ref_string(ref, field_file, JSON_OPTIONAL, &s, err);
        if (r <= 0)
                return r;
        r = resolve_path(ref, field_file, s, &path, err);
        if (r < 0)
                return r;
        r = read_file(path, KUBE_CONFIG_MAX_FILE, ret, NULL);
        if (r < 0)
                return merr_set(err, r, "kubeconfig '%s': %s.%s: cannot read '%s': %s", ref->file->name,
                        ref->path, field_file, path, errno_text(r));
        return 1;
}

static int check_server(
        const char *where, const char *field, const char *server, char **ret, struct merr *err) {
        size_t n = strlen(server);

        if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
                return merr_set(
                        err, -EINVAL, "%s: %s: '%s' is not an http or https URL", where, field, server);
        if (strpbrk(server, " \t\r\n?#"))
                return merr_set(err, -EINVAL, "%s: %s: '%s' is not a valid server URL", where, field, server);
        while (n > 0 && server[n - 1] == '/')
                n--;
        *ret = strndup(server, n);
        return *ret ? 0 : merr_set(err, -ENOMEM, "out of memory");
}

static int load_cluster(const struct kc_ref *ref, struct kube_config *c, struct merr *err) {
        char where[PATH_MAX + 32], field[128];
        const char *server;
        bool insecure = false;
        X509 *x;
        int r;

        (void) snprintf(where, sizeof(where), "kubeconfig '%s'", ref->file->name);
        r = ref_string(ref, "cluster.server", 0, &server, err);
        if (r < 0)
                return r;
        (void) snprintf(field, sizeof(field), "%s.cluster.server", ref->path);
        r = check_server(where, field, server, &c->server, err);
        if (r < 0)
                return r;
        (void) snprintf(field, sizeof(field), "%s.cluster.insecure-skip-tls-verify", ref->path);
        r = json_get_bool(ref->file->doc, field, JSON_OPTIONAL, &insecure, err);
        if (r < 0)
                return merr_wrap(err, r, "%s", where);
        c->insecure = insecure;
        r = load_blob(
                ref, "cluster.certificate-authority", "cluster.certificate-authority-data", &c->ca, err);
        if (r < 0)
                return r;
        if (r > 0 && insecure)
                return merr_set(err, -EINVAL,
                        "%s: %s.cluster: certificate-authority and insecure-skip-tls-verify are mutually "
                        "exclusive",
                        where, ref->path);
        if (r > 0) {
                x = pem_cert(&c->ca);
                if (!x)
                        return merr_set(err, -EINVAL,
                                "%s: %s.cluster.certificate-authority%s: not a PEM certificate", where,
                                ref->path, ref_has(ref, "cluster.certificate-authority-data") ? "-data" : "");
                X509_free(x);
        }
        return 0;
}

static int token_from_file(struct kube_config *c, struct merr *err) {
        struct kube_blob b = {0};
        struct timespec mtime;
        char *t;
        int r;

        r = read_file(c->token_file, KUBE_CONFIG_MAX_FILE, &b, &mtime);
        if (r < 0)
                return merr_set(err, r, "cannot read token file '%s': %s", c->token_file, errno_text(r));
        t = trim_dup((const char *) b.data, b.len);
        blob_free(&b);
        if (!t)
                return merr_set(err, -ENOMEM, "out of memory");
        if (!t[0] || strpbrk(t, "\r\n")) {
                free(t);
                return merr_set(
                        err, -EINVAL, "token file '%s': %s", c->token_file, "must hold one non-empty line");
        }
        if (c->token) {
                OPENSSL_cleanse(c->token, strlen(c->token));
                free(c->token);
        }
        c->token = t;
        c->token_mtime = mtime;
        return 0;
}

static time_t monotonic_seconds(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static int exec_refresh(struct kube_config *c, struct merr *err);

int kube_config_token(struct kube_config *c, const char **ret, struct merr *err) {
        struct stat st;
        time_t now;
        int r = 0;

        if (c->exec && c->exec_expiry && time(NULL) >= c->exec_expiry) {
                r = exec_refresh(c, err);
                if (r < 0)
                        token_free(&c->token); /* an expired token would only be refused */
                *ret = c->token;
                return r;
        }

        if (c->token_file) {
                now = monotonic_seconds();
                if (now - c->token_checked >= TOKEN_RECHECK_SECONDS) {
                        c->token_checked = now;
                        if (stat(c->token_file, &st) < 0)
                                r = merr_set(
                                        err, -errno, "token file '%s': %s", c->token_file, strerror(errno));
                        else if (st.st_mtim.tv_sec != c->token_mtime.tv_sec ||
                                 st.st_mtim.tv_nsec != c->token_mtime.tv_nsec)
                                r = token_from_file(c, err);
                }
        }
        *ret = c->token;
        return r;
}

/* ---- exec credential plugins: running them */

static long long mono_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The process environment with the plugin's variables set on top of it. Borrowed strings. */
static char **plugin_envp(const struct kube_exec_plugin *p) {
        size_t n = 0, k = 0;
        char **envp;

        while (environ && environ[n])
                n++;
        envp = calloc(n + p->n_env + 1, sizeof(char *));
        if (!envp)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(environ[i], '=');
                size_t nl = eq ? (size_t) (eq - environ[i]) : strlen(environ[i]);
                bool overridden = false;

                for (size_t j = 0; j < p->n_env && !overridden; j++)
                        overridden = strncmp(p->env[j], environ[i], nl) == 0 && p->env[j][nl] == '=';
                if (!overridden)
                        envp[k++] = environ[i];
        }
        for (size_t j = 0; j < p->n_env; j++)
                envp[k++] = p->env[j];
        envp[k] = NULL;
        return envp;
}

/* ": <first line of what the plugin wrote to stderr>" for a message, or "". */
static const char *stderr_line(const struct buf *b, char *out, size_t size) {
        char q[MERR_QUOTE_SIZE];
        const char *s = buf_str(b);
        size_t n;

        s += strspn(s, " \t\r\n");
        n = strcspn(s, "\r\n");
        if (n == 0)
                return "";
        (void) snprintf(out, size, ": '%s'", merr_quote(s, n, q, sizeof(q)));
        return out;
}

/* The executable to run: a path as it is, a bare name from PATH (looked up here, so that a missing plugin
 * is reported the same way whatever posix_spawn does with a failed exec). */
static int plugin_path(const char *cmd, char **ret) {
        const char *path = secure_getenv("PATH");
        int r = -ENOENT;

        if (strchr(cmd, '/')) {
                if (access(cmd, X_OK) < 0)
                        return -errno;
                *ret = strdup(cmd);
                return *ret ? 0 : -ENOMEM;
        }
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                char *cand = NULL;

                if (asprintf(&cand, "%.*s/%s", (int) n, n ? p : ".", cmd) < 0)
                        return -ENOMEM;
                if (access(cand, X_OK) == 0) {
                        *ret = cand;
                        return 0;
                }
                if (errno != ENOENT && errno != ENOTDIR)
                        r = -errno;
                free(cand);
                p += n;
                if (*p == ':')
                        p++;
        }
        return r;
}

/* Runs the plugin without a terminal and parses what it prints. */
static int exec_plugin_run(
        const struct kube_exec_plugin *p, struct kube_exec_credential *ret, struct merr *err) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(KUBE_CONFIG_MAX_FILE),
                                          errb = BUF_INIT(EXEC_STDERR_MAX);
        _cleanup_free_ char **envp = plugin_envp(p);
        _cleanup_free_ char *exe = NULL;
        posix_spawn_file_actions_t fa;
        int opipe[2] = {-1, -1}, epipe[2] = {-1, -1}, status = 0, r;
        long long deadline = mono_ms() + EXEC_TIMEOUT_MS;
        bool timed_out = false, too_big = false;
        char line[MERR_QUOTE_SIZE + 8];
        pid_t pid;

        if (!envp)
                return merr_set(err, -ENOMEM, "out of memory");
        r = plugin_path(p->argv[0], &exe);
        if (r < 0)
                return merr_set(err, r, "%s: cannot run credential plugin '%s': %s%s%s", p->where, p->name,
                        strerror(-r), p->install_hint ? "; " : "", p->install_hint ? p->install_hint : "");
        if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0) {
                r = -errno;
                if (opipe[0] >= 0) {
                        close(opipe[0]);
                        close(opipe[1]);
                }
                return merr_set(
                        err, r, "%s: credential plugin '%s': pipe: %s", p->where, p->name, strerror(-r));
        }
        r = posix_spawn_file_actions_init(&fa);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, opipe[1], STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, epipe[1], STDERR_FILENO);
        if (r == 0)
                r = posix_spawn(&pid, exe, &fa, NULL, p->argv, envp);
        (void) posix_spawn_file_actions_destroy(&fa);
        close(opipe[1]);
        close(epipe[1]);
        if (r != 0) {
                close(opipe[0]);
                close(epipe[0]);
                return merr_set(err, -r, "%s: cannot run credential plugin '%s': %s%s%s", p->where, p->name,
                        strerror(r), p->install_hint ? "; " : "", p->install_hint ? p->install_hint : "");
        }
        for (struct pollfd pfd[2] = {{.fd = opipe[0], .events = POLLIN}, {.fd = epipe[0], .events = POLLIN}};
                pfd[0].fd >= 0 || pfd[1].fd >= 0;) {
                long long left = deadline - mono_ms();

                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                if (poll(pfd, 2, (int) left) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        char chunk[8192];
                        ssize_t n;

                        if (pfd[i].fd < 0 || !pfd[i].revents)
                                continue;
                        n = read(pfd[i].fd, chunk, sizeof(chunk));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                close(pfd[i].fd);
                                pfd[i].fd = -1;
                                continue;
                        }
                        if (i == 0 && buf_append(&out, chunk, (size_t) n) < 0)
                                too_big = true;
                        else if (i == 1) /* keep the start of stderr; the rest is drained */
                                (void) buf_append(&errb, chunk,
                                        (size_t) n < errb.max - errb.len ? (size_t) n : errb.max - errb.len);
                }
                if (too_big)
                        break;
        }
        if (timed_out || too_big)
                (void) kill(pid, SIGKILL);
        close(opipe[0]);
        close(epipe[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = 0;
                        break;
                }
        if (timed_out)
                return merr_set(err, -ETIMEDOUT, "%s: credential plugin '%s' did not finish within %d s",
                        p->where, p->name, EXEC_TIMEOUT_MS / 1000);
        if (too_big)
                return merr_set(err, -EFBIG, "%s: credential plugin '%s' printed more than %u bytes",
                        p->where, p->name, KUBE_CONFIG_MAX_FILE);
        if (WIFSIGNALED(status))
                return merr_set(err, -EIO, "%s: credential plugin '%s' was killed by signal %d%s", p->where,
                        p->name, WTERMSIG(status), stderr_line(&errb, line, sizeof(line)));
        if (WEXITSTATUS(status) != 0)
                return merr_set(err, -EIO, "%s: credential plugin '%s' exited with status %d%s", p->where,
                        p->name, WEXITSTATUS(status), stderr_line(&errb, line, sizeof(line)));
        r = kube_exec_credential_parse(out.data ? out.data : "", out.len, p->api_version, ret, err);
        if (out.data)
                OPENSSL_cleanse(out.data, out.len);
        if (r < 0)
                return merr_wrap(err, r, "%s: credential plugin '%s'", p->where, p->name);
        return 0;
}

/* Runs the config's plugin and takes what it returned. */
static int exec_refresh(struct kube_config *c, struct merr *err) {
        struct kube_exec_credential cred = {0};
        int r;

        r = exec_plugin_run(c->exec, &cred, err);
        if (r < 0)
                return r;
        token_free(&c->token);
        c->token = TAKE_PTR(cred.token);
        if (cred.cert.len > 0) {
                blob_free(&c->cert);
                blob_free(&c->key);
                c->cert = cred.cert;
                c->key = cred.key;
                cred.cert = cred.key = (struct kube_blob){0};
        }
        c->exec_expiry = cred.expiry;
        kube_exec_credential_release(&cred);
        return 0;
}

static bool is_env_name(const char *s) {
        if (!*s || strchr(s, '='))
                return false;
        return true;
}

/* KUBERNETES_EXEC_INFO: what client-go gives a plugin, never interactive here. */
static char *exec_info(const char *api_version, bool cluster_info, const struct kube_config *c) {
        _cleanup_json_ json_object *o = json_object_new_object(), *spec = json_object_new_object();
        const char *s;

        if (!o || !spec)
                return NULL;
        json_object_object_add(o, "apiVersion", json_object_new_string(api_version));
        json_object_object_add(o, "kind", json_object_new_string("ExecCredential"));
        json_object_object_add(spec, "interactive", json_object_new_boolean(0));
        if (cluster_info) {
                json_object *cl = json_object_new_object();

                if (!cl)
                        return NULL;
                json_object_object_add(cl, "server", json_object_new_string(c->server));
                if (c->insecure)
                        json_object_object_add(cl, "insecure-skip-tls-verify", json_object_new_boolean(1));
                if (c->ca.len > 0 && c->ca.len < KUBE_CONFIG_MAX_FILE) {
                        _cleanup_free_ char *b = malloc(4 * ((c->ca.len + 2) / 3) + 1);

                        if (!b) {
                                json_object_put(cl);
                                return NULL;
                        }
                        (void) EVP_EncodeBlock((unsigned char *) b, c->ca.data, (int) c->ca.len);
                        json_object_object_add(cl, "certificate-authority-data", json_object_new_string(b));
                }
                json_object_object_add(spec, "cluster", cl);
        }
        json_object_object_add(o, "spec", json_object_get(spec));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        return s ? strdup(s) : NULL;
}

/* Reads users[].user.exec into c->exec and runs the plugin once. */
static int load_exec(const struct kc_ref *ref, struct kube_config *c, struct merr *err) {
        struct kube_exec_plugin *p;
        json_object *args = NULL, *env = NULL;
        const char *av, *cmd, *mode = NULL, *hint = NULL;
        char where[PATH_MAX + 96], field[128];
        bool cluster_info = false;
        size_t nargs, nenv;
        int r;

        (void) snprintf(where, sizeof(where), "kubeconfig '%s': %s.user.exec", ref->file->name, ref->path);
        r = ref_string(ref, "user.exec.apiVersion", 0, &av, err);
        if (r < 0)
                return r;
        if (strcmp(av, EXEC_V1) != 0 && strcmp(av, EXEC_V1BETA1) != 0)
                return merr_set(err, -EOPNOTSUPP, "%s.apiVersion: '%s' is not supported (%s or %s)", where,
                        av, EXEC_V1, EXEC_V1BETA1);
        r = ref_string(ref, "user.exec.command", 0, &cmd, err);
        if (r >= 0)
                r = ref_string(ref, "user.exec.interactiveMode", JSON_OPTIONAL, &mode, err);
        if (r >= 0)
                r = ref_string(ref, "user.exec.installHint", JSON_OPTIONAL, &hint, err);
        if (r < 0)
                return r;
        if (!mode && strcmp(av, EXEC_V1) == 0)
                return merr_set(err, -EINVAL, "%s.interactiveMode: must be set for %s", where, EXEC_V1);
        if (mode && strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0) {
                if (strcmp(mode, "Always") == 0)
                        return merr_set(err, -EOPNOTSUPP,
                                "%s.interactiveMode: 'Always' needs a terminal, and credential plugins run "
                                "without one here",
                                where);
                return merr_set(err, -EINVAL, "%s.interactiveMode: '%s' is not Never, IfAvailable or Always",
                        where, mode);
        }
        (void) snprintf(field, sizeof(field), "%s.user.exec.provideClusterInfo", ref->path);
        r = json_get_bool(ref->file->doc, field, JSON_OPTIONAL, &cluster_info, err);
        (void) snprintf(field, sizeof(field), "%s.user.exec.args", ref->path);
        if (r >= 0)
                r = json_get_array(ref->file->doc, field, JSON_OPTIONAL, &args, err);
        (void) snprintf(field, sizeof(field), "%s.user.exec.env", ref->path);
        if (r >= 0)
                r = json_get_array(ref->file->doc, field, JSON_OPTIONAL, &env, err);
        if (r < 0)
                return merr_wrap(err, r, "kubeconfig '%s'", ref->file->name);
        nargs = args ? json_object_array_length(args) : 0;
        nenv = env ? json_object_array_length(env) : 0;
        if (nargs > EXEC_MAX_ARGS || nenv > EXEC_MAX_ARGS)
                return merr_set(err, -E2BIG, "%s: more than %d args or env entries", where, EXEC_MAX_ARGS);
        if (!ref->file->dir)
                return merr_set(err, -EPERM, "%s: credential plugins are not run for this kubeconfig", where);

        p = calloc(1, sizeof(*p));
        if (!p)
                return merr_set(err, -ENOMEM, "out of memory");
        c->exec = p;
        p->where = strdup(where);
        p->name = strdup(cmd);
        p->api_version = strdup(av);
        p->install_hint = hint ? strdup(hint) : NULL;
        p->argv = calloc(nargs + 2, sizeof(char *));
        p->env = calloc(nenv + 2, sizeof(char *));
        if (!p->where || !p->name || !p->api_version || (hint && !p->install_hint) || !p->argv || !p->env)
                return merr_set(err, -ENOMEM, "out of memory");
        if (strchr(cmd, '/')) { /* a path: relative to the kubeconfig, as client-go resolves it */
                r = resolve_path(ref, "user.exec.command", cmd, &p->argv[0], err);
                if (r < 0)
                        return r;
        } else if (!(p->argv[0] = strdup(cmd)))
                return merr_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < nargs; i++) {
                const char *a;

                (void) snprintf(field, sizeof(field), "%s.user.exec.args[%zu]", ref->path, i);
                r = json_get_string(ref->file->doc, field, 0, &a, err);
                if (r < 0)
                        return merr_wrap(err, r, "kubeconfig '%s'", ref->file->name);
                if (!(p->argv[i + 1] = strdup(a)))
                        return merr_set(err, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < nenv; i++) {
                const char *name, *value;

                (void) snprintf(field, sizeof(field), "%s.user.exec.env[%zu].name", ref->path, i);
                r = json_get_string(ref->file->doc, field, 0, &name, err);
                if (r >= 0) {
                        (void) snprintf(field, sizeof(field), "%s.user.exec.env[%zu].value", ref->path, i);
                        r = json_get_string(ref->file->doc, field, 0, &value, err);
                }
                if (r < 0)
                        return merr_wrap(err, r, "kubeconfig '%s'", ref->file->name);
                if (!is_env_name(name))
                        return merr_set(err, -EINVAL, "%s.env[%zu].name: '%s' is not a variable name", where,
                                i, name);
                if (asprintf(&p->env[p->n_env], "%s=%s", name, value) < 0)
                        return merr_set(err, -ENOMEM, "out of memory");
                p->n_env++;
        }
        {
                _cleanup_free_ char *info = exec_info(av, cluster_info, c);

                if (!info || asprintf(&p->env[p->n_env], "KUBERNETES_EXEC_INFO=%s", info) < 0)
                        return merr_set(err, -ENOMEM, "out of memory");
                p->n_env++;
        }
        return exec_refresh(c, err);
}

static int load_user(const struct kc_ref *ref, struct kube_config *c, struct merr *err) {
        static const char *const unsupported[][2] = {
                {"user.auth-provider", "auth-provider plugins are not supported"},
                {"user.username", "basic authentication is not supported"},
                {"user.as", "impersonation is not supported yet"},
                {"user.as-groups", "impersonation is not supported yet"},
        };
        _cleanup_free_ char *tf = NULL;
        const char *s;
        EVP_PKEY *k;
        X509 *x;
        int r, rc, rk;

        for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
                if (ref_has(ref, unsupported[i][0]))
                        return merr_set(err, -EOPNOTSUPP, "kubeconfig '%s': %s.%s: %s", ref->file->name,
                                ref->path, unsupported[i][0], unsupported[i][1]);
        rc = load_blob(ref, "user.client-certificate", "user.client-certificate-data", &c->cert, err);
        if (rc < 0)
                return rc;
        rk = load_blob(ref, "user.client-key", "user.client-key-data", &c->key, err);
        if (rk < 0)
                return rk;
        if (rc != rk)
                return merr_set(err, -EINVAL, "kubeconfig '%s': %s.user: %s without %s", ref->file->name,
                        ref->path, rc ? "client-certificate" : "client-key",
                        rc ? "client-key" : "client-certificate");
        if (rc > 0) {
                x = pem_cert(&c->cert);
                if (!x)
                        return merr_set(err, -EINVAL, "kubeconfig '%s': %s.user.client-certificate%s: %s",
                                ref->file->name, ref->path,
                                ref_has(ref, "user.client-certificate-data") ? "-data" : "",
                                "not a PEM certificate");
                k = pem_key(&c->key);
                if (!k) {
                        X509_free(x);
                        return merr_set(err, -EINVAL, "kubeconfig '%s': %s.user.client-key%s: %s",
                                ref->file->name, ref->path,
                                ref_has(ref, "user.client-key-data") ? "-data" : "",
                                "not an unencrypted PEM private key");
                }
                r = X509_check_private_key(x, k);
                ERR_clear_error();
                X509_free(x);
                EVP_PKEY_free(k);
                if (r != 1)
                        return merr_set(err, -EINVAL,
                                "kubeconfig '%s': %s.user: client-key does not match client-certificate",
                                ref->file->name, ref->path);
        }
        r = ref_string(ref, "user.token", JSON_OPTIONAL, &s, err);
        if (r < 0)
                return r;
        if (r > 0 && !(c->token = strdup(s)))
                return merr_set(err, -ENOMEM, "out of memory");
        r = ref_string(ref, "user.tokenFile", JSON_OPTIONAL, &s, err);
        if (r < 0)
                return r;
        if (r > 0) {
                /* the file wins over an inline token and is re-read when it changes, as in client-go */
                r = resolve_path(ref, "user.tokenFile", s, &c->token_file, err);
                if (r < 0)
                        return r;
                r = token_from_file(c, err);
                if (r < 0)
                        return merr_wrap(
                                err, r, "kubeconfig '%s': %s.user.tokenFile", ref->file->name, ref->path);
                c->token_checked = monotonic_seconds();
        }
        if (ref_has(ref, "user.exec")) {
                if (c->token || c->token_file)
                        return merr_set(err, -EINVAL,
                                "kubeconfig '%s': %s.user: exec and token or tokenFile are mutually "
                                "exclusive",
                                ref->file->name, ref->path);
                return load_exec(ref, c, err);
        }
        return 0;
}

/* Through a function, so that cppcheck does not mistake the cleanup attribute's pointer for a leak. */
static struct kube_config *config_new(void) {
        return calloc(1, sizeof(struct kube_config));
}

static int loader_finish(struct loader *l, const char *context, struct kube_config **ret, struct merr *err) {
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        struct kc_ref ctx, cluster, user;
        const char *name = context, *s;
        int r;

        if (!name || !*name) {
                name = NULL;
                for (size_t i = 0; i < l->n_files && !name; i++)
                        if (json_get_string(l->files[i].doc, "current-context", JSON_OPTIONAL, &s, NULL) >
                                        0 &&
                                *s)
                                name = s;
                if (!name)
                        return merr_set(
                                err, -ENOENT, "kubeconfig '%s': current-context is not set", l->names);
        }
        if (!find_named(l, "contexts", name, &ctx))
                return merr_set(err, -ENOENT, "kubeconfig '%s': context '%s' not found", l->names, name);
        c = config_new();
        if (!c)
                return merr_set(err, -ENOMEM, "out of memory");
        r = ref_string(&ctx, "context.cluster", 0, &s, err);
        if (r < 0)
                return r;
        if (!find_named(l, "clusters", s, &cluster))
                return merr_set(err, -ENOENT, "kubeconfig '%s': %s.context.cluster: cluster '%s' not found",
                        ctx.file->name, ctx.path, s);
        r = load_cluster(&cluster, c, err);
        if (r < 0)
                return r;
        r = ref_string(&ctx, "context.user", JSON_OPTIONAL, &s, err);
        if (r < 0)
                return r;
        if (r > 0) {
                if (!find_named(l, "users", s, &user))
                        return merr_set(err, -ENOENT, "kubeconfig '%s': %s.context.user: user '%s' not found",
                                ctx.file->name, ctx.path, s);
                r = load_user(&user, c, err);
                if (r < 0)
                        return r;
        }
        r = ref_string(&ctx, "context.namespace", JSON_OPTIONAL, &s, err);
        if (r < 0)
                return r;
        c->namespace = strdup(r > 0 ? s : "default");
        c->context = strdup(name);
        if (asprintf(&c->source, "kubeconfig '%s'", l->names) < 0)
                c->source = NULL;
        if (!c->namespace || !c->context || !c->source)
                return merr_set(err, -ENOMEM, "out of memory");
        *ret = TAKE_PTR(c);
        return 0;
}

int kube_config_load_data(const char *data, size_t len, const char *name, const char *dir,
        const char *context, struct kube_config **ret, struct merr *err) {
        struct loader l = {.names = name};
        int r;

        r = loader_add(&l, name, dir, data, len, err);
        if (r >= 0)
                r = loader_finish(&l, context, ret, err);
        loader_release(&l);
        return r;
}

static char *dir_of(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t) (slash - path));
}

int kube_config_load(const char *paths, const char *context, struct kube_config **ret, struct merr *err) {
        _cleanup_free_ char *fallback = NULL, *list = NULL;
        struct loader l = {0};
        char *p, *next;
        int r = 0;

        if (!paths) {
                paths = secure_getenv("KUBECONFIG");
                if (!paths || !*paths) {
                        const char *home = secure_getenv("HOME");

                        if (!home || !*home)
                                return merr_set(
                                        err, -ENOENT, "kubeconfig: neither KUBECONFIG nor HOME is set");
                        if (asprintf(&fallback, "%s/.kube/config", home) < 0)
                                return merr_set(err, -ENOMEM, "out of memory");
                        paths = fallback;
                }
        }
        list = strdup(paths);
        if (!list)
                return merr_set(err, -ENOMEM, "out of memory");
        l.names = paths;
        for (p = list; p; p = next) {
                struct kube_blob b = {0};
                _cleanup_free_ char *dir = NULL;

                next = strchr(p, ':');
                if (next)
                        *next++ = '\0';
                if (!*p)
                        continue;
                r = read_file(p, KUBE_CONFIG_MAX_FILE, &b, NULL);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        r = merr_set(err, r, "kubeconfig '%s': cannot read: %s", p, errno_text(r));
                        break;
                }
                dir = dir_of(p);
                if (!dir) {
                        blob_free(&b);
                        r = merr_set(err, -ENOMEM, "out of memory");
                        break;
                }
                r = loader_add(&l, p, dir, (const char *) b.data, b.len, err);
                blob_free(&b);
                if (r < 0)
                        break;
        }
        if (r >= 0 && l.n_files == 0)
                r = merr_set(err, -ENOENT, "kubeconfig '%s': no such file", paths);
        if (r >= 0)
                r = loader_finish(&l, context, ret, err);
        loader_release(&l);
        return r;
}

int kube_config_in_cluster(const char *root, struct kube_config **ret, struct merr *err) {
        _cleanup_(kube_config_freep) struct kube_config *c = NULL;
        _cleanup_free_ char *ca = NULL, *ns = NULL;
        const char *host = secure_getenv("KUBERNETES_SERVICE_HOST");
        const char *port = secure_getenv("KUBERNETES_SERVICE_PORT");
        struct kube_blob b = {0};
        X509 *x;
        int r, rl;

        if (!root)
                root = "";
        /* "/tmp/x/" and "/tmp/x" are the same prefix */
        rl = (int) strnlen(root, PATH_MAX);
        while (rl > 0 && root[rl - 1] == '/')
                rl--;
        if (!host || !*host || !port || !*port)
                return merr_set(err, -ENXIO,
                        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
        if (strpbrk(host, "/?#@ ") || strspn(port, "0123456789") != strlen(port))
                return merr_set(err, -EINVAL,
                        "in-cluster config: invalid KUBERNETES_SERVICE_HOST '%s' or PORT '%s'", host, port);
        c = config_new();
        if (!c)
                return merr_set(err, -ENOMEM, "out of memory");
        /* an IPv6 address needs brackets in a URL */
        if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0 ||
                asprintf(&c->token_file, "%.*s" SA_DIR "/token", rl, root) < 0 ||
                asprintf(&ca, "%.*s" SA_DIR "/ca.crt", rl, root) < 0 ||
                asprintf(&ns, "%.*s" SA_DIR "/namespace", rl, root) < 0 ||
                !(c->source = strdup("in-cluster config"))) {
                return merr_set(err, -ENOMEM, "out of memory");
        }
        r = token_from_file(c, err);
        if (r < 0)
                return merr_wrap(err, r, "in-cluster config");
        c->token_checked = monotonic_seconds();
        r = read_file(ca, KUBE_CONFIG_MAX_FILE, &c->ca, NULL);
        if (r < 0)
                return merr_set(err, r, "in-cluster config: cannot read '%s': %s", ca, errno_text(r));
        x = pem_cert(&c->ca);
        if (!x)
                return merr_set(err, -EINVAL, "in-cluster config: '%s': not a PEM certificate", ca);
        X509_free(x);
        r = read_file(ns, 4096, &b, NULL);
        if (r < 0 && r != -ENOENT)
                return merr_set(err, r, "in-cluster config: cannot read '%s': %s", ns, errno_text(r));
        c->namespace = r < 0 ? strdup("default") : trim_dup((const char *) b.data, b.len);
        blob_free(&b);
        if (!c->namespace)
                return merr_set(err, -ENOMEM, "out of memory");
        if (!c->namespace[0]) {
                free(c->namespace);
                c->namespace = strdup("default");
                if (!c->namespace)
                        return merr_set(err, -ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int kube_config_default(const char *context, struct kube_config **ret, struct merr *err) {
        const char *kc = secure_getenv("KUBECONFIG"), *home = secure_getenv("HOME");
        _cleanup_free_ char *path = NULL;

        if (kc && *kc)
                return kube_config_load(kc, context, ret, err);
        if (home && *home && asprintf(&path, "%s/.kube/config", home) >= 0 && access(path, F_OK) == 0)
                return kube_config_load(path, context, ret, err);
        if (secure_getenv("KUBERNETES_SERVICE_HOST"))
                return kube_config_in_cluster(NULL, ret, err);
        return merr_set(
                err, -ENOENT, "no kubeconfig (KUBECONFIG, ~/.kube/config) and not running in a cluster");
}
