#!/usr/bin/python3
"""Keep-alive CPU per request, native hello against nginx, in short interleaved runs.

usage: bench/interleave.py [--binary build/pagi-server] [--pairs 12] [--duration 3]

load.py starts each server afresh per round, so the two runs of a round are ~7 s apart and
this VM's slow and fast spells (±15 % within one server process, from one 3-s run to the
next) still fall on one of them. Here both servers stay up, pinned to CPU 0 (the one not
under load is idle and costs nothing), and wrk -t1 -c50 on CPU 1 loads them in turn for
--duration seconds each, in A B B A order, so a pair's two runs are adjacent and neither
server always goes first. Per run: CPU µs per request (utime+stime / requests), how busy
the server's CPU was (CPU seconds / wall seconds: near 1 means the server was the
bottleneck) and voluntary context switches per request (how often it slept). The last line
is the median of the per-pair ratios, the figure load.py's criterion uses, from runs that
are closer in time. It is a diagnostic beside load.py, not the issue's criterion.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_facts  # noqa: E402  (context switches)
import techniques  # noqa: E402  (wrk, ticks, nginx helpers)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def one_run(pid, port, seconds):
    u0, s0 = techniques.ticks(pid)
    c0 = kernel_facts.context_switches(pid)[0]
    start = time.monotonic()
    served, errors = techniques.wrk(port, seconds, 50, [], None)
    wall = time.monotonic() - start
    u1, s1 = techniques.ticks(pid)
    c1 = kernel_facts.context_switches(pid)[0]
    cpu = (u1 - u0 + s1 - s0) / CLK_TCK
    if errors:
        print(f"  wrk socket errors: {errors}", file=sys.stderr)
    return {"us": cpu * 1e6 / served, "busy": cpu / wall, "ctx": (c1 - c0) / served,
            "rps": served / wall}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "pagi-server"))
    p.add_argument("--pairs", type=int, default=12)
    p.add_argument("--duration", type=int, default=3)
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="pagi-interleave-")
    nginx_port, native_port = 18971, 18972
    conf = techniques.hello_nginx_conf(work, nginx_port)
    procs = [subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", conf],
                              stderr=subprocess.DEVNULL),
             subprocess.Popen(["taskset", "-c", "0", args.binary, "native:hello", "--host", "127.0.0.1",
                               "--port", str(native_port), "-q", "--no-access-log",
                               "--cores", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        techniques.wait_port(nginx_port)
        techniques.wait_port(native_port)
        servers = {"native": (procs[1].pid, native_port),
                   "nginx": (techniques.nginx_worker_pid(work), nginx_port)}
        for pid, port in servers.values():
            techniques.wrk(port, 1, 50, [], None)  # warm-up
        ratios = []
        for i in range(args.pairs):
            order = ("native", "nginx") if i % 2 == 0 else ("nginx", "native")
            r = {name: one_run(*servers[name], args.duration) for name in order}
            ratios.append(r["native"]["us"] / r["nginx"]["us"])
            print(f"pair {i + 1:2}: " + "  ".join(
                f"{n} {r[n]['us']:.2f} µs/req (busy {r[n]['busy']:.2f}, "
                f"ctx/req {r[n]['ctx']:.3f}, {r[n]['rps']:,.0f} req/s)" for n in order)
                + f"  ratio {ratios[-1]:.2f}", flush=True)
        print(f"median of the per-pair ratios {statistics.median(ratios):.2f}× "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}, {len(ratios)} pairs)")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


if __name__ == "__main__":
    main()
