#!/usr/bin/env python3
"""http-load.py: hostile and heavy HTTP clients for t0240-http-load.sh.

Each command prints "key=value" lines that the test checks.  Client
sockets are bound to source addresses spread over 127.0.0.0/8 (every
address of it is the loopback on Linux), PER_ADDR connections per
address, as clients from many machines would be; the "normal" client
uses 127.0.0.1.

  siege URL PID --idle N --slow M [--per-addr K] [--probe PATH]
      hold N idle connections (connected, silent) and M slowloris ones
      (a request line, then one header line every 30 s), wait until the
      daemon (PID) holds them, then time a normal GET of PATH five times.
  deadline URL --slow M [--per-addr K] [--wait S]
      M slowloris connections; how long until the server closes each.
  perip URL N [--addr A]
      N connections from one address; how many the server keeps.
  keepalive URL PATH --requests N --pause S
      N requests on one keep-alive connection, S seconds apart.
  chunked URL PATH TOKEN SIZE [--chunk C] [--pause S]
      POST SIZE bytes of mail as a chunked body, C bytes a chunk; the
      status of the reply (0 for none: the connection was cut).
  streams URL PID DB N [--per-addr K]
      N event streams (GET /api/v1/events); the daemon's RSS with them
      open; then an event is written into the database DB (as another
      process would) and the time until every stream has it is taken.
"""
import argparse
import os
import resource
import select
import socket
import sqlite3
import sys
import time
import urllib.parse


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def addr_port(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def source(i, per_addr, base):
    """The source address of client i: base.x.y, per_addr clients each."""
    n = i // per_addr
    return "127.%d.%d.%d" % (base, (n // 250) % 250, n % 250 + 1)


def connect(host, port, src, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    s.setblocking(False)
    return s


def open_many(host, port, n, per_addr, base):
    socks = []
    for i in range(n):
        socks.append(connect(host, port, source(i, per_addr, base)))
    return socks


def closed_by_server(sock):
    """Has the server closed (or reset) this connection?"""
    try:
        p = select.poll()
        p.register(sock.fileno(), select.POLLIN | select.POLLRDHUP)
        if not p.poll(0):
            return False
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def daemon_sockets(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def get(host, port, path, src="127.0.0.1", timeout=5):
    """One GET with Connection: close: (status, seconds)."""
    t0 = time.monotonic()
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except OSError:
        status = 0
    return status, time.monotonic() - t0


def slow_start(socks, host):
    for s in socks:
        s.send(("GET /api/v1/plans HTTP/1.1\r\nHost: %s\r\n" % host).encode())


def slow_drip(socks):
    """One more header line on each open socket."""
    for s in socks:
        try:
            s.send(b"X-Slow: 1\r\n")
        except OSError:
            pass


def cmd_siege(a):
    host, port = addr_port(a.url)
    t0 = time.monotonic()
    idle = open_many(host, port, a.idle, a.per_addr, 1)
    slow = open_many(host, port, a.slow, a.per_addr, 2)
    slow_start(slow, host)
    print("connect_seconds=%.1f" % (time.monotonic() - t0))
    want = a.idle + a.slow
    deadline = time.monotonic() + 20
    held = daemon_sockets(a.pid)
    while held < want and time.monotonic() < deadline:
        time.sleep(0.2)
        held = daemon_sockets(a.pid)
    print("daemon_sockets=%d" % held)
    print("daemon_rss_kb=%d" % rss_kb(a.pid))
    worst, codes = 0.0, []
    for _ in range(5):
        code, secs = get(host, port, a.probe)
        codes.append(code)
        worst = max(worst, secs)
    print("probe_codes=%s" % ",".join(str(c) for c in codes))
    print("probe_max_ms=%d" % int(worst * 1000))
    open_idle = sum(1 for s in idle if not closed_by_server(s))
    open_slow = sum(1 for s in slow if not closed_by_server(s))
    print("still_open_idle=%d" % open_idle)
    print("still_open_slow=%d" % open_slow)


def cmd_deadline(a):
    host, port = addr_port(a.url)
    slow = open_many(host, port, a.slow, a.per_addr, 4)
    slow_start(slow, host)
    t0 = time.monotonic()
    closed_at = {}
    next_drip = t0 + a.drip
    while len(closed_at) < len(slow) and time.monotonic() - t0 < a.wait:
        for i, s in enumerate(slow):
            if i not in closed_at and closed_by_server(s):
                closed_at[i] = time.monotonic() - t0
        if time.monotonic() >= next_drip:
            slow_drip([s for i, s in enumerate(slow) if i not in closed_at])
            next_drip += a.drip
        time.sleep(0.05)
    print("closed=%d" % len(closed_at))
    print("open=%d" % (len(slow) - len(closed_at)))
    if closed_at:
        print("first_closed_ms=%d" % int(min(closed_at.values()) * 1000))
        print("last_closed_ms=%d" % int(max(closed_at.values()) * 1000))


def cmd_perip(a):
    host, port = addr_port(a.url)
    socks = []
    for _ in range(a.n):
        socks.append(connect(host, port, a.addr))
    time.sleep(1)
    closed = sum(1 for s in socks if closed_by_server(s))
    print("kept=%d" % (a.n - closed))
    print("refused=%d" % closed)
    code, secs = get(host, port, "/api/v1/plans")
    print("other_address_code=%d" % code)
    code, secs = get(host, port, "/api/v1/plans", src=a.addr)
    print("same_address_code=%d" % code)


def read_reply(s):
    """One HTTP reply with a Content-Length from a blocking socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return 0, data
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return int(head.split(b" ", 2)[1]), body


def cmd_keepalive(a):
    host, port = addr_port(a.url)
    s = socket.create_connection((host, port), timeout=10)
    codes = []
    for i in range(a.requests):
        if i:
            time.sleep(a.pause)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a.path, host)).encode())
            code, _ = read_reply(s)
        except OSError:
            code = 0
        codes.append(code)
    print("codes=%s" % ",".join(str(c) for c in codes))


def cmd_chunked(a):
    host, port = addr_port(a.url)
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/mbox\r\nTransfer-Encoding: chunked\r\n\r\n"
               % (a.path, host, a.token)).encode())
    sent = 0
    try:
        while sent < a.size:
            n = min(a.chunk, a.size - sent)
            s.sendall(b"%x\r\n" % n + b"a" * n + b"\r\n")
            sent += n
            if a.pause:
                time.sleep(a.pause)
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    try:
        code, body = read_reply(s)
    except OSError:
        code, body = 0, b""
    print("sent=%d" % sent)
    print("code=%d" % code)
    print("body=%s" % body.decode(errors="replace").strip())


def cmd_streams(a):
    host, port = addr_port(a.url)
    socks = []
    for i in range(a.n):
        s = connect(host, port, source(i, a.per_addr, 5))
        s.setblocking(True)
        s.sendall(("GET /api/v1/events HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
        s.setblocking(False)
        socks.append(s)
    buf = {s.fileno(): b"" for s in socks}
    ep = select.epoll()
    for s in socks:
        ep.register(s.fileno(), select.EPOLLIN)

    def pump(until, pred):
        while time.monotonic() < until:
            for fd, _ in ep.poll(0.05):
                try:
                    d = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b""
                if not d:
                    ep.unregister(fd)
                    continue
                buf[fd] += d
                seen[fd] = time.monotonic()
            if pred():
                return True
        return False

    seen = {}
    ok = pump(time.monotonic() + 30,
              lambda: all(b"retry: 3000" in b for b in buf.values()))
    started = sum(1 for b in buf.values() if b"retry: 3000" in b)
    print("streams_started=%d" % started)
    time.sleep(1)
    print("daemon_rss_kb=%d" % rss_kb(a.pid))
    db = sqlite3.connect(a.db, timeout=10)
    t0 = time.monotonic()
    cur = db.execute("INSERT INTO events (at, kind) VALUES (?, 'load-ping')",
                     (int(time.time() * 1000),))
    db.commit()
    eid = cur.lastrowid
    mark = ("id: %d\n" % eid).encode()
    for fd in buf:
        buf[fd] = b""
    seen.clear()
    pump(time.monotonic() + 10, lambda: all(mark in b for b in buf.values()))
    got = [fd for fd, b in buf.items() if mark in b]
    print("streams_with_event=%d" % len(got))
    if got:
        print("event_max_ms=%d" % int(max(seen[fd] - t0 for fd in got) * 1000))
    print("daemon_rss_kb_after=%d" % rss_kb(a.pid))
    for s in socks:
        s.close()


def main():
    raise_nofile()
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("siege")
    s.add_argument("url")
    s.add_argument("pid", type=int)
    s.add_argument("--idle", type=int, default=0)
    s.add_argument("--slow", type=int, default=0)
    s.add_argument("--per-addr", type=int, default=50)
    s.add_argument("--probe", default="/api/v1/plans")
    s = sub.add_parser("deadline")
    s.add_argument("url")
    s.add_argument("--slow", type=int, default=10)
    s.add_argument("--per-addr", type=int, default=50)
    s.add_argument("--drip", type=float, default=1.0)
    s.add_argument("--wait", type=float, default=30)
    s = sub.add_parser("perip")
    s.add_argument("url")
    s.add_argument("n", type=int)
    s.add_argument("--addr", default="127.3.0.1")
    s = sub.add_parser("keepalive")
    s.add_argument("url")
    s.add_argument("path")
    s.add_argument("--requests", type=int, default=5)
    s.add_argument("--pause", type=float, default=1)
    s = sub.add_parser("chunked")
    s.add_argument("url")
    s.add_argument("path")
    s.add_argument("token")
    s.add_argument("size", type=int)
    s.add_argument("--chunk", type=int, default=65536)
    s.add_argument("--pause", type=float, default=0)
    s = sub.add_parser("streams")
    s.add_argument("url")
    s.add_argument("pid", type=int)
    s.add_argument("db")
    s.add_argument("n", type=int)
    s.add_argument("--per-addr", type=int, default=50)
    a = p.parse_args()
    {"siege": cmd_siege, "deadline": cmd_deadline, "perip": cmd_perip,
     "keepalive": cmd_keepalive, "chunked": cmd_chunked,
     "streams": cmd_streams}[a.cmd](a)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
