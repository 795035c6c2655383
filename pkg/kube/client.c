/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/client.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "jsonutil.h"
#include "kube/transport.h"

struct kube_client {
        struct kube_config *cfg;
        CURL *curl;
        long timeout_ms;
        size_t max_body;
        struct buf body;
        bool overflow; /* the body hit its cap */
        unsigned long connections;
        char errbuf[CURL_ERROR_SIZE];
        struct kube_error last;

        /* set only during kube_watch(): a 2xx body goes to the decoder instead of the buffer */
        struct kube_watch_decoder *stream;
        kube_watch_event_fn stream_cb;
        void *stream_userdata;
        int stream_r; /* the watch's or the list's decoder failed (or its callback stopped it) */
        struct merr stream_err;

        /* set only during kube_list_each(): a 2xx body goes to the list decoder, one item at a time */
        struct kube_list_stream *list;
        kube_list_item_fn list_fn;
        void *list_userdata;

        /* set only during kube_get_stream(): a 2xx body goes to its receiver as it arrives */
        const struct kube_stream_opts *bytes;
        bool bytes_started;

        const atomic_bool *cancel;        /* when set and true, the request in flight is abandoned */
        struct kube_transport *transport; /* borrowed; NULL: the client's own connection */
        const char *accept;               /* set only for a metadata-only list or watch */
        const char *default_accept;       /* kube_client_set_accept(); NULL: application/json */
        kube_trace_fn trace;              /* kube_client_set_trace() */
        void *trace_userdata;

        /* a 2xx body is parsed as it arrives (parse set: the caller wants it) or dropped, never buffered */
        struct json_stream *parse;
        size_t received; /* bytes of the 2xx body so far, against max_body */
        int parse_r;
        struct merr parse_err;
};

/* After a request, a body buffer larger than this is given back (a large list must not stay allocated). */
#define KUBE_BODY_KEEP (64u * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct kube_client *kube_client_free(struct kube_client *c) {
        if (!c)
                return NULL;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        buf_release(&c->body);
        kube_config_free(c->cfg);
        free(c);
        return NULL;
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        struct kube_client *c = userdata;
        long code = 0;
        bool ok = curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
                  code <= 299;

        if (ok && c->list) {
                int r = kube_list_stream_feed(
                        c->list, data, size * n, c->list_fn, c->list_userdata, &c->stream_err);

                if (r < 0) {
                        c->stream_r = r;
                        return 0; /* stop the transfer: the error is in stream_err */
                }
                return size * n;
        }
        if (ok && c->bytes) {
                int r = c->bytes->on_data(data, size * n, c->bytes->userdata);

                if (r < 0) {
                        c->stream_r = r;
                        (void) merr_set(&c->stream_err, r, "the receiver of the body stopped it");
                        return 0;
                }
                return size * n;
        }
        if (ok && !c->stream) {
                if (size * n > c->max_body - c->received) {
                        c->overflow = true;
                        return 0;
                }
                c->received += size * n;
                if (c->parse) {
                        int r = json_stream_feed(c->parse, data, size * n, &c->parse_err);

                        if (r < 0) {
                                c->parse_r = r;
                                return 0; /* stop the transfer: the error is in parse_err */
                        }
                }
                return size * n;
        }
        if (ok) {
                int r = kube_watch_decoder_feed(
                        c->stream, data, size * n, c->stream_cb, c->stream_userdata, &c->stream_err);

                if (r < 0) {
                        c->stream_r = r;
                        return 0; /* stop the transfer: the error is in stream_err */
                }
                return size * n;
        }
        if (buf_append(&c->body, data, size * n) < 0) {
                c->overflow = true;
                return 0; /* makes curl stop with CURLE_WRITE_ERROR */
        }
        return size * n;
}

/* The end of a header block (the empty line): a 2xx answer's body comes next. Earlier blocks (100 Continue)
 * are not 2xx. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        struct kube_client *c = userdata;
        long code = 0;

        if (c->bytes && !c->bytes_started && size * n <= 2 && (data[0] == '\r' || data[0] == '\n') &&
                curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
                code <= 299) {
                c->bytes_started = true;
                if (c->bytes->on_start)
                        c->bytes->on_start(c->bytes->userdata);
        }
        return size * n;
}

/* curl calls this about once a second even on an idle stream, so a long watch can be cancelled. */
static int on_progress(
        void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        struct kube_client *c = userdata;

        (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
        return c->cancel && atomic_load(c->cancel) ? 1 : 0;
}

void kube_client_set_cancel(struct kube_client *c, const atomic_bool *flag) {
        c->cancel = flag;
}

void kube_client_set_accept(struct kube_client *c, const char *accept) {
        c->default_accept = accept;
}

void kube_client_set_trace(struct kube_client *c, kube_trace_fn fn, void *userdata) {
        c->trace = fn;
        c->trace_userdata = userdata;
}

bool kube_client_traced(const struct kube_client *c) {
        return c->trace != NULL;
}

void kube_client_trace(struct kube_client *c, const char *method, const char *url, int code, double seconds) {
        if (c->trace)
                c->trace(method, url, code, seconds, c->trace_userdata);
}

void kube_client_set_transport(struct kube_client *c, struct kube_transport *t) {
        c->transport = t;
}

static int set_blob(CURL *curl, CURLoption opt, const struct kube_blob *b) {
        struct curl_blob blob = {.data = b->data, .len = b->len, .flags = CURL_BLOB_COPY};

        return curl_easy_setopt(curl, opt, &blob) == CURLE_OK ? 0 : -EOPNOTSUPP;
}

int kube_client_new(struct kube_config *cfg, struct kube_client **ret, struct merr *err) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        CURL *h;
        int r = 0;

        c = calloc(1, sizeof(*c));
        if (!c) {
                kube_config_free(cfg);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        c->cfg = cfg;
        c->timeout_ms = KUBE_DEFAULT_TIMEOUT_MS;
        c->max_body = KUBE_DEFAULT_MAX_BODY;
        buf_init(&c->body, c->max_body);
        (void) pthread_once(&curl_once, curl_init);
        if (curl_init_result != CURLE_OK)
                return merr_set(
                        err, -EIO, "curl_global_init failed: %s", curl_easy_strerror(curl_init_result));
        h = c->curl = curl_easy_init();
        if (!h)
                return merr_set(err, -ENOMEM, "curl_easy_init failed");
        if (curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_WRITEDATA, c) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_XFERINFODATA, c) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http") != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L) != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_USERAGENT, "mbox/0.1") != CURLE_OK ||
                curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK)
                return merr_set(err, -EIO, "curl: cannot set the basic options");
        if (cfg->insecure) {
                if (curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK ||
                        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK)
                        return merr_set(err, -EIO, "curl: cannot disable TLS verification");
        } else if (cfg->ca.len > 0) {
                /* only the configured CA: no system CA directory next to it */
                r = set_blob(h, CURLOPT_CAINFO_BLOB, &cfg->ca);
                if (r >= 0 && curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK)
                        r = -EIO;
                if (r < 0)
                        return merr_set(err, r, "%s: curl cannot take the CA from memory", cfg->source);
        }
        if (cfg->cert.len > 0) {
                r = set_blob(h, CURLOPT_SSLCERT_BLOB, &cfg->cert);
                if (r >= 0)
                        r = set_blob(h, CURLOPT_SSLKEY_BLOB, &cfg->key);
                if (r >= 0 && (curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK ||
                                      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK))
                        r = -EIO;
                if (r < 0)
                        return merr_set(err, r, "%s: curl cannot take the client certificate from memory",
                                cfg->source);
        }
        *ret = TAKE_PTR(c);
        return 0;
}

void kube_client_set_timeout(struct kube_client *c, long timeout_ms) {
        c->timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
}

void kube_client_set_max_body(struct kube_client *c, size_t max) {
        buf_release(&c->body);
        c->max_body = max;
        buf_init(&c->body, max);
}

const struct kube_config *kube_client_config(const struct kube_client *c) {
        return c->cfg;
}

unsigned long kube_client_connections(const struct kube_client *c) {
        return c->connections;
}

const struct kube_error *kube_client_last_error(const struct kube_client *c) {
        return &c->last;
}

static int curl_errno(CURLcode cc) {
        switch (cc) {
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
                return -EPROTO;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static int escape_append(struct kube_client *c, struct buf *b, const char *s, struct merr *err) {
        char *e;
        int r;

        if (strlen(s) > 4096)
                return merr_set(err, -E2BIG, "'%.32s...' is too long for a URL", s);
        e = curl_easy_escape(c ? c->curl : NULL, s, (int) strlen(s));
        if (!e)
                return merr_set(err, -ENOMEM, "out of memory");
        r = buf_puts(b, e);
        curl_free(e);
        return r < 0 ? merr_set(err, r, "URL too long") : 0;
}

static int path_segment(struct buf *b, const char *what, const char *s, struct merr *err) {
        if (!s || !*s)
                return merr_set(err, -EINVAL, "resource path: %s is empty", what);
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/'))
                return merr_set(err, -EINVAL, "resource path: %s '%s' is not a valid path segment", what, s);
        if (buf_putc(b, '/') < 0)
                return merr_set(err, -ENOBUFS, "URL too long");
        return escape_append(NULL, b, s, err);
}

int kube_resource_path(const struct kube_resource *r, struct buf *out, struct merr *err) {
        int k;

        if (r->group && *r->group) {
                k = buf_puts(out, "/apis");
                if (k >= 0)
                        k = path_segment(out, "group", r->group, err);
        } else
                k = buf_puts(out, "/api");
        if (k >= 0)
                k = path_segment(out, "version", r->version, err);
        if (k >= 0 && r->namespace) {
                k = path_segment(out, "", "namespaces", err);
                if (k >= 0)
                        k = path_segment(out, "namespace", r->namespace, err);
        }
        if (k >= 0)
                k = path_segment(out, "resource", r->resource, err);
        if (k >= 0 && r->name)
                k = path_segment(out, "name", r->name, err);
        if (k >= 0 && r->subresource) {
                if (!r->name)
                        return merr_set(err, -EINVAL, "resource path: subresource '%s' without a name",
                                r->subresource);
                k = path_segment(out, "subresource", r->subresource, err);
        }
        if (k < 0)
                return err && err->code ? err->code : merr_set(err, k, "URL too long");
        return 0;
}

static int query_add(
        struct kube_client *c, struct buf *b, const char *key, const char *val, struct merr *err) {
        if (!val)
                return 0;
        if (buf_printf(b, "%c%s=", strchr(buf_str(b), '?') ? '&' : '?', key) < 0)
                return merr_set(err, -ENOBUFS, "URL too long");
        return escape_append(c, b, val, err);
}

static int request_error(const char *method, const char *path, int r, struct merr *err) {
        return merr_wrap(err, r, "%s '%s'", method, path);
}

static int request(struct kube_client *c, const char *method, const char *path, const char *content_type,
        const char *body, size_t len, json_object **ret, struct merr *err) {
        _cleanup_(buf_release) struct buf url = BUF_INIT(64 * 1024), hdr = BUF_INIT(64 * 1024);
        struct curl_slist *headers = NULL, *h;
        const char *token = NULL;
        long code = 0;
        CURLcode cc;
        int r;

        c->last = (struct kube_error){0};
        buf_reset(&c->body);
        c->overflow = false;
        c->errbuf[0] = '\0';
        {
                struct merr terr = MERR_INIT;

                /* a token file that cannot be re-read leaves the old token in use; only no token fails */
                r = kube_config_token(c->cfg, &token, &terr);
                if (r < 0 && !token) {
                        (void) merr_set(err, r, "%s", merr_msg(&terr));
                        return request_error(method, path, r, err);
                }
        }
        if (buf_puts(&url, c->cfg->server) < 0 || buf_puts(&url, path) < 0)
                return merr_set(err, -ENOBUFS, "%s '%.64s...': URL too long", method, path);

        (void) buf_printf(&hdr, "Accept: %s",
                c->accept           ? c->accept
                : c->default_accept ? c->default_accept
                                    : "application/json");
        h = curl_slist_append(headers, buf_str(&hdr));
        buf_reset(&hdr);
        if (h)
                h = curl_slist_append(headers = h, "Expect:");
        if (h && content_type) {
                (void) buf_printf(&hdr, "Content-Type: %s", content_type);
                h = curl_slist_append(headers = h, buf_str(&hdr));
        }
        if (h && token) {
                buf_reset(&hdr);
                if (buf_printf(&hdr, "Authorization: Bearer %s", token) < 0)
                        h = NULL;
                else
                        h = curl_slist_append(headers = h, buf_str(&hdr));
        }
        if (!h) {
                curl_slist_free_all(headers);
                return merr_set(err, -ENOMEM, "out of memory");
        }
        headers = h;

        cc = curl_easy_setopt(c->curl, CURLOPT_URL, buf_str(&url));
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        if (cc == CURLE_OK && body) {
                cc = curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
                if (cc == CURLE_OK)
                        cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
                if (cc == CURLE_OK)
                        cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        } else if (cc == CURLE_OK)
                cc = curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
                        strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ? NULL : method);
        if (cc == CURLE_OK)
                cc = c->transport ? kube_transport_perform(c->transport, c->curl)
                                  : curl_easy_perform(c->curl);
        /* the handle keeps pointers to these; drop them before they dangle */
        {
                long n = 0;

                if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0)
                        c->connections += (unsigned long) n;
        }
        if (c->trace) {
                long status = 0;
                double secs = 0;

                (void) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
                (void) curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &secs);
                c->trace(method, buf_str(&url), (int) status, secs, c->trace_userdata);
        }
        (void) curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        (void) curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
        curl_slist_free_all(headers);
        if (hdr.data)
                memset(hdr.data, 0, hdr.len);

        if (cc != CURLE_OK) {
                if ((c->stream || c->list || c->bytes) && c->stream_r < 0) {
                        (void) merr_set(err, c->stream_r, "%s", merr_msg(&c->stream_err));
                        return request_error(method, path, c->stream_r, err);
                }
                if (c->parse && c->parse_r < 0) {
                        (void) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
                        (void) merr_set(err, c->parse_r, "%s", merr_msg(&c->parse_err));
                        return merr_wrap(err, c->parse_r, "%s '%s': %ld response", method, path, code);
                }
                if (c->overflow)
                        return merr_set(err, -EFBIG, "%s '%s': response body larger than %zu bytes", method,
                                path, c->max_body);
                r = curl_errno(cc);
                c->last.code = r;
                return merr_set(err, r, "%s '%s%s': %s", method, c->cfg->server, path,
                        c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
        }
        (void) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299) {
                r = kube_status_decode((int) code, c->body.data, c->body.len, &c->last, err);
                return request_error(method, path, r, err);
        }
        if (ret) {
                json_object *o = NULL;

                if (c->parse && json_stream_bytes(c->parse) > 0) {
                        r = json_stream_finish(c->parse, &o, err);
                        if (r < 0)
                                return merr_wrap(err, r, "%s '%s': %ld response", method, path, code);
                }
                *ret = o;
        }
        return (int) code;
}

int kube_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
        const char *body, size_t len, json_object **ret, struct merr *err) {
        _cleanup_(json_stream_freep) struct json_stream *parse = NULL;
        int r;

        /* the body is parsed as it arrives: never held whole next to its tree */
        if (ret) {
                r = json_stream_new(KUBE_MAX_JSON_DEPTH, JSON_PARSE_COMPACT, &parse);
                if (r < 0)
                        return merr_set(err, r, "out of memory");
        }
        c->parse = parse;
        c->received = 0;
        c->parse_r = 0;
        merr_clear(&c->parse_err);
        r = request(c, method, path, content_type, body, len, ret, err);
        c->parse = NULL;
        buf_shrink(&c->body, KUBE_BODY_KEEP);
        return r;
}

static int build_path(const struct kube_resource *r, struct buf *b, const char *method, struct merr *err) {
        int k = kube_resource_path(r, b, err);

        return k < 0 ? merr_wrap(err, k, "%s", method) : 0;
}

static int write_query(
        struct kube_client *c, struct buf *b, const struct kube_write_opts *o, bool apply, struct merr *err) {
        int r = 0;

        if (!o)
                return 0;
        if (o->dry_run)
                r = query_add(c, b, "dryRun", "All", err);
        if (r >= 0)
                r = query_add(c, b, "fieldManager", o->field_manager, err);
        if (r >= 0 && apply && o->force)
                r = query_add(c, b, "force", "true", err);
        return r;
}

int kube_get(struct kube_client *c, const struct kube_resource *r, json_object **ret, struct merr *err) {
        _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
        int k;

        k = build_path(r, &p, "GET", err);
        if (k < 0)
                return k;
        k = kube_request(c, "GET", buf_str(&p), NULL, NULL, 0, ret, err);
        return k < 0 ? k : 0;
}

/* What a metadata-only list and watch ask for: a list's items, and a watch's objects, carry kind
 * PartialObjectMetadata and only apiVersion, kind and metadata. */
#define ACCEPT_METADATA_LIST "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
#define ACCEPT_METADATA      "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

static int list_path(struct kube_client *c, const struct kube_resource *r, const struct kube_list_opts *o,
        struct buf *p, struct merr *err) {
        char limit[32];
        int k;

        if (r->name)
                return merr_set(err, -EINVAL, "list: a list names no object (name '%s')", r->name);
        k = build_path(r, p, "GET", err);
        if (k < 0)
                return k;
        if (o) {
                if (o->limit > 0) {
                        (void) snprintf(limit, sizeof(limit), "%ld", o->limit);
                        k = query_add(c, p, "limit", limit, err);
                }
                if (k >= 0 && o->continue_token && *o->continue_token)
                        k = query_add(c, p, "continue", o->continue_token, err);
                if (k >= 0)
                        k = query_add(c, p, "labelSelector", o->label_selector, err);
                if (k >= 0)
                        k = query_add(c, p, "fieldSelector", o->field_selector, err);
                if (k >= 0)
                        k = query_add(c, p, "resourceVersion", o->resource_version, err);
                if (k < 0)
                        return k;
        }
        return 0;
}

int kube_list(struct kube_client *c, const struct kube_resource *r, const struct kube_list_opts *o,
        json_object **ret, struct merr *err) {
        _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
        int k;

        k = list_path(c, r, o, &p, err);
        if (k < 0)
                return k;
        c->accept = o && o->metadata_only ? ACCEPT_METADATA_LIST : NULL;
        k = kube_request(c, "GET", buf_str(&p), NULL, NULL, 0, ret, err);
        c->accept = NULL;
        return k < 0 ? k : 0;
}

/* One page of kube_list_each(): its items to fn, its metadata to *ret_list. */
static int list_page(struct kube_client *c, const char *path, kube_list_item_fn fn, void *userdata,
        json_object **ret_list, struct merr *err) {
        _cleanup_(kube_list_stream_freep) struct kube_list_stream *ls = NULL;
        int k;

        k = kube_list_stream_new(c->max_body, &ls);
        if (k < 0)
                return merr_set(err, k, "out of memory");
        c->list = ls;
        c->list_fn = fn;
        c->list_userdata = userdata;
        c->stream_r = 0;
        merr_clear(&c->stream_err);
        k = kube_request(c, "GET", path, NULL, NULL, 0, NULL, err);
        c->list = NULL;
        c->list_fn = NULL;
        c->list_userdata = NULL;
        if (k < 0)
                return k;
        k = kube_list_stream_finish(ls, ret_list, err);
        return k < 0 ? merr_wrap(err, k, "GET '%s'", path) : 0;
}

int kube_list_each(struct kube_client *c, const struct kube_resource *r, const struct kube_list_opts *o,
        kube_list_item_fn fn, void *userdata, char **ret_resource_version, struct merr *err) {
        struct kube_list_opts lo = o ? *o : (struct kube_list_opts){0};
        _cleanup_free_ char *cont = NULL, *rv = NULL;
        int k;

        do {
                _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
                _cleanup_json_ json_object *list = NULL;
                const char *next = NULL, *prv = NULL;

                k = list_path(c, r, &lo, &p, err);
                if (k < 0)
                        return k;
                c->accept = lo.metadata_only ? ACCEPT_METADATA_LIST : NULL;
                k = list_page(c, buf_str(&p), fn, userdata, &list, err);
                c->accept = NULL;
                if (k < 0)
                        return k;
                if (json_get_string(list, "metadata.resourceVersion", JSON_OPTIONAL, &prv, err) < 0 ||
                        json_get_string(list, "metadata.continue", JSON_OPTIONAL, &next, err) < 0)
                        return merr_wrap(err, -EINVAL, "GET '%s'", buf_str(&p));
                /* a server that hands back the token it was given would page forever */
                if (next && *next && cont && strcmp(next, cont) == 0)
                        return merr_set(err, -EPROTO,
                                "GET '%s': the server returned the same continue token again", buf_str(&p));
                free(rv);
                rv = prv ? strdup(prv) : NULL;
                free(cont);
                cont = next && *next ? strdup(next) : NULL;
                if ((prv && !rv) || (next && *next && !cont))
                        return merr_set(err, -ENOMEM, "out of memory");
                /* the continue token carries the snapshot: a resourceVersion next to it is refused */
                lo.continue_token = cont;
                lo.resource_version = NULL;
        } while (cont);
        if (ret_resource_version) {
                if (!rv)
                        return merr_set(err, -EINVAL, "list: the response has no metadata.resourceVersion");
                *ret_resource_version = TAKE_PTR(rv);
        }
        return 0;
}

static int send_object(struct kube_client *c, const char *method, const struct kube_resource *r,
        const char *ctype, const char *body, size_t len, const struct kube_write_opts *o, bool apply,
        json_object **ret, struct merr *err) {
        _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
        int k;

        k = build_path(r, &p, method, err);
        if (k < 0)
                return k;
        k = write_query(c, &p, o, apply, err);
        if (k < 0)
                return k;
        k = kube_request(c, method, buf_str(&p), ctype, body, len, ret, err);
        return k < 0 ? k : 0;
}

static const char *to_json(json_object *obj, size_t *len) {
        /* "\/" is valid JSON but not valid YAML, and server-side apply bodies are decoded as YAML */
        const char *s = json_object_to_json_string_length(
                obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);

        return s;
}

int kube_create(struct kube_client *c, const struct kube_resource *r, json_object *obj,
        const struct kube_write_opts *o, json_object **ret, struct merr *err) {
        size_t len;
        const char *s = to_json(obj, &len);

        if (r->name)
                return merr_set(err, -EINVAL, "POST: create takes the collection, not name '%s'", r->name);
        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        return send_object(c, "POST", r, "application/json", s, len, o, false, ret, err);
}

int kube_update(struct kube_client *c, const struct kube_resource *r, json_object *obj,
        const struct kube_write_opts *o, json_object **ret, struct merr *err) {
        size_t len;
        const char *s = to_json(obj, &len);

        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        return send_object(c, "PUT", r, "application/json", s, len, o, false, ret, err);
}

int kube_patch(struct kube_client *c, const struct kube_resource *r, enum kube_patch_type type,
        const char *patch, size_t len, const struct kube_write_opts *o, json_object **ret, struct merr *err) {
        static const char *const ctypes[] = {
                [KUBE_PATCH_MERGE] = "application/merge-patch+json",
                [KUBE_PATCH_JSON] = "application/json-patch+json",
                [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
                [KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
        };

        if ((unsigned) type >= ARRAY_SIZE(ctypes))
                return merr_set(err, -EINVAL, "PATCH: unknown patch type %d", (int) type);
        if (type == KUBE_PATCH_APPLY && (!o || !o->field_manager || !*o->field_manager))
                return merr_set(err, -EINVAL, "PATCH: server-side apply needs a field manager");
        if (!r->name)
                return merr_set(err, -EINVAL, "PATCH: a patch needs an object name");
        return send_object(c, "PATCH", r, ctypes[type], patch, len, o, type == KUBE_PATCH_APPLY, ret, err);
}

int kube_apply(struct kube_client *c, const struct kube_resource *r, json_object *obj,
        const struct kube_write_opts *o, json_object **ret, struct merr *err) {
        size_t len;
        const char *s = to_json(obj, &len);

        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        return kube_patch(c, r, KUBE_PATCH_APPLY, s, len, o, ret, err);
}

int kube_delete(struct kube_client *c, const struct kube_resource *r, const struct kube_delete_opts *o,
        json_object **ret, struct merr *err) {
        _cleanup_json_ json_object *opts = NULL;
        _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
        const char *body = NULL;
        size_t len = 0;
        int k;

        k = build_path(r, &p, "DELETE", err);
        if (k < 0)
                return k;
        if (o) {
                json_object *pre = NULL;
                bool ok = true;

                opts = json_object_new_object();
                if (!opts)
                        return merr_set(err, -ENOMEM, "out of memory");
                ok = json_object_object_add(opts, "kind", json_object_new_string("DeleteOptions")) == 0 &&
                     json_object_object_add(opts, "apiVersion", json_object_new_string("v1")) == 0;
                if (ok && o->propagation_policy)
                        ok = json_object_object_add(opts, "propagationPolicy",
                                     json_object_new_string(o->propagation_policy)) == 0;
                if (ok && o->grace_period_seconds >= 0)
                        ok = json_object_object_add(opts, "gracePeriodSeconds",
                                     json_object_new_int64(o->grace_period_seconds)) == 0;
                if (ok && o->dry_run) {
                        json_object *a = json_object_new_array();

                        ok = a && json_object_array_add(a, json_object_new_string("All")) == 0 &&
                             json_object_object_add(opts, "dryRun", a) == 0;
                }
                if (ok && (o->uid || o->resource_version)) {
                        pre = json_object_new_object();
                        ok = pre && json_object_object_add(opts, "preconditions", pre) == 0;
                        if (ok && o->uid)
                                ok = json_object_object_add(pre, "uid", json_object_new_string(o->uid)) == 0;
                        if (ok && o->resource_version)
                                ok = json_object_object_add(pre, "resourceVersion",
                                             json_object_new_string(o->resource_version)) == 0;
                }
                if (!ok)
                        return merr_set(err, -ENOMEM, "out of memory");
                body = to_json(opts, &len);
                if (!body)
                        return merr_set(err, -ENOMEM, "out of memory");
        }
        k = kube_request(c, "DELETE", buf_str(&p), body ? "application/json" : NULL, body, len, ret, err);
        return k < 0 ? k : 0;
}

int kube_watch(struct kube_client *c, const struct kube_resource *r, const struct kube_watch_opts *o,
        kube_watch_event_fn cb, void *userdata, struct merr *err) {
        _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
        _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *d = NULL;
        long saved_timeout = c->timeout_ms, timeout = o && o->timeout_seconds > 0 ? o->timeout_seconds : 300;
        char secs[32];
        int k;

        if (r->name)
                return merr_set(err, -EINVAL, "watch: use a fieldSelector on metadata.name, not a name");
        k = build_path(r, &p, "GET", err);
        if (k >= 0)
                k = query_add(c, &p, "watch", "1", err);
        if (k >= 0)
                k = query_add(c, &p, "allowWatchBookmarks", "true", err);
        (void) snprintf(secs, sizeof(secs), "%ld", timeout);
        if (k >= 0)
                k = query_add(c, &p, "timeoutSeconds", secs, err);
        if (k >= 0 && o) {
                k = query_add(c, &p, "resourceVersion", o->resource_version, err);
                if (k >= 0)
                        k = query_add(c, &p, "labelSelector", o->label_selector, err);
                if (k >= 0)
                        k = query_add(c, &p, "fieldSelector", o->field_selector, err);
                if (k >= 0 && o->send_initial_events) {
                        k = query_add(c, &p, "sendInitialEvents", "true", err);
                        if (k >= 0)
                                k = query_add(c, &p, "resourceVersionMatch", "NotOlderThan", err);
                }
        }
        if (k < 0)
                return k;
        k = kube_watch_decoder_new(o && o->max_event_bytes ? o->max_event_bytes : c->max_body, &d);
        if (k < 0)
                return merr_set(err, k, "out of memory");

        c->stream = d;
        c->stream_cb = cb;
        c->stream_userdata = userdata;
        c->stream_r = 0;
        merr_clear(&c->stream_err);
        /* the server ends the watch after timeoutSeconds; the client gives it a margin before giving up */
        c->timeout_ms = (timeout + 30) * 1000;
        c->accept = o && o->metadata_only ? ACCEPT_METADATA : NULL;
        k = kube_request(c, "GET", buf_str(&p), NULL, NULL, 0, NULL, err);
        c->accept = NULL;
        c->timeout_ms = saved_timeout;
        c->stream = NULL;
        c->stream_cb = NULL;
        c->stream_userdata = NULL;
        if (k < 0)
                return k;
        k = kube_watch_decoder_finish(d, err);
        if (k < 0)
                return merr_wrap(err, k, "watch '%s'", buf_str(&p));
        return 0;
}

int kube_get_stream(struct kube_client *c, const struct kube_resource *r, const struct kube_stream_opts *o,
        struct merr *err) {
        _cleanup_(buf_release) struct buf p = BUF_INIT(64 * 1024);
        long saved_timeout = c->timeout_ms;
        const atomic_bool *saved_cancel = c->cancel;
        int k = build_path(r, &p, "GET", err);

        for (const char *const *q = o->query; k >= 0 && q && q[0] && q[1]; q += 2)
                k = query_add(c, &p, q[0], q[1], err);
        if (k < 0)
                return k;
        if (curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
                curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c) != CURLE_OK)
                return merr_set(err, -ENOMEM, "GET '%s': cannot watch the headers", buf_str(&p));
        c->bytes = o;
        c->bytes_started = false;
        c->stream_r = 0;
        merr_clear(&c->stream_err);
        c->timeout_ms = o->timeout_ms;
        if (o->cancel)
                c->cancel = o->cancel;
        /* what kubectl logs asks for: the body is text, an error a Status */
        c->accept = "application/json, */*";
        k = kube_request(c, "GET", buf_str(&p), NULL, NULL, 0, NULL, err);
        c->accept = NULL;
        c->cancel = saved_cancel;
        c->timeout_ms = saved_timeout;
        c->bytes = NULL;
        (void) curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, NULL);
        (void) curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, NULL);
        return k < 0 ? k : 0;
}
