"""The TUI driven with Pilot against real sandboxes, plus SVG snapshots of the screens that matter.

Snapshot runs freeze the sandbox clock (PRISME_SANDBOX_CLOCK) and the log clock, and serve on ports the
system picks (port 0: two suites on one host never collide); what the snapshot draws names each instance
by a fixed port, so the same seed draws the same screen.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import platform_config, set_faults, settle_tolerant
from textual.widgets import Button, Input, SelectionList
from waits import wait_until

from tui.app.app import PrismeDeployApp
from tui.app.screens.diff import DiffScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.modals import ActionModal
from tui.app.widgets.key_bar import KeyBar
from tui.core import config as cfg
from tui.core.api.client import PrismeClient
from tui.core.ops.context import Context
from tui.core.ops.snapshots import SnapshotStore
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.seed import seed_demo_platform

pytestmark = pytest.mark.e2e
FROZEN = "2026-03-02T09:00:00Z"
DRAWN_PORTS = {"dev": 39411, "staging": 39412, "prod": 39413}  # what snapshots show, whatever port was bound


def make_app(
    instances: dict[str, Running], root: Path | None, *, read_only: bool = False, extra: str = "", env: str = "prod"
) -> PrismeDeployApp:
    text = platform_config(instances, root) + "\n" + extra
    text = text.replace('tier = "production"', 'tier = "production"\nprotected = true')
    config = cfg.parse(text)
    for name, running in instances.items():
        os.environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = running.token
    ctx = Context.create(config, read_only=read_only, use_keyring=False)
    return PrismeDeployApp(ctx, initial_env=env, clock=lambda: datetime(2026, 3, 2, 9, 30, 0))


async def settle(pilot: object) -> None:
    await settle_tolerant(pilot)  # a worker superseded by a newer selection is not a failure


def log_text(app: PrismeDeployApp) -> str:
    return "\n".join(app.log_pane.lines())


async def select_workspace(pilot: object, app: PrismeDeployApp, slug: str) -> None:
    table = app.query_one("#workspaces")
    table.focus()
    table.move_cursor(row=table.get_row_index(slug))  # type: ignore[attr-defined]
    await settle(pilot)


async def roll_back(pilot: Any, app: PrismeDeployApp, slug: str, version: str) -> None:
    """As an operator does: the workspace, its version in the history (4), r, the slug typed, confirm."""
    await select_workspace(pilot, app, slug)
    versions = app.query_one("#versions")
    versions.focus()
    versions.move_cursor(row=versions.get_row_index(version))  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    assert isinstance(app.screen, ActionModal)
    await pilot.press(*slug)
    await pilot.click("#confirm")


async def bulk_push(pilot: Any, app: PrismeDeployApp, group: str, name: str = "", force: bool = False) -> None:
    """P, the group ticked, a version name, confirm."""
    from textual.widgets import Checkbox

    await pilot.press("P")
    await pilot.pause()
    modal = app.screen
    assert isinstance(modal, ActionModal)
    modal.query_one(SelectionList).select(group)
    modal.query_one("#name", Input).value = name
    modal.query_one("#force", Checkbox).value = force
    await pilot.pause()
    await pilot.click("#confirm")


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


async def test_main_screen_lists_environments_groups_workspaces(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main.env_name == "prod"
        assert {h.state for h in app.main.health.values()} == {"up"}
        assert len(app.main.workspaces) == 14
        assert "PROD" in str(app.query_one("#banner").render())
        await select_workspace(pilot, app, "securechat")
        assert [v.name for v in app.main.versions] == ["v1.2.0", "v1.1.0", "v1.0.0"]  # from git: prod never pushes
        await pilot.press("slash", *"base2")
        await pilot.pause()
        assert {w.slug for w in app.main.visible_workspaces()} == {
            "doc-search",
            "translation-hub",
            "meeting-notes",
            "contract-review",
        }
        await pilot.press("escape")
        assert len(app.main.visible_workspaces()) == 14


@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_rollback_on_prod_needs_the_slug_typed(platform: dict[str, Running], root_of: Path) -> None:
    """On the realistic sandbox (late events, rate limits): filter, select the version, r, type, confirm."""
    assert platform["prod"].sandbox.realism.event_lag > 0
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"securechat", "enter")
        await settle(pilot)
        assert app.main.selected_slug == "securechat"
        await pilot.press("4")
        assert [v.name for v in app.main.versions] == ["v1.2.0", "v1.1.0", "v1.0.0"]
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.main.selected_version == "v1.0.0"
        await pilot.press("r")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        preview = "\n".join(modal.details)
        assert "What changes" in preview and "automations/chat.yml" in preview
        confirm = modal.query_one("#confirm", Button)
        assert confirm.disabled
        await pilot.press(*"securechap")
        assert confirm.disabled
        await pilot.press("backspace", "t")
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#confirm")
        await settle(pilot)
        done = "OK   Rollback securechat: Rolled back securechat to v1.0.0: verified, the workspace now runs v1.0.0"
        assert done in log_text(app)
        assert app.last_undo and SnapshotStore.for_context(app.ctx).get(app.last_undo).slug == "securechat"
    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        assert (await api.find_workspace("securechat")).live_version == "v1.0.0"
    assert app.ctx.audit.read(action="rollback")[0]["outcome"] == "ok"


@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_a_rate_limit_wait_shows_live_in_the_log_and_x_cancels_it(
    platform: dict[str, Running], root_of: Path
) -> None:
    platform["prod"].sandbox.realism.rate_limits = {"events": 20, "imports": 1, "create": 3}
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await roll_back(pilot, app, "doc-search", "v1.0.0")
        await settle(pilot)
        assert "OK   Rollback doc-search" in log_text(app)
        await roll_back(pilot, app, "doc-search", "v1.1.0")  # the gateway allows 1 import a minute
        held = "staying within the gateway's limit of 1 imports per minute: next in"
        await wait_until(pilot, lambda: held in log_text(app), what="the held-back import said")
        await pilot.press("x")
        await settle(pilot)
        assert "stopped waiting for the rate limit; the held-back request was not sent" in log_text(app)
        assert not app.ctx.running
    assert [e["outcome"] for e in app.ctx.audit.read(action="rollback")][:2] == ["cancelled", "ok"]
    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        assert (await api.find_workspace("doc-search")).live_version == "v1.0.0"


@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_undo_restores_the_previous_content(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of)
    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        ws = await api.find_workspace("doc-search")
        before = await api.export(ws.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await roll_back(pilot, app, "doc-search", "v1.0.0")
        await settle(pilot)
        await pilot.press("U")
        await pilot.pause()
        await pilot.press(*"doc-search")
        await pilot.click("#confirm")
        await settle(pilot)
        assert "Restored doc-search" in log_text(app)
    from tui.core.diff import diff_files, files_from_zip

    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        after = await api.export(ws.id)
    assert diff_files(files_from_zip(before), files_from_zip(after)).identical


async def test_bulk_push_shows_progress_and_summary(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ActionModal)
        modal.query_one(SelectionList).select("extended")
        modal.query_one("#name", Input).value = "v3.0.0"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        text = log_text(app)
        assert "[1/2] PUSHED" in text and "[2/2] PUSHED" in text
        assert "pushed 2 · already pushed 4 · merge conflicts 0 · errors 0 · skipped while locked 1" in text


async def test_bulk_push_failure_and_dropped_stream_are_shown(platform: dict[str, Running], root_of: Path) -> None:
    set_faults(platform["dev"], push_fail=["sales-copilot"], sse_drop_after=2)
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await bulk_push(pilot, app, "extended", "v3.1.0")
        await settle(pilot)
        text = log_text(app)
        assert "recovering it from the platform" in text
        assert "FAILED" in text and "sales-copilot" in text
        assert "OK   Bulk push" not in text


async def test_read_only_hides_mutating_actions(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "securechat")
        for action in ("push", "pull", "rollback", "bulk_push", "bulk_import", "unlock", "promote"):
            assert app.main.check_action(action, ()) is False
        await pilot.press("r", "P", "p")
        assert not isinstance(app.screen, ActionModal)
        assert "READ-ONLY" in str(app.query_one("#banner").render())
        bar = app.query_one(KeyBar)
        shown = {binding.description for binding, _enabled in bar.hints()[0]}
        assert "Diff" in shown and not {"Push", "Pull", "Rollback", "Bulk push"} & shown, shown
        hints = str(bar.render())  # " p Push  l Pull ": a label is the words after its key, not a "  " chunk
        assert "Diff" in hints.split() and not {"Push", "Pull", "Rollback"} & set(hints.split()), hints
        assert "Bulk push" not in hints, hints


async def test_key_bar_keeps_help_at_80_columns_and_a_click_presses_the_key(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.query_one(KeyBar)
        text = str(bar.render())
        assert len(text) <= 80 and text.rstrip().endswith("? Help  q Quit  ^p palette")
        assert text.startswith(" p Push  l Pull  r Rollback")  # most needed first; the rest are in F1 and ^p
        await pilot.click(KeyBar, offset=(text.index("Pull"), 0))
        await settle(pilot)
        assert isinstance(app.screen, ActionModal) and "Pull" in str(app.screen.query_one("#dialog-title").render())
        await pilot.press("escape")
        await pilot.click(KeyBar, offset=(text.index("Help"), 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_environment_down_keeps_the_rest_working(platform: dict[str, Running], root_of: Path) -> None:
    extra = '[environments.gone]\nurl = "http://127.0.0.1:9"\ntier = "staging"\n'
    os.environ["PRISME_DEPLOY_TOKEN_GONE"] = "at:whatever-123456"
    app = make_app(platform, root_of, extra=extra)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main.health["gone"].state == "down"
        assert len(app.main.workspaces) == 14
    del os.environ["PRISME_DEPLOY_TOKEN_GONE"]


async def test_a_second_operation_on_the_same_environment_is_refused(
    platform: dict[str, Running], root_of: Path
) -> None:
    set_faults(platform["dev"], push_delay_ms=600)
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "securechat")
        await bulk_push(pilot, app, "extended", force=True)
        await wait_until(pilot, lambda: "bulk push" in app.ctx.running.get("dev", ""), what="the bulk push")
        await pilot.press("l")  # refused as it is asked for (the core's gate): no dialog to fill in
        refused = "dev is already running bulk push"
        await wait_until(pilot, lambda: any(refused in str(n.message) for n in app._notifications), what=refused)
        assert not isinstance(app.screen, ActionModal)
        assert "bulk push" in app.ctx.running.get("dev", "")
        await settle(pilot)
    assert not app.ctx.audit.read(action="pull")


async def test_diff_screen_and_promotion_leave_no_difference(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "hr-assistant")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert app.screen.diff is not None and not app.screen.diff.identical
        await pilot.press("escape")
        app.promotion.plan_promotion("dev:support-bot-dev", "dev:support-bot")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        await pilot.click("#confirm")
        await settle(pilot)
        assert "verified, no difference remains" in log_text(app)


@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_promotion_through_git_with_drift_acknowledged(platform: dict[str, Running], root_of: Path) -> None:
    from textual.widgets import Checkbox, Select

    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "hr-assistant")
        await pilot.press("o")  # from the environment before: staging
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal) and any("DRIFT" in w for w in modal.warnings)
        modal.query_one("#via", Select).value = "git:release"
        modal.query_one("#name", Input).value = "v9.0.0"
        modal.query_one("#confirm-input", Input).value = "hr-assistant"
        await pilot.pause()
        assert modal.query_one("#confirm", Button).disabled  # drift not acknowledged yet
        modal.query_one("#accept_drift", Checkbox).value = True
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert "via git" in log_text(app) and "verified, no difference remains" in log_text(app)


async def test_keymap_rebinds_an_action(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, extra='[keymap]\nrollback = "R"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "securechat")
        app.query_one("#versions").focus()
        await pilot.press("r")
        await settle(pilot)
        assert not isinstance(app.screen, ActionModal)
        await pilot.press("R")
        await settle(pilot)
        # the history's first row is newer than live: a roll forward, said so (issue 26)
        assert isinstance(app.screen, ActionModal) and app.screen.title_text == "Roll forward securechat"


async def test_edit_environment_from_the_app_keeps_comments(
    platform: dict[str, Running], root_of: Path, tmp_path: Path
) -> None:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir()
    path.write_text("# my platforms\n" + platform_config(platform, root_of), encoding="utf-8")
    for name, running in platform.items():
        os.environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = running.token
    app = PrismeDeployApp(Context.create(cfg.load(path), use_keyring=False), initial_env="staging")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ActionModal)
        modal.query_one("#url", Input).value = "ftp://wrong"
        await pilot.click("#confirm")
        await settle(pilot)
        assert "ftp://wrong" not in path.read_text()  # refused, file untouched
        await pilot.press("E")
        await pilot.pause()
        app.screen.query_one("#read_only").value = True
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.ctx.config.environments["staging"].read_only
        assert app.main.check_action("push", ()) is False
    text = path.read_text()
    assert text.startswith("# my platforms") and "read_only = true" in text
    assert app.ctx.audit.read(action="config")


# ------------------------------------------------------------------------------------------------ snapshots
@pytest.fixture(scope="module")
def frozen_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    os.environ["PRISME_SANDBOX_CLOCK"] = FROZEN
    root = tmp_path_factory.mktemp("frozen")
    seed_demo_platform(root)
    del os.environ["PRISME_SANDBOX_CLOCK"]
    yield root


@pytest.fixture
def frozen(frozen_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict, Path]]:
    from textual.widgets import Input as TextInput

    monkeypatch.setenv("PRISME_SANDBOX_CLOCK", FROZEN)
    monkeypatch.setattr(TextInput, "_toggle_cursor", lambda self: None)  # no blinking cursor in snapshots
    root = tmp_path / "frozen"
    shutil.copytree(frozen_template, root, symlinks=True)
    instances = {}
    try:
        for name in DRAWN_PORTS:
            instances[name] = start_in_thread(root / name, f"at:snap-{name}-0123456789", name=name, environ={})
        yield instances, root
    finally:
        for running in instances.values():
            running.stop()


SNAP = pytest.mark.xdist_group("snapshots")


def snap_app(frozen: tuple[dict, Path], *, env: str = "prod", extra: str = "") -> PrismeDeployApp:
    """The app on the frozen platform; its screenshots name each instance by its fixed drawn port, and
    the temporary folder by a fixed name (both vary by run, nothing else does)."""
    instances, root = frozen
    app = make_app(instances, root, env=env, extra=extra)
    export = app.export_screenshot
    swaps = [(f"127.0.0.1:{r.url.rsplit(':', 1)[1]}", f"127.0.0.1:{DRAWN_PORTS[n]}") for n, r in instances.items()]

    def normalised(**kwargs: object) -> str:
        svg = export(**kwargs)  # type: ignore[arg-type]
        for bound, drawn in swaps:  # same length: ephemeral and drawn ports both have five digits
            svg = svg.replace(bound, drawn)
        return svg

    app.export_screenshot = normalised  # type: ignore[method-assign]
    return app


@SNAP
def test_snapshot_main_screen(frozen: tuple[dict, Path], snap_compare: object) -> None:
    app = snap_app(frozen)
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)  # type: ignore[operator]


@SNAP
def test_snapshot_main_screen_80x24(frozen: tuple[dict, Path], snap_compare: object) -> None:
    app = snap_app(frozen)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)  # type: ignore[operator]


@SNAP
def test_snapshot_rollback_confirmation_on_prod(frozen: tuple[dict, Path], snap_compare: object) -> None:
    async def before(pilot: object) -> None:
        await settle(pilot)
        app = pilot.app  # type: ignore[attr-defined]
        await select_workspace(pilot, app, "support-bot")
        versions = app.query_one("#versions")
        versions.focus()
        versions.move_cursor(row=versions.get_row_index("v1.2.0"))
        await pilot.press("r")  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(snap_app(frozen), terminal_size=(120, 40), run_before=before)  # type: ignore[operator]


@SNAP
def test_snapshot_rollback_confirmation_at_80x24(frozen: tuple[dict, Path], snap_compare: object) -> None:
    """The smallest terminal: summary, preview (scrolled), confirmation and buttons all on screen."""

    async def before(pilot: object) -> None:
        await settle(pilot)
        app = pilot.app  # type: ignore[attr-defined]
        await select_workspace(pilot, app, "support-bot")
        versions = app.query_one("#versions")
        versions.focus()
        versions.move_cursor(row=versions.get_row_index("v1.0.0"))
        # The required reason first (the focus starts there), then the name box.
        await pilot.press("r", *"INC-42", "tab", *"support-bot")  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(snap_app(frozen), terminal_size=(80, 24), run_before=before)  # type: ignore[operator]


@SNAP
def test_snapshot_promotion_at_80x24(frozen: tuple[dict, Path], snap_compare: object) -> None:
    async def before(pilot: object) -> None:
        await settle(pilot)
        app = pilot.app  # type: ignore[attr-defined]
        await select_workspace(pilot, app, "hr-assistant")
        await pilot.press("o")  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(snap_app(frozen), terminal_size=(80, 24), run_before=before)  # type: ignore[operator]


@SNAP
def test_snapshot_bulk_push_in_progress(frozen: tuple[dict, Path], snap_compare: object) -> None:
    """Mid-flight: the started event and three progress events, shaped as the sandbox streams them."""
    from tui.core.api.bulk import BulkEvent

    slugs = ["contract-review", "doc-search", "faq-widget"]
    events = [
        BulkEvent(
            "started",
            {
                "repositoryId": "release",
                "groups": ["base2", "extended"],
                "workspaces": [{"slug": s, "status": "candidate"} for s in slugs * 3],
            },
        )
    ]
    for number, slug in enumerate(slugs, start=1):
        errors = [{"error": "Internal", "message": "remote hung up"}] if slug == "doc-search" else []
        events.append(
            BulkEvent(
                "progress",
                {
                    "repositoryId": "release",
                    "workspaceSlug": slug,
                    "current": number,
                    "total": 9,
                    "percentage": round(100 * number / 9, 1),
                    "duration": 850,
                    "status": "error" if errors else "pushed",
                    "errors": errors,
                },
            )
        )

    async def before(pilot: object) -> None:
        await settle(pilot)
        pilot.app.runner.queue("dev", events)  # type: ignore[attr-defined]
        await pilot.pause(0.3)  # type: ignore[attr-defined]

    assert snap_compare(
        snap_app(frozen, env="dev"),
        terminal_size=(120, 40),  # type: ignore[operator]
        run_before=before,
    )


@SNAP
def test_snapshot_help(frozen: tuple[dict, Path], snap_compare: object) -> None:
    async def before(pilot: object) -> None:
        await settle(pilot)
        await pilot.press("question_mark")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(pilot.app.screen, HelpScreen)  # type: ignore[attr-defined]

    assert snap_compare(snap_app(frozen), terminal_size=(120, 40), run_before=before)  # type: ignore[operator]


@SNAP
def test_snapshot_diff_view(frozen: tuple[dict, Path], snap_compare: object) -> None:
    async def before(pilot: object) -> None:
        await settle(pilot)
        app = pilot.app  # type: ignore[attr-defined]
        await select_workspace(pilot, app, "hr-assistant")
        await pilot.press("d")  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press("down")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]

    assert snap_compare(snap_app(frozen), terminal_size=(120, 40), run_before=before)  # type: ignore[operator]


async def test_platform_activity_shows_a_failed_startup_import(demo_template: Path, tmp_path: Path) -> None:

    from tui.app.screens.activity import TableScreen
    from tui.sandbox.demo import STARTUP_ROLLOUT

    root = tmp_path / "rollout"
    shutil.copytree(demo_template, root, symlinks=True)
    prod = start_in_thread(
        root / "prod",
        "at:rollout-token-0123456789",
        name="prod",
        environ={**STARTUP_ROLLOUT, "STARTUP_IMPORT_PAUSE_SECONDS": "0.1"},
    )
    try:
        async with PrismeClient(prod.url, prod.token) as api:

            async def two_runs() -> list[Any] | None:
                found = await api.events("platform", types=["workspaces.bulkImport.completed"])
                return found if len(found) >= 2 else None

            done = await wait_until(None, two_runs, every=0.1, what="two completed bulk imports")
        assert [e.payload["groups"] for e in reversed(done)] == [["base1"], ["base2"]]  # extended never ran
        app = make_app({"prod": prod}, root)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            await pilot.press("A")
            await settle(pilot)
            assert isinstance(app.screen, TableScreen)
            rows = [" ".join(row) for row in app.screen.rows]
            failed = [r for r in rows if "bulkImport.completed" in r and "errors=1" in r]
            assert failed and "doc-search" in failed[0] and "SlugAlreadyInUse" in failed[0]
            assert any("(no user: startup import)" in r for r in rows)
            assert not any("system:startup-import" in r for r in rows)  # no internal id (issue 26)
    finally:
        prod.stop()


async def test_a_bulk_stream_travels_one_message_per_burst_in_order() -> None:
    from tui.core.api.bulk import BulkEvent
    from tui.core.errors import PrismeError

    bursts: list[list[str]] = []

    def progress(slug: str) -> BulkEvent:
        return BulkEvent("progress", {"workspaceSlug": slug, "status": "pushed", "current": 1, "total": 5})

    async def stream() -> object:
        yield progress("a")
        yield progress("b")
        await asyncio.sleep(0)  # the behaviour under test: a yield point, as the next network read is
        yield progress("c")
        raise PrismeError("stream dropped")

    app = PrismeDeployApp(Context.create(cfg.Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        queue = app.runner.queue

        def recording(env: str, events: list[BulkEvent]) -> None:  # each hand-over, then the runner's buffer
            bursts.append([e.slug for e in events])
            queue(env, events)

        app.runner.queue = recording  # type: ignore[method-assign]
        with pytest.raises(PrismeError):
            await app.runner.relay("dev", stream())  # type: ignore[arg-type]
        await wait_until(pilot, lambda: "PUSHED    c" in log_text(app), what="the last burst in the log")
        assert bursts == [["a", "b"], ["c"]]  # the burst before the error still arrives, in order
        assert "PUSHED    c" in log_text(app)


async def test_the_progress_line_draws_a_bar_and_moves_while_the_size_is_unknown() -> None:
    from textual.app import App, ComposeResult

    from tui.app.widgets.log_pane import OpLine

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield OpLine()

    app = One()
    async with app.run_test(size=(60, 3)) as pilot:
        line = app.query_one(OpLine)
        line.show("dev: bulk push 3/9", 3, 9)
        text = str(line.render())
        assert len(text) == line.size.width and text.endswith(" 33%") and text.startswith("dev: bulk push 3/9")
        line.show("dev: pull…", 0, None)
        first = line.render()
        await wait_until(pilot, lambda: line.render().spans != first.spans, what="the block to move")
        assert "%" not in str(first)  # the block moves; no made-up %
        line.show("idle")
        assert str(line.render()).startswith("idle") and line._pulse is None


async def test_typing_in_the_filter_narrows_a_large_table_and_shows_names_as_written() -> None:
    from tui.app.widgets.virtual_table import VirtualTable
    from tui.core.api.models import Workspace

    app = PrismeDeployApp(Context.create(cfg.Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.workspaces = [
            Workspace.from_json({"id": f"i{n}", "slug": f"ws-{n:05d}", "name": f"[red]W{n}[/]", "labels": ["l"]})
            for n in range(3000)
        ]
        app.main.show_workspaces()
        await pilot.pause()
        table = app.query_one("#workspaces", VirtualTable)
        assert table.row_count == 3000 and str(table.border_subtitle) == "3000/3000"  # every row, no cap
        await pilot.press("slash", "0", "0", "1")
        await pilot.pause()
        matches = [n for n in range(3000) if "001" in f"ws-{n:05d}" or "001" in f"[red]W{n}[/]"]
        assert app.main.filter_text == "001" and table.row_count == len(matches) == 113  # every match, not a cap
        assert "first" not in str(table.border_subtitle) and "113/3000" in str(table.border_subtitle)
        await pilot.press("2")
        await pilot.pause()
        assert app.main.filter_text == "0012" and table.row_count == 11  # ws-00012, ws-00120 … ws-00129
        assert table.get_row("ws-00120")[3] == "[red]W120[/]"  # user data, never markup
        assert "[red]W12[/]" in drawn(table)  # drawn literally
        await pilot.press("escape")
        await pilot.pause()
        assert app.main.filter_text == "" and table.row_count == 3000


def drawn(widget: Any) -> str:
    """The lines a Line-API widget draws, as text."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def test_a_result_arriving_while_the_app_closes_is_dropped() -> None:
    from tui.core.ops.health import Health

    received: list[str] = []
    app = PrismeDeployApp(Context.create(cfg.Config(), use_keyring=False))
    async with app.run_test(size=(80, 24)) as pilot:
        app.hand(received.append, "while open")
        await pilot.pause()
        assert received == ["while open"]  # handed over on the message loop
    assert not app.screen_stack
    health = Health("dev", True, True, True)
    await app.deliver(lambda: app.main.on_health(health))  # no IndexError from a gone screen
    await app.deliver(received.append, "after")
    assert received == ["while open"]


async def test_n_opens_the_add_environment_dialog() -> None:
    app = PrismeDeployApp(Context.create(cfg.Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("N")
        await pilot.pause()
        assert isinstance(app.screen, ActionModal)
        assert "Add an environment" in str(app.screen.query_one("#dialog-title").render())
