"""`prisme-deploy config validate|show|schema`: check the file, show every value with its source, and
print the JSON Schema that editors use to validate and complete it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from tui.cli import jqfilter
from tui.cli.exits import EXIT_OK, EXIT_USAGE
from tui.cli.output import Printer
from tui.core import config as cfg
from tui.core import paths

UI_DEFAULTS: dict[str, Any] = {key: s.default for key, s in cfg.UI_SETTINGS.items() if s.default is not None}


# ------------------------------------------------------------------ `env add/edit`: one flag per declared key
def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def add_env_flags(parser: argparse.ArgumentParser) -> None:
    """``--KEY`` for every environment key declared with ``flag`` (tui/core/config.py): a yes/no for a
    switch, the choices of a choice, a number for a number, comma-separated names for a list."""
    for key in cfg.ENV_FLAGS:
        spec = cfg.ENV_SETTINGS[key]
        options: dict[str, Any] = {"dest": key, "help": _flag_help(spec)}
        if spec.kind is bool:
            options["choices"] = ("yes", "no")
        elif spec.choices:
            options["choices"] = spec.choices
        elif spec.kind in (int, float, (int, float)):
            options["type"] = int if spec.kind is int else float
        if spec.example or spec.kind is list:
            options["metavar"] = spec.example or "A,B"
        parser.add_argument(flag_name(key), **options)


def _flag_help(spec: Any) -> str:
    default = spec.default_for({})
    if spec.default_from is not None or default in (None, "", ()):
        return spec.help
    shown = {True: "yes", False: "no"}.get(default, default) if spec.kind is bool else default
    return f"{spec.help} (default: {shown})"


def env_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings `env add|edit` was given, as the file holds them (an option left out is None: unchanged)."""
    values: dict[str, Any] = {}
    for key in cfg.ENV_FLAGS:
        value, kind = getattr(args, key, None), cfg.ENV_SETTINGS[key].kind
        if value is None or value == "":
            values[key] = None
        elif kind is bool:
            values[key] = value == "yes"
        elif kind is list:
            values[key] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            values[key] = value
    return values


def _config_file(explicit: str | None) -> tuple[Path, str]:
    if explicit:
        return paths.config_path(explicit), "flag"
    return paths.config_path(None), "environment" if os.environ.get("PRISME_DEPLOY_CONFIG") else "default"


class _Sources:
    """Entries of `config show`: each value with where it came from (file with its line, default...)."""

    def __init__(self, text: str, data: dict[str, Any]) -> None:
        self.text, self.data = text, data
        self.entries: list[dict[str, Any]] = []

    def add(self, key: str, value: Any, source: str, line: int | None = None) -> None:
        entry: dict[str, Any] = {"key": key, "value": list(value) if isinstance(value, tuple) else value}
        entry["source"] = source
        if line:
            entry["line"] = line
        self.entries.append(entry)

    def table(self, table: str, raw: dict[str, Any], values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in raw:
                self.add(f"{table}.{key}", value, "file", cfg._line_of(self.text, table, key))
            else:
                self.add(f"{table}.{key}", value, "default")


def entries(config: cfg.Config, text: str, file: Path, file_source: str) -> list[dict[str, Any]]:
    import tomllib

    data = tomllib.loads(text) if text else {}
    out = _Sources(text, data)
    out.add("file", str(file), file_source)
    out.add("paths.data", str(paths.data_dir()), "environment" if os.environ.get("PRISME_DEPLOY_DATA") else "default")
    out.add(
        "paths.cache", str(paths.cache_dir()), "environment" if os.environ.get("PRISME_DEPLOY_CACHE") else "default"
    )
    for name, env in config.environments.items():
        fields = {f.name: getattr(env, f.name) for f in dataclasses.fields(env) if f.name != "name"}
        out.table(f"environments.{name}", data["environments"][name], fields)
    for name, group in config.groups.items():
        out.table(f"groups.{name}", data["groups"][name], {"labels": group.labels})
    for rid, repo in config.repositories.items():
        fields = {f.name: getattr(repo, f.name) for f in dataclasses.fields(repo) if f.name != "id"}
        out.table(f"repositories.{rid}", data["repositories"][rid], fields)
    for number, promo in enumerate(config.promotions, start=1):
        out.add(f"promotions.{number}", {"from": promo.source, "to": promo.target}, "file")
    out.table("keymap", config.keymap, dict(config.keymap))
    out.table("ui", config.ui, {**UI_DEFAULTS, **config.ui})
    out.table("secrets", data.get("secrets") or {}, {"store": config.secrets_store})
    snaps = {"keep": config.snapshot_keep, "max_mb": config.snapshot_max_mb, "enabled": config.snapshots_enabled}
    out.table("snapshots", data.get("snapshots") or {}, snaps)
    out.table("diff", data.get("diff") or {}, {"tool": config.diff_tool})
    _pager(out)
    return out.entries


def _pager(out: _Sources) -> None:
    from tui.cli import pager

    if "PRISME_DEPLOY_PAGER" in os.environ:
        out.add("pager", os.environ["PRISME_DEPLOY_PAGER"], "environment")
    elif os.environ.get("PAGER"):
        out.add("pager", os.environ["PAGER"], "environment")
    else:
        out.add("pager", pager.DEFAULT, "default")


def cmd_validate(args: argparse.Namespace, printer: Printer) -> int:
    file, _source = _config_file(args.config)
    try:
        config = cfg.load(file, missing_ok=False)
    except cfg.ConfigError as exc:
        if printer.json_mode:
            printer.error(
                {
                    "valid": False,
                    "file": str(file),
                    "line": exc.line,
                    "key": exc.key,
                    "message": exc.message,
                    "hint": exc.hint,
                }
            )
        else:
            printer.note(f"error: {exc.message}")
            if exc.hint:
                printer.note(f"hint: {exc.hint}")
        return EXIT_USAGE
    problem = _deeper_problem(config)
    if problem is not None:
        if printer.json_mode:
            printer.error({"valid": False, "file": str(file), "message": problem.message, "hint": problem.hint})
        else:
            printer.note(f"error: {problem.message}")
            if problem.hint:
                printer.note(f"hint: {problem.hint}")
        return EXIT_USAGE
    if printer.json_mode:
        printer.data({"valid": True, "file": str(file), "environments": sorted(config.environments)})
    else:
        printer.line(f"{file}: valid ({len(config.environments)} environment(s), {len(config.groups)} group(s))")
    return EXIT_OK


def _deeper_problem(config: cfg.Config) -> Any:
    """What the file's tables mean, checked as the commands that use them will: [[rollout]] stages and
    [[smoke]] tests (tui.core.ops.rollout), and the pager command from the environment."""
    from types import SimpleNamespace

    from tui.cli.pager import pager_command
    from tui.core.errors import UsageError
    from tui.core.ops import rollout

    shim = SimpleNamespace(config=config, env=config.env)
    try:
        if config.rollout:
            rollout.stages(shim)  # type: ignore[arg-type]
        if config.smoke:
            rollout.smokes(shim)  # type: ignore[arg-type]
        pager_command()
    except UsageError as exc:
        return exc
    return None


def cmd_show(args: argparse.Namespace, printer: Printer) -> int:
    file, source = _config_file(args.config)
    try:
        text = file.read_text(encoding="utf-8") if file.exists() else ""
        config = cfg.parse(text, file)
    except (OSError, UnicodeDecodeError) as exc:
        printer.note(f"error: cannot read {file}: {exc}.")
        return EXIT_USAGE
    except cfg.ConfigError as exc:
        printer.note(f"error: {exc.message}")
        return EXIT_USAGE
    shown = entries(config, text, file, source)
    if printer.json_mode:
        printer.data(shown)
        return EXIT_OK
    for entry in shown:
        where = entry["source"] + (f":{entry['line']}" if "line" in entry else "")
        printer.line(f"{entry['key']} = {json.dumps(entry['value'], default=str)}  ({where})")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, printer: Printer) -> int:
    from tui.core.config_schema import schema

    if printer.jq is not None:
        printer.data(schema())
    else:
        sys.stdout.write(json.dumps(schema(), indent=2) + "\n")
    return EXIT_OK


def _run(handler: Any) -> Any:
    def main(args: argparse.Namespace) -> int:
        printer = Printer(json_mode=bool(getattr(args, "json", False)), jq=getattr(args, "jq", None))
        return int(handler(args, printer))

    return main


def add_parser(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="check the configuration, show its values and sources, print its schema")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    for name, handler, text in (
        ("validate", cmd_validate, "check the file (exit 2 with file:line and what is wrong)"),
        ("show", cmd_show, "every value with its source: file (with line), default, environment or flag"),
        ("schema", cmd_schema, "a JSON Schema of the file, for editors (Taplo: a `#:schema PATH` first line)"),
    ):
        p = config_sub.add_parser(name, help=text, description=text)
        # SUPPRESS: an absent --config after the command must not erase one given before it.
        p.add_argument(
            "--config",
            default=argparse.SUPPRESS,
            help="configuration file (default: PRISME_DEPLOY_CONFIG or the user config); also accepted before "
            "the command",
        )
        if name != "schema":
            p.add_argument("--json", action="store_true", help="one JSON document")
        jqfilter.add_flag(p)
        p.set_defaults(func=_run(handler))
