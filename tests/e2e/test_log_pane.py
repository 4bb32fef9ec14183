"""The log pane's line store: a bounded ring, deferred lines made text (and safe) only when drawn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import App, ComposeResult

from tui.app.widgets.log_pane import LogPane, LogView
from tui.core.ops.format import progress_text


class Host(App[None]):
    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogPane(max_lines=self.max_lines, id="pane", clock=lambda: datetime(2026, 1, 1, 3, 4, 5))


def payload(number: int, slug: str | None = None) -> dict[str, Any]:
    return {
        "workspaceSlug": slug or f"ws-{number}",
        "status": "pushed",
        "current": number,
        "total": 9,
        "duration": 1500,
    }


async def test_deferred_lines_keep_their_order_and_are_formatted_only_when_drawn() -> None:
    drawn: list[int] = []

    def render(item: dict[str, Any]) -> str:
        drawn.append(item["current"])
        return progress_text(item)

    app = Host(max_lines=1_000)
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(LogPane)
        pane.add("first")
        pane.add_deferred(render, [payload(n) for n in range(1, 501)])
        pane.add("last")
        pane.flush()
        await pilot.pause()
        assert len(drawn) < 20, "only the lines on screen were formatted"
        view = app.query_one(LogView)
        screen = "\n".join(view.render_line(y).text for y in range(view.size.height))  # what the view draws
        assert "03:04:05 [500/9] PUSHED    ws-500 1.5s" in screen and "03:04:05 last" in screen
        lines = pane.lines()
        assert lines[0] == "03:04:05 first" and lines[-1] == "03:04:05 last"
        assert lines[1] == "03:04:05 [1/9] PUSHED    ws-1 1.5s" and len(lines) == 502


async def test_the_ring_keeps_the_last_lines_and_server_text_stays_inert() -> None:
    app = Host(max_lines=100)
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(LogPane)
        pane.add_deferred(progress_text, [payload(n) for n in range(1, 251)])
        pane.add_deferred(progress_text, [payload(251, "evil\x1b[31m\nnext [b]x[/b]")])
        pane.flush()
        await pilot.pause()
        lines = pane.lines()
        assert len(lines) == 100 and lines[0].startswith("03:04:05 [152/9]")
        assert "\x1b" not in lines[-1] and "\n" not in lines[-1] and "[b]x[/b]" in lines[-1]
        view = app.query_one(LogView)
        assert view.line_count == 100 and view.virtual_size.height == 100


async def test_a_stream_faster_than_the_screen_waits_instead_of_queueing_it_all() -> None:
    """30,000 events arriving at once: the relay holds back above BULK_BACKLOG (the rest stays in the
    stream, as TCP would hold it), every event is counted and the log ends with the last one."""
    import asyncio

    from tui.app import runner as runner_module
    from tui.app.app import PrismeDeployApp
    from tui.core.api.bulk import BulkEvent
    from tui.core.config import Config
    from tui.core.ops.context import Context

    count = 30_000

    async def stream() -> Any:
        yield BulkEvent("started", {"repositoryId": "r", "groups": ["g"], "workspaces": []})
        for number in range(1, count + 1):
            yield BulkEvent("progress", payload(number))
            if number % 1_000 == 0:
                await asyncio.sleep(0)  # a yield point, as a network read is: the app draws between bursts

    app = PrismeDeployApp(Context.create(Config(), use_keyring=False))
    most = 0
    async with app.run_test(size=(100, 30)) as pilot:
        app.run_worker(app.runner.relay("t", stream()), group="bulk:t")
        while app.runner.tallies.get("t") is None or app.runner.tallies["t"].current < count:
            most = max(most, app.runner.unread)
            await pilot.pause(0.01)
        assert most <= runner_module.BULK_BACKLOG + 1_001, most
        assert app.log_pane.lines()[-1].endswith(f"[{count}/9] PUSHED    ws-{count} 1.5s")
