/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server: routes, the request path of the one resource group (authenticate, admit, authorize, dispatch
 * through the resource table of resources.c), and health. Responses are respond.c's; discovery documents
 * discovery.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/internal.h"
#include "buf.h"
#include "health.h"
#include "log.h"
#include "previewtoken.h"
#include "timestamp.h"

/* Discovery: any authenticated caller (kube-apiserver's aggregator reads it as itself). */
static void on_discovery(struct httpd_request *req, void *userdata) {
        struct apiserver *s = userdata;
        struct api_user user;
        struct api_call *c = api_call_begin(s, req);
        if (api_authenticate(s, req, &user) < 0 ||
                api_call_admit(c, req, &user, "get", "discovery", false) < 0)
                return;
        api_discovery(req, s);
}

int api_parse_path(const char *path, char *buf, size_t size, struct api_path *ret) {
        char *parts[5];
        size_t n = 0, i = 0;
        if (strlen(path) >= size)
                return -ENAMETOOLONG;
        memcpy(buf, path, strlen(path) + 1);
        *ret = (struct api_path){0};
        /* empty segments ("//") are refused, not skipped: a path names one thing; past a subresource the
         * rest is its tail, as it is (a proxy's path) */
        for (char *p = buf;;) {
                if (*p != '/')
                        return -ENOENT;
                *p++ = '\0';
                if (*p == '\0' || *p == '/')
                        return -ENOENT;
                parts[n++] = p;
                p += strcspn(p, "/");
                size_t max = n >= 2 && strcmp(parts[0], "namespaces") == 0 ? 5 : 3;
                if (*p == '\0')
                        break;
                if (n == max) {
                        *p = '\0';
                        ret->tail = p + 1;
                        break;
                }
        }
        if (n >= 2 && strcmp(parts[0], "namespaces") == 0) {
                ret->namespace = parts[1];
                i = 2;
        }
        if (n <= i || n - i > 3 || (ret->tail && n - i != 3))
                return -ENOENT;
        ret->resource = parts[i];
        ret->name = n - i >= 2 ? parts[i + 1] : NULL;
        ret->subresource = n - i == 3 ? parts[i + 2] : NULL;
        return 0;
}

/* Whether the query parameter is true. */
static bool query_true(struct httpd_request *req, const char *key) {
        const char *v = httpd_request_query(req, key);
        return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* The verb of a write method (POST, DELETE, PATCH) on res: API_CREATE on the collection, API_DELETE and
 * API_PATCH by name; 0 for any other. */
static unsigned write_verb(const char *method, const struct api_path *ap) {
        if (strcmp(method, "POST") == 0 && !ap->name)
                return API_CREATE;
        if (strcmp(method, "DELETE") == 0 && ap->name)
                return API_DELETE;
        if (strcmp(method, "PATCH") == 0 && ap->name)
                return API_PATCH;
        return 0;
}

/* The verb of method on a subresource: its HTTP methods are its verbs (GET, HEAD and OPTIONS get, POST
 * create, PUT update, PATCH patch, DELETE delete); 0 for any other. */
static unsigned sub_verb(const char *method) {
        static const struct {
                const char *method;
                unsigned verb;
        } verbs[] = {{"GET", API_GET}, {"HEAD", API_GET}, {"OPTIONS", API_GET}, {"POST", API_CREATE},
                {"PUT", API_UPDATE}, {"PATCH", API_PATCH}, {"DELETE", API_DELETE}};
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                if (strcmp(method, verbs[i].method) == 0)
                        return verbs[i].verb;
        return 0;
}

/* /apis/runtime.mbox.dev/v1alpha1/[namespaces/NS/]RESOURCE[/NAME[/SUB]]: the resource table's entry, and
 * its subresource's, say what is served; requests are authenticated, admitted (counted under the entry's
 * name as metrics label), authorized, then handed to the entry's handler. */
static void on_resources(struct httpd_request *req, void *userdata) {
        struct apiserver *s = userdata;
        struct api_user user;
        struct api_path ap;
        char buf[1024];
        const char *p = httpd_request_path(req) + strlen(API_PREFIX);
        struct api_call *c = api_call_begin(s, req);
        if (api_authenticate(s, req, &user) < 0)
                return;
        if (strcmp(p, "/") == 0 || *p == '\0') {
                if (api_call_admit(c, req, &user, "get", "discovery", false) >= 0)
                        api_discovery(req, s);
                return;
        }
        int r = api_parse_path(p, buf, sizeof(buf), &ap);
        if (r == -ENAMETOOLONG) {
                httpd_respond_status(req, 414, "RequestURITooLong", "path too long");
                return;
        }
        if (r < 0) {
                httpd_respond_status(
                        req, 404, "NotFound", "the server could not find the requested resource");
                return;
        }
        const struct api_resource *res = api_resource_find(ap.resource);
        const struct api_subresource *sub =
                res && ap.subresource ? api_subresource_find(res, ap.subresource) : NULL;
        bool known = res && (!ap.subresource || sub) && (!ap.tail || sub->tail);
        const char *method = httpd_request_method(req);
        bool get = strcmp(method, "GET") == 0;
        /* a subresource takes the methods of its verbs; a resource reads, and takes the writes of its verbs
         * by name or on the collection; what is not known, reads (404) */
        unsigned verb = !known ? 0 : sub ? sub_verb(method) : write_verb(method, &ap);
        bool allowed = sub ? verb & sub->verbs : get || (res && (verb & res->verbs));
        if (!allowed) {
                httpd_respond_status(req, 405, "MethodNotAllowed", "%s is not supported on %s%s%s%s%s",
                        method, ap.resource, ap.name ? "/" : "", ap.name ? ap.name : "",
                        ap.subresource ? "/" : "", ap.subresource ? ap.subresource : "");
                return;
        }
        bool watching = get && query_true(req, "watch");
        if (watching && (ap.name || ap.subresource || (res && !(res->verbs & API_WATCH)))) {
                httpd_respond_status(
                        req, 405, "MethodNotAllowed", "watch is not supported on %s", ap.resource);
                return;
        }
        struct api_attrs attrs = {.verb = verb == API_CREATE || (sub && sub->upgrade) ? "create"
                                          : verb == API_DELETE                        ? "delete"
                                          : verb == API_PATCH                         ? "patch"
                                          : verb == API_UPDATE                        ? "update"
                                          : watching                                  ? "watch"
                                          : ap.name                                   ? "get"
                                                                                      : "list",
                .namespace = ap.namespace,
                .resource = ap.resource,
                .subresource = ap.subresource,
                .name = ap.name};
        /* the metrics label: one of the table's names, whatever the path said */
        const char *label = !known ? "unknown" : sub ? sub->label : res->name;
        bool long_running = watching || (sub && sub->long_running && sub->long_running(req));
        /* counted before it is authorized: a flood of refused requests is bounded too */
        if (api_call_admit(c, req, &user, attrs.verb, label, long_running) < 0)
                return;
        if (!known) {
                httpd_respond_status(req, 404, "NotFound",
                        "the server could not find the requested resource (%s)", ap.resource);
                return;
        }
        if (api_authorize(s, req, &user, &attrs) < 0)
                return;
        const struct api_request ar = {.req = req,
                .s = s,
                .user = &user,
                .res = res,
                .namespace = ap.namespace,
                .name = ap.name,
                .tail = ap.tail};
        if (sub)
                sub->handle(&ar);
        else if (verb == API_CREATE)
                res->create(&ar);
        else if (verb == API_PATCH)
                res->patch(&ar);
        else if (verb == API_DELETE)
                res->remove(&ar);
        else if (watching)
                api_watch(&ar);
        else if (ap.name && (res->verbs & API_GET))
                api_get_named(&ar);
        else if (!ap.name && (res->verbs & API_LIST))
                api_list(&ar);
        else
                httpd_respond_status(req, 405, "MethodNotAllowed", "%s is not supported on %s%s%s", method,
                        ap.resource, ap.name ? "/" : "", ap.name ? ap.name : "");
}

/* Ready when the database answers (checked at most every 2 s): records come from it. Without a database
 * configured the server is ready and answers records with 503. */
static bool ready(void *ud, struct buf *why) {
        struct apiserver *s = ud;
        PGconn *conn = NULL;
        struct merr err = MERR_INIT;
        if (!s->store)
                return true;
        long long now = timestamp_monotonic_ms();
        pthread_mutex_lock(&s->lock);
        bool fresh = now - s->db_checked_ms < 2000, ok = s->db_ok;
        pthread_mutex_unlock(&s->lock);
        if (!fresh) {
                int r = store_acquire(s->store, &conn, &err);
                /* every connection busy serving requests: the database answers, so ready */
                ok = r == -EBUSY || (r == 0 && PQstatus(conn) == CONNECTION_OK);
                if (ok && conn) {
                        PGresult *res = PQexec(conn, "SELECT 1");
                        ok = PQresultStatus(res) == PGRES_TUPLES_OK;
                        PQclear(res);
                }
                store_release(s->store, conn);
                pthread_mutex_lock(&s->lock);
                s->db_checked_ms = now;
                s->db_ok = ok;
                pthread_mutex_unlock(&s->lock);
        }
        if (!ok)
                buf_printf(why, "the database does not answer%s%s", err.code ? ": " : "",
                        err.code ? merr_msg(&err) : "");
        return ok;
}

int apiserver_new(const struct apiserver_options *o, struct apiserver **ret, struct merr *err) {
        struct apiserver *s = calloc(1, sizeof(*s));
        int r;
        if (!s)
                return merr_set(err, -ENOMEM, "allocating the apiserver");
        s->opt = *o;
        if (s->opt.authz_cache_ms <= 0)
                s->opt.authz_cache_ms = 10000;
        if (!s->opt.leader.namespace)
                s->opt.leader.namespace = "mbox-system";
        if (!s->opt.leader.name)
                s->opt.leader.name = "mbox-apiserver";
        if (!s->opt.leader.identity || !*s->opt.leader.identity) {
                leader_default_identity(s->identity, sizeof(s->identity));
                s->opt.leader.identity = s->identity;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->scrape_lock, NULL);
        pthread_cond_init(&s->sessions_done, NULL);
        s->authz = strmap_new(free);
        s->tokens = strmap_new(free);
        size_t n = 0;
        while (o->allowed_names && o->allowed_names[n])
                n++;
        s->allowed = calloc(n + 1, sizeof(char *));
        if (!s->authz || !s->tokens || !s->allowed) {
                apiserver_free(s);
                return merr_set(err, -ENOMEM, "allocating the apiserver");
        }
        for (size_t i = 0; i < n; i++)
                if (!(s->allowed[i] = strdup(o->allowed_names[i]))) {
                        apiserver_free(s);
                        return merr_set(err, -ENOMEM, "allocating the apiserver");
                }
        if (!s->opt.max_inflight)
                s->opt.max_inflight = API_MAX_INFLIGHT;
        if (!s->opt.max_inflight_per_user)
                s->opt.max_inflight_per_user = API_MAX_INFLIGHT_PER_USER;
        if (!s->opt.max_long_running)
                s->opt.max_long_running = API_MAX_LONG_RUNNING;
        if (!s->opt.max_long_running_per_user)
                s->opt.max_long_running_per_user = API_MAX_LONG_RUNNING_PER_USER;
        if (s->opt.request_timeout_ms <= 0)
                s->opt.request_timeout_ms = API_REQUEST_TIMEOUT_MS;
        if (!s->opt.max_list_bytes)
                s->opt.max_list_bytes = API_MAX_LIST_BYTES;
        if (!s->opt.max_sessions_per_sandbox)
                s->opt.max_sessions_per_sandbox = API_MAX_SESSIONS_PER_SANDBOX;
        if (!s->opt.max_sessions_per_user)
                s->opt.max_sessions_per_user = API_MAX_SESSIONS_PER_USER;
        if (!s->opt.session_idle_timeout_ms)
                s->opt.session_idle_timeout_ms = API_SESSION_IDLE_TIMEOUT_MS;
        if (s->opt.preview_wake_timeout_ms <= 0)
                s->opt.preview_wake_timeout_ms = API_PREVIEW_WAKE_TIMEOUT_MS;
        if (s->opt.preview_idle_timeout_ms <= 0)
                s->opt.preview_idle_timeout_ms = API_PREVIEW_IDLE_TIMEOUT_MS;
        if (s->opt.preview_session_ms <= 0)
                s->opt.preview_session_ms = API_PREVIEW_SESSION_MS;
        if (!s->opt.preview_max_connections)
                s->opt.preview_max_connections = API_PREVIEW_MAX_CONNECTIONS;
        if (s->opt.preview_access_flush_ms <= 0)
                s->opt.preview_access_flush_ms = API_PREVIEW_ACCESS_FLUSH_MS;
        if (!s->opt.console_max_connections)
                s->opt.console_max_connections = API_CONSOLE_MAX_CONNECTIONS;
        if (s->opt.console_idle_timeout_ms <= 0)
                s->opt.console_idle_timeout_ms = API_CONSOLE_IDLE_TIMEOUT_MS;
        s->loads = strmap_new(free);
        s->sessions = strmap_new(free);
        if (!s->loads || !s->sessions || api_metrics_new(s) < 0 || api_preview_log_new(s) < 0) {
                apiserver_free(s);
                return merr_set(err, -ENOMEM, "allocating the apiserver");
        }
        r = o->preview_key_file ? preview_key_load(o->preview_key_file, &s->preview_key, err)
                                : preview_key_random(&s->preview_key, err);
        if (r < 0) {
                apiserver_free(s);
                return r;
        }
        /* Room for every request the limits admit, and for connections that have not authenticated yet:
         * those are few, short-lived, and the oldest goes when a new one comes, so clients that connect
         * and say nothing cannot take the slots of kube-apiserver's requests. */
        struct httpd_options ho = {.listen = o->listen,
                .max_connections = s->opt.max_inflight + s->opt.max_long_running + API_MAX_UNTRUSTED,
                .max_untrusted = API_MAX_UNTRUSTED,
                .untrusted_timeout_s = API_UNTRUSTED_TIMEOUT_S,
                .threads = 4,
                .thread_per_connection = true, /* watches stream */
                .tls_cert_pem = o->tls_cert_pem,
                .tls_key_pem = o->tls_key_pem,
                .client_ca_pem = o->requestheader_ca_pem};
        r = httpd_new(&ho, &s->httpd, err);
        if (r >= 0)
                r = kube_pool_new(o->kubeconfig, o->context, 8, &s->clients, err);
        if (r >= 0 && o->database_url) {
                r = store_new(o->database_url, &s->store, err);
                if (r >= 0) {
                        store_set_limits(s->store, o->database_max_connections, STORE_WAIT_MS);
                        store_set_statement_timeout(s->store, s->opt.request_timeout_ms);
                }
        }
        if (r >= 0)
                r = api_previews_new(s, err);
        if (r >= 0)
                r = api_projects_new(s, err);
        if (r >= 0)
                r = health_serve(s->httpd, NULL, ready, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, "/apis", on_discovery, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, "/apis/" API_GROUP, on_discovery, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, API_PREFIX, on_discovery, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, API_PREFIX "/", on_resources, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, "/metrics", api_metrics, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, "/openapi/v2", api_openapi, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, "/openapi/v3", api_openapi, s);
        if (r >= 0)
                r = httpd_handle(s->httpd, "/openapi/v3/", api_openapi, s);
        if (r < 0) {
                apiserver_free(s);
                return err->code ? r : merr_set(err, r, "setting up the apiserver");
        }
        *ret = s;
        return 0;
}

int apiserver_start(struct apiserver *s, struct merr *err) {
        int r = httpd_start(s->httpd, err);
        if (r >= 0)
                r = api_previews_start(s, err);
        if (r >= 0)
                r = api_projects_start(s, err);
        if (r >= 0 && s->opt.preview_listen)
                r = api_gateway_start(s, err);
        if (r >= 0 && s->opt.console_listen)
                r = api_console_start(s, err);
        if (r >= 0 && s->store && !s->mirror)
                r = api_mirror_start(s, &s->mirror, err);
        if (r >= 0 && !s->output_waits)
                r = api_output_waits_start(s, err);
        if (r >= 0)
                r = api_preview_log_start(s, err);
        return r;
}

int apiserver_port(struct apiserver *s) {
        return httpd_port(s->httpd);
}

struct apiserver *apiserver_free(struct apiserver *s) {
        if (!s)
                return NULL;
        /* sessions, then requests (a scrape of /metrics reads the mirror), then the access log of the
         * previews they served */
        if (s->sessions)
                api_sessions_stop(s);
        api_previews_stopping(s);
        api_gateway_stop(s);
        api_console_stop(s);
        httpd_free(s->httpd);
        api_output_waits_stop(s); /* after the requests: followers wait on it */
        api_previews_free(s);
        api_projects_free(s);
        api_preview_log_stop(s);
        api_mirror_stop(s->mirror);
        kube_pool_free(s->clients);
        store_free(s->store);
        strmap_free(s->authz);
        strmap_free(s->tokens);
        strmap_free(s->loads);
        strmap_free(s->sessions);
        preview_key_free(s->preview_key);
        pthread_cond_destroy(&s->sessions_done);
        metrics_free(s->metrics);
        pthread_mutex_destroy(&s->scrape_lock);
        for (size_t i = 0; s->allowed && s->allowed[i]; i++)
                free(s->allowed[i]);
        free(s->allowed);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}
