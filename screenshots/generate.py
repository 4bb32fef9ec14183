"""Regenerate the README screenshots from the demo: ``python screenshots/generate.py``.

It seeds the three demo instances with a frozen clock (so dates are stable), drives the app with
Textual's Pilot, and saves one SVG per screen in this folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def main() -> None:
    os.environ["PRISME_SANDBOX_CLOCK"] = "2026-03-02T09:00:00Z"
    root = Path(tempfile.mkdtemp(prefix="prisme-deploy-shots-"))
    os.environ["PRISME_DEPLOY_DATA"] = str(root / "data")
    from tui.app.app import PrismeDeployApp
    from tui.app.messages import BulkUpdate
    from tui.core import config as cfg
    from tui.core.api.client import PrismeClient
    from tui.core.ops.context import Context
    from tui.core.secrets import env_var_name
    from tui.sandbox.demo import DemoPlatform
    from tui.sandbox.seed import seed_demo_platform

    seed_demo_platform(root / "platform")
    demo = DemoPlatform(root=root / "platform")
    from tui.sandbox.runner import start_in_thread

    import shutil

    from tui.sandbox.demo import FLEET

    for name in FLEET:  # the demo's fleet: copies of prod, as DemoPlatform.start makes them
        shutil.copytree(root / "platform" / "prod", root / "platform" / name, symlinks=True)
    try:
        for number, name in enumerate(("dev", "staging", "prod", *FLEET)):
            token = f"at:demo-{name}-screenshots"
            demo.instances[name] = start_in_thread(
                root / "platform" / name, token, name=name, port=39501 + number, environ={}
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
            table = pilot.app.query_one("#workspaces")
            table.move_cursor(row=table.get_row_index("support-bot"))
            await settle(pilot)
            versions = pilot.app.query_one("#versions")
            versions.focus()
            versions.move_cursor(row=versions.get_row_index("v1.2.0"))
            await pilot.press("r")
            await settle(pilot)
            await pilot.press(*"support-bo")
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
            pilot.app.post_message(BulkUpdate("dev", events[:5]))  # as one burst of the stream
            await pilot.pause(0.3)

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
