"""Starting the app: on the user's configuration, or on the embedded three-instance demo."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tui.core import config as cfg
from tui.core import paths
from tui.core.api.errors import PrismeError
from tui.core.ops.context import Context
from tui.core.secrets import env_var_name


def run_app(args: argparse.Namespace) -> int:
    try:
        config = cfg.load(paths.config_path(getattr(args, "config", None)))
    except PrismeError as exc:  # a broken config file: say where, change nothing
        print(f"prisme-deploy: {exc}", file=sys.stderr)
        return exc.exit_code
    ctx = Context.create(config, read_only=bool(getattr(args, "read_only", False)))
    from tui.app.app import PrismeDeployApp

    app = PrismeDeployApp(ctx)
    return app.run(mouse=not getattr(args, "no_mouse", False)) or 0


def run_demo(args: argparse.Namespace) -> int:
    """Start dev, staging and prod on loopback; a throwaway config and the demo tokens, never the user's."""
    from tui.sandbox.demo import DemoPlatform

    demo = DemoPlatform.start(getattr(args, "data", None), realism=getattr(args, "realism", None))
    home = Path(tempfile.mkdtemp(prefix="prisme-deploy-demo-config-"))
    try:
        config_file = home / "config.toml"
        config_file.write_text(demo.config_toml(), encoding="utf-8")
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
            "(type the slug to confirm) and just ran its startup import: press A. ? for keys.",
        )
        return app.run(mouse=not getattr(args, "no_mouse", False)) or 0
    finally:
        demo.stop()
        import shutil

        shutil.rmtree(home, ignore_errors=True)
