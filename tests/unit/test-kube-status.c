/* SPDX-License-Identifier: Apache-2.0 */
/* metav1.Status decoding of the error bodies a real API server sends, and the errno mapping. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube/status.h"
#include "testutil.h"

static int decode(int http, const char *body, struct kube_error *ke, struct merr *e) {
        return kube_status_decode(http, body, body ? strlen(body) : 0, ke, e);
}

START_TEST(test_not_found) {
        const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                        "\"message\":\"configmaps \\\"web\\\" not found\",\"reason\":\"NotFound\","
                        "\"details\":{\"name\":\"web\",\"kind\":\"configmaps\"},\"code\":404}\n";
        struct kube_error ke;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(decode(404, b, &ke, &e), -ENOENT);
        ck_assert_int_eq(e.code, -ENOENT);
        ck_assert_str_eq(e.msg, "404 NotFound: configmaps \"web\" not found");
        ck_assert_int_eq(ke.http_code, 404);
        ck_assert_int_eq(ke.status_code, 404);
        ck_assert_int_eq(ke.code, -ENOENT);
        ck_assert_str_eq(ke.reason, "NotFound");
        ck_assert_str_eq(ke.name, "web");
        ck_assert_str_eq(ke.kind, "configmaps");
        ck_assert_uint_eq(ke.n_causes, 0);
}
END_TEST

START_TEST(test_conflict_and_already_exists) {
        const char *conflict =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":"
                "\"Operation cannot be fulfilled on configmaps \\\"counter\\\": the object has been "
                "modified; "
                "please apply your changes to the latest version and try again\",\"reason\":\"Conflict\","
                "\"details\":{\"name\":\"counter\",\"kind\":\"configmaps\"},\"code\":409}";
        const char *exists =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"configmaps \\\"web\\\" already exists\",\"reason\":\"AlreadyExists\","
                "\"details\":{\"name\":\"web\",\"kind\":\"configmaps\"},\"code\":409}";
        /* server-side apply conflicts are 409 Conflict with one cause per field */
        const char *ssa =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"Apply failed with 1 conflict: conflict with \\\"mbox-test\\\": .data.owner\","
                "\"reason\":\"Conflict\",\"details\":{\"causes\":[{\"reason\":\"FieldManagerConflict\","
                "\"message\":\"conflict with \\\"mbox-test\\\"\",\"field\":\".data.owner\"}]},"
                "\"code\":409}";
        struct kube_error ke;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(decode(409, conflict, &ke, &e), -ESTALE);
        ck_assert_str_eq(ke.reason, "Conflict");
        ck_assert(strncmp(e.msg, "409 Conflict: Operation cannot be fulfilled", 43) == 0);
        ck_assert_int_eq(decode(409, exists, &ke, &e), -EEXIST);
        ck_assert_str_eq(e.msg, "409 AlreadyExists: configmaps \"web\" already exists");
        ck_assert_int_eq(decode(409, ssa, &ke, &e), -ESTALE);
        ck_assert_uint_eq(ke.n_causes, 1);
        ck_assert_str_eq(ke.causes[0].reason, "FieldManagerConflict");
        ck_assert_str_eq(ke.causes[0].field, ".data.owner");
        /* the message names the field already: no repetition */
        ck_assert_str_eq(e.msg,
                "409 Conflict: Apply failed with 1 conflict: conflict with \"mbox-test\": .data.owner");
}
END_TEST

START_TEST(test_invalid_with_causes) {
        const char *b =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":"
                "\"SandboxTemplate.extensions.agents.x-k8s.io \\\"bad\\\" is invalid: "
                "[spec.envVarsInjectionPolicy: "
                "Unsupported value: \\\"Sometimes\\\": supported values: \\\"Allowed\\\", \\\"Overrides\\\", "
                "\\\"Disallowed\\\", spec.podTemplate.spec.containers: Required "
                "value]\",\"reason\":\"Invalid\","
                "\"details\":{\"name\":\"bad\",\"group\":\"extensions.agents.x-k8s.io\",\"kind\":"
                "\"SandboxTemplate\","
                "\"causes\":[{\"reason\":\"FieldValueNotSupported\",\"message\":\"Unsupported value: "
                "\\\"Sometimes\\\"\",\"field\":\"spec.envVarsInjectionPolicy\"},{\"reason\":"
                "\"FieldValueRequired\","
                "\"message\":\"Required value\",\"field\":\"spec.podTemplate.spec.containers\"},"
                "{\"reason\":\"FieldValueInvalid\",\"message\":\"must be positive\",\"field\":\"spec.x\"}]},"
                "\"code\":422}";
        struct kube_error ke;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(decode(422, b, &ke, &e), -EINVAL);
        ck_assert_str_eq(ke.reason, "Invalid");
        ck_assert_str_eq(ke.kind, "SandboxTemplate");
        ck_assert_uint_eq(ke.n_causes, 3);
        ck_assert_uint_eq(ke.n_causes_total, 3);
        ck_assert_str_eq(ke.causes[1].reason, "FieldValueRequired");
        ck_assert_str_eq(ke.causes[1].field, "spec.podTemplate.spec.containers");
        ck_assert_str_eq(ke.causes[1].message, "Required value");
        /* the cause the message does not mention is appended */
        ck_assert_msg(strstr(e.msg, "; spec.x: must be positive") != NULL, "%s", e.msg);
        ck_assert_msg(strstr(e.msg, "; spec.envVarsInjectionPolicy") == NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_many_causes_are_capped) {
        char body[8192];
        size_t n = 0;
        struct kube_error ke;

        n += (size_t) snprintf(body + n, sizeof(body) - n,
                "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Invalid\",\"details\":{\"causes\":"
                "[");
        for (int i = 0; i < 20; i++)
                n += (size_t) snprintf(body + n, sizeof(body) - n,
                        "%s{\"type\":\"FieldValueRequired\",\"field\":\"f%d\"}", i ? "," : "", i);
        (void) snprintf(body + n, sizeof(body) - n, "]},\"code\":422}");
        ck_assert_int_eq(decode(422, body, &ke, NULL), -EINVAL);
        ck_assert_uint_eq(ke.n_causes, KUBE_ERROR_MAX_CAUSES);
        ck_assert_uint_eq(ke.n_causes_total, 20);
        ck_assert_str_eq(ke.causes[3].reason, "FieldValueRequired"); /* older servers say "type" */
        ck_assert_str_eq(ke.causes[3].field, "f3");
}
END_TEST

START_TEST(test_forbidden_and_unauthorized) {
        const char *forbidden =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":"
                "\"configmaps is forbidden: User \\\"system:anonymous\\\" cannot list resource "
                "\\\"configmaps\\\" "
                "in API group \\\"\\\" in the namespace \\\"default\\\"\",\"reason\":\"Forbidden\","
                "\"details\":{\"kind\":\"configmaps\"},\"code\":403}";
        const char *unauth =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}";
        struct kube_error ke;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(decode(403, forbidden, &ke, &e), -EACCES);
        ck_assert(
                strncmp(e.msg, "403 Forbidden: configmaps is forbidden: User \"system:anonymous\"", 61) == 0);
        ck_assert_int_eq(decode(401, unauth, &ke, &e), -EPERM);
        ck_assert_str_eq(e.msg, "401 Unauthorized: Unauthorized");
}
END_TEST

START_TEST(test_not_a_status) {
        struct kube_error ke;
        struct merr e = MERR_INIT;

        /* the aggregator's plain-text answer for an unavailable APIService */
        ck_assert_int_eq(decode(503, "service unavailable\n", &ke, &e), -EAGAIN);
        ck_assert_str_eq(e.msg, "503: response is not a Status: service unavailable");
        ck_assert_str_eq(ke.reason, "");
        ck_assert_int_eq(ke.http_code, 503);
        ck_assert_int_eq(decode(502, "", &ke, &e), -EAGAIN);
        ck_assert_str_eq(e.msg, "502: empty response");
        ck_assert_int_eq(decode(404, NULL, &ke, &e), -ENOENT);
        ck_assert_str_eq(e.msg, "404: empty response");
        ck_assert_int_eq(decode(500, "{\"kind\":\"ConfigMap\"}", &ke, &e), -EAGAIN);
        ck_assert_str_eq(e.msg, "500: response is not a Status: {\"kind\":\"ConfigMap\"}");
        ck_assert_int_eq(decode(400, "<html>\n<body>\x01oops</body>", &ke, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "400: response is not a Status: <html> <body>?oops</body>");
        /* a Status with fields of the wrong type still gives the HTTP code */
        ck_assert_int_eq(decode(409, "{\"kind\":\"Status\",\"reason\":7,\"message\":[]}", &ke, &e), -ESTALE);
        ck_assert_str_eq(e.msg, "409: no message");
}
END_TEST

START_TEST(test_expired_and_retry) {
        const char *expired =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"The provided continue parameter is too old to display a consistent list "
                "result.\",\"reason\":\"Expired\",\"code\":410}";
        const char *busy =
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"Too many requests, please try again later.\",\"reason\":\"TooManyRequests\","
                "\"details\":{\"causes\":[{\"message\":\"Too many requests\"}],\"retryAfterSeconds\":1},"
                "\"code\":429}";
        struct kube_error ke;
        struct merr e = MERR_INIT;

        ck_assert_int_eq(decode(410, expired, &ke, &e), -ENODATA);
        ck_assert_str_eq(ke.reason, "Expired");
        ck_assert_int_eq(decode(429, busy, &ke, &e), -EAGAIN);
        ck_assert_int_eq(ke.retry_after, 1);
}
END_TEST

START_TEST(test_errno_table) {
        ck_assert_int_eq(kube_errno_from_http(400, "BadRequest"), -EINVAL);
        ck_assert_int_eq(kube_errno_from_http(401, NULL), -EPERM);
        ck_assert_int_eq(kube_errno_from_http(403, NULL), -EACCES);
        ck_assert_int_eq(kube_errno_from_http(404, NULL), -ENOENT);
        ck_assert_int_eq(kube_errno_from_http(405, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(kube_errno_from_http(409, NULL), -ESTALE);
        ck_assert_int_eq(kube_errno_from_http(409, "AlreadyExists"), -EEXIST);
        ck_assert_int_eq(kube_errno_from_http(410, "Gone"), -ENODATA);
        ck_assert_int_eq(kube_errno_from_http(413, NULL), -E2BIG);
        ck_assert_int_eq(kube_errno_from_http(415, NULL), -EPROTONOSUPPORT);
        ck_assert_int_eq(kube_errno_from_http(422, NULL), -EINVAL);
        ck_assert_int_eq(kube_errno_from_http(429, NULL), -EAGAIN);
        ck_assert_int_eq(kube_errno_from_http(500, NULL), -EAGAIN);
        ck_assert_int_eq(kube_errno_from_http(504, "Timeout"), -EAGAIN);
        ck_assert_int_eq(kube_errno_from_http(418, NULL), -EPROTO);
        ck_assert_int_eq(kube_errno_from_http(302, NULL), -EPROTO);
}
END_TEST

static Suite *kube_status_suite(void) {
        Suite *s = suite_create("kube-status");
        TCase *tc = tcase_create("status");

        tcase_add_test(tc, test_not_found);
        tcase_add_test(tc, test_conflict_and_already_exists);
        tcase_add_test(tc, test_invalid_with_causes);
        tcase_add_test(tc, test_many_causes_are_capped);
        tcase_add_test(tc, test_forbidden_and_unauthorized);
        tcase_add_test(tc, test_not_a_status);
        tcase_add_test(tc, test_expired_and_retry);
        tcase_add_test(tc, test_errno_table);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(kube_status_suite)
