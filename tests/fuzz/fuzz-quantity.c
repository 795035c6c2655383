/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for quantity_parsen(): never crash, and check what comes out:
 *   - a failure is -EINVAL or -ERANGE with the same code and a message in the error object;
 *   - the canonical text fits QUANTITY_STR_MAX, parses back to an equal value and prints the same again
 *     (after one more round for a BinarySI value printed without a suffix);
 *   - the C-string entry point agrees with the length-bounded one on NUL-free input;
 *   - sign and comparison are consistent with each other and with the text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[QUANTITY_STR_MAX], again_buf[QUANTITY_STR_MAX], third_buf[QUANTITY_STR_MAX];
        struct quantity q, again, third, zero = {0};
        struct merr err = MERR_INIT;
        int r, n;

        r = quantity_parsen((const char *) data, size, &q, &err);
        if (!memchr(data, '\0', size)) {
                _cleanup_free_ char *s = malloc(size + 1);
                struct quantity q2;

                check(s != NULL);
                memcpy(s, data, size);
                s[size] = '\0';
                check(quantity_parse(s, &q2, NULL) == r);
                check(r < 0 || (quantity_cmp(&q, &q2) == 0 && q.fmt == q2.fmt));
        }
        if (r < 0) {
                check(r == -EINVAL || r == -ERANGE);
                check(err.code == r && strlen(err.msg) > 0 && strncmp(err.msg, "quantity '", 10) == 0);
                return 0;
        }

        n = quantity_format(&q, buf, sizeof(buf));
        check(n > 0 && (size_t) n == strlen(buf) && n < QUANTITY_STR_MAX);
        check(quantity_parse(buf, &again, &err) == 0);
        check(quantity_cmp(&q, &again) == 0);
        /* Canonical text is a fixed point, except that a BinarySI value printed without a suffix ("812.5Ki"
         * is "832000") reads back as DecimalSI and prints as such ("832k") from then on. */
        r = quantity_format(&again, again_buf, sizeof(again_buf));
        check(r > 0);
        check(q.fmt == QUANTITY_BINARY_SI || strcmp(buf, again_buf) == 0);
        check(quantity_parse(again_buf, &third, NULL) == 0 && quantity_cmp(&third, &q) == 0);
        check(quantity_format(&third, third_buf, sizeof(third_buf)) == r &&
                strcmp(third_buf, again_buf) == 0);
        check(quantity_format(&q, again_buf, (size_t) n) == -ENOBUFS);

        check(quantity_sign(&q) == quantity_cmp(&q, &zero));
        check((quantity_sign(&q) == 0) == (strcmp(buf, "0") == 0));
        check((quantity_sign(&q) < 0) == (buf[0] == '-'));
        return 0;
}
