"""The patch writer: ``difflib.unified_diff``'s exact text, end-of-file newlines kept, and git applies it."""

from __future__ import annotations

import difflib
import itertools
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tui.core import linediff
from tui.core.diff import FileDiff, compute_hunks, diff_files

GIT = shutil.which("git")


def difflib_patch(old: str, new: str, fromfile: str = "a/f.yml", tofile: str = "b/f.yml") -> str:
    """What difflib writes for lines that keep their ends, with git's marker after a last line without one."""
    lines = difflib.unified_diff(linediff.split_lines(old), linediff.split_lines(new), fromfile, tofile)
    return "".join(line if line.endswith("\n") else line + "\n" + linediff.NO_EOL for line in lines)


def ours(old: str, new: str, status: str = "modified") -> str:
    return FileDiff("f.yml", status, old, new).patch()  # type: ignore[arg-type]


def random_text(rng: random.Random, size: int, alphabet: str = "abcdef") -> str:
    lines = [rng.choice(alphabet) * rng.randint(1, 3) for _ in range(size)]
    text = "\n".join(lines)
    return text + rng.choice(["", "\n", "\n\n"]) if lines else ""


def mutate(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(0, 6)):
        where = rng.randint(0, len(lines))
        action = rng.choice(["insert", "delete", "change"])
        if action == "insert":
            lines.insert(where, rng.choice("abcxyz"))
        elif lines and where < len(lines):
            if action == "delete":
                del lines[where]
            else:
                lines[where] = rng.choice("xyz") + lines[where]
    return "\n".join(lines)


EDGE_CASES = {
    "gains a final newline": ("a\nb", "a\nb\n"),
    "loses its final newline": ("a\nb\n", "a\nb"),
    "empty old file": ("", "a\nb\n"),
    "empty new file": ("a\nb\n", ""),
    "one line, no newline, to empty": ("a", ""),
    "CRLF line endings": ("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n"),
    "CRLF to LF": ("a\r\nb\r\n", "a\nb\n"),
    "far apart changes, two hunks": ("\n".join(map(str, range(40))) + "\n", "\n".join(map(str, range(1, 39))) + "\n"),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_the_patch_is_difflibs_text(case: str) -> None:
    old, new = EDGE_CASES[case]
    assert ours(old, new) == difflib_patch(old, new)
    assert ours(old, new), "a change never has an empty patch"


def test_an_added_file_starts_at_zero_and_a_final_newline_change_counts() -> None:
    assert ours("", "x\n", "added").startswith("--- /dev/null\n+++ b/f.yml\n@@ -0,0 +1 @@\n+x\n")
    assert ours("x\n", "", "removed").startswith("--- a/f.yml\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")
    result = diff_files({"pages/p.yml": b"k: v"}, {"pages/p.yml": b"k: v\n"}, raw=True)
    assert [(f.path, f.stat) for f in result.files] == [("pages/p.yml", (1, 1))]
    assert "\\ No newline at end of file" in result.patch()
    assert compute_hunks("a\n", "")[0].header == "@@ -1 +0,0 @@"


def test_random_small_files_give_difflibs_text() -> None:
    rng = random.Random(1915)
    for _ in range(400):
        old = random_text(rng, rng.randint(0, 30))
        new = mutate(rng, old) if rng.random() < 0.8 else random_text(rng, rng.randint(0, 30))
        assert ours(old, new) == difflib_patch(old, new), (old, new)


def apply(old: str, patch: str) -> str:
    """A unified patch applied to ``old``, hunk by hunk, checking every context and removed line."""
    source = linediff.split_lines(old)
    out: list[str] = []
    at = 0
    kind = ""
    for line in linediff.split_lines(patch)[2:]:
        if line.startswith("@@"):
            start = int(line.split()[1][1:].split(",")[0])
            start = start - 1 if start else 0
            out += source[at:start]
            at = start
        elif line == linediff.NO_EOL:
            if kind in " +":  # the new file's last line has no end
                out[-1] = out[-1].removesuffix("\n")
        else:
            kind, body = line[0], line[1:]
            if kind in " -":
                assert source[at].removesuffix("\n") == body.removesuffix("\n"), (at, source[at], body)
                at += 1
            if kind in " +":
                out.append(body)
    out += source[at:]
    return "".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_big_files_take_the_fast_matcher_and_the_patch_rebuilds_the_new_file(seed: int) -> None:
    rng = random.Random(seed)
    old_lines = [
        rng.choice(["- set:", "    name: x", "    value: 1"]) if rng.random() < 0.7 else f"u{n}" for n in range(6_000)
    ]
    new_lines = list(old_lines)
    for _ in range(60):
        where = rng.randrange(len(new_lines))
        choice = rng.random()
        if choice < 0.4:
            new_lines[where] += " changed"
        elif choice < 0.7:
            del new_lines[where]
        else:
            new_lines.insert(where, rng.choice(["- set:", f"new{where}"]))
    old, new = "\n".join(old_lines) + "\n", "\n".join(new_lines) + ("\n" if seed % 2 else "")
    assert len(old_lines) + len(new_lines) > linediff.SMALL  # not SequenceMatcher whole
    codes = linediff.opcodes(linediff.split_lines(old), linediff.split_lines(new))
    assert codes[0][1:4:2] == (0, 0) and codes[-1][2] == len(old_lines) and codes[-1][4] == len(new_lines)
    for (_t, _a1, a2, _b1, b2), (_u, c1, _c2, d1, _d2) in itertools.pairwise(codes):
        assert (a2, b2) == (c1, d1), "opcodes are contiguous"
    patch = ours(old, new)
    assert apply(old, patch) == new
    file = FileDiff("f.yml", "modified", old, new)
    assert file.stat[0] - file.stat[1] == len(linediff.split_lines(new)) - len(linediff.split_lines(old))


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_git_applies_our_patches(tmp_path: Path) -> None:
    rng = random.Random(3)
    cases = [*EDGE_CASES.values()] + [(t, mutate(rng, t)) for t in (random_text(rng, 50) for _ in range(10))]
    big = "\n".join(f"- set: {n % 7}" if n % 3 else f"k{n}" for n in range(5_000)) + "\n"
    cases.append((big, big.replace("k300\n", "k300 changed\n").replace("- set: 1\n", "- set: 9\n", 40)))
    for number, (old, new) in enumerate(cases):
        if old == new:
            continue
        folder = tmp_path / str(number)
        folder.mkdir()
        (folder / "f.yml").write_bytes(old.encode())
        (folder / "p.diff").write_bytes(ours(old, new).encode())
        subprocess.run([GIT, "apply", "--check", "p.diff"], cwd=folder, check=True, capture_output=True)
        subprocess.run([GIT, "apply", "p.diff"], cwd=folder, check=True, capture_output=True)
        assert (folder / "f.yml").read_bytes() == new.encode(), number


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_git_applies_a_rename_without_changes(tmp_path: Path) -> None:
    result = diff_files({"pages/a.yml": b"k: v\n"}, {"pages/b.yml": b"k: v\n"})
    assert [f.status for f in result.files] == ["renamed"]
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.yml").write_bytes(b"k: v\n")
    (tmp_path / "p.diff").write_text(result.patch())
    subprocess.run([GIT, "apply", "p.diff"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "pages" / "b.yml").read_bytes() == b"k: v\n" and not (tmp_path / "pages" / "a.yml").exists()
