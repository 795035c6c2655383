/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for api_parse_path(), which splits every request path of runtime.mbox.dev:
 *   - never crash or read past the input;
 *   - on success no part is empty or holds a '/', a tail comes only after a subresource, and the parts
 *     joined again (the tail as it was) give the path back.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *path = malloc(size + 1), buf[512], again[1700];
        struct api_path p;
        if (!path)
                return 0;
        memcpy(path, data, size);
        path[size] = '\0';
        if (api_parse_path(path, buf, sizeof(buf), &p) == 0) {
                const char *parts[] = {p.namespace, p.resource, p.name, p.subresource};
                for (size_t i = 0; i < 4; i++)
                        check(!parts[i] || (*parts[i] && !strchr(parts[i], '/')));
                check(p.resource != NULL && (!p.subresource || p.name) && (!p.tail || p.subresource));
                snprintf(again, sizeof(again), "%s%s%s/%s%s%s%s%s%s%s", p.namespace ? "/namespaces/" : "",
                        p.namespace ? p.namespace : "", "", p.resource, p.name ? "/" : "",
                        p.name ? p.name : "", p.subresource ? "/" : "", p.subresource ? p.subresource : "",
                        p.tail ? "/" : "", p.tail ? p.tail : "");
                check(strcmp(again, path) == 0);
        }
        free(path);
        return 0;
}
