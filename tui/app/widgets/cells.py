"""Text cut to a width, the one way every table (and title) cuts it: what is cut ends with "…", so a cut
value never reads as a whole one. Widths are terminal cells (a wide character takes two). The text is
taken as it is given: callers pass it made one line and inert (``tui.core.text.one_line``)."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

ELLIPSIS = "…"


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells; when it does not fit, its end is replaced by "…"."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + ELLIPSIS
