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
import re
import ssl
from collections.abc import AsyncIterator, Callable, Generator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx  # without its CLI: see tui/core/api/__init__.py
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder

from tui.core import limits as L
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
ERROR_BODY_MAX = 1024 * 1024  # an error answer is a short JSON document: read no more than this
SSE_LINE_MAX = 16 * 1024 * 1024  # one line of a bulk push stream (a summary of thousands of ids fits)


def default_deadline(timeout: float) -> float:
    """The whole request, connect to last byte: generous for a large export, finite for a trickle."""
    return max(120.0, 4 * timeout)


def segment(value: str, what: str = "path segment") -> str:
    """One percent-encoded URL path segment; '.' and '..' would be normalised into another endpoint."""
    if value in ("", ".", ".."):
        raise E.UsageError(f"{what} {value!r} cannot be used in a URL path.")
    return quote(value, safe="")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from the server, or None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def server_date(response: httpx.Response) -> datetime | None:
    """The server's clock at the answer (the ``Date`` header, whole seconds)."""
    try:
        return parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None


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
        deadline: float | None = None,
        limits: L.Limits | None = None,
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
        self.deadline = deadline or default_deadline(timeout)
        self.limits = limits or L.current()
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
    async def _send(
        self, method: str, path: str, *, deadline: float | None = None, archive: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One request within a total deadline (httpx's timeout is per read: a trickle never trips it),
        its body read within ``max_json_mb`` (``max_body_mb`` for an ``archive``)."""
        total = deadline or self.deadline
        try:
            async with asyncio.timeout(total):
                response = await self._send_once(method, path, self._body_limit(archive), **kwargs)
        except TimeoutError as exc:
            raise E.RequestTimeout(
                f"{self.env_name}: {method} {path} did not complete within {total:g}s.",
                hint="The server may still be working; check the workspace's activity before retrying. "
                "A slow but healthy link: raise this environment's deadline in the configuration.",
            ) from exc
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
            raise self._error_for(response, method, path)
        return response

    def _body_limit(self, archive: bool) -> tuple[str, float]:
        """The [limits] key and value (MB) that bound a response body."""
        return ("max_body_mb", self.limits.max_body_mb) if archive else ("max_json_mb", self.limits.max_json_mb)

    async def _send_once(self, method: str, path: str, limit: tuple[str, float], **kwargs: Any) -> httpx.Response:
        request = self._http.build_request(method, path, **kwargs)
        self._check_path(request, path)
        response = await self._http.send(request, stream=True)
        try:
            body = await self._read_body(response, limit, method, path)
        finally:
            await response.aclose()
        return _buffered(response, body)

    def _check_path(self, request: httpx.Request, path: str) -> None:
        """The URL sent is the one built: no '.' or '..' segment was normalised into another endpoint."""
        wanted = path.split("?", 1)[0]
        sent = request.url.raw_path.split(b"?", 1)[0].decode("ascii", errors="replace")
        if not sent.endswith(wanted):
            raise E.UsageError(f"{self.env_name}: refusing to send {method_free(path)}: the URL would become {sent}.")

    async def _read_body(self, response: httpx.Response, bound: tuple[str, float], method: str, path: str) -> bytes:
        """At most ``bound`` (a [limits] key and its MB) of the decoded body: a result beyond it is refused,
        an error answer is cut at ERROR_BODY_MAX."""
        error = response.status_code >= 400
        limit = ERROR_BODY_MAX if error else int(bound[1] * L.MIB)
        declared = response.headers.get("content-length", "")
        if not error and declared.isdigit() and int(declared) > limit:
            raise self._too_large(method, path, bound, int(declared))
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                if error:
                    chunks.append(chunk[: max(0, limit - (size - len(chunk)))])
                    break
                raise self._too_large(method, path, bound)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(
        self, method: str, path: str, bound: tuple[str, float], announced: int | None = None
    ) -> E.ResponseTooLarge:
        key, mb = bound
        return E.ResponseTooLarge(
            f"{self.env_name}: {method} {path} answered more than {mb:g} MB"
            + (f" ({announced / L.MIB:.0f} MB announced)" if announced else "")
            + "; the rest was not read.",
            hint=f"If the answer really is that large, raise {key} (now {mb:g}) in the [limits] section "
            "of the configuration.",
        )

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
        return f"/v2/workspaces/{segment(workspace_id, 'workspace id')}"

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
            "POST",
            f"{self._ws(workspace_id)}/versions",
            json=body,
            params=self._timeout_param(timeout),
            deadline=self._waiting(timeout),
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
            f"{self._ws(workspace_id)}/versions/{segment(version, 'version name')}/pull",
            json=body,
            params=self._timeout_param(timeout),
            deadline=self._waiting(timeout),
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
        await self._json("DELETE", f"{self._ws(workspace_id)}/versions/{segment(version, 'version name')}")

    async def export(self, workspace_id: str, version: str = "current") -> bytes:
        path = f"{self._ws(workspace_id)}/versions/{segment(version, 'version name')}/export"
        response = await self._send("POST", path, json={}, archive=True)
        if not response.content.startswith(b"PK"):
            raise E.UnexpectedResponse(f"{self.env_name}: the export of {workspace_id} is not a zip archive.")
        return response.content

    async def import_archive(self, workspace_id: str, archive: bytes, *, prune: bool = True) -> PullResult:
        """Multipart field ``archive``; the filename must end in .zip (the server checks it).

        An archive with an unsafe entry (``x/../../y``) is refused here: it may come from a hostile
        instance (a promotion), and the target would write it outside its workspace."""
        from tui.core.archive import check_names

        check_names(archive, f"the archive for {workspace_id}")
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

    def _waiting(self, server_wait: float | None) -> float:
        """The deadline of a request the server may hold for ``server_wait`` seconds (its ``timeout``)."""
        return max(self.deadline, (server_wait or 0) + 60)

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
        run = _RunClock(datetime.now(UTC))
        completed = False
        dropped: str | None = None
        try:
            async for event in self._sse("POST", "/v2/workspaces/platform/versions?sse=true", body, run):
                if event.kind == "completed":
                    completed = True
                yield event
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as exc:
            dropped = f"the stream was cut ({type(exc).__name__})"
        except E.StreamIdle as exc:
            dropped = exc.message
        if completed:
            return
        yield BulkEvent(
            "notice",
            {},
            "push",
            message=f"{dropped or 'the stream ended'} without a completed summary; "
            "recovering it from the platform's workspaces.bulkPush.completed events",
        )
        async for event in self._poll_bulk(
            "workspaces.bulkPush", started, repository_id, "push", run=run, run_groups=groups
        ):
            yield event

    async def _sse(self, method: str, path: str, body: dict[str, Any], run: _RunClock) -> AsyncIterator[BulkEvent]:
        """The stream, line by line: each line within the idle deadline (``[limits] sse_idle_s``, longer
        than any keep-alive interval, so a healthy silent push survives), each line within a size cap."""
        idle = self.limits.sse_idle_s
        timeout = httpx.Timeout(self._timeout, read=idle)
        where = path.split("?")[0]
        try:
            async with asyncio.timeout(self.deadline):  # connecting and the first answer
                request = self._http.build_request(method, path, json=body, timeout=timeout)
                self._check_path(request, path)
                response = await self._http.send(request, stream=True)
        except TimeoutError as exc:
            raise E.RequestTimeout(
                f"{self.env_name}: the bulk push request got no answer in {self.deadline:g}s."
            ) from exc
        except httpx.TimeoutException as exc:
            raise E.RequestTimeout(f"{self.env_name}: the bulk push request timed out.") from exc
        except httpx.ConnectError as exc:
            raise self._connect_error(exc) from exc
        try:
            run.started_at = server_date(response) or run.started_at
            if response.status_code >= 400:
                content = await self._read_body(response, self._body_limit(False), method, where)
                raise self._error_for(_buffered(response, content), method, where)
            ctype = response.headers.get("content-type", "")
            if "text/event-stream" not in ctype:
                # A server without SSE answers the summary (or processing) as JSON.
                content = await self._read_body(response, self._body_limit(False), method, where)
                try:
                    yield classify(json.loads(content))
                except ValueError as exc:
                    raise E.UnexpectedResponse(f"{self.env_name}: bulk push answered {ctype!r}.") from exc
                return
            async for sse in self._events(response, idle):
                if sse.data:
                    yield classify_data(sse.data)
        finally:
            await response.aclose()

    async def _events(self, response: httpx.Response, idle: float) -> AsyncIterator[ServerSentEvent]:
        decoder = SSEDecoder()
        lines = _lines(response.aiter_bytes(), SSE_LINE_MAX, self.env_name).__aiter__()
        while True:
            try:
                async with asyncio.timeout(idle):
                    line = await lines.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise E.StreamIdle(f"the stream sent nothing for {idle:g}s") from None
            event = decoder.decode(line)
            if event is not None:
                yield event

    def _current_run(self, event: Event, run: _RunClock | None, run_groups: list[str] | None) -> bool:
        """A completion belongs to this run: created after it started by the server's clock, and for the
        same groups when the payload names them (a stale summary from 2020 is not this run's)."""
        if run is None:
            return True
        created = parse_time(event.created_at)
        if created is None or created < run.not_before:
            return False
        groups = event.payload.get("groups")
        return not (run_groups and isinstance(groups, list) and groups and sorted(groups) != sorted(run_groups))

    async def _poll_bulk(
        self,
        prefix: str,
        after: str,
        repository_id: str,
        operation: str,
        *,
        groups: list[str] | None = None,
        seen: set[str] | None = None,
        run: _RunClock | None = None,
        run_groups: list[str] | None = None,
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
                if not self._current_run(event, run, run_groups or groups):
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
    ) -> AsyncIterator[BulkEvent]:
        """Import ONE group (the guide's rule): progress comes from platform events while it runs."""
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
                deadline=self._waiting(request_timeout),
            )
        )
        seen: set[str] = set()
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


def _buffered(response: httpx.Response, body: bytes) -> httpx.Response:
    """A streamed response with the body read (already decoded: no content-encoding to apply again)."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("content-encoding", "content-length")]
    return httpx.Response(response.status_code, headers=headers, content=body, request=response.request)


class _RunClock:
    """When a bulk run started, by the server's clock when it said (its ``Date`` header), else ours."""

    SLACK = timedelta(seconds=1)  # the Date header has whole seconds

    def __init__(self, started_at: datetime) -> None:
        self.started_at = started_at

    @property
    def not_before(self) -> datetime:
        return self.started_at - self.SLACK


async def _lines(chunks: AsyncIterator[bytes], max_line: int, env_name: str) -> AsyncIterator[str]:
    """Lines of a byte stream (CR, LF or CRLF, as SSE says), each at most ``max_line`` bytes."""
    buffer = b""
    after_cr = False  # a CRLF split across two chunks is one line end
    async for chunk in chunks:
        if after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        after_cr = False
        buffer += chunk
        start = 0
        for match in _LINE_END.finditer(buffer):
            if match.group() == b"\r" and match.end() == len(buffer):
                after_cr = True
            yield buffer[start : match.start()].decode("utf-8", errors="replace")
            start = match.end()
        buffer = buffer[start:]
        if len(buffer) > max_line:
            raise E.ResponseTooLarge(f"{env_name}: one line of the bulk push stream is longer than {max_line} bytes.")
    if buffer:
        yield buffer.decode("utf-8", errors="replace")


_LINE_END = re.compile(rb"\r\n|\r|\n")


def method_free(path: str) -> str:
    return path.split("?", 1)[0]


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
