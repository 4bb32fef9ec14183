"""scripts/realplatform.py itself: a second server beside the session's, its output, and a stop by PID."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from realplatform_env import load_script


@pytest.mark.real
def test_a_second_server_runs_beside_the_first_says_where_the_token_is_and_stops_by_pid(
    real_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    state = tmp_path / "second"
    assert script.main(["start", "--state-dir", str(state)]) == 0
    out, err = capsys.readouterr()
    server = script.Server.load(state)
    try:
        token = server.token()
        # (booleans first: an assertion that fails must not print the token either)
        shaped, unprinted = token.startswith("at:"), token not in out + err
        assert shaped and unprinted, "start must print where the token is, never the token"
        assert f"url: {server.url}" in out and str(server.token_file) in out
        assert oct(server.token_file.stat().st_mode & 0o777) == "0o600"
        assert set(server.ports.values()).isdisjoint(real_server.ports.values())  # ports chosen at start
        me = httpx.get(f"{server.url}/v2/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200
        assert script.main(["status", "--state-dir", str(state)]) == 0
        capsys.readouterr()
        assert script.main(["token", "--state-dir", str(state)]) == 0
        printed = capsys.readouterr().out.strip() == token
        assert printed, "`token` prints the token alone"
    finally:
        pids = [int(entry[0]) for entry in server.pids.values()]
        assert script.main(["stop", "--state-dir", str(state)]) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"pid {pid} still running"
    assert script.main(["status", "--state-dir", str(state)]) == 1
    assert script.main(["token", "--state-dir", str(state)]) == 1  # the token file went with the server
    # the session's server was not touched
    assert httpx.get(f"{real_server.url}/v2/me", timeout=10).status_code == 401


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_tarball_is_found_from_the_environment_and_its_absence_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = load_script()
    monkeypatch.setenv("PRISME_REALPLATFORM", str(tmp_path))
    with pytest.raises(
        script.RealPlatformError, match=r"no prismeai-2024-services\.tar\.gz at .*set PRISME_REALPLATFORM"
    ):
        script.find_tarball()
    (tmp_path / script.TARBALL).write_bytes(b"x")
    assert script.find_tarball() == tmp_path / script.TARBALL
    assert script.build_dir().name.startswith(script.digest(tmp_path / script.TARBALL)[:16])  # keyed by the digest


@pytest.mark.real
def test_a_port_taken_between_choosing_and_binding_is_retried_on_other_ports(
    real_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another suite on the host took redis's port after it was chosen: the start goes on with new ports."""
    script = load_script()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    chosen = iter([[taken.getsockname()[1], *script._free_ports(3)]])
    free_ports = script._free_ports
    monkeypatch.setattr(script, "_free_ports", lambda count: next(chosen, None) or free_ports(count))
    said: list[str] = []
    state = tmp_path / "retry"
    try:
        server = script.start(state, log=said.append)
        assert server.ports["redis"] != taken.getsockname()[1]
        assert any("redis exited at start" in line and "trying again on other ports" in line for line in said)
        assert script.status(state)[0]
    finally:
        script.stop(state, log=lambda _message: None)
        taken.close()
