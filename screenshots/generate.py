"""Regenerate the README screenshots from the demo: ``python screenshots/generate.py``.

It seeds the three demo instances with a frozen clock (so dates are stable), drives the app with
Textual's Pilot, and saves one SVG per screen in this folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def main() -> None:
    os.environ["PRISME_SANDBOX_CLOCK"] = "2026-03-02T09:00:00Z"
    os.environ["TZ"] = "UTC"  # tables show local times: the same screenshots on every host
    time.tzset()
    os.environ["PRISME_DEPLOY_REASON"] = "INC-4211"  # production asks why: the dialogs show a reason
    root = Path(tempfile.mkdtemp(prefix="prisme-deploy-shots-"))
    os.environ["PRISME_DEPLOY_DATA"] = str(root / "data")
    from tui.app.app import PrismeDeployApp
    from tui.core import config as cfg
    from tui.core.api.client import PrismeClient
    from tui.core.ops.context import Context
    from tui.core.secrets import env_var_name
    from tui.sandbox.demo import DemoPlatform
    from tui.sandbox.seed import seed_demo_platform

    seed_demo_platform(root / "platform")
    demo = DemoPlatform(root=root / "platform")
    from tui.sandbox.demo import FLEET, STARTUP_ROLLOUT
    from tui.sandbox.runner import start_in_thread

    for name in FLEET:  # the demo's fleet: copies of prod, as DemoPlatform.start makes them
        shutil.copytree(root / "platform" / "prod", root / "platform" / name, symlinks=True)
    try:
        for number, name in enumerate(("dev", "staging", "prod", *FLEET)):
            token = f"at:demo-{name}-screenshots"
            # prod boots as after an image rollout (its startup import), as the demo's does: a rollback
            # there is undone by the next restart, which the rollback dialog says (and offers to stick).
            environ = STARTUP_ROLLOUT if name == "prod" else {}
            demo.instances[name] = start_in_thread(
                root / "platform" / name, token, name=name, port=39501 + number, environ=environ
            )
            os.environ[env_var_name(name)] = token
        config = cfg.parse(demo.config_toml())

        def app(env: str = "prod") -> PrismeDeployApp:
            ctx = Context.create(config, use_keyring=False)
            return PrismeDeployApp(ctx, initial_env=env, clock=lambda: datetime(2026, 3, 2, 9, 30))

        async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
            from textual.worker import WorkerCancelled

            for _ in range(3):
                try:
                    await pilot.app.workers.wait_for_complete()
                except WorkerCancelled:
                    pass  # an exclusive worker replaced by a newer one: waited for on the next round
                await pilot.pause(0.2)

        async def shot(name: str, the_app: PrismeDeployApp, size: tuple[int, int], steps) -> None:  # type: ignore[no-untyped-def]
            async with the_app.run_test(size=size) as pilot:
                await settle(pilot)
                await steps(pilot)
                the_app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
            print(f"screenshots/{name}.svg")

        async def nothing(pilot) -> None:  # type: ignore[no-untyped-def]
            return None

        async def rollback(pilot) -> None:  # type: ignore[no-untyped-def]
            # A real rollback (to a version older than live) that the next restart would undo: the dialog
            # shows the AT RISK warning and the box that makes it stick.
            table = pilot.app.query_one("#workspaces")
            table.move_cursor(row=table.get_row_index("knowledge-base"))
            await settle(pilot)
            versions = pilot.app.query_one("#versions")
            versions.focus()
            versions.move_cursor(row=versions.get_row_index("v1.1.0"))
            await pilot.press("r")
            await settle(pilot)
            await pilot.press(*"knowledge-ba")
            await pilot.pause()

        async def bulk(pilot) -> None:  # type: ignore[no-untyped-def]
            dev = demo.instances["dev"]
            async with PrismeClient(dev.url, dev.token) as api:
                events = [
                    e
                    async for e in api.bulk_push(
                        repository_id="release", groups=["base2", "extended"], name="v1.3.0", force=True
                    )
                ]
            pilot.app.runner.queue("dev", events)  # the whole stream, as it came (one burst)
            await pilot.pause(0.3)
            await pilot.press("ctrl+r")  # the table then shows what the push did (last push v1.3.0)
            await settle(pilot)

        async def help_screen(pilot) -> None:  # type: ignore[no-untyped-def]
            await pilot.press("question_mark")
            await pilot.pause()

        async def diff(pilot) -> None:  # type: ignore[no-untyped-def]
            table = pilot.app.query_one("#workspaces")
            table.move_cursor(row=table.get_row_index("hr-assistant"))
            await settle(pilot)
            await pilot.press("d")
            await settle(pilot)
            await pilot.press("down")
            await pilot.pause()

        await shot("main", app(), (120, 36), nothing)
        await shot("main-80x24", app(), (80, 24), nothing)
        await shot("rollback-prod", app(), (120, 36), rollback)
        await shot("bulk-push", app("dev"), (120, 36), bulk)
        await shot("help", app(), (120, 36), help_screen)
        await shot("diff", app(), (140, 36), diff)
    finally:
        demo.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
