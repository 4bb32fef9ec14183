"""The diff engine: two workspace snapshots (file path -> bytes) in, per-file hunks and a diffstat out.

Before diffing, YAML is normalised (``yaml_canonical``: keys sorted, one quoting style, one layout) so
that reordered keys, quoting and whitespace do not show; ``raw=True`` diffs the text as stored.
Instance identity (``id``, ``slug``,
``customDomains``, ``repositories`` in index.yml) never travels with a promotion, so it is left out;
``.import.yml`` is metadata and is compared separately (drift), not as content.
Hunks are computed per file on demand, so a 2,000-file diff lists instantly and renders lazily.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml

from tui.core import yaml_canonical

Files = dict[str, bytes]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster than pure Python
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Status = Literal["added", "removed", "modified", "renamed"]
IDENTITY_KEYS = ("id", "slug", "customDomains", "repositories")
METADATA = (".import.yml",)
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


def normalise(path: str, data: bytes, *, raw: bool = False, ignore_keys: tuple[str, ...] = ()) -> str:
    text = data.decode("utf-8", errors="replace")
    if raw or not path.endswith((".yml", ".yaml")):
        return text
    try:
        docs = yaml_canonical.parse(text, path)
    except yaml_canonical.Unsupported:
        return _normalise_with_pyyaml(path, text, ignore_keys)
    except yaml.YAMLError:
        return text  # show invalid YAML as it is rather than hide it
    if docs:
        _drop_identity(path, docs[0], ignore_keys)
    return yaml_canonical.dump_all(docs)


def _drop_identity(path: str, doc: Any, ignore_keys: tuple[str, ...]) -> None:
    if path == "index.yml" and isinstance(doc, dict):
        for key in IDENTITY_KEYS + ignore_keys:
            doc.pop(key, None)


def _normalise_with_pyyaml(path: str, text: str, ignore_keys: tuple[str, ...]) -> str:
    """Tags and complex keys: PyYAML's load and dump (YAML 1.1 values, still one canonical text)."""
    try:
        yaml_canonical.check_expansion(text, path)  # PyYAML's dump expands aliases just the same
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text
    _drop_identity(path, doc, ignore_keys)
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100)


@dataclass(frozen=True)
class Line:
    kind: str  # " ", "+", "-"
    text: str
    old_no: int | None
    new_no: int | None
    spans: tuple[tuple[int, int], ...] = ()  # intra-line changed ranges


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[Line, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"


def _intraline(old: str, new: str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < 0.4:
        return (), ()  # too different: highlighting everything says nothing
    old_spans, new_spans = [], []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal":
            if a2 > a1:
                old_spans.append((a1, a2))
            if b2 > b1:
                new_spans.append((b1, b2))
    return tuple(old_spans), tuple(new_spans)


def compute_hunks(old_text: str, new_text: str, context: int = 3) -> list[Hunk]:
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
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


@dataclass
class FileDiff:
    path: str
    status: Status
    old_text: str
    new_text: str
    old_path: str | None = None
    context: int = 3

    @cached_property
    def hunks(self) -> list[Hunk]:
        return compute_hunks(self.old_text, self.new_text, self.context)

    @cached_property
    def stat(self) -> tuple[int, int]:
        added = removed = 0
        for hunk in self.hunks:
            for line in hunk.lines:
                added += line.kind == "+"
                removed += line.kind == "-"
        return added, removed

    def patch(self) -> str:
        old = f"a/{self.old_path or self.path}" if self.status != "added" else "/dev/null"
        new = f"b/{self.path}" if self.status != "removed" else "/dev/null"
        out = [f"--- {old}", f"+++ {new}"]
        for hunk in self.hunks:
            out.append(hunk.header)
            out += [f"{line.kind}{line.text}" for line in hunk.lines]
        return "\n".join(out) + "\n"


@dataclass
class WorkspaceDiff:
    old_label: str
    new_label: str
    files: list[FileDiff] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.files

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
        return lines

    def to_json(self, *, hunks: bool = True) -> dict[str, Any]:
        return {
            "from": self.old_label,
            "to": self.new_label,
            "identical": self.identical,
            "stat": self.stat(),
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
) -> WorkspaceDiff:
    # Files identical byte for byte cannot differ once normalised: skip them (most files, in practice).
    same = {p for p, d in old.items() if new.get(p) == d and p not in METADATA}
    old_n = {
        p: normalise(p, d, raw=raw, ignore_keys=ignore_keys)
        for p, d in old.items()
        if p not in METADATA and p not in same
    }
    new_n = {
        p: normalise(p, d, raw=raw, ignore_keys=ignore_keys)
        for p, d in new.items()
        if p not in METADATA and p not in same
    }
    result = WorkspaceDiff(old_label, new_label)
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
