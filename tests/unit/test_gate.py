"""Issue 24: one gate in the core. The core operations themselves (pull, bulk import, promote) refuse on a
frozen, busy, read-only or reason-less environment, before any request: the instance's address listens to
nothing, so an operation that got past its gate would fail on the network instead."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tui.core import config as cfg
from tui.core import errors as E
from tui.core.diff import diff_files
from tui.core.ops import actions, bulk, gate, promote, sticky
from tui.core.ops.compare import Ref
from tui.core.ops.context import Busy, Context, ReadOnly
from tui.core.ops.requests import Request
from tui.core.rails import Frozen, ReasonRequired

NOWHERE = "http://127.0.0.1:9"  # discard port: nothing answers


def context(monkeypatch: pytest.MonkeyPatch, **prod: str) -> Context:
    extra = "\n".join(f"{k} = {v}" for k, v in prod.items())
    text = (
        f'[environments.dev]\nurl = "{NOWHERE}"\n'
        f'[environments.prod]\nurl = "{NOWHERE}"\ntier = "production"\nrequire_reason = true\n{extra}\n'
    )
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", "at:gate-test-token-0123456789")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", "at:gate-test-token-0123456789")
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "CHG-1")  # the run's default reason (a request without one)
    return Context.create(cfg.parse(text), use_keyring=False)


async def _pull(ctx: Context, request: Request | None = None) -> Any:
    return await actions.pull(ctx, "prod", "support-bot", version="v1", repository="release", request=request)


async def _bulk_import(ctx: Context) -> Any:
    return [e async for e in bulk.bulk_import(ctx, "prod", repository="release", groups=["base1"])]


async def _promote(ctx: Context) -> Any:
    changed = diff_files({"index.yml": b"a: 1\n"}, {"index.yml": b"a: 2\n"})
    the_plan = promote.Plan(Ref("dev", "support-bot"), Ref("prod", "support-bot"), changed)
    return await promote.promote(ctx, the_plan)


async def _sticky(ctx: Context) -> Any:  # publishes to git before its pull: the gate comes first
    return await sticky.sticky_rollback(ctx, "prod", "support-bot", "v1", repository="release")


OPERATIONS: dict[str, Callable[[Context], Awaitable[Any]]] = {
    "pull": _pull,
    "bulk import": _bulk_import,
    "promote": _promote,
    "sticky rollback": _sticky,
}


@pytest.mark.parametrize("op", list(OPERATIONS))
async def test_the_core_operation_refuses_a_frozen_environment_and_says_the_window(
    op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(monkeypatch, freeze='["2020-01-01/2099-12-31"]')
    with pytest.raises(
        Frozen, match=r"prod is frozen until 2100-01-01T00:00\+00:00 \(window '2020-01-01/2099-12-31'\)"
    ):
        await OPERATIONS[op](ctx)
    assert not ctx.running


@pytest.mark.parametrize("op", list(OPERATIONS))
async def test_the_core_operation_refuses_a_busy_environment(op: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(monkeypatch)
    ctx.running["prod"] = "bulk push"
    with pytest.raises(Busy, match="prod is already running bulk push"):
        await OPERATIONS[op](ctx)
    assert ctx.running == {"prod": "bulk push"}  # the other operation's lock is left alone


@pytest.mark.parametrize("op", list(OPERATIONS))
async def test_the_core_operation_refuses_a_read_only_environment(op: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(monkeypatch, read_only="true")
    with pytest.raises(ReadOnly, match="marked read_only"):
        await OPERATIONS[op](ctx)


@pytest.mark.parametrize("op", list(OPERATIONS))
async def test_the_core_operation_refuses_without_a_required_reason(op: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(monkeypatch)
    monkeypatch.delenv("PRISME_DEPLOY_REASON")  # and the operation is given none
    with pytest.raises(ReasonRequired, match="prod requires a reason"):
        await OPERATIONS[op](ctx)


async def test_a_broken_glass_lets_the_change_through_the_window_and_is_noted_for_the_journal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = context(monkeypatch, freeze='["2020-01-01/2099-12-31"]')
    glass = Request(reason=None, break_glass="INC-9 outage")
    with pytest.raises(E.PrismeError) as failed:  # past the gate: the address listens to nothing
        await _pull(ctx, glass)
    assert not isinstance(failed.value, (Frozen, ReasonRequired, Busy, ReadOnly))
    assert ctx.audit.stamps == {} and not ctx.running  # nothing left behind for the next operation
    with ctx.operation("prod", "pull support-bot", request=glass), ctx.audit.record("pull", "prod"):
        pass
    with ctx.operation("dev", "pull support-bot", request=glass), ctx.audit.record("pull", "dev"):
        pass  # dev is not frozen: the glass let nothing in there
    by_env = {e["env"]: e for e in ctx.audit.read()}
    assert by_env["prod"]["breakGlass"] == "INC-9 outage" and "breakGlass" not in by_env["dev"]


async def test_two_operations_at_once_keep_their_own_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 27: the reason travels with the request; two changes running together never swap reasons."""
    ctx = context(monkeypatch)
    opened = asyncio.Event()

    async def change(env: str, reason: str, first: bool) -> None:
        with ctx.operation(env, f"pull on {env}", request=Request(reason=reason)):
            if first:
                await opened.wait()  # the second operation starts, with its reason, while this one runs
            else:
                opened.set()
            with ctx.audit.record("pull", env):
                await asyncio.sleep(0)

    await asyncio.gather(change("prod", "CHG-prod", True), change("dev", "CHG-dev", False))
    assert {e["env"]: e["reason"] for e in ctx.audit.read()} == {"prod": "CHG-prod", "dev": "CHG-dev"}


def test_a_multi_environment_decision_names_every_refusal_and_the_way_through(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(monkeypatch, freeze='["Fri 16:00-Mon 08:00 Europe/Paris"]')
    friday = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # Friday 18:00 in Paris: frozen
    decision = gate.decide(ctx, gate.operation(ctx, "rollout of r1", ["dev", "prod"]), now=friday)
    assert not decision.allowed and [r.rule for r in decision.refusals] == ["frozen"]
    refusal = decision.refusals[0]
    assert refusal.env == "prod" and "Fri 16:00-Mon 08:00 Europe/Paris" in (refusal.window or "")
    assert "--break-glass" in refusal.way_through
    assert decision.message.endswith("rollout of r1 refused; nothing was done.")
    glass = gate.decide(ctx, gate.Operation("rollout of r1", ("dev", "prod"), None, "INC-1"), now=friday)
    assert glass.allowed and glass.glass == ("prod",)
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert gate.decide(ctx, gate.operation(ctx, "rollout of r1", ["dev", "prod"]), now=monday).allowed
    monkeypatch.delenv("PRISME_DEPLOY_REASON")
    ctx.read_only = True
    ctx.running["dev"] = "pull"
    every = gate.decide(ctx, gate.operation(ctx, "x", ["dev", "prod"]), now=friday)
    assert [r.rule for r in every.refusals] == ["read_only", "read_only", "frozen", "reason", "busy"]
    with pytest.raises(ReadOnly):
        every.raise_if_refused()


def test_a_dry_run_passes_a_freeze_window_and_a_missing_reason_but_not_a_busy_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = context(monkeypatch, freeze='["2020-01-01/2099-12-31"]')
    monkeypatch.delenv("PRISME_DEPLOY_REASON")
    assert gate.decide(ctx, gate.operation(ctx, "bulk push", ["prod"], dry_run=True)).allowed
    ctx.running["prod"] = "pull"
    assert [r.rule for r in gate.decide(ctx, gate.operation(ctx, "bulk push", ["prod"], dry_run=True)).refusals] == [
        "busy"
    ]


def test_an_approval_hook_refuses_until_approved(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(monkeypatch)

    def second_pair_of_eyes(_ctx: Context, op: gate.Operation, env: str) -> gate.Refusal | None:
        return gate.Refusal("approval", env, f"{op.what} on {env} needs an approval.", "Ask a colleague.")

    monkeypatch.setattr(gate, "APPROVALS", [second_pair_of_eyes])
    with pytest.raises(E.PrismeError, match="needs an approval"):
        gate.enforce(ctx, gate.operation(ctx, "pull", ["prod"]))
