/* SPDX-License-Identifier: Apache-2.0 */
#include "timestamp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Every timestamp error is -EINVAL and quotes the input. */
#define fail(err, s, n, ...) merr_set_input(err, -EINVAL, "timestamp", s, n, __VA_ARGS__)
#define describe             merr_describe_at

#define NSEC_PER_SEC 1000000000
#define SEC_PER_DAY  86400
#define YEAR_LIMIT   INT64_C(1000000000000) /* the range of timestamp_days_from_civil() */

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_leap(int64_t y) {
        return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t year, int month) {
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        if (month == 2 && is_leap(year))
                return 29;
        return days[month - 1];
}

int64_t timestamp_days_from_civil(int64_t year, int month, int day) {
        int64_t y = year - (month <= 2), era, yoe, doy, doe;

        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void timestamp_civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day) {
        int64_t z = days + 719468, era, doe, yoe, doy, mp;

        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *ret_day = (int) (doy - (153 * mp + 2) / 5 + 1);
        *ret_month = (int) (mp < 10 ? mp + 3 : mp - 9);
        *ret_year = yoe + era * 400 + (*ret_month <= 2);
}

/* Reads exactly count digits at offset i into *ret. */
static int digits(
        const char *s, size_t n, size_t i, size_t count, const char *what, int *ret, struct merr *err) {
        int v = 0;

        for (size_t k = i; k < i + count; k++) {
                if (k >= n || !is_digit(s[k])) {
                        char c[16];

                        return fail(err, s, n, "expected %zu-digit %s at offset %zu, found %s at offset %zu",
                                count, what, i, describe(s, n, k, c, sizeof(c)), k);
                }
                v = v * 10 + (s[k] - '0');
        }
        *ret = v;
        return 0;
}

static int separator(const char *s, size_t n, size_t i, const char *allowed, struct merr *err) {
        char c[16];

        if (i < n && s[i] != '\0' && strchr(allowed, s[i]))
                return 0;
        return fail(err, s, n, "expected '%c' at offset %zu, found %s", allowed[0], i,
                describe(s, n, i, c, sizeof(c)));
}

static int range(
        const char *s, size_t n, size_t i, const char *what, int v, int lo, int hi, struct merr *err) {
        if (v >= lo && v <= hi)
                return 0;
        return fail(err, s, n, "%s %d at offset %zu out of range %d-%d", what, v, i, lo, hi);
}

int timestamp_parsen(const char *s, size_t n, struct timestamp *ret, struct merr *err) {
        int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, nsec = 0, off = 0, oh = 0, om = 0,
            r;
        size_t i;

        if (!s || !ret)
                return merr_set(err, -EINVAL, "timestamp: missing argument");
        if (n == 0)
                return fail(err, s, n, "empty value");

        /* 2006-01-02T15:04:05 */
        if ((r = digits(s, n, 0, 4, "year", &year, err)) < 0 || (r = separator(s, n, 4, "-", err)) < 0 ||
                (r = digits(s, n, 5, 2, "month", &month, err)) < 0 ||
                (r = separator(s, n, 7, "-", err)) < 0 || (r = digits(s, n, 8, 2, "day", &day, err)) < 0 ||
                (r = separator(s, n, 10, "Tt", err)) < 0 ||
                (r = digits(s, n, 11, 2, "hour", &hour, err)) < 0 ||
                (r = separator(s, n, 13, ":", err)) < 0 ||
                (r = digits(s, n, 14, 2, "minute", &minute, err)) < 0 ||
                (r = separator(s, n, 16, ":", err)) < 0 ||
                (r = digits(s, n, 17, 2, "second", &second, err)) < 0)
                return r;
        if ((r = range(s, n, 5, "month", month, 1, 12, err)) < 0 ||
                (r = range(s, n, 8, "day", day, 1, days_in_month(year, month), err)) < 0 ||
                (r = range(s, n, 11, "hour", hour, 0, 23, err)) < 0 ||
                (r = range(s, n, 14, "minute", minute, 0, 59, err)) < 0 ||
                (r = range(s, n, 17, "second", second, 0, 59, err)) < 0)
                return r;
        i = 19;

        if (i < n && s[i] == '.') {
                size_t start = ++i, k;

                for (; i < n && is_digit(s[i]); i++)
                        ;
                if (i == start) {
                        char c[16];

                        return fail(err, s, n, "expected a fractional digit at offset %zu, found %s", i,
                                describe(s, n, i, c, sizeof(c)));
                }
                if (i - start > 9)
                        return fail(err, s, n, "more than 9 fractional digits at offset %zu", start);
                for (k = start; k < start + 9; k++)
                        nsec = nsec * 10 + (k < i ? s[k] - '0' : 0);
        }

        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
                i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
                bool neg = s[i] == '-';

                if ((r = digits(s, n, i + 1, 2, "offset hour", &oh, err)) < 0 ||
                        (r = separator(s, n, i + 3, ":", err)) < 0 ||
                        (r = digits(s, n, i + 4, 2, "offset minute", &om, err)) < 0 ||
                        (r = range(s, n, i + 1, "offset hour", oh, 0, 23, err)) < 0 ||
                        (r = range(s, n, i + 4, "offset minute", om, 0, 59, err)) < 0)
                        return r;
                off = (oh * 60 + om) * 60;
                if (neg)
                        off = -off;
                i += 6;
        } else {
                char c[16];

                return fail(err, s, n, "expected 'Z' or an offset like '+02:00' at offset %zu, found %s", i,
                        describe(s, n, i, c, sizeof(c)));
        }
        if (i < n) {
                char c[16];

                return fail(err, s, n, "unexpected %s at offset %zu after the time zone",
                        describe(s, n, i, c, sizeof(c)), i);
        }

        *ret = (struct timestamp){
                .sec = timestamp_days_from_civil(year, month, day) * SEC_PER_DAY + hour * 3600 + minute * 60 +
                       second - off,
                .nsec = nsec,
        };
        return 0;
}

int timestamp_parse(const char *s, struct timestamp *ret, struct merr *err) {
        if (!s)
                return merr_set(err, -EINVAL, "timestamp: missing argument");
        return timestamp_parsen(s, strlen(s), ret, err);
}

int timestamp_to_civil(const struct timestamp *t, struct timestamp_civil *ret) {
        int64_t days, rem;

        if (!t || !ret || t->nsec < 0 || t->nsec >= NSEC_PER_SEC)
                return -EINVAL;
        days = t->sec / SEC_PER_DAY;
        rem = t->sec % SEC_PER_DAY;
        if (rem < 0) {
                rem += SEC_PER_DAY;
                days--;
        }
        timestamp_civil_from_days(days, &ret->year, &ret->month, &ret->day);
        ret->hour = (int) (rem / 3600);
        ret->minute = (int) (rem / 60 % 60);
        ret->second = (int) (rem % 60);
        ret->nsec = t->nsec;
        return 0;
}

static int format(const struct timestamp *t, bool micro, char *buf, size_t size) {
        struct timestamp_civil c;
        char out[96];
        int len, r;

        if (!buf)
                return -EINVAL;
        r = timestamp_to_civil(t, &c);
        if (r < 0)
                return r;
        if (c.year < 0 || c.year > 9999)
                return -ERANGE;
        if (micro)
                len = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int) c.year, c.month,
                        c.day, c.hour, c.minute, c.second, (int) (c.nsec / 1000));
        else
                len = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int) c.year, c.month,
                        c.day, c.hour, c.minute, c.second);
        if (len < 0 || (size_t) len >= sizeof(out))
                return -EIO;
        if (size < (size_t) len + 1)
                return -ENOBUFS;
        memcpy(buf, out, (size_t) len + 1);
        return len;
}

int timestamp_format(const struct timestamp *t, char *buf, size_t size) {
        return format(t, false, buf, size);
}

int timestamp_format_micro(const struct timestamp *t, char *buf, size_t size) {
        return format(t, true, buf, size);
}

int timestamp_now(struct timestamp *ret) {
        struct timespec ts;

        if (!ret)
                return -EINVAL;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -errno;
        *ret = (struct timestamp){.sec = (int64_t) ts.tv_sec, .nsec = (int32_t) ts.tv_nsec};
        return 0;
}

int timestamp_cmp(const struct timestamp *a, const struct timestamp *b) {
        if (a->sec != b->sec)
                return a->sec < b->sec ? -1 : 1;
        return (a->nsec > b->nsec) - (a->nsec < b->nsec);
}

int timestamp_add(const struct timestamp *t, int64_t ns, struct timestamp *ret) {
        int64_t sec, nsec;

        if (!t || !ret || t->nsec < 0 || t->nsec >= NSEC_PER_SEC)
                return -EINVAL;
        nsec = (int64_t) t->nsec + ns % NSEC_PER_SEC;
        sec = ns / NSEC_PER_SEC;
        if (nsec < 0) {
                nsec += NSEC_PER_SEC;
                sec--;
        } else if (nsec >= NSEC_PER_SEC) {
                nsec -= NSEC_PER_SEC;
                sec++;
        }
        if (__builtin_add_overflow(t->sec, sec, &sec))
                return -ERANGE;
        *ret = (struct timestamp){.sec = sec, .nsec = (int32_t) nsec};
        return 0;
}

int timestamp_diff(const struct timestamp *a, const struct timestamp *b, int64_t *ret) {
        __int128 ns;

        if (!a || !b || !ret)
                return -EINVAL;
        /* Exact in 128 bits: a difference that fits may pass through seconds whose product does not. */
        ns = ((__int128) a->sec - b->sec) * NSEC_PER_SEC + ((int64_t) a->nsec - b->nsec);
        if (ns > INT64_MAX || ns < INT64_MIN)
                return -ERANGE;
        *ret = (int64_t) ns;
        return 0;
}

int64_t timestamp_monotonic_ms(void) {
        struct timespec t;
        (void) clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct timespec timestamp_deadline(long ms) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= NSEC_PER_SEC) {
                ts.tv_sec++;
                ts.tv_nsec -= NSEC_PER_SEC;
        }
        return ts;
}
