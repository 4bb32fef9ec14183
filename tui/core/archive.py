"""Reading workspace archives safely: entry by entry, with bounds, refusing unsafe names.

A hostile instance controls every byte of an export. ``zipfile`` trusts the sizes in the headers, so
entries are read in chunks and counted as they inflate: a zip bomb stops at the first limit, with an
error that names the limit and how to raise it. Names that climb out of a folder (``..``), start at
the root, or carry a backslash or a NUL are refused: passed on to another instance they can write
outside its data folder.
"""

from __future__ import annotations

import io
import zipfile

from tui.core.errors import ArchiveRefused
from tui.core.limits import MIB, Limits, current
from tui.core.text import one_line

_CHUNK = 1024 * 1024
_RATIO_FLOOR = MIB  # small files compress very well (repeated YAML keys): the ratio counts above this


def unsafe_name(name: str) -> str | None:
    """Why an archive entry name is unsafe, or None."""
    if not name:
        return "an empty name"
    if "\x00" in name or "\\" in name:
        return "a NUL or a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if any(part in (".", "..") for part in name.split("/")):
        return "a '.' or '..' segment"
    return None


def _open(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ArchiveRefused(f"{what} is not a valid zip archive ({exc}).") from exc


def check_names(data: bytes, what: str = "the archive") -> None:
    """Refuse an archive with an unsafe entry name before it is passed on to another instance.

    Something that is not a zip at all is the server's to refuse (it answers a clear 400)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return
    with archive:
        for info in archive.infolist():
            reason = unsafe_name(info.filename)
            if reason:
                raise ArchiveRefused(
                    f"{what} has an unsafe entry {one_line(info.filename)!r} ({reason}); it was not passed on.",
                    hint="The source instance produced it: inspect that workspace before promoting it.",
                )


def read_entries(data: bytes, what: str = "the archive", limits: Limits | None = None) -> dict[str, bytes]:
    """Every file of a zip archive (name -> bytes), read entry by entry within ``limits``."""
    bounds = limits or current()
    total_cap, entry_cap = int(bounds.archive_max_mb * MIB), int(bounds.archive_entry_max_mb * MIB)
    files: dict[str, bytes] = {}
    total = 0
    with _open(data, what) as archive:
        infos = archive.infolist()
        if len(infos) > bounds.archive_max_entries:
            raise _too_big(what, f"has {len(infos)} entries", "archive_max_entries", bounds.archive_max_entries)
        for info in infos:
            if info.is_dir():
                continue
            reason = unsafe_name(info.filename)
            if reason:
                raise ArchiveRefused(f"{what} has an unsafe entry {one_line(info.filename)!r} ({reason}).")
            chunks: list[bytes] = []
            size = 0
            try:
                with archive.open(info) as entry:
                    while chunk := entry.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > entry_cap:
                            raise _too_big(
                                what,
                                f"entry {one_line(info.filename)!r} inflates beyond {bounds.archive_entry_max_mb:g} MB",
                                "archive_entry_max_mb",
                                bounds.archive_entry_max_mb,
                            )
                        if total > total_cap:
                            raise _too_big(
                                what,
                                f"inflates beyond {bounds.archive_max_mb:g} MB",
                                "archive_max_mb",
                                bounds.archive_max_mb,
                            )
                        if size > _RATIO_FLOOR and size > bounds.archive_max_ratio * max(info.compress_size, 1):
                            raise _too_big(
                                what,
                                f"entry {one_line(info.filename)!r} inflates more than "
                                f"{bounds.archive_max_ratio:g} times (a zip bomb?)",
                                "archive_max_ratio",
                                bounds.archive_max_ratio,
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
                raise ArchiveRefused(f"{what}: entry {one_line(info.filename)!r} cannot be read ({exc}).") from exc
            files[info.filename] = b"".join(chunks)
    return files


def _too_big(what: str, problem: str, key: str, value: float) -> ArchiveRefused:
    return ArchiveRefused(
        f"{what} {problem}: refused.",
        hint=f"If the workspace really is that large, raise {key} (now {value:g}) in the [limits] section "
        "of the configuration.",
    )
