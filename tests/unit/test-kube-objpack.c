/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/objpack.h"
#include "testutil.h"

/* A ConfigMap's compact JSON with i in its metadata and n bytes of data that do not repeat (letters from a
 * seeded generator, as random as the bench's). */
static char *configmap(int i, size_t n) {
        unsigned seed = (unsigned) i * 2654435761u + 1;
        char *data = malloc(n + 1), *text;

        ck_assert_ptr_nonnull(data);
        for (size_t k = 0; k < n; k++)
                data[k] = (char) ('a' + rand_r(&seed) % 26);
        data[n] = '\0';
        ck_assert_int_ge(
                asprintf(&text,
                        "{\"apiVersion\":\"v1\",\"data\":{\"payload\":\"%s\"},\"kind\":\"ConfigMap\","
                        "\"metadata\":{\"creationTimestamp\":\"2026-11-26T21:46:%02dZ\",\"labels\":"
                        "{\"app.kubernetes.io/part-of\":\"bench\"},\"name\":\"cm-%05d\",\"namespace\":"
                        "\"bench\",\"resourceVersion\":\"%d\",\"uid\":\"dac86b99-12f8-48a2-b43c-%012d\"}}",
                        data, i % 60, i, 1000 + i, i * 7919),
                0);
        free(data);
        return text;
}

/* Packs text and unpacks it again; returns the packed size. */
static size_t round_trip(struct objpack *p, const char *text, size_t len) {
        char *packed = malloc(objpack_bound(len)), *back = malloc(len + 1);
        int64_t n;

        ck_assert_ptr_nonnull(packed);
        ck_assert_ptr_nonnull(back);
        n = objpack_pack(p, packed, text, len);
        ck_assert_int_ge(n, 0);
        ck_assert_int_le(n, (int64_t) len);
        ck_assert_int_eq(objpack_unpack(p, packed, (size_t) n, back, len), 0);
        ck_assert_mem_eq(back, text, len);
        ck_assert_int_eq(back[len], '\0');
        free(packed);
        free(back);
        return (size_t) n;
}

START_TEST(test_objects_of_a_kind_pack_small) {
        _cleanup_(objpack_freep) struct objpack *p = NULL;
        size_t in = 0, out = 0;

        ck_assert_int_eq(objpack_new(&p), 0);
        for (int i = 0; i < 200; i++) {
                char *t = configmap(i, 1024);
                size_t len = strlen(t);

                in += len;
                out += round_trip(p, t, len);
                free(t);
        }
        /* what objects share costs almost nothing once the first is the dictionary; 26 letters need about
         * 4.7 bits each */
        ck_assert_msg(out * 100 < in * 60, "packed %zu of %zu bytes", out, in);
}
END_TEST

START_TEST(test_small_empty_and_incompressible) {
        _cleanup_(objpack_freep) struct objpack *p = NULL;
        unsigned char noise[4096];
        unsigned seed = 7;

        ck_assert_int_eq(objpack_new(&p), 0);
        ck_assert_uint_eq(round_trip(p, "", 0), 0);
        ck_assert_uint_eq(round_trip(p, "{}", 2), 2); /* too small to pack: kept as it is */
        for (size_t i = 0; i < sizeof(noise); i++)
                noise[i] = (unsigned char) rand_r(&seed);
        /* the first text worth packing becomes the dictionary: that noise packs to almost nothing, other
         * noise stays as it is */
        ck_assert_uint_lt(round_trip(p, (const char *) noise, sizeof(noise)), 100);
        ck_assert_uint_lt(round_trip(p, (const char *) noise, sizeof(noise)), 100);
        for (size_t i = 0; i < sizeof(noise); i++)
                noise[i] = (unsigned char) rand_r(&seed);
        ck_assert_uint_eq(round_trip(p, (const char *) noise, sizeof(noise)), sizeof(noise));
        /* a large object */
        char *big = configmap(1, 1 << 20);
        ck_assert_uint_lt(round_trip(p, big, strlen(big)), strlen(big));
        free(big);
}
END_TEST

START_TEST(test_unpack_refuses_what_it_did_not_pack) {
        _cleanup_(objpack_freep) struct objpack *p = NULL, *other = NULL;
        char *t = configmap(3, 512), packed[4096], back[4096];
        size_t len = strlen(t);
        int64_t n;

        ck_assert_int_eq(objpack_new(&p), 0);
        ck_assert_int_eq(objpack_new(&other), 0);
        /* nothing packed yet: no dictionary to unpack with */
        ck_assert_int_eq(objpack_unpack(p, "xyz", 3, back, 10), -EINVAL);
        n = objpack_pack(p, packed, t, len);
        n = objpack_pack(p, packed, t, len);
        ck_assert_int_lt(n, (int64_t) len);
        ck_assert_int_eq(objpack_unpack(p, packed, (size_t) n, back, len - 1), -EINVAL);
        ck_assert_int_eq(objpack_unpack(p, packed, (size_t) n - 1, back, len), -EINVAL);
        ck_assert_int_eq(objpack_unpack(other, packed, (size_t) n, back, len), -EINVAL);
        ck_assert_int_eq(objpack_unpack(p, packed, (size_t) n, back, len), 0);
        free(t);
}
END_TEST

struct reader {
        struct objpack *p;
        const char *packed, *text;
        size_t n, len;
        int failures;
};

static void *read_many(void *arg) {
        struct reader *r = arg;
        char *back = malloc(r->len + 1);

        for (int i = 0; back && i < 2000; i++)
                if (objpack_unpack(r->p, r->packed, r->n, back, r->len) < 0 || memcmp(back, r->text, r->len))
                        r->failures++;
        free(back);
        return NULL;
}

START_TEST(test_concurrent_unpack_while_packing) {
        _cleanup_(objpack_freep) struct objpack *p = NULL;
        char *t = configmap(9, 2048), packed[8192];
        pthread_t th[4];
        struct reader r[4];
        int64_t n;

        ck_assert_int_eq(objpack_new(&p), 0);
        n = objpack_pack(p, packed, t, strlen(t));
        ck_assert_int_ge(n, 0);
        for (int i = 0; i < 4; i++) {
                r[i] = (struct reader){p, packed, t, (size_t) n, strlen(t), 0};
                ck_assert_int_eq(pthread_create(&th[i], NULL, read_many, &r[i]), 0);
        }
        for (int i = 0; i < 200; i++) {
                char *o = configmap(100 + i, 1024);
                round_trip(p, o, strlen(o));
                free(o);
        }
        for (int i = 0; i < 4; i++) {
                ck_assert_int_eq(pthread_join(th[i], NULL), 0);
                ck_assert_int_eq(r[i].failures, 0);
        }
        free(t);
}
END_TEST

static Suite *objpack_suite(void) {
        Suite *s = suite_create("kube-objpack");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_objects_of_a_kind_pack_small);
        tcase_add_test(tc, test_small_empty_and_incompressible);
        tcase_add_test(tc, test_unpack_refuses_what_it_did_not_pack);
        tcase_add_test(tc, test_concurrent_unpack_while_packing);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(objpack_suite)
