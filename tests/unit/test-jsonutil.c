/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
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
        double d;
        json_object *a;

        ck_assert_int_eq(json_get_string(o, "metadata.name", 0, &s, &e), 1);
        ck_assert_str_eq(s, "web");
        ck_assert_int_eq(json_get_int64(o, "spec.replicas", 0, &n, &e), 1);
        ck_assert_int_eq(n, 3);
        ck_assert_int_eq(json_get_bool(o, "spec.suspend", 0, &b, &e), 1);
        ck_assert(!b);
        ck_assert_int_eq(json_get_double(o, "spec.ratio", 0, &d, &e), 1);
        ck_assert(d == 0.5);
        ck_assert_int_eq(json_get_double(o, "spec.replicas", 0, &d, &e), 1);
        ck_assert(d == 3.0);
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
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(jsonutil_suite)
