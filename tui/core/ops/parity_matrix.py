"""The parity matrix of a group (issue 17): every secret and config name its workspaces declare, down;
environments across; whether each environment provides it. Names and presence only, never a value
(``tui.core.ops.parity`` reads names; this module only arranges them).

What a workspace declares is the union of what its DSUL declares on every environment where it exists
(a name added on dev but not promoted yet shows, and is marked where it is missing); a name counts as
required when any of those declarations requires it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tui.core import errors as E
from tui.core.ops import parity
from tui.core.ops.compare import Ref, snapshot
from tui.core.ops.context import Context

ABSENT = "—"


@dataclass
class ParityMatrix:
    envs: list[str]
    rows: list[tuple[str, parity.Expected]] = field(default_factory=list)  # (slug, what it declares)
    # (slug, env) -> what that environment provides; absent: the workspace is not there (or unreadable)
    provided: dict[tuple[str, str], parity.Provided] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def cell(self, slug: str, item: parity.Expected, env: str) -> str:
        there = self.provided.get((slug, env))
        if there is None or not there.found:
            return ABSENT
        has = there.has(item)
        return "?" if has is None else ("✓" if has else "✗")  # ?: secrets this token may not read

    def missing_required(self) -> list[tuple[str, str, str]]:
        """(slug, name, env) of every required name an environment holding the workspace lacks."""
        return [
            (slug, item.name, env)
            for slug, item in self.rows
            if item.required
            for env in self.envs
            if self.cell(slug, item, env) in ("✗", "?")  # unknown is never "set"
        ]


async def build(ctx: Context, envs: list[str], slugs: list[str], concurrency: int = 4) -> ParityMatrix:
    gate = asyncio.Semaphore(concurrency)
    result = ParityMatrix(envs)
    declared: dict[str, dict[tuple[str, str], parity.Expected]] = {slug: {} for slug in slugs}

    async def one(slug: str, env: str) -> None:
        async with gate:
            try:
                there = await parity.provided(ctx, env, slug)
                files = await snapshot(ctx, Ref(env, slug)) if there.found else {}
            except E.PrismeError as exc:
                result.errors.append(f"{env}:{slug}: {exc.message}")
                return
        result.provided[(slug, env)] = there
        for item in parity.expected(files, slug, ctx.config.optional_secrets):
            known = declared[slug].get((item.kind, item.name))
            if known is None or (item.required and not known.required):
                declared[slug][(item.kind, item.name)] = item

    await asyncio.gather(*(one(slug, env) for slug in slugs for env in envs))
    for slug in slugs:
        items = sorted(declared[slug].values(), key=lambda e: (parity.KINDS.index(e.kind), e.name))
        result.rows.extend((slug, item) for item in items)
    result.errors.sort()
    return result
