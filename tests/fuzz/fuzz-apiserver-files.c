/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for api_files_parse_listing(), which reads the listing of a directory that a script
 * printed inside a sandbox (sandboxes/NAME/files): bytes its user controls. The input is the listing, after
 * the "dir\0" marker.
 *   - never crash or read past the input;
 *   - a refusal is -EINVAL or -ENOMEM with a message, and leaves nothing behind;
 *   - an accepted listing is an array of items whose name is 1 to 255 bytes without '/' (and not . or ..),
 *     whose type is file, dir, symlink or other, whose mode is 4 octal digits and whose size is not
 *     negative; only a symlink has a target; the array serializes to JSON that parses back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/internal.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *str(json_object *o, const char *key) {
        json_object *v = NULL;
        check(json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

static void check_item(json_object *it) {
        json_object *v = NULL;
        const char *name = str(it, "name"), *type = str(it, "type"), *mode = str(it, "mode");
        size_t n = (size_t) json_object_get_string_len(json_object_object_get(it, "name"));
        check(n >= 1 && n <= 255 && memchr(name, '/', n) == NULL);
        check(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
        check(!strcmp(type, "file") || !strcmp(type, "dir") || !strcmp(type, "symlink") ||
                !strcmp(type, "other"));
        check(strlen(mode) == 4 && strspn(mode, "01234567") == 4);
        check(json_object_object_get_ex(it, "size", &v) && json_object_get_int64(v) >= 0);
        check(json_object_object_get_ex(it, "target", NULL) == (strcmp(type, "symlink") == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct merr err = MERR_INIT;
        json_object *items = NULL;
        int r = api_files_parse_listing((const char *) data, size, &items, &err);
        if (r < 0) {
                check(items == NULL);
                check_refusal(r, &err);
                return 0;
        }
        check(json_object_is_type(items, json_type_array));
        for (size_t i = 0; i < json_object_array_length(items); i++)
                check_item(json_object_array_get_idx(items, i));
        const char *text = json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN);
        json_object *again = json_tokener_parse(text);
        check(again != NULL && json_object_array_length(again) == json_object_array_length(items));
        json_object_put(again);
        json_object_put(items);
        return 0;
}
