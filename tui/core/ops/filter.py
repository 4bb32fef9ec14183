"""Which workspaces a view shows: a group (its labels, any of which matches) and a filter typed by the
operator (a substring of the slug, the name or a label, case-insensitive; ``!`` first inverts it).
Also the group counts of the groups pane and the repositories an environment may push to.

The filter runs on every keystroke over up to 50,000 workspaces: :class:`WorkspaceIndex` lowers each
workspace's text once, and when the query only grew (``sup`` -> ``supp``) it searches the previous
result instead of the whole list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.api.models import Repository, Workspace
    from tui.core.config import Config, Environment, Group

ALL = "__all__"  # the "All workspaces" group
_SEP = "\0"  # between the fields of a haystack: no typed query contains it, so no match spans two fields


@dataclass(frozen=True)
class Query:
    """A parsed filter: the lowered needle and whether it is inverted (``!text``: those without it)."""

    needle: str
    invert: bool = False

    @classmethod
    def parse(cls, text: str) -> Query:
        needle = text.lower().strip()
        invert = needle.startswith("!")
        return cls(needle.lstrip("!").strip() if invert else needle, invert)

    @property
    def empty(self) -> bool:
        """Nothing to filter by (``""``, or a lone ``!``: every workspace shows, none is hidden)."""
        return not self.needle

    def narrows(self, previous: Query) -> bool:
        """Whether every workspace this query keeps was kept by ``previous`` (search its result only)."""
        return not self.invert and not previous.invert and previous.needle in self.needle


def haystack(ws: Workspace) -> str:
    """What the filter searches in, lowered once: slug, name and every label."""
    return _SEP.join((ws.slug, ws.name, *ws.labels)).lower()


def matches(ws: Workspace, text: str) -> bool:
    """Whether one workspace passes the filter ``text`` (the rule :class:`WorkspaceIndex` applies fast)."""
    query = Query.parse(text)
    return query.empty or ((query.needle in haystack(ws)) != query.invert)


def in_group(ws: Workspace, labels: Collection[str] | None) -> bool:
    """A group's workspaces carry any of its labels; ``None`` (all workspaces) keeps every one."""
    return labels is None or any(label in labels for label in ws.labels)


def group_labels(config: Config, group: str | None) -> tuple[str, ...] | None:
    """The labels of a configured group; None for "all workspaces", a server-only or an unknown group."""
    if not group or group == ALL or group not in config.groups:
        return None
    return tuple(config.groups[group].labels)


class WorkspaceIndex:
    """The workspaces of one environment, ready to filter on every keystroke.

    Build one per list loaded (the haystacks are lowered once); :meth:`select` keeps the last result and
    narrows from it when the query only grew within the same group."""

    def __init__(self, workspaces: Sequence[Workspace]) -> None:
        self.workspaces = list(workspaces)
        self._all = [(haystack(w), w) for w in self.workspaces]
        self._last: tuple[frozenset[str] | None, Query, list[tuple[str, Workspace]]] | None = None

    def __len__(self) -> int:
        return len(self.workspaces)

    def replace(self, workspace: Workspace) -> None:
        """Put a re-read workspace (same id) in place of the old one, in the list and in what :meth:`select`
        returns: re-indexing 50,000 workspaces for one cursor move would show."""
        for n, old in enumerate(self.workspaces):
            if old.id == workspace.id:
                self.workspaces[n] = workspace
                self._all[n] = (haystack(workspace), workspace)
                self._last = None  # its pairs hold the old one

    def select(self, text: str = "", labels: Collection[str] | None = None) -> list[Workspace]:
        """The workspaces of the group (``labels``, None for all) that pass the filter ``text``, in order."""
        query = Query.parse(text)
        group = frozenset(labels) if labels is not None else None
        pairs = self._candidates(query, group)
        needle = query.needle
        if needle and query.invert:
            pairs = [pair for pair in pairs if needle not in pair[0]]
        elif needle:
            pairs = [pair for pair in pairs if needle in pair[0]]
        self._last = (group, query, pairs)
        return [ws for _hay, ws in pairs]

    def _candidates(self, query: Query, group: frozenset[str] | None) -> list[tuple[str, Workspace]]:
        last = self._last
        if last is not None and last[0] == group and not query.empty and query.narrows(last[1]):
            return last[2]
        if group is None:
            return self._all
        return [pair for pair in self._all if in_group(pair[1], group)]


def visible(
    workspaces: Sequence[Workspace], config: Config, group: str | None = ALL, text: str = ""
) -> list[Workspace]:
    """What the workspaces pane lists: the group's workspaces passing the filter (one-off; use a
    :class:`WorkspaceIndex` to filter the same list again and again)."""
    return WorkspaceIndex(workspaces).select(text, group_labels(config, group))


def group_counts(groups: Mapping[str, Group], workspaces: Iterable[Workspace]) -> dict[str, int]:
    """Workspaces per configured group (a workspace counts in every group one of its labels names)."""
    label_sets = {name: frozenset(group.labels) for name, group in groups.items()}
    counts = dict.fromkeys(label_sets, 0)
    for ws in workspaces:
        labels = ws.labels
        if not labels:
            continue
        for name, wanted in label_sets.items():
            if not wanted.isdisjoint(labels):
                counts[name] += 1
    return counts


def writable_repos(env: Environment | None, repositories: Iterable[Repository]) -> list[Repository]:
    """Repositories a push on ``env`` may go to: writable ones; platform ones limited to the environment's
    ``repositories`` list when it has one (a workspace's own repositories are its own choice)."""
    names = set(env.repositories) if env and env.repositories else None
    return [r for r in repositories if r.writable and (names is None or r.id in names or r.origin == "workspace")]


def readable_repos(repositories: Iterable[Repository]) -> list[Repository]:
    """Platform repositories a pull or an import may read from."""
    return [r for r in repositories if r.readable]
