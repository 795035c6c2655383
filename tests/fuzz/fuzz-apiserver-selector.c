/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the label and field selectors of runtime.mbox.dev lists (selector.c):
 *   - never crash or read past the input;
 *   - on success every $N in the SQL names a parameter that exists, and no quote, semicolon or comment
 *     reaches the SQL text: values travel only as parameters.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct store_field fields[] = {{"object.kind", "kind"}, {"object.name", "name"}, {NULL, NULL}};

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static void check_sql(const struct api_query *q) {
        const char *w = buf_str(&q->where);
        check(!strpbrk(w, "'\";") && !strstr(w, "--") && !strstr(w, "/*"));
        for (const char *p = strchr(w, '$'); p; p = strchr(p + 1, '$')) {
                long n = strtol(p + 1, NULL, 10);
                check(n >= 1 && n <= q->n);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *sel = malloc(size + 1);
        if (!sel)
                return 0;
        memcpy(sel, data, size);
        sel[size] = '\0';
        for (int labels = 0; labels < 2; labels++) {
                struct api_query q = {.where = BUF_INIT(64 * 1024)};
                struct merr err = MERR_INIT;
                int r = labels ? api_label_selector(sel, "(object->'metadata'->'labels')", &q, &err)
                               : api_field_selector(sel, fields, &q, &err);
                if (r == 0 && !labels)
                        check_sql(&q);
                if (r == 0 && labels) {
                        /* the labels expression is the caller's; the rest must be clean */
                        struct api_query copy = q;
                        char *w = strdup(buf_str(&q.where));
                        if (w) {
                                for (char *p; (p = strstr(w, "(object->'metadata'->'labels')"));)
                                        memset(p, 'L', strlen("(object->'metadata'->'labels')"));
                                struct buf b = BUF_INIT(64 * 1024);
                                if (buf_puts(&b, w) == 0) {
                                        copy.where = b;
                                        check_sql(&copy);
                                }
                                buf_release(&b);
                                free(w);
                        }
                }
                api_query_free(&q);
        }
        free(sel);
        return 0;
}
