/* SPDX-License-Identifier: Apache-2.0 */
#include "duration.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define fail(err, code, s, n, ...) merr_set_input(err, code, "duration", s, n, __VA_ARGS__)
#define describe                   merr_describe_at
#define quote                      merr_quote

#define TWO63 (UINT64_C(1) << 63)

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static const struct {
        const char *name;
        uint64_t ns;
} units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC Greek small letter mu */
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", UINT64_C(60) * 1000000000},
        {"h", UINT64_C(3600) * 1000000000},
};

static uint64_t lookup_unit(const char *p, size_t len) {
        for (size_t k = 0; k < ARRAY_SIZE(units); k++)
                if (strlen(units[k].name) == len && memcmp(units[k].name, p, len) == 0)
                        return units[k].ns;
        return 0;
}

int duration_parsen(const char *s, size_t n, int64_t *ret, struct merr *err) {
        uint64_t total = 0;
        bool neg = false;
        size_t i = 0;

        if (!s || !ret)
                return merr_set(err, -EINVAL, "duration: missing argument");
        if (n == 0)
                return fail(err, -EINVAL, s, n, "empty value");
        if (s[0] == '-' || s[0] == '+') {
                neg = s[0] == '-';
                i++;
        }
        if (n - i == 1 && s[i] == '0') {
                *ret = 0;
                return 0;
        }
        if (i == n)
                return fail(err, -EINVAL, s, n, "expected a number at offset %zu, found end of input", i);

        while (i < n) {
                uint64_t v = 0, f = 0, unit;
                double scale = 1;
                size_t start = i, ustart;
                bool pre, post = false;
                char what[16];

                if (s[i] != '.' && !is_digit(s[i]))
                        return fail(err, -EINVAL, s, n, "expected a number at offset %zu, found %s", i,
                                describe(s, n, i, what, sizeof(what)));
                for (; i < n && is_digit(s[i]); i++) {
                        if (v > TWO63 / 10)
                                return fail(err, -ERANGE, s, n, "value out of range at offset %zu", start);
                        v = v * 10 + (uint64_t) (s[i] - '0');
                        if (v > TWO63)
                                return fail(err, -ERANGE, s, n, "value out of range at offset %zu", start);
                }
                pre = i != start;

                if (i < n && s[i] == '.') {
                        bool overflow = false;
                        size_t fstart = ++i;

                        /* Like Go's leadingFraction: digits past what 63 bits hold add no precision. */
                        for (; i < n && is_digit(s[i]); i++) {
                                uint64_t y;

                                if (overflow)
                                        continue;
                                if (f > (TWO63 - 1) / 10) {
                                        overflow = true;
                                        continue;
                                }
                                y = f * 10 + (uint64_t) (s[i] - '0');
                                if (y > TWO63) {
                                        overflow = true;
                                        continue;
                                }
                                f = y;
                                scale *= 10;
                        }
                        post = i != fstart;
                }
                if (!pre && !post)
                        return fail(err, -EINVAL, s, n, "expected a digit at offset %zu, found %s", i,
                                describe(s, n, i, what, sizeof(what)));

                for (ustart = i; i < n && s[i] != '.' && !is_digit(s[i]); i++)
                        ;
                if (i == ustart)
                        return fail(err, -EINVAL, s, n, "missing unit at offset %zu", i);
                unit = lookup_unit(s + ustart, i - ustart);
                if (unit == 0) {
                        char q[MERR_QUOTE_SIZE];

                        return fail(err, -EINVAL, s, n,
                                "unknown unit '%s' at offset %zu (valid units are ns, us, ms, s, m, h)",
                                quote(s + ustart, i - ustart, q, sizeof(q)), ustart);
                }

                if (v > TWO63 / unit)
                        return fail(err, -ERANGE, s, n, "value out of range at offset %zu", start);
                v *= unit;
                if (f > 0) {
                        /* float64 as in Go, so that fractions of hours round exactly as there; the
                         * product is below unit, so the conversion is defined. */
                        v += (uint64_t) ((double) f * ((double) unit / scale));
                        if (v > TWO63)
                                return fail(err, -ERANGE, s, n, "value out of range at offset %zu", start);
                }
                /* Go lets 2^63 + 2^63 wrap to 0 here; an overflow check does not. */
                if (__builtin_add_overflow(total, v, &total) || total > TWO63)
                        return fail(err, -ERANGE, s, n, "value out of range at offset %zu", start);
        }

        if (neg) {
                *ret = total == TWO63 ? INT64_MIN : -(int64_t) total;
                return 0;
        }
        if (total > (uint64_t) INT64_MAX)
                return fail(err, -ERANGE, s, n, "value out of range");
        *ret = (int64_t) total;
        return 0;
}

int duration_parse(const char *s, int64_t *ret, struct merr *err) {
        if (!s)
                return merr_set(err, -EINVAL, "duration: missing argument");
        return duration_parsen(s, strlen(s), ret, err);
}

/* Writes the fraction of v / 10^prec before w in buf, without trailing zeros, and without the point when it
 * is zero (Go's fmtFrac). Returns the new start; *v becomes v / 10^prec. */
static size_t put_frac(char *buf, size_t w, uint64_t *v, int prec) {
        bool print = false;

        for (int k = 0; k < prec; k++) {
                unsigned digit = (unsigned) (*v % 10);

                print = print || digit != 0;
                if (print)
                        buf[--w] = (char) ('0' + digit);
                *v /= 10;
        }
        if (print)
                buf[--w] = '.';
        return w;
}

static size_t put_int(char *buf, size_t w, uint64_t v) {
        do {
                buf[--w] = (char) ('0' + (int) (v % 10));
                v /= 10;
        } while (v > 0);
        return w;
}

int duration_format(int64_t ns, char *buf, size_t size) {
        char out[DURATION_STR_MAX];
        size_t w = sizeof(out) - 1, len;
        uint64_t u = ns < 0 ? -(uint64_t) ns : (uint64_t) ns;

        if (!buf)
                return -EINVAL;
        out[w] = '\0';
        if (u < (uint64_t) DURATION_SECOND) {
                /* Below a second Go switches to the largest unit that keeps an integer part: 1.2ms. */
                int prec = 0;

                out[--w] = 's';
                if (u == 0) {
                        out[--w] = '0';
                } else {
                        if (u < (uint64_t) DURATION_MICROSECOND) {
                                out[--w] = 'n';
                        } else if (u < (uint64_t) DURATION_MILLISECOND) {
                                prec = 3;
                                out[--w] = '\xb5'; /* U+00B5, as Go prints it */
                                out[--w] = '\xc2';
                        } else {
                                prec = 6;
                                out[--w] = 'm';
                        }
                        w = put_frac(out, w, &u, prec);
                        w = put_int(out, w, u);
                }
        } else {
                out[--w] = 's';
                w = put_frac(out, w, &u, 9);
                w = put_int(out, w, u % 60);
                u /= 60;
                if (u > 0) {
                        out[--w] = 'm';
                        w = put_int(out, w, u % 60);
                        u /= 60;
                        /* Hours are the largest unit: days differ in length. */
                        if (u > 0) {
                                out[--w] = 'h';
                                w = put_int(out, w, u);
                        }
                }
        }
        if (ns < 0)
                out[--w] = '-';

        len = sizeof(out) - 1 - w;
        if (size < len + 1)
                return -ENOBUFS;
        memcpy(buf, out + w, len + 1);
        return (int) len;
}
