"""Pane 1: the configured environments, one line each with their health (24 columns at 80x24)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.config import Environment
    from tui.core.ops.health import Health


@dataclass(frozen=True)
class EnvironmentsView:
    environments: tuple[Environment, ...]
    current: str | None
    health: Mapping[str, Health] = field(default_factory=dict)


class EnvironmentList(OptionList):
    view: var[EnvironmentsView | None] = var(None, init=False, always_update=True)

    def watch_view(self, view: EnvironmentsView | None) -> None:
        if view is None:
            return
        highlighted = self.highlighted
        self.clear_options()
        for env in view.environments:
            state = view.health.get(env.name)
            status = state.label if state else "…"
            marks = " RO" if env.read_only else ""
            # One line per environment even in the 24-column side pane at 80x24.
            self.add_option(Option(Content(one_line(f"{env.name:9.9} {env.badge:4.4} {status}{marks}")), id=env.name))
        names = [env.name for env in view.environments]
        if view.current in names:
            self.highlighted = names.index(view.current)
        elif highlighted is not None:
            self.highlighted = highlighted
