"""Operations on the selected workspace: push, pull, rollback (and its sticky variant), unlock, undo.

Each dialog opens at once (keys typed meanwhile land in it); what it changes is computed after, by a
preview worker, which fills it (``Controller.fill``). Confirmed, the operation goes to the runner.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tui.app.controllers import Controller, forms
from tui.app.runner import OperationFinished
from tui.core import errors as E
from tui.core.ops import requests as R
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.app.screens import modals
    from tui.core.api.models import Version, Workspace
    from tui.core.config import Environment
    from tui.core.ops import actions, compare, previews, snapshots, sticky
else:
    modals, previews = lazy("tui.app.screens.modals"), lazy("tui.core.ops.previews")
    actions, compare = lazy("tui.core.ops.actions"), lazy("tui.core.ops.compare")
    snapshots, sticky = lazy("tui.core.ops.snapshots"), lazy("tui.core.ops.sticky")

PENDING = "What changes: computing…"  # a dialog's preview line until the diff arrives
PRUNE_NOTE = ", files the version lacks are removed"


def undo_of(outcome: Any) -> str | None:
    """The safety snapshot an outcome took (U restores it), if any."""
    return outcome.snapshot_id or None


def finished(env: str, slug: str, title: str, outcome: Any) -> OperationFinished:
    """A single-workspace operation's outcome, with its undo point."""
    return OperationFinished(
        env, title, outcome.ok, outcome.message, outcome.next_step, snapshot=undo_of(outcome), target=(env, slug)
    )


def dirty_text(ws: Workspace) -> str:
    """Dirty in words: "unknown" on an instance that does not track it (2024)."""
    return "unknown (not tracked by this instance)" if not ws.dirty_known else "yes" if ws.dirty else "no"


def repo_label(repo: Any, detail: str) -> str:
    """A repository in a picker: the workspace's own repositories say so (platform ones are the default)."""
    own = ", the workspace's own" if getattr(repo, "origin", "platform") == "workspace" else ""
    return f"{repo.id} ({detail}{own})"


class Operations(Controller):
    def __init__(self, app: PrismeDeployApp) -> None:
        super().__init__(app)
        self.risks: dict[Any, previews.Preview] = {}  # open rollback dialog -> its restart risk, once computed

    # ------------------------------------------------------------------ push
    def push(self) -> None:
        main = self.main
        if main.marks:
            return main.marks.start("push")
        ws, env = main.current_ws(), main.env
        if not ws or not env:
            return
        repos = main.writable_repos(ws)
        options = [(repo_label(r, f"git {r.branch}"), r.id) for r in repos] + [("native snapshot (Prismeai)", "")]
        fields = [
            modals.Field("name", "Version name (≤15 of A-Z a-z 0-9 . _ -):", "version", required=True),
            modals.Field("description", "Description (commit message):", "text", required=True),
            modals.Field("repository", "Repository:", "select", options[0][1], options),
        ]
        summary = [
            f"Push {ws.slug} on {env.name}.",
            f"Labels: {', '.join(ws.labels) or '-'}",
            f"Live version: {ws.live_version or '-'}; dirty: {dirty_text(ws)}",
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.run_push(forms.request_of(R.PushRequest, values, env=env.name, slug=ws.slug))

        modal = modals.ActionModal(
            title="Push a version",
            env=env,
            summary=summary,
            fields=fields,
            confirm_text=self.confirm_text(env.name, ws.slug, "push"),
            confirm_label="Push",
            danger=False,
        )
        self.open_guarded(modal, done, "push")

    def run_push(self, req: R.PushRequest) -> None:
        what = f"push {req.slug} as {req.name}"
        self.runner.run(req.env, f"Push {req.slug}", self._push(req), what=what, request=req)

    async def _push(self, req: R.PushRequest) -> OperationFinished:
        env, slug = req.env, req.slug
        outcome = await actions.push(
            self.ctx, env, slug, name=req.name, description=req.description, repository=req.repository, request=req
        )
        self.say(*(f"  {s}" for s in outcome.steps))
        return OperationFinished(
            env, f"Push {slug}", outcome.ok, outcome.message, outcome.next_step, target=(env, slug)
        )

    # ------------------------------------------------------------------ pull and rollback
    def pull(self) -> None:
        main = self.main
        if main.marks:
            return main.marks.start("pull")
        ws, env = main.current_ws(), main.env
        if not ws or not env:
            return
        options = [(repo_label(r, r.mode), r.id) for r in main.repositories_of(ws).values() if r.readable]
        if not options:
            self.app.notify(
                f"No readable repository for {ws.slug}: none on the platform, none in the workspace.",
                severity="warning",
            )
            return
        fields = [
            modals.Field("repository", "Repository:", "select", options[0][1], options),
            modals.Field("discard", "Discard local changes (unpushed edits are lost)", "check", ws.dirty),
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.run_pull(forms.request_of(R.PullRequest, values, env=env.name, slug=ws.slug))

        modal = modals.ActionModal(
            title=f"Pull latest into {ws.slug}",
            env=env,
            fields=fields,
            summary=[
                f"Environment: {env.name} ({env.url})",
                f"Workspace: {ws.slug}",
                f"Live version: {ws.live_version or '-'} -> latest ({self._latest(options[0][1])})",
            ],
            warnings=[],  # whether a dirty workspace has edits to lose comes with the preview
            confirm_text=self.confirm_text(env.name, ws.slug, "pull"),
            confirm_label="Pull",
            pending=PENDING,
        )
        self.open_guarded(modal, done, "pull")
        here = f"{env.name}:{ws.slug}"
        maybe_dirty = ws.dirty or not ws.dirty_known  # unknown is never safe: its edits are looked for
        self.start(self._preview_change(modal, here, f"{here}@latest", PRUNE_NOTE, maybe_dirty, False), "preview")

    def _latest(self, repository: str) -> str:
        """Which version "latest" is: the newest of that repository in the history, or said unknown."""
        wanted = repository or None  # the repository's own versions only: a native one is not its latest
        listed = [v for v in self.main.versions if (v.repository_id or None) == wanted]
        newest = max(listed, key=lambda v: v.created_at or "", default=None)
        return f"{newest.name}, the newest in the history" if newest else "unknown until pulled: see the preview"

    def rollback(self) -> None:
        main = self.main
        ws, env, version = main.current_ws(), main.env, main.current_version()
        if not ws or not env or not version:
            self.app.notify("Select a version in the history (4) first.", severity="warning")
            return

        def done(values: dict[str, Any] | None) -> None:
            risk = self.risks.pop(modal, None)  # the preview's: computed once, said again after the run
            if values is None:
                return
            selected = {"env": env.name, "slug": ws.slug, "version": version.name, "repository": version.repository_id}
            req = forms.request_of(R.RollbackRequest, {"sticky": False, **values}, **selected)
            if req.sticky:
                self.run_sticky(req)
            else:
                self.run_pull(req, risk)

        # Open at once (keys typed meanwhile land here, not on the main screen); the preview follows.
        names = [v.name for v in main.versions]  # newest first
        forward = ws.live_version in names and names.index(version.name) < names.index(ws.live_version)
        modal = self._rollback_dialog(env, ws, version, self.confirm_text(env.name, ws.slug, "rollback"), forward)
        modal.plan_saver = lambda: self.app.plans.save_rollback(env.name, ws.slug, version.name, version.repository_id)
        self.open_guarded(modal, done, "rollback")
        maybe_dirty = ws.dirty or not ws.dirty_known
        self.start(self._preview_rollback(modal, env.name, ws.slug, version.name, maybe_dirty), "preview")

    @staticmethod
    def _rollback_dialog(
        env: Environment, ws: Workspace, version: Version, typed: str | None, forward: bool = False
    ) -> Any:
        """``forward``: the version is newer than the live one (a roll forward, said so)."""
        live = ws.live_version
        verb = "Roll forward" if forward else "Roll back"
        summary = [
            f"Environment:  {env.name} ({env.badge}) {env.url}",
            f"Workspace:    {ws.slug}",
            f"Live version: {live or 'unknown'}"
            + (" (marked dirty)" if ws.dirty else "" if ws.dirty_known else f" (dirty: {dirty_text(ws)})"),
            f"{verb + ' to:':<13} {version.name}  ({version.source}, {(version.created_at or '')[:16]})",
            f"Description:  {version.description}",
        ]
        warnings = []  # a dirty workspace's edits to lose: with the preview (the status says which)
        if ws.write_lock:
            warnings.append(f"Locked ({ws.write_lock.reason}): the pull will be refused until it is unlocked.")
        if version.name == live:
            warnings.append("This is already the live version.")
        return modals.ActionModal(
            title=f"{verb} {ws.slug}",
            env=env,
            summary=summary,
            warnings=warnings,
            confirm_text=typed,
            confirm_label=verb,
            pending=PENDING,
        )

    def run_pull(self, req: R.PullRequest | R.RollbackRequest, risk: previews.Preview | None = None) -> None:
        """``risk``: a rollback's restart risk, as its preview computed it (else computed after the run)."""
        action, version = ("rollback", req.version) if isinstance(req, R.RollbackRequest) else ("pull", "latest")
        what = f"{action} {req.slug} to {version}"
        title = f"{action.capitalize()} {req.slug}"
        self.runner.run(req.env, title, self._pull(req, action, version, risk), what=what, request=req)

    async def _pull(
        self, req: R.PullRequest | R.RollbackRequest, action: str, version: str, risk: previews.Preview | None
    ) -> OperationFinished:
        env, slug = req.env, req.slug
        outcome = await actions.pull(
            self.ctx,
            env,
            slug,
            version=version,
            repository=req.repository,
            discard_local_changes=req.discard,
            action=action,
            on_step=lambda step: self.say(f"  {step}"),  # live, as they happen
            request=req,
        )
        if outcome.snapshot_id:
            self.say(f"  snapshot {outcome.snapshot_id} taken before; press U to undo")
        if action == "rollback" and outcome.ok:  # as the CLI says: will the next restart undo it?
            risk = risk or await previews.restart_risk(self.ctx, env, slug, version)
            sticky_hint = [f"{w} A sticky rollback (r, tick the box) keeps it." for w in risk.warnings]
            self.say(*(f"  {line}" for line in sticky_hint + risk.details))
            done = finished(env, slug, f"{action.capitalize()} {slug}", outcome)
            done.at_risk = bool(risk.warnings)  # the banner says AT RISK until a sticky rollback
            return done
        return finished(env, slug, f"{action.capitalize()} {slug}", outcome)

    def run_sticky(self, req: R.RollbackRequest) -> None:
        what = f"sticky rollback of {req.slug} to {req.version}'s content"
        self.runner.run(req.env, f"Sticky rollback {req.slug}", self._sticky(req), what=what, request=req)

    async def _sticky(self, req: R.RollbackRequest) -> OperationFinished:
        env, slug = req.env, req.slug
        outcome, risk = await sticky.sticky_rollback(
            self.ctx, env, slug, req.version, repository=req.repository, request=req
        )
        self.say(*(f"  {s}" for s in outcome.steps), f"  after a restart: {risk.message}")
        done = finished(env, slug, f"Sticky rollback {slug}", outcome)
        done.at_risk = bool(getattr(risk, "at_risk", False))
        return done

    # ------------------------------------------------------------------ previews (fill the open dialog)
    async def _preview_rollback(self, dialog: Any, env: str, slug: str, version: str, dirty: bool) -> None:
        """The rollback's change, the edits it would lose, and whether the next restart undoes it (then the
        sticky variant is offered)."""
        lines, risk = await asyncio.gather(
            self.change_lines(f"{env}:{slug}", f"{env}:{slug}@{version}", PRUNE_NOTE),
            previews.restart_risk(self.ctx, env, slug, version),
        )
        warnings = ([await self._lost_edits(env, slug, discard=True)] if dirty else []) + [
            f"{w} Tick the box below to stick." for w in risk.warnings
        ]
        fields = [modals.Field("sticky", previews.STICKY_LABEL, "check", False)] if risk.warnings else []
        self.hand(self._risk_known, dialog, risk)
        self.fill(dialog, lines + risk.details, warnings, fields)

    def _risk_known(self, dialog: Any, risk: previews.Preview) -> None:
        if dialog in self.app.screen_stack:  # closed meanwhile: nothing will run it
            self.risks[dialog] = risk

    async def _preview_change(
        self, dialog: Any, current: str, after: str, note: str, dirty: bool, discard: bool
    ) -> None:
        """What a pull changes on the workspace: its current state -> what it will be; for a dirty
        workspace, which edits it would lose (none when only the last pull marked it dirty)."""
        lines = await self.change_lines(current, after, note)
        ref = compare.Ref.parse(current)
        warnings = [await self._lost_edits(ref.env, ref.slug, discard=discard)] if dirty else []
        self.fill(dialog, lines, warnings)

    async def _lost_edits(self, env: str, slug: str, *, discard: bool) -> str:
        """A dirty workspace's edits an import would lose, in words (the platform marks every pull dirty)."""
        try:
            return await compare.lost_edits(self.ctx, env, slug, discard=discard)
        except E.PrismeError as exc:
            return f"DIRTY: which edits would be lost is unknown ({exc.message}); assume they are."

    async def change_lines(self, current: str, after: str, note: str = "") -> list[str]:
        try:
            result = await compare.compare(self.ctx, compare.Ref.parse(current), compare.Ref.parse(after))
        except E.PrismeError as exc:
            return [f"What changes is unknown: {exc.message}"]
        if result.identical:
            return ["No content change: the workspace already has exactly this content."]
        return [f"What changes on {current} (current → after){note}:", *result.stat_lines()]

    # ------------------------------------------------------------------ unlock
    def unlock(self) -> None:
        ws, env = self.main.current_ws(), self.main.env
        if not ws or not env:
            return
        lock = ws.write_lock
        if not lock:
            self.app.notify(f"{ws.slug} is not locked.")
            return
        warnings = [E.hint_for_lock(lock.reason)] if lock.reason == "merge_conflict" else []

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                why = forms.why(values)
                unlocking = self._unlock(env.name, ws.slug, why)
                self.runner.run(env.name, f"Unlock {ws.slug}", unlocking, what=f"unlock {ws.slug}", request=why)

        modal = modals.ActionModal(
            title=f"Unlock {ws.slug}",
            env=env,
            warnings=warnings,
            summary=[f"Lock: {lock.reason} by {lock.locked_by} since {lock.locked_at}"],
            confirm_text=self.confirm_text(env.name, ws.slug, "unlock"),
            confirm_label="Unlock",
        )
        self.open_guarded(modal, done, "unlock")

    async def _unlock(self, env: str, slug: str, why: R.Request) -> OperationFinished:
        outcome = await actions.unlock(self.ctx, env, slug, request=why)
        return OperationFinished(env, f"Unlock {slug}", outcome.ok, outcome.message)

    # ------------------------------------------------------------------ undo: restore a snapshot
    def undo(self) -> None:
        if self.app.last_undo:
            self.confirm_restore(self.app.last_undo)

    def snapshot(self) -> None:
        """s: a safety snapshot of every marked workspace, or of the selected one (S only ever lists them)."""
        main = self.main
        if main.marks:
            main.marks.start("snapshot")
        elif main.selected_slug:
            main.marks.start("snapshot", [main.selected_slug])

    def show_snapshots(self) -> None:
        main = self.main
        from tui.app.screens.activity import TableScreen

        store = snapshots.SnapshotStore.for_context(self.ctx)
        snaps = store.list(main.env_name)
        rows = [[s.id, s.slug, s.time[:19], s.live_version or "", s.action, f"{s.size // 1024} KiB"] for s in snaps]

        def chosen(snapshot_id: str | None) -> None:
            if snapshot_id:
                self.confirm_restore(snapshot_id)

        screen = TableScreen(
            f"Snapshots · {main.env_name}  (enter restores)",
            ["id", "workspace", "time", "live", "before", "size"],
            rows,
            note="\n".join([str(store.root), *store.warnings]),  # unreadable entries: skipped, said
            selectable=True,
        )
        self.app.push_screen(screen, chosen)

    def confirm_restore(self, snapshot_id: str) -> None:
        store = snapshots.SnapshotStore.for_context(self.ctx)
        try:
            snap = store.get(snapshot_id)
        except E.PrismeError as exc:
            self.app.notify(exc.message, severity="error")
            return
        env = self.ctx.env(snap.env)
        if not self.ctx.writable(env.name):
            self.app.notify(f"{env.name} is read-only.", severity="warning")
            return

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                req = forms.request_of(R.RestoreRequest, values, snapshot=snap.id)
                title = f"Restore {snap.slug}"
                self.runner.run(env.name, title, self._restore(snap, req), what=f"restore {snap.slug}", request=req)

        if snap.clean_version:
            how = (
                f"It was clean at {snap.clean_version}: pulls {snap.clean_version} again "
                "(content, label and clean state come back)."
            )
        else:
            how = "It had unpushed edits: imports the snapshot (prune); the server label stays, marked dirty."
        modal = modals.ActionModal(
            title=f"Undo: restore {snap.slug}",
            env=env,
            summary=[
                f"Restore {snap.slug} on {env.name} to its state of {snap.time[:19]}",
                f"(taken before {snap.action}; label then {snap.live_version or 'none'}).",
                how,
                "A new snapshot is taken first.",
            ],
            confirm_text=self.confirm_text(env.name, snap.slug, "restore"),
            confirm_label="Restore",
            pending=PENDING,
        )
        self.open_guarded(modal, done, "restore")
        self.start(self._preview_restore(modal, snap), "preview")

    async def _preview_restore(self, dialog: Any, snap: snapshots.Snapshot) -> None:
        current = compare.Ref(snap.env, snap.slug)
        try:
            archive = await asyncio.to_thread(snap.archive.read_bytes)
            result = await compare.to_archive(self.ctx, current, archive, f"snapshot {snap.time[:19]}")
        except (E.PrismeError, OSError) as exc:
            self.fill(dialog, [f"What changes is unknown: {exc}"])
            return
        if result.identical:
            lines = ["No content change: the workspace already has the snapshot's content."]
        else:
            lines = [f"What changes on {current} (current → snapshot):", *result.stat_lines()]
        self.fill(dialog, lines)

    async def _restore(self, snap: snapshots.Snapshot, req: R.RestoreRequest) -> OperationFinished:
        outcome = await actions.restore(self.ctx, req.snapshot, request=req)
        return OperationFinished(
            snap.env,
            f"Restore {snap.slug}",
            outcome.ok,
            outcome.message,
            outcome.next_step,
            snapshot=undo_of(outcome),
            target=(snap.env, snap.slug),
            content_note=outcome.content_note,
        )
