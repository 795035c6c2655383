/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/leader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "log.h"
#include "timestamp.h"

struct leader {
        struct kube_client *client;
        char *namespace, *name, *identity;
        long lease_ms, deadline_ms, retry_ms;
        struct leader_callbacks cb;

        pthread_t thread;
        bool running;
        atomic_bool stop;
        atomic_bool leading;

        /* what this candidate last saw of the Lease, and when (monotonic ms) */
        char observed_spec[1024];
        long long observed_at;
        char other_holder[256]; /* the last other holder this candidate deferred to, for the debug log */
};

static long long mono_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int leader_new(struct kube_config *cfg, const struct leader_options *o, const struct leader_callbacks *cb,
        struct leader **ret, struct merr *err) {
        _cleanup_(leader_freep) struct leader *l = NULL;
        int k;

        if (!o || !o->namespace || !o->name || !o->identity || !*o->identity) {
                kube_config_free(cfg);
                return merr_set(err, -EINVAL, "leader election needs a lease namespace, name and identity");
        }
        {
                long lease = o->lease_duration_ms > 0 ? o->lease_duration_ms : 15000;
                long deadline = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
                long retry = o->retry_period_ms > 0 ? o->retry_period_ms : 2000;

                if (!(lease > deadline && deadline * 10 > retry * 12)) {
                        kube_config_free(cfg);
                        return merr_set(err, -EINVAL,
                                "leader election: lease duration (%ld ms) must exceed the renew deadline "
                                "(%ld ms), "
                                "which must exceed 1.2 x the retry period (%ld ms)",
                                lease, deadline, retry);
                }
                l = calloc(1, sizeof(*l));
                if (!l) {
                        kube_config_free(cfg);
                        return merr_set(err, -ENOMEM, "out of memory");
                }
                l->lease_ms = lease;
                l->deadline_ms = deadline;
                l->retry_ms = retry;
        }
        k = kube_client_new(cfg, &l->client, err);
        if (k < 0)
                return k;
        kube_client_set_cancel(l->client, &l->stop);
        /* each request is bounded well inside the renew deadline */
        kube_client_set_timeout(l->client, l->retry_ms > 1000 ? l->retry_ms : 1000);
        l->namespace = strdup(o->namespace);
        l->name = strdup(o->name);
        l->identity = strdup(o->identity);
        if (!l->namespace || !l->name || !l->identity)
                return merr_set(err, -ENOMEM, "out of memory");
        if (cb)
                l->cb = *cb;
        *ret = TAKE_PTR(l);
        return 0;
}

struct leader *leader_free(struct leader *l) {
        if (!l)
                return NULL;
        leader_stop(l);
        kube_client_free(l->client);
        free(l->namespace);
        free(l->name);
        free(l->identity);
        free(l);
        return NULL;
}

static struct kube_resource lease_res(struct leader *l, bool named) {
        return (struct kube_resource){.group = "coordination.k8s.io",
                .version = "v1",
                .resource = "leases",
                .namespace = l->namespace,
                .name = named ? l->name : NULL};
}

static int now_micro(char *buf, size_t size) {
        struct timestamp t;

        (void) timestamp_now(&t);
        return timestamp_format_micro(&t, buf, size);
}

/* One round of client-go's tryAcquireOrRenew. Returns 1 when this candidate holds the Lease, 0 when
 * another does, < 0 on errors (conflicts included). */
static int try_acquire_or_renew(struct leader *l, bool release) {
        _cleanup_json_ json_object *lease = NULL, *body = NULL;
        struct kube_resource r = lease_res(l, true);
        const char *holder = "", *acquire = NULL, *rv = NULL;
        int64_t transitions = 0;
        json_object *spec = NULL;
        char now[64], buf[2048];
        int k;

        (void) now_micro(now, sizeof(now));
        k = kube_get(l->client, &r, &lease, NULL);
        if (k == -ENOENT) {
                if (release)
                        return 0;
                (void) snprintf(buf, sizeof(buf),
                        "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},"
                        "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%ld,"
                        "\"acquireTime\":\"%s\",\"renewTime\":\"%s\",\"leaseTransitions\":0}}",
                        l->name, l->namespace, l->identity, (l->lease_ms + 999) / 1000, now, now);
                if (json_parse(buf, strlen(buf), 0, &body, NULL) < 0)
                        return -EINVAL;
                r = lease_res(l, false);
                k = kube_create(l->client, &r, body, NULL, NULL, NULL);
                if (k < 0)
                        return k;
                l->observed_at = mono_ms();
                return 1;
        }
        if (k < 0)
                return k;
        if (json_get_object(lease, "spec", JSON_OPTIONAL, &spec, NULL) < 0 ||
                json_get_string(lease, "metadata.resourceVersion", 0, &rv, NULL) < 0)
                return -EINVAL;
        if (spec) {
                const char *raw = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN);

                (void) json_get_string(spec, "holderIdentity", JSON_OPTIONAL, &holder, NULL);
                (void) json_get_string(spec, "acquireTime", JSON_OPTIONAL, &acquire, NULL);
                (void) json_get_int64(spec, "leaseTransitions", JSON_OPTIONAL, &transitions, NULL);
                /* validity runs from when this candidate saw the record change, on its own clock */
                if (strcmp(raw, l->observed_spec) != 0) {
                        (void) snprintf(l->observed_spec, sizeof(l->observed_spec), "%s", raw);
                        l->observed_at = mono_ms();
                }
        }
        if (release) {
                if (strcmp(holder, l->identity) != 0)
                        return 0;
                (void) snprintf(buf, sizeof(buf),
                        "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"%s\"},"
                        "\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1,"
                        "\"acquireTime\":\"%s\",\"renewTime\":\"%s\",\"leaseTransitions\":%lld}}",
                        l->name, l->namespace, rv, now, now, (long long) transitions);
        } else {
                bool mine = strcmp(holder, l->identity) == 0;

                if (*holder && !mine && l->observed_at + l->lease_ms > mono_ms()) {
                        /* held by another and still valid */
                        if (strcmp(holder, l->other_holder) != 0) {
                                (void) snprintf(l->other_holder, sizeof(l->other_holder), "%s", holder);
                                log_debug("leader election: the Lease is held by another, standing by",
                                        "lease", l->name, "namespace", l->namespace, "holder", holder,
                                        "identity", l->identity);
                        }
                        return 0;
                }
                (void) snprintf(buf, sizeof(buf),
                        "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"%s\"},"
                        "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%ld,"
                        "\"acquireTime\":\"%s\",\"renewTime\":\"%s\",\"leaseTransitions\":%lld}}",
                        l->name, l->namespace, rv, l->identity, (l->lease_ms + 999) / 1000,
                        mine && acquire ? acquire : now, now,
                        (long long) (mine ? transitions : transitions + 1));
        }
        if (json_parse(buf, strlen(buf), 0, &body, NULL) < 0)
                return -EINVAL;
        k = kube_update(l->client, &r, body, NULL, NULL, NULL); /* 409 when another candidate won the race */
        if (k < 0)
                return k;
        l->observed_at = mono_ms();
        l->observed_spec[0] = '\0';
        return release ? 0 : 1;
}

static void pause_ms(struct leader *l, long ms) {
        long long until = mono_ms() + ms;

        while (!atomic_load(&l->stop) && mono_ms() < until)
                nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
}

static long jittered(long ms) {
        uint32_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t) sizeof(v))
                v = 0;
        return ms + (long) ((double) ms * 1.2 * (v / 4294967296.0));
}

static void *campaign(void *arg) {
        struct leader *l = arg;

        while (!atomic_load(&l->stop)) {
                long long last_renew;

                /* acquire */
                while (!atomic_load(&l->stop) && try_acquire_or_renew(l, false) != 1)
                        pause_ms(l, jittered(l->retry_ms));
                if (atomic_load(&l->stop))
                        break;
                atomic_store(&l->leading, true);
                if (l->cb.started)
                        l->cb.started(l->cb.userdata);
                /* renew; leadership ends when no renewal succeeds within the deadline */
                last_renew = mono_ms();
                while (!atomic_load(&l->stop)) {
                        pause_ms(l, l->retry_ms);
                        if (atomic_load(&l->stop))
                                break;
                        if (try_acquire_or_renew(l, false) == 1)
                                last_renew = mono_ms();
                        else if (mono_ms() - last_renew > l->deadline_ms)
                                break;
                }
                atomic_store(&l->leading, false);
                /* the work stops first: until the Lease is released or expires, no one else leads */
                if (l->cb.stopped)
                        l->cb.stopped(l->cb.userdata);
                if (atomic_load(&l->stop)) {
                        /* release at once so a standby need not wait for the lease to expire; the
                         * client's cancel flag is this stop flag, lowered for the release */
                        atomic_store(&l->stop, false);
                        for (int i = 0; i < 3 && try_acquire_or_renew(l, true) < 0; i++)
                                ;
                        atomic_store(&l->stop, true);
                }
        }
        return NULL;
}

int leader_start(struct leader *l, struct merr *err) {
        int k;

        if (l->running)
                return 0;
        atomic_store(&l->stop, false);
        k = pthread_create(&l->thread, NULL, campaign, l);
        if (k != 0)
                return merr_set(err, -k, "cannot start leader election");
        l->running = true;
        return 0;
}

void leader_stop(struct leader *l) {
        if (!l->running)
                return;
        atomic_store(&l->stop, true);
        (void) pthread_join(l->thread, NULL);
        l->running = false;
}

void leader_default_identity(char *buf, size_t size) {
        char host[128] = "";

        if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
                (void) snprintf(host, sizeof(host), "localhost");
        (void) snprintf(buf, size, "%s_%ld", host, (long) getpid());
}
