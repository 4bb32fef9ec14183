"""scripts/realplatform.py itself: a second server beside the session's, its output, and a stop by PID."""

from __future__ import annotations

import json
import socket
import subprocess
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


# Watches one MongoDB client of the gateway's own driver (mongodb 6) until `beats` heartbeats succeed, or the
# monitor fails / the pool is cleared: what holds every query of that client for 500 ms.
MONITOR = r"""
const { MongoClient } = require('mongodb');
const [url, options, beats] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3])];
const client = new MongoClient(url, { heartbeatFrequencyMS: 500, ...options });
let succeeded = 0;
const end = (what) => { console.log(what); client.close().finally(() => process.exit(0)); };
client.on('serverHeartbeatFailed', (event) => end(`failed: ${event.failure}`));
client.on('connectionPoolCleared', () => end('pool cleared'));
client.on('serverHeartbeatSucceeded', () => { if (++succeeded >= beats) end('steady'); });
client.connect().catch((error) => end(`no connection: ${error}`));
"""


def _monitor(gateway_dir: Path, url: str, options: dict[str, str]) -> str:
    run = subprocess.run(
        ["node", "-e", MONITOR, url, json.dumps(options), "4"],
        cwd=gateway_dir,  # resolves the gateway's mongodb, not the workspace root's older one
        capture_output=True,
        text=True,
        timeout=60,
    )
    return (run.stdout + run.stderr).strip()


@pytest.mark.real
def test_the_gateways_user_storage_keeps_its_mongodb_connections(real_server: Any, tmp_path: Path) -> None:
    """CongoDB cannot stream the driver's monitoring: without polling, every second the gateway's users client
    dropped its pool and held queries (a 0.5 s stall on any authenticated request, bench/realserver.py)."""
    script = load_script()
    built = script.build_dir()
    gateway = script._service_env(built, tmp_path, real_server.ports)["gateway"]
    prefix = "USERS_STORAGE_OPT_"  # the gateway's extractOptsFromEnv: the rest of the name, its case kept
    options = {name[len(prefix) :]: value for name, value in gateway.items() if name.startswith(prefix)}
    gateway_dir, url = (
        built / "tree" / "services" / "api-gateway",
        f"mongodb://127.0.0.1:{real_server.ports['mongo']}/users",
    )
    assert _monitor(gateway_dir, url, options) == "steady"
    # The driver's default against CongoDB: the defect the option avoids (so this test can fail without it).
    assert "moreToCome" in _monitor(gateway_dir, url, {})


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
