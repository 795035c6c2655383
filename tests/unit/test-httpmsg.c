/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "httpmsg.h"
#include "testutil.h"

static long parse(const char *s, enum http_kind kind, struct http_head *h) {
        return http_head_parse(s, strlen(s), kind, h);
}

START_TEST(test_request_head) {
        struct http_head h;
        const char *req =
                "GET /a?b=1 HTTP/1.1\r\nHost: x.example\r\nX-Empty:\r\nAccept:  text/html \r\n\r\nBODY";
        ck_assert_int_eq(parse(req, HTTP_REQUEST, &h), (long) (strstr(req, "BODY") - req));
        ck_assert_int_eq(h.method_len, 3);
        ck_assert_int_eq(memcmp(h.method, "GET", 3), 0);
        ck_assert_int_eq(h.target_len, 6);
        ck_assert_int_eq(h.minor, 1);
        ck_assert_uint_eq(h.n_fields, 3);
        size_t n;
        const char *v = http_head_get(&h, "ACCEPT", &n);
        ck_assert_int_eq(n, 9);
        ck_assert_int_eq(memcmp(v, "text/html", 9), 0); /* whitespace around a value is not part of it */
        ck_assert_ptr_nonnull(http_head_get(&h, "x-empty", &n));
        ck_assert_int_eq(n, 0);
        ck_assert(http_head_keep_alive(&h));
        /* incomplete: more bytes needed */
        ck_assert_int_eq(http_head_parse(req, 30, HTTP_REQUEST, &h), 0);
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\r", HTTP_REQUEST, &h), 0);
}
END_TEST

START_TEST(test_refused_heads) {
        struct http_head h;
        /* framings two readers could disagree on (request smuggling) */
        ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 HTTP_REQUEST, &h),
                -EBADMSG);
        ck_assert_int_eq(
                parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP_REQUEST, &h),
                -EBADMSG);
        ck_assert_int_eq(
                parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_REQUEST, &h),
                -EBADMSG);
        ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("GET / HTTP/1.1\nHost: x\n\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("G(T / HTTP/1.1\r\n\r\n", HTTP_REQUEST, &h), -EBADMSG);
        ck_assert_int_eq(parse("HTTP/1.1 20 OK\r\n\r\n", HTTP_RESPONSE, &h), -EBADMSG);
        /* two identical lengths are one */
        ck_assert_int_gt(
                parse("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", HTTP_REQUEST, &h),
                0);
}
END_TEST

START_TEST(test_hop_by_hop_and_keep_alive) {
        struct http_head h;
        ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nX-App: 2\r\n"
                               "Keep-Alive: timeout=5\r\n\r\n",
                                 HTTP_RESPONSE, &h),
                0);
        ck_assert_int_eq(h.status, 200);
        ck_assert(!http_head_keep_alive(&h));
        ck_assert(http_field_hop_by_hop(&h, &h.fields[0])); /* Connection */
        ck_assert(http_field_hop_by_hop(&h, &h.fields[1])); /* named by Connection */
        ck_assert(!http_field_hop_by_hop(&h, &h.fields[2]));
        ck_assert(http_field_hop_by_hop(&h, &h.fields[3]));
        ck_assert_int_gt(parse("GET / HTTP/1.0\r\n\r\n", HTTP_REQUEST, &h), 0);
        ck_assert(!http_head_keep_alive(&h));
        ck_assert_int_gt(
                parse("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
                        HTTP_REQUEST, &h),
                0);
        ck_assert(http_head_has_token(&h, "connection", "upgrade"));
}
END_TEST

/* Feeds body in pieces of step bytes; returns how many bytes belonged to it. */
static size_t feed(struct http_body *b, const char *body, size_t step) {
        size_t used = 0, len = strlen(body);
        while (used < len && !http_body_done(b) && !b->bad) {
                size_t n = len - used < step ? len - used : step;
                size_t took = http_body_feed(b, body + used, n);
                used += took;
                if (took < n)
                        break;
        }
        return used;
}

START_TEST(test_bodies) {
        struct http_head h;
        struct http_body b;
        const char *chunked = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for (size_t step = 1; step <= strlen(chunked); step++) {
                ck_assert_int_gt(
                        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_RESPONSE, &h), 0);
                ck_assert_int_eq(http_body_init(&b, &h, HTTP_RESPONSE, "GET"), 0);
                ck_assert_uint_eq(feed(&b, chunked, step), strlen(chunked) - 4);
                ck_assert(http_body_done(&b));
        }
        ck_assert_int_gt(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", HTTP_REQUEST, &h), 0);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_REQUEST, NULL), 0);
        ck_assert_uint_eq(feed(&b, "abcGET", 100), 3);
        ck_assert(http_body_done(&b));
        /* no body: a request without a length, HEAD's and 304's responses */
        ck_assert_int_gt(parse("GET / HTTP/1.1\r\n\r\n", HTTP_REQUEST, &h), 0);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_REQUEST, NULL), 0);
        ck_assert(http_body_done(&b));
        ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", HTTP_RESPONSE, &h), 0);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_RESPONSE, "HEAD"), 0);
        ck_assert(http_body_done(&b));
        /* a response without a length ends with the connection */
        ck_assert_int_gt(parse("HTTP/1.0 200 OK\r\n\r\n", HTTP_RESPONSE, &h), 0);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_RESPONSE, "GET"), 0);
        ck_assert_int_eq(b.framing, HTTP_BODY_UNTIL_CLOSE);
        /* bad chunk syntax */
        ck_assert_int_gt(
                parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_RESPONSE, &h), 0);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_RESPONSE, "GET"), 0);
        feed(&b, "zz\r\n", 4);
        ck_assert(b.bad);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_RESPONSE, "GET"), 0);
        feed(&b, "3\r\nabcX\r\n", 9); /* data longer than its size */
        ck_assert(b.bad);
        ck_assert_int_eq(http_body_init(&b, &h, HTTP_RESPONSE, "GET"), 0);
        feed(&b, "fffffffffffffffff\r\n", 19); /* a size past 64 bits */
        ck_assert(b.bad);
}
END_TEST

static Suite *httpmsg_suite(void) {
        Suite *s = suite_create("httpmsg");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_request_head);
        tcase_add_test(tc, test_refused_heads);
        tcase_add_test(tc, test_hop_by_hop_and_keep_alive);
        tcase_add_test(tc, test_bodies);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(httpmsg_suite)
