"""The benchmark suite: ``python -m bench [--quick] [--runs N] [--out DIR]``.

Every scenario runs against sandboxes it seeds itself; each figure is a median over several runs,
and each comparison is a ratio measured in the same run. Writes ``results.md`` and ``results.json``
with the machine's description. ``--quick`` (CI) uses small sizes and one run, and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import scenarios

TARGETS = {
    "startup": ("first frame, 5k workspaces: ratio to a bare Textual app", 1.25, "<="),
    "filter": ("ms per filter keystroke, key to frame (50k rows)", 33.0, "<="),
    "load_pages": ("load all pages of 50k workspaces: ratio to curl with keep-alive", 1.5, "<="),
    "ingest_rate": ("events per second into the log view (200k events)", 50_000.0, ">="),
    "ingest_stall": ("longest event-loop stall while streaming 200k events (ms)", 50.0, "<="),
    "bulk_push": ("wall-time ratio to curl -N", 1.05, "<="),
    "diff": ("diff of 2,000 files (10% changed): ratio to git diff --no-index", 1.5, "<="),
    "diff_large": ("diff of one 5 MB YAML file (1% of lines changed): ratio to git diff --no-index", 2.0, "<="),
    "matrix": ("drift matrix 1k workspaces x 3 envs to screen: ratio to curl, 6 connections/host", 2.0, "<="),
    "memory": ("peak RSS, MB (50k workspaces + 200k log lines)", 250.0, "<="),
    "rate_limited": ("3 bulk imports + 4 rollbacks behind rate limits: ratio to the minimum they allow", 1.1, "<="),
    "rate_limited_429": ("requests refused with 429 in that run", 0.0, "<="),
    "fleet_rollout": (
        "fleet rollout: 3 groups x 10 sandbox instances, max_parallel=5: ratio to the minimum the per-user "
        "limits allow",
        1.1,
        "<=",
    ),
    "fleet_rollout_429": ("requests refused with 429 in the fleet rollout", 0.0, "<="),
    "wire_stream": ("terminal KB/s at 120x40 while a 200k-event bulk stream runs", 48.0, "<="),
    "wire_keystroke": ("terminal KB for one filter keystroke at 120x40 (50k rows)", 8.0, "<="),
    "real_rollback": ("rollback on the published 2024 services: ratio to curl replaying its requests", 1.2, "<="),
    "real_promote": ("promotion on the published 2024 services: ratio to curl replaying its requests", 1.2, "<="),
}


@dataclass
class Result:
    key: str
    value: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        _label, target, op = TARGETS[self.key]
        return self.value <= target if op == "<=" else self.value >= target


def median(run: Callable[[], float], runs: int) -> float:
    return statistics.median(run() for _ in range(runs))


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (CI: proves it still works)")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5, quick 1)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--only", help="comma-separated scenario keys")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 5)
    scale = scenarios.Scale.quick() if args.quick else scenarios.Scale.full()
    work = Path(tempfile.mkdtemp(prefix="prisme-deploy-bench-"))
    wanted = set(args.only.split(",")) if args.only else None
    results: list[Result] = []
    try:
        for name, scenario in scenarios.ALL.items():
            if wanted and name not in wanted:
                continue
            print(f"bench: {name}…", flush=True)
            started = time.monotonic()
            for key, value, detail in scenario(work, scale, runs):
                results.append(Result(key, value, detail))
            print(f"bench: {name} done in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine(),
        "quick": args.quick,
        "runs": runs,
        "scale": scale.__dict__,
        "results": [
            {
                "key": r.key,
                "what": TARGETS[r.key][0],
                "value": round(r.value, 3),
                "target": f"{TARGETS[r.key][2]} {TARGETS[r.key][1]:g}",
                "met": r.met,
                **r.detail,
            }
            for r in results
        ],
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    lines = [
        f"Machine: {report['machine']['processor']}, {report['machine']['cpus']} CPUs, Python "
        f"{report['machine']['python']} ({report['machine']['platform']}). Median of {runs} run(s)"
        + (", quick mode." if args.quick else "."),
        "",
        "| scenario | measured | target | met | detail |",
        "|---|---|---|---|---|",
    ]
    for item in report["results"]:
        extra = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("key", "what", "value", "target", "met"))
        lines.append(
            f"| {item['what']} | {item['value']:g} | {item['target']} | {'yes' if item['met'] else 'NO'} | {extra} |"
        )
    (args.out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
