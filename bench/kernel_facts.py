#!/usr/bin/python3
"""What the kernel does per request: native hello against nginx, keep-alive, side by side.

usage: bench/kernel_facts.py [--binary build/pagi-server] [--rounds 2] [--duration 5]
                             [--events EV,EV,...]

Each round runs pagi-server native:hello (`--cores 1`) and nginx (one worker, `return 200`),
each pinned to CPU 0 under wrk -t1 -c50 on CPU 1, and prints per request: server CPU µs
(user and system apart), voluntary and involuntary context switches (every thread), TCP
segments sent (system-wide, so the client's too) and the count of each perf event given
(`perf stat -e`; default raw_syscalls:sys_enter). Tracepoints such as sock:sock_recv_length,
sock:sock_send_length, io_uring:io_uring_submit_req, io_uring:io_uring_complete or
io_uring:io_uring_local_work_run show how many recvs, sends, SQEs and CQEs a request costs;
tracing slows both servers, so read the CPU figures from a run without extra events.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import techniques  # noqa: E402  (wrk and /proc/PID/stat helpers)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tcp_out_segments():
    rows = [line.split() for line in open("/proc/net/snmp") if line.startswith("Tcp:")]
    return int(dict(zip(rows[0][1:], rows[1][1:]))["OutSegs"])


def context_switches(pid):
    vol = invol = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        for line in open(f"/proc/{pid}/task/{tid}/status"):
            if line.startswith("voluntary_ctxt_switches"):
                vol += int(line.split(":")[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                invol += int(line.split(":")[1])
    return vol, invol


def measure(name, argv, port, seconds, events, pid_of=None):
    proc = subprocess.Popen(argv)
    try:
        techniques.wait_port(port)
        pid = pid_of() if pid_of else proc.pid
        techniques.wrk(port, 1, 50, [], None)
        u0, s0 = techniques.ticks(pid)
        c0, seg0 = context_switches(pid), tcp_out_segments()
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", events, "-p", str(pid)],
                                stderr=subprocess.PIPE, text=True)
        n, _ = techniques.wrk(port, seconds, 50, [], None)
        perf.send_signal(signal.SIGINT)
        counts = re.findall(r"^(\d+),[^,]*,([^,]+),", perf.communicate()[1], re.M)
        u1, s1 = techniques.ticks(pid)
        c1, seg1 = context_switches(pid), tcp_out_segments()
    finally:
        proc.terminate()
        proc.wait()
    us = 1e6 / os.sysconf("SC_CLK_TCK") / n
    extra = "  ".join(f"{ev.split(':')[-1]} {int(v) / n:.3f}" for v, ev in counts)
    print(f"{name:7} {n / seconds:8.0f} req/s  {(u1 - u0 + s1 - s0) * us:6.2f} µs/req "
          f"(user {(u1 - u0) * us:5.2f}, sys {(s1 - s0) * us:5.2f})  per request: "
          f"cs {(c1[0] - c0[0]) / n:.3f}/{(c1[1] - c0[1]) / n:.3f}  "
          f"segments out {(seg1 - seg0) / n:.3f}  {extra}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "pagi-server"))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--events", default="raw_syscalls:sys_enter")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="pagi-kernel-facts-")
    conf = techniques.hello_nginx_conf(work, 18999)

    def nginx_worker():
        return techniques.nginx_worker_pid(work)

    for _ in range(args.rounds):
        measure("native", ["taskset", "-c", "0", args.binary, "native:hello", "--host",
                           "127.0.0.1", "--port", "18998", "-q", "--no-access-log", "--cores",
                           "1"], 18998, args.duration, args.events)
        measure("nginx", ["taskset", "-c", "0", "nginx", "-c", conf], 18999, args.duration,
                args.events, nginx_worker)


if __name__ == "__main__":
    main()
