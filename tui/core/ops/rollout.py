"""Roll a release out through stages of environments, in canary order, stopping at the first failed gate.

Per environment: the plan, a confirmation on protected environments, a safety record of what it runs
(the previous release, kept in the rollout's state file), the bulk import group by group (paced inside the
gateway's import limit by the client), then the gates: ``/v2/readiness``, the smoke automations of
``[[smoke]]`` (``POST /v2/workspaces/{id}/test/{automationSlug}``, output compared with ``expect``) and the
stage's soak time. The state is saved after every environment, so ``--resume`` continues after the last
one that passed, and ``rollback`` pulls the previous versions back on every environment this rollout
changed.

A rollout imports the repository's branch head; it refuses to start when the head is not the release
(bulk push the release first), so what is rolled out is exactly what was named. Before the first
environment, the gate (tui.core.ops.gate) checks every environment still to go.

The gates fail closed (issue 24): a readiness the token may not read fails unless the stage says
``readiness = "skip"``; a smoke test whose workspace is absent fails unless the stage lists it in
``optional_smoke``; smoke tests run for real, so on protected environments each needs an ``expect``; a
rollback of a workspace whose previous version is unknown is a failure, never skipped.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.core import errors as E
from tui.core import paths
from tui.core.ledger import lease
from tui.core.ops import actions, bulk, gate, plan, release, signal
from tui.core.ops.context import Context
from tui.core.ops.requests import Request

Notify = Callable[[dict[str, Any]], object]
Confirm = Callable[[str, plan.Plan], Awaitable[bool]]
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


@dataclass(frozen=True)
class Stage:
    name: str
    environments: tuple[str, ...]
    soak: float = 0.0
    max_parallel: int = 1
    readiness: str = "required"  # "skip": an unreadable readiness passes (said, in the journal)
    optional_smoke: tuple[str, ...] = ()  # "workspace" or "workspace/automation": may be absent there
    errors: signal.Spec | None = None  # the error gate (watch, max_error_rate, min_executions, signal)
    auto_rollback: bool = False  # a failed gate here rolls back this stage and the ones before it
    canary_percent: float = 0.0  # this share of the stage's environments first, the rest once they pass


@dataclass(frozen=True)
class Smoke:
    workspace: str
    automation: str
    expect: Any = None  # None: any successful answer; a mapping: these keys with these values
    payload: Any = None


def seconds(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:  # soak = inf would sleep forever
            raise E.UsageError(f"{where}: {value!r} is not a duration (a finite number of seconds, or 30s, 10m, 1h).")
        return float(value)
    match = DURATION.match(str(value))
    if not match:
        raise E.UsageError(f"{where}: {value!r} is not a duration such as 30s, 10m or 1h.")
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def stages(ctx: Context) -> list[Stage]:
    found = []
    for number, raw in enumerate(ctx.config.rollout, start=1):
        where = f"[[rollout]] #{number}"
        unknown = set(raw) - KEYS
        if unknown:
            raise E.UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
        envs = raw.get("environments")
        if not isinstance(envs, list) or not envs or not all(isinstance(e, str) for e in envs):
            raise E.UsageError(f'{where}: environments = ["env", ...] is required.')
        for env in envs:
            ctx.env(env)  # an unknown name fails with a "did you mean"
        parallel = raw.get("max_parallel", 1)
        if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
            raise E.UsageError(f"{where}: max_parallel is a whole number of environments at once, 1 or more.")
        readiness = raw.get("readiness", "required")
        if readiness not in ("required", "skip"):
            raise E.UsageError(f'{where}: readiness = "required" (the default) or "skip", not {readiness!r}.')
        optional = raw.get("optional_smoke", [])
        if not isinstance(optional, list) or not all(isinstance(o, str) for o in optional):
            raise E.UsageError(f'{where}: optional_smoke = ["workspace" or "workspace/automation", ...].')
        found.append(
            Stage(
                str(raw.get("stage") or f"stage {number}"),
                tuple(envs),
                seconds(raw.get("soak", 0), where),
                parallel,
                readiness,
                tuple(optional),
                _errors(raw, where),
                _flag(raw, "auto_rollback", where),
                _percent(raw, where),
            )
        )
    if not found:
        raise E.UsageError(
            "No [[rollout]] stages are configured.", hint='Add [[rollout]] stage = "prod" environments = [...].'
        )
    return found


KEYS = {"stage", "environments", "soak", "max_parallel", "readiness", "optional_smoke"} | {
    "watch",
    "max_error_rate",
    "min_executions",
    "signal",
    "auto_rollback",
    "canary_percent",
}


def _errors(raw: dict[str, Any], where: str) -> signal.Spec | None:
    """The stage's error gate: none without ``watch``; its other keys are refused without one."""
    if "watch" not in raw:
        if stray := {"max_error_rate", "min_executions", "signal"} & set(raw):
            raise E.UsageError(f"{where}: {', '.join(sorted(stray))} need watch = DURATION (the error gate's window).")
        return None
    watch = seconds(raw["watch"], where)
    if watch <= 0:
        raise E.UsageError(f"{where}: watch must be longer than 0 s (the window the error rate is read over).")
    rate = raw.get("max_error_rate", 0.05)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise E.UsageError(f"{where}: max_error_rate is a fraction of executions from 0 to 1, not {rate!r}.")
    least = raw.get("min_executions", 20)
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise E.UsageError(f"{where}: min_executions is a whole number of 1 or more, not {least!r}.")
    mode = raw.get("signal", "required")
    if mode not in ("required", "skip"):
        raise E.UsageError(f'{where}: signal = "required" (the default) or "skip", not {mode!r}.')
    return signal.Spec(watch, float(rate), least, mode)


def _flag(raw: dict[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise E.UsageError(f"{where}: {key} = true or false, not {value!r}.")
    return value


def _percent(raw: dict[str, Any], where: str) -> float:
    value = raw.get("canary_percent", 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 100:
        raise E.UsageError(f"{where}: canary_percent is the share of the stage's environments rolled first, 0 to 99.")
    return float(value)


def waves(stage: Stage) -> list[list[str]]:
    """The stage's environments in waves: its canary share first (at least one), then the rest."""
    envs = list(stage.environments)
    if not stage.canary_percent or len(envs) < 2:
        return [envs]
    first = min(len(envs) - 1, max(1, math.ceil(len(envs) * stage.canary_percent / 100)))
    return [envs[:first], envs[first:]]


def smokes(ctx: Context) -> list[Smoke]:
    found = []
    for number, raw in enumerate(ctx.config.smoke, start=1):
        if not isinstance(raw.get("workspace"), str) or not isinstance(raw.get("automation"), str):
            raise E.UsageError(f'[[smoke]] #{number}: workspace = "slug" and automation = "slug" are required.')
        found.append(Smoke(raw["workspace"], raw["automation"], raw.get("expect"), raw.get("payload")))
    return found


def require_expectations(ctx: Context, all_stages: list[Stage], tests: list[Smoke]) -> None:
    """A smoke test runs the automation for real on protected environments too: there it must say what it
    expects (``expect``; ``{}`` for "any successful answer"), refused (exit 2) before anything is touched."""
    protected = [e for stage in all_stages for e in stage.environments if ctx.env(e).protected]
    loose = [f"{t.workspace}/{t.automation}" for t in tests if t.expect is None]
    if protected and loose:
        raise E.UsageError(
            f"[[smoke]] {', '.join(loose)} has no expect, and runs on the protected {', '.join(protected)}.",
            hint='Add expect = { status = "ok" } (the keys the output must carry), or expect = {} for any success.',
        )


def smoke_note(tests: list[Smoke]) -> str | None:
    """What the plan says of the smoke gates: they run the automations for real."""
    if not tests:
        return None
    names = ", ".join(f"{t.workspace}/{t.automation}" for t in tests)
    return f"smoke gates run {names} FOR REAL on each environment after its import (side effects included)"


def optional(stage: Stage, test: Smoke) -> bool:
    return test.workspace in stage.optional_smoke or f"{test.workspace}/{test.automation}" in stage.optional_smoke


def matches(output: Any, expect: Any) -> bool:
    if isinstance(expect, dict) and not expect:
        return True  # expect = {}: declared on purpose, any successful answer (a real instance's {} included)
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
    rollback: dict[str, Any] | None = None  # the automatic rollback: {automatic, environments, ok, verified}
    imports: dict[str, str] = field(default_factory=dict)  # env -> when its first import began (server clock)
    saved_at: str = ""  # when last saved (UTC ISO): the newer of the local copy and the ledger's is resumed

    @staticmethod
    def path(name: str) -> Path:
        return paths.data_dir() / "rollouts" / f"{release.check_name(name)}.json"

    def save(self) -> None:
        target = self.path(self.release)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = target.with_suffix(".tmp")
        self.saved_at = datetime.now(UTC).isoformat(timespec="microseconds")
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

    def shared(self) -> dict[str, Any]:
        """What goes in the ledger (the steps stay local: they hold whole plans)."""
        return {k: v for k, v in asdict(self).items() if k != "steps"}

    @classmethod
    def from_shared(cls, data: Any, name: str) -> State | None:
        """A state read from the ledger (a server's bytes: checked field by field), or None."""
        if not isinstance(data, dict) or data.get("release") != name:
            return None
        lists = ("groups", "done", "changed")
        if not all(isinstance(data.get(k), list) and all(isinstance(x, str) for x in data[k]) for k in lists):
            return None
        previous = data.get("previous")
        if not isinstance(previous, dict) or not all(isinstance(v, dict) for v in previous.values()):
            return None
        failed = data.get("failed")
        return cls(
            name,
            str(data.get("repository") or ""),
            list(data["groups"]),
            list(data["done"]),
            list(data["changed"]),
            {str(k): {str(s): (str(v) if v is not None else None) for s, v in m.items()} for k, m in previous.items()},
            failed if isinstance(failed, dict) else None,
            str(data.get("status") or "stopped"),
            [],
            imports=_strings_map(data.get("imports")),
            saved_at=str(data.get("saved_at") or ""),
        )


def _strings_map(value: Any) -> dict[str, str]:
    """A {str: str} from a server's bytes, else empty (the error gate then watches from its own baseline)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str) and len(v) <= 64}


async def share(ctx: Context, state: State, env: str, say: _Reporter | None = None) -> None:
    """The state in ``env``'s ledger as well, so ``--resume`` and ``--rollback`` work from another machine.
    An instance without a ledger keeps the local copy only; a ledger that cannot be reached is said."""
    from tui.core.ledger import LedgerUnavailable, open_ledger
    from tui.core.ledger.store import NotInitialised

    try:
        await open_ledger(ctx, env).append("rollout-state", env, {"release": state.release, "state": state.shared()})
    except NotInitialised:
        return
    except (LedgerUnavailable, E.PrismeError) as exc:
        if say is not None:
            say("ledger", env, f"{env}: the rollout state was not written to the ledger ({exc.message}); kept locally")


async def load_state(ctx: Context, name: str) -> State:
    """The newest state of rollout ``name``: this machine's file, or the ledger of any of its environments."""
    from tui.core.ledger import LedgerUnavailable, open_ledger

    found: list[State] = []
    if State.path(name).is_file():
        found.append(State.load(name))
    seen: set[str] = set()
    for env in [env for stage in stages(ctx) for env in stage.environments]:
        if ctx.env(env).url in seen:
            continue
        seen.add(ctx.env(env).url)
        try:
            records = await open_ledger(ctx, env).read(kinds=["rollout-state"])
        except LedgerUnavailable:
            continue  # its copy is unknown: the others (and the local file) still tell
        for record in records:
            state = State.from_shared(record.payload.get("state"), name)
            if record.payload.get("release") == name and state is not None:
                found.append(state)
    if not found:
        return State.load(name)  # the NotFound that names where it looked
    return max(found, key=lambda state: state.saved_at)


class _Reporter:
    def __init__(self, state: State, notify: Notify | None) -> None:
        self.state, self.notify = state, notify

    def __call__(self, kind: str, env: str | None, message: str, ok: bool = True, **extra: Any) -> None:
        step = {"kind": kind, "env": env, "ok": ok, "message": message, **extra}
        self.state.steps.append(step)
        if self.notify:
            self.notify(step)


# ------------------------------------------------------------------------------------------- run
def require_head(
    ctx: Context, the_release: release.Release, repository: str | None = None, head: release.Release | None = None
) -> str:
    """Refuse (exit 2) a release that is not the repository's branch head: a bulk import imports the head,
    so a rollout (or its plan) of another release would deploy, or show, other versions. The repository id.
    ``head``: the head already read (the Releases view compares every release with one read)."""
    repo_id = repository or the_release.repository or release._repository(ctx, None)
    head = head or release.from_repository(ctx, repo_id, "head")
    if missing := release.head_differences(the_release, head):
        first = ", ".join(f"{d.workspace} {d.old or '—'}→{d.new or '—'}" for d in missing[:5])
        raise E.UsageError(
            f"the head of repository {repo_id} is not release {the_release.name} ({first}): "
            "a rollout imports the head, not this release.",
            hint="Bulk push the release to the repository first: a rollout imports the branch head.",
        )
    return repo_id


async def run(
    ctx: Context,
    name: str,
    *,
    repository: str | None = None,
    groups: list[str],
    resume: bool = False,
    confirm: Confirm | None = None,
    notify: Notify | None = None,
    request: Request | None = None,
    auto_rollback: bool = False,
) -> State:
    """``request``: the rollout asked for; its reason and broken glass reach every stage's import.
    ``auto_rollback``: when a gate fails (on any stage; a stage's ``auto_rollback = true`` asks it for
    that stage alone), roll back every environment this rollout changed and verify it from the platform."""
    why = request if request is not None else Request()
    auto_rollback = auto_rollback or bool(getattr(why, "auto_rollback", False))
    the_release = release.get(ctx, name, repository)
    repo_id = the_release.repository or release._repository(ctx, repository)
    all_stages, tests = stages(ctx), smokes(ctx)
    state = await load_state(ctx, name) if resume else State(name, repo_id, groups)
    if resume:
        state.failed, state.status, state.rollback = None, "running", None
    say = _Reporter(state, notify)
    # The gate, for every environment still to go, before the first is touched: a frozen last stage
    # refuses the whole rollout here, not after the earlier stages were imported.
    todo = [env for stage in all_stages for env in stage.environments if env not in state.done]
    decision = gate.enforce(ctx, gate.operation(ctx, f"rollout of {name}", todo, request=why))
    require_expectations(ctx, all_stages, tests)
    await asyncio.to_thread(require_head, ctx, the_release, repo_id)
    await release.refuse_rejected_import(ctx, repo_id)  # another name for a rejected head: no stage imports it
    glass = why.break_glass if decision.glass else None
    async with lease.for_environments(ctx, todo, "rollout", name, say=lambda text: say("lease", None, text)) as held:
        return await _run_stages(ctx, state, say, all_stages, tests, confirm, held, why, glass, auto_rollback)


async def _run_stages(
    ctx: Context,
    state: State,
    say: _Reporter,
    all_stages: list[Stage],
    tests: list[Smoke],
    confirm: Confirm | None,
    held: list[lease.Lease],
    why: Request,
    glass: str | None,
    auto_rollback: bool,
) -> State:
    name = state.release
    where = ",".join(s.name for s in all_stages)
    with ctx.audit.record(
        "rollout", where, targets=state.groups, version=name, reason=why.reason, break_glass=glass
    ) as entry:
        if held:
            entry.details["leases"] = [h.to_json() for h in held]
        confirm = _one_at_a_time(confirm)
        for stage in all_stages:
            for wave in waves(stage):
                for env in wave:
                    if env in state.done:
                        say("skip", env, f"{env} already passed every gate (resumed)")
                todo = [env for env in wave if env not in state.done]
                if todo and not await _wave(ctx, state, say, stage, todo, tests, confirm, why):
                    state.status = "stopped"
                    if (auto_rollback or stage.auto_rollback) and (state.failed or {}).get("gate") != "confirm":
                        await _auto_rollback(ctx, state, say, why)
                    entry.outcome = "failed"
                    entry.details["failed"] = state.failed
                    entry.details["rollback"] = state.rollback
                    entry.details["steps"] = journal(state.steps)
                    state.save()
                    await share(ctx, state, str((state.failed or {}).get("env") or todo[-1]), say)
                    return state
        state.status = "completed"
        say("completed", None, f"release {name} rolled out to {', '.join(state.done)}")
        entry.details["steps"] = journal(state.steps)
    state.save()
    if state.done:
        await share(ctx, state, state.done[-1], say)
    return state


def _one_at_a_time(confirm: Confirm | None) -> Confirm | None:
    """Environments of a wave run at once, their confirmations one after the other (one terminal)."""
    if confirm is None:
        return None
    lock = asyncio.Lock()

    async def ask(env: str, the_plan: plan.Plan) -> bool:
        async with lock:
            return await confirm(env, the_plan)

    return ask


async def _wave(
    ctx: Context,
    state: State,
    say: _Reporter,
    stage: Stage,
    envs: list[str],
    tests: list[Smoke],
    confirm: Confirm | None,
    request: Request | None = None,
) -> bool:
    """Up to ``max_parallel`` environments at once. Each instance's and user's request budget is the
    client's, one per URL and user for the process, so concurrent environments of one instance share it.
    After a failure, the environments not started yet are left untouched; those running finish."""
    limit = asyncio.Semaphore(stage.max_parallel)

    async def one(env: str) -> bool:
        async with limit:
            if state.failed:
                return False
            if not await _one_env(ctx, state, say, stage, env, tests, confirm, request):
                return False
            state.done.append(env)
            state.save()
            await share(ctx, state, env, say)  # on every machine: --resume goes on from here
            return True

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(env)) for env in envs]
    return all(task.result() for task in tasks)


def journal(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step of the run for the audit journal: what, where, whether it passed (plans stay in --json)."""
    return [{k: v for k, v in step.items() if k != "plan"} for step in steps]


async def _one_env(
    ctx: Context,
    state: State,
    say: _Reporter,
    stage: Stage,
    env: str,
    tests: list[Smoke],
    confirm: Confirm | None,
    request: Request | None = None,
) -> bool:
    ctx.require_writable(env)
    the_plan = await plan.bulk_import(ctx, env, repository=state.repository, groups=state.groups)
    counts = the_plan.counts()
    note = smoke_note(tests)
    say(
        "plan",
        env,
        f"stage {stage.name}: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['skip']} unchanged, {counts['blocked']} blocked" + (f"; {note}" if note else ""),
        plan=the_plan.to_json(),
    )
    if ctx.env(env).protected:
        if confirm is None or not await confirm(env, the_plan):
            return _fail(state, say, env, "confirm", f"{env} is protected and the rollout was not confirmed")
        say("confirm", env, f"{env}: confirmed")
    before = await release.from_env(ctx, env, state.release)
    uncertain = env in state.previous  # an earlier attempt got this far: it may have imported (kill -9)
    state.previous.setdefault(env, before.workspaces)  # on resume, keep what ran before the first attempt
    if (the_plan.has_changes or uncertain) and env not in state.changed:
        state.changed.append(env)  # write-ahead: recorded (and saved below) before the first import request
    began = ""
    if stage.errors is not None:  # the error gate's baseline ends here (server clock); resumed, where it first did
        async with ctx.client(env) as client:
            began = state.imports.setdefault(env, await client.server_since(0.0))
    state.save()
    await share(ctx, state, env, say)  # write-ahead, before the first import request, on every machine
    say("snapshot", env, f"{env}: recorded what it runs ({len(before.workspaces)} workspaces) for a rollback")
    if the_plan.has_changes:
        result = bulk.BulkRun(env, "bulk-import")
        stream = bulk.bulk_import(
            ctx, env, repository=state.repository, groups=state.groups, run=result, request=request
        )
        async for event in stream:
            if event.kind in ("completed", "notice") and event.message:
                say("import", env, event.message)
        if result.failed:
            return _fail(
                state, say, env, "import", f"{env}: the bulk import stopped at group {result.stopped_at or '?'}"
            )
        say("import", env, f"{env}: imported {', '.join(state.groups)}")
    changed = [i.slug for i in the_plan.items if i.action in ("create", "update")]
    if uncertain:  # resumed: what an earlier attempt imported is watched too, never "nothing imported"
        earlier = state.previous.get(env, {})
        changed += [i.slug for i in the_plan.items if i.slug not in changed and earlier.get(i.slug) != i.to_version]
    imported = Imported(began, changed)
    return await _gates(ctx, state, say, stage, env, tests, rebuild=the_plan.has_changes, imported=imported)


@dataclass(frozen=True)
class Imported:
    """What an environment's import changed, and when it began (server clock): the error gate's input."""

    began: str
    slugs: list[str]


async def _readiness(client: Any, state: State, say: _Reporter, stage: Stage, env: str) -> bool:
    """Fail closed: a readiness the token may not read is a failed gate, unless the stage says skip."""
    ready = await client.readiness()
    if not ready.available:  # a 2024 instance has no readiness route: its health is /v2/me and a listing
        await client.me()
        await client.probe_listing()
        say("gate", env, f"{env}: UP (no readiness endpoint: /v2/me and a listing answered)", gate="readiness")
        return True
    if not ready.allowed:
        if stage.readiness != "skip":
            return _fail(
                state,
                say,
                env,
                "readiness",
                f"{env}: readiness unknown: this token may not read GET /v2/readiness (it needs a super admin); "
                f'failed closed. Use a super admin\'s token, or set readiness = "skip" on stage {stage.name}',
            )
        say("gate", env, f'{env}: readiness NOT CHECKED (readiness = "skip" on stage {stage.name})', gate="readiness")
        return True
    if not ready.ready:
        return _fail(state, say, env, "readiness", f"{env}: not ready ({ready.services})")
    say("gate", env, f"{env}: readiness ok", gate="readiness")
    return True


async def _smoke(client: Any, ws_id: str, test: Smoke, rebuild: bool) -> Any:
    """Run the automation (for real); right after an import, ask the runtime to rebuild its model first."""
    return await client.test_automation(ws_id, test.automation, test.payload, rebuild=rebuild)


async def _gates(
    ctx: Context,
    state: State,
    say: _Reporter,
    stage: Stage,
    env: str,
    tests: list[Smoke],
    *,
    rebuild: bool = False,
    imported: Imported | None = None,
) -> bool:
    async with ctx.client(env) as client:
        if not await _readiness(client, state, say, stage, env):
            return False
        present = {w.slug: w for w in await client.list_workspaces()}
        for test in tests:
            ws = present.get(test.workspace)
            if ws is None:
                if optional(stage, test):
                    say(
                        "gate",
                        env,
                        f"{env}: smoke {test.workspace}/{test.automation} NOT RUN: "
                        f"{test.workspace} is absent there (optional on stage {stage.name})",
                        gate="smoke",
                    )
                    continue
                return _fail(
                    state,
                    say,
                    env,
                    "smoke",
                    f"{env}: smoke {test.workspace}/{test.automation} cannot run: {test.workspace} is absent there "
                    f"(list it in optional_smoke of stage {stage.name} if that is expected)",
                )
            try:
                output = await _smoke(client, ws.id, test, rebuild)
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
                    f"{env}: smoke {test.workspace}/{test.automation} answered {_shown(output)}, "
                    f"expected {test.expect!r}",
                )
            say("gate", env, f"{env}: smoke {test.workspace}/{test.automation} ok", gate="smoke")
        if stage.errors is not None and not await _error_gate(client, state, say, stage, env, present, imported):
            return False
    if stage.soak:
        say("gate", env, f"{env}: soaking {stage.soak:g} s", gate="soak")
        await asyncio.sleep(stage.soak)
    say("passed", env, f"{env}: every gate passed")
    return True


async def _error_gate(
    client: Any,
    state: State,
    say: _Reporter,
    stage: Stage,
    env: str,
    present: dict[str, Any],
    imported: Imported | None,
) -> bool:
    """The platform's error signal over ``watch`` after the import, against the same span before it."""
    spec = stage.errors
    assert spec is not None
    if spec.mode == "skip":
        say("gate", env, f'{env}: error rate NOT CHECKED (signal = "skip" on stage {stage.name})', gate="errors")
        return True
    if imported is None or not imported.slugs:
        say("gate", env, f"{env}: nothing imported, no error rate to watch", gate="errors")
        return True
    missing = [slug for slug in imported.slugs if slug not in present]
    if missing:
        return _fail(
            state, say, env, "errors", f"{env}: error signal unknown: {', '.join(missing)} not listed after the import"
        )
    say(
        "gate",
        env,
        f"{env}: watching the error rate of {', '.join(imported.slugs)} for {spec.watch:g} s",
        gate="errors",
    )
    started = client.server_now()
    verdict = await signal.watch(client, spec, {s: present[s].id for s in imported.slugs}, imported.began, started)
    if not verdict.ok:
        return _fail(state, say, env, "errors", f"{env}: {verdict.message}", signal=verdict.to_json())
    say("gate", env, f"{env}: {verdict.message}", gate="errors", signal=verdict.to_json())
    return True


def _shown(output: Any) -> str:
    """A smoke test's output as messages, --json and the audit keep it: bounded like any server input
    ([limits] smoke_output_max_kb), the rest counted."""
    from tui.core.limits import current

    text = repr(output)
    limit = int(current().smoke_output_max_kb * 1024)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _fail(state: State, say: _Reporter, env: str, gate: str, message: str, **extra: Any) -> bool:
    if state.failed is None:  # in a parallel wave the first failure is the one the rollout stopped on
        state.failed = {"env": env, "gate": gate, "message": message, **extra}
    say("stopped", env, message, ok=False, gate=gate, **extra)
    say(
        "hint",
        env,
        f"roll back what this rollout changed ({', '.join(state.changed) or 'nothing'}): "
        f"prisme-deploy rollout {state.release} --rollback; or fix and continue: --resume",
    )
    return False


# ------------------------------------------------------------------------------------------- rollback
async def rollback(
    ctx: Context, name: str, *, notify: Notify | None = None, request: Request | None = None
) -> tuple[State, list[actions.Outcome]]:
    """Pull the previous versions back on every environment this rollout imported into, newest first
    (``request``: its reason and broken glass)."""

    state = await load_state(ctx, name)
    gate.enforce(ctx, gate.operation(ctx, f"rollback of rollout {name}", reversed(state.changed), request=request))
    say = _Reporter(state, notify)
    outcomes = await _restore(ctx, state, say, request)
    state.status = "rolled-back" if all(o.ok for o in outcomes) else "stopped"
    state.save()
    return state, outcomes


def _touched(state: State) -> list[str]:
    """Every environment whose previous versions were recorded, in rollout order, not only those recorded
    as changed: a process killed mid-import leaves that record uncertain, so the live versions decide."""
    return list(state.previous) + [env for env in state.changed if env not in state.previous]


async def _restore(ctx: Context, state: State, say: _Reporter, request: Request | None = None) -> list[actions.Outcome]:
    from tui.core.ops import history

    outcomes: list[actions.Outcome] = []
    for env in reversed(_touched(state)):
        async with ctx.client(env) as client:
            running = await history.live_versions(client, await client.list_workspaces())
        for slug, version in sorted(state.previous.get(env, {}).items()):
            if not version:  # unknown is never "rolled back": a failure, listed
                text = (
                    f"{env}: {slug} NOT rolled back: the version it ran before the rollout is unknown "
                    "(no lastPull, no import event); check its history (prisme-deploy versions) and pull it by hand"
                )
                outcomes.append(actions.Outcome(False, text))
                say("rollback", env, text, ok=False)
                continue
            if running.get(slug) == version:
                continue
            outcome = await actions.pull(
                ctx,
                env,
                slug,
                version=version,
                repository=state.repository,
                discard_local_changes=True,
                action="rollback",
                request=request,
            )
            outcomes.append(outcome)
            say("rollback", env, outcome.message, ok=outcome.ok)
    return outcomes


async def _verify(ctx: Context, state: State, say: _Reporter) -> bool:
    """Read back, from each environment, that every workspace runs the version recorded before the rollout."""
    from tui.core.ops import history

    verified = True
    for env in reversed(_touched(state)):
        async with ctx.client(env) as client:
            running = await history.live_versions(client, await client.list_workspaces())
        wrong = [
            f"{slug} runs {running.get(slug) or 'an unknown version'}, not {version}"
            for slug, version in sorted(state.previous.get(env, {}).items())
            if version and running.get(slug) != version
        ]
        verified = verified and not wrong
        text = f"{env}: " + ("; ".join(wrong) if wrong else "every workspace runs its version from before the rollout")
        say("verify", env, text, ok=not wrong)
    return verified


async def _auto_rollback(ctx: Context, state: State, say: _Reporter, request: Request | None = None) -> None:
    """A failed gate, with --auto-rollback or the stage's auto_rollback: back where this rollout changed
    (the failed stage and the ones before it: no later one was touched), each verified from the platform."""
    envs = list(reversed(_touched(state)))
    say("rollback", None, f"automatic rollback of {', '.join(envs) or 'nothing'} after the failed gate")
    try:
        gate.enforce(ctx, gate.operation(ctx, f"automatic rollback of rollout {state.release}", envs, request=request))
        outcomes = await _restore(ctx, state, say, request)
        verified = await _verify(ctx, state, say)
    except E.PrismeError as exc:
        say("rollback", None, f"automatic rollback failed: {exc.message}", ok=False)
        state.rollback = {"automatic": True, "environments": envs, "ok": False, "verified": False, "error": exc.message}
        return
    ok = all(o.ok for o in outcomes)
    state.rollback = {"automatic": True, "environments": envs, "ok": ok, "verified": verified}
    if ok and verified:
        state.status = "rolled-back"
