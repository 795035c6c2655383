/* SPDX-License-Identifier: Apache-2.0 */
/* What the apiserver's files share. Not installed; only pkg/apiserver includes it. */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "apiserver/apiserver.h"
#include "apiserver/resource.h"
#include "buf.h"
#include "httpd.h"
#include "httpmsg.h"
#include "kube/exec.h"
#include "kube/pool.h"
#include "metrics.h"
#include "store/project.h"
#include "store/store.h"
#include "strmap.h"

struct informer;
struct project;

#define API_GROUP   "runtime.mbox.dev"
#define API_VERSION "v1alpha1"
#define API_GV      API_GROUP "/" API_VERSION
#define API_PREFIX  "/apis/" API_GV

#define API_MAX_UNTRUSTED       256 /* connections open before kube-apiserver's front proxy used them */
#define API_UNTRUSTED_TIMEOUT_S 10  /* how long such a connection may stay silent */

struct apiserver {
        struct apiserver_options opt;
        char **allowed; /* copies */
        struct httpd *httpd;
        struct kube_pool *clients;
        struct store *store;
        pthread_mutex_t lock; /* guards authz, tokens and the database check */
        long long db_checked_ms;
        bool db_ok;
        struct strmap *authz;  /* cached SubjectAccessReview answers */
        struct strmap *tokens; /* cached TokenReview answers, by the token's SHA-256 */
        struct api_mirror *mirror;
        /* requests in flight (inflight.c), under lock */
        struct strmap *loads; /* by user name: struct api_load */
        unsigned n_short, n_long;
        /* exec and terminal sessions (session.c), under lock: open ones by "s\tNS/SANDBOX" and "u\tUSER"
         * (long), and their count, which api_sessions_stop() waits to see at 0 */
        struct strmap *sessions;
        long n_sessions;
        pthread_cond_t sessions_done;
        atomic_bool sessions_stopping;
        struct api_preview_log *preview_log; /* the access log of previews (previewaccess.c) */
        /* metrics.c */
        struct metrics *metrics;
        struct metric *m_requests, *m_latency, *m_in_flight, *m_rejected, *m_connections, *m_evicted,
                *m_db_connections, *m_db_max, *m_db_waits, *m_db_busy, *m_mirror_leading, *m_mirror_queued,
                *m_mirror_lag, *m_mirror_gaps, *m_mirror_relists, *m_preview_requests, *m_preview_dropped;
        pthread_mutex_t scrape_lock; /* one scrape at a time sets the counters it reads */
        char identity[256];          /* of this replica in leader election, unless opt.leader names one */
        /* signs and verifies preview grants and their cookies (pkg/previewtoken.h): the key of
         * opt.preview_key_file, else one made at start */
        struct preview_key *preview_key;
        struct api_previews *previews;         /* previews.c */
        struct informer *projects;             /* projects.c */
        struct api_output_waits *output_waits; /* outputwait.c; NULL without a database */
        struct api_listener *gateway;          /* gateway.c; NULL without opt.preview_listen */
        struct api_listener *console;          /* console.c; NULL without opt.console_listen */
};

/* A running sandbox (sandbox.c): where a request on it goes. */
struct api_sandbox {
        char ns[64], name[254], pod[254];
        char template_ns[64], template_name[254]; /* the template it was made from ("": unknown) */
};
/* The mbox.dev Sandbox ns/name while it runs, with its pod, into ret; or < 0 with the request answered: 404
 * when there is no such sandbox, 409 when it does not run, 503 when it cannot be read. */
int api_sandbox_running(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name,
        struct api_sandbox *ret);

/* Whether user may open a Private port of the mbox.dev Sandbox ns/sandbox (previewgrant.c): its creator
 * (the annotation mbox.dev/creator; NULL or "": not recorded) may, and so may whoever a
 * SubjectAccessReview allows the verb "private" on sandboxes/proxy in ns (project admins). Returns 1
 * allowed, 0 not, < 0 with err when the review could not be made. */
int api_preview_private_allowed(struct apiserver *s, const struct api_user *user, const char *ns,
        const char *sandbox, const char *creator, struct merr *err);
/* ---- followers of task output (outputwait.c) */
int api_output_waits_start(struct apiserver *s, struct merr *err);
void api_output_waits_stop(struct apiserver *s);
/* A follower of task uid's output begins (its notifications are counted from now on): the count so far. */
unsigned long long api_output_follow(struct apiserver *s, const char *uid);
void api_output_unfollow(struct apiserver *s, const char *uid);
/* Waits until uid's output is notified past seen, or timeout_ms: the count now. */
unsigned long long api_output_wait(
        struct apiserver *s, const char *uid, unsigned long long seen, long timeout_ms);

/* ---- projects (projects.c) */
int api_projects_new(struct apiserver *s, struct merr *err);
int api_projects_start(struct apiserver *s, struct merr *err);
void api_projects_free(struct apiserver *s);
/* The Project name, from the cache, else from kube-apiserver (-ENOENT: no such project). */
int api_project_get(struct apiserver *s, const char *name, struct project **ret, struct merr *err);

/* ---- previews (previews.c, gateway.c, sandboxproxy.c; docs/previews.md) */

/* One preview port of a sandbox, as the sandbox cache has it. */
struct api_preview_target {
        char ns[64], name[254], uid[64], creator[256];
        char phase[32], reason[64], state[16], pod[254], pod_ip[64], stopped_at[40];
        char port_name[16], visibility[16], url[512];
        uint16_t port;
        bool running;      /* Running, with a pod */
        bool idle_stopped; /* stopped by its idle timeout: a request wakes it */
};
int api_previews_new(struct apiserver *s, struct merr *err);
/* The Sandbox ns/name as the sandbox cache has it (a copy, the caller's), or NULL. */
json_object *api_sandbox_cached(struct apiserver *s, const char *ns, const char *name);
int api_previews_start(struct apiserver *s, struct merr *err);
void api_previews_free(struct apiserver *s);
/* Requests that wait for a sandbox to run give up now (shutdown). */
void api_previews_stopping(struct apiserver *s);
/* The preview whose gateway host label is label (PORT--SANDBOX--PROJECT), or with label NULL the port
 * named port of sandbox ns/name, into ret. Returns 0, -ENOENT for no such sandbox (or no such label),
 * -ENXIO for a sandbox without that port (ret has the sandbox), -EEXIST for a label two sandboxes share. */
int api_preview_find(struct apiserver *s, const char *label, const char *ns, const char *name,
        const char *port, struct api_preview_target *ret);
/* Makes sure t runs: 0 when it does; an idle-stopped sandbox is woken (an Event names who) and waited for
 * up to wait_ms, t refreshed: 0 once Running, -EINPROGRESS while it starts; -EAGAIN for a sandbox that a
 * request does not start (stopped by its user, failed), -ENOENT once it is gone. */
int api_preview_ready(struct apiserver *s, struct api_preview_target *t, long wait_ms, const char *who);
/* A request reached t: its sandbox's lastActivityAt moves (at most every 2 s). */
void api_preview_activity(struct apiserver *s, const struct api_preview_target *t);
/* A connected socket to t's port (its pod's IP or a port-forward, --preview-transport), or < 0 with err. */
int api_preview_connect(struct apiserver *s, const struct api_preview_target *t, struct merr *err);
int api_gateway_start(struct apiserver *s, struct merr *err);
/* upstream.c: sockets with time limits: read what is there (> 0, 0 at the end, -ETIMEDOUT, -errno);
 * write it all (0 or < 0) */
ssize_t api_sock_read(int fd, void *buf, size_t len, long timeout_ms);
int api_sock_write(int fd, const void *data, size_t len, long timeout_ms);
/* A connection to a preview's pod, and what was read from it and not yet used. */
struct api_upstream {
        int fd; /* -1: none */
        char buf[16 * 1024];
        size_t len;
};
void api_upstream_close(struct api_upstream *u);
/* Drops the first n buffered bytes. */
void api_upstream_consume(struct api_upstream *u, size_t n);
/* Reads the pod's response head into u->buf (it stays there: consume it): its size, or -E2BIG past 16 KiB,
 * -EBADMSG, -ETIMEDOUT, -EPIPE. */
long api_upstream_read_head(struct api_upstream *u, struct http_head *h, long timeout_ms);
/* The next piece of body b into out (at most max): from the len bytes buffered at buf (cap bytes of room)
 * first, then from fd. Bytes past the body's end stay in buf. Returns the piece's size, 0 at the body's
 * end, or < 0. */
ssize_t api_body_next(struct http_body *b, int fd, char *buf, size_t *len, size_t cap, char *out, size_t max,
        long timeout_ms);
/* Passes bytes both ways between a and b (an upgraded connection), counting them, until one side ends, both
 * are silent for idle_ms, or *stop is set; active(ud) is called after each second in which bytes moved (an
 * open WebSocket is the sandbox's activity). */
struct api_relay_opts {
        long idle_ms;
        const atomic_bool *stop; /* NULL: none */
        void (*active)(void *ud);
        void *ud;
};
void api_relay(int a, int b, const struct api_relay_opts *o, uint64_t *a_to_b, uint64_t *b_to_a);
/* Passes body b from one socket to the other as it comes: first what is buffered (*len bytes at buf, cap
 * bytes of room, taken from the front; what follows the body stays there), then what from sends, adding
 * to *count. 0 at its end, or < 0. */
int api_pass_body(struct http_body *b, int from, char *buf, size_t *len, size_t cap, int to, uint64_t *count,
        long timeout_ms);
void api_gateway_stop(struct apiserver *s);

/* ---- listeners of their own for browsers (listener.c): the preview gateway and the console */

#define API_HEAD_MAX (16 * 1024) /* bytes of a request or response head */

struct api_listener {
        const char *what; /* "preview gateway": names it in messages */
        unsigned max;     /* connections at once; more are answered 503 and closed */
        /* runs one connection on a thread of its own and returns when it is over; the listener closes fd */
        void (*serve)(struct api_listener *l, int fd, int slot, const char *peer);
        void *ud; /* the owner's */
        int fd;
        pthread_t thread;
        int wake[2]; /* a byte stops the accept loop */
        pthread_mutex_t lock;
        pthread_cond_t idle;
        unsigned conns;     /* connection threads alive */
        int *clients, *ups; /* per slot: the client's socket and its upstream's, shut down on stop (-1) */
};
/* Binds addr ("127.0.0.1:8080", "[::1]:0", ":8080"; flag names it in messages), accepts on a thread of
 * its own, and logs "<what> listening" with the port. Returns 0 with *ret, or < 0 with err. */
int api_listener_new(const char *what, const char *flag, const char *addr, unsigned max,
        void (*serve)(struct api_listener *l, int fd, int slot, const char *peer), void *ud,
        struct api_listener **ret, struct merr *err);
/* Stops accepting, shuts every connection down, waits until their threads are over, and frees l. Accepts
 * NULL. */
void api_listener_free(struct api_listener *l);
/* The socket that the connection in slot waits on upstream (-1: none): shut down on stop too. */
void api_listener_set_upstream(struct api_listener *l, int slot, int fd);
/* Reads requests from fd one after the other: each head into buf (*len bytes there already, cap of room)
 * and h, then serve(conn, n) with its size n, which answers it (and passes its body on) and says whether
 * the connection may carry another. A head larger than cap (n -E2BIG) or not HTTP/1.1 (-EBADMSG) is
 * served too, to be refused; it ends the connection. Returns when the connection ends, was silent idle_ms
 * between requests (or 30 s within a head), or serve() said so; then the client gets a second to take the
 * last answer before the caller closes fd. */
void api_serve_requests(int fd, char *buf, size_t cap, size_t *len, struct http_head *h, long idle_ms,
        bool (*serve)(void *conn, long n), void *conn);
/* The next "name=value" pair of a Cookie field's value, from *p up to e: false at the end. */
bool api_cookie_next(const char **p, const char *e, const char **pair, size_t *len);
/* Whether the pair is the cookie named name. */
bool api_cookie_is(const char *pair, size_t len, const char *name);
/* How many cookies named name the request carries. */
size_t api_cookie_count(const struct http_head *h, const char *name);
/* The value of the n-th cookie named name in the request's Cookie fields into out; false when there is no
 * n-th, or its value does not fit size. */
bool api_cookie_get(const struct http_head *h, const char *name, size_t n, char *out, size_t size);

/* ---- the console (console.c, consoleproxy.c; docs/console.md) */
int api_console_start(struct apiserver *s, struct merr *err);
void api_console_stop(struct apiserver *s);
/* The bearer token of a sign-in body ({"token":"…"}) into out. Returns 0, -EBADMSG for a body that is not
 * such an object, -EINVAL for a token that is empty or holds a character that a cookie cannot carry
 * (tokens are printable ASCII), -E2BIG for one that does not fit size. */
int api_console_signin_token(const char *body, size_t len, char *out, size_t size);
/* The file below the console's directory that a request path (as sent: escaped, without the query) names,
 * into out ("" for "/"), each segment percent-decoded on its own. Returns 0, -EINVAL for a path that does
 * not start with '/', or has a segment that is empty (but for a trailing slash), "." or "..", or holds a
 * NUL, a '/' or a backslash once decoded; -E2BIG when it does not fit size, -ENOMEM. */
int api_console_file(const char *path, size_t len, char *out, size_t size);

/* Ends every session (session.c) and waits until they are over; new ones are refused 503. */
void api_sessions_stop(struct apiserver *s);
/*
 * The access log of previews (previewaccess.c; docs/previews-access.md): the preview gateway and the
 * sandboxes/NAME/proxy subresource note every request they answered, and the notes are added up by key and
 * minute and written as PreviewAccess records (pkg/store/previewaccess.h) every
 * --preview-access-flush-interval and at shutdown.
 */
struct api_preview_hit {
        const char *namespace, *sandbox, *sandbox_uid, *port;
        const char *user;  /* the Kubernetes user, or "" for an anonymous request to a Public port */
        const char *grant; /* the grant id that admitted a browser request, or NULL */
        const char *via;   /* "Gateway" or "Proxy" */
        int status;        /* the HTTP status sent to the client (101 for a WebSocket) */
        uint64_t bytes_in, bytes_out; /* body bytes (whole connection bytes for an upgrade) */
        int64_t duration_us;
};
/* Thread-safe, never blocks on the database: adds h to the in-memory aggregate. A hit that cannot be kept
 * (no database, API_PREVIEW_ACCESS_MAX_KEYS windows held, a name past its bound, via neither Gateway nor
 * Proxy) is counted in mbox_preview_access_dropped_total. Call it only between apiserver_new() and the end
 * of the request in apiserver_free(). */
void api_preview_access_note(struct apiserver *s, const struct api_preview_hit *h);
/* The aggregate and its flush thread, made by apiserver_new() (-ENOMEM), started by apiserver_start() when
 * there is a database, stopped by apiserver_free() once no request runs: a last flush (also when it was
 * never started), then freed. */
int api_preview_log_new(struct apiserver *s);
int api_preview_log_start(struct apiserver *s, struct merr *err);
void api_preview_log_stop(struct apiserver *s);

/* The aggregate itself, apart from the apiserver (its unit test). Thread-safe. */
#define API_PREVIEW_ACCESS_MAX_KEYS 10000 /* windows (key and minute) held in memory at most */
struct api_preview_access;
struct api_preview_access *api_preview_access_new(size_t max_keys);
struct api_preview_access *api_preview_access_free(struct api_preview_access *pa);
/* Adds h, answered at now_us (microseconds since the epoch), to the window of its key and minute: 0, or
 * -ENOSPC when that window is new and max_keys are held, -EINVAL for a hit that cannot be a row, -ENOMEM;
 * the hit is dropped then. */
int api_preview_access_add(struct api_preview_access *pa, const struct api_preview_hit *h, int64_t now_us);
/* Hands over every window held and starts afresh: a map (the caller frees it with strmap_free()) whose
 * values are struct store_preview_access (pkg/store/previewaccess.h); NULL when out of memory. */
struct strmap *api_preview_access_take(struct api_preview_access *pa);

/* Commands in a running sandbox's pod (podexec.c), through pods/exec with mbox-apiserver's own client. */
/* Runs o to its end: the exit code (0..255), or < 0 with err (kube_exec()'s failures). */
int api_pod_exec(struct apiserver *s, const struct kube_exec_opts *o, struct merr *err);
struct api_pod_command {
        const char *ns, *pod;
        const char *container;   /* NULL: the pod's only container */
        const char *const *argv; /* NULL-terminated, at most 8 */
        long timeout_ms;         /* 0: none */
};
/* What a stream's owner hears, and frees; ud is its own. */
struct api_pod_stream_hooks {
        /* each piece as it goes out, on the connection's thread; NULL: none */
        void (*on_data)(const char *data, size_t len, void *ud);
        /* at the end of the output, with the command's exit code or < 0 (and err): true ends the response
         * cleanly, false breaks the connection off so that the client sees an incomplete download */
        bool (*on_end)(int result, const struct merr *err, void *ud);
        void (*free)(void *ud); /* NULL: nothing to free */
};
/* Responds 200 with the stdout of cmd (copied) as it comes, as content_type: the command runs on a thread
 * of its own and writes into a pipe the connection's thread reads (httpd_respond_stream()), so a slow
 * client slows the command down instead of filling memory. ud is handed over: hooks->free(ud) is called
 * once in every case, also when the stream cannot start (then the request is answered 500). */
void api_pod_stream(struct httpd_request *req, struct apiserver *s, const struct api_pod_command *cmd,
        const char *content_type, const struct api_pod_stream_hooks *hooks, void *ud);

/* The listing of a directory as sandboxes/files reads it from inside the sandbox (files.c), the len bytes
 * at data, into a new array of FileList items. Returns 0, or -EINVAL with what is wrong where (the bytes
 * are untrusted), -ENOMEM. */
int api_files_parse_listing(const char *data, size_t len, json_object **ret, struct merr *err);
/* Why path is not one sandboxes/files takes, for a 400 that names path (NULL: it is): absolute, without
 * empty, "." or ".." segments or control characters, at most 4095 bytes and 255 a segment. */
const char *api_files_path_problem(const char *path);

/* The caller, from the front-proxy headers. */
struct api_user {
        char name[256];
        char uid[128];
        /* room for users of large directories: a hundred groups or so (4 KiB each list; more is refused) */
        char groups[4096]; /* NUL-separated, ends with an empty string */
        size_t n_groups;
        char extra[4096]; /* key NUL value NUL pairs (a key once per value), ends with an empty key */
        size_t n_extra;
};

/* What a request asks for, as a SubjectAccessReview's resourceAttributes, or with path its
 * nonResourceAttributes ("/metrics"). */
struct api_attrs {
        const char *verb, *namespace, *resource, *subresource, *name;
        const char *path;
};

/* Authenticates the request (front-proxy client certificate + headers) into user. On failure the request
 * has been answered (401) and a negative errno is returned. */
int api_authenticate(struct apiserver *s, struct httpd_request *req, struct api_user *user);
/* Whether user may do attrs, by a SubjectAccessReview (cached): 1 allowed, 0 not (the reviewer's reason,
 * if any, into why), < 0 with err when it could not be asked. Answers nothing: for checks past the
 * request's own. */
int api_access(struct apiserver *s, const struct api_user *user, const struct api_attrs *attrs, char *why,
        size_t size, struct merr *err);
/* Authorizes user for attrs with a SubjectAccessReview (cached). On refusal or failure the request has
 * been answered (403, 500) and a negative errno is returned. */
int api_authorize(struct apiserver *s, struct httpd_request *req, const struct api_user *user,
        const struct api_attrs *attrs);

/*
 * A request from start to end (inflight.c): api_call_begin() at the start of a handler; once the caller is
 * known and what it asks for, api_call_admit() counts it against the limits of requests in flight (answers
 * 429 with Retry-After and returns < 0 beyond them). When its response has been sent whole (a watch or a
 * follow: when it ends) the call is released and counted in the metrics, by verb, resource and code.
 * Long-running calls (watches, follows) have limits of their own and no latency.
 */
struct api_call;
struct api_call *api_call_begin(struct apiserver *s, struct httpd_request *req);
/* verb and resource: static strings (metric labels: a bounded set). c may be NULL (not tracked). */
int api_call_admit(struct api_call *c, struct httpd_request *req, const struct api_user *user,
        const char *verb, const char *resource, bool long_running);

/* Metrics (metrics.c): the registry's families; GET /metrics (authorized as a non-resource URL). */
int api_metrics_new(struct apiserver *s);
void api_metrics(struct httpd_request *req, void *userdata);
/* Responses (respond.c): every handler answers through these or httpd_respond_status(). */
/* o[key] = the string value (not NULL). */
void api_put(json_object *o, const char *key, const char *value);
/* Responds with obj as JSON. */
void api_respond_json(struct httpd_request *req, int status, json_object *obj);
/* A new metav1.Status (the caller's): status "Success" or "Failure"; code 0, reason and message NULL are
 * left out. */
json_object *api_status_new(const char *status, int code, const char *reason, const char *message);
/* Responds 503 ServiceUnavailable with Retry-After for a database connection that could not be had (all
 * in use: -EBUSY, or the database away): "<what>: <why>". */
void api_respond_unavailable(struct httpd_request *req, const char *what, const struct merr *err);
/* Responds for a store function's failure, err as store_error() made it: 504 Timeout for a statement past
 * --request-timeout (-ETIMEDOUT), else 503 ServiceUnavailable; the message is err's. */
void api_respond_store_error(struct httpd_request *req, const struct merr *err);
/* The same for the failed query res: "<what>: <the database's message>". */
void api_respond_db_error(struct httpd_request *req, const PGresult *res, const char *what);
/* 404 NotFound: <resource>.<group> "<name>" not found. */
void api_respond_not_found(struct httpd_request *req, const char *resource, const char *name);
/* 200 with a metav1.Status of Success for the deletion of resource/name. */
void api_respond_deleted(struct httpd_request *req, const char *resource, const char *name);

/* A resource path after API_PREFIX ("/namespaces/NS/RESOURCE/NAME/SUB[/TAIL]", namespace and the last
 * three optional), split into buf (size bytes) and pointed at by the fields. Returns 0, or -ENOENT when the
 * path has no such shape, -ENAMETOOLONG when it does not fit. */
struct api_path {
        const char *namespace, *resource, *name, *subresource;
        const char *tail; /* what follows SUB/ (a proxy's path, maybe ""); NULL: nothing */
};
int api_parse_path(const char *path, char *buf, size_t size, struct api_path *ret);

/* Documents (discovery.c, openapi.c), both made from the resource table. */
void api_discovery(struct httpd_request *req, void *userdata); /* /apis, group, version */
void api_openapi(
        struct httpd_request *req, void *userdata); /* /openapi/v2, /openapi/v3[/apis/GROUP/VERSION] */

/* The history mirror (mirror.c): watches the mbox kinds and stores every state in object_history
 * (pkg/store/history.h). */
struct api_mirror;
/* With opt.leader_elect the mirror runs while this replica holds the Lease, else from start to stop. */
int api_mirror_start(struct apiserver *s, struct api_mirror **ret, struct merr *err);
void api_mirror_stop(struct api_mirror *m);
/* What the mirror has done, for metrics; any thread. m NULL (no database): all zero. */
struct api_mirror_stats {
        bool leading;     /* this replica mirrors now (always, without leader election) */
        uint64_t gaps;    /* states the database refused: logged with their object, not stored */
        uint64_t relists; /* lists after a resume point expired (410 Gone) */
        size_t queued;    /* changes seen and not stored yet */
        long long lag_ms; /* how long the oldest of them has waited (0: none waits) */
};
struct api_mirror_stats api_mirror_stats(struct api_mirror *m);

/* Selectors as SQL (selector.c): conditions appended to where (each " AND (...)"), values as parameters
 * $1..$n. Start with q = {.where = BUF_INIT(cap)}; api_query_free() after. Field names and their SQL come
 * from the table's store_source. */
#define API_QUERY_MAX_PARAMS 96
struct api_query {
        struct buf where;
        char *params[API_QUERY_MAX_PARAMS];
        int n;
        long long snapshot; /* a later page of a history: the version of its first page, else 0 */
};
void api_query_free(struct api_query *q);
int api_query_param(struct api_query *q, const char *s, size_t len);
/* labels: the SQL expression of the jsonb labels object. -EINVAL with a message for a bad selector. */
int api_label_selector(const char *sel, const char *labels, struct api_query *q, struct merr *err);
int api_field_selector(
        const char *sel, const struct store_field *fields, struct api_query *q, struct merr *err);

/* Queries and pages shared by get/list and watch (page.c). */
/* A decimal in [min, max] that is all of s. */
bool api_parse_num(const char *s, long long min, long long max, long long *ret);
/* Appends the condition "lhs $n", value being parameter n ("name =", "id >"). Returns 0 or -E2BIG. */
int api_query_cond(struct api_query *q, const char *lhs, const char *value);
/* Appends the condition that a record is of namespace ns and of the project that owns it now
 * (STORE_IN_PROJECT_NOW). Returns 0 or -E2BIG. */
int api_query_namespace(struct api_query *q, const char *ns);
/* The conditions of a list's query parameters (selectors, since/until, continue) into q, and its limit;
 * answers 400 and returns < 0 when one is bad. */
int api_list_query(
        struct httpd_request *req, const struct api_resource *res, struct api_query *q, long long *limit);
/* Pages cut by size: sql (rows with the unique version column rv) wrapped so that it returns, in version
 * order, the rows that start within max_bytes of text (the first one always), then the next row if there
 * is one, with two columns added at the end of each; api_page_cut() says whether that next row came, to
 * be dropped (and the page continued after the row before it). */
int api_page_sql(struct buf *out, const char *sql, const char *rv, size_t max_bytes);
bool api_page_cut(PGresult *res, size_t max_bytes);
/* A database connection for the records of res, or < 0 with the request answered 503. */
int api_connect(
        struct httpd_request *req, struct apiserver *s, const struct api_resource *res, PGconn **conn);

/* get and list (list.c), watch (watch.c) of a resource's records. */
/* One record: the first row that q's conditions select (404 when none). */
void api_get(const struct api_request *r, struct api_query *q);
/* The record named r->name: by the resource's name hook, else its store's name column. */
void api_get_named(const struct api_request *r);
void api_list(const struct api_request *r);
void api_watch(const struct api_request *r);

/* Records and Tables from rows (record.c), as the resource's columns say. */
bool api_wants_table(struct httpd_request *req);
void api_age(const char *rfc3339, char *buf, size_t size); /* kubectl's age: 42s, 5m, 3h, 2d */
/* Row row of res as the resource's object. */
json_object *api_record(const struct api_resource *r, PGresult *res, int row);
/* Rows [from, to) of res as a metav1 Table. */
json_object *api_table(const struct api_resource *r, PGresult *res, int from, int to);
