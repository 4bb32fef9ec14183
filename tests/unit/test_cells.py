"""Text cut to a column (tui.app.widgets.cells): a cut value ends with "…", widths in terminal cells."""

from __future__ import annotations

from rich.cells import cell_len

from tui.app.widgets.cells import cut


def test_a_value_that_fits_is_whole_and_a_cut_one_ends_with_an_ellipsis() -> None:
    assert cut("prod-us", 7) == "prod-us"
    assert cut("prod-us", 6) == "prod-…"
    assert cut("prod-us", 1) == "…"
    assert cut("prod-us", 0) == ""
    wide = cut("日本語のワークスペース", 9)  # two cells a character: never wider than asked
    assert wide.endswith("…") and cell_len(wide) <= 9
