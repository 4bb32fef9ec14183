"""The diff engine: two workspace snapshots (file path -> bytes) in, per-file hunks and a diffstat out.

Before diffing, YAML is normalised (``yaml_canonical``: keys sorted, one quoting style, one layout) so
that reordered keys, quoting and whitespace do not show; ``raw=True`` diffs the text as stored. Only files
whose bytes differ are normalised; the two sides of one file share what they have in common (the steps a
change did not touch are read and written once).
Instance identity (``id``, ``slug``,
``repositories`` in index.yml) never travels with a promotion, so it is left out; what the platform
rewrites on import (``tui.core.ignore``) is ignored and counted;
``.import.yml`` is metadata and is compared separately (drift), not as content.
Hunks are computed per file on demand, so a 2,000-file diff lists instantly and renders lazily.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml

from tui.core import linediff, yaml_canonical
from tui.core.ignore import Ignore

Files = dict[str, bytes]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster than pure Python
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Status = Literal["added", "removed", "modified", "renamed"]
IDENTITY_KEYS = ("id", "slug", "repositories")  # customDomains: a platform rewrite, see ``ignore``
METADATA = (".import.yml",)
# The 2024 service's per-folder indexes (``automations/__index__.yml``): derived from the objects (names,
# descriptions) plus who and when, rewritten by every import: metadata, not content.
FOLDER_INDEX = "__index__.yml"


def is_metadata(path: str) -> bool:
    return path in METADATA or path.rsplit("/", 1)[-1] == FOLDER_INDEX


STATUS_MARK = {"added": "A", "removed": "D", "modified": "M", "renamed": "R"}  # as git --name-status


def files_from_zip(data: bytes, what: str = "the archive") -> Files:
    """An export archive's files, first path segment stripped (``current/`` or the version name).

    Read entry by entry within the configured limits (``tui.core.archive``): a zip bomb stops there."""
    from tui.core.archive import read_entries

    files: Files = {}
    for name, content in read_entries(data, what).items():
        parts = name.split("/", 1)
        if len(parts) == 2 and parts[1]:
            files[parts[1]] = content
    return files


def _load(
    path: str, text: str, memo: yaml_canonical.Memo | None = None, *, verbatim: set[str] | None = None
) -> tuple[list[Any], Callable[[list[Any]], str]] | None:
    """The documents of a YAML text and the writer that gives their canonical text (None: not YAML).

    ``verbatim`` (the items proven canonical so far): the big sequences already canonical may keep their
    text unread (nothing will edit them); None: read everything."""
    if verbatim is not None and text.count("\n") > yaml_canonical.VERBATIM_MIN_LINES:
        loaded = _load_around(text, memo, verbatim)
        if loaded is not None:
            return loaded
    docs = yaml_canonical.parse_simple(text, memo)  # the common subset, without libyaml's events; None: outside
    if docs is not None:
        return docs, yaml_canonical.dump_all
    try:
        return yaml_canonical.parse(text, path), yaml_canonical.dump_all
    except yaml_canonical.Unsupported:
        pass  # tags and complex keys: PyYAML's load and dump (YAML 1.1 values, still one canonical text)
    except yaml.YAMLError:
        return None  # show invalid YAML as it is rather than hide it
    try:
        yaml_canonical.check_expansion(text, path)  # PyYAML's dump expands aliases just the same
        doc = yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError):
        return None  # PyYAML's constructors raise these too (``!!bool -x``, ``!!int 0x``): not valid YAML data
    return [doc], _dump_pyyaml


def _load_around(
    text: str, memo: yaml_canonical.Memo | None, proven: set[str]
) -> tuple[list[Any], Callable[[list[Any]], str]] | None:
    """The entries ``split_verbatim`` proves canonical kept as text, the others read (None: read it all)."""
    split = yaml_canonical.split_verbatim(text, proven)
    if split is None:
        return None
    kept, rest = split
    docs = yaml_canonical.parse_simple(rest, memo) if rest else [{}]
    if docs is None or not isinstance(docs[0], dict) or kept.keys() & docs[0].keys():
        return None  # a key written two ways ("Null" and "null"): the whole text decides which counts
    return docs, functools.partial(yaml_canonical.dump_around, kept)


def _verbatim(path: str, ignore: Ignore | None) -> set[str] | None:
    """A set for the items proven canonical when nothing will edit this file's tree beyond its identity keys
    (no ignore rules and not index.yml: the identity keys and the platform's rewrites are index.yml's), else None."""
    return set() if path != "index.yml" and (ignore is None or not ignore.rules) else None


def _dump_pyyaml(docs: list[Any]) -> str:
    return yaml.dump(docs[0], Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100)


def _is_yaml(path: str) -> bool:
    return path.endswith((".yml", ".yaml"))


def normalise(
    path: str, data: bytes, *, raw: bool = False, ignore_keys: tuple[str, ...] = (), ignore: Ignore | None = None
) -> str:
    """One file's canonical text; ``ignore`` drops what can be ignored looking at this side alone."""
    text = data.decode("utf-8", errors="replace")
    if raw or not _is_yaml(path):
        return text
    loaded = _load(path, text, verbatim=_verbatim(path, ignore))
    if loaded is None:
        return text
    docs, dump = loaded
    if docs:
        _drop_identity(path, docs[0], ignore_keys)
        if ignore is not None:
            ignore.one_side(path, docs[0])
    return dump(docs)


def normalise_pair(
    path: str, old: bytes, new: bytes, *, raw: bool, ignore_keys: tuple[str, ...], ignore: Ignore
) -> tuple[str, str, int]:
    """Both sides of a file, with the ignored differences neutralised; and how many there were."""
    if raw or not _is_yaml(path):
        return normalise(path, old, raw=raw), normalise(path, new, raw=raw), 0
    memo: yaml_canonical.Memo = {}  # the steps both sides share are read once
    verbatim = _verbatim(path, ignore)
    left = _load(path, old.decode("utf-8", errors="replace"), memo, verbatim=verbatim)
    right = _load(path, new.decode("utf-8", errors="replace"), memo, verbatim=verbatim)
    if left is None or right is None or not left[0] or not right[0]:
        return normalise(path, old, ignore_keys=ignore_keys), normalise(path, new, ignore_keys=ignore_keys), 0
    _drop_identity(path, left[0][0], ignore_keys)
    _drop_identity(path, right[0][0], ignore_keys)
    ignored = ignore.pair(path, left[0][0], right[0][0])
    written: dict[int, list[str]] = {}  # the items both sides share are written once (after the edits above)

    def write(loaded: tuple[list[Any], Callable[[list[Any]], str]]) -> str:
        docs, dump = loaded
        return yaml_canonical.dump_all(docs, written) if dump is yaml_canonical.dump_all else dump(docs)

    return write(left), write(right), ignored


def _drop_identity(path: str, doc: Any, ignore_keys: tuple[str, ...]) -> None:
    if path == "index.yml" and isinstance(doc, dict):
        for key in IDENTITY_KEYS + ignore_keys:
            doc.pop(key, None)


@dataclass(frozen=True)
class Line:
    kind: str  # " ", "+", "-"
    text: str
    old_no: int | None
    new_no: int | None
    spans: tuple[tuple[int, int], ...] = ()  # intra-line changed ranges


@dataclass(frozen=True)
class Hunk:
    """One hunk as the app draws it (line numbers, intra-line spans); patches are written by ``linediff``."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[Line, ...]

    @property
    def header(self) -> str:
        old = linediff.unified_range(self.old_start - 1, self.old_start - 1 + self.old_len)
        new = linediff.unified_range(self.new_start - 1, self.new_start - 1 + self.new_len)
        return f"@@ -{old} +{new} @@"


_WORD = re.compile(r"\w+|\s+|[^\w\s]")  # words, runs of spaces, single punctuation marks


def _intraline(old: str, new: str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Changed ranges by whole words ("gpt-4o" → "gpt-4o-mini" marks "-mini", never "p|t-4o-m"): the
    lines are matched as words, then the ranges given in characters."""
    a = [m.span() for m in _WORD.finditer(old)]
    b = [m.span() for m in _WORD.finditer(new)]
    matcher = difflib.SequenceMatcher(None, [old[i:j] for i, j in a], [new[i:j] for i, j in b], autojunk=False)
    if matcher.ratio() < 0.4:
        return (), ()  # too different: highlighting everything says nothing
    old_spans, new_spans = [], []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal":
            if a2 > a1:
                old_spans.append((a[a1][0], a[a2 - 1][1]))
            if b2 > b1:
                new_spans.append((b[b1][0], b[b2 - 1][1]))
    return tuple(old_spans), tuple(new_spans)


def _shown(line: str) -> str:
    """A line as drawn: without its end (``\n``, or a CRLF file's ``\r\n``)."""
    return line[:-1].removesuffix("\r") if line.endswith("\n") else line


def _hunks(old: list[str], new: list[str], codes: list[linediff.Opcode], context: int) -> list[Hunk]:
    old_lines, new_lines = [_shown(line) for line in old], [_shown(line) for line in new]
    hunks = []
    for group in linediff.grouped(codes, context):
        lines: list[Line] = []
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                lines += [Line(" ", old_lines[a1 + k], a1 + k + 1, b1 + k + 1) for k in range(a2 - a1)]
                continue
            removed = [(a1 + k, old_lines[a1 + k]) for k in range(a2 - a1)]
            added = [(b1 + k, new_lines[b1 + k]) for k in range(b2 - b1)]
            pairs = min(len(removed), len(added)) if tag == "replace" else 0
            spans = [_intraline(removed[k][1], added[k][1]) for k in range(pairs)]
            lines += [
                Line("-", text, no + 1, None, spans[k][0] if k < pairs else ()) for k, (no, text) in enumerate(removed)
            ]
            lines += [
                Line("+", text, None, no + 1, spans[k][1] if k < pairs else ()) for k, (no, text) in enumerate(added)
            ]
        first, last = group[0], group[-1]
        hunks.append(Hunk(first[1] + 1, last[2] - first[1], first[3] + 1, last[4] - first[3], tuple(lines)))
    return hunks


def compute_hunks(old_text: str, new_text: str, context: int = 3) -> list[Hunk]:
    old, new = linediff.split_lines(old_text), linediff.split_lines(new_text)
    return _hunks(old, new, linediff.opcodes(old, new), context)


@dataclass
class FileDiff:
    path: str
    status: Status
    old_text: str
    new_text: str
    old_path: str | None = None
    context: int = 3

    @cached_property
    def _lines(self) -> tuple[list[str], list[str]]:
        return linediff.split_lines(self.old_text), linediff.split_lines(self.new_text)

    @cached_property
    def opcodes(self) -> list[linediff.Opcode]:
        return linediff.opcodes(*self._lines)

    @cached_property
    def hunks(self) -> list[Hunk]:
        return _hunks(*self._lines, self.opcodes, self.context)

    @cached_property
    def stat(self) -> tuple[int, int]:
        """(insertions, deletions), as git counts them: a line that only gains its final newline is both."""
        changed = [code for code in self.opcodes if code[0] != "equal"]
        return sum(j2 - j1 for _t, _i1, _i2, j1, j2 in changed), sum(i2 - i1 for _t, i1, i2, _j1, _j2 in changed)

    def patch(self) -> str:
        """The file's patch in ``difflib.unified_diff``'s format; a rename without changes in git's."""
        old = f"a/{self.old_path or self.path}" if self.status != "added" else "/dev/null"
        new = f"b/{self.path}" if self.status != "removed" else "/dev/null"
        text = linediff.unified(*self._lines, old, new, self.opcodes, self.context)
        if not text and self.status == "renamed":
            return f"diff --git {old} {new}\nrename from {self.old_path}\nrename to {self.path}\n"
        return text


@dataclass
class WorkspaceDiff:
    old_label: str
    new_label: str
    files: list[FileDiff] = field(default_factory=list)
    ignored: int = 0  # differences left out (platform rewrites, the config's [diff] ignore)
    ignoring: bool = True  # False with --no-ignore

    @property
    def identical(self) -> bool:
        return not self.files

    @property
    def ignored_note(self) -> str:
        if not self.ignoring:
            return "nothing ignored (--no-ignore or --raw)"
        return (
            f"{self.ignored} difference(s) ignored: import rewrites (' (IMPORT)' suffix, customDomains, "
            "merged labels) and the config's diff ignore list; --no-ignore shows them"
        )

    def stat(self) -> dict[str, Any]:
        added = sum(f.stat[0] for f in self.files)
        removed = sum(f.stat[1] for f in self.files)
        return {"files": len(self.files), "insertions": added, "deletions": removed}

    def patch(self) -> str:
        return "".join(f.patch() for f in self.files)

    def stat_lines(self) -> list[str]:
        width = max((len(f.path) for f in self.files), default=0)
        lines = [f" {STATUS_MARK[f.status]} {f.path.ljust(width)} | +{f.stat[0]} -{f.stat[1]}" for f in self.files]
        total = self.stat()
        lines.append(
            f" {total['files']} file(s) changed, {total['insertions']} insertion(s), {total['deletions']} deletion(s)"
        )
        lines.append(f" {self.ignored_note}")
        return lines

    def to_json(self, *, hunks: bool = True) -> dict[str, Any]:
        return {
            "from": self.old_label,
            "to": self.new_label,
            "identical": self.identical,
            "stat": self.stat(),
            "ignored": self.ignored if self.ignoring else None,
            "files": [
                {
                    "path": f.path,
                    "status": f.status,
                    "oldPath": f.old_path,
                    "insertions": f.stat[0],
                    "deletions": f.stat[1],
                    **({"patch": f.patch()} if hunks else {}),
                }
                for f in self.files
            ],
        }


def diff_files(
    old: Files,
    new: Files,
    *,
    old_label: str = "a",
    new_label: str = "b",
    raw: bool = False,
    context: int = 3,
    ignore_keys: tuple[str, ...] = (),
    ignore: Ignore | None = None,
) -> WorkspaceDiff:
    ignore = Ignore() if ignore is None else ignore
    # Files identical byte for byte cannot differ once normalised: skip them (most files, in practice).
    same = {p for p, d in old.items() if new.get(p) == d and not is_metadata(p)}
    both = {p for p in old if p in new and not is_metadata(p) and p not in same}
    old_n: dict[str, str] = {}
    new_n: dict[str, str] = {}
    ignored = 0
    for path in both:
        old_n[path], new_n[path], count = normalise_pair(
            path, old[path], new[path], raw=raw, ignore_keys=ignore_keys, ignore=ignore
        )
        ignored += count
    for files, out in ((old, old_n), (new, new_n)):
        for path, data in files.items():
            if not is_metadata(path) and path not in same and path not in both:
                out[path] = normalise(path, data, raw=raw, ignore_keys=ignore_keys)
    result = WorkspaceDiff(old_label, new_label, ignored=ignored, ignoring=ignore.active and not raw)
    removed = sorted(set(old_n) - set(new_n))
    added = sorted(set(new_n) - set(old_n))
    renamed: dict[str, str] = {}
    for new_path in added:  # a rename is an added file whose content matches a removed one
        for old_path in removed:
            if old_path not in renamed.values() and old_n[old_path] == new_n[new_path]:
                renamed[new_path] = old_path
                break
    for path in sorted(set(old_n) | set(new_n)):
        if path in renamed.values():
            continue
        if path in renamed:
            result.files.append(FileDiff(path, "renamed", old_n[renamed[path]], new_n[path], renamed[path], context))
        elif path not in old_n:
            result.files.append(FileDiff(path, "added", "", new_n[path], context=context))
        elif path not in new_n:
            result.files.append(FileDiff(path, "removed", old_n[path], "", context=context))
        elif old_n[path] != new_n[path]:
            result.files.append(FileDiff(path, "modified", old_n[path], new_n[path], context=context))
    return result
