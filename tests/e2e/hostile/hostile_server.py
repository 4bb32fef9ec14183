"""A hostile Prisme.ai on loopback: every string it writes tries to reach the terminal or the markup
parser, and on demand it trickles, never ends a body, serves zip and YAML bombs, archives with
``../`` entries, or a bulk push whose stream drops and whose platform events are stale.

Behaviour is switched per test through ``HostileServer.mode`` (the server runs in a thread of the
test process). Every request is recorded in ``requests`` (method, raw path).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from waits import wait_until_sync

from tui.sandbox.runner import bind_loopback

# OSC 52 (clipboard write), OSC 0 (window title), clear screen, a C1 CSI, DEL, and markup that would
# become a click action, a link, or a MarkupError.
HOSTILE = (
    "evil\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned-title\x07\x1b[2J\u009b31m\x7f"
    " [@click=app.quit]click me[/] [link=https://attacker.example]link[/link] [/x] [b"
)
RAW_CONTROLS = ("\x1b", "\x07", "\u009b", "\x7f")
TOKEN = "at:hostile-token-0123456789"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def zip_of(files: dict[str, bytes], *, level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


YAML_BOMB = b"""a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


def zip_bomb(megabytes: int = 300) -> bytes:
    """One entry of zeros: a few hundred KB that inflate to ``megabytes``."""
    buffer = io.BytesIO()
    block = b"\0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("current/automations/zeros.yml", "w", force_zip64=True) as entry,
    ):
        for _ in range(megabytes):
            entry.write(block)
    return buffer.getvalue()


def workspace(wid: str = "ws1", slug: str = "evil-ws") -> dict[str, Any]:
    return {
        "id": wid,
        "slug": slug,
        "name": HOSTILE,
        "description": HOSTILE,
        "labels": [HOSTILE],
        "dirty": True,
        "writeLock": {"lockedAt": now_iso(), "lockedBy": HOSTILE, "reason": HOSTILE},
        "platformRepositories": {
            "release": {"name": HOSTILE, "type": "git", "mode": "read-write", "config": {"branch": HOSTILE}}
        },
        "lastPush": {"version": "v1", "createdAt": now_iso(), "createdBy": HOSTILE},
    }


def bad_types_workspace() -> dict[str, Any]:
    """Wrongly typed answers: numbers and strings where lists and maps go."""
    bad = workspace()
    bad["labels"] = 5
    bad["platformRepositories"] = {"release": {"name": "r", "type": "git", "config": "str", "groups": 5}}
    return bad


@dataclass
class HostileServer:
    mode: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    export_archive: bytes = b""
    export_by_version: dict[str, bytes] = field(default_factory=dict)
    # Answers served before any route's own, first first: (status, raw body text, headers); and headers
    # added to every other answer (X-RateLimit-* on accepted requests).
    canned: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    url: str = ""
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    # ------------------------------------------------------------------ routes
    def app(self) -> Starlette:
        async def record(request: Request) -> None:
            self.requests.append((request.method, request.scope.get("raw_path", b"").decode("latin-1")))

        def route(path: str, handler: Any, methods: list[str] | None = None) -> Route:
            async def endpoint(request: Request) -> Response:
                await record(request)
                if self.canned:
                    status, text, headers = self.canned.pop(0)
                    return Response(text, status_code=status, headers=headers, media_type="application/json")
                if self.extra_headers:
                    answer = await handler(request)
                    answer.headers.update(self.extra_headers)
                    return answer  # type: ignore[no-any-return]
                if "trickle" in self.mode:
                    return StreamingResponse(self._trickle(), media_type="application/json")
                if "endless" in self.mode:
                    return StreamingResponse(self._endless(), media_type="application/json")
                if "error" in self.mode:
                    return JSONResponse({"error": HOSTILE, "message": HOSTILE}, status_code=400)
                return await handler(request)  # type: ignore[no-any-return]

            return Route(path, endpoint, methods=methods or ["GET"])

        return Starlette(
            routes=[
                route("/sys/healthcheck", self.healthcheck),
                route("/v2/me", self.me),
                route("/v2/readiness", self.readiness),
                route("/v2/workspaces", self.workspaces),
                route("/v2/workspaces/platform/versions", self.bulk_push, ["POST"]),
                route("/v2/workspaces/{wid}", self.workspace),
                route("/v2/workspaces/{wid}/versions", self.versions),
                route("/v2/workspaces/{wid}/versions/{vid}/export", self.export, ["POST"]),
                route("/v2/workspaces/{wid}/versions/{vid}/pull", self.pull, ["POST"]),
                route("/v2/workspaces/{wid}/events", self.events),
                route("/v2/workspaces/{wid}/{rest:path}", self.anything, ["GET", "POST", "DELETE"]),
            ]
        )

    async def healthcheck(self, request: Request) -> Response:
        return JSONResponse({"healthy": True})

    async def me(self, request: Request) -> Response:
        return JSONResponse({"id": "u1", "email": HOSTILE, "firstName": HOSTILE, "platformRole": "superadmin"})

    async def readiness(self, request: Request) -> Response:
        return JSONResponse({"status": "ready", "services": {HOSTILE: {"status": HOSTILE}}})

    async def workspaces(self, request: Request) -> Response:
        items = [workspace()]
        if "dotdot-id" in self.mode:
            items = [workspace(wid="..")]
        if "endless-pages" in self.mode:  # every page full of new workspaces: the listing never ends
            page, size = int(request.query_params.get("page", 0)), int(request.query_params.get("limit", 100))
            items = [workspace(wid=f"p{page}-{n}", slug=f"ws-{page}-{n}") for n in range(size)]
        if "bad-types" in self.mode:
            items = [bad_types_workspace()]
        if "hostile-slug" in self.mode:  # ends bracketed paste, then a command
            items = [workspace(slug="evil\x1b[201~touch /tmp/pwned\r\x1b]52;c;eA==\x07")]
        return JSONResponse(items)

    async def workspace(self, request: Request) -> Response:
        if "bad-types" in self.mode:
            return JSONResponse(bad_types_workspace())
        return JSONResponse(workspace(request.path_params["wid"]))

    async def versions(self, request: Request) -> Response:
        return JSONResponse(
            [
                {"name": "v1", "createdAt": now_iso(), "description": HOSTILE, "repository": {"id": "release"}},
                {"name": "v0", "createdAt": now_iso(), "description": HOSTILE},
            ]
        )

    async def export(self, request: Request) -> Response:
        archive = self.export_by_version.get(request.path_params["vid"], self.export_archive)
        return Response(archive, media_type="application/zip")

    async def pull(self, request: Request) -> Response:
        return JSONResponse({"imported": [HOSTILE], "deleted": [], "errors": []})

    async def anything(self, request: Request) -> Response:
        return JSONResponse({"result": {"events": []}})

    async def events(self, request: Request) -> Response:
        stale = {
            "id": "stale-1",
            "type": "workspaces.bulkPush.completed",
            "createdAt": "2020-01-01T00:00:00.000Z",
            "payload": {"repositoryId": "release", "groups": ["base1"], "pushedWorkspaceIds": ["old"], "errors": []},
        }
        fresh = {
            "id": "fresh-1",
            "type": "workspaces.bulkPush.completed",
            "createdAt": now_iso(),
            "payload": {"repositoryId": "release", "groups": ["base1"], "pushedWorkspaceIds": ["ws1"], "errors": []},
        }
        other_run = {  # fresh, but another run's: other groups
            "id": "other-1",
            "type": "workspaces.bulkPush.completed",
            "createdAt": now_iso(),
            "payload": {"repositoryId": "release", "groups": ["base9"], "pushedWorkspaceIds": ["x"], "errors": []},
        }
        hostile = {"id": "h1", "type": HOSTILE, "createdAt": now_iso(), "payload": {"step": HOSTILE}}
        if "bad-types" in self.mode:
            return JSONResponse({"result": "str"})
        found = [stale, other_run, hostile]  # afterDate ignored: a stale summary from 2020 comes back
        if "fresh-completion" in self.mode:
            found.append(fresh)
        return JSONResponse({"result": {"events": found}})

    async def bulk_push(self, request: Request) -> Response:
        async def stream() -> AsyncIterator[bytes]:
            progress = {"repositoryId": "release", "workspaceSlug": HOSTILE, "status": "pushed", "current": 1}
            yield f"data: {json.dumps({**progress, 'total': 2, 'percentage': 50})}\n\n".encode()
            if "keep-alive" in self.mode:  # silent for a while, but alive: a comment line now and then
                for _ in range(8):
                    await asyncio.sleep(0.25)  # the behaviour served: a stream quiet between keep-alives
                    yield b": keep-alive\n\n"
                summary = {"repositoryId": "release", "groups": ["base1"], "pushedWorkspaceIds": ["ws1"]}
                yield f"data: {json.dumps({**summary, 'errors': []})}\n\n".encode()
            if "silent" in self.mode:  # neither data nor keep-alive: a dead stream that never closes
                await asyncio.sleep(3600)  # the behaviour served: a stream that never says anything again
            # ... and the stream ends without its summary

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def _trickle(self) -> AsyncIterator[bytes]:
        for char in b'[{"id": "ws1", "slug": "trickle"}]' * 1000:
            yield bytes([char])
            await asyncio.sleep(0.2)  # the behaviour served: a body that drips a byte at a time

    async def _endless(self) -> AsyncIterator[bytes]:
        chunk = b"[" + b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' * 30_000
        while True:
            yield chunk
            await asyncio.sleep(0)  # a yield point only: the body is endless, the loop must still serve

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> HostileServer:
        sock = bind_loopback(0)
        config = uvicorn.Config(
            self.app(), log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="hostile", daemon=True
        )
        self._thread.start()
        wait_until_sync(lambda: server.started, timeout=15, every=0.01, what="the hostile server to start")
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread:
            self._thread.join(timeout=10)


# ---------------------------------------------------------------------------- fixtures (imported by the tests)


@pytest.fixture(name="hostile")
def hostile_fixture() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


@pytest.fixture(name="hostile_config")
def hostile_config_fixture(hostile: HostileServer, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment ``h`` on the hostile server (token in the environment, as in CI)."""
    path = isolated_home / "config" / "prisme-deploy" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[environments.h]\nurl = "{hostile.url}"\ntimeout = 5\n', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_H", TOKEN)
    return path
