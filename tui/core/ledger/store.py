"""Ledger channels: ``stamped`` (events the platform stamps with its user) and ``claimed`` (repository commits).

Why events: the api-gateway overwrites ``x-prismeai-user-id`` on every request it forwards and lets no
other ``x-prismeai-*`` header through from outside (SRC-2024 ``services/api-gateway/src/config/system.ts``:
``USER_ID_HEADER``, ``ALLOWED_PRISMEAI_HEADERS_FROM_OUTSIDE``); the runtime runs an endpoint automation with
that user as its broker's source, and every event it emits inherits ``source.userId`` from the parent
source (SRC-2024 ``packages/broker/lib/broker.ts`` child sources; ``events/eventsFactory.ts`` builds
``source``). The body a client posts lands in ``payload``: whatever it claims there, the stamped user is
``source.userId``. Events are read back with ``GET /v2/workspaces/{id}/events?types=`` (api-contract.md).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tui.core import errors as E
from tui.core.ledger.model import (
    AUTOMATION_SLUG,
    EVENT_TYPE,
    LEDGER_SLUG,
    LedgerRecord,
    LedgerUnavailable,
    NotInitialised,
)

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient
    from tui.core.ops.context import Context

Channel = Literal["stamped", "claimed"]
PAGE = 500  # events per page when reading the ledger back
MAX_PAGES = 40  # a bound on one read (20,000 records); a longer history is read with --since
READ_BACK_SECONDS = 15.0  # how long an append waits for the events service to index its record


def parse_at(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _matches(record: LedgerRecord, env: str | None, since: datetime | None, kinds: list[str] | None) -> bool:
    return (
        (env is None or record.env == env)
        and (since is None or record.at >= since)
        and (not kinds or record.kind in kinds)
    )


class Ledger:
    """One instance's ledger. Subclasses: StampedLedger, ClaimedLedger; ``open_ledger`` picks one."""

    channel: Channel

    def __init__(self, ctx: Context, env_name: str) -> None:
        self.ctx = ctx
        self.env_name = env_name
        self._me: tuple[str, str] | None = None
        self.clock_offset = 0.0  # the server's clock minus ours, from its Date header

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[PrismeClient]:
        async with self.ctx.client(self.env_name) as client:
            yield client
            if client._clock_offset is not None:
                self.clock_offset = client._clock_offset

    def now(self) -> datetime:
        """Now on the platform's clock (as far as its Date header told): leases expire on that clock."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    async def whoami(self) -> tuple[str, str]:
        """The platform's user for this token (``GET /v2/me``): id, and a name to show (name, email or id)."""
        if self._me is None:
            async with self._client() as client:
                me = await client.me()
            if not me.id:
                raise LedgerUnavailable(f"{self.env_name}: /v2/me named no user for this token.")
            self._me = (me.id, me.name or me.email or me.id)
        return self._me

    def _body(self, kind: str, env: str, payload: dict[str, Any], me: tuple[str, str]) -> dict[str, Any]:
        # The claimed name travels with the record; it is shown only when the stamped id is the claimed one.
        return {
            "recordId": uuid.uuid4().hex,
            "kind": kind,
            "env": env,
            "payload": payload,
            "claimedUser": {"id": me[0], "name": me[1]},
        }

    async def append(self, kind: str, env: str, payload: dict[str, Any]) -> LedgerRecord:
        raise NotImplementedError

    async def read(
        self, *, env: str | None = None, since: datetime | None = None, kinds: list[str] | None = None
    ) -> list[LedgerRecord]:
        raise NotImplementedError


def record_from(body: Any, *, at: Any, user_id: Any, stamped: bool, fallback_id: str) -> LedgerRecord | None:
    """A record from what a server (or a repository) holds: every byte hostile, anything malformed left out."""
    if not isinstance(body, dict) or not isinstance(user_id, str) or not user_id:
        return None  # no user (an anonymous webhook call): nothing to attribute, never counted
    when = parse_at(at)
    kind, env, payload = body.get("kind"), body.get("env"), body.get("payload")
    if when is None or not isinstance(kind, str) or not isinstance(env, str) or not isinstance(payload, dict):
        return None
    claimed = body.get("claimedUser")
    claimed = claimed if isinstance(claimed, dict) else {}
    name = claimed.get("name") if claimed.get("id") == user_id and isinstance(claimed.get("name"), str) else user_id
    rid = body.get("recordId")
    rid = rid if isinstance(rid, str) and rid else fallback_id
    return LedgerRecord(rid[:64], kind[:40], env[:80], when, user_id[:200], str(name)[:200], stamped, payload)


class StampedLedger(Ledger):
    channel: Channel = "stamped"

    def __init__(self, ctx: Context, env_name: str, workspace_id: str) -> None:
        super().__init__(ctx, env_name)
        self.workspace_id = workspace_id
        self.read_back = True  # an append waits (bounded) to return the record as the platform stamped it

    async def append(self, kind: str, env: str, payload: dict[str, Any]) -> LedgerRecord:
        me = await self.whoami()
        body = self._body(kind, env, payload, me)
        async with self._client() as client:
            try:
                await client.webhook(self.workspace_id, AUTOMATION_SLUG, body)
            except E.PrismeError as exc:
                raise LedgerUnavailable(
                    f"{self.env_name}: the ledger could not record {kind}: {exc.message}",
                    correlation_id=exc.correlation_id,
                ) from exc
            found = await self._read_back(client, body["recordId"]) if self.read_back else None
        if found is not None:
            return found
        # Written, but the events service has not indexed it yet: the identity shown is /v2/me's.
        return LedgerRecord(body["recordId"], kind, env, self.now(), me[0], me[1], False, payload)

    async def _read_back(self, client: PrismeClient, record_id: str) -> LedgerRecord | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_BACK_SECONDS
        delay = 0.05
        while True:
            events = await client.events(
                self.workspace_id, types=[EVENT_TYPE], limit=1, filters={"payload.recordId": record_id}
            )
            for event in events:
                record = self._record(event.payload, event.created_at, event.source, event.id)
                if record is not None and record.id == record_id:
                    return record
            if loop.time() + delay > deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _record(self, payload: Any, created_at: Any, source: Any, event_id: str) -> LedgerRecord | None:
        source = source if isinstance(source, dict) else {}
        if source.get("workspaceId") not in (None, self.workspace_id):
            return None
        return record_from(payload, at=created_at, user_id=source.get("userId"), stamped=True, fallback_id=event_id)

    async def read(
        self, *, env: str | None = None, since: datetime | None = None, kinds: list[str] | None = None
    ) -> list[LedgerRecord]:
        records: list[LedgerRecord] = []
        async with self._client() as client:
            for page in range(MAX_PAGES):
                try:
                    events = await client.events(
                        self.workspace_id,
                        types=[EVENT_TYPE],
                        after_date=iso(since - timedelta(milliseconds=1)) if since else None,
                        limit=PAGE,
                        sort="asc",
                        filters={"page": str(page)},
                    )
                except (E.Unsupported, E.EventsUnavailable, E.ServerError) as exc:
                    raise LedgerUnavailable(
                        f"{self.env_name}: the ledger cannot be read (the events service: {exc.message}).",
                        hint="Leases and approvals there are unknown until it answers again.",
                    ) from exc
                for event in events:
                    record = self._record(event.payload, event.created_at, event.source, event.id)
                    if record is not None and _matches(record, env, since, kinds):
                        records.append(record)
                if len(events) < PAGE:
                    break
        records.sort(key=lambda r: (r.at, r.id))
        return records


class ClaimedLedger(Ledger):
    """Records committed to the platform repository (``.prisme-deploy/ledger/``), one JSON file each: for an
    instance without a runtime (the published 2024 server). The user is the one /v2/me names for the token,
    written by the client: "identity claimed, not stamped"."""

    channel: Channel = "claimed"
    FOLDER = ".prisme-deploy/ledger"

    def __init__(self, ctx: Context, env_name: str, repository: str) -> None:
        super().__init__(ctx, env_name)
        self.repository = repository

    async def append(self, kind: str, env: str, payload: dict[str, Any]) -> LedgerRecord:
        me = await self.whoami()
        body = self._body(kind, env, payload, me)
        at = self.now()
        body["at"] = iso(at)
        await asyncio.to_thread(self._commit, body, me)
        return LedgerRecord(body["recordId"], kind, env, at, me[0], me[1], False, payload)

    def _commit(self, body: dict[str, Any], me: tuple[str, str]) -> None:
        from tui.core import gitwrite

        source = self.ctx.config.repositories[self.repository]
        name = f"{body['at'].replace(':', '')}-{body['recordId']}.json"
        for _attempt in range(5):  # another operator pushed meanwhile: clone again and add ours
            with gitwrite.clone(source) as repo:
                folder = repo / self.FOLDER
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(json.dumps(body, sort_keys=True) + "\n", encoding="utf-8")
                gitwrite.git(repo, "add", "--", f"{self.FOLDER}/{name}")
                who = me[1].replace("|", "/")[:80]
                gitwrite.git(repo, "commit", "-q", "-m", f"ledger {body['kind']} {body['env']} | Author : {who}")
                try:
                    gitwrite.push(repo, source.branch)
                    return
                except gitwrite.GitWriteError:
                    continue
        raise LedgerUnavailable(f"{self.env_name}: could not push the ledger record to {self.repository}.")

    async def read(
        self, *, env: str | None = None, since: datetime | None = None, kinds: list[str] | None = None
    ) -> list[LedgerRecord]:
        bodies = await asyncio.to_thread(self._files)
        records = []
        for fallback, body, order in bodies:
            claimed = body.get("claimedUser") if isinstance(body, dict) else None
            user_id = claimed.get("id") if isinstance(claimed, dict) else None
            record = record_from(body, at=body.get("at"), user_id=user_id, stamped=False, fallback_id=fallback)
            if record is not None and _matches(record, env, since, kinds):
                records.append((order, record))
        # In the order they were committed: a claimed record's time is the writer's clock corrected by a
        # Date header of whole seconds, so two records under a second apart can read in either order; the
        # branch's history cannot (every record is pushed on top of the previous ones).
        records.sort(key=lambda pair: (pair[0], pair[1].at, pair[1].id))
        return [record for _order, record in records]

    def _files(self) -> list[tuple[str, Any, int]]:
        from tui.core import gitwrite

        found: list[tuple[str, Any, int]] = []
        with gitwrite.clone(self.ctx.config.repositories[self.repository]) as repo:
            folder = repo / self.FOLDER
            order = _commit_order(repo, self.FOLDER) if folder.is_dir() else {}
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                if path.is_symlink() or path.stat().st_size > 1_000_000:
                    continue  # never through a link; a record is small
                try:
                    body = json.loads(path.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                found.append((path.stem, body, order.get(path.name, len(order))))
        return found

    def initialised(self) -> bool:
        from tui.core import gitwrite

        with gitwrite.clone(self.ctx.config.repositories[self.repository]) as repo:
            return (repo / self.FOLDER).is_dir()


def _commit_order(repo: Path, folder: str) -> dict[str, int]:
    """Each record file's rank in the branch's history (the commit that added it; oldest first)."""
    from tui.core import gitwrite

    listing = gitwrite.git(repo, "log", "--reverse", "--diff-filter=A", "--format=", "--name-only", "--", folder)
    order: dict[str, int] = {}
    for line in listing.splitlines():
        if line.strip():
            order.setdefault(Path(line.strip()).name, len(order))
    return order


# Per instance (URL): which channel, once found, for the process.
_CHANNELS: dict[str, tuple[str, str]] = {}
_NONE: dict[str, float] = {}  # URL -> when it was found without a ledger (asked again after NONE_TTL)
NONE_TTL = 300.0
_CHANNELS_LOCK = threading.Lock()


def remember(url: str, channel: str, where: str) -> None:
    with _CHANNELS_LOCK:
        _CHANNELS[url] = (channel, where)
        _NONE.pop(url, None)


def forget_all() -> None:
    """Everything remembered about every instance's ledger: asked again on next use (a refresh, tests)."""
    with _CHANNELS_LOCK:
        _CHANNELS.clear()
        _NONE.clear()


def recheck(url: str) -> None:
    """Forget that ``url`` was found without a ledger: the next use looks again (one lookup). A person
    asking now (the app's W) is owed the instance's answer, not one up to NONE_TTL old: another process
    may have run ``ledger init`` meanwhile."""
    with _CHANNELS_LOCK:
        _NONE.pop(url, None)


def ledger_repository(ctx: Context, env_name: str) -> str | None:
    """The repository that holds a claimed ledger: the environment's first, else the only one configured."""
    env = ctx.env(env_name)
    if env.repositories and env.repositories[0] in ctx.config.repositories:
        return env.repositories[0]
    return next(iter(ctx.config.repositories)) if len(ctx.config.repositories) == 1 else None


async def resolve(ctx: Context, env_name: str) -> Ledger:
    """The instance's ledger: its ``prisme-deploy-ledger`` workspace (stamped), else a repository ledger
    (claimed), else LedgerUnavailable saying how to set one up."""
    url = ctx.env(env_name).url
    with _CHANNELS_LOCK:
        known = _CHANNELS.get(url)
        unset = time.monotonic() - _NONE.get(url, -NONE_TTL) < NONE_TTL
    if unset:
        raise _not_initialised(env_name)
    if known is not None and known[0] == "stamped":
        return StampedLedger(ctx, env_name, known[1])
    if known is not None:
        return ClaimedLedger(ctx, env_name, known[1])
    async with ctx.client(env_name) as client:
        try:
            workspace = await client.find_workspace(LEDGER_SLUG)
        except E.NotFound:
            workspace = None
    if workspace is not None:
        remember(url, "stamped", workspace.id)
        return StampedLedger(ctx, env_name, workspace.id)
    repository = ledger_repository(ctx, env_name)
    if repository is not None:
        claimed = ClaimedLedger(ctx, env_name, repository)
        if await asyncio.to_thread(claimed.initialised):
            remember(url, "claimed", repository)
            return claimed
    with _CHANNELS_LOCK:
        _NONE[url] = time.monotonic()
    raise _not_initialised(env_name)


def _not_initialised(env_name: str) -> NotInitialised:
    return NotInitialised(
        f"{env_name}: no ledger on this instance.",
        hint=f"Run `prisme-deploy ledger init --env {env_name}` (once per instance).",
    )


class LazyLedger(Ledger):
    """What ``open_ledger`` returns: the channel is found on first use (one workspace lookup per process)."""

    def __init__(self, ctx: Context, env_name: str) -> None:
        super().__init__(ctx, env_name)
        self._inner: Ledger | None = None

    async def inner(self) -> Ledger:
        if self._inner is None:
            self._inner = await resolve(self.ctx, self.env_name)
        return self._inner

    @property
    def channel(self) -> Channel:  # type: ignore[override]
        """Known after the first call (``claimed`` until then: unknown is never the stronger claim)."""
        return self._inner.channel if self._inner is not None else "claimed"

    def now(self) -> datetime:
        return self._inner.now() if self._inner is not None else super().now()

    async def whoami(self) -> tuple[str, str]:
        """/v2/me: the same on every channel, and without a ledger set up (release manifests name the person)."""
        return await super().whoami()

    async def append(self, kind: str, env: str, payload: dict[str, Any]) -> LedgerRecord:
        return await (await self.inner()).append(kind, env, payload)

    async def read(
        self, *, env: str | None = None, since: datetime | None = None, kinds: list[str] | None = None
    ) -> list[LedgerRecord]:
        return await (await self.inner()).read(env=env, since=since, kinds=kinds)


def open_ledger(ctx: Context, env_name: str) -> Ledger:
    ctx.env(env_name)  # an unknown name fails here, with a "did you mean"
    return LazyLedger(ctx, env_name)
