"""The published-server rows: a rollback and a promotion between two workspaces on the published 2024 Prisme.ai
services (scripts/realplatform.py), by ``prisme-deploy`` (in-process: the requests' cost, not the interpreter's
start-up) against curl replaying the very requests the CLI made, waits included.

The CLI's run is captured at the transport (method, URL, headers, body, answer's status) with its own pauses
(asyncio.sleep: the settling waits after a pull or an import); the curl side replays that sequence on its own
user's workspaces (ids, slugs, version names substituted), in one shell script, keep-alive within each stretch
between two pauses, and sleeps where the CLI slept. The CLI overlaps some requests; curl sends them one by one.
Each side and each run has a fresh user: the gateway allows 3 imports and 3 workspace creations a minute per user.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from bench.common import Yield, median
from scripts.loader import realplatform

MIN_PAUSE = 0.005  # shorter awaits are the event loop yielding, not a wait


def absent(script: ModuleType, quick: bool) -> str | None:
    """Why the rows cannot run here, or None. --quick never builds (minutes): CI builds before the bench."""
    missing = script.missing_tools() + ([] if shutil.which("curl") else ["curl"])
    if missing:
        return f"{', '.join(missing)} not installed"
    try:
        built = script.build_dir()
    except script.RealPlatformError as e:
        return str(e)
    if quick and not (built / script.BUILD_MARK).is_file():
        return f"the published server is not built ({built}): python scripts/realplatform.py build"
    return None


# ------------------------------------------------------------------------------------------------ one side
@dataclass
class Side:
    """One user's workspaces: `roll` has two native versions and the later content; `src` differs from `dst`."""

    url: str
    token: str = field(repr=False)
    config: Path
    ids: dict[str, str] = field(default_factory=dict)  # role -> workspace id
    slugs: dict[str, str] = field(default_factory=dict)  # role -> slug
    versions: list[str] = field(default_factory=list)  # roll's versions, newest first

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/v2", headers={"Authorization": f"Bearer {self.token}"}, timeout=60)

    def marker(self, role: str) -> Any:
        with self.api() as api:
            answer = api.get(f"/workspaces/{self.ids[role]}")
            answer.raise_for_status()
            return ((answer.json().get("config") or {}).get("value") or {}).get("marker")

    def names(self) -> dict[str, str]:
        """What differs between two sides' identical requests."""
        pairs = {f"id:{r}": i for r, i in self.ids.items()} | {f"slug:{r}": s for r, s in self.slugs.items()}
        return pairs | {f"version:{n}": v for n, v in enumerate(self.versions)}


def make_side(url: str, work: Path, script: ModuleType) -> Side:
    work.mkdir(parents=True)
    token = script.create_user_token(url)
    config = work / "config.toml"
    config.write_text(f'[environments.real]\nurl = "{url}"\ntier = "development"\n', encoding="utf-8")
    side = Side(url, token, config)
    with side.api() as api:
        for role in ("roll", "src", "dst"):
            slug = f"{role}-{uuid.uuid4().hex[:6]}"
            answer = api.post("/workspaces", json={"name": role, "slug": slug, "description": role})
            answer.raise_for_status()
            side.ids[role], side.slugs[role] = answer.json()["id"], slug
        for role, marker in (("roll", "one"), ("src", "promoted"), ("dst", "one")):
            body = {"config": {"value": {"marker": marker}}}
            api.patch(f"/workspaces/{side.ids[role]}", json=body).raise_for_status()
        roll = f"/workspaces/{side.ids['roll']}"  # version 1 holds "one", version 2 (and the live content) "two"
        api.post(f"{roll}/versions", json={"description": "v1"}).raise_for_status()
        api.patch(roll, json={"config": {"value": {"marker": "two"}}}).raise_for_status()
        api.post(f"{roll}/versions", json={"description": "v2"}).raise_for_status()
        answer = api.get(f"/workspaces/{side.ids['roll']}/versions")
        answer.raise_for_status()
        side.versions = [v["name"] for v in answer.json()]
    return side


def command(side: Side, operation: str) -> list[str]:
    if operation == "rollback":
        return ["rollback", side.slugs["roll"], side.versions[-1], "--env", "real", "--yes"]
    # No status endpoint on the 2024 server: drift is unknown, so accepted, as tests/test_realplatform_cli.py does.
    return [
        "promote",
        "--from",
        f"real:{side.slugs['src']}",
        "--to",
        f"real:{side.slugs['dst']}",
        "--yes",
        "--accept-drift",
    ]


def expected(operation: str) -> tuple[str, str]:
    return ("roll", "one") if operation == "rollback" else ("dst", "promoted")


# ------------------------------------------------------------------------------------------------ capture
@dataclass
class Step:
    at: float
    method: str = ""
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    status: int = 0
    pause: float = 0.0  # a wait, not a request


@contextlib.contextmanager
def captured(steps: list[Step]) -> Iterator[None]:
    """Every request at the transport and every wait, in the order they started: this thread's only (a sandbox
    or anything else in the process keeps its own)."""
    send, sleep, ours = httpx.AsyncHTTPTransport.handle_async_request, asyncio.sleep, threading.get_ident()

    async def handle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        step = Step(time.perf_counter(), request.method, str(request.url), dict(request.headers))
        if threading.get_ident() == ours:
            steps.append(step)
        step.body = await request.aread()
        response = await send(self, request)
        step.status = response.status_code
        return response

    async def pause(delay: float, result: Any = None) -> Any:
        if delay >= MIN_PAUSE and threading.get_ident() == ours:
            steps.append(Step(time.perf_counter(), pause=delay))
        return await sleep(delay, result)

    httpx.AsyncHTTPTransport.handle_async_request = handle  # type: ignore[method-assign]
    asyncio.sleep = pause
    try:
        yield
    finally:
        httpx.AsyncHTTPTransport.handle_async_request = send  # type: ignore[method-assign]
        asyncio.sleep = sleep


def run_cli(side: Side, operation: str, work: Path) -> tuple[float, float, list[Step]]:
    """(wall seconds, this process's CPU seconds, the steps): the server's work is in its own processes."""
    from tui.cli.main import main

    steps: list[Step] = []
    saved = dict(os.environ)
    os.environ.update({"PRISME_DEPLOY_TOKEN_REAL": side.token, "PRISME_DEPLOY_DATA": str(work / "data")})
    try:
        with captured(steps), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            start, cpu = time.perf_counter(), time.process_time()
            code = main(["--config", str(side.config), *command(side, operation)])
            took, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        os.environ.clear()
        os.environ.update(saved)
    role, marker = expected(operation)
    if code != 0 or side.marker(role) != marker:
        raise RuntimeError(f"bench: the CLI's {operation} did not complete (exit {code})")
    return took, cpu, sorted(steps, key=lambda s: s.at)


# ------------------------------------------------------------------------------------------------ replay
def substitution(source: Side, target: Side) -> Callable[[str], str]:
    """`source`'s ids, slugs and version names in a text, made `target`'s."""
    swap = [(source.names()[k], v) for k, v in target.names().items() if source.names()[k] != v]
    swap.sort(key=lambda pair: -len(pair[0]))  # a version name may contain another's prefix

    def sub(text: str) -> str:
        for old, new in swap:
            text = text.replace(old, new)
        return text

    return sub


def replayed_body(body: bytes, sub: Callable[[str], str]) -> bytes:
    """A request's body for the other side: its names substituted, unless binary (an archive: left as sent)."""
    return body if b"\0" in body else sub(body.decode("latin-1")).encode("latin-1")


def run_httpx(steps: list[Step], source: Side, target: Side, operation: str) -> float:
    """The floor under our CLI: the same requests and waits by plain httpx, one at a time, keep-alive, no logic."""
    sub = substitution(source, target)
    bodies = [replayed_body(step.body, sub) for step in steps]  # as curl's replay sends them
    with target.api() as api:
        start = time.perf_counter()
        for step, body in zip(steps, bodies, strict=True):
            if step.pause:
                time.sleep(step.pause)
                continue
            headers = {"Content-Type": step.headers.get("content-type", "application/json")} if body else {}
            api.request(step.method, sub(step.url), content=body or None, headers=headers).read()
        took = time.perf_counter() - start
    role, marker = expected(operation)
    if target.marker(role) != marker:
        raise RuntimeError(f"bench: the httpx replay of the {operation} did not complete")
    return took


def replay_script(steps: list[Step], source: Side, target: Side, work: Path) -> Path:
    """A shell script sending `steps` (captured on `source`) to `target`'s workspaces; the token comes from
    $TOKEN, so no file holds it. One curl per stretch between waits: --next keeps the connection."""
    sub = substitution(source, target)
    lines, stretch = ["#!/bin/sh", "set -e"], list[list[str]]()
    for number, step in enumerate(steps):
        if step.pause:
            lines += [*_curl(stretch), f"sleep {step.pause:.3f}"]
            stretch = []
            continue
        args = ["-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "-X", step.method]
        args += ["-H", "Authorization: Bearer $TOKEN"]
        if step.body:
            body = work / f"body-{number}"
            body.write_bytes(replayed_body(step.body, sub))
            args += ["-H", f"Content-Type: {step.headers.get('content-type', 'application/json')}"]
            args += ["--data-binary", f"@{body}"]
        stretch.append([*args, sub(step.url)])
    lines += _curl(stretch)
    path = work / "replay.sh"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _curl(stretch: list[list[str]]) -> list[str]:
    if not stretch:
        return []
    words = ["curl"]
    for number, args in enumerate(stretch):
        words += (["--next"] if number else []) + args
    # Double quotes only around the bearer header, so $TOKEN expands; everything else is quoted literally.
    return [" ".join(f'"{w}"' if "$TOKEN" in w else shlex.quote(w) for w in words)]


def run_curl(steps: list[Step], source: Side, target: Side, operation: str, work: Path) -> tuple[float, bool]:
    work.mkdir(parents=True, exist_ok=True)
    script = replay_script(steps, source, target, work)
    env = {**os.environ, "TOKEN": target.token}
    start = time.perf_counter()
    out = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, check=True).stdout
    took = time.perf_counter() - start
    role, marker = expected(operation)
    same = out.split() == [str(s.status) for s in steps if not s.pause] and target.marker(role) == marker
    return took, same


# ------------------------------------------------------------------------------------------------ the rows
def realserver(work: Path, scale: Any, runs: int) -> Yield:
    script = realplatform()
    reason = absent(script, quick=scale.events < 10_000)
    if reason:
        print(f"bench: realserver skipped: {reason}", flush=True)
        return
    state = work / "realplatform"
    state.mkdir()
    server = script.start(state, log=lambda _message: None)
    try:
        yield from _rows(server.url, work / "real", script, runs)
    finally:
        script.stop(state, log=lambda _message: None)


def _rows(url: str, work: Path, script: ModuleType, runs: int) -> Yield:
    names = ["ours", "curl"] + (["httpx"] if runs > 1 else [])  # the httpx floor in full runs only (--quick < 60 s)
    times = {op: {name: list[float]() for name in [*names, "cpu"]} for op in ("rollback", "promote")}
    template: dict[str, tuple[Side, list[Step]]] = {}
    faithful, pauses = True, {"rollback": 0.0, "promote": 0.0}
    for number in range(runs + (1 if runs > 1 else 0)):  # with several runs, a first one warms the server
        sides = {name: make_side(url, work / f"{number}-{name}", script) for name in names}
        order = names if number % 2 == 0 else names[::-1]  # a drift hits every side alike
        for operation in ("rollback", "promote"):
            for name in order:
                side, place = sides[name], work / f"{number}-{name}" / operation
                if name == "ours":
                    took, cpu, steps = run_cli(side, operation, place)
                    template[operation] = (side, steps)
                    pauses[operation] = sum(s.pause for s in steps)
                    times[operation]["cpu"].append(cpu)
                elif name == "curl":  # the template is the last CLI run's: run 0 has the CLI first
                    source, steps = template[operation]
                    took, same = run_curl(steps, source, side, operation, place)
                    faithful = faithful and same
                else:
                    took = run_httpx(*template[operation][::-1], side, operation)
                if runs == 1 or number > 0:
                    times[operation][name].append(took)
    for operation, key in (("rollback", "real_rollback"), ("promote", "real_promote")):
        ours, curl, floor = times[operation]["ours"], times[operation]["curl"], times[operation].get("httpx", [])
        pairs = list(zip(ours, curl, strict=True))
        yield (
            key,
            median([a / b for a, b in pairs]),
            {
                "prisme_deploy_s": round(median(ours), 3),
                "curl_s": round(median(curl), 3),
                "ratio_of_medians": round(median(ours) / median(curl), 3),
                "waits_s": round(pauses[operation], 3),
                "prisme_deploy_cpu_s": round(median(times[operation]["cpu"]), 3),
                **(
                    {"httpx_floor_ratio": round(median([f / c for f, c in zip(floor, curl, strict=True)]), 3)}
                    if floor
                    else {}
                ),
                "requests": len([s for s in template[operation][1] if not s.pause]),
                "curl_answers_matched": faithful,
                "pairs": len(pairs),
                "load": os.getloadavg()[0],
            },
        )
