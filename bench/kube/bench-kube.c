/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of `make bench-kube` (bench/kube/run.sh): the same work as bench/kube/go/main.go, done with
 * pkg/kube, each mode printing one JSON line of figures on stdout.
 *
 *   bench-kube load NS COUNT PAYLOAD THREADS    create COUNT ConfigMaps of about PAYLOAD data bytes
 *   bench-kube list NS                          one unpaged list, streamed (kube_list_each), every item
 *                                               decoded and kept as its compact JSON text, packed, as the
 *                                               informer caches objects; wall time and peak RSS
 *   bench-kube informer NS                      an informer's cache: RSS after sync minus RSS before
 *   bench-kube watch NS RV IDLE MAX READY COUNT watch from RV ("" for now) until COUNT events (0: no
 *                                               limit), IDLE seconds without one, or MAX seconds
 *   bench-kube write NS SECONDS THREADS         create and update ConfigMaps as fast as possible
 *
 * The kubeconfig is $KUBECONFIG, as for kubectl and the Go program.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/objpack.h"
#include "kube/watch.h"
#include "merr.h"

static double now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long maxrss_kb(void) {
        struct rusage ru;

        return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static double cpu_seconds(void) {
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return -1;
        return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* VmRSS of this process, in KiB. */
static long rss_kb(void) {
        char line[256];
        long kb = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

static int parse_long(const char *s, long *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int new_client(struct kube_client **ret, struct merr *err) {
        struct kube_config *cfg = NULL;
        int r;

        r = kube_config_default(NULL, &cfg, err);
        if (r < 0)
                return r;
        r = kube_client_new(cfg, ret, err);
        if (r < 0)
                return r;
        kube_client_set_timeout(*ret, 120000);
        return 0;
}

static int fail(const char *what, struct merr *err) {
        fprintf(stderr, "bench-kube: %s: %s\n", what, merr_msg(err));
        return 1;
}

static json_object *configmap(const char *ns, const char *name, const char *payload) {
        json_object *o = json_object_new_object(), *md = json_object_new_object(),
                    *labels = json_object_new_object(), *data = json_object_new_object();

        json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(o, "kind", json_object_new_string("ConfigMap"));
        json_object_object_add(md, "name", json_object_new_string(name));
        json_object_object_add(md, "namespace", json_object_new_string(ns));
        json_object_object_add(labels, "app.kubernetes.io/part-of", json_object_new_string("bench-kube"));
        json_object_object_add(md, "labels", labels);
        json_object_object_add(o, "metadata", md);
        json_object_object_add(data, "generation", json_object_new_string("0"));
        json_object_object_add(data, "payload", json_object_new_string(payload));
        json_object_object_add(o, "data", data);
        return o;
}

/* n letters drawn from a generator seeded with seed: each object's own data, which neither repeats within
 * an object nor across objects (a cache that compresses must not gain from a pattern) */
static char *make_payload(long n, unsigned seed) {
        char *p = malloc((size_t) n + 1);

        for (long i = 0; p && i < n; i++)
                p[i] = (char) ('a' + rand_r(&seed) % 26);
        if (p)
                p[n] = '\0';
        return p;
}

/* ---- load ---- */

struct loader {
        const char *ns;
        long payload, count, threads;
        atomic_long next;
        atomic_int failed;
};

static void *load_thread(void *arg) {
        struct loader *l = arg;
        struct kube_client *c = NULL;
        struct merr err = MERR_INIT;

        if (new_client(&c, &err) < 0) {
                (void) fail("client", &err);
                atomic_store(&l->failed, 1);
                return NULL;
        }
        for (long i; (i = atomic_fetch_add(&l->next, 1)) < l->count && !atomic_load(&l->failed);) {
                char name[64];
                struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = l->ns};
                json_object *o;
                int k;

                char *payload = make_payload(l->payload, (unsigned) i + 1);
                (void) snprintf(name, sizeof(name), "cm-%05ld", i);
                o = payload ? configmap(l->ns, name, payload) : NULL;
                free(payload);
                k = !o ? merr_set(&err, -ENOMEM, "out of memory")
                       : kube_create(c, &r, o, &(struct kube_write_opts){.field_manager = "bench-kube"}, NULL,
                                 &err);
                json_object_put(o);
                if (k < 0 && k != -EEXIST) {
                        (void) fail("create", &err);
                        atomic_store(&l->failed, 1);
                }
        }
        kube_client_free(c);
        return NULL;
}

static int cmd_load(int argc, char **argv) {
        struct loader l = {.ns = argv[0]};
        pthread_t t[64];
        double t0;

        if (argc != 4 || parse_long(argv[1], &l.count) < 0 || parse_long(argv[2], &l.payload) < 0 ||
                parse_long(argv[3], &l.threads) < 0 || l.threads < 1 || l.threads > 64 || l.payload < 0) {
                fprintf(stderr, "usage: bench-kube load NS COUNT PAYLOAD THREADS\n");
                return 2;
        }
        t0 = now();
        for (long i = 0; i < l.threads; i++)
                (void) pthread_create(&t[i], NULL, load_thread, &l);
        for (long i = 0; i < l.threads; i++)
                (void) pthread_join(t[i], NULL);
        printf("{\"mode\":\"load\",\"objects\":%ld,\"seconds\":%.3f}\n", l.count, now() - t0);
        return atomic_load(&l.failed) ? 1 : 0;
}

/* ---- list ---- */

/* Every decoded item, kept to the end as the informer keeps objects: its compact JSON text, packed
 * (kube/objpack.h). */
struct kept {
        struct objpack *pack;
        char **text;
        size_t n, alloc, bytes, packed;
        char *scratch;
        size_t scratch_size;
};

static int keep_item(json_object *item, void *userdata) {
        struct kept *k = userdata;
        size_t len = 0;
        const char *s = json_object_to_json_string_length(
                item, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        char *copy;
        int64_t n;

        if (!s)
                return -ENOMEM;
        if (objpack_bound(len) > k->scratch_size) {
                free(k->scratch);
                k->scratch_size = objpack_bound(len);
                if (!(k->scratch = malloc(k->scratch_size)))
                        return -ENOMEM;
        }
        n = objpack_pack(k->pack, k->scratch, s, len);
        if (n < 0)
                return (int) n;
        if (k->n == k->alloc) {
                size_t a = k->alloc ? k->alloc * 2 : 1024;
                char **p = realloc(k->text, a * sizeof(*p));

                if (!p)
                        return -ENOMEM;
                k->text = p;
                k->alloc = a;
        }
        copy = malloc((size_t) n);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, k->scratch, (size_t) n);
        k->text[k->n++] = copy;
        k->bytes += len;
        k->packed += (size_t) n;
        return 0;
}

static int cmd_list(int argc, char **argv) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        struct kept kept = {0};
        struct merr err = MERR_INIT;
        struct kube_resource r = {.version = "v1", .resource = "configmaps"};
        double t0, t1;
        int k;

        if (argc != 1) {
                fprintf(stderr, "usage: bench-kube list NS\n");
                return 2;
        }
        r.namespace = argv[0];
        if (new_client(&c, &err) < 0)
                return fail("client", &err);
        if (objpack_new(&kept.pack) < 0)
                return 1;
        t0 = now();
        k = kube_list_each(c, &r, &(struct kube_list_opts){0}, keep_item, &kept, NULL, &err);
        t1 = now();
        if (k < 0)
                return fail("list", &err);
        printf("{\"mode\":\"list\",\"items\":%zu,\"kept_json_bytes\":%zu,\"kept_bytes\":%zu,"
               "\"seconds\":%.3f,\"maxrss_kb\":%ld}\n",
                kept.n, kept.bytes, kept.packed, t1 - t0, maxrss_kb());
        for (size_t i = 0; i < kept.n; i++)
                free(kept.text[i]);
        free(kept.text);
        free(kept.scratch);
        objpack_free(kept.pack);
        return 0;
}

/* ---- informer ---- */

static void add_size(const char *key, json_object *obj, void *ud) {
        size_t *total = ud;
        size_t n = 0;

        (void) key;
        (void) json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &n);
        *total += n;
}

static int cmd_informer(int argc, char **argv) {
        _cleanup_(kube_client_freep) struct kube_client *warm = NULL;
        _cleanup_(informer_freep) struct informer *inf = NULL;
        struct kube_config *cfg = NULL;
        struct merr err = MERR_INIT;
        struct kube_resource r = {.version = "v1", .resource = "namespaces"};
        long before, after;
        size_t n, json_bytes = 0;
        double t0, t1;

        if (argc != 1) {
                fprintf(stderr, "usage: bench-kube informer NS\n");
                return 2;
        }
        /* the libraries' one-time state (curl, OpenSSL, a TLS session) belongs in the baseline */
        if (new_client(&warm, &err) < 0)
                return fail("client", &err);
        r.name = argv[0];
        if (kube_get(warm, &r, NULL, &err) < 0)
                return fail("get namespace", &err);
        if (kube_config_default(NULL, &cfg, &err) < 0)
                return fail("kubeconfig", &err);
        r = (struct kube_resource){.version = "v1", .resource = "configmaps", .namespace = argv[0]};
        if (informer_new(cfg, &r, NULL, NULL, &inf, &err) < 0)
                return fail("informer", &err);
        (void) malloc_trim(0);
        before = rss_kb();
        t0 = now();
        if (informer_start(inf, &err) < 0)
                return fail("informer", &err);
        if (!informer_wait_synced(inf, 300000)) {
                fprintf(stderr, "bench-kube: informer: not synced after 300 s\n");
                return 1;
        }
        t1 = now();
        /* what is left once freed memory (list pages) goes back to the system: the cache */
        (void) malloc_trim(0);
        after = rss_kb();
        n = informer_len(inf);
        informer_foreach(inf, NULL, add_size, &json_bytes);
        printf("{\"mode\":\"informer\",\"objects\":%zu,\"sync_seconds\":%.3f,\"rss_before_kb\":%ld,"
               "\"rss_after_kb\":%ld,\"json_bytes\":%zu,\"maxrss_kb\":%ld}\n",
                n, t1 - t0, before, after, json_bytes, maxrss_kb());
        return 0;
}

/* ---- watch ---- */

struct watcher {
        atomic_bool stop;
        atomic_long events;
        long count;
        double first, last;
        _Atomic double last_at;
        long by_type[5];
};

static int on_watch_event(const struct kube_watch_event *ev, void *userdata) {
        struct watcher *w = userdata;
        double t = now();

        if (ev->type == KUBE_EVENT_ERROR) {
                fprintf(stderr, "bench-kube: watch: error event %d %s\n", ev->status_code,
                        ev->status_reason ? ev->status_reason : "");
                return -EIO;
        }
        w->by_type[ev->type]++;
        if (ev->type == KUBE_EVENT_BOOKMARK)
                return 0;
        if (atomic_load(&w->events) == 0)
                w->first = t;
        w->last = t;
        atomic_store(&w->last_at, t);
        if (atomic_fetch_add(&w->events, 1) + 1 == w->count && w->count > 0)
                return -ECANCELED;
        return 0;
}

struct watchdog {
        struct watcher *w;
        double idle, deadline;
};

static void *watchdog_thread(void *arg) {
        struct watchdog *d = arg;

        while (!atomic_load(&d->w->stop)) {
                double t = now(), last = atomic_load(&d->w->last_at);

                if (t > d->deadline || (atomic_load(&d->w->events) > 0 && t - last > d->idle))
                        atomic_store(&d->w->stop, true);
                (void) nanosleep(&(struct timespec){.tv_nsec = 100 * 1000000L}, NULL);
        }
        return NULL;
}

static int cmd_watch(int argc, char **argv) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_json_ json_object *list = NULL;
        struct merr err = MERR_INIT;
        struct kube_resource r = {.version = "v1", .resource = "configmaps"};
        struct watcher w = {0};
        struct watchdog d = {.w = &w};
        char rv[64];
        long idle, max;
        double cpu0, span;
        pthread_t t;
        FILE *f;
        int k;

        if (argc != 6 || parse_long(argv[2], &idle) < 0 || parse_long(argv[3], &max) < 0 ||
                parse_long(argv[5], &w.count) < 0) {
                fprintf(stderr, "usage: bench-kube watch NS RV IDLE MAX READY COUNT\n");
                return 2;
        }
        r.namespace = argv[0];
        if (new_client(&c, &err) < 0)
                return fail("client", &err);
        if (argv[1][0]) {
                (void) snprintf(rv, sizeof(rv), "%s", argv[1]);
        } else {
                const char *s = NULL;

                k = kube_list(c, &r, &(struct kube_list_opts){.limit = 1}, &list, &err);
                if (k < 0 || json_get_string(list, "metadata.resourceVersion", 0, &s, &err) < 0)
                        return fail("list", &err);
                (void) snprintf(rv, sizeof(rv), "%s", s);
        }
        kube_client_set_timeout(c, 0);
        kube_client_set_cancel(c, &w.stop);
        d.idle = (double) idle;
        d.deadline = now() + (double) max;
        (void) pthread_create(&t, NULL, watchdog_thread, &d);
        f = fopen(argv[4], "we");
        if (f)
                fclose(f);
        cpu0 = cpu_seconds();
        k = kube_watch(c, &r, &(struct kube_watch_opts){.resource_version = rv, .timeout_seconds = max + 10},
                on_watch_event, &w, &err);
        atomic_store(&w.stop, true);
        (void) pthread_join(t, NULL);
        if (k < 0 && k != -ECANCELED)
                return fail("watch", &err);
        span = w.last - w.first;
        printf("{\"mode\":\"watch\",\"rv\":\"%s\",\"events\":%ld,\"added\":%ld,\"modified\":%ld,\"deleted\":%"
               "ld,"
               "\"seconds\":%.3f,\"events_per_second\":%.1f,\"cpu_seconds\":%.3f,\"maxrss_kb\":%ld}\n",
                rv, atomic_load(&w.events), w.by_type[KUBE_EVENT_ADDED], w.by_type[KUBE_EVENT_MODIFIED],
                w.by_type[KUBE_EVENT_DELETED], span, span > 0 ? (double) atomic_load(&w.events) / span : 0.0,
                cpu_seconds() - cpu0, maxrss_kb());
        return 0;
}

/* ---- write ---- */

struct writer {
        const char *ns;
        const char *payload;
        double deadline;
        atomic_long writes;
        atomic_int failed;
};

struct writer_arg {
        struct writer *w;
        long id;
};

static void *write_thread(void *arg) {
        struct writer_arg *a = arg;
        struct writer *w = a->w;
        struct kube_client *c = NULL;
        struct merr err = MERR_INIT;
        struct kube_write_opts wo = {.field_manager = "bench-kube"};

        if (new_client(&c, &err) < 0) {
                (void) fail("client", &err);
                atomic_store(&w->failed, 1);
                return NULL;
        }
        for (long i = 0; now() < w->deadline && !atomic_load(&w->failed); i++) {
                char name[64], patch[128];
                struct kube_resource r = {.version = "v1", .resource = "configmaps", .namespace = w->ns};
                json_object *o;
                int k;

                /* one create, then one update of the same object: an ADDED and a MODIFIED event */
                (void) snprintf(name, sizeof(name), "w-%ld-%06ld", a->id, i);
                o = configmap(w->ns, name, w->payload);
                k = kube_create(c, &r, o, &wo, NULL, &err);
                json_object_put(o);
                if (k < 0) {
                        (void) fail("create", &err);
                        atomic_store(&w->failed, 1);
                        break;
                }
                atomic_fetch_add(&w->writes, 1);
                r.name = name;
                (void) snprintf(patch, sizeof(patch), "{\"data\":{\"generation\":\"%ld\"}}", i + 1);
                k = kube_patch(c, &r, KUBE_PATCH_MERGE, patch, strlen(patch), &wo, NULL, &err);
                if (k < 0) {
                        (void) fail("patch", &err);
                        atomic_store(&w->failed, 1);
                        break;
                }
                atomic_fetch_add(&w->writes, 1);
        }
        kube_client_free(c);
        return NULL;
}

static int cmd_write(int argc, char **argv) {
        struct writer w = {.ns = argv[0]};
        struct writer_arg a[64];
        pthread_t t[64];
        long seconds, threads;
        double t0;

        if (argc != 3 || parse_long(argv[1], &seconds) < 0 || parse_long(argv[2], &threads) < 0 ||
                threads < 1 || threads > 64) {
                fprintf(stderr, "usage: bench-kube write NS SECONDS THREADS\n");
                return 2;
        }
        w.payload = make_payload(1024, 1);
        t0 = now();
        w.deadline = t0 + (double) seconds;
        for (long i = 0; i < threads; i++) {
                a[i] = (struct writer_arg){.w = &w, .id = i};
                (void) pthread_create(&t[i], NULL, write_thread, &a[i]);
        }
        for (long i = 0; i < threads; i++)
                (void) pthread_join(t[i], NULL);
        printf("{\"mode\":\"write\",\"writes\":%ld,\"seconds\":%.3f,\"writes_per_second\":%.1f}\n",
                atomic_load(&w.writes), now() - t0, (double) atomic_load(&w.writes) / (now() - t0));
        free((char *) w.payload);
        return atomic_load(&w.failed) ? 1 : 0;
}

int main(int argc, char **argv) {
        if (argc >= 3 && strcmp(argv[1], "load") == 0)
                return cmd_load(argc - 2, argv + 2);
        if (argc >= 3 && strcmp(argv[1], "list") == 0)
                return cmd_list(argc - 2, argv + 2);
        if (argc >= 3 && strcmp(argv[1], "informer") == 0)
                return cmd_informer(argc - 2, argv + 2);
        if (argc >= 3 && strcmp(argv[1], "watch") == 0)
                return cmd_watch(argc - 2, argv + 2);
        if (argc >= 3 && strcmp(argv[1], "write") == 0)
                return cmd_write(argc - 2, argv + 2);
        fprintf(stderr, "usage: bench-kube load|list|informer|watch|write NS ...\n");
        return 2;
}
