"""The sandbox under attack (issue 25): a misspelt smoke gate, faults that would make it unusable, who
may mint tokens, and secrets never readable by others."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import fresh_token

from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def call(running: Running, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or running.token}"}
    return httpx.request(method, f"{running.url}{path}", headers=headers, timeout=30, **kw)


def first_workspace(running: Running) -> str:
    return str(call(running, "GET", "/v2/workspaces").json()[0]["id"])


def test_a_smoke_test_of_a_missing_automation_is_a_404(sandbox: Running) -> None:
    answer = call(sandbox, "POST", f"/v2/workspaces/{first_workspace(sandbox)}/test/no-such-automation", json={})
    assert answer.status_code == 404, answer.text


def test_an_error_fault_on_every_path_can_still_be_switched_off(sandbox: Running) -> None:
    assert call(sandbox, "POST", "/sandbox/faults", json={"error_5xx": {"/": 503}}).status_code == 200
    assert call(sandbox, "GET", "/v2/workspaces").status_code == 503
    assert call(sandbox, "POST", "/sandbox/faults", json={"error_5xx": {}}).status_code == 200
    assert call(sandbox, "GET", "/v2/workspaces").status_code == 200


@pytest.mark.parametrize("fault", [{"latency_ms": 1e12}, {"pull_delay_ms": 10**10}, {"processing_after": 1e9}])
def test_a_fault_that_would_hang_the_sandbox_is_refused(sandbox: Running, fault: dict[str, Any]) -> None:
    answer = call(sandbox, "POST", "/sandbox/faults", json=fault)
    assert answer.status_code == 400 and "at most" in answer.text
    assert call(sandbox, "GET", "/v2/workspaces").status_code == 200


def test_only_the_admin_token_mints_users(sandbox: Running) -> None:
    user = fresh_token(sandbox)
    refused = call(sandbox, "POST", "/sandbox/users", token=user, json={"id": "sandbox-admin"})
    assert refused.status_code == 403
    assert call(sandbox, "POST", "/sandbox/users", json={"id": "carol"}).status_code == 200


def test_secrets_are_written_0600_from_their_first_byte(sandbox: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file the secret store opens while writing is created private (umask 022 would give 0644)."""
    wid = first_workspace(sandbox)
    created: list[tuple[str, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, *a: Any, **k: Any) -> int:
        fd = real_open(path, flags, mode, *a, **k)
        if "secrets.json" in str(path) and flags & os.O_CREAT:
            created.append((str(path), stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    import builtins

    real_builtin_open = builtins.open

    def spy_builtin(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        handle = real_builtin_open(file, mode, *a, **k)
        if "secrets.json" in str(file) and ("w" in mode or "x" in mode):
            created.append((str(file), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)))
        return handle

    old_umask = os.umask(0o022)
    monkeypatch.setattr(os, "open", spy)
    monkeypatch.setattr(builtins, "open", spy_builtin)
    try:
        answer = call(sandbox, "PATCH", f"/v2/workspaces/{wid}/security/secrets", json={"apiKey": {"value": "s3cr3t"}})
    finally:
        os.umask(old_umask)
    assert answer.status_code == 200, answer.text
    assert created and all(mode == 0o600 for _, mode in created), created
    final = next(Path(sandbox.sandbox.data_dir).rglob("secrets.json"))
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
