/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

static int pipefd[2];
static char out[128 * 1024];

static void capture(enum log_level level, enum log_format format) {
        ck_assert_int_eq(pipe(pipefd), 0);
        log_setup(level, format, pipefd[1]);
}

static const char *drain(void) {
        ssize_t n;

        close(pipefd[1]);
        n = read(pipefd[0], out, sizeof(out) - 1);
        close(pipefd[0]);
        out[n > 0 ? n : 0] = '\0';
        log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, STDERR_FILENO);
        return out;
}

START_TEST(test_text_format) {
        const char *s;

        capture(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
        log_info("reconcile done", "controller", "sandbox", "key", "demo/web", "note", "has space", "quote",
                "a\"b");
        s = drain();
        ck_assert_ptr_nonnull(
                strstr(s, " level=info msg=\"reconcile done\" controller=sandbox key=demo/web"));
        ck_assert_ptr_nonnull(strstr(s, " note=\"has space\" quote=\"a\\\"b\"\n"));
        ck_assert_int_eq(strncmp(s, "time=", 5), 0);
        ck_assert_ptr_null(strchr(s, '\n') + 1 == s + strlen(s) ? NULL : "more than one line");
}
END_TEST

START_TEST(test_json_format_is_valid_json) {
        json_object *o, *v;
        const char *s;

        capture(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON);
        log_debug("multi\nline \"msg\"", "bytes", "\x01\x7f", "empty", NULL);
        s = drain();
        o = json_tokener_parse(s);
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "msg", &v));
        ck_assert_str_eq(json_object_get_string(v), "multi\nline \"msg\"");
        ck_assert(json_object_object_get_ex(o, "level", &v));
        ck_assert_str_eq(json_object_get_string(v), "debug");
        ck_assert(json_object_object_get_ex(o, "bytes", &v));
        ck_assert_str_eq(json_object_get_string(v), "\x01\x7f");
        ck_assert(json_object_object_get_ex(o, "empty", &v));
        ck_assert_str_eq(json_object_get_string(v), "");
        json_object_put(o);
}
END_TEST

START_TEST(test_level_filter) {
        capture(LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
        log_info("hidden");
        log_debug("hidden");
        log_warn("shown");
        ck_assert_ptr_null(strstr(drain(), "hidden"));
        ck_assert_ptr_nonnull(strstr(out, "msg=shown"));
}
END_TEST

START_TEST(test_level_names) {
        ck_assert_str_eq(log_level_to_string(LOG_LEVEL_WARN), "warn");
}
END_TEST

START_TEST(test_oversized_line_is_one_line) {
        static char big[100 * 1024];
        const char *s;

        memset(big, 'x', sizeof(big) - 1);
        capture(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
        log_info("big", "value", big);
        log_info("next");
        s = drain();
        ck_assert_ptr_nonnull(strstr(s, "\ntime="));
        ck_assert_ptr_nonnull(strstr(s, "msg=next\n"));
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_text_format);
        tcase_add_test(tc, test_json_format_is_valid_json);
        tcase_add_test(tc, test_level_filter);
        tcase_add_test(tc, test_level_names);
        tcase_add_test(tc, test_oversized_line_is_one_line);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(log_suite)
