"""A drill's legs say what each did, and a rate-limit wait inside a leg is reported apart from its time
(QA: the restore leg's time included a 54 s wait for the gateway's 3 imports a minute)."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from tui.core.api import budget
from tui.core.ops import actions, drill, history

WAIT = 0.3  # the fake gateway's wait in the restore leg


class Audit:
    @contextmanager
    def record(self, *args: Any, **kwargs: Any) -> Any:
        yield SimpleNamespace(details={}, outcome="ok")


def fake_pull(waits: dict[str, float]) -> Any:
    async def pull(ctx: Any, env: str, slug: str, *, version: str, verb: str, **kwargs: Any) -> actions.Outcome:
        if waits.get(version):
            await budget.paced_sleep(waits[version])  # what RequestBudget.acquire does when the limit is spent
        workspace = SimpleNamespace(live_version=version)
        return actions.Outcome(True, f"{verb} {slug} to {version}: verified", workspace)  # type: ignore[arg-type]

    return pull


def test_each_leg_says_what_it_did() -> None:
    assert drill.Leg("rollback", "v1", ok=True).state() == "Rolled back to v1, verified"
    assert drill.Leg("restore", "v2", ok=True).state() == "Restored v2, verified"
    assert drill.Leg("restore", "v2", ok=False).state() == "FAILED"


def test_a_rate_limit_wait_is_reported_apart_from_the_legs_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "pull", fake_pull({"v2": WAIT}))
    monkeypatch.setattr(history, "load", lambda *a: _found())
    ctx = SimpleNamespace(audit=Audit())
    done = asyncio.run(drill.run(ctx, drill.Drill("staging", "bot", "v2", "v1")))  # type: ignore[arg-type]
    rollback, restore = done.legs
    assert rollback.waited == 0.0  # no wait in it: none reported
    assert restore.waited >= WAIT  # the wait, said apart...
    assert restore.seconds < WAIT  # ...and not in the leg's own time
    doc = done.to_json()
    assert doc["waitedSeconds"] == pytest.approx(restore.waited, abs=0.01)
    assert [leg["waitedSeconds"] for leg in doc["legs"]] == [0.0, round(restore.waited, 2)]


def test_only_the_waits_inside_the_block_are_counted() -> None:
    async def go() -> tuple[float, float]:
        await budget.paced_sleep(0.01)  # not counted anywhere (no block open): no error either
        with budget.waits_counted() as tally:
            await asyncio.gather(budget.paced_sleep(0.01), budget.paced_sleep(0.01))  # child tasks count too
        inside = tally.seconds
        await budget.paced_sleep(0.01)  # after the block: not added to it
        return inside, tally.seconds

    inside, after = asyncio.run(go())
    assert inside >= 0.02 and after == inside


async def _found() -> Any:
    return SimpleNamespace(versions=[])


def test_the_table_says_what_each_leg_did_and_the_wait_apart() -> None:
    import io

    from tui.cli.drill_cmds import report
    from tui.cli.output import Printer

    done = drill.Drill("staging", "bot", "v2", "v1")
    done.legs = [drill.Leg("rollback", "v1", 2.0, True), drill.Leg("restore", "v2", 3.0, True, waited=54.0)]
    out, err = io.StringIO(), io.StringIO()
    report(done, Printer(json_mode=False, out=out, err=err))
    text = out.getvalue()
    assert "Rolled back to v1, verified" in text and "Restored v2, verified" in text, text
    restore = next(line for line in text.splitlines() if line.startswith("restore"))
    assert "3.0 s" in restore and "54.0 s" in restore, restore  # the leg's time, and its wait apart
    assert "time to recover: 5.0 s, besides 54.0 s waiting for the gateway's rate limit (ok)" in text, text
