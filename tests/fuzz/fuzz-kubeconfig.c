/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for kubeconfig parsing (kube_config_load_data, without file access): never crash, leak or
 * hang; a failure carries its code and one line naming the kubeconfig; a success is a config a client can
 * use (an http(s) server, a namespace, a client certificate only together with its key).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

static void one(const uint8_t *data, size_t size, const char *context) {
        struct kube_config *c = NULL;
        struct merr err = MERR_INIT;
        int r;

        r = kube_config_load_data((const char *) data, size, "fuzz", NULL, context, &c, &err);
        if (r < 0) {
                check(c == NULL);
                check(err.code == r);
                check(strncmp(err.msg, "kubeconfig 'fuzz'", 17) == 0 || r == -ENOMEM);
                return;
        }
        check(r == 0 && c != NULL);
        check(strncmp(c->server, "https://", 8) == 0 || strncmp(c->server, "http://", 7) == 0);
        check(c->namespace && c->namespace[0]);
        check(c->context && c->source);
        check((c->cert.len > 0) == (c->key.len > 0));
        check(!(c->insecure && c->ca.len > 0));
        check(c->token_file == NULL); /* file references are refused without a directory */
        kube_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kube_blob b;

        one(data, size, NULL);
        one(data, size, "dev");
        if (kube_base64_decode((const char *) data, size, &b) == 0) {
                check(b.len <= size / 4 * 3 && b.data[b.len] == '\0');
                free(b.data);
        }
        return 0;
}
