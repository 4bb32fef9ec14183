"""Environment health: reachable, token valid, readiness (the "env doctor" sequence)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.api import errors as E

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient
    from tui.core.ops.context import Context

EXIT_NOT_UP = E.NetworkError.exit_code  # `status`: some environment is not up


@dataclass(frozen=True)
class Health:
    env: str
    reachable: bool
    token_valid: bool | None
    ready: bool | None
    user: str | None = None
    message: str = ""

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
        return {"down": "DOWN", "auth": "TOKEN?", "no-token": "LOGIN", "degraded": "NOT READY", "up": "UP"}[self.state]

    def to_json(self) -> dict[str, object]:
        return {
            "env": self.env,
            "state": self.state,
            "reachable": self.reachable,
            "tokenValid": self.token_valid,
            "ready": self.ready,
            "user": self.user,
            "message": self.message,
        }


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
    except E.PrismeError as exc:  # the token works; readiness is unknown, said
        return Health(env, True, True, None, user=me.email or me.id, message=f"readiness unknown: {exc.message}")
    ready = readiness.ready if readiness.allowed else None
    message = (
        ""
        if ready or ready is None
        else "not ready: " + ", ".join(f"{k}={v}" for k, v in readiness.services.items() if v != "ready")
    )
    return Health(env, True, True, ready, user=me.email or me.id, message=message)


async def check_env(ctx: Context, name: str) -> Health:
    """One configured environment's health, the way the app's environments pane and `status` show it:
    no token is "no-token" (LOGIN) without a request; an unusable setting (a bad CA bundle) is "down"."""
    try:
        client = ctx.client(name)
    except E.AuthenticationFailed as exc:
        return Health(name, True, None, None, message=exc.message)
    except E.PrismeError as exc:
        return Health(name, False, None, None, message=exc.message)
    async with client:
        return await check(name, client)


async def check_all(ctx: Context, names: Iterable[str] | None = None) -> list[Health]:
    """Every environment's health (in parallel), in the order given (default: the configuration's)."""
    wanted = list(ctx.config.environments) if names is None else list(names)
    return list(await asyncio.gather(*(check_env(ctx, name) for name in wanted)))


def exit_code(results: Iterable[Health]) -> int:
    """0 when every environment is up, else 4 (as for a network error): `status` in a pipeline."""
    return 0 if all(h.state == "up" for h in results) else EXIT_NOT_UP
