/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the typed views of the agent-sandbox kinds mbox writes (pkg/api/agentsandbox.c): the
 * bytes are parsed as JSON, as the API server sends these objects, and go through all three *_from_json().
 * Never crash or leak; a refusal carries -EINVAL or -ENOMEM and a message; an accepted object emits JSON
 * that parses back to an equal object, and emitting that again gives the same text.
 */
#include <stdint.h>

#include "api/agentsandbox.h"
#include "fuzzutil.h"
#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_object *doc = NULL;

        if (json_parse((const char *) data, size, 0, &doc, NULL) < 0)
                return 0;
        ROUND_TRIP(as_template, doc, (void) 0);
        ROUND_TRIP(as_warmpool, doc, (void) 0);
        ROUND_TRIP(as_claim, doc, (void) 0);
        json_object_put(doc);
        return 0;
}
