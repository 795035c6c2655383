/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the asciicast encoder (terminal output and input are untrusted bytes, and so is a
 * resize message):
 *   - the first byte picks the stream ('o' or 'i') and whether it ends with a flush, the rest is fed in
 *     pieces whose sizes come from the data itself;
 *   - every line written is one JSON array [number, type, string] that json-c parses whole, and what its
 *     strings hold together is valid UTF-8 (json-c checks that);
 *   - with only printable ASCII input, the strings joined are exactly the input;
 *   - the input is also read as a resize message, which either fails or gives 1..65535 both ways.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "asciicast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        char type = data[0] & 1 ? 'i' : 'o';
        bool flush = data[0] & 2;
        const char *in = (const char *) data + 1;
        size_t left = size - 1, off = 0;
        bool printable = true;
        for (size_t i = 0; i < left; i++)
                printable &= in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != '\\';
        unsigned w = 0, h = 0;
        if (asciicast_parse_resize(in, left, &w, &h) == 0)
                check(w >= 1 && w <= 65535 && h >= 1 && h <= 65535);
        struct buf out = BUF_INIT(64u << 20), joined = BUF_INIT(64u << 20);
        struct asciicast_text t = {0};
        while (off < left) {
                size_t chunk = (size_t) (unsigned char) in[off] % 41 + 1;
                if (chunk > left - off)
                        chunk = left - off;
                check(asciicast_text(&out, &t, 1.0, type, in + off, chunk, false) == 0);
                off += chunk;
        }
        if (flush) {
                check(asciicast_text(&out, &t, 2.0, type, NULL, 0, true) == 0);
                check(t.tail_len == 0);
        }
        check(t.tail_len <= 3);
        json_tokener *tok = json_tokener_new();
        check(tok != NULL);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        for (const char *p = buf_str(&out); *p;) {
                const char *end = strchr(p, '\n');
                check(end != NULL);
                json_tokener_reset(tok);
                json_object *o = json_tokener_parse_ex(tok, p, (int) (end - p));
                check(o && json_tokener_get_error(tok) == json_tokener_success &&
                        json_tokener_get_parse_end(tok) == (size_t) (end - p));
                check(json_object_is_type(o, json_type_array) && json_object_array_length(o) == 3);
                check(json_object_is_type(json_object_array_get_idx(o, 0), json_type_double));
                const char *ty = json_object_get_string(json_object_array_get_idx(o, 1));
                check(ty && ty[0] == type && ty[1] == '\0');
                json_object *s = json_object_array_get_idx(o, 2);
                check(json_object_is_type(s, json_type_string) && json_object_get_string_len(s) > 0);
                check(buf_append(&joined, json_object_get_string(s),
                              (size_t) json_object_get_string_len(s)) == 0);
                json_object_put(o);
                p = end + 1;
        }
        json_tokener_free(tok);
        if (printable)
                check(joined.len == left && memcmp(joined.data ? joined.data : "", in, left) == 0);
        buf_release(&out);
        buf_release(&joined);
        return 0;
}
