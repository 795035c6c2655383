/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox-operator's shutdown while tasks run: the operator runs in this process (as the cluster's admin),
 * tasks are started in a Running sandbox, and at the moment they are Running they are cancelled and the
 * operator is stopped and freed at once, again and again. A task thread that used the operator's queues or
 * caches after operator_free() would be a use-after-free: `make test` runs this program built with
 * AddressSanitizer, which reports it and fails the run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "operator/operator.h"
#include "testcluster.h"
#include "testutil.h"

#define ROUNDS 3
#define TASKS  4

struct run {
        struct mbox_operator *op;
        int rc;
};

static void *run_main(void *arg) {
        struct run *r = arg;
        struct merr err = MERR_INIT;
        r->rc = operator_run(r->op, &err);
        return NULL;
}

/* the operator borrows its options' strings for its whole life */
static char *kubeconfig;

/* Starts an operator in a thread; waits until its caches have synced. */
static struct mbox_operator *start(pthread_t *t, struct run *r) {
        if (!kubeconfig)
                kubeconfig = tc_kubeconfig();
        struct operator_options o = {.kubeconfig = kubeconfig, .resync_ns = 2000000000LL};
        struct merr err = MERR_INIT;
        ck_assert_msg(operator_new(&o, NULL, &r->op, &err) == 0, "%s", merr_msg(&err));
        ck_assert_int_eq(pthread_create(t, NULL, run_main, r), 0);
        for (int i = 0; i < 600 && !operator_ready(r->op); i++)
                usleep(100000);
        ck_assert_msg(operator_ready(r->op), "the operator did not become ready");
        return r->op;
}

/* Polls `kubectl get` with a jsonpath until its output is want, for at most secs seconds. */
static bool wait_output(int secs, const char *want, const char *ns, const char *what, const char *jsonpath) {
        for (int i = 0; i < secs * 4; i++) {
                struct buf out = BUF_INIT(1 << 20);
                int rc = tc_kubectl(&out, "-n", ns, "get", what, "-o", jsonpath, NULL);
                bool ok = rc == 0 && out.data && strcmp(out.data, want) == 0;
                buf_release(&out);
                if (ok)
                        return true;
                usleep(250000);
        }
        return false;
}

static int apply(const char *yaml) {
        char path[] = "/tmp/mbox-shutdown-XXXXXX";
        int fd = mkstemp(path), rc;
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (ssize_t) strlen(yaml));
        close(fd);
        rc = tc_kubectl(NULL, "apply", "-f", path, NULL);
        unlink(path);
        return rc;
}

START_TEST(test_free_while_tasks_end) {
        char project[128], ns[160], yaml[2048], name[64];
        unsigned int rnd = 0;
        ck_assert_int_eq(getrandom(&rnd, sizeof(rnd), 0), (ssize_t) sizeof(rnd));
        snprintf(project, sizeof(project), "shutdown-%08x", rnd);
        snprintf(ns, sizeof(ns), "mbox-%s", project);
        snprintf(yaml, sizeof(yaml),
                "apiVersion: mbox.dev/v1alpha1\nkind: Project\nmetadata: {name: %s}\nspec: {displayName: "
                "shutdown}\n",
                project);
        ck_assert_int_eq(apply(yaml), 0);

        pthread_t t;
        struct run r = {0};
        start(&t, &r);
        snprintf(yaml, sizeof(yaml),
                "apiVersion: mbox.dev/v1alpha1\nkind: EnvironmentTemplate\nmetadata: {name: box, namespace: "
                "%s}\nspec: {image: busybox:1.36, command: [sh, -c, tail -f /dev/null], resourcePreset: "
                "Small}\n---\napiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: box, namespace: "
                "%s}\nspec: {templateRef: {name: box}}\n",
                ns, ns);
        for (int i = 0; i < 120 && apply(yaml) != 0; i++) /* until the project made the namespace */
                usleep(250000);
        ck_assert_msg(wait_output(90, "Running", ns, "sandboxes.mbox.dev/box", "jsonpath={.status.phase}"),
                "sandbox box is not Running");

        for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < TASKS; i++) {
                        snprintf(yaml, sizeof(yaml),
                                "apiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: "
                                "r%d-t%d, "
                                "namespace: %s}\nspec: {sandboxRef: {name: box}, command: [sleep, \"30\"]}\n",
                                round, i, ns);
                        ck_assert_int_eq(apply(yaml), 0);
                }
                snprintf(name, sizeof(name), "executiontasks.mbox.dev/r%d-t%d", round, TASKS - 1);
                ck_assert_msg(wait_output(60, "Running", ns, name, "jsonpath={.status.phase}"),
                        "round %d: the last task is not Running", round);
                /* cancel every task and, at once, stop and free the operator while their threads end */
                for (int i = 0; i < TASKS; i++) {
                        snprintf(name, sizeof(name), "executiontasks.mbox.dev/r%d-t%d", round, i);
                        (void) tc_kubectl(NULL, "-n", ns, "patch", name, "--type=merge", "-p",
                                "{\"spec\":{\"cancel\":true}}", NULL);
                }
                operator_stop(r.op);
                ck_assert_int_eq(pthread_join(t, NULL), 0);
                ck_assert_int_eq(r.rc, 0);
                r.op = operator_free(r.op);
                if (round + 1 < ROUNDS)
                        start(&t, &r);
        }
        (void) tc_kubectl(NULL, "delete", "projects.mbox.dev", project, "--wait=false", NULL);
        (void) tc_kubectl(NULL, "-n", ns, "patch", "sandboxes.mbox.dev/box", "--type=merge", "-p",
                "{\"metadata\":{\"finalizers\":null}}", NULL);
        (void) tc_kubectl(NULL, "patch", "projects.mbox.dev", project, "--type=merge", "-p",
                "{\"metadata\":{\"finalizers\":null}}", NULL);
}
END_TEST

static Suite *shutdown_suite(void) {
        Suite *s = suite_create("operator-shutdown");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, test_free_while_tasks_end);
        suite_add_tcase(s, tc);
        return s;
}

MBOX_TEST_MAIN(shutdown_suite)
