/* SPDX-License-Identifier: Apache-2.0 */
#include "quantity.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define fail(err, code, s, n, ...) merr_set_input(err, code, "quantity", s, n, __VA_ARGS__)
#define describe                   merr_describe_at
#define quote                      merr_quote

typedef __int128 i128;
typedef unsigned __int128 u128;

#define NANO     1000000000
#define I128_MAX ((i128) (((u128) 1 << 127) - 1))
#define I128_MIN (-I128_MAX - 1)
/* Kubernetes caps a parsed BinarySI quantity at 2^63-1 units (maxAllowed in quantity.go). */
#define BINARY_CAP ((i128) INT64_MAX * NANO)
/* Highest power of ten that fits an unsigned 128-bit integer. */
#define POW10_MAX 38
/* How much of a hostile input an error message repeats. */

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int fail_unexpected(struct merr *err, const char *s, size_t n, size_t i) {
        char what[16];

        return fail(
                err, -EINVAL, s, n, "unexpected %s at offset %zu", describe(s, n, i, what, sizeof(what)), i);
}

struct suffix {
        const char *name;
        enum quantity_fmt fmt;
        int exp; /* power of ten for DecimalSI, power of two for BinarySI */
};

static const struct suffix suffixes[] = {
        {"n", QUANTITY_DECIMAL_SI, -9},
        {"u", QUANTITY_DECIMAL_SI, -6},
        {"m", QUANTITY_DECIMAL_SI, -3},
        {"k", QUANTITY_DECIMAL_SI, 3},
        {"M", QUANTITY_DECIMAL_SI, 6},
        {"G", QUANTITY_DECIMAL_SI, 9},
        {"T", QUANTITY_DECIMAL_SI, 12},
        {"P", QUANTITY_DECIMAL_SI, 15},
        {"E", QUANTITY_DECIMAL_SI, 18},
        {"Ki", QUANTITY_BINARY_SI, 10},
        {"Mi", QUANTITY_BINARY_SI, 20},
        {"Gi", QUANTITY_BINARY_SI, 30},
        {"Ti", QUANTITY_BINARY_SI, 40},
        {"Pi", QUANTITY_BINARY_SI, 50},
        {"Ei", QUANTITY_BINARY_SI, 60},
};

static const struct suffix *lookup_suffix(const char *p, size_t len) {
        for (size_t k = 0; k < ARRAY_SIZE(suffixes); k++)
                if (strlen(suffixes[k].name) == len && memcmp(suffixes[k].name, p, len) == 0)
                        return &suffixes[k];
        return NULL;
}

/* Reads the suffix that starts at offset i and runs to the end of the input. */
static int parse_suffix(const char *s, size_t n, size_t i, enum quantity_fmt *ret_fmt, int *ret_exp10,
        int *ret_exp2, struct merr *err) {
        const struct suffix *sfx;
        size_t j;

        if (i == n) {
                *ret_fmt = QUANTITY_DECIMAL_SI;
                *ret_exp10 = 0;
                *ret_exp2 = 0;
                return 0;
        }

        /* A decimal exponent: [eE][+-]?[0-9]+. A bare "E" is the exa suffix, handled below. */
        if ((s[i] == 'e' || s[i] == 'E') && i + 1 < n &&
                (s[i + 1] == '+' || s[i + 1] == '-' || is_digit(s[i + 1]))) {
                bool neg = false, big = false;
                int64_t e = 0;
                size_t start;

                j = i + 1;
                if (s[j] == '+' || s[j] == '-') {
                        neg = s[j] == '-';
                        j++;
                }
                for (start = j; j < n && is_digit(s[j]); j++) {
                        if (big)
                                continue;
                        e = e * 10 + (s[j] - '0');
                        if (e > (int64_t) INT32_MAX + 1)
                                big = true;
                }
                if (j == start) {
                        char what[16];

                        return fail(err, -EINVAL, s, n, "expected exponent digits at offset %zu, found %s", j,
                                describe(s, n, j, what, sizeof(what)));
                }
                if (j < n)
                        return fail_unexpected(err, s, n, j);
                if (big || (!neg && e > INT32_MAX))
                        return fail(err, -ERANGE, s, n, "exponent out of range at offset %zu", i + 1);
                *ret_fmt = QUANTITY_DECIMAL_EXPONENT;
                *ret_exp10 = (int) (neg ? -e : e);
                *ret_exp2 = 0;
                return 0;
        }

        for (j = i; j < n && is_letter(s[j]); j++)
                ;
        if (j == i)
                return fail_unexpected(err, s, n, i);
        sfx = lookup_suffix(s + i, j - i);
        if (!sfx) {
                char q[MERR_QUOTE_SIZE];

                if (j - i == 1 && s[i] == 'e')
                        return fail(err, -EINVAL, s, n, "expected exponent digits at offset %zu, found %s", j,
                                "end of input");
                return fail(err, -EINVAL, s, n, "unknown suffix '%s' at offset %zu",
                        quote(s + i, j - i, q, sizeof(q)), i);
        }
        if (j < n)
                return fail_unexpected(err, s, n, j);
        *ret_fmt = sfx->fmt;
        *ret_exp10 = sfx->fmt == QUANTITY_DECIMAL_SI ? sfx->exp : 0;
        *ret_exp2 = sfx->fmt == QUANTITY_BINARY_SI ? sfx->exp : 0;
        return 0;
}

/*
 * The magnitude in nano-units, rounded up: ceil(D * 2^exp2 * 10^pos), where D is the integer formed by the
 * digits of the number without its point. The product D * 2^exp2 is produced digit by digit from the least
 * significant end, so an input of any length is read in one pass without allocating: digits that land
 * below the nano-unit only decide the rounding, digits at or above it are summed with overflow checks.
 * Returns false when the result exceeds I128_MAX.
 */
static bool magnitude(const char *s, size_t int_start, size_t int_end, size_t frac_start, size_t frac_end,
        int exp2, int64_t pos, u128 *ret) {
        size_t nint = int_end - int_start, k = nint + (frac_end - frac_start);
        u128 mult = (u128) 1 << exp2, carry = 0, acc = 0, weight = 0;
        bool sticky = false;

        if (pos >= 0 && pos <= POW10_MAX) {
                weight = 1;
                for (int64_t e = 0; e < pos; e++)
                        weight *= 10;
        }

        while (k > 0 || carry > 0) {
                unsigned d;

                if (k > 0) {
                        char c;

                        k--;
                        c = k < nint ? s[int_start + k] : s[frac_start + k - nint];
                        if (mult == 1) {
                                d = (unsigned) (c - '0');
                        } else {
                                u128 x = (u128) (c - '0') * mult + carry;

                                d = (unsigned) (x % 10);
                                carry = x / 10;
                        }
                } else {
                        d = (unsigned) (carry % 10);
                        carry /= 10;
                }

                if (d != 0) {
                        u128 term;

                        if (pos < 0)
                                sticky = true;
                        else if (pos > POW10_MAX || __builtin_mul_overflow(weight, (u128) d, &term) ||
                                 __builtin_add_overflow(acc, term, &acc))
                                return false;
                }

                pos++;
                if (pos == 0)
                        weight = 1;
                else if (pos > 0 && pos <= POW10_MAX)
                        weight *= 10;
        }

        if (sticky && __builtin_add_overflow(acc, (u128) 1, &acc))
                return false;
        if (acc > (u128) I128_MAX)
                return false;
        *ret = acc;
        return true;
}

int quantity_parsen(const char *s, size_t n, struct quantity *ret, struct merr *err) {
        size_t i = 0, int_start, int_end, frac_start, frac_end;
        enum quantity_fmt fmt = QUANTITY_DECIMAL_SI;
        int exp10 = 0, exp2 = 0, r;
        bool neg = false;
        u128 mag;
        i128 nano;

        if (!s || !ret)
                return merr_set(err, -EINVAL, "quantity: missing argument");
        if (n == 0)
                return fail(err, -EINVAL, s, n, "empty value");
        /* Keeps every offset and digit count comfortably inside an int64. */
        if (n > (size_t) INT64_MAX / 4)
                return fail(err, -E2BIG, s, n, "value too long");

        if (s[i] == '+' || s[i] == '-') {
                neg = s[i] == '-';
                i++;
        }
        int_start = i;
        while (i < n && is_digit(s[i]))
                i++;
        int_end = frac_start = frac_end = i;
        if (i < n && s[i] == '.') {
                frac_start = ++i;
                while (i < n && is_digit(s[i]))
                        i++;
                frac_end = i;
        }
        if (int_end == int_start && frac_end == frac_start) {
                char what[16];

                return fail(err, -EINVAL, s, n, "expected a digit at offset %zu, found %s", i,
                        describe(s, n, i, what, sizeof(what)));
        }

        r = parse_suffix(s, n, i, &fmt, &exp10, &exp2, err);
        if (r < 0)
                return r;

        if (!magnitude(s, int_start, int_end, frac_start, frac_end, exp2,
                    (int64_t) exp10 + 9 - (int64_t) (frac_end - frac_start), &mag)) {
                if (fmt != QUANTITY_BINARY_SI)
                        return fail(
                                err, -ERANGE, s, n, "value out of range (largest magnitude is about 1.7e29)");
                mag = (u128) BINARY_CAP;
        }
        if (fmt == QUANTITY_BINARY_SI && mag > (u128) BINARY_CAP)
                mag = (u128) BINARY_CAP;
        /* A binary fraction of one would only be rounded by printing it in binary units. */
        if (fmt == QUANTITY_BINARY_SI && mag > 0 && mag < NANO)
                fmt = QUANTITY_DECIMAL_SI;

        nano = (i128) mag;
        *ret = (struct quantity){.nano = neg ? -nano : nano, .fmt = fmt};
        return 0;
}

int quantity_parse(const char *s, struct quantity *ret, struct merr *err) {
        if (!s)
                return merr_set(err, -EINVAL, "quantity: missing argument");
        return quantity_parsen(s, strlen(s), ret, err);
}

/* Writes the decimal digits of v to out (room for 40) and returns how many. */
static size_t put_u128(u128 v, char *out) {
        char tmp[40];
        size_t len = 0;

        do {
                tmp[len++] = (char) ('0' + (int) (v % 10));
                v /= 10;
        } while (v > 0);
        for (size_t k = 0; k < len; k++)
                out[k] = tmp[len - 1 - k];
        return len;
}

int quantity_format(const struct quantity *q, char *buf, size_t size) {
        static const char *const decimal[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
        static const char *const binary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        char out[QUANTITY_STR_MAX];
        enum quantity_fmt fmt;
        const char *sfx = "";
        char expbuf[16] = "";
        size_t len = 0, sl;
        u128 mag;

        if (!q || !buf)
                return -EINVAL;
        if (q->nano == 0) {
                if (size < 2)
                        return -ENOBUFS;
                memcpy(buf, "0", 2);
                return 1;
        }

        mag = q->nano < 0 ? -(u128) q->nano : (u128) q->nano;
        fmt = q->fmt;
        if (fmt != QUANTITY_DECIMAL_SI && fmt != QUANTITY_BINARY_SI)
                fmt = QUANTITY_DECIMAL_EXPONENT;
        /* Binary units only for whole values of at least 1Ki: anything else would be rounded. */
        if (fmt == QUANTITY_BINARY_SI && (mag < (u128) 1024 * NANO || mag % NANO != 0))
                fmt = QUANTITY_DECIMAL_SI;

        if (q->nano < 0)
                out[len++] = '-';
        if (fmt == QUANTITY_BINARY_SI) {
                u128 units = mag / NANO;
                size_t b = 0;

                /* No suffix past Ei: larger values keep a longer mantissa rather than lose their unit. */
                while (units >= 1024 && units % 1024 == 0 && b + 1 < ARRAY_SIZE(binary)) {
                        units /= 1024;
                        b++;
                }
                len += put_u128(units, out + len);
                sfx = binary[b];
        } else {
                u128 m = mag;
                int e = -9;

                while (m % 10 == 0) {
                        m /= 10;
                        e++;
                }
                /* Never overflows: this gives back at most the factors of ten just removed. */
                while (e % 3 != 0) {
                        m *= 10;
                        e--;
                }
                len += put_u128(m, out + len);
                /* DecimalSI has no suffix past E (10^18): fall back to an exponent rather than lose it. */
                if (fmt == QUANTITY_DECIMAL_SI && e <= 18)
                        sfx = decimal[(e + 9) / 3];
                else if (e != 0)
                        (void) snprintf(expbuf, sizeof(expbuf), "e%d", e);
                if (expbuf[0])
                        sfx = expbuf;
        }

        sl = strlen(sfx);
        memcpy(out + len, sfx, sl);
        len += sl;
        out[len] = '\0';
        if (size < len + 1)
                return -ENOBUFS;
        memcpy(buf, out, len + 1);
        return (int) len;
}

int quantity_cmp(const struct quantity *a, const struct quantity *b) {
        return (a->nano > b->nano) - (a->nano < b->nano);
}

int quantity_sign(const struct quantity *q) {
        return (q->nano > 0) - (q->nano < 0);
}

/* q / unit in nano-units, rounded away from zero. */
static int scaled(const struct quantity *q, i128 unit, const char *what, int64_t *ret, struct merr *err) {
        i128 quo, rem;

        if (!q || !ret)
                return merr_set(err, -EINVAL, "quantity: missing argument");
        quo = q->nano / unit;
        rem = q->nano % unit;
        if (rem != 0)
                quo += q->nano < 0 ? -1 : 1;
        if (quo > INT64_MAX || quo < INT64_MIN) {
                char sq[QUANTITY_STR_MAX];

                (void) quantity_format(q, sq, sizeof(sq));
                return merr_set(err, -ERANGE, "quantity '%s': %s value does not fit in 64 bits", sq, what);
        }
        *ret = (int64_t) quo;
        return 0;
}

int quantity_value(const struct quantity *q, int64_t *ret, struct merr *err) {
        return scaled(q, NANO, "integer", ret, err);
}
