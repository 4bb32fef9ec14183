"""The workspace-scale rows: filter keystroke and memory at 50,000 workspaces, loading every page against
``curl`` on the same URLs, and the drift matrix against ``curl`` making the same requests.

Sandboxes run in this process's threads and serve both sides; each side's client runs in its own process
(ours a Python child timing its own work, curl its whole run), so neither shares the server's interpreter.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import PY, TOKEN, Yield, child_env, median
from tui.sandbox.runner import Running, start_in_thread

PAGE = 100  # the client's page size (tui.core.api.client.PAGE_SIZE): curl asks for the same pages
MATRIX_ENVS = ("dev", "staging", "prod")
PER_HOST = 6


def seed_listing(data: Path, count: int) -> None:
    """``count`` workspaces as the sandbox stores them (meta.json each), written straight to disk: creating
    them one by one through the store checks every slug against every other (quadratic at 50,000)."""
    root = data / "workspaces"
    root.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        wid = f"w{number:06d}"
        meta = {
            "id": wid,
            "slug": f"ws-{number:05d}",
            "name": f"Workspace {number}",
            "labels": ["production:app:base1" if number % 2 else "production:app:base2"],
            "description": "",
            "dirty": number % 3 == 0,
            "lastPush": {"version": "v1.2.0", "createdAt": "2026-03-02T09:00:00.000Z"} if number % 5 else None,
            "lastPull": None,
            "writeLock": None,
            "versions": [],
            "git": {},
            "importState": None,
            "createdAt": f"2026-01-01T00:00:00.{number:06d}Z",  # distinct, in order
            "updatedAt": "2026-03-02T09:00:00.000Z",
            "createdBy": "sandbox",
        }
        folder = root / wid
        folder.mkdir()
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def serve(data: Path, name: str = "bench") -> Running:
    return start_in_thread(data, TOKEN, name=name, environ={})


# ------------------------------------------------------------------------------------------------ filter
def table(work: Path, scale: Any, runs: int) -> Yield:
    from tui.core.api.models import Workspace

    items = [Workspace.from_json(item) for item in _listing_json(scale.table_workspaces)]
    per_key = asyncio.run(_filter_keystrokes(items, runs))
    yield "filter", per_key, {"rows": len(items)}


def _listing_json(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"w{n:06d}",
            "slug": f"ws-{n:05d}",
            "name": f"Workspace {n}",
            "labels": ["production:app:base1"],
            "dirty": n % 3 == 0,
            "lastPush": {"version": "v1.2.0", "createdAt": "2026-03-02T09:00:00.000Z"},
        }
        for n in range(count)
    ]


async def _filter_keystrokes(items: list[Any], runs: int) -> float:
    """Key press to the next frame painted with the table filtered, typing into the filter box as a user does."""
    from tui.app.app import PrismeDeployApp
    from tui.core.config import Config
    from tui.core.ops.context import Context

    app = PrismeDeployApp(Context.create(Config(), use_keyring=False))
    timings: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.workspaces = items
        app.main.show_workspaces()
        await pilot.press("slash")  # opens the filter box
        await pilot.pause()
        screen = app.screen
        painted: list[float] = []
        paint = screen._compositor_refresh
        expected = ""

        def painting() -> None:
            paint()
            if app.main.filter_text == expected:  # a frame with the table filtered, not only the box echoing
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
        assert app.main.filter_text == "", "the keys did not reach the filter box"
    return median(timings)


# ------------------------------------------------------------------------------------------------ load_pages
LOAD_CHILD = """
import time
started = time.perf_counter()
import asyncio, sys
from tui.core.api.client import PrismeClient
imported = time.perf_counter()

async def main(url, token):
    start = time.perf_counter()
    first = None
    items = []
    async with PrismeClient(url, token) as api:
        async for page in api.iter_workspace_pages():  # what list_workspaces does, with the first page timed
            first = first or time.perf_counter()
            items.extend(page)
    print(time.perf_counter() - start, len(items), first - start, imported - started)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""
# The floor: plain httpx (one AsyncClient, the same look-ahead) and json.loads of the same pages, no models.
FLOOR_CHILD = """
import asyncio, json, sys, time
from collections import deque
import httpx
from tui.core.api.client import PAGES_AHEAD

async def main(url, token):
    start = time.perf_counter()
    items = []
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        async def get(page):
            return json.loads((await client.get("/v2/workspaces", params={"limit": 100, "page": page})).content)
        pending = deque(asyncio.ensure_future(get(n)) for n in range(PAGES_AHEAD))
        following = PAGES_AHEAD
        while pending:
            page = await pending.popleft()
            items.extend(page)
            if len(page) < 100:
                break
            pending.append(asyncio.ensure_future(get(following)))
            following += 1
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    print(time.perf_counter() - start, len(items))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def load_pages(work: Path, scale: Any, runs: int) -> Yield:
    if shutil.which("curl") is None:
        return
    count = scale.table_workspaces
    data = work / "load"
    seed_listing(data, count)
    running = serve(data)
    try:
        pages = count // PAGE + 1  # the client stops at the first page shorter than PAGE (here: empty)
        config = work / "curl-pages.txt"
        config.write_text(
            f'header = "Authorization: Bearer {TOKEN}"\n'
            + "".join(
                f'url = "{running.url}/v2/workspaces?limit={PAGE}&page={n}"\noutput = "/dev/null"\n'
                for n in range(pages)
            ),
            encoding="utf-8",
        )
        curl = ["curl", "-s", "-f", "--config", str(config)]  # one process, one connection kept alive
        ours = [PY, "-c", LOAD_CHILD, running.url, TOKEN]
        floor = [PY, "-c", FLOOR_CHILD, running.url, TOKEN]
        first_pages: list[float] = []
        imports: list[float] = []
        floors: list[float] = []

        def our_run() -> float:
            out = subprocess.run(ours, check=True, capture_output=True, text=True, env=child_env()).stdout.split()
            assert int(out[1]) == count, out
            first_pages.append(float(out[2]))
            imports.append(float(out[3]))
            return float(out[0])

        def floor_run() -> float:
            out = subprocess.run(floor, check=True, capture_output=True, text=True, env=child_env()).stdout.split()
            assert int(out[1]) == count, out
            return float(out[0])

        def curl_run() -> float:
            start = time.perf_counter()
            subprocess.run(curl, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - start

        our_run(), curl_run()  # warm: byte-code, the sandbox's listing order
        first_pages.clear()
        imports.clear()
        our_times, curl_times = [], []
        for _ in range(runs):
            our_times.append(our_run())
            curl_times.append(curl_run())
            floors.append(floor_run())
    finally:
        running.stop()
    yield (
        "load_pages",
        median([a / b for a, b in zip(our_times, curl_times, strict=True)]),
        {
            "prisme_deploy_s": round(median(our_times), 3),
            "curl_s": round(median(curl_times), 3),
            # Not in the ratio: ours is timed from inside its process, after its imports (curl's run includes
            # its own start, a few ms); and the floor: plain httpx + json.loads of the same pages, no models.
            "first_page_s": round(median(first_pages), 3),
            "client_import_s": round(median(imports), 3),
            "httpx_floor_s": round(median(floors), 3),
            "pages": pages,
            "workspaces": count,
        },
    )


# ------------------------------------------------------------------------------------------------ matrix
MATRIX_CHILD = """
import asyncio, sys, time
from pathlib import Path
from tui.app.app import PrismeDeployApp
from tui.core import config as cfg
from tui.core.ops.context import Context

async def main(path):
    app = PrismeDeployApp(Context.create(cfg.load(Path(path)), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.main.workspaces:
            await pilot.pause(0.05)
        for _ in range(20):  # let start-up work (health, versions) finish before timing
            await pilot.pause(0.05)
        from tui.app.screens.matrix import MatrixScreen
        start = time.perf_counter()
        await pilot.press("m")
        while not isinstance(app.screen, MatrixScreen):
            await asyncio.sleep(0.002)
        await pilot.pause()  # the screen's first frame
        elapsed = time.perf_counter() - start
        slugs = len(app.screen.matrix.slugs)
    print(elapsed, slugs)

asyncio.run(main(sys.argv[1]))
"""


def matrix(work: Path, scale: Any, runs: int) -> Yield:
    if shutil.which("curl") is None:
        return
    from bench.scenarios import seed_many

    count = getattr(scale, "matrix_workspaces", 1_000)
    instances: dict[str, Running] = {}
    try:
        for env in MATRIX_ENVS:
            seed_many(work / f"matrix-{env}", count)
            instances[env] = serve(work / f"matrix-{env}", env)
        config = work / "matrix.toml"
        config.write_text(
            "".join(
                f'[environments.{env}]\nurl = "{running.url}"\ntier = "development"\n'
                for env, running in instances.items()
            ),
            encoding="utf-8",
        )
        tokens = {f"PRISME_DEPLOY_TOKEN_{env.upper()}": TOKEN for env in MATRIX_ENVS}
        env_vars = child_env({**tokens, "PRISME_DEPLOY_DATA": str(work / "matrix-data")})
        curls = [_curl_matrix(work, env, running, count) for env, running in instances.items()]
        ours = [PY, "-c", MATRIX_CHILD, str(config)]

        def our_run() -> float:
            out = subprocess.run(ours, check=True, capture_output=True, text=True, env=env_vars).stdout.split()
            assert int(out[-1]) == count, out
            return float(out[-2])

        def curl_run() -> float:
            start = time.perf_counter()
            # One curl per environment (host), all at once: 6 connections per host, as the matrix uses.
            running_curls = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in curls]
            for process in running_curls:
                if process.wait() != 0:
                    raise RuntimeError("curl failed")
            return time.perf_counter() - start

        our_run(), curl_run()  # warm
        our_times, curl_times = [], []
        for _ in range(max(1, min(runs, 3))):
            our_times.append(our_run())
            curl_times.append(curl_run())
    finally:
        for running in instances.values():
            running.stop()
    yield (
        "matrix",
        median([a / b for a, b in zip(our_times, curl_times, strict=True)]),
        {
            "prisme_deploy_s": round(median(our_times), 3),
            "curl_s": round(median(curl_times), 3),
            "workspaces": count,
            "environments": len(MATRIX_ENVS),
            "requests": len(MATRIX_ENVS) * (count // PAGE + 1 + count),  # pages, then one export each
        },
    )


def _curl_matrix(work: Path, env: str, running: Running, count: int) -> list[str]:
    """The same requests as the matrix screen: every page of the listing, then each workspace's export (the
    screen shows no drift count: the app builds it without the status requests)."""
    import httpx

    ids: list[str] = []
    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for page in range(count // PAGE + 1):
            ids += [w["id"] for w in client.get("/v2/workspaces", params={"limit": PAGE, "page": page}).json()]
    auth = f'silent\nheader = "Authorization: Bearer {TOKEN}"\n'
    blocks = [
        f'{auth}url = "{running.url}/v2/workspaces?limit={PAGE}&page={n}"\noutput = "/dev/null"\n'
        for n in range(count // PAGE + 1)
    ]
    for wid in ids:  # the export is a POST of {} (tui.core.api.client.PrismeClient.export)
        blocks.append(
            f'{auth}url = "{running.url}/v2/workspaces/{wid}/versions/current/export"\noutput = "/dev/null"\n'
            'header = "Content-Type: application/json"\ndata = "{}"\n'
        )
    lines = ["next\n".join(blocks)]
    path = work / f"curl-matrix-{env}.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return ["curl", "-s", "-f", "--parallel", "--parallel-max", str(PER_HOST), "--config", str(path)]


# ------------------------------------------------------------------------------------------------ memory
MEMORY_CHILD = """
import asyncio, resource, sys
from tui.app.app import PrismeDeployApp
from tui.core.api.models import Workspace
from tui.core.config import Config
from tui.core.ops.context import Context

async def main(count, lines):
    app = PrismeDeployApp(Context.create(Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.workspaces = [Workspace.from_json({"id": f"id{n}", "slug": f"ws-{n:05d}", "name": f"Workspace {n}",
                                               "labels": ["production:app:base1"], "dirty": n % 3 == 0,
                                               "lastPush": {"version": "v1.2.0", "createdAt": "2026-03-02"}})
                          for n in range(count)]
        app.main.show_workspaces()
        for start in range(0, lines, 1000):
            app.log_pane.add(*(f"[{n}/{lines}] PUSHED ws-{n:05d} 0.1s" for n in range(start, start + 1000)))
            app.log_pane.flush()
            await pilot.pause(0)
        await pilot.pause(0.2)
    # VmHWM, the peak of this process's own memory: ru_maxrss would also count the parent's peak, which
    # Linux carries into a child across exec (the bench parent holds the matrix scenario's sandboxes).
    with open("/proc/self/status") as status:
        hwm = next((line.split()[1] for line in status if line.startswith("VmHWM:")), None)
    print(int(hwm) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def memory(work: Path, scale: Any, runs: int) -> Yield:
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
