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
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx  # without its CLI: see tui/core/api/__init__.py
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder

from tui.core import errors as E
from tui.core import limits as L
from tui.core.api import retry
from tui.core.api.budget import (
    OnWait,
    RequestBudget,
    Wait,
    backoff,
    budget_for,
    paced_sleep,
    request_class,
    too_long,
)
from tui.core.api.bulk import BulkEvent, classify, classify_data, event_type_kind
from tui.core.api.capabilities import Capabilities, body_field_refused, capabilities_for, parameter_refused
from tui.core.api.classify import classify as classify_error
from tui.core.api.classify import rate_details, retry_after
from tui.core.api.models import (
    PLATFORM_WORKSPACE_ID,
    Event,
    Me,
    PullResult,
    PushInfo,
    Readiness,
    Repository,
    Version,
    Workspace,
    validate_version_name,
)
from tui.core.audit import note_correlation

USER_AGENT = "prisme-deploy"
PAGE_SIZE = 100
PAGES_AHEAD = 4  # workspace list pages in flight at once (see iter_workspace_pages)
BULK_TIMEOUT = 15  # the workspaces service caps ?timeout at 15 s so that the gateway never answers 408
SECRET_READERS = ("superadmin", "super_admin", "super admin")  # platform roles that read every secret
TEST_LIMIT = 30  # smoke tests (POST .../test/{automation}): 30 a minute per user (2026 docs)
PROGRESS_RESERVE = 5  # event searches kept for completion checks when progress polling is optional
EVENT_POLL_FACTOR, EVENT_POLL_CAP = 1.5, 5.0  # the pause between event searches grows, up to the cap
RATE_RETRIES = 8  # 429s in a row before giving up (each waits the gateway's retryAfter)
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


@functools.lru_cache(maxsize=4)
def _parse_date(header: str) -> datetime | None:
    """A ``Date`` header (whole seconds: answers within one second share it, so it is parsed once)."""
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return server if server.tzinfo is not None else server.replace(tzinfo=UTC)


def server_date(response: httpx.Response) -> datetime | None:
    """The server's clock at the answer (the ``Date`` header, whole seconds)."""
    try:
        return parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None


class _BearerAuth(httpx.Auth):
    """Adds the token at send time so it never sits in client headers, reprs or exceptions."""

    def __init__(self, token: str, provider: Callable[[], Awaitable[str]] | None = None) -> None:
        self.__token = token
        # A short-lived token minted on demand (tui.core.credentials): asked for at each request, so a
        # long run gets a fresh one before the old one expires.
        self.__provider = provider

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.__token:
            request.headers["Authorization"] = f"Bearer {self.__token}"
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.__provider() if self.__provider is not None else self.__token
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
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
        budget: RequestBudget | None = None,
        on_wait: OnWait | None = None,
        deadline: float | None = None,
        limits: L.Limits | None = None,
        token_provider: Callable[[], Awaitable[str]] | None = None,
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
        self.budget = budget or budget_for(base_url, token, self.env_name)
        self.caps: Capabilities = capabilities_for(base_url, token, self.env_name)
        self.notes: list[str] = []  # what was adapted to this instance during this client's life, in words
        self.on_wait = on_wait
        self._clock_offset: float | None = None  # server clock minus ours, from the Date header
        self._last_correlation: str | None = None  # x-correlation-id of the last JSON answer
        self.last_operation: str | None = None  # the correlation id of the last publish (None: unknown)
        verify: bool | ssl.SSLContext = _tls_context(ca_bundle) if verify_tls else False
        self._timeout = timeout
        self.deadline = deadline or default_deadline(timeout)
        self.limits = limits or L.current()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=_BearerAuth(token, token_provider),
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
        self,
        method: str,
        path: str,
        *,
        deadline: float | None = None,
        archive: bool = False,
        limit_class: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request inside the user's budget; a 429 is waited out and retried (it never reached the
        service, so even a POST is safe to send again). Each attempt has a total deadline and a bounded body.
        ``limit_class``: the budget it counts against, where the gateway's classes do not name it."""
        kind = limit_class or request_class(method, path)
        until = time.monotonic() + (deadline or self.deadline)  # no gateway wait outlives the deadline
        for attempt in range(RATE_RETRIES):
            if kind:
                await self.budget.acquire(kind, self.on_wait, until=until)
            response = await self._send_bounded(method, path, deadline=deadline, archive=archive, **kwargs)
            if response.status_code != 429:
                if kind:
                    self.budget.observe(kind, dict(response.headers))
                break
            await self._wait_refused(kind, response, attempt, until)
        if response.status_code >= 400:
            raise self._error_for(response, method, path)
        return response

    async def _send_bounded(
        self, method: str, path: str, *, deadline: float | None, archive: bool, **kwargs: Any
    ) -> httpx.Response:
        """One attempt within a total deadline (httpx's timeout is per read: a trickle never trips it),
        its body read within ``max_json_mb`` (``max_body_mb`` for an ``archive``). A GET whose connection
        dropped is sent again within the same deadline (``retry.idempotent``); no other method is."""
        total = deadline or self.deadline
        try:
            async with asyncio.timeout(total):  # retries of a dropped GET included
                response = await retry.idempotent(
                    method, lambda: self._send_once(method, path, self._body_limit(archive), **kwargs)
                )
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
        self._read_clock(response)
        return response

    async def ready_for(self, kind: str) -> None:
        """Wait (reporting it) until a request of this class may go, without spending the slot (never past
        a deadline when the gateway's own word blocks it)."""
        await self.budget.acquire(kind, self.on_wait, take=False, until=time.monotonic() + self.deadline)

    async def _wait_refused(self, kind: str | None, response: httpx.Response, attempt: int, until: float) -> None:
        """Wait out a 429: its retryAfter (either shape), else a capped backoff; never past ``until``."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        seconds = retry_after(rate_details(body), dict(response.headers))
        seconds = backoff(attempt) if seconds is None else seconds
        if seconds > until - time.monotonic():
            raise too_long(self.env_name, seconds, until - time.monotonic())
        if kind:
            self.budget.refused(kind, seconds)  # the backoff too: every request of the class waits it
            await self.budget.acquire(kind, self.on_wait, take=False, until=until)  # the retry takes its slot
            return
        await self.wait_reported(seconds, kind or "requests")

    async def wait_reported(self, seconds: float, kind: str) -> None:
        """A refused request of no known class: wait ``seconds``, reporting the countdown."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        first = True
        while (left := end - loop.time()) > 0:
            if self.on_wait is not None:
                self.on_wait(Wait(self.env_name, kind, left, True, 0, first))
                first = False
            await paced_sleep(min(1.0, left))

    # ------------------------------------------------------------------ the server's clock
    def _read_clock(self, response: httpx.Response) -> None:
        header = response.headers.get("date")
        if not header:
            return
        server = _parse_date(header)
        if server is not None:
            self._clock_offset = (server - datetime.now(UTC)).total_seconds()

    def server_now(self, delta_seconds: float = 0.0) -> str:
        """Now on the server's clock (its Date header, 1 s resolution), as ``afterDate`` wants it.

        Before any answer the server's clock is unknown: ask for it with a cheap request."""
        offset = self._clock_offset or 0.0
        return now_iso(delta_seconds + offset)

    async def server_since(self, margin: float = 2.0) -> str:
        """An ``afterDate`` for what happens from now on: the server's clock minus a margin."""
        if self._clock_offset is None:
            await self._send_bounded("GET", "/sys/healthcheck", deadline=None, archive=False)
        return self.server_now(-margin)

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
        try:
            body = response.json()
        except ValueError:
            body = {}
        return classify_error(
            response.status_code,
            body if isinstance(body, dict) else {},
            env=self.env_name,
            where=f"{self.env_name}: {method} {path}",
            reason=response.reason_phrase or "",
            correlation_id=response.headers.get("x-correlation-id"),
        )

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        self._last_correlation = response.headers.get("x-correlation-id")
        if method != "GET":  # a change: the journal entry (and the ledger) names the request
            note_correlation(self._last_correlation)
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

    def _check_listing(self, pages: int, items: int) -> None:
        """Pagination is bounded in total ([limits] max_list_pages, max_list_items): a server that never
        ends a listing must not grow this process until it dies."""
        if pages > self.limits.max_list_pages or items > self.limits.max_list_items:
            raise E.ResponseTooLarge(
                f"{self.env_name}: the workspace listing went past {self.limits.max_list_pages} pages or "
                f"{self.limits.max_list_items} workspaces: stopped (a server that never ends its pages?).",
                hint="Raise [limits] max_list_pages / max_list_items if the instance is really that large.",
            )

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

    # ------------------------------------------------------------------ credentials that expire (CI)
    async def service_account_token(
        self, org: str, account: str, client_secret: str, ttl: int | None
    ) -> dict[str, Any]:
        """A short-lived JWT for an organisation's service account (no authentication: the secret is the
        credential). ``{accessToken, expiresAt, ...}``."""
        body: dict[str, Any] = {"clientSecret": client_secret, **({"expiresIn": ttl} if ttl else {})}
        path = f"/v2/orgs/{quote(org, safe='')}/service-accounts/{quote(account, safe='')}/token"
        return self._expect(await self._json("POST", path, json=body), dict, "a token object")

    async def token_exchange(self, provider: str, subject_token: str, ttl: int | None) -> dict[str, Any]:
        """RFC 8693-style exchange of an external IdP's id_token (a CI job's OIDC token) for a Prisme JWT:
        ``User + {sessionId, expires, token}``."""
        body: dict[str, Any] = {
            "provider": provider,
            "subject_token": subject_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            **({"expiresAfter": ttl} if ttl else {}),
        }
        return self._expect(await self._json("POST", "/v2/login/token-exchange", json=body), dict, "a session object")

    async def readiness(self) -> Readiness:
        """Readiness needs a super admin: 401/403 means "not allowed to know", not "down". An instance
        without the route (2024) answers 404 "Route not found": ``available`` False, learned once."""
        if self.caps.missing("readiness"):
            return Readiness(ready=False, services={}, available=False)
        try:
            response = await self._send("GET", "/v2/readiness")
        except (E.PermissionDenied, E.AuthenticationFailed):
            return Readiness(ready=False, services={}, allowed=False)
        except E.BadRequest as exc:  # 400 is the documented "not ready" answer
            return Readiness(ready=False, services={"platform": str(exc.message)})
        except E.PrismeError as exc:
            if self.caps.learn_from("readiness", exc):
                return Readiness(ready=False, services={}, available=False)
            raise
        self.caps.learn("readiness", True)
        return Readiness.from_json(self._expect(response.json(), dict, "a readiness object"))

    async def _capability(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        """A request to an endpoint some instances lack: learn from the answer, and raise
        ``Unsupported`` (without a request once it is known missing) rather than a bare 404."""
        if self.caps.missing(name):
            raise self._unsupported(name)
        try:
            data = await self._json(method, path, **kwargs)
        except E.PrismeError as exc:
            if self.caps.learn_from(name, exc):
                raise self._unsupported(name, exc) from exc
            raise
        self.caps.learn(name, True)
        return data

    def _unsupported(self, name: str, cause: E.PrismeError | None = None) -> E.PrismeError:
        known = self.caps.get(name)
        evidence = f" ({known.evidence})" if known.evidence else ""
        if name in ("events", "events_search"):
            return E.EventsUnavailable(
                f"{self.env_name}: events cannot be read{evidence}.",
                hint=f"Without them: {known.without}.",
                status=cause.status if cause else None,
            )
        return E.Unsupported(
            f"{self.env_name}: this instance does not offer {known.probe}{evidence}.",
            hint=f"Without it: {known.without}.",
            capability=name,
            status=cause.status if cause else None,
        )

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

    async def probe_listing(self) -> None:
        """One page of one workspace: the workspaces service answers (a health probe, never the whole list)."""
        self._expect(await self._json("GET", "/v2/workspaces", params={"limit": 1, "page": 0}), list, "a list")

    async def iter_workspace_pages(
        self, *, labels: list[str] | None = None, dirty: bool | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[list[Workspace]]:
        """Page by page, in order, so a screen can show the first page while the rest arrives.

        After a full first page, up to PAGES_AHEAD pages are asked for at once: the server prepares the next
        ones while this one is read (bench/: load all pages, 50,000 workspaces). The end is known only from
        a short page, so up to PAGES_AHEAD - 1 requests past it are cancelled or answered empty; a platform
        that fits in one page still costs one request."""
        params: dict[str, Any] = {"limit": page_size}
        if labels:
            params["labels"] = ",".join(labels)
        if dirty is not None:
            params["dirty"] = str(dirty).lower()

        async def fetch(page: int) -> list[Any]:
            found = await self._json("GET", "/v2/workspaces", params={**params, "page": page})
            return list(self._expect(found, list, "a list"))

        seen: set[str] = set()
        pending: deque[asyncio.Task[list[Any]]] = deque([asyncio.ensure_future(fetch(0))])
        following = 1
        try:
            while pending:
                items = await pending.popleft()
                self._check_listing(following, len(seen) + len(items))
                fresh = [w for w in items if isinstance(w, dict) and str(w.get("id")) not in seen]
                seen.update(str(item.get("id")) for item in fresh)
                if fresh:
                    yield [Workspace.from_json(item) for item in fresh]
                if len(items) < page_size or not fresh:
                    return
                while len(pending) < PAGES_AHEAD:
                    pending.append(asyncio.ensure_future(fetch(following)))
                    following += 1
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)  # no "exception never retrieved"

    async def get_workspace(self, workspace_id: str, *, listed: dict[str, Any] | None = None) -> Workspace:
        """The workspace document, plus the list fields (dirty, lastPush, lastPull) the spec puts there.
        ``listed``: its item of a ``GET /v2/workspaces`` just read (find_workspace), which carries those
        fields as a listing by id would: not listed again (issue 30: one request less per command)."""
        data = self._expect(await self._json("GET", self._ws(workspace_id)), dict, "a workspace")
        if "dirty" not in data and workspace_id != PLATFORM_WORKSPACE_ID:
            if listed is None:
                found = await self._json("GET", "/v2/workspaces", params={"ids": workspace_id, "limit": 1})
                items = found if isinstance(found, list) else []
                listed = next((i for i in items if isinstance(i, dict) and i.get("id") == workspace_id), {})
            data = {**data, **{k: listed[k] for k in ("dirty", "lastPush", "lastPull") if k in listed}}
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
                return await self.get_workspace(str(item["id"]), listed=item)
        try:
            return await self.get_workspace(slug_or_id)
        except E.NotFound:
            raise E.NotFound(f"{self.env_name}: no workspace with slug or id {slug_or_id!r}.") from None

    async def create_workspace(self, name: str, slug: str) -> Workspace:
        """``POST /v2/workspaces`` (the ledger's own workspace: ``ledger init``)."""
        data = await self._json("POST", "/v2/workspaces", json={"name": name, "slug": slug})
        return Workspace.from_json(self._expect(data, dict, "a workspace"))

    async def webhook(self, workspace_id: str, automation: str, body: dict[str, Any]) -> Any:
        """``POST .../webhooks/{automation}``: runs an endpoint automation (the runtime; learned as ``webhooks``)."""
        path = f"{self._ws(workspace_id)}/webhooks/{segment(automation, 'automation slug')}"
        return await self._capability("webhooks", "POST", path, json=body)

    async def labels(self) -> list[str]:
        return list(self._expect(await self._json("GET", "/v2/workspaces/labels"), list, "a list"))

    async def platform_repositories(self) -> dict[str, Repository]:
        """The platform's repositories (environment variables); ``{}`` on an instance without them (no
        ``platform`` workspace, or no ``platformRepositories`` on it), learned as a capability."""
        if self.caps.missing("platform_repositories"):
            return {}
        try:
            platform = await self.get_workspace(PLATFORM_WORKSPACE_ID)
        except E.NotFound as exc:
            self.caps.learn("platform_repositories", False, f"HTTP {exc.status}: no platform workspace")
            return {}
        repos = platform.platform_repositories
        if "platformRepositories" not in platform.raw:
            self.caps.learn("platform_repositories", False, "the platform workspace lists none")
        else:
            self.caps.learn("platform_repositories", True)
            if repos:
                grouped = any(r.groups for r in repos.values())
                self.caps.learn("groups", grouped, "" if grouped else "no platform repository lists groups")
        return repos

    async def status(self, workspace_id: str) -> dict[str, Any]:
        """``GET .../status`` (edits since the last import). ``Unsupported`` where the route is missing:
        callers then say the edits are unknown, never that none is lost."""
        data = await self._capability("status", "GET", f"{self._ws(workspace_id)}/status")
        return dict(self._expect(data, dict, "a status"))

    async def lock(self, workspace_id: str, reason: str = "manual") -> dict[str, Any]:
        path = f"{self._ws(workspace_id)}/writeLock"
        return dict(await self._capability("write_lock", "POST", path, json={"reason": reason}))

    async def unlock(self, workspace_id: str) -> None:
        await self._capability("write_lock", "DELETE", f"{self._ws(workspace_id)}/writeLock")

    async def secret_names(self, workspace_id: str) -> list[str]:
        """The names of the secrets set on a workspace. The platform answers their values too: they are
        dropped here, before anything else sees the body (never kept, printed, logged or stored)."""
        data = await self._capability("secrets", "GET", f"{self._ws(workspace_id)}/security/secrets")
        names = sorted(str(name) for name in data) if isinstance(data, dict) else None
        del data
        if names is None:
            raise E.UnexpectedResponse(f"{self.env_name}: expected the workspace's secrets as an object.")
        return names

    async def may_read_secrets(self, workspace: Workspace) -> bool | None:
        """Whether this token's user may read ``workspace``'s secrets: True for a super admin or the workspace's
        creator (its owner); None, "cannot tell", otherwise. A real instance answers ``200 {}`` to a user who
        may not read them, so an empty answer means "none set" only when this is True (``/v2/me``)."""
        me = await self.me()
        if (me.platform_role or "").lower() in SECRET_READERS:
            return True
        owner = workspace.raw.get("createdBy")
        return True if me.id and owner == me.id else None

    async def known_secret_names(self, workspace: Workspace) -> list[str] | None:
        """:meth:`secret_names`, or None when the answer is empty and the caller may not be allowed to see
        any (then it is "cannot tell", never "no secret is set")."""
        names = await self.secret_names(workspace.id)
        if names or await self.may_read_secrets(workspace):
            return names
        return None

    async def list_files(self, workspace_id: str, *, limit: int = 500) -> list[dict[str, Any]]:
        """``GET .../files``: the workspace's uploaded files (first ``limit``), each ``{name, url, ...}``."""
        items = self._expect(
            await self._json("GET", f"{self._ws(workspace_id)}/files", params={"limit": limit}), list, "a file list"
        )
        return [f for f in items if isinstance(f, dict)]

    async def workspace_config(self, workspace_id: str, *, exported: dict[str, bytes] | None = None) -> dict[str, Any]:
        """``GET .../config``: ``{schema, block, value}`` (only the keys are ever shown). ``exported``: the
        workspace's files as the caller has just exported them (its current version, after its last change):
        where the instance has no config route, read from them instead of exporting again."""
        try:
            data = await self._capability("config", "GET", f"{self._ws(workspace_id)}/config")
        except E.Unsupported:  # 2024: no such route; the workspace's index carries its config
            self.note_once("no config endpoint on this instance: config keys read from the workspace's index.yml")
            if exported is None:
                from tui.core.diff import files_from_zip

                exported = files_from_zip(await self.export(workspace_id))
            return _config_of_index(exported.get("index.yml", b""))
        return dict(self._expect(data, dict, "a config"))

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
        started = await self.server_since()
        self.last_operation = None
        try:
            data = await self._json_timeout(
                "POST", f"{self._ws(workspace_id)}/versions", timeout, json=body, deadline=self._waiting(timeout)
            )
            self.last_operation = self._last_correlation  # its events carry it: its own steps, no one else's
        except E.GatewayTimeout:
            data = {"processing": True}  # 408: the service goes on; its result arrives as an event
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
        timeout: float | None = BULK_TIMEOUT,
        wait: bool = True,
    ) -> PullResult:
        """Pull ``latest`` or a named version (a rollback is a pull of an older name).

        ``{processing: true}`` and a gateway 408 mean "still running": with ``wait`` the result is
        awaited as a ``workspaces.imported`` event; without, a ``pending`` result is returned at once
        and the caller verifies from the workspace's state (``ops.verify``)."""
        if version == "current":
            raise E.UsageError("Cannot roll back to 'current': pick a published version.")
        body: dict[str, Any] = {}
        if repository_id:
            body["repository"] = {"id": repository_id}
        if discard_local_changes and not self.caps.missing("pull_discard"):
            body["discardLocalChanges"] = True
        if timeout and self.caps.offered("pull_timeout") is None:
            await self.probe_timeout(workspace_id)
        await self.ready_for("imports")  # after a paced wait, "started" is when the pull really goes
        started = await self.server_since()
        path = f"{self._ws(workspace_id)}/versions/{segment(version, 'version name')}/pull"
        try:
            try:
                data = await self._json_timeout("POST", path, timeout, json=body, deadline=self._waiting(timeout))
            except E.BadRequest as exc:
                if "discardLocalChanges" not in body or not body_field_refused(exc, "discardLocalChanges"):
                    raise
                # 2024: a pull's body is {repository} only, and every pull replaces the content anyway.
                self.caps.learn("pull_discard", False, "HTTP 400: body property refused")
                self.note_once("the instance refused discardLocalChanges (an older generation): sent again without it")
                body.pop("discardLocalChanges")
                data = await self._json_timeout("POST", path, timeout, json=body, deadline=self._waiting(timeout))
        except E.GatewayTimeout:
            data = {"processing": True, "message": "the gateway stopped waiting (408); the pull goes on"}
        if isinstance(data, dict) and data.get("processing"):
            if not wait:
                return PullResult.still_running(str(data.get("message") or ""))
            event = await self._wait_event(
                workspace_id,
                "workspaces.imported",
                started,
                lambda e: (e.payload.get("version") or {}).get("name") == version,
            )
            return PullResult.from_json(event.payload, recovered=True)
        return PullResult.from_json(self._expect(data, dict, "a pull result"))

    async def test_automation(
        self, workspace_id: str, automation: str, payload: Any = None, *, rebuild: bool = False
    ) -> Any:
        """``POST /v2/workspaces/{id}/test/{automationSlug}``: the automation's output (smoke tests). It runs
        for real, side effects included. ``rebuild``: right after an import, so that the runtime does not
        serve the previous model. 30 a minute per user: counted in the budget's ``test`` class."""
        path = f"{self._ws(workspace_id)}/test/{segment(automation, 'automation slug')}"
        self.budget.limits.setdefault("test", TEST_LIMIT)  # paced like the gateway's other per-user limits
        params = {"rebuild": "true"} if rebuild else None
        return await self._json("POST", path, json={"payload": payload or {}}, params=params, limit_class="test")

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
        await self.ready_for("imports")
        started = await self.server_since()
        path = f"{self._ws(workspace_id)}/import"
        upload = {"archive": ("workspace.zip", archive, "application/zip")}
        try:
            try:
                query = {} if self.caps.missing("import_prune") else {"prune": str(prune).lower()}
                data = await self._json("POST", path, params=query, files=upload)
            except E.BadRequest as exc:
                if not parameter_refused(exc, "prune"):
                    raise
                # The import merges there anyway: the caller compares the content and names what is left.
                self.caps.learn("import_prune", False, "HTTP 400 Unknown query parameter 'prune'")
                self.note_once("the instance refused ?prune= (an older generation): imported without it, which merges")
                data = await self._json("POST", path, files=upload)
        except E.GatewayTimeout:
            data = {"processing": True}
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
        path = f"{self._ws(workspace_id)}/events"
        data = self._expect(await self._capability("events", "GET", path, params=params), dict, "events")
        result = data.get("result")
        items = result.get("events") if isinstance(result, dict) else None  # `result: "str"`: no events
        return [Event.from_json(e) for e in items if isinstance(e, dict)] if isinstance(items, list) else []

    async def last_import(self, workspace_id: str) -> PushInfo | None:
        """The workspace's last ``workspaces.imported`` event as a pull (version, time): what it runs where the
        instance lists no ``lastPull``. One event search (``POST .../search``, newest first, one document).
        None: no import recorded, or no search left in the budget. ``version`` is None when the event names
        none that can be pulled again ("latest")."""
        if self.budget.room("events") <= 0:
            return None
        body = {
            "query": {"bool": {"filter": [{"term": {"type": "workspaces.imported"}}]}},
            "sort": [{"@timestamp": "desc"}],
            "limit": 1,
            "source": ["payload.version.name", "@timestamp"],
        }
        data = await self._json("POST", f"{self._ws(workspace_id)}/search", json=body)
        documents = data.get("documents") if isinstance(data, dict) else None
        if not isinstance(documents, list) or not documents or not isinstance(documents[0], dict):
            return None
        doc = documents[0]
        version = (doc.get("payload") or {}).get("version")
        name = version.get("name") if isinstance(version, dict) else None
        named = isinstance(name, str) and name not in ("", "latest", "current")
        at = doc.get("@timestamp")
        return PushInfo(name if named else None, at if isinstance(at, str) else None)

    async def search(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST .../search`` (the events service's Elasticsearch search): ``{size, documents, aggs}``.
        One event search of the budget; an instance without it raises Unsupported (learned)."""
        path = f"{self._ws(workspace_id)}/search"
        return self._expect(await self._capability("events_search", "POST", path, json=body), dict, "a search")

    async def search_available(self, workspace_id: str) -> bool:
        """Whether ``POST .../search`` (event search with aggregations) answers here: one empty search, learned
        (``events_search``). Used by ``detect``; the operations read events with ``GET .../events``."""
        try:
            await self._capability(
                "events_search",
                "POST",
                f"{self._ws(workspace_id)}/search",
                json={"query": {"match_all": {}}, "limit": 0},
            )
        except (E.Unsupported, E.EventsUnavailable):
            return False
        return True

    async def _wait_event(
        self, workspace_id: str, event_type: str, after: str, match: Callable[[Event], bool] | None = None
    ) -> Event:
        """The late result of a ``{processing: true}`` answer: the first matching event after ``after``."""

        async def first_match() -> Event | None:
            found = await self.events(workspace_id, types=[event_type], after_date=after, limit=20)
            return next((event for event in found if match is None or match(event)), None)

        # Events are searchable 1 to 5 s late and cost from a 20-per-minute budget: back off.
        event = await retry.poll(
            first_match,
            first=self.poll_interval,
            factor=EVENT_POLL_FACTOR,
            cap=EVENT_POLL_CAP,
            seconds=self.processing_wait,
        )
        if event is not None:
            return event
        raise E.StillProcessing(
            f"{self.env_name}: the server is still processing {workspace_id} after {self.processing_wait:g}s "
            f"and no {event_type} event arrived.",
            hint="It is not done: check the workspace's activity before doing anything else.",
        )

    def _waiting(self, server_wait: float | None) -> float:
        """The deadline of a request the server may hold for ``server_wait`` seconds (its ``timeout``)."""
        return max(self.deadline, (server_wait or 0) + 60)

    async def _json_timeout(self, method: str, path: str, server_wait: float | None, **kwargs: Any) -> Any:
        """A call that may take ``?timeout=`` (seconds the service holds the answer). An instance that
        refuses the parameter (2024: 400 "Unknown query parameter 'timeout'") gets the same call again
        without it, once; the refused call counted in the request budget like any other (it used an
        import slot at the gateway). Said in ``notes``; later calls leave it out from the start."""
        if server_wait and not self.caps.missing("pull_timeout"):
            try:
                data = await self._json(method, path, params={"timeout": int(server_wait)}, **kwargs)
            except E.BadRequest as exc:
                if not parameter_refused(exc, "timeout"):
                    raise
                self.caps.learn("pull_timeout", False, "HTTP 400 Unknown query parameter 'timeout'")
                self.note_once(
                    "the instance refused ?timeout= (an older generation): sent again without it (the refused "
                    "call used an import slot), then followed by the workspace's state"
                )
            else:
                self.caps.learn("pull_timeout", True)
                return data
        return await self._json(method, path, **kwargs)

    async def probe_timeout(self, workspace_id: str) -> None:
        """Whether the instance refuses ``?timeout=``, asked where it costs no import slot: the 2024 service
        validates the query of every route, so ``GET .../versions?timeout=`` answers 400 as the pull would.
        A 200 proves nothing (a route may ignore a parameter): the pull itself still tells."""
        try:
            await self._json("GET", f"{self._ws(workspace_id)}/versions", params={"timeout": 1})
        except E.BadRequest as exc:
            if parameter_refused(exc, "timeout"):
                self.caps.learn("pull_timeout", False, "HTTP 400 Unknown query parameter 'timeout'")
                self.note_once(
                    "the instance refuses ?timeout= (an older generation): sent without it, then followed by "
                    "the workspace's state"
                )
        except E.PrismeError:
            return  # the pull will say what is wrong

    def note_once(self, text: str) -> None:
        """Something adapted to this instance, for the operation's outcome (said once)."""
        if text not in self.notes:
            self.notes.append(text)

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
        # The recovery reads events stamped by the server's clock: "since" is by that clock, never ours.
        started = await self.server_since()
        run = _RunClock(datetime.now(UTC) + timedelta(seconds=self._clock_offset or 0.0), dry_run=dry_run)
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
        if run.dry_run is not None and bool(event.payload.get("dryRun")) != run.dry_run:
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
        pause = self.poll_interval
        types = [f"{prefix}.started", f"{prefix}.progress", f"{prefix}.completed"]
        # The spec's text names the late bulk-push result workspaces.bulkExport.completed: listen for both.
        if prefix == "workspaces.bulkPush":
            types.append("workspaces.bulkExport.completed")
        while loop.time() < deadline:
            found = await self.events(PLATFORM_WORKSPACE_ID, types=types, after_date=after, limit=500, sort="asc")
            for event in sorted(found, key=lambda e: e.created_at):
                if event.id in seen or event.payload.get("repositoryId") not in (None, repository_id):
                    continue
                if groups and not _ours(event, groups[0], seen):
                    continue  # a previous group's, searchable late (or ours, not decidable yet)
                if not self._current_run(event, run, run_groups or groups):
                    continue  # a stale completion (another run's, or from long ago)
                seen.add(event.id)
                seen.add(f"slug:{event.payload.get('workspaceSlug')}")
                kind = event_type_kind(event.type)
                yield BulkEvent(kind, event.payload, operation, group=groups[0] if groups else None)
                if kind == "completed":
                    return
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * EVENT_POLL_FACTOR, EVENT_POLL_CAP)  # late events, a 20-per-minute search budget
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
        request_timeout: float = BULK_TIMEOUT,
        on_request_done: Callable[[], None] | None = None,
        seen: set[str] | None = None,
    ) -> AsyncIterator[BulkEvent]:
        """Import ONE group (the guide's rule): progress comes from platform events while it runs.

        ``?timeout`` stays at most 15 s, as the service caps it: past it the answer is
        ``{processing: true}`` (or, behind a slow gateway, a 408), and the completion is followed
        through the platform's events.

        ``seen``: ids of platform events already shown (by the previous groups of a run), skipped here."""
        body: dict[str, Any] = {"repository": {"id": repository_id}, "groups": [group]}
        if force_reimport:
            body["forceReimport"] = True
        # Wait for the import slot first: events from before the wait (a previous run of the same
        # group) must not read as this run's.
        await self.ready_for("imports")
        started = await self.server_since()
        wait = min(request_timeout, BULK_TIMEOUT)
        request = asyncio.create_task(
            self._json_timeout(
                "POST",
                "/v2/workspaces/platform/versions/latest/pull",
                wait,
                json=body,
                timeout=httpx.Timeout(self._timeout, read=wait + 30),
                deadline=self._waiting(wait),
            )
        )
        seen = set() if seen is None else seen
        types = ["workspaces.bulkImport.started", "workspaces.bulkImport.progress"]
        try:
            pause = self.poll_interval
            while not request.done():
                await asyncio.wait({request}, timeout=pause)
                pause = min(pause * EVENT_POLL_FACTOR, EVENT_POLL_CAP)
                if request.done() or self.budget.room("events") <= PROGRESS_RESERVE:
                    continue  # progress is optional: never spend what the completion check needs
                async for event in self._new_events(types, started, seen, repository_id, group):
                    yield event
            try:
                data = request.result()
            except E.GatewayTimeout as exc:
                data = {"processing": True, "message": exc.message}
            if on_request_done:
                on_request_done()
            async for event in self._new_events(types, started, seen, repository_id, group):
                yield event
            if isinstance(data, dict) and data.get("processing"):
                yield BulkEvent("processing", data, "import", group, message=str(data.get("message") or ""))
                async for event in self._poll_bulk(
                    "workspaces.bulkImport", started, repository_id, "import", groups=[group], seen=seen
                ):
                    if event.kind == "completed":
                        for line in _progress_from_summary(event.payload, seen, group):
                            yield line
                    yield event
                return
            summary = self._expect(data, dict, "a bulk import summary")
            for line in _progress_from_summary(summary, seen, group):
                yield line
            yield BulkEvent("completed", summary, "import", group)
        finally:
            if not request.done():
                request.cancel()

    async def _new_events(
        self, types: list[str], after: str, seen: set[str], repository_id: str, group: str
    ) -> AsyncIterator[BulkEvent]:
        """This group's started and progress events. Events are searchable seconds late, so a read can
        still bring the previous group's: a started event names its groups and workspaces, and a
        progress event counts only for a workspace its group's started event listed."""
        try:
            found = await self.events(PLATFORM_WORKSPACE_ID, types=types, after_date=after, limit=500, sort="asc")
        except E.EventsUnavailable:  # progress is optional: the summary still lists every workspace
            self.note_once("events could not be read: no progress while the bulk import ran")
            return
        for event in sorted(found, key=lambda e: e.created_at):
            if event.id in seen or event.payload.get("repositoryId") not in (None, repository_id):
                continue
            if not _ours(event, group, seen):
                continue
            kind = event_type_kind(event.type)
            seen.add(event.id)
            seen.add(f"slug:{event.payload.get('workspaceSlug')}")
            yield BulkEvent(kind, event.payload, "import", group)


def _ours(event: Event, group: str, seen: set[str]) -> bool:
    """Whether a bulk-import event is this group's. A started or completed event names its groups; a
    progress event counts for a workspace its group's started event listed (until that started event
    is searchable, it stays unread and is looked at again next time)."""
    kind = event_type_kind(event.type)
    # Membership is kept per group: ``seen`` lives for a whole run, and a previous group's progress read
    # late (searchable seconds after it happened) must not count for a later group that started since.
    if kind in ("started", "completed"):
        named = event.payload.get("groups")
        mine = not isinstance(named, list) or not named or group in named
        if not mine:
            seen.add(event.id)
        elif kind == "started":
            members = [w.get("slug") for w in event.payload.get("workspaces") or [] if isinstance(w, dict)]
            seen.update(f"member:{group}:{slug}" for slug in members)
            seen.add(f"member:{group}:*")
        return mine
    if f"member:{group}:*" not in seen:
        return False
    if f"member:{group}:{event.payload.get('workspaceSlug')}" not in seen:
        seen.add(event.id)
        return False
    return True


def _progress_from_summary(summary: dict[str, Any], seen: set[str], group: str) -> list[BulkEvent]:
    """Per-workspace lines the summary lists but no progress event brought yet (events are searchable
    seconds late: a quick import is over before its first progress event can be read)."""
    entries = [w for w in summary.get("workspaces") or [] if isinstance(w, dict)]
    lines = []
    for index, entry in enumerate(entries, 1):
        slug = entry.get("slug") or entry.get("workspaceSlug")
        if not slug or f"slug:{slug}" in seen:
            continue
        seen.add(f"slug:{slug}")
        payload = {**entry, "workspaceSlug": slug, "current": index, "total": len(entries), "fromSummary": True}
        lines.append(BulkEvent("progress", payload, "import", group))
    return lines


def _buffered(response: httpx.Response, body: bytes) -> httpx.Response:
    """A streamed response with the body read (already decoded: no content-encoding to apply again)."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("content-encoding", "content-length")]
    return httpx.Response(response.status_code, headers=headers, content=body, request=response.request)


class _RunClock:
    """When a bulk run started, by the server's clock when it said (its ``Date`` header), else ours."""

    SLACK = timedelta(seconds=1)  # the Date header has whole seconds

    def __init__(self, started_at: datetime, *, dry_run: bool | None = None) -> None:
        self.started_at = started_at
        self.dry_run = dry_run  # a push's recovery never takes the summary of the dry run just before it

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


def _config_of_index(index: bytes) -> dict[str, Any]:
    """``config`` of a workspace's index.yml, as exported (what the instance runs)."""
    import yaml

    try:
        doc = yaml.safe_load(index) or {}
    except yaml.YAMLError:
        return {}
    config = doc.get("config") if isinstance(doc, dict) else None
    return dict(config) if isinstance(config, dict) else {}
