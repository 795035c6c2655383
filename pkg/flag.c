/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "flag.h"
#include "quantity.h"

#define HELP_COLUMN 33 /* where the help text of every flag starts */
#define HELP_WIDTH  96 /* the longest line --help writes, unless one word is longer */

/* A whole number in [min, max]; what names it in the message ("count", "whole number"). */
static int parse_whole(const char *name, const char *arg, const char *what, int64_t min, int64_t max,
        int64_t *ret, struct merr *err) {
        char *end;
        errno = 0;
        long long v = strtoll(arg, &end, 10);
        if (*arg == '\0' || isspace((unsigned char) *arg) || *end != '\0' || errno == ERANGE)
                return merr_set(err, -EINVAL, "--%s: '%s' is not a %s", name, arg, what);
        if (v < min || v > max)
                return merr_set(err, -EINVAL, "--%s: '%s' is out of range, expected %" PRId64 " to %" PRId64,
                        name, arg, min, max);
        *ret = v;
        return 0;
}

int flag_count(const char *name, const char *arg, long min, long max, long *ret, struct merr *err) {
        int64_t v = 0;
        int r = parse_whole(name, arg, "count", min, max, &v, err);
        if (r >= 0)
                *ret = (long) v;
        return r;
}

int flag_duration_ms(const char *name, const char *arg, int64_t min_ms, int64_t *ret, struct merr *err) {
        struct merr e = MERR_INIT;
        int64_t ns = 0;
        if (duration_parse(arg, &ns, &e) < 0)
                return merr_set(err, -EINVAL, "--%s: %s", name, merr_msg(&e));
        int64_t ms = ns > 0 && ns < 1000000 ? 1 : ns / 1000000;
        if (ns < 0 || ms < min_ms) {
                if (min_ms <= 0)
                        return merr_set(err, -EINVAL, "--%s: must not be negative, got '%s'", name, arg);
                return merr_set(
                        err, -EINVAL, "--%s: must be at least %" PRId64 "ms, got '%s'", name, min_ms, arg);
        }
        *ret = ms;
        return 0;
}

int flag_bytes(const char *name, const char *arg, int64_t min, int64_t max, int64_t *ret, struct merr *err) {
        struct quantity q;
        int64_t v = 0;
        if (quantity_parse(arg, &q, NULL) < 0 || quantity_value(&q, &v, NULL) < 0 ||
                q.nano % 1000000000 != 0 || v < min || v > max) {
                if (min <= 1 && max == INT64_MAX)
                        return merr_set(err, -EINVAL,
                                "--%s: expected a positive whole number of bytes such as 1048576, 512Ki or "
                                "16Mi, got '%s'",
                                name, arg);
                return merr_set(err, -EINVAL,
                        "--%s: expected a whole number of bytes from %" PRId64 " to %" PRId64
                        " such as 1048576, 512Ki or 16Mi, got '%s'",
                        name, min, max, arg);
        }
        *ret = v;
        return 0;
}

/* Stores v in the integer f->value points to, if it fits there. */
static int store_int(const struct flag *f, int64_t v, struct merr *err) {
        int bits = (int) f->size * 8;
        bool fits = f->is_signed
                            ? bits >= 64 || (v >= -(INT64_C(1) << (bits - 1)) && v < INT64_C(1) << (bits - 1))
                            : v >= 0 && (bits >= 64 || v < INT64_C(1) << bits);
        if (!fits || (f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8))
                return merr_set(err, -ERANGE, "--%s: %" PRId64 " does not fit", f->name, v);
        /* the low bytes of v, as the target's type has them (little or big end) */
        union {
                int8_t i8;
                int16_t i16;
                int32_t i32;
                int64_t i64;
        } u;
        switch (f->size) {
        case 1:
                u.i8 = (int8_t) v;
                break;
        case 2:
                u.i16 = (int16_t) v;
                break;
        case 4:
                u.i32 = (int32_t) v;
                break;
        default:
                u.i64 = v;
        }
        memcpy(f->value, &u, f->size);
        return 0;
}

static int parse_bool(const struct flag *f, const char *arg, struct merr *err) {
        bool v;
        if (!arg || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0)
                v = true;
        else if (strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0)
                v = false;
        else
                return merr_set(err, -EINVAL, "--%s: expected true or false, got '%s'", f->name, arg);
        *(bool *) f->value = v;
        return 0;
}

static int parse_choice(const struct flag *f, const char *arg, struct merr *err) {
        char list[256] = "";
        size_t n = 0, len = 0;
        for (const char *const *c = f->choices; *c; c++, n++)
                if (strcmp(*c, arg) == 0)
                        return store_int(f, (int64_t) n, err);
        /* "expected a, b or c" */
        for (size_t i = 0; i < n && len < sizeof(list); i++)
                len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%s",
                        i == 0       ? ""
                        : i + 1 == n ? " or "
                                     : ", ",
                        f->choices[i]);
        return merr_set(err, -EINVAL, "--%s: expected %s, got '%s'", f->name, list, arg);
}

static int parse_value(const struct flag *f, const char *arg, struct merr *err) {
        int64_t v = 0;
        long l = 0;
        int r;
        switch (f->kind) {
        case FLAG_STRING:
                *(const char **) f->value = arg;
                return 0;
        case FLAG_BOOL:
                return parse_bool(f, arg, err);
        case FLAG_COUNT:
                r = flag_count(f->name, arg, (long) f->min, (long) f->max, &l, err);
                v = l;
                break;
        case FLAG_INT:
                r = parse_whole(f->name, arg, "whole number", f->min, f->max, &v, err);
                break;
        case FLAG_DURATION:
                r = flag_duration_ms(f->name, arg, f->min, &v, err);
                break;
        case FLAG_BYTES:
                r = flag_bytes(f->name, arg, f->min, f->max, &v, err);
                break;
        case FLAG_CHOICE:
                return parse_choice(f, arg, err);
        case FLAG_FUNC:
                r = f->parse(f, arg, err);
                return r < 0 ? merr_wrap(err, r, "--%s", f->name) : 0;
        default:
                return merr_set(err, -EINVAL, "--%s: not a flag", f->name);
        }
        return r < 0 ? r : store_int(f, v, err);
}

static const struct flag *find_flag(const struct flag *flags, const char *name, size_t len) {
        for (const struct flag *f = flags; f->kind != FLAG_END; f++)
                if (f->name && strlen(f->name) == len && strncmp(f->name, name, len) == 0)
                        return f;
        return NULL;
}

static const struct flag *find_short(const struct flag *flags, char c) {
        for (const struct flag *f = flags; f->kind != FLAG_END; f++)
                if (f->short_name && f->short_name == c)
                        return f;
        return NULL;
}

/* -x, -x VALUE, -xVALUE, and bools together (-it). */
static int parse_short(const struct flag *flags, int argc, char *const *argv, int *i, struct merr *err) {
        const char *a = argv[*i];
        for (const char *p = a + 1; *p; p++) {
                const struct flag *f = find_short(flags, *p);
                if (!f)
                        return merr_set(err, -EINVAL, "unknown flag '-%c' (see --help)", *p);
                if (f->kind == FLAG_BOOL) {
                        int r = parse_value(f, NULL, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                const char *arg = p[1] ? p + 1 : NULL;
                if (!arg) {
                        if (*i + 1 >= argc)
                                return merr_set(err, -EINVAL, "-%c: a value is required", *p);
                        arg = argv[++*i];
                }
                return parse_value(f, arg, err);
        }
        return 0;
}

static int parse(
        const struct flag *flags, int argc, char *const *argv, struct flag_args *args, struct merr *err) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
                        return FLAG_HELP;
                /* "--" ends the flags, as for getopt: what follows is the command's (flag_parse_args()) */
                if (strcmp(a, "--") == 0 && (args || i + 1 == argc)) {
                        if (args) {
                                args->rest = argv + i + 1;
                                args->n_rest = argc - i - 1;
                        }
                        break;
                }
                if (args && a[0] == '-' && a[1] && a[1] != '-') {
                        int r = parse_short(flags, argc, argv, &i, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
                        if (!args || args->n_pos >= FLAG_ARGS_MAX)
                                return merr_set(err, -EINVAL, "unexpected argument '%s' (see --help)", a);
                        args->pos[args->n_pos++] = a;
                        continue;
                }
                const char *name = a + 2, *eq = strchr(name, '=');
                size_t len = eq ? (size_t) (eq - name) : strlen(name);
                const struct flag *f = find_flag(flags, name, len);
                if (!f)
                        return merr_set(err, -EINVAL, "unknown flag '--%.*s' (see --help)", (int) len, name);
                const char *arg = eq ? eq + 1 : NULL;
                if (!arg && f->kind != FLAG_BOOL) {
                        if (i + 1 >= argc)
                                return merr_set(err, -EINVAL, "--%s: a value is required", f->name);
                        arg = argv[++i];
                }
                int r = parse_value(f, arg, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int flag_parse(const struct flag *flags, int argc, char *const *argv, struct merr *err) {
        return parse(flags, argc, argv, NULL, err);
}

int flag_parse_args(
        const struct flag *flags, int argc, char *const *argv, struct flag_args *args, struct merr *err) {
        *args = (struct flag_args){0};
        return parse(flags, argc, argv, args, err);
}

/* Writes text from column col on, wrapped at HELP_WIDTH, continued at HELP_COLUMN. */
static void wrap(FILE *out, const char *text, size_t col) {
        const char *p = text;
        bool first = true;
        while (*p) {
                size_t word = strcspn(p, " ");
                if (!first && col + 1 + word > HELP_WIDTH) {
                        fprintf(out, "\n%*s", HELP_COLUMN, "");
                        col = HELP_COLUMN;
                } else if (!first) {
                        fputc(' ', out);
                        col++;
                }
                fwrite(p, 1, word, out);
                col += word;
                first = false;
                p += word;
                p += strspn(p, " ");
        }
}

static void usage_line(FILE *out, const struct flag *f) {
        const char *arg = f->kind == FLAG_BOOL ? "[=BOOL]" : f->arg;
        char left[128];
        if (f->short_name)
                snprintf(left, sizeof(left), "  -%c, --%s%s%s", f->short_name, f->name,
                        arg && f->kind != FLAG_BOOL ? "=" : "", arg && f->kind != FLAG_BOOL ? arg : "");
        else
                snprintf(left, sizeof(left), "      --%s%s%s", f->name,
                        arg && f->kind != FLAG_BOOL ? "=" : "", arg ? arg : "");
        int n = (int) strlen(left);
        const char *help = f->help ? f->help : "";
        char *text = NULL;
        if (f->def && asprintf(&text, "%s%s(default %s)", help, *help ? " " : "", f->def) < 0)
                text = NULL;
        if (text)
                help = text;
        fputs(left, out);
        if (*help) {
                /* one column for all, two spaces after a flag too long for it */
                int pad = n + 2 <= HELP_COLUMN ? HELP_COLUMN - n : 2;
                fprintf(out, "%*s", pad, "");
                wrap(out, help, (size_t) (n + pad));
        }
        free(text);
        fputc('\n', out);
}

void flag_usage(const struct flag *flags, const char *usage, FILE *out) {
        fputs(usage, out);
        for (const struct flag *f = flags; f->kind != FLAG_END; f++) {
                if (f->kind == FLAG_SECTION)
                        fprintf(out, "\n%s%s", f->help ? f->help : "", f->help ? "\n" : "");
                else
                        usage_line(out, f);
        }
        usage_line(out, &(const struct flag){"help", FLAG_BOOL, .short_name = 'h', .help = "this help"});
}

static int main_result(
        const char *prog, const char *usage, const struct flag *flags, int r, struct merr *err) {
        if (r == FLAG_HELP) {
                flag_usage(flags, usage, stdout);
                return 0;
        }
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", prog, merr_msg(err));
                return 2;
        }
        return -1;
}

int flag_main(const char *prog, const char *usage, const struct flag *flags, int argc, char *const *argv) {
        struct merr err = MERR_INIT;
        return main_result(prog, usage, flags, flag_parse(flags, argc, argv, &err), &err);
}

int flag_main_args(const char *prog, const char *usage, const struct flag *flags, int argc, char *const *argv,
        struct flag_args *args) {
        struct merr err = MERR_INIT;
        return main_result(prog, usage, flags, flag_parse_args(flags, argc, argv, args, &err), &err);
}
