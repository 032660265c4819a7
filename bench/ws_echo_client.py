#!/usr/bin/env python3
"""WebSocket echo load for bench/load.py's ws-echo row: raw sockets, no library.

Usage: ws_echo_client.py HOST PORT CONNECTIONS WINDOW SECONDS [PAYLOAD_BYTES=32]

Opens CONNECTIONS WebSocket connections (no extensions offered), then for SECONDS keeps WINDOW
binary messages of PAYLOAD_BYTES in flight on each: sends WINDOW masked frames in one write,
reads back the WINDOW echoed frames (checked byte for byte), repeats. Prints one JSON line:
{"messages": echoed messages, "seconds": elapsed, "errors": 0 or 1, "error": text}.
The client is pure Python, so it is usually the bottleneck: bench/load.py reports the
server's CPU per message, which does not depend on how fast the client is.
"""
import base64
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_client import request_head  # noqa: E402


def handshake(host, port):
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")
    s, rest = request_head(host, port, request.encode(), b"HTTP/1.1 101")
    if rest:
        raise OSError("unexpected bytes after the 101")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def main():
    host, port, conns, window, seconds = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                          int(sys.argv[4]), float(sys.argv[5]))
    size = int(sys.argv[6]) if len(sys.argv) > 6 else 32
    assert size < 126
    payload = bytes((i * 7) & 0xFF for i in range(size))
    mask = b"\x11\x22\x33\x44"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    frame = bytes([0x82, 0x80 | size]) + mask + masked      # binary, FIN, masked
    reply = bytes([0x82, size]) + payload                    # what the echo sends back
    out_blob, in_blob = frame * window, reply * window
    messages, error = 0, ""
    socks = []
    start = time.time()
    try:
        socks = [handshake(host, port) for _ in range(conns)]
        start = time.time()
        end = start + seconds
        while time.time() < end:
            for s in socks:
                s.sendall(out_blob)
            for s in socks:
                got = b""
                while len(got) < len(in_blob):
                    chunk = s.recv(len(in_blob) - len(got))
                    if not chunk:
                        raise OSError("the server closed a connection")
                    got += chunk
                if got != in_blob:
                    raise OSError("an echo differed from what was sent")
            messages += window * conns
    except OSError as e:
        error = str(e)
    elapsed = time.time() - start
    for s in socks:
        try:
            s.sendall(bytes([0x88, 0x82]) + mask + bytes([0x03 ^ 0x11, 0xE8 ^ 0x22]))  # 1000
            s.close()
        except OSError:
            pass
    print(json.dumps({"messages": messages, "seconds": elapsed, "errors": 1 if error else 0,
                      "error": error}))


if __name__ == "__main__":
    main()
