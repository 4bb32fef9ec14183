"""Pane 4: the version history of the selected workspace (API, publish events and git tags, merged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.widgets.fixed_table import FixedTable
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Version, Workspace

COLUMNS = (
    ("", "live", 1),
    ("version", "name", 15),
    ("date", "date", 16),
    ("repository", "repo", 10),
    ("changes", "changes", 18),
    ("description", "desc", 40),
)


@dataclass(frozen=True)
class VersionsView:
    workspace: Workspace
    versions: Sequence[Version]
    label_line: str  # the version label and whether the content is that version, in words
    changes: Mapping[str, str] = field(default_factory=dict)
    why_empty: str = ""  # said instead of an empty list


class VersionTable(FixedTable):
    view: var[VersionsView | None] = var(None, init=False, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_mount(self) -> None:
        self.border_title = "4 Versions"

    def watch_view(self, view: VersionsView | None) -> None:
        self.clear()
        if view is None:
            self.border_title = "4 Versions"
            self.border_subtitle = ""
            return
        live = view.workspace.live_version
        for version in view.versions:
            self.add_text_row(
                "*" if version.name == live else "",
                version.name,
                (version.created_at or "")[:16],
                version.source,
                view.changes.get(version.name, ""),
                version.description,
                key=version.name,
            )
        self.border_title = Content(one_line(f"4 Versions · {view.workspace.slug}"))  # a str would be markup
        self.border_subtitle = Content(one_line(view.why_empty or view.label_line))
