"""Every text the app draws reads: at least 4.5:1 contrast against its background (WCAG AA), computed from
every SVG snapshot (tests/<layer>/__snapshots__) and README screenshot, in each theme they were taken in."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
SVGS = sorted((ROOT / "tests").glob("*/__snapshots__/**/*.svg")) + sorted((ROOT / "screenshots").glob("*.svg"))
MINIMUM = 4.5
LINE = 24.4  # Rich's SVG export: the line height; a line's background rect starts 1.5 below its top
CLASS = re.compile(r"\.(terminal-[\w-]+)\s*\{\s*fill:\s*(#[0-9a-fA-F]{6})")
RECT = re.compile(r'<rect fill="(#[0-9a-fA-F]{6})" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" shape')
TEXT = re.compile(r'<text class="(terminal-[\w-]+)" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')
WORDS = re.compile(r"[^\W_]", re.UNICODE)  # a letter or a digit: text, not a border or a scrollbar


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def low_contrast(svg: str) -> list[tuple[str, str, str, float]]:
    """(text, colour, background, ratio) of each run of text below the minimum."""
    fills = dict(CLASS.findall(svg))
    backgrounds: dict[int, list[tuple[float, float, str]]] = {}
    for colour, x, y, width in RECT.findall(svg):
        backgrounds.setdefault(round((float(y) - 1.5) / LINE), []).append((float(x), float(x) + float(width), colour))
    found = []
    for name, x, y, raw in TEXT.findall(svg):
        text = html.unescape(raw).replace("\xa0", " ")
        if name not in fills or not WORDS.search(text):
            continue
        line, left = round((float(y) - 20) / LINE), float(x)
        # the rect under the run's first cell (its middle: float sums put a neighbour's end on its start)
        behind = next((c for start, end, c in backgrounds.get(line, []) if start <= left + 1 < end), None)
        if behind is None:
            continue
        ratio = contrast(fills[name], behind)
        if ratio < MINIMUM:
            found.append((text.strip(), fills[name], behind, round(ratio, 2)))
    return found


@pytest.mark.parametrize("svg", SVGS, ids=[f"{p.parent.name}/{p.name}" for p in SVGS])
def test_every_text_reads_against_its_background(svg: Path) -> None:
    assert not low_contrast(svg.read_text(encoding="utf-8"))


def test_the_check_finds_dark_text_on_a_dark_background() -> None:
    svg = (
        ".terminal-r1 { fill: #0c304c }\n.terminal-r2 { fill: #e0e0e0 }\n"
        '<rect fill="#1e1e1e" x="0" y="1.5" width="100" height="24.65" shape-rendering="crispEdges"/>'
        '<text class="terminal-r1" x="0" y="20" textLength="10">Title</text>'
        '<text class="terminal-r2" x="50" y="20" textLength="10">Body</text>'
    )
    assert low_contrast(svg) == [("Title", "#0c304c", "#1e1e1e", 1.22)]
