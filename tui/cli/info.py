"""`prisme-deploy info`: every path in use, the keyring's state, and versions. The first thing to paste
into a bug report (like `k9s info`); `--json` for tools. Never prints a token: only the names of the
token variables that are set.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from tui import __version__
from tui.core import paths


def _version(package: str) -> str:
    try:
        return metadata.version(package)  # not an import: Textual is not loaded to learn its version
    except metadata.PackageNotFoundError:
        return "not installed"


def _path(path: Path, source: str) -> dict[str, Any]:
    return {"path": str(path), "exists": path.exists(), "source": source}


def _config_source(explicit: str | None) -> str:
    if explicit:
        return "flag --config"
    return "environment PRISME_DEPLOY_CONFIG" if os.environ.get("PRISME_DEPLOY_CONFIG") else "default"


def _env_source(var: str) -> str:
    return f"environment {var}" if os.environ.get(var) else "default"


def _keyring(config_path: Path, timeout: float) -> dict[str, Any]:
    from tui.core import config as cfg
    from tui.core.secrets import TokenStore

    try:
        store = cfg.load(config_path).secrets_store
    except cfg.ConfigError as exc:
        return {"backend": "unknown", "state": "config error", "message": exc.message}
    result = TokenStore(use_keyring=store != "none", timeout=timeout).keyring_probe()
    return {"backend": result.backend, "state": result.status.value, "message": result.message(timeout=timeout)}


def collect(explicit_config: str | None = None, *, keyring_timeout: float = 5.0) -> dict[str, Any]:
    config = paths.config_path(explicit_config)
    data = paths.data_dir()
    return {
        "version": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "textual": _version("textual"),
        "platform": platform.platform(),
        "paths": {
            "config": _path(config, _config_source(explicit_config)),
            "data": _path(data, _env_source("PRISME_DEPLOY_DATA")),
            "audit": _path(paths.audit_path(), "data"),
            "snapshots": _path(paths.snapshots_dir(), "data"),
            "cache": _path(paths.cache_dir(), _env_source("PRISME_DEPLOY_CACHE")),
        },
        "keyring": _keyring(config, keyring_timeout),
        "tokenVariables": sorted(k for k, v in os.environ.items() if k.startswith("PRISME_DEPLOY_TOKEN") and v),
        "ci": bool(os.environ.get("CI")),
    }


def render(info: dict[str, Any]) -> str:
    lines = [
        f"prisme-deploy  {info['version']}",
        f"python         {info['python']}",
        f"textual        {info['textual']}",
        f"platform       {info['platform']}",
    ]
    for name, entry in info["paths"].items():
        missing = "" if entry["exists"] else " (not created yet)"
        lines.append(f"{name + ' path':14} {entry['path']}{missing}  [{entry['source']}]")
    keyring = info["keyring"]
    lines.append(f"keyring        {keyring['state']} ({keyring['backend']})")
    if keyring["state"] != "ok":
        lines.append(f"               {keyring['message']}")
    lines.append(f"token vars     {', '.join(info['tokenVariables']) or 'none set'}")
    lines.append(f"ci             {'yes' if info['ci'] else 'no'}")
    return "\n".join(lines) + "\n"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="paths, keyring state and versions (paste it into a bug report)",
        description="Print every path prisme-deploy uses, the keyring backend and its state, and versions.",
    )
    # SUPPRESS: an absent --config after the command must not erase one given before it.
    p.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="configuration file (default: PRISME_DEPLOY_CONFIG or the user config); also accepted before the command",
    )
    p.add_argument("--json", action="store_true", help="one JSON document")
    from tui.cli import jqfilter

    jqfilter.add_flag(p)
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from tui.cli.output import Printer

    info = collect(args.config)
    printer = Printer(json_mode=bool(args.json), jq=getattr(args, "jq", None))
    if printer.json_mode:
        printer.data(info)
    else:
        sys.stdout.write(render(info))
    return 0
