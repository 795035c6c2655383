/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for yaml_to_json(): never crash, leak or hang, and check what comes out:
 *   - failures carry the returned code and a one-line message that says where ("line L, column C: "),
 *     except the two about the whole input (its size, no document at all);
 *   - success gives an array of non-null documents that serialises to strict JSON (valid UTF-8, finite
 *     numbers, nesting within the limit) which json-c parses back to the same values;
 *   - yaml_to_json_one() agrees: it succeeds exactly when the stream has one document, with that document.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "yaml2json.h"

#define FUZZ_DEPTH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

/* Same JSON value; numbers compare by value, since 1000.0 prints as 1000 and reads back as an integer. */
static bool same(json_object *a, json_object *b, int depth) {
        json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
        size_t n;

        check(depth <= FUZZ_DEPTH + 1);
        if ((ta == json_type_int || ta == json_type_double) &&
                (tb == json_type_int || tb == json_type_double)) {
                if (ta == json_type_int && tb == json_type_int)
                        return json_object_get_int64(a) == json_object_get_int64(b);
                return json_object_get_double(a) == json_object_get_double(b);
        }
        if (ta != tb)
                return false;
        switch (ta) {
        case json_type_null:
                return true;
        case json_type_boolean:
                return json_object_get_boolean(a) == json_object_get_boolean(b);
        case json_type_string:
                return json_object_get_string_len(a) == json_object_get_string_len(b) &&
                       memcmp(json_object_get_string(a), json_object_get_string(b),
                               (size_t) json_object_get_string_len(a)) == 0;
        case json_type_array:
                n = json_object_array_length(a);
                if (n != json_object_array_length(b))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!same(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i),
                                    depth + 1))
                                return false;
                return true;
        case json_type_object:
                if (json_object_object_length(a) != json_object_object_length(b))
                        return false;
                {
                        json_object_object_foreach (a, k, va) {
                                json_object *vb;

                                if (!json_object_object_get_ex(b, k, &vb) || !same(va, vb, depth + 1))
                                        return false;
                        }
                }
                return true;
        default:
                return false;
        }
}

static void check_error(int r, const struct merr *err) {
        check(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
        check(err->code == r);
        check(err->msg[0] != '\0' && !strchr(err->msg, '\n'));
        if (r == -EINVAL || r == -E2BIG)
                check(strncmp(err->msg, "line ", 5) == 0 || strncmp(err->msg, "input of ", 9) == 0 ||
                        strncmp(err->msg, "no document", 11) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct yaml_limits lim = {
                .max_bytes = 1 << 20,
                .max_depth = FUZZ_DEPTH,
                .max_nodes = 50000,
                .max_alias_expansion = 20000,
        };
        struct merr err = MERR_INIT, err_one = MERR_INIT;
        json_object *docs = NULL, *one = NULL, *back;
        struct json_tokener *tok;
        const char *text;
        size_t n;
        int r, r_one;

        r = yaml_to_json((const char *) data, size, &lim, &docs, &err);
        r_one = yaml_to_json_one((const char *) data, size, &lim, &one, &err_one);
        if (r < 0) {
                check(docs == NULL);
                check_error(r, &err);
                check(r_one < 0 && one == NULL);
                check_error(r_one, &err_one);
                return 0;
        }

        check(json_object_is_type(docs, json_type_array));
        n = json_object_array_length(docs);
        for (size_t i = 0; i < n; i++)
                check(json_object_array_get_idx(docs, i) != NULL);

        text = json_object_to_json_string_ext(docs, JSON_C_TO_STRING_PLAIN);
        check(text != NULL);
        tok = json_tokener_new_ex(FUZZ_DEPTH + 1); /* the documents, one level down in the array */
        check(tok != NULL);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        back = json_tokener_parse_ex(tok, text, (int) strlen(text) + 1);
        check(back != NULL && json_tokener_get_error(tok) == json_tokener_success);
        json_tokener_free(tok);
        check(same(docs, back, 0));
        json_object_put(back);

        if (n == 1) {
                check(r_one == 0 && one != NULL);
                check(same(one, json_object_array_get_idx(docs, 0), 0));
        } else {
                check(r_one == -EINVAL && one == NULL);
                check_error(r_one, &err_one);
        }
        json_object_put(one);
        json_object_put(docs);
        return 0;
}
