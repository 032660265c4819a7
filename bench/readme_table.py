#!/usr/bin/env python3
"""Prints the README's performance table from a script/bench result.

Usage: bench/readme_table.py bench/results/DATE-HOST.json

One line per scenario, one column per server: server CPU µs per request and requests/s (the
idle row: KiB per connection; the soak row: RSS growth and fds), the same figures as the
report's table, so the README is never typed in by hand.
"""
import json
import sys

TARGETS = ["native", "nginx", "perl", "reference"]
TITLES = {
    "keep-alive": "keep-alive",
    "pipelined": "pipelined x16",
    "close": "connection per request",
    "unix": "behind nginx (unix socket)",
    "large-response": "1 MiB response",
    "large-file": "1 MiB file response",
    "upload": "1 MiB upload",
    "ws-echo": "WebSocket echo (per message)",
    "sse": "SSE (per event)",
    "idle": "10,000 idle keep-alive connections",
    "soak": "1,000,000 requests (soak)",
}


def rate(rps):
    if rps >= 1e6:
        return f"{rps / 1e6:.1f}M/s"
    if rps >= 1e4:
        return f"{rps / 1e3:.0f}k/s"
    return f"{rps:,.0f}/s"


def cell(row, scenario):
    if row is None:
        return "—"
    if scenario == "idle":
        if "kib_per_conn" not in row:
            note = row.get("note", "")
            return "failed" if "failed" in note else "n/a"
        return f"{row['kib_per_conn']:.2f} KiB/conn"
    if scenario == "soak":
        note = row.get("note", "")
        if "RSS" not in note:
            return "n/a"
        # "RSS 9,296 → 9,296 KiB (+0.0 %), fds 8 → 8"
        pct = note[note.index("(") + 1:note.index(")")]
        fds = note[note.index("fds") + 4:].replace(" → ", "→")
        return f"RSS {pct}, fds {fds}"
    if not row.get("rps") or row.get("cpu_us_per_req") is None:
        return "n/a"
    return f"**{row['cpu_us_per_req']:,.2f}** µs · {rate(row['rps'])}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = json.load(open(sys.argv[1]))
    rows = {(r["scenario_key"], r["target_key"]): r for r in data["rows"]}
    scenarios = []
    for r in data["rows"]:
        if r["scenario_key"] not in scenarios:
            scenarios.append(r["scenario_key"])
    print("| scenario | pagi-server native | nginx | pagi-server Perl | reference PAGI::Server |")
    print("|---|---:|---:|---:|---:|")
    for s in scenarios:
        cells = [cell(rows.get((s, t)), s) for t in TARGETS]
        print(f"| {TITLES.get(s, s)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
