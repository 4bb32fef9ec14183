"""How one key of the configuration file is declared: a ``Setting``, once, beside its value.

A key is one entry: a dataclass field declared with ``setting(...)`` (``[environments.NAME]`` in
``tui/core/config.py``, ``[limits]`` in ``tui/core/limits.py``), or one row of a section's table of
``Setting`` (``[ui]``, ``[snapshots]``... in config.py). From that entry alone come the validator's key
table, type and range (``config.parse``, with file:line errors), the default, the JSON schema (`config
schema`), the `env add/edit` flags (``tui/cli/config_cmds.py``) and the app's environment form
(``tui/app/controllers/environments.py``); tests/unit/test_config_declared.py checks that they agree.

Dataclass fields were chosen over msgspec Structs: the dataclasses already exist (``Environment``,
``Limits``) and are used everywhere, the stdlib carries the metadata, and the validator's file:line
messages ("did you mean", the line of the key) stay ours instead of a decoder's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

Kind = type | tuple[type, ...]
SETTING = "setting"  # the key of a field's metadata that holds its Setting
NUMBER = (int, float)  # a key that takes a whole number or not (held as a float)


@dataclass(frozen=True)
class Setting:
    """One key: what its value must be and where it is offered.

    ``default`` is the value when the key is absent (already as the program holds it: a tuple for a
    list); ``default_from`` replaces it where the default depends on the rest of the table (``protected``
    follows ``tier``). ``range`` bounds a number, both ends inclusive; ``choices`` lists the allowed
    strings. ``flag``: `env add/edit` offers ``--KEY`` (environments only; a list is comma-separated);
    ``form``: the label of the app's environment form, empty for none. ``read``: a reader for a value
    that needs more than its type checked (a URL, freeze windows), called as ``read(table, check, where)``.
    ``schema``: what the JSON schema says beyond the type, range, choices and default."""

    kind: Kind
    default: Any = None
    help: str = ""
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    example: str = ""  # a value to show: in the "needs" message, the flag's metavar, the form's placeholder
    flag: bool = True
    form: str = ""
    default_from: Callable[[Mapping[str, Any]], Any] | None = None
    read: Callable[[Mapping[str, Any], Any, str], Any] | None = None
    schema: Mapping[str, Any] = field(default_factory=dict)

    def default_for(self, table: Mapping[str, Any]) -> Any:
        return self.default_from(table) if self.default_from is not None else self.default

    def convert(self, value: Any) -> Any:
        """A checked value as the program holds it (a list as a tuple, a whole number as a float where
        the key takes both)."""
        if self.kind == (int, float):
            return float(value)
        if self.kind is list:
            return tuple(value)
        return value


def setting(kind: Kind, default: Any = MISSING, **declared: Any) -> Any:
    """A dataclass field declared with its Setting; the field's default is the key's (none: required)."""
    meta = {SETTING: Setting(kind, None if default is MISSING else default, required=default is MISSING, **declared)}
    return field(metadata=meta) if default is MISSING else field(default=default, metadata=meta)


def declared(cls: type) -> dict[str, Setting]:
    """The keys a dataclass declares, in field order."""
    return {f.name: f.metadata[SETTING] for f in fields(cls) if SETTING in f.metadata}


def kinds(table: Mapping[str, Setting]) -> dict[str, Kind]:
    return {key: s.kind for key, s in table.items()}


def ranges(*tables: Mapping[str, Setting]) -> dict[str, tuple[float, float]]:
    return {key: s.range for table in tables for key, s in table.items() if s.range is not None}
