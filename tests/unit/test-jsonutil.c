/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "testutil.h"

static const char doc[] = "{\"apiVersion\":\"mbox.dev/v1alpha1\",\"kind\":\"Sandbox\","
                          "\"metadata\":{\"name\":\"web\",\"labels\":{\"app.io/x\":\"y\"}},"
                          "\"spec\":{\"replicas\":3,\"ratio\":0.5,\"suspend\":false,\"none\":null,"
                          "\"ports\":[{\"name\":\"web\",\"port\":3000},{\"name\":\"api\",\"port\":8080}],"
                          "\"big\":10000000000000000000}}";

static json_object *parse_doc(void) {
        json_object *o = NULL;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(json_parse(doc, strlen(doc), 0, &o, &e), 0);
        return o;
}

START_TEST(test_typed_getters) {
        _cleanup_json_ json_object *o = parse_doc();
        struct merr e = MERR_INIT;
        const char *s;
        int64_t n;
        bool b;
        json_object *a;

        ck_assert_int_eq(json_get_string(o, "metadata.name", 0, &s, &e), 1);
        ck_assert_str_eq(s, "web");
        ck_assert_int_eq(json_get_int64(o, "spec.replicas", 0, &n, &e), 1);
        ck_assert_int_eq(n, 3);
        ck_assert_int_eq(json_get_bool(o, "spec.suspend", 0, &b, &e), 1);
        ck_assert(!b);
        ck_assert_int_eq(json_get_array(o, "spec.ports", 0, &a, &e), 1);
        ck_assert_uint_eq(json_object_array_length(a), 2);
        ck_assert_int_eq(json_get_string(o, "spec.ports[1].name", 0, &s, &e), 1);
        ck_assert_str_eq(s, "api");
        ck_assert_int_eq(json_get_string(o, "metadata.labels.app\\.io/x", 0, &s, &e), 1);
        ck_assert_str_eq(s, "y");
}
END_TEST

START_TEST(test_missing_and_optional) {
        _cleanup_json_ json_object *o = parse_doc();
        struct merr e = MERR_INIT;
        const char *s = "untouched";

        ck_assert_int_eq(json_get_string(o, "spec.image", JSON_OPTIONAL, &s, &e), 0);
        ck_assert_str_eq(s, "untouched");
        ck_assert_int_eq(json_get_string(o, "spec.none", JSON_OPTIONAL, &s, &e), 0);
        ck_assert_int_eq(json_get_string(o, "spec.ports[5].name", JSON_OPTIONAL, &s, &e), 0);
        ck_assert_int_eq(json_get_string(o, "spec.image", 0, &s, &e), -ENOENT);
        ck_assert_str_eq(e.msg, "field 'spec.image': required value is missing");
        ck_assert_int_eq(json_get_string(o, "spec.none", 0, &s, &e), -ENOENT);
}
END_TEST

START_TEST(test_mistyped_names_path) {
        _cleanup_json_ json_object *o = parse_doc();
        struct merr e = MERR_INIT;
        int64_t n;
        const char *s;

        ck_assert_int_eq(json_get_int64(o, "metadata.name", 0, &n, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "field 'metadata.name': expected integer, got string");
        ck_assert_int_eq(json_get_int64(o, "spec.ratio", 0, &n, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "field 'spec.ratio': expected integer, got number");
        ck_assert_int_eq(json_get_string(o, "spec.ports", 0, &s, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "field 'spec.ports': expected string, got array");
        /* a mistyped optional field is still an error */
        ck_assert_int_eq(json_get_string(o, "spec.replicas", JSON_OPTIONAL, &s, &e), -EINVAL);
}
END_TEST

START_TEST(test_ranges) {
        _cleanup_json_ json_object *o = parse_doc();
        struct merr e = MERR_INIT;
        int64_t n;

        ck_assert_int_eq(json_get_int_range(o, "spec.ports[0].port", 0, 1, 65535, &n, &e), 1);
        ck_assert_int_eq(json_get_int_range(o, "spec.replicas", 0, 0, 2, &n, &e), -ERANGE);
        ck_assert_str_eq(e.msg, "field 'spec.replicas': 3 is outside 0..2");
        ck_assert_int_eq(json_get_int64(o, "spec.big", 0, &n, &e), -ERANGE);
}
END_TEST

START_TEST(test_bad_paths) {
        _cleanup_json_ json_object *o = parse_doc();
        struct merr e = MERR_INIT;
        const char *s;

        ck_assert_int_eq(json_get_string(o, "spec..x", 0, &s, &e), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "spec.", 0, &s, &e), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "spec.ports[x]", 0, &s, &e), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "spec.ports[0", 0, &s, &e), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "spec.ports[0]x", 0, &s, &e), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "", 0, &s, &e), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "spec.ports[99999999999999999999999]", 0, &s, &e), -EINVAL);
}
END_TEST

static int parse_err(const char *in, size_t len, int depth, struct merr *e) {
        json_object *o = NULL;
        int r = json_parse(in, len, depth, &o, e);

        json_object_put(o);
        return r;
}

START_TEST(test_parse_errors_are_located) {
        struct merr e = MERR_INIT;

        ck_assert_int_eq(parse_err("{\"a\":\n  tru}", 12, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "line 2"));
        ck_assert_int_eq(parse_err("{\"a\":1", 6, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "end of input"));
        ck_assert_ptr_nonnull(strstr(e.msg, "unexpected end of input"));
        ck_assert_int_eq(parse_err("{} {}", 5, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "column 4"));
        ck_assert_int_eq(parse_err("", 0, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("{\"a\":\"\xff\xfe\"}", 10, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("{\"a\":\0}", 7, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "NUL byte"));
        ck_assert_int_eq(parse_err("[1,]", 4, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("{'a':1}", 7, 0, &e), -EINVAL);
}
END_TEST

START_TEST(test_parse_depth_limit) {
        char deep[4096];
        struct merr e = MERR_INIT;
        json_object *o = NULL;

        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        ck_assert_int_eq(parse_err(deep, 200, 0, &e), -EINVAL);
        ck_assert_int_eq(json_parse(deep, 200, 128, &o, &e), 0);
        json_object_put(o);
        memset(deep, '[', sizeof(deep));
        ck_assert_int_eq(parse_err(deep, sizeof(deep), 0, &e), -EINVAL);
}
END_TEST

START_TEST(test_parse_numbers_and_whitespace) {
        struct merr e = MERR_INIT;
        json_object *o = NULL;

        ck_assert_int_eq(json_parse("  42\n", 5, 0, &o, &e), 0);
        ck_assert_int_eq(json_object_get_int(o), 42);
        json_object_put(o);
        ck_assert_int_eq(json_parse("7", 1, 0, &o, &e), 0);
        ck_assert_int_eq(json_object_get_int(o), 7);
        json_object_put(o);
        ck_assert_int_eq(parse_err("1e99999", 7, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("[NaN]", 5, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("-Infinity", 9, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("[nan]", 5, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("99999999999999999999999", 23, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "out of range"));
        ck_assert_int_eq(parse_err("18446744073709551615", 20, 0, &e), -EINVAL);
        ck_assert_int_eq(json_parse("{\"s\":\"it's NaN \\\" '\"}", 21, 0, &o, &e), 0);
        json_object_put(o);
        ck_assert_int_eq(json_parse("1.5e3", 5, 0, &o, &e), 0);
        json_object_put(o);
        /* json-c takes these; JSON (and Kubernetes) does not */
        ck_assert_int_eq(parse_err("1.", 2, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "malformed number"));
        ck_assert_int_eq(parse_err("[-.5]", 5, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("[-01]", 5, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("00", 2, 0, &e), -EINVAL);
        ck_assert_int_eq(parse_err("{\"a\":1.e5}", 10, 0, &e), -EINVAL);
        /* raw control characters inside strings: JSON wants them escaped; outside, \t\n\r are whitespace */
        ck_assert_int_eq(parse_err("[\"a\nb\"]", 7, 0, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "control character"));
        ck_assert_ptr_nonnull(strstr(e.msg, "column 4"));
        ck_assert_int_eq(parse_err("{\"k\x1f\":1}", 8, 0, &e), -EINVAL);
        ck_assert_int_eq(json_parse("[\"a\\nb\\u001f\",\t1]\r\n", 17, 0, &o, &e), 0);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o, 0)), "a\nb\x1f");
        json_object_put(o);
}
END_TEST

/* Feeds doc in pieces of step bytes. */
static int parse_pieces(
        const char *text, size_t len, size_t step, unsigned flags, json_object **ret, struct merr *e) {
        _cleanup_(json_stream_freep) struct json_stream *s = NULL;
        int r;

        ck_assert_int_eq(json_stream_new(0, flags, &s), 0);
        for (size_t i = 0; i < len; i += step) {
                r = json_stream_feed(s, text + i, len - i < step ? len - i : step, e);
                if (r < 0)
                        return r;
        }
        ck_assert_uint_eq(json_stream_bytes(s), len);
        return json_stream_finish(s, ret, e);
}

START_TEST(test_stream_matches_parse) {
        static const char *const good[] = {
                "{\"a\":[1,2.5,-3e2,true,false,null,\"x\\\"y\"],\"b\":{\"c\":{}}}",
                "  42\n",
                "7",
                "-0.5",
                "[\"a\xc3\xa9z\xe2\x82\xacq\xf0\x9f\x98\x80w\"]",
                "{\"k\xc3\xa9y\":\"\\u00e9\\ud83d\\ude00\"}",
                "[]",
                "\"s\"",
                "null",
                "true",
        };
        static const char *const bad[] = {
                "{\"a\":1",
                "{} {}",
                "[1,]",
                "{'a':1}",
                "[NaN]",
                "99999999999999999999999",
                "[\"\xff\"]",
                "[1.]",
                "[-.5]",
                "[01]",
                "1.e5",
                "[1,2",
                "",
                "[\"\xe2\x82\"]",
                "{\"a\":1e99999}",
                "[\"tab\there\"]",
        };

        for (size_t d = 0; d < ARRAY_SIZE(good); d++) {
                size_t len = strlen(good[d]);
                _cleanup_json_ json_object *whole = NULL;
                struct merr e = MERR_INIT;

                ck_assert_int_eq(json_parse(good[d], len, 0, &whole, &e), 0);
                for (size_t step = 1; step <= len; step++)
                        for (unsigned flags = 0; flags <= JSON_PARSE_COMPACT; flags += JSON_PARSE_COMPACT) {
                                _cleanup_json_ json_object *o = NULL;

                                ck_assert_msg(parse_pieces(good[d], len, step, flags, &o, &e) == 0,
                                        "doc %zu step %zu: %s", d, step, e.msg);
                                ck_assert(json_object_equal(o, whole));
                        }
        }
        for (size_t d = 0; d < ARRAY_SIZE(bad); d++) {
                size_t len = strlen(bad[d]);
                struct merr e = MERR_INIT;

                ck_assert_msg(parse_err(bad[d], len, 0, &e) == -EINVAL, "doc %zu parsed", d);
                for (size_t step = 1; step <= (len ? len : 1); step++) {
                        json_object *o = NULL;

                        ck_assert_msg(parse_pieces(bad[d], len, step, 0, &o, &e) == -EINVAL,
                                "doc %zu step %zu parsed", d, step);
                        ck_assert_ptr_null(o);
                        ck_assert_ptr_nonnull(strstr(e.msg, "json: "));
                }
        }
}
END_TEST

START_TEST(test_stream_errors) {
        _cleanup_(json_stream_freep) struct json_stream *s = NULL;
        struct merr e = MERR_INIT;
        json_object *o = NULL;

        /* located across pieces: line 2, column 3 */
        ck_assert_int_eq(json_stream_new(0, 0, &s), 0);
        ck_assert_int_eq(json_stream_feed(s, "{\"a\":\n", 6, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, "  x}", 4, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "line 2, column 3 (offset 8)"));
        /* after an error, only the error */
        ck_assert_int_eq(json_stream_feed(s, "1", 1, &e), -EINVAL);
        ck_assert_int_eq(json_stream_finish(s, &o, &e), -EINVAL);
        ck_assert_ptr_null(o);
        s = json_stream_free(s);

        /* NUL bytes, trailing data in a later piece */
        ck_assert_int_eq(json_stream_new(0, 0, &s), 0);
        ck_assert_int_eq(json_stream_feed(s, "[1]", 3, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, " \n", 2, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, " x", 2, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "unexpected data after the document"));
        s = json_stream_free(s);
        ck_assert_int_eq(json_stream_new(0, 0, &s), 0);
        ck_assert_int_eq(json_stream_feed(s, "[\"a", 3, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, "\0\"]", 3, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "NUL byte"));
        s = json_stream_free(s);

        /* a number split between pieces is checked whole (json-c alone takes "75" "3-" for 753) */
        ck_assert_int_eq(json_stream_new(0, 0, &s), 0);
        ck_assert_int_eq(json_stream_feed(s, "[753", 4, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, "-", 1, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, "]", 1, &e), 0);
        ck_assert_int_eq(json_stream_finish(s, &o, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg, "line 1, column 6 (offset 5): malformed number"));
        s = json_stream_free(s);

        /* the depth limit holds across pieces */
        ck_assert_int_eq(json_stream_new(2, 0, &s), 0);
        ck_assert_int_eq(json_stream_feed(s, "[[", 2, &e), 0);
        ck_assert_int_eq(json_stream_feed(s, "[]]]", 4, &e), -EINVAL);
}
END_TEST

START_TEST(test_compact) {
        _cleanup_json_ json_object *o = NULL, *copy = NULL;
        struct merr e = MERR_INIT;
        const char *text =
                "{\"items\":[{\"a\":{},\"b\":{\"c\":1,\"d\":[{}]}},{\"e\":\"f\"}],\"m\":{\"x\":1}}";
        json_object *b = NULL;
        const char *str;

        ck_assert_int_eq(parse_pieces(text, strlen(text), 5, JSON_PARSE_COMPACT, &o, &e), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), text);
        ck_assert_int_lt(json_object_get_object(o)->size, 16);
        ck_assert_int_eq(json_get_object(o, "items[0].b", 0, &b, &e), 1);
        ck_assert_int_lt(json_object_get_object(b)->size, 16);
        /* compacted objects are ordinary objects: they grow, keep their order, delete, copy */
        for (int i = 0; i < 40; i++) {
                char k[16];

                (void) snprintf(k, sizeof(k), "k%d", i);
                ck_assert_int_eq(json_object_object_add(b, k, json_object_new_int(i)), 0);
        }
        json_object_object_del(b, "c");
        ck_assert_int_eq(json_get_string(o, "items[1].e", 0, &str, &e), 1);
        ck_assert_str_eq(str, "f");
        ck_assert_int_eq(json_object_object_length(b), 41);
        ck_assert_int_eq(json_object_deep_copy(o, &copy, NULL), 0);
        ck_assert(json_object_equal(o, copy));
        json_compact(copy);
        ck_assert(json_object_equal(o, copy));
}
END_TEST

static Suite *jsonutil_suite(void) {
        Suite *s = suite_create("jsonutil");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_typed_getters);
        tcase_add_test(tc, test_missing_and_optional);
        tcase_add_test(tc, test_mistyped_names_path);
        tcase_add_test(tc, test_ranges);
        tcase_add_test(tc, test_bad_paths);
        tcase_add_test(tc, test_parse_errors_are_located);
        tcase_add_test(tc, test_parse_depth_limit);
        tcase_add_test(tc, test_parse_numbers_and_whitespace);
        tcase_add_test(tc, test_stream_matches_parse);
        tcase_add_test(tc, test_stream_errors);
        tcase_add_test(tc, test_compact);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(jsonutil_suite)
