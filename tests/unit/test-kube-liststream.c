/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "kube/liststream.h"
#include "testutil.h"

/* Strings inside items hold every byte that could confuse a scanner that did not track strings. */
static const char list[] =
        "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"42\","
        "\"continue\":\"tok\\\"en\"},\n \"items\": [\n"
        "  {\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"}]{[,\\\"\\\\\"}},\n"
        "  {\"metadata\":{\"name\":\"b\"},\"data\":{\"x\\\"}\":\"\\\\\\\"]\",\"u\":\"\\u007d\\u005d "
        "\xc3\xa9\"},"
        "\"n\":[1,-2.5e3,true,false,null,[],{}]} ,"
        "{\"kind\":\"Other\",\"apiVersion\":\"x/v1\",\"metadata\":{\"name\":\"c\"}},"
        "{\"metadata\":{\"name\":\"d\"}}\n ]\n}\n";

struct seen {
        char log[2048];
        int n;
        int stop_after;
};

/* Records each item as "name:kind:apiVersion:<data.k or data.u>;". */
static int record(json_object *item, void *userdata) {
        struct seen *s = userdata;
        const char *name = "-", *kind = "-", *av = "-", *v = "-";
        size_t at = strlen(s->log);

        (void) json_get_string(item, "metadata.name", JSON_OPTIONAL, &name, NULL);
        (void) json_get_string(item, "kind", JSON_OPTIONAL, &kind, NULL);
        (void) json_get_string(item, "apiVersion", JSON_OPTIONAL, &av, NULL);
        (void) json_get_string(item, "data.k", JSON_OPTIONAL, &v, NULL);
        (void) json_get_string(item, "data.u", JSON_OPTIONAL, &v, NULL);
        snprintf(s->log + at, sizeof(s->log) - at, "%s:%s:%s:%s;", name, kind, av, v);
        s->n++;
        if (s->stop_after && s->n == s->stop_after)
                return -ECANCELED;
        return 0;
}

static const char *expected =
        "a:ConfigMap:v1:}]{[,\"\\;b:ConfigMap:v1:}] \xc3\xa9;c:Other:x/v1:-;d:ConfigMap:v1:-;";

/* Feeds in in chunks of the sizes next_chunk() gives, then finishes; returns the first error. */
static int decode(const char *in, size_t len, size_t cap, size_t (*next_chunk)(void *), void *ctx,
        struct seen *s, json_object **ret, struct merr *e) {
        _cleanup_(kube_list_stream_freep) struct kube_list_stream *d = NULL;
        int r = 0, delivered = 0;

        ck_assert_int_eq(kube_list_stream_new(cap, &d), 0);
        for (size_t off = 0; off < len && r >= 0;) {
                size_t n = next_chunk ? next_chunk(ctx) : len;

                if (n > len - off)
                        n = len - off;
                r = kube_list_stream_feed(d, in + off, n, record, s, e);
                if (r >= 0)
                        delivered += r;
                off += n;
        }
        if (r >= 0) {
                ck_assert_int_eq(delivered, s->n);
                r = kube_list_stream_finish(d, ret, e);
        }
        return r;
}

static void check_meta(json_object *l) {
        const char *rv = NULL, *cont = NULL;
        json_object *items = NULL;

        ck_assert_int_eq(json_get_string(l, "metadata.resourceVersion", 0, &rv, NULL), 1);
        ck_assert_str_eq(rv, "42");
        ck_assert_int_eq(json_get_string(l, "metadata.continue", 0, &cont, NULL), 1);
        ck_assert_str_eq(cont, "tok\"en");
        ck_assert_int_eq(json_get_array(l, "items", 0, &items, NULL), 1);
        ck_assert_uint_eq(json_object_array_length(items), 0);
}

START_TEST(test_whole_list) {
        _cleanup_json_ json_object *l = NULL;
        struct seen s = {0};
        struct merr e = MERR_INIT;

        ck_assert_msg(decode(list, strlen(list), 1 << 20, NULL, NULL, &s, &l, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(s.log, expected);
        check_meta(l);
}
END_TEST

static size_t one(void *ctx) {
        (void) ctx;
        return 1;
}

/* A small LCG: the same "random" chunk sizes on every run. */
static size_t random_chunk(void *ctx) {
        uint32_t *x = ctx;

        *x = *x * 1664525u + 1013904223u;
        return 1 + (*x >> 16) % 37;
}

struct two {
        size_t first, calls;
};

static size_t split_at(void *ctx) {
        struct two *t = ctx;

        return t->calls++ == 0 ? t->first : SIZE_MAX;
}

/* Chunks never line up with items, strings or escapes: every split point, one byte at a time and random
 * chunk sizes give the same items and the same metadata. */
START_TEST(test_any_chunking) {
        size_t len = strlen(list);

        for (size_t cut = 0; cut <= len; cut++) {
                _cleanup_json_ json_object *l = NULL;
                struct two t = {.first = cut};
                struct seen s = {0};
                struct merr e = MERR_INIT;

                ck_assert_msg(decode(list, len, 1 << 20, split_at, &t, &s, &l, &e) == 0, "cut %zu: %s", cut,
                        merr_msg(&e));
                ck_assert_str_eq(s.log, expected);
                check_meta(l);
        }
        {
                _cleanup_json_ json_object *l = NULL;
                struct seen s = {0};

                ck_assert_int_eq(decode(list, len, 1 << 20, one, NULL, &s, &l, NULL), 0);
                ck_assert_str_eq(s.log, expected);
                check_meta(l);
        }
        for (uint32_t seed = 1; seed <= 200; seed++) {
                _cleanup_json_ json_object *l = NULL;
                uint32_t x = seed;
                struct seen s = {0};

                ck_assert_int_eq(decode(list, len, 1 << 20, random_chunk, &x, &s, &l, NULL), 0);
                ck_assert_str_eq(s.log, expected);
                check_meta(l);
        }
}
END_TEST

static int decode_str(const char *in, size_t cap, struct seen *s, json_object **ret, struct merr *e) {
        return decode(in, strlen(in), cap, NULL, NULL, s, ret, e);
}

START_TEST(test_empty_items) {
        static const char *const empty[] = {
                "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"},"
                "\"items\":[]}",
                "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"},"
                "\"items\":[ \n ]}",
                "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"},"
                "\"items\":null}",
                "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"}}",
                " {}",
        };

        for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
                _cleanup_json_ json_object *l = NULL;
                struct seen s = {0};
                struct merr e = MERR_INIT;
                const char *rv = NULL;

                ck_assert_msg(
                        decode_str(empty[i], 1 << 20, &s, &l, &e) == 0, "%s: %s", empty[i], merr_msg(&e));
                ck_assert_int_eq(s.n, 0);
                ck_assert(json_object_is_type(l, json_type_object));
                if (i < 4) {
                        ck_assert_int_eq(json_get_string(l, "metadata.resourceVersion", 0, &rv, NULL), 1);
                        ck_assert_str_eq(rv, "7");
                }
        }
        {
                /* items that are empty objects still get their list's type */
                _cleanup_json_ json_object *l = NULL;
                struct seen s = {0};

                ck_assert_int_eq(decode_str("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[{},{ }]}",
                                         1 << 20, &s, &l, NULL),
                        0);
                ck_assert_str_eq(s.log, "-:Pod:v1:-;-:Pod:v1:-;");
        }
}
END_TEST

/* The list's metadata (and even its kind) may come after the items: the metadata is still returned, but
 * the items were delivered before the kind was known, so they keep what they had. */
START_TEST(test_metadata_after_items) {
        _cleanup_json_ json_object *l = NULL;
        struct seen s = {0};
        struct merr e = MERR_INIT;
        const char *rv = NULL, *kind = NULL;

        ck_assert_msg(decode_str("{\"apiVersion\":\"v1\",\"items\":[{\"metadata\":{\"name\":\"a\"}}],"
                                 "\"metadata\":{\"resourceVersion\":\"9\",\"remainingItemCount\":3},"
                                 "\"kind\":\"SecretList\"}",
                              1 << 20, &s, &l, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_str_eq(s.log, "a:-:-:-;");
        ck_assert_int_eq(json_get_string(l, "metadata.resourceVersion", 0, &rv, NULL), 1);
        ck_assert_str_eq(rv, "9");
        ck_assert_int_eq(json_get_string(l, "kind", 0, &kind, NULL), 1);
        ck_assert_str_eq(kind, "SecretList");
}
END_TEST

START_TEST(test_malformed) {
        static const struct {
                const char *in;
                int code;
                const char *msg;
        } cases[] = {
                {"[]", -EINVAL, "offset 0: expected a JSON object, got '['"},
                {"{\"items\":[{\"a\":1} {\"b\":2}]}", -EINVAL,
                        "offset 18: expected ',' or ']' after an item"},
                {"{\"items\":[{\"a\":1},]}", -EINVAL, "expected an object in items, got ']'"},
                {"{\"items\":[1,2]}", -EINVAL, "expected an object in items, got '1'"},
                {"{\"items\":[{\"a\":[1}]}", -EINVAL, "expected a matching bracket, got '}'"},
                {"{\"items\":[{\"a\":tru}]}", -EINVAL, "items[0]"},
                {"{\"items\":[{\"a\":1},{\"b\" 1}]}", -EINVAL, "items[1]"},
                {"{\"metadata\":{\"a\":]}", -EINVAL, "expected a matching bracket"},
                {"{\"kind\" \"PodList\"}", -EINVAL, "expected ':'"},
                {"{kind:1}", -EINVAL, "expected a key or '}', got 'k'"},
                {"{\"a\":1,}", -EINVAL, "expected a key, got '}'"},
                {"{\"a\":1 \"b\":2}", -EINVAL, "expected ',' or '}'"},
                {"{\"a\":}", -EINVAL, "expected a value, got '}'"},
                {"{\"items\":[]} x", -EINVAL, "expected the end of the response, got 'x'"},
                {"{\"items\":[]}{}", -EINVAL, "expected the end of the response"},
                {"{\"metadata\":{\"resourceVersion\":01},\"items\":[]}", -EINVAL, "outside the items"},
                {"{\"a\":nul}", -EINVAL, "outside the items"},
                {"", -EPIPE, "list response is empty"},
                {"  \n", -EPIPE, "list response is empty"},
                {"{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\"", -EPIPE,
                        "ended inside items[1] (11 bytes of it received)"},
                {"{\"items\":[{\"a\":1}", -EPIPE, "ended before the list did"},
                {"{\"kind\":\"PodL", -EPIPE, "ended before the list did"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_json_ json_object *l = NULL;
                struct seen s = {0};
                struct merr e = MERR_INIT;

                ck_assert_msg(decode_str(cases[i].in, 1 << 20, &s, &l, &e) == cases[i].code, "'%s': %d %s",
                        cases[i].in, e.code, merr_msg(&e));
                ck_assert_ptr_null(l);
                ck_assert_msg(strstr(merr_msg(&e), cases[i].msg), "'%s': '%s' has no '%s'", cases[i].in,
                        merr_msg(&e), cases[i].msg);
        }
}
END_TEST

START_TEST(test_nesting_limit) {
        char in[600];
        struct seen s = {0};
        struct merr e = MERR_INIT;
        _cleanup_json_ json_object *l = NULL;
        size_t n = 0;

        n += (size_t) snprintf(in, sizeof(in), "{\"items\":[");
        for (int i = 0; i < 130; i++)
                in[n++] = '[';
        in[n] = '\0';
        /* not an object: refused at its first byte */
        ck_assert_int_eq(decode_str(in, 1 << 20, &s, &l, &e), -EINVAL);
        n = (size_t) snprintf(in, sizeof(in), "{\"items\":[{\"a\":");
        for (int i = 0; i < 130; i++)
                in[n++] = '[';
        in[n] = '\0';
        merr_clear(&e);
        ck_assert_int_eq(decode_str(in, 1 << 20, &s, &l, &e), -EINVAL);
        ck_assert_msg(strstr(e.msg, "at most 128 levels of nesting"), "%s", e.msg);
}
END_TEST

START_TEST(test_size_caps) {
        _cleanup_free_ char *meta = NULL;
        struct seen s = {0};
        struct merr e = MERR_INIT;
        json_object *l = NULL;

        /* the second item is over a cap of 64 bytes; the first fits and is delivered */
        ck_assert_int_eq(
                decode_str("{\"items\":[{\"metadata\":{\"name\":\"a\"}},"
                           "{\"metadata\":{\"name\":\"b\"},\"data\":{\"k\":\"0123456789012345678901234\"}}]}",
                        64, &s, &l, &e),
                -E2BIG);
        ck_assert_str_eq(s.log, "a:-:-:-;");
        ck_assert_msg(strstr(e.msg, "items[1] is larger than 64 bytes"), "%s", e.msg);

        /* one byte by one byte, the cap holds the same */
        merr_clear(&e);
        s = (struct seen){0};
        {
                const char *in = "{\"items\":[{\"k\":"
                                 "\"01234567890123456789012345678901234567890123456789012345678901234\"}]}";

                ck_assert_int_eq(decode(in, strlen(in), 64, one, NULL, &s, &l, &e), -E2BIG);
                ck_assert_int_eq(s.n, 0);
        }

        /* an item exactly at the cap is fine */
        merr_clear(&e);
        s = (struct seen){0};
        ck_assert_int_eq(decode_str("{\"items\":[{\"k\":\"0123456789\"}]}", 18, &s, &l, &e), 0);
        json_object_put(l);
        l = NULL;
        ck_assert_int_eq(s.n, 1);

        /* what is outside the items has its own cap */
        merr_clear(&e);
        ck_assert_int_ge(
                asprintf(&meta, "{\"metadata\":{\"x\":\"%0*d\"},\"items\":[]}", (int) KUBE_LIST_MAX_META, 0),
                0);
        ck_assert_int_eq(decode_str(meta, 1 << 20, &s, &l, &e), -E2BIG);
        ck_assert_msg(strstr(e.msg, "outside its items is larger than"), "%s", e.msg);
}
END_TEST

START_TEST(test_callback_stops_and_error_repeats) {
        _cleanup_(kube_list_stream_freep) struct kube_list_stream *d = NULL;
        json_object *l = NULL;
        struct seen s = {.stop_after = 2};
        struct merr e = MERR_INIT;

        ck_assert_int_eq(kube_list_stream_new(1 << 20, &d), 0);
        ck_assert_int_eq(kube_list_stream_feed(d, list, strlen(list), record, &s, &e), -ECANCELED);
        ck_assert_int_eq(s.n, 2);
        ck_assert_int_eq(kube_list_stream_feed(d, "x", 1, record, &s, &e), -ECANCELED);
        ck_assert_int_eq(kube_list_stream_finish(d, &l, &e), -ECANCELED);
        ck_assert_ptr_null(l);
        ck_assert_int_eq(s.n, 2);
}
END_TEST

/* The type a list gives its items, as the informer gives it to cached objects. */
START_TEST(test_item_type) {
        struct kube_item_type t = {0};
        _cleanup_json_ json_object *a = json_object_new_object(), *b = json_object_new_object(),
                                   *own = json_object_new_object();
        const char *k = NULL;

        ck_assert_int_eq(kube_item_type_set(&t, "ConfigMapList", "v1"), 1);
        ck_assert_int_eq(kube_item_type_apply(&t, a), 0);
        ck_assert_int_eq(kube_item_type_apply(&t, b), 0);
        ck_assert_int_eq(json_get_string(a, "kind", 0, &k, NULL), 1);
        ck_assert_str_eq(k, "ConfigMap");
        ck_assert_int_eq(json_get_string(b, "apiVersion", 0, &k, NULL), 1);
        ck_assert_str_eq(k, "v1");
        /* one string each, shared */
        json_object *ka, *kb;
        ck_assert(json_object_object_get_ex(a, "kind", &ka) && json_object_object_get_ex(b, "kind", &kb));
        ck_assert_ptr_eq(ka, kb);

        json_object_object_add(own, "kind", json_object_new_string("Mine"));
        ck_assert_int_eq(kube_item_type_apply(&t, own), 0);
        ck_assert_int_eq(json_get_string(own, "kind", 0, &k, NULL), 1);
        ck_assert_str_eq(k, "Mine");
        ck_assert(!json_object_object_get_ex(own, "apiVersion", NULL));

        ck_assert_int_eq(kube_item_type_set(&t, "List", "v1"), 0);
        ck_assert_ptr_null(t.kind);
        ck_assert_int_eq(kube_item_type_set(&t, "Table", "meta.k8s.io/v1"), 0);
        ck_assert_int_eq(kube_item_type_set(&t, "PodList", NULL), 0);
        ck_assert_int_eq(kube_item_type_set(&t, "PodList", "v1"), 1);
        kube_item_type_release(&t);
        kube_item_type_release(&t);
}
END_TEST

static Suite *liststream_suite(void) {
        Suite *s = suite_create("kube-liststream");
        TCase *tc = tcase_create("decoder");

        tcase_add_test(tc, test_whole_list);
        tcase_add_test(tc, test_any_chunking);
        tcase_add_test(tc, test_empty_items);
        tcase_add_test(tc, test_metadata_after_items);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_nesting_limit);
        tcase_add_test(tc, test_size_caps);
        tcase_add_test(tc, test_callback_stops_and_error_repeats);
        tcase_add_test(tc, test_item_type);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(liststream_suite)
