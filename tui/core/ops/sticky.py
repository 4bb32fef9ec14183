"""Rollbacks that survive a restart.

The Deployment guide's startup import (``STARTUP_IMPORT_REPOSITORY`` / ``_GROUPS``) re-imports the
repository's version of every workspace of those groups at each workspaces-service restart, and skips a
workspace only when that version's name equals the one it last pulled. A rollback pulls an older version,
so the next pod restart silently re-imports the newer one.

- ``restart_risk`` detects it: the environment's ``startup_import = {repository, groups}`` in the
  configuration, else the platform activity (bulk imports on the platform workspace with no user: a real
  instance names them nothing else), and the repository's head says which version a restart would import.
  When neither tells, the answer is UNKNOWN and taken as "the next restart re-imports" (sticky offered).
- ``sticky_rollback`` is the fix that sticks: roll *forward* to the old content. The old version's files
  are published as a new version at the head of the repository's branch (``v1.1.0-revert``), then pulled,
  so the repository and the instance agree and the startup import skips the workspace.
  Publishing goes through git (the configured ``[repositories.<id>]``), not the instance: production
  instances usually read their repository ``read-only``.
"""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.core import errors as E
from tui.core import gitwrite
from tui.core.api.client import PrismeClient
from tui.core.api.models import strings, validate_version_name
from tui.core.config import RepoSource
from tui.core.gitsource import check_slug
from tui.core.ops import actions
from tui.core.ops.context import Context
from tui.core.ops.repo_content import read_repository
from tui.core.ops.requests import Request

STARTUP_TYPES = ["workspaces.bulkImport.completed", "workspaces.bulkImport.started"]


@dataclass
class StartupImport:
    """A startup import: declared in the configuration, or seen in the platform activity (newest run first)."""

    repository: str
    groups: list[str]
    last_run: str
    stopped_at: str | None = None  # the newest run ended with errors in this group: later groups never showed


@dataclass
class RestartRisk:
    at_risk: bool
    message: str
    startup: StartupImport | None = None
    reimports: str | None = None  # the version a restart would import
    unknown: bool = False  # the tool cannot tell: taken as at risk

    def to_json(self) -> dict[str, Any]:
        return {
            "atRisk": self.at_risk,
            "unknown": self.unknown,
            "message": self.message,
            "reimports": self.reimports,
            "startupImport": (
                {"repository": self.startup.repository, "groups": self.startup.groups, "lastRun": self.startup.last_run}
                if self.startup
                else None
            ),
        }


async def startup_import(client: PrismeClient) -> StartupImport | None:
    """The newest startup-import runs in the platform activity (one event search): bulk imports on the
    platform workspace with no user, which is how a real instance records them (nothing names them)."""
    events = await client.events("platform", types=STARTUP_TYPES, limit=100, sort="desc")
    runs = [e for e in events if not e.source.get("userId")]
    if not runs:
        return None
    repository = str(runs[0].payload.get("repositoryId") or "")
    groups: list[str] = []
    for event in reversed(runs):  # oldest first: the configured order
        if str(event.payload.get("repositoryId") or "") != repository:
            continue
        for group in strings(event.payload.get("groups")):
            if group not in groups:
                groups.append(group)
    newest = runs[0]
    failed = newest.type.endswith(".completed") and bool(newest.payload.get("errors"))
    stopped = next(iter(strings(newest.payload.get("groups"))), None) if failed else None
    return StartupImport(repository, groups, newest.created_at, stopped)


def _declared(ctx: Context, env: str, seen: StartupImport | None) -> StartupImport | None:
    """The environment's ``startup_import`` when declared (the activity gives its last run), else what was seen."""
    declared = ctx.env(env).startup_import
    if not declared or not declared[0]:
        return seen
    repository, groups = declared
    return StartupImport(repository, list(groups), seen.last_run if seen else "not seen", None)


def _unknown(env: str, slug: str, why: str) -> RestartRisk:
    return RestartRisk(
        True,
        f"UNKNOWN: assume the next restart re-imports the repository's version of {slug} over this one ({why}). "
        f"Make it stick: rollback --sticky; or declare the startup import under [environments.{env}]: "
        'startup_import = { repository = "id", groups = [...] } (or {} when there is none).',
        unknown=True,
    )


async def restart_risk(ctx: Context, env: str, slug: str, after: str | None = None) -> RestartRisk:
    """Will the next restart of ``env``'s workspaces service undo what ``slug`` runs now (or will run once
    version ``after`` is pulled: a rollback dialog asks before the rollback)? Unknown is taken as yes."""
    declared = ctx.env(env).startup_import
    if declared == ("", ()):
        return RestartRisk(
            False, f"{env} declares no startup import (startup_import = {{}}): a restart re-imports nothing"
        )
    async with ctx.client(env) as client:
        if not declared and not await client.platform_repositories() and client.caps.missing("platform_repositories"):
            # A startup import reads a platform repository: an instance without them (2024) has none.
            return RestartRisk(False, f"no platform repositories on {env}: no startup import re-imports anything")
        try:
            seen = await startup_import(client)
        except E.PrismeError as exc:
            if not declared:
                return _unknown(env, slug, f"the platform activity could not be read: {exc.message}")
            seen = None
        ws = await client.find_workspace(slug)
    startup = _declared(ctx, env, seen)
    if startup is None:
        return _unknown(env, slug, f"no startup import declared for {env} nor seen in its platform activity")
    pulled = after or (ws.last_pull.version if ws.last_pull else None)
    try:
        content = await asyncio.to_thread(read_repository, ctx, startup.repository, "latest", only=[slug])
    except E.PrismeError as exc:
        return RestartRisk(
            True,
            f"at risk: the next restart re-imports the latest {slug} of repository {startup.repository} "
            f"(its version could not be read: {exc.message})",
            startup,
        )
    source = next((w for w in content if w.slug == slug), None)
    if source is not None and startup.stopped_at and not set(source.groups) & set(startup.groups):
        return RestartRisk(
            True,
            f"possibly at risk: the last startup import stopped at group {startup.stopped_at} with errors, so "
            f"groups after it are not in the activity; a restart that gets past it re-imports "
            f"{source.version or 'latest'} of {slug} if its group is configured",
            startup,
            source.version,
        )
    if source is None or not set(source.groups) & set(startup.groups):
        return RestartRisk(
            False, f"{slug} is not in the startup import ({startup.repository}: {', '.join(startup.groups)})", startup
        )
    if source.version and source.version == pulled:
        return RestartRisk(
            False,
            f"sticks: the startup import skips {slug} ({startup.repository} holds {pulled}, its last pull)",
            startup,
            None,
        )
    return RestartRisk(
        True,
        f"at risk: the next restart re-imports {source.version or 'latest'} "
        f"(startup import of {startup.repository}, groups {', '.join(startup.groups)}; last run {startup.last_run}). "
        f"Make it stick: rollback --sticky",
        startup,
        source.version,
    )


# ------------------------------------------------------------------------------------------- the fix
@dataclass
class Published:
    name: str
    tag: str
    commit: str
    steps: list[str] = field(default_factory=list)


def publish_revert(source: RepoSource, slug: str, old: str, name: str | None, author: str) -> Published:
    """Commit ``old``'s files of ``slug`` as a new version at the branch head, tag it, push it."""
    check_slug(slug)  # before any git command: ".." would make the folder the whole repository
    folder = f"{source.dirpath.strip('/')}/{slug}" if source.dirpath else slug
    with gitwrite.clone(source) as repo:
        plain = not gitwrite.tag_exists(repo, f"{slug}/{old}") and gitwrite.tag_exists(repo, old)
        ref = old if plain else f"{slug}/{old}"
        if not gitwrite.tag_exists(repo, ref):
            raise E.NotFound(f"repository {source.id!r} has no version {old!r} of {slug} to republish.")
        if not gitwrite.has_tree(repo, ref, folder):
            raise E.NotFound(
                f"repository {source.id!r} has no folder {folder!r} at {ref}: {slug} is not a workspace there."
            )
        links = gitwrite.symlinks(repo, ref, folder)
        if links:
            raise E.UsageError(
                f"repository {source.id!r} holds symbolic links in {slug} at {ref} ({', '.join(links[:5])}): "
                "refusing to republish it (a link would make the tool read or write outside the repository).",
                hint="A workspace export never contains links: remove them from the repository first.",
            )
        chosen = name or _free_name(repo, slug, f"{old}-revert"[:15], plain)
        validate_version_name(chosen)
        tag = chosen if plain else f"{slug}/{chosen}"
        if gitwrite.tag_exists(repo, tag):
            raise E.VersionNameTaken(f"version {chosen!r} already exists in repository {source.id!r}.")
        gitwrite.git(repo, "rm", "-r", "-q", "--ignore-unmatch", "--", folder)
        gitwrite.git(repo, "checkout", ref, "--", folder)
        _rename_version(repo / folder / ".import.yml", chosen)
        gitwrite.git(repo, "add", "-A", "--", folder)
        message = f"Revert {slug} to {old} as {chosen} (sticky rollback) | Author : {author}"
        gitwrite.git(repo, "commit", "-q", "-m", message)
        gitwrite.git(repo, "tag", "-a", tag, "-m", message)
        commit = gitwrite.push(repo, source.branch, tag)
        return Published(
            chosen, tag, commit, [f"published {old}'s content of {slug} as {chosen} ({tag} at {commit[:10]})"]
        )


def _free_name(repo: Path, slug: str, base: str, plain: bool) -> str:
    for n in range(1, 10):
        candidate = base if n == 1 else f"{base[:14]}{n}"
        if not gitwrite.tag_exists(repo, candidate if plain else f"{slug}/{candidate}"):
            return candidate
    raise E.VersionNameTaken(f"{base} and its numbered variants are taken: give a name with --sticky-name.")


def _rename_version(path: Path, name: str) -> None:
    """The new version's name where the workspaces service reads it (``.import.yml`` ``version.name``).
    Opened without following a link, and replaced rather than written through."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        doc = None
    else:
        with os.fdopen(fd, "rb") as handle:
            doc = yaml.safe_load(handle.read(1024 * 1024)) if stat.S_ISREG(os.fstat(handle.fileno()).st_mode) else None
    doc = doc if isinstance(doc, dict) else {}
    version = doc.get("version")
    doc["version"] = {**(version if isinstance(version, dict) else {}), "name": name}
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


async def sticky_rollback(
    ctx: Context,
    env: str,
    slug: str,
    version: str,
    *,
    repository: str | None,
    name: str | None = None,
    on_step: actions.Progress | None = None,
    request: Request | None = None,
) -> tuple[actions.Outcome, RestartRisk]:
    """Roll forward to ``version``'s content: publish it as a new version, pull it, check a restart keeps it
    (``request``: its reason and broken glass)."""
    from tui.core.ops import gate

    # The gate before anything: the revert is published to git before the pull, which checks it again.
    decision = gate.enforce(ctx, gate.operation(ctx, f"sticky rollback of {slug}", [env], request=request))
    check_slug(slug)
    startup = None
    async with ctx.client(env) as client:
        await client.find_workspace(slug)  # a workspace of this instance, before anything touches git
        startup = await startup_import(client)
    startup = _declared(ctx, env, startup)
    repo_id = startup.repository if startup and startup.repository else repository
    if not repo_id:
        raise E.UsageError("Say which repository to publish the revert to with --repository (no startup import seen).")
    source = ctx.config.repositories.get(repo_id)
    if source is None:
        raise E.UsageError(
            f"A sticky rollback publishes to repository {repo_id!r} through git, and no local copy is configured.",
            hint=f'Add [repositories.{repo_id}] with path = "/path/to/clone" (or url) to the config.',
        )
    stamp = decision.stamp(env)
    with ctx.audit.record("rollback-sticky", env, ctx.env(env).url, targets=[slug], version=version, **stamp) as entry:
        published = await asyncio.to_thread(publish_revert, source, slug, version, name, "prisme-deploy")
        entry.details.update({"repository": repo_id, "published": published.name, "commit": published.commit})
        if on_step:
            on_step(published.steps[0])
        outcome = await actions.pull(
            ctx,
            env,
            slug,
            version="latest",
            repository=repo_id,
            discard_local_changes=True,
            action="rollback",
            request=request,
        )
        if not outcome.ok:
            entry.outcome = "failed"
    outcome.steps[:0] = published.steps
    risk = await restart_risk(ctx, env, slug) if outcome.ok else RestartRisk(True, "the pull of the revert failed")
    if outcome.ok:
        outcome.message = f"{outcome.message} Sticky: {version}'s content is now {published.name} in {repo_id}."
    return outcome, risk
