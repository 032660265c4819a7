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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import techniques  # noqa: E402  (one server-under-wrk measurement for both scripts)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bins = {"before": sys.argv[1], "after": sys.argv[2]}
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    conns = os.environ.get("CONNS", "50")
    close = bool(os.environ.get("CLOSE"))
    app = os.environ.get("APP", "native:hello")
    res = {k: [] for k in bins}
    print("load at start:", open("/proc/loadavg").read().strip())
    port = 18100
    for i in range(rounds):
        for name in (["before", "after"] if i % 2 == 0 else ["after", "before"]):
            port += 1
            extra = ["-H", "Connection: close"] if close else []
            m = techniques.measure(bins[name], "", port, seconds, conns, extra, None, app=app)
            n, us, user = m["rps"] * seconds, m["us"], m["user_us"]
            res[name].append(us)
            print(f"round {i} {name:6}: {n / seconds:9.0f} req/s  {us:.2f} µs/req "
                  f"(user {user:.2f})", flush=True)
    print("load at end:", open("/proc/loadavg").read().strip())
    for k, v in res.items():
        s = sorted(v)
        print(f"{k}: median {s[len(s) // 2]:.2f} µs/req, runs " + ", ".join(f"{x:.2f}" for x in v))


if __name__ == "__main__":
    main()
