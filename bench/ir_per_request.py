#!/usr/bin/python3
"""Instructions (callgrind Ir) per iteration of a pagi-microbench benchmark.

On a shared VM without hardware counters, wall-clock micro-benchmarks move by ±10 % from run to
run, more than most single changes to the request path are worth. Callgrind counts executed
instructions instead: the same binary gives the same count to within a few instructions per
request, so a 20-instruction saving is visible. Ir is not time (no cache misses, branch
mispredictions or instruction costs), but for the short straight-line code of the per-request
path it tracks the CPU work well; check big changes with the load harness too.

Method: run one benchmark under `valgrind --tool=callgrind`, collecting only inside the
benchmark's function (so start-up and Google Benchmark's own code are not counted), and divide
the collected Ir by the number of calls of a function the benchmark body calls exactly once per
iteration (Google Benchmark 1.7 cannot fix the iteration count, and the total is spread over its
estimation runs; callgrind's call counts are exact). The one-off setup in the benchmark function
(connection, pools) is included but spread over 10^4-10^5 iterations: a few Ir at most.

usage:
  bench/ir_per_request.py BUILD/pagi-microbench BENCHMARK [--per FUNCTION] [--top N]
  bench/ir_per_request.py build/pagi-microbench BM_HelloRequest/api --top 25
    BENCHMARK   the full name, e.g. BM_HelloRequest/api (matched exactly)
    --per       qualified name of the once-per-iteration function (default: known for the
                BM_HelloRequest, BM_ParseRequest and BM_PerlHelloRequest families)
    --top N     also print the N costliest functions (self Ir per iteration), from
                callgrind_annotate
    --keep DIR  keep the callgrind output (DIR/callgrind.out) for callgrind_annotate or kcachegrind
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Function the benchmark loop calls once per iteration, by benchmark family.
PER_ITERATION = {
    "BM_HelloRequest": "pagi::http::H1Connection::on_input",
    "BM_PerlHelloRequest": "pagi::http::H1Connection::on_input",
    "BM_ParseRequest": "pagi::http::RequestParser::feed",
    "BM_WriteHead": "pagi::http::write_head",
    "BM_WriteChunks": "pagi::http::write_chunk",
}


def run_callgrind(binary, bench, out_file, min_time):
    family = bench.split("/")[0]
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
           f"--toggle-collect=(anonymous namespace)::{family}*",
           binary, f"--benchmark_filter=^{re.escape(bench)}$",
           f"--benchmark_min_time={min_time}"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"callgrind failed ({r.returncode}):\n{r.stderr[-2000:]}")
    if "Benchmark" not in r.stdout:
        sys.exit(f"no benchmark named {bench} ran:\n{r.stdout[-1000:]}")


def read_counts(path, per_fn):
    """Total collected Ir, and the calls of functions named per_fn (any overload)."""
    names = {}
    calls = 0
    total = 0
    callee = None
    # "pagi::x::f(args)" matches per_fn "pagi::x::f" but not "pagi::x::f_other(...)".
    want = re.compile(re.escape(per_fn) + r"(\(|$)")
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                callee = names.get(m.group(1), "") if line.startswith("cfn=") else None
            elif line.startswith("calls=") and callee is not None:
                if want.match(callee):
                    calls += int(line.split("=")[1].split()[0])
                callee = None
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    return total, calls


def top_functions(path, n, per_call):
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", f"--threshold=100", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    rows = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(.*?)\s*$", line)
        if not m or ":" not in m.group(2):
            continue
        ir = int(m.group(1).replace(",", ""))
        where = m.group(2)
        if where.startswith("PROGRAM TOTALS") or "Ir" == where:
            continue
        fn = where.split(":", 1)[1] if not where.startswith("???:") else where[4:]
        fn = re.sub(r"\s*\[[^\]]*\]$", "", fn)  # drop the " [binary]" suffix
        rows.append((ir, fn))
    rows.sort(reverse=True)
    for ir, fn in rows[:n]:
        print(f"{ir / per_call:9.1f}  {fn[:150]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("bench")
    ap.add_argument("--per", help="once-per-iteration function")
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--keep", help="directory to keep callgrind.out in")
    ap.add_argument("--min-time", default="1",
                    help="--benchmark_min_time under callgrind (seconds of the slowed-down run; "
                         "1 gives ~36 000 hello requests in ~5 s)")
    a = ap.parse_args()
    per_fn = a.per or PER_ITERATION.get(a.bench.split("/")[0])
    if per_fn is None:
        sys.exit(f"no known once-per-iteration function for {a.bench}: give --per")
    d = a.keep or tempfile.mkdtemp(prefix="ir_per_request.")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "callgrind.out")
    try:
        run_callgrind(a.binary, a.bench, out, a.min_time)
        total, calls = read_counts(out, per_fn)
        if calls == 0:
            sys.exit(f"{per_fn} was never called: inlined, or the wrong name (see --per)")
        print(f"{a.bench}: {total / calls:.0f} Ir per iteration "
              f"({total} Ir / {calls} calls of {per_fn})")
        if a.top:
            top_functions(out, a.top, calls)
    finally:
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
