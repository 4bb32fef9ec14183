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
        """The environment's shared ledger (every machine's changes, users as the platform knows them) where it
        has one; this machine's journal otherwise, its title saying why."""
        if self.main.env_name:
            self.start(self._ledger(self.main.env_name), "events")
        else:
            self._journal("Audit journal")

    def _journal(self, title: str) -> None:
        """This machine's journal (the app's thread or a worker: handed over either way)."""
        from tui.core.audit import AUDIT_COLUMNS, audit_row

        rows = [audit_row(e) for e in self.ctx.audit.read(limit=500)]
        self.hand(self.ready, f"{title} · {self.ctx.audit.path}", AUDIT_COLUMNS, rows)

    async def _ledger(self, env: str) -> None:
        from tui.core.ledger import LedgerUnavailable, open_ledger, view
        from tui.core.ledger.store import NotInitialised

        book = open_ledger(self.ctx, env)
        try:
            records = await book.read()
        except NotInitialised:
            self._journal(f"Audit journal (no ledger on {env}: prisme-deploy ledger init)")
            return
        except (LedgerUnavailable, E.PrismeError) as exc:
            self._journal(f"Audit journal (the ledger of {env} is unreachable: {exc.message})")
            return
        identity = "stamped by the platform" if book.channel == "stamped" else "identity claimed, not stamped"
        rows = [view.row(r) for r in reversed(records[-500:])]  # newest first, as the journal
        self.hand(self.ready, f"Ledger · {env} · {identity}", view.COLUMNS, rows)

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
