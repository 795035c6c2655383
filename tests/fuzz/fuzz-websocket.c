/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the WebSocket frame path of pods/exec and pods/portforward: arbitrary bytes are the
 * server's side of a session, read through wslay's receive callback (in odd-sized pieces, as from a
 * socket) into the library's channel demultiplexing, then the exec status channel is decoded or the
 * port-forward streams are checked, exactly as in a real session (kube_exec_replay(),
 * kube_portforward_replay()). The first byte picks the protocol: v5 exec, v4 exec, or port-forward to the
 * port in the next two bytes. Never crash, leak or hang; a failure carries its code and a message; an exit
 * code is 0..255; port-forward never delivers more bytes than came in.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kube/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct merr err = MERR_INIT;
        int r;

        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0:
        case 1: {
                struct kube_exec_result res = {.exit_code = -1};

                r = kube_exec_replay(data + 1, size - 1,
                        data[0] % 3 == 0 ? "v5.channel.k8s.io" : "v4.channel.k8s.io", &res, &err);
                if (r < 0) {
                        check(err.code == r && err.msg[0]);
                        break;
                }
                check(r == 0 && res.exit_code >= 0 && res.exit_code <= 255);
                check(res.stdout_bytes + res.stderr_bytes < size);
                break;
        }
        default: {
                size_t bytes = (size_t) -1;
                uint16_t port;

                if (size < 3)
                        return 0;
                port = (uint16_t) (data[1] | data[2] << 8);
                r = kube_portforward_replay(data + 3, size - 3, port, &bytes, &err);
                if (r < 0) {
                        check(err.code == r && err.msg[0]);
                        check(r == -EIO || r == -EPROTO || r == -ENOBUFS || r == -ENOMEM);
                        break;
                }
                check(r == 0 && bytes < size);
                break;
        }
        }
        return 0;
}
