/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the typed views of the agent-sandbox kinds mbox writes (pkg/api/agentsandbox.c): the
 * bytes are parsed as JSON, as the API server sends these objects, and go through all three *_from_json().
 * Never crash or leak; a refusal carries -EINVAL or -ENOMEM and a message; an accepted object emits JSON
 * that parses back to an equal object, and emitting that again gives the same text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "api/agentsandbox.h"
#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

#define ROUND_TRIP(T, doc)                                                                         \
        do {                                                                                       \
                struct merr err = MERR_INIT;                                                       \
                struct T *a = NULL, *b = NULL;                                                     \
                json_object *out = NULL, *out2 = NULL;                                             \
                int r = T##_from_json(doc, &a, &err);                                              \
                if (r < 0) {                                                                       \
                        check(a == NULL);                                                          \
                        check(r == -EINVAL || r == -ENOMEM);                                       \
                        check(err.code == r && err.msg[0] != '\0');                                \
                        break;                                                                     \
                }                                                                                  \
                check(T##_to_json(a, &out) == 0);                                                  \
                check(T##_from_json(out, &b, &err) == 0);                                          \
                check(T##_equal(a, b));                                                            \
                check(T##_to_json(b, &out2) == 0);                                                 \
                check(strcmp(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),          \
                              json_object_to_json_string_ext(out2, JSON_C_TO_STRING_PLAIN)) == 0); \
                json_object_put(out);                                                              \
                json_object_put(out2);                                                             \
                T##_free(a);                                                                       \
                T##_free(b);                                                                       \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_object *doc = NULL;

        if (json_parse((const char *) data, size, 0, &doc, NULL) < 0)
                return 0;
        ROUND_TRIP(as_template, doc);
        ROUND_TRIP(as_warmpool, doc);
        ROUND_TRIP(as_claim, doc);
        json_object_put(doc);
        return 0;
}
