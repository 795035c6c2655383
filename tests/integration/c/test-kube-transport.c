/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube/transport.h against the local cluster: many threads, each with its own client, all on one
 * transport. Their requests (creates, gets, errors, a paged list read item by item) give the answers they
 * give on a client's own connection, and all of them share one connection.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "kube/client.h"
#include "kube/transport.h"
#include "testcluster.h"
#include "testutil.h"

#define THREADS 16
#define EACH    10

#define CM(name_) \
        { .version = "v1", .resource = "configmaps", .namespace = tc_ns, .name = (name_) }

struct worker {
        struct kube_transport *t;
        int id;
        unsigned long connections;
        int listed;
        char error[256]; /* the first failure, empty when none */
};

static int count_item(json_object *item, void *userdata) {
        (void) item;
        ((struct worker *) userdata)->listed++;
        return 0;
}

#define CHECK(w, cond, ...)                                                    \
        do {                                                                   \
                if (!(cond) && !(w)->error[0])                                 \
                        snprintf((w)->error, sizeof((w)->error), __VA_ARGS__); \
        } while (0)

static void *work(void *arg) {
        struct worker *w = arg;
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_resource coll = CM(NULL);
        struct merr e = MERR_INIT;

        kube_client_set_transport(c, w->t);
        for (int i = 0; i < EACH; i++) {
                char name[64], body[256];
                _cleanup_json_ json_object *obj = NULL, *got = NULL;

                snprintf(name, sizeof(name), "t%02d-%02d", w->id, i);
                snprintf(body, sizeof(body),
                        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
                        "\"labels\":{\"worker\":\"w%02d\"}},\"data\":{\"i\":\"%d\"}}",
                        name, w->id, i);
                int r = json_parse(body, strlen(body), 0, &obj, &e);
                CHECK(w, r == 0, "parse: %s", merr_msg(&e));
                r = kube_create(c, &coll, obj, NULL, NULL, &e);
                CHECK(w, r == 0, "create %s: %d %s", name, r, merr_msg(&e));
                r = kube_create(c, &coll, obj, NULL, NULL, &e);
                CHECK(w, r == -EEXIST, "second create %s: %d, want -EEXIST", name, r);
                r = kube_get(c, &(struct kube_resource) CM(name), &got, &e);
                CHECK(w, r == 0, "get %s: %d %s", name, r, merr_msg(&e));
                const char *v = NULL;
                char want[16];
                snprintf(want, sizeof(want), "%d", i);
                CHECK(w, got && json_get_string(got, "data.i", 0, &v, &e) == 1 && strcmp(v, want) == 0,
                        "get %s: data.i is %s, want %s", name, v ? v : "(none)", want);
                r = kube_get(c, &(struct kube_resource) CM("no-such-map"), NULL, &e);
                CHECK(w, r == -ENOENT, "get of a missing map: %d, want -ENOENT", r);
        }
        char sel[32];
        snprintf(sel, sizeof(sel), "worker=w%02d", w->id);
        int r = kube_list_each(c, &coll, &(struct kube_list_opts){.limit = 3, .label_selector = sel},
                count_item, w, NULL, &e);
        CHECK(w, r == 0 && w->listed == EACH, "list: %d, %d items of %d: %s", r, w->listed, EACH,
                merr_msg(&e));
        w->connections = kube_client_connections(c);
        return NULL;
}

START_TEST(test_threads_share_one_connection) {
        _cleanup_(kube_transport_freep) struct kube_transport *t = NULL;
        struct worker w[THREADS];
        pthread_t th[THREADS];
        struct merr e = MERR_INIT;
        unsigned long connections = 0;

        ck_assert_msg(kube_transport_new(&t, &e) == 0, "%s", merr_msg(&e));
        for (int i = 0; i < THREADS; i++) {
                w[i] = (struct worker){.t = t, .id = i};
                ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
        }
        for (int i = 0; i < THREADS; i++) {
                ck_assert_int_eq(pthread_join(th[i], NULL), 0);
                ck_assert_msg(!w[i].error[0], "worker %d: %s", i, w[i].error);
                connections += w[i].connections;
        }
        /* HTTP/2: every stream of every thread on the first connection */
        ck_assert_uint_eq(connections, 1);

        /* a client taken off the transport goes back to its own connection */
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        kube_client_set_transport(c, t);
        ck_assert_int_eq(kube_get(c, &(struct kube_resource) CM("t00-00"), NULL, &e), 0);
        ck_assert_uint_eq(kube_client_connections(c), 0);
        kube_client_set_transport(c, NULL);
        ck_assert_int_eq(kube_get(c, &(struct kube_resource) CM("t00-00"), NULL, &e), 0);
        ck_assert_uint_eq(kube_client_connections(c), 1);
}
END_TEST

static Suite *kube_transport_suite(void) {
        Suite *s = suite_create("kube-transport");
        TCase *tc = tcase_create("cluster");

        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_threads_share_one_connection);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(kube_transport_suite)
