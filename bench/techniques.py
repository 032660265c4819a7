#!/usr/bin/env python3
"""What each io_uring technique is worth: native hello with every technique on, and with each
one turned off (PAGI_RING_DISABLE), side by side in one run.

Usage: bench/techniques.py [--rounds 3] [--duration 5] [--binary build/pagi-server]
                           [--server-cpus 0] [--client-cpus 1]
                           [--out bench/results/DATE-HOST-techniques.md]
script/bench runs it too (its `techniques` row) and links the report from the main one.

Rows: keep-alive (wrk -c50), pipelined x16 (the load comparison's Lua script) and connection
per request (Connection: close). Each round starts every variant fresh (pinned to CPU 0,
--cores 1, no access log), warms it up for 1 s, runs wrk -t1 pinned to CPU 1 and divides the
server's utime+stime (/proc/PID/stat) by the requests served, as bench/load.py does. The order
of the variants rotates each round so that a change of machine load hits them alike. The
report shows the medians, each variant's CPU per request over the all-on variant's (above 1:
the technique saves that much), and every run.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (the Lua scripts and the machine description)

ROOT = load.ROOT

# (label, PAGI_RING_DISABLE, what the technique does)
VARIANTS = [
    ("all on", "", "SINGLE_ISSUER + DEFER_TASKRUN ring, registered ring fd, multishot accept "
     "and multishot recv into a provided buffer ring, TCP_DEFER_ACCEPT listeners"),
    ("no DEFER_TASKRUN", "defer-taskrun",
     "task work runs at any kernel exit (COOP_TASKRUN), not only inside io_uring_enter"),
    ("no task-run flag", "defer-taskrun,coop-taskrun",
     "completions are run by interrupting the thread (IPI), the kernel's default"),
    ("no registered ring fd", "registered-fd", "io_uring_enter looks the ring's fd up each call"),
    ("no multishot recv", "multishot-recv", "a recv SQE is submitted after each completion"),
    ("no multishot accept", "multishot-accept", "an accept SQE is submitted per connection"),
    ("no deferred accept", "defer-accept",
     "listeners without TCP_DEFER_ACCEPT: the core is woken for the accept, then for the request"),
]

ROWS = [
    ("keep-alive", [], None),
    ("pipelined x16", ["--", "16"], load.PIPELINE_LUA),
    ("connection per request", ["-H", "Connection: close"], None),
]


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]), int(f[12])


def wrk(port, seconds, conns, extra, lua_path, client_cpus="1"):
    argv = ["taskset", "-c", client_cpus, "wrk", "-t1", "-c", str(conns), f"-d{seconds}s"]
    if lua_path:
        argv += ["-s", lua_path]
    # wrk wants its script options after the URL.
    url = f"http://127.0.0.1:{port}/"
    if extra and extra[0] == "--":
        argv += [url] + extra
    else:
        argv += extra + [url]
    r = subprocess.run(argv, capture_output=True, text=True)
    m = re.search(r"(\d+) requests in", r.stdout)
    if not m:
        sys.exit("wrk failed: " + (r.stderr or r.stdout)[:300])
    errors = re.search(r"Socket errors: (.*)", r.stdout)
    return int(m.group(1)), (errors.group(1) if errors else "")


def wait_port(port):
    """Returns once something accepts on 127.0.0.1:port (up to ~10 s)."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def hello_nginx_conf(work, port):
    """An nginx.conf in `work`: one worker answering `return 200 "Hello, World!"` on
    127.0.0.1:port, no access log (kernel_facts.py and floor.py; load.py writes its own, with
    the other scenarios' locations)."""
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/err warn;
events {{ worker_connections 2000; }}
http {{ access_log off; keepalive_requests 1000000;
  client_body_temp_path {work}/b; proxy_temp_path {work}/p; fastcgi_temp_path {work}/f;
  uwsgi_temp_path {work}/u; scgi_temp_path {work}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096;
    location = / {{ default_type text/plain; return 200 "Hello, World!"; }} }} }}
""")
    return conf


def nginx_worker_pid(work):
    """The pid of the worker of the nginx started with hello_nginx_conf(work, ...)."""
    time.sleep(0.2)
    master = int(open(os.path.join(work, "nginx.pid")).read())
    return int(open(f"/proc/{master}/task/{master}/children").read().split()[0])


def measure(binary, disable, port, seconds, conns, extra, lua_path, cpus=("0", "1"),
            app="native:hello"):
    """One fresh server (`--cores 1`, pinned to cpus[0]) under wrk -t1 (pinned to cpus[1]):
    1 s of warm-up, then `seconds` measured. Returns requests/s and server CPU µs per
    request (utime+stime from /proc/PID/stat over the requests served), user time apart."""
    env = dict(os.environ)
    env.pop("PAGI_RING_DISABLE", None)
    if disable:
        env["PAGI_RING_DISABLE"] = disable
    p = subprocess.Popen(["taskset", "-c", cpus[0], binary, app, "--host", "127.0.0.1",
                          "--port", str(port), "-q", "--no-access-log", "--cores", "1"],
                         env=env)
    try:
        wait_port(port)
        wrk(port, 1, conns, extra, lua_path, cpus[1])
        u0, s0 = ticks(p.pid)
        n, errors = wrk(port, seconds, conns, extra, lua_path, cpus[1])
        u1, s1 = ticks(p.pid)
    finally:
        p.terminate()
        p.wait()
    tck = os.sysconf("SC_CLK_TCK")
    return {"rps": n / seconds, "us": (u1 - u0 + s1 - s0) * 1e6 / tck / n,
            "user_us": (u1 - u0) * 1e6 / tck / n, "errors": errors}


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def run(binary, rounds, duration, connections, out, cpus=("0", "1"), command=None):
    """Runs every row and variant, writes the report to `out` and returns its text."""
    date = datetime.date.today().isoformat()
    workdir = tempfile.mkdtemp(prefix="pagi-techniques-")
    lua_paths = {}
    for name, _, lua in ROWS:
        if lua:
            lua_paths[name] = os.path.join(workdir, name.replace(" ", "-") + ".lua")
            with open(lua_paths[name], "w") as f:
                f.write(lua)
    load_start = open("/proc/loadavg").read().split()[:3]
    res = {(row, v[0]): [] for row, _, _ in ROWS for v in VARIANTS}
    port = 18400
    for i in range(rounds):
        for row, extra, _ in ROWS:
            k = i % len(VARIANTS)
            for label, disable, _ in VARIANTS[k:] + VARIANTS[:k]:
                port += 1
                m = measure(binary, disable, port, duration, connections, extra,
                            lua_paths.get(row), cpus)
                res[(row, label)].append(m)
                print(f"round {i} {row:22} {label:22} {m['rps']:9.0f} req/s "
                      f"{m['us']:6.2f} µs/req (user {m['user_us']:.2f}) {m['errors']}",
                      file=sys.stderr, flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    load_end = open("/proc/loadavg").read().split()[:3]
    mach = load.machine()
    command = command or f"bench/techniques.py --rounds {rounds} --duration {duration}"
    lines = [f"# What each io_uring technique is worth — {date} on {mach['host']}", "",
             f"Machine: {mach['cpu']}, {mach['nproc']} CPUs, kernel {mach['kernel']}. "
             f"`native:hello` pinned to CPU {cpus[0]} (`--cores 1`), wrk -t1 -c{connections} "
             f"pinned to CPU {cpus[1]}, {duration} s per run after 1 s of warm-up, {rounds} "
             f"rounds with the order of the variants rotated each round. Load average at start "
             f"{' '.join(load_start)}, at end {' '.join(load_end)}.", "",
             f"Command: `{command}`", "",
             "Each variant turns one technique off with `PAGI_RING_DISABLE` (everything else "
             "on). **× all-on CPU** is the variant's server CPU per request over the all-on "
             "variant's in the same row: above 1 means the technique saves that much. Compare "
             "CPU figures; requests/s on a shared VM is noisy.", "",
             "| row | variant | what is off | requests/s | CPU µs/req | user µs/req | × all-on CPU "
             "| every run (CPU µs/req) |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for row, _, _ in ROWS:
        base = median([m["us"] for m in res[(row, "all on")]])
        for label, _, what in VARIANTS:
            ms = res[(row, label)]
            us = median([m["us"] for m in ms])
            ratio = "—" if label == "all on" else f"{us / base:.2f}×"
            what_cell = "nothing" if label == "all on" else what
            lines.append(f"| {row} | {label} | {what_cell} | {median([m['rps'] for m in ms]):,.0f} "
                         f"| {us:.2f} | {median([m['user_us'] for m in ms]):.2f} | {ratio} | "
                         + ", ".join(f"{m['us']:.2f}" for m in ms) + " |")
    lines.append("")
    text = "\n".join(lines)
    with open(out, "w") as f:
        f.write(text)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--server-cpus", default="0")
    ap.add_argument("--client-cpus", default="1")
    ap.add_argument("--binary", default=os.environ.get("PAGI_SERVER_BIN",
                                                       os.path.join(ROOT, "build", "pagi-server")))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or os.path.join(ROOT, "bench", "results",
                                   f"{datetime.date.today().isoformat()}-{platform.node()}"
                                   "-techniques.md")
    print(run(args.binary, args.rounds, args.duration, args.connections, out,
              (args.server_cpus, args.client_cpus)))
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
