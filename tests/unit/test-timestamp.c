/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "timestamp.h"

#define MB (1024 * 1024)

static const struct {
        const char *in;
        int64_t sec;
        int32_t nsec;
        const char *time, *micro; /* metav1.Time and metav1.MicroTime of the value */
} valid[] = {
        {"2026-11-26T04:59:45Z", 1795669185, 0, "2026-11-26T04:59:45Z", "2026-11-26T04:59:45.000000Z"},
        {"2026-11-26t04:59:45z", 1795669185, 0, "2026-11-26T04:59:45Z", "2026-11-26T04:59:45.000000Z"},
        {"1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"},
        {"1970-01-01T00:00:00.5Z", 0, 500000000, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.500000Z"},
        {"1970-01-01T00:00:00.000000001Z", 0, 1, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"},
        {"1969-12-31T23:59:59.999999999Z", -1, 999999999, "1969-12-31T23:59:59Z",
                "1969-12-31T23:59:59.999999Z"},
        {"2026-11-26T04:59:45.123456789Z", 1795669185, 123456789, "2026-11-26T04:59:45Z",
                "2026-11-26T04:59:45.123456Z"},
        {"2026-11-26T04:59:45.1234567Z", 1795669185, 123456700, "2026-11-26T04:59:45Z",
                "2026-11-26T04:59:45.123456Z"},
        {"2026-11-26T04:59:45+02:00", 1795669185 - 7200, 0, "2026-11-26T02:59:45Z",
                "2026-11-26T02:59:45.000000Z"},
        {"2026-11-26T04:59:45-05:30", 1795669185 + 19800, 0, "2026-11-26T10:29:45Z",
                "2026-11-26T10:29:45.000000Z"},
        {"2026-11-26T04:59:45-00:00", 1795669185, 0, "2026-11-26T04:59:45Z", "2026-11-26T04:59:45.000000Z"},
        {"2026-11-26T04:59:45.25+23:59", 1795669185 - 86340, 250000000, "2026-11-25T05:00:45Z",
                "2026-11-25T05:00:45.250000Z"},
        {"2026-01-01T00:30:00+01:00", 1767223800, 0, "2025-12-31T23:30:00Z", "2025-12-31T23:30:00.000000Z"},
        {"0000-01-01T00:00:00Z", INT64_C(-62167219200), 0, "0000-01-01T00:00:00Z",
                "0000-01-01T00:00:00.000000Z"},
        {"0000-02-29T00:00:00Z", INT64_C(-62162121600), 0, "0000-02-29T00:00:00Z",
                "0000-02-29T00:00:00.000000Z"},
        {"9999-12-31T23:59:59.999999999Z", INT64_C(253402300799), 999999999, "9999-12-31T23:59:59Z",
                "9999-12-31T23:59:59.999999Z"},
        {"2024-02-29T12:00:00Z", 1709208000, 0, "2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000Z"},
        {"2000-02-29T00:00:00Z", 951782400, 0, "2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000000Z"},
        {"2038-01-19T03:14:08Z", INT64_C(2147483648), 0, "2038-01-19T03:14:08Z",
                "2038-01-19T03:14:08.000000Z"},
        {"1900-01-01T00:00:00Z", INT64_C(-2208988800), 0, "1900-01-01T00:00:00Z",
                "1900-01-01T00:00:00.000000Z"},
        {"2026-12-31T23:59:59Z", 1798761599, 0, "2026-12-31T23:59:59Z", "2026-12-31T23:59:59.000000Z"},
};

START_TEST(test_parse_format) {
        for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
                char buf[TIMESTAMP_STR_MAX], micro[TIMESTAMP_STR_MAX];
                struct merr err = MERR_INIT;
                struct timestamp t, again;
                int r;

                r = timestamp_parse(valid[i].in, &t, &err);
                ck_assert_msg(r == 0, "parse '%s': %d %s", valid[i].in, r, merr_msg(&err));
                ck_assert_msg(t.sec == valid[i].sec && t.nsec == valid[i].nsec, "'%s' = %lld.%09d",
                        valid[i].in, (long long) t.sec, t.nsec);
                ck_assert_int_eq(timestamp_format(&t, buf, sizeof(buf)), 20);
                ck_assert_str_eq(buf, valid[i].time);
                ck_assert_int_eq(timestamp_format_micro(&t, micro, sizeof(micro)), 27);
                ck_assert_str_eq(micro, valid[i].micro);

                /* both forms read back as the value truncated to their precision */
                ck_assert_int_eq(timestamp_parse(buf, &again, NULL), 0);
                ck_assert(again.sec == t.sec && again.nsec == 0);
                ck_assert_int_eq(timestamp_parse(micro, &again, NULL), 0);
                ck_assert(again.sec == t.sec && again.nsec == t.nsec / 1000 * 1000);
        }
}
END_TEST

static const struct {
        const char *in;
        const char *msg;
} invalid[] = {
        {"", "timestamp '': empty value"},
        {"2026", "timestamp '2026': expected '-' at offset 4, found end of input"},
        {"2026-11-26", "timestamp '2026-11-26': expected 'T' at offset 10, found end of input"},
        {"2026-11-26 04:59:45Z", "timestamp '2026-11-26 04:59:45Z': expected 'T' at offset 10, found ' '"},
        {"2026-11-26T04:59:45",
                "timestamp '2026-11-26T04:59:45': expected 'Z' or an offset like '+02:00' at offset 19, "
                "found end of input"},
        {"2026-11-26T04:59Z", "timestamp '2026-11-26T04:59Z': expected ':' at offset 16, found 'Z'"},
        {"26-11-26T04:59:45Z",
                "timestamp '26-11-26T04:59:45Z': expected 4-digit year at offset 0, found '-' at offset 2"},
        {"+2026-11-26T04:59:45Z", "timestamp '+2026-11-26T04:59:45Z': expected 4-digit year at offset 0, "
                                  "found '+' at offset 0"},
        {"20260-11-26T04:59:45Z", "timestamp '20260-11-26T04:59:45Z': expected '-' at offset 4, found '0'"},
        {"2026-1-26T04:59:45Z",
                "timestamp '2026-1-26T04:59:45Z': expected 2-digit month at offset 5, found '-' at offset 6"},
        {"2026-11-26T4:59:45Z", "timestamp '2026-11-26T4:59:45Z': expected 2-digit hour at offset 11, found "
                                "':' at offset 12"},
        {"2026-00-26T04:59:45Z", "timestamp '2026-00-26T04:59:45Z': month 0 at offset 5 out of range 1-12"},
        {"2026-13-26T04:59:45Z", "timestamp '2026-13-26T04:59:45Z': month 13 at offset 5 out of range 1-12"},
        {"2026-11-00T04:59:45Z", "timestamp '2026-11-00T04:59:45Z': day 0 at offset 8 out of range 1-30"},
        {"2026-11-31T04:59:45Z", "timestamp '2026-11-31T04:59:45Z': day 31 at offset 8 out of range 1-30"},
        {"2026-02-29T04:59:45Z", "timestamp '2026-02-29T04:59:45Z': day 29 at offset 8 out of range 1-28"},
        {"1900-02-29T04:59:45Z", "timestamp '1900-02-29T04:59:45Z': day 29 at offset 8 out of range 1-28"},
        {"2024-02-30T04:59:45Z", "timestamp '2024-02-30T04:59:45Z': day 30 at offset 8 out of range 1-29"},
        {"2026-01-32T04:59:45Z", "timestamp '2026-01-32T04:59:45Z': day 32 at offset 8 out of range 1-31"},
        {"2026-11-26T24:00:00Z", "timestamp '2026-11-26T24:00:00Z': hour 24 at offset 11 out of range 0-23"},
        {"2026-11-26T04:60:45Z",
                "timestamp '2026-11-26T04:60:45Z': minute 60 at offset 14 out of range 0-59"},
        {"2016-12-31T23:59:60Z",
                "timestamp '2016-12-31T23:59:60Z': second 60 at offset 17 out of range 0-59"},
        {"2026-11-26T04:59:45.Z",
                "timestamp '2026-11-26T04:59:45.Z': expected a fractional digit at offset 20, found 'Z'"},
        {"2026-11-26T04:59:45,5Z",
                "timestamp '2026-11-26T04:59:45,5Z': expected 'Z' or an offset like '+02:00' at "
                "offset 19, found ','"},
        {"2026-11-26T04:59:45.1234567891Z",
                "timestamp '2026-11-26T04:59:45.1234567891Z': more than 9 fractional digits at offset 20"},
        {"2026-11-26T04:59:45+0200",
                "timestamp '2026-11-26T04:59:45+0200': expected ':' at offset 22, found '0'"},
        {"2026-11-26T04:59:45+02",
                "timestamp '2026-11-26T04:59:45+02': expected ':' at offset 22, found end of input"},
        {"2026-11-26T04:59:45+2:00", "timestamp '2026-11-26T04:59:45+2:00': expected 2-digit offset hour at "
                                     "offset 20, found ':' at "
                                     "offset 21"},
        {"2026-11-26T04:59:45+24:00",
                "timestamp '2026-11-26T04:59:45+24:00': offset hour 24 at offset 20 out of range 0-23"},
        {"2026-11-26T04:59:45-02:60",
                "timestamp '2026-11-26T04:59:45-02:60': offset minute 60 at offset 23 out of range 0-59"},
        {"2026-11-26T04:59:45ZZ",
                "timestamp '2026-11-26T04:59:45ZZ': unexpected 'Z' at offset 20 after the time zone"},
        {"2026-11-26T04:59:45Z ",
                "timestamp '2026-11-26T04:59:45Z ': unexpected ' ' at offset 20 after the time zone"},
        {"2026-11-26T04:59:45+02:00:00",
                "timestamp '2026-11-26T04:59:45+02:00:00': unexpected ':' at offset 25 after the time zone"},
        {"2026-11-26T04:59:45UTC", "timestamp '2026-11-26T04:59:45UTC': expected 'Z' or an offset like "
                                   "'+02:00' at offset 19, found 'U'"},
        {" 2026-11-26T04:59:45Z", "timestamp ' 2026-11-26T04:59:45Z': expected 4-digit year at offset 0, "
                                  "found ' ' at offset 0"},
        {"2026-11-26T04:59:45\xff", "timestamp '2026-11-26T04:59:45\\xff': expected 'Z' or an offset like "
                                    "'+02:00' at offset 19, found "
                                    "byte 0xff"},
        {"2026-11-26\xe2\x80\x8bT04:59:45Z", "timestamp '2026-11-26\\xe2\\x80\\x8bT04:59:45Z': expected 'T' "
                                             "at offset 10, found byte 0xe2"},
        {"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-11-26T04:59:45Z",
                "timestamp '\\xef\\xbc\\x92\\xef\\xbc\\x90\\xef\\xbc\\x92\\xef\\xbc\\x96-11-26T04:59:45Z': "
                "expected "
                "4-digit year at offset 0, found byte 0xef at offset 0"},
};

START_TEST(test_invalid) {
        for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
                struct timestamp t = {.sec = 42, .nsec = 7};
                struct merr err = MERR_INIT;
                int r;

                r = timestamp_parse(invalid[i].in, &t, &err);
                ck_assert_msg(r == -EINVAL, "'%s': got %d", invalid[i].in, r);
                ck_assert_str_eq(merr_msg(&err), invalid[i].msg);
                ck_assert(t.sec == 42 && t.nsec == 7);
                ck_assert_int_eq(timestamp_parse(invalid[i].in, &t, NULL), -EINVAL);
        }
}
END_TEST

START_TEST(test_truncated) {
        static const char full[] = "2026-11-26T04:59:45.123+02:00";
        struct timestamp t;

        /* every proper prefix is malformed */
        for (size_t n = 0; n < sizeof(full) - 1; n++) {
                int r = timestamp_parsen(full, n, &t, NULL);

                ck_assert_msg(r == -EINVAL, "prefix of length %zu: %d", n, r);
        }
        ck_assert_int_eq(timestamp_parsen(full, sizeof(full) - 1, &t, NULL), 0);
}
END_TEST

START_TEST(test_embedded_nul) {
        struct merr err = MERR_INIT;
        struct timestamp t;

        ck_assert_int_eq(timestamp_parsen("2026-11-26T04:59:45Z\0", 21, &t, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "timestamp '2026-11-26T04:59:45Z\\x00': unexpected byte 0x00 at "
                                         "offset 20 after the time zone");
        merr_clear(&err);
        ck_assert_int_eq(timestamp_parsen("2026-11-26\0T04:59:45Z", 21, &t, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err),
                "timestamp '2026-11-26\\x00T04:59:45Z': expected 'T' at offset 10, found byte 0x00");
        ck_assert_int_eq(timestamp_parsen("", 0, &t, NULL), -EINVAL);

        /* the length bounds the input */
        ck_assert_int_eq(timestamp_parsen("2026-11-26T04:59:45Zjunk", 20, &t, NULL), 0);
        ck_assert(t.sec == 1795669185);
        /* a C string ends at its NUL */
        ck_assert_int_eq(timestamp_parse("2026-11-26T04:59:45Z\0junk", &t, NULL), 0);
}
END_TEST

START_TEST(test_huge) {
        struct merr err = MERR_INIT;
        struct timestamp t;
        char *s;

        s = malloc(MB + 1);
        ck_assert_ptr_nonnull(s);
        memset(s, '9', MB);
        s[MB] = '\0';
        ck_assert_int_eq(timestamp_parse(s, &t, &err), -EINVAL);
        ck_assert_int_lt((int) strlen(merr_msg(&err)), 250);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "...': expected '-' at offset 4"));
        free(s);

        /* a megabyte of fraction */
        s = malloc(MB + 32);
        ck_assert_ptr_nonnull(s);
        memcpy(s, "2026-11-26T04:59:45.", 20);
        memset(s + 20, '1', MB);
        memcpy(s + 20 + MB, "Z", 2);
        merr_clear(&err);
        ck_assert_int_eq(timestamp_parse(s, &t, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "more than 9 fractional digits at offset 20"));
        free(s);
}
END_TEST

START_TEST(test_civil) {
        static const struct {
                int64_t year;
                int month, day;
                int64_t days;
        } cases[] = {
                {1970, 1, 1, 0},
                {1969, 12, 31, -1},
                {2000, 3, 1, 11017},
                {2026, 11, 26, 20783},
                {0, 1, 1, -719528},
                {0, 3, 1, -719468},
                {-1, 12, 31, -719529},
                {9999, 12, 31, 2932896},
                {1600, 2, 29, -135081},
                {INT64_C(1000000000000), 1, 1, INT64_C(365242499280472)},
                {INT64_C(-1000000000000), 1, 1, INT64_C(-365242500719528)},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                int64_t y;
                int m, d;

                ck_assert_msg(timestamp_days_from_civil(cases[i].year, cases[i].month, cases[i].day) ==
                                      cases[i].days,
                        "days(%lld-%d-%d) = %lld", (long long) cases[i].year, cases[i].month, cases[i].day,
                        (long long) timestamp_days_from_civil(cases[i].year, cases[i].month, cases[i].day));
                timestamp_civil_from_days(cases[i].days, &y, &m, &d);
                ck_assert(y == cases[i].year && m == cases[i].month && d == cases[i].day);
        }

        /* every day of years 0000-2400 (and around the epoch) maps both ways and in sequence */
        for (int64_t days = timestamp_days_from_civil(0, 1, 1), prev_y = -1, prev_m = 12, prev_d = 31;
                days < timestamp_days_from_civil(2401, 1, 1); days++) {
                int64_t y;
                int m, d;

                timestamp_civil_from_days(days, &y, &m, &d);
                ck_assert(timestamp_days_from_civil(y, m, d) == days);
                if (d == 1)
                        ck_assert(prev_d >= 28 && (m == prev_m % 12 + 1) && (y == prev_y + (m == 1)));
                else
                        ck_assert(d == prev_d + 1 && m == prev_m && y == prev_y);
                prev_y = y;
                prev_m = m;
                prev_d = d;
        }
}
END_TEST

START_TEST(test_civil_struct) {
        struct timestamp_civil c;
        struct timestamp t;

        /* timestamp_to_civil agrees with the C library's gmtime_r over a sweep of times */
        for (int64_t sec = INT64_C(-62167219200); sec < INT64_C(253402300800); sec += INT64_C(7777777)) {
                time_t tt = (time_t) sec;
                struct tm tm;

                t = (struct timestamp){.sec = sec, .nsec = 5};
                ck_assert_int_eq(timestamp_to_civil(&t, &c), 0);
                ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
                ck_assert(c.year == (int64_t) tm.tm_year + 1900 && c.month == tm.tm_mon + 1 &&
                          c.day == tm.tm_mday);
                ck_assert(c.hour == tm.tm_hour && c.minute == tm.tm_min && c.second == tm.tm_sec &&
                          c.nsec == 5);
        }

        /* the extremes of int64 seconds break down without overflow */
        t = (struct timestamp){.sec = INT64_MAX, .nsec = 999999999};
        ck_assert_int_eq(timestamp_to_civil(&t, &c), 0);
        ck_assert(c.year == INT64_C(292277026596) && c.month == 12 && c.day == 4);
        t = (struct timestamp){.sec = INT64_MIN, .nsec = 0};
        ck_assert_int_eq(timestamp_to_civil(&t, &c), 0);

        t = (struct timestamp){.sec = 0, .nsec = -1};
        ck_assert_int_eq(timestamp_to_civil(&t, &c), -EINVAL);
}
END_TEST

START_TEST(test_format_errors) {
        char buf[TIMESTAMP_STR_MAX];
        struct timestamp t;

        /* outside 0000-9999 the text would not parse back */
        t = (struct timestamp){.sec = INT64_C(253402300800)};
        ck_assert_int_eq(timestamp_format(&t, buf, sizeof(buf)), -ERANGE);
        ck_assert_int_eq(timestamp_format_micro(&t, buf, sizeof(buf)), -ERANGE);
        t = (struct timestamp){.sec = INT64_C(-62167219201)};
        ck_assert_int_eq(timestamp_format(&t, buf, sizeof(buf)), -ERANGE);
        /* a valid timestamp whose UTC form is in year 10000 */
        ck_assert_int_eq(timestamp_parse("9999-12-31T23:59:59-01:00", &t, NULL), 0);
        ck_assert_int_eq(timestamp_format(&t, buf, sizeof(buf)), -ERANGE);

        t = (struct timestamp){.sec = 0, .nsec = 1000000000};
        ck_assert_int_eq(timestamp_format(&t, buf, sizeof(buf)), -EINVAL);
        t = (struct timestamp){.sec = 0, .nsec = -1};
        ck_assert_int_eq(timestamp_format_micro(&t, buf, sizeof(buf)), -EINVAL);

        t = (struct timestamp){.sec = 0};
        memset(buf, 'x', sizeof(buf));
        ck_assert_int_eq(timestamp_format(&t, buf, 20), -ENOBUFS);
        ck_assert_int_eq(buf[0], 'x');
        ck_assert_int_eq(timestamp_format(&t, buf, 21), 20);
        ck_assert_int_eq(timestamp_format_micro(&t, buf, 27), -ENOBUFS);
        ck_assert_int_eq(timestamp_format_micro(&t, buf, 28), 27);
        ck_assert_int_eq(timestamp_format(&t, NULL, 21), -EINVAL);
        ck_assert_int_eq(timestamp_format(NULL, buf, 21), -EINVAL);
}
END_TEST

START_TEST(test_now) {
        struct timestamp a, b;
        struct timespec ts;
        int64_t diff;

        ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
        ck_assert_int_eq(timestamp_now(&a), 0);
        ck_assert_int_eq(timestamp_now(&b), 0);
        ck_assert(a.nsec >= 0 && a.nsec < 1000000000);
        ck_assert(a.sec >= (int64_t) ts.tv_sec && a.sec <= (int64_t) ts.tv_sec + 5);
        ck_assert_int_le(timestamp_cmp(&a, &b), 0);
        ck_assert_int_eq(timestamp_diff(&b, &a, &diff), 0);
        ck_assert(diff >= 0);
        ck_assert_int_eq(timestamp_now(NULL), -EINVAL);
}
END_TEST

START_TEST(test_arith) {
        struct timestamp a = {.sec = 10, .nsec = 900000000}, b = {.sec = 10, .nsec = 900000001}, r;
        int64_t d;

        ck_assert_int_eq(timestamp_cmp(&a, &b), -1);
        ck_assert_int_eq(timestamp_cmp(&b, &a), 1);
        ck_assert_int_eq(timestamp_cmp(&a, &a), 0);

        ck_assert_int_eq(timestamp_add(&a, 200000000, &r), 0);
        ck_assert(r.sec == 11 && r.nsec == 100000000);
        ck_assert_int_eq(timestamp_add(&a, -900000001, &r), 0);
        ck_assert(r.sec == 9 && r.nsec == 999999999);
        ck_assert_int_eq(timestamp_add(&a, -11 * INT64_C(1000000000), &r), 0);
        ck_assert(r.sec == -1 && r.nsec == 900000000);
        ck_assert_int_eq(timestamp_add(&a, INT64_MIN, &r), 0);
        ck_assert_int_eq(timestamp_diff(&r, &a, &d), 0);
        ck_assert(d == INT64_MIN);
        ck_assert_int_eq(timestamp_add(&a, INT64_MAX, &r), 0);
        ck_assert_int_eq(timestamp_diff(&r, &a, &d), 0);
        ck_assert(d == INT64_MAX);

        a = (struct timestamp){.sec = INT64_MAX, .nsec = 999999999};
        ck_assert_int_eq(timestamp_add(&a, 1, &r), -ERANGE);
        ck_assert_int_eq(timestamp_add(&a, 0, &r), 0);
        a = (struct timestamp){.sec = INT64_MIN, .nsec = 0};
        ck_assert_int_eq(timestamp_add(&a, -1, &r), -ERANGE);
        a = (struct timestamp){.sec = 0, .nsec = 1000000000};
        ck_assert_int_eq(timestamp_add(&a, 0, &r), -EINVAL);

        /* differences that fit even though their seconds times 10^9 would not */
        a = (struct timestamp){.sec = INT64_C(9223372037), .nsec = 0};
        b = (struct timestamp){.sec = 0, .nsec = 145224193};
        ck_assert_int_eq(timestamp_diff(&a, &b, &d), 0);
        ck_assert(d == INT64_MAX);
        ck_assert_int_eq(timestamp_diff(&b, &a, &d), 0);
        ck_assert(d == -INT64_MAX);
        b.nsec = 145224192;
        ck_assert_int_eq(timestamp_diff(&a, &b, &d), -ERANGE);
        a = (struct timestamp){.sec = INT64_MAX};
        b = (struct timestamp){.sec = INT64_MIN};
        ck_assert_int_eq(timestamp_diff(&a, &b, &d), -ERANGE);
}
END_TEST

START_TEST(test_deadline) {
        struct timespec before, after;

        for (long ms = 0; ms < 3000; ms += 250) {
                (void) clock_gettime(CLOCK_REALTIME, &before);
                struct timespec d = timestamp_deadline(ms);
                (void) clock_gettime(CLOCK_REALTIME, &after);
                int64_t dn = (int64_t) d.tv_sec * 1000000000 + d.tv_nsec;
                ck_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000);
                ck_assert_int_ge(dn, (int64_t) before.tv_sec * 1000000000 + before.tv_nsec + ms * 1000000);
                ck_assert_int_le(dn, (int64_t) after.tv_sec * 1000000000 + after.tv_nsec + ms * 1000000);
        }
}
END_TEST

START_TEST(test_null_args) {
        struct merr err = MERR_INIT;
        struct timestamp t;

        ck_assert_int_eq(timestamp_parse(NULL, &t, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "timestamp: missing argument");
        ck_assert_int_eq(timestamp_parse("2026-11-26T04:59:45Z", NULL, NULL), -EINVAL);
        ck_assert_int_eq(timestamp_parsen(NULL, 20, &t, NULL), -EINVAL);
}
END_TEST

static Suite *timestamp_suite(void) {
        Suite *s = suite_create("timestamp");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_parse_format);
        tcase_add_test(tc, test_invalid);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_embedded_nul);
        tcase_add_test(tc, test_huge);
        tcase_add_test(tc, test_civil);
        tcase_add_test(tc, test_civil_struct);
        tcase_add_test(tc, test_format_errors);
        tcase_add_test(tc, test_now);
        tcase_add_test(tc, test_arith);
        tcase_add_test(tc, test_null_args);
        tcase_add_test(tc, test_deadline);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(timestamp_suite)
