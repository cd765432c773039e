#!/usr/bin/env python3
"""A stand-in for Patchwork's REST API (no Patchwork server is packaged in
Debian), built from its documented routes (Patchwork 3.x, API 1.2):

  GET  /api/patches/?msgid=ID[&project=P]   a JSON array of the patches
                                            with that Message-ID (given
                                            without its angle brackets)
  POST /api/patches/N/checks/                create a check: a JSON object
                                            {state, context, description,
                                            target_url?}; "Authorization:
                                            Token T" required; 201 with the
                                            check, 400 on a bad field, 403
                                            without the token, 404 no patch

The patches are the Message-IDs in KNOWN (one a line, read at every
request: a test adds a series by appending to it); line K is patch 100+K of
project "linux-mm".  Each request is logged, one JSON line, to LOG.  Listens
on 127.0.0.1, an ephemeral port written to PORT_FILE.

MODE: "ok" (default); "late" (the first lookup of each Message-ID finds
nothing, as when Patchwork has not read the mail yet); "500" (every
request fails); "slow" (answers after 5 s).

usage: patchwork-stub.py KNOWN TOKEN_FILE LOG PORT_FILE [MODE]
"""
import json
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

known_file, token_file, log_file, port_file = sys.argv[1:5]
mode = sys.argv[5] if len(sys.argv) > 5 else "ok"
log = open(log_file, "a", buffering=1)
looked_up = set()
checks = []
STATES = ("pending", "success", "warning", "fail")
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def patches():
    try:
        ids = [l.strip() for l in open(known_file) if l.strip()]
    except OSError:
        ids = []
    return {100 + i + 1: m for i, m in enumerate(ids)}


def patch_json(pid, msgid, base):
    return {"id": pid, "url": "%s/api/patches/%d/" % (base, pid),
            "web_url": "%s/project/linux-mm/patch/%s/" % (base, msgid),
            "project": {"id": 1, "link_name": "linux-mm", "name": "linux-mm"},
            "msgid": "<%s>" % msgid, "name": "patch %d" % pid,
            "state": "new", "check": "pending",
            "checks": "%s/api/patches/%d/checks/" % (base, pid)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, **kw):
        kw["at"] = time.time()
        log.write(json.dumps(kw) + "\n")

    def prelude(self):
        if mode == "slow":
            time.sleep(5)
        if mode == "500":
            self.record(method=self.command, path=self.path, code=500)
            self.answer(500, {"detail": "Internal Server Error"})
            return False
        return True

    def do_GET(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(n)
        if not self.prelude():
            return
        u = urlsplit(self.path)
        if u.path != "/api/patches/":
            self.answer(404, {"detail": "Not found."})
            return
        q = parse_qs(u.query)
        msgid = q.get("msgid", [""])[0]
        project = q.get("project", [None])[0]
        base = "http://%s:%d" % self.server.server_address
        found = [patch_json(pid, m, base) for pid, m in patches().items()
                 if m == msgid and project in (None, "linux-mm", "1")]
        if mode == "late" and msgid not in looked_up:
            looked_up.add(msgid)
            found = []
        self.record(method="GET", msgid=msgid, project=project,
                    found=[p["id"] for p in found], code=200)
        self.answer(200, found)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n)
        if not self.prelude():
            return
        m = re.match(r"^/api/patches/(\d+)/checks/$", self.path)
        if not m:
            self.answer(404, {"detail": "Not found."})
            return
        token = open(token_file).read().strip()
        auth = self.headers.get("Authorization", "")
        if auth != "Token " + token:
            self.record(method="POST", path=self.path, code=403, auth_ok=False)
            self.answer(403, {"detail": "Authentication credentials were not provided."})
            return
        pid = int(m.group(1))
        msgid = patches().get(pid)
        if msgid is None:
            self.record(method="POST", path=self.path, code=404)
            self.answer(404, {"detail": "Not found."})
            return
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        errors = {}
        if not isinstance(data, dict):
            errors["non_field_errors"] = ["Invalid data."]
        else:
            if data.get("state") not in STATES:
                errors["state"] = ["A check must have a state."]
            if not isinstance(data.get("context", "default"), str) or \
                    not SLUG.match(data.get("context", "default")):
                errors["context"] = ["Enter a valid slug."]
            tu = data.get("target_url")
            if tu is not None and not re.match(r"^https?://", str(tu)):
                errors["target_url"] = ["Enter a valid URL."]
            if not isinstance(data.get("description", ""), str):
                errors["description"] = ["Not a valid string."]
        if errors:
            self.record(method="POST", path=self.path, code=400, errors=errors)
            self.answer(400, errors)
            return
        check = {"id": len(checks) + 1, "patch": pid, "msgid": msgid,
                 "state": data["state"], "context": data.get("context", "default"),
                 "description": data.get("description", ""),
                 "target_url": data.get("target_url"),
                 "content_type": self.headers.get("Content-Type", "")}
        checks.append(check)
        self.record(method="POST", code=201, **check)
        self.answer(201, dict(check, url="/api/patches/%d/checks/%d/" % (pid, check["id"]),
                              user={"id": 1, "username": "kstage"}))

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + "+", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + "+", port_file)
srv.serve_forever()
