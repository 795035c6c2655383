/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the watch-stream decoder: the first byte picks a chunk size, the rest is the body.
 * Never crash or leak; the same body decoded in one piece gives the same number of events. */
#include <stdint.h>
#include <string.h>

#include "kube/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const struct kube_watch_event *ev, void *userdata) {
        (void) ev;
        (*(int *) userdata)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(kube_watch_decoder_freep) struct kube_watch_decoder *a = NULL, *b = NULL;
        int na = 0, nb = 0, ra = 0, rb;
        size_t chunk;

        if (size < 1)
                return 0;
        chunk = (size_t) data[0] + 1;
        data++;
        size--;
        if (kube_watch_decoder_new(1 << 16, &a) < 0 || kube_watch_decoder_new(1 << 16, &b) < 0)
                return 0;
        for (size_t off = 0; off < size && ra >= 0; off += chunk)
                ra = kube_watch_decoder_feed(a, (const char *) data + off,
                        size - off < chunk ? size - off : chunk, count, &na, NULL);
        rb = kube_watch_decoder_feed(b, (const char *) data, size, count, &nb, NULL);
        if ((ra < 0) != (rb < 0) || (ra >= 0 && na != nb))
                __builtin_trap();
        return 0;
}
