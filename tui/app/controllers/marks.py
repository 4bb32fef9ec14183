"""Multi-select, k9s-style: Space marks workspaces; push, pull, promote, diff and snapshot then apply to
the marked set, after one confirmation that lists every marked workspace.

Marks belong to one environment (switching clears them). The work runs in one `op` worker, one
workspace after another (each action takes the environment's lock), and reports each workspace's
outcome in the log, then one summary. Workers hand their lines to the runner, which draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.app.runner import OperationFinished
from tui.core import errors as E

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.core.ops.requests import Request

TITLES = {"push": "Push", "pull": "Pull latest into", "promote": "Promote", "snapshot": "Snapshot", "diff": "Diff"}


class Marks:
    def __init__(self, app: PrismeDeployApp) -> None:
        self.app = app
        self.slugs: list[str] = []  # in marking order: the order the actions run in

    def __bool__(self) -> bool:
        return bool(self.slugs)

    def __contains__(self, slug: object) -> bool:
        return slug in self.slugs

    # ------------------------------------------------------------------ marking
    def toggle(self, slug: str) -> None:
        if slug in self.slugs:
            self.slugs.remove(slug)
        else:
            self.slugs.append(slug)
        self._redraw(slug)
        self._subtitle()

    def clear(self) -> None:
        old, self.slugs = self.slugs, []
        for slug in old:
            self._redraw(slug)
        self._subtitle()

    def _redraw(self, slug: str) -> None:
        # The table asks the app for the rows it draws (the mark included): drawing again is enough.
        self.app.main.query_one("#workspaces").refresh_rows()  # type: ignore[attr-defined]

    def _subtitle(self) -> None:
        table = self.app.main.query_one("#workspaces")
        base = str(table.border_subtitle or "").split(" · marked ")[0]
        table.border_subtitle = f"{base} · marked {len(self.slugs)}" if self.slugs else base

    # ------------------------------------------------------------------ actions on the marked set
    def start(self, kind: str, slugs: list[str] | None = None) -> None:
        """One confirmation listing the marked workspaces (or ``slugs``: the selected one, for s), then the
        worker (diff needs no confirmation)."""
        app, env = self.app, self.app.main.env
        marked = slugs is None
        slugs = list(self.slugs) if slugs is None else slugs
        if env is None or not slugs:
            return
        if kind == "diff":
            self._launch(kind, env.name, slugs, {})
            return
        from tui.app.screens import modals

        fields = self._fields(kind)
        noun = "marked workspace" if marked else "workspace"
        summary = [f"{TITLES[kind]} {len(slugs)} {noun}(s) on {env.name}, one after another:"]
        summary += [f"  • {slug}" for slug in slugs]
        if kind == "promote":
            summary.append("Each from the previous environment (or its promotion pair); a safety snapshot first.")

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self._launch(kind, env.name, slugs, values)

        from tui.app.controllers import rails

        modal = modals.ActionModal(
            title=f"{TITLES[kind]} {len(slugs)} {noun}{'' if len(slugs) == 1 else 's'}",
            env=env,
            summary=summary,
            fields=fields,
            confirm_text=env.name if env.protected and kind != "snapshot" else None,
            confirm_label=kind.capitalize(),
            danger=kind in ("pull", "promote"),
        )
        rails.open_guarded(app, modal, done, f"{kind} {len(slugs)} {noun}(s)")

    def _fields(self, kind: str) -> list[Any]:
        from tui.app.screens import modals

        app = self.app
        if kind == "push":
            repos = app.main.writable_repos()
            options = [(f"{r.id} (git {r.branch})", r.id) for r in repos] + [("native snapshot (Prismeai)", "")]
            return [
                modals.Field("name", "Version name (≤15 of A-Z a-z 0-9 . _ -):", "version", required=True),
                modals.Field("description", "Description (commit message):", "text", required=True),
                modals.Field("repository", "Repository:", "select", options[0][1], options),
            ]
        if kind == "pull":
            options = [(f"{r.id} ({r.mode})", r.id) for r in app.main.repositories.values() if r.readable]
            if not options:
                return []
            return [
                modals.Field("repository", "Repository:", "select", options[0][1], options),
                modals.Field("discard", "Discard local changes (unpushed edits are lost)", "check", False),
            ]
        return []

    def _launch(self, kind: str, env: str, slugs: list[str], values: dict[str, Any]) -> None:
        from tui.app.controllers import forms

        why = forms.why(values)  # one reason for every workspace of the set, each operation carries it
        marked = " marked" if slugs == self.slugs else ""  # s on an unmarked table: the selected workspace
        title, what = f"{TITLES[kind]} {len(slugs)}{marked}", f"{kind} {len(slugs)}{marked} workspace(s)"
        running = self._run(kind, env, slugs, values, why)
        self.app.runner.run(env, title, running, what=what, guard=kind != "diff", request=why)

    async def _run(
        self, kind: str, env: str, slugs: list[str], values: dict[str, Any], why: Request
    ) -> OperationFinished | None:
        app = self.app
        done: list[str] = []
        failed: list[str] = []
        for slug in slugs:
            try:
                ok, message = await self._one(kind, env, slug, values, why)
            except E.PrismeError as exc:
                ok, message = False, str(exc)
            (done if ok else failed).append(slug)
            app.runner.say(f"  {slug}: {message}")
        summary = f"{len(done)}/{len(slugs)} done" + (f"; failed: {', '.join(failed)}" if failed else "")
        if kind == "diff":
            app.runner.say(f"diff of {len(slugs)} marked workspace(s): {summary}")
            return None
        marked = " marked" if slugs == self.slugs else ""
        return OperationFinished(env, f"{TITLES[kind]} {len(slugs)}{marked}", not failed, summary)

    async def _one(self, kind: str, env: str, slug: str, values: dict[str, Any], why: Request) -> tuple[bool, str]:
        from tui.core.ops import actions, compare, promote, snapshots

        ctx = self.app.ctx
        if kind == "push":
            repository = values.get("repository") or None
            outcome = await actions.push(
                ctx,
                env,
                slug,
                name=values["name"],
                description=values["description"],
                repository=repository,
                request=why,
            )
            return outcome.ok, outcome.message
        if kind == "pull":
            outcome = await actions.pull(
                ctx,
                env,
                slug,
                version="latest",
                repository=values.get("repository"),
                discard_local_changes=bool(values.get("discard")),
                action="pull",
                request=why,
            )
            return outcome.ok, outcome.message
        if kind == "snapshot":
            async with ctx.client(env) as client:
                ws = await client.find_workspace(slug)
                snap = await snapshots.take(ctx, client, env, ws, "manual")
            return (True, f"snapshot {snap.id}") if snap else (False, "snapshots are off for this environment")
        refs = self.app.main.neighbours(slug)
        if refs is None:
            return False, "no other environment (or promotion pair) to compare with"
        if kind == "diff":
            result = await compare.compare(ctx, compare.Ref.parse(refs[0]), compare.Ref.parse(refs[1]))
            stat = result.stat()
            text = (
                "identical"
                if result.identical
                else f"{stat['files']} file(s) +{stat['insertions']} -{stat['deletions']}"
            )
            return True, f"{refs[0]} → {refs[1]}: {text}"
        source, target = compare.Ref.parse(refs[0]), compare.Ref.parse(refs[1])
        if target.env != env:
            return False, f"promotes into {target.env}, not {env}: switch to it"
        plan = await promote.plan(ctx, source, target)
        outcome = await promote.promote(
            ctx, plan, via="archive", accept_drift=False, name=None, repository=None, request=why
        )
        return outcome.ok, outcome.message
