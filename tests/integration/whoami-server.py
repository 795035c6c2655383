#!/usr/bin/env python3
"""A tiny aggregated API server for the wiring test: TLS on loopback, client certificates verified against
the front-proxy CA, the proxy's CN checked against the allowed names, and the caller's identity from the
X-Remote-* headers echoed back. The real server (mbox-apiserver) replaces it; this only proves that
kube-apiserver forwards requests and identities as the aggregation layer promises.

Usage: whoami-server.py PORT CERT KEY CLIENT_CA ALLOWED_CN
"""
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, cert, key, client_ca, allowed_cn = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
GV = "/apis/test.mbox.dev/v1alpha1"


class Handler(BaseHTTPRequestHandler):
    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        peer = self.connection.getpeercert()
        cn = dict(x[0] for x in peer.get("subject", ())).get("commonName") if peer else None
        if cn != allowed_cn:
            self.send_json(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": "Unauthorized", "code": 401})
            return
        path = self.path.split("?")[0]
        if path == GV:
            self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "test.mbox.dev/v1alpha1",
                                 "resources": [{"name": "whoamis", "singularName": "whoami", "namespaced": False,
                                                "kind": "WhoAmI", "verbs": ["get"]}]})
        elif path.startswith(GV + "/whoamis/"):
            self.send_json(200, {"kind": "WhoAmI", "apiVersion": "test.mbox.dev/v1alpha1",
                                 "metadata": {"name": path.rsplit("/", 1)[1]},
                                 "user": self.headers.get("X-Remote-User"),
                                 "groups": self.headers.get_all("X-Remote-Group") or [],
                                 "proxyCN": cn})
        else:
            self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})

    def log_message(self, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(client_ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
