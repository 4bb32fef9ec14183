"""Bounds on what a server (or an archive it produced) can make prisme-deploy hold in memory or wait for.

Every byte from a server is hostile: without bounds a 2 GiB export, an endless body, a 2 MB zip bomb
or a seven-line YAML alias bomb exhausts memory. The defaults are generous for real workspaces; each
one is raised in the ``[limits]`` section of the configuration (README, "Limits").
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_json_mb: float = 64.0  # one JSON answer (a page of workspaces, events): far beyond any real one
    max_body_mb: float = 512.0  # one export archive
    archive_max_mb: float = 1024.0  # an archive's total uncompressed size
    archive_max_entries: int = 50_000  # files in one archive
    archive_entry_max_mb: float = 128.0  # one file in an archive, uncompressed
    archive_max_ratio: float = 200.0  # uncompressed / compressed, for entries larger than 1 MiB
    yaml_max_nodes: int = 2_000_000  # nodes of one YAML file once its aliases are expanded
    yaml_max_aliases: int = 100_000  # alias references in one YAML file
    sse_idle_s: float = 600.0  # a bulk push stream with no line at all for this long is dead
    max_list_pages: int = 2_000  # pages of one listing (endless pagination: a server that never ends it)
    max_list_items: int = 500_000  # items of one listing, all pages together
    manifest_max_mb: float = 1.0  # one release manifest (.releases/*.yml)
    smoke_output_max_kb: float = 16.0  # a smoke test's output kept in messages, --json and the audit

    @property
    def max_body(self) -> int:
        return int(self.max_body_mb * MIB)


# Keys of [limits] and what they must be (config validation reads this table).
LIMIT_KEYS: dict[str, type | tuple[type, ...]] = {
    f.name: (int, float) if f.type in ("float", float) else int for f in fields(Limits)
}

_current = Limits()


def current() -> Limits:
    return _current


def configure(**values: Any) -> Limits:
    """Set the process's limits (the configuration's [limits]); unknown keys are a programming error."""
    global _current
    _current = replace(Limits(), **values)
    return _current
