"""Summarizes a JFR recording: where the sidecar's CPU samples fall (top methods by self time, and by
inclusive time for our own code) and its biggest allocation sites.

    jfr_top.py RECORDING.jfr [--top 15]

Uses the JDK's ``jfr`` tool (``jfr print --json``). Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys


def events(jfr_tool: str, recording: str, name: str) -> list:
    out = subprocess.run([jfr_tool, "print", "--json", "--events", name, recording], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out).get("recording", {}).get("events", [])


def frame_name(frame: dict) -> str:
    m = frame.get("method", {})
    t = m.get("type", {}).get("name", "?")
    return f"{t}.{m.get('name', '?')}".replace("/", ".")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recording")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--jfr", default=os.path.join(os.environ.get("JAVA_HOME", ""), "bin", "jfr"))
    a = p.parse_args()
    tool = a.jfr if os.path.exists(a.jfr) else shutil.which("jfr")
    if not tool:
        print("jfr_top: the JDK's jfr tool was not found (set JAVA_HOME)", file=sys.stderr)
        return 1
    samples = events(tool, a.recording, "jdk.ExecutionSample")
    self_time = collections.Counter()
    ours = collections.Counter()
    for e in samples:
        frames = (e.get("values", {}).get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        self_time[frame_name(frames[0])] += 1
        seen = set()
        for fr in frames:
            n = frame_name(fr)
            if n.startswith("dev.rayfederation.") and n not in seen:
                seen.add(n)
                ours[n] += 1
    total = max(1, len(samples))
    print(f"{len(samples)} CPU samples")
    print("top methods by self time:")
    for n, c in self_time.most_common(a.top):
        print(f"  {100.0 * c / total:5.1f}%  {n}")
    print("ray-federation methods by inclusive time:")
    for n, c in ours.most_common(a.top):
        print(f"  {100.0 * c / total:5.1f}%  {n}")
    gcs = events(tool, a.recording, "jdk.GarbageCollection")
    if gcs:
        def millis(v):
            if isinstance(v, (int, float)):
                return v / 1e6
            text = str(v)
            if text.startswith("PT") and text.endswith("S"):
                return float(text[2:-1]) * 1000.0
            units = (("ms", 1.0), ("us", 1e-3), ("ns", 1e-6), ("s", 1000.0))
            for suffix, factor in units:
                if text.endswith(suffix):
                    return float(text[: -len(suffix)].strip()) * factor
            return float(text)
        by_name = collections.defaultdict(list)
        for e in gcs:
            v = e.get("values", {})
            by_name[v.get("name", "?")].append(millis(v.get("longestPause", 0)))
        print("GC pauses:")
        for name, pauses in sorted(by_name.items()):
            pauses.sort()
            print(f"  {name}: {len(pauses)} collections, total {sum(pauses):.0f} ms, "
                  f"median {pauses[len(pauses) // 2]:.1f} ms, longest {pauses[-1]:.1f} ms")
    alloc = collections.Counter()
    for name in ("jdk.ObjectAllocationSample",):
        try:
            for e in events(tool, a.recording, name):
                v = e.get("values", {})
                frames = (v.get("stackTrace") or {}).get("frames") or []
                site = next((frame_name(f) for f in frames if frame_name(f).startswith("dev.rayfederation.")),
                            frame_name(frames[0]) if frames else "?")
                alloc[site] += int(v.get("weight", 0))
        except subprocess.CalledProcessError:
            pass
    if alloc:
        grand = max(1, sum(alloc.values()))
        print("allocation (sampled weight) by first ray-federation frame:")
        for n, w in alloc.most_common(a.top):
            print(f"  {100.0 * w / grand:5.1f}%  {w / 1048576:9.1f} MiB  {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
