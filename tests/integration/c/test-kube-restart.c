/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An informer survives kube-apiserver going away: while it is down, etcd is compacted so the informer's
 * resourceVersion is gone for good; when the API server is back the informer gets 410, relists, and ends
 * with every object exactly once (handlers: no lost and no duplicated add or delete).
 *
 * This test restarts the shared kube-apiserver through hack/cluster.sh; the suite runs tests one at a time.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "kube/informer.h"
#include "testcluster.h"
#include "testutil.h"

struct counts {
        atomic_int adds, deletes;
};

static void on_add(const char *key, json_object *obj, void *ud) {
        (void) key, (void) obj;
        atomic_fetch_add(&((struct counts *) ud)->adds, 1);
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
                "\"app\":\"rs\"}}}",
                name);
        ck_assert_int_eq(json_parse(body, strlen(body), 0, &obj, &e), 0);
        /* the API server may still be settling after its restart */
        for (int i = 0; i < 40; i++) {
                if (kube_create(c, &r, obj, NULL, NULL, &e) == 0)
                        return;
                sleep(1);
        }
        ck_abort_msg("create %s: %s", name, merr_msg(&e));
}

/* etcd's JSON gateway: compact to the newest revision, so every older resourceVersion is gone */
static const char compact_etcd[] =
        "rev=$(curl -fsS -X POST http://127.0.0.1:${MBOX_ETCD_PORT:-2379}/v3/kv/range -d "
        "'{\"key\":\"AA==\"}' | "
        "jq -r .header.revision) && "
        "curl -fsS -X POST http://127.0.0.1:${MBOX_ETCD_PORT:-2379}/v3/kv/compaction "
        "-d \"{\\\"revision\\\":\\\"$rev\\\",\\\"physical\\\":true}\" >/dev/null";

START_TEST(test_informer_survives_apiserver_restart_and_compaction) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct informer_options o = {.label_selector = "app=rs", .watch_timeout_seconds = 60};
        struct counts n = {0};
        struct informer_handlers h = {.on_add = on_add, .on_delete = on_delete, .userdata = &n};
        struct merr e = MERR_INIT;
        const char *state = tc_state_dir();
        char name[32];
        int i;

        ck_assert_int_eq(kube_client_new(tc_config(), &c, &e), 0);
        for (i = 0; i < 5; i++) {
                snprintf(name, sizeof(name), "before-%d", i);
                create_cm(c, name);
        }
        ck_assert_int_eq(informer_new(tc_config(), &r, &o, &h, &inf, &e), 0);
        ck_assert_int_eq(informer_start(inf, &e), 0);
        ck_assert(informer_wait_synced(inf, 30000));
        ck_assert_uint_eq(informer_len(inf), 5);

        /* kube-apiserver goes away (by its PID), etcd is compacted to its newest revision meanwhile */
        {
                _cleanup_free_ char *kill_cmd = NULL;

                /* killed as a crash would (a graceful stop waits for open watches), and gone before the restart */
                ck_assert_int_ge(asprintf(&kill_cmd,
                                         "p=$(cat '%s/pids/kube-apiserver.pid') && kill -9 $p && "
                                         "for i in $(seq 120); do kill -0 $p 2>/dev/null || exit 0; sleep "
                                         "0.25; done; exit 1",
                                         state),
                        0);
                ck_assert_int_eq(system(kill_cmd), 0);
        }
        ck_assert_int_eq(system(compact_etcd), 0);
        ck_assert_int_eq(system("for i in 1 2 3 4 5; do bash hack/cluster.sh up >/dev/null 2>&1 && exit 0; "
                                "sleep 2; done; exit 1"),
                0);

        /* changes after the restart */
        for (i = 0; i < 3; i++) {
                snprintf(name, sizeof(name), "after-%d", i);
                create_cm(c, name);
        }
        r.name = "before-0";
        ck_assert_int_eq(kube_delete(c, &r, NULL, NULL, &e), 0);

        for (i = 0; i < 240 &&
                    !(informer_len(inf) == 7 && atomic_load(&n.adds) == 8 && atomic_load(&n.deletes) == 1);
                i++)
                usleep(250000);
        ck_assert_msg(informer_len(inf) == 7 && atomic_load(&n.adds) == 8 && atomic_load(&n.deletes) == 1,
                "len %zu adds %d deletes %d", informer_len(inf), atomic_load(&n.adds),
                atomic_load(&n.deletes));
}
END_TEST

static Suite *restart_suite(void) {
        Suite *s = suite_create("kube-restart");
        TCase *tc = tcase_create("restart");

        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_informer_survives_apiserver_restart_and_compaction);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(restart_suite)
