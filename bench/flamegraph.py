#!/usr/bin/env python3
"""A small flame graph maker for `perf script` output (Debian has no FlameGraph package):
folds each sample's call stack and draws one SVG, root at the bottom, width = share of samples.
Usage: perf script -i perf.data | bench/flamegraph.py "title" > flame.svg"""

import html
import re
import sys
import zlib


def fold(perf_script_text):
    """{"root;caller;...;leaf": samples} from `perf script` text."""
    stacks = {}
    frames, in_sample = [], False
    for line in perf_script_text.splitlines():
        if not line.strip():
            if in_sample and frames:
                key = ";".join(reversed(frames))
                stacks[key] = stacks.get(key, 0) + 1
            frames, in_sample = [], False
            continue
        if not line[0].isspace():
            in_sample, frames = True, []  # "comm pid [cpu] time: period event:" header
            continue
        m = re.match(r"\s+[0-9a-f]+\s+(.+?)\s+\((.*)\)$", line)
        if m:
            sym = m.group(1)
            if sym == "[unknown]":
                sym = f"[{m.group(2).rsplit('/', 1)[-1]}]"
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            frames.append(sym)
    if in_sample and frames:
        key = ";".join(reversed(frames))
        stacks[key] = stacks.get(key, 0) + 1
    return stacks


def svg(stacks, title, width=1200, row=16):
    tree = {"n": 0, "kids": {}}
    for stack, count in stacks.items():
        node = tree
        node["n"] += count
        for frame in stack.split(";"):
            node = node["kids"].setdefault(frame, {"n": 0, "kids": {}})
            node["n"] += count
    total = tree["n"] or 1

    def depth(node):
        return 1 + max((depth(k) for k in node["kids"].values()), default=0)

    levels = depth(tree)
    height = (levels + 2) * row + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#fdfdf5"/>',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">'
           f'{html.escape(title)} ({total} samples)</text>']

    def draw(name, node, x, level):
        w = node["n"] / total * (width - 20)
        if w < 0.3:
            return
        y = height - (level + 1) * row - 10
        hue = zlib.crc32(name.encode()) % 60
        pct = node["n"] * 100.0 / total
        label = html.escape(name)
        out.append(f'<g><title>{label} ({node["n"]} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" '
                   f'fill="hsl({hue + 10},85%,{55 + hue % 20}%)"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = name if len(name) <= chars else name[:chars - 2] + ".."
            out.append(f'<text x="{x + 3:.2f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
        cx = x
        for kname, kid in sorted(node["kids"].items()):
            draw(kname, kid, cx, level + 1)
            cx += kid["n"] / total * (width - 20)

    draw("all", tree, 10, 0)
    out.append("</svg>")
    return "\n".join(out)


if __name__ == "__main__":
    print(svg(fold(sys.stdin.read()), sys.argv[1] if len(sys.argv) > 1 else "perf"))
