"""Bounds on what a server (or an archive it produced) can make prisme-deploy hold in memory or wait for.

Every byte from a server is hostile: without bounds a 2 GiB export, an endless body, a 2 MB zip bomb
or a seven-line YAML alias bomb exhausts memory. The defaults are generous for real workspaces; each
one is raised in the ``[limits]`` section of the configuration (README, "Limits").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tui.core.settings import NUMBER, declared, kinds, setting

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """``[limits]``: each key declared once (type, default, range, meaning: tui/core/settings.py)."""

    max_json_mb: float = setting(
        NUMBER, 64.0, range=(1, 1_000_000), help="one JSON answer (a page of workspaces, events)"
    )
    max_body_mb: float = setting(NUMBER, 512.0, range=(1, 1_000_000), help="one export archive")
    archive_max_mb: float = setting(NUMBER, 1024.0, range=(1, 1_000_000), help="an archive's total uncompressed size")
    archive_max_entries: int = setting(int, 50_000, range=(1, 10_000_000), help="files in one archive")
    archive_entry_max_mb: float = setting(
        NUMBER, 128.0, range=(1, 1_000_000), help="one file in an archive, uncompressed"
    )
    archive_max_ratio: float = setting(
        NUMBER, 200.0, range=(2, 1_000_000), help="uncompressed / compressed, for entries larger than 1 MiB"
    )
    yaml_max_nodes: int = setting(
        int, 2_000_000, range=(1000, 1_000_000_000), help="nodes of one YAML file once its aliases are expanded"
    )
    yaml_max_aliases: int = setting(int, 100_000, range=(10, 1_000_000_000), help="alias references in one YAML file")
    sse_idle_s: float = setting(
        NUMBER, 600.0, range=(30, 86400), help="a bulk push stream with no line at all for this long is dead"
    )
    max_list_pages: int = setting(
        int, 2_000, range=(1, 1_000_000), help="pages of one listing (a server that never ends its pages)"
    )
    max_list_items: int = setting(
        int, 500_000, range=(100, 100_000_000), help="items of one listing, all pages together"
    )
    manifest_max_mb: float = setting(NUMBER, 1.0, range=(0.01, 1024), help="one release manifest (.releases/*.yml)")
    smoke_output_max_kb: float = setting(
        NUMBER, 16.0, range=(1, 1_000_000), help="a smoke test's output kept in messages, --json and the audit"
    )

    @property
    def max_body(self) -> int:
        return int(self.max_body_mb * MIB)


LIMIT_SETTINGS = declared(Limits)
LIMIT_KEYS = kinds(LIMIT_SETTINGS)  # what each key must be (config validation reads this table)

_current = Limits()


def current() -> Limits:
    return _current


def configure(**values: Any) -> Limits:
    """Set the process's limits (the configuration's [limits]); unknown keys are a programming error."""
    global _current
    _current = replace(Limits(), **values)
    return _current
