"""Add, edit and remove an environment in the configuration file, with its audit row.

Each change takes the advisory lock beside the file, re-reads the file under it (a concurrent writer's
change is never lost), checks the result as a whole (a bad URL, a duplicate token variable) before
anything touches the disk, writes atomically, then journals ``config`` with the change and the file. A
refused change leaves the file exactly as it was and journals nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.core import config as cfg
from tui.core import errors as E

if TYPE_CHECKING:
    from tui.core.ops.context import Context

ADD, EDIT, REMOVE = "add", "edit", "remove"
FIELDS = cfg.ENV_FLAGS  # what `env add/edit` and the app's form may set (declared in tui/core/config.py)


@dataclass(frozen=True)
class EnvChange:
    """A saved change: what, which environment, the file, and the configuration as now written."""

    action: str  # add | edit | remove
    name: str
    path: Path
    config: cfg.Config

    @property
    def line(self) -> str:
        """The log line both the app and the CLI print."""
        return f"configuration: {self.action} {self.name} ({self.path})"

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.action,
            "env": self.name,
            "file": str(self.path),
            "environments": sorted(self.config.environments),
        }


def config_path(ctx: Context) -> Path:
    """The file the context's configuration came from (the default location when it came from none)."""
    from tui.core import paths

    return ctx.config.path or paths.config_path()


def add(ctx: Context, name: str, values: Mapping[str, Any], path: Path | None = None) -> EnvChange:
    """Add ``[environments.NAME]``; refused when it exists (edit it) or without a URL."""
    return _change(ctx, ADD, name, path, lambda editor, known: _set(editor, known, ADD, name, values))


def edit(ctx: Context, name: str, values: Mapping[str, Any], path: Path | None = None) -> EnvChange:
    """Change the given settings of an existing environment (None: left as it is); the rest is kept."""
    return _change(ctx, EDIT, name, path, lambda editor, known: _set(editor, known, EDIT, name, values))


def remove(ctx: Context, name: str, path: Path | None = None) -> EnvChange:
    """Remove ``[environments.NAME]`` (its token stays in the keyring: `logout` removes it)."""
    return _change(ctx, REMOVE, name, path, lambda editor, known: editor.remove_environment(name))


def save(ctx: Context, name: str, values: Mapping[str, Any], path: Path | None = None) -> EnvChange:
    """Add the environment when it does not exist yet, else edit it (the app's edit dialog)."""
    return _change(
        ctx, None, name, path, lambda editor, known: _set(editor, known, _save_action(known, name), name, values)
    )


def _save_action(known: Mapping[str, cfg.Environment], name: str) -> str:
    return EDIT if name in known else ADD


def _set(
    editor: cfg.ConfigEditor, known: Mapping[str, cfg.Environment], action: str, name: str, values: Mapping[str, Any]
) -> None:
    if action == ADD and name in known:
        raise E.UsageError(f"Environment {name!r} already exists; use `env edit`.")
    if action == ADD and not values.get("url"):
        raise E.UsageError(f"Adding environment {name!r} needs a URL.")
    if action == EDIT and name not in known:
        cfg.Config(environments=dict(known)).env(name)  # raises, with "did you mean"
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise E.UsageError(f"Unknown environment setting(s): {', '.join(unknown)}.")
    editor.set_environment(name, {k: _toml(v) for k, v in values.items() if v is not None})


def _toml(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _change(
    ctx: Context,
    action: str | None,  # None: add or edit, decided under the lock
    name: str,
    path: Path | None,
    change: Callable[[cfg.ConfigEditor, Mapping[str, cfg.Environment]], None],
) -> EnvChange:
    path = path or config_path(ctx)
    with cfg.ConfigEditor.locked(path) as editor:  # read-modify-write under the lock: no lost update
        known = cfg.parse(editor.original, editor.path).environments
        action = action or _save_action(known, name)
        change(editor, known)
        new = editor.save()  # validated before anything touches the disk
    new.path = path
    with ctx.audit.record("config", name, details={"change": action, "file": str(path)}):
        pass
    return EnvChange(action, name, path, new)
