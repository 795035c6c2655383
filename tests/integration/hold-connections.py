#!/usr/bin/env python3
"""Opens COUNT TLS connections to HOST:PORT, completes each handshake and then says nothing, as a client that
hoards a server's connection slots would. Prints a line when all are open, then one each half second:
"open N closed M" (M: those the server has closed since). Runs until killed."""
import select
import socket
import ssl
import sys
import time


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns, failed = [], 0
    for _ in range(count):
        try:
            raw = socket.create_connection((host, port), timeout=5)
            conns.append(ctx.wrap_socket(raw, server_hostname=host))
        except OSError:
            failed += 1
    print(f"opened {len(conns)} failed {failed}", flush=True)
    closed = set()
    while True:
        time.sleep(0.5)
        for i, c in enumerate(conns):
            if i in closed:
                continue
            r, _, _ = select.select([c], [], [], 0)
            if not r:
                continue
            try:
                c.setblocking(False)
                if c.recv(1) == b"":
                    closed.add(i)
            except ssl.SSLWantReadError:
                pass
            except OSError:
                closed.add(i)
        print(f"open {len(conns) - len(closed)} closed {len(closed)}", flush=True)


if __name__ == "__main__":
    main()
