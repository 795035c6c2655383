/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what the web console's listener reads from browsers before anything else
 * (pkg/apiserver/console.c, listener.c):
 *   - byte 0 picks the parser: 0 the sign-in body ({"token":"..."}), 1 the request path of a file, 2 a
 *     request head whose mbox_console cookie is looked up; the rest is the input;
 *   - api_console_signin_token() never reads past the input; a token it accepts is non-empty, fits, and
 *     holds only characters a cookie can carry;
 *   - api_console_file() gives a path below the directory: no leading '/', no empty, "." or ".." segment,
 *     no NUL or backslash;
 *   - api_cookie_get() gives a value that was in the head and fits its buffer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static void file_path(const char *p, size_t n) {
        char out[256];
        if (api_console_file(p, n, out, sizeof(out)) != 0)
                return;
        size_t len = strlen(out);
        check(len < sizeof(out) && out[0] != '/' && !strchr(out, '\\'));
        /* every segment but a last empty one (a trailing slash) is a name */
        for (const char *s = out; *s;) {
                size_t k = strcspn(s, "/");
                check(k > 0);
                check(!(k == 1 && s[0] == '.') && !(k == 2 && s[0] == '.' && s[1] == '.'));
                s += k;
                if (*s == '/')
                        s++;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        const char *in = (const char *) data + 1;
        size_t n = size - 1;
        switch (data[0] % 3) {
        case 0: {
                char tok[64];
                if (api_console_signin_token(in, n, tok, sizeof(tok)) == 0) {
                        size_t len = strlen(tok);
                        check(len > 0 && len < sizeof(tok));
                        for (size_t i = 0; i < len; i++)
                                check(tok[i] > 0x20 && tok[i] < 0x7f && !strchr("\",;\\", tok[i]));
                }
                break;
        }
        case 1:
                file_path(in, n);
                break;
        default: {
                struct http_head h;
                char v[64];
                if (http_head_parse(in, n, HTTP_REQUEST, &h) <= 0)
                        break;
                for (size_t k = 0; k < 4 && api_cookie_get(&h, "mbox_console", k, v, sizeof(v)); k++)
                        check(strlen(v) < sizeof(v) && memmem(in, n, v, strlen(v)));
        }
        }
        return 0;
}
