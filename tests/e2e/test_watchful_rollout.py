"""Issue 29: rollouts that watch the platform. The sandbox's synthetic traffic (``runtime.automations.executed``
and ``error`` events) with the fault ``error_rate``, the error gate of a stage, the automatic rollback
verified from the platform, canary waves, end to end on the demo fleet (staging, then prod-eu and prod-us)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import platform_config, set_faults

from tui.cli.main import main
from tui.core import errors as E
from tui.core.ops import signal
from tui.sandbox import traffic
from tui.sandbox.faults import Faults, parse_fault
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.search import search_events

pytestmark = [pytest.mark.usefixtures("a_reason")]

TRAFFIC = 600.0  # executions a minute per workspace: 40 in a 4 s watch


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------------ the sandbox
def test_the_error_rate_fault_parses_and_refuses_what_is_not_a_fraction() -> None:
    assert parse_fault("error_rate=knowledge-base:0.5") == {"error_rate": {"knowledge-base": 0.5}}
    faults = Faults()
    faults.update(parse_fault("error_rate=knowledge-base:0.5"))
    assert faults.error_rate == {"knowledge-base": 0.5}
    for bad in ({"error_rate": {"kb": 1.5}}, {"error_rate": {"kb": "half"}}, {"error_rate": ["kb"]}):
        with pytest.raises(ValueError, match="error_rate"):
            faults.update(bad)
    assert faults.error_rate == {"knowledge-base": 0.5}  # all or nothing
    with pytest.raises(ValueError, match="SLUG:FRACTION"):
        parse_fault("error_rate=0.5")


def test_the_demo_takes_a_fault_for_one_instance_or_all_and_refuses_an_unknown_instance() -> None:
    from tui.cli.sandbox_cmds import demo_faults

    found = demo_faults(["prod-eu/error_rate=knowledge-base:0.5", "latency_ms=5"])
    assert found == {"prod-eu": {"error_rate": {"knowledge-base": 0.5}}, "": {"latency_ms": 5}}
    with pytest.raises(ValueError, match="no demo instance 'prod-xx'"):
        demo_faults(["prod-xx/error_rate=knowledge-base:0.5"])
    with pytest.raises(ValueError, match="from 0 to 1"):
        demo_faults(["prod-eu/error_rate=knowledge-base:2"])


def test_synthetic_executions_have_the_published_shape_are_deterministic_and_fail_in_their_period() -> None:
    periods = [traffic.Period(start=1000.0, rate=1.0, end=1030.0)]
    found = traffic.events("ws1", ["a", "b"], 970.0, 1059.9, per_minute=60, seed=7, periods=periods)
    again = traffic.events("ws1", ["a", "b"], 970.0, 1059.9, per_minute=60, seed=7, periods=periods)
    assert found == again
    executed = [e for e in found if e["type"] == "runtime.automations.executed"]
    assert len(executed) == 90  # one a second
    for event in executed:  # swagger ExecutedAutomation: payload.{slug, trigger, payload, duration, startedAt, break}
        assert {"slug", "trigger", "payload", "duration", "startedAt", "break"} <= set(event["payload"])
        assert event["source"]["workspaceId"] == "ws1"
    failed = [e for e in executed if "error" in e["payload"]]
    assert len(failed) == 30 and all(1000 <= traffic._epoch(e["createdAt"]) < 1030 for e in failed)  # type: ignore[operator]
    assert {"error", "message"} <= set(failed[0]["payload"]["error"])
    errors = [e for e in found if e["type"] == "error"]  # GenericErrorEvent alongside
    assert len(errors) == 30 and all("message" in e["payload"] for e in errors)


def test_the_error_gate_search_counts_both_windows_in_one_aggregation() -> None:
    periods = [traffic.Period(start=1060.0, rate=1.0)]
    docs = traffic.events("ws1", ["a"], 1000.0, 1119.9, per_minute=60, seed=1, periods=periods)
    at = traffic.iso
    from datetime import datetime

    body = signal.query(*(datetime.fromisoformat(at(t).replace("Z", "+00:00")) for t in (1000, 1060, 1060, 1120)))
    assert traffic.time_range(body["query"]) == (1000.0, 1120.0)  # the sandbox generates only this range
    assert traffic.asks_for_executions(body["query"])
    imports = {"bool": {"filter": [{"term": {"type": "workspaces.imported"}}]}}
    assert not traffic.asks_for_executions(imports)  # an import search: no executions generated for it
    answer = search_events(docs, body)
    assert answer["documents"] == []
    buckets = answer["aggs"]["windows"]["buckets"]
    baseline = signal._window(buckets["baseline"], "baseline")
    watched = signal._window(buckets["watched"], "watched")
    assert (baseline.executions, baseline.error_count) == (60, 0)
    assert (watched.executions, watched.error_count) == (60, 60)
    # a hostile or partial answer is unreadable (the gate then fails closed), never "no errors"
    odds: list[Any] = [{"types": {"buckets": [{"key": ["x"], "doc_count": 1}]}}, {"failed": {"doc_count": True}}, []]
    for odd in odds:
        with pytest.raises(E.UnexpectedResponse):
            signal._window(odd, "watched")


# ------------------------------------------------------------------------------------------------ the gate
def test_the_gate_fails_closed_without_enough_executions_and_judges_the_rise_over_the_baseline() -> None:
    spec = signal.Spec(watch=10, max_error_rate=0.1, min_executions=20)

    def reading(base: tuple[int, int], seen: tuple[int, int]) -> signal.Reading:
        return signal.Reading("kb", signal.Window(base[0], base[1], 0), signal.Window(seen[0], seen[1], 0))

    short = signal.judge(spec, [reading((40, 0), (5, 0))])
    assert not short.ok and "failed closed" in short.message and "20 needed" in short.message
    assert not signal.judge(spec, [reading((40, 0), (40, 20))]).ok  # 0 % -> 50 %
    assert signal.judge(spec, [reading((40, 12), (40, 14))]).ok  # 30 % -> 35 %: within 0.1 of it
    thin = signal.judge(spec, [reading((3, 0), (40, 6))])  # baseline unknown: counted as 0 %, said
    assert not thin.ok
    assert "counted as 0 %" in signal.judge(spec, [reading((3, 0), (40, 2))]).message
    # An error event without payload.error on the execution still counts: the larger of the two.
    assert signal.Window(40, 0, 20).error_count == 20


# ------------------------------------------------------------------------------------------------ parallel waves
async def test_environments_running_at_once_share_one_budget_per_instance_and_user() -> None:
    """A wave's concurrent environments on one instance (or one user's several tasks) draw on one budget:
    of 5 concurrent event searches under a limit of 3, 3 go and 2 wait for the window."""
    import asyncio

    from tui.core.api import budget

    budget._BUDGETS.clear()
    shared = budget.budget_for("http://127.0.0.1:1", "at:one-user")
    assert budget.budget_for("http://127.0.0.1:1", "at:one-user") is shared  # a second client, the same budget
    assert budget.budget_for("http://127.0.0.1:1", "at:another-user") is not shared
    shared.limits["events"] = 3
    tasks = [asyncio.create_task(shared.acquire("events")) for _ in range(5)]
    done, waiting = await asyncio.wait(tasks, timeout=0.5)
    try:
        assert (len(done), len(waiting), shared.room("events")) == (3, 2, 0)
    finally:
        for task in waiting:
            task.cancel()
        budget._BUDGETS.clear()


def test_a_canary_share_of_a_fleet_stage_goes_first() -> None:
    from tui.core.ops.rollout import Stage, waves

    fleet = tuple(f"i{n}" for n in range(10))
    assert waves(Stage("s", fleet)) == [list(fleet)]
    assert waves(Stage("s", fleet, canary_percent=20)) == [list(fleet[:2]), list(fleet[2:])]
    assert waves(Stage("s", fleet, canary_percent=1)) == [list(fleet[:1]), list(fleet[1:])]  # at least one
    assert waves(Stage("s", ("a",), canary_percent=50)) == [["a"]]


# ------------------------------------------------------------------------------------------------ end to end
def rollout_toml(**prod: str) -> str:
    extra = "\n".join(f"{k} = {v}" for k, v in prod.items())
    return f"""
[[rollout]]
stage = "preprod"
environments = ["preprod"]
watch = "4s"
min_executions = 10

[[rollout]]
stage = "prod"
environments = ["prod-eu", "prod-us"]
max_parallel = 2
canary_percent = 50
watch = "4s"
max_error_rate = 0.2
min_executions = 10
{extra}
"""


@pytest.fixture
def demo_fleet(
    platform: dict[str, Running], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Running]]:
    """The demo fleet: preprod, then prod-eu and prod-us, copies of prod (which runs an older release than
    the repository's head), with users hitting every workspace."""
    root = Path(platform["dev"].sandbox.data_dir).parent
    fleet: dict[str, Running] = {}
    try:
        for name in ("preprod", "prod-eu", "prod-us"):
            shutil.copytree(root / "prod", root / name, symlinks=True)
            fleet[name] = start_in_thread(root / name, f"at:test-{name}-token-0123", name=name, faults=Faults())
        everyone = {**platform, **fleet}
        for running in everyone.values():
            headers = {"Authorization": f"Bearer {running.token}"}
            answer = httpx.post(f"{running.url}/sandbox/realism", json={"traffic_per_minute": TRAFFIC}, headers=headers)
            answer.raise_for_status()
        config = isolated_home / "config" / "prisme-deploy" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        extra = "".join(
            f'\n[environments.{n}]\nurl = "{r.url}"\ntier = "{"staging" if n == "preprod" else "production"}"\n'
            'repositories = ["release"]\n'
            for n, r in fleet.items()
        )
        config.write_text(platform_config(platform, root) + extra, encoding="utf-8")
        for name, running in everyone.items():
            monkeypatch.setenv(f"PRISME_DEPLOY_TOKEN_{name.upper().replace('-', '_')}", running.new_user())
        yield everyone
    finally:
        for running in fleet.values():
            running.stop()


def configure(isolated_home: Path, toml: str) -> None:
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + toml, encoding="utf-8")


def snapshot_before(capsys: pytest.CaptureFixture[str], *envs: str) -> None:
    for env in envs:
        args = ("release", "snapshot", "--env", env, "--group", "base1", "--name", f"before-{env}", "--store", "local")
        assert cli(capsys, *args)[0] == 0


def identical(capsys: pytest.CaptureFixture[str], env: str) -> bool:
    code, out, _ = cli(capsys, "release", "diff", "--env", env, f"before-{env}")
    return code == 0 and "identical" in out


def summary(out: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return lines[:-1], lines[-1]


@pytest.mark.e2e
def test_half_the_executions_failing_on_prod_eu_stop_the_rollout_and_the_auto_rollback_restores_every_stage(
    demo_fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    configure(isolated_home, rollout_toml())
    snapshot_before(capsys, "preprod", "prod-eu", "prod-us")
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.9")[0] == 0
    set_faults(demo_fleet["prod-eu"], error_rate={"knowledge-base": 0.5})

    code, out, err = cli(capsys, "rollout", "2026.12.9", "--groups", "base1", "--yes", "--auto-rollback", "--json")
    steps, final = summary(out)
    assert code == 1, err
    assert final["kind"] == "summary" and final["failed"] is True
    assert final["failure"]["env"] == "prod-eu" and final["failure"]["gate"] == "errors"
    assert "knowledge-base" in final["failure"]["message"] and "max_error_rate" in final["failure"]["message"]
    kb = next(r for r in final["failure"]["signal"]["readings"] if r["workspace"] == "knowledge-base")
    assert kb["baseline"]["rate"] == 0 and 0.25 < kb["watched"]["rate"] < 0.75
    # preprod imported and passed its own error gate; prod-us (after the canary) was never touched
    assert any(s["kind"] == "import" and s["env"] == "preprod" for s in steps)
    passed = [s["message"] for s in steps if s["env"] == "preprod" and s.get("gate") == "errors" and s["ok"]]
    assert passed[-1].startswith("preprod: error rate within 0.05 of the baseline (knowledge-base 0% of"), passed
    assert not any(s["env"] == "prod-us" for s in steps)
    assert final["rollback"] == {
        "automatic": True,
        "environments": ["prod-eu", "preprod"],
        "ok": True,
        "verified": True,
    }
    assert final["status"] == "rolled-back"
    assert [s["env"] for s in final["steps"] if s["kind"] == "verify"] == ["prod-eu", "preprod"]
    assert all(s["ok"] for s in final["steps"] if s["kind"] == "verify")
    for env in ("prod-eu", "preprod", "prod-us"):
        assert identical(capsys, env), env  # read back from each platform, not from our record
    journal = [json.loads(x) for x in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
    entry = [e for e in journal if e["action"] == "rollout"][-1]
    assert entry["outcome"] == "failed" and entry["details"]["rollback"]["verified"] is True

    # The fault describes the release's content, not one import: rolled out a second time (a user trying
    # the drill twice), the same content fails the same gate again, and is rolled back again.
    code, out, err = cli(capsys, "rollout", "2026.12.9", "--groups", "base1", "--yes", "--auto-rollback", "--json")
    _steps, again = summary(out)
    assert code == 1, err
    assert (again["failure"]["env"], again["failure"]["gate"], again["status"]) == ("prod-eu", "errors", "rolled-back")
    assert identical(capsys, "prod-eu")


@pytest.mark.e2e
def test_without_auto_rollback_the_error_gate_stops_and_leaves_the_release_in_place(
    demo_fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    configure(isolated_home, rollout_toml())
    snapshot_before(capsys, "prod-eu")
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.10")[0] == 0
    set_faults(demo_fleet["prod-eu"], error_rate={"knowledge-base": 0.5})
    code, out, err = cli(capsys, "rollout", "2026.12.10", "--groups", "base1", "--yes")
    assert code == 1 and "rollout 2026.12.10: stopped at prod-eu" in out
    assert "above max_error_rate 0.2" in out + err and "--rollback" in out
    assert not identical(capsys, "prod-eu")
    # Resumed, nothing is left to import on prod-eu: what the first attempt imported is watched again.
    code, out, err = cli(capsys, "rollout", "2026.12.10", "--resume", "--yes")
    assert code == 1 and "above max_error_rate 0.2" in out + err and "nothing imported" not in out + err


@pytest.mark.e2e
def test_a_parallel_wave_imports_both_instances_at_once_and_the_auto_rollback_takes_both_back(
    demo_fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    toml = (
        rollout_toml()
        .replace("canary_percent = 50\n", "")
        .replace('stage = "prod"', 'stage = "prod"\nauto_rollback = true')
    )
    configure(isolated_home, toml)
    snapshot_before(capsys, "prod-us")
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.12")[0] == 0
    set_faults(demo_fleet["prod-eu"], error_rate={"knowledge-base": 0.5})
    code, out, _ = cli(capsys, "rollout", "2026.12.12", "--groups", "base1", "--yes", "--json")  # the stage's key
    steps, final = summary(out)
    order = [(s["kind"], s["env"]) for s in steps]
    # max_parallel = 2: prod-us is planned while prod-eu is still being watched, not after it
    assert order.index(("plan", "prod-us")) < order.index(("stopped", "prod-eu")), order
    assert code == 1 and final["failure"]["env"] == "prod-eu" and final["status"] == "rolled-back"
    back = final["rollback"]["environments"]  # newest first: the wave's two in the order they were recorded
    assert sorted(back[:2]) == ["prod-eu", "prod-us"] and back[2:] == ["preprod"]
    assert identical(capsys, "prod-us")  # it passed its gates, and was taken back with the rest


@pytest.mark.e2e
def test_no_traffic_fails_the_gate_closed_and_signal_skip_lets_it_through_said_in_the_journal(
    demo_fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    preprod = demo_fleet["preprod"]
    headers = {"Authorization": f"Bearer {preprod.token}"}
    httpx.post(f"{preprod.url}/sandbox/realism", json={"traffic_per_minute": 0}, headers=headers).raise_for_status()
    configure(isolated_home, '\n[[rollout]]\nstage = "preprod"\nenvironments = ["preprod"]\nwatch = "2s"\n')
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r3")[0] == 0
    code, out, err = cli(capsys, "rollout", "r3", "--groups", "base1", "--yes")
    said = out + err
    assert code == 1 and "error signal unknown" in said and "failed closed" in said and "min_executions" in said

    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + 'signal = "skip"\n', encoding="utf-8")
    code, out, _ = cli(capsys, "rollout", "r3", "--resume", "--yes")
    assert code == 0, out
    assert 'error rate NOT CHECKED (signal = "skip" on stage preprod)' in out
    journal = [json.loads(x) for x in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
    steps = [e for e in journal if e["action"] == "rollout"][-1]["details"]["steps"]
    assert any("NOT CHECKED" in s["message"] for s in steps)


def test_stage_keys_are_checked_before_anything_runs(
    demo_fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r4")[0] == 0
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    base = config.read_text(encoding="utf-8")
    for bad, said in (
        ("max_error_rate = 0.1", "need watch"),
        ('watch = "1m"\nmax_error_rate = 2', "max_error_rate"),
        ('watch = "1m"\nsignal = "maybe"', "signal"),
        ("canary_percent = 100", "canary_percent"),
        ("max_parallel = 0", "max_parallel"),
        ('auto_rollback = "yes"', "auto_rollback"),
    ):
        config.write_text(base + f'\n[[rollout]]\nstage = "s"\nenvironments = ["staging"]\n{bad}\n', encoding="utf-8")
        code, _, err = cli(capsys, "rollout", "r4", "--groups", "base1", "--yes")
        assert code == 2 and said in err, (bad, err)


# ------------------------------------------------------------------------------------------------ the app
@pytest.mark.e2e
async def test_the_app_rollout_dialog_checkbox_rolls_back_automatically_when_the_error_gate_fails(
    demo_fleet: dict[str, Running], isolated_home: Path
) -> None:
    from test_app import log_text, make_app, settle
    from textual.widgets import Checkbox, DataTable, Input, SelectionList

    from tui.app.screens.activity import TableScreen
    from tui.app.screens.modals import ActionModal
    from tui.core.ops import release

    root = Path(demo_fleet["dev"].sandbox.data_dir).parent
    platform = {k: demo_fleet[k] for k in ("dev", "staging", "prod")}
    extra = "".join(
        f'\n[environments.{n}]\nurl = "{demo_fleet[n].url}"\ntier = "production"\nrepositories = ["release"]\n'
        for n in ("preprod", "prod-eu", "prod-us")
    )
    app = make_app(platform, root, env="dev", extra=extra + rollout_toml())
    before = await release.from_env(app.ctx, "prod-eu", "before", labels=["production:app:base1"])
    release.save(app.ctx, before, None, local=True)
    release.save(app.ctx, release.from_repository(app.ctx, "release", "2026.12.11"), None)
    set_faults(demo_fleet["prod-eu"], error_rate={"knowledge-base": 0.5})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen)
        table = app.screen.query_one(DataTable)
        names = [row[0] for row in app.screen.shown]  # in full: at 80 columns a cell may end in "…"
        table.move_cursor(row=names.index("2026.12.11"))
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#groups", SelectionList).select("base1")
        box = app.screen.query_one("#auto_rollback", Checkbox)
        assert box.value is False  # never on unless asked
        box.focus()
        await pilot.press("space")
        assert box.value is True
        await pilot.click("#confirm")  # Plan…
        await settle(pilot)
        assert isinstance(app.screen, ActionModal)
        app.screen.query_one("#confirm-input", Input).focus()
        await pilot.press(*"2026.12.11")
        await pilot.press("enter")
        await settle(pilot)
        log = log_text(app)
        assert "FAIL Rollout 2026.12.11: stopped at prod-eu, gate errors" in log, log
        assert "rolled back, verified on prod-eu, preprod" in log, log
        assert not isinstance(app.screen, ActionModal)  # rolled back already: no offer to do it again
    assert not await release.diff_env(app.ctx, "prod-eu", before)  # prod-eu runs the previous release again


async def test_the_gate_reads_a_real_sandbox_and_fails_closed_when_its_events_service_is_down(
    sandbox: Running,
) -> None:
    """Against one instance with traffic, windows already past: one search per workspace, no wait; then the
    events service down (the gateway's 500): unknown, failed closed, and what to do is said."""
    from datetime import UTC, datetime, timedelta

    from tui.core.api.client import PrismeClient

    headers = {"Authorization": f"Bearer {sandbox.token}"}
    realism = {"traffic_per_minute": 600, "event_lag": 0}
    httpx.post(f"{sandbox.url}/sandbox/realism", json=realism, headers=headers).raise_for_status()
    spec = signal.Spec(watch=10, max_error_rate=0.1, min_executions=50)
    began = datetime.now(UTC) - timedelta(seconds=30)
    stamp = traffic.iso(began.timestamp())
    async with PrismeClient(sandbox.url, sandbox.token) as api:
        ws = next(w for w in await api.list_workspaces())
        verdict = await signal.watch(api, spec, {ws.slug: ws.id}, stamp, stamp)
        assert verdict.ok, verdict.message
        assert verdict.readings[0].watched.executions == verdict.readings[0].baseline.executions == 100
        httpx.post(f"{sandbox.url}/sandbox/realism", json={"events_down": True}, headers=headers).raise_for_status()
        down = await signal.watch(api, spec, {ws.slug: ws.id}, stamp, stamp)
    assert not down.ok and "error signal unknown" in down.message and 'signal = "skip"' in down.message
