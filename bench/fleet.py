"""The fleet row: one rollout of a release (3 groups) to a stage of sandbox instances, ``max_parallel``
at once, behind each instance's real per-user rate limits, against the same rollout with the limits off."""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import Yield, median
from bench.streams import GROUPS

TOKEN = "at:bench-fleet-token-0123456789"
GROUP_LABELS = {  # as bench/streams.py configures them
    "base1": ["production:app:base1"],
    "base2": ["production:app:base2"],
    "extended": ["production:app", "production:product"],
}


def fleet_rollout(work: Path, scale: Any, runs: int) -> Yield:
    """3 groups x 10 instances, max_parallel=5 (``--quick``: 3 instances, 2 at once, a 5 s window). The
    minimum the limits allow is the window arithmetic on the calls each instance's gateway counted (the
    instances limit independently), or the unlimited run's time when that is longer."""
    from tui.sandbox.realism import Realism

    quick = scale.events < 10_000
    count, parallel, window = (3, 2, 5.0) if quick else (10, 5, 60.0)
    limits = {"events": 20, "imports": 3, "create": 3}
    walls, frees, refused = [], [], 0
    counted: Counter[tuple[str, str]] = Counter()
    for run in range(runs):  # limited first: the unlimited run then finds the process warm (a lower minimum)
        limited = Realism(rate_limits=limits, rate_window=window)
        wall, counted, refusals = _rollout(work / f"fleet-{run}", count, parallel, limited)
        walls.append(wall)
        refused += refusals
        frees.append(_rollout(work / f"fleet-free-{run}", count, parallel, Realism(rate_limits={}))[0])
    wall_s, free_s = median(walls), median(frees)
    floors = [(math.ceil(n / limits[kind]) - 1) * window for (_env, kind), n in counted.items() if n]
    floor_s = max(floors, default=0.0)
    minimum_s = max(floor_s, free_s)
    detail = {
        "instances": count,
        "max_parallel": parallel,
        "wall_s": round(wall_s, 1),
        "minimum_s": round(minimum_s, 1),
        "limits_floor_s": round(floor_s, 1),
        "unlimited_s": round(free_s, 1),
        "import_calls": sum(n for (_env, kind), n in counted.items() if kind == "imports"),
        "event_searches": sum(n for (_env, kind), n in counted.items() if kind == "events"),
        "window_s": window,
    }
    yield "fleet_rollout", wall_s / minimum_s, detail
    yield "fleet_rollout_429", float(refused), {"window_s": window, "instances": count}


def _rollout(root: Path, count: int, parallel: int, realism: Any) -> tuple[float, Counter[tuple[str, str]], int]:
    """(wall seconds of the rollout, accepted calls per instance and class, 429s) on a fresh fleet."""
    from tui.cli.main import main
    from tui.core.api import budget
    from tui.sandbox.realism import Realism
    from tui.sandbox.runner import Running, start_in_thread
    from tui.sandbox.seed import seed_demo_platform

    dirs = seed_demo_platform(root)
    names = [f"f{number:02d}" for number in range(1, count + 1)]
    counted: Counter[tuple[str, str]] = Counter()
    refused = 0
    fleet: dict[str, Running] = {}

    def counting(name: str, check: Any) -> Any:
        def counted_check(user: str, policy: str) -> Any:
            nonlocal refused
            verdict = check(user, policy)
            if verdict is not None:
                counted[(name, policy)] += verdict.accepted
                refused += not verdict.accepted
            return verdict

        return counted_check

    environ = {
        "PRISME_DEPLOY_CONFIG": str(root / "config.toml"),
        "PRISME_DEPLOY_DATA": str(root / "home-data"),
        "PRISME_DEPLOY_CACHE": str(root / "home-cache"),
        "CI": "true",
    }
    saved: dict[str, str | None] = {}
    try:
        for name in names:
            shutil.copytree(dirs["prod"], root / name, symlinks=True)  # behind the release: it imports
            own = Realism(**realism.to_json())  # each instance limits on its own, as real ones do
            fleet[name] = start_in_thread(root / name, TOKEN, name=name, environ={}, realism=own)
            fleet[name].sandbox.limiter.check = counting(name, fleet[name].sandbox.limiter.check)  # type: ignore[method-assign]
            environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = TOKEN
        (root / "config.toml").write_text(_fleet_config(fleet, root, parallel), encoding="utf-8")
        saved = {key: os.environ.get(key) for key in environ}
        os.environ.update(environ)
        budget._BUDGETS.clear()  # a fresh process's budget
        if not realism.rate_limits:  # the work by itself: no gateway limits, and the client knows it
            for running in fleet.values():
                budget._BUDGETS[(running.url, budget.user_key(TOKEN))] = budget.RequestBudget(limits={})
        _cli(main, ["release", "snapshot", "--from-repository", "--name", "fleet-1"])
        start = time.perf_counter()
        _cli(main, ["rollout", "fleet-1", "--groups", ",".join(GROUPS), "--yes"])
        wall = time.perf_counter() - start
    finally:
        for running in fleet.values():
            running.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return wall, counted, refused


def _cli(main: Any, command: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(command)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {out.getvalue()[-1500:]}{err.getvalue()[-1500:]}")


def _fleet_config(fleet: dict[str, Any], root: Path, parallel: int) -> str:
    lines = []
    for name, running in fleet.items():
        lines += [f"[environments.{name}]", f'url = "{running.url}"', 'tier = "staging"', 'repositories = ["release"]']
    for group, labels in GROUP_LABELS.items():
        lines += [f"[groups.{group}]", "labels = [" + ", ".join(f'"{x}"' for x in labels) + "]"]
    lines += ["[repositories.release]", f'path = "{root / "release.git"}"', 'dirpath = "workspaces"']
    envs = ", ".join(f'"{name}"' for name in fleet)
    lines += ["[[rollout]]", 'stage = "fleet"', f"environments = [{envs}]", f"max_parallel = {parallel}", ""]
    return "\n".join(lines)
