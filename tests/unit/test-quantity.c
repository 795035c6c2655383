/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "quantity.h"
#include "testutil.h"

#define MB (1024 * 1024)

/* Parses s, which must succeed, and returns the canonical text in a static buffer. */
static const char *canon(const char *s) {
        static char buf[QUANTITY_STR_MAX];
        struct merr err = MERR_INIT;
        struct quantity q;
        int r;

        r = quantity_parse(s, &q, &err);
        ck_assert_msg(r == 0, "parse '%s': %d %s", s, r, merr_msg(&err));
        ck_assert_int_ge(quantity_format(&q, buf, sizeof(buf)), 1);
        return buf;
}

static struct quantity parse_ok(const char *s) {
        struct merr err = MERR_INIT;
        struct quantity q;
        int r;

        r = quantity_parse(s, &q, &err);
        ck_assert_msg(r == 0, "parse '%s': %d %s", s, r, merr_msg(&err));
        return q;
}

static const struct {
        const char *in, *out;
        enum quantity_fmt fmt;
        const char *again; /* the canonical form of out when it differs from out itself */
} valid[] = {
        /* the examples from the brief and from Kubernetes' own documentation */
        {"250m", "250m", QUANTITY_DECIMAL_SI},
        {"1.5", "1500m", QUANTITY_DECIMAL_SI},
        {"512Mi", "512Mi", QUANTITY_BINARY_SI},
        {"2Gi", "2Gi", QUANTITY_BINARY_SI},
        {"1e3", "1e3", QUANTITY_DECIMAL_EXPONENT},
        {"0.5", "500m", QUANTITY_DECIMAL_SI},
        {".5", "500m", QUANTITY_DECIMAL_SI},
        {"100k", "100k", QUANTITY_DECIMAL_SI},
        {"-1", "-1", QUANTITY_DECIMAL_SI},
        {"1E3", "1e3", QUANTITY_DECIMAL_EXPONENT},
        {"1.5k", "1500", QUANTITY_DECIMAL_SI},
        {"1000", "1k", QUANTITY_DECIMAL_SI},
        {"1.5Gi", "1536Mi", QUANTITY_BINARY_SI},
        {"1024Mi", "1Gi", QUANTITY_BINARY_SI},
        {"1500e-3", "1500e-3", QUANTITY_DECIMAL_EXPONENT},
        {"0", "0", QUANTITY_DECIMAL_SI},
        {"0.1n", "1n", QUANTITY_DECIMAL_SI},
        {"1.5Mi", "1536Ki", QUANTITY_BINARY_SI},
        {"100m", "100m", QUANTITY_DECIMAL_SI},
        {"1023Ki", "1023Ki", QUANTITY_BINARY_SI},
        /* every suffix */
        {"1n", "1n", QUANTITY_DECIMAL_SI},
        {"1u", "1u", QUANTITY_DECIMAL_SI},
        {"1m", "1m", QUANTITY_DECIMAL_SI},
        {"1", "1", QUANTITY_DECIMAL_SI},
        {"1k", "1k", QUANTITY_DECIMAL_SI},
        {"1M", "1M", QUANTITY_DECIMAL_SI},
        {"1G", "1G", QUANTITY_DECIMAL_SI},
        {"1T", "1T", QUANTITY_DECIMAL_SI},
        {"1P", "1P", QUANTITY_DECIMAL_SI},
        {"1E", "1E", QUANTITY_DECIMAL_SI},
        {"1Ki", "1Ki", QUANTITY_BINARY_SI},
        {"1Mi", "1Mi", QUANTITY_BINARY_SI},
        {"1Gi", "1Gi", QUANTITY_BINARY_SI},
        {"1Ti", "1Ti", QUANTITY_BINARY_SI},
        {"1Pi", "1Pi", QUANTITY_BINARY_SI},
        {"1Ei", "1Ei", QUANTITY_BINARY_SI},
        /* decimal canonicalisation: exponent a multiple of three, as large as possible */
        {"1000m", "1", QUANTITY_DECIMAL_SI},
        {"1000000u", "1", QUANTITY_DECIMAL_SI},
        {"0.001", "1m", QUANTITY_DECIMAL_SI},
        {"0.0001", "100u", QUANTITY_DECIMAL_SI},
        {"1.2345", "1234500u", QUANTITY_DECIMAL_SI},
        {"12345", "12345", QUANTITY_DECIMAL_SI},
        {"123456000", "123456k", QUANTITY_DECIMAL_SI},
        {"10", "10", QUANTITY_DECIMAL_SI},
        {"100", "100", QUANTITY_DECIMAL_SI},
        {"0.1", "100m", QUANTITY_DECIMAL_SI},
        {"1.", "1", QUANTITY_DECIMAL_SI},
        {"+1", "1", QUANTITY_DECIMAL_SI},
        {"-0", "0", QUANTITY_DECIMAL_SI},
        {"+0.0", "0", QUANTITY_DECIMAL_SI},
        {"007", "7", QUANTITY_DECIMAL_SI},
        {"0.5m", "500u", QUANTITY_DECIMAL_SI},
        {"-1.5", "-1500m", QUANTITY_DECIMAL_SI},
        {"-250m", "-250m", QUANTITY_DECIMAL_SI},
        {"1000E", "1e21", QUANTITY_DECIMAL_SI}, /* no DecimalSI suffix past E: exponent form */
        {"1000000000000000000000000000", "1e27", QUANTITY_DECIMAL_SI},
        {"123000000000000000000", "123E", QUANTITY_DECIMAL_SI},
        {"1234000000000000000000", "1234E", QUANTITY_DECIMAL_SI},
        /* decimal exponent */
        {"12e6", "12e6", QUANTITY_DECIMAL_EXPONENT},
        {"1e+6", "1e6", QUANTITY_DECIMAL_EXPONENT},
        {"1E-2", "10e-3", QUANTITY_DECIMAL_EXPONENT},
        {"1e-3", "1e-3", QUANTITY_DECIMAL_EXPONENT},
        {"1.0e3", "1e3", QUANTITY_DECIMAL_EXPONENT},
        {"1.5e3", "1500", QUANTITY_DECIMAL_EXPONENT},
        {"1e0", "1", QUANTITY_DECIMAL_EXPONENT},
        {"1e21", "1e21", QUANTITY_DECIMAL_EXPONENT},
        {"1e03", "1e3", QUANTITY_DECIMAL_EXPONENT},
        {"-5e-1", "-500e-3", QUANTITY_DECIMAL_EXPONENT},
        {"0e9", "0", QUANTITY_DECIMAL_EXPONENT},
        /* binary: fallback to decimal below 1Ki or for fractions */
        {"0.5Ki", "512", QUANTITY_BINARY_SI},
        {"0.9765625Ki", "1k", QUANTITY_BINARY_SI}, /* 1000, below 1Ki: printed as DecimalSI */
        {"1.1Ki", "1126400m", QUANTITY_BINARY_SI},
        {"0.1Ki", "102400m", QUANTITY_BINARY_SI},
        {"1048576Ki", "1Gi", QUANTITY_BINARY_SI},
        {"1000Ki", "1000Ki", QUANTITY_BINARY_SI},
        {"1025Ki", "1025Ki", QUANTITY_BINARY_SI},
        /* a whole BinarySI value that is no multiple of 1Ki has no binary suffix, and reads back as DecimalSI */
        {"812.5Ki", "832000", QUANTITY_BINARY_SI, "832k"},
        {"1025", "1025", QUANTITY_DECIMAL_SI},
        {"0.5Mi", "512Ki", QUANTITY_BINARY_SI},
        {"-1Ki", "-1Ki", QUANTITY_BINARY_SI},
        {"-1.5Gi", "-1536Mi", QUANTITY_BINARY_SI},
        {"1024Ei", "9223372036854775807", QUANTITY_BINARY_SI}, /* Kubernetes' silent cap */
        {"8Ei", "9223372036854775807", QUANTITY_BINARY_SI},
        {"-8Ei", "-9223372036854775807", QUANTITY_BINARY_SI},
        {"7Ei", "7Ei", QUANTITY_BINARY_SI},
        {"0Ki", "0", QUANTITY_BINARY_SI},
        {"0.5Ki", "512", QUANTITY_BINARY_SI},
        {"0.0001Ki", "102400u", QUANTITY_DECIMAL_SI}, /* a binary fraction of one becomes DecimalSI */
        {"0.9999999999Ki", "1023999999898n", QUANTITY_BINARY_SI},
        /* rounding up to the next nano-unit, away from zero */
        {"0.0000000001", "1n", QUANTITY_DECIMAL_SI},
        {"-0.1n", "-1n", QUANTITY_DECIMAL_SI},
        {"1.0000000001", "1000000001n", QUANTITY_DECIMAL_SI},
        {"1.5n", "2n", QUANTITY_DECIMAL_SI},
        {"1e-100", "1e-9", QUANTITY_DECIMAL_EXPONENT},
        {"0e-2147483648", "0", QUANTITY_DECIMAL_EXPONENT},
        {"0.00000000001Ki", "11n", QUANTITY_DECIMAL_SI},
        /* the ends of the representation */
        {"170141183460469231731687303715.884105727", "170141183460469231731687303715884105727n",
                QUANTITY_DECIMAL_SI},
        {"-170141183460469231731687303715.884105727", "-170141183460469231731687303715884105727n",
                QUANTITY_DECIMAL_SI},
        {"1e29", "100e27", QUANTITY_DECIMAL_EXPONENT},
        {"100000000000000000000000000000", "100e27", QUANTITY_DECIMAL_SI},
};

START_TEST(test_parse_format) {
        for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
                struct merr err = MERR_INIT;
                char buf[QUANTITY_STR_MAX];
                struct quantity q, again;
                int r;

                r = quantity_parse(valid[i].in, &q, &err);
                ck_assert_msg(r == 0, "parse '%s': %d %s", valid[i].in, r, merr_msg(&err));
                ck_assert_msg(q.fmt == valid[i].fmt, "'%s': format %d", valid[i].in, (int) q.fmt);
                r = quantity_format(&q, buf, sizeof(buf));
                ck_assert_int_eq(r, (int) strlen(valid[i].out));
                ck_assert_msg(strcmp(buf, valid[i].out) == 0, "'%s' formatted as '%s', expected '%s'",
                        valid[i].in, buf, valid[i].out);

                /* the canonical form reads back as the same value and prints the same */
                r = quantity_parse(buf, &again, &err);
                ck_assert_msg(r == 0, "reparse '%s': %s", buf, merr_msg(&err));
                ck_assert_int_eq(quantity_cmp(&q, &again), 0);
                ck_assert_str_eq(canon(buf), valid[i].again ? valid[i].again : valid[i].out);
        }
}
END_TEST

static const struct {
        const char *in;
        int code;
        const char *msg; /* the whole message */
} invalid[] = {
        {"", -EINVAL, "quantity '': empty value"},
        {" ", -EINVAL, "quantity ' ': expected a digit at offset 0, found ' '"},
        {" 1", -EINVAL, "quantity ' 1': expected a digit at offset 0, found ' '"},
        {"1 ", -EINVAL, "quantity '1 ': unexpected ' ' at offset 1"},
        {"1.2.3", -EINVAL, "quantity '1.2.3': unexpected '.' at offset 3"},
        {"Mi", -EINVAL, "quantity 'Mi': expected a digit at offset 0, found 'M'"},
        {"1mi", -EINVAL, "quantity '1mi': unknown suffix 'mi' at offset 1"},
        {"1KB", -EINVAL, "quantity '1KB': unknown suffix 'KB' at offset 1"},
        {"1K", -EINVAL, "quantity '1K': unknown suffix 'K' at offset 1"},
        {"1 Gi", -EINVAL, "quantity '1 Gi': unexpected ' ' at offset 1"},
        {"1Gi ", -EINVAL, "quantity '1Gi ': unexpected ' ' at offset 3"},
        {"1Gix", -EINVAL, "quantity '1Gix': unknown suffix 'Gix' at offset 1"},
        {"1Gi2", -EINVAL, "quantity '1Gi2': unexpected '2' at offset 3"},
        {"++1", -EINVAL, "quantity '++1': expected a digit at offset 1, found '+'"},
        {"+-1", -EINVAL, "quantity '+-1': expected a digit at offset 1, found '-'"},
        {"1e", -EINVAL, "quantity '1e': expected exponent digits at offset 2, found end of input"},
        {"1e+", -EINVAL, "quantity '1e+': expected exponent digits at offset 3, found end of input"},
        {"1e-x", -EINVAL, "quantity '1e-x': expected exponent digits at offset 3, found 'x'"},
        {"1e3k", -EINVAL, "quantity '1e3k': unexpected 'k' at offset 3"},
        {"1e3.5", -EINVAL, "quantity '1e3.5': unexpected '.' at offset 3"},
        {"1ex", -EINVAL, "quantity '1ex': unknown suffix 'ex' at offset 1"},
        {"0x10", -EINVAL, "quantity '0x10': unknown suffix 'x' at offset 1"},
        {"-", -EINVAL, "quantity '-': expected a digit at offset 1, found end of input"},
        {"+", -EINVAL, "quantity '+': expected a digit at offset 1, found end of input"},
        {".", -EINVAL, "quantity '.': expected a digit at offset 1, found end of input"},
        {"-.", -EINVAL, "quantity '-.': expected a digit at offset 2, found end of input"},
        {".Ki", -EINVAL, "quantity '.Ki': expected a digit at offset 1, found 'K'"},
        {"1..", -EINVAL, "quantity '1..': unexpected '.' at offset 2"},
        {"1,5", -EINVAL, "quantity '1,5': unexpected ',' at offset 1"},
        {"1_000", -EINVAL, "quantity '1_000': unexpected '_' at offset 1"},
        {"inf", -EINVAL, "quantity 'inf': expected a digit at offset 0, found 'i'"},
        {"NaN", -EINVAL, "quantity 'NaN': expected a digit at offset 0, found 'N'"},
        {"1i", -EINVAL, "quantity '1i': unknown suffix 'i' at offset 1"},
        {"1\xff", -EINVAL, "quantity '1\\xff': unexpected byte 0xff at offset 1"},
        {"1\xc2\xb5", -EINVAL, "quantity '1\\xc2\\xb5': unexpected byte 0xc2 at offset 1"},
        {"\xc0\xaf", -EINVAL, "quantity '\\xc0\\xaf': expected a digit at offset 0, found byte 0xc0"},
        {"1\x1b[31m", -EINVAL, "quantity '1\\x1b[31m': unexpected byte 0x1b at offset 1"},
        {"1\\", -EINVAL, "quantity '1\\x5c': unexpected '\\' at offset 1"},
        {"1e40", -ERANGE, "quantity '1e40': value out of range (largest magnitude is about 1.7e29)"},
        {"2e29", -ERANGE, "quantity '2e29': value out of range (largest magnitude is about 1.7e29)"},
        {"-1e40", -ERANGE, "quantity '-1e40': value out of range (largest magnitude is about 1.7e29)"},
        {"170141183460469231731687303715.884105728", -ERANGE,
                "quantity '170141183460469231731687303715.884105728': value out of range (largest magnitude "
                "is "
                "about 1.7e29)"},
        {"-170141183460469231731687303715.884105728", -ERANGE,
                "quantity '-170141183460469231731687303715.884105728': value out of range (largest magnitude "
                "is "
                "about 1.7e29)"},
        {"1000000000000000E", -ERANGE,
                "quantity '1000000000000000E': value out of range (largest magnitude is about 1.7e29)"},
        {"1e2147483648", -ERANGE, "quantity '1e2147483648': exponent out of range at offset 2"},
        {"1e-2147483649", -ERANGE, "quantity '1e-2147483649': exponent out of range at offset 2"},
        {"1e99999999999999999999999", -ERANGE,
                "quantity '1e99999999999999999999999': exponent out of range at offset 2"},
        {"1e2147483647", -ERANGE,
                "quantity '1e2147483647': value out of range (largest magnitude is about 1.7e29)"},
};

START_TEST(test_invalid) {
        for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
                struct quantity q = {.nano = 42, .fmt = QUANTITY_BINARY_SI};
                struct merr err = MERR_INIT;
                int r;

                r = quantity_parse(invalid[i].in, &q, &err);
                ck_assert_msg(
                        r == invalid[i].code, "'%s': got %d, expected %d", invalid[i].in, r, invalid[i].code);
                ck_assert_int_eq(err.code, invalid[i].code);
                ck_assert_str_eq(merr_msg(&err), invalid[i].msg);
                /* ret_* is only written on success */
                ck_assert(q.nano == 42 && q.fmt == QUANTITY_BINARY_SI);
                /* and the error object is optional */
                ck_assert_int_eq(quantity_parse(invalid[i].in, &q, NULL), invalid[i].code);
        }
}
END_TEST

START_TEST(test_embedded_nul) {
        struct merr err = MERR_INIT;
        struct quantity q;

        ck_assert_int_eq(quantity_parsen("1\0Gi", 4, &q, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "quantity '1\\x00Gi': unexpected byte 0x00 at offset 1");
        merr_clear(&err);
        ck_assert_int_eq(quantity_parsen("1Gi\0", 4, &q, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "quantity '1Gi\\x00': unexpected byte 0x00 at offset 3");
        ck_assert_int_eq(quantity_parsen("\0", 1, &q, NULL), -EINVAL);
        ck_assert_int_eq(quantity_parsen("", 0, &q, NULL), -EINVAL);

        /* the length bounds the input: no NUL needed, nothing read past it */
        ck_assert_int_eq(quantity_parsen("512Mi", 3, &q, NULL), 0);
        ck_assert(q.nano == (__int128) 512 * 1000000000);
        ck_assert_int_eq(quantity_parsen("512Mi", 4, &q, NULL), 0);
        ck_assert(q.nano == (__int128) 512 * 1000000 * 1000000000 && q.fmt == QUANTITY_DECIMAL_SI);
        ck_assert_int_eq(quantity_parsen("1e3junk", 3, &q, NULL), 0);
        ck_assert_int_eq(q.fmt, QUANTITY_DECIMAL_EXPONENT);

        /* a C string stops at its NUL, so what follows is never seen */
        ck_assert_int_eq(quantity_parse("2Gi\0garbage", &q, NULL), 0);
        ck_assert_str_eq(canon("2Gi\0garbage"), "2Gi");
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
        char buf[QUANTITY_STR_MAX];
        struct quantity q;
        char *s;

        /* a megabyte of digits is too large, and the message quotes only the start of it */
        s = repeat('9', MB, "", "");
        ck_assert_int_eq(quantity_parse(s, &q, &err), -ERANGE);
        ck_assert_int_lt((int) strlen(merr_msg(&err)), 200);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "...': value out of range"));
        free(s);

        /* a megabyte of zeros is zero */
        s = repeat('0', MB, "", "");
        ck_assert_int_eq(quantity_parse(s, &q, NULL), 0);
        ck_assert_int_eq(quantity_sign(&q), 0);
        free(s);

        /* a megabyte of fractional zeros before a 1 is rounded up to 1n */
        s = repeat('0', MB, "0.", "1");
        ck_assert_int_eq(quantity_parse(s, &q, NULL), 0);
        ck_assert_int_eq(quantity_format(&q, buf, sizeof(buf)), 2);
        ck_assert_str_eq(buf, "1n");
        free(s);

        /* a megabyte of trailing zeros scaled back by an exponent is exactly one */
        s = repeat('0', MB, "1", "e-1048576");
        ck_assert_int_eq(quantity_parse(s, &q, &err), 0);
        ck_assert_int_eq(quantity_format(&q, buf, sizeof(buf)), 1);
        ck_assert_str_eq(buf, "1");
        free(s);

        /* a megabyte of fractional digits below the nano-unit: rounded up once */
        s = repeat('9', MB, "0.000000001", "");
        ck_assert_int_eq(quantity_parse(s, &q, NULL), 0);
        ck_assert_str_eq((quantity_format(&q, buf, sizeof(buf)), buf), "2n");
        free(s);

        /* a huge binary value is capped, as Kubernetes caps it */
        s = repeat('7', MB, "", "Ki");
        ck_assert_int_eq(quantity_parse(s, &q, NULL), 0);
        ck_assert_str_eq((quantity_format(&q, buf, sizeof(buf)), buf), "9223372036854775807");
        free(s);

        /* garbage after a megabyte of digits is still found, at its offset */
        s = repeat('1', MB, "", "x");
        ck_assert_int_eq(quantity_parse(s, &q, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "unknown suffix 'x' at offset 1048576"));
        free(s);

        /* a megabyte of letters */
        s = repeat('K', MB, "1", "");
        ck_assert_int_eq(quantity_parse(s, &q, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "unknown suffix 'KKKK"));
        ck_assert_int_lt((int) strlen(merr_msg(&err)), 200);
        free(s);

        /* a megabyte of exponent digits */
        s = repeat('9', MB, "1e", "");
        ck_assert_int_eq(quantity_parse(s, &q, &err), -ERANGE);
        free(s);
        s = repeat('0', MB, "1e", "3");
        ck_assert_int_eq(quantity_parse(s, &q, &err), 0);
        ck_assert_str_eq((quantity_format(&q, buf, sizeof(buf)), buf), "1e3");
        free(s);
}
END_TEST

START_TEST(test_cmp) {
        static const struct {
                const char *a, *b;
                int want;
        } cases[] = {
                {"1Gi", "1024Mi", 0},
                {"1Gi", "1073741824", 0},
                {"1024Mi", "1073741824", 0},
                {"1000m", "1", 0},
                {"1e3", "1k", 0},
                {"1k", "1000", 0},
                {"0.5", "500m", 0},
                {"1500e-3", "1.5", 0},
                {"1Ki", "1024", 0},
                {"1Ki", "1k", 1},
                {"1k", "1Ki", -1},
                {"0", "-0", 0},
                {"0", "0Ki", 0},
                {"-1", "0", -1},
                {"1n", "0", 1},
                {"-1n", "-2n", 1},
                {"100m", "0.1", 0},
                {"1E", "1e18", 0},
                {"1Ei", "1152921504606846976", 0},
                {"999999999n", "1", -1},
                {"1.000000001", "1", 1},
                {"170141183460469231731687303715.884105727", "-170141183460469231731687303715.884105727", 1},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct quantity a = parse_ok(cases[i].a), b = parse_ok(cases[i].b);

                ck_assert_msg(quantity_cmp(&a, &b) == cases[i].want, "cmp('%s', '%s') = %d", cases[i].a,
                        cases[i].b, quantity_cmp(&a, &b));
                ck_assert_int_eq(quantity_cmp(&b, &a), -cases[i].want);
                ck_assert_int_eq(quantity_cmp(&a, &a), 0);
        }
}
END_TEST

START_TEST(test_sign) {
        struct quantity q;

        q = parse_ok("0");
        ck_assert_int_eq(quantity_sign(&q), 0);
        q = parse_ok("-0.0Ki");
        ck_assert_int_eq(quantity_sign(&q), 0);
        q = parse_ok("1n");
        ck_assert_int_eq(quantity_sign(&q), 1);
        q = parse_ok("-0.1n");
        ck_assert_int_eq(quantity_sign(&q), -1);
        q = parse_ok("-8Ei");
        ck_assert_int_eq(quantity_sign(&q), -1);
}
END_TEST

START_TEST(test_value) {
        static const struct {
                const char *in;
                int64_t value;
        } cases[] = {
                {"0", 0},
                {"1", 1},
                {"1.1", 2},
                {"-1.1", -2},
                {"250m", 1},
                {"-250m", -1},
                {"0.1m", 1},
                {"-0.1m", -1},
                {"1n", 1},
                {"1Gi", 1073741824},
                {"1e3", 1000},
                {"7Ei", INT64_C(8070450532247928832)},
                {"8Ei", INT64_MAX},
                {"-8Ei", -INT64_MAX},
                {"9223372036854775807", INT64_MAX},
                {"-9223372036854775808", INT64_MIN},
                {"9223372036854775.807", INT64_C(9223372036854776)},
                {"-9223372036854775.808", INT64_C(-9223372036854776)},
        };
        struct merr err = MERR_INIT;
        struct quantity q;
        int64_t v = 99;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                q = parse_ok(cases[i].in);
                ck_assert_int_eq(quantity_value(&q, &v, NULL), 0);
                ck_assert_msg(v == cases[i].value, "value('%s') = %lld", cases[i].in, (long long) v);
        }

        q = parse_ok("9223372036854775808");
        v = 99;
        ck_assert_int_eq(quantity_value(&q, &v, &err), -ERANGE);
        ck_assert_str_eq(
                merr_msg(&err), "quantity '9223372036854775808': integer value does not fit in 64 bits");
        ck_assert_int_eq(v, 99);
        q = parse_ok("9223372036854775807.1");
        ck_assert_int_eq(quantity_value(&q, &v, NULL), -ERANGE);
        q = parse_ok("-9223372036854775808.1");
        ck_assert_int_eq(quantity_value(&q, &v, NULL), -ERANGE);
        q = parse_ok("1e29");
        ck_assert_int_eq(quantity_value(&q, &v, NULL), -ERANGE);
        ck_assert_int_eq(quantity_value(NULL, &v, NULL), -EINVAL);
        ck_assert_int_eq(quantity_value(&q, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_format_buffer) {
        struct quantity q = parse_ok("1536Mi");
        char buf[QUANTITY_STR_MAX];

        memset(buf, 'x', sizeof(buf));
        ck_assert_int_eq(quantity_format(&q, buf, 6), -ENOBUFS);
        ck_assert_int_eq(buf[0], 'x'); /* untouched on failure */
        ck_assert_int_eq(quantity_format(&q, buf, 7), 6);
        ck_assert_str_eq(buf, "1536Mi");
        ck_assert_int_eq(quantity_format(&q, buf, 0), -ENOBUFS);
        q = parse_ok("0");
        ck_assert_int_eq(quantity_format(&q, buf, 1), -ENOBUFS);
        ck_assert_int_eq(quantity_format(&q, buf, 2), 1);
        ck_assert_int_eq(quantity_format(NULL, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(quantity_format(&q, NULL, sizeof(buf)), -EINVAL);

        /* the longest outputs fit QUANTITY_STR_MAX */
        q = parse_ok("-170141183460469231731687303715.884105727");
        ck_assert_int_eq(quantity_format(&q, buf, sizeof(buf)), 41);
        q = (struct quantity){.nano = q.nano, .fmt = QUANTITY_DECIMAL_EXPONENT};
        ck_assert_int_eq(quantity_format(&q, buf, sizeof(buf)), 43);
        ck_assert_str_eq(buf, "-170141183460469231731687303715884105727e-9");

        /* an unknown format prints as DecimalExponent, as Kubernetes does */
        q = (struct quantity){.nano = (__int128) 1000 * 1000000000, .fmt = (enum quantity_fmt) 42};
        ck_assert_int_eq(quantity_format(&q, buf, sizeof(buf)), 3);
        ck_assert_str_eq(buf, "1e3");

        /* binary values past Ei keep the Ei suffix */
        q = (struct quantity){.nano = ((__int128) 1 << 70) * 1000000000, .fmt = QUANTITY_BINARY_SI};
        ck_assert_int_eq(quantity_format(&q, buf, sizeof(buf)), 6);
        ck_assert_str_eq(buf, "1024Ei");
}
END_TEST

START_TEST(test_null_args) {
        struct merr err = MERR_INIT;
        struct quantity q;

        ck_assert_int_eq(quantity_parse(NULL, &q, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "quantity: missing argument");
        ck_assert_int_eq(quantity_parse("1", NULL, NULL), -EINVAL);
        ck_assert_int_eq(quantity_parsen(NULL, 3, &q, NULL), -EINVAL);
}
END_TEST

static Suite *quantity_suite(void) {
        Suite *s = suite_create("quantity");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_parse_format);
        tcase_add_test(tc, test_invalid);
        tcase_add_test(tc, test_embedded_nul);
        tcase_add_test(tc, test_huge);
        tcase_add_test(tc, test_cmp);
        tcase_add_test(tc, test_sign);
        tcase_add_test(tc, test_value);
        tcase_add_test(tc, test_format_buffer);
        tcase_add_test(tc, test_null_args);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(quantity_suite)
