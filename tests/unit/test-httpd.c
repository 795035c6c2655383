/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "health.h"
#include "httpd.h"
#include "testutil.h"

struct response {
        long status;
        struct buf body;
        char content_type[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata) {
        struct response *resp = userdata;

        return buf_append(&resp->body, p, size * n) < 0 ? 0 : size * n;
}

/* One request with a fresh curl handle; method NULL means GET. Returns the curl result. */
static CURLcode request(int port, const char *method, const char *path, struct response *resp) {
        char url[512];
        char *ct = NULL;
        CURLcode rc;
        CURL *c;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        resp->status = 0;
        resp->content_type[0] = '\0';
        buf_init(&resp->body, 1 << 20);
        c = curl_easy_init();
        ck_assert_ptr_nonnull(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* the server, not curl, must resolve dot segments */
        if (method && strcmp(method, "HEAD") == 0)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else if (method)
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
                if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
                        snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
        }
        curl_easy_cleanup(c);
        return rc;
}

static void get_ok(int port, const char *method, const char *path, long status, const char *body) {
        struct response resp;

        ck_assert_int_eq(request(port, method, path, &resp), CURLE_OK);
        ck_assert_int_eq(resp.status, status);
        if (body)
                ck_assert_str_eq(buf_str(&resp.body), body);
        buf_release(&resp.body);
}

static struct httpd *start(const char *listen, unsigned threads) {
        struct httpd_options o = {.listen = listen, .threads = threads};
        struct merr err = MERR_INIT;
        struct httpd *h = NULL;

        ck_assert_msg(httpd_new(&o, &h, &err) == 0, "%s", merr_msg(&err));
        return h;
}

static void start_or_fail(struct httpd *h) {
        struct merr err = MERR_INIT;

        ck_assert_msg(httpd_start(h, &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_gt(httpd_port(h), 0);
}

struct readiness {
        atomic_bool ready;
};

static bool is_ready(void *ud, struct buf *why) {
        struct readiness *rd = ud;

        if (atomic_load(&rd->ready))
                return true;
        (void) buf_puts(why, "informers not synced: 'sandboxes'");
        return false;
}

START_TEST(test_health_endpoints) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 0);
        struct readiness rd = {.ready = false};
        struct response resp;
        struct metric *c;
        int port;

        ck_assert_int_eq(metrics_new(&m), 0);
        c = metrics_counter(m, "mbox_test_total", "A test counter.", (const char *const[]){"k", NULL});
        metric_add(c, (const char *const[]){"v\"1"}, 3);
        ck_assert_int_eq(health_serve(h, m, is_ready, &rd), 0);
        start_or_fail(h);
        port = httpd_port(h);

        ck_assert_int_eq(request(port, NULL, "/metrics", &resp), CURLE_OK);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
        ck_assert_ptr_nonnull(strstr(buf_str(&resp.body), "# TYPE mbox_test_total counter\n"
                                                          "mbox_test_total{k=\"v\\\"1\"} 3\n"));
        ck_assert_ptr_nonnull(strstr(buf_str(&resp.body), "\nprocess_open_fds "));
        buf_release(&resp.body);

        get_ok(port, NULL, "/healthz", 200, "ok");
        get_ok(port, NULL, "/livez", 200, "ok");
        get_ok(port, "HEAD", "/healthz", 200, "");
        get_ok(port, NULL, "/readyz", 503, "informers not synced: 'sandboxes'");
        atomic_store(&rd.ready, true);
        get_ok(port, NULL, "/readyz", 200, "ok");
        get_ok(port, NULL, "/healthz?verbose=1", 200, "ok");

        ck_assert_int_eq(request(port, "POST", "/healthz", &resp), CURLE_OK);
        ck_assert_int_eq(resp.status, 405);
        ck_assert_str_eq(resp.content_type, "application/json");
        ck_assert_str_eq(buf_str(&resp.body),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                "\"status\":\"Failure\",\"message\":\"method 'POST' is not allowed\","
                "\"reason\":\"MethodNotAllowed\",\"code\":405}");
        buf_release(&resp.body);
}
END_TEST

static size_t discard(char *p, size_t size, size_t n, void *ud) {
        (void) p;
        (void) ud;
        return size * n;
}

/* Requests on one connection, one after the other, including one with a body nobody reads: the
 * connection is kept alive (a TLS handshake per request would cost milliseconds each). */
START_TEST(test_keep_alive) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 2);
        char url[64];
        long connects = -1, status = 0;
        CURL *c = curl_easy_init();

        ck_assert_int_eq(health_serve(h, NULL, NULL, NULL), 0);
        start_or_fail(h);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", httpd_port(h));
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        for (int i = 0; i < 4; i++) {
                if (i == 2)
                        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a body nobody reads");
                if (i == 3)
                        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                ck_assert_int_eq(status, i == 2 ? 405 : 200);
                curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
                ck_assert_msg(connects == (i == 0 ? 1 : 0), "request %d made %ld connections", i, connects);
        }
        curl_easy_cleanup(c);
}
END_TEST

/* A stream of three pieces, 50 ms apart; counts its end in *(int *) the route's userdata. */
struct counting_stream {
        int piece;
        atomic_int *done;
};

static long count_read(struct httpd_stream *s, void *ud, char *buf, size_t max) {
        struct counting_stream *c = ud;
        (void) s;
        if (c->piece == 3 || max < 8)
                return 0;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
        return snprintf(buf, max, "piece %d\n", c->piece++);
}

static void count_done(void *ud) {
        struct counting_stream *c = ud;
        atomic_fetch_add(c->done, 1);
        free(c);
}

static void on_stream(struct httpd_request *req, void *userdata) {
        struct counting_stream *c = calloc(1, sizeof(*c));
        ck_assert_ptr_nonnull(c);
        c->done = userdata;
        ck_assert_int_eq(httpd_respond_stream(req, 200, "text/plain", count_read, c, count_done), 0);
}

START_TEST(test_stream) {
        struct httpd_options o = {.listen = "127.0.0.1:0", .thread_per_connection = true};
        struct merr err = MERR_INIT;
        _cleanup_(httpd_freep) struct httpd *h = NULL;
        atomic_int done = 0;

        ck_assert_msg(httpd_new(&o, &h, &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_eq(httpd_handle(h, "/stream", on_stream, &done), 0);
        start_or_fail(h);
        get_ok(httpd_port(h), NULL, "/stream", 200, "piece 0\npiece 1\npiece 2\n");
        get_ok(httpd_port(h), NULL, "/stream", 200, "piece 0\npiece 1\npiece 2\n");
        h = httpd_free(h);
        ck_assert_int_eq(atomic_load(&done), 2);
}
END_TEST

static void on_stream_refused(struct httpd_request *req, void *userdata) {
        struct counting_stream *c = calloc(1, sizeof(*c));
        ck_assert_ptr_nonnull(c);
        c->done = userdata;
        /* the shared loops must never wait: streams need thread_per_connection */
        ck_assert_int_eq(
                httpd_respond_stream(req, 200, "text/plain", count_read, c, count_done), -EOPNOTSUPP);
}

START_TEST(test_stream_needs_own_threads) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 1);
        atomic_int done = 0;

        ck_assert_int_eq(httpd_handle(h, "/stream", on_stream_refused, &done), 0);
        start_or_fail(h);
        get_ok(httpd_port(h), NULL, "/stream", 500, NULL);
        ck_assert_int_eq(atomic_load(&done), 1);
}
END_TEST

START_TEST(test_not_found_status) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 0);
        struct response resp;

        ck_assert_int_eq(health_serve(h, NULL, NULL, NULL), 0);
        start_or_fail(h);
        /* without a registry there is no /metrics */
        for (size_t i = 0; i < 4; i++) {
                static const char *const paths[] = {"/nope", "/healthz/", "/metrics%22x", "/metrics"};

                ck_assert_int_eq(request(httpd_port(h), NULL, paths[i], &resp), CURLE_OK);
                ck_assert_int_eq(resp.status, 404);
                ck_assert_str_eq(resp.content_type, "application/json");
                ck_assert_str_eq(buf_str(&resp.body),
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                        "\"message\":\"the server could not find the requested "
                        "resource\",\"reason\":\"NotFound\","
                        "\"code\":404}");
                buf_release(&resp.body);
        }
        /* readiness without a callback is always ready */
        get_ok(httpd_port(h), NULL, "/readyz", 200, "ok");
}
END_TEST

/* Echoes what the server saw of the request, one field per line. */
static void on_echo(struct httpd_request *r, void *userdata) {
        _cleanup_(buf_release) struct buf out = BUF_INIT(4096);
        const char *tag = userdata, *a = httpd_request_query(r, "a"), *b = httpd_request_query(r, "b");
        const char *hdr = httpd_request_header(r, "x-test");

        (void) buf_printf(&out, "%s\n%s\n%s\na=%s\nb=%s\nx-test=%s\n", tag, httpd_request_method(r),
                httpd_request_path(r), a ? a : "(null)", b ? b : "(null)", hdr ? hdr : "(null)");
        (void) httpd_respond(r, 200, "text/plain", out.data, out.len);
}

static void on_silent(struct httpd_request *r, void *userdata) {
        (void) r;
        (void) userdata;
}

START_TEST(test_routing_and_request) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 0);
        struct response resp;
        int port;

        ck_assert_int_eq(httpd_handle(h, "/apis/", on_echo, "apis"), 0);
        ck_assert_int_eq(httpd_handle(h, "/apis/runtime.mbox.dev/", on_echo, "runtime"), 0);
        ck_assert_int_eq(httpd_handle(h, "/apis", on_echo, "exact"), 0);
        ck_assert_int_eq(httpd_handle(h, "/silent", on_silent, NULL), 0);
        ck_assert_int_eq(httpd_handle(h, "/apis", on_echo, NULL), -EEXIST);
        ck_assert_int_eq(httpd_handle(h, "apis", on_echo, NULL), -EINVAL);
        start_or_fail(h);
        ck_assert_int_eq(httpd_handle(h, "/late", on_echo, NULL), -EBUSY);
        port = httpd_port(h);

        get_ok(port, NULL, "/apis", 200, "exact\nGET\n/apis\na=(null)\nb=(null)\nx-test=(null)\n");
        get_ok(port, NULL, "/apis/", 200, "apis\nGET\n/apis/\na=(null)\nb=(null)\nx-test=(null)\n");
        get_ok(port, "DELETE", "/apis/runtime.mbox.dev/v1alpha1?a=x%20y+z&b&a=second", 200,
                "runtime\nDELETE\n/apis/runtime.mbox.dev/v1alpha1\na=x y z\nb=\nx-test=(null)\n");
        get_ok(port, NULL, "/apis/other?b=%zz&b=%26%3D", 200,
                "apis\nGET\n/apis/other\na=(null)\nb=&=\nx-test=(null)\n");
        /* the path is decoded once, and dot segments are not resolved: routes match what was sent */
        get_ok(port, NULL, "/apis/runtime.mbox.dev/../x%2Fy%252F", 200,
                "runtime\nGET\n/apis/runtime.mbox.dev/../x/y%2F\na=(null)\nb=(null)\nx-test=(null)\n");

        ck_assert_int_eq(request(port, NULL, "/silent", &resp), CURLE_OK);
        ck_assert_int_eq(resp.status, 500);
        ck_assert_ptr_nonnull(strstr(buf_str(&resp.body), "\"reason\":\"InternalError\""));
        buf_release(&resp.body);
}
END_TEST

START_TEST(test_request_header) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 0);
        struct curl_slist *hdrs = NULL;
        struct response resp = {.body = BUF_INIT(4096)};
        char url[128];
        CURL *c;

        ck_assert_int_eq(httpd_handle(h, "/echo", on_echo, "echo"), 0);
        start_or_fail(h);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", httpd_port(h));
        hdrs = curl_slist_append(hdrs, "X-Test: hello 'there'");
        c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_cleanup(c);
        curl_slist_free_all(hdrs);
        ck_assert_str_eq(buf_str(&resp.body), "echo\nGET\n/echo\na=(null)\nb=(null)\nx-test=hello 'there'\n");
        buf_release(&resp.body);
}
END_TEST

static void on_body_len(struct httpd_request *r, void *userdata) {
        size_t len = 0;
        const char *body = httpd_request_body(r, &len);
        char out[64];

        (void) userdata;
        /* the length, the first byte, and the NUL after the last */
        snprintf(out, sizeof(out), "%zu %c %d", len, len ? body[0] : '-', body[len]);
        (void) httpd_respond(r, 200, "text/plain", out, strlen(out));
}

static long post(CURL *c, int port, const char *body, size_t len, bool chunked, struct response *resp) {
        char url[128];
        struct curl_slist *hdrs = NULL;
        long status = 0;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/body", port);
        buf_reset(&resp->body);
        if (chunked)
                hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(hdrs);
        return status;
}

/* Bodies reach the handler whole, NUL-terminated; past max_body the answer is a 413 Status, whether the
 * length was announced or the body came chunked, and the handler is not called. */
START_TEST(test_request_body) {
        struct httpd_options o = {.listen = "127.0.0.1:0", .max_body = 1000};
        struct merr err = MERR_INIT;
        _cleanup_(httpd_freep) struct httpd *h = NULL;
        struct response resp = {.body = BUF_INIT(4096)};
        static char big[4000];
        CURL *c = curl_easy_init();

        memset(big, 'x', sizeof(big));
        ck_assert_int_eq(httpd_new(&o, &h, &err), 0);
        ck_assert_int_eq(httpd_handle(h, "/body", on_body_len, NULL), 0);
        start_or_fail(h);
        ck_assert_int_eq(post(c, httpd_port(h), "{\"a\":1}", 7, false, &resp), 200);
        ck_assert_str_eq(buf_str(&resp.body), "7 { 0");
        ck_assert_int_eq(post(c, httpd_port(h), big, 1000, true, &resp), 200);
        ck_assert_str_eq(buf_str(&resp.body), "1000 x 0");
        ck_assert_int_eq(post(c, httpd_port(h), big, 1001, false, &resp), 413);
        ck_assert_ptr_nonnull(strstr(buf_str(&resp.body), "\"reason\":\"RequestEntityTooLarge\""));
        ck_assert_int_eq(post(c, httpd_port(h), big, sizeof(big), true, &resp), 413);
        ck_assert_ptr_nonnull(strstr(buf_str(&resp.body), "larger than 1000 bytes"));
        /* and the server goes on */
        ck_assert_int_eq(post(c, httpd_port(h), "", 0, false, &resp), 200);
        ck_assert_str_eq(buf_str(&resp.body), "0 - 0");
        curl_easy_cleanup(c);
        buf_release(&resp.body);
}
END_TEST

static void on_warn(struct httpd_request *r, void *userdata) {
        (void) userdata;
        ck_assert_int_eq(httpd_request_add_header(r, "Warning", "299 - \"unknown field \\\"x\\\"\""), 0);
        ck_assert_int_eq(httpd_request_add_header(r, "X-Second", "two"), 0);
        ck_assert_int_eq(httpd_request_add_header(r, "Bad", "a\r\nInjected: yes"), -EINVAL);
        ck_assert_int_eq(httpd_request_add_header(r, "Bad Name", "v"), -EINVAL);
        (void) httpd_respond(r, 201, "text/plain", "ok", 2);
        ck_assert_int_eq(httpd_request_add_header(r, "Late", "v"), -EALREADY);
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
        return buf_append(userdata, p, size * n) < 0 ? 0 : size * n;
}

/* Headers a handler adds go out with its response, in order; ones that would break the block do not. */
START_TEST(test_response_headers) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 0);
        struct buf hdrs = BUF_INIT(8192), body = BUF_INIT(1024);
        char url[128];
        long status = 0;
        CURL *c = curl_easy_init();

        ck_assert_int_eq(httpd_handle(h, "/warn", on_warn, NULL), 0);
        start_or_fail(h);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/warn", httpd_port(h));
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        ck_assert_int_eq(status, 201);
        const char *w = strstr(buf_str(&hdrs), "Warning: 299 - \"unknown field \\\"x\\\"\"\r\n");
        ck_assert_ptr_nonnull(w);
        ck_assert_ptr_nonnull(strstr(w, "X-Second: two\r\n"));
        ck_assert_ptr_null(strstr(buf_str(&hdrs), "Injected"));
        ck_assert_str_eq(buf_str(&body), "ok");
        buf_release(&hdrs);
        buf_release(&body);
}
END_TEST

START_TEST(test_query_value) {
        static const struct {
                const char *query, *key, *want; /* want NULL: absent */
        } cases[] = {
                {"a=1&b=2", "b", "2"},
                {"a=1&a=2", "a", "1"},
                {"a", "a", ""},
                {"a=", "a", ""},
                {"=x&a=y", "a", "y"},
                {"a%3Db=c", "a=b", "c"},
                {"a=%41%4a%4A+", "a", "AJJ "},
                {"a=%4", "a", NULL},
                {"a=%", "a", NULL},
                {"a=%g1&a=ok", "a", "ok"},
                {"a%00b=1", "a", NULL},
                {"path=/a%00b&path=/c", "path", "/c"}, /* a NUL in a value would cut it short: skipped */
                {"a;b=1&a=2", "a", "2"},
                {"&&a=1&&", "a", "1"},
                {"", "a", NULL},
                {"ab=1", "a", NULL},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char *v = NULL;
                int r = httpd_query_value(cases[i].query, strlen(cases[i].query), cases[i].key, &v);

                ck_assert_msg(r == (cases[i].want ? 1 : 0), "case %zu: %d", i, r);
                if (cases[i].want)
                        ck_assert_str_eq(v, cases[i].want);
                free(v);
        }
}
END_TEST

static void get6_ok(int port) {
        char url[128];
        long status = 0;
        CURL *c = curl_easy_init();

        snprintf(url, sizeof(url), "http://[::1]:%d/nope", port);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ck_assert_int_eq(status, 404);
        curl_easy_cleanup(c);
}

START_TEST(test_listen_addresses) {
        static const char *const bad[] = {"", "8080", "localhost:80", "127.0.0.1:99999", "127.0.0.1:0s",
                "127.0.0.1:80,9090", "[::1]", "[::1]80", "[zz]:80", "1.2.3:80", "127.0.0.1:"};
        struct httpd_options o = {0};
        struct merr err = MERR_INIT;
        struct httpd *h = NULL;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                o.listen = bad[i];
                ck_assert_msg(httpd_new(&o, &h, &err) == -EINVAL, "'%s' accepted", bad[i]);
                ck_assert_ptr_null(h);
        }
        /* every address: reachable on IPv4 loopback whether the socket is dual-stack or IPv4 */
        o.listen = ":0";
        ck_assert_int_eq(httpd_new(&o, &h, &err), 0);
        start_or_fail(h);
        get_ok(httpd_port(h), NULL, "/nope", 404, NULL);
        h = httpd_free(h);

        /* IPv6 works where the host has it (not every CI sandbox does) */
        o.listen = "[::1]:0";
        ck_assert_int_eq(httpd_new(&o, &h, &err), 0);
        r = httpd_start(h, &err);
        ck_assert_msg(r == 0 || r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT, "%s", merr_msg(&err));
        if (r == 0) {
                ck_assert_int_gt(httpd_port(h), 0);
                get6_ok(httpd_port(h));
        }
        h = httpd_free(h);
}
END_TEST

START_TEST(test_few_connections) {
        /* fewer connections than the default threads, as the operator's health server asks */
        struct httpd_options o = {.listen = "127.0.0.1:0", .max_connections = 2};
        _cleanup_(httpd_freep) struct httpd *h = NULL;
        struct merr err = MERR_INIT;

        ck_assert_int_eq(httpd_new(&o, &h, &err), 0);
        ck_assert_int_eq(health_serve(h, NULL, NULL, NULL), 0);
        start_or_fail(h);
        for (int i = 0; i < 5; i++)
                get_ok(httpd_port(h), NULL, "/livez", 200, "ok");
}
END_TEST

START_TEST(test_address_in_use) {
        _cleanup_(httpd_freep) struct httpd *a = start("127.0.0.1:0", 0);
        _cleanup_(httpd_freep) struct httpd *b = NULL;
        struct merr err = MERR_INIT;
        char listen[64];

        start_or_fail(a);
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", httpd_port(a));
        b = start(listen, 0);
        ck_assert_int_eq(httpd_start(b, &err), -EADDRINUSE);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), listen));
        ck_assert_int_eq(httpd_port(b), -ENOTCONN);
}
END_TEST

#define N_CLIENTS 50

struct client {
        int port;
        int index;
        bool ok;
};

static void *client_run(void *p) {
        struct client *cl = p;
        struct response resp;
        char path[64], want[128];

        snprintf(path, sizeof(path), "/echo?a=%d", cl->index);
        snprintf(want, sizeof(want), "echo\nGET\n/echo\na=%d\nb=(null)\nx-test=(null)\n", cl->index);
        cl->ok = request(cl->port, NULL, path, &resp) == CURLE_OK && resp.status == 200 &&
                 strcmp(buf_str(&resp.body), want) == 0;
        buf_release(&resp.body);
        return NULL;
}

START_TEST(test_concurrent_requests) {
        _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 16);
        struct client clients[N_CLIENTS];
        pthread_t t[N_CLIENTS];

        ck_assert_int_eq(httpd_handle(h, "/echo", on_echo, "echo"), 0);
        start_or_fail(h);
        for (int i = 0; i < N_CLIENTS; i++) {
                clients[i] = (struct client){.port = httpd_port(h), .index = i};
                ck_assert_int_eq(pthread_create(&t[i], NULL, client_run, &clients[i]), 0);
        }
        for (int i = 0; i < N_CLIENTS; i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_msg(clients[i].ok, "client %d failed", i);
        }
}
END_TEST

static int count_fds(void) {
        struct dirent *de;
        int n = 0;
        DIR *d = opendir("/proc/self/fd");

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

START_TEST(test_start_stop_repeatedly) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        int fds;

        ck_assert_int_eq(metrics_new(&m), 0);
        fds = count_fds();
        for (int i = 0; i < 20; i++) {
                _cleanup_(httpd_freep) struct httpd *h = start("127.0.0.1:0", 4);

                ck_assert_int_eq(health_serve(h, m, NULL, NULL), 0);
                /* every other round is freed without ever starting */
                if (i % 2 == 1)
                        continue;
                start_or_fail(h);
                get_ok(httpd_port(h), NULL, "/healthz", 200, "ok");
        }
        /* the listen socket, epoll descriptors and connections are all closed again */
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* A connection of our own to port, saying nothing. */
static int connect_raw(int port) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        return fd;
}

/* True once the server closed fd (waits up to ms). */
static bool closed_by_server(int fd, int ms) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;

        return poll(&p, 1, ms) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void wait_connections(struct httpd *h, unsigned long n, unsigned long untrusted) {
        struct httpd_stats st = {0};

        for (int i = 0; i < 200; i++) {
                httpd_get_stats(h, &st);
                if (st.connections == n && st.untrusted == untrusted)
                        return;
                usleep(10 * 1000);
        }
        ck_abort_msg("connections %lu (untrusted %lu), expected %lu (%lu)", st.connections, st.untrusted, n,
                untrusted);
}

struct done_seen {
        atomic_int calls, status;
};

static void on_done(void *ud, int status) {
        struct done_seen *d = ud;

        atomic_store(&d->status, status);
        atomic_fetch_add(&d->calls, 1);
}

static void on_trusting(struct httpd_request *r, void *userdata) {
        ck_assert_int_eq(httpd_request_on_done(r, on_done, userdata), 0);
        ck_assert_int_eq(httpd_request_on_done(r, on_done, userdata), -EALREADY);
        httpd_request_trust(r);
        (void) httpd_respond(r, 201, "text/plain", "trusted", 7);
}

START_TEST(test_untrusted_connections) {
        struct httpd_options o = {.listen = "127.0.0.1:0",
                .thread_per_connection = true,
                .max_untrusted = 2,
                .untrusted_timeout_s = 1};
        _cleanup_(httpd_freep) struct httpd *h = NULL;
        struct merr err = MERR_INIT;
        struct done_seen seen = {0};
        struct httpd_stats st;
        struct response resp;
        CURL *c = curl_easy_init();

        ck_assert_int_eq(httpd_new(&o, &h, &err), 0);
        ck_assert_int_eq(httpd_handle(h, "/trust", on_trusting, &seen), 0);
        start_or_fail(h);
        int port = httpd_port(h);

        /* a client whose request was trusted keeps its connection while silent ones come and go */
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/trust", port);
        resp.body = (struct buf) BUF_INIT(1024);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        for (int i = 0; i < 100 && atomic_load(&seen.calls) == 0; i++)
                usleep(10 * 1000);
        ck_assert_int_eq(atomic_load(&seen.calls), 1);
        ck_assert_int_eq(atomic_load(&seen.status), 201);
        wait_connections(h, 1, 0);

        /* two silent clients fill the untrusted room; a third closes the oldest */
        int a = connect_raw(port), b = connect_raw(port);
        wait_connections(h, 3, 2);
        int d = connect_raw(port);
        ck_assert(closed_by_server(a, 2000));
        ck_assert(!closed_by_server(b, 0));
        wait_connections(h, 3, 2);
        httpd_get_stats(h, &st);
        ck_assert_uint_eq(st.evicted, 1);

        /* silent ones go after untrusted_timeout_s; the trusted one is still there */
        ck_assert(closed_by_server(b, 5000));
        ck_assert(closed_by_server(d, 5000));
        wait_connections(h, 1, 0);
        buf_reset(&resp.body);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        long reused = -1;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &reused);
        ck_assert_int_eq(reused, 0); /* the same connection, no new one */
        ck_assert_str_eq(buf_str(&resp.body), "trusted");
        close(a);
        close(b);
        close(d);
        curl_easy_cleanup(c);
        buf_release(&resp.body);
}
END_TEST

static Suite *httpd_suite(void) {
        Suite *s = suite_create("httpd");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_health_endpoints);
        tcase_add_test(tc, test_keep_alive);
        tcase_add_test(tc, test_stream);
        tcase_add_test(tc, test_stream_needs_own_threads);
        tcase_add_test(tc, test_not_found_status);
        tcase_add_test(tc, test_routing_and_request);
        tcase_add_test(tc, test_request_header);
        tcase_add_test(tc, test_request_body);
        tcase_add_test(tc, test_response_headers);
        tcase_add_test(tc, test_query_value);
        tcase_add_test(tc, test_listen_addresses);
        tcase_add_test(tc, test_few_connections);
        tcase_add_test(tc, test_address_in_use);
        tcase_add_test(tc, test_concurrent_requests);
        tcase_add_test(tc, test_start_stop_repeatedly);
        tcase_add_test(tc, test_untrusted_connections);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        sr = srunner_create(httpd_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
