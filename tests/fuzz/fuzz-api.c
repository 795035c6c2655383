/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the typed views of the mbox.dev kinds: bytes go through yaml_to_json() and then each
 * document through all four *_from_json(). Never crash or leak; a refusal carries -EINVAL or -ENOMEM and a
 * message; an accepted object emits JSON that parses back to an equal object, and emitting is stable.
 */
#include <stdint.h>

#include "api/project.h"
#include "api/sandbox.h"
#include "api/task.h"
#include "api/template.h"
#include "fuzzutil.h"
#include "yaml2json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* beyond the round trip: its status emits */
#define KIND(T, doc)                                    \
        ROUND_TRIP(T, doc, {                            \
                json_object *st = NULL;                 \
                check(T##_status_to_json(a, &st) == 0); \
                json_object_put(st);                    \
        })

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
                KIND(project, doc);
                KIND(template, doc);
                KIND(sandbox, doc);
                KIND(task, doc);
        }
        json_object_put(docs);
        return 0;
}
