"""One canonical text per YAML document, for diffs: keys sorted, one quoting style, one layout.

Prisme.ai reads DSUL with a YAML 1.2 parser, so two files are the same when their YAML 1.2 (core
schema) values are: ``'x'`` and ``x`` are one string, ``42`` and ``"42"`` are not, ``yes`` and ``on``
are strings (PyYAML's YAML 1.1 resolver would make them booleans). Scalars are written in their
canonical form (``null``, ``true``, ``1.5``, a string plain when that reads back as the same string,
else double-quoted, a multi-line string as a literal block).

Speed (bench/: diff): libyaml's event parser does the scanning; the tree is built from its events in
one pass and written back by hand, which is about twice as fast as PyYAML's load + dump for the same
result. Anything outside plain data (tags, complex keys) raises ``Unsupported`` and the caller falls
back to PyYAML.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from tui.core.api.errors import YamlTooComplex
from tui.core.limits import current as current_limits

_Parser = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # the C parser when libyaml is there

# YAML 1.2 core schema: what a plain scalar means when it is not a string.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
# A string written plain must read back as the same string: no indicator first, no ": " or " #",
# no edge whitespace, no control characters, and not a null, boolean or number.
_PLAIN_SAFE = re.compile(r"^[^-?:,\[\]{}#&*!|>'\"%@`\s](?:[^:#\x00-\x1f]|:(?! )|(?<! )#)*(?<![\s:])$")


_NO_KEY = object()  # a mapping waiting for its next key


class Unsupported(ValueError):
    """A construct this writer does not handle (the caller falls back to PyYAML)."""


class TooComplex(YamlTooComplex):
    """Aliases that expand beyond the limits (a "billion laughs"), or an alias inside itself."""


class _Block(str):
    """A multi-line string, written as a literal block."""


def _typed(value: str) -> str | None:
    """The canonical text of a plain scalar that is not a string (null, boolean, number), else None."""
    first = value[:1]
    if first.isalpha() and first not in "nNtTfF":  # the common case: only these letters start one
        return None
    if _NULL.match(value):
        return "null"
    if _BOOL.match(value):
        return value.lower()
    if _INT.match(value):
        return str(int(value, 0) if value[:2] in ("0o", "0x") else int(value))
    if _FLOAT.match(value):
        lowered = value.lower()
        if lowered.endswith(".nan"):
            return ".nan"
        if lowered.endswith(".inf"):
            return "-.inf" if value.startswith("-") else ".inf"
        return repr(float(value))
    return None


@functools.lru_cache(maxsize=8192)  # keys and many values repeat across a workspace's files
def _scalar(value: str, plain: bool) -> str:
    """The canonical text of a scalar (a _Block for a multi-line string)."""
    if plain:
        typed = _typed(value)
        if typed is not None:
            return typed
    if "\n" in value:
        return _Block(value)
    if _PLAIN_SAFE.match(value) and _typed(value) is None:  # written plain, it reads back as this string
        return value
    return json.dumps(value, ensure_ascii=False)


class _Expansion:
    """What a file weighs once its aliases are expanded (dumping writes every alias out in full).

    Each node weighs 1 plus its children; an alias weighs what its anchor weighs. Seven lines of
    nested aliases weigh billions: counted as the events arrive, the parse stops at the limit."""

    def __init__(self, name: str) -> None:
        limits = current_limits()
        self.name = name or "a YAML file"
        self.max_nodes, self.max_aliases = limits.yaml_max_nodes, limits.yaml_max_aliases
        self.total = 0
        self.aliases = 0
        self.weights: dict[str, int] = {}
        self.open: set[str] = set()

    def alias(self, anchor: str) -> int:
        self.aliases += 1
        if anchor in self.open:
            raise TooComplex(f"{self.name}: the alias *{anchor} is inside its own anchor (a recursive document).")
        if self.aliases > self.max_aliases:
            raise self._fail(f"more than {self.max_aliases} aliases", "yaml_max_aliases", self.max_aliases)
        return self.weights.get(anchor, 1)

    def add(self, weight: int, parent: list[Any] | None) -> None:
        if parent is None:
            self.total += weight
            value = self.total
        else:
            parent[2] += weight
            value = parent[2]
        if value > self.max_nodes or self.total > self.max_nodes:
            raise self._fail(
                f"more than {self.max_nodes} nodes once its aliases are expanded", "yaml_max_nodes", self.max_nodes
            )

    def _fail(self, problem: str, key: str, value: int) -> TooComplex:
        return TooComplex(
            f"{self.name}: {problem} (an alias bomb?); it is not diffed.",
            hint=f"If the file is genuine, raise {key} (now {value}) in the [limits] section of the configuration.",
        )


def parse(text: str, name: str = "") -> list[Any]:
    """The documents of ``text`` as dicts, lists and scalars in their canonical text.

    Alias expansion is bounded (``[limits] yaml_max_nodes``, ``yaml_max_aliases``): ``TooComplex``
    names the file ``name``."""
    docs: list[Any] = []
    stack: list[list[Any]] = []  # [container, pending key or _NO_KEY, weight, anchor]
    anchors: dict[str, Any] = {}
    expansion = _Expansion(name)

    def add(node: Any) -> None:
        if not stack:
            docs.append(node)
            return
        top = stack[-1]
        container = top[0]
        if container.__class__ is list:
            container.append(node)
        elif top[1] is _NO_KEY:
            if not isinstance(node, str) or node.__class__ is _Block:
                raise Unsupported("a mapping, a sequence or a multi-line string used as a key")
            top[1] = node
        else:
            container[top[1]] = node
            top[1] = _NO_KEY

    loader = _Parser(text)
    try:
        while True:
            event = loader.get_event()
            kind = event.__class__
            weight = 1
            if kind is ScalarEvent:
                if event.tag and event.tag != "!":
                    raise Unsupported(f"tag {event.tag}")
                node: Any = _scalar(event.value, plain=not event.style)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.tag:
                    raise Unsupported(f"tag {event.tag}")
                node = {} if kind is MappingStartEvent else []
                if event.anchor:
                    anchors[event.anchor] = node
                    expansion.open.add(event.anchor)
                add(node)
                stack.append([node, _NO_KEY, 1, event.anchor])
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                _, _, weight, anchor = stack.pop()
                if anchor:
                    expansion.open.discard(anchor)
                    expansion.weights[anchor] = weight
                expansion.add(weight, stack[-1] if stack else None)
                continue
            elif kind is AliasEvent:
                weight = expansion.alias(event.anchor)
                node = anchors[event.anchor]
            elif kind is StreamEndEvent:
                return docs
            else:  # stream and document boundaries
                continue
            if event.anchor:
                anchors[event.anchor] = node
            expansion.add(weight, stack[-1] if stack else None)
            add(node)
    finally:
        loader.dispose()


def check_expansion(text: str, name: str = "") -> None:
    """The same bound for a file the fallback (PyYAML) will load: events only, tags allowed."""
    stack: list[list[Any]] = []
    expansion = _Expansion(name)
    loader = _Parser(text)
    try:
        while True:
            event = loader.get_event()
            kind = event.__class__
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor:
                    expansion.open.add(event.anchor)
                stack.append([None, None, 1, event.anchor])
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                _, _, weight, anchor = stack.pop()
                if anchor:
                    expansion.open.discard(anchor)
                    expansion.weights[anchor] = weight
                expansion.add(weight, stack[-1] if stack else None)
            elif kind is AliasEvent:
                expansion.add(expansion.alias(event.anchor), stack[-1] if stack else None)
            elif kind is ScalarEvent:
                expansion.add(1, stack[-1] if stack else None)
            elif kind is StreamEndEvent:
                return
    finally:
        loader.dispose()


def dump(doc: Any) -> str:
    """Block style, sorted keys, two spaces, sequences in a mapping at the key's column (as PyYAML)."""
    out: list[str] = []
    if isinstance(doc, (dict, list)) and doc:
        _node(doc, "", out)
    else:
        _value(None, doc, "", out)
    return "\n".join(out) + "\n"


def dump_all(docs: list[Any]) -> str:
    return "---\n".join(dump(doc) for doc in docs) or "null\n"


def canonical(text: str) -> str:
    return dump_all(parse(text))


def _node(node: Any, indent: str, out: list[str]) -> None:
    if node.__class__ is dict:
        for key in sorted(node):
            _value(f"{indent}{key}:", node[key], indent, out, in_mapping=True)
    else:
        for item in node:
            _value(f"{indent}-", item, indent, out, in_mapping=False)


def _value(head: str | None, value: Any, indent: str, out: list[str], *, in_mapping: bool = False) -> None:
    prefix = f"{head} " if head else ""
    child = indent + "  "
    if isinstance(value, str):
        if value.__class__ is _Block:
            out.append(prefix + _block_header(value))
            out.extend(child + line if line else "" for line in _block_lines(value))
        else:
            out.append(prefix + value)
    elif not value:
        out.append(prefix + ("{}" if value.__class__ is dict else "[]"))
    elif in_mapping and value.__class__ is list:
        out.append(head or "")
        _node(value, indent, out)  # "key:\n- item": sequences sit at the key's column
    elif in_mapping:
        out.append(head or "")
        _node(value, child, out)
    else:  # "- key: value" or "- - item": the first line goes beside the dash
        nested: list[str] = []
        _node(value, child, nested)
        out.append(prefix + nested[0][len(child) :])
        out.extend(nested[1:])


def _block_header(value: str) -> str:
    chomp = "-" if not value.endswith("\n") else ("+" if value.endswith("\n\n") else "")
    first = value.split("\n", 1)[0]
    return "|" + ("2" if first[:1] == " " else "") + chomp


def _block_lines(value: str) -> list[str]:
    body = value[:-1] if value.endswith("\n") else value
    return body.split("\n")
