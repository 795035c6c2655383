/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox cp: one file into or out of a running sandbox through runtime.mbox.dev's sandboxes/NAME/files
 * (docs/sessions.md, "Files"), and the download every command shares (cli_download(): streamed into a
 * temporary file renamed at the end, with a progress line on a terminal).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jsonutil.h"
#include "timestamp.h"

#define UPLOAD_MAX        (1024 * 1024) /* mbox-apiserver's request body limit */
#define PROGRESS_FROM     (1024 * 1024) /* bytes before a progress line shows */
#define PROGRESS_EVERY_MS 250

/* ---- downloads ---- */

struct download {
        int fd;
        const char *what;
        const char *refuse; /* a body that begins with this is refused (-EISDIR), or NULL */
        size_t matched;     /* bytes of refuse the body began with so far (held back) */
        bool decided;
        long long got;
        bool progress, shown;
        int64_t start_ms, last_ms;
};

static void show_progress(struct download *d, bool last) {
        int64_t now = timestamp_monotonic_ms();
        if (!d->progress || d->got < PROGRESS_FROM || (!last && now - d->last_ms < PROGRESS_EVERY_MS))
                return;
        double secs = (double) (now - d->start_ms) / 1000.0, mib = (double) d->got / (1024.0 * 1024.0);
        fprintf(stderr, "\r%s: %.1f MiB, %.1f MiB/s%s", d->what, mib, secs > 0 ? mib / secs : 0.0,
                last ? "\n" : "");
        d->last_ms = now;
        d->shown = true;
}

static int on_bytes(const char *data, size_t len, void *ud) {
        struct download *d = ud;
        d->got += (long long) len;
        if (!d->decided) {
                size_t want = strlen(d->refuse), n = len < want - d->matched ? len : want - d->matched;
                if (memcmp(data, d->refuse + d->matched, n) == 0) {
                        d->matched += n;
                        if (d->matched == want)
                                return -EISDIR;
                        return 0; /* all of it matched so far: held back */
                }
                d->decided = true;
                int r = cli_write(d->fd, d->refuse, d->matched);
                if (r < 0)
                        return r;
        }
        int r = cli_write(d->fd, data, len);
        show_progress(d, false);
        return r;
}

/* Where local goes: a temporary file beside it (into *tmp, owned), or stdout (*tmp NULL). */
static int open_local(const char *local, char **tmp, struct merr *err) {
        *tmp = NULL;
        if (!local || strcmp(local, "-") == 0)
                return STDOUT_FILENO;
        char *copy = strdup(local), *base = NULL, *name = NULL;
        if (copy)
                base = strdup(basename(copy));
        if (base && asprintf(&name, "%s/.%s.mbox-XXXXXX", dirname(copy), base) < 0)
                name = NULL;
        free(copy);
        free(base);
        if (!name)
                return merr_set(err, -ENOMEM, "out of memory");
        int fd = mkostemp(name, O_CLOEXEC);
        if (fd < 0) {
                int r = merr_set(err, -errno, "cannot write '%s': %s", local, strerror(errno));
                free(name);
                return r;
        }
        mode_t mask = umask(0);
        umask(mask);
        (void) fchmod(fd, 0666 & ~mask); /* as a file the shell creates, not mkstemp's 0600 */
        *tmp = name;
        return fd;
}

int cli_download(struct kube_client *c, const struct kube_resource *r, const char *const *query,
        const char *local, const char *refuse, struct merr *err) {
        char *tmp = NULL;
        int fd = open_local(local, &tmp, err);
        if (fd < 0)
                return fd;
        struct download d = {.fd = fd,
                .what = local && strcmp(local, "-") != 0 ? local : r->name,
                .refuse = refuse,
                .decided = !refuse,
                .progress = isatty(STDERR_FILENO) && !isatty(fd),
                .start_ms = timestamp_monotonic_ms()};
        struct kube_stream_opts o = {.query = query, .on_data = on_bytes, .userdata = &d};
        int k = kube_get_stream(c, r, &o, err);
        if (k >= 0 && !d.decided) /* shorter than what is refused: a file after all */
                k = cli_write(fd, refuse, d.matched);
        show_progress(&d, true);
        if (tmp) {
                if (close(fd) < 0 && k >= 0)
                        k = merr_set(err, -errno, "cannot write '%s': %s", local, strerror(errno));
                if (k >= 0 && rename(tmp, local) < 0)
                        k = merr_set(err, -errno, "cannot write '%s': %s", local, strerror(errno));
                if (k < 0)
                        (void) unlink(tmp); /* never a cut file */
                free(tmp);
        }
        return k < 0 ? k : 0;
}

/* ---- mbox cp ---- */

/* Whether arg is SANDBOX:PATH: the sandbox copied into sandbox, *path pointing into arg. A local path has no
 * colon before its first slash (./a:b is local). */
static bool remote(const char *arg, char *sandbox, size_t size, const char **path) {
        const char *colon = strchr(arg, ':');
        if (!colon || colon == arg || memchr(arg, '/', (size_t) (colon - arg)) ||
                (size_t) (colon - arg) >= size)
                return false;
        snprintf(sandbox, size, "%.*s", (int) (colon - arg), arg);
        *path = colon + 1;
        return true;
}

/* The query value of a path: every byte but the unreserved ones percent-encoded. */
static int escape(const char *s, struct buf *out) {
        static const char hex[] = "0123456789ABCDEF";
        int r = 0;
        for (; *s && r >= 0; s++) {
                unsigned char ch = (unsigned char) *s;
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        strchr("-._~/", ch))
                        r = buf_putc(out, (char) ch);
                else
                        r = buf_printf(out, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
        }
        return r;
}

/* PUTs data as path in the sandbox r names (as path/name with a name), with mode. 0, or < 0 with err. */
static int put_file(struct kube_client *c, const struct kube_resource *r, const char *path, const char *name,
        unsigned mode, const char *data, size_t len, struct merr *err) {
        _cleanup_(buf_release) struct buf url = BUF_INIT(16384);
        size_t pl = strlen(path);
        int k = kube_resource_path(r, &url, err);
        if (k < 0)
                return k;
        if (buf_puts(&url, "?path=") < 0 || escape(path, &url) < 0 ||
                (name && ((pl > 0 && path[pl - 1] != '/' && buf_putc(&url, '/') < 0) ||
                                 escape(name, &url) < 0)) ||
                buf_printf(&url, "&mode=%04o", mode) < 0)
                return merr_set(err, -ENAMETOOLONG, "the path is too long");
        return kube_request(c, "PUT", buf_str(&url), "application/octet-stream", data, len, NULL, err);
}

/* The bytes of the regular file local, at most UPLOAD_MAX of them, into *ret (owned) and *ret_len, its
 * permission bits into *ret_mode. */
static int read_file(const char *local, const char *sandbox, const char *path, char **ret, size_t *ret_len,
        unsigned *ret_mode, struct merr *err) {
        struct stat st;
        int fd = open(local, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int k = merr_set(err, -errno, "cannot read '%s': %s", local, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return k;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > UPLOAD_MAX) {
                close(fd);
                if (!S_ISREG(st.st_mode))
                        return merr_set(
                                err, -EINVAL, "'%s' is not a regular file: mbox cp copies one file", local);
                return merr_set(err, -EFBIG,
                        "'%s' is %.1f MiB: mbox-apiserver takes at most 1 MiB per upload; copy a larger file "
                        "with mbox exec -i %s -- sh -c 'cat >\"$0\"' %s <%s",
                        local, (double) st.st_size / (1024.0 * 1024.0), sandbox, path, local);
        }
        /* one byte more than its size: a file that grew meanwhile is not sent cut */
        size_t cap = (size_t) st.st_size + 1, len = 0;
        char *data = malloc(cap);
        ssize_t n = 1;
        while (data && len < cap && (n = read(fd, data + len, cap - len)) > 0)
                len += (size_t) n;
        int saved = errno;
        close(fd);
        if (!data)
                return merr_set(err, -ENOMEM, "out of memory");
        if (n < 0 || len == cap) {
                free(data);
                return merr_set(err, n < 0 ? -saved : -EAGAIN, "cannot read '%s': %s", local,
                        n < 0 ? strerror(saved) : "it grew while it was read");
        }
        *ret = data;
        *ret_len = len;
        *ret_mode = st.st_mode & 07777;
        return 0;
}

static int upload(struct kube_client *c, const struct kube_resource *r, const char *local, const char *path,
        struct merr *err) {
        char *data = NULL, *copy = NULL;
        size_t len = 0, pl = strlen(path);
        unsigned mode = 0;
        int k = read_file(local, r->name, path, &data, &len, &mode, err);
        if (k < 0)
                return k;
        if (!(copy = strdup(local))) {
                free(data);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        /* a path that ends with / or names a directory takes the file by its own name */
        const char *name = basename(copy);
        bool into_dir = pl > 0 && path[pl - 1] == '/';
        k = put_file(c, r, path, into_dir ? name : NULL, mode, data, len, err);
        if (k == -ESTALE && !into_dir && strstr(kube_client_last_error(c)->message, " is a directory")) {
                merr_clear(err);
                k = put_file(c, r, path, name, mode, data, len, err);
        }
        if (k < 0 && kube_client_last_error(c)->http_code == 413)
                k = merr_set(err, -EFBIG, "'%s' is larger than mbox-apiserver takes in one upload", local);
        free(copy);
        free(data);
        return k < 0 ? k : 0;
}

static int download(struct kube_client *c, const struct kube_resource *r, const char *path, const char *local,
        struct merr *err) {
        struct stat st;
        char *into = NULL, *copy = strdup(path);
        if (!copy)
                return merr_set(err, -ENOMEM, "out of memory");
        /* into a directory: by the file's own name */
        if (strcmp(local, "-") != 0 && stat(local, &st) == 0 && S_ISDIR(st.st_mode) &&
                asprintf(&into, "%s/%s", local, basename(copy)) < 0) {
                free(copy);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        free(copy);
        /* a directory's answer is its listing (JSON), refused rather than written into a file; a stream
         * does not see the content type, so the listing is known by how it begins, which only a file
         * forged to hold a listing of its own path would share */
        _cleanup_json_ json_object *head = json_object_new_object();
        char *listing = NULL;
        if (head && json_object_object_add(head, "kind", json_object_new_string("FileList")) == 0 &&
                json_object_object_add(
                        head, "apiVersion", json_object_new_string("runtime.mbox.dev/v1alpha1")) == 0 &&
                json_object_object_add(head, "path", json_object_new_string(path)) == 0) {
                const char *s = json_object_to_json_string_ext(
                        head, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                listing = s ? strndup(s, strlen(s) - 1) : NULL; /* without the closing brace */
        }
        if (!listing) {
                free(into);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        const char *query[] = {"path", path, NULL};
        int k = cli_download(c, r, query, into ? into : local, listing, err);
        if (k == -EISDIR)
                k = merr_set(
                        err, k, "%s is a directory in sandbox %s: mbox cp copies one file", path, r->name);
        free(listing);
        free(into);
        return k;
}

static const char cp_usage[] =
        "Usage: mbox cp [OPTION]... LOCAL SANDBOX:PATH\n"
        "   or: mbox cp [OPTION]... SANDBOX:PATH LOCAL\n"
        "Copies one file into a running sandbox or out of it, as `kubectl cp` does for a pod. PATH is\n"
        "absolute; a PATH ending with / or naming a directory takes the file by its own name, and so does\n"
        "a LOCAL directory; LOCAL - is stdout. Uploads keep the file's mode and are limited to 1 MiB\n"
        "(mbox-apiserver's limit). Downloads stream whatever their size, with a progress line when stderr\n"
        "is a terminal. Needs get (download) or update (upload) on sandboxes/files in runtime.mbox.dev:\n"
        "project Viewers download, Developers also upload.\n"
        "\nExamples:\n"
        "  mbox cp -p demo ./config.json demo-sandbox:/workspace/\n"
        "  mbox cp -p demo demo-sandbox:/workspace/out/report.html .\n"
        "  mbox cp -p demo demo-sandbox:/workspace/data.csv - | head\n";

int cli_cp(int argc, char **argv) {
        struct cli_target t = {0};
        struct flag_args args;
        const struct flag flags[] = {
                CLI_TARGET_FLAGS(&t),
                {0},
        };
        int rc = flag_main_args("mbox cp", cp_usage, flags, argc, argv, &args);
        if (rc >= 0)
                return rc;
        char sandbox[2][254];
        const char *paths[2] = {NULL, NULL};
        bool from = args.n_pos == 2 && remote(args.pos[0], sandbox[0], sizeof(sandbox[0]), &paths[0]),
             to = args.n_pos == 2 && remote(args.pos[1], sandbox[1], sizeof(sandbox[1]), &paths[1]);
        bool up = to && !from, down = from && !to;
        const char *path = up ? paths[1] : paths[0];
        if (args.n_rest > 0 || (!up && !down)) {
                fprintf(stderr, "mbox cp: give LOCAL SANDBOX:PATH or SANDBOX:PATH LOCAL (see --help)\n");
                return 2;
        }
        if (path[0] != '/') {
                fprintf(stderr, "mbox cp: the path in the sandbox must be absolute, not '%s'\n", path);
                return 2;
        }
        struct merr err = MERR_INIT;
        struct kube_client *c = NULL;
        char ns[64];
        if (cli_connect(&t, &c, ns, &err) < 0)
                return cli_fail(&err);
        kube_client_set_timeout(c, 0); /* the server bounds an upload (2 min) and a download (1 h) */
        struct kube_resource r = {.group = "runtime.mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = ns,
                .name = sandbox[up ? 1 : 0],
                .subresource = "files"};
        rc = up ? upload(c, &r, args.pos[0], path, &err) : download(c, &r, path, args.pos[1], &err);
        kube_client_free(c);
        return rc < 0 ? cli_fail(&err) : 0;
}
