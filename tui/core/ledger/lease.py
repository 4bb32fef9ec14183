"""Leases: one operation at a time per environment, across machines, through the ledger.

A lease is a ``lease`` record (id, operation, subject, ttl) renewed while the operation runs and closed by a
``lease-release``; it expires ``ttl`` seconds after its latest record, on the platform's clock (the records'
``at``). Two operators taking one at once both append, then both read: the earlier record wins, the later
releases its own and is refused. A ledger that cannot be read is not a free environment: the lease is refused
(unknown is never safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tui.core.errors import PrismeError
from tui.core.ledger.model import LedgerRecord
from tui.core.ledger.store import Ledger

if TYPE_CHECKING:
    from tui.core.ops.context import Context

DEFAULT_TTL = 1800  # seconds: renewed every third of it while the operation runs
MAX_TTL = 86400  # a record asking for longer is read as DEFAULT_TTL
LEASE_KINDS = ["lease", "lease-release", "lease-takeover"]


class LeaseHeld(PrismeError):
    """Another operator (or CI) holds the environment's lease: exit 1, naming who and since when."""

    kind = "lease_held"


@dataclass(frozen=True)
class Lease:
    id: str
    env: str
    operation: str
    subject: str
    holder_id: str
    holder_name: str
    since: datetime
    expires: datetime
    stamped: bool
    took_over: tuple[str, ...] = ()  # the leases this one took over (--take-over), described

    def describe(self) -> str:
        """'prod: rollout of 2026.12.1 by alice since 10:02 (expires 10:32)' (local times, as every table)."""
        of = f" of {self.subject}" if self.subject else ""
        since, expires = self.since.astimezone(), self.expires.astimezone()
        claimed = "" if self.stamped else " (identity claimed)"
        return (
            f"{self.env}: {self.operation}{of} by {self.holder_name}{claimed} "
            f"since {since:%H:%M} (expires {expires:%H:%M})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "env": self.env,
            "operation": self.operation,
            "subject": self.subject,
            "holder": {"id": self.holder_id, "name": self.holder_name},
            "since": self.since.isoformat(),
            "expires": self.expires.isoformat(),
            "stamped": self.stamped,
        }


def active(records: list[LedgerRecord], env: str, now: datetime) -> list[Lease]:
    """The leases on ``env`` not released, taken over nor expired at ``now``, oldest first."""
    first: dict[str, LedgerRecord] = {}
    latest: dict[str, LedgerRecord] = {}
    closed: set[str] = set()
    for record in records:  # oldest first
        lease_id = record.payload.get("lease")
        if record.env != env or not isinstance(lease_id, str):
            continue
        if record.kind == "lease":
            first.setdefault(lease_id, record)
            latest[lease_id] = record
        elif record.kind == "lease-release" or record.kind == "lease-takeover":
            closed.add(lease_id)
    leases = []
    for lease_id, start in first.items():
        last = latest[lease_id]
        ttl = _ttl(last.payload.get("ttl"))
        expires = last.at + timedelta(seconds=ttl)
        if lease_id in closed or expires <= now:
            continue
        leases.append(
            Lease(
                lease_id,
                env,
                str(start.payload.get("operation") or "change")[:40],
                str(start.payload.get("subject") or "")[:80],
                start.user_id,
                start.user_name,
                start.at,
                expires,
                start.stamped,
            )
        )
    leases.sort(key=lambda lease: (lease.since, lease.id))
    return leases


def _ttl(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and 0 < value <= MAX_TTL else DEFAULT_TTL


LOOK_BACK = timedelta(seconds=MAX_TTL + 3600)  # older lease records have all expired: not read


async def current(ledger: Ledger, env: str) -> list[Lease]:
    """The live leases on ``env``. Only the last day's records are read (a lease expires at most MAX_TTL after
    its latest renewal), so a long ledger costs no more to check."""
    now = ledger.now()
    records = await ledger.read(kinds=LEASE_KINDS, since=now - LOOK_BACK)
    return active(records, env, now)


async def acquire(
    ledger: Ledger,
    env: str,
    operation: str,
    subject: str = "",
    *,
    ttl: int = DEFAULT_TTL,
    wait: float = 0.0,
    take_over: bool = False,
    on_wait: Callable[[Lease], object] | None = None,
) -> Lease:
    """Take the lease on ``env``: wait up to ``wait`` seconds for another holder to finish, or take it over
    (``take_over``: recorded as a ``lease-takeover`` naming the previous holder). LeaseHeld otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = 0.2
    took_over: list[str] = []
    while True:
        others = await current(ledger, env)
        if others and take_over:
            for other in others:
                took_over.append(other.describe())
                await ledger.append(
                    "lease-takeover",
                    env,
                    {"lease": other.id, "previous": other.to_json(), "reason": "--take-over"},
                )
            others = []
        if not others:
            mine = await _append_lease(ledger, env, operation, subject, ttl, str(uuid.uuid4()))
            contenders = await current(ledger, env)
            winner = contenders[0] if contenders else None
            if winner is None or winner.id == mine.id:
                return dataclasses.replace(mine, took_over=tuple(took_over))
            await release(ledger, mine)  # someone took it in the same instant, before us
            others = [winner]
        if loop.time() + delay > deadline:
            raise LeaseHeld(
                f"{others[0].describe()}: the environment is leased.",
                hint="Wait for it (--wait-lease SECONDS), or take it over (--take-over; recorded in the ledger).",
            )
        if on_wait is not None:
            on_wait(others[0])
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def _append_lease(ledger: Ledger, env: str, operation: str, subject: str, ttl: int, lease_id: str) -> Lease:
    payload = {"lease": lease_id, "operation": operation, "subject": subject, "ttl": ttl}
    record = await ledger.append("lease", env, payload)
    return Lease(
        lease_id,
        env,
        operation,
        subject,
        record.user_id,
        record.user_name,
        record.at,
        record.at + timedelta(seconds=ttl),
        record.stamped,
    )


async def renew(ledger: Ledger, lease: Lease, ttl: int = DEFAULT_TTL) -> Lease:
    return await _append_lease(ledger, lease.env, lease.operation, lease.subject, ttl, lease.id)


async def release(ledger: Ledger, lease: Lease) -> None:
    await ledger.append("lease-release", lease.env, {"lease": lease.id})


@asynccontextmanager
async def held(
    ledger: Ledger,
    env: str,
    operation: str,
    subject: str = "",
    *,
    ttl: int = DEFAULT_TTL,
    wait: float = 0.0,
    take_over: bool = False,
    on_wait: Callable[[Lease], object] | None = None,
) -> AsyncIterator[Lease]:
    """The lease for the block: renewed every third of ``ttl`` while it runs, released when it ends."""
    lease = await acquire(ledger, env, operation, subject, ttl=ttl, wait=wait, take_over=take_over, on_wait=on_wait)

    async def keep() -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            with contextlib.suppress(PrismeError):  # a missed renewal: the next one, or the expiry, says it
                await renew(ledger, lease, ttl)

    renewer = asyncio.ensure_future(keep())
    try:
        yield lease
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        with contextlib.suppress(PrismeError):  # not released: it expires on its own
            await release(ledger, lease)


@asynccontextmanager
async def for_environments(
    ctx: Context,
    envs: list[str],
    operation: str,
    subject: str = "",
    *,
    say: Callable[[str], object] | None = None,
) -> AsyncIterator[list[Lease]]:
    """A lease on each environment an operation changes (one per instance), for the block; ``ctx.lease_wait``
    and ``ctx.take_over`` as the operator asked. An instance whose ledger was never set up has no leases to
    honour: it is said (``say``), not refused. A ledger that cannot be read refuses (LedgerUnavailable)."""
    from tui.core.ledger.store import NotInitialised, open_ledger

    def waiting(other: Lease) -> None:
        if say is not None:
            say(f"waiting for the lease: {other.describe()}")

    seen: set[str] = set()
    async with contextlib.AsyncExitStack() as stack:
        leases = []
        for env in envs:
            url = ctx.env(env).url
            if url in seen or env in ctx.leased:  # a rollout's bulk imports run under the rollout's lease
                continue
            seen.add(url)
            try:
                lease = await stack.enter_async_context(
                    held(
                        open_ledger(ctx, env),
                        env,
                        operation,
                        subject,
                        wait=ctx.lease_wait,
                        take_over=ctx.take_over,
                        on_wait=waiting,
                    )
                )
            except NotInitialised:
                if say is not None:
                    say(f"{env}: no ledger on this instance, so no lease (prisme-deploy ledger init --env {env})")
                continue
            leases.append(lease)
            ctx.leased.add(env)
            stack.callback(ctx.leased.discard, env)
            if say is not None:
                say(f"lease taken: {lease.describe()}")
                for previous in lease.took_over:
                    say(f"{env}: took over the lease ({previous}); recorded in the ledger")
        yield leases
