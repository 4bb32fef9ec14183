"""Differences the diff leaves out, as Argo CD's ``ignoreDifferences`` does.

Every import (archive, git pull, bulk import) rewrites the target's ``index.yml``: the description
gets `` (IMPORT)`` appended (per language too), ``customDomains`` is emptied and labels are merged
with the ones it had. Those are the platform's doing, not a change anyone made, so a promotion that
copied everything must still verify as identical. The user adds their own rules in the config::

    [diff]
    ignore = ["index.yml:config.value.apiUrl", "automations/*.yml:description"]

(``FILE-GLOB:dotted.key``). ``--no-ignore`` shows everything; every diff says how many differences
it ignored.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from tui.core.errors import UsageError

IMPORT_SUFFIX = " (IMPORT)"
INDEX = "index.yml"


class IgnoreRuleError(UsageError):
    kind = "config"


@dataclass(frozen=True)
class Rule:
    files: str  # a glob on the file's path in the workspace
    key: tuple[str, ...]  # a dotted path in the file's first document

    @classmethod
    def parse(cls, text: str) -> Rule:
        files, sep, key = text.partition(":")
        parts = tuple(p for p in key.split(".") if p)
        if not sep or not files.strip() or not parts:
            raise IgnoreRuleError(
                f"[diff] ignore: {text!r} is not FILE-GLOB:dotted.key (for example 'index.yml:config.value.apiUrl')."
            )
        return cls(files.strip(), parts)

    def __str__(self) -> str:
        return f"{self.files}:{'.'.join(self.key)}"


@dataclass(frozen=True)
class Ignore:
    """``platform``: the import rewrites; ``rules``: the user's. ``Ignore.nothing()`` is --no-ignore."""

    platform: bool = True
    rules: tuple[Rule, ...] = field(default=())

    @classmethod
    def nothing(cls) -> Ignore:
        return cls(platform=False)

    @classmethod
    def from_config(cls, texts: list[str] | tuple[str, ...], *, enabled: bool = True) -> Ignore:
        if not enabled:
            return cls.nothing()
        return cls(True, tuple(Rule.parse(t) for t in texts))

    @property
    def active(self) -> bool:
        return self.platform or bool(self.rules)

    def one_side(self, path: str, doc: Any) -> None:
        """What can be ignored looking at one side only (a digest of one workspace, drift cells)."""
        if self.platform and path == INDEX and isinstance(doc, dict):
            _strip_suffix(doc)
            doc.pop("customDomains", None)
            doc.pop("labels", None)  # merged on import: compared as sets by ``pair``, dropped here
        for rule in self._rules_for(path):
            _pop(doc, rule.key)

    def pair(self, path: str, old: Any, new: Any) -> int:
        """Neutralise the ignored fields in both documents; returns how many differed (were ignored)."""
        ignored = 0
        if self.platform and path == INDEX and isinstance(old, dict) and isinstance(new, dict):
            ignored += _pair_description(old, new)
            ignored += _pair_pop(old, new, ("customDomains",))
            ignored += _pair_labels(old, new)
        for rule in self._rules_for(path):
            ignored += _pair_pop(old, new, rule.key)
        return ignored

    def _rules_for(self, path: str) -> list[Rule]:
        return [r for r in self.rules if fnmatch.fnmatchcase(path, r.files)]


def _strip(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    quote = text[0] if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else ""
    stripped = text[1:-1] if quote else text  # the diff's loader keeps a quoted scalar's quotes
    while stripped.endswith(IMPORT_SUFFIX):  # it accumulates: an import of an import
        stripped = stripped[: -len(IMPORT_SUFFIX)]
    if quote:
        if not stripped:  # '' and " (IMPORT)" are both an empty description
            return type(text)("")
        return text if stripped == text[1:-1] else type(text)(f"{quote}{stripped}{quote}")
    return stripped if stripped is text else type(text)(stripped)


def _strip_suffix(doc: dict[str, Any]) -> None:
    """The description without the import's suffixes. An empty one is dropped: an import of a workspace
    with no description writes " (IMPORT)" on a real instance, so empty and absent compare equal."""
    value = doc.get("description")
    if isinstance(value, dict):
        doc["description"] = {lang: _strip(text) for lang, text in value.items()}
    elif value is not None:
        doc["description"] = _strip(value)
    if doc.get("description") in ("", {}):
        doc.pop("description")


def _pair_description(old: dict[str, Any], new: dict[str, Any]) -> int:
    before = old.get("description") != new.get("description")
    _strip_suffix(old)
    _strip_suffix(new)
    for doc in (old, new):  # an import of a workspace without a description gives " (IMPORT)": "" once stripped
        if doc.get("description") is None and "description" in (old.keys() | new.keys()):
            doc["description"] = ""
    return int(before and old.get("description") == new.get("description"))


def _pair_labels(old: dict[str, Any], new: dict[str, Any]) -> int:
    """Labels merged on import: one side a superset of the other is the platform's merge."""
    a, b = old.get("labels"), new.get("labels")
    if a is None and isinstance(b, list):  # no labels and an empty list are the same (an export adds [])
        a = old["labels"] = []
    if b is None and isinstance(a, list):
        b = new["labels"] = []
    if not (isinstance(a, list) and isinstance(b, list)) or a == b:
        return 0
    sa, sb = {str(x) for x in a}, {str(x) for x in b}
    if sa <= sb or sb <= sa:
        merged = sorted(sa | sb)
        old["labels"], new["labels"] = merged, list(merged)
        return 1
    return 0


def _lookup(doc: Any, key: tuple[str, ...]) -> tuple[Any, bool]:
    for part in key:
        if not isinstance(doc, dict) or part not in doc:
            return None, False
        doc = doc[part]
    return doc, True


def _pop(doc: Any, key: tuple[str, ...]) -> None:
    parent, found = _lookup(doc, key[:-1]) if len(key) > 1 else (doc, True)
    if found and isinstance(parent, dict):
        parent.pop(key[-1], None)


def _pair_pop(old: Any, new: Any, key: tuple[str, ...]) -> int:
    a, found_a = _lookup(old, key)
    b, found_b = _lookup(new, key)
    _pop(old, key)
    _pop(new, key)
    return int((found_a or found_b) and (found_a != found_b or a != b))
