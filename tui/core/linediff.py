"""Line matching and the unified patch text, in ``difflib.unified_diff``'s exact format.

``opcodes`` gives difflib-style opcodes (``equal``/``replace``/``delete``/``insert``). Files up to
``SMALL`` lines (nearly every workspace file) go through ``difflib.SequenceMatcher`` whole, so the patch is
byte for byte what ``difflib.unified_diff`` writes. Bigger ones would take SequenceMatcher minutes (a
5 MB YAML file repeats ``- set:`` tens of thousands of times, and its matcher is quadratic in repeats):
the common prefix and suffix are cut, lines unique on both sides anchor the match
(patience diff, as ``git diff --patience``), and SequenceMatcher runs only inside the gaps between
anchors. That gives a valid diff of the same format, not always difflib's choice among equal diffs.

Lines keep their ends (split on ``\\n`` only, as git does: a CRLF file keeps its ``\\r``), so a file that
only gains or loses its final newline differs, and its patch says ``\\ No newline at end of file``.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Iterator, Sequence

Opcode = tuple[str, int, int, int, int]
SMALL = 4_000  # lines (both sides together) diffed by SequenceMatcher whole: difflib's own choice
GAP = 400  # a gap between anchors this small (lines, both sides) goes to SequenceMatcher
NO_EOL = "\\ No newline at end of file\n"


def split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept; a last line without one stays without one."""
    lines = text.split("\n")
    last = lines.pop()
    out = [line + "\n" for line in lines]
    if last:
        out.append(last)
    return out


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    if len(a) + len(b) <= SMALL:
        return list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())
    blocks: list[tuple[int, int, int]] = []
    _match(a, 0, len(a), b, 0, len(b), blocks)
    return _to_opcodes(blocks, len(a), len(b))


def _match(
    a: Sequence[str], alo: int, ahi: int, b: Sequence[str], blo: int, bhi: int, out: list[tuple[int, int, int]]
) -> None:
    """Matching blocks (i, j, size) of a[alo:ahi] and b[blo:bhi], in order, appended to ``out``."""
    start = 0
    while alo + start < ahi and blo + start < bhi and a[alo + start] == b[blo + start]:
        start += 1
    if start:
        out.append((alo, blo, start))
        alo, blo = alo + start, blo + start
    end = 0
    while ahi - end > alo and bhi - end > blo and a[ahi - end - 1] == b[bhi - end - 1]:
        end += 1
    ahi, bhi = ahi - end, bhi - end
    if alo < ahi and blo < bhi:
        anchors = _unique_anchors(a, alo, ahi, b, blo, bhi) if ahi - alo + bhi - blo > GAP else []
        if anchors:
            _between(a, b, anchors, (alo, ahi, blo, bhi), out)
        else:
            _sequence_matcher(a, alo, ahi, b, blo, bhi, out)
    if end:
        out.append((ahi, bhi, end))


def _between(
    a: Sequence[str],
    b: Sequence[str],
    anchors: list[tuple[int, int]],
    bounds: tuple[int, int, int, int],
    out: list[tuple[int, int, int]],
) -> None:
    """Each anchor grown over the equal lines that follow it (most gaps close that way: a repeated
    ``- set:`` between two unique lines); what is left of a gap is matched recursively."""
    alo, ahi, blo, bhi = bounds
    i, j = alo, blo
    for ai, bj in anchors:
        if ai < i:  # inside the run the previous anchor grew over
            continue
        if ai > i or bj > j:
            _match(a, i, ai, b, j, bj, out)
        size = 1
        limit = min(ahi - ai, bhi - bj)
        while size < limit and a[ai + size] == b[bj + size]:
            size += 1
        out.append((ai, bj, size))
        i, j = ai + size, bj + size
    _match(a, i, ahi, b, j, bhi, out)


def _unique_anchors(
    a: Sequence[str], alo: int, ahi: int, b: Sequence[str], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Pairs of lines that occur once on each side, longest increasing in both (patience sorting)."""
    in_a, in_b = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    where_a = dict(zip(a[alo:ahi], range(alo, ahi), strict=True))  # a unique line's one index
    where_b = dict(zip(b[blo:bhi], range(blo, bhi), strict=True))
    pairs = sorted((where_a[line], where_b[line]) for line, count in in_b.items() if count == 1 and in_a[line] == 1)
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (sorted by i) whose j also increases."""
    tails: list[int] = []  # tails[k]: the smallest j ending an increasing run of length k+1
    tail_at: list[int] = []  # index in pairs of that tail
    back: list[int] = [-1] * len(pairs)
    for index, (_i, j) in enumerate(pairs):
        if not tails or j > tails[-1]:  # the common case (few changes): the run grows, no search
            back[index] = tail_at[-1] if tail_at else -1
            tails.append(j)
            tail_at.append(index)
            continue
        k = bisect.bisect_left(tails, j)
        tails[k], tail_at[k] = j, index
        back[index] = tail_at[k - 1] if k else -1
    run: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        run.append(pairs[index])
        index = back[index]
    return run[::-1]


def _sequence_matcher(
    a: Sequence[str], alo: int, ahi: int, b: Sequence[str], blo: int, bhi: int, out: list[tuple[int, int, int]]
) -> None:
    matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
    out.extend((alo + i, blo + j, size) for i, j, size in matcher.get_matching_blocks() if size)


def _to_opcodes(blocks: list[tuple[int, int, int]], la: int, lb: int) -> list[Opcode]:
    """difflib's get_opcodes from matching blocks (adjacent blocks merged first, as difflib does)."""
    merged: list[list[int]] = []
    for i, j, size in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1][2] += size
        else:
            merged.append([i, j, size])
    codes: list[Opcode] = []
    i = j = 0
    for ai, bj, size in [*merged, [la, lb, 0]]:
        tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert" if j < bj else ""
        if tag:
            codes.append((tag, i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            codes.append(("equal", ai, i, bj, j))
    return codes or [("equal", 0, la, 0, lb)]


def grouped(codes: list[Opcode], n: int = 3) -> Iterator[list[Opcode]]:
    """Hunks of opcodes with ``n`` lines of context: ``SequenceMatcher.get_grouped_opcodes``'s rule."""
    codes = list(codes) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    nn = n + n
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > nn:  # a long stretch of context ends one hunk and starts the next
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def unified_range(start: int, stop: int) -> str:
    """A hunk header's range as difflib writes it: ``3``, ``3,4``, and ``0,0`` for an empty side."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def unified(a: Sequence[str], b: Sequence[str], fromfile: str, tofile: str, codes: list[Opcode], n: int = 3) -> str:
    """``difflib.unified_diff(a, b, fromfile, tofile, n=n)`` joined, for lines that keep their ends;
    a line without one (the last) is followed by ``\\ No newline at end of file``, as in git."""
    out: list[str] = []
    for group in grouped(codes, n):
        if not out:
            out += [f"--- {fromfile}\n", f"+++ {tofile}\n"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{unified_range(first[1], last[2])} +{unified_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in a[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                out += ["-" + line for line in a[i1:i2]]
            if tag in ("replace", "insert"):
                out += ["+" + line for line in b[j1:j2]]
    return "".join(line if line.endswith("\n") else line + "\n" + NO_EOL for line in out)
