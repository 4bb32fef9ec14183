"""Releases: a named set of workspace versions, and what each environment runs against it.

A release is recorded from what an environment runs now (``release snapshot --env staging``) or from the
repository's branch head, which is what a bulk push just made (each workspace's ``.import.yml``
version). It is a small YAML manifest committed to the platform repository under ``.releases/`` (outside
the workspaces folder: the platform never imports it), so every operator and CI job sees the same one;
``--store local`` keeps it in the user data folder instead, for a repository you cannot write to.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.core import gitwrite, paths
from tui.core.api import errors as E
from tui.core.gitsource import GitHistory, _git
from tui.core.ops.context import Context
from tui.core.ops.plan import read_repository

FOLDER = ".releases"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Release:
    name: str
    workspaces: dict[str, str | None]
    created_at: str = ""
    created_by: str = "prisme-deploy"
    source: dict[str, Any] = field(default_factory=dict)
    repository: str = ""
    storage: str = "repository"  # or "local"

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.name,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "repository": self.repository,
            "source": self.source,
            "workspaces": dict(sorted(self.workspaces.items())),
        }

    def dump(self) -> str:
        return yaml.safe_dump(self.to_json(), sort_keys=False, allow_unicode=True)

    @classmethod
    def load(cls, text: str, *, storage: str, where: str) -> Release:
        doc = _bounded_yaml(text, where)
        if not isinstance(doc, dict) or not isinstance(doc.get("workspaces"), dict) or not doc.get("release"):
            raise E.UsageError(f"release manifest {where} needs 'release' and a 'workspaces' mapping.")
        versions = {str(k): (str(v) if v is not None else None) for k, v in doc["workspaces"].items()}
        return cls(
            name=str(doc["release"]),
            workspaces=versions,
            created_at=str(doc.get("createdAt") or ""),
            created_by=str(doc.get("createdBy") or ""),
            source=dict(doc["source"]) if isinstance(doc.get("source"), dict) else {},
            repository=str(doc.get("repository") or ""),
            storage=storage,
        )


def _bounded_yaml(text: str, where: str) -> Any:
    """A manifest read as any other server input ([limits]): at most ``manifest_max_mb``, and no alias
    (prisme-deploy never writes one; an alias bomb is a few lines that expand to gigabytes)."""
    from tui.core.limits import MIB, current

    limit = current().manifest_max_mb
    if len(text) > limit * MIB:
        raise E.UsageError(f"release manifest {where} is larger than {limit:g} MB ([limits] manifest_max_mb).")
    try:
        for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
            if isinstance(event, yaml.AliasEvent) or count > current().yaml_max_nodes:
                raise E.UsageError(f"release manifest {where} uses YAML aliases or is too complex: not read.")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise E.UsageError(f"release manifest {where} is not valid YAML: {exc}") from exc


def _read_committed(history: GitHistory, head: str, path: str, where: str) -> str:
    """A manifest committed to the repository, its size checked before it is read (a 10 MB one is not)."""
    from tui.core.limits import MIB, current

    limit = current().manifest_max_mb
    if int(_git(history.repo, "cat-file", "-s", f"{head}:{path}").strip() or 0) > limit * MIB:
        raise E.UsageError(f"release manifest {where} is larger than {limit:g} MB ([limits] manifest_max_mb).")
    return _git(history.repo, "show", f"{head}:{path}")


def _read_local(path: Path) -> str:
    """A local manifest, never through a link, and no more than the limit allows (+1 byte to tell)."""
    from tui.core.limits import MIB, current

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(int(current().manifest_max_mb * MIB) + 1).decode("utf-8", "replace")


def _write_atomic(path: Path, text: str) -> None:
    """Written whole or not at all (a full disk leaves no empty manifest to break every command)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise E.UsageError(f"release name {name!r}: 1 to 64 of A-Z a-z 0-9 _ . - (for example 2026.12.1).")
    return name


def _local_dir(repository: str) -> Path:
    return paths.data_dir() / "releases" / repository


def _repository(ctx: Context, repository: str | None) -> str:
    if repository:
        if repository not in ctx.config.repositories:
            raise E.UsageError(
                f"No local copy of repository {repository!r} is configured.",
                hint=f'Add [repositories.{repository}] with path = "/path/to/clone" (or url).',
            )
        return repository
    if len(ctx.config.repositories) == 1:
        return next(iter(ctx.config.repositories))
    known = ", ".join(sorted(ctx.config.repositories)) or "none configured"
    raise E.UsageError(f"Say which repository holds the releases with --repository (known: {known}).")


# ------------------------------------------------------------------------------------------- record
async def from_env(ctx: Context, env: str, name: str, *, labels: list[str] | None = None) -> Release:
    """What ``env`` runs now: each workspace's live version (its newest pull or push; where the list gives no
    ``lastPull``, its last import event). None: unknown (a rollback to it is a failure, never skipped)."""
    from tui.core.ops import history

    async with ctx.client(env) as client:
        items = await client.list_workspaces(labels=labels)
        versions = await history.live_versions(client, items)
    return Release(check_name(name), versions, source={"kind": "environment", "env": env})


def from_repository(ctx: Context, repository: str, name: str) -> Release:
    """The repository's branch head: the versions a bulk push just made (``.import.yml``)."""
    content = read_repository(ctx, repository)
    versions = {w.slug: w.version for w in content}
    return Release(check_name(name), versions, source={"kind": "repository", "repository": repository})


def save(ctx: Context, release: Release, repository: str | None, *, local: bool = False) -> Release:
    repo_id = _repository(ctx, repository)
    release.repository = repo_id
    release.created_at = release.created_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if any(r.name == release.name for r in list_releases(ctx, repo_id)):
        raise E.UsageError(f"release {release.name!r} already exists in {repo_id}; releases are not rewritten.")
    if local:
        folder = _local_dir(repo_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomic(folder / f"{release.name}.yml", release.dump())
        release.storage = "local"
        return release
    with gitwrite.clone(ctx.config.repositories[repo_id]) as repo:
        (repo / FOLDER).mkdir(exist_ok=True)
        (repo / FOLDER / f"{release.name}.yml").write_text(release.dump(), encoding="utf-8")
        gitwrite.git(repo, "add", "--", f"{FOLDER}/{release.name}.yml")
        author = release.created_by.replace("|", "/")[:120]  # the person who recorded it (issue 28)
        gitwrite.git(repo, "commit", "-q", "-m", f"Release {release.name} | Author : {author}")
        try:
            gitwrite.push(repo, ctx.config.repositories[repo_id].branch)
        except gitwrite.GitWriteError as exc:
            raise E.PermissionDenied(
                f"could not write release {release.name} to repository {repo_id}: {exc.message}",
                hint="For a repository you cannot write to, keep it locally with --store local.",
            ) from exc
    return release


# ------------------------------------------------------------------------------------------- read
def list_releases(ctx: Context, repository: str | None = None, problems: list[str] | None = None) -> list[Release]:
    """Every readable release. A bad manifest (unreadable, too large, an alias bomb) and a name that
    two manifests claim are left out, each said in ``problems``: one bad file disables nothing else,
    and a duplicate is never resolved by a guess (``get`` refuses it, naming both files)."""
    problems = [] if problems is None else problems
    repo_id = _repository(ctx, repository)
    found: dict[str, list[tuple[str, Release]]] = {}
    history = GitHistory(ctx.config.repositories[repo_id])
    history.sync()
    head = history.resolve("", "latest")
    listing = _git(history.repo, "ls-tree", "--name-only", head, "--", f"{FOLDER}/", check=False)
    sources: list[tuple[str, str, Any]] = [
        (f"{repo_id}:{path}", "repository", path) for path in listing.splitlines() if path.endswith(".yml")
    ]
    folder = _local_dir(repo_id)
    sources += [(str(p), "local", p) for p in (sorted(folder.glob("*.yml")) if folder.is_dir() else [])]
    for where, storage, item in sources:
        try:
            text = _read_committed(history, head, item, where) if storage == "repository" else _read_local(item)
            release = Release.load(text, storage=storage, where=where)
        except (E.PrismeError, OSError, UnicodeError) as exc:
            problems.append(getattr(exc, "message", None) or f"release manifest {where}: {exc}")
            continue
        found.setdefault(release.name, []).append((where, release))
    result = []
    for name, claims in found.items():
        if len(claims) > 1:
            problems.append(_duplicate(name, [w for w, _ in claims]))
            continue
        result.append(claims[0][1])
    return sorted(result, key=lambda r: (r.created_at, r.name))


def _duplicate(name: str, files: list[str]) -> str:
    return f"release {name!r} is defined by {len(files)} manifests ({', '.join(files)}): remove all but one."


def get(ctx: Context, name: str, repository: str | None = None) -> Release:
    problems: list[str] = []
    releases = list_releases(ctx, repository, problems)
    for release in releases:
        if release.name == name:
            return release
    for problem in problems:
        if problem.startswith(f"release {name!r} is defined by"):
            raise E.UsageError(problem)
    known = ", ".join(r.name for r in releases) or "none"
    unread = f"; unreadable: {'; '.join(problems)}" if problems else ""
    raise E.NotFound(f"no release {name!r} (known: {known}{unread}).")


# ------------------------------------------------------------------------------------------- compare
@dataclass(frozen=True)
class Difference:
    workspace: str
    old: str | None
    new: str | None
    state: str  # added | removed | changed | drifted

    def to_json(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "from": self.old, "to": self.new, "state": self.state}


def diff(old: dict[str, str | None], new: dict[str, str | None]) -> list[Difference]:
    out = []
    for slug in sorted(set(old) | set(new)):
        if slug not in old:
            out.append(Difference(slug, None, new[slug], "added"))
        elif slug not in new:
            out.append(Difference(slug, old[slug], None, "removed"))
        elif old[slug] != new[slug]:
            out.append(Difference(slug, old[slug], new[slug], "changed"))
    return out


async def diff_env(ctx: Context, env: str, release: Release) -> list[Difference]:
    """The release against what ``env`` runs: missing, other versions, and drift (edits since the import)."""
    async with ctx.client(env) as client:
        items = {w.slug: w for w in await client.list_workspaces()}
        running = {slug: items[slug].live_version for slug in release.workspaces if slug in items}
        out = [d for d in diff(release.workspaces, running) if d.state != "added"]
        same = [slug for slug in release.workspaces if slug in items and running[slug] == release.workspaces[slug]]
        statuses = await asyncio.gather(*(client.status(items[slug].id) for slug in same))
    for slug, status in zip(same, statuses, strict=True):
        if status.get("changes"):
            out.append(Difference(slug, release.workspaces[slug], running[slug], "drifted"))
    return sorted(out, key=lambda d: d.workspace)
