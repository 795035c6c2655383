# A small web app for preview tests, run inside a sandbox. It serves one connection on stdin/stdout (inetd
# style: KWOK's port-forward runs it per connection; a real node would run it behind a listener), HTTP/1.1
# with keep-alive:
#   GET  /            a page naming the sandbox ($APP_NAME) and counting the requests on this connection
#   GET  /headers     the request's headers as JSON
#   GET  /bytes?n=N   N bytes (Content-Length), written in 64 KiB pieces
#   GET  /chunked     three chunks, Transfer-Encoding: chunked
#   POST /sum         the sha256 and length of the request body (Content-Length or chunked), read as it comes
#   GET  /set-cookie  sets cookie app=1
#   GET  /ws          a WebSocket that echoes text messages
import base64, hashlib, json, os, sys

inp, out = sys.stdin.buffer, sys.stdout.buffer
name = os.environ.get("APP_NAME", "app")


def send(status, body, ctype="text/plain", extra=()):
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    for h in extra:
        head += h + "\r\n"
    out.write(head.encode() + b"\r\n" + body)
    out.flush()


def read_body(headers):
    h = hashlib.sha256()
    n = 0
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(inp.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while inp.readline() not in (b"\r\n", b""):
                    pass
                break
            left = size
            while left:
                b = inp.read(min(left, 65536))
                h.update(b)
                n += len(b)
                left -= len(b)
            inp.readline()
    else:
        left = int(headers.get("content-length", "0"))
        while left:
            b = inp.read(min(left, 65536))
            if not b:
                break
            h.update(b)
            n += len(b)
            left -= len(b)
    return h.hexdigest(), n


def websocket(headers):
    key = headers["sec-websocket-key"]
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
    out.flush()
    while True:
        h = inp.read(2)
        if len(h) < 2:
            return
        op, ln = h[0] & 0x0F, h[1] & 0x7F
        if ln == 126:
            ln = int.from_bytes(inp.read(2), "big")
        elif ln == 127:
            ln = int.from_bytes(inp.read(8), "big")
        mask = inp.read(4) if h[1] & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(inp.read(ln)))
        if op == 8:
            out.write(b"\x88\x00")
            out.flush()
            return
        if op == 1:
            reply = ("echo: " + data.decode()).encode()
            out.write(bytes([0x81, len(reply)]) + reply if len(reply) < 126 else bytes([0x81, 126]) + len(reply).to_bytes(2, "big") + reply)
            out.flush()


count = 0
while True:
    line = inp.readline()
    if not line:
        break
    method, target, _ = line.decode().split(" ", 2)
    headers = {}
    while True:
        l = inp.readline().decode()
        if l in ("\r\n", ""):
            break
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    count += 1
    path, _, query = target.partition("?")
    if path == "/":
        send("200 OK", f"<h1>hello from {name}</h1><p>request {count} on this connection</p>\n".encode(), "text/html")
    elif path == "/headers":
        send("200 OK", json.dumps(headers).encode(), "application/json")
    elif path == "/bytes":
        n = int(query.split("=")[1])
        out.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {n}\r\n\r\n".encode())
        piece = b"x" * 65536
        while n:
            k = min(n, len(piece))
            out.write(piece[:k])
            n -= k
        out.flush()
    elif path == "/chunked":
        out.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n")
        out.flush()
    elif path == "/sum" and method == "POST":
        digest, n = read_body(headers)
        send("200 OK", f"{digest} {n}\n".encode())
    elif path == "/set-cookie":
        send("200 OK", b"set\n", extra=["Set-Cookie: app=1; Path=/"])
    elif path == "/ws" and headers.get("upgrade", "").lower() == "websocket":
        websocket(headers)
        break
    else:
        send("404 Not Found", b"not found\n")
