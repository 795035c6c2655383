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
