#!/usr/bin/python3
"""Self cost (Ir) per function of a callgrind dump, divided by the requests served.

For the whole-server recipe in bench/README.md: a dump taken with `callgrind_control -d` of a
pagi-server under wrk. callgrind_annotate (valgrind 3.19) prints all of such a dump's cost
under the threads' entry point (clone) and nothing per function, so this reads the file
itself: every cost line counts for the function it appears under, call lines (the cost of a
callee, counted again where the callee is) are skipped.

usage:
  bench/callgrind_self.py DUMP [--requests N] [--top K]
  bench/callgrind_self.py /tmp/cg.out.1 --requests 139212 --top 40
    --requests N  divide by N (the requests wrk served in the collected window); default 1
    --top K       how many functions to print, costliest first (default 40)
"""
import argparse
import collections
import re

# Names are compressed: "(12) name" defines id 12, a later "(12)" refers to it.
NAME = re.compile(r"\((\d+)\)(?: (.*))?")


def self_costs(path):
    names = {}

    def name(text):
        m = NAME.match(text)
        if not m:
            return text
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?" + m.group(1))

    costs = collections.Counter()
    fn = None
    after_calls = False  # the next cost line is a call's inclusive cost
    with open(path) as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and key == "fn":
                fn = name(value)
                continue
            if sep and key in ("cfn", "cfi", "cfl", "fl", "fi", "fe", "ob", "cob"):
                name(value)  # keep the id table complete
                continue
            if sep and key == "calls":
                after_calls = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                fields = line.split()
                if after_calls:
                    after_calls = False
                elif len(fields) >= 2 and fn is not None:
                    costs[fn] += int(fields[1])
    return costs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump")
    ap.add_argument("--requests", type=int, default=1)
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    costs = self_costs(args.dump)
    total = sum(costs.values())
    print(f"total {total:,} Ir, {total / args.requests:,.1f} per request")
    for fn, ir in costs.most_common(args.top):
        print(f"{ir / args.requests:9.1f}  {fn[:160]}")


if __name__ == "__main__":
    main()
