#!/usr/bin/python3
# WebSocket client for the Perl WebSocket integration tests (Debian python3-websockets): runs
# a list of steps against a server and prints one line per outcome, for the test to compare.
#
#   perl_ws_client.py [--unix PATH] [--protocol P]... URL STEP...
#
# Steps: text:S (send S; \n in S is a newline), hex:H (send bytes), recv (print the next
# message as "text S" or "bytes HEX"), drain:N (receive N messages, print "drained N BYTES"),
# flood:N (send N small text messages), close[:CODE]
# (close and print "closed CODE REASON"), wait-close (print messages until the server closes,
# then "closed CODE REASON"). The handshake prints "subprotocol P" (or "-"), a refused one
# "refused STATUS" and stops.
import asyncio
import sys

import websockets
import websockets.exceptions


def show(msg):
    if isinstance(msg, str):
        print("text " + msg, flush=True)
    else:
        print("bytes " + msg.hex(), flush=True)


async def main(argv):
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


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
