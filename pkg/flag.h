/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command-line flags, declared once in a table that both parses argv and writes --help, so that every mbox
 * program takes the same syntax and says the same things about a bad value:
 *
 *   long workers = 0;
 *   const struct flag flags[] = {
 *           FLAG_HEADING("Behaviour:"),
 *           {"workers", FLAG_COUNT, FLAG_INTO(&workers), .arg = "N", .min = 1, .max = 1000, .def = "8",
 *                   .help = "concurrent reconciles"},
 *           {0},
 *   };
 *   int rc = flag_main("mbox-x", "Usage: mbox-x [OPTION]...\n", flags, argc, argv);
 *   if (rc >= 0)
 *           return rc; // --help was printed (0), or what was wrong (2)
 *
 * Syntax: --name=VALUE or --name VALUE; a FLAG_BOOL takes --name alone (true) or --name=BOOL; -h and --help
 * print the help; no argument that is not a flag is accepted. A flag given twice keeps the last value.
 * Errors name the flag and quote the value: "--sandbox-workers: 'x' is not a count".
 *
 * The flag_count(), flag_duration_ms() and flag_bytes() checkers the table uses are public too: each
 * parses arg for the flag --name and returns 0, or -EINVAL with "--name: what is wrong with 'arg'" in err.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "merr.h"

enum flag_kind {
        FLAG_END,      /* ends the table: {0} */
        FLAG_SECTION,  /* not a flag: a blank line in --help, then help as a heading unless NULL */
        FLAG_STRING,   /* value is a const char **; the argument itself (borrowed from argv) */
        FLAG_BOOL,     /* value is a bool *; --name alone is true, --name=true|false|1|0 */
        FLAG_COUNT,    /* FLAG_INTO an integer: a whole number from min to max (min >= 0) */
        FLAG_INT,      /* FLAG_INTO an integer: a whole number from min to max, negative ones too */
        FLAG_DURATION, /* FLAG_INTO an integer: Go's syntax (90s, 1h30m) in milliseconds, at least min */
        FLAG_BYTES,    /* FLAG_INTO an integer: bytes as a quantity (1048576, 512Ki, 16Mi), min to max */
        FLAG_CHOICE,   /* FLAG_INTO an integer: the index of the argument in choices */
        FLAG_FUNC,     /* parse() checks and stores the argument */
};

struct flag {
        const char *name; /* without the leading "--" */
        enum flag_kind kind;
        void *value;      /* where the value goes (see kind) */
        size_t size;      /* the integer at value, for the kinds that take FLAG_INTO */
        bool is_signed;   /* ... and whether it is signed */
        const char *arg;  /* the argument's name in --help: PATHS, N, DURATION (FLAG_BOOL: none) */
        const char *help; /* one sentence, wrapped by --help; for FLAG_SECTION the heading */
        const char *def;  /* shown in --help as " (default DEF)" after help; NULL: nothing shown */
        int64_t min, max; /* FLAG_COUNT, FLAG_INT, FLAG_BYTES: the range; FLAG_DURATION: min in ms */
        const char *const *choices; /* FLAG_CHOICE: the accepted words, NULL-terminated */
        char short_name;            /* a one-letter alias (-x), or 0 */
        /* FLAG_FUNC: checks arg and stores it at f->value; returns 0, or -EINVAL with what is wrong in err
         * (the flag's name is prefixed) */
        int (*parse)(const struct flag *f, const char *arg, struct merr *err);
};

/* The target of an integer kind, whatever its type (int, long, size_t, int64_t...). */
#define FLAG_INTO(p) \
        .value = (p), .size = sizeof(*(p)), .is_signed = ((__typeof__(*(p))) -1 < (__typeof__(*(p))) 1)
#define FLAG_HEADING(text) \
        { .kind = FLAG_SECTION, .help = (text) }

#define FLAG_HELP 1 /* flag_parse(): -h or --help was given */

/* Parses argv[1..argc-1] into the table's values. 0 when done; FLAG_HELP when -h or --help came (what
 * follows it is not parsed); -EINVAL with what was wrong in err: an unknown flag, a missing or bad value,
 * an argument that is not a flag. */
int flag_parse(const struct flag *flags, int argc, char *const *argv, struct merr *err);
/* A command's arguments besides its flags (flag_parse_args()): the words that are not flags, in order, and
 * what follows "--" (argv's own strings). */
#define FLAG_ARGS_MAX 8
struct flag_args {
        const char *pos[FLAG_ARGS_MAX];
        int n_pos;
        char *const *rest;
        int n_rest;
};
/* flag_parse() for a command that takes arguments (the mbox CLI's verbs): words that are not flags go to
 * args->pos (at most FLAG_ARGS_MAX), everything after "--" to args->rest; the flags' one-letter aliases
 * are accepted too (-n NS, -nNS, -it). */
int flag_parse_args(
        const struct flag *flags, int argc, char *const *argv, struct flag_args *args, struct merr *err);
/* Writes usage (as it is), then each entry of the table: its flag, padded, and its help with its default,
 * wrapped, then -h, --help. */
void flag_usage(const struct flag *flags, const char *usage, FILE *f);
/* What a main() does with them: parses argv; prints the help to stdout after -h or --help, and
 * "prog: what was wrong" to stderr after an error. -1 when the program goes on, else its exit status: 0
 * after the help, 2 after an error. */
int flag_main(const char *prog, const char *usage, const struct flag *flags, int argc, char *const *argv);
/* flag_main() with flag_parse_args(). */
int flag_main_args(const char *prog, const char *usage, const struct flag *flags, int argc, char *const *argv,
        struct flag_args *args);

/* A whole number in [min, max]. */
int flag_count(const char *name, const char *arg, long min, long max, long *ret, struct merr *err);
/* A duration (Go's syntax: 90s, 1h30m) in milliseconds, at least min_ms (0 allows 0; a positive duration
 * under a millisecond counts as 1). */
int flag_duration_ms(const char *name, const char *arg, int64_t min_ms, int64_t *ret, struct merr *err);
/* A whole number of bytes as a quantity (1048576, 512Ki, 16Mi) in [min, max]. */
int flag_bytes(const char *name, const char *arg, int64_t min, int64_t max, int64_t *ret, struct merr *err);
