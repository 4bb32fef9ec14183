"""Where a promotion (or a diff against "the next environment") goes: from and to which ``env:slug``.

The rule, as the app's ``o`` and ``d`` keys apply it:
1. a configured ``[[promotions]]`` pair that names this ``env:slug`` (as its source or its target) wins;
2. else the previous environment (configuration order) -> this one;
3. on the first environment, this one -> the next;
4. with a single environment and no pair: nowhere (None).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.api.models import Repository
    from tui.core.config import Config

ARCHIVE = "archive"


def pair_for(config: Config, env: str, slug: str) -> tuple[str, str] | None:
    """The configured promotion pair ``(source, target)`` that names ``env:slug``, first match wins."""
    ref = f"{env}:{slug}"
    for pair in config.promotions:
        if ref in (pair.target, pair.source):
            return pair.source, pair.target
    return None


def neighbours(config: Config, env: str | None, slug: str) -> tuple[str, str] | None:
    """``(source, target)`` refs around ``env`` for ``slug`` (see the module's rule), or None."""
    if not env:
        return None
    pair = pair_for(config, env, slug)
    if pair:
        return pair
    names = list(config.environments)
    if len(names) < 2 or env not in names:  # an instance given by --url alone has no neighbours
        return None
    index = names.index(env)
    if index == 0:
        return f"{names[0]}:{slug}", f"{names[1]}:{slug}"
    return f"{names[index - 1]}:{slug}", f"{env}:{slug}"


def routes(source_env: str, target_env: str, repositories: Iterable[Repository]) -> list[tuple[str, str]]:
    """How a promotion can travel, as (label, value): through an archive always, through git via each
    readable git repository (push on the source, pull on the target). ``value`` goes to :func:`parse_via`."""
    found = [("archive (export, import with prune)", ARCHIVE)]
    found += [
        (f"git: push on {source_env}, pull on {target_env} via {repo.id}", f"git:{repo.id}")
        for repo in repositories
        if repo.readable and repo.type == "git"
    ]
    return found


def parse_via(value: str | None) -> tuple[str, str | None]:
    """``"git:release"`` -> ("git", "release"); ``"archive"`` or nothing -> ("archive", None)."""
    via, _, repository = str(value or ARCHIVE).partition(":")
    return via, repository or None
