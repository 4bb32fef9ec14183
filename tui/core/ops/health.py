"""Environment health: reachable, token valid, readiness (the "env doctor" sequence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.api import errors as E

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient


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
    readiness = await client.readiness()
    ready = readiness.ready if readiness.allowed else None
    message = (
        ""
        if ready or ready is None
        else "not ready: " + ", ".join(f"{k}={v}" for k, v in readiness.services.items() if v != "ready")
    )
    return Health(env, True, True, ready, user=me.email or me.id, message=message)
