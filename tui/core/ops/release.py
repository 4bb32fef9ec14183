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
from typing import TYPE_CHECKING, Any

import yaml

from tui.core import errors as E
from tui.core import gitwrite, paths
from tui.core.gitsource import GitHistory, _git
from tui.core.jsonshape import Exported, Shape
from tui.core.ops.context import Context
from tui.core.ops.repo_content import read_repository

if TYPE_CHECKING:
    from tui.core.audit import Who

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
    # The last mark (``release reject`` / ``accept``): {state: rejected|accepted, by, at, reason}; the
    # repository's history keeps every earlier one (each mark is a commit).
    verdict: dict[str, str] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return self.verdict.get("state") == "rejected"

    def to_json(self) -> dict[str, Any]:
        doc = {
            "release": self.name,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "repository": self.repository,
            "source": self.source,
            "workspaces": dict(sorted(self.workspaces.items())),
        }
        return {**doc, "verdict": self.verdict} if self.verdict else doc

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
            verdict=_verdict(doc.get("verdict")),
        )


def _verdict(value: Any) -> dict[str, str]:
    """A mark read back: only its known keys, as text; a state other than the two is no mark at all."""
    if not isinstance(value, dict) or value.get("state") not in ("rejected", "accepted"):
        return {}
    return {k: str(value[k]) for k in VERDICT_KEYS if value.get(k) is not None}


# A verdict's keys: who (``by``; ``userId`` when the platform named them, ``identity`` how that is known,
# ``hostUser`` the login it was typed from), when, why, and the verdict of the same state it replaced.
VERDICT_KEYS = ("state", "by", "userId", "identity", "hostUser", "at", "reason", "replaces")


def verdict_words(verdict: dict[str, str]) -> str:
    """ "rejected by Alice (u-1) (platform user (...), from host login bob) on 2026-12-07T03:00:00+00:00: why"."""
    from tui.core.audit import who_words

    who = who_words(verdict.get("by") or "someone", verdict.get("identity"), verdict.get("hostUser"))
    why = verdict.get("reason") or ("no reason given" if verdict.get("state") == "rejected" else "")
    return f"{verdict.get('state', '?')} by {who} on {verdict.get('at') or 'an unknown date'}" + (
        f": {why}" if why else ""
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
    from tui.core.ledger.model import LEDGER_SLUG
    from tui.core.ops import history

    async with ctx.client(env) as client:
        # The tool's own ledger workspace (issue 28) is no release's content: never snapshotted, rolled back
        # or verified (it has no version, and rolling it back would erase the record of the rollback).
        items = [w for w in await client.list_workspaces(labels=labels) if w.slug != LEDGER_SLUG]
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
    # To the millisecond: `at` orders a snapshot among the import events of the same second (issue 29).
    release.created_at = release.created_at or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
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


def get(ctx: Context, name: str, repository: str | None = None, *, rejected_ok: bool = False) -> Release:
    """The release named ``name``. A rejected one is refused (exit 1) unless ``rejected_ok`` (show, diff,
    accept): whatever deploys through this (rollout, plan rollout, the Releases view) never gets one."""
    problems: list[str] = []
    releases = list_releases(ctx, repository, problems)
    for release in releases:
        if release.name == name:
            if release.rejected and not rejected_ok:
                raise rejected_error(release)
            return release
    for problem in problems:
        if problem.startswith(f"release {name!r} is defined by"):
            raise E.UsageError(problem)
    known = ", ".join(r.name for r in releases) or "none"
    unread = f"; unreadable: {'; '.join(problems)}" if problems else ""
    raise E.NotFound(f"no release {name!r} (known: {known}{unread}).")


# ------------------------------------------------------------------------------------------- compare
@dataclass(frozen=True)
class Difference(Exported):
    JSON = Shape(rename={"old": "from", "new": "to"})

    workspace: str
    old: str | None
    new: str | None
    state: str  # added | removed | changed | drifted


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


# ------------------------------------------------------------------------------------------- marks
class ReleaseRejected(E.PrismeError):
    """A rejected release asked to be deployed: the operation refused it (exit 1), before any change."""


def rejected_error(the_release: Release, head_of: str | None = None) -> ReleaseRejected:
    """Why a rejected release is refused; ``head_of``: the repository whose branch head it is."""
    what = (
        f"the head of repository {head_of} is release {the_release.name}, which was"
        if head_of
        else (f"release {the_release.name} was")
    )
    return ReleaseRejected(
        f"{what} {verdict_words(the_release.verdict)}.",
        hint=f"If the mark was wrong, prisme-deploy release accept {the_release.name} clears it; otherwise roll the "
        "repository back to a good release (bulk push it) before importing.",
    )


REASON_MAX = 500


def _reason(reason: str | None, state: str) -> str:
    text = " ".join((reason or "").split())  # one line: it becomes a commit message's subject
    if state == "rejected" and not text:
        raise E.UsageError('a rejection needs a reason: --reason "what is wrong with it".')
    if len(text) > REASON_MAX:
        raise E.UsageError(f"--reason is {len(text)} characters; at most {REASON_MAX}.")
    return text


class AlreadyMarked(E.PrismeError):
    """A release already carries the verdict asked for: a second one would silently replace who, when and
    why (exit 1), unless ``--replace`` says so."""


def already_marked(the_release: Release) -> AlreadyMarked:
    state = the_release.verdict.get("state", "")
    return AlreadyMarked(
        f"release {the_release.name} is already {verdict_words(the_release.verdict)}.",
        hint=f"To replace that verdict (it is kept in the new one's 'replaces', and in the repository's history), "
        f"add --replace: prisme-deploy release {state[:-2]} {the_release.name} --replace --reason ...",
    )


def mark(
    ctx: Context,
    name: str,
    state: str,
    reason: str | None,
    repository: str | None = None,
    *,
    who: Who | None = None,
    replace: bool = False,
) -> Release:
    """Mark a release ``rejected`` or ``accepted``: its manifest gains the verdict (who, when, why), written as
    one commit (or, for a local release, the local file rewritten whole). Only the verdict changes. A verdict
    of the same state is refused (AlreadyMarked) unless ``replace``; the one replaced is kept in ``replaces``."""
    from tui.core.audit import host_who

    text = _reason(reason, state)
    who = who or host_who("no environment was asked who the token is")
    the_release = get(ctx, name, repository, rejected_ok=True)
    previous = the_release.verdict
    if previous.get("state") == state and not replace:
        raise already_marked(the_release)
    verdict = {
        "state": state,
        "by": who.name,
        **({"userId": who.user_id} if who.user_id else {}),
        "identity": who.identity,
        "hostUser": who.host_user,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **({"reason": text} if text else {}),
    }
    if previous.get("state") == state:
        verdict["replaces"] = verdict_words(previous)
    the_release.verdict = verdict
    if the_release.storage == "local":
        _write_atomic(_local_file(the_release), the_release.dump())
        return the_release
    repo_id = the_release.repository
    with gitwrite.clone(ctx.config.repositories[repo_id]) as repo:
        target = _manifest_in(repo, name)
        target.write_text(the_release.dump(), encoding="utf-8")
        gitwrite.git(repo, "add", "--", str(target.relative_to(repo)))
        verb = "Reject" if state == "rejected" else "Accept"
        subject = f"{verb} release {name}" + (f": {text}" if text else "")
        author = " ".join(verdict["by"].replace("|", "/").split())[:120]  # a server's name: one line
        gitwrite.git(repo, "commit", "-q", "-m", f"{subject} | Author : {author}")
        try:
            gitwrite.push(repo, ctx.config.repositories[repo_id].branch)
        except gitwrite.GitWriteError as exc:
            raise E.PermissionDenied(
                f"could not mark release {name} in repository {repo_id}: {exc.message}",
                hint="The mark is a commit to the repository's branch: a token that may push is needed.",
            ) from exc
    return the_release


def _local_file(the_release: Release) -> Path:
    folder = _local_dir(the_release.repository)
    for path in sorted(folder.glob("*.yml")):
        try:
            if Release.load(_read_local(path), storage="local", where=str(path)).name == the_release.name:
                return path
        except (E.PrismeError, OSError):
            continue
    raise E.NotFound(f"the local manifest of release {the_release.name} is gone from {folder}.")


def _manifest_in(repo: Path, name: str) -> Path:
    for path in sorted((repo / FOLDER).glob("*.yml")):
        if path.is_symlink():
            continue  # never written through a link
        try:
            if Release.load(path.read_text(encoding="utf-8"), storage="repository", where=str(path)).name == name:
                return path
        except (E.PrismeError, OSError, UnicodeError):
            continue
    raise E.NotFound(f"the manifest of release {name} is not on the repository's branch any more.")


def head_differences(the_release: Release, head: Release) -> list[Difference]:
    """What keeps ``the_release`` from being the repository's branch head; none: it is the head. The one
    definition (the warning, every refusal, a rollout and the Releases view): every workspace the release
    names has the same version at the head. A null (the version was unknown when it was recorded) matches
    only a head that has none either: a head that carries a version of it, or does not carry it at all, is
    some other release (a bulk import would not import "unknown"). A workspace only the head has is a
    difference too: the head imports it, the release does not name it."""
    return diff(the_release.workspaces, head.workspaces)


def is_head(the_release: Release, head: Release) -> bool:
    return bool(the_release.workspaces) and not head_differences(the_release, head)


def rejected_head(ctx: Context, repository: str | None = None) -> Release | None:
    """The rejected release the repository's branch head is, if any (what a bulk import would import)."""
    rejected = [r for r in list_releases(ctx, repository) if r.rejected]
    if not rejected:
        return None
    head = from_repository(ctx, _repository(ctx, repository), "head")
    return next((r for r in rejected if is_head(r, head)), None)


def refuse_rejected_head(ctx: Context, repository: str | None = None) -> None:
    """Refuse (exit 1) an import of a branch head that is a rejected release."""
    found = rejected_head(ctx, repository)
    if found is not None:
        raise rejected_error(found, head_of=found.repository)


async def refuse_rejected_import(ctx: Context, repository: str) -> None:
    """Every bulk import (CLI, app, a plan and its apply, a rollout's stages) asks this first, before
    anything is read from or written to an environment. A platform repository with no configured local
    clone cannot be read here: left to the platform, as before (the CLI's warning cannot see it either)."""
    if repository in ctx.config.repositories:
        await asyncio.to_thread(refuse_rejected_head, ctx, repository)


def same_verdict(the_release: Release, state: str, reason: str | None) -> bool:
    """The verdict asked for is the one the release carries: same state, same reason (as it would be written)."""
    current = the_release.verdict
    return current.get("state") == state and (current.get("reason") or "") == " ".join((reason or "").split())


def head_warnings(ctx: Context) -> list[str]:
    """For every command: each configured local clone whose branch head is a rejected release, said once.
    Only clones read in place (no fetch: a warning must not cost a network round trip); a repository that
    cannot be read here is left to the commands that import, which check it and refuse."""
    found = []
    for repo_id, source in ctx.config.repositories.items():
        if not source.path:
            continue
        try:
            bad = rejected_head(ctx, repo_id)
        except Exception:  # a warning never breaks the command it precedes
            continue
        if bad is not None:
            found.append(
                f"warning: the head of repository {repo_id} is release {bad.name}, REJECTED "
                f"({bad.verdict.get('reason') or 'no reason given'}): do not import it."
            )
    return found
