"""The banner: which environment, its URL, protection and health, in text (never colour alone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var
from textual.widgets import Static

from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.config import Environment
    from tui.core.ops.health import Health


@dataclass(frozen=True)
class BannerView:
    env: Environment | None
    writable: bool = True
    health: Health | None = None
    frozen: bool = False  # inside a freeze window now
    at_risk: tuple[str, ...] = ()  # workspaces rolled back that the next restart re-imports over


class Banner(Static):
    view: var[BannerView | None] = var(None, init=False, always_update=True)

    def watch_view(self, view: BannerView | None) -> None:
        self.update(Content(banner_text(view)))


def banner_text(view: BannerView | None) -> str:
    env = view.env if view else None
    if view is None or env is None:
        return " prisme-deploy: no environment"
    flags = (["PROTECTED"] if env.protected else []) + ([] if view.writable else ["READ-ONLY"])
    flags += (["FROZEN"] if view.frozen else []) + ([f"AT RISK: {','.join(view.at_risk)}"] if view.at_risk else [])
    return one_line(
        f" {env.badge} · {env.name} · {env.url}"
        + (f" · {' '.join(flags)}" if flags else "")
        + (f" · {view.health.label}" if view.health else "")
    )
