/* SPDX-License-Identifier: Apache-2.0 */
/* sandboxes/files (pkg/apiserver/files.c): the paths it takes, and the listing it reads from a sandbox. */
#include <errno.h>
#include <string.h>

#include "apiserver/internal.h"
#include "testutil.h"

static void path_ok(const char *path) {
        ck_assert_msg(api_files_path_problem(path) == NULL, "%s: %s", path, api_files_path_problem(path));
}

static void path_bad(const char *path, const char *why) {
        const char *got = api_files_path_problem(path);
        ck_assert_msg(got && strstr(got, why), "%s: expected '%s', got '%s'", path ? path : "(null)", why,
                got ? got : "(accepted)");
}

START_TEST(test_paths) {
        char longest[4097], too_long[4098], segment[300];
        path_ok("/");
        path_ok("/workspace");
        path_ok("/workspace/a b/.hidden/..x/x..");
        path_bad(NULL, "path is required");
        path_bad("", "path is required");
        path_bad("workspace/a", "path must be absolute");
        path_bad("./a", "path must be absolute");
        path_bad("//a", "empty segments");
        path_bad("/a//b", "empty segments");
        path_bad("/a/", "empty segments");
        path_bad("/a/./b", ". or .. segments");
        path_bad("/a/..", ". or .. segments");
        path_bad("/..", ". or .. segments");
        path_bad("/a\nb", "control characters");
        path_bad("/a\x7f", "control characters");
        /* 4095 bytes is the most: 16 segments of "/" and 255 bytes, less one */
        for (size_t i = 0; i < 4096; i++)
                too_long[i] = i % 256 == 0 ? '/' : 'a';
        too_long[4096] = '\0';
        memcpy(longest, too_long, 4095);
        longest[4095] = '\0';
        ck_assert_ptr_null(api_files_path_problem(longest));
        ck_assert_ptr_nonnull(strstr(api_files_path_problem(too_long), "longer than 4095 bytes"));
        segment[0] = '/';
        memset(segment + 1, 'a', 256);
        segment[257] = '\0';
        path_bad(segment, "longer than 255 bytes");
}
END_TEST

static void listing_is(const char *data, size_t len, const char *json) {
        struct merr err = MERR_INIT;
        json_object *items = NULL;
        ck_assert_msg(api_files_parse_listing(data, len, &items, &err) == 0, "%s", merr_msg(&err));
        ck_assert_str_eq(json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN), json);
        json_object_put(items);
}

static void listing_bad(const char *data, size_t len, const char *why) {
        struct merr err = MERR_INIT;
        json_object *items = NULL;
        ck_assert_int_eq(api_files_parse_listing(data, len, &items, &err), -EINVAL);
        ck_assert_ptr_null(items);
        ck_assert_msg(strstr(err.msg, why), "expected '%s' in '%s'", why, err.msg);
}

#define LISTING_IS(lit, json) listing_is(lit, sizeof(lit) - 1, json)
#define LISTING_BAD(lit, why) listing_bad(lit, sizeof(lit) - 1, why)

START_TEST(test_listing) {
        LISTING_IS("", "[]");
        LISTING_IS("81a4 8 1796550648\nbin.dat\0a1ff 7 0\nlink\0bin.dat\0"
                   "41ed 4096 1796550648\nsub\0",
                "[{\"name\":\"bin.dat\",\"type\":\"file\",\"size\":8,\"mode\":\"0644\",\"modTime\":\"2026-12-"
                "06T"
                "09:50:48Z\"},{\"name\":\"link\",\"type\":\"symlink\",\"size\":7,\"mode\":\"0777\","
                "\"modTime\":"
                "\"1970-01-01T00:00:00Z\",\"target\":\"bin.dat\"},{\"name\":\"sub\",\"type\":\"dir\","
                "\"size\":"
                "4096,\"mode\":\"0755\",\"modTime\":\"2026-12-06T09:50:48Z\"}]");
        /* a newline in a name, a FIFO, a setuid file; a time before 1970, and one past 9999 (left out) */
        LISTING_IS("11b6 0 -1\nnew\nline\x00"
                   "89ed 1 253402300800\ns\0",
                "[{\"name\":\"new\\nline\",\"type\":\"other\",\"size\":0,\"mode\":\"0666\",\"modTime\":"
                "\"1969-12-31T23:59:59Z\"},{\"name\":\"s\",\"type\":\"file\",\"size\":1,\"mode\":\"4755\"}]");
        /* a dangling symlink whose target vanished: an empty target */
        LISTING_IS("a1ff 1 0\nd\0\0", "[{\"name\":\"d\",\"type\":\"symlink\",\"size\":1,\"mode\":\"0777\","
                                      "\"modTime\":\"1970-01-01T00:00:00Z\",\"target\":\"\"}]");
        LISTING_BAD("81a4 8 1\nbin.dat", "at byte 0: expected a name");
        LISTING_BAD("81a4 8 1\nok\0"
                    "81a4 8\nx\0",
                "at byte 12: expected hex mode");
        LISTING_BAD("81A4 8 1\nx\0", "expected hex mode");
        LISTING_BAD("181a4 8 1\nx\0", "expected hex mode");
        LISTING_BAD("81a4 -8 1\nx\0", "expected hex mode");
        LISTING_BAD("81a4 99999999999999999999 1\nx\0", "expected hex mode");
        LISTING_BAD("81a4 9223372036854775808 1\nx\0", "expected hex mode");
        LISTING_BAD("81a4 8 1 \nx\0", "expected hex mode");
        LISTING_BAD("81a4 8 1\n\0", "expected a name");
        LISTING_BAD("81a4 8 1\na/b\0", "expected a name");
        LISTING_BAD("81a4 8 1\n.\0", "expected a name");
        LISTING_BAD("81a4 8 1\n..\0", "expected a name");
        LISTING_BAD("a1ff 8 1\nl\0target", "expected a symlink's target");
}
END_TEST

/* names of up to 255 bytes */
START_TEST(test_listing_bounds) {
        char data[400];
        struct merr err = MERR_INIT;
        json_object *items = NULL;
        memcpy(data, "81a4 1 1\n", 9);
        memset(data + 9, 'n', 256);
        data[9 + 255] = '\0';
        ck_assert_int_eq(api_files_parse_listing(data, 9 + 256, &items, &err), 0);
        ck_assert_int_eq((int) strlen(json_object_get_string(
                                 json_object_object_get(json_object_array_get_idx(items, 0), "name"))),
                255);
        json_object_put(items);
        items = NULL;
        data[9 + 255] = 'n';
        data[9 + 256] = '\0';
        listing_bad(data, 9 + 257, "expected a name of 1 to 255 bytes");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("apiserver-files");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_paths);
        tcase_add_test(tc, test_listing);
        tcase_add_test(tc, test_listing_bounds);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(suite)
