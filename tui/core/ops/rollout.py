"""Roll a release out through stages of environments, in canary order, stopping at the first failed gate.

Per environment: the plan, a confirmation on protected environments, a safety record of what it runs
(the previous release, kept in the rollout's state file), the bulk import group by group (paced inside the
gateway's import limit by the client), then the gates: ``/v2/readiness``, the smoke automations of
``[[smoke]]`` (``POST /v2/workspaces/{id}/test/{automationSlug}``, output compared with ``expect``) and the
stage's soak time. The state is saved after every environment, so ``--resume`` continues after the last
one that passed, and ``rollback`` pulls the previous versions back on every environment this rollout
changed.

A rollout imports the repository's branch head; it refuses to start when the head is not the release
(bulk push the release first), so what is rolled out is exactly what was named.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tui.core import paths
from tui.core.api import errors as E
from tui.core.ops import actions, bulk, plan, release
from tui.core.ops.context import Context

Notify = Callable[[dict[str, Any]], object]
Confirm = Callable[[str, plan.Plan], Awaitable[bool]]
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


@dataclass(frozen=True)
class Stage:
    name: str
    environments: tuple[str, ...]
    soak: float = 0.0
    max_parallel: int = 1


@dataclass(frozen=True)
class Smoke:
    workspace: str
    automation: str
    expect: Any = None  # None: any successful answer; a mapping: these keys with these values
    payload: Any = None


def seconds(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = DURATION.match(str(value))
    if not match:
        raise E.UsageError(f"{where}: {value!r} is not a duration such as 30s, 10m or 1h.")
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def stages(ctx: Context) -> list[Stage]:
    found = []
    for number, raw in enumerate(ctx.config.rollout, start=1):
        where = f"[[rollout]] #{number}"
        unknown = set(raw) - {"stage", "environments", "soak", "max_parallel"}
        if unknown:
            raise E.UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
        envs = raw.get("environments")
        if not isinstance(envs, list) or not envs or not all(isinstance(e, str) for e in envs):
            raise E.UsageError(f'{where}: environments = ["env", ...] is required.')
        for env in envs:
            ctx.env(env)  # an unknown name fails with a "did you mean"
        parallel = raw.get("max_parallel", 1)
        if not isinstance(parallel, int) or parallel != 1:
            raise E.UsageError(f"{where}: max_parallel = 1 is the only value supported so far (one env at a time).")
        found.append(
            Stage(str(raw.get("stage") or f"stage {number}"), tuple(envs), seconds(raw.get("soak", 0), where), parallel)
        )
    if not found:
        raise E.UsageError(
            "No [[rollout]] stages are configured.", hint='Add [[rollout]] stage = "prod" environments = [...].'
        )
    return found


def smokes(ctx: Context) -> list[Smoke]:
    found = []
    for number, raw in enumerate(ctx.config.smoke, start=1):
        if not isinstance(raw.get("workspace"), str) or not isinstance(raw.get("automation"), str):
            raise E.UsageError(f'[[smoke]] #{number}: workspace = "slug" and automation = "slug" are required.')
        found.append(Smoke(raw["workspace"], raw["automation"], raw.get("expect"), raw.get("payload")))
    return found


def matches(output: Any, expect: Any) -> bool:
    if expect is None:
        return True
    if isinstance(expect, dict):
        return isinstance(output, dict) and all(k in output and matches(output[k], v) for k, v in expect.items())
    return bool(output == expect)


# ------------------------------------------------------------------------------------------- state
@dataclass
class State:
    release: str
    repository: str
    groups: list[str]
    done: list[str] = field(default_factory=list)  # environments that passed every gate
    changed: list[str] = field(default_factory=list)  # environments this rollout imported into
    previous: dict[str, dict[str, str | None]] = field(default_factory=dict)  # env -> slug -> version before
    failed: dict[str, Any] | None = None  # {env, gate, message}
    status: str = "running"  # running | stopped | completed | rolled-back
    steps: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def path(name: str) -> Path:
        return paths.data_dir() / "rollouts" / f"{release.check_name(name)}.json"

    def save(self) -> None:
        target = self.path(self.release)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        temp.replace(target)

    @classmethod
    def load(cls, name: str) -> State:
        target = cls.path(name)
        if not target.is_file():
            raise E.NotFound(f"no rollout of {name} to resume or roll back (nothing in {target.parent}).")
        try:
            return cls(**json.loads(target.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise E.UsageError(f"the rollout state {target} is unreadable: {exc}") from exc


class _Reporter:
    def __init__(self, state: State, notify: Notify | None) -> None:
        self.state, self.notify = state, notify

    def __call__(self, kind: str, env: str | None, message: str, ok: bool = True, **extra: Any) -> None:
        step = {"kind": kind, "env": env, "ok": ok, "message": message, **extra}
        self.state.steps.append(step)
        if self.notify:
            self.notify(step)


# ------------------------------------------------------------------------------------------- run
async def run(
    ctx: Context,
    name: str,
    *,
    repository: str | None = None,
    groups: list[str],
    resume: bool = False,
    confirm: Confirm | None = None,
    notify: Notify | None = None,
) -> State:
    the_release = release.get(ctx, name, repository)
    repo_id = the_release.repository or release._repository(ctx, repository)
    all_stages, tests = stages(ctx), smokes(ctx)
    state = State.load(name) if resume else State(name, repo_id, groups)
    if resume:
        state.failed, state.status = None, "running"
    say = _Reporter(state, notify)
    head = await asyncio.to_thread(release.from_repository, ctx, repo_id, "head")
    if missing := release.diff(the_release.workspaces, head.workspaces):
        first = ", ".join(f"{d.workspace} {d.old or '—'}→{d.new or '—'}" for d in missing[:5])
        raise E.UsageError(
            f"the head of repository {repo_id} is not release {name} ({first}).",
            hint="Bulk push the release to the repository first: a rollout imports the branch head.",
        )
    with ctx.audit.record("rollout", ",".join(s.name for s in all_stages), targets=groups, version=name) as entry:
        for stage in all_stages:
            for env in stage.environments:
                if env in state.done:
                    say("skip", env, f"{env} already passed every gate (resumed)")
                    continue
                if not await _one_env(ctx, state, say, stage, env, tests, confirm):
                    state.status = "stopped"
                    entry.outcome = "failed"
                    entry.details["failed"] = state.failed
                    entry.details["steps"] = _journal(state.steps)
                    state.save()
                    return state
                state.done.append(env)
                state.save()
        state.status = "completed"
        say("completed", None, f"release {name} rolled out to {', '.join(state.done)}")
        entry.details["steps"] = _journal(state.steps)
    state.save()
    return state


def _journal(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step of the run for the audit journal: what, where, whether it passed (plans stay in --json)."""
    return [{k: v for k, v in step.items() if k != "plan"} for step in steps]


async def _one_env(
    ctx: Context, state: State, say: _Reporter, stage: Stage, env: str, tests: list[Smoke], confirm: Confirm | None
) -> bool:
    ctx.require_writable(env)
    the_plan = await plan.bulk_import(ctx, env, repository=state.repository, groups=state.groups)
    counts = the_plan.counts()
    say(
        "plan",
        env,
        f"stage {stage.name}: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['skip']} unchanged, {counts['blocked']} blocked",
        plan=the_plan.to_json(),
    )
    if ctx.env(env).protected:
        if confirm is None or not await confirm(env, the_plan):
            return _fail(state, say, env, "confirm", f"{env} is protected and the rollout was not confirmed")
        say("confirm", env, f"{env}: confirmed")
    before = await release.from_env(ctx, env, state.release)
    state.previous.setdefault(env, before.workspaces)  # on resume, keep what ran before the first attempt
    state.save()
    say("snapshot", env, f"{env}: recorded what it runs ({len(before.workspaces)} workspaces) for a rollback")
    if the_plan.has_changes:
        if env not in state.changed:
            state.changed.append(env)
        result = bulk.BulkRun(env, "bulk-import")
        async for event in bulk.bulk_import(ctx, env, repository=state.repository, groups=state.groups, run=result):
            if event.kind in ("completed", "notice") and event.message:
                say("import", env, event.message)
        if result.failed:
            return _fail(
                state, say, env, "import", f"{env}: the bulk import stopped at group {result.stopped_at or '?'}"
            )
        say("import", env, f"{env}: imported {', '.join(state.groups)}")
    return await _gates(ctx, state, say, stage, env, tests)


async def _gates(ctx: Context, state: State, say: _Reporter, stage: Stage, env: str, tests: list[Smoke]) -> bool:
    async with ctx.client(env) as client:
        ready = await client.readiness()
        if ready.available and ready.allowed and not ready.ready:
            return _fail(state, say, env, "readiness", f"{env}: not ready ({ready.services})")
        seen = "ok" if ready.allowed else "not allowed to read (needs a super admin)"
        say(
            "gate",
            env,
            f"{env}: readiness {seen if ready.available else 'skipped: the instance has no readiness endpoint'}",
            gate="readiness",
        )
        present = {w.slug: w for w in await client.list_workspaces()}
        for test in tests:
            ws = present.get(test.workspace)
            if ws is None:
                continue
            try:
                output = await client.test_automation(ws.id, test.automation, test.payload)
            except E.PrismeError as exc:
                return _fail(
                    state, say, env, "smoke", f"{env}: smoke {test.workspace}/{test.automation} failed: {exc.message}"
                )
            if not matches(output, test.expect):
                return _fail(
                    state,
                    say,
                    env,
                    "smoke",
                    f"{env}: smoke {test.workspace}/{test.automation} answered {output!r}, expected {test.expect!r}",
                )
            say("gate", env, f"{env}: smoke {test.workspace}/{test.automation} ok", gate="smoke")
    if stage.soak:
        say("gate", env, f"{env}: soaking {stage.soak:g} s", gate="soak")
        await asyncio.sleep(stage.soak)
    say("passed", env, f"{env}: every gate passed")
    return True


def _fail(state: State, say: _Reporter, env: str, gate: str, message: str) -> bool:
    state.failed = {"env": env, "gate": gate, "message": message}
    say("stopped", env, message, ok=False, gate=gate)
    say(
        "hint",
        env,
        f"roll back what this rollout changed ({', '.join(state.changed) or 'nothing'}): "
        f"prisme-deploy rollout {state.release} --rollback; or fix and continue: --resume",
    )
    return False


# ------------------------------------------------------------------------------------------- rollback
async def rollback(ctx: Context, name: str, *, notify: Notify | None = None) -> tuple[State, list[actions.Outcome]]:
    """Pull the previous versions back on every environment this rollout imported into, newest first."""
    state = State.load(name)
    say = _Reporter(state, notify)
    outcomes: list[actions.Outcome] = []
    for env in reversed(state.changed):
        async with ctx.client(env) as client:
            running = {w.slug: w.live_version for w in await client.list_workspaces()}
        for slug, version in sorted(state.previous.get(env, {}).items()):
            if not version or running.get(slug) == version:
                continue
            outcome = await actions.pull(
                ctx,
                env,
                slug,
                version=version,
                repository=state.repository,
                discard_local_changes=True,
                action="rollback",
            )
            outcomes.append(outcome)
            say("rollback", env, outcome.message, ok=outcome.ok)
    state.status = "rolled-back" if all(o.ok for o in outcomes) else "stopped"
    state.save()
    return state, outcomes
