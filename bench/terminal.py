"""The bytes on the wire over SSH: the app runs under a pseudo-terminal of 120x40 (TERM=xterm-256color and
no COLORTERM, as an SSH session usually has) and the parent counts every byte the app writes to it.

- ``wire_stream``: bytes per second written while a bulk stream of 200,000 progress events goes through the
  app's own relay (the ingest row's stream), from its first event to the last one counted by the app.
- ``wire_keystroke``: the bytes one filter keystroke costs at 50,000 workspaces: "/" opens the filter, then
  each key of "ws-001" is sent and its bytes are counted from the first one until 0.25 s pass without any
  (the focused filter's cursor blinks every 0.5 s, about 1 KB a blink: counted apart, as idle bytes/s).

The child marks its phases on a pipe; the parent reads the terminal without pause (a slow reader would slow
the app: the pty's buffer is small)."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

from bench.common import PY, Yield, child_env, median

COLUMNS, LINES = 120, 40
CHILD = """
import asyncio, os, sys
mode, count, marks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def mark(text):
    os.write(marks, (text + "\\n").encode())

from tui.app.app import PrismeDeployApp
from tui.core.config import Config
from tui.core.ops.context import Context

async def stream():
    from tui.core.api.bulk import BulkEvent
    yield BulkEvent("started", {"repositoryId": "r", "groups": ["g"], "workspaces": []})
    mark("start")
    for number in range(1, count + 1):
        payload = {"repositoryId": "r", "workspaceSlug": f"ws-{number}", "status": "pushed", "current": number,
                   "total": count, "percentage": 100 * number / count, "duration": 12}
        yield BulkEvent("progress", payload)
        if number % 500 == 0:
            await asyncio.sleep(0)  # a stream arrives in chunks

async def run_stream(app):
    app.run_worker(app.runner.relay("bench", stream()), group="bulk:bench")  # as the app's bulk push does
    while app.runner.tallies.get("bench") is None or app.runner.tallies["bench"].current < count:
        await asyncio.sleep(0.01)
    mark("end")

def workspaces(count):
    from tui.core.api.models import Workspace
    return [Workspace.from_json({"id": f"w{n:06d}", "slug": f"ws-{n:05d}", "name": f"Workspace {n}",
            "labels": ["production:app:base1"], "dirty": n % 3 == 0,
            "lastPush": {"version": "v1.2.0", "createdAt": "2026-03-02T09:00:00.000Z"}}) for n in range(count)]

async def when_told(app):
    while not os.path.exists(sys.argv[4]):  # the parent says when the first frames are out
        await asyncio.sleep(0.05)
    await run_stream(app)
    app.exit()

App = PrismeDeployApp
ready = App.on_ready

def on_ready(self):
    ready(self)
    if mode == "filter":
        self.main.workspaces = workspaces(count)
        self.main.show_workspaces()
    else:
        self.run_worker(when_told(self))
    self.call_after_refresh(lambda: mark("ready"))

App.on_ready = on_ready
app = App(Context.create(Config(), use_keyring=False))
app.run()
"""


class Terminal:
    """A child under a 120x40 pty; ``pump`` counts what it writes (``total``), ``marks`` what it says on the side."""

    def __init__(self, work: Path, mode: str, count: int) -> None:
        self.go_file = work / f"go-{mode}-{time.monotonic_ns()}"
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.master = master
        marks_r, marks_w = os.pipe()
        self.marks_fd = marks_r
        env = child_env({"TERM": "xterm-256color", "PRISME_DEPLOY_DATA": str(work / "tty-data")})
        for key in [k for k in env if k.startswith("TEXTUAL") or k in ("COLORTERM", "NO_COLOR")]:
            env.pop(key)
        env["PRISME_DEPLOY_CONFIG"] = str(work / "tty-none.toml")
        self.process = subprocess.Popen(
            [PY, "-c", CHILD, mode, str(count), str(marks_w), str(self.go_file)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            pass_fds=(marks_w,),
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        os.close(marks_w)
        self.total = 0
        self.last_byte = 0.0
        self.marks: list[tuple[str, float, int]] = []  # (mark, time, bytes read so far)
        self._pending = b""

    def pump(self, seconds: float) -> int:
        """Read for ``seconds``; returns the bytes read in that time."""
        before = self.total
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master, self.marks_fd], [], [], left)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if fd == self.master:
                    self.total += len(chunk)
                    self.last_byte = time.monotonic() if chunk else self.last_byte
                elif chunk:
                    self._pending += chunk
                    while b"\n" in self._pending:
                        line, self._pending = self._pending.split(b"\n", 1)
                        self.marks.append((line.decode(), time.monotonic(), self.total))
                if not chunk and fd == self.master:
                    return self.total - before
        return self.total - before

    def wait_mark(self, name: str, timeout: float) -> tuple[float, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mark, at, count in self.marks:
                if mark == name:
                    return at, count
            if self.process.poll() is not None and not self.pump(0.05):
                break
            self.pump(0.05)
        raise RuntimeError(f"the app under the pty never said {name!r} (exit {self.process.poll()})")

    def quiet(self, still: float = 0.4, timeout: float = 30.0) -> int:
        """Read until nothing arrives for ``still`` seconds; the bytes read."""
        read = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.pump(still)
            read += got
            if not got:
                return read
        return read

    def answer(self, still: float = 0.25, timeout: float = 30.0) -> int:
        """The bytes of one answer: from its first byte until ``still`` seconds pass without one. Shorter
        than the focused filter's cursor blink (0.5 s, restarted by a key), which ``idle`` counts apart."""
        deadline = time.monotonic() + timeout
        read = 0
        while not read and time.monotonic() < deadline:
            read = self.pump(0.05)
        while time.monotonic() < deadline:
            got = self.pump(still)
            if not got:
                break
            read += got
        return read

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.process.poll() is None:
            self.send(b"\x11")  # ctrl+q
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self.master)
        os.close(self.marks_fd)


def _stream_once(work: Path, events: int) -> tuple[float, int, float]:
    """(bytes per second, bytes, seconds) written from the stream's first event until the terminal is quiet
    after its last one (the frames that show the end belong to the stream), over that time."""
    terminal = Terminal(work, "stream", events)
    try:
        terminal.wait_mark("ready", 60)
        terminal.quiet()
        terminal.go_file.write_text("go")
        start_at, start_bytes = terminal.wait_mark("start", 30)
        end_at, _ = terminal.wait_mark("end", 600)
        terminal.quiet()
        elapsed = max(terminal.last_byte, end_at) - start_at
        written = terminal.total - start_bytes
        return written / elapsed, written, elapsed
    finally:
        terminal.close()


def _keystrokes_once(work: Path, rows: int) -> tuple[list[float], float, float]:
    """(bytes of each key of "ws-001", bytes of opening the filter, bytes per second idle with the filter open:
    its cursor blinking)."""
    terminal = Terminal(work, "filter", rows)
    try:
        terminal.wait_mark("ready", 120)
        terminal.quiet()
        terminal.send(b"/")
        opening = terminal.answer()
        per_key: list[float] = []
        for key in b"ws-001":
            terminal.quiet()  # the previous key's frames, and a blink or two, are out
            terminal.send(bytes([key]))
            per_key.append(terminal.answer())
        idle = terminal.pump(2.0) / 2.0
        return per_key, opening, idle
    finally:
        terminal.close()


def wire(work: Path, scale: Any, runs: int) -> Yield:
    events = 200_000 if scale.events >= 10_000 else 20_000  # --quick: a 0.2-0.5 s stream, still several frames
    rates: list[float] = []
    written: list[float] = []
    seconds: list[float] = []
    for _ in range(runs):
        rate, count, elapsed = _stream_once(work, events)
        rates.append(rate)
        written.append(count)
        seconds.append(elapsed)
    yield (
        "wire_stream",
        median(rates) / 1000,
        {"events": events, "bytes": median(written), "stream_s": round(median(seconds), 2), "size": "120x40"},
    )
    keys: list[float] = []
    openings: list[float] = []
    idles: list[float] = []
    for _ in range(runs):
        per_key, opening, idle = _keystrokes_once(work, scale.table_workspaces)
        keys += per_key
        openings.append(opening)
        idles.append(idle)
    yield (
        "wire_keystroke",
        median(keys) / 1000,
        {
            "rows": scale.table_workspaces,
            "max_key_kb": round(max(keys) / 1000, 1),
            "open_filter_kb": round(median(openings) / 1000, 1),
            "idle_filter_kb_s": round(median(idles) / 1000, 2),  # the focused filter's cursor blink
            "size": "120x40",
        },
    )
