"""Environment health: reachable, token valid, readiness (the "env doctor" sequence)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tui.core import errors as E
from tui.core.jsonshape import Exported, Shape

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient
    from tui.core.ops.context import Context


@dataclass(frozen=True)
class Health(Exported):
    """One environment's health; its JSON (`status --json`) is its fields and its state."""

    JSON = Shape(computed=("state",), omit_none=("capabilities",))
    env: str
    reachable: bool
    token_valid: bool | None
    ready: bool | None
    user: str | None = None
    message: str = ""
    readiness_endpoint: bool = True  # False: the instance has none (2024); health came from /v2/me + a list
    capabilities: dict[str, object] | None = None  # detected (``detect``), for `status --json` and `info`
    token_expires: str | None = None  # ISO instant the platform gave for this token's session; None: not said
    token_source: str = ""  # environment, keyring, session, or the credential a short-lived token came from

    @property
    def state(self) -> str:
        if not self.reachable:
            return "down"
        if self.token_valid is False:
            return "auth"
        if self.token_valid is None:
            return "no-token"
        if self.ready is False:
            return "degraded"
        return "up"

    @property
    def needs_login(self) -> bool:
        """No token, or one the instance refused: ask for one (the app's login dialog, `login` in a shell)."""
        return self.state in ("no-token", "auth")

    @property
    def label(self) -> str:
        label = {"down": "DOWN", "auth": "TOKEN?", "no-token": "LOGIN", "degraded": "NOT READY", "up": "UP"}[self.state]
        return f"{label} (no readiness endpoint)" if self.state == "up" and not self.readiness_endpoint else label


async def check(env: str, client: PrismeClient) -> Health:
    try:
        me = await client.me()
    except E.AuthenticationFailed as exc:
        return Health(env, True, False, None, message=exc.message)
    except E.NetworkError as exc:
        return Health(env, False, None, None, message=exc.message)
    except E.PrismeError as exc:
        return Health(env, True, None, None, message=exc.message)
    try:
        readiness = await client.readiness()
    except E.NetworkError as exc:  # gone between the two requests
        return Health(env, False, None, None, message=exc.message)
    except E.PrismeError as exc:  # the token works, the readiness check broke (a 5xx): never said UP
        return Health(env, True, True, False, user=me.email or me.id, message=f"readiness check failed: {exc.message}")
    if not readiness.available:
        return replace(await _without_readiness(env, client, me.email or me.id), token_expires=me.expires)
    ready = readiness.ready if readiness.allowed else None
    message = (
        ""
        if ready or ready is None
        else "not ready: " + ", ".join(f"{k}={v}" for k, v in readiness.services.items() if v != "ready")
    )
    return Health(env, True, True, ready, user=me.email or me.id, message=message, token_expires=me.expires)


async def _without_readiness(env: str, client: PrismeClient, user: str | None) -> Health:
    """An instance without ``/v2/readiness`` (2024): the token works (``/v2/me``), and the workspaces
    service answers a one-item list. Said as such: UP (no readiness endpoint)."""
    try:
        await client.probe_listing()
    except E.NetworkError as exc:
        return Health(env, False, None, None, user=user, message=exc.message, readiness_endpoint=False)
    except E.PrismeError as exc:
        return Health(
            env, True, True, False, user=user, message=f"workspace list failed: {exc.message}", readiness_endpoint=False
        )
    return Health(
        env,
        True,
        True,
        True,
        user=user,
        message="no readiness endpoint on this instance: health from /v2/me and a workspace list",
        readiness_endpoint=False,
    )


async def detect(client: PrismeClient) -> dict[str, object]:
    """Learn what the instance offers with read-only requests (one of each kind, one event search, one webhook
    call to no workspace), and return every capability with what follows without it. Nothing is written."""
    caps = client.caps
    with suppress(E.PrismeError):
        await client.readiness()
    with suppress(E.PrismeError):
        await client.platform_repositories()
    if caps.missing("platform_repositories"):  # bulk operations work on platform repositories only
        for name in ("groups", "bulk_push", "bulk_import"):
            caps.learn(name, False, "no platform repositories")
    first = None
    with suppress(E.PrismeError):
        async for page in client.iter_workspace_pages(page_size=1):
            first = page[0] if page else None
            break
    if first is not None:
        reads = (
            client.status(first.id),
            client.workspace_config(first.id),
            client.secret_names(first.id),
            client.events(first.id, limit=1),
            client.probe_timeout(first.id),
            client.search_available(first.id),
        )
        for read in reads:
            with suppress(E.PrismeError):
                await read
    # The runtime (``webhooks``, what a stamped ledger needs), asked as `ledger init` asks: one call to an
    # automation of a workspace that does not exist, which runs and writes nothing. Unasked, it was null.
    from tui.core.ledger.setup import probe_runtime

    with suppress(E.PrismeError):
        await probe_runtime(client)
    return caps.to_json()


async def check_env(ctx: Context, name: str, *, capabilities: bool = False) -> Health:
    """One configured environment's health, the way the app's environments pane and `status` show it:
    no token is "no-token" (LOGIN) without a request; an unusable setting (a bad CA bundle) is "down"."""
    try:
        client = ctx.client(name)
    except E.AuthenticationFailed as exc:
        return Health(name, True, None, None, message=exc.message)
    except E.PrismeError as exc:
        return Health(name, False, None, None, message=exc.message)
    async with client:
        health = await check(name, client)
        if capabilities and health.reachable and health.token_valid:
            health = replace(health, capabilities=await detect(client))
        return replace(health, token_source=ctx.token_source(name))


async def check_all(ctx: Context, names: Iterable[str] | None = None, *, capabilities: bool = False) -> list[Health]:
    """Every environment's health (in parallel), in the order given (default: the configuration's);
    with ``capabilities``, what each instance offers as well (``detect``)."""
    wanted = list(ctx.config.environments) if names is None else list(names)
    return list(await asyncio.gather(*(check_env(ctx, name, capabilities=capabilities) for name in wanted)))
