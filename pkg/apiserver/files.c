/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files subresource of a Sandbox (sandboxes/NAME/files?path=/ABS/PATH): list a directory or download a
 * file (GET), upload a file (PUT), remove a file or directory (DELETE), in the sandbox's main container
 * while it runs (docs/sessions.md, "Files").
 *
 * Everything is done by standard tools in the container (sh, stat, cat, readlink, mktemp, chmod, mv, rm,
 * rmdir: what BusyBox and GNU coreutils both have, with the options both take), each operation one small
 * POSIX sh script given as argv with the path as "$1", never put into the script's text. A script tells
 * what went wrong by its exit code (see below) and the tool's message on stderr, read in the C locale.
 *
 * A listing is stat -c '%f %s %Y' per entry (raw mode in hex, size, modification time) on a line, then
 * the name ended by a NUL (a name may hold a newline, never a NUL), then for a symlink its target ended by
 * a NUL. These bytes come from inside the sandbox, which its user controls: they are parsed strictly and
 * bounded (api_files_parse_listing(), fuzzed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "operator/runtime.h"
#include "timestamp.h"

#define FILES_PATH_MAX    4095              /* bytes of a path, as PATH_MAX without its NUL */
#define FILES_NAME_MAX    255               /* bytes of one segment */
#define FILES_LISTING_MAX (8 * 1024 * 1024) /* bytes of a directory's listing */
#define FILES_STDERR_MAX  1024              /* what is kept of a tool's message */
#define FILES_TIMEOUT_MS  (120 * 1000L)     /* a listing, an upload, a removal */
#define FILES_DOWNLOAD_MS (3600 * 1000L)    /* a download ends after an hour */

/* The scripts' exit codes, past the tools' own 1 and 2. */
enum {
        FILES_MISSING = 10,  /* 404: the path (or a directory on the way) is not there */
        FILES_CONFLICT = 11, /* 409: a directory where a file goes, a directory that is not empty */
        FILES_BAD = 12,      /* 400: neither a regular file nor a directory */
};

/* GET: "file\0" for a regular file (read next with cat), or "dir\0" and the listing of a directory. The
 * glob finds the dot files too; what vanishes between the glob and its stat is left out. */
static const char list_script[] =
        "export LC_ALL=C\n"
        "p=$1\n"
        "if [ ! -e \"$p\" ]; then stat -L -- \"$p\" >/dev/null; exit 10; fi\n"
        "if [ -f \"$p\" ]; then printf 'file\\0'; exit 0; fi\n"
        "[ -d \"$p\" ] || { echo \"$p is neither a regular file nor a directory\" >&2; exit 12; }\n"
        "cd -- \"$p\" || exit 3\n"
        "printf 'dir\\0'\n"
        "for f in .* *; do\n"
        "        case $f in .|..) continue ;; esac\n"
        "        s=$(stat -c '%f %s %Y' -- \"$f\" 2>/dev/null) || continue\n"
        "        printf '%s\\n%s\\0' \"$s\" \"$f\"\n"
        "        case $s in a*) printf '%s\\0' \"$(readlink -- \"$f\")\" ;; esac\n"
        "done\n";

/* PUT: the body on stdin into a temporary file beside the path's target (symlinks followed), given its
 * mode ($2; else the replaced file's, else 0644), then renamed over it. Prints "created" or "replaced". */
static const char put_script[] =
        "export LC_ALL=C\n"
        "p=$1 mode=$2\n"
        "r=$(readlink -f -- \"$p\") && [ -n \"$r\" ] || { echo \"a directory on the way to $p: No such file "
        "or "
        "directory\" >&2; exit 10; }\n"
        "d=${r%/*}\n"
        "[ -d \"${d:-/}\" ] || { echo \"${d:-/}: No such file or directory\" >&2; exit 10; }\n"
        "[ ! -d \"$r\" ] || { echo \"$p is a directory\" >&2; exit 11; }\n"
        "was=created\n"
        "if [ -e \"$r\" ]; then was=replaced; fi\n"
        "if [ -z \"$mode\" ]; then\n"
        "        mode=644\n"
        "        if [ -f \"$r\" ]; then mode=$(stat -c %a -- \"$r\") || exit 3; fi\n"
        "fi\n"
        "t=$(mktemp \"$d/.mbox-upload.XXXXXX\") || exit 3\n"
        "if cat >\"$t\" && chmod \"$mode\" \"$t\" && mv -f \"$t\" \"$r\"; then echo $was; exit 0; fi\n"
        "rm -f \"$t\"\n"
        "exit 3\n";

/* DELETE: a file or symlink (not what it points to), an empty directory, or with $2 = true a tree. */
static const char delete_script[] =
        "export LC_ALL=C\n"
        "p=$1\n"
        "if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then stat -- \"$p\" >/dev/null; exit 10; fi\n"
        "if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then\n"
        "        if [ \"$2\" = true ]; then rm -rf -- \"$p\" || exit 3; exit 0; fi\n"
        "        rmdir -- \"$p\" && exit 0\n"
        "        [ -z \"$(ls -A -- \"$p\" 2>/dev/null)\" ] || { echo \"$p is a directory that is not empty: "
        "add "
        "recursive=true to remove it with what it holds\" >&2; exit 11; }\n"
        "        exit 3\n"
        "fi\n"
        "rm -f -- \"$p\" || exit 3\n";

/* ---- the listing ---- */

/* The decimal at *p (an optional '-' when sign), up to stop; advances *p past it. */
static bool parse_dec(const char **p, const char *end, char stop, bool sign, int64_t *ret) {
        const char *s = *p;
        bool neg = sign && s < end && *s == '-';
        uint64_t v = 0;
        size_t n = 0;
        if (neg)
                s++;
        for (; s < end && *s >= '0' && *s <= '9'; s++, n++) {
                if (n >= 19)
                        return false;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (n == 0 || s == end || *s != stop || v > (uint64_t) INT64_MAX)
                return false;
        *ret = neg ? -(int64_t) v : (int64_t) v;
        *p = s + 1;
        return true;
}

static bool parse_hex(const char **p, const char *end, char stop, unsigned *ret) {
        const char *s = *p;
        unsigned v = 0;
        size_t n = 0;
        for (; s < end && n < 5; s++, n++) {
                int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
                if (d < 0)
                        break;
                v = v * 16 + (unsigned) d;
        }
        if (n == 0 || n > 4 || s == end || *s != stop)
                return false;
        *ret = v;
        *p = s + 1;
        return true;
}

/* A NUL-ended field of 1 (0 when may_be_empty) to max bytes at *p; advances *p past its NUL. */
static bool parse_field(
        const char **p, const char *end, size_t max, bool may_be_empty, const char **ret, size_t *ret_len) {
        const char *nul = memchr(*p, '\0', (size_t) (end - *p));
        size_t n = nul ? (size_t) (nul - *p) : 0;
        if (!nul || n > max || (n == 0 && !may_be_empty))
                return false;
        *ret = *p;
        *ret_len = n;
        *p = nul + 1;
        return true;
}

static const char *type_of(unsigned mode) {
        switch (mode & S_IFMT) {
        case S_IFREG:
                return "file";
        case S_IFDIR:
                return "dir";
        case S_IFLNK:
                return "symlink";
        default:
                return "other";
        }
}

int api_files_parse_listing(const char *data, size_t len, json_object **ret, struct merr *err) {
        _cleanup_json_ json_object *items = json_object_new_array();
        const char *p = data, *end = data + len;
        if (!items)
                return merr_set(err, -ENOMEM, "out of memory");
        while (p < end) {
                const char *entry = p, *name, *target = NULL;
                size_t name_len, target_len = 0;
                unsigned mode;
                int64_t size, mtime;
                if (!parse_hex(&p, end, ' ', &mode) || !parse_dec(&p, end, ' ', false, &size) ||
                        !parse_dec(&p, end, '\n', true, &mtime))
                        return merr_set_input(err, -EINVAL, "listing entry", entry, (size_t) (end - entry),
                                "at byte %zu: expected hex mode, size and time", (size_t) (entry - data));
                if (!parse_field(&p, end, FILES_NAME_MAX, false, &name, &name_len) ||
                        memchr(name, '/', name_len) || (name_len == 1 && name[0] == '.') ||
                        (name_len == 2 && name[0] == '.' && name[1] == '.'))
                        return merr_set_input(err, -EINVAL, "listing entry", entry, (size_t) (end - entry),
                                "at byte %zu: expected a name of 1 to %d bytes without '/' ended by a NUL",
                                (size_t) (entry - data), FILES_NAME_MAX);
                if ((mode & S_IFMT) == S_IFLNK &&
                        !parse_field(&p, end, FILES_PATH_MAX, true, &target, &target_len))
                        return merr_set_input(err, -EINVAL, "listing entry", entry, (size_t) (end - entry),
                                "at byte %zu: expected a symlink's target ended by a NUL",
                                (size_t) (entry - data));
                json_object *item = json_object_new_object();
                char octal[8], when[TIMESTAMP_STR_MAX];
                struct timestamp t = {.sec = mtime};
                if (!item || json_object_array_add(items, item) < 0) {
                        json_object_put(item);
                        return merr_set(err, -ENOMEM, "out of memory");
                }
                json_object_object_add(item, "name", json_object_new_string_len(name, (int) name_len));
                api_put(item, "type", type_of(mode));
                json_object_object_add(item, "size", json_object_new_int64(size));
                snprintf(octal, sizeof(octal), "%04o", mode & 07777);
                api_put(item, "mode", octal);
                /* a time outside years 0000-9999 has no RFC 3339 form: left out */
                if (timestamp_format(&t, when, sizeof(when)) >= 0)
                        api_put(item, "modTime", when);
                if (target)
                        json_object_object_add(
                                item, "target", json_object_new_string_len(target, (int) target_len));
        }
        *ret = TAKE_PTR(items);
        return 0;
}

/* ---- requests ---- */

const char *api_files_path_problem(const char *path) {
        size_t len = path ? strlen(path) : 0;
        if (!path || !*path)
                return "path is required: ?path=/absolute/path/in/the/sandbox";
        if (len > FILES_PATH_MAX)
                return "path is longer than 4095 bytes";
        if (path[0] != '/')
                return "path must be absolute (start with /)";
        for (const char *c = path; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return "path must not hold control characters";
        if (len == 1)
                return NULL;
        for (const char *seg = path + 1;;) {
                const char *slash = strchr(seg, '/');
                size_t n = slash ? (size_t) (slash - seg) : strlen(seg);
                if (n == 0)
                        return "path must not have empty segments (// or a trailing /)";
                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return "path must not have . or .. segments";
                if (n > FILES_NAME_MAX)
                        return "path has a segment longer than 255 bytes";
                if (!slash)
                        return NULL;
                seg = slash + 1;
        }
}

/* What a script said: stdout (capped; past the cap the exec is ended with -ENOBUFS), and the start of
 * stderr (the rest dropped). */
struct said {
        struct buf out, errout;
};

static int to_out(const char *data, size_t len, void *ud) {
        struct said *w = ud;
        return buf_append(&w->out, data, len);
}

static int to_err(const char *data, size_t len, void *ud) {
        struct said *w = ud;
        size_t room = w->errout.max - w->errout.len;
        (void) buf_append(&w->errout, data, len < room ? len : room);
        return 0;
}

/* Runs script with args in sb's main container: its exit code, or < 0 with the request answered. */
static int run_script(struct httpd_request *req, struct apiserver *s, const struct api_sandbox *sb,
        const char *script, const char *arg1, const char *arg2, const void *in, size_t in_len, bool has_in,
        struct said *w) {
        struct merr err = MERR_INIT;
        const char *const argv[] = {"sh", "-c", script, "sh", arg1, arg2, NULL};
        struct kube_exec_opts o = {.namespace = sb->ns,
                .pod = sb->pod,
                .container = RUNTIME_CONTAINER,
                .command = argv,
                .stdin_fd = -1,
                .stdin_data = in,
                .stdin_len = in_len,
                .has_stdin = has_in,
                .on_stdout = to_out,
                .on_stderr = to_err,
                .userdata = w,
                .timeout_ms = FILES_TIMEOUT_MS};
        int r = api_pod_exec(s, &o, &err);
        if (r == -ENOBUFS)
                httpd_respond_status(req, 500, "InternalError",
                        "the listing of %s is larger than %d MiB: list its subdirectories, or use exec", arg1,
                        FILES_LISTING_MAX / (1024 * 1024));
        else if (r < 0)
                httpd_respond_status(req, 503, "ServiceUnavailable", "running in sandbox %s: %s", sb->name,
                        merr_msg(&err));
        return r;
}

/* The tool's message: the last line of stderr, printable ASCII only. */
static const char *message_of(struct said *w, char *buf, size_t size) {
        const char *e = buf_str(&w->errout), *last = e;
        size_t n = 0;
        for (const char *c = e; *c; c++)
                if (*c == '\n' && c[1])
                        last = c + 1;
        for (; *last && *last != '\n' && n + 1 < size; last++)
                buf[n++] = (*last >= 0x20 && *last < 0x7f) ? *last : '?';
        buf[n] = '\0';
        return buf;
}

/* Answers a script's failure (exit code k) on path in sb. */
static void respond_failure(
        struct httpd_request *req, const struct api_sandbox *sb, const char *path, int k, struct said *w) {
        char msg[FILES_STDERR_MAX];
        message_of(w, msg, sizeof(msg));
        /* the container's user may not: whatever the step, as the tool said */
        if (strstr(msg, "Permission denied") || strstr(msg, "Operation not permitted") ||
                strstr(msg, "Read-only file system"))
                httpd_respond_status(req, 403, "Forbidden", "%s in sandbox %s: %s", path, sb->name, msg);
        else if (k == FILES_MISSING) {
                /* "stat: can't stat '/x': No such file or directory": the reason is after the last ": " */
                const char *why = strrchr(msg, ':');
                httpd_respond_status(req, 404, "NotFound", "%s not found in sandbox %s: %s", path, sb->name,
                        why && why[1] == ' ' ? why + 2 : "No such file or directory");
        } else if (k == FILES_CONFLICT)
                httpd_respond_status(req, 409, "Conflict", "%s (in sandbox %s)", msg, sb->name);
        else if (k == FILES_BAD)
                httpd_respond_status(req, 400, "BadRequest", "%s (in sandbox %s)", msg, sb->name);
        else
                httpd_respond_status(req, 500, "InternalError", "%s in sandbox %s: %s (exit code %d)", path,
                        sb->name, *msg ? msg : "the command failed", k);
}

/* A metav1.Status of Success, with code and a message. */
static void respond_success(struct httpd_request *req, int code, const char *fmt, ...) _printf_(3, 4);
static void respond_success(struct httpd_request *req, int code, const char *fmt, ...) {
        _cleanup_json_ json_object *st = json_object_new_object();
        char msg[FILES_PATH_MAX + 64];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        api_put(st, "kind", "Status");
        api_put(st, "apiVersion", "v1");
        json_object_object_add(st, "metadata", json_object_new_object());
        api_put(st, "status", "Success");
        api_put(st, "message", msg);
        json_object_object_add(st, "code", json_object_new_int(code));
        api_respond_json(req, code, st);
}

static bool download_end(int result, const struct merr *err, void *ud) {
        (void) err;
        (void) ud;
        return result == 0; /* a failure midway breaks the download off: never taken for the whole file */
}

static const struct api_pod_stream_hooks download_hooks = {.on_end = download_end};

static void get(
        struct httpd_request *req, struct apiserver *s, const struct api_sandbox *sb, const char *path) {
        struct said w = {BUF_INIT(FILES_LISTING_MAX), BUF_INIT(FILES_STDERR_MAX)};
        int k = run_script(req, s, sb, list_script, path, NULL, NULL, 0, false, &w);
        if (k > 0)
                respond_failure(req, sb, path, k, &w);
        else if (k == 0 && w.out.len >= 5 && memcmp(w.out.data, "file", 5) == 0) {
                const char *const cat[] = {"cat", "--", path, NULL};
                struct api_pod_command cmd = {.ns = sb->ns,
                        .pod = sb->pod,
                        .container = RUNTIME_CONTAINER,
                        .argv = cat,
                        .timeout_ms = FILES_DOWNLOAD_MS};
                api_pod_stream(req, s, &cmd, "application/octet-stream", &download_hooks, NULL);
        } else if (k == 0 && w.out.len >= 4 && memcmp(w.out.data, "dir", 4) == 0) {
                struct merr err = MERR_INIT;
                json_object *items = NULL;
                if (api_files_parse_listing(w.out.data + 4, w.out.len - 4, &items, &err) < 0)
                        httpd_respond_status(req, 500, "InternalError", "the listing of %s in sandbox %s: %s",
                                path, sb->name, merr_msg(&err));
                else {
                        _cleanup_json_ json_object *list = json_object_new_object();
                        api_put(list, "kind", "FileList");
                        api_put(list, "apiVersion", API_GV);
                        api_put(list, "path", path);
                        json_object_object_add(list, "items", items);
                        api_respond_json(req, 200, list);
                }
        } else if (k == 0)
                httpd_respond_status(req, 500, "InternalError", "reading %s in sandbox %s: unexpected output",
                        path, sb->name);
        buf_release(&w.out);
        buf_release(&w.errout);
}

/* ?mode: 3 or 4 octal digits. */
static bool valid_mode(const char *m) {
        size_t n = strspn(m, "01234567");
        return (n == 3 || n == 4) && m[n] == '\0';
}

static void put(
        struct httpd_request *req, struct apiserver *s, const struct api_sandbox *sb, const char *path) {
        const char *mode = httpd_request_query(req, "mode");
        size_t len = 0;
        const void *body = httpd_request_body(req, &len);
        if (mode && !valid_mode(mode)) {
                httpd_respond_status(req, 400, "BadRequest", "mode must be 3 or 4 octal digits, as 0644");
                return;
        }
        struct said w = {BUF_INIT(64), BUF_INIT(FILES_STDERR_MAX)};
        int k = run_script(req, s, sb, put_script, path, mode ? mode : "", body, len, true, &w);
        if (k > 0)
                respond_failure(req, sb, path, k, &w);
        else if (k == 0) {
                bool created = strcmp(buf_str(&w.out), "created\n") == 0;
                respond_success(req, created ? 201 : 200, "%s %s: %zu bytes",
                        created ? "created" : "replaced", path, len);
        }
        buf_release(&w.out);
        buf_release(&w.errout);
}

static void delete (
        struct httpd_request *req, struct apiserver *s, const struct api_sandbox *sb, const char *path) {
        const char *rec = httpd_request_query(req, "recursive");
        if (rec && strcmp(rec, "true") != 0 && strcmp(rec, "false") != 0) {
                httpd_respond_status(req, 400, "BadRequest", "recursive must be true or false");
                return;
        }
        if (strcmp(path, "/") == 0) {
                httpd_respond_status(req, 400, "BadRequest", "path / cannot be deleted");
                return;
        }
        struct said w = {BUF_INIT(64), BUF_INIT(FILES_STDERR_MAX)};
        int k = run_script(req, s, sb, delete_script, path, rec ? rec : "false", NULL, 0, false, &w);
        if (k > 0)
                respond_failure(req, sb, path, k, &w);
        else if (k == 0) {
                respond_success(req, 200, "deleted %s", path);
        }
        buf_release(&w.out);
        buf_release(&w.errout);
}

void api_sandbox_files(const struct api_request *r) {
        struct httpd_request *req = r->req;
        const char *method = httpd_request_method(req);
        const char *path = httpd_request_query(req, "path");
        const char *why = api_files_path_problem(path);
        struct api_sandbox sb;
        if (why) {
                httpd_respond_status(req, 400, "BadRequest", "%s", why);
                return;
        }
        if (!r->namespace) {
                httpd_respond_status(req, 404, "NotFound",
                        "sandboxes are namespaced: /namespaces/NS/sandboxes/%s/files", r->name);
                return;
        }
        if (api_sandbox_running(req, r->s, r->namespace, r->name, &sb) < 0)
                return;
        if (strcmp(method, "PUT") == 0)
                put(req, r->s, &sb, path);
        else if (strcmp(method, "DELETE") == 0)
                delete (req, r->s, &sb, path);
        else
                get(req, r->s, &sb, path);
}
