/* SPDX-License-Identifier: Apache-2.0 */
#include "merr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int normalize(int code) {
        if (code > 0)
                return -code;
        if (code == 0)
                return -EIO; /* an error without a code is still an error */
        return code;
}

int merr_set(struct merr *err, int code, const char *fmt, ...) {
        va_list ap;

        code = normalize(code);
        if (!err)
                return code;
        err->code = code;
        va_start(ap, fmt);
        (void) vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return code;
}

int merr_wrap(struct merr *err, int code, const char *fmt, ...) {
        char ctx[MERR_MSG_MAX], old[MERR_MSG_MAX];
        va_list ap;

        code = normalize(code);
        if (!err)
                return code;
        va_start(ap, fmt);
        (void) vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        if (err->code == 0) {
                err->code = code;
                (void) snprintf(err->msg, sizeof(err->msg), "%s", ctx);
                return code;
        }
        (void) snprintf(old, sizeof(old), "%s", merr_msg(err));
        (void) snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
        return err->code;
}

const char *merr_msg(const struct merr *err) {
        if (!err || err->code == 0)
                return "no error";
        if (err->msg[0])
                return err->msg;
        return strerror(-err->code);
}

void merr_clear(struct merr *err) {
        if (!err)
                return;
        err->code = 0;
        err->msg[0] = '\0';
}

const char *merr_quote(const char *s, size_t n, char *out, size_t size) {
        size_t o = 0;

        for (size_t i = 0; i < n && o + 8 < size; i++) {
                unsigned char c = (unsigned char) s[i];

                if (i == MERR_QUOTE_BYTES) {
                        memcpy(out + o, "...", 3);
                        o += 3;
                        break;
                }
                if (c >= 0x20 && c < 0x7f && c != '\\') {
                        out[o++] = (char) c;
                } else {
                        (void) snprintf(out + o, size - o, "\\x%02x", c);
                        o += 4;
                }
        }
        out[o] = '\0';
        return out;
}

const char *merr_describe_at(const char *s, size_t n, size_t i, char *out, size_t size) {
        unsigned char c;

        if (i >= n)
                return "end of input";
        c = (unsigned char) s[i];
        if (c >= 0x20 && c < 0x7f)
                (void) snprintf(out, size, "'%c'", c);
        else
                (void) snprintf(out, size, "byte 0x%02x", c);
        return out;
}

int merr_set_input(
        struct merr *err, int code, const char *what, const char *s, size_t n, const char *fmt, ...) {
        char q[MERR_QUOTE_SIZE], detail[MERR_MSG_MAX];
        va_list ap;

        if (!err)
                return normalize(code);
        va_start(ap, fmt);
        (void) vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        return merr_set(err, code, "%s '%s': %s", what, merr_quote(s, n, q, sizeof(q)), detail);
}
