"""Bulk push and bulk import: their forms, the import's plan, and the streams (through the runner's buffer).

A bulk operation runs in the worker group ``bulk:<env>``: x stops watching it (the server goes on).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from tui.app import server_groups
from tui.app.controllers import Controller, forms
from tui.app.runner import OperationFinished
from tui.core.ops import requests as R
from tui.core.ops.format import bulk_outcome
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app.screens import modals
    from tui.core.config import Environment
    from tui.core.ops import bulk, previews
else:
    modals, previews, bulk = lazy("tui.app.screens.modals"), lazy("tui.core.ops.previews"), lazy("tui.core.ops.bulk")


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
                self.run_push(forms.request_of(R.BulkPushRequest, values, env=env.name))

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
                self.confirm_import(env, forms.request_of(R.BulkImportRequest, values, env=env.name))

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

    def confirm_import(self, env: Environment, form: R.BulkImportRequest) -> None:
        """The chosen import's plan (as `plan bulk-import`), computed after the dialog opened; confirm runs it."""

        def done(answer: dict[str, Any] | None) -> None:
            if answer is not None:
                self.run_import(form)

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

    async def _plan(self, dialog: Any, env: str, form: R.BulkImportRequest) -> None:
        found = await previews.bulk_import(self.ctx, env, form.repository, list(form.groups), form.force)
        if found.plan is not None:  # what ctrl+s saves: the plan the dialog shows (issue 28)
            self.shown[dialog] = found.plan.to_json()
        self.fill(dialog, found.details, found.warnings, blocked=found.blocked)

    # ------------------------------------------------------------------ the streams
    def run_push(self, req: R.BulkPushRequest) -> None:
        what, env = f"bulk push {', '.join(req.groups)}", req.env
        self.runner.run(env, "Bulk push", self._push(req), what=what, group=f"bulk:{env}", request=req)

    def run_import(self, req: R.BulkImportRequest) -> None:
        what, env = f"bulk import {', '.join(req.groups)}", req.env
        self.runner.run(env, "Bulk import", self._import(req), what=what, group=f"bulk:{env}", request=req)

    async def _push(self, req: R.BulkPushRequest) -> OperationFinished:
        run = bulk.BulkRun(req.env, "bulk-push")
        stream = bulk.bulk_push(
            self.ctx,
            req.env,
            repository=req.repository,
            groups=list(req.groups),
            name=req.name,
            description=req.description,
            dry_run=req.dry_run,
            force=req.force,
            run=run,
            request=req,
        )
        return await self._follow(req.env, "Bulk push", stream, run)

    async def _import(self, req: R.BulkImportRequest) -> OperationFinished:
        run = bulk.BulkRun(req.env, "bulk-import")
        stream = bulk.bulk_import(
            self.ctx,
            req.env,
            repository=req.repository,
            groups=list(req.groups),
            force_reimport=req.force,
            continue_on_error=req.continue_on_error,
            run=run,
            request=req,
        )
        return await self._follow(req.env, "Bulk import", stream, run)

    async def _follow(self, env: str, title: str, stream: AsyncIterator[Any], run: bulk.BulkRun) -> OperationFinished:
        await self.runner.relay(env, stream)
        self.say(*(f"note: {notice}" for notice in run.notices))
        ok, message = bulk_outcome(run)  # it keeps the counts in the status line, after the stream's summary
        return OperationFinished(env, title, ok, message)

    def stop_watching(self) -> None:
        if self.main.env_name:
            self.runner.stop_watching(self.main.env_name)
