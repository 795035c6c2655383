/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the typed views of the mbox.dev kinds: bytes go through yaml_to_json() and then each
 * document through all four *_from_json(). Never crash or leak; a refusal carries -EINVAL or -ENOMEM and a
 * message; an accepted object emits JSON that parses back to an equal object, and emitting is stable.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "api/project.h"
#include "api/sandbox.h"
#include "api/task.h"
#include "api/template.h"
#include "yaml2json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static void check_refusal(int r, const struct merr *err) {
        check(r == -EINVAL || r == -ENOMEM);
        check(err->code == r && err->msg[0] != '\0');
}

#define ROUND_TRIP(T, doc)                                   \
        do {                                                 \
                struct merr err = MERR_INIT;                 \
                struct T *a = NULL, *b = NULL;               \
                json_object *out = NULL, *out2 = NULL;       \
                int r = T##_from_json(doc, &a, &err);        \
                if (r < 0) {                                 \
                        check(a == NULL);                    \
                        check_refusal(r, &err);              \
                        break;                               \
                }                                            \
                check(T##_to_json(a, &out) == 0);            \
                check(T##_from_json(out, &b, &err) == 0);    \
                check(T##_equal(a, b));                      \
                check(T##_validate_update(a, b, NULL) == 0); \
                check(T##_to_json(b, &out2) == 0);           \
                check(json_object_equal(out, out2));         \
                json_object_put(out2);                       \
                out2 = NULL;                                 \
                check(T##_status_to_json(a, &out2) == 0);    \
                json_object_put(out2);                       \
                json_object_put(out);                        \
                T##_free(a);                                 \
                T##_free(b);                                 \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct yaml_limits lim = {
                .max_bytes = 1 << 20,
                .max_depth = 64,
                .max_nodes = 50000,
                .max_alias_expansion = 20000,
        };
        json_object *docs = NULL;
        size_t n;

        if (yaml_to_json((const char *) data, size, &lim, &docs, NULL) < 0)
                return 0;
        n = json_object_array_length(docs);
        for (size_t i = 0; i < n; i++) {
                json_object *doc = json_object_array_get_idx(docs, i);
                ROUND_TRIP(project, doc);
                ROUND_TRIP(template, doc);
                ROUND_TRIP(sandbox, doc);
                ROUND_TRIP(task, doc);
        }
        json_object_put(docs);
        return 0;
}
