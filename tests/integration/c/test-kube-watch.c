/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_watch() against the real cluster: events arrive as they happen, a resourceVersion the server no
 * longer holds comes back as an expired ERROR event (the reflector's cue to relist), and a streaming list
 * (sendInitialEvents) ends with the initial-events-end bookmark.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "kube/client.h"
#include "testcluster.h"
#include "testutil.h"

struct recorder {
        char log[4096];
        int n;
        bool end_seen;
        bool expired;
        const char *stop_on; /* "DELETED:name": stop the watch when this event arrives */
};

static int record(const struct kube_watch_event *ev, void *userdata) {
        struct recorder *rec = userdata;
        const char *name = NULL;
        char item[256];

        (void) json_get_string(ev->object, "metadata.name", JSON_OPTIONAL, &name, NULL);
        if (ev->type == KUBE_EVENT_BOOKMARK) {
                rec->end_seen |= ev->initial_events_end;
                return 0;
        }
        if (kube_watch_event_is_expired(ev)) {
                rec->expired = true;
                return -ECANCELED;
        }
        snprintf(item, sizeof(item), "%s:%s", kube_event_type_to_string(ev->type), name ? name : "-");
        snprintf(rec->log + strlen(rec->log), sizeof(rec->log) - strlen(rec->log), "%s;", item);
        rec->n++;
        if (rec->stop_on && strcmp(item, rec->stop_on) == 0)
                return -ECANCELED;
        return 0;
}

static struct kube_resource configmaps(void) {
        return (struct kube_resource){.version = "v1", .resource = "configmaps", .namespace = tc_ns};
}

struct watcher {
        struct recorder rec;
        char rv[64];
        int result;
        struct merr err;
};

static void *run_watch(void *arg) {
        struct watcher *w = arg;
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_resource r = configmaps();
        /* only the test's object: the namespace's own objects (kube-root-ca.crt) may appear meanwhile */
        struct kube_watch_opts o = {
                .resource_version = w->rv, .timeout_seconds = 30, .field_selector = "metadata.name=watched"};

        w->result = kube_watch(c, &r, &o, record, &w->rec, &w->err);
        return NULL;
}

START_TEST(test_events_arrive_as_they_happen) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *list = NULL, *obj = NULL, *out = NULL;
        struct kube_resource r = configmaps();
        static struct watcher w;
        struct merr e = MERR_INIT;
        const char *rv;
        pthread_t t;
        char body[512];

        memset(&w, 0, sizeof(w));
        ck_assert_msg(kube_list(c, &r, NULL, &list, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(json_get_string(list, "metadata.resourceVersion", 0, &rv, &e), 1);
        snprintf(w.rv, sizeof(w.rv), "%s", rv);
        w.rec.stop_on = "DELETED:watched";
        pthread_create(&t, NULL, run_watch, &w);

        snprintf(body, sizeof(body),
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"watched\"},"
                "\"data\":{\"v\":\"1\"}}");
        ck_assert_int_eq(json_parse(body, strlen(body), 0, &obj, &e), 0);
        ck_assert_msg(kube_create(c, &r, obj, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        r.name = "watched";
        {
                const char *patch = "{\"data\":{\"v\":\"2\"}}";

                ck_assert_msg(kube_patch(c, &r, KUBE_PATCH_MERGE, patch, strlen(patch), NULL, NULL, &e) == 0,
                        "%s", merr_msg(&e));
        }
        ck_assert_msg(kube_delete(c, &r, NULL, &out, &e) == 0, "%s", merr_msg(&e));
        pthread_join(t, NULL);
        ck_assert_msg(w.result == -ECANCELED, "watch ended with %d: %s", w.result, merr_msg(&w.err));
        ck_assert_str_eq(w.rec.log, "ADDED:watched;MODIFIED:watched;DELETED:watched;");
}
END_TEST

START_TEST(test_too_old_resource_version_is_expired) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_resource r = configmaps();
        struct kube_watch_opts o = {.resource_version = "1", .timeout_seconds = 10};
        struct recorder rec = {0};
        struct merr e = MERR_INIT;
        int k;

        k = kube_watch(c, &r, &o, record, &rec, &e);
        ck_assert_msg(rec.expired, "no expired ERROR event (watch returned %d: %s; events %s)", k,
                merr_msg(&e), rec.log);
}
END_TEST

START_TEST(test_streaming_list_ends_with_bookmark) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_resource r = configmaps();
        struct kube_watch_opts o = {.send_initial_events = true, .timeout_seconds = 3};
        struct recorder rec = {0};
        struct merr e = MERR_INIT;
        char body[256];

        for (int i = 0; i < 3; i++) {
                _cleanup_json_ json_object *obj = NULL;

                snprintf(body, sizeof(body),
                        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"pre-%d\"}}",
                        i);
                ck_assert_int_eq(json_parse(body, strlen(body), 0, &obj, &e), 0);
                ck_assert_msg(kube_create(c, &r, obj, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        }
        ck_assert_msg(kube_watch(c, &r, &o, record, &rec, &e) == 0, "%s", merr_msg(&e));
        /* the namespace's kube-root-ca.crt may be there too */
        ck_assert_ptr_nonnull(strstr(rec.log, "ADDED:pre-0;"));
        ck_assert_ptr_nonnull(strstr(rec.log, "ADDED:pre-2;"));
        ck_assert_msg(rec.end_seen, "no initial-events-end bookmark; events: %s", rec.log);
}
END_TEST

static Suite *watch_suite(void) {
        Suite *s = suite_create("kube-watch-cluster");
        TCase *tc = tcase_create("watch");

        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_events_arrive_as_they_happen);
        tcase_add_test(tc, test_too_old_resource_version_is_expired);
        tcase_add_test(tc, test_streaming_list_ends_with_bookmark);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(watch_suite)
