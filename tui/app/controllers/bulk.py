"""Bulk push and bulk import: their forms, the import's plan, and the streams (through the runner's buffer).

A bulk operation runs in the worker group ``bulk:<env>``: x stops watching it (the server goes on).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.app import messages as M
from tui.app import server_groups
from tui.app.controllers import Controller
from tui.core.ops.format import bulk_outcome
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app import plans as app_plans
    from tui.app.screens import modals
    from tui.core.config import Environment
    from tui.core.ops import bulk
else:
    modals, app_plans, bulk = lazy("tui.app.screens.modals"), lazy("tui.app.plans"), lazy("tui.core.ops.bulk")


@dataclass(frozen=True)
class BulkPushForm:
    repository: str
    groups: list[str]
    name: str | None = None
    description: str | None = None
    dry_run: bool = False
    force: bool = False

    @classmethod
    def of(cls, values: dict[str, Any]) -> BulkPushForm:
        return cls(
            values["repository"],
            list(values["groups"]),
            values.get("name") or None,
            values.get("description") or None,
            bool(values.get("dry_run")),
            bool(values.get("force")),
        )


@dataclass(frozen=True)
class BulkImportForm:
    repository: str
    groups: list[str]
    force: bool = False
    keep_going: bool = False  # continue after a group with errors

    @classmethod
    def of(cls, values: dict[str, Any]) -> BulkImportForm:
        return cls(
            values["repository"], list(values["groups"]), bool(values.get("force")), bool(values.get("continue"))
        )


class Bulk(Controller):
    def __init__(self, app: Any) -> None:
        super().__init__(app)
        # The plan each open plan dialog shows (its JSON), for ctrl+s: gone with the dialog.
        self.shown: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()

    def group_options(self) -> list[tuple[Any, str]]:
        return server_groups.options(self.ctx.config.groups, self.main.repositories.values())

    def push(self) -> None:
        env = self.main.env
        if not env:
            return
        repos = self.main.writable_repos()
        if not repos:
            self.app.notify(f"No writable platform repository on {env.name}.", severity="warning")
            return
        fields = [
            modals.Field("repository", "Repository:", "select", repos[0].id, [(r.id, r.id) for r in repos]),
            modals.Field("groups", "Groups (space to select):", "multi", [], self.group_options(), required=True),
            modals.Field("name", "Version name (optional, ≤15 chars):", "version"),
            modals.Field("description", "Description:", "text"),
            modals.Field("dry_run", "Dry run (only categorise)", "check", False),
            modals.Field("force", "Force (also push clean workspaces)", "check", False),
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.run_push(env.name, BulkPushForm.of(values))

        summary = f"Push every dirty workspace of the chosen groups on {env.name} to the repository, one after another."
        modal = modals.ActionModal(
            title="Bulk push",
            env=env,
            fields=fields,
            summary=[summary],
            confirm_text=self.confirm_text(env.name, env.name, "bulk push"),
            confirm_label="Bulk push",
        )
        self.open_guarded(modal, done, "bulk push")

    def import_(self) -> None:
        env = self.main.env
        if not env:
            return
        repos = [r for r in self.main.repositories.values() if r.readable]
        if not repos:
            self.app.notify(f"No readable platform repository on {env.name}.", severity="warning")
            return
        options = self.group_options()
        fields = [
            modals.Field("repository", "Repository:", "select", repos[0].id, [(r.id, r.id) for r in repos]),
            modals.Field("groups", "Groups, imported in this order:", "multi", [], options, required=True),
            modals.Field("force", "Force re-import (even when already at that version)", "check", False),
            modals.Field("continue", "Continue after a group with errors", "check", False),
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.confirm_import(env, BulkImportForm.of(values))

        modal = modals.ActionModal(
            title="Bulk import",
            env=env,
            fields=fields,
            summary=[
                f"Import into {env.name}, one group at a time; local edits of every "
                "imported workspace are overwritten. The plan is shown before anything runs."
            ],
            confirm_label="Plan…",
            danger=False,
        )
        self.open_guarded(modal, done, "bulk import")

    def confirm_import(self, env: Environment, form: BulkImportForm) -> None:
        """The chosen import's plan (as `plan bulk-import`), computed after the dialog opened; confirm runs it."""

        def done(answer: dict[str, Any] | None) -> None:
            if answer is not None:
                self.run_import(env.name, form)

        modal = modals.ActionModal(
            title=f"Bulk import into {env.name}: plan",
            env=env,
            summary=[
                f"Repository {form.repository} → {env.name}, groups in order: {', '.join(form.groups)}",
                "Every imported workspace's local edits are discarded (discardLocalChanges).",
            ],
            confirm_text=self.confirm_text(env.name, env.name, "bulk import"),
            confirm_label="Bulk import",
            pending="Plan: computing…",
        )
        params = {"env": env.name, "repository": form.repository, "groups": form.groups, "force_reimport": form.force}
        modal.plan_saver = lambda: self.app.plans.save("bulk-import", params, self.shown.get(modal))  # ctrl+s
        self.app.push_screen(modal, done)
        self.start(self._plan(modal, env.name, form), "preview")

    async def _plan(self, dialog: Any, env: str, form: BulkImportForm) -> None:
        found = await app_plans.bulk_import(self.ctx, env, form.repository, form.groups, form.force)
        if found.plan is not None:  # what ctrl+s saves: the plan the dialog shows (issue 28)
            self.shown[dialog] = found.plan.to_json()
        self.post(M.PreviewReady(dialog, found.details, found.warnings, blocked=found.blocked))

    # ------------------------------------------------------------------ the streams
    def run_push(self, env: str, form: BulkPushForm) -> None:
        what = f"bulk push {', '.join(form.groups)}"
        self.runner.run(env, "Bulk push", self._push(env, form), what=what, group=f"bulk:{env}")

    def run_import(self, env: str, form: BulkImportForm) -> None:
        what = f"bulk import {', '.join(form.groups)}"
        self.runner.run(env, "Bulk import", self._import(env, form), what=what, group=f"bulk:{env}")

    async def _push(self, env: str, form: BulkPushForm) -> M.OperationFinished:
        run = bulk.BulkRun(env, "bulk-push")
        stream = bulk.bulk_push(
            self.ctx,
            env,
            repository=form.repository,
            groups=form.groups,
            name=form.name,
            description=form.description,
            dry_run=form.dry_run,
            force=form.force,
            run=run,
        )
        return await self._follow(env, "Bulk push", stream, run)

    async def _import(self, env: str, form: BulkImportForm) -> M.OperationFinished:
        run = bulk.BulkRun(env, "bulk-import")
        stream = bulk.bulk_import(
            self.ctx,
            env,
            repository=form.repository,
            groups=form.groups,
            force_reimport=form.force,
            continue_on_error=form.keep_going,
            run=run,
        )
        return await self._follow(env, "Bulk import", stream, run)

    async def _follow(self, env: str, title: str, stream: AsyncIterator[Any], run: bulk.BulkRun) -> M.OperationFinished:
        await self.runner.relay(env, stream)
        for notice in run.notices:
            self.post(M.LogLines([f"note: {notice}"]))
        ok, message = bulk_outcome(run)  # it keeps the counts in the status line, after the stream's summary
        return M.OperationFinished(env, title, ok, message)

    def stop_watching(self) -> None:
        if self.main.env_name:
            self.runner.stop_watching(self.main.env_name)
