#!/usr/bin/env python3
"""SSE load for bench/load.py's sse row: raw sockets, no library.

Usage: sse_client.py HOST PORT CONNECTIONS SECONDS

Opens CONNECTIONS event streams (GET / with Accept: text/event-stream), reads them all for
SECONDS and counts events (blank-line terminated). Prints one JSON line:
{"events": N, "seconds": elapsed, "errors": 0 or 1, "error": text}, then keeps the streams
open until its stdin closes, so the caller can read the server's CPU time before the streams
end.
"""
import json
import os
import selectors
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_client import request_head  # noqa: E402


def main():
    host, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    sel = selectors.DefaultSelector()
    events, error, socks = 0, "", []
    start = time.time()
    try:
        for _ in range(conns):
            request = f"GET / HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
            s, rest = request_head(host, port, request.encode(), b"HTTP/1.1 200")
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, [rest[-1:] if rest else b""])
        start = time.time()
        end = start + seconds
        while time.time() < end:
            for key, _ in sel.select(timeout=0.5):
                chunk = key.fileobj.recv(262144)
                if not chunk:
                    raise OSError("the server closed a stream")
                tail = key.data[0]
                events += (tail + chunk).count(b"\n\n")  # chunk framing is CRLF: never \n\n
                key.data[0] = chunk[-1:]
    except OSError as e:
        error = str(e)
    elapsed = time.time() - start
    print(json.dumps({"events": events, "seconds": elapsed, "errors": 1 if error else 0,
                      "error": error}), flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
