"""DSUL workspace folders: the files a workspace is made of, their checksums, and zip archives.

A workspace is a mapping ``relative path -> bytes`` of YAML files: ``index.yml``, ``security.yml``,
``automations/<slug>.yml``, ``pages/<slug>.yml`` (nested when the slug has a ``/``) and
``imports/<slug>.yml``. ``.import.yml`` is metadata, regenerated on export and push.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import yaml

Files = dict[str, bytes]
KINDS = ("automations", "pages", "imports")
ROOT_FILES = ("index.yml", "security.yml")
IMPORT_META = ".import.yml"
MAX_ARCHIVE_FILES = 5000


class ArchiveError(ValueError):
    """An uploaded archive that cannot be imported (wrong layout, too many files...)."""


class UnsafePath(ArchiveError):
    """A path that would leave the workspace folder (``..``, absolute, a backslash)."""


def unsafe_reason(rel: str) -> str | None:
    """Why ``rel`` cannot name a file inside a workspace folder, or None when it can."""
    if not rel or "\x00" in rel or "\\" in rel:
        return "an empty name, a NUL or a backslash"
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return "an absolute path"
    if any(part in ("", ".", "..") for part in rel.split("/")):
        return "an empty, '.' or '..' segment"
    return None


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel``, refused unless it resolves inside ``root`` (symbolic links included)."""
    reason = unsafe_reason(rel)
    target = root / rel
    if reason is None and not target.resolve().is_relative_to(root.resolve()):
        reason = "a path that resolves outside the workspace"
    if reason:
        raise UnsafePath(f"Refused path {rel!r}: {reason}.")
    return target


def read_tree(root: Path) -> Files:
    files: Files = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            if is_content_path(rel) or rel == IMPORT_META:
                files[rel] = path.read_bytes()
    return files


def write_tree(root: Path, files: Files) -> None:
    """Replace the folder's content with ``files`` (written beside, then swapped in)."""
    staging = root.with_name(root.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = safe_join(staging, rel)  # every write stays under the workspace folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    staging.mkdir(parents=True, exist_ok=True)
    old = root.with_name(root.name + ".old")
    if root.exists():
        os.replace(root, old)
    os.replace(staging, root)
    if old.exists():
        shutil.rmtree(old)


def is_content_path(rel: str) -> bool:
    if unsafe_reason(rel):
        return False
    if rel in ROOT_FILES:
        return True
    head, _, rest = rel.partition("/")
    return head in KINDS and rest.endswith((".yml", ".yaml")) and not rest.endswith("__index__.yml")


def content(files: Files) -> Files:
    """The versioned files only (no .import.yml)."""
    return {k: v for k, v in files.items() if is_content_path(k)}


def object_key(rel: str) -> tuple[str, str] | None:
    """``automations/foo.yml`` -> ("automations", "foo"); root files -> None."""
    head, _, rest = rel.partition("/")
    if head not in KINDS:
        return None
    return head, rest.rsplit(".", 1)[0]


def checksum(data: bytes) -> str:
    # Real exports carry 32 hex characters; MD5 of the file matches that shape.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def checksums(files: Files) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for rel, data in files.items():
        key = object_key(rel)
        if key:
            result[key[0]][key[1]] = checksum(data)
    return result


def load_yaml(data: bytes) -> Any:
    try:
        return yaml.safe_load(data.decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}


def dump_yaml(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode("utf-8")


def import_meta(
    *,
    workspace_id: str,
    exported_at: str,
    files: Files,
    version_name: str | None = None,
    groups: list[str] | None = None,
    depends_on: list[str] | None = None,
    app: dict[str, Any] | None = None,
) -> bytes:
    meta: dict[str, Any] = {"workspaceId": workspace_id, "version": {"type": "export"}}
    if version_name:
        meta["version"]["name"] = version_name
    meta["version"]["exportedAt"] = exported_at
    if groups is not None:
        meta["groups"] = groups
    if depends_on:
        meta["dependsOn"] = depends_on
    if app:
        meta["app"] = app
    meta["checksums"] = checksums(files)
    return dump_yaml(meta)


def to_zip(files: Files, root: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{root}/{rel}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[rel])
    return buffer.getvalue()


def from_zip(data: bytes) -> Files:
    """Read an archive as the server does: strip the first path segment, keep yml/yaml/json only."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ArchiveError("The upload is not a zip archive.") from exc
    names = [n for n in archive.namelist() if not n.endswith("/")]
    if len(names) > MAX_ARCHIVE_FILES:
        raise ArchiveError(f"The archive has {len(names)} files; at most {MAX_ARCHIVE_FILES} are accepted.")
    files: Files = {}
    for name in names:
        parts = name.split("/", 1)
        if len(parts) < 2 or not parts[1]:
            continue  # files at the archive root are ignored, as on a real instance
        rel = parts[1]
        reason = unsafe_reason(rel)
        if reason:
            raise ArchiveError(f"The archive entry {name!r} is refused: {reason}.")
        if not rel.endswith((".yml", ".yaml", ".json")) or rel.endswith("__index__.yml") or rel == "runtime.yml":
            continue
        files[rel] = archive.read(name)
    return files
