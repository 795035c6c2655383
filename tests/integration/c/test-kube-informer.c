/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The informer against the real cluster: a paged list fills the cache, then the watch keeps it current;
 * handlers see every add, update and delete once; stopping is prompt even in the middle of a long watch.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"
#include "kube/informer.h"
#include "testcluster.h"
#include "testutil.h"

struct counts {
        atomic_int adds, updates, deletes;
};

static void on_add(const char *key, json_object *obj, void *ud) {
        (void) key, (void) obj;
        atomic_fetch_add(&((struct counts *) ud)->adds, 1);
}

static void on_update(const char *key, json_object *o, json_object *n, void *ud) {
        (void) key, (void) o, (void) n;
        atomic_fetch_add(&((struct counts *) ud)->updates, 1);
}

static void on_delete(const char *key, json_object *obj, void *ud) {
        (void) key, (void) obj;
        atomic_fetch_add(&((struct counts *) ud)->deletes, 1);
}

static void create_cm(struct kube_client *c, const char *name) {
        _cleanup_json_ json_object *obj = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct merr e = MERR_INIT;
        char body[256];

        snprintf(body, sizeof(body),
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
                "\"app\":\"inf\"}}}",
                name);
        ck_assert_int_eq(json_parse(body, strlen(body), 0, &obj, &e), 0);
        ck_assert_msg(kube_create(c, &r, obj, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
}

static bool eventually(bool (*cond)(void *), void *arg) {
        for (int i = 0; i < 200; i++) {
                if (cond(arg))
                        return true;
                nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
        }
        return cond(arg);
}

struct expect {
        struct informer *inf;
        struct counts *n;
        int adds, updates, deletes;
        size_t len;
};

static bool reached(void *arg) {
        struct expect *x = arg;

        return atomic_load(&x->n->adds) == x->adds && atomic_load(&x->n->updates) == x->updates &&
               atomic_load(&x->n->deletes) == x->deletes && informer_len(x->inf) == x->len;
}

START_TEST(test_list_then_watch_keeps_cache_current) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct informer_options o = {
                .label_selector = "app=inf", .page_size = 50, .watch_timeout_seconds = 5};
        struct counts n = {0};
        struct informer_handlers h = {
                .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .userdata = &n};
        struct merr e = MERR_INIT;
        struct expect x;
        char name[64], key[128];
        json_object *got;

        ck_assert_int_eq(kube_client_new(tc_config(), &c, &e), 0);
        for (int i = 0; i < 120; i++) {
                snprintf(name, sizeof(name), "cm-%03d", i);
                create_cm(c, name);
        }
        ck_assert_msg(informer_new(tc_config(), &r, &o, &h, &inf, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(informer_start(inf, &e), 0);
        ck_assert(informer_wait_synced(inf, 30000));
        ck_assert_uint_eq(informer_len(inf), 120);
        ck_assert_int_eq(atomic_load(&n.adds), 120);
        ck_assert_uint_eq(informer_lists(inf), 1);

        /* changes after the sync arrive through the watch */
        create_cm(c, "late");
        r.name = "cm-007";
        ck_assert_int_eq(
                kube_patch(c, &r, KUBE_PATCH_MERGE, "{\"data\":{\"k\":\"v\"}}", 18, NULL, NULL, &e), 0);
        r.name = "cm-008";
        ck_assert_int_eq(kube_delete(c, &r, NULL, NULL, &e), 0);
        x = (struct expect){.inf = inf, .n = &n, .adds = 121, .updates = 1, .deletes = 1, .len = 120};
        ck_assert_msg(eventually(reached, &x), "adds %d updates %d deletes %d len %zu", atomic_load(&n.adds),
                atomic_load(&n.updates), atomic_load(&n.deletes), informer_len(inf));
        snprintf(key, sizeof(key), "%s/cm-007", tc_ns);
        got = informer_get(inf, key);
        ck_assert_ptr_nonnull(got);
        {
                const char *v = NULL;

                ck_assert_int_eq(json_get_string(got, "data.k", 0, &v, &e), 1);
                ck_assert_str_eq(v, "v");
        }
        json_object_put(got);
        snprintf(key, sizeof(key), "%s/cm-008", tc_ns);
        ck_assert_ptr_null(informer_get(inf, key));

        /* the 5 s watches end and resume from the newest resourceVersion, without relisting */
        nanosleep(&(struct timespec){.tv_sec = 6}, NULL);
        create_cm(c, "after-resume");
        x.adds = 122;
        x.len = 121;
        ck_assert(eventually(reached, &x));
        ck_assert_uint_eq(informer_lists(inf), 1);
}
END_TEST

START_TEST(test_stop_is_prompt) {
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct informer_options o = {.watch_timeout_seconds = 300};
        struct merr e = MERR_INIT;
        struct timespec t0, t1;

        ck_assert_int_eq(informer_new(tc_config(), &r, &o, NULL, &inf, &e), 0);
        ck_assert_int_eq(informer_start(inf, &e), 0);
        ck_assert(informer_wait_synced(inf, 30000));
        nanosleep(&(struct timespec){.tv_nsec = 500 * 1000000L}, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        informer_stop(inf);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* inside a 300 s watch; the cancel flag ends it within about a second */
        ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
}
END_TEST

START_TEST(test_owner_keys) {
        _cleanup_json_ json_object *o = NULL;
        struct merr e = MERR_INIT;
        char key[128];
        const char *s = "{\"metadata\":{\"name\":\"pool-abcde\",\"namespace\":\"demo\",\"ownerReferences\":["
                        "{\"kind\":\"SandboxWarmPool\",\"name\":\"pool\",\"controller\":false},"
                        "{\"kind\":\"SandboxClaim\",\"name\":\"web\",\"controller\":true}]}}";

        ck_assert_int_eq(json_parse(s, strlen(s), 0, &o, &e), 0);
        ck_assert_int_eq(kube_object_key(o, key, sizeof(key)), 0);
        ck_assert_str_eq(key, "demo/pool-abcde");
        ck_assert_int_eq(kube_controller_owner_key(o, "SandboxClaim", key, sizeof(key)), 0);
        ck_assert_str_eq(key, "demo/web");
        ck_assert_int_eq(kube_controller_owner_key(o, "SandboxWarmPool", key, sizeof(key)), -ENOENT);
}
END_TEST

static Suite *informer_suite(void) {
        Suite *s = suite_create("kube-informer");
        TCase *tc = tcase_create("informer");

        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, test_list_then_watch_keeps_cache_current);
        tcase_add_test(tc, test_stop_is_prompt);
        tcase_add_test(tc, test_owner_keys);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(informer_suite)
