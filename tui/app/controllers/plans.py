"""Pending plans (issue 28): the saved plans this environment's ledger holds that still lack approvals.

``W`` lists them (the ledger is read by a worker); enter on one asks, then records an approval of its digest
in the ledger, with the CLI's refusals (its author cannot approve it). A plan is applied from its file with
`prisme-deploy apply FILE`: the file holds what it read on every target, which the ledger does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.app.controllers import Controller
from tui.core import errors as E

COLUMNS = ["plan", "what", "author", "approvals", "saved"]


@dataclass(frozen=True)
class PendingPlans:
    env: str
    rows: list[list[str]]
    titles: dict[str, tuple[str, str]]  # short digest -> (digest, title)
    note: str


class Plans(Controller):
    def pending(self) -> None:
        if self.main.env_name:
            self.start(self._pending(self.main.env_name), "pending-plans")

    async def _pending(self, env: str) -> None:
        from tui.core.ops import apply

        try:
            found = await apply.pending(self.ctx, env)
        except E.PrismeError as exc:
            self.runner.fail("Pending plans", exc)
            return
        rows = [
            [
                p.digest[:12],
                p.title,
                p.approvals.author[1] if p.approvals.author else "unknown",
                f"{len(p.approvals.approvers)}/{p.approvals.needed}",
                p.saved_at,
            ]
            for p in found
        ]
        needed = self.ctx.env(env).approvals
        note = (
            f"{env} needs {needed} approval(s) by another platform user. enter: approve the selected plan; "
            "apply it with `prisme-deploy apply FILE`."
            if needed
            else f"{env} needs no approval (policy): its plans apply without one."
        )
        titles = {p.digest[:12]: (p.digest, p.title) for p in found}
        self.hand(self.ready, PendingPlans(env, rows, titles, note))

    def ready(self, message: PendingPlans) -> None:
        from tui.app.screens.activity import TableScreen

        def chosen(short: str | None) -> None:
            if short in message.titles:
                self.ask(message.env, *message.titles[short])

        screen = TableScreen(f"Pending plans · {message.env}", COLUMNS, message.rows, message.note, selectable=True)
        self.app.push_screen(screen, chosen)

    def ask(self, env: str, digest: str, title: str) -> None:
        from tui.app.screens.modals import YesNoModal

        def answered(yes: bool | None) -> None:
            if yes:
                self.start(self._approve(env, digest, title), "approve")

        text = f"Approve plan {digest[:12]} ({title}) on {env}? Recorded in {env}'s ledger under your platform user."
        self.app.push_screen(YesNoModal(f"Approve plan {digest[:12]}", text), answered)

    async def _approve(self, env: str, digest: str, title: str) -> None:
        from tui.core.ops import apply

        try:
            record = await apply.approve_digest(self.ctx, env, digest, title, None)
        except E.PrismeError as exc:
            self.runner.fail(f"Approve plan {digest[:12]}", exc)
            return
        identity = "stamped by the platform" if record.stamped else "identity claimed, not stamped"
        self.say(f"approved plan {digest[:12]} ({title}) on {env} as {record.user_name} ({identity})")

    # ------------------------------------------------------------------ ctrl+s in a plan dialog
    def save(self, kind: str, params: dict[str, Any], summary: dict[str, Any] | None) -> None:
        """Save the plan a dialog shows, as `plan ... --out FILE` does, into the data folder's plans/."""
        if summary is None:
            self.app.notify("No plan to save yet: it is still being computed, or could not be.", severity="warning")
            return
        self.start(self._save(kind, params, summary), "save-plan", exclusive=False)

    def save_rollback(self, env: str, slug: str, version: str, repository: str | None) -> None:
        """The rollback dialog's plan (`plan rollback`), computed now: the dialog shows the change, not a plan."""
        params = {"env": env, "workspace": slug, "version": version, "repository": repository}
        self.start(self._save_rollback({**params, "discard_local_changes": True}), "save-plan", exclusive=False)

    async def _save_rollback(self, params: dict[str, Any]) -> None:
        from tui.core.ops import plan

        try:
            found = await plan.rollback(
                self.ctx, params["env"], params["workspace"], params["version"], repository=params["repository"]
            )
        except E.PrismeError as exc:
            self.runner.fail("Save plan", exc)
            return
        await self._save("rollback", params, found.to_json())

    async def _save(self, kind: str, params: dict[str, Any], summary: dict[str, Any]) -> None:
        from tui.core import paths
        from tui.core.ops import apply

        env = str(params.get("env") or params.get("target") or "")
        try:
            the_plan = await apply.build(self.ctx, kind, params, summary)
            folder = paths.data_dir() / "plans"
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = folder / f"{kind}-{the_plan.environments[0]}-{the_plan.short}.plan"
            saved = await apply.save(self.ctx, the_plan, path)
        except (E.PrismeError, OSError) as exc:
            self.runner.fail(f"Save plan ({env})" if env else "Save plan", exc)
            return
        self.say(
            f"saved plan {the_plan.short} ({the_plan.title()}) to {path}",
            f"  another person approves it: prisme-deploy approve {path} (or W, enter, in the app)",
            f"  then it runs exactly as saved: prisme-deploy apply {path}",
            *(f"  note: {note}" for note in saved.notes),
        )
