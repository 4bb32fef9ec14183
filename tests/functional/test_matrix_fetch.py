"""The drift matrix's requests: one client (one connection pool) per environment, a bounded number of
requests in flight per host, and the same cells whatever the concurrency."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import platform_config

from tui.core import config as cfg
from tui.core.ops import matrix
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def counted(platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch) -> tuple[Context, list[str], Counter[str]]:
    """A context whose clients are real (real HTTP to the sandboxes), counted as they are made, each request
    counted while in flight (the peak per environment)."""
    root = Path(platform["dev"].sandbox.data_dir).parent
    for name, running in platform.items():
        monkeypatch.setenv(f"PRISME_DEPLOY_TOKEN_{name.upper()}", running.token)
    ctx = Context.create(cfg.parse(platform_config(platform, root)), use_keyring=False)
    made: list[str] = []
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    make = ctx.client

    def client(env: str) -> Any:
        made.append(env)
        real = make(env)
        send = real._send_once

        async def watched(*args: Any, **kwargs: Any) -> Any:
            in_flight[env] += 1
            peak[env] = max(peak[env], in_flight[env])
            try:
                return await send(*args, **kwargs)
            finally:
                in_flight[env] -= 1

        real._send_once = watched  # type: ignore[method-assign]
        return real

    ctx.client = client  # type: ignore[method-assign]
    return ctx, made, peak


async def test_one_client_per_environment_and_at_most_n_requests_in_flight_per_host(
    platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    envs = ["dev", "staging", "prod"]
    ctx, made, peak = counted(platform, monkeypatch)
    wide = await matrix.build(ctx, envs, None, concurrency=3)
    assert sorted(made) == sorted(envs)  # not one client (a new connection) per workspace
    assert max(peak.values()) == 3  # requests do overlap, and never more than the bound per host
    ctx, made, peak = counted(platform, monkeypatch)
    narrow = await matrix.build(ctx, envs, None, concurrency=1)
    assert max(peak.values()) == 1
    assert wide.slugs == narrow.slugs and len(wide.slugs) > 5
    assert {k: (c.present, c.version, c.digest, c.differs_from_left) for k, c in wide.cells.items()} == {
        k: (c.present, c.version, c.digest, c.differs_from_left) for k, c in narrow.cells.items()
    }
    assert all(c.digest for c in wide.cells.values() if c.present)


async def test_the_screens_matrix_asks_no_status_and_finds_the_same_content(
    platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix screen shows no drift count: one export per workspace, no status request."""
    envs = ["dev", "staging", "prod"]
    ctx, _made, _peak = counted(platform, monkeypatch)
    paths: list[str] = []
    make = ctx.client

    def client(env: str) -> Any:
        real = make(env)
        send = real._send_once

        async def noted(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            paths.append(path)
            return await send(method, path, *args, **kwargs)

        real._send_once = noted  # type: ignore[method-assign]
        return real

    ctx.client = client  # type: ignore[method-assign]
    lean = await matrix.build(ctx, envs, None, with_status=False)
    assert not [p for p in paths if p.endswith("/status")]
    exports = [p for p in paths if p.endswith("/export")]
    assert len(exports) == len(set(exports)) == sum(c.present for c in lean.cells.values())  # one each
    full = await matrix.build(ctx, envs, None)
    assert {k: (c.digest, c.differs_from_left) for k, c in lean.cells.items()} == {
        k: (c.digest, c.differs_from_left) for k, c in full.cells.items()
    }
