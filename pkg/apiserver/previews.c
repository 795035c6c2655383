/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What previews (docs/previews.md) need to know and do, for the gateway (gateway.c) and the proxy
 * subresource (sandboxproxy.c) alike:
 *  - the sandboxes and their ports, from an informer on mbox.dev Sandboxes indexed by the host label of
 *    each preview URL the operator wrote into status.previewURLs (PORT--SANDBOX--PROJECT), so that a
 *    request costs a lookup, not an API call;
 *  - the way to a port: the pod's IP, or a pods/portforward listener on loopback kept per pod and port
 *    (the KWOK nodes, whose pod IPs are fictional); --preview-transport chooses, auto tries the IP first
 *    and remembers a pod whose IP does not answer;
 *  - waking a sandbox stopped by its idle timeout (its status.lastActivityAt moves past its stop, which
 *    the operator takes as a start), and every request as activity.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "jsonutil.h"
#include "kube/config.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/object.h"
#include "kube/portforward.h"
#include "log.h"
#include "timestamp.h"

#define FORWARDS_MAX      128   /* port-forward listeners kept; the least recently used goes first */
#define ACTIVITY_EVERY_MS 2000  /* how often requests move a sandbox's lastActivityAt */
#define WAKE_EVERY_MS     10000 /* a sandbox is woken at most this often */
#define CONNECT_MS        3000

struct forward {
        struct kube_portforward_listener *l;
        int64_t used_ms;
};

struct api_previews {
        struct informer *sandboxes;
        struct kube_event_recorder *events;
        pthread_mutex_t lock;
        pthread_cond_t changed;  /* a sandbox changed: waiters for Running look again */
        struct strmap *forwards; /* "ns/pod/port" -> struct forward */
        struct strmap *touched;  /* "ns/name" -> int64_t ms of the last activity patch or wake ("w\t...") */
        struct strmap *no_ip;    /* "ns/pod/ip": pods whose IP did not answer (auto) */
        bool stopping;           /* under lock: requests waiting for a sandbox give up */
};

/* ---- the sandbox cache */

/* The host label of a preview URL: what lies between "://" and the first '.'. */
static size_t url_label(const char *url, const char **ret) {
        const char *p = url ? strstr(url, "://") : NULL;
        if (!p)
                return 0;
        p += 3;
        size_t n = strcspn(p, ".:/");
        *ret = p;
        return p[n] == '.' ? n : 0;
}

static void index_hosts(json_object *obj, informer_emit_fn emit, void *ectx, void *ud) {
        (void) ud;
        json_object *urls = kube_field(obj, "status.previewURLs");
        for (size_t i = 0;
                urls && json_object_is_type(urls, json_type_array) && i < json_object_array_length(urls);
                i++) {
                const char *label = NULL;
                size_t n = url_label(kube_str(json_object_array_get_idx(urls, i), "url"), &label);
                char v[256];
                if (n && n < sizeof(v)) {
                        memcpy(v, label, n);
                        v[n] = 0;
                        emit(v, ectx);
                }
        }
}

static void changed(struct api_previews *p) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
}

static void on_add(const char *key, json_object *obj, void *ud) {
        (void) key, (void) obj;
        changed(ud);
}
static void on_update(const char *key, json_object *o, json_object *n, void *ud) {
        (void) key, (void) o, (void) n;
        changed(ud);
}
static void on_delete(const char *key, json_object *obj, void *ud) {
        (void) key, (void) obj;
        changed(ud);
}

static void copy(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src ? src : "");
}

/* Fills t from the Sandbox obj and its preview named port (NULL: the one whose URL has label). */
static int fill(json_object *obj, const char *port, const char *label, size_t label_len,
        struct api_preview_target *t) {
        json_object *urls = kube_field(obj, "status.previewURLs");
        json_object *u = NULL;
        for (size_t i = 0; urls && json_object_is_type(urls, json_type_array) &&
                           i < json_object_array_length(urls) && !u;
                i++) {
                json_object *e = json_object_array_get_idx(urls, i);
                const char *l = NULL;
                if (port ? (kube_str(e, "name") && strcmp(kube_str(e, "name"), port) == 0)
                         : (label && url_label(kube_str(e, "url"), &l) == label_len &&
                                   memcmp(l, label, label_len) == 0))
                        u = e;
        }
        *t = (struct api_preview_target){0};
        copy(t->ns, sizeof(t->ns), kube_str(obj, "metadata.namespace"));
        copy(t->name, sizeof(t->name), kube_str(obj, "metadata.name"));
        copy(t->uid, sizeof(t->uid), kube_str(obj, "metadata.uid"));
        copy(t->creator, sizeof(t->creator), kube_str(obj, "metadata.annotations.mbox\\.dev/creator"));
        copy(t->phase, sizeof(t->phase), kube_str(obj, "status.phase"));
        copy(t->reason, sizeof(t->reason), kube_str(obj, "status.reason"));
        copy(t->pod, sizeof(t->pod), kube_str(obj, "status.podName"));
        copy(t->pod_ip, sizeof(t->pod_ip), kube_str(obj, "status.podIP"));
        copy(t->state, sizeof(t->state), kube_str(obj, "spec.state"));
        copy(t->stopped_at, sizeof(t->stopped_at), kube_str(obj, "status.stoppedAt"));
        if (!u)
                return -ENXIO;
        int64_t n = 0;
        (void) json_get_int64(u, "port", JSON_OPTIONAL, &n, NULL);
        t->port = n > 0 && n < 65536 ? (uint16_t) n : 0;
        copy(t->port_name, sizeof(t->port_name), kube_str(u, "name"));
        copy(t->visibility, sizeof(t->visibility), kube_str(u, "visibility"));
        copy(t->url, sizeof(t->url), kube_str(u, "url"));
        t->running = strcmp(t->phase, "Running") == 0 && t->pod[0];
        t->idle_stopped = (strcmp(t->phase, "Stopped") == 0 || strcmp(t->phase, "Stopping") == 0) &&
                          strcmp(t->reason, "IdleTimeout") == 0;
        return t->port ? 0 : -ENXIO;
}

struct by_label {
        const char *label;
        size_t len;
        struct api_preview_target *t;
        int r;
};

static void found(const char *key, json_object *obj, void *ud) {
        struct by_label *b = ud;
        (void) key;
        /* two sandboxes whose slugs make one host label: neither is served, rather than either */
        b->r = b->r == -ENOENT ? fill(obj, NULL, b->label, b->len, b->t) : -EEXIST;
}

int api_preview_find(struct apiserver *s, const char *label, const char *ns, const char *name,
        const char *port, struct api_preview_target *ret) {
        struct api_previews *p = s->previews;
        if (!p)
                return -ENOENT;
        if (label) {
                struct by_label b = {label, strlen(label), ret, -ENOENT};
                int r = informer_index_foreach(p->sandboxes, "previewhost", label, found, &b);
                return r < 0 ? r : b.r;
        }
        json_object *obj = api_sandbox_cached(s, ns, name);
        if (!obj)
                return -ENOENT;
        int r = fill(obj, port, NULL, 0, ret);
        json_object_put(obj);
        return r;
}

json_object *api_sandbox_cached(struct apiserver *s, const char *ns, const char *name) {
        char key[512];
        if (!s->previews)
                return NULL;
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        return informer_get(s->previews->sandboxes, key);
}

/* ---- activity and waking */

/* Moves the sandbox's status.lastActivityAt to now, or past its stop when that was in this very second
 * (the status has whole seconds, and an activity at its stop's time does not start it again). */
static void patch_activity(struct apiserver *s, const struct api_preview_target *t) {
        struct kube_client *kc = NULL;
        struct merr err = MERR_INIT;
        struct timestamp now, stopped = {0};
        char when[64], patch[128];
        struct kube_resource rs = {.group = "mbox.dev",
                .version = "v1alpha1",
                .resource = "sandboxes",
                .namespace = t->ns,
                .name = t->name,
                .subresource = "status"};
        if (timestamp_now(&now) < 0)
                return;
        now.nsec = 0;
        if (t->stopped_at[0] && timestamp_parse(t->stopped_at, &stopped, NULL) == 0 &&
                timestamp_cmp(&now, &stopped) <= 0)
                (void) timestamp_add(&stopped, 1000000000LL, &now);
        if (timestamp_format(&now, when, sizeof(when)) < 0)
                return;
        snprintf(patch, sizeof(patch), "{\"status\":{\"lastActivityAt\":\"%s\"}}", when);
        int r = kube_pool_get(s->clients, &kc, &err);
        if (r >= 0) {
                r = kube_patch(kc, &rs, KUBE_PATCH_MERGE, patch, strlen(patch), NULL, NULL, &err);
                kube_pool_put(s->clients, kc);
        }
        if (r < 0)
                log_warn("cannot record sandbox activity", "sandbox", t->name, "namespace", t->ns, "error",
                        merr_msg(&err));
}

/* Whether key's last time in p->touched is older than every_ms; if so it becomes now. */
static bool due(struct api_previews *p, const char *key, int64_t every_ms) {
        int64_t now = timestamp_monotonic_ms();
        bool r = false;
        pthread_mutex_lock(&p->lock);
        int64_t *last = strmap_get(p->touched, key);
        if (!last || now - *last >= every_ms) {
                r = true;
                if (last)
                        *last = now;
                else if ((last = malloc(sizeof(*last)))) {
                        *last = now;
                        if (strmap_put(p->touched, key, last) < 0)
                                free(last);
                }
        }
        pthread_mutex_unlock(&p->lock);
        return r;
}

void api_preview_activity(struct apiserver *s, const struct api_preview_target *t) {
        char key[512];
        snprintf(key, sizeof(key), "a\t%s/%s", t->ns, t->name);
        if (s->previews && due(s->previews, key, ACTIVITY_EVERY_MS))
                patch_activity(s, t);
}

static void wake(struct apiserver *s, const struct api_preview_target *t, const char *who) {
        struct api_previews *p = s->previews;
        char key[512];
        snprintf(key, sizeof(key), "w\t%s/%s", t->ns, t->name);
        if (!due(p, key, WAKE_EVERY_MS))
                return;
        log_info("waking a sandbox for a preview request", "sandbox", t->name, "namespace", t->ns, "port",
                t->port_name);
        patch_activity(s, t);
        char okey[512];
        snprintf(okey, sizeof(okey), "%s/%s", t->ns, t->name);
        json_object *obj = informer_get(p->sandboxes, okey);
        if (obj && p->events)
                kube_event(p->events, obj, "Normal", "Woken", "Wake",
                        "a preview request (port %s, from %s) starts the sandbox, stopped after its idle "
                        "timeout",
                        t->port_name, who && *who ? who : "an anonymous visitor");
        json_object_put(obj);
}

int api_preview_ready(struct apiserver *s, struct api_preview_target *t, long wait_ms, const char *who) {
        struct api_previews *p = s->previews;
        if (t->running)
                return 0;
        if (!t->idle_stopped &&
                !(strcmp(t->state, "Running") == 0 &&
                        (strcmp(t->phase, "Starting") == 0 || strcmp(t->phase, "Pending") == 0)))
                return -EAGAIN;
        if (t->idle_stopped)
                wake(s, t, who);
        int64_t deadline = timestamp_monotonic_ms() + wait_ms;
        char port[sizeof(t->port_name)];
        copy(port, sizeof(port), t->port_name);
        for (;;) {
                int64_t left = deadline - timestamp_monotonic_ms();
                if (left <= 0)
                        return -EINPROGRESS;
                pthread_mutex_lock(&p->lock);
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                long step = left < 500 ? left : 500; /* a look now and then, also without a change */
                ts.tv_sec += step / 1000;
                ts.tv_nsec += (step % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000)
                        ts.tv_sec++, ts.tv_nsec -= 1000000000;
                if (!p->stopping)
                        pthread_cond_timedwait(&p->changed, &p->lock, &ts);
                bool stopping = p->stopping;
                pthread_mutex_unlock(&p->lock);
                if (stopping)
                        return -EINPROGRESS;
                char ns[sizeof(t->ns)], name[sizeof(t->name)];
                copy(ns, sizeof(ns), t->ns);
                copy(name, sizeof(name), t->name);
                if (api_preview_find(s, NULL, ns, name, port, t) < 0)
                        return -ENOENT;
                if (t->running)
                        return 0;
        }
}

/* ---- the way to a port */

static int connect_to(
        const struct sockaddr *sa, socklen_t len, long timeout_ms, struct merr *err, const char *what) {
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return merr_set(err, -errno, "socket: %s", strerror(errno));
        int r = connect(fd, sa, len);
        if (r < 0 && errno == EINPROGRESS) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                r = poll(&pfd, 1, (int) timeout_ms);
                int e = 0;
                socklen_t el = sizeof(e);
                if (r == 0)
                        errno = ETIMEDOUT, r = -1;
                else if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e)
                        errno = e, r = -1;
                else if (r > 0)
                        r = 0;
        }
        if (r < 0) {
                int e = errno;
                close(fd);
                return merr_set(err, -e, "connecting to %s: %s", what, strerror(e));
        }
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return fd;
}

static int connect_ip(const char *ip, uint16_t port, long timeout_ms, struct merr *err) {
        struct sockaddr_storage ss = {0};
        socklen_t len;
        struct sockaddr_in *a4 = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ss;
        if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
                a4->sin_family = AF_INET, a4->sin_port = htons(port), len = sizeof(*a4);
        } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
                a6->sin6_family = AF_INET6, a6->sin6_port = htons(port), len = sizeof(*a6);
        } else
                return merr_set(err, -EINVAL, "the pod's IP \"%s\" is not an address", ip);
        char what[128];
        snprintf(what, sizeof(what), "the pod at %s port %u", ip, port);
        return connect_to((struct sockaddr *) &ss, len, timeout_ms, err, what);
}

static void forward_free(void *v) {
        struct forward *f = v;
        if (f)
                kube_portforward_listener_stop(f->l);
        free(f);
}

/* The loopback port of the port-forward listener for the pod's port, made when there is none. */
static int forward_port(struct apiserver *s, const struct api_preview_target *t, struct merr *err) {
        struct api_previews *p = s->previews;
        char key[600];
        snprintf(key, sizeof(key), "%s/%s/%u", t->ns, t->pod, t->port);
        pthread_mutex_lock(&p->lock);
        struct forward *f = strmap_get(p->forwards, key);
        if (f) {
                f->used_ms = timestamp_monotonic_ms();
                int port = kube_portforward_listener_port(f->l);
                pthread_mutex_unlock(&p->lock);
                return port;
        }
        pthread_mutex_unlock(&p->lock);
        struct kube_client *kc = NULL;
        struct kube_portforward_listener *l = NULL;
        int r = kube_pool_get(s->clients, &kc, err);
        if (r >= 0) /* the listener keeps the client */
                r = kube_portforward_listen(kc, t->ns, t->pod, t->port, "127.0.0.1", 0, &l, err);
        if (r < 0)
                return r;
        if (!(f = calloc(1, sizeof(*f)))) {
                kube_portforward_listener_stop(l);
                return merr_set(err, -ENOMEM, "port-forward");
        }
        f->l = l;
        f->used_ms = timestamp_monotonic_ms();
        int port = kube_portforward_listener_port(l);
        pthread_mutex_lock(&p->lock);
        if (strmap_get(p->forwards, key)) { /* another request made one meanwhile: use it */
                struct forward *g = strmap_get(p->forwards, key);
                g->used_ms = f->used_ms;
                port = kube_portforward_listener_port(g->l);
                pthread_mutex_unlock(&p->lock);
                forward_free(f);
                return port;
        }
        if (strmap_size(p->forwards) >= FORWARDS_MAX) {
                size_t it = 0;
                const char *k, *oldest = NULL;
                void *v;
                int64_t min = INT64_MAX;
                while (strmap_next(p->forwards, &it, &k, &v))
                        if (((struct forward *) v)->used_ms < min)
                                min = ((struct forward *) v)->used_ms, oldest = k;
                if (oldest) {
                        char *o = strdup(oldest);
                        if (o)
                                strmap_remove(p->forwards, o);
                        free(o);
                }
        }
        if (strmap_put(p->forwards, key, f) < 0) {
                pthread_mutex_unlock(&p->lock);
                forward_free(f);
                return merr_set(err, -ENOMEM, "port-forward");
        }
        pthread_mutex_unlock(&p->lock);
        return port;
}

int api_preview_connect(struct apiserver *s, const struct api_preview_target *t, struct merr *err) {
        struct api_previews *p = s->previews;
        const char *mode = s->opt.preview_transport ? s->opt.preview_transport : "auto";
        bool ip = strcmp(mode, "port-forward") != 0 && t->pod_ip[0];
        char key[600];
        snprintf(key, sizeof(key), "%s/%s/%s", t->ns, t->pod, t->pod_ip);
        if (ip && strcmp(mode, "auto") == 0) {
                pthread_mutex_lock(&p->lock);
                ip = !strmap_contains(p->no_ip, key);
                pthread_mutex_unlock(&p->lock);
        }
        if (ip) {
                int fd = connect_ip(t->pod_ip, t->port, strcmp(mode, "auto") == 0 ? 500 : CONNECT_MS, err);
                /* a refusal is an answer: the pod is there and does not listen on the port */
                if (fd >= 0 || strcmp(mode, "auto") != 0 || fd == -ECONNREFUSED)
                        return fd;
                pthread_mutex_lock(&p->lock);
                (void) strmap_put(p->no_ip, key, NULL);
                pthread_mutex_unlock(&p->lock);
                log_info("a pod's IP does not answer: previews use its port-forward", "pod", t->pod,
                        "namespace", t->ns, "ip", t->pod_ip);
                merr_clear(err);
        }
        int port = forward_port(s, t, err);
        if (port < 0)
                return port;
        return connect_ip("127.0.0.1", (uint16_t) port, CONNECT_MS, err);
}

/* ---- lifecycle */

int api_previews_new(struct apiserver *s, struct merr *err) {
        struct api_previews *p = calloc(1, sizeof(*p));
        if (!p)
                return merr_set(err, -ENOMEM, "previews");
        s->previews = p;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->changed, NULL);
        p->forwards = strmap_new(forward_free);
        p->touched = strmap_new(free);
        p->no_ip = strmap_new(NULL);
        if (!p->forwards || !p->touched || !p->no_ip)
                return merr_set(err, -ENOMEM, "previews");
        struct kube_config *cfg = NULL, *ecfg = NULL;
        const struct apiserver_options *o = &s->opt;
        int r = o->kubeconfig ? kube_config_load(o->kubeconfig, o->context, &cfg, err)
                              : kube_config_default(o->context, &cfg, err);
        if (r >= 0)
                r = o->kubeconfig ? kube_config_load(o->kubeconfig, o->context, &ecfg, err)
                                  : kube_config_default(o->context, &ecfg, err);
        if (r < 0) {
                kube_config_free(cfg);
                return r;
        }
        static const struct kube_resource rs = {
                .group = "mbox.dev", .version = "v1alpha1", .resource = "sandboxes"};
        struct informer_handlers h = {on_add, on_update, on_delete, p};
        r = informer_new(cfg, &rs, &(struct informer_options){0}, &h, &p->sandboxes, err);
        if (r >= 0)
                r = informer_add_index(p->sandboxes, "previewhost", index_hosts, NULL, err);
        if (r >= 0)
                r = kube_events_new(ecfg, "mbox.dev/apiserver", s->identity, &p->events, err);
        else
                kube_config_free(ecfg);
        return r;
}

void api_previews_stopping(struct apiserver *s) {
        struct api_previews *p = s->previews;
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
}

int api_previews_start(struct apiserver *s, struct merr *err) {
        return s->previews ? informer_start(s->previews->sandboxes, err) : 0;
}

void api_previews_free(struct apiserver *s) {
        struct api_previews *p = s->previews;
        if (!p)
                return;
        informer_free(p->sandboxes);
        if (p->events)
                kube_events_flush(p->events, 1000);
        kube_events_free(p->events);
        strmap_free(p->forwards);
        strmap_free(p->touched);
        strmap_free(p->no_ip);
        pthread_cond_destroy(&p->changed);
        pthread_mutex_destroy(&p->lock);
        free(p);
        s->previews = NULL;
}
