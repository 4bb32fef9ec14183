"""One canonical text per YAML document, for diffs: keys sorted, one quoting style, one layout.

Prisme.ai reads DSUL with a YAML 1.2 parser, so two files are the same when their YAML 1.2 (core
schema) values are: ``'x'`` and ``x`` are one string, ``42`` and ``"42"`` are not, ``yes`` and ``on``
are strings (PyYAML's YAML 1.1 resolver would make them booleans). Scalars are written in their
canonical form (``null``, ``true``, ``1.5``, a string plain when that reads back as the same string,
else double-quoted, a multi-line string as a literal block).

Speed (bench/: diff): block YAML as exports write it is read by ``parse_simple`` (below), line by line,
with no event objects; anything else by ``parse``: libyaml's event parser does the scanning, the tree is
built from its events in one pass and written back by hand, which is about twice as fast as PyYAML's
load + dump for the same result. Anything outside plain data (tags, complex keys) raises
``Unsupported`` and the caller falls back to PyYAML.
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

from tui.core.errors import YamlTooComplex
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
    if first.isalpha() and (first not in "nNtTfF" or len(value) > 5):  # the common case: only null, true
        return None  # and false (5 letters at most) start with a letter
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


def dump(doc: Any, memo: dict[int, list[str]] | None = None) -> str:
    """Block style, sorted keys, two spaces, sequences in a mapping at the key's column (as PyYAML).

    ``memo`` (shared by the two sides of a diff) keeps the lines of the outer sequences' items by identity:
    an item ``parse_simple`` shared between the sides is written once."""
    out: list[str] = []
    if isinstance(doc, (dict, list)) and doc:
        if memo is None:
            _node(doc, "", out)
        elif isinstance(doc, dict):
            for key in sorted(doc):
                value = doc[key]
                if value.__class__ is list and value:
                    out.append(f"{key}:")
                    _items(value, out, memo)  # as _value's "key:\n- item" at column 0
                else:
                    _value(f"{key}:", value, "", out, in_mapping=True)
        else:
            _items(doc, out, memo)
    else:
        _value(None, doc, "", out)
    return "\n".join(out) + "\n"


def _items(items: list[Any], out: list[str], memo: dict[int, list[str]]) -> None:
    """A sequence's items at column 0, as ``_node`` writes them; a container item's lines remembered by its
    identity (the trees stay alive, and unchanged, while the memo does)."""
    for item in items:
        lines = memo.get(id(item))
        if lines is None:
            lines = []
            _value("-", item, "", lines, in_mapping=False)
            if item.__class__ is dict or item.__class__ is list:
                memo[id(item)] = lines
        out.extend(lines)


def dump_all(docs: list[Any], memo: dict[int, list[str]] | None = None) -> str:
    return "---\n".join(dump(doc, memo) for doc in docs) or "null\n"


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


# ------------------------------------------------------------------------------------------------ fast path
# Exports are block YAML as a YAML writer prints it: one entry per line, plain or quoted one-line scalars,
# literal blocks. ``parse_simple`` reads exactly that subset line by line (no event objects: about 3-5x
# faster than the libyaml event loop above, see bench/: diff) and gives the same tree as ``parse``; anything
# outside the subset (comments, flow collections, anchors, tags, multi-line plain or quoted scalars,
# folded blocks, tabs, CRLF, several documents, odd indentation) returns None and ``parse`` decides,
# errors included. tests/unit/test_diff_fast.py checks both give the same canonical text on random trees.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")  # tab, CR...
_MARKS = re.compile(r"(?:^|[ ])#|^(?:---|\.\.\.)(?:[ ]|$)|^%", re.M)  # a comment, a document, a directive
# "key:" or "key: value", the key a plain scalar (no indicator first, not ending in a space, no ": ").
_ENTRY = re.compile(r"((?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-[^\s\[\]{},#])[^\n]*?)(?<! ):(?: +(.*))?$")
_PLAIN_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@`")
_DOUBLE_OK = re.compile(r'(?:[^"\\]|\\["\\bfnrt]|\\u(?![dD][89abAB])[0-9a-fA-F]{4})*')


class _Outside(Exception):
    """The text leaves the subset ``parse_simple`` reads."""


Memo = dict[tuple[int, str], tuple[Any, int]]  # (column, an item's lines) -> (its tree, its node count)
MEMO_COLUMNS = 2  # items of sequences this far left are remembered: a file's "do:" steps, a page's blocks


def parse_simple(text: str, memo: Memo | None = None) -> list[Any] | None:
    """``parse(text)`` for block YAML of the common subset, else None (the caller uses ``parse``).

    ``memo``, shared by the two sides of a diff, holds the items of the outer sequences by their text: a
    side that repeats the other's steps (a change touches a few) reuses their trees instead of reading them
    again. Items are shared, not copied: nothing edits a tree inside a sequence (``ignore`` and the
    identity keys edit mappings reached by keys from the top)."""
    if not text.endswith("\n") or " \n" in text or _CONTROL.search(text) is not None:
        return None
    if ("#" in text or "---" in text or "..." in text or "%" in text) and _MARKS.search(text) is not None:
        return None
    reader = _Lines(text.split("\n")[:-1], {} if memo is None else memo)
    try:
        doc = reader.document()
    except (_Outside, RecursionError):
        return None
    if reader.nodes > current_limits().yaml_max_nodes:
        return None  # ``parse`` says so, with the limit's name
    return [doc]


def _is_item(text: str) -> bool:
    return text[:1] == "-" and (len(text) == 1 or text[1] == " ")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Lines:
    def __init__(self, lines: list[str], memo: Memo) -> None:
        self.lines, self.at, self.end, self.nodes, self.memo = lines, 0, len(lines), 0, memo

    def _skip_blank(self) -> None:
        while self.at < self.end and not self.lines[self.at]:
            self.at += 1

    def document(self) -> Any:
        self._skip_blank()
        if self.at >= self.end or self.lines[self.at][0] == " ":
            raise _Outside
        first = self.lines[self.at]
        node = self._sequence(0) if _is_item(first) else self._mapping(0, first)
        self._skip_blank()
        if self.at < self.end:
            raise _Outside
        return node

    def _mapping(self, col: int, text: str) -> dict[str, Any]:
        """Entries at column ``col``; the first one is ``text`` (it may follow a "- " on its line).

        A value on its key's line ends there: a deeper line after it (a continued plain scalar, or an
        error) is outside the subset, as is anything deeper than ``col`` that no "key:" opened."""
        node: dict[str, Any] = {}
        lines, end, match_entry = self.lines, self.end, _ENTRY.match
        self.nodes += 1
        while True:
            match = match_entry(text)
            if match is None or len(match[1]) > 1000:
                raise _Outside
            key = _scalar(match[1], True)
            self.nodes += 1
            self.at += 1
            rest = match[2]
            if rest is None:
                node[key] = self._value(col, None)
            elif rest[0] not in _PLAIN_FIRST and ": " not in rest and rest[-1] != ":":  # _inline's commonest case
                self.nodes += 1
                node[key] = _scalar(rest, True)
            else:
                node[key] = self._inline(col, rest)
            at = self.at
            while at < end and not lines[at]:
                at += 1
            self.at = at
            if at >= end:
                return node
            line = lines[at]
            indent = len(line) - len(line.lstrip(" "))
            if indent < col:
                return node
            text = line[col:]
            if indent > col or text[:2] == "- " or text == "-":
                raise _Outside

    def _value(self, col: int, rest: str | None) -> Any:
        """A mapping value; ``rest`` is what follows "key: " on the key's line (None: nothing)."""
        if rest is not None:
            return self._inline(col, rest)
        self._skip_blank()
        if self.at < self.end:
            line = self.lines[self.at]
            indent = _indent(line)
            text = line[indent:]
            if indent > col:
                return self._sequence(indent) if _is_item(text) else self._mapping(indent, text)
            if indent == col and _is_item(text):
                return self._sequence(indent)  # "key:\n- item": a sequence at the key's column
        self.nodes += 1
        return _scalar("", True)

    def _sequence(self, col: int) -> list[Any]:
        node: list[Any] = []
        self.nodes += 1
        while True:
            if col <= MEMO_COLUMNS:
                node.append(self._remembered_item(col))
            else:
                node.append(self._one_item(col))
            self._skip_blank()
            if self.at >= self.end:
                return node
            line = self.lines[self.at]
            indent = _indent(line)
            if indent < col:
                return node
            if indent > col:
                raise _Outside
            if not _is_item(line[col:]):
                return node  # the mapping around it goes on ("key:\n- a\nnext: 1")

    def _one_item(self, col: int) -> Any:
        text = self.lines[self.at][col:]
        if text == "-":
            self.at += 1
            return self._bare_item(col)
        rest = text[2:]
        content = rest.lstrip(" ")
        return self._item(col + 2 + len(rest) - len(content), col, content)

    def _remembered_item(self, col: int) -> Any:
        """``_one_item``, through the memo: an item is its lines up to the next one at most ``col`` deep."""
        lines, start, end = self.lines, self.at, self.end
        stop = start + 1
        while stop < end:
            line = lines[stop]
            if line and len(line) - len(line.lstrip(" ")) <= col:
                break
            stop += 1
        key = (col, "\n".join(lines[start:stop]))
        known = self.memo.get(key)
        if known is not None:
            self.at = stop
            self.nodes += known[1]
            return known[0]
        before = self.nodes
        item = self._one_item(col)
        self._skip_blank()
        if self.at != stop:  # a deeper line the item did not take: outside the subset (as the loop would say)
            raise _Outside
        self.memo[key] = (item, self.nodes - before)
        return item

    def _bare_item(self, col: int) -> Any:
        """A "-" alone on its line: a block below it, or null."""
        self._skip_blank()
        if self.at < self.end:
            line = self.lines[self.at]
            indent = _indent(line)
            if indent > col:
                text = line[indent:]
                return self._sequence(indent) if _is_item(text) else self._mapping(indent, text)
        self.nodes += 1
        return _scalar("", True)

    def _item(self, col: int, dash: int, text: str) -> Any:
        """What follows "- " (at column ``col``): a nested sequence, a mapping, or a scalar."""
        if _is_item(text):
            return self._sequence(col)
        if _ENTRY.match(text) is not None:
            return self._mapping(col, text)
        self.at += 1
        return self._inline(dash, text)

    def _inline(self, col: int, value: str) -> Any:
        """A scalar on its key's (or dash's) line; ``col``: that key's column (the caller's loop refuses a
        deeper line after it: a continuation)."""
        self.nodes += 1
        first = value[0]
        if first == "|":
            return self._literal(col, value)
        if first == "'":
            inner = value[1:-1]
            if len(value) < 2 or value[-1] != "'" or "'" in inner.replace("''", ""):
                raise _Outside
            node: Any = _scalar(inner.replace("''", "'"), False)
        elif first == '"':
            inner = value[1:-1]
            if len(value) < 2 or value[-1] != '"':
                raise _Outside
            if "\\" in inner:
                if _DOUBLE_OK.fullmatch(inner) is None:
                    raise _Outside
                inner = json.loads(value)
            elif '"' in inner:
                raise _Outside
            node = _scalar(inner, False)
        elif value == "[]":
            node = []
        elif value == "{}":
            node = {}
        else:
            indicator = first in _PLAIN_FIRST and not (first == "-" and value[1:2] not in ("", " "))  # "-5" is fine
            if indicator or ": " in value or value[-1] == ":":
                raise _Outside
            node = _scalar(value, True)
        return node

    def _literal(self, col: int, header: str) -> str:
        """A literal block (``|``, ``|-``, ``|+``): lines deeper than ``col``, indented as its first one."""
        if header not in ("|", "|-", "|+"):
            raise _Outside
        lines, at = self.lines, self.at
        while at < self.end and not lines[at]:
            at += 1
        body: list[str] = []
        if at < self.end and _indent(lines[at]) > col:
            indent = _indent(lines[at])
            at = self.at
            while at < self.end:
                line = lines[at]
                if line and _indent(line) < indent:
                    break
                body.append(line[indent:])
                at += 1
            self.at = at
        content = len(body)
        while content and not body[content - 1]:
            content -= 1
        if not content:
            if header == "|+":
                raise _Outside
            return _scalar("", False)
        text = "\n".join(body[:content])
        if header == "|":
            text += "\n"
        elif header == "|+":
            text += "\n" * (len(body) - content + 1)
        return _scalar(text, False)


# ------------------------------------------------------------------------------------------- verbatim path
# A big top-level sequence ("do:" and its steps) that is already in the canonical form needs no reading: its
# text is its canonical text. Proving it costs a few regular-expression passes in C instead of a read line by
# line in Python: every line has one of the canonical shapes below (a plain key, a scalar already written as
# ``_scalar`` writes it), and every distinct shape of an item (its text with the values replaced by ``x``) is
# what ``dump`` writes for it (which checks key order, indentation and duplicate keys).
VERBATIM_MIN_LINES = 1_000  # smaller entries are read as usual: proving costs more than it saves
_NONCANONICAL_WORD = r"(?:Null|NULL|True|TRUE|False|FALSE)"  # typed words ``_scalar`` writes in lower case
_KEY = rf"(?!{_NONCANONICAL_WORD}:)[A-Za-z_$][\w$./-]*"
_VALUE = (  # null, booleans and integers as written; [] and {}; a string that plain reads back as itself
    rf"(?:null|true|false|0|-?[1-9][0-9]*|\[\]|\{{\}}|(?!{_NONCANONICAL_WORD}$)"
    r"[^\s\-?:,\[\]{}#&*!|>'\"%@`0-9+.~][^:#\n]*(?:(?::(?! )|(?<! )#)[^:#\n]*)*(?<![\s:]))"
)
_NOT_VERBATIM = re.compile(rf"^(?!(?:  )*(?:(?:- ){{0,2}}{_KEY}:(?: {_VALUE})?|(?:- ){{1,2}}{_VALUE})$)", re.M)
_KEYED_VALUE = re.compile(r": [^\n]+")  # a line's first ": " is its key's (keys have no colon, values no ": ")
_ITEM_VALUE = re.compile(r"^((?:  )*(?:- )+)(?![^\n]*(?:: |:$))[^\n]+$", re.M)
_TOP_ENTRY = re.compile(r"\n(?=[^ \n-]|-[^ \n])")  # a line at column 0 that is not a sequence item


def split_verbatim(text: str, proven: set[str] | None = None) -> tuple[dict[str, str], str] | None:
    """The top-level entries of a block mapping that are big sequences already canonical (key -> their
    text, which is their canonical text), and the text of the other entries (to read as usual); None when
    no entry is such (or the text is outside what ``parse_simple`` reads: the caller reads it as usual).

    ``proven`` (shared by the two sides of a diff) holds the items already proven canonical: an item's
    form depends on its text alone, so the second side proves only the items the first one lacks."""
    if not text.endswith("\n") or text[:1] in (" ", "-", "\n") or " \n" in text or _CONTROL.search(text):
        return None
    if ("#" in text or "---" in text or "..." in text or "%" in text) and _MARKS.search(text) is not None:
        return None
    if 5 * text.count("\n") > current_limits().yaml_max_nodes:
        return None  # key, value and three containers a line at most: ``parse`` counts and says so
    verbatim: dict[str, str] = {}
    rest: list[str] = []
    for entry in _TOP_ENTRY.split(text[:-1]):
        key = _verbatim_key(entry, set() if proven is None else proven)
        if key is None:
            rest.append(entry + "\n")
        elif key in verbatim:
            return None  # a duplicate key: the last one counts, as ``parse_simple`` decides
        else:
            verbatim[key] = entry + "\n"
    return (verbatim, "".join(rest)) if verbatim else None


def _verbatim_key(entry: str, proven: set[str]) -> str | None:
    """The key of a "key:\\n- item..." entry whose text is canonical, else None; its items join ``proven``."""
    if entry.count("\n") < VERBATIM_MIN_LINES:
        return None
    head, _, body = entry.partition("\n")
    if head[-1:] != ":" or body[:2] != "- " or _NOT_VERBATIM.search(head) is not None:
        return None
    items = set(body[2:].split("\n- ")) - proven
    if not items:
        return head[:-1]  # every item proven already (the other side's, reordered or fewer)
    lines = "- " + "\n- ".join(items)  # the items' own lines, each item's first one with its dash
    if _NOT_VERBATIM.search(lines) is not None:
        return None
    shape = _ITEM_VALUE.sub(r"\1x", _KEYED_VALUE.sub(": x", lines[2:]))
    for item in set(shape.split("\n- ")):
        probe = f"k:\n- {item}\n"
        docs = parse_simple(probe)
        if docs is None or dump_all(docs) != probe:
            return None
    proven |= items
    return head[:-1]


def dump_around(verbatim: dict[str, str], docs: list[Any], memo: dict[int, list[str]] | None = None) -> str:
    """``dump_all`` of a mapping whose ``verbatim`` entries (``split_verbatim``) were not read: those keep
    their text, the others (``docs[0]``) are written, all in key order (a key's lines depend on it alone)."""
    written = {key: dump({key: value}, memo) for key, value in docs[0].items()}
    return "".join(verbatim.get(key) or written[key] for key in sorted(written.keys() | verbatim.keys()))
