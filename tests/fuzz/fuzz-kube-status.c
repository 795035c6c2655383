/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for kube_status_decode(): the first two bytes choose the HTTP code (300-599), the rest is
 * the response body. Never crash, leak or hang; always an error code that matches the table for the HTTP
 * code and reason, and a one-line message starting with the HTTP code.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kube/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kube_error ke;
        struct merr err = MERR_INIT;
        char code[8];
        int http, r;

        if (size < 2)
                return 0;
        http = 300 + (int) (((unsigned) data[0] << 8 | data[1]) % 300);
        r = kube_status_decode(http, (const char *) data + 2, size - 2, &ke, &err);
        check(r < 0 && r == ke.code && r == err.code);
        check(r == kube_errno_from_http(http, ke.reason));
        check(ke.http_code == http);
        check(ke.n_causes <= KUBE_ERROR_MAX_CAUSES && ke.n_causes <= ke.n_causes_total);
        check(strlen(ke.reason) < sizeof(ke.reason) && strlen(ke.message) < sizeof(ke.message));
        (void) snprintf(code, sizeof(code), "%d", http);
        check(strncmp(err.msg, code, 3) == 0);
        /* NULL out-parameters are fine too */
        check(kube_status_decode(http, (const char *) data + 2, size - 2, NULL, NULL) == r);
        return 0;
}
