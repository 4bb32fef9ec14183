"""The key bar: the current screen's key hints on one line, in a single widget.

Textual's ``Footer`` mounts a widget per key and recomposes them all whenever bindings change (focus,
selection, health): profiled, that was the largest single cost of start-up and of every cursor move
(bench/: start-up). One widget that re-renders a line of text shows the same thing. Hints that are
disabled right now are dimmed, hidden ones (read-only environments) are left out, and a click on a hint
presses its key, so the mouse still works. Help and the command palette are pinned at the end: on a
narrow terminal the hints that do not fit are dropped, never the way to find them.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget

PINNED = {"help", "quit_app"}


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, Binding, bool]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.refresh()

    def hints(self) -> tuple[list[tuple[Binding, bool]], list[tuple[Binding, bool]]]:
        """(hints, pinned): one (binding, enabled) per shown action in binding order; help and palette pinned."""
        seen: set[str] = set()
        hints: list[tuple[Binding, bool]] = []
        pinned: list[tuple[Binding, bool]] = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            is_palette = binding.key == self.app.COMMAND_PALETTE_BINDING and self.app.ENABLE_COMMAND_PALETTE
            if binding.action in seen or not (binding.show or is_palette):
                continue
            seen.add(binding.action)
            (pinned if is_palette or binding.action in PINNED else hints).append((binding, enabled))
        return hints, pinned

    def render(self) -> Content:
        hints, pinned = self.hints()
        tail = [(binding, enabled, self._hint(binding, enabled)) for binding, enabled in pinned]
        room = (self.size.width or 80) - sum(part.cell_length for _b, _e, part in tail)
        head = []
        for binding, enabled in hints:
            part = self._hint(binding, enabled)
            # Whole hints only: a hint cut in half reads as a different key. The rest are in F1 and ctrl+p.
            if part.cell_length > room:
                break
            head.append((binding, enabled, part))
            room -= part.cell_length
        gap = max(room, 0)  # pushes the pinned hints to the right edge
        self._spans = []
        x = 0
        for n, (binding, enabled, part) in enumerate(head + tail):
            x += gap if n == len(head) else 0
            self._spans.append((x, x + part.cell_length, binding, enabled))
            x += part.cell_length
        parts = [part for _b, _e, part in head] + [Content(" " * gap)] + [part for _b, _e, part in tail]
        return Content("").join(parts)

    def _hint(self, binding: Binding, enabled: bool) -> Content:
        key = Content.styled(f" {self.app.get_key_display(binding)} ", "bold $footer-key-foreground")
        hint = key + Content.styled(f"{binding.description} ", "$footer-description-foreground")
        return hint.stylize("italic") if not enabled else hint  # not "dim": greyed text must still read

    def on_click(self, event: events.Click) -> None:
        # A click presses the key, exactly as the keyboard would: the action and its checks run unchanged.
        for start, end, binding, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(binding.key)
                else:
                    self.app.bell()
                return
