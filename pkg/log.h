/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logging: one line per event, as key=value (logfmt) or as a JSON object, chosen by the program
 * (usually from a --log-format flag). Library code logs at debug level only; each error is logged once, by
 * the program that handles it.
 *
 *   log_info("reconcile done", "controller", "sandbox", "key", "demo/web");
 *   → time=2026-11-26T04:59:45.123456Z level=info msg="reconcile done" controller=sandbox key=demo/web
 *   → {"time":"2026-11-26T04:59:45.123456Z","level":"info","msg":"reconcile done","controller":"sandbox",...}
 *
 * Fields are pairs of C strings after the message; the macros add the terminating NULL. A NULL value is
 * printed as an empty string. Each event is written with a single write() so lines from threads never mix.
 */
#pragma once

#include <stdbool.h>

#include "flag.h"
#include "macro.h"

enum log_level {
        LOG_LEVEL_DEBUG,
        LOG_LEVEL_INFO,
        LOG_LEVEL_WARN,
        LOG_LEVEL_ERROR,
};

enum log_format {
        LOG_FORMAT_TEXT, /* key=value */
        LOG_FORMAT_JSON,
};

/* --log-format and --log-level as entries of a flag table (flag.h), into the ints format and level point
 * to (an enum log_format and an enum log_level: the choices are in their order). */
/* clang-format off */
#define LOG_FLAGS(format, level)                                                                         \
        {"log-format", FLAG_CHOICE, FLAG_INTO(format), .arg = "text|json", .def = "text",                \
                .choices = (const char *const[]){"text", "json", NULL}},                                \
        {"log-level", FLAG_CHOICE, FLAG_INTO(level), .arg = "LEVEL", .help = "debug, info, warn or error", \
                .def = "info", .choices = (const char *const[]){"debug", "info", "warn", "error", NULL}}
/* clang-format on */

/* Process-wide settings, made once by the program before it starts threads. */
void log_setup(enum log_level level, enum log_format format, int fd);

const char *log_level_to_string(enum log_level level);

bool log_enabled(enum log_level level);

/* Writes one event; kv is key, value, key, value, ..., NULL. */
void log_event(enum log_level level, const char *msg, const char *const *kv);

/* log_info("msg", "key", value, ...): the keys and values become an array of strings, so a value that is
 * not a string (a number passed by mistake) does not compile instead of crashing the program. */
#define LOG_KV_(...)        ((const char *const[]){NULL, ##__VA_ARGS__, NULL} + 1)
#define log_debug(msg, ...) log_event(LOG_LEVEL_DEBUG, msg, LOG_KV_(__VA_ARGS__))
#define log_info(msg, ...)  log_event(LOG_LEVEL_INFO, msg, LOG_KV_(__VA_ARGS__))
#define log_warn(msg, ...)  log_event(LOG_LEVEL_WARN, msg, LOG_KV_(__VA_ARGS__))
#define log_error(msg, ...) log_event(LOG_LEVEL_ERROR, msg, LOG_KV_(__VA_ARGS__))
