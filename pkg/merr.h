/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error convention of libmbox.
 *
 * Functions return >= 0 on success and a negative errno on failure. Callers that want to know more pass an
 * optional struct merr, which receives the same code and a human message; context is prefixed on the way
 * up with merr_wrap(), so the program that finally logs the error prints one line that reads from the
 * outside in: "apply 'crds/sandbox.yaml': line 3, column 7: mapping values are not allowed here".
 *
 * Messages are lowercase, without a trailing period, and quote user values in single quotes.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

#define MERR_MSG_MAX 1024

struct merr {
        int code;               /* negative errno, 0 when no error was recorded */
        char msg[MERR_MSG_MAX]; /* always NUL-terminated; truncated when longer */
};

#define MERR_INIT \
        { .code = 0, .msg = "" }

/* Records code (a negative errno) and a formatted message in err, which may be NULL. Returns code, so that
 * "return merr_set(err, -EINVAL, ...)" reads as one statement. A positive code is negated. */
int merr_set(struct merr *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Prefixes context to the message already in err ("context: message"). When err holds no error yet, this
 * behaves like merr_set(). Returns err's code, or code when err is NULL or empty. */
int merr_wrap(struct merr *err, int code, const char *fmt, ...) _printf_(3, 4);

/* The recorded message, or strerror() of the code when no message was recorded. Never NULL. */
const char *merr_msg(const struct merr *err);

/* Forgets a recorded error. */
void merr_clear(struct merr *err);

/* Helpers for parsers that report on untrusted input. */
#define MERR_QUOTE_BYTES 48
#define MERR_QUOTE_SIZE  (MERR_QUOTE_BYTES * 4 + 4)

/* Renders untrusted bytes for a message: printable ASCII as is, anything else as \xNN, cut after
 * MERR_QUOTE_BYTES with "...". out needs MERR_QUOTE_SIZE bytes. Returns out. */
const char *merr_quote(const char *s, size_t n, char *out, size_t size);

/* What is at offset i of s: "'x'", "byte 0xNN" or "end of input". Returns out or a constant. */
const char *merr_describe_at(const char *s, size_t n, size_t i, char *out, size_t size);

/* Records "<what> '<quoted input>': <detail>" and returns code. */
int merr_set_input(struct merr *err, int code, const char *what, const char *s, size_t n, const char *fmt,
        ...) _printf_(6, 7);
