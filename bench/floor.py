#!/usr/bin/python3
"""The floor: server CPU per keep-alive request of a bare io_uring loop, pagi-server native:hello
and nginx, side by side, to tell what pagi-server's own code costs from what any server pays
the kernel here.

usage: bench/floor.py [--rounds 6] [--duration 5] [--variants ,fixed,skip,batch]
                      [--binary build/pagi-server] [--probe build/pagi-floor-probe]

build/pagi-floor-probe answers every recv completion with native:hello's response bytes
without parsing (bench/probes/floor_probe.cc); its variants try kernel-side savings (direct
descriptors, sends without a completion, waiting for 8 completions). Each round starts every
server fresh, pinned to CPU 0, under wrk -t1 -c50 on CPU 1, in an order rotated each round,
and measures utime+stime (/proc/PID/stat) over the requests served, as bench/load.py does.
Prints the medians, each row's median per-round ratio to nginx, and every run.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import techniques  # noqa: E402  (wrk and /proc/PID/stat helpers)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(argv, port, seconds, pid_of=None):
    proc = subprocess.Popen(argv)
    try:
        techniques.wait_port(port)
        pid = pid_of() if pid_of else proc.pid
        techniques.wrk(port, 1, 50, [], None)
        u0, s0 = techniques.ticks(pid)
        n, _ = techniques.wrk(port, seconds, 50, [], None)
        u1, s1 = techniques.ticks(pid)
    finally:
        proc.terminate()
        proc.wait()
    tck = os.sysconf("SC_CLK_TCK")
    return (u1 - u0 + s1 - s0) * 1e6 / tck / n, (u1 - u0) * 1e6 / tck / n, n / seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "pagi-server"))
    p.add_argument("--probe", default=os.path.join(ROOT, "build", "pagi-floor-probe"))
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--variants", default=",fixed,skip,batch",
                   help="probe variants, comma list ('' is the plain loop)")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="pagi-floor-")
    rows = [("nginx", None), ("pagi-server native:hello", None)]
    rows += [(f"floor {v or 'plain'}", v) for v in args.variants.split(",")]
    res = {name: [] for name, _ in rows}
    port = 19200
    print("load at start:", open("/proc/loadavg").read().strip(), flush=True)
    for r in range(args.rounds):
        order = rows[r % len(rows):] + rows[:r % len(rows)]
        for name, variant in order:
            port += 1  # a fresh port: a ring's teardown may still hold the last one
            if name == "nginx":
                conf = techniques.hello_nginx_conf(work, port)
                m = measure(["taskset", "-c", "0", "nginx", "-c", conf], port, args.duration,
                            lambda: techniques.nginx_worker_pid(work))
            elif variant is None:
                m = measure(["taskset", "-c", "0", args.binary, "native:hello", "--host",
                             "127.0.0.1", "--port", str(port), "-q", "--no-access-log",
                             "--cores", "1"], port, args.duration)
            else:
                m = measure(["taskset", "-c", "0", args.probe, str(port), variant], port,
                            args.duration)
            res[name].append(m)
            print(f"round {r} {name:26} {m[2]:9.0f} req/s {m[0]:6.2f} µs/req (user {m[1]:.2f})",
                  flush=True)
    print("load at end:", open("/proc/loadavg").read().strip())
    print("\n| server | CPU µs/req | user µs/req | req/s | × nginx (median of per-round ratios) "
          "| every run (CPU µs/req) |\n|---|---:|---:|---:|---:|---|")
    for name, _ in rows:
        runs = res[name]
        ratios = [m[0] / n[0] for m, n in zip(runs, res["nginx"])]
        print(f"| {name} | {statistics.median(m[0] for m in runs):.2f} | "
              f"{statistics.median(m[1] for m in runs):.2f} | "
              f"{statistics.median(m[2] for m in runs):,.0f} | "
              f"{statistics.median(ratios):.2f}× | {', '.join(f'{m[0]:.2f}' for m in runs)} |")


if __name__ == "__main__":
    main()
