/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durations as Go writes them ("90s", "1h30m", "1.5h", "300ms"), in int64 nanoseconds, with the semantics of
 * Go's time.ParseDuration and time.Duration.String(), which is what metav1.Duration uses on the wire.
 *
 * Grammar: [+-]? ( <number> <unit> )+, or a bare "0" (optionally signed), where <number> is digits with an
 * optional point and fraction (at least one digit: "1.s" and ".5s" are valid, ".s" is not) and <unit> is
 * one of ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h. A fraction is converted as Go does it, in float64
 * arithmetic truncated to whole nanoseconds, so results agree with Go to the nanosecond.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "merr.h"

#define DURATION_NANOSECOND  INT64_C(1)
#define DURATION_MICROSECOND (INT64_C(1000) * DURATION_NANOSECOND)
#define DURATION_MILLISECOND (INT64_C(1000) * DURATION_MICROSECOND)
#define DURATION_SECOND      (INT64_C(1000) * DURATION_MILLISECOND)
#define DURATION_MINUTE      (INT64_C(60) * DURATION_SECOND)
#define DURATION_HOUR        (INT64_C(60) * DURATION_MINUTE)

/* Room for any formatted duration ("-2562047h47m16.854775808s"), including the terminating NUL. */
#define DURATION_STR_MAX 32

/* Parses the NUL-terminated s into *ret (nanoseconds). Returns 0, -EINVAL for malformed input or -ERANGE
 * when the total does not fit an int64, with a message in err (which may be NULL) that names the input and
 * the offset. *ret is set only on success. */
int duration_parse(const char *s, int64_t *ret, struct merr *err);

/* Same for the n bytes at s, which need not be NUL-terminated; a NUL byte among them is malformed. */
int duration_parsen(const char *s, size_t n, int64_t *ret, struct merr *err);

/* Writes ns as Go's Duration.String() does ("1h30m0s", "1.5s", "300ms", "10µs", "0s", "-2m0s") to buf.
 * Returns the length written (excluding the NUL), or -ENOBUFS when size is too small (DURATION_STR_MAX
 * always suffices); buf is untouched on failure. */
int duration_format(int64_t ns, char *buf, size_t size);
