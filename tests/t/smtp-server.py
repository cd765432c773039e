#!/usr/bin/env python3
"""An SMTP server for the notification tests (Debian's python3-aiosmtpd):
STARTTLS required (certificate CERT, key KEY), AUTH PLAIN/LOGIN required
over TLS with user "kstage" and the password in PASSWORD_FILE (read at
each login).  Each message is stored as DIR/N.eml; each event is logged,
one JSON line, to DIR/log: {"ev": "auth"|"data"|"stored", ...}.  With
SLOW_FIRST set, the first message is stored, then answered after 6 s (a
test kills the client meanwhile: the message was taken, the client never
heard it).  Listens on 127.0.0.1, an ephemeral port
written to DIR/port.

usage: smtp-server.py DIR CERT KEY PASSWORD_FILE [SLOW_FIRST]
"""
import asyncio
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out, cert, key, pw_file = sys.argv[1:5]
slow_first = len(sys.argv) > 5 and sys.argv[5] == "1"
os.makedirs(out, exist_ok=True)
log = open(os.path.join(out, "log"), "a", buffering=1)
count = [0]


def note(**kw):
    kw["at"] = time.time()
    log.write(json.dumps(kw) + "\n")


def authenticator(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == b"kstage" and
          data.password == open(pw_file, "rb").read().strip())
    note(ev="auth", mechanism=mechanism, ok=ok,
         tls=session.ssl is not None,
         login=data.login.decode() if isinstance(data, LoginPassword) else None)
    return AuthResult(success=ok, handled=False)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        count[0] += 1
        n = count[0]
        note(ev="data", n=n, tls=session.ssl is not None,
             authenticated=session.authenticated)
        with open(os.path.join(out, "%d.eml" % n), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        note(ev="stored", n=n, rcpt=envelope.rcpt_tos, mail_from=envelope.mail_from)
        # Queued, as an MTA does at the final dot, before the answer.
        if slow_first and n == 1:
            await asyncio.sleep(6)
        return "250 Message accepted for delivery"


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
               require_starttls=True, auth_required=True, auth_require_tls=True,
               authenticator=authenticator, server_hostname="localhost")
c.start()
with open(os.path.join(out, "port+"), "w") as f:
    f.write(str(port))
os.rename(os.path.join(out, "port+"), os.path.join(out, "port"))
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    c.stop()
