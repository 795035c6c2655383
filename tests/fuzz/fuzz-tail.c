/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the tail of a command's output (untrusted bytes that end up in task status):
 *   - the first byte picks the ring's size (1..256), the rest is fed in chunks whose sizes come from the
 *     data itself;
 *   - tail_text() never reads past the ring, returns at most cap bytes, and its result is well-formed
 *     UTF-8 (checked here independently with mbrtowc-free rules) with every '?' accounted for;
 *   - with only ASCII input, the text is exactly the last cap bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static bool well_formed(const unsigned char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                size_t k = c < 0x80             ? 1
                           : (c & 0xE0) == 0xC0 ? 2
                           : (c & 0xF0) == 0xE0 ? 3
                           : (c & 0xF8) == 0xF0 ? 4
                                                : 0;
                if (k == 0 || i + k > n)
                        return false;
                uint32_t cp = k == 1 ? c : k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
                for (size_t j = 1; j < k; j++) {
                        if ((s[i + j] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + j] & 0x3F);
                }
                static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
                if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += k;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        size_t cap = (size_t) data[0] + 1;
        struct tail t;
        check(tail_init(&t, cap) == 0);
        const char *in = (const char *) data + 1;
        size_t left = size - 1, off = 0;
        bool ascii = true;
        for (size_t i = 0; i < left; i++)
                ascii &= in[i] > 0 && (unsigned char) in[i] < 0x80;
        while (off < left) {
                size_t chunk = (size_t) (unsigned char) in[off] % 37 + 1;
                if (chunk > left - off)
                        chunk = left - off;
                tail_add(&t, in + off, chunk);
                off += chunk;
        }
        check(t.total == left);
        size_t n = 0;
        char *s = tail_text(&t, &n);
        check(s != NULL);
        check(n <= cap && n <= left && s[n] == '\0');
        check(well_formed((const unsigned char *) s, n));
        if (ascii) {
                size_t keep = left < cap ? left : cap;
                check(n == keep && memcmp(s, in + left - keep, keep) == 0);
        }
        free(s);
        tail_release(&t);
        return 0;
}
