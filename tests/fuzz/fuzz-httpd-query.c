/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for httpd_query_value(), which decodes the query string of every request:
 *   - the first input byte picks how many of the next bytes are the key, the rest is the raw query;
 *   - never crash or read past the query, the result is 0 or 1, a value is never longer than the query;
 *   - a value found, percent-encoded again as "key=value" after a pair with a malformed escape (which must
 *     be skipped), decodes to itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static void encode(struct buf *b, const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                        check(buf_putc(b, (char) c) == 0);
                else
                        check(buf_printf(b, "%%%02X", c) == 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(buf_release) struct buf again = BUF_INIT(1 << 20);
        _cleanup_free_ char *key = NULL, *query = NULL, *v = NULL, *v2 = NULL;
        size_t klen, qlen;
        int r;

        if (size == 0)
                return 0;
        klen = data[0] % 16;
        if (klen > size - 1)
                klen = size - 1;
        key = strndup((const char *) data + 1, klen); /* a key stops at a NUL, as a C string does */
        qlen = size - 1 - klen;
        /* an exact-size copy, so that ASan catches any read past the end */
        query = malloc(qlen ? qlen : 1);
        check(key && query);
        memcpy(query, data + 1 + klen, qlen);

        r = httpd_query_value(query, qlen, key, &v);
        check(r == 0 || r == 1);
        if (r == 0)
                return 0;
        check(strlen(v) <= qlen);

        check(buf_puts(&again, "x%zz=1&") == 0);
        encode(&again, key);
        check(buf_putc(&again, '=') == 0);
        encode(&again, v);
        check(httpd_query_value(again.data, again.len, key, &v2) == 1);
        check(strcmp(v, v2) == 0);
        return 0;
}
