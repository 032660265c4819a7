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
import selectors
import socket
import sys
import time


def main():
    host, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    sel = selectors.DefaultSelector()
    events, error, socks = 0, "", []
    start = time.time()
    try:
        for _ in range(conns):
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise OSError("closed before the response head")
                buf += chunk
            head, rest = buf.split(b"\r\n\r\n", 1)
            if not head.startswith(b"HTTP/1.1 200"):
                raise OSError("answered " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
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
