"""The prisme-deploy app: panes for environments, groups, workspaces, versions and the operations log.

State lives here, in message handlers. Workers call the core and post messages; they never touch a
widget. Long-lived operations (bulk push and import streams) run on the App in named worker groups
(``bulk:<env>``, ``op:<env>``), so leaving a view or closing a dialog never cancels them.
"""

from __future__ import annotations

import asyncio
import functools
import gc
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from tui import __version__
from tui.app import messages as M
from tui.app import rails, server_groups, themes, yank
from tui.app.bindings import ACTIONS, MUTATING, bindings
from tui.app.marks import Marks
from tui.app.marks import label as mark_label
from tui.app.widgets.fixed_table import FixedTable
from tui.app.widgets.key_bar import KeyBar
from tui.app.widgets.log_pane import LogPane
from tui.core.api import errors as E
from tui.core.config import Environment  # at run time too: N builds a placeholder environment
from tui.core.ops import health, history
from tui.core.ops.context import Context
from tui.core.secrets import redact
from tui.core.text import one_line, terminal_safe
from tui.lazy import lazy

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tui.app import plans as app_plans
    from tui.app import releases as app_releases
    from tui.app.screens import modals
    from tui.app.screens.matrix import MatrixScreen
    from tui.app.screens.modals import Field
    from tui.app.widgets.filter_box import FilterBox
    from tui.core.api import bulk as api_bulk
    from tui.core.api.bulk import BulkTally
    from tui.core.api.models import Repository, Version, Workspace
    from tui.core.ops import actions, bulk, compare, matrix, promote, rollout, snapshots, sticky
else:
    # What operations need (httpx, YAML, zip and git handling, dialogs) loads when first used: the
    # first frame does not wait for it (bench/: start-up).
    modals, api_bulk = lazy("tui.app.screens.modals"), lazy("tui.core.api.bulk")
    actions, bulk, compare = lazy("tui.core.ops.actions"), lazy("tui.core.ops.bulk"), lazy("tui.core.ops.compare")
    matrix, promote = lazy("tui.core.ops.matrix"), lazy("tui.core.ops.promote")
    snapshots, sticky = lazy("tui.core.ops.snapshots"), lazy("tui.core.ops.sticky")
    app_plans, app_releases = lazy("tui.app.plans"), lazy("tui.app.releases")
    rollout = lazy("tui.core.ops.rollout")

# Screens other than the main one are imported when first opened: start-up pays only for what it shows.
ALL = "__all__"
MAX_ROWS = 400
FIRST_ROWS = 20  # rows added before the frame at least (more if the pane is taller)
ROWS_PER_FRAME = 120
DRAIN_BUDGET = 0.015  # seconds of each 50 ms tick spent drawing bulk events
DRAIN_CHUNK = 100  # events between two looks at the clock
# A stream faster than the drawing waits (TCP holds the rest): a backlog of a whole stream's events was
# what every full GC collection walked, the longest stall at 200,000 events (bench/: ingest).
BULK_BACKLOG = 5_000

WAIT_LOG_EVERY = 10.0  # seconds between two log lines of one rate-limit wait (the op line counts down live)
PENDING = "What changes: computing…"  # a dialog's preview line until the diff arrives
PRUNE_NOTE = ", files the version lacks are removed"


def progress_line(event: Any) -> str:
    """A bulk progress event's log line (from the event alone: the log formats it when drawn)."""
    errors = "; ".join(str(e.get("message") or e.get("msg") or e) for e in event.errors)
    took = event.payload.get("duration")
    return (
        f"[{event.current}/{event.total}] {event.status.upper():9} {event.slug}"
        + (f" {took / 1000:.1f}s" if isinstance(took, (int, float)) else "")
        + (f"  {errors}" if errors else "")
    )


def progress_text(payload: dict[str, Any]) -> str:
    """The log line of a progress event's payload: the log keeps payloads, not events, until drawn
    (20,000 events held as objects made every full collection of the GC walk them: bench/: ingest stall)."""
    return progress_line(api_bulk.BulkEvent("progress", payload))


def summary_counts(event: Any, locked: list[str]) -> str:
    """A bulk summary's counts; workspaces skipped for a write lock are named (no summary id lists them)."""
    p = event.payload
    if event.operation == "push":
        text = (
            f"pushed {len(event.ids('pushedWorkspaceIds'))} · already pushed "
            f"{len(event.ids('alreadyPushedWorkspaceIds'))} · merge conflicts "
            f"{len(event.ids('mergeConflictWorkspaceIds'))} · errors {len(p.get('errors') or [])}"
        )
        if locked:
            text += f" · skipped while locked {len(locked)} ({', '.join(locked)})"
        return text
    return (
        f"created {len(event.ids('createdWorkspaceIds'))} · updated "
        f"{len(event.ids('updatedWorkspaceIds'))} · skipped {len(event.ids('skippedWorkspaceIds'))}"
        f" · errors {len(p.get('errors') or [])}"
    )


def while_open(handler: Callable[..., None]) -> Callable[..., None]:
    """A worker's result can arrive while the app is closing, its screens already gone: drop it then."""

    @functools.wraps(handler)
    def handle(self: PrismeDeployApp, *args: Any) -> None:
        if self.screen_stack:
            handler(self, *args)

    return handle


class MainScreen(Screen[Any]):
    """The panes. Keys typed here are marked so the app can tell, when they reach it (key bindings run
    there), that they were typed for the panes (see ``PrismeDeployApp.on_key``)."""

    def on_key(self, event: events.Key) -> None:
        event.typed_on_main = True  # type: ignore[attr-defined]


class ActionsProvider(Provider):
    """Command palette: every action that is valid right now (hidden ones are not offered)."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, PrismeDeployApp)
        matcher = self.matcher(query)
        for spec in ACTIONS:
            name = spec.action.split("(")[0]
            if app.check_action(name, ()) is False:
                continue
            text = f"{spec.description}: {spec.help}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), lambda a=spec.action: app.run_action(a), help=spec.id)


class PrismeDeployApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses (benchmarks) live elsewhere
    CSS = themes.tier_css()  # tier colours of the colour-blind and high-contrast themes
    TITLE = "prisme-deploy"
    BINDINGS = bindings()  # type: ignore[assignment]  # a list of Binding is what App accepts
    COMMANDS = App.COMMANDS | {ActionsProvider}
    AUTO_FOCUS = "#workspaces"  # focused from the first frame (moving focus later restyles twice)
    # Textual sets these classes on the screen as the terminal resizes (80x24 gets the compact layout).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    def __init__(
        self,
        ctx: Context,
        *,
        initial_env: str | None = None,
        demo_note: str | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.ctx = ctx
        self.demo_note = demo_note
        names = list(ctx.config.environments)
        self.env_name: str | None = initial_env if initial_env in names else (names[0] if names else None)
        self.health: dict[str, health.Health] = {}
        self.workspaces: list[Workspace] = []
        self.repositories: dict[str, Repository] = {}
        self.versions: list[Version] = []
        self.group: str = ALL
        self.filter_text = ""
        self._rows_generation = 0  # bumped by every workspaces render (see _add_workspace_rows)
        self.selected_slug: str | None = None
        self.selected_version: str | None = None
        self.tallies: dict[str, BulkTally] = {}
        self._bulk_pending: deque[tuple[str, Any]] = deque()  # (env, BulkEvent) not drawn yet
        self._bulk_unread = 0  # events relayed (posted or queued) and not drawn yet: relays wait above BULK_BACKLOG
        self.last_undo: dict[str, Any] | None = None
        self._waiting: dict[str, tuple[float, float]] = {}  # env -> (when reported, when last logged)
        # Workers wait for the gateway's rate limits inside the client: they post, the log shows it.
        ctx.on_wait = lambda wait: self.post_message(M.RateWait(wait))
        self.content_notes: dict[tuple[str, str], str] = {}  # (env, slug) -> "content restored from a snapshot…"
        if ctx.config.keymap:
            self.set_keymap(ctx.config.keymap)
        for theme in themes.THEMES:
            self.register_theme(theme)
        self.marks = Marks(self)  # Space: the marked workspaces that push, pull, promote, diff, snapshot act on

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification, from any screen: most carry server text (an error message, a name), so
        never markup (``[@click=app.quit]`` would become an action, ``[/x]`` a crash), and control
        characters made visible."""
        super().notify(terminal_safe(message), title=one_line(title), severity=severity, timeout=timeout, markup=False)

    def on_key(self, event: events.Key) -> None:
        """A key typed on the panes reaches the app after the keys before it have run: when one of them
        opened a dialog (``r`` then the slug, in one burst), the rest were typed for that dialog. They go
        to it, in order; none runs a pane's action."""
        top = self.screen
        if not getattr(event, "typed_on_main", False) or top is self.main:
            return
        event.prevent_default()  # no binding of the app runs for it
        event.stop()
        if hasattr(top, "on_typed_ahead"):
            top.post_message(M.TypedAhead(event.key, event.character))

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static("", id="banner")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield OptionList(id="environments")
                yield OptionList(id="groups")
            with Vertical(id="right"):
                yield FixedTable(id="workspaces", cursor_type="row", zebra_stripes=True)
                yield FixedTable(id="versions", cursor_type="row")
        yield LogPane(id="log-pane", max_lines=int(self.ctx.config.ui.get("log_lines", 20_000)), clock=self.clock)
        yield KeyBar()

    def on_mount(self) -> None:
        themes.apply_configured(self, self.ctx.config.ui.get("theme"))
        self.main.query_one("#environments").border_title = "1 Environments"
        self.main.query_one("#groups").border_title = "2 Groups"
        self.main.query_one("#workspaces").border_title = "3 Workspaces"
        self.main.query_one("#versions").border_title = "4 Versions"
        self.log_pane.set_label("5 Log")
        table = self.main.query_one("#workspaces", DataTable)
        # Fixed widths: no column jitter while rows stream in, and stable screenshots.
        table.add_column("slug", key="slug", width=18)
        table.add_column("state", key="state", width=12)
        table.add_column("live", key="live", width=8)
        table.add_column("name", key="name", width=18)
        table.add_column("labels", key="labels", width=20)
        table.add_column("last push", key="push", width=15)
        table.add_column("last pull", key="pull", width=15)
        versions = self.main.query_one("#versions", DataTable)
        versions.add_column("", key="live", width=1)
        versions.add_column("version", key="name", width=15)
        versions.add_column("date", key="date", width=16)
        versions.add_column("repository", key="repo", width=10)
        versions.add_column("changes", key="changes", width=18)
        versions.add_column("description", key="desc", width=40)
        self._render_envs()
        self.log_pane.add(
            f"prisme-deploy {__version__}: {len(self.ctx.config.environments)} environment(s)"
            + (" [READ-ONLY]" if self.ctx.read_only else "")
        )
        if self.demo_note:
            self.log_pane.add(self.demo_note)
        if not self.env_name:
            self.log_pane.add("No environment configured: add one with `prisme-deploy env add NAME --url URL`.")
        self._apply_env()
        # The first frame is drawn before any request (and before httpx is even imported).
        self.call_after_refresh(self._connect)
        self.set_interval(30, self.refresh_health)
        self.set_interval(0.05, self._drain_bulk)

    def get_default_screen(self) -> Screen[Any]:
        # The tier and breakpoint classes are on the screen from the start: adding them after mount
        # restyled every widget once per class before the first frame (bench/: start-up). Textual
        # still corrects the breakpoints on the first resize if the terminal guessed differently.
        env = self.env
        width, height = self.size
        classes = [f"-tier-{env.tier}"] if env else []
        classes += [next(c for at, c in reversed(self.HORIZONTAL_BREAKPOINTS) if width >= at)]
        classes += [next(c for at, c in reversed(self.VERTICAL_BREAKPOINTS) if height >= at)]
        return MainScreen(id="_default", classes=" ".join(classes))

    def on_ready(self) -> None:
        # The first frame is on screen: from here objects come and go, so collect again; what start-up
        # created stays for the whole session and is frozen out of every later collection.
        gc.freeze()
        gc.enable()

    def _connect(self) -> None:
        self.refresh_health()
        if self.env_name:  # in parallel with the health check: the table never waits on it
            self.load_workspaces(self.env_name)

    @property
    def main(self) -> Screen[Any]:
        """The main screen: handlers update it even while a dialog or the diff is on top."""
        return self.screen_stack[0]

    @property
    def log_pane(self) -> LogPane:
        return self.main.query_one(LogPane)

    @property
    def env(self) -> Environment | None:
        return self.ctx.config.environments.get(self.env_name or "")

    # ------------------------------------------------------------------ rendering
    def _render_envs(self) -> None:
        lst = self.main.query_one("#environments", OptionList)
        highlighted = lst.highlighted
        lst.clear_options()
        for env in self.ctx.config.environments.values():
            state = self.health.get(env.name)
            status = state.label if state else "…"
            marks = " RO" if env.read_only else ""
            # One line per environment even in the 24-column side pane at 80x24.
            lst.add_option(Option(Content(one_line(f"{env.name:9.9} {env.badge:4.4} {status}{marks}")), id=env.name))
        if self.env_name:
            index = list(self.ctx.config.environments).index(self.env_name)
            lst.highlighted = index
        elif highlighted is not None:
            lst.highlighted = highlighted

    def _apply_env(self) -> None:
        env = self.env
        banner = self.main.query_one("#banner", Static)
        for tier in ("development", "staging", "production"):
            self.main.set_class(env is not None and env.tier == tier, f"-tier-{tier}")
        if env is None:
            banner.update(Content(" prisme-deploy: no environment"))
            return
        flags = []
        if env.protected:
            flags.append("PROTECTED")
        if not self.ctx.writable(env.name):
            flags.append("READ-ONLY")
        state = self.health.get(env.name)
        banner.update(
            Content(
                one_line(
                    f" {env.badge} · {env.name} · {env.url}"
                    + (f" · {' '.join(flags)}" if flags else "")
                    + (f" · {state.label}" if state else "")
                )
            )
        )
        self.refresh_bindings()

    def _render_groups(self) -> None:
        lst = self.main.query_one("#groups", OptionList)
        lst.clear_options()
        lst.add_option(Option(Content(f"All workspaces ({len(self.workspaces)})"), id=ALL))
        for name, group in self.ctx.config.groups.items():
            count = sum(1 for w in self.workspaces if set(w.labels) & set(group.labels))
            lst.add_option(Option(Content(one_line(f"{name} ({count})")), id=f"group:{name}"))
        for name in server_groups.server_only(self.ctx.config.groups, self.repositories.values()):
            # From the server: no labels to filter with (add [groups.NAME] labels for that); bulk ops take it.
            lst.add_option(Option(Text(one_line(f"{name} · server"), style="dim"), id=f"srv:{name}", disabled=True))
        if self.repositories:
            lst.add_option(None)
            for repo in self.repositories.values():
                text = one_line(f"⎇ {repo.id} {repo.mode} {repo.branch or repo.type}")  # server text
                lst.add_option(Option(Content(text), id=f"repo:{repo.id}", disabled=True))
        ids = [ALL] + [f"group:{n}" for n in self.ctx.config.groups]
        lst.highlighted = (
            ids.index(self.group if self.group == ALL else f"group:{self.group}")
            if (self.group == ALL or self.group in self.ctx.config.groups)
            else 0
        )

    def visible_workspaces(self) -> list[Workspace]:
        items = self.workspaces
        if self.group != ALL and self.group in self.ctx.config.groups:
            labels = set(self.ctx.config.groups[self.group].labels)
            items = [w for w in items if labels & set(w.labels)]
        needle = self.filter_text.lower().strip()
        if needle:
            invert = needle.startswith("!")
            needle = needle.lstrip("!")
            items = [
                w
                for w in items
                if (
                    needle in w.slug.lower()
                    or needle in w.name.lower()
                    or any(needle in label.lower() for label in w.labels)
                )
                != invert
            ]
        return items

    def _render_workspaces(self) -> None:
        table = self.main.query_one("#workspaces", FixedTable)
        table.clear()
        matching = self.visible_workspaces()
        # DataTable cost grows with rows added: on a platform of thousands, show the first MAX_ROWS
        # matches and say so. The rows that fill the pane go in now, the rest after the frame is
        # painted, a chunk per refresh: a keystroke in the filter is on screen within one frame
        # (bench/: filter keystroke). A newer render drops the chunks of an older one.
        shown_rows = matching[:MAX_ROWS]
        if self.selected_slug and not any(ws.slug == self.selected_slug for ws in shown_rows):
            self._select_workspace(None)  # actions apply only to what is visibly selected
        self._rows_generation += 1
        first = max(table.size.height, FIRST_ROWS)  # what the pane shows now, the rest after the frame
        self._add_workspace_rows(self._rows_generation, shown_rows, first)
        shown = f"{len(shown_rows)}/{len(self.workspaces)}"
        if len(matching) > len(shown_rows):
            shown = f"first {len(shown_rows)} of {len(matching)} matching · / to narrow"
        subtitle = f"{shown} · filter: {self.filter_text}" if self.filter_text else shown
        table.border_subtitle = Content(one_line(subtitle))

    @staticmethod
    def _workspace_row(ws: Workspace) -> tuple[str, ...]:
        state = (["dirty"] if ws.dirty else []) + ([f"locked:{ws.write_lock.reason}"] if ws.write_lock else [])
        return (
            ws.slug,
            " ".join(state) or "clean",
            ws.live_version or "-",
            ws.name,
            ",".join(ws.labels),
            history.stamp(ws.last_push),
            history.stamp(ws.last_pull),
        )

    def _add_workspace_rows(self, generation: int, shown: list[Workspace], count: int) -> None:
        if generation != self._rows_generation:
            return  # the filter changed since: these rows are stale
        table = self.main.query_one("#workspaces", FixedTable)
        start = table.row_count
        chunk = shown[start : start + count]
        for ws in chunk:
            row = self._workspace_row(ws)
            table.add_text_row(mark_label(ws.slug, ws.slug in self.marks), *row[1:], key=ws.slug)
        if self.selected_slug and any(ws.slug == self.selected_slug for ws in chunk):
            table.move_cursor(row=table.get_row_index(self.selected_slug))
        if table.row_count < len(shown):
            self.call_after_refresh(self._add_workspace_rows, generation, shown, ROWS_PER_FRAME)

    def _render_versions(self, ws: Workspace, changes: dict[str, str], why_empty: str = "") -> None:
        table = self.main.query_one("#versions", FixedTable)
        table.clear()
        live = ws.live_version
        for version in self.versions:
            table.add_text_row(
                "*" if version.name == live else "",
                version.name,
                (version.created_at or "")[:16],
                version.source,
                changes.get(version.name, ""),
                version.description,
                key=version.name,
            )
        table.border_title = Content(one_line(f"4 Versions · {ws.slug}"))  # a str title is read as markup
        table.border_subtitle = Content(one_line(self._label_line(ws)))
        if why_empty:
            table.border_subtitle = Content(one_line(why_empty))
            self.log_pane.add(f"{ws.slug}: {why_empty}")

    def _label_line(self, ws: Workspace) -> str:
        """The version label and whether the content is that version, in words."""
        note = self.content_notes.get((self.env_name or "", ws.slug))
        if note:
            return note
        if ws.dirty:
            # The platform marks any content update dirty, a pull included: not proof of an edit (r says).
            return f"* server label {ws.live_version or 'none'} · marked dirty (an edit, or its last pull)"
        return "* live"

    # ------------------------------------------------------------------ workers (never touch widgets)
    @work(group="health", exclusive=True, exit_on_error=False)
    async def refresh_health(self) -> None:
        for name in list(self.ctx.config.environments):
            try:
                client = self.ctx.client(name)
            except E.AuthenticationFailed as exc:
                self.post_message(M.HealthChecked(health.Health(name, True, None, None, message=exc.message)))
                continue
            except E.PrismeError as exc:
                self.post_message(M.HealthChecked(health.Health(name, False, None, None, message=exc.message)))
                continue
            async with client:
                self.post_message(M.HealthChecked(await health.check(name, client)))

    @work(group="workspaces", exclusive=True, exit_on_error=False)
    async def load_workspaces(self, env: str) -> None:
        """Pages as they arrive: the first one is on screen while the rest of a big platform loads."""
        items: list[Workspace] = []
        try:
            async with self.ctx.client(env) as client:
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
            self.post_message(M.ApiFailed(env, "Loading workspaces", exc))
            return
        self.post_message(M.WorkspacesLoaded(env, items, repos))

    @work(group="versions", exclusive=True, exit_on_error=False)
    async def load_versions(self, env: str, slug: str) -> None:
        try:
            found = await history.load(self.ctx, env, slug)
        except E.PrismeError as exc:
            self.post_message(M.ApiFailed(env, f"Loading versions of {slug}", exc))
            return
        self.post_message(M.VersionsLoaded(env, found.workspace, found.versions, found.changes, found.why_empty))

    # ------------------------------------------------------------------ message handlers (own the state)
    @while_open
    def on_health_checked(self, message: M.HealthChecked) -> None:
        previous = self.health.get(message.health.env)
        self.health[message.health.env] = message.health
        self._render_envs()
        if message.health.env == self.env_name:
            self._apply_env()
            if message.health.state == "down" and (previous is None or previous.state != "down"):
                self.log_pane.add(f"{message.health.env} is DOWN: {message.health.message}")
            if message.health.state in ("no-token", "auth"):
                self.post_message(M.NeedToken(message.health.env, message.health.message))
            elif (
                not self.workspaces
                and message.health.state in ("up", "degraded")
                and not any(w.group == "workspaces" for w in self.workers)
            ):
                self.load_workspaces(message.health.env)

    @while_open
    def on_workspaces_loaded(self, message: M.WorkspacesLoaded) -> None:
        if message.env != self.env_name:
            return
        first = not self.workspaces
        self.workspaces = message.workspaces
        self.repositories = message.repositories
        self._render_groups()
        self._render_workspaces()
        if message.partial:
            self.main.query_one("#workspaces").border_subtitle = f"loading… {len(self.workspaces)} so far"
            if not first:
                return
        visible = self.visible_workspaces()
        if visible and not self.selected_slug:
            self.selected_slug = visible[0].slug
        if self.selected_slug and (first or not message.partial):
            self.load_versions(message.env, self.selected_slug)

    @while_open
    def on_versions_loaded(self, message: M.VersionsLoaded) -> None:
        if message.env != self.env_name or message.workspace.slug != self.selected_slug:
            return
        self.versions = message.versions
        self.workspaces = [message.workspace if w.id == message.workspace.id else w for w in self.workspaces]
        self._render_versions(message.workspace, message.changes, message.why_empty)

    @while_open
    def on_api_failed(self, message: M.ApiFailed) -> None:
        error = message.error
        text = str(error) if isinstance(error, E.PrismeError) else f"{type(error).__name__}: {error}"
        text = redact(text, self.ctx.tokens.known_tokens())
        self.log_pane.add(f"FAIL {message.title}: {text}")
        self.notify(text, title=message.title, severity="error", timeout=10)

    @while_open
    def on_need_token(self, message: M.NeedToken) -> None:
        env = self.ctx.config.environments.get(message.env)
        if env is None or isinstance(self.screen, modals.LoginModal) or message.env != self.env_name:
            return

        def done(token: str | None) -> None:
            if token:
                self.verify_token(message.env, token)

        self.push_screen(modals.LoginModal(env, message.reason or "No token is stored for this environment."), done)

    @work(group="secrets", exit_on_error=False)
    async def verify_token(self, env_name: str, token: str) -> None:
        try:
            async with self.ctx.client_with(env_name, token) as client:
                me = await client.me()
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env_name, "Login", False, exc.message))
            return
        saved = await asyncio.to_thread(self.ctx.tokens.save, env_name, token)
        self.post_message(
            M.OperationFinished(env_name, "Login", True, f"Logged in as {me.email or me.id}. {saved.message}")
        )
        self.refresh_health()

    @while_open
    def on_operation_finished(self, message: M.OperationFinished) -> None:
        while self._bulk_pending:  # the stream's last lines first, then the outcome
            self._drain_bulk()
        text = redact(message.message, self.ctx.tokens.known_tokens())
        self.log_pane.add(("OK   " if message.ok else "FAIL ") + f"{message.title}: {text}")
        if message.next_step:
            self.log_pane.add(f"     next: {message.next_step}")
        self.log_pane.summary(f"{message.title}: {text}", ok=message.ok)
        self.log_pane.progress("idle")
        self.notify(
            text,
            title=message.title,
            severity="information" if message.ok else "error",
            timeout=8 if message.ok else 15,
        )
        for failure in self.ctx.audit.take_failures():  # the outcome above stands; the journal missed it
            self.log_pane.add(f"WARN {failure}")
            self.notify(failure, title="Audit entry not written", severity="warning", timeout=15)
        if message.undo:
            self.last_undo = message.undo
        if message.target and message.ok:
            # Our own knowledge of where the content came from, until an operation writes it again.
            if message.content_note:
                self.content_notes[message.target] = message.content_note
            else:
                self.content_notes.pop(message.target, None)
        if message.env == self.env_name:
            self.load_workspaces(message.env)

    @while_open
    def on_log_lines(self, message: M.LogLines) -> None:
        self.log_pane.add(*message.lines)

    @while_open
    def on_rate_wait(self, message: M.RateWait) -> None:
        """Live in the operation line; in the log when the wait starts and every WAIT_LOG_EVERY seconds."""
        wait = message.wait
        now = perf_counter()
        text = f"{wait.env}: {wait.text}" + ("  (x: stop waiting)" if wait.kind == "imports" else "")
        self.log_pane.progress(text)
        _reported, logged = self._waiting.get(wait.env, (0.0, 0.0))
        if wait.first or now - logged >= WAIT_LOG_EVERY:
            self.log_pane.add(text)
            logged = now
        self._waiting[wait.env] = (now, logged)

    def on_bulk_update(self, message: M.BulkUpdate) -> None:
        # Queued here, drawn by _drain_bulk on a timer: a stream can bring thousands of events a second.
        self._bulk_pending.extend((message.env, event) for event in message.events)

    def _drain_bulk(self) -> None:
        """Draw queued bulk events for at most DRAIN_BUDGET seconds: however fast the stream, the
        keyboard and the screen get the rest of every tick (bench/: ingest stall). Progress lines go to
        the log deferred (``progress_line``): text is made only for the lines drawn."""
        if not self._bulk_pending:
            return
        deadline = perf_counter() + DRAIN_BUDGET
        pending, log = self._bulk_pending, self.log_pane
        before = len(pending)
        progress: list[Any] = []
        env = ""
        while pending and perf_counter() < deadline:
            for _ in range(min(DRAIN_CHUNK, len(pending))):
                env, event = pending.popleft()
                tally = self.tallies.get(env)
                if tally is None or event.kind == "started":
                    tally = self.tallies[env] = api_bulk.BulkTally()
                tally.feed(event)
                if event.kind == "progress":
                    progress.append(event.payload)  # a dict of plain values: the GC stops tracking it
                    continue
                if progress:  # keep the order: the progress lines so far, then this one
                    log.add_deferred(progress_text, progress)
                    progress = []
                line = self._bulk_line(self._bulk_title(env, event), event, tally)
                if line:
                    log.add(line)
                if event.kind == "completed":
                    log.summary(line, ok=not event.failed)
        if progress:
            log.add_deferred(progress_text, progress)
        self._bulk_unread -= before - len(pending)  # drawn now
        tally, title = self.tallies[env], self._bulk_title(env, event)
        log.progress(f"{title} {tally.current}/{tally.total}" if tally.total else title, tally.current, tally.total)

    @staticmethod
    def _bulk_title(env: str, event: Any) -> str:
        return f"{env}: bulk {event.operation}" + (f" {event.group}" if event.group else "")

    @staticmethod
    def _bulk_line(title: str, event: Any, tally: BulkTally) -> str:
        if event.kind == "started":
            return f"{title}: started, {len(event.payload.get('workspaces') or [])} workspace(s)"
        if event.kind == "progress":
            return progress_line(event)
        if event.kind in ("notice", "processing"):
            return f"note: {event.message}"
        if event.kind != "completed":
            return ""
        failed = event.failed or bool(tally.locked)
        return f"{title}: {'FAILED' if failed else 'done'}: {summary_counts(event, tally.locked)}"

    # ------------------------------------------------------------------ selection events
    @on(OptionList.OptionHighlighted, "#environments")
    def _env_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name and name != self.env_name:
            self.marks.clear()  # marks belong to one environment
            self.env_name = name
            self.workspaces, self.versions, self.selected_slug = [], [], None
            self.main.query_one("#workspaces", DataTable).clear()
            self.main.query_one("#versions", DataTable).clear()
            self._apply_env()
            state = self.health.get(name)
            if state and state.state in ("no-token", "auth"):
                self.post_message(M.NeedToken(name, state.message))
            else:
                self.load_workspaces(name)

    @on(OptionList.OptionHighlighted, "#groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        option_id = event.option.id or ALL
        if option_id.startswith("repo:"):
            return
        self.group = option_id.split(":", 1)[1] if option_id.startswith("group:") else ALL
        self._render_workspaces()

    @on(DataTable.RowHighlighted, "#workspaces")
    def _workspace_highlighted(self, event: DataTable.RowHighlighted) -> None:
        slug = event.row_key.value if event.row_key else None
        if slug and slug != self.selected_slug and self.env_name:
            self._select_workspace(slug)
            self.load_versions(self.env_name, slug)

    def _select_workspace(self, slug: str | None) -> None:
        """The selection, and what hangs on it (its versions, the version selected), change together."""
        self.selected_slug = slug
        self.selected_version = None
        self.versions = []
        if slug is None:
            versions = self.main.query_one("#versions", FixedTable)
            versions.clear()
            versions.border_title = "4 Versions"
            versions.border_subtitle = ""
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#versions")
    def _version_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected_version = event.row_key.value if event.row_key else None
        self.refresh_bindings()  # rollback is offered only with a version selected: keep the footer true

    @on(DataTable.HeaderSelected, "#workspaces")
    def _sort(self, event: DataTable.HeaderSelected) -> None:
        event.data_table.sort(event.column_key)

    def on_filter_box_edited(self, message: FilterBox.Edited) -> None:
        if message.value != self.filter_text:
            self.filter_text = message.value
            self._render_workspaces()

    def on_filter_box_done(self, message: FilterBox.Done) -> None:
        self.main.query_one("#workspaces").focus()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING:
            if isinstance(self.screen, ModalScreen) or self.env_name is None:
                return False
            if not self.ctx.writable(self.env_name):
                return False  # read-only: absent, not greyed
            if action == "rollback" and not self.selected_version:
                return None
            if action == "undo" and not self.last_undo:
                return None
            if action in ("push", "pull", "unlock", "rollback") and not (self.selected_slug or self.marks):
                return None
        return True

    def action_mark(self) -> None:
        if self.selected_slug and self.focused is self.main.query_one("#workspaces"):
            self.marks.toggle(self.selected_slug)
            self.refresh_bindings()

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
        self.copy_to_clipboard(text)  # OSC 52: reaches the local clipboard over SSH in most terminals
        self.notify(f"Copied {what}: {text}", markup=False)

    def action_focus_pane(self, pane: str) -> None:
        target = {"log": "#log"}.get(pane, f"#{pane}")
        self.main.query_one(target).focus()

    def action_filter(self) -> None:
        for box in self.main.query("#filter"):
            box.display = True
            box.focus()
            return
        from tui.app.widgets.filter_box import FilterBox  # mounted when first wanted, not at start-up

        box = FilterBox(placeholder="filter: slug, name or label (esc clears)", id="filter")
        self.main.query_one("#right").mount(box, before="#workspaces")
        self.call_after_refresh(box.focus)

    def action_clear_filter(self) -> None:
        for box in self.main.query("#filter"):
            box.value = ""  # type: ignore[attr-defined]
            box.display = False
        self.filter_text = ""
        self._render_workspaces()
        self.main.query_one("#workspaces").focus()

    def action_log_follow(self) -> None:
        self.log_pane.set_following(not self.log_pane.following)

    def action_log_max(self) -> None:
        """The log takes the panes' room (the banner and the key bar stay), or gives it back."""
        self.main.toggle_class("-log-max")

    def action_refresh(self) -> None:
        self.refresh_health()
        if self.env_name:
            self.load_workspaces(self.env_name)

    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.ctx.config.keymap))

    def action_login(self) -> None:
        if self.env_name:
            self.post_message(M.NeedToken(self.env_name, "Enter a new token."))

    def action_quit_app(self) -> None:
        if self.ctx.running:
            running = ", ".join(f"{k}: {v}" for k, v in self.ctx.running.items())

            def answer(yes: bool | None) -> None:
                if yes:
                    self.exit(0)

            self.push_screen(
                modals.YesNoModal(
                    "Quit while an operation runs?",
                    f"Running: {running}.\nThe server goes on without you; the log and the "
                    "summary will not be seen. Quit anyway?",
                ),
                answer,
            )
            return
        self.exit(0)

    def _current_ws(self) -> Workspace | None:
        """The selected workspace, only while it is listed: a filter or a group can hide it."""
        if self.selected_slug is None:
            return None
        return next((w for w in self.visible_workspaces() if w.slug == self.selected_slug), None)

    def _writable_repos(self) -> list[Repository]:
        names = set(self.env.repositories) if self.env and self.env.repositories else None
        return [r for r in self.repositories.values() if r.writable and (names is None or r.id in names)]

    def _confirm_text(self, target: str) -> str | None:
        return target if self.env and self.env.protected else None

    def action_push(self) -> None:
        if self.marks:
            return self.marks.start("push")
        ws, env = self._current_ws(), self.env
        if not ws or not env:
            return
        repos = self._writable_repos()
        options = [(f"{r.id} (git {r.branch})", r.id) for r in repos] + [("native snapshot (Prismeai)", "")]
        fields = [
            modals.Field("name", "Version name (≤15 of A-Z a-z 0-9 . _ -):", "version", required=True),
            modals.Field("description", "Description (commit message):", "text", required=True),
            modals.Field("repository", "Repository:", "select", options[0][1], options),
        ]
        summary = [
            f"Push {ws.slug} on {env.name}.",
            f"Labels: {', '.join(ws.labels) or '-'}",
            f"Live version: {ws.live_version or '-'}; dirty: {'yes' if ws.dirty else 'no'}",
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.run_push(env.name, ws.slug, values["name"], values["description"], values["repository"] or None)

        rails.open_guarded(
            self,
            modals.ActionModal(
                title="Push a version",
                env=env,
                summary=summary,
                fields=fields,
                confirm_text=self._confirm_text(ws.slug),
                confirm_label="Push",
                danger=False,
            ),
            done,
            "push",
        )

    def action_pull(self) -> None:
        if self.marks:
            return self.marks.start("pull")
        ws, env = self._current_ws(), self.env
        if not ws or not env:
            return
        readable = [r for r in self.repositories.values() if r.readable]
        options = [(f"{r.id} ({r.mode})", r.id) for r in readable]
        if not options:
            self.notify("No readable platform repository on this environment.", severity="warning")
            return
        fields = [
            modals.Field("repository", "Repository:", "select", options[0][1], options),
            modals.Field("discard", "Discard local changes (unpushed edits are lost)", "check", ws.dirty),
        ]
        warnings: list[str] = []  # whether a dirty workspace has edits to lose comes with the preview

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.run_pull(env.name, ws.slug, "latest", values["repository"], values["discard"], "pull")

        modal = modals.ActionModal(
            title=f"Pull latest into {ws.slug}",
            env=env,
            fields=fields,
            summary=[
                f"Environment: {env.name} ({env.url})",
                f"Workspace: {ws.slug}",
                f"Live version: {ws.live_version or '-'} -> latest",
            ],
            warnings=warnings,
            confirm_text=self._confirm_text(ws.slug),
            confirm_label="Pull",
            pending=PENDING,
        )
        rails.open_guarded(self, modal, done, "pull")
        self.preview_change(
            modal, f"{env.name}:{ws.slug}", f"{env.name}:{ws.slug}@latest", PRUNE_NOTE, dirty=ws.dirty, discard=False
        )

    def action_rollback(self) -> None:
        ws, env = self._current_ws(), self.env
        version = next((v for v in self.versions if v.name == self.selected_version), None)
        if not ws or not env or not version:
            self.notify("Select a version in the history (4) first.", severity="warning")
            return
        live = ws.live_version
        summary = [
            f"Environment:  {env.name} ({env.badge}) {env.url}",
            f"Workspace:    {ws.slug}",
            f"Live version: {live or 'unknown'}" + (" (marked dirty)" if ws.dirty else ""),
            f"Roll back to: {version.name}  ({version.source}, {(version.created_at or '')[:16]})",
            f"Description:  {version.description}",
        ]
        warnings = []  # a dirty workspace's edits to lose: with the preview (the status says which)
        if ws.write_lock:
            warnings.append(f"Locked ({ws.write_lock.reason}): the pull will be refused until it is unlocked.")
        if version.name == live:
            warnings.append("This is already the live version.")

        def done(values: dict[str, Any] | None) -> None:
            if values is not None and values.get("sticky"):
                self.run_sticky_rollback(env.name, ws.slug, version.name, version.repository_id)
            elif values is not None:
                self.run_pull(env.name, ws.slug, version.name, version.repository_id, True, "rollback")

        # Open at once (keys typed meanwhile land here, not on the main screen); the preview follows.
        modal = modals.ActionModal(
            title=f"Roll back {ws.slug}",
            env=env,
            summary=summary,
            warnings=warnings,
            confirm_text=self._confirm_text(ws.slug),
            confirm_label="Roll back",
            pending=PENDING,
        )
        rails.open_guarded(self, modal, done, "rollback")
        self.preview_rollback(modal, env.name, ws.slug, version.name, dirty=ws.dirty)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def preview_rollback(self, dialog: Any, env: str, slug: str, version: str, dirty: bool = False) -> None:
        """The rollback's change, the edits it would lose, and whether the next restart undoes it (then the
        sticky variant is offered)."""
        lines, risk = await asyncio.gather(
            self._change_lines(f"{env}:{slug}", f"{env}:{slug}@{version}", PRUNE_NOTE),
            app_plans.restart_risk(self.ctx, env, slug, version),
        )
        warnings = ([await self._lost_edits(env, slug, discard=True)] if dirty else []) + risk.warnings
        fields = [modals.Field("sticky", app_plans.STICKY_LABEL, "check", False)] if risk.warnings else []
        self.post_message(M.PreviewReady(dialog, lines + risk.details, warnings, fields))

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def preview_change(
        self, dialog: Any, current: str, after: str, note: str = "", dirty: bool = False, discard: bool = True
    ) -> None:
        """What a pull or rollback changes on the workspace: its current state -> what it will be; for a
        dirty workspace, which edits it would lose (none when only the last pull marked it dirty)."""
        lines = await self._change_lines(current, after, note)
        ref = compare.Ref.parse(current)
        warnings = [await self._lost_edits(ref.env, ref.slug, discard=discard)] if dirty else []
        self.post_message(M.PreviewReady(dialog, lines, warnings))

    async def _lost_edits(self, env: str, slug: str, *, discard: bool) -> str:
        """A dirty workspace's edits an import would lose, in words (the platform marks every pull dirty)."""
        try:
            return await compare.lost_edits(self.ctx, env, slug, discard=discard)
        except E.PrismeError as exc:
            return f"DIRTY: which edits would be lost is unknown ({exc.message}); assume they are."

    async def _change_lines(self, current: str, after: str, note: str = "") -> list[str]:
        try:
            result = await compare.compare(self.ctx, compare.Ref.parse(current), compare.Ref.parse(after))
        except E.PrismeError as exc:
            return [f"What changes is unknown: {exc.message}"]
        if result.identical:
            return ["No content change: the workspace already has exactly this content."]
        return [f"What changes on {current} (current → after){note}:", *result.stat_lines()]

    async def on_preview_ready(self, message: M.PreviewReady) -> None:
        if message.dialog not in self.screen_stack:
            return  # closed meanwhile (or the app is closing)
        if message.plan is not None:
            message.dialog.planned["plan"] = message.plan
        await message.dialog.fill(
            message.details, warnings=message.warnings, fields=message.fields, blocked=message.blocked
        )

    def action_unlock(self) -> None:
        ws, env = self._current_ws(), self.env
        if not ws or not env:
            return
        if not ws.write_lock:
            self.notify(f"{ws.slug} is not locked.")
            return
        warnings = [E.hint_for_lock(ws.write_lock.reason)] if ws.write_lock.reason == "merge_conflict" else []

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.run_unlock(env.name, ws.slug)

        rails.open_guarded(
            self,
            modals.ActionModal(
                title=f"Unlock {ws.slug}",
                env=env,
                warnings=warnings,
                summary=[f"Lock: {ws.write_lock.reason} by {ws.write_lock.locked_by} since {ws.write_lock.locked_at}"],
                confirm_text=self._confirm_text(ws.slug),
                confirm_label="Unlock",
            ),
            done,
            "unlock",
        )

    def _group_options(self) -> list[tuple[Any, str]]:
        return server_groups.options(self.ctx.config.groups, self.repositories.values())

    def action_bulk_push(self) -> None:
        env = self.env
        if not env:
            return
        repos = self._writable_repos()
        if not repos:
            self.notify(f"No writable platform repository on {env.name}.", severity="warning")
            return
        fields = [
            modals.Field("repository", "Repository:", "select", repos[0].id, [(r.id, r.id) for r in repos]),
            modals.Field("groups", "Groups (space to select):", "multi", [], self._group_options(), required=True),
            modals.Field("name", "Version name (optional, ≤15 chars):", "version"),
            modals.Field("description", "Description:", "text"),
            modals.Field("dry_run", "Dry run (only categorise)", "check", False),
            modals.Field("force", "Force (also push clean workspaces)", "check", False),
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.run_bulk_push(env.name, values)

        rails.open_guarded(
            self,
            modals.ActionModal(
                title="Bulk push",
                env=env,
                fields=fields,
                summary=[
                    f"Push every dirty workspace of the chosen groups on {env.name} to the "
                    "repository, one after another."
                ],
                confirm_text=self._confirm_text(env.name),
                confirm_label="Bulk push",
            ),
            done,
            "bulk push",
        )

    def action_bulk_import(self) -> None:
        env = self.env
        if not env:
            return
        repos = [r for r in self.repositories.values() if r.readable]
        if not repos:
            self.notify(f"No readable platform repository on {env.name}.", severity="warning")
            return
        fields = [
            modals.Field("repository", "Repository:", "select", repos[0].id, [(r.id, r.id) for r in repos]),
            modals.Field(
                "groups", "Groups, imported in this order:", "multi", [], self._group_options(), required=True
            ),
            modals.Field("force", "Force re-import (even when already at that version)", "check", False),
            modals.Field("continue", "Continue after a group with errors", "check", False),
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values:
                self.confirm_bulk_import(env, values)

        rails.open_guarded(
            self,
            modals.ActionModal(
                title="Bulk import",
                env=env,
                fields=fields,
                summary=[
                    f"Import into {env.name}, one group at a time; local edits of every "
                    "imported workspace are overwritten. The plan is shown before anything runs."
                ],
                confirm_label="Plan…",
                danger=False,
            ),
            done,
            "bulk import",
        )

    def confirm_bulk_import(self, env: Environment, values: dict[str, Any]) -> None:
        """The chosen import's plan (as `plan bulk-import`), computed after the dialog opened; confirm runs it."""

        def done(answer: dict[str, Any] | None) -> None:
            if answer is not None:
                self.run_bulk_import(env.name, values)

        modal = modals.ActionModal(
            title=f"Bulk import into {env.name}: plan",
            env=env,
            summary=[
                f"Repository {values['repository']} → {env.name}, groups in order: {', '.join(values['groups'])}",
                "Every imported workspace's local edits are discarded (discardLocalChanges).",
            ],
            confirm_text=env.name if env.protected else None,
            confirm_label="Bulk import",
            pending="Plan: computing…",
        )
        self.push_screen(modal, done)
        self._bulk_plan_worker(modal, env.name, values)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _bulk_plan_worker(self, dialog: Any, env: str, values: dict[str, Any]) -> None:
        found = await app_plans.bulk_import(
            self.ctx, env, values["repository"], list(values["groups"]), bool(values.get("force"))
        )
        self.post_message(M.PreviewReady(dialog, found.details, found.warnings, blocked=found.blocked))

    # -- diff, drift, promotion, undo --------------------------------------------------------------
    def _pair_for(self, env: str, slug: str) -> tuple[str, str] | None:
        for pair in self.ctx.config.promotions:
            if pair.target == f"{env}:{slug}" or pair.source == f"{env}:{slug}":
                return pair.source, pair.target
        return None

    def _neighbours(self, slug: str) -> tuple[str, str] | None:
        """(source, target) refs around the current env: its promotion pair, else previous -> current
        (or current -> next on the first environment)."""
        if not self.env_name:
            return None
        pair = self._pair_for(self.env_name, slug)
        if pair:
            return pair
        names = list(self.ctx.config.environments)
        index = names.index(self.env_name)
        if len(names) < 2:
            return None
        if index == 0:
            return f"{names[0]}:{slug}", f"{names[1]}:{slug}"
        return f"{names[index - 1]}:{slug}", f"{self.env_name}:{slug}"

    def action_diff(self) -> None:
        if self.marks and not (self.focused is not None and self.focused.id == "versions"):
            return self.marks.start("diff")
        if not self.env_name or not self.selected_slug:
            return
        focused = self.focused
        if focused is not None and focused.id == "versions" and self.selected_version:
            self.open_diff(
                f"{self.env_name}:{self.selected_slug}@{self.selected_version}", f"{self.env_name}:{self.selected_slug}"
            )
            return
        refs = self._neighbours(self.selected_slug)
        if refs is None:
            self.notify("Configure a second environment (or a [[promotions]] pair) to compare with.")
            return
        self.open_diff(*refs)

    @work(group="diff", exclusive=True, exit_on_error=False)
    async def open_diff(self, old: str, new: str) -> None:
        self.post_message(M.LogLines([f"diff {old} → {new}…"]))
        try:
            result = await compare.compare(self.ctx, compare.Ref.parse(old), compare.Ref.parse(new))
        except E.PrismeError as exc:
            self.post_message(M.ApiFailed(self.env_name or "", f"Diff {old} → {new}", exc))
            return
        self.post_message(M.DiffReady(f"Diff  {old}  →  {new}", result))

    @while_open
    def on_diff_ready(self, message: M.DiffReady) -> None:
        stat = message.diff.stat()
        self.log_pane.add(f"{message.title}: {stat['files']} file(s), +{stat['insertions']} -{stat['deletions']}")
        from tui.app.screens.diff import DiffScreen

        self.push_screen(DiffScreen(message.title, message.diff))

    def action_matrix(self) -> None:
        labels = self.ctx.config.groups[self.group].labels if self.group in self.ctx.config.groups else None
        self.build_matrix(self.group if labels else "all workspaces", labels)

    @work(group="matrix", exclusive=True, exit_on_error=False)
    async def build_matrix(self, title: str, labels: tuple[str, ...] | None) -> None:
        self.post_message(M.LogLines([f"drift matrix of {title}: exporting every workspace of every environment…"]))
        result = await matrix.build(self.ctx, list(self.ctx.config.environments), labels)
        self.post_message(M.MatrixReady(f"Drift matrix · {title}", result))

    @while_open
    def on_matrix_ready(self, message: M.MatrixReady) -> None:
        from tui.app.screens.matrix import MatrixScreen

        self.push_screen(MatrixScreen(message.title, message.matrix))

    def on_matrix_screen_diff_requested(self, message: MatrixScreen.DiffRequested) -> None:
        self.open_diff(message.source, message.target)

    def on_matrix_screen_parity_requested(self, message: MatrixScreen.ParityRequested) -> None:
        self.build_parity(message.envs, message.slugs)

    @work(group="parity", exclusive=True, exit_on_error=False)
    async def build_parity(self, envs: list[str], slugs: list[str]) -> None:
        from tui.app.screens.parity import ParityReady
        from tui.core.ops import parity_matrix

        title = self.group if self.group in self.ctx.config.groups else "all workspaces"
        self.post_message(M.LogLines([f"parity matrix of {title}: secret and config names, never values…"]))
        result = await parity_matrix.build(self.ctx, envs, slugs)
        self.post_message(ParityReady(f"Secrets/config parity · {title}", result))

    @while_open
    def on_parity_ready(self, message: Any) -> None:
        from tui.app.screens.parity import ParityScreen

        self.push_screen(ParityScreen(message.title, message.matrix))

    def on_matrix_screen_promote_requested(self, message: MatrixScreen.PromoteRequested) -> None:
        target_env = message.target.split(":", 1)[0]
        if not self.ctx.writable(target_env):
            self.notify(f"{target_env} is read-only.", severity="warning")
            return
        self.plan_promotion(message.source, message.target)

    def action_promote(self) -> None:
        if self.marks:
            return self.marks.start("promote")
        if not self.selected_slug:
            return
        refs = self._neighbours(self.selected_slug)
        if refs is None:
            self.notify("Nothing to promote from: configure another environment or a [[promotions]] pair.")
            return
        self.plan_promotion(*refs)

    def plan_promotion(self, source: str, target: str) -> None:
        """Open the promotion dialog at once; the plan (what changes, drift) fills it when computed."""
        try:
            src, dst = compare.Ref.parse(source), compare.Ref.parse(target)
            target_env = self.ctx.env(dst.env)
        except E.PrismeError as exc:
            self.notify(exc.message, severity="error")
            return
        routes = [("archive (export, import with prune)", "archive")] + [
            (f"git: push on {src.env}, pull on {dst.env} via {repo.id}", f"git:{repo.id}")
            for repo in self.repositories.values()
            if repo.readable and repo.type == "git"
        ]
        fields = [
            modals.Field("via", "Promote through:", "select", "archive", routes),
            modals.Field("name", "Version name (through git only):", "version"),
        ]
        summary = [
            f"From: {src}",
            f"To:   {dst}  ({target_env.badge})",
            "A safety snapshot of the target is taken first (U undoes).",
        ]
        planned: dict[str, promote.Plan] = {}

        def done(values: dict[str, Any] | None) -> None:
            the_plan = planned.get("plan")
            if not values or the_plan is None:
                return
            via, _, repository = str(values.get("via") or "archive").partition(":")
            if via == "git" and not values.get("name"):
                self.notify("A promotion through git needs a version name.", severity="error")
                return
            self.run_promote(the_plan, bool(values.get("accept_drift")), via, values.get("name"), repository or None)

        modal = modals.ActionModal(
            title=f"Promote {src} → {dst}",
            env=target_env,
            summary=summary,
            fields=fields,
            confirm_text=dst.slug if target_env.protected else None,
            confirm_label="Promote",
            pending=PENDING,
        )
        modal.planned = planned  # type: ignore[attr-defined]  # filled by on_preview_ready
        rails.open_guarded(self, modal, done, "promote")
        self._plan_worker(modal, src, dst)

    @work(group="plan", exclusive=True, exit_on_error=False)
    async def _plan_worker(self, dialog: Any, source: compare.Ref, target: compare.Ref) -> None:
        try:
            the_plan = await promote.plan(self.ctx, source, target)
        except E.PrismeError as exc:
            self.post_message(M.PreviewReady(dialog, [f"Cannot promote: {exc.message}"], blocked=exc.message))
            return
        if the_plan.diff.identical:
            text = f"{target} already matches {source}: nothing to promote."
            self.post_message(M.PreviewReady(dialog, [text], blocked=text, plan=the_plan))
            return
        warnings, fields = [], []
        if the_plan.drift:
            names = ", ".join(f"{c.get('type')}/{c.get('slug')}" for c in the_plan.drift)
            warnings.append(
                f"DRIFT: {names} edited on {target.env} since the last import; promoting overwrites it "
                "(tick the box below the preview to accept)."
            )
            accept = "I have reviewed the drift and accept to overwrite it"
            fields.append(modals.Field("accept_drift", accept, "check", False, required=True))
        for row in the_plan.parity.missing() if the_plan.parity else []:
            warnings.append(
                f"MISSING on {target.env}: {row.kind} {row.name} (required by {row.declared_in}); "
                "the promotion is refused until it is set there (`prisme-deploy parity`)."
            )
        details = [f"What changes on {target} (current → {source}):", *the_plan.diff.stat_lines()]
        self.post_message(M.PreviewReady(dialog, details, warnings, fields, plan=the_plan))

    def run_promote(
        self,
        the_plan: promote.Plan,
        accept_drift: bool,
        via: str = "archive",
        name: str | None = None,
        repository: str | None = None,
    ) -> None:
        if self._guard(the_plan.target.env, f"promote {the_plan.source} → {the_plan.target} via {via}"):
            self._promote_worker(the_plan, accept_drift, via, name, repository)

    @work(group="op", exit_on_error=False)
    async def _promote_worker(
        self, the_plan: promote.Plan, accept_drift: bool, via: str, name: str | None, repository: str | None
    ) -> None:
        title = f"Promote {the_plan.target.slug}"
        try:
            outcome = await promote.promote(
                self.ctx, the_plan, accept_drift=accept_drift, via=via, name=name, repository=repository
            )
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(the_plan.target.env, title, False, str(exc), exc.hint))
            return
        self.post_message(
            M.OperationFinished(
                the_plan.target.env,
                title,
                outcome.ok,
                outcome.message,
                outcome.next_step,
                undo=self._undo_of(outcome),
                target=(the_plan.target.env, the_plan.target.slug),
                content_note=outcome.content_note,
            )
        )

    @staticmethod
    def _undo_of(outcome: actions.Outcome) -> dict[str, Any] | None:
        return {"snapshot": outcome.snapshot_id} if outcome.snapshot_id else None

    def action_undo(self) -> None:
        if not self.last_undo:
            return
        self._confirm_restore(self.last_undo["snapshot"])

    def _confirm_restore(self, snapshot_id: str) -> None:
        store = snapshots.SnapshotStore.for_context(self.ctx)
        try:
            snap = store.get(snapshot_id)
        except E.PrismeError as exc:
            self.notify(exc.message, severity="error")
            return
        env = self.ctx.env(snap.env)
        if not self.ctx.writable(env.name):
            self.notify(f"{env.name} is read-only.", severity="warning")
            return

        def done(values: dict[str, Any] | None) -> None:
            if values is not None and self._guard(env.name, f"restore {snap.slug}"):
                self._restore_worker(snap.env, snap.id, snap.slug)

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
            confirm_text=snap.slug if env.protected else None,
            confirm_label="Restore",
            pending=PENDING,
        )
        rails.open_guarded(self, modal, done, "restore")
        self.preview_restore(modal, snap)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def preview_restore(self, dialog: Any, snap: snapshots.Snapshot) -> None:
        current = compare.Ref(snap.env, snap.slug)
        try:
            archive = await asyncio.to_thread(snap.archive.read_bytes)
            result = await compare.to_archive(self.ctx, current, archive, f"snapshot {snap.time[:19]}")
        except (E.PrismeError, OSError) as exc:
            self.post_message(M.PreviewReady(dialog, [f"What changes is unknown: {exc}"]))
            return
        if result.identical:
            lines = ["No content change: the workspace already has the snapshot's content."]
        else:
            lines = [f"What changes on {current} (current → snapshot):", *result.stat_lines()]
        self.post_message(M.PreviewReady(dialog, lines))

    @work(group="op", exit_on_error=False)
    async def _restore_worker(self, env: str, snapshot_id: str, slug: str) -> None:
        try:
            outcome = await actions.restore(self.ctx, snapshot_id)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, f"Restore {slug}", False, str(exc)))
            return
        self.post_message(
            M.OperationFinished(
                env,
                f"Restore {slug}",
                outcome.ok,
                outcome.message,
                outcome.next_step,
                undo=self._undo_of(outcome),
                target=(env, slug),
                content_note=outcome.content_note,
            )
        )

    def action_snapshots(self) -> None:
        if self.marks:
            return self.marks.start("snapshot")
        from tui.app.screens.activity import TableScreen

        store = snapshots.SnapshotStore.for_context(self.ctx)
        snaps = store.list(self.env_name)
        rows = [[s.id, s.slug, s.time[:19], s.live_version or "", s.action, f"{s.size // 1024} KiB"] for s in snaps]

        def chosen(snapshot_id: str | None) -> None:
            if snapshot_id:
                self._confirm_restore(snapshot_id)

        self.push_screen(
            TableScreen(
                f"Snapshots · {self.env_name}  (enter restores)",
                ["id", "workspace", "time", "live", "before", "size"],
                rows,
                note="\n".join([str(store.root), *store.warnings]),  # unreadable entries: skipped, said
                selectable=True,
            ),
            chosen,
        )

    # -- environments in the configuration ------------------------------------------------------
    def _env_fields(self, env: Environment | None) -> list[Field]:
        tiers = [(t, t) for t in ("development", "staging", "production")]
        fields = [] if env else [modals.Field("name", "Name (letters, digits, . _ -):", "text", required=True)]
        return [
            *fields,
            modals.Field("url", "API URL (https://api.example.com):", "text", env.url if env else "", required=True),
            modals.Field("tier", "Tier:", "select", env.tier if env else "development", tiers),
            modals.Field(
                "protected",
                "Protected: type the name to confirm destructive actions",
                "check",
                env.protected if env else False,
            ),
            modals.Field(
                "read_only", "Read-only: hide every mutating action", "check", env.read_only if env else False
            ),
            modals.Field("verify_tls", "Verify TLS certificates", "check", env.verify_tls if env else True),
        ]

    def action_edit_env(self) -> None:
        env = self.env
        if env is None:
            return
        self.push_screen(
            modals.ActionModal(
                title=f"Edit environment {env.name}",
                env=env,
                fields=self._env_fields(env),
                summary=[f"Saved to {self._config_path()} (comments are kept)."],
                confirm_label="Save",
                danger=False,
            ),
            lambda values: self._save_env(env.name, values) if values else None,
        )

    def action_add_env(self) -> None:
        placeholder = Environment(name="new", url="https://")
        self.push_screen(
            modals.ActionModal(
                title="Add an environment",
                env=placeholder,
                fields=self._env_fields(None),
                summary=[f"Saved to {self._config_path()}; then log in with ctrl+l."],
                confirm_label="Add",
                danger=False,
            ),
            lambda values: self._save_env(str(values.pop("name")), values) if values else None,
        )

    def action_remove_env(self) -> None:
        env = self.env
        if env is None:
            return

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self._change_config(lambda editor: editor.remove_environment(env.name), env.name, "remove")

        self.push_screen(
            modals.ActionModal(
                title=f"Remove environment {env.name}",
                env=env,
                summary=[
                    f"Removes [environments.{env.name}] from {self._config_path()}.",
                    "Its token stays in the keyring (prisme-deploy logout removes it).",
                ],
                confirm_text=env.name,
                confirm_label="Remove",
            ),
            done,
        )

    def _config_path(self) -> Path:
        from tui.core import paths

        return self.ctx.config.path or paths.config_path()

    def _save_env(self, name: str, values: dict[str, Any]) -> None:
        self._change_config(lambda editor: editor.set_environment(name, values), name, "save")

    def _change_config(self, change: Callable[[Any], None], name: str, what: str) -> None:
        from tui.core import config as cfg

        try:
            with cfg.ConfigEditor.locked(self._config_path()) as editor:  # another writer waits
                change(editor)
                new = editor.save()  # validated before anything touches the disk
        except E.PrismeError as exc:
            self.notify(str(exc), title="Configuration not changed", severity="error", timeout=15)
            return
        with self.ctx.audit.record("config", name, details={"change": what, "file": str(self._config_path())}):
            pass
        new.path = self._config_path()
        self.ctx.config = new
        if self.env_name not in new.environments:
            self.env_name = next(iter(new.environments), None)
            self.workspaces = []
        self.log_pane.add(f"configuration: {what} {name} ({self._config_path()})")
        self._render_envs()
        self._apply_env()
        self.refresh_health()  # "test connection": /v2/me and readiness, shown in the environments pane

    def action_stop_watching(self) -> None:
        if not self.env_name:
            return
        self._stop_waiting(self.env_name)
        stopped = [w for w in self.workers if w.group == f"bulk:{self.env_name}" and w.is_running]
        for worker in stopped:
            worker.cancel()
        if stopped:
            self.ctx.running.pop(self.env_name, None)
            self.log_pane.add(
                f"{self.env_name}: stopped watching the bulk operation; the server goes on. "
                "Its result will be in the platform activity (A)."
            )

    def _stop_waiting(self, env: str) -> None:
        """x while an operation waits out a rate limit: cancel it (a held-back request is never sent)."""
        reported, _logged = self._waiting.pop(env, (0.0, 0.0))
        if perf_counter() - reported > 2.0:
            return
        waiting = [w for w in self.workers if w.group == "op" and w.is_running]
        for worker in waiting:
            worker.cancel()
        if waiting:
            self.ctx.running.pop(env, None)
            self.log_pane.progress("idle")
            self.log_pane.add(
                f"{env}: stopped waiting for the rate limit; the held-back request was not sent "
                "(anything sent before goes on on the server: check the activity, a)."
            )

    def action_activity(self) -> None:
        if self.env_name and self.selected_slug:
            self.show_events(self.env_name, self.selected_slug)

    def action_platform_activity(self) -> None:
        if self.env_name:
            self.show_events(self.env_name, "platform")

    def action_audit(self) -> None:
        from tui.app.screens.activity import TableScreen
        from tui.core.audit import AUDIT_COLUMNS, audit_row

        rows = [audit_row(e) for e in self.ctx.audit.read(limit=500)]
        self.push_screen(
            TableScreen(
                "Audit journal",
                AUDIT_COLUMNS,
                rows,
                note=str(self.ctx.audit.path),
            )
        )

    @work(group="events", exclusive=True, exit_on_error=False)
    async def show_events(self, env: str, slug: str) -> None:
        from tui.app.screens.activity import TableScreen, describe

        try:
            async with self.ctx.client(env) as client:
                workspace_id = "platform" if slug == "platform" else (await client.find_workspace(slug)).id
                events = await client.events(workspace_id, limit=200)
        except E.PrismeError as exc:
            self.post_message(M.ApiFailed(env, f"Activity of {slug}", exc))
            return
        # What matters first (80 columns): when, what, the details (errors, failing workspace), then who.
        rows = [
            [
                e.created_at[5:19].replace("T", " "),
                e.type.removeprefix("workspaces."),
                describe(e.type, e.payload),
                str(e.source.get("userId") or ""),
            ]
            for e in events
        ]
        self.push_screen(TableScreen(f"Activity · {env} · {slug}", ["time", "event", "details", "by"], rows))

    # ------------------------------------------------------------------ operation workers (on the App)
    def _guard(self, env: str, what: str) -> bool:
        if env in self.ctx.running:
            self.notify(
                f"{env} is already running {self.ctx.running[env]}; wait for it to finish.",
                title="Busy",
                severity="warning",
            )
            return False
        try:
            self.ctx.check_rails(env, what)  # freeze windows (issue 17): refused before anything starts
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, what, False, str(exc)))
            return False
        self.log_pane.progress(f"{env}: {what}…")
        self.log_pane.add(f"{env}: {what}…")
        return True

    def run_push(self, env: str, slug: str, name: str, description: str, repository: str | None) -> None:
        if self._guard(env, f"push {slug} as {name}"):
            self._push_worker(env, slug, name, description, repository)

    @work(group="op", exit_on_error=False)
    async def _push_worker(self, env: str, slug: str, name: str, description: str, repository: str | None) -> None:
        try:
            outcome = await actions.push(self.ctx, env, slug, name=name, description=description, repository=repository)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, f"Push {slug}", False, str(exc)))
            return
        self.post_message(M.LogLines([f"  {s}" for s in outcome.steps]))
        self.post_message(
            M.OperationFinished(env, f"Push {slug}", outcome.ok, outcome.message, outcome.next_step, target=(env, slug))
        )

    def run_pull(self, env: str, slug: str, version: str, repository: str | None, discard: bool, action: str) -> None:
        if self._guard(env, f"{action} {slug} to {version}"):
            self._pull_worker(env, slug, version, repository, discard, action)

    @work(group="op", exit_on_error=False)
    async def _pull_worker(
        self, env: str, slug: str, version: str, repository: str | None, discard: bool, action: str
    ) -> None:
        title = f"{action.capitalize()} {slug}"
        try:
            outcome = await actions.pull(
                self.ctx,
                env,
                slug,
                version=version,
                repository=repository,
                discard_local_changes=discard,
                action=action,
                on_step=lambda step: self.post_message(M.LogLines([f"  {step}"])),  # live, as they happen
            )
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, title, False, str(exc), exc.hint))
            return
        if outcome.snapshot_id:
            self.post_message(M.LogLines([f"  snapshot {outcome.snapshot_id} taken before; press U to undo"]))
        if action == "rollback" and outcome.ok:  # as the CLI says: will the next restart undo it?
            risk = await app_plans.restart_risk(self.ctx, env, slug, version)
            self.post_message(M.LogLines([f"  {line}" for line in risk.warnings + risk.details]))
        self.post_message(self._finished(env, slug, title, outcome))

    def run_sticky_rollback(self, env: str, slug: str, version: str, repository: str | None) -> None:
        if self._guard(env, f"sticky rollback of {slug} to {version}'s content"):
            self._sticky_worker(env, slug, version, repository)

    @work(group="op", exit_on_error=False)
    async def _sticky_worker(self, env: str, slug: str, version: str, repository: str | None) -> None:
        title = f"Sticky rollback {slug}"
        try:
            outcome, risk = await sticky.sticky_rollback(self.ctx, env, slug, version, repository=repository)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, title, False, str(exc), exc.hint))
            return
        self.post_message(M.LogLines([f"  {s}" for s in outcome.steps] + [f"  after a restart: {risk.message}"]))
        self.post_message(self._finished(env, slug, title, outcome))

    def _finished(self, env: str, slug: str, title: str, outcome: Any) -> M.OperationFinished:
        """A single-workspace operation's outcome, with its undo point."""
        return M.OperationFinished(
            env, title, outcome.ok, outcome.message, outcome.next_step, undo=self._undo_of(outcome), target=(env, slug)
        )

    # -- releases and rollouts (issue 16; what they compute lives in tui.app.releases) ----------------
    def action_releases(self) -> None:
        self.build_releases()

    @work(group="releases", exclusive=True, exit_on_error=False)
    async def build_releases(self) -> None:
        try:
            columns, rows = await app_releases.matrix(self.ctx)
        except E.PrismeError as exc:
            self.post_message(M.ReleasesReady([], [], exc.message))
            return
        self.post_message(M.ReleasesReady(columns, rows))

    def on_releases_ready(self, message: M.ReleasesReady) -> None:
        from tui.app.screens.activity import TableScreen

        if message.error is not None:
            self.notify(message.error, title="Releases", severity="error")
            return

        def chosen(name: str | None) -> None:
            if name and name != "(nothing)":
                self.choose_rollout(name)

        note = "deployed; drifted (edited since); partial n/m; -: absent. Enter rolls the release out."
        if not message.rows:
            note = "No release recorded yet: prisme-deploy release snapshot --env ENV --name NAME."
        self.push_screen(TableScreen("Releases", message.columns, message.rows, note, selectable=True), chosen)

    def choose_rollout(self, name: str) -> None:
        envs = app_releases.environments(self.ctx)
        if not envs:
            self.notify("No [[rollout]] stages are configured.", severity="warning")
            return
        fields = [modals.Field("groups", "Groups, in order:", "multi", [], self._group_options(), required=True)]
        summary = [f"Roll release {name} out to {' → '.join(envs)}, stopping at the first failed gate."]
        env = self.ctx.env(envs[0])
        modal = modals.ActionModal(
            title=f"Roll out {name}", env=env, summary=summary, fields=fields, confirm_label="Plan…", danger=False
        )
        self.push_screen(modal, lambda values: self.confirm_rollout(name, values["groups"]) if values else None)

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
        rails.open_guarded(
            self, modal, lambda values: self.run_rollout(name, groups) if values is not None else None, "rollout"
        )
        self._rollout_plan_worker(modal, name, groups)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _rollout_plan_worker(self, dialog: Any, name: str, groups: list[str]) -> None:
        try:
            details, warnings = await app_releases.rollout_plans(self.ctx, name, groups)
        except E.PrismeError as exc:
            self.post_message(M.PreviewReady(dialog, [f"Cannot roll out: {exc.message}"], blocked=exc.message))
            return
        self.post_message(M.PreviewReady(dialog, details, warnings))

    def run_rollout(self, name: str, groups: list[str]) -> None:
        first = app_releases.environments(self.ctx)[0]
        if self._guard(first, f"rollout of {name}"):
            self._rollout_worker(name, groups)

    @work(group="op", exit_on_error=False)
    async def _rollout_worker(self, name: str, groups: list[str]) -> None:
        async def confirmed(env: str, the_plan: Any) -> bool:
            return True  # the release name typed in the plan dialog confirmed every protected environment

        def step(found: dict[str, Any]) -> None:
            self.post_message(M.LogLines([app_releases.step_line(found)]))

        title, where = f"Rollout {name}", app_releases.environments(self.ctx)[0]
        try:
            state = await rollout.run(self.ctx, name, groups=groups, confirm=confirmed, notify=step)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(where, title, False, str(exc), exc.hint))
            return
        if state.failed:
            failed = state.failed
            text = f"stopped at {failed.get('env')}, gate {failed.get('gate')}: {failed.get('message')}"
            self.post_message(M.OperationFinished(str(failed.get("env")), title, False, text))
            if state.changed:
                self.post_message(M.RolloutStopped(name, failed, list(state.changed)))
            return
        self.post_message(M.OperationFinished(where, title, True, f"{state.status}: {', '.join(state.done)}"))

    def on_rollout_stopped(self, message: M.RolloutStopped) -> None:
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
        rails.open_guarded(
            self,
            modal,
            lambda values: self.run_rollout_rollback(message.release) if values is not None else None,
            "rollback of a rollout",
        )

    def run_rollout_rollback(self, name: str) -> None:
        self._rollout_rollback_worker(name)

    @work(group="op", exit_on_error=False)
    async def _rollout_rollback_worker(self, name: str) -> None:
        def step(found: dict[str, Any]) -> None:
            self.post_message(M.LogLines([app_releases.step_line(found)]))

        title = f"Roll back rollout {name}"
        try:
            state, outcomes = await rollout.rollback(self.ctx, name, notify=step)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished("", title, False, str(exc), exc.hint))
            return
        ok = all(o.ok for o in outcomes)
        where = state.changed[-1] if state.changed else ""
        self.post_message(M.OperationFinished(where, title, ok, f"{state.status}: {len(outcomes)} pull(s)"))

    def run_unlock(self, env: str, slug: str) -> None:
        if self._guard(env, f"unlock {slug}"):
            self._unlock_worker(env, slug)

    @work(group="op", exit_on_error=False)
    async def _unlock_worker(self, env: str, slug: str) -> None:
        try:
            outcome = await actions.unlock(self.ctx, env, slug)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, f"Unlock {slug}", False, str(exc)))
            return
        self.post_message(M.OperationFinished(env, f"Unlock {slug}", outcome.ok, outcome.message))

    def run_bulk_push(self, env: str, values: dict[str, Any]) -> None:
        if self._guard(env, f"bulk push {', '.join(values['groups'])}"):
            self.run_worker(self._bulk_push(env, values), group=f"bulk:{env}", exit_on_error=False)

    async def relay_bulk(self, env: str, events: AsyncIterator[Any]) -> None:
        """Post a bulk stream to the app one message per burst, not one per event.

        The events one network read brings arrive without the worker yielding; the flush scheduled with
        call_soon runs only once it does, so each burst travels as one message. Textual's dispatch of
        one message per event was most of the stall at 50,000 events (bench/: ingest).
        """
        burst: list[Any] = []

        def flush() -> None:
            if burst:
                self._bulk_unread += len(burst)
                self.post_message(M.BulkUpdate(env, burst.copy()))
                burst.clear()

        loop = asyncio.get_running_loop()
        try:
            async for event in events:
                if not burst:
                    while self._bulk_unread > BULK_BACKLOG:  # the drawing is behind: let it catch up
                        await asyncio.sleep(0.02)
                    loop.call_soon(flush)
                burst.append(event)
        finally:
            flush()  # the last burst goes before whatever the caller posts next (the outcome)

    async def _bulk_push(self, env: str, values: dict[str, Any]) -> None:
        run = bulk.BulkRun(env, "bulk-push")
        try:
            stream = bulk.bulk_push(
                self.ctx,
                env,
                repository=values["repository"],
                groups=values["groups"],
                name=values.get("name") or None,
                description=values.get("description") or None,
                dry_run=values.get("dry_run", False),
                force=values.get("force", False),
                run=run,
            )
            await self.relay_bulk(env, stream)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, "Bulk push", False, str(exc)))
            return
        self._bulk_done(env, "Bulk push", run)

    def run_bulk_import(self, env: str, values: dict[str, Any]) -> None:
        if self._guard(env, f"bulk import {', '.join(values['groups'])}"):
            self.run_worker(self._bulk_import(env, values), group=f"bulk:{env}", exit_on_error=False)

    async def _bulk_import(self, env: str, values: dict[str, Any]) -> None:
        run = bulk.BulkRun(env, "bulk-import")
        try:
            stream = bulk.bulk_import(
                self.ctx,
                env,
                repository=values["repository"],
                groups=values["groups"],
                force_reimport=values.get("force", False),
                continue_on_error=values.get("continue", False),
                run=run,
            )
            await self.relay_bulk(env, stream)
        except E.PrismeError as exc:
            self.post_message(M.OperationFinished(env, "Bulk import", False, str(exc)))
            return
        self._bulk_done(env, "Bulk import", run)

    def _bulk_done(self, env: str, title: str, run: bulk.BulkRun) -> None:
        # The outcome line replaces the stream's summary in the status line: it keeps the counts.
        counts = "; ".join((f"{s.group}: " if s.group else "") + summary_counts(s, run.locked) for s in run.summaries)
        if run.stopped_at:
            message = f"stopped at group {run.stopped_at}: it has errors. {counts}"
        elif run.failed:
            message = f"finished with errors, merge conflicts or locked workspaces: {counts}"
        else:
            message = f"finished: {counts}"
        for notice in run.notices:
            self.post_message(M.LogLines([f"note: {notice}"]))
        self.post_message(M.OperationFinished(env, title, not run.failed, message))
