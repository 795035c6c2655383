/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The informer against the real cluster: a paged list fills the cache, then the watch keeps it current;
 * handlers see every add, update and delete once; stopping is prompt even in the middle of a long watch.
 * Indexes (by a label's value, by controller owner uid) give exactly the right keys after each add, update
 * and delete, and after a relist that finds several changes at once. A metadata-only informer caches
 * names, labels and owners, never data.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"
#include "kube/informer.h"
#include "kube/object.h"
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

/* cond within 30 s: a watch event takes well under a second, but the machine may be loaded */
static bool eventually(bool (*cond)(void *), void *arg) {
        for (int i = 0; i < 600; i++) {
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
        /* inside a 300 s watch; the cancel flag ends it within about a second (a loaded machine may take a
         * few: the bound only has to be far below the watch's 300 s) */
        double took = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "    informer_stop took %.3fs\n", took);
        ck_assert_msg(took < 15.0, "informer_stop took %.3fs inside a 300 s watch", took);
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

/* A ConfigMap in tc_ns with the given labels and ownerReferences (JSON text, may be empty); its uid into
 * uid when uid is not NULL. */
static void create_cm_with(struct kube_client *c, const char *name, const char *labels, const char *owners,
        char *uid, size_t uid_size) {
        _cleanup_json_ json_object *obj = NULL, *made = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct merr e = MERR_INIT;
        char body[1024];
        const char *u = NULL;

        snprintf(body, sizeof(body),
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
                "\"labels\":{%s}%s%s%s}}",
                name, labels, *owners ? ",\"ownerReferences\":[" : "", owners, *owners ? "]" : "");
        ck_assert_int_eq(json_parse(body, strlen(body), 0, &obj, &e), 0);
        ck_assert_msg(kube_create(c, &r, obj, NULL, &made, &e) == 0, "%s", merr_msg(&e));
        if (uid) {
                ck_assert_int_eq(json_get_string(made, "metadata.uid", 0, &u, &e), 1);
                snprintf(uid, uid_size, "%s", u);
        }
}

static void patch_cm(struct kube_client *c, const char *name, const char *patch) {
        struct kube_resource r = {
                .version = "v1", .resource = "configmaps", .namespace = tc_ns, .name = name};
        struct merr e = MERR_INIT;

        ck_assert_msg(kube_patch(c, &r, KUBE_PATCH_MERGE, patch, strlen(patch), NULL, NULL, &e) == 0, "%s",
                merr_msg(&e));
}

static void delete_cm(struct kube_client *c, const char *name) {
        struct kube_resource r = {
                .version = "v1", .resource = "configmaps", .namespace = tc_ns, .name = name};
        struct merr e = MERR_INIT;

        ck_assert_msg(kube_delete(c, &r, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The index's keys for value, sorted, as names without the namespace, joined by spaces ("" for none). */
static void index_names(struct informer *inf, const char *index, const char *value, char *out, size_t size) {
        char **keys = NULL;
        size_t off = 0, nslen = strlen(tc_ns);
        int n = informer_index_keys(inf, index, value, &keys);

        ck_assert_int_ge(n, 0);
        ck_assert_uint_eq((size_t) n, informer_index_count(inf, index, value));
        qsort(keys, (size_t) n, sizeof(*keys), cmp_str);
        out[0] = '\0';
        for (int i = 0; i < n; i++) {
                ck_assert_msg(
                        strncmp(keys[i], tc_ns, nslen) == 0 && keys[i][nslen] == '/', "key '%s'", keys[i]);
                off += (size_t) snprintf(out + off, size - off, "%s%s", i ? " " : "", keys[i] + nslen + 1);
                ck_assert_uint_lt(off, size);
        }
        informer_keys_free(keys);
}

#define ck_assert_index(inf, index, value, want)                                                            \
        do {                                                                                                \
                char got_[1024];                                                                            \
                index_names(inf, index, value, got_, sizeof(got_));                                         \
                ck_assert_msg(                                                                              \
                        strcmp(got_, want) == 0, "index %s=%s: '%s', want '%s'", index, value, got_, want); \
        } while (0)

struct seen {
        int n;
        char names[1024];
};

/* informer_index_foreach's objects: their names, and each must carry the label tier=b */
static void seen_tier_b(const char *key, json_object *obj, void *ud) {
        struct seen *s = ud;
        json_object *md = NULL, *labels = NULL, *v = NULL;
        size_t off = strlen(s->names);

        (void) key;
        ck_assert(json_object_object_get_ex(obj, "metadata", &md) &&
                  json_object_object_get_ex(md, "labels", &labels) &&
                  json_object_object_get_ex(labels, "tier", &v));
        ck_assert_str_eq(json_object_get_string(v), "b");
        s->n++;
        snprintf(s->names + off, sizeof(s->names) - off, "[%s]",
                json_object_get_string(json_object_object_get(md, "name")));
}

START_TEST(test_index_follows_adds_updates_deletes) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct informer_options o = {.label_selector = "app=idx"};
        struct counts n = {0};
        struct informer_handlers h = {
                .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .userdata = &n};
        struct merr e = MERR_INIT;
        struct expect x;
        struct seen seen = {0};
        char uid_p[64], uid_q[64], owner[512];

        ck_assert_int_eq(kube_client_new(tc_config(), &c, &e), 0);
        create_cm_with(c, "a1", "\"app\":\"idx\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "a2", "\"app\":\"idx\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "b1", "\"app\":\"idx\",\"tier\":\"b\"", "", NULL, 0);
        create_cm_with(c, "none", "\"app\":\"idx\"", "", NULL, 0);
        create_cm_with(c, "p", "\"app\":\"idx\"", "", uid_p, sizeof(uid_p));
        create_cm_with(c, "q", "\"app\":\"idx\"", "", uid_q, sizeof(uid_q));
        /* children of p: two under its control, one that only refers to it */
        snprintf(owner, sizeof(owner),
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"p\",\"uid\":\"%s\","
                "\"controller\":true}",
                uid_p);
        create_cm_with(c, "p-1", "\"app\":\"idx\"", owner, NULL, 0);
        create_cm_with(c, "p-2", "\"app\":\"idx\"", owner, NULL, 0);
        snprintf(owner, sizeof(owner),
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"p\",\"uid\":\"%s\"},"
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"q\",\"uid\":\"%s\","
                "\"controller\":true}",
                uid_p, uid_q);
        create_cm_with(c, "q-1", "\"app\":\"idx\"", owner, NULL, 0);

        ck_assert_int_eq(informer_new(tc_config(), &r, &o, &h, &inf, &e), 0);
        ck_assert_int_eq(informer_add_index(inf, "tier", informer_index_label, "tier", &e), 0);
        ck_assert_int_eq(informer_add_index(inf, "tier", informer_index_label, "tier", &e), -EEXIST);
        ck_assert_int_eq(informer_add_index(inf, "owner", informer_index_controller_uid, NULL, &e), 0);
        ck_assert_int_eq(informer_start(inf, &e), 0);
        ck_assert_int_eq(informer_add_index(inf, "late", informer_index_label, "tier", &e), -EBUSY);
        ck_assert(informer_wait_synced(inf, 30000));
        ck_assert_uint_eq(informer_len(inf), 9);

        /* after the list */
        ck_assert_index(inf, "tier", "a", "a1 a2");
        ck_assert_index(inf, "tier", "b", "b1");
        ck_assert_index(inf, "tier", "c", "");
        ck_assert_index(inf, "owner", uid_p, "p-1 p-2");
        ck_assert_index(inf, "owner", uid_q, "q-1");
        ck_assert_int_eq(informer_index_keys(inf, "nosuch", "a", &(char **){NULL}), -ENOENT);
        ck_assert_uint_eq(informer_index_count(inf, "nosuch", "a"), 0);

        /* an add and an update from a to b, through the watch */
        create_cm_with(c, "b2", "\"app\":\"idx\",\"tier\":\"b\"", "", NULL, 0);
        patch_cm(c, "a1", "{\"metadata\":{\"labels\":{\"tier\":\"b\"}}}");
        x = (struct expect){.inf = inf, .n = &n, .adds = 10, .updates = 1, .deletes = 0, .len = 10};
        ck_assert_msg(eventually(reached, &x), "adds %d updates %d deletes %d", atomic_load(&n.adds),
                atomic_load(&n.updates), atomic_load(&n.deletes));
        ck_assert_index(inf, "tier", "a", "a2");
        ck_assert_index(inf, "tier", "b", "a1 b1 b2");
        ck_assert_int_eq(informer_index_foreach(inf, "tier", "b", seen_tier_b, &seen), 3);
        ck_assert_int_eq(seen.n, 3);
        ck_assert_int_eq(informer_index_foreach(inf, "nosuch", "b", seen_tier_b, &seen), -ENOENT);

        /* an update that changes no index value, one that drops the label, deletes (the last of a value and
         * a controlled child) */
        patch_cm(c, "b1", "{\"data\":{\"k\":\"v\"}}");
        patch_cm(c, "b2", "{\"metadata\":{\"labels\":{\"tier\":null}}}");
        delete_cm(c, "a2");
        delete_cm(c, "p-1");
        x = (struct expect){.inf = inf, .n = &n, .adds = 10, .updates = 3, .deletes = 2, .len = 8};
        ck_assert_msg(eventually(reached, &x), "adds %d updates %d deletes %d", atomic_load(&n.adds),
                atomic_load(&n.updates), atomic_load(&n.deletes));
        ck_assert_index(inf, "tier", "a", "");
        ck_assert_index(inf, "tier", "b", "a1 b1");
        ck_assert_index(inf, "owner", uid_p, "p-2");
        ck_assert_index(inf, "owner", uid_q, "q-1");
}
END_TEST

/* The relist after an expiry delivers what the watch missed as differences; the indexes follow them. The
 * informer is held between two watches (informer_hold) while the changes are made, then relists. */
START_TEST(test_index_exact_after_relist) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct informer_options o = {.label_selector = "app=idx", .watch_timeout_seconds = 2};
        struct counts n = {0};
        struct informer_handlers h = {
                .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .userdata = &n};
        struct merr e = MERR_INIT;
        struct expect x;

        ck_assert_int_eq(kube_client_new(tc_config(), &c, &e), 0);
        create_cm_with(c, "a1", "\"app\":\"idx\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "a2", "\"app\":\"idx\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "b1", "\"app\":\"idx\",\"tier\":\"b\"", "", NULL, 0);
        ck_assert_int_eq(informer_new(tc_config(), &r, &o, &h, &inf, &e), 0);
        ck_assert_int_eq(informer_add_index(inf, "tier", informer_index_label, "tier", &e), 0);
        ck_assert_int_eq(informer_start(inf, &e), 0);
        ck_assert(informer_wait_synced(inf, 30000));
        ck_assert_index(inf, "tier", "a", "a1 a2");
        ck_assert_index(inf, "tier", "b", "b1");

        ck_assert(informer_hold(inf, 30000));
        patch_cm(c, "a1", "{\"metadata\":{\"labels\":{\"tier\":\"b\"}}}");
        patch_cm(c, "b1", "{\"data\":{\"k\":\"v\"}}");
        delete_cm(c, "a2");
        create_cm_with(c, "a3", "\"app\":\"idx\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "b2", "\"app\":\"idx\",\"tier\":\"b\"", "", NULL, 0);
        /* held: the cache and the indexes still show the state before */
        ck_assert_index(inf, "tier", "a", "a1 a2");
        ck_assert_index(inf, "tier", "b", "b1");
        ck_assert_uint_eq(informer_lists(inf), 1);

        informer_release(inf);
        x = (struct expect){.inf = inf, .n = &n, .adds = 5, .updates = 2, .deletes = 1, .len = 4};
        ck_assert_msg(eventually(reached, &x), "adds %d updates %d deletes %d", atomic_load(&n.adds),
                atomic_load(&n.updates), atomic_load(&n.deletes));
        ck_assert_uint_eq(informer_lists(inf), 2);
        ck_assert_index(inf, "tier", "a", "a3");
        ck_assert_index(inf, "tier", "b", "a1 b1 b2");
}
END_TEST

/* The cached object of ConfigMap name, which must be a PartialObjectMetadata without data (owned). */
static json_object *get_metadata_only(struct informer *inf, const char *name) {
        struct merr e = MERR_INIT;
        const char *v = NULL;
        char key[128];

        snprintf(key, sizeof(key), "%s/%s", tc_ns, name);
        json_object *got = informer_get(inf, key);
        ck_assert_ptr_nonnull(got);
        ck_assert_int_eq(json_get_string(got, "kind", 0, &v, &e), 1);
        ck_assert_str_eq(v, "PartialObjectMetadata");
        ck_assert(!json_object_object_get_ex(got, "data", NULL));
        return got;
}

/* A metadata-only informer: pages of PartialObjectMetadata, then watch events of the same, so the cache
 * holds names, labels and owners but never the objects' data; indexes and deletes work as for whole ones. */
START_TEST(test_metadata_only) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = tc_ns};
        struct informer_options o = {.label_selector = "app=meta", .page_size = 2, .metadata_only = true};
        struct counts n = {0};
        struct informer_handlers h = {
                .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .userdata = &n};
        struct merr e = MERR_INIT;
        struct expect x;
        const char *v = NULL;

        ck_assert_int_eq(kube_client_new(tc_config(), &c, &e), 0);
        create_cm_with(c, "m1", "\"app\":\"meta\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "m2", "\"app\":\"meta\",\"tier\":\"a\"", "", NULL, 0);
        create_cm_with(c, "m3", "\"app\":\"meta\",\"tier\":\"b\"", "", NULL, 0);
        patch_cm(c, "m1", "{\"data\":{\"k\":\"v\"}}");
        ck_assert_int_eq(informer_new(tc_config(), &r, &o, &h, &inf, &e), 0);
        ck_assert_int_eq(informer_add_index(inf, "tier", informer_index_label, "tier", &e), 0);
        ck_assert_int_eq(informer_start(inf, &e), 0);
        ck_assert(informer_wait_synced(inf, 30000));
        ck_assert_uint_eq(informer_len(inf), 3);
        ck_assert_index(inf, "tier", "a", "m1 m2");

        _cleanup_json_ json_object *listed = get_metadata_only(inf, "m1");
        ck_assert_int_eq(json_get_string(listed, "metadata.labels.tier", 0, &v, &e), 1);
        ck_assert_str_eq(v, "a");

        /* through the watch: a label change moves the key between index values, a delete removes it */
        patch_cm(c, "m2", "{\"metadata\":{\"labels\":{\"tier\":\"b\"}},\"data\":{\"k\":\"v\"}}");
        delete_cm(c, "m3");
        x = (struct expect){.inf = inf, .n = &n, .adds = 3, .updates = 1, .deletes = 1, .len = 2};
        ck_assert_msg(eventually(reached, &x), "adds %d updates %d deletes %d", atomic_load(&n.adds),
                atomic_load(&n.updates), atomic_load(&n.deletes));
        ck_assert_index(inf, "tier", "a", "m1");
        ck_assert_index(inf, "tier", "b", "m2");
        json_object_put(get_metadata_only(inf, "m2"));
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
        tcase_add_test(tc, test_index_follows_adds_updates_deletes);
        tcase_add_test(tc, test_index_exact_after_relist);
        tcase_add_test(tc, test_metadata_only);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(informer_suite)
