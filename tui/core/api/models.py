"""Typed views of the API's JSON. Every model keeps ``raw`` so nothing the server sent is lost."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from tui.core.errors import InvalidVersionName

VERSION_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a name the user chooses (the server's rule)
# A name the server generates for a push without one (2024: ``M-D-YYYY.N-<epoch ms>``, 25 characters):
# longer than a chosen name may be, and accepted wherever an existing version is named.
GENERATED_NAME_RE = re.compile(r"^\d{1,2}-\d{1,2}-\d{4}\.\d+-\d{10,}$")
PLATFORM_WORKSPACE_ID = "platform"
_T = TypeVar("_T")


def validate_version_name(name: str) -> str:
    """Check a version name the way the server does, before anything is sent."""
    if name == "current":
        raise InvalidVersionName("'current' is reserved for the working state; choose another version name.")
    if not name:
        raise InvalidVersionName("A version name cannot be empty.")
    if name in (".", ".."):
        raise InvalidVersionName(f"Version name {name!r} would be read as a path; choose another version name.")
    if len(name) > 15:
        raise InvalidVersionName(f"Version name {name!r} is {len(name)} characters long; at most 15 are allowed.")
    if not VERSION_NAME_RE.match(name):
        bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9_.-]", c)})
        raise InvalidVersionName(
            f"Version name {name!r} has characters the server refuses: {' '.join(repr(c) for c in bad)}. "
            "Use letters, digits, '.', '_' and '-'."
        )
    return check_git_ref(name)


def is_generated_name(name: str) -> bool:
    return bool(GENERATED_NAME_RE.match(name))


def check_git_ref(name: str) -> str:
    """A version becomes a git tag: refuse what `git check-ref-format` refuses (the push would fail late)."""
    problem = (
        "contains '..'"
        if ".." in name
        else "ends with '.lock'"
        if name.endswith(".lock")
        else "starts with '.'"
        if name.startswith(".")
        else "ends with '.'"
        if name.endswith(".")
        else "starts with '-'"
        if name.startswith("-")
        else "contains '@{'"
        if "@{" in name
        else None
    )
    if problem:
        raise InvalidVersionName(f"Version name {name!r} {problem}: git refuses it as a tag name.")
    return name


def localized(text: Any) -> str:
    """LocalizedText is a string or {lang: text}; show English, else the first language."""
    if isinstance(text, str):
        return text
    if isinstance(text, dict) and text:
        return str(text.get("en") or next(iter(text.values())))
    return ""


_new = object.__new__


def _built(cls: type[_T], **fields: Any) -> _T:
    """A frozen dataclass instance from all its fields, without its generated __init__: that one sets each
    field through object.__setattr__ (the frozen guard), 3x the cost of filling the instance dict at once.
    Callers pass every field (no defaults are applied here); the instance stays frozen afterwards."""
    instance = _new(cls)
    instance.__dict__.update(fields)
    return instance


@dataclass(frozen=True)
class WriteLock:
    locked_at: str | None
    locked_by: str | None
    reason: str

    @classmethod
    def from_json(cls, data: Any) -> WriteLock | None:
        if not isinstance(data, dict) or not data:
            return None
        return cls(data.get("lockedAt"), data.get("lockedBy"), str(data.get("reason") or "manual"))


@dataclass(frozen=True)
class PushInfo:
    version: str | None
    created_at: str | None
    created_by: str | None = None
    repository_id: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> PushInfo | None:
        if not isinstance(data, dict) or not data:
            return None
        get = data.get
        return _built(
            cls,
            version=get("version"),
            created_at=get("createdAt"),
            created_by=get("createdBy"),
            repository_id=get("repositoryId"),
        )


@dataclass(frozen=True)
class Repository:
    id: str
    name: str
    type: str
    mode: str
    branch: str | None = None
    url: str | None = None
    dirpath: str | None = None
    groups: tuple[str, ...] = ()
    origin: str = "platform"  # "platform" (environment variables) or "workspace" (its repositories field)

    @property
    def root(self) -> tuple[str, str, str]:
        """Where a push writes: one workspace per (url, branch, dirpath), as a push rewrites that root."""
        return (self.url or "", self.branch or "", (self.dirpath or "").strip("/"))

    @property
    def writable(self) -> bool:
        return self.mode in ("read-write", "write-only")

    @property
    def readable(self) -> bool:
        return self.mode in ("read-write", "read-only")

    @classmethod
    def from_json(cls, repo_id: str, data: dict[str, Any], origin: str = "platform") -> Repository:
        found = data.get("config")
        config: dict[str, Any] = found if isinstance(found, dict) else {}  # `config: "str"`: no settings
        return cls(
            id=repo_id,
            name=str(data.get("name") or repo_id),
            type=str(data.get("type") or "git"),
            mode=str(data.get("mode") or "read-write"),
            branch=_text(config.get("branch")),
            url=_text(config.get("url")),
            dirpath=_text(config.get("dirpath")),
            groups=strings(data.get("groups")),
            origin=origin,
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def strings(value: Any) -> tuple[str, ...]:
    """A list of names from a server: anything else (``groups: 5``, a mapping) is none; only its
    strings count."""
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(item for item in value if isinstance(item, str))


@dataclass(frozen=True, eq=False)
class Workspace:
    """One workspace as listed. The fields a listing of 50,000 needs at once (filter, sort, the table's visible
    rows) are read when it arrives; its push, pull, lock and repositories are read from ``raw`` the first time
    they are asked for, then kept (bench/ load_pages: 50,000 entries, most never drawn)."""

    id: str
    name: str
    slug: str
    labels: tuple[str, ...] = ()
    dirty: bool = False
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def last_push(self) -> PushInfo | None:
        return PushInfo.from_json(self.raw.get("lastPush"))

    @cached_property
    def last_pull(self) -> PushInfo | None:
        return PushInfo.from_json(self.raw.get("lastPull"))

    @cached_property
    def write_lock(self) -> WriteLock | None:
        return WriteLock.from_json(self.raw.get("writeLock"))

    @cached_property
    def platform_repositories(self) -> dict[str, Repository]:
        repos = self.raw.get("platformRepositories")
        if not isinstance(repos, dict):
            return {}
        return {k: Repository.from_json(k, v) for k, v in repos.items() if isinstance(v, dict)}

    @cached_property
    def own_repositories(self) -> dict[str, Repository]:
        """The workspace's own repositories (its ``repositories`` field: the guide's single- and
        multi-workspace strategies), git ones only (``archive`` only carries pull excludes)."""
        repos = self.raw.get("repositories")
        if not isinstance(repos, dict):
            return {}
        found = {k: Repository.from_json(k, v, "workspace") for k, v in repos.items() if isinstance(v, dict)}
        return {k: r for k, r in found.items() if r.type == "git"}

    @property
    def repositories(self) -> dict[str, Repository]:
        """Every repository ``repository: {id}`` may name for this workspace: its own, then the platform's
        (an id in both is the workspace's own, as the service looks there first)."""
        return {**self.platform_repositories, **self.own_repositories}

    def _compared(self) -> tuple[Any, ...]:
        return (self.id, self.name, self.slug, self.labels, self.dirty, self.last_push, self.last_pull,
                self.write_lock, self.updated_at, self.platform_repositories)  # fmt: skip

    def __eq__(self, other: object) -> bool:  # what it says, not the bytes it came from (raw)
        return isinstance(other, Workspace) and self._compared() == other._compared()

    __hash__ = None  # type: ignore[assignment]  # as before: a workspace holds a dict of repositories

    @property
    def dirty_known(self) -> bool:
        """Whether the instance says if the workspace is dirty (the 2024 server tracked no ``dirty``):
        when it does not, unpushed edits are unknown, and treated as there."""
        return "dirty" in self.raw

    @property
    def live_version(self) -> str | None:
        """What the workspace runs: the newer of its last pull and last push."""
        pull, push = self.last_pull, self.last_push
        if pull and push:
            return pull.version if (pull.created_at or "") >= (push.created_at or "") else push.version
        latest = pull or push
        return latest.version if latest else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workspace:
        """One listing entry; ``raw`` is ``data`` itself, not a copy. Built without the dataclass __init__
        (50,000 of these per full listing), every field set as ``cls(...)`` would."""
        get = data.get
        wid, slug = str(get("id")), get("slug")
        return _built(
            cls,
            id=wid,
            name=str(get("name") or slug or wid),
            slug=str(slug or wid),
            labels=strings(get("labels")),
            dirty=bool(get("dirty")),
            updated_at=get("updatedAt"),
            raw=data,
        )


@dataclass(frozen=True)
class Version:
    name: str
    created_at: str | None
    description: str
    repository_id: str | None = None

    @property
    def source(self) -> str:
        return self.repository_id or "native"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Version:
        repo = data.get("repository") or {}
        return cls(
            name=str(data.get("name")),
            created_at=data.get("createdAt"),
            description=localized(data.get("description")),
            repository_id=repo.get("id") if isinstance(repo, dict) else None,
        )


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created_at: str
    payload: dict[str, Any]
    source: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            id=str(data.get("id")),
            type=str(data.get("type")),
            created_at=str(data.get("createdAt")),
            payload=data.get("payload") or {},
            source=data.get("source") or {},
        )


# The service scans these folders concurrently and reports the first one missing (any of the three).
_INDEX_FOLDERS = ("pages", "imports", "automations")


def index_refresh_warning(entry: Any) -> str | None:
    """A pull's ``errors`` entry that is only the index-refresh warning of the published server (ENOENT
    of the workspace's ``pages/`` or ``imports/`` folder, on every pull of a workspace without one): the
    warning in words, without the server's file path. None for a real error."""
    if not isinstance(entry, dict):
        return None
    found = entry.get("err")
    err: dict[str, Any] = found if isinstance(found, dict) else {}
    path = str(err.get("path") or "").rstrip("/")
    folder = path.rsplit("/", 1)[-1]
    if err.get("code") != "ENOENT" or folder not in _INDEX_FOLDERS or "/" not in path:
        return None
    return (
        f"the platform could not refresh its index of {folder}/ (the workspace has no {folder}/ folder): "
        "some pages or automations may not appear in studio menus"
    )


def without_server_path(entry: Any) -> Any:
    """A pull's ``errors`` entry without the server's file path (``err.path``): never printed or stored."""
    if not isinstance(entry, dict) or not isinstance(entry.get("err"), dict) or "path" not in entry["err"]:
        return entry
    err = {k: v for k, v in entry["err"].items() if k != "path"}
    return {**entry, "err": err}


@dataclass(frozen=True)
class PullResult:
    """Result of a pull, rollback or archive import (``processing`` is never a success)."""

    imported: tuple[str, ...]
    deleted: tuple[str, ...]
    errors: tuple[dict[str, Any], ...]
    workspace: dict[str, Any]
    recovered_from_events: bool = False
    pending: bool = False  # accepted but still running ({processing: true} or a 408): verify from state
    message: str = ""
    warnings: tuple[str, ...] = ()  # entries of ``errors`` that are warnings (index refresh), in words

    @property
    def ok(self) -> bool:
        return not self.errors and not self.pending

    @classmethod
    def still_running(cls, message: str) -> PullResult:
        return cls((), (), (), {}, pending=True, message=message)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, recovered: bool = False) -> PullResult:
        found = data.get("errors")
        entries: list[Any] = found if isinstance(found, list) else []
        warnings = [index_refresh_warning(e) for e in entries]
        return cls(
            imported=tuple(data.get("imported") or data.get("files") or ()),
            deleted=tuple(data.get("deleted") or ()),
            errors=tuple(without_server_path(e) for e, w in zip(entries, warnings, strict=True) if w is None),
            workspace=data.get("workspace") or {},
            recovered_from_events=recovered,
            warnings=tuple(dict.fromkeys(w for w in warnings if w)),
        )


@dataclass(frozen=True)
class Me:
    id: str | None
    email: str | None
    name: str | None
    platform_role: str | None
    expires: str | None = None  # the session's end (ISO), as the platform says it; None: not said

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Me:
        expires = data.get("expires")
        return cls(
            data.get("id"),
            data.get("email"),
            data.get("firstName") or data.get("name"),
            data.get("platformRole"),
            expires if isinstance(expires, str) and len(expires) <= 64 else None,
        )


@dataclass(frozen=True)
class Readiness:
    ready: bool
    services: dict[str, str]
    allowed: bool = True
    available: bool = True  # False: the instance has no readiness endpoint (2024)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Readiness:
        services = {
            name: str((svc or {}).get("status", "unknown")) for name, svc in (data.get("services") or {}).items()
        }
        return cls(ready=data.get("status") == "ready", services=services)
