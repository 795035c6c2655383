/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what an exec credential plugin prints (kube_exec_credential_parse): the first byte
 * picks the configured apiVersion (v1 or v1beta1), the rest is the output. Never crash or leak; a failure
 * has its code and a message; a success has a one-line token or a matching certificate and key.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kube_exec_credential cred = {0};
        struct merr err = MERR_INIT;
        int r;

        if (size < 1)
                return 0;
        r = kube_exec_credential_parse((const char *) data + 1, size - 1,
                data[0] & 1 ? "client.authentication.k8s.io/v1beta1" : "client.authentication.k8s.io/v1",
                &cred, &err);
        if (r < 0) {
                check(err.code == r && err.msg[0]);
                check(!cred.token && !cred.cert.data && !cred.key.data);
                return 0;
        }
        check(r == 0 && (cred.token || cred.cert.len > 0));
        check(!cred.token || (cred.token[0] && !strpbrk(cred.token, "\r\n")));
        check((cred.cert.len > 0) == (cred.key.len > 0));
        kube_exec_credential_release(&cred);
        return 0;
}
