"""The prisme-deploy app: the context, the keymap, the palette, the health timer and one OperationRunner.

The panes, focus and selection are the MainScreen's (``main_screen.py``); each feature's dialogs and
workers are a controller's (``controllers/``), made on first use. Workers never touch widgets: they hand
their result to whoever asked (``hand``: the dialog, screen, pane or runner), which runs it on the message
loop, in order. Messages remain for what a widget posts upward (a filter edit, a token asked for, the drift
matrix's requests): the few handlers here. Long-lived operations run on the App (worker groups ``op`` and
``bulk:<env>``), so leaving a view or closing a dialog never cancels them.
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.app import actions as app_actions
from tui.app import layout, themes
from tui.app import messages as M
from tui.app.main_screen import APP_ACTIONS, MainScreen
from tui.app.palette import ActionPalette
from tui.app.runner import OperationRunner
from tui.core.ops import health
from tui.core.ops.context import Context
from tui.core.secrets import redact
from tui.core.text import one_line, terminal_safe

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tui.app.controllers.activity import Activity
    from tui.app.controllers.bulk import Bulk
    from tui.app.controllers.environments import Environments
    from tui.app.controllers.operations import Operations
    from tui.app.controllers.plans import Plans
    from tui.app.controllers.promotion import Promotion
    from tui.app.controllers.releases import Releases
    from tui.app.screens.matrix import MatrixScreen
    from tui.app.widgets.filter_box import FilterBox
    from tui.app.widgets.log_pane import LogPane
    from tui.core.config import Environment


TOAST_S, TOAST_ALERT_S = 3.0, 6.0  # seconds a notification stays: information, warning or error


class PrismeDeployApp(App[int]):
    CSS_PATH = layout.CSS_PATH
    CSS = themes.tier_css()  # tier colours of the colour-blind and high-contrast themes
    TITLE = "prisme-deploy"
    BINDINGS = [b for b in app_actions.main_bindings() if b.action in APP_ACTIONS]  # the rest: MainScreen's
    COMMANDS = App.COMMANDS | {ActionPalette}
    AUTO_FOCUS = layout.AUTO_FOCUS
    HORIZONTAL_BREAKPOINTS = layout.HORIZONTAL_BREAKPOINTS  # the compact layout at 80x24 (tui/app/layout.py)
    VERTICAL_BREAKPOINTS = layout.VERTICAL_BREAKPOINTS

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
        self.initial_env = initial_env
        self.last_undo: str | None = None  # the safety snapshot U restores
        self.runner = OperationRunner(self)
        # Workers wait for the gateway's rate limits inside the client: the runner shows it in the log.
        ctx.on_wait = lambda wait: self.hand(self.runner.rate_wait, wait)
        # A failed notification is said, from its sender thread, and never fails the operation.
        ctx.notifier.on_failure = lambda text: self.hand(lambda: self.notify(text, severity="warning"))
        if ctx.config.keymap:
            self.set_keymap(ctx.config.keymap)
        for theme in themes.THEMES:
            self.register_theme(theme)

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
        # Short: a few seconds (the log keeps every line); 15-20 s covered the fields of the dialog after.
        most = TOAST_S if severity == "information" else TOAST_ALERT_S
        short = min(timeout or most, most)
        super().notify(terminal_safe(message), title=one_line(title), severity=severity, timeout=short, markup=False)

    def on_key(self, event: events.Key) -> None:
        """A key typed on the panes reaches the app after the keys before it have run: when one of them
        opened a dialog (``r`` then the slug, in one burst), the rest were typed for that dialog. They go
        to it, in order; none runs a pane's action."""
        if not getattr(event, "typed_on_main", False) or not self.screen_stack:
            return  # not typed ahead, or the app is closing: a key still queued then goes nowhere
        top = self.screen
        if top is self.main:
            return
        event.prevent_default()  # no binding runs for it
        event.stop()
        if hasattr(top, "on_typed_ahead"):
            top.post_message(M.TypedAhead(event.key, event.character))

    # ------------------------------------------------------------------ results: handed to their owner
    def hand(self, receiver: Callable[..., Any], *args: Any) -> None:
        """A worker's result to whoever asked for it (a dialog's ``fill``, a controller's ``ready``, the
        runner's ``finished``): run on the message loop after everything posted before it, never inside
        the worker (workers never touch widgets). ``receiver`` may be async."""
        self.call_later(self.deliver, receiver, *args)

    async def deliver(self, receiver: Callable[..., Any], *args: Any) -> None:
        if not self.screen_stack:
            return  # arrived while the app closes, its screens already gone: dropped
        result = receiver(*args)
        if inspect.isawaitable(result):
            await result

    # ------------------------------------------------------------------ the screen and the session
    def get_default_screen(self) -> Screen[Any]:
        # The tier and breakpoint classes are on the screen from the start: adding them after mount
        # restyled every widget once per class before the first frame (bench/: start-up). Textual
        # still corrects the breakpoints on the first resize if the terminal guessed differently.
        # update=False: mounting styles the screen anyway; styling it here as well cost a pass.
        screen = MainScreen(self.initial_env, id="_default")
        env = screen.env
        screen.add_class(*layout.screen_classes(env.tier if env else None, *self.size), update=False)
        return screen

    def on_mount(self) -> None:
        themes.apply_configured(self, self.ctx.config.ui.get("theme"))
        # Subscribed after the configured theme is applied: only a theme the user picks is written back.
        self.theme_changed_signal.subscribe(self, lambda theme: themes.remember(self, self.ctx.config.path, theme.name))
        # The first frame is drawn before any request (and before httpx is even imported).
        self.call_after_refresh(self._connect)
        self.set_interval(30, self.refresh_health)
        self.set_interval(0.05, self.runner.drain)

    def on_ready(self) -> None:
        # The first frame is on screen: from here objects come and go, so collect again; what start-up
        # created stays for the whole session and is frozen out of every later collection.
        gc.freeze()
        gc.enable()

    def _connect(self) -> None:
        self.refresh_health()
        self.main.reload()  # in parallel with the health check: the table never waits on it

    @property
    def main(self) -> MainScreen:
        """The main screen: handlers update it even while a dialog or the diff is on top."""
        return self.screen_stack[0]  # type: ignore[return-value]

    @property
    def log_pane(self) -> LogPane:
        return self.main.log_pane

    @property
    def env(self) -> Environment | None:
        return self.main.env

    # ------------------------------------------------------------------ controllers, made on first use
    @cached_property
    def operations(self) -> Operations:
        from tui.app.controllers.operations import Operations

        return Operations(self)

    @cached_property
    def bulk(self) -> Bulk:
        from tui.app.controllers.bulk import Bulk

        return Bulk(self)

    @cached_property
    def promotion(self) -> Promotion:
        from tui.app.controllers.promotion import Promotion

        return Promotion(self)

    @cached_property
    def environments(self) -> Environments:
        from tui.app.controllers.environments import Environments

        return Environments(self)

    @cached_property
    def activity(self) -> Activity:
        from tui.app.controllers.activity import Activity

        return Activity(self)

    @cached_property
    def releases(self) -> Releases:
        from tui.app.controllers.releases import Releases

        return Releases(self)

    @cached_property
    def plans(self) -> Plans:
        from tui.app.controllers.plans import Plans

        return Plans(self)

    # ------------------------------------------------------------------ health (the app's timer)
    @work(group="health", exclusive=True, exit_on_error=False)
    async def refresh_health(self) -> None:
        for name in list(self.ctx.config.environments):  # one after another: each shows as it is known
            found = await health.check_env(self.ctx, name)
            self.hand(lambda found=found: self.main.on_health(found))

    # ------------------------------------------------------------------ what widgets post upward
    def on_need_token(self, message: M.NeedToken) -> None:
        self.environments.need_token(message)

    def on_matrix_screen_diff_requested(self, message: MatrixScreen.DiffRequested) -> None:
        self.promotion.open_diff(message.source, message.target)

    def on_matrix_screen_parity_requested(self, message: MatrixScreen.ParityRequested) -> None:
        self.promotion.parity(message.envs, message.slugs)

    def on_matrix_screen_promote_requested(self, message: MatrixScreen.PromoteRequested) -> None:
        self.promotion.promote_from_matrix(message.source, message.target)

    def on_filter_box_edited(self, message: FilterBox.Edited) -> None:
        self.main.filter_edited(message.value)  # posted to the app: box and table in one frame

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The fallback for an error no one caught (a bug, not the platform's refusal): said in the log and
        a notification, the busy state cleared; the runner's operations never get here."""
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None or not self.screen_stack:
            return
        error, what = worker.error, worker.group or worker.name  # "diff", "preview", "health"…
        text = redact(f"{type(error).__name__}: {error}", self.ctx.tokens.known_tokens())
        self.log_pane.add(f"FAIL {what}: {text}")
        self.log_pane.progress("idle")
        self.notify(text, title=f"{what} failed", severity="error", timeout=15)

    # ------------------------------------------------------------------ the keys of every screen
    def action_help(self) -> None:
        from tui.app.screens.help import open_help

        open_help(self.screen)  # that screen's keys (the diff's inside the diff)

    def action_quit_app(self) -> None:
        if not self.ctx.running:
            self.exit(0)
            return
        from tui.app.screens import modals

        running = ", ".join(f"{k}: {v}" for k, v in self.ctx.running.items())
        question = modals.YesNoModal(
            "Quit while an operation runs?",
            f"Running: {running}.\nThe server goes on without you; the log and the "
            "summary will not be seen. Quit anyway?",
        )
        self.push_screen(question, lambda yes: self.exit(0) if yes else None)
