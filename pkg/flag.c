/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "duration.h"
#include "flag.h"
#include "quantity.h"

int flag_count(const char *name, const char *arg, long min, long max, long *ret, struct merr *err) {
        char *end;
        long v = strtol(arg, &end, 10);
        if (*arg == '\0' || isspace((unsigned char) *arg) || *end != '\0' || v < min || v > max)
                return merr_set(err, -EINVAL, "--%s: expected a number from %ld to %ld, got '%s'", name, min,
                        max, arg);
        *ret = v;
        return 0;
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
