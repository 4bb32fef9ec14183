"""Releases and rollouts (issue 16): the Releases view, a rollout's plan and run, and its rollback.

What they compute lives in ``tui.app.releases``; this module owns the dialogs and the workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.app import messages as M
from tui.app.controllers import Controller
from tui.core.api import errors as E
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app import releases as app_releases
    from tui.app.screens import modals
    from tui.core.ops import rollout
else:
    modals, app_releases = lazy("tui.app.screens.modals"), lazy("tui.app.releases")
    rollout = lazy("tui.core.ops.rollout")


class Releases(Controller):
    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.not_head: dict[str, str] = {}  # release -> why it is not the repository's head (last view)

    def releases(self) -> None:
        self.start(self._matrix(), "releases")

    async def _matrix(self) -> None:
        try:
            columns, rows = await app_releases.matrix(self.ctx)
        except E.PrismeError as exc:
            self.post(M.ReleasesReady([], [], exc.message))
            return
        self.post(M.ReleasesReady(columns, rows))

    def ready(self, message: M.ReleasesReady) -> None:
        from tui.app.screens.activity import TableScreen

        if message.error is not None:
            self.app.notify(message.error, title="Releases", severity="error")
            return

        # A release that is not the repository's head cannot be rolled out (a bulk import imports the head).
        self.not_head = {row[0]: row[2] for row in message.rows if row[2] != app_releases.HEAD}

        def chosen(name: str | None) -> None:
            if name and name != "(nothing)":
                self.choose_rollout(name)

        # --read-only: the view only; a rollout (a chain of imports) is not offered, not refused at its end.
        rollouts = not self.ctx.read_only
        note = "deployed; drifted (edited since); partial n/m; -: absent." + (
            " Enter rolls the release out (only the repository's HEAD can be)."
            if rollouts
            else " Read-only: rollouts are off."
        )
        if not message.rows:
            note = "No release recorded yet: prisme-deploy release snapshot --env ENV --name NAME."
        screen = TableScreen("Releases", message.columns, message.rows, note, selectable=rollouts)
        self.app.push_screen(screen, chosen)

    def choose_rollout(self, name: str) -> None:
        from tui.app import rails

        envs = app_releases.environments(self.ctx)
        if not envs:
            self.app.notify("No [[rollout]] stages are configured.", severity="warning")
            return
        head = self.not_head.get(name)
        if head is not None:  # refused before any dialog: a rollout imports the head, not this release
            text = (
                f"release {name} is {'not the head' if head == 'not head' else 'not known to be the head'} of its "
                f"repository ({head}): a rollout imports the head. Bulk push the release first."
            )
            self.app.log_pane.add(f"REFUSED rollout of {name}: {text}")
            self.app.notify(text, title="Rollout refused", severity="error", timeout=15)
            return
        try:  # a smoke test without expect on a protected stage: refused before any dialog, as the CLI does
            rollout.require_expectations(self.ctx, rollout.stages(self.ctx), rollout.smokes(self.ctx))
        except E.PrismeError as exc:
            self.app.log_pane.add(f"REFUSED rollout of {name}: {exc.message}")
            self.app.notify(f"{exc.message} {exc.hint or ''}", title="Rollout refused", severity="error", timeout=15)
            return
        # The gate, on every environment the rollout will touch, as it is asked for: read-only or busy
        # refuses here; a freeze window is said now, and the plan dialog asks for the broken glass.
        if rails.refused(self.app, f"rollout of {name}", envs) is None:
            return
        options = self.app.bulk.group_options()
        fields = [modals.Field("groups", "Groups, in order:", "multi", [], options, required=True)]
        summary = [f"Roll release {name} out to {' → '.join(envs)}, stopping at the first failed gate."]
        env = self.ctx.env(envs[0])
        modal = modals.ActionModal(
            title=f"Roll out {name}", env=env, summary=summary, fields=fields, confirm_label="Plan…", danger=False
        )
        self.app.push_screen(
            modal, lambda values: self.confirm_rollout(name, list(values["groups"])) if values else None
        )

    def confirm_rollout(self, name: str, groups: list[str]) -> None:
        envs = app_releases.environments(self.ctx)
        protected = [e for e in envs if self.ctx.env(e).protected]
        summary = [f"Release {name}, groups {', '.join(groups)}: {' → '.join(envs)}"]
        if protected:
            summary.append(f"Typing the release confirms the protected {', '.join(protected)}.")
        modal = modals.ActionModal(
            title=f"Roll out {name}: plan",
            env=self.ctx.env(protected[-1] if protected else envs[-1]),
            summary=summary,
            confirm_text=name if protected else None,
            confirm_label="Roll out",
            pending="Plan: computing…",
        )
        # The reason (and break-glass) asked here covers the rollout's changes; the core checks each environment.
        self.open_guarded(
            modal,
            lambda values: self.run_rollout(name, groups) if values is not None else None,
            f"rollout of {name}",
            envs,
        )
        shown: dict[str, Any] = {}  # filled by the preview: what ctrl+s saves (issue 28)
        modal.plan_saver = lambda: self.app.plans.save("rollout", shown.get("params", {}), shown.get("summary"))
        self.start(self._plan(modal, name, groups, shown), "preview")

    async def _plan(self, dialog: Any, name: str, groups: list[str], shown: dict[str, Any]) -> None:
        try:
            details, warnings = await app_releases.rollout_plans(self.ctx, name, groups, shown)
        except E.PrismeError as exc:
            self.post(M.PreviewReady(dialog, [f"Cannot roll out: {exc.message}"], blocked=exc.message))
            return
        self.post(M.PreviewReady(dialog, details, warnings))

    def _step(self, found: dict[str, Any]) -> None:
        self.post(M.LogLines([app_releases.step_line(found)]))

    def run_rollout(self, name: str, groups: list[str]) -> None:
        first = app_releases.environments(self.ctx)[0]
        self.runner.run(first, f"Rollout {name}", self._rollout(name, groups, first), what=f"rollout of {name}")

    async def _rollout(self, name: str, groups: list[str], where: str) -> M.OperationFinished | None:
        async def confirmed(env: str, the_plan: Any) -> bool:
            return True  # the release name typed in the plan dialog confirmed every protected environment

        title = f"Rollout {name}"
        state = await rollout.run(self.ctx, name, groups=groups, confirm=confirmed, notify=self._step)
        if state.failed:
            failed = state.failed
            text = f"stopped at {failed.get('env')}, gate {failed.get('gate')}: {failed.get('message')}"
            self.post(M.OperationFinished(str(failed.get("env")), title, False, text))
            if state.changed:
                self.post(M.RolloutStopped(name, failed, list(state.changed)))
            return None  # said above, before the offer to roll back
        return M.OperationFinished(where, title, True, f"{state.status}: {', '.join(state.done)}")

    def stopped(self, message: M.RolloutStopped) -> None:
        """Offer to pull the previous versions back wherever this rollout imported."""
        protected = any(self.ctx.env(e).protected for e in message.changed)
        modal = modals.ActionModal(
            title=f"Roll back rollout {message.release}?",
            env=self.ctx.env(message.changed[-1]),
            summary=[
                f"The rollout stopped at {message.failed.get('env')} ({message.failed.get('gate')} gate).",
                f"Pull the previous versions back on {', '.join(reversed(message.changed))}.",
            ],
            confirm_text=message.release if protected else None,
            confirm_label="Roll back",
        )

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                title = f"Roll back rollout {message.release}"
                self.runner.run("", title, self._rollback(message.release), guard=False)

        self.open_guarded(modal, done, "rollback of a rollout", list(message.changed))

    async def _rollback(self, name: str) -> M.OperationFinished:
        state, outcomes = await rollout.rollback(self.ctx, name, notify=self._step)
        ok = all(o.ok for o in outcomes)
        where = state.changed[-1] if state.changed else ""
        return M.OperationFinished(where, f"Roll back rollout {name}", ok, f"{state.status}: {len(outcomes)} pull(s)")
