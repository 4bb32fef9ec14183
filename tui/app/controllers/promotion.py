"""Comparing and promoting across environments: diff, the drift matrix, secrets parity, promote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.app.controllers import Controller, forms
from tui.app.controllers.operations import PENDING, undo_of
from tui.app.runner import OperationFinished
from tui.core import errors as E
from tui.core.ops import requests as R
from tui.core.ops import routing
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.app.screens import modals
    from tui.core.ops import compare, matrix, promote
else:
    modals, compare = lazy("tui.app.screens.modals"), lazy("tui.core.ops.compare")
    matrix, promote = lazy("tui.core.ops.matrix"), lazy("tui.core.ops.promote")


class Promotion(Controller):
    def __init__(self, app: PrismeDeployApp) -> None:
        super().__init__(app)
        self.plans: dict[Any, promote.Plan] = {}  # open promotion dialog -> its plan, once computed

    # ------------------------------------------------------------------ diff
    def diff(self) -> None:
        main = self.main
        focused = main.focused
        on_versions = focused is not None and focused.id == "versions"
        if main.marks and not on_versions:
            return main.marks.start("diff")
        env, slug = main.env_name, main.selected_slug
        if not env or not slug:
            return
        marked = main.marked_version
        if on_versions and marked and main.selected_version and marked != main.selected_version:
            # Two versions: the marked one (space) against the one highlighted, as `diff A@v1 A@v2` does.
            self.open_diff(f"{env}:{slug}@{marked}", f"{env}:{slug}@{main.selected_version}")
            return
        if on_versions and main.selected_version:
            self.open_diff(f"{env}:{slug}@{main.selected_version}", f"{env}:{slug}")
            return
        refs = main.neighbours(slug)
        if refs is None:
            self.app.notify("Configure a second environment (or a [[promotions]] pair) to compare with.")
            return
        self.open_diff(*refs)

    def open_diff(self, old: str, new: str) -> None:
        self.start(self._diff(old, new), "diff")

    async def _diff(self, old: str, new: str) -> None:
        self.say(f"diff {old} → {new}…")
        try:
            result = await compare.compare(self.ctx, compare.Ref.parse(old), compare.Ref.parse(new))
        except E.PrismeError as exc:
            self.runner.fail(f"Diff {old} → {new}", exc)
            return
        self.hand(self.diff_ready, f"Diff  {old}  →  {new}", result)

    def diff_ready(self, title: str, diff: Any) -> None:
        stat = diff.stat()
        self.main.log_pane.add(f"{title}: {stat['files']} file(s), +{stat['insertions']} -{stat['deletions']}")
        from tui.app.screens.diff import DiffScreen

        self.app.push_screen(DiffScreen(title, diff))

    # ------------------------------------------------------------------ drift matrix and parity
    def group_title(self) -> str:
        group = self.main.group
        return group if group in self.ctx.config.groups else "all workspaces"

    def drift_matrix(self) -> None:
        groups = self.ctx.config.groups
        labels = groups[self.main.group].labels if self.main.group in groups else None
        self.start(self._matrix(self.main.group if labels else "all workspaces", labels), "matrix")

    async def _matrix(self, title: str, labels: tuple[str, ...] | None) -> None:
        self.say(f"drift matrix of {title}: exporting every workspace of every environment…")
        result = await matrix.build(self.ctx, list(self.ctx.config.environments), labels)
        self.hand(self.matrix_ready, f"Drift matrix · {title}", result, labels)

    def matrix_ready(self, title: str, result: Any, labels: tuple[str, ...] | None) -> None:
        """``labels``: what the matrix was built from (built again after an action)."""
        from tui.app.screens.matrix import MatrixScreen

        shown = next((s for s in self.app.screen_stack if isinstance(s, MatrixScreen)), None)
        if shown is not None and shown.title_text == title:
            shown.show(result)  # built again after an action taken from it
            self.app.log_pane.add(f"{title}: up to date")
            return
        self.app.push_screen(MatrixScreen(title, result, labels))

    def refresh_matrix(self) -> None:
        """After an operation: the matrix screen still open is built again, so it shows what changed."""
        from tui.app.screens.matrix import MatrixScreen

        shown = next((s for s in self.app.screen_stack if isinstance(s, MatrixScreen)), None)
        if shown is not None:
            title = shown.title_text.removeprefix("Drift matrix · ")
            self.start(self._matrix(title, shown.labels), "matrix")

    def parity(self, envs: list[str], slugs: list[str]) -> None:
        self.start(self._parity(envs, slugs, self.group_title()), "parity")

    async def _parity(self, envs: list[str], slugs: list[str], title: str) -> None:
        from tui.core.ops import parity_matrix

        self.say(f"parity matrix of {title}: secret and config names, never values…")
        result = await parity_matrix.build(self.ctx, envs, slugs)
        self.hand(self.parity_ready, f"Secrets/config parity · {title}", result)

    def parity_ready(self, title: str, result: Any) -> None:
        from tui.app.screens.parity import ParityScreen

        self.app.push_screen(ParityScreen(title, result))

    # ------------------------------------------------------------------ promote
    def promote_selected(self) -> None:
        main = self.main
        if main.marks:
            return main.marks.start("promote")
        if not main.selected_slug:
            return
        refs = main.neighbours(main.selected_slug)
        if refs is None:
            self.app.notify("Nothing to promote from: configure another environment or a [[promotions]] pair.")
            return
        self.plan_promotion(*refs)

    def promote_from_matrix(self, source: str, target: str) -> None:
        target_env = target.split(":", 1)[0]
        if not self.ctx.writable(target_env):
            self.app.notify(f"{target_env} is read-only.", severity="warning")
            return
        self.plan_promotion(source, target)

    def plan_promotion(self, source: str, target: str) -> None:
        """Open the promotion dialog at once; the plan (what changes, drift) fills it when computed."""
        try:
            src, dst = compare.Ref.parse(source), compare.Ref.parse(target)
            target_env = self.ctx.env(dst.env)
        except E.PrismeError as exc:
            self.app.notify(exc.message, severity="error")
            return
        routes = routing.routes(src.env, dst.env, self.main.repositories.values())
        fields = [
            modals.Field("via", "Promote through:", "select", "archive", routes),
            modals.Field("name", "Version name (through git only):", "version"),
        ]
        summary = [
            f"From: {src}",
            f"To:   {dst}  ({target_env.badge})",
            "A safety snapshot of the target is taken first (U undoes).",
        ]

        def done(values: dict[str, Any] | None) -> None:
            the_plan = self.plans.pop(modal, None)
            if not values or the_plan is None:
                return
            via, repository = routing.parse_via(values.pop("via", None))  # "git:<repository>" or "archive"
            given = {"source": str(src), "target": str(dst), "repository": repository}
            req = forms.request_of(R.PromoteRequest, {"via": via, "accept_drift": False, **values}, **given)
            if req.via == "git" and not req.name:
                self.app.notify("A promotion through git needs a version name.", severity="error")
                return
            self.run_promote(the_plan, req)

        modal = modals.ActionModal(
            title=f"Promote {src} → {dst}",
            env=target_env,
            summary=summary,
            fields=fields,
            confirm_text=self.confirm_text(dst.env, dst.slug, "promote"),
            confirm_label="Promote",
            pending=PENDING,
        )
        self.open_guarded(modal, done, "promote")
        self.start(self._plan(modal, src, dst), "plan")

    async def _plan(self, dialog: Any, source: compare.Ref, target: compare.Ref) -> None:
        try:
            the_plan = await promote.plan(self.ctx, source, target)
        except E.PrismeError as exc:
            self.fill(dialog, [f"Cannot promote: {exc.message}"], blocked=exc.message)
            return
        self.hand(self._planned, dialog, the_plan)  # before the preview: Confirm is off until it is filled
        if the_plan.diff.identical:
            text = f"{target} already matches {source}: nothing to promote."
            self.fill(dialog, [text], blocked=text)
            return
        warnings, fields = [], []
        if the_plan.drift:
            names = compare.drift_names(the_plan.drift)
            warnings.append(
                f"DRIFT: {names} edited on {target.env} since the last import; promoting overwrites it "
                "(tick the box below the preview to accept)."
            )
            accept = "I have reviewed the drift and accept to overwrite it"
            fields.append(modals.Field("accept_drift", accept, "check", False, required=True))
        warnings.extend(f"NOTE: {w}." for w in the_plan.warnings)
        for row in the_plan.parity.missing() if the_plan.parity else []:
            warnings.append(
                f"MISSING on {target.env}: {row.kind} {row.name} (required by {row.declared_in}); "
                "the promotion is refused until it is set there (`prisme-deploy parity`)."
            )
        details = [f"What changes on {target} (current → {source}):", *the_plan.diff.stat_lines()]
        self.fill(dialog, details, warnings, fields)

    def _planned(self, dialog: Any, the_plan: promote.Plan) -> None:
        if dialog in self.app.screen_stack:  # closed meanwhile: nothing will run it
            self.plans[dialog] = the_plan  # what its confirmation runs

    def run_promote(self, the_plan: promote.Plan, req: R.PromoteRequest) -> None:
        target = the_plan.target
        what = f"promote {the_plan.source} → {target} via {req.via}"
        self.runner.run(target.env, f"Promote {target.slug}", self._promote(the_plan, req), what=what, request=req)

    async def _promote(self, the_plan: promote.Plan, req: R.PromoteRequest) -> OperationFinished:
        target = the_plan.target
        outcome = await promote.promote(
            self.ctx,
            the_plan,
            accept_drift=req.accept_drift,
            via=req.via,
            name=req.name,
            repository=req.repository,
            allow_missing=req.allow_missing,
            request=req,
        )
        return OperationFinished(
            target.env,
            f"Promote {target.slug}",
            outcome.ok,
            outcome.message,
            outcome.next_step,
            snapshot=undo_of(outcome),
            target=(target.env, target.slug),
            content_note=outcome.content_note,
        )
