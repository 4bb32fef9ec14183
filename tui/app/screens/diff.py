"""The diff screen: a file list with status and +/- counts, and the selected file's hunks.

Split view by default when the terminal is wide (unified otherwise); ``s`` toggles. ``+``/``-`` marks in
the gutter so it reads without colour. Only the selected file is rendered (lazily), and the diff is
computed in a worker, so a 2,000-file diff never blocks the UI.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.app import actions
from tui.app.screens.help_key import HelpKey
from tui.app.widgets.key_bar import KeyBar
from tui.core.diff import STATUS_MARK, FileDiff, Hunk, Line, WorkspaceDiff
from tui.core.text import one_line, same_length

KEY_RE = re.compile(r"^(\s*-?\s*)([\w.'\"{}$ -]+?)(:)(\s|$)")


def yaml_line(text: str, base: str) -> Text:
    """A YAML line with its key highlighted (a light touch: the diff colours carry the meaning).

    A file is server text: control characters become one visible character each (the changed ranges
    are offsets into the line), and ``Text`` never reads markup."""
    text = same_length(text)
    out = Text(text, style=base)
    match = KEY_RE.match(text)
    if match:
        out.stylize("bold cyan" if not base else "bold", match.start(2), match.end(2))
    return out


# Exact colours, 4.5:1 or more on the dark themes' backgrounds (a theme remaps named ANSI colours: its red
# read 4.47:1); the +/- gutter says the same without colour.
SIDES = {"+": "#5fd75f", "-": "#ff6e6e"}
HUNK = "bold #d787ff"


def render_line(line: Line) -> Text:
    base = SIDES.get(line.kind, "")
    body = yaml_line(line.text, base)
    for start, end in line.spans:
        body.stylize("reverse", start, end)
    old = f"{line.old_no:>4}" if line.old_no else "    "
    new = f"{line.new_no:>4}" if line.new_no else "    "
    gutter = Text(f"{old} {new} {line.kind} ", style=base)
    return gutter + body


def unified(file: FileDiff) -> Text:
    out = Text()
    for hunk in file.hunks:
        out.append(hunk.header + "\n", style=HUNK)
        for line in hunk.lines:
            out.append_text(render_line(line))
            out.append("\n")
    return out


def _side(line: Line | None, old: bool) -> Text:
    if line is None:
        return Text("")
    number = line.old_no if old else line.new_no
    base = SIDES.get(line.kind, "")
    text = yaml_line(line.text, base)
    for start, end in line.spans:
        text.stylize("reverse", start, end)
    return Text(f"{number or '':>4} {line.kind} ", style=base) + text


def split_rows(hunk: Hunk) -> list[tuple[Line | None, Line | None]]:
    rows: list[tuple[Line | None, Line | None]] = []
    minus: list[Line] = []
    plus: list[Line] = []

    def flush() -> None:
        for k in range(max(len(minus), len(plus))):
            rows.append((minus[k] if k < len(minus) else None, plus[k] if k < len(plus) else None))
        minus.clear()
        plus.clear()

    for line in hunk.lines:
        if line.kind == "-":
            minus.append(line)
        elif line.kind == "+":
            plus.append(line)
        else:
            flush()
            rows.append((line, line))
    flush()
    return rows


def split(file: FileDiff) -> Table:
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(ratio=1, overflow="fold")
    table.add_column(ratio=1, overflow="fold")
    for hunk in file.hunks:
        table.add_row(Text(hunk.header, style=HUNK), Text(""))
        for left, right in split_rows(hunk):
            table.add_row(_side(left, True), _side(right, False))
    return table


class DiffScreen(HelpKey, Screen[None]):
    DEFAULT_CSS = """
    #diff-title { height: 1; background: $primary; color: auto; text-style: bold; width: 100%; padding: 0 1; }
    #diff-main { height: 1fr; }
    #diff-files { width: 42; height: 1fr; border: round $primary-muted; }
    #diff-body { width: 1fr; border: round $primary-muted; }
    #diff-files, #diff-body { border-title-color: $foreground; border-subtitle-color: $foreground; }
    """
    SCOPE = "diff"
    BINDINGS = actions.bindings("diff")

    def __init__(self, title: str, diff: WorkspaceDiff | None = None, *, wide: bool | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.diff = diff
        self.split_mode = wide
        self.full_context = False
        self.current: FileDiff | None = None
        self._hunk_index = 0

    def compose(self) -> ComposeResult:
        yield Label(one_line(self.title_text), id="diff-title", markup=False)
        with Horizontal(id="diff-main"):
            yield OptionList(id="diff-files")
            with VerticalScroll(id="diff-body"):
                yield Static("computing the diff…", id="diff-view")
        yield KeyBar()

    def on_mount(self) -> None:
        if self.split_mode is None:
            self.split_mode = self.app.size.width >= 140
        self.query_one("#diff-files").border_title = "Files"
        if self.diff is not None:
            self.show(self.diff)

    def show(self, diff: WorkspaceDiff) -> None:
        self.diff = diff
        files = self.query_one("#diff-files", OptionList)
        files.clear_options()
        stat = diff.stat()
        ignored = f" · {diff.ignored} ignored" if diff.ignored else ""  # import rewrites, [diff] ignore
        files.border_subtitle = f"{stat['files']} files +{stat['insertions']} -{stat['deletions']}{ignored}"
        if diff.identical:
            text = Text(one_line(f"No difference between {diff.old_label} and {diff.new_label}."), style="bold green")
            if diff.ignored:
                text.append(f"\n{diff.ignored_note}.", style="italic")
            self.query_one("#diff-view", Static).update(text)
            return
        for file in diff.files:
            added, removed = file.stat
            files.add_option(
                Option(
                    # Counts first, in columns: a long path is cut at the pane's edge, never glued to them
                    # (and +/- read without colour, on the highlighted row too).
                    Text.assemble(
                        (STATUS_MARK[file.status] + " ", "bold"),
                        f"{f'+{added}':<5}{f'-{removed}':<6}",
                        one_line(file.path),
                    ),
                    id=file.path,
                )
            )
        files.highlighted = 0
        files.focus()

    @on(OptionList.OptionHighlighted, "#diff-files")
    def _file_selected(self, event: OptionList.OptionHighlighted) -> None:
        if self.diff is None:
            return
        self.current = next((f for f in self.diff.files if f.path == event.option.id), None)
        self._hunk_index = 0
        self._render_file()

    def _render_file(self) -> None:
        file = self.current
        if file is None:
            return
        if self.full_context and file.context < 100_000:
            file = FileDiff(file.path, file.status, file.old_text, file.new_text, file.old_path, context=100_000)
        header = Text(one_line(f"{file.old_path or file.path} → {file.path}  ({file.status})") + "\n", style="bold")
        body = split(file) if self.split_mode else unified(file)
        view = self.query_one("#diff-view", Static)
        if isinstance(body, Table):
            grid = Table.grid(expand=True)
            grid.add_row(header)
            grid.add_row(body)
            view.update(grid)
        else:
            view.update(header + body)
        self.query_one("#diff-body", VerticalScroll).scroll_home(animate=False)

    def action_toggle_split(self) -> None:
        self.split_mode = not self.split_mode
        self._render_file()

    def action_toggle_context(self) -> None:
        self.full_context = not self.full_context
        self._render_file()

    def action_file(self, step: int) -> None:
        files = self.query_one("#diff-files", OptionList)
        if files.option_count:
            files.highlighted = ((files.highlighted or 0) + step) % files.option_count

    def action_hunk(self, step: int) -> None:
        if not self.current or not self.current.hunks:
            return
        self._hunk_index = (self._hunk_index + step) % len(self.current.hunks)
        # each hunk header is one line; count the rendered lines before it
        row = 1 + sum(
            1 + len(h.lines) if not self.split_mode else 1 + len(split_rows(h))
            for h in self.current.hunks[: self._hunk_index]
        )
        self.query_one("#diff-body", VerticalScroll).scroll_to(y=row, animate=False)

    def action_copy_patch(self) -> None:
        if self.current:
            self.app.copy_to_clipboard(self.current.patch())  # OSC 52: works over SSH in most terminals
            self.notify(f"Copied the patch of {self.current.path} (OSC 52).")

    def action_external_tool(self) -> None:
        """The whole patch through `[diff] tool` (delta...), the terminal handed over until it exits."""
        from tui.app import external_diff

        ctx = getattr(self.app, "ctx", None)
        tool = ctx.config.diff_tool if ctx is not None else None
        if not tool:
            self.notify('No external diff tool: set [diff] tool = "delta" in the configuration.')
            return
        if self.diff is None or self.diff.identical:
            return
        error = external_diff.run(self.app, tool, self.diff.patch())
        if error:
            self.notify(error, severity="error", markup=False)

    def action_save_patch(self) -> None:
        if self.diff is None:
            return
        name = re.sub(r"[^A-Za-z0-9_.@-]+", "_", f"{self.diff.old_label}..{self.diff.new_label}") + ".patch"
        path = Path.cwd() / name
        try:
            path.write_text(self.diff.patch(), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not save {path}: {exc.strerror}", severity="error")
            return
        self.notify(f"Saved the whole patch to {path}")

    def action_close(self) -> None:
        self.dismiss(None)
