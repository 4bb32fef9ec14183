"""The stream rows: log ingest into the app, headless bulk push against ``curl -N``, and a bulk import
plus rollbacks behind the gateway's real rate limits (3 imports and 20 event searches per minute)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import Yield, median


# ------------------------------------------------------------------------------------------------ log ingest
def ingest(work: Path, scale: Any, runs: int) -> Yield:
    """200,000 progress events through the app's own relay; beside the stall, the same watch on the
    same app with nothing streaming (what the machine itself costs: other processes, the scheduler)."""
    events = 200_000 if scale.events >= 10_000 else scale.events
    rates, stalls, idle = [], [], []
    for _ in range(runs):
        rate, stall, elapsed = asyncio.run(_ingest_once(events))
        rates.append(rate)
        stalls.append(stall)
        idle.append(asyncio.run(_ingest_once(0, watch_for=elapsed))[1])
    yield "ingest_rate", median(rates), {"events": events}
    yield (
        "ingest_stall",
        median(stalls),
        {"events": events, "idle_stall_ms": round(median(idle), 1)},
    )


async def _ingest_once(count: int, watch_for: float = 0.0) -> tuple[float, float, float]:
    """(events per second, longest stall in ms, seconds); ``count`` 0: only watch for ``watch_for`` s."""
    from tui.app.app import PrismeDeployApp
    from tui.core.api.bulk import BulkEvent
    from tui.core.config import Config
    from tui.core.ops.context import Context

    async def stream() -> Any:
        """What bulk.bulk_push yields to the app's worker, arriving in network-sized bursts."""
        yield BulkEvent("started", {"repositoryId": "r", "groups": ["g"], "workspaces": []})
        for number in range(1, count + 1):
            payload = {
                "repositoryId": "r",
                "workspaceSlug": f"ws-{number}",
                "status": "pushed",
                "current": number,
                "total": count,
                "percentage": 100 * number / count,
                "duration": 12,
            }
            yield BulkEvent("progress", payload)
            if number % 500 == 0:
                await asyncio.sleep(0)  # a stream arrives in chunks, not all at once

    app = PrismeDeployApp(Context.create(Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        worst = 0.0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal worst
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                worst = max(worst, (time.perf_counter() - before - 0.005) * 1000)

        watcher = asyncio.create_task(watch())
        start = time.perf_counter()
        if count:
            app.run_worker(app.runner.relay("bench", stream()), group="bulk:bench")  # as the app's bulk push does
        while count and (app.runner.tallies.get("bench") is None or app.runner.tallies["bench"].current < count):
            await asyncio.sleep(0.01)
        while not count and time.perf_counter() - start < watch_for:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        done.set()
        await watcher
    return count / elapsed, worst, elapsed


# ------------------------------------------------------------------------------------------------ rate limits
GROUPS = ("base1", "base2", "extended")
ROLLBACKS = (("securechat", "v1.0.0"), ("doc-search", "v1.1.0"), ("ai-store", "v1.0.0"), ("hr-assistant", "v1.1.0"))


def rate_limited(work: Path, scale: Any, runs: int) -> Yield:
    """3 group bulk imports, then 4 rollbacks, through the CLI's own entry point, as an on-call engineer
    types them (one process: the budget is the process's). The same sequence runs once with the limits
    off (what the work takes by itself); the minimum the limits allow is the window arithmetic on the
    calls the gateway counted. ``--quick`` uses a 5 s window (the sandbox's ``rate_window``)."""
    from tui.sandbox.realism import Realism

    window = 60.0 if scale.events >= 10_000 else 5.0
    limits = {"events": 20, "imports": 3, "create": 3}
    free_s, _free_counts, _ = _sequence(work / "rl-free", Realism(rate_limits={}))
    wall_s, counted, refused = _sequence(work / "rl", Realism(rate_limits=limits, rate_window=window))
    floors = {kind: (math.ceil(n / limits[kind]) - 1) * window for kind, n in counted.items() if n}
    floor_s = max(floors.values(), default=0.0)
    minimum_s = max(floor_s, free_s)
    yield (
        "rate_limited",
        wall_s / minimum_s,
        {
            "wall_s": round(wall_s, 1),
            "minimum_s": round(minimum_s, 1),
            "limits_floor_s": round(floor_s, 1),
            "unlimited_s": round(free_s, 1),
            "import_calls": counted.get("imports", 0),
            "event_searches": counted.get("events", 0),
            "refused_429": refused,
            "window_s": window,
        },
    )
    yield "rate_limited_429", float(refused), {"window_s": window}


def _sequence(root: Path, realism: Any) -> tuple[float, Counter[str], int]:
    """(wall seconds, accepted calls per limited class, 429s sent) for the 7 operations on a fresh platform."""
    from tui.cli.main import main
    from tui.core.api import budget
    from tui.sandbox.runner import start_in_thread
    from tui.sandbox.seed import seed_demo_platform

    dirs = seed_demo_platform(root)
    token = "at:bench-staging-token-0123456789"
    running = start_in_thread(dirs["staging"], token, name="staging", environ={}, realism=realism)
    counted: Counter[str] = Counter()
    refused = 0
    check = running.sandbox.limiter.check

    def counting(user: str, policy: str) -> Any:
        nonlocal refused
        verdict = check(user, policy)
        if verdict is not None:
            counted[policy] += verdict.accepted
            refused += not verdict.accepted
        return verdict

    running.sandbox.limiter.check = counting  # type: ignore[method-assign]
    config = root / "config.toml"
    config.write_text(_config(running.url, root / "release.git"), encoding="utf-8")
    environ = {
        "PRISME_DEPLOY_CONFIG": str(config),
        "PRISME_DEPLOY_DATA": str(root / "home-data"),
        "PRISME_DEPLOY_CACHE": str(root / "home-cache"),
        "PRISME_DEPLOY_TOKEN_STAGING": token,
        "CI": "true",
    }
    saved = {key: os.environ.get(key) for key in environ}
    os.environ.update(environ)
    budget._BUDGETS.clear()  # a fresh process's budget
    if not realism.rate_limits:  # the work by itself: no gateway limits, and the client knows it
        budget._BUDGETS[(running.url, budget.user_key(token))] = budget.RequestBudget("staging", limits={})
    commands = [["bulk-import", "--env", "staging", "--repository", "release", "--groups", g, "--yes"] for g in GROUPS]
    commands += [["rollback", slug, version, "--repository", "release", "--env", "staging", "--yes"]
                 for slug, version in ROLLBACKS]  # fmt: skip
    try:
        start = time.perf_counter()
        for command in commands:
            out, err = io.StringIO(), io.StringIO()
            began = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(command)
            if os.environ.get("BENCH_VERBOSE"):
                print(f"  {time.perf_counter() - began:6.1f}s {' '.join(command[:2])}: {err.getvalue()[-300:]!r}")
            if code not in (0, 1):
                raise RuntimeError(f"{' '.join(command)} exited {code}: {err.getvalue()[-2000:]}")
        wall = time.perf_counter() - start
    finally:
        running.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return wall, counted, refused


def _config(url: str, release: Path) -> str:
    return "\n".join(
        [
            "[environments.staging]",
            f'url = "{url}"',
            'tier = "staging"',
            'repositories = ["release"]',
            "[groups.base1]",
            'labels = ["production:app:base1"]',
            "[groups.base2]",
            'labels = ["production:app:base2"]',
            "[groups.extended]",
            'labels = ["production:app", "production:product"]',
            "[repositories.release]",
            f'path = "{release}"',
            'dirpath = "workspaces"',
            "",
        ]
    )
