"""The sandbox's HTTP face: the deployment endpoints of the official spec, on Starlette.

Bearer-token auth (a 401 body like the gateway's; one token per user), ``x-correlation-id`` on every
answer, the gateway's per-user rate limits and 408 proxy timeout (see realism.py), the long-operation
``{processing: true}`` pattern, SSE for bulk push, event search, and sandbox-only routes under
``/sandbox`` for faults, realism settings, users and simulated Builder edits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tui.sandbox import clock, legacy
from tui.sandbox.engine import Engine
from tui.sandbox.faults import Faults
from tui.sandbox.identity import Identity
from tui.sandbox.platform import load_platform
from tui.sandbox.realism import RateLimiter, Realism, limit_class
from tui.sandbox.search import search_events
from tui.sandbox.settings import WorkspaceSettings
from tui.sandbox.store import PLATFORM_ID, REQUEST_CORRELATION, SandboxError, Store, now_iso

Handler = Callable[[Request], Awaitable[Response]]
ADMIN_ID = "sandbox-admin"
SANDBOX_USER = {
    "id": ADMIN_ID,
    "email": "admin@sandbox.local",
    "firstName": "Sandbox Admin",
    "platformRole": "superadmin",
}


def _consume(task: asyncio.Future[Any]) -> None:
    """The work behind a 408 goes on; its outcome is only visible through state and events."""
    if not task.cancelled():
        task.exception()


class GatewayLimits:
    """The api-gateway's rateLimit policies, in front of every route (known or not), keyed by user.

    A refused request never reaches the service: 429 with ``details.retryAfter`` and no Retry-After header.
    An accepted one carries Retry-After and X-RateLimit-* (as the platform's gateway sets them).
    """

    def __init__(self, app: Any, limiter: RateLimiter, user_of: Callable[[str], str | None]) -> None:
        self.app = app
        self.limiter = limiter
        self.user_of = user_of

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = limit_class(scope["method"], scope["path"])
        user = self.user_of(_token(scope)) if policy else None
        verdict = self.limiter.check(user, policy) if (user and policy) else None
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.accepted:
            correlation = _header(scope, b"x-correlation-id") or str(uuid.uuid4())
            refused = JSONResponse(verdict.body(), status_code=429, headers={"x-correlation-id": correlation})
            await refused(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in verdict.headers().items()]

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ServerClock:
    """The ``Date`` header on every answer, from the sandbox's clock (``Realism.clock_skew`` shifts it, and
    the events' times with it: a server whose clock is not the client's)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Any) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(time.time() + clock.skew(), usegmt=True).encode()
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*kept, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


def _header(scope: Any, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _token(scope: Any) -> str:
    header = _header(scope, b"authorization")
    return header[7:] if header.lower().startswith("bearer ") else _header(scope, b"x-prismeai-api-key")


class Sandbox:
    """One local Prisme.ai instance: data folder, token, faults, engine and ASGI app."""

    def __init__(
        self,
        data_dir: Path,
        token: str,
        *,
        name: str = "sandbox",
        faults: Faults | None = None,
        environ: dict[str, str] | None = None,
        realism: Realism | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.token = token
        self.name = name
        self.faults = faults or Faults()
        self._realism = realism if realism is not None else Realism()
        self._realism.validate()
        clock.set_skew(self._realism.clock_skew)
        self.limiter = RateLimiter(self._realism)
        self._users_lock = threading.Lock()
        self.users: dict[str, str] = {token: ADMIN_ID, **(users or {})}  # token -> user id
        self.identity = Identity(lambda user, minted: self.add_user(user, minted))  # service accounts, exchange
        self.store = Store(data_dir, event_lag=lambda: self.realism.event_lag)
        self.engine = Engine(self.store, load_platform(data_dir, environ), self.faults, name, self.realism)
        self.settings = WorkspaceSettings(self.store)
        self._stop = threading.Event()
        self._startup_thread: threading.Thread | None = None
        self.api = Starlette(
            routes=self._routes(),
            lifespan=self._lifespan,
            exception_handlers={HTTPException: self._http_error},
        )
        self.app = ServerClock(GatewayLimits(self.api, self.limiter, self.user_of))

    @property
    def realism(self) -> Realism:
        """Live settings: change a field, or assign a whole new Realism (the gateway and the service follow)."""
        return self._realism

    @realism.setter
    def realism(self, value: Realism) -> None:
        value.validate()
        self._realism = self.limiter.realism = self.engine.realism = value
        clock.set_skew(value.clock_skew)

    def add_user(self, user_id: str | None = None, token: str | None = None) -> str:
        """A token for one more user: the gateway's limits are kept per user, so each gets its own budget."""
        token = token or f"at:user-{secrets.token_urlsafe(18)}"
        with self._users_lock:
            self.users[token] = user_id or f"user-{secrets.token_hex(4)}"
        return token

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._on_startup()
        try:
            yield
        finally:
            self._on_shutdown()

    def _on_startup(self) -> None:
        if self.realism.legacy:
            return  # the startup import of platform repositories came after the 2024 server
        if self.engine.platform.startup_repository and self.engine.platform.startup_groups:
            self._startup_thread = threading.Thread(
                target=self.engine.startup_import,
                args=(self._stop,),
                name=f"{self.name}-startup-import",
                daemon=True,
            )
            self._startup_thread.start()

    def _on_shutdown(self) -> None:
        self._stop.set()
        self.store.close()

    # ------------------------------------------------------------------ plumbing
    def _routes(self) -> list[Route]:
        r = self._wrap
        return [
            Route("/sys/healthcheck", r(self.healthcheck, auth=False)),
            Route("/v2/me", r(self.me)),
            Route("/v2/readiness", r(self.readiness)),
            Route("/v2/workspaces", r(self.workspaces), methods=["GET", "POST"]),
            Route("/v2/workspaces/labels", r(self.labels)),
            Route("/v2/workspaces/import", r(self.import_new), methods=["POST"]),
            Route("/v2/workspaces/platform/versions", r(self.bulk_push), methods=["POST"]),
            Route("/v2/workspaces/platform/versions/latest/pull", r(self.bulk_import), methods=["POST"]),
            Route("/v2/workspaces/{wid}", r(self.workspace), methods=["GET", "PATCH", "DELETE"]),
            Route("/v2/workspaces/{wid}/versions", r(self.versions), methods=["GET", "POST"]),
            Route("/v2/workspaces/{wid}/versions/{vid}", r(self.delete_version), methods=["DELETE"]),
            Route("/v2/workspaces/{wid}/versions/{vid}/pull", r(self.pull), methods=["POST"]),
            Route("/v2/workspaces/{wid}/versions/{vid}/export", r(self.export), methods=["POST"]),
            Route("/v2/workspaces/{wid}/import", r(self.import_archive), methods=["POST"]),
            Route("/v2/workspaces/{wid}/status", r(self.status)),
            Route("/v2/workspaces/{wid}/writeLock", r(self.write_lock), methods=["POST", "DELETE"]),
            Route("/v2/workspaces/{wid}/events", r(self.events)),
            Route("/v2/workspaces/{wid}/search", r(self.search), methods=["POST"]),
            Route("/v2/workspaces/{wid}/config", r(self.config), methods=["GET", "PATCH"]),
            Route("/v2/workspaces/{wid}/security/secrets", r(self.secrets), methods=["GET", "PUT", "PATCH"]),
            Route("/v2/workspaces/{wid}/security/secrets/{name}", r(self.delete_secret), methods=["DELETE"]),
            Route("/v2/workspaces/{wid}/test/{automation}", r(self.test_automation), methods=["POST"]),
            Route("/v2/workspaces/{wid}/files", r(self.list_files), methods=["GET"]),
            Route(
                "/v2/orgs/{org}/service-accounts/{sa}/token",
                r(self.service_account_token, auth=False),
                methods=["POST"],
            ),
            Route("/v2/login/token-exchange", r(self.token_exchange, auth=False), methods=["POST"]),
            Route("/sandbox/service-accounts", r(self.create_service_account), methods=["POST"]),
            Route("/sandbox/providers", r(self.create_provider), methods=["POST"]),
            Route("/v2/workspaces/{wid}/webhooks/{automation:path}", r(self.webhook), methods=["POST"]),
            Route("/sandbox/faults", r(self.set_faults), methods=["GET", "POST"]),
            Route("/sandbox/realism", r(self.set_realism), methods=["GET", "POST"]),
            Route("/sandbox/users", r(self.create_user), methods=["POST"]),
            Route("/sandbox/workspaces/{wid}/files/{path:path}", r(self.edit_file), methods=["PUT", "DELETE"]),
            Route("/sandbox/startup-import", r(self.rerun_startup_import), methods=["POST"]),
            Route("/sandbox/workspaces/{wid}/uploads/{name}", r(self.upload_file), methods=["PUT"]),
        ]

    def _wrap(self, handler: Handler, *, auth: bool = True) -> Handler:
        async def endpoint(request: Request) -> Response:
            correlation = request.headers.get("x-correlation-id") or str(uuid.uuid4())
            request.state.correlation = correlation
            REQUEST_CORRELATION.set(correlation)  # copied into the worker threads and tasks of this request
            try:
                if self.faults.latency_ms:
                    await asyncio.sleep(self.faults.latency_ms / 1000)
                for prefix, status in self.faults.error_5xx.items():
                    # the sandbox's own routes stay reachable: a fault can always be switched off again
                    if request.url.path.startswith(prefix) and not request.url.path.startswith("/sandbox/"):
                        raise SandboxError(int(status), "Internal", "Internal error")
                if any(request.url.path.startswith(prefix) for prefix in self.faults.html_200):
                    return Response(
                        "<html><body>Sign in to continue</body></html>",
                        media_type="text/html",
                        headers={"x-correlation-id": correlation},
                    )
                user = self._authorised(request) if auth else ADMIN_ID
                if user is None:
                    raise SandboxError(401, "AuthenticationError", "Unauthenticated")
                request.state.user = user
                self._refuse_as_deployed(request)
                response = await self._through_gateway(handler, request)
            except SandboxError as exc:
                response = JSONResponse(exc.body(), status_code=exc.status)
            return self._with_correlation(response, correlation)

        return endpoint

    def _refuse_as_deployed(self, request: Request) -> None:
        """What this instance's generation (``api_level``) and its events service (``events_down``) refuse."""
        path = request.url.path
        if self.realism.legacy:
            refused = legacy.refusal(path, request.query_params.keys())
            if refused:
                raise refused
        if self.realism.events_down and limit_class(request.method, path) == "events":  # the events service's routes
            raise SandboxError(500, "Internal", "Internal server error")  # the gateway's answer for a dead service

    @staticmethod
    def _with_correlation(response: Response, correlation: str) -> Response:
        response.headers["x-correlation-id"] = correlation
        return response

    async def _through_gateway(self, handler: Handler, request: Request) -> Response:
        """The api-gateway's proxy: 408 after ``gateway_timeout`` s of silence, while the service goes on."""
        timeout = self.realism.gateway_timeout
        task = asyncio.ensure_future(handler(request))
        if timeout is None:
            return await task
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.add_done_callback(_consume)
            return JSONResponse({"error": "TimeoutError", "timeout": int(timeout * 1000)}, status_code=408)
        return task.result()

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """Unknown routes and methods answer a JSON error body, as the gateway does, never text/plain."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        error = {404: "ObjectNotFoundError", 405: "MethodNotAllowedError"}.get(status, "PrismeError")
        body = {"error": error, "message": f"Cannot {request.method} {request.url.path}"}
        response = JSONResponse(body, status_code=status)
        return self._with_correlation(response, request.headers.get("x-correlation-id") or str(uuid.uuid4()))

    def _authorised(self, request: Request) -> str | None:
        """The caller's user id, or None."""
        header = request.headers.get("authorization", "")
        supplied = header[7:] if header.lower().startswith("bearer ") else request.headers.get("x-prismeai-api-key", "")
        return self.user_of(supplied)

    def user_of(self, supplied: str) -> str | None:
        if not supplied:
            return None
        with self._users_lock:
            known = list(self.users.items())
        for token, user in known:
            if secrets.compare_digest(supplied.encode(), token.encode()):
                return None if self.identity.expired(token) else user  # a minted token ends at its expiry
        return None

    @staticmethod
    def _user(request: Request) -> str:
        return str(getattr(request.state, "user", ADMIN_ID))

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SandboxError(400, "RequestValidationError", f"Body is not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise SandboxError(400, "RequestValidationError", "Body must be a JSON object")
        return data

    async def _run(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(func, *args)

    async def _long(self, request: Request, func: Callable[..., Any], *args: Any) -> Response:
        """The long-operation pattern: answer the result, or {processing: true} after the timeout."""
        timeout = self.faults.processing_after
        if timeout is None:
            try:
                timeout = float(request.query_params.get("timeout", "0")) or None
            except ValueError:
                timeout = None
            if timeout is not None:
                timeout = min(timeout, self.realism.timeout_cap)  # kept below the gateway's 408
        task = asyncio.ensure_future(self._run(func, *args))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        except TimeoutError:
            task.add_done_callback(lambda t: t.exception())  # the work goes on; errors become events only
            return JSONResponse(
                {"processing": True, "message": "Still processing: the result will be emitted as an event"}
            )
        return JSONResponse(result)

    # ------------------------------------------------------------------ identity and health
    async def healthcheck(self, request: Request) -> Response:
        return JSONResponse({"healthy": True})

    async def me(self, request: Request) -> Response:
        user = self._user(request)
        identity = SANDBOX_USER
        if user != ADMIN_ID:
            identity = {"id": user, "email": f"{user}@sandbox.local", "firstName": user}
        return JSONResponse(
            {
                **identity,
                "sessionId": "sandbox-session",
                "expires": self.identity.expires_of(_token(request.scope)) or "2099-01-01T00:00:00.000Z",
                "org": None,
                "permissions": [],
            }
        )

    async def readiness(self, request: Request) -> Response:
        services = {name: {"status": "ready"} for name in ("api-gateway", "runtime", "events", "workspaces")}
        return JSONResponse({"status": "ready", "services": services})

    # ------------------------------------------------------------------ workspaces
    async def workspaces(self, request: Request) -> Response:
        if request.method == "POST":
            return JSONResponse(await self._run(self.engine.create, await self._body(request)))
        return JSONResponse(self.engine.list_workspaces(dict(request.query_params)))

    async def labels(self, request: Request) -> Response:
        return JSONResponse(self.engine.labels())

    async def workspace(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        if request.method == "PATCH":
            return JSONResponse(await self._run(self.engine.patch, wid, await self._body(request)))
        if request.method == "DELETE":
            return JSONResponse(await self._run(self.engine.delete, wid))
        return JSONResponse(self.engine.workspace_json(self.store.get(wid), detailed=True))

    async def status(self, request: Request) -> Response:
        return JSONResponse(await self._run(self.engine.status, request.path_params["wid"]))

    async def write_lock(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        if request.method == "DELETE":
            return JSONResponse(await self._run(self.engine.clear_lock, wid))
        body = await self._body(request)
        return JSONResponse(
            await self._run(self.engine.set_lock, wid, str(body.get("reason") or "manual"), self._user(request))
        )

    # ------------------------------------------------------------------ config and secrets
    async def config(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        if request.method == "PATCH":
            return JSONResponse(await self._run(self.settings.patch_config, wid, await self._body(request)))
        return JSONResponse(await self._run(self.settings.config, wid, request.query_params.get("version")))

    async def secrets(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        if request.method == "GET":
            if self.realism.secrets_owner_only and not self._owner(wid, self._user(request)):
                self.store.get(wid)  # an unknown workspace is still a 404
                return JSONResponse({})  # a real instance hides them from a non-owner, without saying so
            return JSONResponse(await self._run(self.settings.secrets, wid))
        body = await self._body(request)
        replace = request.method == "PUT"
        return JSONResponse(await self._run(self.settings.set_secrets, wid, body, self._user(request), replace))

    def _owner(self, wid: str, user: str) -> bool:
        """The super admin (the sandbox's own token) or the workspace's creator."""
        return user == ADMIN_ID or self.store.get(wid).get("createdBy") == user

    async def delete_secret(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse(await self._run(self.settings.delete_secret, p["wid"], p["name"]))

    # ------------------------------------------------------------------ versions
    async def versions(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        if request.method == "GET":
            return JSONResponse(self.engine.versions(wid))
        body = await self._body(request)
        self.store.get(wid)
        return await self._long(request, self.engine.publish, wid, body, self._user(request))

    async def delete_version(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse(await self._run(self.engine.delete_version, p["wid"], p["vid"]))

    async def pull(self, request: Request) -> Response:
        p = request.path_params
        body = await self._body(request)
        self.store.get(p["wid"])
        return await self._long(request, self.engine.pull, p["wid"], p["vid"], body, self._user(request))

    async def export(self, request: Request) -> Response:
        p = request.path_params
        try:
            data = await self._run(self.engine.export, p["wid"], p["vid"])
        except SandboxError as exc:
            if not self.realism.legacy:
                raise
            # The 2024 handler sets its content type before exporting: errors keep it, JSON inside.
            body = json.dumps(exc.body(), separators=(",", ":")).encode()
            return Response(body, status_code=exc.status, media_type="application/octet-stream")
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename={p['wid']}-{p['vid']}.zip"},
        )

    async def import_archive(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        filename, data = await self._archive(request)
        prune = request.query_params.get("prune", "false").lower() == "true"
        self.store.get(wid)
        return await self._long(request, self.engine.import_archive, wid, filename, data, prune, self._user(request))

    async def import_new(self, request: Request) -> Response:
        filename, data = await self._archive(request)
        return await self._long(request, self.engine.import_new, filename, data, self._user(request))

    async def _archive(self, request: Request) -> tuple[str, bytes]:
        """The uploaded ``archive`` field: its file name and bytes."""
        length = int(request.headers.get("content-length") or 0)
        if length > self.engine.platform.uploads_max_size + 64 * 1024:
            raise SandboxError(413, "PayloadTooLarge", "request entity too large")
        form = await request.form(max_part_size=self.engine.platform.uploads_max_size * 2)
        upload = form.get("archive")
        if upload is None or isinstance(upload, str):
            if self.realism.legacy:
                raise SandboxError(400, "MissingFieldError", "Missing archive")  # no details, as measured
            raise SandboxError(400, "InvalidUploadError", "Missing multipart field 'archive'")
        return upload.filename or "", await upload.read()

    # ------------------------------------------------------------------ events
    async def events(self, request: Request) -> Response:
        wid = request.path_params["wid"]
        self.store.get(wid)
        q = request.query_params
        reserved = {
            "types",
            "afterDate",
            "beforeDate",
            "limit",
            "page",
            "sort",
            "text",
            "beforeId",
            "appInstanceDepth",
            "query",
        }
        filters = {k: q.getlist(k) for k in q if k not in reserved}
        types = [t for t in q.get("types", "").split(",") if t]
        if "type" in filters:
            types += filters.pop("type")
        try:
            limit = max(1, min(int(q.get("limit", 50)), 10000))
            page = max(0, int(q.get("page", 0)))
        except ValueError as exc:
            raise SandboxError(400, "RequestValidationError", "limit and page must be integers") from exc
        found = self.store.query_events(
            wid,
            types=types,
            after=q.get("afterDate"),
            before=q.get("beforeDate"),
            limit=limit,
            page=page,
            sort=q.get("sort", "desc"),
            filters=filters,
        )
        return JSONResponse({"result": {"events": found}})

    async def search(self, request: Request) -> Response:
        """Event search (Elasticsearch DSL subset): ``{size, documents, aggs}``, documents with ``@timestamp``."""
        wid = request.path_params["wid"]
        self.store.get(wid)
        body = await self._body(request)
        synthetic = self.engine.traffic_events(wid, body.get("query")) if isinstance(body, dict) else []
        return JSONResponse(search_events(self.store.visible_events(wid) + synthetic, body))

    # ------------------------------------------------------------------ bulk operations
    async def bulk_push(self, request: Request) -> Response:
        body = await self._body(request)
        user = self._user(request)
        await self._run(self.engine.validate_bulk_push, body)  # 400/404 before any stream starts
        self.engine.begin_bulk()
        queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def emit(kind: str, payload: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

        def run() -> dict[str, Any]:
            try:
                return self.engine.bulk_push(body, emit, user)
            except SandboxError as exc:
                emit("failure", exc.body())
                raise
            finally:
                self.engine.end_bulk()
                loop.call_soon_threadsafe(queue.put_nowait, None)

        task = asyncio.ensure_future(asyncio.to_thread(run))
        task.add_done_callback(lambda t: t.exception())
        if request.query_params.get("sse", "").lower() in ("true", "1"):
            return StreamingResponse(
                self._sse(queue),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return await self._await_summary(request, task)

    async def _sse(self, queue: asyncio.Queue[tuple[str, dict[str, Any]] | None]) -> AsyncIterator[bytes]:
        yield b": bulk push stream\n\n"
        sent = 0
        while True:
            item = await queue.get()
            if item is None:
                return
            kind, payload = item
            if self.faults.sse_drop_after is not None and sent >= self.faults.sse_drop_after:
                return  # the connection is cut; the push goes on server-side
            yield f"event: workspaces.bulkPush.{kind}\ndata: {json.dumps(payload)}\n\n".encode()
            sent += 1

    async def _await_summary(self, request: Request, task: asyncio.Future[Any]) -> Response:
        try:
            timeout = float(request.query_params.get("timeout", "15"))
        except ValueError:
            timeout = 15.0
        timeout = min(timeout, self.realism.timeout_cap)  # the service answers before the gateway's 408
        try:
            summary = await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        except TimeoutError:
            return JSONResponse(
                {"processing": True, "message": "Still processing: the result will be emitted as an event"}
            )
        return JSONResponse(summary)

    async def bulk_import(self, request: Request) -> Response:
        body = await self._body(request)
        user = self._user(request)
        await self._run(self.engine.validate_bulk_import, body)
        self.engine.begin_bulk()

        def run() -> dict[str, Any]:
            try:
                return self.engine.bulk_import(body, lambda kind, payload: None, user)
            finally:
                self.engine.end_bulk()

        task = asyncio.ensure_future(asyncio.to_thread(run))
        task.add_done_callback(lambda t: t.exception())
        return await self._await_summary(request, task)

    # ------------------------------------------------------------------ sandbox-only
    async def set_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.faults.update(await self._body(request))
            except ValueError as exc:
                raise SandboxError(400, "RequestValidationError", str(exc)) from exc
            for slug in self.faults.stuck_lock:
                self.engine.apply_stuck_lock(slug)
            self.engine.faults_changed()
        return JSONResponse(self.faults.to_json())

    async def set_realism(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.realism.update(await self._body(request))
                clock.set_skew(self.realism.clock_skew)
            except (ValueError, TypeError) as exc:
                raise SandboxError(400, "RequestValidationError", str(exc)) from exc
        return JSONResponse(self.realism.to_json())

    async def create_user(self, request: Request) -> Response:
        """Minting a token is the admin's: any other token could otherwise mint one for any user."""
        if request.state.user != ADMIN_ID:
            raise SandboxError(403, "ForbiddenError", "Only the sandbox admin token can create users")
        body = await self._body(request)
        user_id = str(body.get("id") or "") or None
        token = self.add_user(user_id)
        return JSONResponse({"id": self.users[token], "token": token})

    # ------------------------------------------------------------------ credentials that expire
    async def service_account_token(self, request: Request) -> Response:
        org, sa = request.path_params["org"], request.path_params["sa"]
        return JSONResponse(self.identity.service_account_token(org, sa, await self._body(request)))

    async def token_exchange(self, request: Request) -> Response:
        return JSONResponse(self.identity.token_exchange(await self._body(request)))

    async def create_service_account(self, request: Request) -> Response:
        """``{org, slug}`` -> ``{clientSecret}`` (shown once, as the platform does)."""
        self._admin_only(request, "create service accounts")
        body = await self._body(request)
        org, slug = str(body.get("org") or "sandbox"), str(body.get("slug") or "ci")
        return JSONResponse({"org": org, "slug": slug, "clientSecret": self.identity.create_account(org, slug)})

    async def create_provider(self, request: Request) -> Response:
        """``{slug, allowTokenExchange?}`` -> ``{slug, clientId, signingKey}``: the key signs the id_tokens
        (HS256) that the exchange accepts."""
        self._admin_only(request, "create providers")
        body = await self._body(request)
        provider = self.identity.create_provider(
            str(body.get("slug") or "ci"), allow_exchange=body.get("allowTokenExchange", True) is not False
        )
        return JSONResponse({"slug": provider.slug, "clientId": provider.client_id, "signingKey": provider.key.hex()})

    def _admin_only(self, request: Request, what: str) -> None:
        if self._user(request) != ADMIN_ID:
            raise SandboxError(403, "ForbiddenError", f"Only the sandbox admin token can {what}")

    async def edit_file(self, request: Request) -> Response:
        p = request.path_params
        text = None if request.method == "DELETE" else (await request.body()).decode("utf-8")
        return JSONResponse(await self._run(self.engine.edit_file, p["wid"], p["path"], text))

    async def test_automation(self, request: Request) -> Response:
        """Smoke tests: the automation's declared ``output``, or an injected failure (fault ``smoke_fail``)."""
        p = request.path_params
        return JSONResponse(await self._run(self.engine.test_automation, p["wid"], p["automation"]))

    async def webhook(self, request: Request) -> Response:
        """The runtime's endpoint automations; the caller is the authenticated user, whatever the body says."""
        p = request.path_params
        body = await self._body(request)
        return JSONResponse(await self._run(self.engine.webhook, p["wid"], p["automation"], body, self._user(request)))

    async def list_files(self, request: Request) -> Response:
        """``GET .../files``: the workspace's uploaded files (outside versioning: Builder bundles live here)."""
        wid = request.path_params["wid"]
        files = list(self.store.get(wid).get("uploads") or [])
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 1000))
            page = max(0, int(request.query_params.get("page", 0)))
        except ValueError as exc:
            raise SandboxError(400, "RequestValidationError", "limit and page must be integers") from exc
        return JSONResponse(files[page * limit : (page + 1) * limit])

    async def upload_file(self, request: Request) -> Response:
        """Sandbox-only: an uploaded file (a Builder bundle, say) at ``<this instance>/files/<wid>/<name>``."""
        p = request.path_params
        meta = self.store.get(p["wid"])
        data = await request.body()
        url = f"{str(request.base_url).rstrip('/')}/files/{p['wid']}/{p['name']}"
        entry = {
            "id": uuid.uuid4().hex[:12],
            "name": p["name"],
            "url": url,
            "mimetype": "application/javascript",
            "size": len(data),
            "workspaceId": p["wid"],
            "path": f"{p['wid']}/{p['name']}",
        }
        meta["uploads"] = [f for f in meta.get("uploads") or [] if f.get("name") != p["name"]] + [entry]
        self.store.save_meta(meta)
        return JSONResponse(entry)

    async def rerun_startup_import(self, request: Request) -> Response:
        """Simulate a workspaces-service restart: run STARTUP_IMPORT_* now (in the background)."""
        body = await self._body(request)
        if body.get("repository"):
            self.engine.platform.startup_repository = str(body["repository"])
        if body.get("groups"):
            self.engine.platform.startup_groups = [str(g) for g in body["groups"]]
        thread = threading.Thread(target=self.engine.startup_import, args=(self._stop,), daemon=True)
        thread.start()
        return JSONResponse({"started": True, "at": now_iso(), "workspaceId": PLATFORM_ID})
