"""The diff rows: 2,000 small files (10% changed) and one 5 MB YAML file (1% of lines changed), each
against ``git diff --no-index`` on the same files, back to back so a pair sees the same machine.

Beside each ratio, the floors: libyaml's event scan of the changed files alone (what the reference reader
cannot do without), ``parse_simple``'s read of one side of them (what the fast path cannot do without), and
the same diff with ``raw=True`` (no normalisation: the line matcher and the patch writer alone), and
``split_verbatim``'s proof that both sides' big sequences are already canonical (what the diff pays instead
of reading them, where they are)."""

from __future__ import annotations

import random
import resource
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Yield, median
from tui.sandbox import dsul

Files = dict[str, bytes]


def many_files(count: int) -> tuple[Files, Files]:
    rng = random.Random(7)
    old: Files = {}
    new: Files = {}
    for number in range(count):
        doc: dict[str, Any] = {
            "slug": f"a{number}",
            "name": f"Automation {number}",
            "do": [{"set": {"name": f"v{k}", "value": rng.randint(0, 9)}} for k in range(20)],
        }
        old[f"automations/a{number}.yml"] = dsul.dump_yaml(doc)
        if number % 10 == 0:
            doc["do"][3]["set"]["value"] = 42
        new[f"automations/a{number}.yml"] = dsul.dump_yaml(doc)
    return old, new


def one_large_file(size: int) -> tuple[Files, Files]:
    """An automation of ``size`` bytes (tens of thousands of steps), 1% of its lines changed."""
    rng = random.Random(11)
    steps = [
        {"set": {"name": f"var{k}", "value": f"text {rng.randint(0, 10**6)} for step {k}"}} for k in range(size // 60)
    ]
    old = dsul.dump_yaml({"slug": "big", "name": "Big automation", "do": steps})
    lines = old.split(b"\n")
    for number in rng.sample(range(len(lines)), len(lines) // 100):
        if b"value:" in lines[number]:
            lines[number] += b" changed"
        else:
            lines[number] = lines[number].replace(b"var", b"renamed", 1)
    return {"automations/big.yml": old}, {"automations/big.yml": b"\n".join(lines)}


def write_sides(folder: Path, old: Files, new: Files) -> None:
    for side, files in (("old", old), ("new", new)):
        for path, body in files.items():
            target = folder / side / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)


Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def _ours(old: Files, new: Files, *, raw: bool = False) -> Callable[[], Timing]:
    def run() -> Timing:
        from tui.core import yaml_canonical
        from tui.core.diff import diff_files

        yaml_canonical._scalar.cache_clear()  # each run as a fresh process would: no warm scalar cache
        start, cpu = time.perf_counter(), time.process_time()
        diff_files(old, new, raw=raw).patch()
        return time.perf_counter() - start, time.process_time() - cpu

    return run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _git(folder: Path) -> Callable[[], Timing]:
    def run() -> Timing:
        start, cpu = time.perf_counter(), _children_cpu()
        command = ["git", "diff", "--no-index", "--no-color", "old", "new"]
        subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start, _children_cpu() - cpu

    return run


def _scan(old: Files, new: Files) -> float:
    """libyaml's events for the files that differ, and nothing else: the floor of normalising them."""
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    texts = [side[p].decode() for p in old if new.get(p) != old[p] for side in (old, new)]
    start = time.perf_counter()
    for text in texts:
        for _event in yaml.parse(text, Loader=loader):
            pass
    return time.perf_counter() - start


def _read_one_side(old: Files, new: Files) -> float:
    """``parse_simple`` of one side of the files that differ, and nothing else (CPU seconds): the floor of a
    diff that normalises them (the other side shares most of it: ``tui.core.diff``'s memo)."""
    from tui.core import yaml_canonical

    texts = [old[p].decode() for p in old if new.get(p) != old[p]]
    yaml_canonical._scalar.cache_clear()
    start = time.process_time()
    for text in texts:
        yaml_canonical.parse_simple(text)
    return time.process_time() - start


def _prove(old: Files, new: Files) -> float:
    """``split_verbatim`` of both sides of the files that differ (CPU seconds): the cost of leaving their
    canonical sequences unread."""
    from tui.core import yaml_canonical

    pairs = [(old[p].decode(), new[p].decode()) for p in old if new.get(p) != old[p]]
    start = time.process_time()
    for pair in pairs:
        proven: set[str] = set()  # as the diff does: the second side proves what the first one lacks
        for text in pair:
            yaml_canonical.split_verbatim(text, proven)
    return time.process_time() - start


def _compare(key: str, folder: Path, old: Files, new: Files, runs: int, extra: dict[str, Any]) -> Yield:
    """The value is the median of back-to-back wall-time ratios; beside it the CPU-time ratio (ours in this
    process, git's as its child's rusage), which a machine loaded by other work disturbs far less."""
    write_sides(folder, old, new)
    ours, raw, git = _ours(old, new), _ours(old, new, raw=True), _git(folder)
    ours(), git()  # warm: modules loaded, files in the page cache
    our_times, git_times, raw_times, scan_times, read_times, prove_times = [], [], [], [], [], []
    for _ in range(max(runs, 5)):  # back to back, so a pair sees the same machine
        our_times.append(ours())
        git_times.append(git())
        raw_times.append(raw())
        scan_times.append(_scan(old, new))
        read_times.append(_read_one_side(old, new))
        prove_times.append(_prove(old, new))

    def ratio(a: list[Timing] | list[float], b: list[Timing], cpu: bool = False) -> float:
        pick = 1 if cpu else 0
        tops = [x if isinstance(x, float) else x[pick] for x in a]
        return round(median([x / max(y[pick], 1e-6) for x, y in zip(tops, b, strict=True)]), 3)

    yield (
        key,
        ratio(our_times, git_times),
        {
            "ours_s": round(median([t[0] for t in our_times]), 3),
            "git_s": round(median([t[0] for t in git_times]), 3),
            "cpu_ratio": ratio(our_times, git_times, cpu=True),
            "raw_ratio": ratio(raw_times, git_times),
            "yaml_scan_ratio": ratio(scan_times, git_times),
            "read_one_side_cpu_ratio": ratio(read_times, git_times, cpu=True),
            "prove_canonical_cpu_ratio": ratio(prove_times, git_times, cpu=True),
            **extra,
        },
    )


def diff(work: Path, scale: Any, runs: int) -> Yield:
    old, new = many_files(scale.diff_files)
    yield from _compare("diff", work / "diff", old, new, runs, {"files": scale.diff_files})
    size = 5_000_000 if scale.diff_files >= 1_000 else 200_000  # --quick: a 200 KB file
    old, new = one_large_file(size)
    yield from _compare("diff_large", work / "diff-large", old, new, runs, {"bytes": len(old["automations/big.yml"])})
