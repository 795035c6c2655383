/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "asciicast.h"
#include "testutil.h"

/* The one event line in b, parsed: [seconds, type, data]. */
static json_object *line(const struct buf *b) {
        json_object *o = json_tokener_parse(buf_str(b));
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_is_type(o, json_type_array));
        ck_assert_uint_eq(json_object_array_length(o), 3);
        ck_assert_ptr_nonnull(strchr(buf_str(b), '\n'));
        ck_assert_ptr_eq(strchr(buf_str(b), '\n'), buf_str(b) + b->len - 1);
        return o;
}

static const char *data_of(json_object *o) {
        return json_object_get_string(json_object_array_get_idx(o, 2));
}

START_TEST(test_header) {
        struct buf b = BUF_INIT(4096);
        ck_assert_int_eq(asciicast_header(&b, 120, 40, 1700000000, "sh", "sb-x \"one\"\n"), 0);
        ck_assert_str_eq(buf_str(&b),
                "{\"version\": 2, \"width\": 120, \"height\": 40, \"timestamp\": 1700000000, "
                "\"env\": {\"SHELL\": \"sh\"}, \"title\": \"sb-x \\\"one\\\"\\n\"}\n");
        json_object *o = json_tokener_parse(buf_str(&b));
        ck_assert_ptr_nonnull(o);
        json_object_put(o);
        buf_release(&b);
}
END_TEST

START_TEST(test_control_characters_are_escaped) {
        struct buf b = BUF_INIT(4096);
        struct asciicast_text t = {0};
        ck_assert_int_eq(asciicast_text(&b, &t, 1.5, 'o', "a\"\\\r\n\t\x1b[0m\x7f\0z", 13, false), 0);
        ck_assert_str_eq(buf_str(&b), "[1.500000, \"o\", \"a\\\"\\\\\\r\\n\\t\\u001b[0m\\u007f\\u0000z\"]\n");
        json_object *o = line(&b);
        ck_assert_int_eq(memcmp(data_of(o), "a\"\\\r\n\t\x1b[0m\x7f", 11), 0);
        json_object_put(o);
        buf_release(&b);
}
END_TEST

/* "é€😀" cut after every byte: each character comes out whole, in the event its last byte came in */
START_TEST(test_utf8_cut_between_pieces) {
        static const char text[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
        struct asciicast_text t = {0};
        struct buf all = BUF_INIT(4096);
        size_t events = 0;
        for (size_t i = 0; i < sizeof(text) - 1; i++) {
                struct buf b = BUF_INIT(4096);
                ck_assert_int_eq(asciicast_text(&b, &t, 0.25, 'o', text + i, 1, false), 0);
                if (b.len > 0) {
                        json_object *o = line(&b);
                        ck_assert_int_eq(buf_puts(&all, data_of(o)), 0);
                        json_object_put(o);
                        events++;
                }
                buf_release(&b);
        }
        ck_assert_uint_eq(events, 3);
        ck_assert_str_eq(buf_str(&all), text);
        ck_assert_uint_eq(t.tail_len, 0);
        buf_release(&all);
}
END_TEST

/* a stray continuation byte, an overlong form, a surrogate, a code point past U+10FFFF; and at the end of
 * the stream a cut character: each bad byte is U+FFFD */
START_TEST(test_invalid_bytes_become_replacement_characters) {
        struct buf b = BUF_INIT(4096);
        struct asciicast_text t = {0};
        ck_assert_int_eq(asciicast_text(&b, &t, 0, 'o',
                                 "x\x80y\xc0\xafz\xed\xa0\x80w\xf4\x90\x80\x80v\xe2\x82", 17, false),
                0);
        json_object *o = line(&b);
        ck_assert_str_eq(data_of(o), "x\uFFFDy\uFFFD\uFFFDz\uFFFD\uFFFD\uFFFDw\uFFFD\uFFFD\uFFFD\uFFFDv");
        json_object_put(o);
        ck_assert_uint_eq(t.tail_len, 2);
        buf_reset(&b);
        ck_assert_int_eq(asciicast_text(&b, &t, 1, 'o', NULL, 0, true), 0);
        o = line(&b);
        ck_assert_str_eq(data_of(o), "\uFFFD\uFFFD");
        json_object_put(o);
        ck_assert_uint_eq(t.tail_len, 0);
        /* nothing held back: flushing writes nothing */
        buf_reset(&b);
        ck_assert_int_eq(asciicast_text(&b, &t, 1, 'o', NULL, 0, true), 0);
        ck_assert_uint_eq(b.len, 0);
        buf_release(&b);
}
END_TEST

START_TEST(test_long_text_is_cut_into_events) {
        size_t n = 2 * ASCIICAST_PIECE_MAX + 10;
        char *text = malloc(n);
        ck_assert_ptr_nonnull(text);
        for (size_t i = 0; i < n; i += 2)
                memcpy(text + i, "\xc3\xa9", 2);
        struct buf b = BUF_INIT(1 << 20);
        struct asciicast_text t = {0};
        ck_assert_int_eq(asciicast_text(&b, &t, 3, 'i', text, n, false), 0);
        size_t lines = 0, got = 0;
        for (const char *p = buf_str(&b); *p; lines++) {
                const char *end = strchr(p, '\n');
                ck_assert_ptr_nonnull(end);
                json_object *o = json_tokener_parse(p); /* stops at the newline */
                ck_assert_ptr_nonnull(o);
                ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o, 1)), "i");
                got += strlen(data_of(o));
                json_object_put(o);
                p = end + 1;
        }
        ck_assert_uint_eq(lines, 3);
        ck_assert_uint_eq(got, n);
        ck_assert_uint_eq(t.tail_len, 0);
        free(text);
        buf_release(&b);
}
END_TEST

START_TEST(test_resize_and_marker) {
        struct buf b = BUF_INIT(4096);
        unsigned w = 0, h = 0;
        const char *msg = "{\"Width\":132,\"Height\":43}";
        ck_assert_int_eq(asciicast_parse_resize(msg, strlen(msg), &w, &h), 0);
        ck_assert_uint_eq(w, 132);
        ck_assert_uint_eq(h, 43);
        ck_assert_int_eq(asciicast_resize(&b, 2.000001, w, h), 0);
        ck_assert_str_eq(buf_str(&b), "[2.000001, \"r\", \"132x43\"]\n");
        buf_reset(&b);
        ck_assert_int_eq(asciicast_marker(&b, 9, "recording truncated"), 0);
        ck_assert_str_eq(buf_str(&b), "[9.000000, \"m\", \"recording truncated\"]\n");
        static const char *const bad[] = {"{\"Width\":0,\"Height\":24}", "{\"Width\":80}",
                "{\"Width\":\"80\",\"Height\":24}", "{\"Width\":80,\"Height\":70000}", "[80,24]",
                "{\"Width\":80,\"Height\":24} x", "", "{\"Width\":80,\"Height\":24.5}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
                ck_assert_int_eq(asciicast_parse_resize(bad[i], strlen(bad[i]), &w, &h), -EINVAL);
        buf_release(&b);
}
END_TEST

static Suite *asciicast_suite(void) {
        Suite *s = suite_create("asciicast");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_header);
        tcase_add_test(tc, test_control_characters_are_escaped);
        tcase_add_test(tc, test_utf8_cut_between_pieces);
        tcase_add_test(tc, test_invalid_bytes_become_replacement_characters);
        tcase_add_test(tc, test_long_text_is_cut_into_events);
        tcase_add_test(tc, test_resize_and_marker);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(asciicast_suite)
