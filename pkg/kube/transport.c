/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* One request handed to the transport; it lives on the stack of the thread that waits for it. */
struct call {
        CURL *easy;
        CURLcode result;
        bool done;
        pthread_cond_t cond;
        struct call *next;
};

struct kube_transport {
        pthread_mutex_t lock;
        CURLM *multi;
        pthread_t thread;
        struct call *pending; /* handed over, not yet added to the multi handle */
        bool stop;
};

/* Called with the lock held. After the signal, call may be gone. */
static void finish(struct call *call, CURLcode result) {
        call->result = result;
        call->done = true;
        pthread_cond_signal(&call->cond);
}

static void *run(void *arg) {
        struct kube_transport *t = arg;
        int running = 0;

        for (;;) {
                pthread_mutex_lock(&t->lock);
                struct call *add = t->pending;
                t->pending = NULL;
                bool stop = t->stop;
                for (struct call *call = add, *next; call; call = next) {
                        next = call->next;
                        if (curl_multi_add_handle(t->multi, call->easy) != CURLM_OK)
                                finish(call, CURLE_OUT_OF_MEMORY);
                        else
                                running++;
                }
                pthread_mutex_unlock(&t->lock);
                if (stop && running == 0)
                        break;

                (void) curl_multi_perform(t->multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(t->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        CURL *easy = msg->easy_handle;
                        CURLcode result = msg->data.result;
                        struct call *call = NULL;
                        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &call);
                        (void) curl_multi_remove_handle(t->multi, easy);
                        pthread_mutex_lock(&t->lock);
                        finish(call, result);
                        pthread_mutex_unlock(&t->lock);
                }
                (void) curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
        }
        return NULL;
}

int kube_transport_new(struct kube_transport **ret, struct merr *err) {
        struct kube_transport *t = calloc(1, sizeof(*t));

        if (!t)
                return merr_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&t->lock, NULL);
        t->multi = curl_multi_init();
        if (!t->multi) {
                free(t);
                return merr_set(err, -ENOMEM, "curl_multi_init failed");
        }
        /* requests wait for the connection's HTTP/2 stream room rather than open more connections */
        (void) curl_multi_setopt(t->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
        int k = pthread_create(&t->thread, NULL, run, t);
        if (k != 0) {
                curl_multi_cleanup(t->multi);
                free(t);
                return merr_set(err, -k, "starting the transport thread");
        }
        *ret = t;
        return 0;
}

struct kube_transport *kube_transport_free(struct kube_transport *t) {
        if (!t)
                return NULL;
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_mutex_unlock(&t->lock);
        (void) curl_multi_wakeup(t->multi);
        pthread_join(t->thread, NULL);
        curl_multi_cleanup(t->multi);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
}

CURLcode kube_transport_perform(struct kube_transport *t, CURL *easy) {
        struct call call = {.easy = easy};
        CURLcode result;

        if (curl_easy_setopt(easy, CURLOPT_PRIVATE, &call) != CURLE_OK ||
                curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L) != CURLE_OK)
                return CURLE_FAILED_INIT;
        pthread_cond_init(&call.cond, NULL);
        pthread_mutex_lock(&t->lock);
        if (t->stop) {
                pthread_mutex_unlock(&t->lock);
                pthread_cond_destroy(&call.cond);
                return CURLE_FAILED_INIT;
        }
        call.next = t->pending;
        /* call outlives its place in the list: this function returns only once the thread is done with it */
        t->pending = &call; /* cppcheck-suppress autoVariables */
        pthread_mutex_unlock(&t->lock);
        (void) curl_multi_wakeup(t->multi);

        pthread_mutex_lock(&t->lock);
        while (!call.done)
                pthread_cond_wait(&call.cond, &t->lock);
        result = call.result;
        pthread_mutex_unlock(&t->lock);
        pthread_cond_destroy(&call.cond);
        return result;
}
