"""What ran where at an instant (issue 29): each workspace's version and content digest on each environment
at time T, from the records that say so, and the difference between two instants.

The answer is assembled from *timeline sources*, each a list of dated changes ("at t, ENV:SLUG became
VERSION") and how far back it reaches. Two exist: the platform's ``workspaces.imported`` events (one event
search per workspace, within the event budget; the paged ``GET .../events`` where the search does not
answer) and the release manifests recorded from an environment (``release snapshot --env``). The ledger
(issue 29's other branch) will be a third, by implementing ``TimelineSource``.

Where no record reaches back to T, the answer is "unknown before <earliest record>", never a guess; where
the events could not be read, an answer taken from a snapshot says that later imports are unknown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tui.core import errors as E
from tui.core.ledger.model import LEDGER_SLUG

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient
    from tui.core.api.models import Workspace
    from tui.core.ops.context import Context

EVENTS_PER_WORKSPACE = 200  # the newest imports of one workspace; a full page means older ones may exist
Key = tuple[str, str]  # (environment, workspace slug)


# ------------------------------------------------------------------------------------------- time
_AGO = re.compile(r"^(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|hours?|d|days?|w|weeks?)\s+ago$")
_DAY = re.compile(r"^(today|yesterday)(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# A time of day alone (what is typed at 3 a.m.: "03:11:30", "3:11"): today, local time.
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An instant, aware: ISO-8601 (without a zone: the user's), ``now``, ``2h ago`` / ``30 min ago`` /
    ``3d ago``, ``yesterday 14:00``, ``today 09:30``, ``14:00`` or ``03:11:30`` (today). Anything else: exit 2."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone()
    word = " ".join((text or "").strip().lower().split())
    if word == "now":
        return now
    if found := _AGO.match(word):
        unit = found.group(2)
        seconds = _UNITS["m" if unit.startswith("mi") else unit[0]]
        return now - dt.timedelta(seconds=int(found.group(1)) * seconds)
    if found := _DAY.match(word):
        day = now.date() - dt.timedelta(days=1 if found.group(1) == "yesterday" else 0)
        return _local(day, found.group(2) or "0", found.group(3) or "0", text, found.group(4) or "0")
    if found := _CLOCK.match(word):
        return _local(now.date(), found.group(1), found.group(2), text, found.group(3) or "0")
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise E.UsageError(
            f"{text!r} is not a time: give ISO-8601 (2026-12-07T14:00, 2026-12-07T13:00Z), "
            "a time of day meaning today (03:11:30, 14:00), "
            "or relative (2h ago, 30 min ago, yesterday 14:00, today 09:30, now)."
        ) from None
    return when if when.tzinfo else when.astimezone()  # a naive time is the user's local time


def _local(day: dt.date, hour: str, minute: str, text: str, second: str = "0") -> dt.datetime:
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        raise E.UsageError(f"{text!r} is not a time of day (hours 0-23, minutes and seconds 0-59).")
    return dt.datetime(day.year, day.month, day.day, int(hour), int(minute), int(second)).astimezone()


def read_as(text: str) -> str | None:
    """How a time without a date was read (said beside the answer, so 03:11 at 00:30 is not a surprise);
    None for a time that names its date or is relative to now."""
    word = " ".join((text or "").strip().lower().split())
    if _CLOCK.match(word) or word.startswith("today"):
        return "today, local time"
    if word.startswith("yesterday"):
        return "yesterday, local time"
    return None


def shown(when: dt.datetime, among: list[dt.datetime] | None = None) -> str:
    """The user's local time with UTC beside it: ``2026-12-07 15:00 CET (14:00 UTC)``; once where the
    user's time is UTC (the same instant twice reads as two). ``among``: the other instants it must not
    read as (the time cursor's records): milliseconds, or microseconds, where one shares its second."""
    clock = "%H:%M:%S" + _fraction(when, among or [])
    local = when.astimezone()
    utc = when.astimezone(dt.UTC)
    if local.utcoffset() == dt.timedelta(0):
        return f"{utc:%Y-%m-%d {clock}} UTC"
    return f"{local:%Y-%m-%d {clock} %Z} ({utc:%Y-%m-%d {clock}} UTC)"


def _fraction(when: dt.datetime, among: list[dt.datetime]) -> str:
    """The digits after the second that tell ``when`` from the other instants (none when its second is its own)."""
    others = [o for o in among if o != when]
    if not any(o.replace(microsecond=0) == when.replace(microsecond=0) for o in others):
        return ""
    milli = when.microsecond // 1000
    if any(o.replace(microsecond=0) == when.replace(microsecond=0) and o.microsecond // 1000 == milli for o in others):
        return ".%f"  # within one millisecond: the microseconds
    return f".{milli:03d}"


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # a server's date we cannot read is no record, not a guess
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# ------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Change:
    env: str
    workspace: str
    at: dt.datetime
    version: str | None  # None: the record names no version (an import of "latest"): unknown
    source: str  # "import event", "release 2026.12.1", ...
    rank: int = 0  # at the very same instant, the higher wins: a snapshot reads the state the imports made
    reading: bool = False  # a snapshot of what ran (a release manifest): it records, it changes nothing
    unknown: str = ""  # with no version: why what "latest" was then could not be resolved


@dataclass
class Timeline:
    """What the sources know: dated changes, the workspaces they cover, and where a record is incomplete."""

    changes: list[Change] = field(default_factory=list)
    workspaces: dict[str, set[str]] = field(default_factory=dict)  # env -> slugs the sources know
    truncated: dict[Key, dt.datetime] = field(default_factory=dict)  # the record reaches back only to this
    gaps: dict[Key, str] = field(default_factory=dict)  # no event record, and why
    notes: list[str] = field(default_factory=list)

    def merge(self, other: Timeline) -> None:
        self.changes.extend(other.changes)
        for env, slugs in other.workspaces.items():
            self.workspaces.setdefault(env, set()).update(slugs)
        self.truncated.update(other.truncated)
        self.gaps.update(other.gaps)
        self.notes.extend(other.notes)

    def instants(self) -> list[dt.datetime]:
        """Every instant something changed, oldest first (the app's time cursor steps through them)."""
        return sorted({c.at for c in self.changes})

    def changed_at(self, when: dt.datetime) -> set[Key]:
        """What an import changed at exactly ``when``. A snapshot taken then reads every workspace: it says
        what ran, not that it was deployed then (the version may be weeks old)."""
        return {(c.env, c.workspace) for c in self.changes if c.at == when and not c.reading}


class TimelineSource(Protocol):
    """A source of dated changes. ``labels``: only the workspaces carrying them (a configured group)."""

    name: str

    async def read(self, ctx: Context, envs: list[str], labels: list[str] | None) -> Timeline: ...


class ImportEvents:
    """The platform's ``workspaces.imported`` events (a pull, a rollback, a bulk or archive import), and each
    workspace's ``lastPull`` / ``lastPush`` (dated, and naming the version where an import event of the
    branch head says only "latest")."""

    name = "import events"

    def __init__(self, reserve: int = 0) -> None:
        self.reserve = reserve  # event searches left for what needs them more (the app's verifications)

    async def read(self, ctx: Context, envs: list[str], labels: list[str] | None) -> Timeline:
        parts = await asyncio.gather(*(self._env(ctx, env, labels) for env in envs))
        found = Timeline()
        for part in parts:
            found.merge(part)
        return found

    async def _env(self, ctx: Context, env: str, labels: list[str] | None) -> Timeline:
        found = Timeline()
        try:
            async with ctx.client(env) as client:
                # The ledger's own workspace is the tool's record, no release's content (and one event search less).
                items = [w for w in await client.list_workspaces(labels=labels) if w.slug != LEDGER_SLUG]
                found.workspaces[env] = {w.slug for w in items}
                for ws in items:
                    await self._workspace(client, env, ws, found)
        except E.PrismeError as exc:
            found.notes.append(f"{env}: the workspaces could not be listed ({exc.message}): nothing known there")
        return found

    async def _workspace(self, client: PrismeClient, env: str, ws: Workspace, found: Timeline) -> None:
        key = (env, ws.slug)
        for what, info in (("last pull", ws.last_pull), ("last push", ws.last_push)):
            when = _instant(info.created_at) if info else None
            named = info.version if info and info.version not in ("latest", "current") else None
            if named and when:  # the same instant as its import event: this one names it
                found.changes.append(Change(env, ws.slug, when, named, what, rank=1))
        if client.budget.room("events") <= self.reserve:
            found.gaps[key] = "the event-search budget is spent (20 a minute): run again in a minute"
            return
        try:
            events, full = await _imports(client, ws.id)
        except E.PrismeError as exc:
            found.gaps[key] = f"its import events could not be read ({exc.message})"
            return
        for when, version in events:
            found.changes.append(Change(env, ws.slug, when, version, self.name))
        if full and events:
            found.truncated[key] = min(when for when, _ in events)


async def _imports(client: PrismeClient, workspace_id: str) -> tuple[list[tuple[dt.datetime, str | None]], bool]:
    """The workspace's newest imports (time, version) and whether the page was full (older ones may exist).
    One event search; where the instance has none, one page of ``GET .../events``."""
    body = {
        "query": {"bool": {"filter": [{"term": {"type": "workspaces.imported"}}]}},
        "sort": [{"@timestamp": "desc"}],
        "limit": EVENTS_PER_WORKSPACE,
        "source": ["payload.version.name", "@timestamp"],
    }
    try:
        data = await client._json("POST", f"{client._ws(workspace_id)}/search", json=body)
        documents = data.get("documents") if isinstance(data, dict) else None
        raw = [(d.get("@timestamp"), d.get("payload")) for d in documents or [] if isinstance(d, dict)]
    except (E.Unsupported, E.BadRequest, E.NotFound):
        events = await client.events(workspace_id, types=["workspaces.imported"], limit=EVENTS_PER_WORKSPACE)
        raw = [(e.created_at, e.payload) for e in events]
    found = []
    for stamp, payload in raw:
        when = _instant(stamp if isinstance(stamp, str) else None)
        if when is not None:
            found.append((when, _version_of(payload)))
    return found, len(raw) >= EVENTS_PER_WORKSPACE


def _version_of(payload: Any) -> str | None:
    version = payload.get("version") if isinstance(payload, dict) else None
    name = version.get("name") if isinstance(version, dict) else None
    return name if isinstance(name, str) and name not in ("", "latest", "current") else None


class ReleaseManifests:
    """``release snapshot --env`` records: what that environment ran when the release was recorded."""

    name = "release manifests"

    async def read(self, ctx: Context, envs: list[str], labels: list[str] | None) -> Timeline:
        from tui.core.ops import release

        found = Timeline()
        if not ctx.config.repositories:
            return found
        problems: list[str] = []
        try:
            releases = await asyncio.to_thread(release.list_releases, ctx, None, problems)
        except E.PrismeError as exc:
            found.notes.append(f"release manifests not read ({exc.message})")
            return found
        found.notes.extend(f"release manifests: {p}" for p in problems)
        for the_release in releases:
            env, when = the_release.source.get("env"), _instant(the_release.created_at)
            if the_release.source.get("kind") != "environment" or env not in envs or when is None:
                continue
            for slug, version in the_release.workspaces.items():
                if version is not None and slug != LEDGER_SLUG:  # an older snapshot may have recorded it
                    record = Change(env, slug, when, version, f"release {the_release.name}", rank=1, reading=True)
                    found.changes.append(record)
        return found


def default_sources(reserve: int = 0) -> list[TimelineSource]:
    return [ImportEvents(reserve), ReleaseManifests()]


async def timeline(
    ctx: Context, envs: list[str], labels: list[str] | None = None, sources: list[TimelineSource] | None = None
) -> Timeline:
    found = Timeline()
    for part in await asyncio.gather(*(s.read(ctx, envs, labels) for s in sources or default_sources())):
        found.merge(part)
    if labels:  # a manifest records every workspace: keep those of the group (the events source listed them)
        found.changes = [c for c in found.changes if c.workspace in found.workspaces.get(c.env, set())]
    if any(c.version is None for c in found.changes):
        found.changes = await asyncio.to_thread(resolve_latest, ctx, found.changes)
    return found


# ------------------------------------------------------------------------------------------- "latest"
def resolve_latest(ctx: Context, changes: list[Change]) -> list[Change]:
    """An import of "latest" (a bulk import of the branch head) names no version: what the head was then is
    read, where a record allows, from (1) a snapshot of that environment taken later with no other change of
    the workspace between, else (2) the repository's branch head at that instant (its last commit by then).
    Where neither can tell, the change keeps no version and says precisely why."""
    by_key: dict[Key, list[Change]] = {}
    for change in changes:
        by_key.setdefault((change.env, change.workspace), []).append(change)
    heads: dict[tuple[str, str], tuple[str, str]] = {}  # (repository, instant) -> (head sha, why unknown)
    out = []
    for change in changes:
        if change.version is not None:
            out.append(change)
            continue
        others = by_key[(change.env, change.workspace)]
        if any(o.at == change.at and o.version is not None for o in others):
            out.append(change)  # its lastPull / lastPush at that very instant names it already
            continue
        out.append(_from_snapshot(change, others) or _from_repository(ctx, change, heads))
    return out


def _from_snapshot(change: Change, others: list[Change]) -> Change | None:
    """The first record after the import, if it is a snapshot: nothing changed between, so it saw that version."""
    from dataclasses import replace

    later = sorted((o for o in others if o.at > change.at), key=lambda o: (o.at, o.rank))
    if not later or later[0].version is None or not later[0].source.startswith("release "):
        return None
    then = later[0]
    return replace(
        change, version=then.version, source=f"import of 'latest': {then.source} saw it next ({shown(then.at)})"
    )


def _from_repository(ctx: Context, change: Change, heads: dict[tuple[str, str], tuple[str, str]]) -> Change:
    """The version the branch head named at the import: each repository the environment reads, at its last
    commit by then. Several that disagree, or none that tells: unknown, with the reason."""
    from dataclasses import replace

    ids = [
        r for r in (ctx.env(change.env).repositories or tuple(ctx.config.repositories)) if r in ctx.config.repositories
    ]
    if not ids:
        return replace(change, unknown="no repository is configured to read what the branch head was then")
    found: dict[str, str] = {}  # version -> where
    why: list[str] = []
    for rid in ids:
        version, where = _head_version(ctx, rid, change, heads)
        if version:
            found.setdefault(version, where)
        else:
            why.append(where)
    if len(found) == 1:
        version, where = next(iter(found.items()))
        return replace(change, version=version, source=f"import of 'latest': {where}")
    if found:
        names = "; ".join(f"{v} ({w})" for v, w in found.items())
        return replace(change, unknown=f"the repositories named different versions then: {names}")
    return replace(change, unknown="; ".join(why))


def _head_version(
    ctx: Context, rid: str, change: Change, heads: dict[tuple[str, str], tuple[str, str]]
) -> tuple[str | None, str]:
    """(version, where) from repository ``rid``'s branch head at the change's instant; (None, why) else."""
    from tui.core.gitsource import GitHistory, _git
    from tui.core.ops.repo_content import safe_yaml

    source = ctx.config.repositories[rid]
    instant = change.at.astimezone(dt.UTC).isoformat(timespec="seconds")
    history = GitHistory(source)
    if (rid, instant) not in heads:
        try:
            history.sync()
            sha = _git(history.repo, "rev-list", "-1", f"--before={instant}", f"refs/heads/{source.branch}").strip()
            heads[(rid, instant)] = (sha, "" if sha else f"repository {rid} had no commit on {source.branch} by then")
        except E.PrismeError as exc:
            heads[(rid, instant)] = ("", f"repository {rid} could not be read ({exc.message})")
    sha, why = heads[(rid, instant)]
    if not sha:
        return None, why
    path = f"{history.folder(change.workspace)}/.import.yml".lstrip("/")
    meta = safe_yaml(_git(history.repo, "show", f"{sha}:{path}", check=False).encode())
    version = meta.get("version", {}).get("name") if isinstance(meta.get("version"), dict) else None
    if not isinstance(version, str) or not version or version in ("latest", "current"):
        return None, f"repository {rid} at {sha[:7]} (the head of {source.branch} then) names no version in {path}"
    return version, f"the head of {rid}/{source.branch} then ({sha[:7]}) named {version}"


# ------------------------------------------------------------------------------------------- state at T
@dataclass(frozen=True)
class Running:
    """One workspace on one environment at T: its version (None: unknown) and why we say so."""

    env: str
    workspace: str
    version: str | None
    since: dt.datetime | None = None
    source: str = ""
    unknown: str = ""  # why the version is not known ("" when it is)
    caveat: str = ""  # known, with a limit (the events were unreadable: a later import would be missed)
    digest: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "digest": self.digest,
            "since": self.since.astimezone(dt.UTC).isoformat() if self.since else None,
            "source": self.source or None,
            "unknown": self.unknown or None,
            "caveat": self.caveat or None,
        }

    def cell(self) -> str:
        if self.unknown:
            return "unknown"
        return f"{self.version}{' *' if self.caveat else ''}"


def state_at(found: Timeline, when: dt.datetime) -> dict[Key, Running]:
    by_key: dict[Key, list[Change]] = {}
    for change in found.changes:
        by_key.setdefault((change.env, change.workspace), []).append(change)
    keys = set(by_key) | {(env, slug) for env, slugs in found.workspaces.items() for slug in slugs}
    return {key: _one(found, key, by_key.get(key, []), when) for key in sorted(keys)}


def _one(found: Timeline, key: Key, changes: list[Change], when: dt.datetime) -> Running:
    env, slug = key
    gap = found.gaps.get(key)
    before = [c for c in changes if c.at <= when]
    if not before:
        earliest = min((c.at for c in changes), default=found.truncated.get(key))
        if earliest is not None:
            why = f"unknown before {shown(earliest)} (the earliest record)"
        else:
            why = "unknown: no import or release records it" + (f"; {gap}" if gap else "")
        return Running(env, slug, None, unknown=why)
    # An older manifest is dated to the second (its floor): an import in that second, before or after the
    # snapshot, gives the version the snapshot saw or the newer one; ordering them as dated is right either way.
    last = max(before, key=lambda c: (c.at, c.rank))
    if last.version is None:
        why = f"imported the branch head ('latest') at {shown(last.at)}: no version named"
        return Running(env, slug, None, last.at, last.source, unknown=f"{why}; {last.unknown}" if last.unknown else why)
    caveat = f"{gap}: an import after {shown(last.at)} would not be seen" if gap else ""
    return Running(env, slug, last.version, last.at, last.source, caveat=caveat)


async def with_digests(ctx: Context, found: dict[Key, Running]) -> dict[Key, Running]:
    """Each known version's content digest, from its git tag (tui.core.ops.matrix); None where no clone has it."""
    from dataclasses import replace

    from tui.core.ignore import Ignore
    from tui.core.ops.compare import Ref, git_snapshot
    from tui.core.ops.matrix import Digests

    digests = Digests(Ignore.from_config(ctx.config.diff_ignore))
    cache: dict[tuple[str, str], str | None] = {}

    def digest(env: str, slug: str, version: str) -> str | None:
        repos = ",".join(ctx.env(env).repositories or ())
        if (repos + slug, version) not in cache:
            try:
                cache[(repos + slug, version)] = digests.of_files(git_snapshot(ctx, Ref(env, slug, version)))
            except (E.PrismeError, OSError):
                cache[(repos + slug, version)] = None
        return cache[(repos + slug, version)]

    def all_of() -> dict[Key, Running]:
        return {
            key: replace(r, digest=digest(r.env, r.workspace, r.version)) if r.version else r
            for key, r in found.items()
        }

    return await asyncio.to_thread(all_of)


# ------------------------------------------------------------------------------------------- compare
@dataclass(frozen=True)
class Changed:
    env: str
    workspace: str
    before: Running
    after: Running
    state: str  # changed | unknown (not known at one instant or both: it may hide a change)

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "workspace": self.workspace,
            "state": self.state,
            "from": self.before.to_json(),
            "to": self.after.to_json(),
        }


def compare(first: dict[Key, Running], second: dict[Key, Running]) -> list[Changed]:
    """What differs between two instants: a version, a digest, or knowing it at one and not the other
    (an unknown on either side is listed: it may hide a change)."""
    out = []
    for key in sorted(set(first) | set(second)):
        a = first.get(key) or Running(*key, None, unknown="not recorded")
        b = second.get(key) or Running(*key, None, unknown="not recorded")
        if a.unknown or b.unknown:
            out.append(Changed(key[0], key[1], a, b, "unknown"))
        elif a.version != b.version or a.digest != b.digest:
            out.append(Changed(key[0], key[1], a, b, "changed"))
    return out
