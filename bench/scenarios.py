"""The scenarios. Each yields (key, value, detail) and measures against its natural baseline."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import diffs, fleet, realserver, streams, terminal, workspaces  # their scenarios, registered in ALL below
from bench.common import PY, TOKEN, Yield, child_env, median
from tui.sandbox import dsul
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.seed import platform_env
from tui.sandbox.store import Store


@dataclass
class Scale:
    startup_workspaces: int
    table_workspaces: int
    events: int
    push_workspaces: int
    diff_files: int
    log_lines: int
    matrix_workspaces: int = 1_000  # per environment, 3 environments (bench/workspaces.py)

    @classmethod
    def full(cls) -> Scale:
        return cls(5_000, 50_000, 50_000, 30, 2_000, 200_000, 1_000)

    @classmethod
    def quick(cls) -> Scale:
        return cls(200, 500, 2_000, 3, 100, 2_000, 30)


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
from tui.app.main_screen import MainScreen

App = module.PrismeDeployApp
ready, loaded = App.on_ready, MainScreen.on_workspaces_loaded

def on_ready(self):  # Textual's Ready: the first frame of the main screen is on screen
    self.first_frame = time.time()
    ready(self)

def on_workspaces_loaded(self, message):  # the first page of workspaces, drawn on the next refresh
    loaded(self, message)
    app = self.app
    self.call_after_refresh(lambda: (print(app.first_frame, time.time()), app.exit()))

App.on_ready, MainScreen.on_workspaces_loaded = on_ready, on_workspaces_loaded
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

# The floor: our main screen's layout (the same panes and widgets, app.tcss, the tier and breakpoint classes,
# the main keys on the key bar) in a plain Textual app, as bare as BARE_CHILD otherwise: no data, no
# configuration, no argparse, nothing of the session imported. Its ratio to the bare app is what Textual
# itself costs for this layout: the part of the row no change of ours removes. The collector is off until
# the first frame, as the app has it (tui.cli.main): with it on, the app measured faster than its floor.
LAYOUT_FLOOR_CHILD = """
import gc, time
gc.disable()
from datetime import datetime
from textual.app import App
from textual.screen import Screen
from tui.app import actions, layout, themes

class Layout(Screen):
    BINDINGS = actions.main_bindings()  # the key bar draws the main screen's hints
    AUTO_FOCUS = layout.AUTO_FOCUS
    def compose(self):
        yield from layout.compose_main(log_lines=20_000, clock=datetime.now)

class Floor(App):
    CSS_PATH = layout.CSS_PATH
    CSS = themes.tier_css()
    HORIZONTAL_BREAKPOINTS = layout.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = layout.VERTICAL_BREAKPOINTS
    def get_default_screen(self):
        screen = Layout(id="_default")
        screen.add_class(*layout.screen_classes("development", *self.size), update=False)  # as config_for's
        return screen
    def on_ready(self):
        print(time.time(), time.time())
        self.exit()

Floor().run(headless=True)
"""


def stamped(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first frame, seconds to the stamp after it), both from process start."""
    start = time.time()
    out = subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout
    first, second = (float(v) for v in out.split()[-2:])
    return first - start, second - start


def startup(work: Path, scale: Scale, runs: int) -> Yield:
    data = work / "startup"
    seed_many(data, scale.startup_workspaces)
    running = start_in_thread(data, TOKEN, name="bench", environ={})
    try:
        config = config_for(running, work / "startup.toml")
        env = child_env({"PRISME_DEPLOY_TOKEN_BENCH": TOKEN, "PRISME_DEPLOY_DATA": str(work / "data")})
        app = [PY, "-c", APP_CHILD, str(config)]
        bare, floor = [PY, "-c", BARE_CHILD], [PY, "-c", LAYOUT_FLOOR_CHILD]
        stamped(app, env), stamped(bare, env), stamped(floor, env)  # warm: byte-code, the page cache
        app_times, loaded_times, bare_times, floor_times = [], [], [], []
        for _ in range(1 if runs == 1 else runs * 2 + 1):  # interleaved: a noisy moment hits every side
            bare_times.append(stamped(bare, env)[0])
            floor_times.append(stamped(floor, env)[0])
            first, loaded = stamped(app, env)
            app_times.append(first)
            loaded_times.append(loaded)
    finally:
        running.stop()
    # The median of each back-to-back run's ratio: this machine's speed drifts by a third between
    # minutes, and runs within a second see the same machine.
    ratio = median([app / bare for app, bare in zip(app_times, bare_times, strict=True)])
    floor_ratio = median([floor / bare for floor, bare in zip(floor_times, bare_times, strict=True)])
    yield (
        "startup",
        ratio,
        {
            "floor_ratio": round(floor_ratio, 3),  # the same layout in a plain Textual app (LAYOUT_FLOOR_CHILD)
            "first_frame_s": round(median(app_times), 3),
            "bare_textual_s": round(median(bare_times), 3),
            "layout_floor_s": round(median(floor_times), 3),
            "first_workspaces_on_screen_s": round(median(loaded_times), 3),
            "workspaces": scale.startup_workspaces,
        },
    )


# ------------------------------------------------------------------------------------------------ 4 bulk push
PUSH_SIDES = ("curl", "ours", "floor")  # in the order _push_commands returns them
PUSH_BODY = '{"repository": {"id": "release"}, "groups": ["base1"], "force": true}'
# The floor: the same request from the same interpreter with the same HTTP and SSE libraries, and no logic.
# What it costs against curl is Python's start-up and httpx's, which no change to prisme-deploy can remove.
PUSH_FLOOR_CHILD = """
import sys, httpx, httpx_sse
url, token, body = sys.argv[1:4]
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
with httpx.Client(timeout=None) as client:
    with httpx_sse.connect_sse(client, "POST", url, headers=headers, content=body) as source:
        for _event in source.iter_sse():
            pass
"""


def _push_commands(url: str) -> tuple[list[str], list[str], list[str]]:
    """curl, prisme-deploy and the Python floor, each posting the same bulk push."""
    body = PUSH_BODY
    curl = [
        "curl",
        "-N",
        "-s",
        f"{url}/v2/workspaces/platform/versions?sse=true",
        "-H",
        f"Authorization: Bearer {TOKEN}",
        "-H",
        "Content-Type: application/json",
        "--data",
        body,
    ]
    ours = [PY, "-m", "tui", "bulk-push", "--url", url, "--env", "bench", "--repository", "release"]
    floor = [PY, "-c", PUSH_FLOOR_CHILD, f"{url}/v2/workspaces/platform/versions?sse=true", TOKEN, body]
    return curl, [*ours, "--groups", "base1", "--force"], floor


def _push_once(work: Path, name: str, count: int, side: str, env: dict[str, str]) -> float:
    """One push (``side``: "curl", "ours" or "floor") into a platform and repository seeded for it alone, so
    every run starts from the same state: a push adds commits, and a repository that grows between runs made
    whichever side went second pay for it."""
    data = work / f"push-{name}"
    seed_many(data, count, release=work / f"push-{name}-release.git")
    running = start_in_thread(data, TOKEN, name="bench", environ={})
    try:
        commands = dict(zip(PUSH_SIDES, _push_commands(running.url), strict=True))
        return timed(commands[side], env if side == "ours" else None)
    finally:
        running.stop()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(work / f"push-{name}-release.git", ignore_errors=True)


def bulk_push(work: Path, scale: Scale, runs: int) -> Yield:
    if shutil.which("curl") is None:
        return
    env = child_env({"PRISME_DEPLOY_TOKEN": TOKEN, "PRISME_DEPLOY_DATA": str(work / "data")})
    count = scale.push_workspaces
    for side in PUSH_SIDES:  # caches
        _push_once(work, f"warm-{side}", count, side, env)
    times: dict[str, list[float]] = {side: [] for side in PUSH_SIDES}
    for number in range(runs):
        # Each run on a fresh platform and repository; the order rotates within a round, so a machine
        # that slows down during a round does not always hit the same side.
        shift = number % len(PUSH_SIDES)
        for side in PUSH_SIDES[shift:] + PUSH_SIDES[:shift]:
            times[side].append(_push_once(work, f"{number}-{side}", count, side, env))
    our_times, curl_times, floor_times = times["ours"], times["curl"], times["floor"]
    ours_s, curl_s, floor_s = median(our_times), median(curl_times), median(floor_times)
    yield (
        "bulk_push",
        median([a / b for a, b in zip(our_times, curl_times, strict=True)]),
        {
            "prisme_deploy_s": round(ours_s, 3),
            "curl_s": round(curl_s, 3),
            "ratio_of_medians": round(ours_s / curl_s, 3),  # beside the median of pair ratios (the value)
            # Python's own start-up + httpx against curl, measured in the same rounds (median of the rounds'
            # ratios, as the value): what the row cannot go below in Python.
            "python_floor_s": round(floor_s, 3),
            "python_floor_ratio": round(median([a / b for a, b in zip(floor_times, curl_times, strict=True)]), 3),
            "workspaces": count,
            "state": "fresh platform and repository per run",
        },
    )


ALL: dict[str, Callable[[Path, Scale, int], Yield]] = {
    "startup": startup,
    "filter": workspaces.table,
    "load_pages": workspaces.load_pages,
    "ingest": streams.ingest,  # 200,000 events (bench/streams.py)
    "bulk_push": bulk_push,
    "diff": diffs.diff,  # diff and diff_large (bench/diffs.py)
    "matrix": workspaces.matrix,
    "memory": workspaces.memory,
    "rate_limited": streams.rate_limited,
    "fleet_rollout": fleet.fleet_rollout,  # 3 groups x 10 instances, max_parallel=5 (bench/fleet.py)
    "wire": terminal.wire,  # bytes written to a 120x40 pty: a bulk stream, a filter keystroke (bench/terminal.py)
    "realserver": realserver.realserver,  # rollback, promotion on the published 2024 services (bench/realserver.py)
}
