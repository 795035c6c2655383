/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkg/kube's REST layer against the local cluster: CRUD on ConfigMaps and on a CRD object, optimistic
 * concurrency, server-side apply, delete preconditions, pagination (pages as trees and streamed item by
 * item), and the errors a user sees for wrong credentials, an unreachable server and a malformed
 * kubeconfig.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jsonutil.h"
#include "kube/client.h"
#include "testcluster.h"
#include "testutil.h"

static json_object *parse(const char *fmt, ...) _printf_(1, 2);
static json_object *parse(const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        struct merr e = MERR_INIT;
        json_object *o = NULL;
        va_list ap;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
        va_end(ap);
        ck_assert_msg(json_parse(s, strlen(s), 0, &o, &e) == 0, "%s", merr_msg(&e));
        return o;
}

static const char *str(json_object *o, const char *path) {
        const char *s = NULL;
        struct merr e = MERR_INIT;

        ck_assert_msg(json_get_string(o, path, 0, &s, &e) == 1, "%s", merr_msg(&e));
        return s;
}

#define CM(name_) \
        { .version = "v1", .resource = "configmaps", .namespace = tc_ns, .name = (name_) }

START_TEST(test_configmap_crud) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *obj = NULL, *got = NULL, *upd = NULL, *patched = NULL, *dry = NULL;
        struct kube_resource coll = CM(NULL), one = CM("web");
        struct kube_write_opts dry_opts = {.dry_run = true};
        struct merr e = MERR_INIT;
        json_object *tmp = NULL;

        obj = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"web\"},"
                    "\"data\":{\"a\":\"1\"}}");
        ck_assert_msg(kube_create(c, &coll, obj, NULL, &tmp, &e) == 0, "%s", merr_msg(&e));
        json_object_put(tmp);
        ck_assert_int_eq(kube_create(c, &coll, obj, NULL, NULL, &e), -EEXIST);
        ck_assert_str_eq(kube_client_last_error(c)->reason, "AlreadyExists");
        ck_assert_msg(
                strstr(e.msg, "409 AlreadyExists") && strstr(e.msg, "\"web\" already exists"), "%s", e.msg);

        ck_assert_msg(kube_get(c, &one, &got, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(str(got, "data.a"), "1");
        json_object_object_add(json_object_object_get(got, "data"), "b", json_object_new_string("2"));
        ck_assert_msg(kube_update(c, &one, got, NULL, &upd, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(str(upd, "data.b"), "2");

        const char *mp = "{\"data\":{\"a\":null,\"c\":\"3\"}}";
        ck_assert_msg(kube_patch(c, &one, KUBE_PATCH_MERGE, mp, strlen(mp), NULL, &patched, &e) == 0, "%s",
                merr_msg(&e));
        ck_assert_str_eq(str(patched, "data.c"), "3");
        ck_assert_int_eq(json_lookup(patched, "data.a", NULL, NULL), 0);
        json_object_put(patched);
        patched = NULL;
        const char *jp = "[{\"op\":\"replace\",\"path\":\"/data/c\",\"value\":\"4\"}]";
        ck_assert_msg(kube_patch(c, &one, KUBE_PATCH_JSON, jp, strlen(jp), NULL, &patched, &e) == 0, "%s",
                merr_msg(&e));
        ck_assert_str_eq(str(patched, "data.c"), "4");

        /* dry run: the server answers as if created, nothing is stored */
        json_object_put(obj);
        obj = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dry\"}}");
        ck_assert_msg(kube_create(c, &coll, obj, &dry_opts, &dry, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(str(dry, "metadata.name"), "dry");
        ck_assert_int_eq(kube_get(c, &(struct kube_resource) CM("dry"), NULL, &e), -ENOENT);

        ck_assert_msg(kube_delete(c, &one, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_get(c, &one, NULL, &e), -ENOENT);
        ck_assert_str_eq(kube_client_last_error(c)->reason, "NotFound");
        ck_assert_int_eq(kube_client_last_error(c)->http_code, 404);
        ck_assert_msg(
                strstr(e.msg, "GET '/api/v1/namespaces/") && strstr(e.msg, "404 NotFound"), "%s", e.msg);
        ck_assert_int_eq(kube_delete(c, &one, NULL, NULL, &e), -ENOENT);
}
END_TEST

START_TEST(test_crd_object_crud) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *obj = NULL, *got = NULL, *patched = NULL, *list = NULL;
        struct kube_resource r = {.group = "extensions.agents.x-k8s.io",
                .version = "v1beta1",
                .resource = "sandboxtemplates",
                .namespace = tc_ns};
        struct merr e = MERR_INIT;
        json_object *items;

        obj = parse("{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxTemplate\","
                    "\"metadata\":{\"name\":\"tpl\",\"labels\":{\"t\":\"x\"}},\"spec\":{\"podTemplate\":{"
                    "\"spec\":"
                    "{\"containers\":[{\"name\":\"main\",\"image\":\"busybox:1.36\"}]}}}}");
        ck_assert_msg(kube_create(c, &r, obj, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        r.name = "tpl";
        ck_assert_msg(kube_get(c, &r, &got, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(str(got, "spec.podTemplate.spec.containers[0].image"), "busybox:1.36");
        ck_assert_str_eq(str(got, "kind"), "SandboxTemplate");
        const char *mp = "{\"metadata\":{\"labels\":{\"t\":\"y\"}}}";
        ck_assert_msg(kube_patch(c, &r, KUBE_PATCH_MERGE, mp, strlen(mp), NULL, &patched, &e) == 0, "%s",
                merr_msg(&e));
        ck_assert_str_eq(str(patched, "metadata.labels.t"), "y");
        r.name = NULL;
        /* spaces, parentheses and commas in a selector travel URL-escaped */
        ck_assert_msg(
                kube_list(c, &r, &(struct kube_list_opts){.label_selector = "t in (y,z)"}, &list, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_int_eq(json_get_array(list, "items", 0, &items, &e), 1);
        ck_assert_uint_eq(json_object_array_length(items), 1);
        /* an invalid object is rejected with the field in the message */
        json_object_put(obj);
        obj = parse("{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxTemplate\","
                    "\"metadata\":{\"name\":\"bad\"},\"spec\":{\"envVarsInjectionPolicy\":\"Sometimes\","
                    "\"podTemplate\":{\"spec\":{\"containers\":[]}}}}");
        ck_assert_int_eq(kube_create(c, &r, obj, NULL, NULL, &e), -EINVAL);
        ck_assert_int_eq(kube_client_last_error(c)->http_code, 422);
        ck_assert_msg(strstr(e.msg, "envVarsInjectionPolicy"), "%s", e.msg);
        r.name = "tpl";
        ck_assert_msg(kube_delete(c, &r,
                              &(struct kube_delete_opts){
                                      .propagation_policy = "Foreground", .grace_period_seconds = -1},
                              NULL, &e) == 0,
                "%s", merr_msg(&e));
}
END_TEST

START_TEST(test_conflict_and_retry) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *obj = NULL, *a = NULL, *b = NULL, *fresh = NULL;
        struct kube_resource coll = CM(NULL), one = CM("counter");
        struct merr e = MERR_INIT;

        obj = parse("{\"metadata\":{\"name\":\"counter\"},\"data\":{\"n\":\"0\"}}");
        ck_assert_msg(kube_create(c, &coll, obj, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_get(c, &one, &a, &e), 0);
        ck_assert_int_eq(kube_get(c, &one, &b, &e), 0);
        json_object_object_add(json_object_object_get(a, "data"), "n", json_object_new_string("1"));
        ck_assert_msg(kube_update(c, &one, a, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        /* b still carries the old resourceVersion */
        json_object_object_add(json_object_object_get(b, "data"), "n", json_object_new_string("2"));
        ck_assert_int_eq(kube_update(c, &one, b, NULL, NULL, &e), -ESTALE);
        ck_assert_str_eq(kube_client_last_error(c)->reason, "Conflict");
        ck_assert_msg(
                strstr(e.msg, "409 Conflict") && strstr(e.msg, "the object has been modified"), "%s", e.msg);
        /* re-read and retry */
        ck_assert_int_eq(kube_get(c, &one, &fresh, &e), 0);
        ck_assert_str_eq(str(fresh, "data.n"), "1");
        json_object_object_add(json_object_object_get(fresh, "data"), "n", json_object_new_string("2"));
        ck_assert_msg(kube_update(c, &one, fresh, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        json_object_put(fresh);
        fresh = NULL;
        ck_assert_int_eq(kube_get(c, &one, &fresh, &e), 0);
        ck_assert_str_eq(str(fresh, "data.n"), "2");
}
END_TEST

START_TEST(test_server_side_apply) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *obj = NULL, *res = NULL, *other = NULL;
        struct kube_resource one = CM("applied");
        struct kube_write_opts mine = {.field_manager = "mbox-test"},
                               theirs = {.field_manager = "someone-else"};
        struct merr e = MERR_INIT;
        json_object *mf;
        bool found = false;

        /* a "/" in a key: json-c escapes it as "\/", which the server's YAML decoder of apply bodies refuses */
        obj = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\","
                    "\"labels\":{\"example.com/owner\":\"me\"}},\"data\":{\"owner\":\"me\"}}");
        ck_assert_int_eq(kube_apply(c, &one, obj, NULL, NULL, &e), -EINVAL); /* no field manager */
        ck_assert_msg(strstr(e.msg, "needs a field manager"), "%s", e.msg);
        ck_assert_msg(kube_apply(c, &one, obj, &mine, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(str(res, "data.owner"), "me");
        ck_assert_int_eq(json_get_array(res, "metadata.managedFields", 0, &mf, &e), 1);
        for (size_t i = 0; i < json_object_array_length(mf); i++) {
                json_object *m = json_object_array_get_idx(mf, i);

                if (strcmp(str(m, "manager"), "mbox-test") == 0 && strcmp(str(m, "operation"), "Apply") == 0)
                        found = true;
        }
        ck_assert(found);
        /* another manager setting the same field conflicts, unless it forces */
        other = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\"},"
                      "\"data\":{\"owner\":\"them\"}}");
        ck_assert_int_eq(kube_apply(c, &one, other, &theirs, NULL, &e), -ESTALE);
        ck_assert_msg(strstr(e.msg, "conflict") && strstr(e.msg, "mbox-test"), "%s", e.msg);
        theirs.force = true;
        json_object_put(res);
        res = NULL;
        ck_assert_msg(kube_apply(c, &one, other, &theirs, &res, &e) == 0, "%s", merr_msg(&e));
        ck_assert_str_eq(str(res, "data.owner"), "them");
}
END_TEST

START_TEST(test_delete_preconditions) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        _cleanup_json_ json_object *obj = NULL, *created = NULL;
        struct kube_resource coll = CM(NULL), one = CM("guarded");
        struct merr e = MERR_INIT;

        obj = parse("{\"metadata\":{\"name\":\"guarded\"}}");
        ck_assert_int_eq(kube_create(c, &coll, obj, NULL, &created, &e), 0);
        ck_assert_int_eq(kube_delete(c, &one,
                                 &(struct kube_delete_opts){.uid = "00000000-0000-0000-0000-000000000000",
                                         .grace_period_seconds = -1},
                                 NULL, &e),
                -ESTALE);
        ck_assert_msg(strstr(e.msg, "409 Conflict") && strstr(e.msg, "does not match the UID"), "%s", e.msg);
        ck_assert_int_eq(kube_get(c, &one, NULL, &e), 0);
        /* dry-run delete with the right uid leaves it; a real one removes it */
        ck_assert_msg(kube_delete(c, &one,
                              &(struct kube_delete_opts){.uid = str(created, "metadata.uid"),
                                      .resource_version = str(created, "metadata.resourceVersion"),
                                      .dry_run = true,
                                      .grace_period_seconds = -1},
                              NULL, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_int_eq(kube_get(c, &one, NULL, &e), 0);
        ck_assert_msg(kube_delete(c, &one,
                              &(struct kube_delete_opts){
                                      .uid = str(created, "metadata.uid"), .grace_period_seconds = 0},
                              NULL, &e) == 0,
                "%s", merr_msg(&e));
        ck_assert_int_eq(kube_get(c, &one, NULL, &e), -ENOENT);
}
END_TEST

#define N_PAGED 520

struct each {
        unsigned char seen[N_PAGED];
        int total;
        int stop_after; /* 0: never */
};

/* Counts each paged object once, and checks it came with the kind and apiVersion its list leaves out. */
static int each_item(json_object *item, void *userdata) {
        struct each *x = userdata;
        const char *name = str(item, "metadata.name");
        int n;

        ck_assert_str_eq(str(item, "kind"), "ConfigMap");
        ck_assert_str_eq(str(item, "apiVersion"), "v1");
        ck_assert_int_eq(sscanf(name, "page-%d", &n), 1);
        ck_assert(n >= 0 && n < N_PAGED);
        ck_assert_msg(x->seen[n] == 0, "'%s' seen twice", name);
        x->seen[n] = 1;
        x->total++;
        return x->stop_after && x->total == x->stop_after ? -ECANCELED : 0;
}

/* kube_list_each() over the N_PAGED objects: every page followed, each object exactly once. */
static void check_list_each(struct kube_client *c, struct kube_resource *coll, long limit) {
        static struct each x;
        _cleanup_free_ char *rv = NULL;
        struct merr e = MERR_INIT;

        memset(&x, 0, sizeof(x));
        ck_assert_msg(kube_list_each(c, coll,
                              &(struct kube_list_opts){.limit = limit, .label_selector = "paged=yes"},
                              each_item, &x, &rv, &e) == 0,
                "limit %ld: %s", limit, merr_msg(&e));
        ck_assert_int_eq(x.total, N_PAGED);
        ck_assert_ptr_nonnull(rv);
        ck_assert_uint_gt(strlen(rv), 0);
}

START_TEST(test_pagination) {
        _cleanup_(kube_client_freep) struct kube_client *c = tc_client();
        struct kube_resource coll = CM(NULL);
        static unsigned char seen[N_PAGED];
        _cleanup_free_ char *token = NULL;
        struct merr e = MERR_INIT;
        int pages = 0, total = 0;

        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < N_PAGED; i++) {
                _cleanup_json_ json_object *o =
                        parse("{\"metadata\":{\"name\":\"page-%03d\",\"labels\":{\"paged\":\"yes\"}}}", i);

                ck_assert_msg(kube_create(c, &coll, o, NULL, NULL, &e) == 0, "%s", merr_msg(&e));
        }
        do {
                _cleanup_json_ json_object *list = NULL;
                struct kube_list_opts lo = {
                        .limit = 100, .continue_token = token, .label_selector = "paged=yes"};
                const char *next = NULL;
                json_object *items;

                ck_assert_msg(kube_list(c, &coll, &lo, &list, &e) == 0, "%s", merr_msg(&e));
                ck_assert_int_eq(json_get_array(list, "items", 0, &items, &e), 1);
                ck_assert_uint_le(json_object_array_length(items), 100);
                for (size_t i = 0; i < json_object_array_length(items); i++) {
                        const char *name = str(json_object_array_get_idx(items, i), "metadata.name");
                        int n;

                        ck_assert_int_eq(sscanf(name, "page-%d", &n), 1);
                        ck_assert(n >= 0 && n < N_PAGED);
                        ck_assert_msg(seen[n] == 0, "'%s' seen twice", name);
                        seen[n] = 1;
                        total++;
                }
                ck_assert_int_ge(json_get_string(list, "metadata.continue", JSON_OPTIONAL, &next, &e), 0);
                free(token);
                token = next && *next ? strdup(next) : NULL;
                pages++;
        } while (token);
        ck_assert_int_eq(total, N_PAGED);
        ck_assert_int_eq(pages, 6);
        /* 520 creates and 6 lists over one kept-alive connection */
        ck_assert_uint_eq(kube_client_connections(c), 1);

        /* the same objects streamed, in one page and in pages of 100, 7 (not a divisor) and 1000 */
        check_list_each(c, &coll, 0);
        check_list_each(c, &coll, 100);
        check_list_each(c, &coll, 7);
        check_list_each(c, &coll, 1000);
        {
                /* a callback that stops ends the list with its error, after no more items */
                static struct each x;

                memset(&x, 0, sizeof(x));
                x.stop_after = 150;
                ck_assert_int_eq(
                        kube_list_each(c, &coll,
                                &(struct kube_list_opts){.limit = 100, .label_selector = "paged=yes"},
                                each_item, &x, NULL, &e),
                        -ECANCELED);
                ck_assert_int_eq(x.total, 150);
        }
        {
                /* a non-2xx answer is its Status, as for kube_list() */
                struct kube_resource none = {.version = "v1", .resource = "nosuchthings", .namespace = tc_ns};
                static struct each x;

                memset(&x, 0, sizeof(x));
                ck_assert_int_eq(kube_list_each(c, &none, NULL, each_item, &x, NULL, &e), -ENOENT);
                ck_assert_int_eq(kube_client_last_error(c)->http_code, 404);
                ck_assert_int_eq(x.total, 0);
                ck_assert_int_eq(kube_list_each(c, &coll, &(struct kube_list_opts){.label_selector = "a b c"},
                                         each_item, &x, NULL, &e),
                        -EINVAL);
                ck_assert_int_eq(kube_client_last_error(c)->http_code, 400);
                ck_assert_str_eq(kube_client_last_error(c)->reason, "BadRequest");
        }

        /* a body over the cap is an error, not a truncated object */
        kube_client_set_max_body(c, 4096);
        ck_assert_int_eq(kube_list(c, &coll, &(struct kube_list_opts){.limit = 100}, NULL, &e), -EFBIG);
        ck_assert_msg(strstr(e.msg, "response body larger than 4096 bytes"), "%s", e.msg);
        /* a streamed list holds one item at a time: the cap is on each item, not on the list */
        check_list_each(c, &coll, 0);
        kube_client_set_max_body(c, 64);
        {
                static struct each x;

                memset(&x, 0, sizeof(x));
                ck_assert_int_eq(kube_list_each(c, &coll, NULL, each_item, &x, NULL, &e), -E2BIG);
                ck_assert_msg(strstr(e.msg, "items[0] is larger than 64 bytes"), "%s", e.msg);
                ck_assert_int_eq(x.total, 0);
        }
        kube_client_set_max_body(c, KUBE_DEFAULT_MAX_BODY);
        ck_assert_int_eq(kube_list(c, &coll, &(struct kube_list_opts){.limit = 1}, NULL, &e), 0);
}
END_TEST

static char *tmpdir_new(void) {
        char *d = strdup("/tmp/kube-rest-XXXXXX");

        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static void rm_rf(const char *d) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", d), 0);
        (void) !system(cmd);
}

static void write_file(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_wrong_credentials) {
        _cleanup_free_ char *dir = tmpdir_new(), *cmd = NULL, *kc = NULL, *path = NULL, *server = NULL,
                            *want = NULL;
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        struct kube_config *cfg = NULL;
        struct merr e = MERR_INIT;
        int r;

        /* the cluster's own address, whatever port it runs on */
        {
                _cleanup_free_ char *admin = tc_kubeconfig();
                struct kube_config *acfg = NULL;

                ck_assert_int_eq(kube_config_load(admin, NULL, &acfg, &e), 0);
                ck_assert_int_ge(asprintf(&server, "%s", acfg->server), 0);
                kube_config_free(acfg);
        }
        /* a client certificate signed by a CA the cluster does not know */
        ck_assert_int_ge(
                asprintf(&cmd,
                        "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                        "-keyout ca.key -out ca.crt -subj /CN=rogue-ca -days 1 2>/dev/null && "
                        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c.key "
                        "-out c.csr -subj /CN=admin/O=system:masters 2>/dev/null && "
                        "openssl x509 -req -in c.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                        "-out c.crt -days 1 2>/dev/null",
                        dir),
                0);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_ge(
                asprintf(&kc,
                        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                        "    server: %s\n    certificate-authority: %s/pki/ca.crt\n"
                        "users:\n- name: u\n  user:\n    client-certificate: c.crt\n"
                        "    client-key: c.key\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                        "current-context: x\n",
                        server, tc_state_dir()),
                0);
        write_file(dir, "config", kc);
        ck_assert_int_ge(asprintf(&path, "%s/config", dir), 0);
        ck_assert_msg(kube_config_load(path, NULL, &cfg, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_client_new(cfg, &c, &e), 0);
        r = kube_get(c, &(struct kube_resource){.version = "v1", .resource = "namespaces", .name = "default"},
                NULL, &e);
        ck_assert_msg(r == -EPERM, "got %d: %s", r, merr_msg(&e));
        ck_assert_msg(strstr(e.msg, "401 Unauthorized"), "%s", e.msg);
        c = kube_client_free(c);

        /* and a CA that did not sign the server's certificate fails the TLS handshake */
        free(kc);
        ck_assert_int_ge(
                asprintf(&kc,
                        "clusters:\n- name: c\n  cluster:\n    server: %s\n"
                        "    certificate-authority: ca.crt\ncontexts:\n- name: x\n  context: {cluster: c}\n"
                        "current-context: x\n",
                        server),
                0);
        write_file(dir, "config", kc);
        ck_assert_msg(kube_config_load(path, NULL, &cfg, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_client_new(cfg, &c, &e), 0);
        r = kube_get(c, &(struct kube_resource){.version = "v1", .resource = "namespaces", .name = "default"},
                NULL, &e);
        ck_assert_msg(r == -EPROTO, "got %d: %s", r, merr_msg(&e));
        free(want);
        ck_assert_int_ge(asprintf(&want, "GET '%s/api/v1/namespaces/default'", server), 0);
        ck_assert_msg(strstr(e.msg, want) && strstr(e.msg, "certificate"), "%s", e.msg);
        rm_rf(dir);
}
END_TEST

START_TEST(test_unreachable_server) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_free_ char *kc = NULL, *want = NULL;
        struct kube_config *cfg = NULL;
        struct merr e = MERR_INIT;
        int fd, r;

        /* a port that was free a moment ago and has no listener */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
        close(fd);
        ck_assert_int_ge(
                asprintf(&kc,
                        "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:%d', "
                        "insecure-skip-tls-verify: true}\ncontexts:\n- name: x\n  context: {cluster: c}\n"
                        "current-context: x\n",
                        ntohs(sa.sin_port)),
                0);
        ck_assert_msg(
                kube_config_load_data(kc, strlen(kc), "mem", NULL, NULL, &cfg, &e) == 0, "%s", merr_msg(&e));
        ck_assert_int_eq(kube_client_new(cfg, &c, &e), 0);
        r = kube_get(c, &(struct kube_resource){.version = "v1", .resource = "namespaces"}, NULL, &e);
        ck_assert_msg(r == -ECONNREFUSED, "got %d: %s", r, merr_msg(&e));
        ck_assert_int_ge(
                asprintf(&want, "GET 'https://127.0.0.1:%d/api/v1/namespaces'", ntohs(sa.sin_port)), 0);
        ck_assert_msg(strstr(e.msg, want) && strstr(e.msg, "onnect"), "%s", e.msg);
}
END_TEST

START_TEST(test_malformed_kubeconfig) {
        _cleanup_free_ char *dir = tmpdir_new(), *path = NULL;
        struct kube_config *cfg = NULL;
        struct merr e = MERR_INIT;

        write_file(dir, "config", "clusters:\n- name: c\n  cluster: {server: https://x\n");
        ck_assert_int_ge(asprintf(&path, "%s/config", dir), 0);
        ck_assert_int_eq(kube_config_load(path, NULL, &cfg, &e), -EINVAL);
        ck_assert_ptr_null(cfg);
        ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, "line "), "%s", e.msg);
        rm_rf(dir);
}
END_TEST

static Suite *kube_rest_suite(void) {
        Suite *s = suite_create("kube-rest");
        TCase *tc = tcase_create("rest");

        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, tc_ns_setup, tc_ns_teardown);
        tcase_add_test(tc, test_configmap_crud);
        tcase_add_test(tc, test_crd_object_crud);
        tcase_add_test(tc, test_conflict_and_retry);
        tcase_add_test(tc, test_server_side_apply);
        tcase_add_test(tc, test_delete_preconditions);
        tcase_add_test(tc, test_pagination);
        tcase_add_test(tc, test_wrong_credentials);
        tcase_add_test(tc, test_unreachable_server);
        tcase_add_test(tc, test_malformed_kubeconfig);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(kube_rest_suite)
