/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube/watch.h"
#include "testutil.h"

static const char stream[] =
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"a\","
        "\"resourceVersion\":\"11\"},"
        "\"spec\":{\"note\":\"line\\nbreak inside a string\"}}}\n"
        "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"a\","
        "\"resourceVersion\":\"12\"}}}\n"
        "\n"
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Sandbox\",\"metadata\":{\"resourceVersion\":\"20\","
        "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n"
        "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"a\","
        "\"resourceVersion\":\"21\"}}}\n"
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
        "\"status\":\"Failure\","
        "\"message\":\"too old resource version: 100 (250)\",\"reason\":\"Expired\",\"code\":410}}\n";

struct seen {
        char log[1024];
        int n;
        int stop_after;
};

static int record(const struct kube_watch_event *ev, void *userdata) {
        struct seen *s = userdata;
        const char *name = NULL;
        json_object *md, *v;

        if (json_object_object_get_ex(ev->object, "metadata", &md) &&
                json_object_object_get_ex(md, "name", &v))
                name = json_object_get_string(v);
        snprintf(s->log + strlen(s->log), sizeof(s->log) - strlen(s->log), "%s:%s:%s%s%s;",
                kube_event_type_to_string(ev->type), name ? name : "-",
                ev->resource_version ? ev->resource_version : "-", ev->initial_events_end ? ":end" : "",
                kube_watch_event_is_expired(ev) ? ":expired" : "");
        s->n++;
        if (s->stop_after && s->n == s->stop_after)
                return -ECANCELED;
        return 0;
}

static const char *expected = "ADDED:a:11;MODIFIED:a:12;BOOKMARK:-:20:end;DELETED:a:21;ERROR:-:-:expired;";

START_TEST(test_whole_stream) {
        _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *d = NULL;
        struct seen s = {0};
        struct merr e = MERR_INIT;

        ck_assert_int_eq(kube_watch_decoder_new(1 << 20, &d), 0);
        ck_assert_int_eq(kube_watch_decoder_feed(d, stream, strlen(stream), record, &s, &e), 5);
        ck_assert_int_eq(kube_watch_decoder_finish(d, &e), 0);
        ck_assert_str_eq(s.log, expected);
}
END_TEST

/* Chunks never line up with events: every split point, and one byte at a time, give the same events. */
START_TEST(test_any_chunking) {
        size_t len = strlen(stream);

        for (size_t cut = 0; cut <= len; cut++) {
                _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *d = NULL;
                struct seen s = {0};

                ck_assert_int_eq(kube_watch_decoder_new(1 << 20, &d), 0);
                ck_assert_int_ge(kube_watch_decoder_feed(d, stream, cut, record, &s, NULL), 0);
                ck_assert_int_ge(kube_watch_decoder_feed(d, stream + cut, len - cut, record, &s, NULL), 0);
                ck_assert_str_eq(s.log, expected);
        }
        {
                _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *d = NULL;
                struct seen s = {0};

                ck_assert_int_eq(kube_watch_decoder_new(1 << 20, &d), 0);
                for (size_t i = 0; i < len; i++)
                        ck_assert_int_ge(kube_watch_decoder_feed(d, stream + i, 1, record, &s, NULL), 0);
                ck_assert_str_eq(s.log, expected);
        }
}
END_TEST

static int feed_err(const char *in, size_t cap, struct merr *e) {
        _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *d = NULL;
        struct seen s = {0};
        int r;

        ck_assert_int_eq(kube_watch_decoder_new(cap, &d), 0);
        r = kube_watch_decoder_feed(d, in, strlen(in), record, &s, e);
        if (r >= 0)
                r = kube_watch_decoder_finish(d, e);
        return r;
}

START_TEST(test_malformed_events) {
        struct merr e = MERR_INIT;

        ck_assert_int_eq(feed_err("{\"type\":\"ADDED\"}\n", 4096, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "watch event 1"));
        ck_assert_ptr_nonnull(strstr(e.msg, "object"));
        merr_clear(&e);
        ck_assert_int_eq(feed_err("{\"type\":\"EXPLODED\",\"object\":{}}\n", 4096, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "unknown type 'EXPLODED'"));
        merr_clear(&e);
        ck_assert_int_eq(feed_err("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}\n", 4096, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "metadata.resourceVersion"));
        merr_clear(&e);
        ck_assert_int_eq(feed_err("not json\n", 4096, &e), -EINVAL);
        merr_clear(&e);
        ck_assert_int_eq(feed_err("{\"type\":1,\"object\":{}}\n", 4096, &e), -EINVAL);
        merr_clear(&e);
        ck_assert_int_eq(feed_err("[]\n", 4096, &e), -EINVAL);
}
END_TEST

START_TEST(test_oversized_and_truncated) {
        struct merr e = MERR_INIT;
        char big[8192];

        memset(big, ' ', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        big[0] = '{';
        ck_assert_int_eq(feed_err(big, 1024, &e), -E2BIG);
        ck_assert_ptr_nonnull(strstr(e.msg, "larger than 1024 bytes"));
        merr_clear(&e);
        ck_assert_int_eq(feed_err("{\"type\":\"ADDED\",\"obj", 4096, &e), -EPIPE);
        ck_assert_ptr_nonnull(strstr(e.msg, "ended inside event 1"));
}
END_TEST

START_TEST(test_callback_stops) {
        _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *d = NULL;
        struct seen s = {.stop_after = 2};

        ck_assert_int_eq(kube_watch_decoder_new(1 << 20, &d), 0);
        ck_assert_int_eq(kube_watch_decoder_feed(d, stream, strlen(stream), record, &s, NULL), -ECANCELED);
        ck_assert_int_eq(s.n, 2);
}
END_TEST

static Suite *watch_suite(void) {
        Suite *s = suite_create("kube-watch");
        TCase *tc = tcase_create("decoder");

        tcase_add_test(tc, test_whole_stream);
        tcase_add_test(tc, test_any_chunking);
        tcase_add_test(tc, test_malformed_events);
        tcase_add_test(tc, test_oversized_and_truncated);
        tcase_add_test(tc, test_callback_stops);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(watch_suite)
