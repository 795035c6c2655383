/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for pkg/httpmsg, which reads the heads and bodies of every request a preview gateway
 * receives from browsers and every response it receives from sandboxed apps:
 *   - the first input byte picks request or response and a piece size; the rest is the message;
 *   - http_head_parse() never reads past the input, returns 0 (incomplete), the head's size within the
 *     input, or -EBADMSG / -E2BIG; a parsed head's fields lie inside the input;
 *   - a parsed head's body, fed in pieces of any size, takes at most what it is given and the same bytes
 *     whatever the piece size (framing does not depend on how bytes arrive).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static size_t body_len(const struct http_head *h, enum http_kind kind, const char *p, size_t n, size_t step,
        bool *done, bool *bad) {
        struct http_body b;
        size_t used = 0;
        if (http_body_init(&b, h, kind, "GET") < 0) {
                *bad = true;
                return 0;
        }
        while (used < n && !http_body_done(&b) && !b.bad) {
                size_t k = n - used < step ? n - used : step;
                size_t took = http_body_feed(&b, p + used, k);
                check(took <= k);
                used += took;
                if (took < k)
                        break;
        }
        *done = http_body_done(&b);
        *bad = b.bad;
        return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        enum http_kind kind = data[0] & 1 ? HTTP_RESPONSE : HTTP_REQUEST;
        size_t step = (size_t) (data[0] >> 1) + 1;
        size_t n = size - 1;
        char *msg = malloc(n ? n : 1); /* an exact-size copy, so that ASan catches any read past the end */
        check(msg != NULL);
        memcpy(msg, data + 1, n);
        struct http_head h;
        long r = http_head_parse(msg, n, kind, &h);
        check(r == 0 || r == -EBADMSG || r == -E2BIG || (r > 0 && (size_t) r <= n));
        if (r > 0) {
                for (size_t i = 0; i < h.n_fields; i++) {
                        const struct http_field *f = &h.fields[i];
                        check(f->name >= msg && f->name + f->name_len <= msg + r);
                        check(f->value >= msg && f->value + f->value_len <= msg + r);
                }
                bool d1, b1, d2, b2;
                size_t a = body_len(&h, kind, msg + r, n - (size_t) r, step, &d1, &b1);
                size_t c = body_len(&h, kind, msg + r, n - (size_t) r, 1, &d2, &b2);
                check(b1 == b2);
                if (!b1)
                        check(a == c && d1 == d2);
        }
        free(msg);
        return 0;
}
