/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes resource quantities ("250m", "512Mi", "1e3"), with the semantics of
 * k8s.io/apimachinery/pkg/api/resource.Quantity.
 *
 * Grammar (the one documented in quantity.go):
 *
 *      <quantity> ::= [+-] <number> <suffix>
 *      <number>   ::= <digits> | <digits>. | <digits>.<digits> | .<digits>
 *      <suffix>   ::= "" | n | u | m | k | M | G | T | P | E          (DecimalSI)
 *                   | Ki | Mi | Gi | Ti | Pi | Ei                      (BinarySI)
 *                   | e <exp> | E <exp>, <exp> ::= [+-] <digits>        (DecimalExponent)
 *
 * A value is kept exactly, as a count of nano-units (10^-9) in a signed 128-bit integer, together with the
 * format its suffix had, which decides how it is printed. As in Kubernetes:
 *   - a value finer than 1n is rounded up, away from zero, to the next nano-unit ("0.1n" is "1n");
 *   - a BinarySI value is capped, silently, at 2^63-1 in magnitude ("8Ei" is 9223372036854775807);
 *   - a BinarySI value strictly between 0 and 1 in magnitude takes the DecimalSI format.
 * Decimal values whose nano-unit count does not fit (magnitude above about 1.7e29, e.g. "1e40") are
 * rejected with -ERANGE, where Kubernetes would keep them in an arbitrary-precision decimal.
 *
 * The grammar is applied strictly: Kubernetes' scanner also takes inputs without any digit ("-", ".", "Mi")
 * as zero; these are rejected here.
 *
 * Formatting is CanonicalizeBytes(). Two things of Kubernetes are not reproduced: String() of a freshly
 * parsed quantity may echo the input when its fast path thinks it canonical ("093M", "+1", "1.500G"), and
 * apimachinery up to at least v0.37 drops the suffix of a DecimalSI value of 10^21 or more ("1000E" prints
 * as "1"); the exponent form is used instead ("1e21"), as newer apimachinery does. Otherwise parsing and
 * formatting agree with apimachinery v0.37.0 on every generated input tried (about 600,000) whose value
 * fits the representation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merr.h"

enum quantity_fmt {
        QUANTITY_DECIMAL_SI,       /* 12M, 250m */
        QUANTITY_BINARY_SI,        /* 12Mi */
        QUANTITY_DECIMAL_EXPONENT, /* 12e6 */
};

struct quantity {
        __int128 nano; /* the value in units of 10^-9; never INT128_MIN */
        enum quantity_fmt fmt;
};

/* Room for any formatted quantity, including the terminating NUL. */
#define QUANTITY_STR_MAX 64

/* Parses the NUL-terminated s. Returns 0 and sets *ret, or -EINVAL for malformed input and -ERANGE for a
 * value that does not fit, with a message in err (which may be NULL) that names the input and the offset. */
int quantity_parse(const char *s, struct quantity *ret, struct merr *err);

/* Same for the n bytes at s, which need not be NUL-terminated; a NUL byte among them is malformed. */
int quantity_parsen(const char *s, size_t n, struct quantity *ret, struct merr *err);

/* Writes the canonical form, as Quantity.String() prints it ("1536Mi", "1500m", "1e3", "0"), to buf.
 * Returns the length written (excluding the NUL), or -ENOBUFS when size is too small for it (a size of
 * QUANTITY_STR_MAX always suffices); buf is untouched on failure. */
int quantity_format(const struct quantity *q, char *buf, size_t size);

/* Exact comparison of the values, whatever their formats: -1, 0 or 1. 1Gi == 1024Mi == 1073741824. */
int quantity_cmp(const struct quantity *a, const struct quantity *b);

/* -1, 0 or 1. */
int quantity_sign(const struct quantity *q);

/* The value in units (Quantity.Value()), rounded up away from zero ("1.1" is 2, "-1.1" is -2). Returns 0, or -ERANGE when it does not fit an int64,
 * where Kubernetes would silently overflow. Kubernetes rounds this way for values it holds as int64; for
 * negative values it holds as big decimals it adds one to the truncated value instead ("-0.1n" gives 1),
 * which is not reproduced. */
int quantity_value(const struct quantity *q, int64_t *ret, struct merr *err);
