"""What happened: a workspace's or the platform's events, and the local audit journal."""

from __future__ import annotations

from tui.app.controllers import Controller
from tui.core import errors as E


class Activity(Controller):
    def workspace(self) -> None:
        if self.main.env_name and self.main.selected_slug:
            self.start(self._events(self.main.env_name, self.main.selected_slug), "events")

    def platform(self) -> None:
        if self.main.env_name:
            self.start(self._events(self.main.env_name, "platform"), "events")

    def audit(self) -> None:
        from tui.app.screens.activity import TableScreen
        from tui.core.audit import AUDIT_COLUMNS, audit_row

        rows = [audit_row(e) for e in self.ctx.audit.read(limit=500)]
        self.app.push_screen(TableScreen("Audit journal", AUDIT_COLUMNS, rows, note=str(self.ctx.audit.path)))

    async def _events(self, env: str, slug: str) -> None:
        from tui.core.ops.format import EVENT_COLUMNS, event_row

        try:
            async with self.ctx.client(env) as client:
                workspace_id = "platform" if slug == "platform" else (await client.find_workspace(slug)).id
                events = await client.events(workspace_id, limit=200)
        except E.PrismeError as exc:
            self.runner.fail(f"Activity of {slug}", exc)
            return
        rows = [event_row(e) for e in events]  # what matters first (80 columns): when, what, details, who
        self.hand(self.ready, f"Activity · {env} · {slug}", EVENT_COLUMNS, rows)

    def ready(self, title: str, columns: list[str], rows: list[list[str]]) -> None:
        """A workspace's or the platform's events, as the activity table's rows."""
        from tui.app.screens.activity import TableScreen

        self.app.push_screen(TableScreen(title, columns, rows))
