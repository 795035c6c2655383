/* SPDX-License-Identifier: Apache-2.0 */
/* Events recorded through the API server show in `kubectl describe`, and repeats become one series. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "kube/events.h"
#include "testcluster.h"
#include "testutil.h"

START_TEST(test_events_show_in_describe_and_repeats_aggregate) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(kube_events_freep) struct kube_event_recorder *rec = NULL;
        _cleanup_json_ json_object *cm = NULL, *created = NULL, *list = NULL;
        _cleanup_(buf_release) struct buf out = BUF_INIT(1 << 20);
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct kube_resource evr = {
                .group = "events.k8s.io", .version = "v1", .resource = "events", .namespace = tc_ns};
        struct merr e = MERR_INIT;
        const char *body =
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"subject\"}}";
        json_object *items;
        int synced = 0, failed = 0;
        int64_t count = 0;

        ck_assert_int_eq(kube_client_new(tc_config(), &c, &e), 0);
        ck_assert_int_eq(json_parse(body, strlen(body), 0, &cm, &e), 0);
        ck_assert_msg(kube_create(c, &r, cm, NULL, &created, &e) == 0, "%s", merr_msg(&e));
        ck_assert_msg(kube_events_new(tc_config(), "mbox.dev/operator", "test_1", &rec, &e) == 0, "%s",
                merr_msg(&e));
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(kube_event(rec, created, "Normal", "Synced", "Reconcile", "pass %d", i), 0);
        ck_assert_int_eq(
                kube_event(rec, created, "Warning", "Failed", "Reconcile", "image '%s' not found", "x"), 0);
        /* recording does not wait for the API server; the sender writes them in order */
        ck_assert(kube_events_flush(rec, 30000));

        ck_assert_int_eq(kube_list(c, &evr, NULL, &list, &e), 0);
        ck_assert_int_eq(json_get_array(list, "items", 0, &items, &e), 1);
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *ev = json_object_array_get_idx(items, i);
                const char *reason = NULL;

                ck_assert_int_eq(json_get_string(ev, "reason", 0, &reason, &e), 1);
                if (strcmp(reason, "Synced") == 0) {
                        synced++;
                        ck_assert_int_eq(json_get_int64(ev, "series.count", 0, &count, &e), 1);
                } else if (strcmp(reason, "Failed") == 0)
                        failed++;
        }
        /* three occurrences, one object with a series */
        ck_assert_int_eq(synced, 1);
        ck_assert_int_ge(count, 2);
        ck_assert_int_eq(failed, 1);

        ck_assert_int_eq(tc_kubectl(&out, "-n", tc_ns, "describe", "configmap", "subject", NULL), 0);
        ck_assert_msg(strstr(buf_str(&out), "Synced") && strstr(buf_str(&out), "mbox.dev/operator") &&
                              strstr(buf_str(&out), "image 'x' not found") &&
                              strstr(buf_str(&out), "(x2 over"),
                "%s", buf_str(&out));
}
END_TEST

static Suite *events_suite(void) {
        Suite *s = suite_create("kube-events");
        TCase *tc = tcase_create("events");

        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_events_show_in_describe_and_repeats_aggregate);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(events_suite)
