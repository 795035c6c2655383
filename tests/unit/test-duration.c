/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "duration.h"
#include "testutil.h"

#define MB (1024 * 1024)

static const struct {
        const char *in;
        int64_t ns;
        const char *out; /* Go's Duration.String() of the value */
} valid[] = {
        {"90s", 90 * DURATION_SECOND, "1m30s"},
        {"30m", 30 * DURATION_MINUTE, "30m0s"},
        {"1h30m", 90 * DURATION_MINUTE, "1h30m0s"},
        {"1.5h", 90 * DURATION_MINUTE, "1h30m0s"},
        {"-2m", -2 * DURATION_MINUTE, "-2m0s"},
        {"+5s", 5 * DURATION_SECOND, "5s"},
        {"300ms", 300 * DURATION_MILLISECOND, "300ms"},
        {"10us", 10 * DURATION_MICROSECOND, "10\xc2\xb5s"},
        {"10\xc2\xb5s", 10 * DURATION_MICROSECOND, "10\xc2\xb5s"}, /* U+00B5 */
        {"10\xce\xbcs", 10 * DURATION_MICROSECOND, "10\xc2\xb5s"}, /* U+03BC */
        {"1h2m3.5s", DURATION_HOUR + 2 * DURATION_MINUTE + 3500 * DURATION_MILLISECOND, "1h2m3.5s"},
        {"0", 0, "0s"},
        {"-0", 0, "0s"},
        {"+0", 0, "0s"},
        {"0s", 0, "0s"},
        {"0h0m0s", 0, "0s"},
        {"1.s", DURATION_SECOND, "1s"},
        {".5s", 500 * DURATION_MILLISECOND, "500ms"},
        {"1.5s", 1500 * DURATION_MILLISECOND, "1.5s"},
        {"1ns", 1, "1ns"},
        {"999ns", 999, "999ns"},
        {"1100ns", 1100, "1.1\xc2\xb5s"},
        {"1.001ms", 1001 * DURATION_MICROSECOND, "1.001ms"},
        {"2.5ms", 2500 * DURATION_MICROSECOND, "2.5ms"},
        {"1.23456789s", 1234567890, "1.23456789s"},
        {"0.000000001s", 1, "1ns"},
        {"0.0000000009s", 0, "0s"}, /* Go truncates below a nanosecond */
        {"1.0000000001s", DURATION_SECOND, "1s"},
        {"3.000000000000000000001h", 3 * DURATION_HOUR, "3h0m0s"},
        {"1.999999999999h", INT64_C(7199999999996), "1h59m59.999999996s"}, /* float64 as in Go */
        {"0.3h", 18 * DURATION_MINUTE, "18m0s"},
        {"1h1h", 2 * DURATION_HOUR, "2h0m0s"},
        {"1s1m", 61 * DURATION_SECOND, "1m1s"},
        {"100h", 100 * DURATION_HOUR, "100h0m0s"},
        {"24h", 24 * DURATION_HOUR, "24h0m0s"},
        {"-1.5h", -90 * DURATION_MINUTE, "-1h30m0s"},
        {"-1ns", -1, "-1ns"},
        {"-300ms", -300 * DURATION_MILLISECOND, "-300ms"},
        {"007s", 7 * DURATION_SECOND, "7s"},
        {"2562047h", INT64_C(9223369200000000000), "2562047h0m0s"},
        {"2562047h47m16.854775807s", INT64_MAX, "2562047h47m16.854775807s"},
        {"-2562047h47m16.854775808s", INT64_MIN, "-2562047h47m16.854775808s"},
        {"9223372036854775807ns", INT64_MAX, "2562047h47m16.854775807s"},
        {"-9223372036854775808ns", INT64_MIN, "-2562047h47m16.854775808s"},
        {"9223372036854775.807us", INT64_MAX, "2562047h47m16.854775807s"},
};

START_TEST(test_parse_format) {
        for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
                struct merr err = MERR_INIT;
                char buf[DURATION_STR_MAX];
                int64_t ns = 42, again = 42;
                int r;

                r = duration_parse(valid[i].in, &ns, &err);
                ck_assert_msg(r == 0, "parse '%s': %d %s", valid[i].in, r, merr_msg(&err));
                ck_assert_msg(ns == valid[i].ns, "'%s' = %lld, expected %lld", valid[i].in, (long long) ns,
                        (long long) valid[i].ns);
                r = duration_format(ns, buf, sizeof(buf));
                ck_assert_int_eq(r, (int) strlen(valid[i].out));
                ck_assert_str_eq(buf, valid[i].out);
                ck_assert_int_eq(duration_parse(buf, &again, NULL), 0);
                ck_assert(again == ns);
        }
}
END_TEST

static const struct {
        const char *in;
        int code;
        const char *msg;
} invalid[] = {
        {"", -EINVAL, "duration '': empty value"},
        {"1", -EINVAL, "duration '1': missing unit at offset 1"},
        {"00", -EINVAL, "duration '00': missing unit at offset 2"},
        {"1.5", -EINVAL, "duration '1.5': missing unit at offset 3"},
        {"1.", -EINVAL, "duration '1.': missing unit at offset 2"},
        {"1s1", -EINVAL, "duration '1s1': missing unit at offset 3"},
        {"1x", -EINVAL, "duration '1x': unknown unit 'x' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {"1S", -EINVAL, "duration '1S': unknown unit 'S' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {"1d", -EINVAL, "duration '1d': unknown unit 'd' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {"1 s", -EINVAL,
                "duration '1 s': unknown unit ' s' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {"1s ", -EINVAL,
                "duration '1s ': unknown unit 's ' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {"h", -EINVAL, "duration 'h': expected a number at offset 0, found 'h'"},
        {" 1s", -EINVAL, "duration ' 1s': expected a number at offset 0, found ' '"},
        {"-", -EINVAL, "duration '-': expected a number at offset 1, found end of input"},
        {"+", -EINVAL, "duration '+': expected a number at offset 1, found end of input"},
        {"--1s", -EINVAL, "duration '--1s': expected a number at offset 1, found '-'"},
        {"1s-1s", -EINVAL,
                "duration '1s-1s': unknown unit 's-' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {".s", -EINVAL, "duration '.s': expected a digit at offset 1, found 's'"},
        {"-.s", -EINVAL, "duration '-.s': expected a digit at offset 2, found 's'"},
        {".", -EINVAL, "duration '.': expected a digit at offset 1, found end of input"},
        {"1.2.3s", -EINVAL, "duration '1.2.3s': missing unit at offset 3"},
        {"1\xb5s", -EINVAL,
                "duration '1\\xb5s': unknown unit '\\xb5s' at offset 1 (valid units are ns, us, ms, s, m, "
                "h)"},
        {"1\xc2s", -EINVAL,
                "duration '1\\xc2s': unknown unit '\\xc2s' at offset 1 (valid units are ns, us, ms, s, m, "
                "h)"},
        {"1\xff", -EINVAL,
                "duration '1\\xff': unknown unit '\\xff' at offset 1 (valid units are ns, us, ms, s, m, h)"},
        {"\xff", -EINVAL, "duration '\\xff': expected a number at offset 0, found byte 0xff"},
        {"1\xce\xbc", -EINVAL,
                "duration '1\\xce\\xbc': unknown unit '\\xce\\xbc' at offset 1 (valid units are ns, us, ms, "
                "s, m, h)"},
        {"9999999999h", -ERANGE, "duration '9999999999h': value out of range at offset 0"},
        {"2562048h", -ERANGE, "duration '2562048h': value out of range at offset 0"},
        {"2562047h47m16.854775808s", -ERANGE, "duration '2562047h47m16.854775808s': value out of range"},
        {"-2562047h47m16.854775809s", -ERANGE,
                "duration '-2562047h47m16.854775809s': value out of range at offset 12"},
        {"9223372036854775808ns", -ERANGE, "duration '9223372036854775808ns': value out of range"},
        {"9223372036854775809ns", -ERANGE,
                "duration '9223372036854775809ns': value out of range at offset 0"},
        /* wraps to 384ns in 64 bits */
        {"18446744073709552us", -ERANGE, "duration '18446744073709552us': value out of range at offset 0"},
        {"99999999999999999999s", -ERANGE,
                "duration '99999999999999999999s': value out of range at offset 0"},
        {"2562047.9h", -ERANGE, "duration '2562047.9h': value out of range at offset 0"},
        /* Go wraps 2^63 + 2^63 to 0 here and returns 0s; the sum is checked */
        {"-9223372036854775808ns9223372036854775808ns", -ERANGE,
                "duration '-9223372036854775808ns9223372036854775808ns': value out of range at offset 22"},
};

START_TEST(test_invalid) {
        for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
                struct merr err = MERR_INIT;
                int64_t ns = 42;
                int r;

                r = duration_parse(invalid[i].in, &ns, &err);
                ck_assert_msg(
                        r == invalid[i].code, "'%s': got %d, expected %d", invalid[i].in, r, invalid[i].code);
                ck_assert_str_eq(merr_msg(&err), invalid[i].msg);
                ck_assert(ns == 42);
                ck_assert_int_eq(duration_parse(invalid[i].in, &ns, NULL), invalid[i].code);
        }
}
END_TEST

START_TEST(test_embedded_nul) {
        struct merr err = MERR_INIT;
        int64_t ns;

        ck_assert_int_eq(duration_parsen("1s\0", 3, &ns, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "duration '1s\\x00': unknown unit 's\\x00' at offset 1 (valid units "
                                         "are ns, us, ms, s, m, h)");
        ck_assert_int_eq(duration_parsen("1\0s", 3, &ns, NULL), -EINVAL);
        ck_assert_int_eq(duration_parsen("\0", 1, &ns, NULL), -EINVAL);
        ck_assert_int_eq(duration_parsen("0\0", 2, &ns, NULL), -EINVAL);
        ck_assert_int_eq(duration_parsen("", 0, &ns, NULL), -EINVAL);

        /* the length bounds the input */
        ck_assert_int_eq(duration_parsen("1h30m", 2, &ns, NULL), 0);
        ck_assert(ns == DURATION_HOUR);
        ck_assert_int_eq(duration_parsen("1msx", 2, &ns, NULL), 0);
        ck_assert(ns == DURATION_MINUTE);
        ck_assert_int_eq(duration_parsen("0s", 1, &ns, NULL), 0);
        ck_assert(ns == 0);

        /* a C string ends at its NUL */
        ck_assert_int_eq(duration_parse("5s\0garbage", &ns, NULL), 0);
        ck_assert(ns == 5 * DURATION_SECOND);
}
END_TEST

static char *repeat(char c, size_t n, const char *prefix, const char *suffix) {
        size_t pl = strlen(prefix), sl = strlen(suffix);
        char *s = malloc(pl + n + sl + 1);

        ck_assert_ptr_nonnull(s);
        memcpy(s, prefix, pl);
        memset(s + pl, c, n);
        memcpy(s + pl + n, suffix, sl + 1);
        return s;
}

START_TEST(test_huge) {
        struct merr err = MERR_INIT;
        int64_t ns;
        char *s;

        s = repeat('9', MB, "", "s");
        ck_assert_int_eq(duration_parse(s, &ns, &err), -ERANGE);
        ck_assert_str_eq(merr_msg(&err), "duration '999999999999999999999999999999999999999999999999...': "
                                         "value out of range at offset 0");
        free(s);

        s = repeat('0', MB, "", "1s");
        ck_assert_int_eq(duration_parse(s, &ns, NULL), 0);
        ck_assert(ns == DURATION_SECOND);
        free(s);

        /* fraction digits past 63 bits are ignored, and 0.999999999999999999 s becomes a whole second in
         * float64, exactly as Go computes it */
        s = repeat('9', MB, "1.", "s");
        ck_assert_int_eq(duration_parse(s, &ns, NULL), 0);
        ck_assert(ns == 2 * DURATION_SECOND);
        free(s);
        s = repeat('9', MB, "0.", "ms");
        ck_assert_int_eq(duration_parse(s, &ns, NULL), 0);
        ck_assert(ns == DURATION_MILLISECOND);
        free(s);

        /* a megabyte of units */
        s = repeat('h', MB, "1", "");
        ck_assert_int_eq(duration_parse(s, &ns, &err), -EINVAL);
        ck_assert_int_lt((int) strlen(merr_msg(&err)), 300);
        free(s);

        /* a megabyte of components, each valid, summing within range */
        s = malloc(2 * MB + 1);
        ck_assert_ptr_nonnull(s);
        for (size_t i = 0; i < MB; i++)
                memcpy(s + 2 * i, "1s", 2);
        s[2 * MB] = '\0';
        ck_assert_int_eq(duration_parse(s, &ns, NULL), 0);
        ck_assert(ns == (int64_t) MB * DURATION_SECOND);
        free(s);
}
END_TEST

START_TEST(test_format) {
        static const struct {
                int64_t ns;
                const char *out;
        } cases[] = {
                {0, "0s"},
                {1, "1ns"},
                {-1, "-1ns"},
                {1000, "1\xc2\xb5s"},
                {1001, "1.001\xc2\xb5s"},
                {999999, "999.999\xc2\xb5s"},
                {1000000, "1ms"},
                {1100000, "1.1ms"},
                {999999999, "999.999999ms"},
                {DURATION_SECOND, "1s"},
                {DURATION_SECOND + 1, "1.000000001s"},
                {59 * DURATION_SECOND, "59s"},
                {DURATION_MINUTE, "1m0s"},
                {DURATION_HOUR, "1h0m0s"},
                {DURATION_HOUR + 1, "1h0m0.000000001s"},
                {25 * DURATION_HOUR, "25h0m0s"},
                {-90 * DURATION_SECOND, "-1m30s"},
                {INT64_MAX, "2562047h47m16.854775807s"},
                {INT64_MIN, "-2562047h47m16.854775808s"},
        };
        char buf[DURATION_STR_MAX];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                int64_t back;

                ck_assert_int_eq(duration_format(cases[i].ns, buf, sizeof(buf)), (int) strlen(cases[i].out));
                ck_assert_str_eq(buf, cases[i].out);
                ck_assert_int_eq(duration_parse(buf, &back, NULL), 0);
                ck_assert(back == cases[i].ns);
        }

        memset(buf, 'x', sizeof(buf));
        ck_assert_int_eq(duration_format(DURATION_HOUR, buf, 6), -ENOBUFS);
        ck_assert_int_eq(buf[0], 'x');
        ck_assert_int_eq(duration_format(DURATION_HOUR, buf, 7), 6);
        ck_assert_str_eq(buf, "1h0m0s");
        ck_assert_int_eq(duration_format(0, buf, 0), -ENOBUFS);
        ck_assert_int_eq(duration_format(INT64_MIN, buf, 26), 25);
        ck_assert_int_eq(duration_format(0, NULL, 10), -EINVAL);
}
END_TEST

START_TEST(test_null_args) {
        struct merr err = MERR_INIT;
        int64_t ns;

        ck_assert_int_eq(duration_parse(NULL, &ns, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "duration: missing argument");
        ck_assert_int_eq(duration_parse("1s", NULL, NULL), -EINVAL);
        ck_assert_int_eq(duration_parsen(NULL, 2, &ns, NULL), -EINVAL);
}
END_TEST

static Suite *duration_suite(void) {
        Suite *s = suite_create("duration");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_parse_format);
        tcase_add_test(tc, test_invalid);
        tcase_add_test(tc, test_embedded_nul);
        tcase_add_test(tc, test_huge);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_null_args);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(duration_suite)
