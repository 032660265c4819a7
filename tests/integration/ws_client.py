#!/usr/bin/python3
# WebSocket client for the integration tests: python3-websockets (a real, independent RFC 6455
# / RFC 7692 implementation, Debian's) and raw frames. Two ways to drive it:
#
#   ws_client.py SCENARIO URL [CASE]
#     a fixed scenario against native:echo (websocket_test.cc, nginx_test.cc): echo,
#     fragments, large, deflate, no_deflate, idle, forbidden, zip_bomb, or raw CASE (one RFC
#     6455 violation and its close code). Prints what it checked; exit status 0 = every
#     check held.
#
#   ws_client.py steps [--unix PATH] [--protocol P]... URL STEP...
#     a list of steps against any app (perl_fixture.h), one output line per outcome, for the
#     test to compare. Steps: text:S (send S; \n in S is a newline), hex:H (send bytes),
#     recv (print the next message as "text S" or "bytes HEX"), drain:N (receive N messages,
#     print "drained N BYTES"), flood:N (send N small text messages), close[:CODE] (close and
#     print "closed CODE REASON"), wait-close (print messages until the server closes, then
#     "closed CODE REASON"). The handshake prints "subprotocol P" (or "-"), a refused one
#     "refused STATUS" and stops.
import asyncio
import socket
import struct
import sys
import zlib
import base64
import os
import urllib.parse

import websockets
import websockets.exceptions


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


async def echo(url):
    async with websockets.connect(url, compression=None, subprotocols=["chat", "other"]) as ws:
        check(ws.subprotocol == "chat", "first offered subprotocol accepted")
        await ws.send("héllo")
        check(await ws.recv() == "héllo", "text echoed as text")
        await ws.send(b"\x00\x01\xff")
        check(await ws.recv() == b"\x00\x01\xff", "bytes echoed as bytes")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        check(True, "ping answered with pong")
        await ws.close(1000, "done")
        check(ws.close_code == 1000, "close handshake echoes 1000")


async def fragments(url):
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        await ws.send(["frag", "ment", "ed"])
        check(await ws.recv() == "fragmented", "three text fragments reassembled")
        pieces = [bytes([i % 256]) * 100 for i in range(2000)]
        await ws.send(pieces)
        check(await ws.recv() == b"".join(pieces), "2000-fragment chain reassembled")


async def large(url):
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        big = os.urandom(10 * 1024 * 1024)
        await ws.send(big)
        check(await ws.recv() == big, "10 MB binary message echoed")


async def deflate(url):
    async with websockets.connect(url, compression="deflate", max_size=None) as ws:
        names = [e.name for e in ws.extensions]
        check("permessage-deflate" in names, "permessage-deflate negotiated")
        text = "pagi " * 20000
        for _ in range(3):  # context takeover across messages
            await ws.send(text)
            check(await ws.recv() == text, "compressed 100 KB text echoed")
        await ws.send(b"x")
        check(await ws.recv() == b"x", "short message echoed")


async def no_deflate(url):
    async with websockets.connect(url, compression="deflate") as ws:
        check(len(ws.extensions) == 0, "no extension negotiated with --no-ws-compression")
        await ws.send("plain")
        check(await ws.recv() == "plain", "echo without compression")


async def idle(url):
    async with websockets.connect(url, compression=None, ping_interval=None) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "server closed the idle connection")
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1001, "idle timeout closes with 1001")


async def forbidden(url):
    try:
        async with websockets.connect(url) as ws:
            check(False, "handshake refused")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 403, "close before accept answers 403")


def raw_handshake(url, extensions=None):
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.hostname}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    if extensions:
        req += f"Sec-WebSocket-Extensions: {extensions}\r\n"
    s.sendall((req + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return s, head.decode(errors="replace")


def read_close(s):
    # Reads frames until a Close: returns its code (None if the connection just ended).
    buf = b""
    s.settimeout(10)
    while True:
        while len(buf) < 2:
            c = s.recv(65536)
            if not c:
                return None
            buf += c
        n = buf[1] & 0x7F
        off = 2
        if n == 126:
            n = struct.unpack("!H", buf[2:4])[0]
            off = 4
        elif n == 127:
            n = struct.unpack("!Q", buf[2:10])[0]
            off = 10
        while len(buf) < off + n:
            c = s.recv(65536)
            if not c:
                return None
            buf += c
        opcode = buf[0] & 0x0F
        payload = buf[off:off + n]
        buf = buf[off + n:]
        if opcode == 8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


def zip_bomb(url):
    s, head = raw_handshake(url, "permessage-deflate")
    check(" 101 " in head and "permessage-deflate" in head.lower(), "deflate accepted")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(b"\0" * (64 * 1024 * 1024)) + c.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    data = data[:-4]
    check(len(data) < 65536, "64 MiB of zeros deflate into one small frame")
    s.sendall(frame(0x80 | 0x40 | 0x2, data))
    check(read_close(s) == 1009, "inflating past --max-ws-message-size closes with 1009")


def frame(b0, payload, masked=True):
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
    mask = os.urandom(4)
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


# RFC 6455 violations (PAGI.md section 6) and the close code each must get.
RAW_CASES = {
    "rsv_bits": (frame(0x80 | 0x20 | 0x1, b"hi"), 1002),
    "reserved_opcode": (frame(0x80 | 0x3, b"hi"), 1002),
    "reserved_control_opcode": (frame(0x80 | 0xB, b""), 1002),
    "control_over_125": (frame(0x80 | 0x9, b"p" * 126), 1002),
    "fragmented_control": (frame(0x9, b"p"), 1002),
    "close_one_byte": (frame(0x80 | 0x8, b"\x03"), 1002),
    "close_bad_code": (frame(0x80 | 0x8, struct.pack("!H", 999)), 1002),
    "close_code_1005": (frame(0x80 | 0x8, struct.pack("!H", 1005)), 1002),
    "text_invalid_utf8": (frame(0x80 | 0x1, b"ok\xff\xfe"), 1007),
    "close_reason_invalid_utf8": (frame(0x80 | 0x8, struct.pack("!H", 1000) + b"\xc3"), 1007),
    "unmasked": (frame(0x80 | 0x1, b"hi", masked=False), 1002),
    "frame_over_limit": (frame(0x80 | 0x2, b"x" * 70000), 1009),
    "continuation_first": (frame(0x80 | 0x0, b"x"), 1002),
}


def raw(url, case):
    data, code = RAW_CASES[case]
    s, head = raw_handshake(url)
    check(" 101 " in head, "handshake accepted")
    s.sendall(data)
    got = read_close(s)
    check(got == code, f"{case}: close code {got}, expected {code}")


# --- steps mode ------------------------------------------------------------------

def show(msg):
    if isinstance(msg, str):
        print("text " + msg, flush=True)
    else:
        print("bytes " + msg.hex(), flush=True)


async def steps(argv):
    unix = None
    protocols = []
    while argv and argv[0].startswith("--"):
        flag = argv.pop(0)
        if flag == "--unix":
            unix = argv.pop(0)
        elif flag == "--protocol":
            protocols.append(argv.pop(0))
    url, steps = argv[0], argv[1:]
    kwargs = dict(max_size=None, open_timeout=10, close_timeout=5, ping_interval=None)
    if protocols:
        kwargs["subprotocols"] = protocols
    try:
        if unix:
            ws = await websockets.unix_connect(unix, url, **kwargs)
        else:
            ws = await websockets.connect(url, **kwargs)
    except websockets.exceptions.InvalidStatusCode as e:
        print("refused %d" % e.status_code, flush=True)
        return 0
    print("subprotocol " + (ws.subprotocol or "-"), flush=True)
    try:
        for step in steps:
            kind, _, arg = step.partition(":")
            if kind == "text":
                await ws.send(arg.replace("\\n", "\n"))
            elif kind == "hex":
                await ws.send(bytes.fromhex(arg))
            elif kind == "recv":
                show(await asyncio.wait_for(ws.recv(), 10))
            elif kind == "drain":
                total = 0
                for i in range(int(arg)):
                    total += len(await asyncio.wait_for(ws.recv(), 10))
                print("drained %s %d" % (arg, total), flush=True)
            elif kind == "flood":
                for i in range(int(arg)):
                    await ws.send("m%d" % i)
            elif kind == "close":
                await ws.close(code=int(arg) if arg else 1000)
                print("closed %s %s" % (ws.close_code, ws.close_reason), flush=True)
                return 0
            elif kind == "wait-close":
                while True:
                    show(await asyncio.wait_for(ws.recv(), 10))
    except websockets.exceptions.ConnectionClosed:
        print("closed %s %s" % (ws.close_code, ws.close_reason), flush=True)
        return 0
    await ws.close()
    return 0



SCENARIOS = {
    "echo": echo, "fragments": fragments, "large": large, "deflate": deflate,
    "no_deflate": no_deflate, "idle": idle, "forbidden": forbidden,
}

if __name__ == "__main__":
    name = sys.argv[1]
    if name == "steps":
        sys.exit(asyncio.run(steps(sys.argv[2:])))
    url = sys.argv[2]
    if name == "zip_bomb":
        zip_bomb(url)
    elif name == "raw":
        raw(url, sys.argv[3])
    else:
        asyncio.run(SCENARIOS[name](url))
