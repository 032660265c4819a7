#!/usr/bin/python3
# Writes the WebSocket and SSE seeds of fuzz/corpus/h1 (the HTTP ones were written by hand):
# each is a byte stream for h1-connection-fuzz's reader, a mode byte (which app, limits,
# access log) then operations: reads of 1-64 bytes, drains of the output, EOF, a transport
# error, shutdown and a session timer. Run from the repository root; rewrites ws-* and sse-*.
import os
import struct
import zlib

OUT = "fuzz/corpus/h1"
APPS = {"hello": 0, "echo": 1, "later": 2}
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def mode(app):
    base = 0x80 | 0x30  # access log on, roomy header limit, 4 KiB body limit
    return bytes([base + (APPS[app] - base) % 3])


def reads(data, size=64):
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        op = ((len(piece) - 1) << 2) | (i // size % 2)  # alternate const / writable reads
        out += bytes([op]) + piece
    return out


DRAIN = bytes([2 | (63 << 2)])  # up to 6112 bytes
EOF_OP, ERROR_OP, SHUTDOWN_OP, TIMER_OP = bytes([3]), bytes([7]), bytes([11]), bytes([15])


def frame(opcode, payload, fin=True, rsv=0, masked=True):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, n)
    if not masked:
        return hdr + payload
    mask = bytes([0x37, 0xfa, 0x21, 0x3d])
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def upgrade(path="/chat", extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: chat, other\r\n{extra}\r\n").encode()


def close(code=1000, reason=b""):
    return frame(8, struct.pack("!H", code) + reason)


def deflated(text):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


def ws_session(*frames, path="/chat", extra=""):
    # The handshake, a turn for the app's accept, then each frame with a drain after it.
    s = reads(upgrade(path, extra)) + DRAIN
    for f in frames:
        s += reads(f) + DRAIN
    return s + DRAIN


CASES = {
    "ws-echo": ws_session(frame(1, b"hello"), frame(2, b"\x00\x01\xff"),
                          frame(9, b"ping?"), frame(1, "h\u00e9llo \u03bb".encode()), close()),
    "ws-fragmented": ws_session(frame(1, b"frag", fin=False), frame(9, b"mid"),
                                frame(0, b"ment", fin=False), frame(0, b"ed"),
                                frame(2, b"x" * 300), close(1001, b"bye")),
    "ws-early-frames": reads(upgrade() + frame(1, b"early") + frame(1, b"close")) + DRAIN * 3,
    "ws-deflate": ws_session(frame(1, deflated(b"pagi " * 200), rsv=0x40),
                             frame(2, deflated(b"\0" * 5000), rsv=0x40), frame(1, b"plain"),
                             close(),
                             extra="Sec-WebSocket-Extensions: permessage-deflate; "
                                   "client_max_window_bits\r\n"),
    "ws-invalid-unmasked": ws_session(frame(1, b"hi", masked=False)),
    "ws-invalid-rsv": ws_session(frame(1, b"hi", rsv=0x20)),
    "ws-invalid-utf8": ws_session(frame(1, b"ok\xff\xfe")),
    "ws-invalid-opcode": ws_session(frame(3, b"hi")),
    "ws-invalid-control": ws_session(frame(9, b"p" * 126), frame(9, b"p", fin=False)),
    "ws-invalid-close": ws_session(frame(8, b"\x03"), close(999)),
    "ws-invalid-continuation": ws_session(frame(0, b"x")),
    # A 64-bit length far over --max-ws-frame-size, and a 16-bit one.
    "ws-big-frame": ws_session(b"\x82\xff" + struct.pack("!Q", 1 << 40) + b"mask" + b"y" * 8,
                               frame(2, b"y" * 2000)),
    "ws-keepalive": ws_session(frame(1, b"a"), path="/ping") + TIMER_OP + DRAIN + TIMER_OP +
                    TIMER_OP + DRAIN,
    "ws-shutdown": ws_session(frame(1, b"a")) + SHUTDOWN_OP + DRAIN + reads(close()) + DRAIN,
    "ws-eof": ws_session(frame(1, b"a")) + EOF_OP + DRAIN + TIMER_OP + DRAIN,
    "ws-error": ws_session(frame(1, b"a" * 200)) + ERROR_OP,
    "ws-deny": ws_session(frame(1, b"a"), path="/deny"),
    "ws-forbid": ws_session(path="/ws/forbidden"),
    "ws-bad-version": reads(upgrade().replace(b"Version: 13", b"Version: 8")) + DRAIN,
    "ws-after-get": reads(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + upgrade()) + DRAIN +
                    reads(frame(1, b"x") + close()) + DRAIN,
    "sse-get": reads(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n") +
               DRAIN + DRAIN,
    "sse-post": reads(b"POST /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                      b"Content-Length: 11\r\n\r\nhello") + DRAIN + reads(b" world") + DRAIN,
    "sse-chunked": reads(b"POST /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") + DRAIN +
                   reads(b"2\r\nde\r\n0\r\n\r\n") + DRAIN,
    "sse-held": reads(b"GET /e?keepalive=10 HTTP/1.1\r\nHost: x\r\n"
                      b"Accept: text/event-stream\r\n\r\n") + DRAIN + TIMER_OP + DRAIN +
                TIMER_OP + EOF_OP + DRAIN,
    "sse-decline": reads(b"GET /sse/decline HTTP/1.1\r\nHost: x\r\n"
                         b"Accept: text/event-stream\r\n\r\n") + DRAIN,
    "sse-http10": reads(b"GET /e HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n") + DRAIN,
    "sse-head": reads(b"HEAD /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n") +
                DRAIN,
}

if __name__ == "__main__":
    for name in os.listdir(OUT):
        if name.startswith(("ws-", "sse-")):
            os.remove(os.path.join(OUT, name))
    for name, ops in CASES.items():
        for app in APPS:
            with open(os.path.join(OUT, f"{name}-{app}"), "wb") as f:
                f.write(mode(app) + ops)
    print(f"{len(CASES) * len(APPS)} seeds in {OUT}")
