"""Pending plans (issue 28): the saved plans this environment's ledger holds that await approval or apply.

``W`` lists them (the ledger is read by a worker); enter on one approves it (the CLI's refusals: its author
cannot approve it) or, when its file is on this machine (a ``.plan`` of the data folder's plans/ whose digest
matches), asks first: approve or apply. Apply runs the core's ``apply.apply_plan``, as `prisme-deploy apply
FILE` does (approvals, targets unchanged, the run, the ledger's record), confirmed in a dialog that wants the
environment's name typed where it is protected. A plan saved on another machine is applied there: the file
holds what it read on every target, which the ledger does not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.app.controllers import Controller
from tui.core import errors as E

if TYPE_CHECKING:
    from tui.app.runner import OperationFinished
    from tui.core.ops.planfile import SavedPlan
    from tui.core.ops.requests import Request

COLUMNS = ["plan", "what", "author", "approvals", "saved"]


@dataclass(frozen=True)
class PendingPlans:
    env: str
    rows: list[list[str]]
    titles: dict[str, tuple[str, str]]  # short digest -> (digest, title)
    note: str
    local: dict[str, tuple[Path, SavedPlan]] = field(default_factory=dict)  # digest -> its file on this machine


def local_plans(digests: set[str]) -> dict[str, tuple[Path, SavedPlan]]:
    """The plan files of the data folder's plans/ whose digest is one of ``digests`` (``planfile.load``
    checks each: a file it refuses is not offered)."""
    from tui.core import paths
    from tui.core.ops import planfile

    found: dict[str, tuple[Path, SavedPlan]] = {}
    for path in sorted((paths.data_dir() / "plans").glob("*.plan")):
        try:
            the_plan = planfile.load(path)
        except (E.PrismeError, OSError):
            continue
        if the_plan.digest in digests:
            found.setdefault(the_plan.digest, (path, the_plan))
    return found


class Plans(Controller):
    def pending(self) -> None:
        if self.main.env_name:
            from tui.core.ledger import store

            store.recheck(self.ctx.env(self.main.env_name).url)  # "no ledger" remembered: asked again, once
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
            f"{env} needs {needed} approval(s) by another platform user. enter: approve the selected plan, or "
            "apply it if it was saved on this machine."
            if needed
            else f"{env} needs no approval (policy): its plans apply without one."
        )
        titles = {p.digest[:12]: (p.digest, p.title) for p in found}
        local = await asyncio.to_thread(local_plans, {p.digest for p in found})
        self.hand(self.ready, PendingPlans(env, rows, titles, note, local))

    def ready(self, message: PendingPlans) -> None:
        from tui.app.screens.activity import TableScreen

        def chosen(short: str | None) -> None:
            if short not in message.titles:
                return
            digest, title = message.titles[short]
            if digest in message.local:
                self.choose(message.env, digest, title, *message.local[digest])
            else:
                self.ask(message.env, digest, title)

        screen = TableScreen(f"Pending plans · {message.env}", COLUMNS, message.rows, message.note, selectable=True)
        self.app.push_screen(screen, chosen)

    def ask(self, env: str, digest: str, title: str) -> None:
        from tui.app.screens.modals import YesNoModal

        def answered(yes: bool | None) -> None:
            if yes:
                self.start(self._approve(env, digest, title), "approve")

        from tui.core import paths

        # Said where the app looked: a plan saved here with --out elsewhere is on this machine, just not there.
        text = (
            f"Approve plan {digest[:12]} ({title}) on {env}? Recorded in {env}'s ledger under your platform user. "
            f"(No plan file with this digest in {paths.data_dir() / 'plans'}. A plan saved elsewhere, with --out "
            "or on another machine: apply it with `prisme-deploy apply FILE` where its file is.)"
        )
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

    # ------------------------------------------------------------------ apply a plan saved on this machine
    def choose(self, env: str, digest: str, title: str, path: Path, the_plan: SavedPlan) -> None:
        """Approve or apply: a plan whose file is here (its author's machine, or a copy)."""
        from tui.app.screens.modals import ActionModal, Field

        def chosen(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            if values.get("action") == "apply":
                self.confirm_apply(path, the_plan)
            else:
                self.start(self._approve(env, digest, title), "approve")

        options = [
            ("Approve it (your platform user, in the ledger)", "approve"),
            ("Apply it, exactly as saved", "apply"),
        ]
        modal = ActionModal(
            title=f"Plan {digest[:12]}",
            env=self.ctx.env(env),
            summary=[f"Plan:  {title}", f"File:  {path}", f"For:   {', '.join(the_plan.environments)}"],
            fields=[Field("action", "What to do:", "select", "approve", options)],
            confirm_label="Go",
            danger=False,
        )
        self.app.push_screen(modal, chosen)

    def confirm_apply(self, path: Path, the_plan: SavedPlan) -> None:
        """The apply's dialog, with the rails of every environment the plan changes; the name of a protected
        one typed to confirm (the CLI's rule)."""
        from tui.app.controllers import forms
        from tui.app.screens.modals import ActionModal
        from tui.core.ops import apply

        envs = the_plan.environments
        what = f"Apply plan {the_plan.short} ({the_plan.title()})"
        try:
            for env in envs:
                self.ctx.env(env)  # an environment this configuration does not know: said, as the CLI says it
        except E.PrismeError as exc:
            self.runner.failed(what, exc)
            return
        typed = next((t for t in (self.confirm_text(env, env, what) for env in envs) if t), None)
        modal = ActionModal(
            title=f"Apply plan {the_plan.short}",
            env=self.ctx.env(envs[0]),
            summary=[
                f"Plan:   {the_plan.title()}, saved {the_plan.created_at}",
                f"File:   {path}",
                f"Changes: {', '.join(envs)}",
                "Refused, nothing done, without the approvals its environments need or if a target changed.",
            ],
            confirm_text=typed,
            confirm_label="Apply",
        )

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            request = forms.why(values)
            with apply.approved(the_plan):  # the runner's guard asks the gate; apply_plan checks the approvals
                self.runner.run(
                    envs[0], f"Apply plan {the_plan.short}", self._apply(the_plan, request), what=what, request=request
                )

        with apply.approved(the_plan):  # the gate's approval rule is answered by the apply itself
            self.open_guarded(modal, done, what, envs)

    async def _apply(self, the_plan: SavedPlan, request: Request) -> OperationFinished:
        from tui.app.runner import OperationFinished
        from tui.core.ops import apply

        env = the_plan.environments[0]
        ok = await apply.apply_plan(
            self.ctx, the_plan, request, on_event=self._reported(env), on_note=lambda text: self.say(f"  {text}")
        )
        where = ", ".join(the_plan.environments)
        if ok:
            return OperationFinished(
                env, f"Apply plan {the_plan.short}", True, f"{the_plan.title()}: applied on {where}"
            )
        return OperationFinished(
            env, f"Apply plan {the_plan.short}", False, f"{the_plan.title()}: failed on {where} (see the log)"
        )

    def _reported(self, env: str) -> Any:
        """What the run reports, to the log: sentences, each operation's steps and outcome, bulk events through
        the runner's buffer (drawn as a bulk import draws them)."""
        from tui.core.ops import actions, bulk

        def said(event: Any) -> None:
            if isinstance(event, str):
                self.say(event)
            elif isinstance(event, actions.Outcome):
                self.say(*(f"  {step}" for step in event.steps), ("  " if event.ok else "  FAIL ") + event.message)
            elif not isinstance(event, bulk.BulkRun):
                self.runner.unread += 1
                self.app.hand(self.runner.queue, env, [event])

        return said

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
