"""One way to run an operation: ``OperationRunner.run(env, title, coro)``.

It refuses what cannot start (the environment busy, a freeze window) before anything is sent, says the
operation in the log and the status line, runs it in an App worker (leaving a view or closing a dialog
never cancels it), and turns ANY exception into a failed outcome with its error shown: a bug is a FAIL
line, never "env: push…" forever. The environment's lock is the core's (``Context.operation``), taken
inside every operation of ``tui.core.ops``.

Bulk streams come through one buffer: ``relay`` hands over a burst per network read, ``drain`` draws them
on the app's timer within a time budget. The outcome (``OperationFinished``) is drawn by ``finished``.
Workers report through ``say``, ``fail`` and ``finish``: each hands its text to the log on the message
loop (``PrismeDeployApp.hand``), in order, and a worker never touches a widget itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from tui.core import errors as E
from tui.core.ops.format import bulk_line, progress_text
from tui.core.secrets import redact
from tui.lazy import lazy

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tui.app.app import PrismeDeployApp
    from tui.app.widgets.log_pane import LogPane
    from tui.core.api import bulk as api_bulk
    from tui.core.api.budget import Wait
    from tui.core.api.bulk import BulkTally
    from tui.core.ops.requests import Request
else:
    api_bulk = lazy("tui.core.api.bulk")

DRAIN_BUDGET = 0.015  # seconds of each 50 ms tick spent drawing bulk events
DRAIN_CHUNK = 100  # events between two looks at the clock
# A stream faster than the drawing waits (TCP holds the rest): a backlog of a whole stream's events was
# what every full GC collection walked, the longest stall at 200,000 events (bench/: ingest).
BULK_BACKLOG = 5_000
WAIT_LOG_EVERY = 10.0  # seconds between two log lines of one rate-limit wait (the op line counts down live)


def _title(env: str, event: Any) -> str:
    return f"{env}: bulk {event.operation}" + (f" {event.group}" if event.group else "")


@dataclass(repr=False, eq=False)
class OperationFinished:
    """An operation's outcome, as the runner draws it (log, summary, notification) and the panes update from."""

    env: str
    title: str
    ok: bool
    message: str
    next_step: str | None = None
    snapshot: str | None = None  # the safety snapshot taken first: what U restores
    target: tuple[str, str] | None = None  # (env, slug) the operation wrote, if one workspace
    content_note: str | None = None  # its content is not its label's version: where it came from
    at_risk: bool | None = None  # a rollback the next restart undoes (True), a sticky one (False), or n/a


def failure(env: str, title: str, exc: BaseException) -> OperationFinished:
    """Any exception as a failed outcome: ours with their hint, anything else named by its type."""
    if isinstance(exc, E.PrismeError):
        return OperationFinished(env, title, False, str(exc), exc.hint)
    return OperationFinished(env, title, False, f"{type(exc).__name__}: {exc}")


class OperationRunner:
    def __init__(self, app: PrismeDeployApp) -> None:
        self.app = app
        self.tallies: dict[str, BulkTally] = {}
        self._pending: deque[tuple[str, Any]] = deque()  # (env, BulkEvent) not drawn yet
        self.unread = 0  # events relayed and not drawn yet: a relay waits above BULK_BACKLOG
        self._waiting: dict[str, tuple[float, float]] = {}  # env -> (when reported, when last logged)

    @property
    def log(self) -> LogPane:
        return self.app.main.log_pane

    # ------------------------------------------------------------------ starting
    def guard(self, env: str, what: str, request: Request | None = None) -> bool:
        """Whether ``what`` may start on ``env`` now, with ``request``'s reasons (said in the log when it does)."""
        try:
            self.app.ctx.check_rails(env, what, request)  # the core's gate: refused before anything starts
        except E.Busy as exc:
            self.app.notify(exc.message, title="Busy", severity="warning")
            return False
        except E.PrismeError as exc:
            self.finish(OperationFinished(env, what, False, str(exc)))
            return False
        self.log.progress(f"{env}: {what}…")
        self.log.add(f"{env}: {what}…")
        return True

    def run(
        self,
        env: str,
        title: str,
        coro: Awaitable[OperationFinished | None],
        *,
        what: str | None = None,
        group: str = "op",
        guard: bool = True,
        request: Request | None = None,
    ) -> bool:
        """Run ``coro`` (it returns the outcome to show) once ``what`` passed the guard with ``request``'s
        reasons (the operation takes the same request); False if refused."""
        if guard and not self.guard(env, what or title, request):
            if asyncio.iscoroutine(coro):
                coro.close()  # never started: no "coroutine was never awaited"
            return False
        self.app.run_worker(self._outcome(env, title, coro), name=title, group=group, exit_on_error=False)
        return True

    async def _outcome(self, env: str, title: str, coro: Awaitable[OperationFinished | None]) -> None:
        try:
            result = await coro
        except asyncio.CancelledError:
            raise  # x: stopped on purpose, said where it was stopped
        except Exception as exc:  # any error, ours or a bug, ends as a FAIL line
            result = failure(env, title, exc)
        if result is not None:
            self.finish(result)

    # ------------------------------------------------------------------ what workers report (handed over)
    def say(self, *lines: str) -> None:
        """Lines for the log, from a worker."""
        self.app.hand(lambda: self.log.add(*lines))

    def fail(self, title: str, error: BaseException) -> None:
        """A failed request that is not an operation (a list, a diff), from a worker: the log and a notification."""
        self.app.hand(self.failed, title, error)

    def finish(self, outcome: OperationFinished) -> None:
        """An operation's outcome, from a worker."""
        self.app.hand(self.finished, outcome)

    def failed(self, title: str, error: BaseException) -> None:
        text = str(error) if isinstance(error, E.PrismeError) else f"{type(error).__name__}: {error}"
        text = redact(text, self.app.ctx.tokens.known_tokens())
        self.log.add(f"FAIL {title}: {text}")
        self.app.notify(text, title=title, severity="error", timeout=10)

    # ------------------------------------------------------------------ the outcome
    def finished(self, message: OperationFinished) -> None:
        while self._pending:  # the stream's last lines first, then the outcome
            self.drain()
        app, log = self.app, self.log
        text = redact(message.message, app.ctx.tokens.known_tokens())
        log.add(("OK   " if message.ok else "FAIL ") + f"{message.title}: {text}")
        if message.next_step:
            log.add(f"     next: {message.next_step}")
        log.summary(f"{message.title}: {text}", ok=message.ok)
        log.progress_done(message.ok, message.title)  # the counts stay on the status line, else the outcome
        severity: SeverityLevel = "information" if message.ok else "error"
        app.notify(text, title=message.title, severity=severity, timeout=8 if message.ok else 15)
        for missed in app.ctx.audit.take_failures():  # the outcome above stands; the journal missed it
            log.add(f"WARN {missed}")
            app.notify(missed, title="Audit entry not written", severity="warning", timeout=15)
        if message.snapshot:
            app.last_undo = message.snapshot
        app.main.operation_done(message)
        if message.ok and "promotion" in app.__dict__:  # a matrix is open only once promotion was used
            app.promotion.refresh_matrix()  # built again, so it shows what changed

    # ------------------------------------------------------------------ bulk streams: one buffer
    async def relay(self, env: str, events: AsyncIterator[Any]) -> None:
        """Hand a bulk stream to ``queue`` one burst at a time, not one event at a time.

        The events one network read brings arrive without the worker yielding; the flush scheduled with
        call_soon runs only once it does, so each burst travels as one message. Textual's dispatch of
        one message per event was most of the stall at 50,000 events (bench/: ingest).
        """
        burst: list[Any] = []

        def flush() -> None:
            if burst:
                self.unread += len(burst)
                self.app.hand(self.queue, env, burst.copy())
                burst.clear()

        loop = asyncio.get_running_loop()
        try:
            async for event in events:
                if not burst:
                    while self.unread > BULK_BACKLOG:  # the drawing is behind: let it catch up
                        await asyncio.sleep(0.02)
                    loop.call_soon(flush)
                burst.append(event)
        finally:
            flush()  # the last burst goes before whatever the caller posts next (the outcome)

    def queue(self, env: str, events: list[Any]) -> None:
        """One burst of a bulk stream (what one network read brought), in order; drawn by drain on a timer:
        a stream can bring thousands of events a second."""
        self._pending.extend((env, event) for event in events)

    def drain(self) -> None:
        """Draw queued bulk events for at most DRAIN_BUDGET seconds: however fast the stream, the
        keyboard and the screen get the rest of every tick (bench/: ingest stall). Progress lines go to
        the log deferred: their text is made only for the lines drawn."""
        pending = self._pending
        if not pending:
            return
        log = self.log
        deadline = perf_counter() + DRAIN_BUDGET
        before = len(pending)
        progress: list[dict[str, Any]] = []
        env, event = "", None
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
                line = bulk_line(event, tally, _title(env, event))
                if line:
                    log.add(line)
                if event.kind == "completed":
                    log.summary(line, ok=not event.failed)
        if progress:
            log.add_deferred(progress_text, progress)
        self.unread -= before - len(pending)  # drawn now
        if event is None:
            return  # a slow tick: nothing drawn this time, the next one draws
        tally, title = self.tallies[env], _title(env, event)
        log.progress(f"{title} {tally.current}/{tally.total}" if tally.total else title, tally.current, tally.total)

    # ------------------------------------------------------------------ rate-limit waits
    def rate_wait(self, wait: Wait) -> None:
        """Live in the operation line; in the log when the wait starts and every WAIT_LOG_EVERY seconds."""
        now = perf_counter()
        text = f"{wait.env}: {wait.text}" + ("  (x: stop waiting)" if wait.kind == "imports" else "")
        self.log.progress(text)
        _reported, logged = self._waiting.get(wait.env, (0.0, 0.0))
        if wait.first or now - logged >= WAIT_LOG_EVERY:
            self.log.add(text)
            logged = now
        self._waiting[wait.env] = (now, logged)

    def stop_waiting(self, env: str) -> None:
        """x while an operation waits out a rate limit: cancel it (a held-back request is never sent)."""
        reported, _logged = self._waiting.pop(env, (0.0, 0.0))
        if perf_counter() - reported > 2.0:
            return
        waiting = [w for w in self.app.workers if w.group == "op" and w.is_running]
        for worker in waiting:
            worker.cancel()
        if waiting:
            self.app.ctx.running.pop(env, None)
            self.log.progress("idle")
            self.log.add(
                f"{env}: stopped waiting for the rate limit; the held-back request was not sent "
                "(anything sent before goes on on the server: check the activity, a)."
            )

    def stop_watching(self, env: str) -> None:
        self.stop_waiting(env)
        stopped = [w for w in self.app.workers if w.group == f"bulk:{env}" and w.is_running]
        for worker in stopped:
            worker.cancel()
        if stopped:
            self.app.ctx.running.pop(env, None)
            self.log.add(
                f"{env}: stopped watching the bulk operation; the server goes on. "
                "Its result will be in the platform activity (A)."
            )
