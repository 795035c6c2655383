/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "jsonutil.h"
#include "yaml2json.h"

#define MAX_FILES             64
#define TOKEN_RECHECK_SECONDS 60
#define SA_DIR                "/var/run/secrets/kubernetes.io/serviceaccount"

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
        if (c->token) {
                OPENSSL_cleanse(c->token, strlen(c->token));
                free(c->token);
        }
        free(c->token_file);
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

int kube_config_token(struct kube_config *c, const char **ret, struct merr *err) {
        struct stat st;
        time_t now;
        int r = 0;

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

static int load_user(const struct kc_ref *ref, struct kube_config *c, struct merr *err) {
        static const char *const unsupported[][2] = {
                {"user.exec", "exec credential plugins are not supported yet"},
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
