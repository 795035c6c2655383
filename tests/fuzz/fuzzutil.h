/* SPDX-License-Identifier: Apache-2.0 */
/* Shared checks of the libFuzzer targets: a failed check is a crash libFuzzer reports with its input. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "merr.h"

static inline void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

/* A parser's refusal: -EINVAL or -ENOMEM, and a message saying why. */
static inline void check_refusal(int r, const struct merr *err) {
        check(r == -EINVAL || r == -ENOMEM);
        check(err->code == r && err->msg[0] != '\0');
}

/* The round trip of a typed view T (T_from_json, T_to_json, T_free) over doc: a refusal leaves nothing
 * behind; an accepted object emits JSON that parses back (b), and emitting b gives the same text. EXTRA (a statement) runs with both objects, a and b, before they are freed. */
#define ROUND_TRIP(T, doc, EXTRA)                                                                  \
        do {                                                                                       \
                struct merr err = MERR_INIT;                                                       \
                struct T *a = NULL, *b = NULL;                                                     \
                json_object *out = NULL, *out2 = NULL;                                             \
                int r = T##_from_json(doc, &a, &err);                                              \
                if (r < 0) {                                                                       \
                        check(a == NULL);                                                          \
                        check_refusal(r, &err);                                                    \
                        break;                                                                     \
                }                                                                                  \
                check(T##_to_json(a, &out) == 0);                                                  \
                check(T##_from_json(out, &b, &err) == 0);                                          \
                check(T##_to_json(b, &out2) == 0);                                                 \
                check(strcmp(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),          \
                              json_object_to_json_string_ext(out2, JSON_C_TO_STRING_PLAIN)) == 0); \
                EXTRA;                                                                             \
                json_object_put(out);                                                              \
                json_object_put(out2);                                                             \
                T##_free(a);                                                                       \
                T##_free(b);                                                                       \
        } while (0)
