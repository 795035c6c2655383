/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flag.h"
#include "kube/leader.h"
#include "log.h"
#include "testutil.h"

START_TEST(test_count) {
        struct merr err = MERR_INIT;
        long v = 0;

        ck_assert_int_eq(flag_count("workers", "8", 1, 1000, &v, &err), 0);
        ck_assert_int_eq(v, 8);
        const char *bad[] = {"", "0", "1001", "8x", " 8", "-1", "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                merr_clear(&err);
                v = 7;
                ck_assert_int_eq(flag_count("workers", bad[i], 1, 1000, &v, &err), -EINVAL);
                ck_assert_int_eq(v, 7);
        }
        merr_clear(&err);
        (void) flag_count("workers", "0", 1, 1000, &v, &err);
        ck_assert_str_eq(merr_msg(&err), "--workers: '0' is out of range, expected 1 to 1000");
        merr_clear(&err);
        (void) flag_count("sandbox-workers", "x", 1, 1000, &v, &err);
        ck_assert_str_eq(merr_msg(&err), "--sandbox-workers: 'x' is not a count");
}
END_TEST

START_TEST(test_duration_ms) {
        struct merr err = MERR_INIT;
        int64_t ms = 0;

        ck_assert_int_eq(flag_duration_ms("resync", "1m30s", 1, &ms, &err), 0);
        ck_assert_int_eq(ms, 90000);
        ck_assert_int_eq(flag_duration_ms("resync", "500us", 1, &ms, &err), 0);
        ck_assert_int_eq(ms, 1); /* under a millisecond, not nothing */
        ck_assert_int_eq(flag_duration_ms("retention", "0", 0, &ms, &err), 0);
        ck_assert_int_eq(ms, 0);
        ck_assert_int_eq(flag_duration_ms("resync", "0", 1, &ms, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "--resync: must be at least 1ms, got '0'");
        merr_clear(&err);
        ck_assert_int_eq(flag_duration_ms("retention", "-1h", 0, &ms, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "--retention: must not be negative, got '-1h'");
        merr_clear(&err);
        ck_assert_int_eq(flag_duration_ms("request-timeout", "999ms", 1000, &ms, &err), -EINVAL);
        merr_clear(&err);
        ck_assert_int_eq(flag_duration_ms("resync", "soon", 1, &ms, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(merr_msg(&err), "--resync: duration 'soon'"));
}
END_TEST

START_TEST(test_bytes) {
        struct merr err = MERR_INIT;
        int64_t v = 0;

        ck_assert_int_eq(flag_bytes("max-task-output", "16Mi", 1, INT64_MAX, &v, &err), 0);
        ck_assert_int_eq(v, 16 * 1024 * 1024);
        ck_assert_int_eq(flag_bytes("max-task-output", "1048576", 1, INT64_MAX, &v, &err), 0);
        ck_assert_int_eq(v, 1048576);
        const char *bad[] = {"0", "1.5", "-1Ki", "lots", "100m", ""};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                merr_clear(&err);
                ck_assert_int_eq(flag_bytes("max-task-output", bad[i], 1, INT64_MAX, &v, &err), -EINVAL);
        }
        merr_clear(&err);
        ck_assert_int_eq(flag_bytes("max-list-bytes", "1Ki", 65536, 1 << 30, &v, &err), -EINVAL);
        ck_assert_str_eq(merr_msg(&err), "--max-list-bytes: expected a whole number of bytes from 65536 to "
                                         "1073741824 such as 1048576, 512Ki "
                                         "or 16Mi, got '1Ki'");
}
END_TEST

/* Every kind of a table, into targets of several integer types. */
struct values {
        const char *name;
        bool on;
        int workers;
        size_t tail;
        unsigned inflight;
        long long retention_ms;
        int64_t bytes;
        long offset;
        int level;
        const char *cidrs;
        struct leader_options lease;
};

static int parse_even(const struct flag *f, const char *arg, struct merr *err) {
        if (strlen(arg) % 2)
                return merr_set(err, -EINVAL, "'%s' has an odd length", arg);
        *(const char **) f->value = arg;
        return 0;
}

#define TABLE(v)                                                                                             \
        {                                                                                                    \
                FLAG_HEADING("Things:"),                                                                     \
                        {"name", FLAG_STRING, .value = &(v)->name, .arg = "NAME", .help = "a name"},         \
                        {"on", FLAG_BOOL, .value = &(v)->on, .help = "switch it on", .def = "false"},        \
                        {"workers", FLAG_COUNT, FLAG_INTO(&(v)->workers), .arg = "N", .min = 1, .max = 1000, \
                                .help = "concurrent workers", .def = "8"},                                   \
                        {"tail", FLAG_COUNT, FLAG_INTO(&(v)->tail), .arg = "N", .min = 1, .max = 16384},     \
                        {"inflight", FLAG_COUNT, FLAG_INTO(&(v)->inflight), .arg = "N", .min = 1,            \
                                .max = 10000},                                                               \
                        {"retention", FLAG_DURATION, FLAG_INTO(&(v)->retention_ms), .arg = "DURATION",       \
                                .min = 0},                                                                   \
                        {"bytes", FLAG_BYTES, FLAG_INTO(&(v)->bytes), .arg = "BYTES", .min = 1,              \
                                .max = INT64_MAX},                                                           \
                        {"offset", FLAG_INT, FLAG_INTO(&(v)->offset), .arg = "N", .min = -100, .max = 100},  \
                        {"even", FLAG_FUNC, .value = &(v)->cidrs, .parse = parse_even, .arg = "WORD"},       \
                        FLAG_HEADING(NULL),                                                                  \
                        {"log-level", FLAG_CHOICE, FLAG_INTO(&(v)->level), .arg = "LEVEL",                   \
                                .choices = (const char *const[]){"debug", "info", "warn", "error", NULL}},   \
                        LEADER_FLAGS(&(v)->lease, "mbox-test"), {0},                                         \
        }

static int parse(struct values *v, struct merr *err, const char *const *args) {
        const struct flag flags[] = TABLE(v);
        char *argv[32] = {"prog"};
        int argc = 1;
        for (; args[argc - 1]; argc++)
                argv[argc] = (char *) args[argc - 1];
        return flag_parse(flags, argc, argv, err);
}

START_TEST(test_table_parses_every_kind) {
        struct values v = {.level = 1};
        struct merr err = MERR_INIT;
        const char *const args[] = {"--name", "box", "--on", "--workers=12", "--tail=16384", "--inflight=64",
                "--retention=1h", "--bytes=16Mi", "--offset=-5", "--even=abcd", "--log-level=warn",
                "--lease-duration=30s", "--leader-election-id", "lease", "--name=last", NULL};
        ck_assert_int_eq(parse(&v, &err, args), 0);
        ck_assert_str_eq(v.name, "last"); /* a flag given twice keeps the last value */
        ck_assert(v.on);
        ck_assert_int_eq(v.workers, 12);
        ck_assert_uint_eq(v.tail, 16384);
        ck_assert_uint_eq(v.inflight, 64);
        ck_assert_int_eq(v.retention_ms, 3600000);
        ck_assert_int_eq(v.bytes, 16 << 20);
        ck_assert_int_eq(v.offset, -5);
        ck_assert_str_eq(v.cidrs, "abcd");
        ck_assert_int_eq(v.level, LOG_LEVEL_WARN);
        ck_assert_int_eq(v.lease.lease_duration_ms, 30000);
        ck_assert_str_eq(v.lease.name, "lease");

        const char *const off[] = {"--on=false", NULL}, *const on1[] = {"--on=1", NULL};
        ck_assert_int_eq(parse(&v, &err, off), 0);
        ck_assert(!v.on);
        ck_assert_int_eq(parse(&v, &err, on1), 0);
        ck_assert(v.on);
        /* an empty value is a value: --health-address= turns a server off */
        const char *const empty[] = {"--name=", NULL};
        ck_assert_int_eq(parse(&v, &err, empty), 0);
        ck_assert_str_eq(v.name, "");
}
END_TEST

START_TEST(test_table_errors_name_the_flag) {
        static const struct {
                const char *args[3];
                const char *msg;
        } cases[] = {
                {{"--workers=x"}, "--workers: 'x' is not a count"},
                {{"--workers", "0"}, "--workers: '0' is out of range, expected 1 to 1000"},
                {{"--tail=16385"}, "--tail: '16385' is out of range, expected 1 to 16384"},
                {{"--offset=1.5"}, "--offset: '1.5' is not a whole number"},
                {{"--offset=-101"}, "--offset: '-101' is out of range, expected -100 to 100"},
                {{"--retention=-1h"}, "--retention: must not be negative, got '-1h'"},
                {{"--lease-duration=0"}, "--lease-duration: must be at least 1ms, got '0'"},
                {{"--on=maybe"}, "--on: expected true or false, got 'maybe'"},
                {{"--log-level=loud"}, "--log-level: expected debug, info, warn or error, got 'loud'"},
                {{"--even=abc"}, "--even: 'abc' has an odd length"},
                {{"--name"}, "--name: a value is required"},
                {{"--nmae=x"}, "unknown flag '--nmae' (see --help)"},
                {{"--", "box"}, "unexpected argument '--' (see --help)"},
                {{"box"}, "unexpected argument 'box' (see --help)"},
                {{"-x"}, "unexpected argument '-x' (see --help)"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct values v = {.workers = 7};
                struct merr err = MERR_INIT;
                ck_assert_int_eq(parse(&v, &err, cases[i].args), -EINVAL);
                ck_assert_str_eq(merr_msg(&err), cases[i].msg);
                ck_assert_int_eq(v.workers, 7); /* a refused value is not stored */
        }
        struct values v = {0};
        struct merr err = MERR_INIT;
        const char *const help[] = {"--workers=2", "-h", "--workers=x", NULL}, *const help2[] = {
                                                                                       "--help", NULL};
        ck_assert_int_eq(parse(&v, &err, help), FLAG_HELP); /* what follows -h is not parsed */
        ck_assert_int_eq(parse(&v, &err, help2), FLAG_HELP);
        /* a last "--" ends the flags, as getopt's did */
        const char *const end[] = {"--workers=3", "--", NULL};
        ck_assert_int_eq(parse(&v, &err, end), 0);
        ck_assert_int_eq(v.workers, 3);
}
END_TEST

START_TEST(test_usage_from_the_table) {
        struct values v = {0};
        const struct flag flags[] = TABLE(&v);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        ck_assert_ptr_nonnull(f);
        flag_usage(flags, "Usage: prog [OPTION]...\n", f);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(
                text, "Usage: prog [OPTION]...\n\nThings:\n      --name=NAME                a name\n"));
        ck_assert_ptr_nonnull(
                strstr(text, "\n      --on[=BOOL]                switch it on (default false)\n"));
        ck_assert_ptr_nonnull(
                strstr(text, "\n      --workers=N                concurrent workers (default 8)\n"));
        /* a section without a heading is a blank line */
        ck_assert_ptr_nonnull(strstr(text, "--even=WORD\n\n      --log-level=LEVEL\n"));
        /* a flag too long for the column is followed by two spaces */
        ck_assert_ptr_nonnull(
                strstr(text, "\n      --leader-election-namespace=NS  the Lease's namespace (default "
                             "mbox-system)\n"));
        ck_assert_ptr_nonnull(
                strstr(text, "\n      --leader-election-id=NAME  the Lease's name (default mbox-test)\n"));
        ck_assert_ptr_nonnull(strstr(text, "\n  -h, --help                     this help\n"));
        /* long help is wrapped under its column */
        const char *lines = text;
        for (const char *nl; (nl = strchr(lines, '\n')); lines = nl + 1)
                ck_assert_int_le(nl - lines, 96);
        free(text);

        struct flag wide[] = {
                {"x", FLAG_STRING, .value = &v.name, .arg = "X",
                        .help = "one two three four five six seven eight nine ten eleven twelve "
                                "thirteen fourteen fifteen sixteen seventeen",
                        .def = "none"},
                {0}};
        f = open_memstream(&text, &len);
        flag_usage(wide, "", f);
        fclose(f);
        /* 95 columns, then "thirteen" would pass the 96th */
        ck_assert_str_eq(text, "      --x=X                      one two three four five six seven eight "
                               "nine ten eleven twelve\n"
                               "                                 thirteen fourteen fifteen sixteen seventeen "
                               "(default none)\n"
                               "  -h, --help                     this help\n");
        free(text);
}
END_TEST

static Suite *flag_suite(void) {
        Suite *s = suite_create("flag");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_count);
        tcase_add_test(tc, test_duration_ms);
        tcase_add_test(tc, test_bytes);
        tcase_add_test(tc, test_table_parses_every_kind);
        tcase_add_test(tc, test_table_errors_name_the_flag);
        tcase_add_test(tc, test_usage_from_the_table);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(flag_suite)
