/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3339 timestamps as Kubernetes writes them: metav1.Time ("2006-01-02T15:04:05Z", whole seconds, UTC)
 * and metav1.MicroTime ("2006-01-02T15:04:05.000000Z").
 *
 * Parsing follows Go's time.Parse(time.RFC3339, s): "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" with
 * year 0000-9999, month 1-12, day valid for the month (proleptic Gregorian leap years), hour 0-23,
 * minute 0-59, second 0-59 (a leap second 60 is rejected, as Go does), offset hours 0-23 and minutes 0-59.
 * Differences from Go, all towards RFC 3339: the lowercase 't' and 'z' it permits are accepted; a fraction
 * has 1 to 9 digits, where Go silently truncates more; and what Go's fallback layout parser lets through
 * (a comma before the fraction, a one-digit hour, offsets up to 24:60) is rejected. Go agrees on every
 * other input (checked against time.Parse on 300,000 generated inputs).
 *
 * Dates are converted with civil-calendar arithmetic, never through the C library's time zone machinery.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "merr.h"

struct timestamp {
        int64_t sec;  /* seconds since 1970-01-01T00:00:00Z, negative before */
        int32_t nsec; /* 0 to 999999999, always added to sec (so -0.5 s is sec -1, nsec 500000000) */
};

/* A broken-down UTC time. */
struct timestamp_civil {
        int64_t year;
        int month;  /* 1-12 */
        int day;    /* 1-31 */
        int hour;   /* 0-23 */
        int minute; /* 0-59 */
        int second; /* 0-59 */
        int32_t nsec;
};

/* Room for either formatted form, including the terminating NUL. */
#define TIMESTAMP_STR_MAX 32

/* Parses the NUL-terminated s. Returns 0 and sets *ret, or -EINVAL with a message in err (which may be
 * NULL) that names the input and the offset of the problem. */
int timestamp_parse(const char *s, struct timestamp *ret, struct merr *err);

/* Same for the n bytes at s, which need not be NUL-terminated; a NUL byte among them is malformed. */
int timestamp_parsen(const char *s, size_t n, struct timestamp *ret, struct merr *err);

/* Writes t as metav1.Time ("2026-11-26T04:59:45Z", the fraction dropped) or as metav1.MicroTime
 * ("2026-11-26T04:59:45.123456Z", truncated to microseconds) to buf. Returns the length written (excluding
 * the NUL); -ERANGE when the year is outside 0000-9999, whose text would not parse back; -EINVAL when nsec
 * is out of range; -ENOBUFS when size is too small (TIMESTAMP_STR_MAX always suffices). */
int timestamp_format(const struct timestamp *t, char *buf, size_t size);
int timestamp_format_micro(const struct timestamp *t, char *buf, size_t size);

/* The current time of CLOCK_REALTIME. Returns 0, or a negative errno when the clock cannot be read. */
int timestamp_now(struct timestamp *ret);
/* Milliseconds of CLOCK_MONOTONIC: for timeouts and intervals, never for what a user reads. */
int64_t timestamp_monotonic_ms(void);
/* The CLOCK_REALTIME time ms milliseconds from now: the deadline pthread_cond_timedwait() takes. */
struct timespec timestamp_deadline(long ms);

/* -1, 0 or 1. */
int timestamp_cmp(const struct timestamp *a, const struct timestamp *b);

/* *ret = t + ns. Returns 0, or -ERANGE when the seconds would overflow an int64. */
int timestamp_add(const struct timestamp *t, int64_t ns, struct timestamp *ret);

/* *ret = a - b in nanoseconds. Returns 0, or -ERANGE when that does not fit an int64 (about 292 years). */
int timestamp_diff(const struct timestamp *a, const struct timestamp *b, int64_t *ret);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms). Not
 * validated: the caller passes month 1-12, day 1-31, |year| <= 10^12 and |days| <= 3 * 10^14, ranges in
 * which nothing overflows and which cover every int64 number of seconds. */
int64_t timestamp_days_from_civil(int64_t year, int month, int day);
void timestamp_civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day);

/* Breaks t down in UTC. Returns 0, or -EINVAL when nsec is out of range. */
int timestamp_to_civil(const struct timestamp *t, struct timestamp_civil *ret);
