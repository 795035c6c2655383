/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for preview_token_verify() over untrusted bytes (a link's query, a cookie): never
 * crash; a failure is -EBADMSG or -EKEYEXPIRED and leaves the claims untouched. The input is the token
 * itself, checked against a fixed key; a token that verifies (only a seed signed with that key can) signs
 * back to the same text. The seed corpus holds tokens signed with the key below, and damaged copies.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "previewtoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct preview_key *fixed_key(void) {
        static struct preview_key *k;
        if (!k) {
                /* the key the seeds were signed with: 32 bytes of 'k' */
                char path[] = "/tmp/fuzz-previewtoken-XXXXXX";
                int fd = mkstemp(path);
                check(fd >= 0);
                for (int i = 0; i < 32; i++)
                        check(write(fd, "k", 1) == 1);
                close(fd);
                check(preview_key_load(path, &k, NULL) == 0);
                unlink(path);
        }
        return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct preview_key *k = fixed_key();
        struct preview_claims c, untouched;
        memset(&c, 0x5a, sizeof(c));
        memcpy(&untouched, &c, sizeof(c));
        int r = preview_token_verify(k, (const char *) data, size, 0, &c);
        if (r < 0) {
                check(r == -EBADMSG || r == -EKEYEXPIRED);
                check(memcmp(&c, &untouched, sizeof(c)) == 0);
                return 0;
        }
        check(r == 0 && c.expires > 0);
        check(c.kind == PREVIEW_TOKEN_LINK || c.kind == PREVIEW_TOKEN_COOKIE);
        char *again = NULL;
        check(preview_token_sign(k, &c, &again) == 0);
        check(strlen(again) == size && memcmp(again, data, size) == 0);
        free(again);
        return 0;
}
