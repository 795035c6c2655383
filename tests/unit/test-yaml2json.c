/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "yaml2json.h"
#include "testutil.h"

/* The converted stream as compact JSON text (free() it), or NULL after a failure recorded in *err. */
/* A string literal and its length, for the functions that take both. */
#define LIT(s) (s), sizeof(s) - 1

static char *convert_n(
        const char *yaml, size_t len, const struct yaml_limits *lim, int *ret_r, struct merr *err) {
        json_object *docs = NULL;
        char *s;
        int r;

        merr_clear(err);
        r = yaml_to_json(yaml, len, lim, &docs, err);
        *ret_r = r;
        if (r < 0) {
                ck_assert_ptr_null(docs);
                ck_assert_int_eq(err->code, r);
                return NULL;
        }
        ck_assert_ptr_nonnull(docs);
        ck_assert(json_object_is_type(docs, json_type_array));
        s = strdup(json_object_to_json_string_ext(docs, JSON_C_TO_STRING_PLAIN));
        ck_assert_ptr_nonnull(s);
        json_object_put(docs);
        return s;
}

static void expect_json_n(const char *yaml, size_t len, const char *want) {
        struct merr err = MERR_INIT;
        _cleanup_free_ char *got = NULL;
        int r;

        got = convert_n(yaml, len, NULL, &r, &err);
        ck_assert_msg(r == 0, "converting '%s' failed: %s", yaml, merr_msg(&err));
        ck_assert_msg(strcmp(got, want) == 0, "converting '%s'\n got: %s\nwant: %s", yaml, got, want);
}

static void expect_json(const char *yaml, const char *want) {
        expect_json_n(yaml, strlen(yaml), want);
}

/* Fails with code, with a message that starts with where (e.g. "line 3, column 5: ", or NULL not to
 * check) and contains what. */
static void expect_error_lim(const char *yaml, size_t len, const struct yaml_limits *lim, int code,
        const char *where, const char *what) {
        struct merr err = MERR_INIT;
        _cleanup_free_ char *got = NULL;
        int r;

        got = convert_n(yaml, len, lim, &r, &err);
        ck_assert_msg(r == code, "converting '%.200s': want %d, got %d (%s)", yaml, code, r,
                got ? got : merr_msg(&err));
        if (where)
                ck_assert_msg(strncmp(err.msg, where, strlen(where)) == 0,
                        "converting '%.200s': '%s' does not start with '%s'", yaml, err.msg, where);
        if (what)
                ck_assert_msg(strstr(err.msg, what), "converting '%.200s': '%s' does not contain '%s'", yaml,
                        err.msg, what);
        ck_assert_msg(!strchr(err.msg, '\n'), "message '%s' spans lines", err.msg);
}

static void expect_error(const char *yaml, int code, const char *where, const char *what) {
        expect_error_lim(yaml, strlen(yaml), NULL, code, where, what);
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

START_TEST(test_empty_streams) {
        json_object *docs = NULL;

        expect_json("", "[]");
        expect_json("# only a comment\n", "[]");
        expect_json("---\n", "[]");
        expect_json("---\n...\n", "[]");
        expect_json("--- # nothing\n# here\n---\n...\n", "[]");
        expect_json("~\n", "[]");
        expect_json("--- null\n--- ~\n", "[]");
        ck_assert_int_eq(yaml_to_json(NULL, 0, NULL, &docs, NULL), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(docs, JSON_C_TO_STRING_PLAIN), "[]");
        json_object_put(docs);
}
END_TEST

START_TEST(test_kubernetes_stream) {
        static const char yaml[] = "# the app\n"
                                   "apiVersion: apps/v1\n"
                                   "kind: Deployment\n"
                                   "metadata:\n"
                                   "  name: web\n"
                                   "  labels: &labels\n"
                                   "    app: web\n"
                                   "    tier: \"frontend\"\n"
                                   "spec:\n"
                                   "  replicas: 3\n"
                                   "  selector:\n"
                                   "    matchLabels: *labels\n"
                                   "  template:\n"
                                   "    metadata:\n"
                                   "      labels:\n"
                                   "        <<: *labels\n"
                                   "        version: '1.0'\n"
                                   "    spec:\n"
                                   "      containers:\n"
                                   "        - name: web\n"
                                   "          image: nginx:1.25\n"
                                   "          args: [\"--port\", \"8080\", --verbose]\n"
                                   "          ports:\n"
                                   "            - containerPort: 8080\n"
                                   "              protocol: TCP\n"
                                   "          env:\n"
                                   "            - {name: DEBUG, value: \"false\"}\n"
                                   "            - name: GREETING\n"
                                   "              value: >-\n"
                                   "                hello\n"
                                   "                world\n"
                                   "          command:\n"
                                   "            - sh\n"
                                   "            - -c\n"
                                   "            - |\n"
                                   "              echo start\n"
                                   "              exec nginx\n"
                                   "          resources:\n"
                                   "            limits: {cpu: 500m, memory: 128Mi}\n"
                                   "---\n"
                                   "# nothing in this one\n"
                                   "---\n"
                                   "apiVersion: v1\n"
                                   "kind: Service\n"
                                   "metadata: {name: web}\n"
                                   "spec:\n"
                                   "  ports:\n"
                                   "  - port: 80\n"
                                   "    targetPort: 8080\n"
                                   "  selector: {app: web}\n"
                                   "...\n"
                                   "--- !!map\n"
                                   "apiVersion: v1\n"
                                   "kind: ConfigMap\n"
                                   "metadata:\n"
                                   "  name: settings\n"
                                   "data:\n"
                                   "  enabled: \"true\"\n"
                                   "  mode: on\n"
                                   "  perms: \"0755\"\n";

        expect_json(yaml,
                "[{\"apiVersion\":\"apps\\/v1\",\"kind\":\"Deployment\","
                "\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\",\"tier\":\"frontend\"}},"
                "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\",\"tier\":"
                "\"frontend\"}},"
                "\"template\":{\"metadata\":{\"labels\":{\"version\":\"1.0\",\"app\":\"web\",\"tier\":"
                "\"frontend\"}},"
                "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\","
                "\"args\":[\"--port\",\"8080\",\"--verbose\"],"
                "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],"
                "\"env\":[{\"name\":\"DEBUG\",\"value\":\"false\"},{\"name\":\"GREETING\",\"value\":\"hello "
                "world\"}],"
                "\"command\":[\"sh\",\"-c\",\"echo start\\nexec nginx\\n\"],"
                "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}}}]}}}},"
                "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
                "\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"web\"}}},"
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"settings\"},"
                "\"data\":{\"enabled\":\"true\",\"mode\":\"on\",\"perms\":\"0755\"}}]");
}
END_TEST

START_TEST(test_plain_scalar_resolution) {
        expect_json(
                "- ~\n- null\n- Null\n- NULL\n-\n- nULL\n- true\n- True\n- TRUE\n- false\n- False\n- FALSE\n"
                "- tRUE\n- 0\n- 1.5\n- hello world\n- 12 monkeys\n- '~'\n- +\n- .\n- -a\n",
                "[[null,null,null,null,null,\"nULL\",true,true,true,false,false,false,\"tRUE\",0,1.5,"
                "\"hello world\",\"12 monkeys\",\"~\",\"+\",\".\",\"-a\"]]");
        /* map values: an absent value is null too */
        expect_json("a:\nb: ~\nc: \"\"\n", "[{\"a\":null,\"b\":null,\"c\":\"\"}]");
}
END_TEST

START_TEST(test_yaml11_words_stay_strings) {
        expect_json("[0644, -0755, 08, 0777777]", "[[420,-493,8,262143]]");
        expect_json("[on, off, yes, no, y, n, Y, N, On, OFF, Yes, NO, '<<']",
                "[[\"on\",\"off\",\"yes\",\"no\",\"y\",\"n\",\"Y\",\"N\",\"On\",\"OFF\",\"Yes\",\"NO\",\"<<"
                "\"]]");
}
END_TEST

START_TEST(test_integers) {
        expect_json("[0, -0, 7, -17, +12, 0x1F, 0xff, 0o17, 0755, 007, 9223372036854775807, "
                    "-9223372036854775808, 0x7FFFFFFFFFFFFFFF, 0o777777777777777777777]",
                "[[0,0,7,-17,12,31,255,15,493,7,9223372036854775807,-9223372036854775808,"
                "9223372036854775807,9223372036854775807]]");
        /* not integers of the core schema: strings */
        expect_json("[1_000, 0x, 0o, -0x10, +0o7, 0X1F, 0O17, 0b101, 0xG, 0o8, 1:20, 12e, 1.2.3, 0x1F.8]",
                "[[\"1_000\",\"0x\",\"0o\",\"-0x10\",\"+0o7\",\"0X1F\",\"0O17\",\"0b101\",\"0xG\",\"0o8\","
                "\"1:20\","
                "\"12e\",\"1.2.3\",\"0x1F.8\"]]");
}
END_TEST

START_TEST(test_integer_overflow) {
        expect_error("a: 1\nb: 9223372036854775808\n", -EINVAL,
                "line 2, column 4: ", "integer '9223372036854775808' out of range");
        expect_error("- -9223372036854775809\n", -EINVAL, "line 1, column 3: ", "out of range");
        expect_error("[0x8000000000000000]", -EINVAL, "line 1, column 2: ", "out of range");
        expect_error("[0o1000000000000000000000]", -EINVAL, "line 1, ", "out of range");
        expect_error("x: "
                     "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
                     "890\n",
                -EINVAL, "line 1, column 4: ", "...' out of range");
        expect_error("{9223372036854775808: a}", -EINVAL, "line 1, column 2: ", "out of range");
        expect_error("x: !!int 99999999999999999999\n", -EINVAL, "line 1, ", "out of range");
}
END_TEST

START_TEST(test_floats) {
        expect_json("[1.5, -2.25, +3.0, 1e3, 1E3, -1.5e-3, .5, -.5, +.5, 1., 0.1, 0.10, 1e21, 1e20, 1.5e-7, "
                    "2.5e-5, 123456.789, -0.0, 5e-324, 1.7976931348623157e308, 00.5, 1e-400, 1e17, 1e18, "
                    "444444444444444444444., 1e-6, 9.5e-7]",
                "[[1.5,-2.25,3,1000,1000,-0.0015,0.5,-0.5,0.5,1,0.1,0.1,1e+21,1e+20,1.5e-7,"
                "0.000025,123456.789,-0,5e-324,1.7976931348623157e+308,0.5,0,100000000000000000,1e+18,"
                "4.4444444444444446e+20,0.000001,9.5e-7]]");
        /* not floats: strings */
        expect_json("[1.5.2, e3, .e3, 1e, 1e+, ._5, 1.5f, .infinity, +.nan, 0x1p3]",
                "[[\"1.5.2\",\"e3\",\".e3\",\"1e\",\"1e+\",\"._5\",\"1.5f\",\".infinity\",\"+.nan\","
                "\"0x1p3\"]]");
}
END_TEST

START_TEST(test_nonfinite_rejected) {
        expect_error("a: .inf\n", -EINVAL, "line 1, column 4: ", "'.inf' cannot be represented in JSON");
        expect_error("[1, -.Inf]", -EINVAL, "line 1, column 5: ", "cannot be represented in JSON");
        expect_error("- +.INF\n", -EINVAL, "line 1, ", "JSON");
        expect_error("\n\n- .nan\n", -EINVAL, "line 3, column 3: ", "'.nan'");
        expect_error("- .NaN\n", -EINVAL, "line 1, ", NULL);
        expect_error("- 1e400\n", -EINVAL, "line 1, column 3: ", "float '1e400' out of range");
        expect_error("- -1.5e309\n", -EINVAL, "line 1, ", "out of range");
        expect_error("- !!float .inf\n", -EINVAL, "line 1, ", "JSON");
        /* quoted, they are plain strings */
        expect_json("['.inf', \".nan\"]", "[[\".inf\",\".nan\"]]");
}
END_TEST

START_TEST(test_quoted_scalars_are_strings) {
        expect_json("- '123'\n- \"true\"\n- 'null'\n- \"\"\n- ''\n- 'it''s'\n- \"tab\\there\"\n- "
                    "\"\\u00e9\\x41\\n\"\n"
                    "- \"0x10\"\n- '1.5'\n- \"multi\n  line\"\n- 'a\n\n  b'\n- \"sl\\\\ash\"\n",
                "[[\"123\",\"true\",\"null\",\"\",\"\",\"it's\",\"tab\\there\",\"\xc3\xa9"
                "A\\n\",\"0x10\",\"1.5\","
                "\"multi line\",\"a\\nb\",\"sl\\\\ash\"]]");
        /* UTF-8 passes through */
        expect_json("name: \"caf\xc3\xa9 \xe2\x98\x95\"\n", "[{\"name\":\"caf\xc3\xa9 \xe2\x98\x95\"}]");
}
END_TEST

START_TEST(test_block_scalars) {
        expect_json("lit: |\n"
                    "  line1\n"
                    "  line2\n"
                    "\n"
                    "keep: |+\n"
                    "  a\n"
                    "\n"
                    "strip: |-\n"
                    "  a\n"
                    "  b\n"
                    "folded: >\n"
                    "  a\n"
                    "  b\n"
                    "\n"
                    "  c\n"
                    "fstrip: >-\n"
                    "  x\n"
                    "  y\n"
                    "indent: |2\n"
                    "    four\n"
                    "fkeep: >+\n"
                    "  z\n"
                    "\n"
                    "num: |\n"
                    "  123\n"
                    "empty: |\n"
                    "last: >\n"
                    "  more\n"
                    "    indented\n"
                    "  back\n",
                "[{\"lit\":\"line1\\nline2\\n\",\"keep\":\"a\\n\\n\",\"strip\":\"a\\nb\",\"folded\":\"a "
                "b\\nc\\n\","
                "\"fstrip\":\"x y\",\"indent\":\"  "
                "four\\n\",\"fkeep\":\"z\\n\\n\",\"num\":\"123\\n\",\"empty\":\"\","
                "\"last\":\"more\\n  indented\\nback\\n\"}]");
}
END_TEST

START_TEST(test_flow_collections) {
        expect_json("{a: 1, b: [x, {c: d}], e: {}, f: [], 'g h': [[1, 2], [3]], i: {j: null, k: ~}}\n",
                "[{\"a\":1,\"b\":[\"x\",{\"c\":\"d\"}],\"e\":{},\"f\":[],\"g h\":[[1,2],[3]],"
                "\"i\":{\"j\":null,\"k\":null}}]");
        expect_json("a: [1,\n  2,\n  3]\nb: {x: 1,\n  y: 2}\n", "[{\"a\":[1,2,3],\"b\":{\"x\":1,\"y\":2}}]");
        expect_json("[a: 1, b]", "[[{\"a\":1},\"b\"]]");
        expect_json("- - - x\n  - y\n", "[[[[\"x\"],\"y\"]]]");
        expect_json("42", "[42]");
        expect_json("--- hello\n", "[\"hello\"]");
}
END_TEST

START_TEST(test_explicit_tags) {
        expect_json("a: !!int 0o755\n"
                    "b: !!float 1\n"
                    "c: !!bool \"true\"\n"
                    "d: !!null \"\"\n"
                    "e: !!str 123\n"
                    "f: ! 12\n"
                    "g: !!map {a: 1}\n"
                    "h: !!seq [1]\n"
                    "i: !!str\n"
                    "j: !!float \"1.25\"\n"
                    "k: !!int '42'\n"
                    "l: !!str true\n"
                    "m: !!str ~\n"
                    "n: !<tag:yaml.org,2002:str> 7\n"
                    "o: !!bool FALSE\n"
                    "p: !!null null\n"
                    "q: ! [1]\n"
                    "!!str 5: five\n",
                "[{\"a\":493,\"b\":1,\"c\":true,\"d\":null,\"e\":\"123\",\"f\":\"12\",\"g\":{\"a\":1},\"h\":["
                "1],"
                "\"i\":\"\",\"j\":1.25,\"k\":42,\"l\":\"true\",\"m\":\"~\",\"n\":\"7\",\"o\":false,\"p\":"
                "null,"
                "\"q\":[1],\"5\":\"five\"}]");
        expect_json("%TAG !k! tag:yaml.org,2002:\n--- !k!str 10\n", "[\"10\"]");
}
END_TEST

START_TEST(test_tag_errors) {
        expect_error("a: !foo x\n", -EINVAL, "line 1, column 4: ", "unknown tag '!foo'");
        expect_error("a: 1\nb: !Ref other\n", -EINVAL, "line 2, column 4: ", "unknown tag '!Ref'");
        expect_error("a: !!binary aGVsbG8=\n", -EINVAL, "line 1, ", "unknown tag '!!binary'");
        expect_error("a: !!timestamp 2001-12-14\n", -EINVAL, "line 1, ", "unknown tag '!!timestamp'");
        expect_error("a: !!set {x: null}\n", -EINVAL, "line 1, ", "unknown tag '!!set'");
        expect_error("a: !!omap [x: 1]\n", -EINVAL, "line 1, ", "unknown tag '!!omap'");
        expect_error("a: !<tag:example.com,2000:app/foo> x\n", -EINVAL, "line 1, ",
                "unknown tag 'tag:example.com,2000:app/foo'");
        expect_error("a: !!int abc\n", -EINVAL, "line 1, column 4: ", "invalid !!int value 'abc'");
        expect_error("a: !!int 1.5\n", -EINVAL, "line 1, ", "invalid !!int");
        expect_error("a: !!float x\n", -EINVAL, "line 1, ", "invalid !!float value 'x'");
        expect_error("a: !!bool yes\n", -EINVAL, "line 1, ", "invalid !!bool value 'yes'");
        expect_error("a: !!null x\n", -EINVAL, "line 1, ", "invalid !!null value 'x'");
        expect_error("a: !!map [1]\n", -EINVAL, "line 1, column 4: ", "tag '!!map' on a sequence");
        expect_error("a: !!seq {b: 1}\n", -EINVAL, "line 1, ", "tag '!!seq' on a mapping");
        expect_error("a: !!str {b: 1}\n", -EINVAL, "line 1, ", "tag '!!str' on a mapping");
        expect_error("a: !!seq x\n", -EINVAL, "line 1, ", "tag '!!seq' on a scalar");
        expect_error("a: !!merge x\n", -EINVAL, "line 1, ", "'!!merge' is only valid on a '<<' key");
        expect_error("!!merge a: x\n", -EINVAL, "line 1, ", "'!!merge'");
        expect_error("a: !foo [1]\n", -EINVAL, "line 1, ", "unknown tag '!foo'");
        expect_error("a: !undefined!x y\n", -EINVAL, "line 1, ", "undefined tag handle");
}
END_TEST

START_TEST(test_non_string_keys) {
        expect_json("1: a\n"
                    "true: b\n"
                    "~: c\n"
                    "1.50: d\n"
                    "0x10: e\n"
                    "1e3: f\n"
                    "-7: g\n"
                    "False: h\n"
                    "? x\n"
                    ": i\n"
                    "\"2\": j\n"
                    "'': k\n"
                    "0755: l\n",
                "[{\"1\":\"a\",\"true\":\"b\",\"null\":\"c\",\"1.5\":\"d\",\"16\":\"e\",\"1000\":\"f\",\"-"
                "7\":\"g\","
                "\"false\":\"h\",\"x\":\"i\",\"2\":\"j\",\"\":\"k\",\"493\":\"l\"}]");
        /* an empty key is null too */
        expect_json("?\n: empty\n", "[{\"null\":\"empty\"}]");
}
END_TEST

START_TEST(test_complex_keys_rejected) {
        expect_error("? [a, b]\n: c\n", -EINVAL,
                "line 1, column 3: ", "mapping keys must be scalars, not a sequence");
        expect_error("x: 1\n? {a: 1}\n: c\n", -EINVAL, "line 2, column 3: ", "not a mapping");
        expect_error("{[a]: b}", -EINVAL, "line 1, column 2: ", "mapping keys must be scalars");
        expect_error("[a]: b\n", -EINVAL, "line 1, column 1: ", "mapping keys must be scalars");
        expect_error("a: &m {x: 1}\n*m : 2\n", -EINVAL,
                "line 2, column 1: ", "mapping keys must be scalars (alias 'm')");
        expect_error(
                "k: {1: 2, !!float 1.5: b, ? [1]: x}", -EINVAL, "line 1, column 29: ", "must be scalars");
}
END_TEST

START_TEST(test_duplicate_keys) {
        expect_error("a: 1\nb: 2\na: 3\n", -EINVAL, "line 3, column 1: ", "duplicate key 'a'");
        expect_error("x:\n  y: 1\n  z: 2\n  y: 3\n", -EINVAL, "line 4, column 3: ", "duplicate key 'y'");
        expect_error("{a: 1, a: 2}", -EINVAL, "line 1, column 8: ", "duplicate key 'a'");
        /* equal after conversion to strings */
        expect_error("1: a\n\"1\": b\n", -EINVAL, "line 2, ", "duplicate key '1'");
        expect_error("0x1: a\n1: b\n", -EINVAL, "line 2, ", "duplicate key '1'");
        expect_error("~: a\nnull: b\n", -EINVAL, "line 2, ", "duplicate key 'null'");
        expect_error("true: a\n'true': b\n", -EINVAL, "line 2, ", "duplicate key 'true'");
        expect_error("a: &k x\n*k : 1\nx: 2\n", -EINVAL, "line 3, ", "duplicate key 'x'");
        expect_error("b: &b {x: 1}\nm:\n  <<: *b\n  <<: *b\n", -EINVAL,
                "line 4, column 3: ", "duplicate merge key '<<'");
        /* a key in another document or another mapping is not a duplicate */
        expect_json("a: 1\n---\na: 2\n", "[{\"a\":1},{\"a\":2}]");
        expect_json("a: {a: {a: 1}}\n", "[{\"a\":{\"a\":{\"a\":1}}}]");
        /* a user value is quoted, shortened and kept on one line */
        expect_error(
                "\"a\\nb\\x27c\": 1\n\"a\\nb'c\": 2\n", -EINVAL, "line 2, ", "duplicate key 'a\\x0ab\\x27c'");
}
END_TEST

START_TEST(test_long_key_shortened_in_message) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(1 << 20);
        struct merr err = MERR_INIT;
        json_object *docs = NULL;

        /* explicit keys, since libyaml limits implicit ones to 1024 characters */
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(buf_puts(&b, "? "), 0);
                for (int j = 0; j < 2000; j++)
                        ck_assert_int_eq(buf_putc(&b, 'k'), 0);
                ck_assert_int_eq(buf_puts(&b, "\n: v\n"), 0);
        }
        ck_assert_int_eq(yaml_to_json(b.data, b.len, NULL, &docs, &err), -EINVAL);
        ck_assert_ptr_null(docs);
        ck_assert_msg(strncmp(err.msg, "line 3, column 3: duplicate key 'kkkk", 37) == 0, "%s", err.msg);
        ck_assert_msg(strstr(err.msg, "k...'"), "%s", err.msg);
        ck_assert_uint_lt(strlen(err.msg), 200);
}
END_TEST

START_TEST(test_anchors_and_aliases) {
        struct merr err = MERR_INIT;
        json_object *docs = NULL, *doc, *a, *b;

        expect_json("a: &x {p: [1, 2]}\nb: *x\nc: &s scalar\nd: *s\ne: &n\nf: *n\ng: [*x, *s]\n",
                "[{\"a\":{\"p\":[1,2]},\"b\":{\"p\":[1,2]},\"c\":\"scalar\",\"d\":\"scalar\",\"e\":null,"
                "\"f\":null,\"g\":[{\"p\":[1,2]},\"scalar\"]}]");
        /* redefinition: an alias refers to the latest anchor of that name */
        expect_json("- &a one\n- *a\n- &a two\n- *a\n", "[[\"one\",\"one\",\"two\",\"two\"]]");
        /* an alias as a key, and an anchor on a key */
        expect_json("v: &k key\n*k : 1\n&j other: 2\nw: *j\n",
                "[{\"v\":\"key\",\"key\":1,\"other\":2,\"w\":\"other\"}]");
        /* floats keep their form through a copy */
        expect_json("a: &f 0.10\nb: *f\n", "[{\"a\":0.1,\"b\":0.1}]");

        /* expansions are independent copies: changing one leaves the others alone */
        ck_assert_int_eq(yaml_to_json(LIT("a: &x {p: [1]}\nb: *x\n"), NULL, &docs, &err), 0);
        doc = json_object_array_get_idx(docs, 0);
        ck_assert(json_object_object_get_ex(doc, "a", &a));
        ck_assert(json_object_object_get_ex(doc, "b", &b));
        ck_assert_ptr_ne(a, b);
        ck_assert_int_eq(json_object_object_add(a, "q", json_object_new_int(2)), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN),
                "{\"a\":{\"p\":[1],\"q\":2},\"b\":{\"p\":[1]}}");
        /* and each belongs to the result alone: dropping the result frees everything (valgrind checks) */
        json_object_put(docs);
}
END_TEST

START_TEST(test_alias_errors) {
        expect_error("a: 1\nb: *nope\n", -EINVAL, "line 2, column 4: ", "undefined alias 'nope'");
        expect_error("- [1, *later]\n- &later 2\n", -EINVAL, "line 1, column 7: ", "undefined alias 'later'");
        /* anchors do not cross documents */
        expect_error("a: &x 1\n---\nb: *x\n", -EINVAL, "line 3, column 4: ", "undefined alias 'x'");
        /* a node cannot contain itself */
        expect_error("a: &r [1, *r]\n", -EINVAL,
                "line 1, column 11: ", "alias 'r' refers to a node that contains it");
        expect_error("a: &r\n  b:\n    c: *r\n", -EINVAL, "line 3, column 8: ", "contains it");
        /* even when the name was declared before: the latest declaration is the open node */
        expect_error("a: &r x\nb: &r [*r]\n", -EINVAL, "line 2, column 8: ", "contains it");
        /* but a declaration inside the open node is a complete node */
        expect_json("a: &r [&r x, *r]\nb: *r\n", "[{\"a\":[\"x\",\"x\"],\"b\":[\"x\",\"x\"]}]");
}
END_TEST

START_TEST(test_merge_keys) {
        expect_json("base: &base {a: 1, b: 2}\n"
                    "over: &over {b: 3, c: 4}\n"
                    "m1:\n"
                    "  <<: *base\n"
                    "  x: 9\n"
                    "m2:\n"
                    "  b: 20\n"
                    "  <<: [*over, *base]\n"
                    "m3:\n"
                    "  <<: {k: v}\n"
                    "m4:\n"
                    "  <<: *base\n"
                    "  a: explicit-after-merge\n"
                    "m5: {<<: *over, c: five}\n"
                    "'<<': literal\n",
                "[{\"base\":{\"a\":1,\"b\":2},\"over\":{\"b\":3,\"c\":4},\"m1\":{\"x\":9,\"a\":1,\"b\":2},"
                "\"m2\":{\"b\":20,\"c\":4,\"a\":1},\"m3\":{\"k\":\"v\"},\"m4\":{\"a\":\"explicit-after-"
                "merge\",\"b\":2},"
                "\"m5\":{\"c\":\"five\",\"b\":3},\"<<\":\"literal\"}]");
        /* merges nest: a merged mapping brings what it merged itself */
        expect_json("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n",
                "[{\"a\":{\"x\":1},\"b\":{\"y\":2,\"x\":1},\"c\":{\"z\":3,\"y\":2,\"x\":1}}]");
        /* the !!merge tag, and a quoted '<<' which is a plain key */
        expect_json("a: &a {x: 1}\nb: {!!merge <<: *a}\nc: {\"<<\": *a}\n",
                "[{\"a\":{\"x\":1},\"b\":{\"x\":1},\"c\":{\"<<\":{\"x\":1}}}]");
        /* an anchor on a merged inline mapping */
        expect_json("a: {<<: &i {x: 1}}\nb: *i\n", "[{\"a\":{\"x\":1},\"b\":{\"x\":1}}]");
        /* empty merge list */
        expect_json("a: {<<: [], x: 1}\n", "[{\"a\":{\"x\":1}}]");
}
END_TEST

START_TEST(test_merge_errors) {
        expect_error("a:\n  <<: 1\n", -EINVAL, "line 2, column 3: ",
                "the value of merge key '<<' must be a mapping or a sequence of mappings");
        expect_error("a:\n  <<: [x]\n", -EINVAL, "line 2, column 3: ", "merge key '<<'");
        expect_error("b: &b {x: 1}\na:\n  <<: [*b, [1]]\n", -EINVAL, "line 3, ", "merge key '<<'");
        expect_error("a: {<<: ~}\n", -EINVAL, "line 1, column 5: ", "merge key '<<'");
        expect_error("a: {<<: *missing}\n", -EINVAL, "line 1, column 9: ", "undefined alias 'missing'");
}
END_TEST

START_TEST(test_billion_laughs) {
        static const char yaml[] =
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        static const char merges[] = "a: &a {a1: 1, a2: 2, a3: 3, a4: 4, a5: 5, a6: 6, a7: 7, a8: 8}\n"
                                     "b: &b {x: [*a, *a, *a, *a, *a, *a, *a, *a]}\n"
                                     "c: &c {x: [*b, *b, *b, *b, *b, *b, *b, *b]}\n"
                                     "d: &d {x: [*c, *c, *c, *c, *c, *c, *c, *c]}\n"
                                     "e: &e {x: [*d, *d, *d, *d, *d, *d, *d, *d]}\n"
                                     "f: &f {x: [*e, *e, *e, *e, *e, *e, *e, *e]}\n"
                                     "g: &g {x: [*f, *f, *f, *f, *f, *f, *f, *f]}\n"
                                     "h: {<<: [*g, *g, *g, *g, *g, *g, *g, *g]}\n";
        double t0 = now();

        expect_error(yaml, -E2BIG, "line ", "expands past the limit of 100000 nodes from aliases");
        expect_error(merges, -E2BIG, "line ", "from aliases");
        ck_assert_double_lt(now() - t0, 3.0); /* generous, for valgrind */

        /* the same shape within the limits is fine */
        expect_json("a: &a [lol, lol]\nb: &b [*a, *a]\nc: [*b, *b]\n",
                "[{\"a\":[\"lol\",\"lol\"],\"b\":[[\"lol\",\"lol\"],[\"lol\",\"lol\"]],"
                "\"c\":[[[\"lol\",\"lol\"],[\"lol\",\"lol\"]],[[\"lol\",\"lol\"],[\"lol\",\"lol\"]]]}]");
}
END_TEST

START_TEST(test_node_limits) {
        struct yaml_limits four = {.max_nodes = 4}, three = {.max_nodes = 3};
        struct yaml_limits alias = {.max_alias_expansion = 6};
        struct merr err = MERR_INIT;
        json_object *docs = NULL;

        /* a sequence and three scalars */
        ck_assert_int_eq(yaml_to_json(LIT("[1, 2, 3]"), &four, &docs, &err), 0);
        json_object_put(docs);
        docs = NULL;
        expect_error_lim(LIT("[1, 2, 3]"), &three, -E2BIG, "line 1, column 8: ", "more than 3 nodes");
        /* keys count, and so do the nodes an alias expands to */
        expect_error_lim(LIT("a: 1\nb: 2\n"), &three, -E2BIG, "line 2, column 1: ", "more than 3 nodes");
        expect_error_lim(LIT("- &a x\n- *a\n- *a\n"), &three, -E2BIG, "line 3, column 3: ", "nodes");
        /* over the whole stream, not per document */
        expect_error_lim(
                LIT("--- a\n--- b\n--- c\n--- d\n"), &three, -E2BIG, "line 4, ", "more than 3 nodes");
        /* aliases: {x, [1, 2]} is 5 nodes; a first copy fits in 6, a second does not */
        ck_assert_int_eq(yaml_to_json(LIT("a: &a {x: [1, 2]}\nb: *a\n"), &alias, &docs, &err), 0);
        json_object_put(docs);
        expect_error_lim(LIT("a: &a {x: [1, 2]}\nb: *a\nc: *a\n"), &alias, -E2BIG,
                "line 3, column 4: ", "alias 'a' expands past the limit of 6 nodes from aliases");
}
END_TEST

static char *repeat(const char *open, size_t n, const char *middle, const char *close) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(64u << 20);

        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(buf_puts(&b, open), 0);
        ck_assert_int_eq(buf_puts(&b, middle), 0);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(buf_puts(&b, close), 0);
        return buf_detach(&b, NULL);
}

START_TEST(test_depth_limit) {
        _cleanup_free_ char *ok = repeat("[", 100, "x", "]");
        _cleanup_free_ char *deep = repeat("[", 101, "x", "]");
        _cleanup_free_ char *huge = repeat("[", 100000, "", "");
        _cleanup_free_ char *maps = repeat("{a: ", 101, "x", "}");
        _cleanup_(buf_release) struct buf block = BUF_INIT(1 << 20);
        struct yaml_limits two = {.max_depth = 2};
        struct merr err = MERR_INIT;
        json_object *docs = NULL;
        double t0 = now();

        ck_assert_int_eq(yaml_to_json(ok, strlen(ok), NULL, &docs, &err), 0);
        json_object_put(docs);
        expect_error(deep, -E2BIG, "line 1, column 101: ", "nesting deeper than 100 levels");
        expect_error(huge, -E2BIG, "line 1, column 101: ", "nesting deeper than 100 levels");
        expect_error(maps, -E2BIG, "line 1, ", "nesting deeper than 100 levels");
        ck_assert_double_lt(now() - t0, 3.0); /* generous, for valgrind */

        /* block style, one level per line */
        for (int i = 0; i < 101; i++) {
                for (int j = 0; j < i; j++)
                        ck_assert_int_eq(buf_puts(&block, " "), 0);
                ck_assert_int_eq(buf_puts(&block, "k:\n"), 0);
        }
        expect_error(block.data, -E2BIG, "line 101, column 101: ", "nesting deeper than 100 levels");

        /* custom limit; an alias cannot nest its expansion past it either */
        expect_json("a: [1]\n", "[{\"a\":[1]}]");
        expect_error_lim(
                LIT("a: [[1]]\n"), &two, -E2BIG, "line 1, column 5: ", "nesting deeper than 2 levels");
        expect_error_lim(LIT("a: &x [1]\nb: [*x]\n"), &two, -E2BIG,
                "line 2, column 5: ", "alias 'x' nests deeper than 2 levels");
}
END_TEST

START_TEST(test_size_limit) {
        size_t n = 8u * 1024 * 1024 + 1;
        _cleanup_free_ char *big = malloc(n);
        struct yaml_limits small = {.max_bytes = 8};
        struct merr err = MERR_INIT;
        json_object *docs = NULL;

        ck_assert_ptr_nonnull(big);
        memset(big, ' ', n);
        big[0] = '#';
        expect_error_lim(big, n, NULL, -E2BIG, NULL,
                "input of 8388609 bytes is larger than the limit of 8388608 bytes");
        /* exactly at the limit is fine */
        ck_assert_int_eq(yaml_to_json(big, n - 1, NULL, &docs, &err), 0);
        ck_assert_uint_eq(json_object_array_length(docs), 0);
        json_object_put(docs);
        docs = NULL;
        ck_assert_int_eq(yaml_to_json(LIT("a: 12345"), &small, &docs, &err), 0);
        json_object_put(docs);
        expect_error_lim(LIT("a: 123456"), &small, -E2BIG, NULL, "larger than the limit of 8 bytes");
}
END_TEST

START_TEST(test_invalid_utf8) {
        expect_error("a: \xff\n", -EINVAL,
                "line 1, column 4: ", "input is not valid UTF-8 (invalid leading UTF-8 octet 0xff)");
        expect_error("a: ok\nb: caf\xc3\xa9\nc: x\xc3(\n", -EINVAL,
                "line 3, column 6: ", "not valid UTF-8 (invalid trailing UTF-8 octet 0x28)");
        expect_error("# comment \xe2\x82\n", -EINVAL, "line 1, ", "UTF-8");
        /* truncated at the very end */
        expect_error("a: \xe2\x82", -EINVAL, "line 1, column 4: ", "incomplete UTF-8 octet sequence");
        /* overlong encoding of '/' and an encoded surrogate */
        expect_error("a: \xc0\xaf\n", -EINVAL, "line 1, ", "UTF-8");
        expect_error("a: \"\xed\xa0\x80\"\n", -EINVAL, "line 1, ", NULL);
        /* inside a quoted key, past earlier multi-byte characters */
        expect_error("\xc3\xa9\xc3\xa9: \"\xc3\xa9\xf8\"\n", -EINVAL, "line 1, column 7: ", "UTF-8");
        /* control characters and NUL bytes */
        expect_error(
                "a: b\x01\n", -EINVAL, "line 1, column 5: ", "control characters are not allowed (U+0001)");
        expect_error_lim("a: b\0c\n", 7, NULL, -EINVAL, "line 1, column 5: ", "control characters");
        /* UTF-16 is not accepted */
        expect_error_lim("\xff\xfe"
                         "a\0:\0 \0b\0",
                10, NULL, -EINVAL, "line 1, column 1: ", "UTF-8");
}
END_TEST

START_TEST(test_syntax_errors_and_truncation) {
        expect_error("a: [1, 2\n", -EINVAL, "line 2, column 1: ",
                "did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)");
        expect_error("a: {x: 1\n", -EINVAL, "line 2, column 1: ", "did not find expected ',' or '}'");
        expect_error("a: \"abc\n", -EINVAL, "line 2, column 1: ", "found unexpected end of stream");
        expect_error("a: 'abc", -EINVAL, "line 1, column 8: ", "found unexpected end of stream");
        expect_error("a: b\nc: d: e\n", -EINVAL,
                "line 2, column 5: ", "mapping values are not allowed in this context");
        expect_error("- a\nb: c\n", -EINVAL, "line 2, column 1: ", "did not find expected '-' indicator");
        expect_error("a:\n  b: 1\n c: 2\n", -EINVAL, "line 3, column 2: ", "did not find expected key");
        expect_error(
                "key: &\n", -EINVAL, "line 1, ", "did not find expected alphabetic or numeric character");
        expect_error("a: *\n", -EINVAL, "line 1, ", NULL);
        expect_error("%YAML 2.0\n--- a\n", -EINVAL, "line 1, ", "incompatible YAML document");
        expect_error("a: 1\n--- [\n", -EINVAL, "line 3, column 1: ", NULL);
        expect_error("a: |\n  x\n y: 1\n", -EINVAL, "line 3, ", NULL);
        expect_error("\"a\": \"\\q\"\n", -EINVAL, "line 1, ", "found unknown escape character");
        expect_error("@foo\n", -EINVAL, "line 1, column 1: ", "found character that cannot start any token");
        /* the documents before an error are not returned either */
        expect_error("ok: 1\n---\nbad: [\n", -EINVAL, "line 4, ", NULL);
}
END_TEST

START_TEST(test_tabs) {
        expect_error("a:\n\tb: 1\n", -EINVAL, "line 2, column 1: ", "tabs for indentation");
        expect_error("a:\n  b:\n  \tc: 1\n", -EINVAL, "line 3, ", "tab");
        /* tabs inside values and after an indicator are fine */
        expect_json("a: \"x\ty\"\nb: x\ty\nc:\t1\n", "[{\"a\":\"x\\ty\",\"b\":\"x\\ty\",\"c\":1}]");
}
END_TEST

START_TEST(test_nul_in_strings) {
        expect_json("a: \"x\\0y\"\n", "[{\"a\":\"x\\u0000y\"}]");
        expect_error("\"x\\0y\": 1\n", -EINVAL,
                "line 1, column 1: ", "mapping key 'x\\x00y' contains a NUL character");
}
END_TEST

START_TEST(test_line_endings_and_bom) {
        expect_json("a: 1\r\nb:\r\n  - x\r\n", "[{\"a\":1,\"b\":[\"x\"]}]");
        expect_json("\xef\xbb\xbf"
                    "a: 1\n",
                "[{\"a\":1}]");
        expect_error("a: 1\r\nb: *c\r\n", -EINVAL, "line 2, column 4: ", "undefined alias 'c'");
        expect_error("a: 1\r\nb: \xff\r\n", -EINVAL, "line 2, column 4: ", "UTF-8");
        /* no final newline */
        expect_json("a: 1", "[{\"a\":1}]");
}
END_TEST

START_TEST(test_failure_leaves_output_alone) {
        json_object *sentinel = (json_object *) 0x1, *docs = sentinel, *one = sentinel;
        struct merr err = MERR_INIT;

        ck_assert_int_eq(yaml_to_json(LIT("a: ["), NULL, &docs, NULL), -EINVAL);
        ck_assert_ptr_eq(docs, sentinel);
        ck_assert_int_eq(yaml_to_json(LIT("a: *x"), NULL, &docs, &err), -EINVAL);
        ck_assert_ptr_eq(docs, sentinel);
        ck_assert_int_eq(err.code, -EINVAL);
        ck_assert_int_eq(yaml_to_json_one("", 0, NULL, &one, NULL), -EINVAL);
        ck_assert_ptr_eq(one, sentinel);
        ck_assert_int_eq(yaml_to_json(NULL, 3, NULL, &docs, &err), -EINVAL);
        ck_assert_ptr_eq(docs, sentinel);
}
END_TEST

START_TEST(test_one_document) {
        struct merr err = MERR_INIT;
        json_object *doc = NULL;

        ck_assert_int_eq(yaml_to_json_one(LIT("# c\n---\nkind: Pod\n...\n--- ~\n"), NULL, &doc, &err), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), "{\"kind\":\"Pod\"}");
        json_object_put(doc);
        doc = NULL;

        ck_assert_int_eq(yaml_to_json_one(LIT("--- 5\n"), NULL, &doc, &err), 0);
        ck_assert_int_eq(json_object_get_int(doc), 5);
        json_object_put(doc);
        doc = NULL;

        ck_assert_int_eq(yaml_to_json_one(LIT("# nothing\n"), NULL, &doc, &err), -EINVAL);
        ck_assert_ptr_null(doc);
        ck_assert_msg(strstr(err.msg, "no document"), "%s", err.msg);

        merr_clear(&err);
        ck_assert_int_eq(
                yaml_to_json_one(LIT("a: 1\n---\n# x\n---\nb: 2\n---\nc: [\n"), NULL, &doc, &err), -EINVAL);
        ck_assert_ptr_null(doc);
        ck_assert_str_eq(err.msg, "line 4, column 1: expected a single document, found another one here");

        merr_clear(&err);
        ck_assert_int_eq(yaml_to_json_one(LIT("a: [\n"), NULL, &doc, &err), -EINVAL);
        ck_assert_msg(strncmp(err.msg, "line 2, ", 8) == 0, "%s", err.msg);
}
END_TEST

START_TEST(test_zero_limits_take_defaults) {
        struct yaml_limits zero = {};
        _cleanup_free_ char *deep = repeat("[", 101, "", "]");
        struct merr err = MERR_INIT;
        json_object *docs = NULL;

        ck_assert_int_eq(yaml_to_json(LIT("a: 1"), &zero, &docs, &err), 0);
        json_object_put(docs);
        expect_error_lim(deep, strlen(deep), &zero, -E2BIG, "line 1, column 101: ", "deeper than 100 levels");
}
END_TEST

/* Converts n anchored scalars followed by n aliases to them and checks every alias resolved. */
static void many_anchors(int n) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(16u << 20);
        struct merr err = MERR_INIT;
        json_object *docs = NULL, *seq;

        for (int i = 0; i < n; i++)
                ck_assert_int_eq(buf_printf(&b, "- &a%d %d\n", i, i), 0);
        for (int i = 0; i < n; i++)
                ck_assert_int_eq(buf_printf(&b, "- *a%d\n", i), 0);
        ck_assert_int_eq(yaml_to_json(b.data, b.len, NULL, &docs, &err), 0);
        seq = json_object_array_get_idx(docs, 0);
        ck_assert_uint_eq(json_object_array_length(seq), 2 * (size_t) n);
        ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(seq, 2 * n - 1)), n - 1);
        for (int i = 0; i < n; i++)
                ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(seq, (size_t) (n + i))), i);
        json_object_put(docs);
}

START_TEST(test_many_anchors) {
        /* anchor lookups are hashed, so this stays fast; a timing check would be flaky under valgrind and
         * load, so only correctness is asserted here */
        many_anchors(50000);
}
END_TEST

static Suite *yaml2json_suite(void) {
        Suite *s = suite_create("yaml2json");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_empty_streams);
        tcase_add_test(tc, test_kubernetes_stream);
        tcase_add_test(tc, test_plain_scalar_resolution);
        tcase_add_test(tc, test_yaml11_words_stay_strings);
        tcase_add_test(tc, test_integers);
        tcase_add_test(tc, test_integer_overflow);
        tcase_add_test(tc, test_floats);
        tcase_add_test(tc, test_nonfinite_rejected);
        tcase_add_test(tc, test_quoted_scalars_are_strings);
        tcase_add_test(tc, test_block_scalars);
        tcase_add_test(tc, test_flow_collections);
        tcase_add_test(tc, test_explicit_tags);
        tcase_add_test(tc, test_tag_errors);
        tcase_add_test(tc, test_non_string_keys);
        tcase_add_test(tc, test_complex_keys_rejected);
        tcase_add_test(tc, test_duplicate_keys);
        tcase_add_test(tc, test_long_key_shortened_in_message);
        tcase_add_test(tc, test_anchors_and_aliases);
        tcase_add_test(tc, test_alias_errors);
        tcase_add_test(tc, test_merge_keys);
        tcase_add_test(tc, test_merge_errors);
        tcase_add_test(tc, test_billion_laughs);
        tcase_add_test(tc, test_node_limits);
        tcase_add_test(tc, test_depth_limit);
        tcase_add_test(tc, test_size_limit);
        tcase_add_test(tc, test_invalid_utf8);
        tcase_add_test(tc, test_syntax_errors_and_truncation);
        tcase_add_test(tc, test_tabs);
        tcase_add_test(tc, test_nul_in_strings);
        tcase_add_test(tc, test_line_endings_and_bom);
        tcase_add_test(tc, test_failure_leaves_output_alone);
        tcase_add_test(tc, test_one_document);
        tcase_add_test(tc, test_zero_limits_take_defaults);
        tcase_add_test(tc, test_many_anchors);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(yaml2json_suite)
