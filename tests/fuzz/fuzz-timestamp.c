/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for timestamp_parsen(): never crash; a failure explains itself; what parses formats
 * (as MicroTime, which keeps microseconds) and parses back to the same instant truncated to microseconds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct timestamp t, again;
        struct merr err = MERR_INIT;
        char buf[TIMESTAMP_STR_MAX];
        int r;

        r = timestamp_parsen((const char *) data, size, &t, &err);
        if (r < 0) {
                check(err.code == r && strlen(err.msg) > 0);
                return 0;
        }
        check(t.nsec >= 0 && t.nsec < 1000000000);
        if (timestamp_format_micro(&t, buf, sizeof(buf)) < 0)
                return 0; /* an offset can move the UTC year out of 0000..9999: refused, not garbled */
        check(timestamp_parse(buf, &again, NULL) == 0);
        check(again.sec == t.sec && again.nsec == t.nsec / 1000 * 1000);
        return 0;
}
