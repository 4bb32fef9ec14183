"""Starting the app: on the user's configuration, or on the embedded three-instance demo."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.cli import exits
from tui.core import config as cfg
from tui.core import paths
from tui.core.errors import PrismeError
from tui.core.ops.context import Context
from tui.core.secrets import env_var_name

if TYPE_CHECKING:
    import argparse  # the app's options come without it (tui.cli.main.app_options)
    from types import SimpleNamespace


def run_app(args: argparse.Namespace | SimpleNamespace) -> int:
    try:
        config = cfg.load(paths.config_path(getattr(args, "config", None)))
    except PrismeError as exc:  # a broken config file: say where, change nothing
        print(f"prisme-deploy: {exc}", file=sys.stderr)
        return exits.code_for(exc)
    ctx = Context.create(config, read_only=bool(getattr(args, "read_only", False)))
    try:  # the team policy (issue 28) binds the app's changes as the CLI's: one gate reads it
        from tui.core.ops import policy

        policy.enforce(ctx)
    except PrismeError as exc:
        print(f"prisme-deploy: {exc}", file=sys.stderr)
        return exits.code_for(exc)
    from tui.app.app import PrismeDeployApp

    app = PrismeDeployApp(ctx)
    return app.run(mouse=not getattr(args, "no_mouse", False)) or 0


def run_demo(args: argparse.Namespace) -> int:
    """Start dev, staging and prod on loopback; a throwaway config and the demo tokens, never the user's.

    Its temporary folders go when it stops: on ``q``, and on SIGHUP (the terminal closed, an SSH drop)
    or SIGTERM, which ask the app to exit as ``q`` does."""
    from tui.sandbox.demo import DemoPlatform, Hangup, stop_on_signals

    running: list[Any] = []  # the app, once made: a signal asks it to exit

    def quit_app(code: int) -> None:
        app = running[0] if running else None
        if app is None or not app.is_running:
            raise Hangup(code)
        app.call_later(app.exit, code)

    with stop_on_signals(quit_app):
        demo = DemoPlatform.start(
            getattr(args, "data", None),
            realism=getattr(args, "realism", None),
            faults=getattr(args, "demo_faults", None),
        )
        home = Path(tempfile.mkdtemp(prefix="prisme-deploy-demo-config-"))
        try:
            return _run_demo_app(args, demo, home, running)
        finally:
            demo.stop()
            shutil.rmtree(home, ignore_errors=True)


def _run_demo_app(args: argparse.Namespace, demo: Any, home: Path, running: list[Any]) -> int:
    config_file = home / "config.toml"
    config_file.write_text(demo.config_toml(), encoding="utf-8")
    if getattr(args, "write_config", None):  # the CLI, in another terminal, against this demo
        from tui.cli.sandbox_cmds import write_demo_config

        write_demo_config(demo, args.write_config)
    os.environ["PRISME_DEPLOY_DATA"] = str(home / "data")  # audit and snapshots of the demo stay in the demo
    for name, token in demo.tokens().items():
        os.environ[env_var_name(name)] = token
    config = cfg.load(config_file)
    ctx = Context.create(config, read_only=bool(getattr(args, "read_only", False)), use_keyring=False)
    from tui.app.app import PrismeDeployApp

    app = PrismeDeployApp(
        ctx,
        initial_env="prod",
        demo_note="Demo: dev, staging, prod and a fleet (prod-eu, prod-us) run on loopback; prod is protected "
        + (
            f"(type the slug to confirm); resumed from {demo.root} as it was. ? for keys."
            if getattr(demo, "resumed", False)
            else "(type the slug to confirm) and just ran its startup import: press A. ? for keys."
        )
        + (f" The CLI: source {args.write_config}.env" if getattr(args, "write_config", None) else ""),
    )
    running.append(app)
    return app.run(mouse=not getattr(args, "no_mouse", False)) or 0
