/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for duration_parsen(): never crash, and check what comes out:
 *   - a failure is -EINVAL or -ERANGE with the same code and a message in the error object;
 *   - the formatted text fits DURATION_STR_MAX and parses back to the same number of nanoseconds;
 *   - the C-string entry point agrees with the length-bounded one on NUL-free input;
 *   - an unsigned input parses, with a '-' in front, to the negated value.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *neg = NULL;
        char buf[DURATION_STR_MAX];
        struct merr err = MERR_INIT;
        int64_t ns, again, negated;
        int r, n;

        r = duration_parsen((const char *) data, size, &ns, &err);
        if (!memchr(data, '\0', size)) {
                _cleanup_free_ char *s = malloc(size + 1);
                int64_t ns2;

                check(s != NULL);
                memcpy(s, data, size);
                s[size] = '\0';
                check(duration_parse(s, &ns2, NULL) == r);
                check(r < 0 || ns2 == ns);
        }
        if (r < 0) {
                check(r == -EINVAL || r == -ERANGE);
                check(err.code == r && strlen(err.msg) > 0 && strncmp(err.msg, "duration '", 10) == 0);
                return 0;
        }

        n = duration_format(ns, buf, sizeof(buf));
        check(n > 0 && (size_t) n == strlen(buf) && n < DURATION_STR_MAX);
        check(duration_parse(buf, &again, NULL) == 0 && again == ns);
        check(duration_format(ns, buf, (size_t) n) == -ENOBUFS);

        if (size > 0 && data[0] != '-' && data[0] != '+') {
                neg = malloc(size + 1);
                check(neg != NULL);
                neg[0] = '-';
                memcpy(neg + 1, data, size);
                check(duration_parsen(neg, size + 1, &negated, NULL) == 0);
                check(negated == -ns);
        }
        return 0;
}
