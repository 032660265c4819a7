#!/usr/bin/env python3
"""Before/after: server CPU µs per request of two pagi-server binaries, side by side.

Usage: bench/ab_cpu.py BEFORE_BINARY AFTER_BINARY [ROUNDS=4] [SECONDS=8]
Env:   CONNS=50 (wrk -c), CLOSE=1 (Connection: close: one connection per request),
       APP=native:hello

Each round starts each binary fresh (pinned to CPU 0, --cores 1, no access log), warms it up
with 1 s of wrk, then runs wrk -t1 (pinned to CPU 1) and divides the server's utime+stime
(/proc/PID/stat) by the requests served, as bench/load.py does. The order alternates each
round so that a change of machine load hits both binaries alike; medians and every run are
printed, with the load average at the start and the end. On a shared machine compare the
CPU figures, not requests/s.
"""
import os
import re
import socket
import subprocess
import sys
import time


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]), int(f[12])


def wrk(port, seconds, conns, close):
    argv = ["taskset", "-c", "1", "wrk", "-t1", "-c", conns, f"-d{seconds}s"]
    if close:
        argv += ["-H", "Connection: close"]
    r = subprocess.run(argv + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
    m = re.search(r"(\d+) requests in", r.stdout)
    if not m:
        sys.exit("wrk failed: " + (r.stderr or r.stdout)[:200])
    return int(m.group(1))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bins = {"before": sys.argv[1], "after": sys.argv[2]}
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    conns = os.environ.get("CONNS", "50")
    close = bool(os.environ.get("CLOSE"))
    app = os.environ.get("APP", "native:hello")
    tck = os.sysconf("SC_CLK_TCK")
    res = {k: [] for k in bins}
    print("load at start:", open("/proc/loadavg").read().strip())
    port = 18100
    for i in range(rounds):
        for name in (["before", "after"] if i % 2 == 0 else ["after", "before"]):
            port += 1
            p = subprocess.Popen(["taskset", "-c", "0", bins[name], app, "--host", "127.0.0.1",
                                  "--port", str(port), "-q", "--no-access-log", "--cores", "1"])
            try:
                for _ in range(200):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                wrk(port, 1, conns, close)
                u0, s0 = ticks(p.pid)
                n = wrk(port, seconds, conns, close)
                u1, s1 = ticks(p.pid)
            finally:
                p.terminate()
                p.wait()
            us = (u1 - u0 + s1 - s0) * 1e6 / tck / n
            user = (u1 - u0) * 1e6 / tck / n
            res[name].append(us)
            print(f"round {i} {name:6}: {n / seconds:9.0f} req/s  {us:.2f} µs/req "
                  f"(user {user:.2f})", flush=True)
    print("load at end:", open("/proc/loadavg").read().strip())
    for k, v in res.items():
        s = sorted(v)
        print(f"{k}: median {s[len(s) // 2]:.2f} µs/req, runs " + ", ".join(f"{x:.2f}" for x in v))


if __name__ == "__main__":
    main()
