"""The async Prisme.ai client: one method per endpoint of the deployment contract.

Rules it keeps (api-contract.md):
- ``{processing: true}`` is "accepted, watch events", never success: single-workspace calls wait for
  their event, bulk calls poll platform events.
- Bulk push SSE is classified by payload; a stream that ends without its summary is recovered from
  ``workspaces.bulkPush.completed`` events, or reported as incomplete.
- The token lives only inside an ``httpx.Auth`` object that has no repr of it.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx  # without its CLI: see tui/core/api/__init__.py
from httpx_sse import aconnect_sse

from tui.core.api import errors as E
from tui.core.api.bulk import BulkEvent, classify, classify_data, event_type_kind
from tui.core.api.models import (
    PLATFORM_WORKSPACE_ID,
    Event,
    Me,
    PullResult,
    Readiness,
    Repository,
    Version,
    Workspace,
    validate_version_name,
)

USER_AGENT = "prisme-deploy"
PAGE_SIZE = 100


class _BearerAuth(httpx.Auth):
    """Adds the token at send time so it never sits in client headers, reprs or exceptions."""

    def __init__(self, token: str) -> None:
        self.__token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.__token:
            request.headers["Authorization"] = f"Bearer {self.__token}"
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context per CA bundle for the process: building one costs tens of milliseconds,
    and the app opens a client per operation."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def now_iso(delta_seconds: float = 0.0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=delta_seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PrismeClient:
    """One environment's API. Use as ``async with PrismeClient(...) as api``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        env_name: str = "",
        timeout: float = 30.0,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        allow_insecure_http: bool = False,
        poll_interval: float = 1.0,
        processing_wait: float = 900.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base_url = base_url.rstrip("/")
        if base_url.endswith("/v2"):
            base_url = base_url[: -len("/v2")]
        scheme = urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise E.UsageError(f"URL {base_url!r} must start with https:// (or http:// on loopback).")
        if scheme == "http" and not is_loopback(base_url) and not allow_insecure_http:
            raise E.UsageError(
                f"Refusing plain http:// to {urlsplit(base_url).hostname}: the token would travel unencrypted. "
                "Use https://, or set allow_insecure_http = true for this environment if you really must."
            )
        self.base_url = base_url
        self.env_name = env_name or urlsplit(base_url).hostname or base_url
        self.poll_interval = poll_interval
        self.processing_wait = processing_wait
        verify: bool | ssl.SSLContext = _tls_context(ca_bundle) if verify_tls else False
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=_BearerAuth(token),
            timeout=httpx.Timeout(timeout),
            verify=verify,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"PrismeClient({self.base_url!r}, env={self.env_name!r})"

    async def __aenter__(self) -> PrismeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ transport and errors
    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise E.RequestTimeout(
                f"{self.env_name}: {method} {path} timed out after {self._timeout:g}s.",
                hint="The server may still be working; check the workspace's activity before retrying.",
            ) from exc
        except httpx.ConnectError as exc:
            raise self._connect_error(exc) from exc
        except httpx.TransportError as exc:
            raise E.NetworkError(f"{self.env_name}: network error on {method} {path}: {exc}") from exc
        if response.status_code >= 400:
            await response.aread()
            raise self._error_for(response, method, path)
        return response

    def _connect_error(self, exc: Exception) -> E.PrismeError:
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return E.TLSFailure(
                f"{self.env_name}: TLS verification failed for {self.base_url}: {text}",
                hint="Set ca_bundle for this environment to your company CA, or fix the server certificate.",
            )
        return E.ConnectionFailed(
            f"{self.env_name}: cannot connect to {self.base_url} ({text or 'connection refused'}).",
            hint="Check the URL, the VPN, and that the instance is up.",
        )

    def _error_for(self, response: httpx.Response, method: str, path: str) -> E.PrismeError:
        status = response.status_code
        correlation = response.headers.get("x-correlation-id")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        server_class = str(body.get("error") or "")
        server_msg = str(body.get("message") or response.reason_phrase or "")
        details = body.get("details")
        kw: dict[str, Any] = {
            "status": status,
            "correlation_id": correlation,
            "error_class": server_class or None,
            "details": details,
        }
        where = f"{self.env_name}: {method} {path}"
        lowered = server_msg.lower()
        if status == 401:
            return E.AuthenticationFailed(
                f"{self.env_name}: the token was rejected ({server_msg or 'Unauthenticated'}).",
                hint=f"It may be expired or revoked: run `prisme-deploy login --env {self.env_name}`.",
                **kw,
            )
        if status == 403:
            return E.PermissionDenied(
                f"{where} is forbidden: {server_msg}.",
                hint="Bulk operations need a super admin; lock changes need the workspace owner.",
                **kw,
            )
        if status == 404:
            return E.NotFound(f"{where}: not found: {server_msg}.", **kw)
        if status == 413:
            return E.ArchiveTooLarge(
                f"{where}: the archive is larger than the server accepts (UPLOADS_MAX_SIZE).",
                hint="Split the workspace or ask the platform team to raise UPLOADS_MAX_SIZE.",
                **kw,
            )
        if status in (409, 423):
            return E.WorkspaceLocked(f"{where}: {server_msg}.", hint=E.hint_for_lock(None), **kw)
        if status == 400:
            if "up-to-date" in lowered or "up to date" in lowered or "pull first" in lowered:
                return E.PushRejected(
                    f"{where}: push rejected, the repository has commits this workspace has not pulled.",
                    hint="Pull latest first (`l` in the app, or `prisme-deploy pull`), then push again.",
                    **kw,
                )
            if "conflict" in lowered:
                return E.MergeConflict(f"{where}: {server_msg}.", hint=E.hint_for_lock("merge_conflict"), **kw)
            if "lock" in lowered:
                return E.WorkspaceLocked(f"{where}: {server_msg}.", hint=E.hint_for_lock(None), **kw)
            if "already" in lowered and ("used" in lowered or "exist" in lowered):
                return E.VersionNameTaken(f"{where}: {server_msg}.", hint="Choose a new version name.", **kw)
            return E.BadRequest(f"{where}: {server_msg}.", **kw)
        if status >= 500:
            return E.ServerError(
                f"{where}: server error {status} ({server_msg or 'Internal error'}).",
                hint="Retry later; quote the correlation id to the platform team.",
                **kw,
            )
        return E.PrismeError(f"{where}: HTTP {status}: {server_msg}.", **kw)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise E.UnexpectedResponse(
                f"{self.env_name}: {method} {path} answered {response.status_code} with a body that is not JSON "
                f"({response.headers.get('content-type', 'no content type')}).",
                hint="Is the URL the API host (api.<domain>) rather than the studio?",
                status=response.status_code,
                correlation_id=response.headers.get("x-correlation-id"),
            ) from exc

    def _expect(self, data: Any, kind: type, what: str) -> Any:
        if not isinstance(data, kind):
            raise E.UnexpectedResponse(f"{self.env_name}: expected {what}, got {type(data).__name__}.")
        return data

    @staticmethod
    def _ws(workspace_id: str) -> str:
        return f"/v2/workspaces/{quote(workspace_id, safe='')}"

    # ------------------------------------------------------------------ identity and health
    async def me(self) -> Me:
        return Me.from_json(self._expect(await self._json("GET", "/v2/me"), dict, "a user object"))

    async def readiness(self) -> Readiness:
        """Readiness needs a super admin: 401/403 means "not allowed to know", not "down"."""
        try:
            response = await self._send("GET", "/v2/readiness")
        except (E.PermissionDenied, E.AuthenticationFailed):
            return Readiness(ready=False, services={}, allowed=False)
        except E.BadRequest as exc:  # 400 is the documented "not ready" answer
            return Readiness(ready=False, services={"platform": str(exc.message)})
        return Readiness.from_json(self._expect(response.json(), dict, "a readiness object"))

    async def healthcheck(self) -> bool:
        data = await self._json("GET", "/sys/healthcheck")
        return bool(isinstance(data, dict) and data.get("healthy"))

    # ------------------------------------------------------------------ workspaces
    async def list_workspaces(
        self, *, labels: list[str] | None = None, dirty: bool | None = None, page_size: int = PAGE_SIZE
    ) -> list[Workspace]:
        """Every page: the end is a page shorter than ``limit`` (page base is unconfirmed)."""
        result: list[Workspace] = []
        async for page in self.iter_workspace_pages(labels=labels, dirty=dirty, page_size=page_size):
            result.extend(page)
        return result

    async def iter_workspace_pages(
        self, *, labels: list[str] | None = None, dirty: bool | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[list[Workspace]]:
        """Page by page, so a screen can show the first page while the rest arrives."""
        seen: set[str] = set()
        page = 0
        while True:
            params: dict[str, Any] = {"limit": page_size, "page": page}
            if labels:
                params["labels"] = ",".join(labels)
            if dirty is not None:
                params["dirty"] = str(dirty).lower()
            items = self._expect(await self._json("GET", "/v2/workspaces", params=params), list, "a list")
            fresh = [w for w in items if isinstance(w, dict) and str(w.get("id")) not in seen]
            seen.update(str(item.get("id")) for item in fresh)
            if fresh:
                yield [Workspace.from_json(item) for item in fresh]
            if len(items) < page_size or not fresh:
                return
            page += 1

    async def get_workspace(self, workspace_id: str) -> Workspace:
        """The workspace document, plus the list fields (dirty, lastPush, lastPull) the spec puts there."""
        data = self._expect(await self._json("GET", self._ws(workspace_id)), dict, "a workspace")
        if "dirty" not in data and workspace_id != PLATFORM_WORKSPACE_ID:
            listed = await self._json("GET", "/v2/workspaces", params={"ids": workspace_id, "limit": 1})
            for item in listed if isinstance(listed, list) else []:
                if isinstance(item, dict) and item.get("id") == workspace_id:
                    data = {**data, **{k: item[k] for k in ("dirty", "lastPush", "lastPull") if k in item}}
        return Workspace.from_json(data)

    async def find_workspace(self, slug_or_id: str) -> Workspace:
        """Resolve a slug (what people type) to a workspace, falling back to an id."""
        items = self._expect(
            await self._json("GET", "/v2/workspaces", params={"slug": slug_or_id, "limit": 10}),
            list,
            "a list",
        )
        for item in items:
            if isinstance(item, dict) and item.get("slug") == slug_or_id:
                return await self.get_workspace(str(item["id"]))
        try:
            return await self.get_workspace(slug_or_id)
        except E.NotFound:
            raise E.NotFound(f"{self.env_name}: no workspace with slug or id {slug_or_id!r}.") from None

    async def labels(self) -> list[str]:
        return list(self._expect(await self._json("GET", "/v2/workspaces/labels"), list, "a list"))

    async def platform_repositories(self) -> dict[str, Repository]:
        return (await self.get_workspace(PLATFORM_WORKSPACE_ID)).platform_repositories

    async def status(self, workspace_id: str) -> dict[str, Any]:
        return dict(self._expect(await self._json("GET", f"{self._ws(workspace_id)}/status"), dict, "a status"))

    async def lock(self, workspace_id: str, reason: str = "manual") -> dict[str, Any]:
        return dict(await self._json("POST", f"{self._ws(workspace_id)}/writeLock", json={"reason": reason}))

    async def unlock(self, workspace_id: str) -> None:
        await self._json("DELETE", f"{self._ws(workspace_id)}/writeLock")

    # ------------------------------------------------------------------ versions
    async def list_versions(self, workspace_id: str) -> list[Version]:
        items = self._expect(await self._json("GET", f"{self._ws(workspace_id)}/versions"), list, "a list")
        return [Version.from_json(v) for v in items if isinstance(v, dict)]

    async def publish(
        self,
        workspace_id: str,
        *,
        description: str,
        name: str | None = None,
        repository_id: str | None = None,
        timeout: float | None = None,
    ) -> Version:
        """Push to a git repository (``repository_id``) or snapshot natively (None)."""
        if name is not None:
            validate_version_name(name)
        body: dict[str, Any] = {"description": description}  # a plain string: it becomes the commit message
        if name:
            body["name"] = name
        if repository_id:
            body["repository"] = {"id": repository_id}
        started = now_iso(-1)
        data = await self._json(
            "POST", f"{self._ws(workspace_id)}/versions", json=body, params=self._timeout_param(timeout)
        )
        if isinstance(data, dict) and data.get("processing"):
            event = await self._wait_event(
                workspace_id,
                "workspaces.versions.published",
                started,
                lambda e: not name or (e.payload.get("version") or {}).get("name") == name,
            )
            return Version.from_json(event.payload.get("version") or {})
        return Version.from_json(self._expect(data, dict, "a version"))

    async def pull(
        self,
        workspace_id: str,
        version: str = "latest",
        *,
        repository_id: str | None = None,
        discard_local_changes: bool = False,
        timeout: float | None = None,
    ) -> PullResult:
        """Pull ``latest`` or a named version (a rollback is a pull of an older name)."""
        if version == "current":
            raise E.UsageError("Cannot roll back to 'current': pick a published version.")
        body: dict[str, Any] = {}
        if repository_id:
            body["repository"] = {"id": repository_id}
        if discard_local_changes:
            body["discardLocalChanges"] = True
        started = now_iso(-2)
        data = await self._json(
            "POST",
            f"{self._ws(workspace_id)}/versions/{quote(version, safe='')}/pull",
            json=body,
            params=self._timeout_param(timeout),
        )
        if isinstance(data, dict) and data.get("processing"):
            event = await self._wait_event(
                workspace_id,
                "workspaces.imported",
                started,
                lambda e: (e.payload.get("version") or {}).get("name") == version,
            )
            return PullResult.from_json(event.payload, recovered=True)
        return PullResult.from_json(self._expect(data, dict, "a pull result"))

    async def delete_version(self, workspace_id: str, version: str) -> None:
        if version == "current":
            raise E.UsageError("The current version cannot be deleted.")
        await self._json("DELETE", f"{self._ws(workspace_id)}/versions/{quote(version, safe='')}")

    async def export(self, workspace_id: str, version: str = "current") -> bytes:
        response = await self._send(
            "POST", f"{self._ws(workspace_id)}/versions/{quote(version, safe='')}/export", json={}
        )
        if not response.content.startswith(b"PK"):
            raise E.UnexpectedResponse(f"{self.env_name}: the export of {workspace_id} is not a zip archive.")
        return response.content

    async def import_archive(self, workspace_id: str, archive: bytes, *, prune: bool = True) -> PullResult:
        """Multipart field ``archive``; the filename must end in .zip (the server checks it)."""
        started = now_iso(-2)
        data = await self._json(
            "POST",
            f"{self._ws(workspace_id)}/import",
            params={"prune": str(prune).lower()},
            files={"archive": ("workspace.zip", archive, "application/zip")},
        )
        if isinstance(data, dict) and data.get("processing"):
            event = await self._wait_event(workspace_id, "workspaces.imported", started)
            return PullResult.from_json(event.payload, recovered=True)
        return PullResult.from_json(self._expect(data, dict, "an import result"))

    # ------------------------------------------------------------------ events
    async def events(
        self,
        workspace_id: str,
        *,
        types: list[str] | None = None,
        after_date: str | None = None,
        limit: int | None = None,
        sort: str | None = None,
        filters: dict[str, str] | None = None,
    ) -> list[Event]:
        params: dict[str, Any] = dict(filters or {})
        if types:
            params["types"] = ",".join(types)
        if after_date:
            params["afterDate"] = after_date
        if limit:
            params["limit"] = limit
        if sort:
            params["sort"] = sort
        data = self._expect(await self._json("GET", f"{self._ws(workspace_id)}/events", params=params), dict, "events")
        items = (data.get("result") or {}).get("events") or []
        return [Event.from_json(e) for e in items if isinstance(e, dict)]

    async def _wait_event(
        self, workspace_id: str, event_type: str, after: str, match: Callable[[Event], bool] | None = None
    ) -> Event:
        """The late result of a ``{processing: true}`` answer: the first matching event after ``after``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.processing_wait
        while loop.time() < deadline:
            found = await self.events(workspace_id, types=[event_type], after_date=after, limit=20)
            for event in found:
                if match is None or match(event):
                    return event
            await asyncio.sleep(self.poll_interval)
        raise E.StillProcessing(
            f"{self.env_name}: the server is still processing {workspace_id} after {self.processing_wait:g}s "
            f"and no {event_type} event arrived.",
            hint="It is not done: check the workspace's activity before doing anything else.",
        )

    @staticmethod
    def _timeout_param(timeout: float | None) -> dict[str, Any]:
        return {"timeout": int(timeout)} if timeout else {}

    # ------------------------------------------------------------------ bulk push (SSE)
    async def bulk_push(
        self,
        *,
        repository_id: str,
        groups: list[str],
        name: str | None = None,
        description: str | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> AsyncIterator[BulkEvent]:
        """Stream a bulk push. The last event is ``completed`` (or a ``BulkIncomplete`` is raised)."""
        if not groups:
            raise E.UsageError("Name at least one workspace group.")
        if name is not None:
            validate_version_name(name)
        body: dict[str, Any] = {"repository": {"id": repository_id}, "groups": groups}
        if name:
            body["name"] = name
        if description:
            body["description"] = description
        if dry_run:
            body["dryRun"] = True
        if force:
            body["force"] = True
        started = now_iso(-2)
        completed = False
        dropped: str | None = None
        try:
            async for event in self._sse("POST", "/v2/workspaces/platform/versions?sse=true", body):
                if event.kind == "completed":
                    completed = True
                yield event
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as exc:
            dropped = f"the stream was cut ({type(exc).__name__})"
        if completed:
            return
        yield BulkEvent(
            "notice",
            {},
            "push",
            message=f"{dropped or 'the stream ended'} without a completed summary; "
            "recovering it from the platform's workspaces.bulkPush.completed events",
        )
        async for event in self._poll_bulk("workspaces.bulkPush", started, repository_id, "push"):
            yield event

    async def _sse(self, method: str, path: str, body: dict[str, Any]) -> AsyncIterator[BulkEvent]:
        timeout = httpx.Timeout(self._timeout, read=600.0)  # a push can be silent for minutes
        try:
            async with aconnect_sse(self._http, method, path, json=body, timeout=timeout) as source:
                response = source.response
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error_for(response, method, path.split("?")[0])
                ctype = response.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    # A server without SSE answers the summary (or processing) as JSON.
                    await response.aread()
                    try:
                        yield classify(response.json())
                    except ValueError as exc:
                        raise E.UnexpectedResponse(f"{self.env_name}: bulk push answered {ctype!r}.") from exc
                    return
                async for sse in source.aiter_sse():
                    if sse.data:
                        yield classify_data(sse.data)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ReadTimeout):
                raise
            raise E.RequestTimeout(f"{self.env_name}: the bulk push request timed out.") from exc
        except httpx.ConnectError as exc:
            raise self._connect_error(exc) from exc

    async def _poll_bulk(
        self,
        prefix: str,
        after: str,
        repository_id: str,
        operation: str,
        *,
        groups: list[str] | None = None,
        seen: set[str] | None = None,
    ) -> AsyncIterator[BulkEvent]:
        """Follow ``<prefix>.started/progress/completed`` platform events until the completion."""
        seen = set() if seen is None else seen
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.processing_wait
        types = [f"{prefix}.started", f"{prefix}.progress", f"{prefix}.completed"]
        # The spec's text names the late bulk-push result workspaces.bulkExport.completed: listen for both.
        if prefix == "workspaces.bulkPush":
            types.append("workspaces.bulkExport.completed")
        while loop.time() < deadline:
            found = await self.events(PLATFORM_WORKSPACE_ID, types=types, after_date=after, limit=500, sort="asc")
            for event in sorted(found, key=lambda e: e.created_at):
                if event.id in seen or event.payload.get("repositoryId") not in (None, repository_id):
                    continue
                seen.add(event.id)
                kind = event_type_kind(event.type)
                yield BulkEvent(kind, event.payload, operation, group=groups[0] if groups else None)
                if kind == "completed":
                    return
            await asyncio.sleep(self.poll_interval)
        raise E.BulkIncomplete(
            f"{self.env_name}: no {prefix}.completed event arrived within {self.processing_wait:g}s. "
            "The operation may still be running on the server; do not treat it as a success."
        )

    # ------------------------------------------------------------------ bulk import (polled)
    async def bulk_import(
        self,
        *,
        repository_id: str,
        group: str,
        force_reimport: bool = False,
        request_timeout: float = 120.0,
        on_request_done: Callable[[], None] | None = None,
        seen: set[str] | None = None,
    ) -> AsyncIterator[BulkEvent]:
        """Import ONE group (the guide's rule): progress comes from platform events while it runs.

        ``seen``: ids of platform events already shown (by the previous groups of a run), skipped here."""
        body: dict[str, Any] = {"repository": {"id": repository_id}, "groups": [group]}
        if force_reimport:
            body["forceReimport"] = True
        started = now_iso(-2)
        request = asyncio.create_task(
            self._json(
                "POST",
                "/v2/workspaces/platform/versions/latest/pull",
                json=body,
                params={"timeout": int(request_timeout)},
                timeout=httpx.Timeout(self._timeout, read=request_timeout + 30),
            )
        )
        seen = set() if seen is None else seen
        types = ["workspaces.bulkImport.started", "workspaces.bulkImport.progress"]
        try:
            while not request.done():
                await asyncio.wait({request}, timeout=self.poll_interval)
                async for event in self._new_events(types, started, seen, repository_id, group):
                    yield event
            data = request.result()
            if on_request_done:
                on_request_done()
            async for event in self._new_events(types, started, seen, repository_id, group):
                yield event
            if isinstance(data, dict) and data.get("processing"):
                yield BulkEvent("processing", data, "import", group, message=str(data.get("message") or ""))
                async for event in self._poll_bulk(
                    "workspaces.bulkImport", started, repository_id, "import", groups=[group], seen=seen
                ):
                    yield event
                return
            yield BulkEvent("completed", self._expect(data, dict, "a bulk import summary"), "import", group)
        finally:
            if not request.done():
                request.cancel()

    async def _new_events(
        self, types: list[str], after: str, seen: set[str], repository_id: str, group: str
    ) -> AsyncIterator[BulkEvent]:
        found = await self.events(PLATFORM_WORKSPACE_ID, types=types, after_date=after, limit=500, sort="asc")
        for event in sorted(found, key=lambda e: e.created_at):
            if event.id in seen or event.payload.get("repositoryId") not in (None, repository_id):
                continue
            seen.add(event.id)
            yield BulkEvent(event_type_kind(event.type), event.payload, "import", group)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
