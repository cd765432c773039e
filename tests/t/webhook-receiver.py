#!/usr/bin/env python3
"""A webhook receiver for t0270: POST / is checked against the HMAC-SHA256
of the secret in SECRET_FILE (X-Kstage-Signature), answered 500 the first
FAILS times a delivery id is seen and 200 after, and logged, one JSON line
per request, to LOG.  Listens on 127.0.0.1, an ephemeral port written to
PORT_FILE.  A refusal's body is FAIL_BODY (default "ok"): the daemon keeps
the start of it in the attempt's error.  POST /refuse is always refused.

usage: webhook-receiver.py SECRET_FILE LOG PORT_FILE [FAILS [FAIL_BODY]]
"""
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

secret = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
log = open(sys.argv[2], "a", buffering=1)
fails = int(sys.argv[4]) if len(sys.argv) > 4 else 2
fail_body = sys.argv[5].encode() if len(sys.argv) > 5 else b"ok"
seen = {}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        got = self.headers.get("X-Kstage-Signature", "")
        delivery = self.headers.get("X-Kstage-Delivery", "")
        seen[delivery] = seen.get(delivery, 0) + 1
        code = 500 if seen[delivery] <= fails or self.path == "/refuse" else 200
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        log.write(json.dumps({
            "delivery": delivery,
            "event": self.headers.get("X-Kstage-Event", ""),
            "sig_ok": hmac.compare_digest(want, got),
            "code": code,
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "payload": payload,
        }) + "\n")
        answer = fail_body if code == 500 else b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


srv = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[3] + "+", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[3] + "+", sys.argv[3])
srv.serve_forever()
