/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define LOG_LINE_MAX (64 * 1024)

static enum log_level cur_level = LOG_LEVEL_INFO;
static enum log_format cur_format = LOG_FORMAT_TEXT;
static int cur_fd = STDERR_FILENO;

static const char *const level_names[] = {
        [LOG_LEVEL_DEBUG] = "debug",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_WARN] = "warn",
        [LOG_LEVEL_ERROR] = "error",
};

void log_setup(enum log_level level, enum log_format format, int fd) {
        cur_level = level;
        cur_format = format;
        cur_fd = fd;
}

const char *log_level_to_string(enum log_level level) {
        if ((size_t) level >= ARRAY_SIZE(level_names))
                return "unknown";
        return level_names[level];
}

bool log_enabled(enum log_level level) {
        return level >= cur_level;
}

/* logfmt: bare when the value is a plain token, else double-quoted with escapes. */
static void put_text_value(struct buf *b, const char *v) {
        bool bare = *v != '\0';

        for (const char *p = v; *p && bare; p++)
                if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
                        bare = false;
        if (bare) {
                (void) buf_puts(b, v);
                return;
        }
        (void) buf_putc(b, '"');
        for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
                if (*p == '"' || *p == '\\')
                        (void) buf_printf(b, "\\%c", *p);
                else if (*p == '\n')
                        (void) buf_puts(b, "\\n");
                else if (*p == '\t')
                        (void) buf_puts(b, "\\t");
                else if (*p < ' ' || *p == 0x7f)
                        (void) buf_printf(b, "\\u%04x", *p);
                else
                        (void) buf_putc(b, (char) *p);
        }
        (void) buf_putc(b, '"');
}

static void put_json_string(struct buf *b, const char *v) {
        (void) buf_putc(b, '"');
        for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
                if (*p == '"' || *p == '\\')
                        (void) buf_printf(b, "\\%c", *p);
                else if (*p == '\n')
                        (void) buf_puts(b, "\\n");
                else if (*p < ' ' || *p == 0x7f)
                        (void) buf_printf(b, "\\u%04x", *p);
                else
                        (void) buf_putc(b, (char) *p);
        }
        (void) buf_putc(b, '"');
}

static void put_field(struct buf *b, bool first, const char *k, const char *v) {
        if (cur_format == LOG_FORMAT_JSON) {
                if (!first)
                        (void) buf_putc(b, ',');
                put_json_string(b, k);
                (void) buf_putc(b, ':');
                put_json_string(b, v);
        } else {
                if (!first)
                        (void) buf_putc(b, ' ');
                (void) buf_puts(b, k);
                (void) buf_putc(b, '=');
                put_text_value(b, v);
        }
}

void log_event(enum log_level level, const char *msg, const char *const *kv) {
        _cleanup_(buf_release) struct buf b = BUF_INIT(LOG_LINE_MAX);
        char when[64];
        struct timespec ts;
        struct tm tm;
        ssize_t n;

        if (!log_enabled(level))
                return;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        (void) gmtime_r(&ts.tv_sec, &tm);
        (void) snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);

        if (cur_format == LOG_FORMAT_JSON)
                (void) buf_putc(&b, '{');
        put_field(&b, true, "time", when);
        put_field(&b, false, "level", log_level_to_string(level));
        put_field(&b, false, "msg", msg ? msg : "");
        for (; kv && kv[0]; kv += 2) {
                put_field(&b, false, kv[0], kv[1] ? kv[1] : "");
                if (!kv[1])
                        break; /* a key without a value ends the list */
        }
        if (cur_format == LOG_FORMAT_JSON)
                (void) buf_putc(&b, '}');
        (void) buf_putc(&b, '\n');

        /* A line cut at the cap still ends with a newline, so the next event starts on its own line. */
        if (b.len > 0 && b.data[b.len - 1] != '\n')
                b.data[b.len - 1] = '\n';
        for (size_t off = 0; off < b.len; off += (size_t) n) {
                n = write(cur_fd, b.data + off, b.len - off);
                if (n < 0 && errno == EINTR) {
                        n = 0;
                        continue;
                }
                if (n <= 0)
                        break;
        }
}
