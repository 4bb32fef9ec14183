"""`prisme-deploy info`: every path in use, the keyring's state, and versions. The first thing to paste
into a bug report (like `k9s info`); `--json` for tools. Never prints a token: only the names of the
token variables that are set.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tui import __version__
from tui.core import paths


def _version(package: str) -> str:
    # Loaded here, not with the module: every command builds `info`'s parser, and importlib.metadata with
    # the email package it pulls in cost each of them (`bulk-push` in CI: bench/, against curl -N).
    from importlib import metadata

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


PROBE_DEADLINE = 20.0  # per environment: info must end even when an instance does not answer


def _capabilities(config_path: Path) -> dict[str, Any]:
    """Each configured environment with a token: its health and what the instance offers, detected with
    read-only requests (tui.core.ops.health.detect), and what the tool does without what it lacks."""
    import asyncio

    from tui.core import config as cfg
    from tui.core.errors import PrismeError
    from tui.core.ops import health
    from tui.core.ops.context import Context

    try:
        config = cfg.load(config_path, missing_ok=True)
    except cfg.ConfigError:
        return {}
    if not config.environments:
        return {}
    ctx = Context.create(config)

    async def one(name: str) -> dict[str, Any]:
        try:
            if not ctx.tokens.resolve(name)[0]:
                return {"state": "no token: not probed"}
            async with asyncio.timeout(PROBE_DEADLINE):
                found = await health.check_env(ctx, name, capabilities=True)
        except TimeoutError:
            return {"state": f"no answer within {PROBE_DEADLINE:g} s: not probed"}
        except PrismeError as exc:
            return {"state": exc.message}
        return {"state": found.label, "capabilities": found.capabilities or {}}

    async def every() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(one(name) for name in config.environments)))

    return dict(zip(config.environments, asyncio.run(every()), strict=True))


def collect(explicit_config: str | None = None, *, keyring_timeout: float = 5.0, probe: bool = True) -> dict[str, Any]:
    import platform  # only `info` needs it (see _version)

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
        "environments": _capabilities(config) if probe else {},
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
    for env, found in info.get("environments", {}).items():
        lines.append(f"{'env ' + env:14} {found['state']}")
        lines.extend(_capability_lines(found.get("capabilities") or {}))
    return "\n".join(lines) + "\n"


def _capability_lines(capabilities: dict[str, Any]) -> list[str]:
    """What the instance offers, then for each thing it lacks (or that is unknown) what the tool does."""
    offered = [name for name, c in capabilities.items() if c.get("offered") is True]
    lines = [f"{'':15}offers: {', '.join(offered) or 'nothing detected'}"] if capabilities else []
    for name, c in capabilities.items():
        if c.get("offered") is not True:
            state = "no" if c.get("offered") is False else "unknown"
            lines.append(f"{'':15}{name} ({state}): {c.get('whatFollows', '')}")
    return lines


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
    p.add_argument(
        "--no-probe",
        action="store_true",
        help="do not contact the configured environments (their detected capabilities are left out)",
    )
    from tui.cli import jqfilter

    jqfilter.add_flag(p)
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from tui.cli.output import Printer

    info = collect(args.config, probe=not args.no_probe)
    printer = Printer(json_mode=bool(args.json), jq=getattr(args, "jq", None))
    if printer.json_mode:
        printer.data(info)
    else:
        from tui.core.text import terminal_safe

        sys.stdout.write(terminal_safe(render(info)))  # an environment's state can carry server text
    return 0
