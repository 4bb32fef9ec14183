"""Releases and rollouts (issue 16): the Releases view, a rollout's plan and run, and its rollback.

What they compute lives in ``tui.core.ops.release_matrix``; this module owns the dialogs and the workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.app.controllers import Controller, forms
from tui.app.runner import OperationFinished
from tui.core import errors as E
from tui.core.ops import requests as R
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app.screens import modals
    from tui.core.ops import release_matrix, rollout
else:
    modals, release_matrix = lazy("tui.app.screens.modals"), lazy("tui.core.ops.release_matrix")
    rollout = lazy("tui.core.ops.rollout")


# Steps that say something about an environment without running on it now (a resume's skip, the state
# shared to a ledger once the environment is done): the status line keeps naming the stage running.
QUIET_STEPS = frozenset({"skip", "passed", "ledger", "lease", "completed"})


class Releases(Controller):
    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.not_head: dict[str, str] = {}  # release -> why it is not the repository's head (last view)

    def releases(self) -> None:
        self.start(self._matrix(), "releases")

    async def _matrix(self) -> None:
        try:
            columns, rows = await release_matrix.matrix(self.ctx)
        except E.PrismeError as exc:
            text = exc.message  # the name exc is gone once the except block ends
            self.hand(lambda: self.app.notify(text, title="Releases", severity="error"))
            return
        self.hand(self.ready, columns, rows)

    def ready(self, columns: list[str], rows: list[list[str]]) -> None:
        """The Releases view's table (issue 16)."""
        from tui.app.screens.releases import ReleasesScreen

        # A release that is not the repository's head cannot be rolled out (a bulk import imports the head).
        self.not_head = {row[0]: row[2] for row in rows if row[2] != release_matrix.HEAD}

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
        if not rows:
            note = "No release recorded yet: prisme-deploy release snapshot --env ENV --name NAME."
        screen = ReleasesScreen(
            columns,
            rows,
            note + " [ ] t: what ran where at a time.",
            selectable=rollouts,
            refused=self.refused if rollouts else None,
            load=lambda: release_matrix.timeline(self.ctx),
            table_at=lambda found, when: release_matrix.at_table(self.ctx, found, when),
            reread=self._reread,
        )
        self.app.push_screen(screen, chosen)

    async def _reread(self) -> tuple[list[str], list[list[str]]]:
        """The view's ctrl+r: the releases and their verdicts read again, what enter refuses with them."""
        columns, rows = await release_matrix.matrix(self.ctx)
        self.not_head = {row[0]: row[2] for row in rows if row[2] != release_matrix.HEAD}
        return columns, rows

    def choose_rollout(self, name: str) -> None:
        from tui.app.controllers import rails

        envs = release_matrix.environments(self.ctx)
        if not envs:
            self.app.notify("No [[rollout]] stages are configured.", severity="warning")
            return
        if self.refused(name):
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
        fields = [
            modals.Field("groups", "Groups, in order:", "multi", [], options, required=True),
            modals.Field("auto_rollback", "Roll back automatically if a gate fails (verified)", "check", False),
        ]
        summary = [f"Roll release {name} out to {' → '.join(envs)}, stopping at the first failed gate."]
        env = self.ctx.env(envs[0])
        modal = modals.ActionModal(
            title=f"Roll out {name}",
            env=env,
            summary=summary,
            fields=fields,
            confirm_label="Plan…",
            danger=False,
            envs=envs,
        )
        self.app.push_screen(
            modal,
            lambda values: (
                self.confirm_rollout(name, list(values["groups"]), bool(values.get("auto_rollback")))
                if values
                else None
            ),
        )

    def refused(self, name: str) -> bool:
        """A release no rollout may take (rejected, or not its repository's head), said before any dialog, as
        the CLI does; the Releases view stays open on it (the reason is read there). Decided from a fresh
        read of the release: a view left open goes stale (``release accept`` from a shell)."""
        head = self._fresh(name)
        if head == release_matrix.HEAD:
            return False
        # Marked bad: its record says by whom and why; else a rollout imports the head, not this release.
        text = self._rejected_text(name) if head == release_matrix.REJECTED else not_head_text(name, head)
        self.app.log_pane.add(f"REFUSED rollout of {name}: {text}")
        # Inert: the reason is text a person typed (release reject --reason), never markup.
        self.app.notify(text, title="Rollout refused", severity="error", timeout=15, markup=False)
        return True

    def _fresh(self, name: str) -> str:
        """``name``'s head column read now (HEAD, REJECTED, or why not the head); when the view showed
        otherwise, the view is read again and the difference said."""
        from tui.core.ops import release

        try:
            found = release.get(self.ctx, name, rejected_ok=True)
            head = release_matrix.REJECTED if found.rejected else release_matrix.head_of(self.ctx, found, {})
        except E.PrismeError as exc:  # unknown is not the head: refused, with what the read said
            head = f"? {exc.message}"
        shown = self.not_head.get(name, release_matrix.HEAD)
        if head != shown:
            if head == release_matrix.HEAD:
                self.not_head.pop(name, None)
            else:
                self.not_head[name] = head
            self.app.notify(
                f"release {name} changed since the view was read: {shown} then, {head} now. The view is read again.",
                title="Releases",
                severity="warning",
                markup=False,
            )
            from tui.app.screens.releases import ReleasesScreen

            for screen in self.app.screen_stack:
                if isinstance(screen, ReleasesScreen):
                    screen.action_refresh()
        return head

    def _rejected_text(self, name: str) -> str:
        from tui.core.ops import release

        try:
            release.get(self.ctx, name)
        except E.PrismeError as exc:
            return f"{exc.message} {exc.hint or ''}".strip()
        return f"release {name} is marked REJECTED."

    def confirm_rollout(self, name: str, groups: list[str], auto_rollback: bool = False) -> None:
        envs = release_matrix.environments(self.ctx)
        protected = [e for e in envs if self.ctx.env(e).protected]
        summary = [f"Release {name} ({', '.join(groups)}) changes, in order: {' → '.join(envs)}"]
        if protected:
            summary.append(f"Typing the release confirms the protected {', '.join(protected)}.")
        if auto_rollback:
            summary.append("A failed gate rolls back every environment this rollout changed, verified.")
        modal = modals.ActionModal(
            title=f"Roll out {name}: plan",
            env=self.ctx.env(protected[-1] if protected else envs[-1]),
            summary=summary,
            confirm_text=name if protected else None,
            confirm_label="Roll out",
            pending="Plan: computing…",
            envs=envs,
        )
        # The reason (and break-glass) asked here covers the rollout's changes; the core checks each environment.

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                chosen = {"groups": groups, "auto_rollback": auto_rollback, **values}
                self.run_rollout(forms.request_of(R.RolloutRequest, chosen, release=name))

        self.open_guarded(modal, done, f"rollout of {name}", envs)
        shown: dict[str, Any] = {}  # filled by the preview: what ctrl+s saves (issue 28)
        modal.plan_saver = lambda: self.app.plans.save("rollout", shown.get("params", {}), shown.get("summary"))
        self.start(self._plan(modal, name, groups, shown), "preview")

    async def _plan(self, dialog: Any, name: str, groups: list[str], shown: dict[str, Any]) -> None:
        try:
            details, warnings = await release_matrix.rollout_plans(self.ctx, name, groups, shown)
        except E.PrismeError as exc:
            self.fill(dialog, [f"Cannot roll out: {exc.message}"], blocked=exc.message)
            return
        self.fill(dialog, details, warnings)

    def _step(self, found: dict[str, Any], what: str = "") -> None:
        self.say(release_matrix.step_line(found))
        env = found.get("env")
        if what and env and found.get("kind") not in QUIET_STEPS:  # the stage running now, not the first
            self.hand(self.app.log_pane.progress, f"{env}: {what}…")

    def run_rollout(self, req: R.RolloutRequest) -> None:
        first, name = release_matrix.environments(self.ctx)[0], req.release
        self.runner.run(first, f"Rollout {name}", self._rollout(req, first), what=f"rollout of {name}", request=req)

    async def _rollout(self, req: R.RolloutRequest, where: str) -> OperationFinished | None:
        async def confirmed(env: str, the_plan: Any) -> bool:
            return True  # the release name typed in the plan dialog confirmed every protected environment

        name, title = req.release, f"Rollout {req.release}"
        state = await rollout.run(
            self.ctx,
            name,
            groups=list(req.groups),
            confirm=confirmed,
            notify=lambda step: self._step(step, f"rollout of {name}"),
            request=req,
        )
        if state.failed:
            failed = state.failed
            text = f"stopped at {failed.get('env')}, gate {failed.get('gate')}: {failed.get('message')}"
            if state.rollback is not None:  # rolled back already: said, not offered again
                back = "rolled back, verified" if state.status == "rolled-back" else "automatic rollback FAILED"
                text += f"; {back} on {', '.join(state.rollback['environments'])}"
            self.runner.finish(OperationFinished(str(failed.get("env")), title, False, text))
            if state.changed and state.status != "rolled-back":  # a failed automatic one: offered again
                self.hand(self.stopped, name, failed, list(state.changed))
            return None  # said above, before the offer to roll back
        return OperationFinished(where, title, True, f"{state.status}: {', '.join(state.done)}")

    def stopped(self, release: str, failed: dict[str, Any], changed: list[str]) -> None:
        """A rollout stopped at a failed gate after importing somewhere (``changed``): offer to pull the
        previous versions back wherever it imported."""
        protected = any(self.ctx.env(e).protected for e in changed)
        modal = modals.ActionModal(
            title=f"Roll back rollout {release}?",
            env=self.ctx.env(changed[-1]),
            summary=[
                f"The rollout stopped at {failed.get('env')} ({failed.get('gate')} gate).",
                f"Pull the previous versions back on {', '.join(reversed(changed))}.",
            ],
            confirm_text=release if protected else None,
            confirm_label="Roll back",
        )

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                title = f"Roll back rollout {release}"
                self.runner.run("", title, self._rollback(release, forms.why(values)), guard=False)

        self.open_guarded(modal, done, "rollback of a rollout", list(changed))

    async def _rollback(self, name: str, why: R.Request) -> OperationFinished:
        state, outcomes = await rollout.rollback(self.ctx, name, notify=self._step, request=why)
        ok = all(o.ok for o in outcomes)
        where = state.changed[-1] if state.changed else ""
        return OperationFinished(where, f"Roll back rollout {name}", ok, f"{state.status}: {len(outcomes)} pull(s)")


def not_head_text(name: str, head: str) -> str:
    """Why a rollout refuses a release that is not its repository's head, said once: "not head" in words,
    an unreadable head ("? why") as not known, with why."""
    why = "not the head" if head == "not head" else f"not known to be the head ({head.removeprefix('? ')})"
    return f"release {name} is {why} of its repository: a rollout imports the head. Bulk push the release first."
