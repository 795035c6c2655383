/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the bodies mbox-apiserver decodes from callers (pkg/api/artifact.c): an Artifact to
 * create, strict and lax, and a merge patch of its labels and annotations:
 *   - never crash, leak or read past the input;
 *   - a body that parses has a name or a name prefix and a URI, and a workspace URI's path never climbs
 *     out (no . or .. segment).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "api/artifact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

/* Whether a path has a . or .. segment. */
static bool climbs(const char *path) {
        for (const char *s = path; *s; s += strcspn(s, "/")) {
                s += strspn(s, "/");
                size_t n = strcspn(s, "/");
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return true;
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (int strict = 0; strict < 2; strict++) {
                struct api_artifact a = {0};
                struct merr err = MERR_INIT;
                if (api_artifact_parse((const char *) data, size, strict, &a, &err) == 0) {
                        check((a.name || a.generate_name) && a.uri && a.kind);
                        if (strncmp(a.uri, ARTIFACT_WORKSPACE, strlen(ARTIFACT_WORKSPACE)) == 0)
                                check(a.path && a.path[0] == '/' && !climbs(a.path));
                }
                api_artifact_release(&a);
                merr_clear(&err);

                struct api_artifact_patch p = {0};
                json_object *labels = json_tokener_parse("{\"a\":\"b\"}"), *ann = json_object_new_object();
                if (api_artifact_merge_meta((const char *) data, size, strict, labels, ann, &p, &err) == 0)
                        check(json_object_is_type(labels, json_type_object) &&
                                json_object_is_type(ann, json_type_object));
                api_artifact_patch_release(&p);
                json_object_put(labels);
                json_object_put(ann);
        }
        return 0;
}
