/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the streaming list decoder: the first byte picks a chunk size, the rest is the
 * body. Never crash or leak; the body decoded in chunks and in one piece gives the same result and the same
 * items; and a body the decoder accepts is one JSON document that json_parse() accepts whole. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"
#include "kube/liststream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sum {
        size_t n;
        uint64_t hash; /* FNV-1a over the items' JSON text, in order */
};

static int add(json_object *item, void *userdata) {
        struct sum *s = userdata;
        size_t len = 0;
        const char *t = json_object_to_json_string_length(item, JSON_C_TO_STRING_PLAIN, &len);

        s->n++;
        for (size_t i = 0; t && i < len; i++)
                s->hash = (s->hash ^ (uint8_t) t[i]) * 1099511628211u;
        s->hash = (s->hash ^ 0xff) * 1099511628211u;
        return 0;
}

static int decode(const char *body, size_t size, size_t chunk, struct sum *s, json_object **ret) {
        _cleanup_(kube_list_stream_freep) struct kube_list_stream *d = NULL;
        int r = 0;

        s->n = 0;
        s->hash = 1469598103934665603u;
        if (kube_list_stream_new(1 << 12, &d) < 0)
                return -ENOMEM;
        for (size_t off = 0; off < size && r >= 0; off += chunk)
                r = kube_list_stream_feed(
                        d, body + off, size - off < chunk ? size - off : chunk, add, s, NULL);
        return r < 0 ? r : kube_list_stream_finish(d, ret, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_json_ json_object *la = NULL, *lb = NULL, *whole = NULL;
        struct sum a, b;
        int ra, rb;
        size_t chunk;

        if (size < 1)
                return 0;
        chunk = (size_t) data[0] + 1;
        data++;
        size--;
        ra = decode((const char *) data, size, chunk, &a, &la);
        rb = decode((const char *) data, size, size > 0 ? size : 1, &b, &lb);
        if (ra == -ENOMEM || rb == -ENOMEM)
                return 0;
        if (ra != rb || a.n != b.n || a.hash != b.hash)
                __builtin_trap();
        /* items nest up to 128 levels below the list's two */
        if (rb >= 0 && json_parse((const char *) data, size, 131, &whole, NULL) < 0)
                __builtin_trap();
        return 0;
}
