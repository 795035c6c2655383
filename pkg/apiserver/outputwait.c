/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Followers of a task's output (taskoutputs/NAME/log?follow=true) wait here for its next chunk or its end,
 * instead of looking again every FOLLOW_POLL_MS: one thread per replica listens on Postgres' channel
 * TASK_OUTPUT_CHANNEL, where the operator's writes notify the task's uid, and wakes that task's followers.
 * A follower still looks after its timeout, so a lost connection (reconnected within a second) or a missed
 * notification only delays it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "log.h"
#include "store/taskoutput.h"
#include "timestamp.h"

struct api_output_waits {
        struct apiserver *s;
        pthread_t thread;
        bool started;
        int wake[2]; /* a byte stops the thread */
        pthread_mutex_t lock;
        struct strmap *tasks; /* uid -> struct task_waiters */
};

/* The followers of one task's output. */
struct task_waiters {
        pthread_cond_t changed;
        unsigned long long gen; /* notifications heard for the task */
        unsigned refs;
};

static void waiters_free(void *p) {
        struct task_waiters *t = p;
        pthread_cond_destroy(&t->changed);
        free(t);
}

static void notified(struct api_output_waits *w, const char *uid) {
        pthread_mutex_lock(&w->lock);
        struct task_waiters *t = strmap_get(w->tasks, uid);
        if (t) {
                t->gen++;
                pthread_cond_broadcast(&t->changed);
        }
        pthread_mutex_unlock(&w->lock);
}

static bool stop_asked(struct api_output_waits *w, int timeout_ms) {
        struct pollfd p = {.fd = w->wake[0], .events = POLLIN};
        return poll(&p, 1, timeout_ms) > 0;
}

static void *listen_main(void *ud) {
        struct api_output_waits *w = ud;
        PGconn *conn = NULL;
        bool warned = false;
        for (;;) {
                if (!conn) {
                        struct merr err = MERR_INIT;
                        if (store_listen(w->s->store, TASK_OUTPUT_CHANNEL, &conn, &err) < 0) {
                                if (!warned)
                                        log_warn("followers of task output look every 250 ms: cannot listen",
                                                "error", merr_msg(&err));
                                warned = true;
                                if (stop_asked(w, 1000))
                                        break;
                                continue;
                        }
                        warned = false;
                }
                struct pollfd p[2] = {
                        {.fd = w->wake[0], .events = POLLIN}, {.fd = PQsocket(conn), .events = POLLIN}};
                if (poll(p, 2, 1000) < 0 && errno != EINTR)
                        break;
                if (p[0].revents)
                        break;
                if (p[1].revents && PQconsumeInput(conn) != 1) {
                        log_warn("the task output listener lost its database connection; connecting again",
                                "error", PQerrorMessage(conn));
                        store_unlisten(w->s->store, conn);
                        conn = NULL;
                        continue;
                }
                PGnotify *n;
                while ((n = PQnotifies(conn))) {
                        notified(w, n->extra);
                        PQfreemem(n);
                }
        }
        if (conn)
                store_unlisten(w->s->store, conn);
        return NULL;
}

int api_output_waits_start(struct apiserver *s, struct merr *err) {
        if (!s->store)
                return 0;
        struct api_output_waits *w = calloc(1, sizeof(*w));
        if (!w || pipe2(w->wake, O_CLOEXEC) < 0) {
                free(w);
                return merr_set(err, -errno, "the task output listener: %m");
        }
        w->s = s;
        pthread_mutex_init(&w->lock, NULL);
        w->tasks = strmap_new(waiters_free);
        s->output_waits = w;
        if (!w->tasks)
                return merr_set(err, -ENOMEM, "the task output listener");
        if (pthread_create(&w->thread, NULL, listen_main, w) != 0)
                return merr_set(err, -EAGAIN, "the task output listener: no thread");
        w->started = true;
        return 0;
}

void api_output_waits_stop(struct apiserver *s) {
        struct api_output_waits *w = s->output_waits;
        if (!w)
                return;
        if (w->started) {
                (void) !write(w->wake[1], "x", 1);
                pthread_join(w->thread, NULL);
        }
        close(w->wake[0]);
        close(w->wake[1]);
        strmap_free(w->tasks);
        pthread_mutex_destroy(&w->lock);
        free(w);
        s->output_waits = NULL;
}

unsigned long long api_output_follow(struct apiserver *s, const char *uid) {
        struct api_output_waits *w = s->output_waits;
        unsigned long long gen = 0;
        if (!w)
                return 0;
        pthread_mutex_lock(&w->lock);
        struct task_waiters *t = strmap_get(w->tasks, uid);
        if (!t && (t = calloc(1, sizeof(*t)))) {
                pthread_condattr_t a;
                pthread_condattr_init(&a);
                pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
                pthread_cond_init(&t->changed, &a);
                pthread_condattr_destroy(&a);
                if (strmap_put(w->tasks, uid, t) < 0) {
                        waiters_free(t);
                        t = NULL;
                }
        }
        if (t) {
                t->refs++;
                gen = t->gen;
        }
        pthread_mutex_unlock(&w->lock);
        return gen;
}

void api_output_unfollow(struct apiserver *s, const char *uid) {
        struct api_output_waits *w = s->output_waits;
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        struct task_waiters *t = strmap_get(w->tasks, uid);
        if (t && --t->refs == 0)
                strmap_remove(w->tasks, uid);
        pthread_mutex_unlock(&w->lock);
}

unsigned long long api_output_wait(
        struct apiserver *s, const char *uid, unsigned long long seen, long timeout_ms) {
        struct api_output_waits *w = s->output_waits;
        if (!w) {
                nanosleep(&(struct timespec){.tv_sec = timeout_ms / 1000,
                                  .tv_nsec = (timeout_ms % 1000) * 1000000L},
                        NULL);
                return seen;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L)
                until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_mutex_lock(&w->lock);
        struct task_waiters *t = strmap_get(w->tasks, uid);
        while (t && t->gen == seen && pthread_cond_timedwait(&t->changed, &w->lock, &until) == 0)
                ;
        unsigned long long gen = t ? t->gen : seen;
        pthread_mutex_unlock(&w->lock);
        return gen;
}
