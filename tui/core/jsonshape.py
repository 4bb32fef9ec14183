"""One JSON shape per type, declared by the type itself: a dataclass that derives from ``Exported``
gets its ``to_json`` from its fields (camelCase names, in field order), so a field added is exported
and the shape cannot drift from the class. What a plain walk of the fields cannot say is declared once
in its ``JSON = Shape(...)``: ``computed`` (properties to add, ``state``), ``omit_none`` (keys left out
when None), ``rename`` and ``exclude``. Types whose JSON is not their fields (a summary built from
several objects) keep a hand-written ``to_json``; tui/cli/exporters.py holds the exporters of the
types that have none (a server's workspace, event, version) and the registry the CLI prints through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class Shape:
    computed: tuple[str, ...] = ()  # properties exported after the fields
    omit_none: tuple[str, ...] = ()  # fields left out when None (an optional key)
    rename: Mapping[str, str] = field(default_factory=dict)  # field -> key, where camelCase is not the name
    exclude: tuple[str, ...] = ()  # fields that are not part of the JSON


def value_of(value: Any) -> Any:
    """A value as JSON: a nested type by its own shape, a path as text, a tuple as a list."""
    if hasattr(value, "to_json") and not isinstance(value, type):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): value_of(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [value_of(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): value_of(item) for key, item in value.items()}
    return value


def shape(obj: Any, declared: Shape) -> dict[str, Any]:
    """``obj``'s fields and computed properties as JSON, as ``declared``."""
    names = [f.name for f in fields(obj) if f.name not in declared.exclude] + list(declared.computed)
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        if value is None and name in declared.omit_none:
            continue
        data[declared.rename.get(name, camel(name))] = value_of(value)
    return data


class Exported:
    """Mixin of a dataclass whose JSON is its fields (see the module docstring)."""

    JSON: ClassVar[Shape] = Shape()

    def to_json(self) -> dict[str, Any]:
        return shape(self, self.JSON)
