/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the unit tests that build mbox objects: a JSON tree from a literal, an EnvironmentTemplate
 * from a few spec fields. */
#pragma once

#include <stdio.h>
#include <string.h>

#include "api/template.h"
#include "jsonutil.h"
#include "testutil.h"

/* The tree of JSON text s (new reference); fails the test when s is not JSON. */
static inline json_object *test_parse(const char *s) {
        json_object *o = NULL;
        struct merr e = MERR_INIT;

        ck_assert_msg(json_parse(s, strlen(s), 0, &o, &e) == 0, "%s: %s", s, merr_msg(&e));
        return o;
}

/* EnvironmentTemplate p/box running busybox's sh, with extra spec fields (",\"key\":value..."). */
static inline struct template *test_template(const char *extra) {
        char buf[2048];
        struct template *t = NULL;
        struct merr e = MERR_INIT;
        json_object *o;

        snprintf(buf, sizeof(buf),
                "{\"apiVersion\":\"mbox.dev/v1alpha1\",\"kind\":\"EnvironmentTemplate\","
                "\"metadata\":{\"name\":\"box\",\"namespace\":\"p\"},"
                "\"spec\":{\"image\":\"busybox:1.36\",\"command\":[\"sh\"]%s}}",
                extra);
        o = test_parse(buf);
        ck_assert_msg(template_from_json(o, &t, &e) == 0, "%s", merr_msg(&e));
        json_object_put(o);
        return t;
}
