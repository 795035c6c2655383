#!/usr/bin/env python3
"""Load for bench-apiserver's limits part, straight to mbox-apiserver as kube-apiserver's front proxy sends it
(client certificate, X-Remote-User), so that one process can be a thousand clients:

  load.py follow HOST PORT CERT KEY PATH N SECONDS
      N clients follow PATH (a log with follow=true) as user "follower", connecting in waves of 200;
      prints "following K resets R" once K of them have their first bytes (R: connections the server
      closed before their first request, opened again), then holds them for SECONDS and prints "done".
  load.py flood HOST PORT CERT KEY PATH CLIENTS SECONDS
      CLIENTS clients of user "flood" send GET PATH back to back on kept-alive connections, and one client
      of user "calm" does the same, for SECONDS; prints one line of name=value figures.
"""
import asyncio
import ssl
import sys
import time


def context(cert, key):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    return ctx


def request(host, path, user):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Remote-User: {user}\r\n"
            f"X-Remote-Group: system:masters\r\n\r\n").encode()


resets = 0


async def connect(host, port, ctx):
    """A connection, opened again when the server closes it before the first request (it closes the oldest
    of the connections that have not sent one when too many are opening at once)."""
    global resets
    for attempt in range(50):
        try:
            return await asyncio.open_connection(host, port, ssl=ctx)
        except (ConnectionError, ssl.SSLError, OSError):
            resets += 1
            await asyncio.sleep(0.05 * (attempt + 1))
    raise ConnectionError("the server refused 50 times")


async def response(reader):
    """Status and body of one Content-Length response."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def follow(host, port, ctx, path, n, seconds):
    started = 0
    conns = []

    async def one():
        nonlocal started
        reader, writer = await connect(host, port, ctx)
        conns.append(writer)
        writer.write(request(host, path, "follower"))
        await writer.drain()
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) == 0:
            chunk = await reader.read(4096)
            if not chunk:
                return
            data += chunk
        started += 1

    # in waves of 200, each once the one before follows: as clients come and go, not a thousand
    # handshakes in the same instant (more than the 256 connections the server keeps for them)
    tasks = []
    deadline = time.monotonic() + 120
    while len(tasks) < n and time.monotonic() < deadline:
        tasks += [asyncio.create_task(one()) for _ in range(min(200, n - len(tasks)))]
        while started < len(tasks) and time.monotonic() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(0.1)
    print(f"following {started} resets {resets}", flush=True)
    await asyncio.sleep(seconds)
    for w in conns:
        w.close()
    for t in tasks:
        t.cancel()
    print("done", flush=True)


async def flood(host, port, ctx, path, clients, seconds):
    end = time.monotonic() + seconds
    counts = {"flood": {}, "calm": {}}
    calm_ms = []

    async def client(user):
        reader, writer = await connect(host, port, ctx)
        while time.monotonic() < end:
            t0 = time.monotonic()
            try:
                writer.write(request(host, path, user))
                await writer.drain()
                status = await response(reader)
            except (ConnectionError, ssl.SSLError, OSError, asyncio.IncompleteReadError, IndexError):
                status = 0  # the connection broke: counted, and opened again
                writer.close()
                reader, writer = await connect(host, port, ctx)
            counts[user][status] = counts[user].get(status, 0) + 1
            if user == "calm":
                calm_ms.append((time.monotonic() - t0) * 1000)
        writer.close()

    await asyncio.gather(*[client("flood") for _ in range(clients)], client("calm"))
    f, c = counts["flood"], counts["calm"]
    ft, ct = sum(f.values()), sum(c.values())
    calm_ms.sort()
    pct = lambda p: calm_ms[min(len(calm_ms) - 1, int(p * len(calm_ms)))] if calm_ms else 0
    print(f"flood_total={ft} flood_429={f.get(429, 0)} flood_200={f.get(200, 0)} "
          f"flood_rate={ft / seconds:.0f} calm_total={ct} calm_200={c.get(200, 0)} "
          f"calm_p50={pct(0.5):.1f} calm_p99={pct(0.99):.1f} resets={resets}", flush=True)


def main():
    mode, host, port, cert, key, path = sys.argv[1:7]
    n, seconds = int(sys.argv[7]), float(sys.argv[8])
    ctx = context(cert, key)
    run = follow if mode == "follow" else flood
    asyncio.run(run(host, int(port), ctx, path, n, seconds))


if __name__ == "__main__":
    main()
