"""The scenarios. Each yields (key, value, detail) and measures against its natural baseline."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import diffs, streams  # their scenarios, registered in ALL below
from tui.sandbox import dsul
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.seed import platform_env
from tui.sandbox.store import Store

Yield = Iterator[tuple[str, float, dict[str, Any]]]
TOKEN = "at:bench-token-0123456789"
PY = sys.executable


@dataclass
class Scale:
    startup_workspaces: int
    table_workspaces: int
    events: int
    push_workspaces: int
    diff_files: int
    log_lines: int

    @classmethod
    def full(cls) -> Scale:
        return cls(5_000, 10_000, 50_000, 30, 2_000, 100_000)

    @classmethod
    def quick(cls) -> Scale:
        return cls(200, 500, 2_000, 3, 100, 2_000)


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def seed_many(data: Path, count: int, *, label: str = "production:app:base1", release: Path | None = None) -> None:
    """Many small workspaces written straight into a sandbox data folder (the HTTP path is what we measure)."""
    data.mkdir(parents=True, exist_ok=True)
    if release is not None:
        from tui.sandbox.gitrepo import init_bare

        init_bare(release)
        dsul_env = platform_env(str(release), mode="read-write")
        (data / "platform.env").write_text("\n".join(f"{k}={v}" for k, v in dsul_env.items()) + "\n")
    store = Store(data)
    for number in range(count):
        slug = f"ws-{number:05d}"
        files = {
            "index.yml": dsul.dump_yaml({"name": f"Workspace {number}", "slug": slug, "labels": [label]}),
            "automations/main.yml": dsul.dump_yaml({"slug": "main", "do": [{"set": {"n": number}}]}),
        }
        store.create_workspace(name=f"Workspace {number}", slug=slug, labels=[label], files=files)
    store.close()


def config_for(running: Running, path: Path) -> Path:
    path.write_text(f'[environments.bench]\nurl = "{running.url}"\ntier = "development"\n', encoding="utf-8")
    return path


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env or child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------------ 1 startup
# Both children print wall-clock stamps; the parent takes its own just before spawning, so each figure
# runs from process start (interpreter start-up included) to a frame on screen.
APP_CHILD = """
import gc, sys, time
gc.disable()  # what `prisme-deploy` does first (tui.cli.main), before the imports below
from tui.cli.main import main
from tui.app import app as module  # the modules main() would import a line later: same cost

App = module.PrismeDeployApp
ready, loaded = App.on_ready, App.on_workspaces_loaded

def on_ready(self):  # Textual's Ready: the first frame of the main screen is on screen
    self.first_frame = time.time()
    ready(self)

def on_workspaces_loaded(self, message):  # the first page of workspaces, drawn on the next refresh
    loaded(self, message)
    self.call_after_refresh(lambda: (print(self.first_frame, time.time()), self.exit()))

App.on_ready, App.on_workspaces_loaded = on_ready, on_workspaces_loaded
run = App.run
App.run = lambda self, **options: run(self, **{**options, "headless": True})  # as the bare app below
main(["--config", sys.argv[1]])
"""
BARE_CHILD = """
import time
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_ready(self):
        print(time.time(), time.time())
        self.exit()

Bare().run(headless=True)
"""


def stamped(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first frame, seconds to the stamp after it), both from process start."""
    start = time.time()
    out = subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout
    first, second = (float(v) for v in out.split()[-2:])
    return first - start, second - start


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users run: compiled modules, not compiling
    return env


def startup(work: Path, scale: Scale, runs: int) -> Yield:
    data = work / "startup"
    seed_many(data, scale.startup_workspaces)
    running = start_in_thread(data, TOKEN, name="bench", environ={})
    try:
        config = config_for(running, work / "startup.toml")
        env = child_env({"PRISME_DEPLOY_TOKEN_BENCH": TOKEN, "PRISME_DEPLOY_DATA": str(work / "data")})
        app = [PY, "-c", APP_CHILD, str(config)]
        bare = [PY, "-c", BARE_CHILD]
        stamped(app, env), stamped(bare, env)  # warm: byte-code written, files in the page cache
        app_times, loaded_times, bare_times = [], [], []
        for _ in range(1 if runs == 1 else runs * 2 + 1):  # interleaved: a noisy moment hits both sides
            bare_times.append(stamped(bare, env)[0])
            first, loaded = stamped(app, env)
            app_times.append(first)
            loaded_times.append(loaded)
    finally:
        running.stop()
    app_s, bare_s = median(app_times), median(bare_times)
    # The median of each back-to-back pair's ratio: this machine's speed drifts by a third between
    # minutes, and a pair run within a second sees the same machine.
    ratio = median([app / bare for app, bare in zip(app_times, bare_times, strict=True)])
    yield (
        "startup",
        ratio,
        {
            "first_frame_s": round(app_s, 3),
            "bare_textual_s": round(bare_s, 3),
            "first_workspaces_on_screen_s": round(median(loaded_times), 3),
            "workspaces": scale.startup_workspaces,
        },
    )


# ------------------------------------------------------------------------------------------------ 2 table
def table(work: Path, scale: Scale, runs: int) -> Yield:
    from tui.core.api.client import PrismeClient

    data = work / "table"
    seed_many(data, scale.table_workspaces)
    running = start_in_thread(data, TOKEN, name="bench", environ={})

    async def load() -> tuple[float, list[Any]]:
        async with PrismeClient(running.url, TOKEN) as api:
            start = time.perf_counter()
            items = await api.list_workspaces()
            return time.perf_counter() - start, items

    try:
        loads = [asyncio.run(load()) for _ in range(runs)]
    finally:
        running.stop()
    items = loads[0][1]
    per_key = asyncio.run(_filter_keystrokes(items, runs))
    yield "filter", per_key, {"load_all_pages_s": round(median([t for t, _ in loads]), 3), "rows": len(items)}


async def _filter_keystrokes(items: list[Any], runs: int) -> float:
    """Key press to the next frame painted, typing into the filter box as a user does."""
    from tui.app.app import PrismeDeployApp
    from tui.core.config import Config
    from tui.core.ops.context import Context

    app = PrismeDeployApp(Context.create(Config(), use_keyring=False))
    timings: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.workspaces = items
        app._render_workspaces()
        await pilot.press("slash")  # opens the filter box
        await pilot.pause()
        screen = app.screen
        painted: list[float] = []
        paint = screen._compositor_refresh

        expected = ""

        def painting() -> None:
            paint()
            if app.filter_text == expected:  # a frame with the table filtered, not only the box echoing
                painted.append(time.perf_counter())

        screen._compositor_refresh = painting  # type: ignore[method-assign]
        typed = "ws-001"
        keys = [("minus" if c == "-" else c, typed[: n + 1]) for n, c in enumerate(typed)]
        keys += [("backspace", typed[:n]) for n in range(len(typed) - 1, -1, -1)]
        for _ in range(runs):
            for key, expected in keys:  # noqa: B007 (painting() reads it)
                painted.clear()
                start = time.perf_counter()
                await pilot.press(key)
                while not painted and time.perf_counter() - start < 2:
                    await asyncio.sleep(0.001)
                timings.append((painted[0] - start) * 1000)
        assert app.filter_text == "", "the keys did not reach the filter box"
    return median(timings)


# ------------------------------------------------------------------------------------------------ 4 bulk push
def bulk_push(work: Path, scale: Scale, runs: int) -> Yield:
    if shutil.which("curl") is None:
        return
    data = work / "push"
    seed_many(data, scale.push_workspaces, release=work / "push-release.git")
    running = start_in_thread(data, TOKEN, name="bench", environ={})
    body = '{"repository": {"id": "release"}, "groups": ["base1"], "force": true}'
    curl = [
        "curl",
        "-N",
        "-s",
        f"{running.url}/v2/workspaces/platform/versions?sse=true",
        "-H",
        f"Authorization: Bearer {TOKEN}",
        "-H",
        "Content-Type: application/json",
        "--data",
        body,
    ]
    ours = [
        PY,
        "-m",
        "tui",
        "bulk-push",
        "--url",
        running.url,
        "--env",
        "bench",
        "--repository",
        "release",
        "--groups",
        "base1",
        "--force",
    ]
    try:
        env = child_env({"PRISME_DEPLOY_TOKEN": TOKEN, "PRISME_DEPLOY_DATA": str(work / "data")})
        timed(curl), timed(ours, env)  # warm: the git clone, byte-code, the page cache
        curl_times, our_times = [], []
        for number in range(runs):
            # Every push adds commits to the repository, so each run is a little slower than the last:
            # alternate which side goes first, or the second would always pay for a bigger repository.
            pair = [(curl_times, curl, None), (our_times, ours, env)]
            for times, command, extra in pair if number % 2 == 0 else reversed(pair):
                times.append(timed(command, extra))
    finally:
        running.stop()
    yield (
        "bulk_push",
        median([a / b for a, b in zip(our_times, curl_times, strict=True)]),
        {
            "prisme_deploy_s": round(median(our_times), 3),
            "curl_s": round(median(curl_times), 3),
            "workspaces": scale.push_workspaces,
        },
    )


# ------------------------------------------------------------------------------------------------ 6 memory
MEMORY_CHILD = """
import asyncio, resource, sys
from tui.app.app import PrismeDeployApp
from tui.core.api.models import Workspace
from tui.core.config import Config
from tui.core.ops.context import Context

async def main(count, lines):
    app = PrismeDeployApp(Context.create(Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        app.workspaces = [Workspace.from_json({"id": f"id{n}", "slug": f"ws-{n:05d}", "name": f"Workspace {n}",
                                               "labels": ["production:app:base1"], "dirty": n % 3 == 0,
                                               "lastPush": {"version": "v1.2.0", "createdAt": "2026-03-02"}})
                          for n in range(count)]
        app._render_workspaces()
        for start in range(0, lines, 1000):
            app.log_pane.add(*(f"[{n}/{lines}] PUSHED ws-{n:05d} 0.1s" for n in range(start, start + 1000)))
            app.log_pane.flush()
            await pilot.pause(0)
        await pilot.pause(0.2)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def memory(work: Path, scale: Scale, runs: int) -> Yield:
    values = []
    for _ in range(max(1, min(runs, 3))):
        out = subprocess.run(
            [PY, "-c", MEMORY_CHILD, str(scale.table_workspaces), str(scale.log_lines)],
            capture_output=True,
            text=True,
            check=True,
        )
        values.append(float(out.stdout.strip().splitlines()[-1]))
    yield "memory", median(values), {"workspaces": scale.table_workspaces, "log_lines": scale.log_lines}


ALL: dict[str, Callable[[Path, Scale, int], Yield]] = {
    "startup": startup,
    "table": table,
    "ingest": streams.ingest,  # 200,000 events (bench/streams.py)
    "bulk_push": bulk_push,
    "diff": diffs.diff,  # diff and diff_large (bench/diffs.py)
    "rate_limited": streams.rate_limited,
    "memory": memory,
}
