"""The main screen: the five panes, focus and selection; it owns the main keys and what enables them.

State is here, in message handlers: the environment shown, its workspaces and repositories, the group,
the filter, the selected workspace and version. Panes draw themselves from the views this screen sets
(attributes down); their highlights come back as messages (messages up). The loaders run as this
screen's workers and post to it: a result that arrives once the screen is gone is dropped with it.
Operations are the controllers' (``app.operations``, ``app.bulk``...): the actions here only start them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList

from tui import __version__
from tui.app import actions, layout, yank
from tui.app import messages as M
from tui.app.controllers.marks import Marks
from tui.app.panes.banner import Banner, BannerView
from tui.app.panes.environments import EnvironmentList, EnvironmentsView
from tui.app.panes.groups import ALL, GroupList, GroupsView
from tui.app.panes.versions import VersionsView, VersionTable
from tui.app.panes.workspaces import WorkspacesView, WorkspaceTable
from tui.app.widgets.log_pane import LogPane
from tui.app.widgets.virtual_table import VirtualTable
from tui.core import errors as E
from tui.core.ops import confirm, enablement, history, routing
from tui.core.ops.filter import WorkspaceIndex, group_labels, writable_repos

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.app.runner import OperationFinished
    from tui.core.api.models import Repository, Version, Workspace
    from tui.core.config import Environment
    from tui.core.ops.health import Health

APP_ACTIONS = ("help", "quit_app")  # bound on the App: every screen keeps them (the diff's key bar shows ?)


def while_mounted(handler: Callable[..., None]) -> Callable[..., None]:
    """A loader's result can arrive while the app is closing, the panes already gone: drop it then."""

    @functools.wraps(handler)
    def handle(self: MainScreen, *args: Any) -> None:
        if self.is_attached and self.is_mounted:
            handler(self, *args)

    return handle


class MainScreen(Screen[Any]):
    SCOPE = "main"  # its actions in the one table (help, palette)
    BINDINGS = [b for b in actions.main_bindings() if b.action not in APP_ACTIONS]
    AUTO_FOCUS = layout.AUTO_FOCUS

    def __init__(self, initial_env: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        names = list(self.host.ctx.config.environments)
        self.env_name: str | None = initial_env if initial_env in names else (names[0] if names else None)
        self.health: dict[str, Health] = {}
        self.index = WorkspaceIndex([])  # the workspaces, ready to filter on every keystroke
        self.repositories: dict[str, Repository] = {}
        self.versions: list[Version] = []
        self.group: str = ALL
        self.filter_text = ""
        self.selected_slug: str | None = None
        self.selected_version: str | None = None
        self.marked_version: str | None = None  # space in the history: d then diffs it against another version
        self.at_risk: dict[str, set[str]] = {}  # env -> rolled back workspaces a restart would undo (banner)
        self.content_notes: dict[tuple[str, str], str] = {}  # (env, slug) -> "content restored from a snapshot…"
        self.marks = Marks(self.host)  # Space: the marked workspaces that push, pull, promote, diff, snapshot act on

    @property
    def host(self) -> PrismeDeployApp:
        return cast("PrismeDeployApp", self.app)

    @property
    def workspaces(self) -> list[Workspace]:
        return self.index.workspaces

    @workspaces.setter
    def workspaces(self, items: list[Workspace]) -> None:
        self.index = WorkspaceIndex(items)

    @property
    def env(self) -> Environment | None:
        return self.host.ctx.config.environments.get(self.env_name or "")

    @property
    def log_pane(self) -> LogPane:
        return self.query_one(LogPane)

    def compose(self) -> ComposeResult:
        log_lines = int(self.host.ctx.config.ui.get("log_lines", 20_000))
        yield from layout.compose_main(log_lines=log_lines, clock=self.host.clock)

    def on_mount(self) -> None:
        ctx = self.host.ctx
        self.query_one(EnvironmentList).border_title = "1 Environments"
        self.query_one(GroupList).border_title = "2 Groups"
        self.log_pane.set_label("5 Log")
        self.show_environments()
        self.log_pane.add(
            f"prisme-deploy {__version__}: {len(ctx.config.environments)} environment(s)"
            + (" [READ-ONLY]" if ctx.read_only else "")
        )
        if self.host.demo_note:
            self.log_pane.add(self.host.demo_note)
        if not self.env_name:
            self.log_pane.add(
                "No environment configured: add one with `prisme-deploy env add NAME --url URL`, "
                "or try `prisme-deploy demo` (local instances, no account needed)."
            )
        self.show_env()

    def on_key(self, event: events.Key) -> None:
        # Marked so the app can tell, when the key reaches it (bindings run there), that it was typed for
        # the panes (see ``PrismeDeployApp.on_key``).
        event.typed_on_main = True  # type: ignore[attr-defined]
        self._say_if_refused(event.key)

    def _say_if_refused(self, key: str) -> None:
        """A mutating key on a read-only session or environment is absent from the key bar; pressed anyway,
        it says why instead of doing nothing."""
        if self.focused is not None and self.focused.id == "filter":
            return  # typed into the filter
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or key not in binding.key.split(","):
                continue
            if binding.action in actions.MUTATING and self.action_state(binding.action) is False:
                env = self.env_name or ""
                why = "--read-only" if self.host.ctx.read_only else f"{env} is read-only"
                self.notify(f"{binding.description} is off: {why}.", severity="warning", timeout=3)
            return

    # ------------------------------------------------------------------ views (attributes down)
    def show_environments(self) -> None:
        envs = tuple(self.host.ctx.config.environments.values())
        self.query_one(EnvironmentList).view = EnvironmentsView(envs, self.env_name, dict(self.health))

    def show_env(self) -> None:
        """The banner and the tier colours of the environment shown."""
        env = self.env
        for tier in ("development", "staging", "production"):
            self.set_class(env is not None and env.tier == tier, f"-tier-{tier}")
        writable = env is not None and self.host.ctx.writable(env.name)
        health = self.health.get(env.name) if env else None
        frozen = env is not None and bool(env.freeze) and confirm.frozen_until(env) is not None
        at_risk = tuple(sorted(self.at_risk.get(env.name, ()))) if env else ()
        self.query_one(Banner).view = BannerView(env, writable, health, frozen, at_risk)
        self.refresh_bindings()

    def show_groups(self, ws: Workspace | None = None) -> None:
        """``ws``: the selected workspace, read in full (its own repositories are listed under the platform's)."""
        own = ws.own_repositories if ws else None
        view = GroupsView(
            self.host.ctx.config.groups, self.workspaces, self.repositories, self.group, own, ws.slug if ws else ""
        )
        self.query_one(GroupList).view = view

    def show_workspaces(self) -> None:
        matching = self.visible_workspaces()
        table = self.query_one(WorkspaceTable)
        table.view = WorkspacesView(
            matching,
            len(self.workspaces),
            self.filter_text,
            self.marks,
            self.selected_slug,
            self.contents(),
            self.host.clock(),
        )
        if self.selected_slug and table.cursor_key != self.selected_slug:
            self.select_workspace(None)  # actions apply only to what is visibly selected

    def show_versions(self, ws: Workspace, changes: dict[str, str], why_empty: str = "") -> None:
        self.query_one(VersionTable).view = VersionsView(
            ws,
            self.versions,
            self.label_line(ws),
            changes,
            why_empty,
            self.selected_version,
            content_of=self.contents().get(ws.slug),
            now=self.host.clock(),
            clock=lambda: self.host.clock(),  # read at each draw: the ages move on (the host's clock may change)
        )
        if why_empty:
            self.log_pane.add(f"{ws.slug}: {why_empty}")

    def contents(self) -> dict[str, str]:
        """Slug -> "content of X" for the workspaces whose content is not their label's version (an archive
        promotion, a restore): the table and the history say that instead of naming the old label."""
        env = self.env_name or ""
        return {slug: history.content_label(note) for (e, slug), note in self.content_notes.items() if e == env}

    def label_line(self, ws: Workspace) -> str:
        """The version label and whether the content is that version, in words."""
        note = self.content_notes.get((self.env_name or "", ws.slug))
        if note:
            return f"~ {note}"
        if ws.dirty:
            # The platform marks any content update dirty, a pull included: not proof of an edit (r says).
            return f"* server label {ws.live_version or 'none'} · marked dirty (an edit, or its last pull)"
        return "* live"

    # ------------------------------------------------------------------ what is selected
    def visible_workspaces(self) -> list[Workspace]:
        return self.index.select(self.filter_text, group_labels(self.host.ctx.config, self.group))

    def current_ws(self) -> Workspace | None:
        """The selected workspace, only while it is listed: a filter or a group can hide it."""
        if self.selected_slug is None:
            return None
        return next((w for w in self.visible_workspaces() if w.slug == self.selected_slug), None)

    def current_version(self) -> Version | None:
        return next((v for v in self.versions if v.name == self.selected_version), None)

    def repositories_of(self, ws: Workspace | None) -> dict[str, Repository]:
        """The platform's repositories and the workspace's own (its ``repositories`` field)."""
        return {**self.repositories, **(ws.own_repositories if ws else {})}

    def writable_repos(self, ws: Workspace | None = None) -> list[Repository]:
        return writable_repos(self.env, self.repositories_of(ws).values())

    def neighbours(self, slug: str) -> tuple[str, str] | None:
        """(source, target) refs to compare or promote ``slug`` between, around the environment shown."""
        return routing.neighbours(self.host.ctx.config, self.env_name, slug)

    def select_workspace(self, slug: str | None) -> None:
        """The selection, and what hangs on it (its versions, the version selected), change together."""
        self.selected_slug = slug
        self.selected_version = None
        self.marked_version = None
        self.query_one(VersionTable).marked = None
        self.versions = []
        if slug is None:
            self.query_one(VersionTable).view = None
        self.refresh_bindings()

    def switch_env(self, name: str | None) -> None:
        """Show another environment (or, after a configuration change, the first one left)."""
        self.marks.clear()  # marks belong to one environment
        self.env_name = name
        self.workspaces, self.versions, self.selected_slug, self.selected_version = [], [], None, None
        self.marked_version = self.query_one(VersionTable).marked = None
        self.query_one(WorkspaceTable).clear()
        self.query_one(VersionTable).view = None
        self.show_env()

    # ------------------------------------------------------------------ loaders (this screen's workers)
    @work(group="workspaces", exclusive=True, exit_on_error=False)
    async def load_workspaces(self, env: str) -> None:
        """Pages as they arrive: the first one is on screen while the rest of a big platform loads."""
        items: list[Workspace] = []
        ctx = self.host.ctx
        try:
            async with ctx.client(env) as client:
                repos = await client.platform_repositories()
                pages = 0
                async for page in client.iter_workspace_pages():
                    items.extend(page)
                    pages += 1
                    if pages == 1 or pages % 10 == 0:
                        self.post_message(M.WorkspacesLoaded(env, list(items), repos, partial=True))
        except E.AuthenticationFailed as exc:
            self.post_message(M.NeedToken(env, exc.message))
            return
        except E.PrismeError as exc:
            self.host.runner.fail("Loading workspaces", exc)
            return
        self.post_message(M.WorkspacesLoaded(env, items, repos))

    @work(group="versions", exclusive=True, exit_on_error=False)
    async def load_versions(self, env: str, slug: str) -> None:
        try:
            found = await history.load(self.host.ctx, env, slug)
        except E.PrismeError as exc:
            self.host.runner.fail(f"Loading versions of {slug}", exc)
            return
        if found.events_note:
            self.host.runner.say(f"{slug}: {found.events_note}")
        self.post_message(M.VersionsLoaded(env, found.workspace, found.versions, found.changes, found.why_empty))

    def reload(self) -> None:
        if self.env_name:
            self.load_workspaces(self.env_name)

    def on_filter_box_done(self) -> None:
        self.query_one("#workspaces").focus()  # Enter in the filter: back to the table

    # ------------------------------------------------------------------ results (messages up)
    @while_mounted
    def on_health(self, state: Health) -> None:
        previous = self.health.get(state.env)
        self.health[state.env] = state
        self.show_environments()
        if state.env != self.env_name:
            return
        self.show_env()
        if state.state == "down" and (previous is None or previous.state != "down"):
            self.log_pane.add(f"{state.env} is DOWN: {state.message}")
        if state.needs_login:
            self.post_message(M.NeedToken(state.env, state.message))
        elif (
            not self.workspaces
            and state.state in ("up", "degraded")
            and not any(w.group == "workspaces" for w in self.workers)
        ):
            self.load_workspaces(state.env)

    @while_mounted
    def on_workspaces_loaded(self, message: M.WorkspacesLoaded) -> None:
        if message.env != self.env_name:
            return
        first = not self.workspaces
        self.workspaces = message.workspaces
        self.repositories = message.repositories
        self.show_groups()
        self.show_workspaces()
        if message.partial:
            self.query_one(WorkspaceTable).show_loading(len(self.workspaces))
            if not first:
                return
        visible = self.visible_workspaces()
        if visible and not self.selected_slug:
            self.selected_slug = visible[0].slug
        if self.selected_slug and (first or not message.partial):
            self.load_versions(message.env, self.selected_slug)

    @while_mounted
    def on_versions_loaded(self, message: M.VersionsLoaded) -> None:
        if message.env != self.env_name or message.workspace.slug != self.selected_slug:
            return
        self.versions = message.versions
        self.index.replace(message.workspace)  # what the panes and the dialogs read from now on
        self.show_versions(message.workspace, message.changes, message.why_empty)
        shown = self.query_one(GroupList).view
        if message.workspace.own_repositories or (shown is not None and shown.own):
            self.show_groups(message.workspace)  # its own repositories, or none any more

    def operation_done(self, message: OperationFinished) -> None:
        """Our own knowledge of where the content came from, until an operation writes it again; then reload."""
        if message.target and message.ok and message.at_risk is not None:
            env, slug = message.target
            (self.at_risk.setdefault(env, set()).add if message.at_risk else self.at_risk.get(env, set()).discard)(slug)
            self.show_env()
        if message.target and message.ok:
            if message.content_note:
                self.content_notes[message.target] = message.content_note
            else:
                self.content_notes.pop(message.target, None)
        if message.env == self.env_name:
            self.load_workspaces(message.env)

    # ------------------------------------------------------------------ selection events
    @on(OptionList.OptionHighlighted, "#environments")
    def _env_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name and name != self.env_name:
            self.switch_env(name)
            state = self.health.get(name)
            if state and state.needs_login:
                self.post_message(M.NeedToken(name, state.message))
            else:
                self.load_workspaces(name)

    @on(OptionList.OptionHighlighted, "#groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        option_id = event.option.id or ALL
        if option_id.startswith("repo:"):
            return
        self.group = option_id.split(":", 1)[1] if option_id.startswith("group:") else ALL
        self.show_workspaces()

    @on(VirtualTable.Highlighted, "#workspaces")
    def _workspace_highlighted(self, event: VirtualTable.Highlighted) -> None:
        slug = event.key
        if slug != event.table.cursor_key:
            return  # posted for rows a later keystroke has already replaced: that row is no longer shown
        if slug and slug != self.selected_slug and self.env_name:
            self.select_workspace(slug)
            self.load_versions(self.env_name, slug)

    @on(VirtualTable.Highlighted, "#versions")
    def _version_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.key != event.table.cursor_key:
            return  # a stale highlight: the rows it was posted for are gone
        self.selected_version = event.key
        self.refresh_bindings()  # rollback is offered only with a version selected: keep the footer true

    @on(VirtualTable.HeaderClicked, "#workspaces")
    def _sort(self, event: VirtualTable.HeaderClicked) -> None:
        event.table.sort(event.column.key)

    def filter_edited(self, value: str) -> None:
        if value != self.filter_text:
            self.filter_text = value
            self.show_workspaces()

    # ------------------------------------------------------------------ the main keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Under a dialog the key bar behind it offers nothing mutating; the palette (a modal too) is not one.
        top = self.app.screen
        return self.action_state(action, dialog=isinstance(top, ModalScreen) and not isinstance(top, CommandPalette))

    def action_state(self, action: str, *, dialog: bool = False) -> bool | None:
        """Whether ``action`` runs now (True), is dimmed (None) or absent (False); the palette asks with
        ``dialog=False``: it is itself a dialog, opened over this screen."""
        now = enablement.Situation(
            env=self.env_name,
            writable=self.env_name is not None and self.host.ctx.writable(self.env_name),
            workspace=self.selected_slug is not None,
            marked=bool(self.marks),
            version=self.selected_version is not None,
            undo=self.host.last_undo is not None,
            dialog=dialog,
        )
        return enablement.enabled(action, action in actions.MUTATING, now)

    def action_mark(self) -> None:
        if self.selected_slug and self.focused is self.query_one(WorkspaceTable):
            self.marks.toggle(self.selected_slug)
            self.refresh_bindings()
        elif self.selected_version and self.focused is self.query_one(VersionTable):
            marked = None if self.marked_version == self.selected_version else self.selected_version
            self.marked_version = marked
            table = self.query_one(VersionTable)
            table.marked = marked
            table.refresh_rows()
            if marked:
                self.notify(f"Marked {marked}: highlight another version and press d to diff the two.", timeout=3)

    def action_clear_marks(self) -> None:
        self.marks.clear()
        self.refresh_bindings()

    def action_yank(self) -> None:
        group = None if self.group == ALL else self.group
        found = yank.target(
            self.focused, slug=self.selected_slug, version=self.selected_version, env=self.env_name, group=group
        )
        if found is None:
            self.notify("Nothing selected to copy.", severity="warning")
            return
        what, text = found
        self.app.copy_to_clipboard(text)  # OSC 52: reaches the local clipboard over SSH in most terminals
        self.notify(f"Copied {what}: {text}", markup=False)

    def action_focus_pane(self, pane: str) -> None:
        self.query_one({"log": "#log"}.get(pane, f"#{pane}")).focus()

    def action_filter(self) -> None:
        for box in self.query("#filter"):
            box.display = True
            box.focus()
            return
        from tui.app.widgets.filter_box import FilterBox  # mounted when first wanted, not at start-up

        box = FilterBox(placeholder="filter: slug, name or label (esc clears)", id="filter")
        self.query_one("#right").mount(box, before="#workspaces")
        self.call_after_refresh(box.focus)

    def action_clear_filter(self) -> None:
        for box in self.query("#filter"):
            box.value = ""  # type: ignore[attr-defined]
            box.display = False
        self.filter_text = ""
        self.show_workspaces()
        self.query_one(WorkspaceTable).focus()

    def action_log_follow(self) -> None:
        self.log_pane.set_following(not self.log_pane.following)

    def action_log_max(self) -> None:
        """The log takes the panes' room (the banner and the key bar stay), or gives it back."""
        self.toggle_class("-log-max")

    def action_refresh(self) -> None:
        # A refresh re-reads the instances: what this process remembers of them goes too.
        self.host.ctx.forget_instances()
        self.host.refresh_health()
        self.reload()

    def action_login(self) -> None:
        if self.env_name:
            self.post_message(M.NeedToken(self.env_name, "Enter a new token."))

    # Each of these starts a controller (loaded on first use): the dialog, its preview and its worker are there.
    def action_push(self) -> None:
        self.host.operations.push()

    def action_pull(self) -> None:
        self.host.operations.pull()

    def action_rollback(self) -> None:
        self.host.operations.rollback()

    def action_unlock(self) -> None:
        self.host.operations.unlock()

    def action_undo(self) -> None:
        self.host.operations.undo()

    def action_snapshots(self) -> None:
        self.host.operations.show_snapshots()

    def action_snapshot(self) -> None:
        self.host.operations.snapshot()

    def action_bulk_push(self) -> None:
        self.host.bulk.push()

    def action_bulk_import(self) -> None:
        self.host.bulk.import_()

    def action_stop_watching(self) -> None:
        self.host.bulk.stop_watching()

    def action_diff(self) -> None:
        self.host.promotion.diff()

    def action_promote(self) -> None:
        self.host.promotion.promote_selected()

    def action_matrix(self) -> None:
        self.host.promotion.drift_matrix()

    def action_activity(self) -> None:
        self.host.activity.workspace()

    def action_platform_activity(self) -> None:
        self.host.activity.platform()

    def action_audit(self) -> None:
        self.host.activity.audit()

    def action_pending_plans(self) -> None:
        self.host.plans.pending()

    def action_releases(self) -> None:
        self.host.releases.releases()

    def action_edit_env(self) -> None:
        self.host.environments.edit()

    def action_add_env(self) -> None:
        self.host.environments.add()

    def action_remove_env(self) -> None:
        self.host.environments.remove()
