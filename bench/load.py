#!/usr/bin/env python3
"""Load comparison in one run: pagi-server (native and Perl) against nginx and the reference
PAGI::Server, same request, same client, back to back, the server pinned to one CPU and the
client (wrk, and the proxy nginx where there is one) to another; the keep-alive row also runs
a bare io_uring loop (the floor: what the kernel charges any io_uring server). For every row: requests/s,
latency percentiles, server CPU µs per request (utime+stime of the server's processes from
/proc/PID/stat before and after, divided by the requests served: stable on a noisy machine
where requests/s is not) and RSS. A row that cannot run says so and why; nothing is estimated.

Run through script/bench; see bench/README.md."""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
HELLO_BODY = b"Hello, World!"
LARGE_SIZE = 1 << 20
IDLE_DEADLINE_S = 300

LATENCY_LUA = r"""
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "duration_us": %d, "bytes": %d, "errors": %d, '
    .. '"non2xx": %d, "p50": %d, "p99": %d, "p999": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"""

# wrk counts every response of a pipeline in summary.requests (checked: bytes read / requests
# = one response), so nothing is multiplied afterwards. Latency is per pipeline round trip.
PIPELINE_LUA = r"""
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
""" + LATENCY_LUA

UPLOAD_LUA = f"""
wrk.method = "POST"
wrk.path = "/upload"
wrk.body = string.rep("x", {LARGE_SIZE})
wrk.headers["Content-Type"] = "application/octet-stream"
""" + LATENCY_LUA


class Scenario:
    def __init__(self, key, title, app="hello", path="/", lua=LATENCY_LUA, extra=(),
                 unix=False):
        self.key, self.title, self.app, self.path = key, title, app, path
        self.lua, self.extra, self.unix = lua, list(extra), unix


SCENARIOS = [
    Scenario("keep-alive", "keep-alive"),
    Scenario("pipelined", "pipelined x16", lua=PIPELINE_LUA, extra=["--", "16"]),
    Scenario("close", "connection per request", extra=["-H", "Connection: close"]),
    Scenario("unix", "behind nginx (unix socket)", unix=True),
    Scenario("large-response", "1 MiB response", app="large", path="/big"),
    # The same bytes from a file: nginx's static file (sendfile), native send_file, Perl
    # `file => PATH` (both spliced; PAGI_FILE_BODY=copy in the environment measures the copy path).
    Scenario("large-file", "1 MiB file response", app="large", path="/file"),
    Scenario("upload", "1 MiB upload", app="large", path="/upload", lua=UPLOAD_LUA),
]
EXTRA_KEYS = ["idle", "soak", "ws-echo", "sse", "techniques"]


# --- /proc --------------------------------------------------------------------------------

def descendants(pid):
    """pid and every process below it (nginx master and workers; taskset execs in place)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime: all threads of the process
        except OSError:
            pass
    return total


def rss_kib(pids):
    # smaps_rollup counts the pages (VmRSS is an estimate the kernel batches per thread and
    # CPU: off by hundreds of KiB, which matters for the idle row).
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                m = re.search(r"^Rss:\s+(\d+) kB", f.read(), re.M)
            if m is None:
                with open(f"/proc/{pid}/status") as f:
                    m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def fd_count(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return total


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# --- sockets ------------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(addr, timeout=2.0):
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
        return s
    return socket.create_connection(addr, timeout=timeout)


def http_get(addr, path="/", timeout=3.0):
    """One request on a fresh connection: (status, body) or raises OSError."""
    s = connect(addr, timeout)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        raise OSError(f"no HTTP response ({data[:60]!r})")
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return int(m.group(1)), body


def wait_ready(addr, proc, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            connect(addr, 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


# --- servers under test -------------------------------------------------------------------

class Target:
    """A server under test. start() returns None once it serves the scenario's app correctly,
    else the reason it does not."""

    key = "?"
    name = "?"
    rows = None  # the scenario keys (and "idle") it runs; None: every one

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.proc = None
        self.addr = None  # ("127.0.0.1", port) or a unix socket path
        self.unavailable = {}  # app -> reason, so a missing server is tried once per app

    def pids(self):
        return descendants(self.proc.pid) if self.proc else []

    def log_path(self):
        return os.path.join(self.workdir, self.key + ".log")

    def log_head(self):
        try:
            with open(self.log_path(), errors="replace") as f:
                lines = [l.strip() for l in f if l.strip()]
            return (lines[0][:200] if lines else "")
        except OSError:
            return ""

    def _spawn(self, argv, env=None):
        with open(self.log_path(), "w") as log:
            self.proc = subprocess.Popen(["taskset", "-c", self.args.server_cpus] + argv,
                                         stdout=log, stderr=log, env=env,
                                         start_new_session=True)

    def _listen_args(self, unix):
        """Port or socket path for this start; sets self.addr."""
        if unix:
            path = os.path.join(self.workdir, self.key + ".sock")
            if os.path.exists(path):
                os.unlink(path)
            self.addr = path
        else:
            self.addr = ("127.0.0.1", free_port())

    def runs_row(self, key):
        return self.rows is None or key in self.rows

    def start_failed(self, scenario):
        return scenario.app in self.unavailable or (scenario.unix and self.key == "nginx")

    def start(self, scenario):
        if scenario.app in self.unavailable:
            return self.unavailable[scenario.app]
        why = self._start(scenario)
        if why is None:
            why = self._check(scenario)
        if why is not None:
            self.stop()
            why = self._explain(why)
            self.unavailable[scenario.app] = why
        return why

    def _explain(self, why):
        return why if why.startswith("not available") else "not available: " + why

    def _check(self, scenario):
        if not wait_ready(self.addr, self.proc, self.args.start_timeout):
            head = self.log_head()
            code = self.proc.poll()
            return (f"did not start (exit {code}): {head}" if code is not None
                    else f"not listening after {self.args.start_timeout}s: {head}")
        path = "/big" if scenario.app == "large" else "/"
        try:
            status, body = http_get(self.addr, path, 10)
        except OSError as e:
            return f"no answer to GET {path}: {e}; log: {self.log_head()}"
        if status != 200:
            return f"GET {path} answered {status}; log: {self.log_head()}"
        if scenario.app == "hello" and body != HELLO_BODY:
            return f"GET / answered {body[:40]!r}, not {HELLO_BODY!r}"
        if scenario.app == "large" and len(body) != LARGE_SIZE:
            return f"GET /big answered {len(body)} bytes, not {LARGE_SIZE}"
        return None

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
            self.proc = None


class PagiTarget(Target):
    def __init__(self, args, workdir, perl):
        super().__init__(args, workdir)
        self.perl = perl
        self.key = "perl" if perl else "native"
        self.name = "pagi-server Perl" if perl else "pagi-server native"
        self.large_so = None

    def app(self, scenario):
        if self.perl:
            return (os.path.join(ROOT, "tests", "apps", "hello.pl") if scenario.app == "hello"
                    else os.path.join(ROOT, "bench", "apps", "large.pl"))
        if scenario.app == "hello":
            return "native:hello"
        return f"native:{self.large_so}?{LARGE_SIZE}"

    def _start(self, scenario):
        if not os.access(self.args.binary, os.X_OK):
            return f"no pagi-server binary at {self.args.binary}"
        if not self.perl and scenario.app == "large" and not self.large_so:
            self.large_so = build_large_so(self.workdir)
            if not self.large_so.endswith(".so"):
                why, self.large_so = self.large_so, None
                return why
        self._listen_args(scenario.unix)
        argv = [self.args.binary, self.app(scenario), "--cores", str(self.args.server_cores),
                "-q", "--no-access-log", "--max-connections", str(self.args.idle + 1000)]
        if scenario.unix:
            argv += ["--socket", self.addr, "--socket-mode", "0666"]
        else:
            argv += ["--host", "127.0.0.1", "--port", str(self.addr[1])]
        self._spawn(argv, env=large_env(self.workdir))
        return None

    def _explain(self, why):
        if self.perl and re.search(r"not (yet )?(built|supported)|Perl apps", why):
            return "not available (Perl host not built): " + why
        return "not available: " + why


class NginxTarget(Target):
    key = "nginx"
    name = "nginx"

    def _start(self, scenario):
        if not shutil.which("nginx"):
            return "not available: nginx is not installed (script/bootstrap)"
        self._listen_args(False)
        big = large_file(self.workdir)
        conf = os.path.join(self.workdir, "nginx-target.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(self.workdir, "target", f"""
  server {{
    listen 127.0.0.1:{self.addr[1]} backlog=4096;
    client_max_body_size 2m;
    client_body_buffer_size 2m;
    location = / {{ default_type text/plain; return 200 "Hello, World!"; }}
    location = /big {{ default_type application/octet-stream; alias {big}; }}
    location = /file {{ default_type application/octet-stream; alias {big}; }}
    location = /upload {{ default_type text/plain; return 200 "ok"; }}
  }}""", self.args.idle + 1000))
        self._spawn(["nginx", "-c", conf, "-e", os.path.join(self.workdir, "nginx-target.err")])
        return None

    def stop(self, sig=signal.SIGQUIT):
        super().stop(sig)


class FloorTarget(Target):
    """The keep-alive row's floor: build/pagi-floor-probe (bench/probes/floor_probe.cc), a bare
    io_uring loop that answers every read with native:hello's response bytes and does no HTTP
    work. Its CPU per request is what the kernel charges any io_uring server here; the
    keep-alive row only."""

    key = "floor"
    name = "bare io_uring loop (floor)"
    rows = ("keep-alive",)

    def _start(self, scenario):
        probe = os.path.join(os.path.dirname(self.args.binary), "pagi-floor-probe")
        if not os.access(probe, os.X_OK):
            return f"not available: no floor probe at {probe} (ninja -C build)"
        self._listen_args(False)
        self._spawn([probe, str(self.addr[1])])
        return None

    def _check(self, scenario):
        # It never closes a connection, so http_get (which reads to the end) cannot ask it.
        if not wait_ready(self.addr, self.proc, self.args.start_timeout):
            return f"not listening after {self.args.start_timeout}s: {self.log_head()}"
        try:
            s = connect(self.addr, 5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            data = b""
            while HELLO_BODY not in data and len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
        except OSError as e:
            return f"no answer to GET /: {e}"
        if not data.startswith(b"HTTP/1.1 200") or HELLO_BODY not in data:
            return f"GET / answered {data[:60]!r}"
        return None


def reference_loop():
    try:
        return subprocess.run(["perl", "-MIO::Async::Loop", "-e",
                               "print ref(IO::Async::Loop->new)"],
                              capture_output=True, text=True, timeout=20).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


class ReferenceTarget(Target):
    """The reference Perl server, when its source is given (PAGI_REFERENCE=/path/to/checkout):
    run from that checkout as `perl -I$PAGI_REFERENCE/lib $PAGI_REFERENCE/bin/pagi-server`,
    its modules from Debian (script/bootstrap)."""

    key = "reference"
    name = "reference PAGI::Server"

    def __init__(self, args, workdir):
        super().__init__(args, workdir)
        self.root = os.environ.get("PAGI_REFERENCE", "")
        self.missing = None
        if not self.root:
            self.missing = "not available: PAGI_REFERENCE is not set (path to a PAGI-Server checkout)"
        elif not os.path.exists(os.path.join(self.root, "bin", "pagi-server")):
            self.missing = f"not available: no bin/pagi-server under PAGI_REFERENCE={self.root}"

    def _start(self, scenario):
        if self.missing:
            return self.missing
        app = (os.path.join(ROOT, "tests", "apps", "hello.pl") if scenario.app == "hello"
               else os.path.join(ROOT, "bench", "apps", "large.pl"))
        libs = [os.path.join(self.root, "lib")]
        libs += [p for p in os.environ.get("PAGI_REFERENCE_LIB", "").split(":") if p]
        self._listen_args(scenario.unix)
        argv = ["perl"] + [f"-I{p}" for p in libs] + [
            os.path.join(self.root, "bin", "pagi-server"), "-E", "production",
            "--no-access-log", "-q", "--max-connections", str(self.args.idle + 1000)]
        if scenario.unix:
            argv += ["--socket", self.addr, "--socket-mode", "0666"]
        else:
            argv += ["--host", "127.0.0.1", "-p", str(self.addr[1])]
        argv.append(app)
        self._spawn(argv, env=large_env(self.workdir))
        return None



def large_file(workdir):
    """The 1 MiB file every target serves for /big (nginx) and /file (all)."""
    big = os.path.join(workdir, "big.bin")
    if not os.path.exists(big):
        with open(big, "wb") as f:
            f.write(b"x" * LARGE_SIZE)
    return big


def large_env(workdir):
    """bench/apps/large.pl sends large_file() for GET /file."""
    return dict(os.environ, PAGI_BENCH_FILE=large_file(workdir))


def build_large_so(workdir):
    """Compiles bench/apps/large_app.cc against include/pagi/app.h; returns the .so path or
    the reason it could not."""
    out = os.path.join(workdir, "libpagi_bench_large.so")
    cxx = os.environ.get("CXX", "g++")
    r = subprocess.run([cxx, "-std=c++20", "-O2", "-fPIC", "-shared",
                        "-I" + os.path.join(ROOT, "include"),
                        os.path.join(ROOT, "bench", "apps", "large_app.cc"), "-o", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "could not build bench/apps/large_app.cc: " + (r.stderr.strip().splitlines()
                                                              or ["?"])[0][:160]
    return out


def nginx_conf(workdir, tag, server_block, connections, upstream=""):
    temp = os.path.join(workdir, f"nginx-{tag}-tmp")
    os.makedirs(temp, exist_ok=True)
    return f"""worker_processes 1;
worker_rlimit_nofile {connections * 2 + 100};
daemon off;
pid {workdir}/nginx-{tag}.pid;
error_log {workdir}/nginx-{tag}.err warn;
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  keepalive_requests 1000000;
  sendfile on;
{upstream}
{server_block}
}}
"""


class Proxy:
    """nginx in front of a unix socket (the deployment users run), pinned with the client."""

    def __init__(self, args, workdir, socket_path):
        self.port = free_port()
        conf = os.path.join(workdir, "nginx-proxy.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(workdir, "proxy", f"""
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}""", 4096, upstream=f"  upstream app {{ server unix:{socket_path}; keepalive 64; }}"))
        self.proc = subprocess.Popen(["taskset", "-c", args.client_cpus, "nginx", "-c", conf,
                                      "-e", os.path.join(workdir, "nginx-proxy.err")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.ok = wait_ready(("127.0.0.1", self.port), self.proc, 10)

    def pids(self):
        return descendants(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --- load ---------------------------------------------------------------------------------

def run_wrk(args, url, workdir, scenario, duration):
    path = os.path.join(workdir, "wrk.lua")
    with open(path, "w") as f:
        f.write(scenario.lua)
    extra = list(scenario.extra)
    tail = []
    if "--" in extra:  # script arguments go after the URL
        i = extra.index("--")
        extra, tail = extra[:i], extra[i:]
    argv = ["taskset", "-c", args.client_cpus, "wrk", "-t", str(args.threads),
            "-c", str(args.connections), "-d", f"{duration}s", "--timeout", "5s",
            "-s", path] + extra + [url] + tail
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    except subprocess.TimeoutExpired:
        return None, "wrk did not finish"
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line), None
    return None, "wrk produced no result: " + (r.stderr.strip() or r.stdout.strip())[:160]


def url_for(target, scenario, proxy):
    if proxy:
        return f"http://127.0.0.1:{proxy.port}{scenario.path}"
    return f"http://127.0.0.1:{target.addr[1]}{scenario.path}"


def measure(args, target, scenario, workdir):
    """One row: start the target, warm up, measure one wrk run, stop."""
    row = {"target": target.name, "target_key": target.key, "scenario": scenario.title,
           "scenario_key": scenario.key}
    if scenario.unix and target.key == "nginx":
        row["note"] = "n/a (nginx is the proxy in this row)"
        return row
    why = target.start(scenario)
    if why:
        row["note"] = why
        return row
    proxy = None
    try:
        if scenario.unix:
            proxy = Proxy(args, workdir, target.addr)
            if not proxy.ok:
                row["note"] = "not available: the proxy nginx did not start"
                return row
        url = url_for(target, scenario, proxy)
        # Warm-up (page faults, pools, Perl's first calls) outside the measurement.
        run_wrk(args, url, workdir, scenario, args.warmup)
        pids = target.pids()
        before = cpu_ticks(pids)
        pbefore = cpu_ticks(proxy.pids()) if proxy else 0
        result, err = run_wrk(args, url, workdir, scenario, args.duration)
        after = cpu_ticks(pids)
        pafter = cpu_ticks(proxy.pids()) if proxy else 0
        row["rss_kib"] = rss_kib(pids)
        # perf runs in an extra, unmeasured run so its sampling does not bias the row.
        profiler = start_profile(args, target, scenario, workdir)
        if profiler:
            run_wrk(args, url, workdir, scenario, args.duration)
            row["profile"] = finish_profile(profiler)
        if not result:
            row["note"] = err
            return row
        served = result["requests"]
        secs = result["duration_us"] / 1e6
        row.update({
            "requests": served,
            "rps": served / secs if secs else 0,
            "p50_us": result["p50"], "p99_us": result["p99"], "p999_us": result["p999"],
            "errors": result["errors"] + result["non2xx"],
            "cpu_us_per_req": (after - before) * 1e6 / CLK_TCK / served if served else None,
        })
        if proxy and served:
            row["proxy_cpu_us_per_req"] = (pafter - pbefore) * 1e6 / CLK_TCK / served
            row["note"] = f"proxy nginx (not counted): {row['proxy_cpu_us_per_req']:.1f} µs/req"
        if row["p50_us"] and not (row["p99_us"] and row["p999_us"]):
            # wrk's own --latency output shows the same: its percentiles break with pipelining.
            row["p99_us"] = row["p999_us"] = None
            row["note"] = (row.get("note", "") + " wrk reported p99/p99.9 as 0 (its histogram "
                           "is wrong with pipelining): not shown").strip()
        if result["errors"] or result["non2xx"]:
            row["note"] = (row.get("note", "") + f" wrk errors {result['errors']}, "
                           f"non-2xx {result['non2xx']}").strip()
        return row
    finally:
        if proxy:
            proxy.stop()
        target.stop()


def median_row(runs):
    """One row from the rounds of a server × scenario: requests/s and CPU µs/req are each the
    median over the runs (latency and RSS from the run with the median requests/s); every
    run's figures stay in `runs` (the JSON) and in the note."""
    ok = [r for r in runs if r.get("cpu_us_per_req") is not None]
    if len(ok) <= 1:
        return ok[0] if ok else runs[0]
    by_rps = sorted(ok, key=lambda r: r["rps"])
    row = dict(by_rps[(len(ok) - 1) // 2])
    cpus = sorted(r["cpu_us_per_req"] for r in ok)
    row["cpu_us_per_req"] = cpus[(len(cpus) - 1) // 2]
    row["runs"] = [{k: r.get(k) for k in ("round", "rps", "cpu_us_per_req", "p50_us", "p99_us",
                                          "p999_us", "errors", "rss_kib")} for r in ok]
    for r in runs:
        if r.get("profile"):
            row["profile"] = r["profile"]
    spread = (f"{len(ok)} runs: CPU µs/req " + ", ".join(f"{r['cpu_us_per_req']:.2f}" for r in ok)
              + "; req/s " + ", ".join(f"{r['rps']:,.0f}" for r in ok))
    note = row.get("note", "")
    row["note"] = (note + "; " + spread) if note else spread
    return row


def idle_memory(args, target, workdir):
    """RSS per idle keep-alive connection: `count` connections that each made one request."""
    count = args.idle
    scenario = Scenario("idle", f"{count:,} idle keep-alive connections")
    row = {"target": target.name, "target_key": target.key, "scenario": scenario.title,
           "scenario_key": "idle"}
    why = target.start(scenario)
    if why:
        row["note"] = why
        return row
    socks = []
    try:
        pids = target.pids()
        time.sleep(0.3)
        base, base_fds = rss_kib(pids), fd_count(pids)
        req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
        # The reference server accepts about 80 connections/s once thousands are open: 9,700
        # in 120 s on 2026-12-01. Five minutes lets it finish the row.
        deadline = time.time() + IDLE_DEADLINE_S

        def open_answered(n):
            # In batches of 100, each answered before the next: clients arriving over time,
            # not one burst that leaves the server's output-block pool at its peak.
            for start in range(0, n, 100):
                batch = []
                for _ in range(min(100, n - start)):
                    if time.time() > deadline:
                        raise OSError(f"only {len(socks) + len(batch)} connections opened in "
                                      f"{IDLE_DEADLINE_S} s")
                    s = socket.create_connection(target.addr, timeout=10)
                    s.sendall(req)
                    batch.append(s)
                socks.extend(batch)
                for s in batch:
                    if not s.recv(4096).startswith(b"HTTP/1.1 200"):
                        raise OSError("a connection was not answered 200")
            time.sleep(0.5)
            return rss_kib(pids)

        # The first connections also pay one-off costs (pools, the first page of each provided
        # receive buffer); the RSS after the first fifth separates them from what one more
        # idle connection costs.
        first = count // 5
        mid = open_answered(first)
        after = open_answered(count - first)
        alive = sum(1 for _ in socks)
        row.update({"rss_kib": after, "rss_base_kib": base, "connections": alive,
                    "fds": fd_count(pids) - base_fds,
                    "kib_per_conn": (after - base) / alive,
                    "kib_per_conn_marginal": (after - mid) / max(1, count - first)})
        row["note"] = (f"{row['kib_per_conn']:.2f} KiB RSS per connection ({base:,} → {after:,} KiB); "
                       f"past the first {first:,}: {row['kib_per_conn_marginal']:.2f} KiB each")
        return row
    except OSError as e:
        row["note"] = f"failed after {len(socks)} connections: {e}"
        return row
    finally:
        for s in socks:
            s.close()
        target.stop()


def soak(args, target, workdir):
    """1M keep-alive requests: RSS growth after warm-up and fd count back to the baseline."""
    scenario = Scenario("soak", f"{args.soak_requests:,} requests (soak)")
    row = {"target": target.name, "target_key": target.key, "scenario": scenario.title,
           "scenario_key": "soak"}
    why = target.start(scenario)
    if why:
        row["note"] = why
        return row
    try:
        url = url_for(target, scenario, None)
        run_wrk(args, url, workdir, scenario, args.warmup)
        time.sleep(0.5)
        pids = target.pids()
        base_rss, base_fds = rss_kib(pids), fd_count(pids)
        before = cpu_ticks(pids)
        served, lat, errors, end = 0, None, 0, time.time() + args.soak_max_seconds
        while served < args.soak_requests and time.time() < end:
            result, err = run_wrk(args, url, workdir, scenario, max(args.duration, 5))
            if not result:
                row["note"] = err
                return row
            served += result["requests"]
            errors += result["errors"] + result["non2xx"]
            lat = result
        after = cpu_ticks(pids)
        time.sleep(1.0)  # the clients have closed; let the server reap
        rss, fds = rss_kib(pids), fd_count(pids)
        growth = (rss - base_rss) * 100.0 / base_rss if base_rss else None
        row.update({"requests": served, "errors": errors, "rss_kib": rss,
                    "rss_base_kib": base_rss, "rss_growth_pct": growth,
                    "fds_base": base_fds, "fds_after": fds,
                    "cpu_us_per_req": (after - before) * 1e6 / CLK_TCK / served if served else None,
                    "p50_us": lat["p50"], "p99_us": lat["p99"], "p999_us": lat["p999"]})
        note = (f"RSS {base_rss:,} → {rss:,} KiB ({growth:+.1f} %), fds {base_fds} → {fds}")
        if served < args.soak_requests:
            note += f"; stopped at {args.soak_max_seconds} s"
        row["note"] = note
        return row
    finally:
        target.stop()


def ws_echo(args, target, workdir):
    """WebSocket echo: messages/s and server CPU per message, 32-byte binary messages, 10
    connections with 64 in flight each, from bench/ws_echo_client.py (pure Python, on the
    client CPUs: usually the bottleneck, which the CPU per message does not depend on)."""
    scenario = Scenario("ws-echo", "WebSocket echo (requests/s = messages/s)")
    row = {"target": target.name, "target_key": target.key, "scenario": scenario.title,
           "scenario_key": "ws-echo"}
    app = (os.path.join(ROOT, "examples", "websocket-echo", "app.pl") if target.perl
           else "native:echo")
    target._listen_args(False)
    target._spawn([args.binary, app, "--cores", str(args.server_cores), "-q", "--no-access-log",
                   "--host", "127.0.0.1", "--port", str(target.addr[1])])
    client = os.path.join(ROOT, "bench", "ws_echo_client.py")

    def run(seconds):
        argv = ["taskset", "-c", args.client_cpus, sys.executable, client, "127.0.0.1",
                str(target.addr[1]), "10", "64", str(seconds)]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"messages": 0, "errors": 1, "error": (r.stderr or r.stdout).strip()[:160]}

    try:
        if not wait_ready(target.addr, target.proc, args.start_timeout):
            row["note"] = f"not available: did not start: {target.log_head()}"
            return row
        warm = run(args.warmup)
        if warm["errors"]:
            row["note"] = f"not available: {warm['error']}; log: {target.log_head()}"
            return row
        pids = target.pids()
        before = cpu_ticks(pids)
        result = run(args.duration)
        after = cpu_ticks(pids)
        n = result["messages"]
        row.update({"errors": result["errors"], "rss_kib": rss_kib(pids)})
        if n:
            row["rps"] = n / result["seconds"]
            row["cpu_us_per_req"] = (after - before) * 1e6 / CLK_TCK / n
        row["note"] = ("10 connections × 64 binary messages of 32 bytes in flight, Python client"
                       + (f"; {result['error']}" if result["errors"] else ""))
        return row
    finally:
        target.stop()


def sse_stream(args, target, workdir):
    """SSE: events/s and server CPU per event, 32-byte `data:` events sent as fast as 4 streams
    are read (bench/sse_client.py, on the client CPUs), with the apps' flow control."""
    scenario = Scenario("sse", "SSE stream (requests/s = events/s)")
    row = {"target": target.name, "target_key": target.key, "scenario": scenario.title,
           "scenario_key": "sse"}
    if target.perl:
        app = os.path.join(ROOT, "bench", "apps", "sse.pl")
    else:
        if not target.large_so:
            target.large_so = build_large_so(workdir)
            if not target.large_so.endswith(".so"):
                row["note"], target.large_so = "not available: " + target.large_so, None
                return row
        app = f"native:{target.large_so}"
    target._listen_args(False)
    target._spawn([args.binary, app, "--cores", str(args.server_cores), "-q", "--no-access-log",
                   "--host", "127.0.0.1", "--port", str(target.addr[1])])
    client = os.path.join(ROOT, "bench", "sse_client.py")

    def run(seconds, pids=None):
        """The client's result, and the server's CPU ticks read while the streams are still
        open (their ends, after the client goes, are not counted)."""
        argv = ["taskset", "-c", args.client_cpus, sys.executable, client, "127.0.0.1",
                str(target.addr[1]), "4", str(seconds)]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        ticks = cpu_ticks(pids) if pids else 0
        try:
            out, err = proc.communicate("", timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        try:
            return json.loads(line), ticks
        except ValueError:
            return {"events": 0, "errors": 1, "error": (err or out).strip()[:160]}, ticks

    try:
        if not wait_ready(target.addr, target.proc, args.start_timeout):
            row["note"] = f"not available: did not start: {target.log_head()}"
            return row
        warm, _ = run(args.warmup)
        if warm["errors"]:
            row["note"] = f"not available: {warm['error']}; log: {target.log_head()}"
            return row
        time.sleep(1.0)  # the warm-up streams' ends are over
        pids = target.pids()
        before = cpu_ticks(pids)
        result, after = run(args.duration, pids)
        n = result["events"]
        row.update({"errors": result["errors"], "rss_kib": rss_kib(pids)})
        if n:
            row["rps"] = n / result["seconds"]
            row["cpu_us_per_req"] = (after - before) * 1e6 / CLK_TCK / n
        row["note"] = ("4 streams of 32-byte events, Python client (CPU includes the "
                       "streams' start, not their end)"
                       + (f"; {result['error']}" if result["errors"] else ""))
        return row
    finally:
        target.stop()


# --- profiling ----------------------------------------------------------------------------

def start_profile(args, target, scenario, workdir):
    if f"{target.key}:{scenario.key}" not in args.profile:
        return None
    args.profile.remove(f"{target.key}:{scenario.key}")  # once, in the first round
    if not shutil.which("perf"):
        return None
    data = os.path.join(workdir, f"perf-{target.key}-{scenario.key}.data")
    proc = subprocess.Popen(["perf", "record", "-g", "-F", "999", "-o", data, "-p",
                             ",".join(str(p) for p in target.pids()), "--", "sleep",
                             str(args.duration)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (proc, data, target.key, scenario.key, args.out)


def finish_profile(profiler):
    """perf report (text, top symbols) and a flame graph SVG next to the results."""
    proc, data, tkey, skey, out = profiler
    proc.wait(120)
    stamp = f"{datetime.date.today()}-{platform.node()}"
    base = os.path.join(out, f"{stamp}-perf-{tkey}-{skey}")
    with open(base + ".txt", "w") as f:
        subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                        "--sort", "dso,symbol", "-g", "none", "--percent-limit", "0.5"],
                       stdout=f, stderr=subprocess.DEVNULL)
        f.write("\n# Share of samples by binary (kernel, server, libc, perl):\n")
        f.flush()
        subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso",
                        "-g", "none"], stdout=f, stderr=subprocess.DEVNULL)
    script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no __pycache__ in bench/
    import flamegraph  # bench/flamegraph.py
    with open(base + ".svg", "w") as f:
        f.write(flamegraph.svg(flamegraph.fold(script.stdout),
                               f"pagi-server {tkey} {skey}: CPU samples (perf record -g)"))
    return {"report": os.path.basename(base + ".txt"), "flamegraph": os.path.basename(base + ".svg")}


# --- report -------------------------------------------------------------------------------

def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def fmt_us(v):
    if v is None:
        return "—"
    return f"{v / 1000:.2f} ms" if v >= 10000 else f"{v:,} µs"


def find(rows, target, scenario):
    return next((r for r in rows if r["target_key"] == target and r["scenario_key"] == scenario
                 and r.get("requests") is not None), None)


def paired_ratios(a, b):
    """CPU µs/req of row a over row b, round by round, for the rounds both measured (rows from
    median_row of the same rounds); None with fewer than two such rounds."""
    rb = {r.get("round"): r for r in b.get("runs") or []}
    pairs = [(x, rb[x.get("round")]) for x in a.get("runs") or [] if x.get("round") in rb]
    if len(pairs) < 2:
        return None
    return [x["cpu_us_per_req"] / y["cpu_us_per_req"] for x, y in pairs]


def targets_met(rows):
    """The issue's targets, each met / missed / not measured, with the numbers."""
    out = []

    def check(label, ok, detail):
        state = "not measured" if ok is None else ("met" if ok else "MISSED")
        out.append(f"| {label} | {state} | {detail} |")

    n_ka, x_ka = find(rows, "native", "keep-alive"), find(rows, "nginx", "keep-alive")
    if n_ka and x_ka:
        r = n_ka["cpu_us_per_req"] / x_ka["cpu_us_per_req"]
        detail = f"{n_ka['cpu_us_per_req']:.2f} vs {x_ka['cpu_us_per_req']:.2f} µs = {r:.2f}×"
        paired = paired_ratios(n_ka, x_ka)
        if paired:
            # The criterion with several rounds: each round runs the two servers back to back,
            # so its ratio is little moved by the machine's slow and fast spells, which shift
            # the two servers' medians apart when they fall on different rounds.
            mid = sorted(paired)[(len(paired) - 1) // 2:len(paired) // 2 + 1]
            r = sum(mid) / len(mid)
            detail += (f" (ratio of the medians); median of the per-round ratios {r:.2f}× "
                       f"(the criterion): " + ", ".join(f"{x:.2f}" for x in paired))
        f_ka = find(rows, "floor", "keep-alive")
        floor = paired_ratios(f_ka, x_ka) if f_ka else None
        if floor:
            # What the kernel charges any io_uring server here, for reading the criterion.
            detail += (f"; the bare io_uring loop (no HTTP work) on the same rounds: "
                       f"{statistics.median(floor):.2f}× nginx")
        check("native hello keep-alive CPU µs/req ≤ 0.8 × nginx", r <= 0.8, detail)
    else:
        check("native hello keep-alive CPU µs/req ≤ 0.8 × nginx", None, "")
    n_pl = find(rows, "native", "pipelined")
    if n_ka and n_pl:
        r = n_pl["rps"] / n_ka["rps"]
        rc = n_ka["cpu_us_per_req"] / n_pl["cpu_us_per_req"]
        check("native pipelined ×16 ≥ 8 × non-pipelined req/s", r >= 8,
              f"{n_pl['rps']:,.0f} vs {n_ka['rps']:,.0f} req/s = {r:.1f}× "
              f"(CPU per request {rc:.1f}× lower)")
    else:
        check("native pipelined ×16 ≥ 8 × non-pipelined req/s", None, "")
    p_ka, r_ka = find(rows, "perl", "keep-alive"), find(rows, "reference", "keep-alive")
    if p_ka and r_ka:
        r = p_ka["rps"] / r_ka["rps"]
        rc = r_ka["cpu_us_per_req"] / p_ka["cpu_us_per_req"]
        check("Perl hello keep-alive ≥ 6 × reference req/s per core", r >= 6,
              f"{p_ka['rps']:,.0f} vs {r_ka['rps']:,.0f} req/s = {r:.1f}× "
              f"(CPU per request {rc:.1f}× lower)")
    else:
        check("Perl hello keep-alive ≥ 6 × reference req/s per core", None,
              "Perl or reference row not available")
    if p_ka and x_ka:
        r = p_ka["cpu_us_per_req"] / x_ka["cpu_us_per_req"]
        check("Perl hello keep-alive CPU µs/req ≤ 3 × nginx", r <= 3,
              f"{p_ka['cpu_us_per_req']:.2f} vs {x_ka['cpu_us_per_req']:.2f} µs = {r:.2f}×")
    else:
        check("Perl hello keep-alive CPU µs/req ≤ 3 × nginx", None, "Perl row not available")
    p_un, r_un = find(rows, "perl", "unix"), find(rows, "reference", "unix")
    if p_un and r_un:
        r = p_un["rps"] / r_un["rps"]
        rc = r_un["cpu_us_per_req"] / p_un["cpu_us_per_req"]
        check("Perl behind nginx ≥ 5 × reference req/s", r >= 5,
              f"{p_un['rps']:,.0f} vs {r_un['rps']:,.0f} req/s = {r:.1f}× "
              f"(server CPU per request {rc:.1f}× lower)")
    else:
        check("Perl behind nginx ≥ 5 × reference req/s", None, "Perl or reference row not available")
    for key in ("native", "perl"):
        idle = next((r for r in rows if r["target_key"] == key and r["scenario_key"] == "idle"
                     and "kib_per_conn" in r), None)
        label = f"{key} idle keep-alive connection ≤ 1 KiB RSS"
        if idle:
            check(label, idle["kib_per_conn"] <= 1.0, f"{idle['kib_per_conn']:.2f} KiB")
        else:
            check(label, None, "")
    for key in ("native", "perl"):
        s = next((r for r in rows if r["target_key"] == key and r["scenario_key"] == "soak"
                  and r.get("rss_growth_pct") is not None), None)
        label = f"{key} 1M requests: RSS growth < 5 %, fds back to baseline"
        if s:
            ok = s["rss_growth_pct"] < 5 and s["fds_after"] <= s["fds_base"] \
                and s["requests"] >= 1_000_000
            check(label, ok, f"{s['requests']:,} requests, RSS {s['rss_growth_pct']:+.1f} %, "
                  f"fds {s['fds_base']} → {s['fds_after']}")
        else:
            check(label, None, "")
    return out


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    return {"host": platform.node(), "cpu": cpu, "nproc": os.cpu_count(),
            "kernel": platform.release()}


def write_report(args, meta, rows, micro, path):
    m = meta["machine"]
    lines = [f"# pagi-server load comparison — {meta['date']} on {m['host']}", "",
             f"Machine: {m['cpu']}, {m['nproc']} CPUs (nproc), kernel {m['kernel']}. "
             f"Server pinned to CPU {args.server_cpus} ({args.server_cores} core), "
             f"wrk -t{args.threads} -c{args.connections} for {args.duration} s "
             + (f"× {args.repeat} rounds (medians shown, every run in the note) " if args.repeat > 1 else "")
             + (f"(the native, nginx and floor keep-alive rows: {args.keep_alive_rounds} rounds) "
                if args.keep_alive_rounds > args.repeat else "")
             + f"(after a {args.warmup} s warm-up) pinned to CPU {args.client_cpus}; in the "
             f"unix-socket rows the proxy nginx runs on the client CPU too.", "",
             f"Load average at start {meta['load_start']}, at end {meta['load_end']}. "
             + ("**This run was on a shared, busy machine** (other builds and tests were running): "
                "requests/s and latency are noisy; server CPU µs per request is the figure to "
                "compare. " if args.shared_machine else "")
             + f"Reference server: {meta['reference']}.", "",
             f"Command: `{meta['command']}`", "",
             "| scenario | server | requests/s | p50 | p99 | p99.9 | CPU µs/req | × nginx CPU "
             "| × reference req/s | RSS MiB | errors | note |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        nginx = find(rows, "nginx", r["scenario_key"])
        ref = find(rows, "reference", r["scenario_key"])
        ratio = ref_ratio = None
        if nginx and r.get("cpu_us_per_req") and r["target_key"] != "nginx":
            ratio = r["cpu_us_per_req"] / nginx["cpu_us_per_req"]
        if ref and r.get("rps") and r["target_key"] != "reference":
            ref_ratio = r["rps"] / ref["rps"]
        rss = r.get("rss_kib")
        lines.append(
            f"| {r['scenario']} | {r['target']} | {fmt(r.get('rps'), 0)} | "
            f"{fmt_us(r.get('p50_us'))} | {fmt_us(r.get('p99_us'))} | {fmt_us(r.get('p999_us'))} | "
            f"{fmt(r.get('cpu_us_per_req'), 2)} | {fmt(ratio, 2)}{'×' if ratio else ''} | "
            f"{fmt(ref_ratio, 1)}{'×' if ref_ratio else ''} | "
            f"{fmt(rss / 1024 if rss else None, 1)} | {fmt(r.get('errors'))} | "
            f"{r.get('note', '')} |")
    lines += ["",
              "CPU µs/req = (utime+stime of the server's processes over the measured run, from "
              "/proc/PID/stat, all threads, nginx master and worker) / requests served. "
              "× nginx CPU: this row's CPU µs/req over nginx's in the same scenario (below 1 is "
              "cheaper than nginx). × reference req/s: this row's requests/s over the reference "
              "server's. Pipelined rows count every response (wrk does); their latency is per "
              "16-request round trip. nginx serves the 1 MiB body as a static file (sendfile) "
              "and drops uploads with `return 200`. Idle rows: (RSS with the connections open − "
              "RSS before) / connections, user-space memory only (kernel socket buffers are not "
              "in RSS; RSS from smaps_rollup), the connections opened 100 at a time, each "
              "answered; \"past the first N\" leaves out one-off costs (pools, the first page of "
              "each provided receive buffer: up to 4 MiB per pagi-server core).", "",
              "## Targets", "", "| target | state | measured |", "|---|---|---|"]
    lines += targets_met(rows)
    profiles = [r for r in rows if r.get("profile")]
    if profiles:
        lines += ["", "## Profiles", ""]
        for r in profiles:
            p = r["profile"]
            lines.append(f"- {r['target']} / {r['scenario']}: [perf report]({p['report']}), "
                         f"[flame graph]({p['flamegraph']})")
    if meta.get("techniques"):
        t = meta["techniques"]
        lines += ["", "## What each io_uring technique is worth", "",
                  f"Native hello with each technique turned off in turn ([{t['file']}]"
                  f"({t['file']}), bench/techniques.py). × all-on CPU above 1: the technique "
                  "saves that much CPU per request.", "",
                  "| row | variant | CPU µs/req | × all-on CPU |", "|---|---|---:|---:|"]
        lines += t["summary"]
    if micro:
        lines += ["", "## Micro-benchmarks", "",
                  f"`{meta['micro_command']}` (pinned to CPU {args.server_cpus}; Debian's "
                  "libbenchmark warns it was built as DEBUG: that is the library's own code, "
                  "not the code measured).", "", "| benchmark | ns/op (CPU) | throughput |",
                  "|---|---:|---:|"]
        for b in micro:
            tp = ""
            if b.get("bytes_per_second"):
                tp = f"{b['bytes_per_second'] / 1e9:.2f} GB/s"
            lines.append(f"| {b['name']} | {b['cpu_time']:.1f} | {tp} |")
    lines.append("")
    text = "\n".join(lines)
    with open(path, "w") as f:
        f.write(text)
    return text


def write_chart(rows, png, title):
    data = [r for r in rows if r.get("rps") and r["scenario_key"] not in EXTRA_KEYS]
    if not data or not shutil.which("gnuplot"):
        return False
    dat = png[:-4] + ".dat"
    scenarios = list(dict.fromkeys(r["scenario"] for r in data))
    targets = list(dict.fromkeys(r["target"] for r in data))
    with open(dat, "w") as f:
        f.write("scenario " + " ".join(f'"{t}"' for t in targets) + " "
                + " ".join(f'"{t}"' for t in targets) + "\n")
        for s in scenarios:
            cpu, rps = [], []
            for t in targets:
                r = next((r for r in data if r["scenario"] == s and r["target"] == t), None)
                cpu.append(f"{r['cpu_us_per_req']:.4f}" if r and r.get("cpu_us_per_req") else "NaN")
                rps.append(f"{r['rps']:.1f}" if r else "NaN")
            f.write(f'"{s}" ' + " ".join(cpu) + " " + " ".join(rps) + "\n")
    n = len(targets)
    script = f"""set terminal pngcairo size 1200,900 font ",10"
set output '{png}'
set multiplot layout 2,1 title "{title}"
set style data histogram
set style histogram cluster gap 1
set style fill solid border -1
set key top left
set grid ytics
set logscale y
set title 'Server CPU time per request (µs, lower is better; the stable figure)'
plot for [i=2:{n + 1}] '{dat}' using i:xtic(1) title columnheader(i)
set title 'Requests per second (higher is better; noisy on a shared machine)'
plot for [i={n + 2}:{2 * n + 1}] '{dat}' using i:xtic(1) title columnheader(i)
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print("gnuplot: " + r.stderr.strip(), file=sys.stderr)
    os.unlink(dat)  # the same numbers are in the .json
    return os.path.exists(png)


def run_micro(args):
    if not args.micro or not os.access(args.micro, os.X_OK):
        return None, ""
    argv = ["taskset", "-c", args.server_cpus, args.micro, "--benchmark_format=json",
            f"--benchmark_min_time={args.micro_min_time}"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    try:
        bench = json.loads(r.stdout)["benchmarks"]
    except (ValueError, KeyError):
        print("micro-benchmarks produced no JSON: " + r.stderr[:200], file=sys.stderr)
        return None, ""
    cmd = " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in argv[3:])
    return bench, cmd


# --- main ---------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=10, help="seconds of each measured run")
    p.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each run")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of every load row; each row reports the medians")
    p.add_argument("--keep-alive-rounds", type=int, default=0,
                   help="rounds of the native, nginx and floor keep-alive rows (default: --repeat); "
                        "the rounds past --repeat run those only, alternating")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--server-cpus", default="0", help="taskset list for the server")
    p.add_argument("--client-cpus", default="1", help="taskset list for wrk and the proxy nginx")
    p.add_argument("--server-cores", type=int, default=1, help="pagi-server --cores")
    p.add_argument("--idle", type=int, default=10000, help="idle connections for the memory row")
    p.add_argument("--soak-requests", type=int, default=1_000_000)
    p.add_argument("--soak-max-seconds", type=int, default=180)
    p.add_argument("--only", default="",
                   help="comma list of rows: " + ",".join([s.key for s in SCENARIOS] + EXTRA_KEYS))
    p.add_argument("--targets", default="native,nginx,floor,perl,reference",
                   help="comma list of servers: native,nginx,floor,perl,reference (floor: the "
                        "bare io_uring loop, keep-alive row only)")
    p.add_argument("--binary", default=os.environ.get(
        "PAGI_SERVER_BIN", os.path.join(ROOT, "build", "pagi-server")),
        help="pagi-server to measure (default $PAGI_SERVER_BIN or build/pagi-server)")
    p.add_argument("--micro", default=os.environ.get("PAGI_MICROBENCH", ""),
                   help="pagi-microbench binary to run first ('' = skip)")
    p.add_argument("--micro-min-time", default="0.5")
    p.add_argument("--profile", default="",
                   help="comma list TARGET:ROW to run under perf record -g, e.g. native:keep-alive")
    p.add_argument("--shared-machine", action="store_true",
                   help="say in the report that the machine was busy with other work")
    p.add_argument("--start-timeout", type=float, default=20.0)
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = p.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.profile = [s for s in args.profile.split(",") if s]
    args.out = os.path.abspath(args.out)

    if "native" in args.targets.split(",") and not os.access(args.binary, os.X_OK):
        sys.exit(f"bench: no pagi-server binary at {args.binary} (--binary or PAGI_SERVER_BIN)")
    if args.micro and not os.access(args.micro, os.X_OK):
        sys.exit(f"bench: no micro-benchmark binary at {args.micro}")
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is not installed (run script/bootstrap)")
    os.makedirs(args.out, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + 2000
    if hard < need:
        sys.exit(f"bench: RLIMIT_NOFILE hard limit {hard} < {need} needed for --idle {args.idle}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it
    workdir = tempfile.mkdtemp(prefix="pagi-bench-")
    os.chmod(workdir, 0o755)

    meta = {"date": str(datetime.date.today()), "machine": machine(), "load_start": loadavg(),
            "command": " ".join(["script/bench"] + sys.argv[1:]),
            "binary": args.binary}
    stamp = f"{meta['date']}-{meta['machine']['host']}"

    micro, meta["micro_command"] = None, ""
    if args.micro and (not args.only or "micro" in args.only.split(",")):
        print("... micro-benchmarks", file=sys.stderr, flush=True)
        micro, meta["micro_command"] = run_micro(args)

    all_targets = {
        "native": PagiTarget(args, workdir, perl=False),
        "nginx": NginxTarget(args, workdir),
        "perl": PagiTarget(args, workdir, perl=True),
        "reference": ReferenceTarget(args, workdir),
        "floor": FloorTarget(args, workdir),
    }
    targets = [all_targets[k] for k in args.targets.split(",") if k in all_targets]
    ref = all_targets["reference"]
    meta["reference"] = (ref.missing[len("not available: "):] if ref.missing else
                         f"PAGI::Server from {ref.root} (perl -I{ref.root}/lib "
                         f"{ref.root}/bin/pagi-server), IO::Async loop {reference_loop()}")
    keys = [k for k in args.only.split(",") if k]
    chosen = [s for s in SCENARIOS if not keys or s.key in keys]
    rows = []
    try:
        # Rounds alternate the servers (A B C D A B C D ...) so a slow spell of a busy machine
        # does not fall on one server only; each row shows the medians over the rounds.
        runs = {}
        for rnd in range(args.repeat):
            for s in chosen:
                for t in targets:
                    if not t.runs_row(s.key):
                        continue
                    print(f"... {s.title}: {t.name}"
                          + (f" (round {rnd + 1}/{args.repeat})" if args.repeat > 1 else ""),
                          file=sys.stderr, flush=True)
                    if rnd and t.start_failed(s):
                        continue
                    run = measure(args, t, s, workdir)
                    run["round"] = rnd
                    runs.setdefault((s.key, t.key), []).append(run)
        # The keep-alive CPU target is a ratio to nginx decided by paired rounds, and this
        # VM's rounds spread by ±15 %: that pair may get more rounds than the other rows.
        ka = next((s for s in chosen if s.key == "keep-alive"), None)
        for rnd in range(args.repeat, args.keep_alive_rounds if ka else 0):
            for t in targets:
                if t.key not in ("native", "nginx", "floor") or t.start_failed(ka):
                    continue
                print(f"... {ka.title}: {t.name} (round {rnd + 1}/{args.keep_alive_rounds})",
                      file=sys.stderr, flush=True)
                run = measure(args, t, ka, workdir)
                run["round"] = rnd
                runs.setdefault((ka.key, t.key), []).append(run)
        for s in chosen:
            for t in targets:
                if t.runs_row(s.key):
                    rows.append(median_row(runs[(s.key, t.key)]))
        if args.idle and (not keys or "idle" in keys):
            for t in targets:
                if not t.runs_row("idle"):
                    continue
                print(f"... idle connections: {t.name}", file=sys.stderr, flush=True)
                rows.append(idle_memory(args, t, workdir))
        if not keys or "soak" in keys:
            for t in targets:
                if t.key in ("native", "perl"):
                    print(f"... soak: {t.name}", file=sys.stderr, flush=True)
                    rows.append(soak(args, t, workdir))
        if not keys or "ws-echo" in keys:
            for t in targets:
                if t.key in ("native", "perl"):
                    print(f"... websocket echo: {t.name}", file=sys.stderr, flush=True)
                    rows.append(ws_echo(args, t, workdir))
        if not keys or "sse" in keys:
            for t in targets:
                if t.key in ("native", "perl"):
                    print(f"... sse stream: {t.name}", file=sys.stderr, flush=True)
                    rows.append(sse_stream(args, t, workdir))
        if "native" in args.targets.split(",") and (not keys or "techniques" in keys):
            print("... ring techniques (bench/techniques.py)", file=sys.stderr, flush=True)
            import techniques  # imports this module: only when the row runs
            name = f"{stamp}-techniques.md"
            seconds = min(args.duration, 5)
            text = techniques.run(args.binary, args.repeat, seconds, args.connections,
                                  os.path.join(args.out, name),
                                  (args.server_cpus, args.client_cpus),
                                  command=f"{meta['command']} (its techniques row: "
                                  f"{args.repeat} rounds of {seconds} s)")
            summary = []
            for line in text.splitlines():
                cells = [c.strip() for c in line.strip("|").split("|")]
                if len(cells) == 8 and cells[0] in [r[0] for r in techniques.ROWS]:
                    summary.append(f"| {cells[0]} | {cells[1]} | {cells[4]} | {cells[6]} |")
            meta["techniques"] = {"file": name, "summary": summary}
    finally:
        for t in targets:
            t.stop()
    meta["load_end"] = loadavg()

    md = os.path.join(args.out, f"{stamp}.md")
    png = os.path.join(args.out, f"{stamp}.png")
    text = write_report(args, meta, rows, micro, md)
    if write_chart(rows, png, f"pagi-server vs nginx vs reference — {meta['date']} on "
                   f"{meta['machine']['host']}"):
        with open(md, "a") as f:
            f.write(f"\n![server CPU per request and requests/s]({os.path.basename(png)})\n")
    with open(os.path.join(args.out, f"{stamp}.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "micro": micro}, f, indent=1)
    print(text)
    print(f"\nreport: {md}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
