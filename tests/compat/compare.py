#!/usr/bin/env python3
"""Differential check against the reference server: the same app files, the same requests, sent
to pagi-server and to the reference PAGI::Server; status, headers (less Date and Server, as a
multiset: the reference does not keep header order), body (de-chunked) and trailers must match.
Framing is the server's business (PAGI.md §3.3), and differs on purpose: a response whose
whole body comes in one send gets Content-Length here (the reference always chunks), and a
closing response says `connection: close`. Those headers are compared apart and only reported.

Not part of script/test: the reference is not a Debian package. Run it where a checkout exists:
    PAGI_REFERENCE=/path/to/PAGI-Server tests/compat/compare.py [build/pagi-server]
The reference's dependencies come from Debian (script/bootstrap installs them)."""

import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (app file, [raw request, ...]); each request goes on its own connection.
CASES = [
    ("examples/hello/app.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /some/where?x=1 HTTP/1.0\r\n\r\n",
    ]),
    ("examples/echo/app.pl", [
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    ("examples/streaming/app.pl", [
        b"GET /?n=3 HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n",
    ]),
    # The body says how long the server has been up: compare all but the body.
    ("examples/lifespan/app.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    # x-fullflush says whether the extension is advertised: always here, only when configured
    # in the reference (which has no flag for it). Expected to differ in that header.
    ("examples/fullflush/app.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    ("tests/apps/die_before_start.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    ("tests/apps/no_response.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    ("tests/apps/streaming.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    ("examples/sse-ticker/app.pl", [
        b"GET /?interval=0.05 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
    ]),
    # Not /format: its character-string event breaks the reference ("Wide character in
    # syswrite", PAGI.md §1.3).
    ("tests/apps/sse.pl", [
        b"GET /decline HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
        b"GET /first-wins HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
        b"POST /post HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
        b"Content-Length: 5\r\n\r\nhello",
    ]),
    # The handshake answers a websocket app can give without accepting: 403 and a denial.
    ("tests/apps/websocket.pl", [
        b"GET /forbid HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        b"GET /deny HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ]),
]

# The reference's own example apps, run from its checkout ($PAGI_REFERENCE/...): "an app
# written for the reference runs unchanged".
REF_CASES = [
    ("examples/01-hello-http/app.pl", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]),
    ("examples/02-streaming-response/app.pl", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]),
    ("examples/03-request-body/app.pl", [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nsome body",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nsome\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
    ("examples/06-lifespan-state/app.pl", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]),
    ("examples/07-extension-fullflush/app.pl", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]),
    ("examples/05-sse-broadcaster/app.pl", [
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
    ]),
    ("examples/12-utf8/app.pl", [
        b"GET /echo/%CE%BB HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /?q=%E2%82%AC HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /invalid/%FF%FE/test HTTP/1.1\r\nHost: x\r\n\r\n",
    ]),
]

IGNORED_HEADERS = {"date", "server"}
FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection"}
BODY_VARIES = {"examples/lifespan/app.pl"}
EXPECTED = {("examples/fullflush/app.pl", "x-fullflush")}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def exchange(port, raw, timeout=10.0):
    """Sends one request and reads until the peer closes or a complete response arrived."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    data = b""
    head_only = raw.startswith(b"HEAD ")
    end = time.time() + timeout
    while time.time() < end:
        resp = parse(data, head_only)
        if resp is not None:
            break
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    return parse(data, head_only, final=True)


def parse(data, head_only, final=False):
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None if not final else ("incomplete", data)
    lines = data[:end].decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    rest = data[end + 4:]
    names = dict(headers)
    body, trailers = b"", []
    code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    if head_only or code in (204, 304) or code < 200:
        pass
    elif names.get("transfer-encoding", "").lower() == "chunked":
        pos = 0
        while True:
            nl = rest.find(b"\r\n", pos)
            if nl < 0:
                return None if not final else ("incomplete", data)
            size = int(rest[pos:nl].split(b";")[0] or b"0", 16)
            pos = nl + 2
            if size == 0:
                tend = rest.find(b"\r\n\r\n", pos - 2)
                if tend < 0:
                    return None if not final else ("incomplete", data)
                for line in rest[pos:tend].decode("latin-1").split("\r\n"):
                    if line:
                        n, _, v = line.partition(":")
                        trailers.append((n.strip().lower(), v.strip()))
                break
            if len(rest) < pos + size + 2:
                return None if not final else ("incomplete", data)
            body += rest[pos:pos + size]
            pos += size + 2
    elif "content-length" in names:
        n = int(names["content-length"])
        if len(rest) < n:
            return None if not final else ("incomplete", data)
        body = rest[:n]
    else:
        if not final:
            return None
        body = rest
    kept = sorted(h for h in headers if h[0] not in IGNORED_HEADERS | FRAMING_HEADERS)
    framing = sorted(h for h in headers if h[0] in FRAMING_HEADERS)
    return {"version": status[0], "status": code, "headers": kept, "body": body,
            "trailers": sorted(trailers), "framing": framing}


def start(cmd, port, log):
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            cwd=ROOT, env=dict(os.environ, PAGI_ENV="production"))
    if not wait_port(port, proc):
        proc.kill()
        return None
    return proc


def main():
    ref = os.environ.get("PAGI_REFERENCE")
    if not ref:
        print("PAGI_REFERENCE is not set: nothing to compare against")
        return 2
    ours = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "pagi-server")
    failures = 0
    cases = CASES + [(os.path.join(ref, app), reqs) for app, reqs in REF_CASES]
    with tempfile.TemporaryDirectory() as tmp:
        for app, requests in cases:
            p1, p2 = free_port(), free_port()
            log1 = open(os.path.join(tmp, "ours.log"), "w")
            log2 = open(os.path.join(tmp, "ref.log"), "w")
            a = start([ours, "--cores", "1", "--port", str(p1), app], p1, log1)
            b = start(["perl", "-I", os.path.join(ref, "lib"), os.path.join(ref, "bin", "pagi-server"),
                       "--port", str(p2), "--no-access-log", app], p2, log2)
            if a is None or b is None:
                print(f"SKIP {app}: a server did not start (ours={a is not None}, ref={b is not None})")
                failures += 1
            else:
                for raw in requests:
                    x, y = exchange(p1, raw), exchange(p2, raw)
                    first = raw.split(b"\r\n")[0].decode()
                    if not isinstance(x, dict) or not isinstance(y, dict):
                        failures += 1
                        print(f"DIFF  {app}: {first}\n  ours: {x}\n  ref:  {y}")
                        continue
                    keys = ["version", "status", "headers", "trailers"]
                    if app not in BODY_VARIES:
                        keys.append("body")
                    diffs = [k for k in keys if x[k] != y[k]]
                    if diffs == ["headers"]:
                        names = {h[0] for h in set(x["headers"]) ^ set(y["headers"])}
                        if all((app, n) in EXPECTED for n in names):
                            diffs = []
                            print(f"same  {app}: {first} (expected difference in {sorted(names)})")
                            continue
                    if diffs:
                        failures += 1
                        print(f"DIFF  {app}: {first}: {diffs}\n  ours: {x}\n  ref:  {y}")
                    else:
                        note = "" if x["framing"] == y["framing"] else \
                            f" (framing: ours {x['framing']}, ref {y['framing']})"
                        print(f"same  {app}: {first}{note}")
            for p in (a, b):
                if p is not None:
                    p.terminate()
                    try:
                        p.wait(10)
                    except subprocess.TimeoutExpired:
                        p.kill()
    print(f"{failures} difference(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
