"""Controllers: one per feature, each owning its dialogs' forms and the workers it starts.

A controller is plain Python, made by the App on first use (start-up loads none of them). Its workers are
App workers (they outlive dialogs and views); each hands its result to whoever asked (``hand``: the dialog
it fills, the controller's own ``ready``, the runner's log), on the message loop, never through the App.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.worker import Worker

    from tui.app.app import PrismeDeployApp
    from tui.app.main_screen import MainScreen
    from tui.app.runner import OperationRunner
    from tui.app.screens.modals import ActionModal
    from tui.core.ops.context import Context


class Controller:
    def __init__(self, app: PrismeDeployApp) -> None:
        self.app = app

    @property
    def ctx(self) -> Context:
        return self.app.ctx

    @property
    def main(self) -> MainScreen:
        return self.app.main

    @property
    def runner(self) -> OperationRunner:
        return self.app.runner

    def hand(self, receiver: Callable[..., Any], *args: Any) -> None:
        """A worker's result to its owner, on the message loop (see ``PrismeDeployApp.hand``)."""
        self.app.hand(receiver, *args)

    def say(self, *lines: str) -> None:
        """Lines for the log, from a worker."""
        self.runner.say(*lines)

    def fill(
        self,
        dialog: ActionModal,
        details: list[str],
        warnings: list[str] | None = None,
        fields: list[Any] | None = None,
        blocked: str | None = None,
    ) -> None:
        """What an open dialog was computing (its preview), from a worker: dropped if it closed meanwhile."""

        async def filled() -> None:
            if dialog in self.app.screen_stack:
                await dialog.fill(details, warnings=warnings or [], fields=fields or [], blocked=blocked)

        self.hand(filled)

    def start(self, coro: Coroutine[Any, Any, Any], group: str, *, exclusive: bool = True) -> Worker[Any]:
        """A background job that is not an operation (a preview, a list): errors reach the App's fallback."""
        return self.app.run_worker(coro, group=group, exclusive=exclusive, exit_on_error=False)

    def confirm_text(self, env: str, target: str, what: str) -> str | None:
        """What the dialog wants typed to confirm (the CLI's rule): the target on a protected environment."""
        from tui.core import errors as E
        from tui.core.ops import confirm

        try:
            return confirm.rule(self.ctx, env, target, what).typed
        except E.PrismeError:  # read-only meanwhile: the core refuses the operation; typing costs nothing
            return target

    def open_guarded(
        self,
        modal: ActionModal,
        done: Callable[[dict[str, Any] | None], None],
        what: str,
        envs: list[str] | None = None,
    ) -> None:
        """A mutating dialog, with its rails (the core's gate: reason, freeze window, break-glass) for
        ``envs`` (default: the dialog's environment)."""
        from tui.app.controllers import rails

        rails.open_guarded(self.app, modal, done, what, envs)
