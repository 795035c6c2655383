/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for json_parse(): never crash or leak, and what parses must serialise and parse again. */
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_json_ json_object *o = NULL, *again = NULL;
        struct merr e = MERR_INIT;
        const char *s, *str;

        if (json_parse((const char *) data, size, 32, &o, &e) < 0) {
                if (e.code == 0 || strlen(e.msg) == 0)
                        __builtin_trap(); /* every failure must explain itself */
                return 0;
        }
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (json_parse(s, strlen(s), 64, &again, &e) < 0)
                __builtin_trap();
        (void) json_get_string(o, "a.b[0].c", JSON_OPTIONAL, &str, &e);
        return 0;
}
