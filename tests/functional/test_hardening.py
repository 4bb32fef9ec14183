"""Hardening of issue 14 that needs no hostile server: the sanitiser, archive and YAML bounds, local
files (snapshots, audit, config) and the sandbox's own defences (points 1, 4, 5, 8-17)."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import set_faults
from waits import wait_until_sync

from tui.cli.main import main
from tui.core import config as cfg
from tui.core import errors as E
from tui.core import limits
from tui.core.api.client import PrismeClient
from tui.core.api.models import validate_version_name
from tui.core.archive import read_entries
from tui.core.diff import normalise
from tui.core.ops import actions
from tui.core.ops.context import Context
from tui.core.ops.snapshots import SnapshotStore
from tui.core.text import json_safe, one_line, terminal_safe
from tui.sandbox.runner import Running

ESCAPES = "a\x1b]52;c;eA==\x07b\x1b[2J\u009b\x7f\tc\nd"


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------ 1. the sanitiser
def test_terminal_safe_makes_every_control_visible_but_tab_and_newline() -> None:
    assert terminal_safe(ESCAPES) == "a\\x1b]52;c;eA==\\x07b\\x1b[2J\\x9b\\x7f\tc\nd"
    assert one_line(ESCAPES).endswith("\\x09c\\x0ad")
    assert json_safe(json.dumps(ESCAPES, ensure_ascii=False)) == (
        '"a\\u001b]52;c;eA==\\u0007b\\u001b[2J\\u009b\\u007f\\tc\\nd"'
    )


# ------------------------------------------------------------------------------------ 4. archive bounds
@pytest.mark.parametrize(
    ("bounds", "files", "key"),
    [
        (limits.Limits(archive_max_entries=2), {f"c/{i}.yml": b"a" for i in range(3)}, "archive_max_entries"),
        (limits.Limits(archive_entry_max_mb=1), {"c/big.yml": b"x" * (1024 * 1024 + 1)}, "archive_entry_max_mb"),
        (limits.Limits(archive_max_mb=1), {f"c/{i}.yml": os.urandom(400_000) for i in range(3)}, "archive_max_mb"),
        (limits.Limits(archive_max_ratio=10), {"c/zeros.yml": b"\0" * (3 * 1024 * 1024)}, "archive_max_ratio"),
    ],
)
def test_archives_are_read_entry_by_entry_within_limits(
    bounds: limits.Limits, files: dict[str, bytes], key: str
) -> None:
    with pytest.raises(E.ArchiveRefused) as caught:
        read_entries(zip_of(files), "the export", bounds)
    assert key in (caught.value.hint or "")
    assert read_entries(zip_of({"c/a.yml": b"a: 1\n"}), "the export", bounds) == {"c/a.yml": b"a: 1\n"}


def test_limits_come_from_the_configuration() -> None:
    config = cfg.parse("[limits]\narchive_max_entries = 3\nmax_body_mb = 64\n")
    Context.create(config, use_keyring=False)
    try:
        assert limits.current().archive_max_entries == 3 and limits.current().max_body == 64 * 1024 * 1024
    finally:
        limits.configure()


# ------------------------------------------------------------------------------------ 5. YAML alias bombs
BOMB = "\n".join(
    ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    + [f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdef", "bcdefg", strict=True)]
)


@pytest.mark.parametrize("prefix", ["", "tagged: !!str x\n"])  # the canonical writer, and the PyYAML fallback
def test_a_yaml_alias_bomb_is_bounded_and_names_the_file(prefix: str) -> None:
    started = time.monotonic()
    with pytest.raises(E.YamlTooComplex, match=r"automations/bomb\.yml: more than"):
        normalise("automations/bomb.yml", (prefix + BOMB).encode())
    assert time.monotonic() - started < 30  # a guard against a hang, not a speed assertion


def test_deep_nesting_and_reasonable_aliases_stay_fine() -> None:
    assert normalise("deep.yml", ("[" * 200 + "]" * 200).encode()).startswith("-")
    assert normalise("ok.yml", b"x: &x {a: 1}\ny: *x\n") == "x:\n  a: 1\ny:\n  a: 1\n"
    with pytest.raises(E.YamlTooComplex, match="inside its own anchor"):
        normalise("loop.yml", b"a: &a [*a]\n")


# ------------------------------------------------------------------------------------ 6. path segments
@pytest.mark.parametrize("name", [".", ".."])
def test_dot_version_names_are_invalid(name: str) -> None:
    with pytest.raises(E.InvalidVersionName):
        validate_version_name(name)


# ------------------------------------------------------------------------------------ 8-10. snapshots
def _ws(sandbox: Running, slug: str = "support-bot") -> str:
    return slug


def _config(sandbox: Running, home: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> Path:
    path = home / "config" / "prisme-deploy" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[environments.dev]\nurl = "{sandbox.url}"\n{extra}', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", sandbox.token)
    return path


async def test_restoring_the_oldest_snapshot_at_the_keep_bound_keeps_it(
    sandbox: Running, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(sandbox, isolated_home, monkeypatch, "[snapshots]\nkeep = 1\n")
    ctx = Context.create(cfg.load(path), use_keyring=False)
    async with ctx.client("dev") as client:
        ws = await client.find_workspace("support-bot")
        archive = await client.export(ws.id)
    store = SnapshotStore.for_context(ctx)
    first = store.save("dev", ws, archive, "rollback")
    outcome = await actions.restore(ctx, first.id)  # its undo point is taken first, at keep = 1
    assert outcome.ok, outcome.message
    assert first.id in {s.id for s in store.list("dev")}  # never pruned while it was being restored


def test_an_empty_or_half_written_snapshot_is_skipped_with_a_warning(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.core.api.models import Workspace

    store = SnapshotStore()
    ws = Workspace.from_json({"id": "w1", "slug": "bot"})
    good = store.save("dev", ws, zip_of({"current/index.yml": b"a: 1\n"}), "pull")
    folder = good.archive.parent
    (folder / "dev.bot.20200101T000000000000.json").write_text("")  # the disk was full
    half = store.save("dev", ws, zip_of({"current/index.yml": b"a: 2\n"}), "pull")
    half.archive.write_bytes(half.archive.read_bytes()[:10])  # an archive cut short
    assert [s.id for s in store.list()] == [good.id]
    assert len(store.warnings) == 2
    code, out, err = cli(capsys, "snapshots", "list")
    assert code == 0 and good.id in out and half.id not in out
    assert err.count("warning: skipped the unreadable snapshot") == 2
    code, _, err = cli(capsys, "snapshots", "restore", half.id, "--yes")
    assert code == 2 and "No snapshot" in err  # an unknown snapshot is a usage error, like any unknown name


def test_snapshots_are_private_from_the_first_byte(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.api.models import Workspace

    seen: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the moment the bytes are written, before any rename or chmod
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    old = os.umask(0o022)
    try:
        snap = SnapshotStore().save("dev", Workspace.from_json({"id": "w1", "slug": "bot"}), b"PK..", "pull")
    finally:
        os.umask(old)
    assert seen and set(seen) == {0o600}
    assert stat.S_IMODE(snap.archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(snap.archive.with_suffix(".json").stat().st_mode) == 0o600
    for folder in (snap.archive.parent, snap.archive.parent.parent, SnapshotStore().root):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


# ------------------------------------------------------------------------------------ 11. audit on a full disk
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to simulate a full disk")
def test_a_full_disk_for_the_audit_reports_the_real_outcome_and_exit_5(
    sandbox: Running, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(sandbox, isolated_home, monkeypatch, "snapshots = false\n")
    journal = Path(os.environ["PRISME_DEPLOY_DATA"]) / "audit.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.symlink_to("/dev/full")  # every write fails with ENOSPC
    code, out, err = cli(
        capsys,
        "rollback",
        "support-bot",
        "v1.0.0",
        "--repository",
        "release",
        "--env",
        "dev",
        "--discard-local-changes",
    )
    assert "Rolled back support-bot" in out, err  # the server did roll back: say so
    assert "warning: the audit entry for rollback on dev (ok) could not be written" in err
    assert "Traceback" not in err
    assert code == 5


# ------------------------------------------------------------------------------------ 12. concurrent writers
def test_concurrent_env_add_loses_no_entry(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"env{i:02d}" for i in range(24)]
    codes: list[int] = []

    def add(batch: list[str]) -> None:
        for name in batch:
            codes.append(main(["env", "add", name, "--url", f"https://{name}.example.com"]))

    threads = [threading.Thread(target=add, args=(names[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    capsys.readouterr()
    assert codes == [0] * len(names)
    assert sorted(cfg.load(Path(os.environ["PRISME_DEPLOY_CONFIG"])).environments) == names


# ------------------------------------------------------------------------------------ 13. config values
@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        ("environments = 5\n", "'environments' must be a table", 1),
        ("x = 1\n[ui]\nlog_lines = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply", 3),
        ('[environments.a]\nurl = "https://a.example"\ntimeout = nan\n', "'timeout' must be a number", 3),
        ('[environments.a]\nurl = "https://a.example"\ntimeout = -1\n', "'timeout' must be a number", 3),
        ('[environments.a]\nurl = "https://a.example"\ntimeout = 1e400\n', "not inf", 3),
        ("[snapshots]\nmax_mb = -5\n", "'max_mb' must be a number", 2),
        ('[environments.a]\nurl = "https://api. example.com"\n', "must not contain spaces", 2),
        ('[environments.a]\nurl = "https://me:pw@api.example.com"\n', "must not carry a user or password", 2),
        ("[limits]\nmax_body_mb = 0\n", "'max_body_mb' must be a number", 2),
    ],
)
def test_config_values_are_range_checked_with_file_and_line(
    tmp_path: Path, text: str, expected: str, line: int
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.load(path)
    assert expected in caught.value.message
    assert caught.value.message.startswith(f"{path}:{line}:")


# ------------------------------------------------------------------------------------ 14. token variables
def test_environment_names_that_share_a_token_variable_are_refused(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(cfg.ConfigError, match="PRISME_DEPLOY_TOKEN_PROD_EU"):
        cfg.parse(
            '[environments.prod-eu]\nurl = "https://a.example"\n[environments."prod.eu"]\nurl = "https://b.example"\n'
        )
    assert cli(capsys, "env", "add", "prod-eu", "--url", "https://a.example")[0] == 0
    code, _, err = cli(capsys, "env", "add", "prod_eu", "--url", "https://b.example")
    assert code == 2 and "PRISME_DEPLOY_TOKEN_PROD_EU" in err
    assert list(cfg.load(Path(os.environ["PRISME_DEPLOY_CONFIG"])).environments) == ["prod-eu"]


# ------------------------------------------------------------------------------------ 15-17. the sandbox
def _headers(sandbox: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.token}"}


@pytest.mark.parametrize(
    "rel", ["automations/%2e%2e/%2e%2e/%2e%2e/escape.yml", "automations/..%2f..%2f..%2fescape.yml"]
)
def test_sandbox_file_edits_stay_in_the_workspace(sandbox: Running, rel: str) -> None:
    ws = httpx.get(f"{sandbox.url}/v2/workspaces", params={"slug": "support-bot"}, headers=_headers(sandbox)).json()[0]
    answer = httpx.put(
        f"{sandbox.url}/sandbox/workspaces/{ws['id']}/files/{rel}", content="a: 1", headers=_headers(sandbox)
    )
    assert answer.status_code == 400
    assert not list(Path(sandbox.sandbox.data_dir).parent.rglob("escape.yml"))


def test_sandbox_import_refuses_entries_that_leave_the_workspace(sandbox: Running) -> None:
    ws = httpx.get(f"{sandbox.url}/v2/workspaces", params={"slug": "support-bot"}, headers=_headers(sandbox)).json()[0]
    archive = zip_of({"x/automations/../../../../escape.yml": b"a: 1\n", "x/index.yml": b"name: x\n"})
    answer = httpx.post(
        f"{sandbox.url}/v2/workspaces/{ws['id']}/import",
        files={"archive": ("w.zip", archive, "application/zip")},
        headers=_headers(sandbox),
    )
    assert answer.status_code == 400 and "refused" in answer.json()["message"]
    assert not list(Path(sandbox.sandbox.data_dir).parent.rglob("escape.yml"))


def test_a_wrongly_typed_fault_is_a_400_and_changes_nothing(sandbox: Running) -> None:
    for bad in ({"latency_ms": "abc"}, {"error_5xx": {"/v2": "x"}}, {"push_fail": "a"}, {"latency_ms": -1}):
        answer = httpx.post(f"{sandbox.url}/sandbox/faults", json=bad, headers=_headers(sandbox))
        assert answer.status_code == 400, bad
    assert httpx.get(f"{sandbox.url}/v2/me", headers=_headers(sandbox)).status_code == 200
    set_faults(sandbox, latency_ms=1)  # a good one still works


async def test_the_client_checks_a_dot_dot_segment_never_leaves_its_path(sandbox: Running) -> None:
    async with PrismeClient(sandbox.url, sandbox.token) as client:
        with pytest.raises(E.UsageError):
            await client.pull("..", "v1")


def test_sandbox_token_from_a_file_is_not_on_the_command_line(tmp_path: Path) -> None:
    token = "at:file-token-0123456789"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "sandbox",
            "serve",
            "--data",
            str(tmp_path / "d"),
            "--token-file",
            str(token_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(": ", 1)[1].strip()
        assert token not in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()

        def me() -> httpx.Response | None:
            try:
                return httpx.get(f"{url}/v2/me", headers={"Authorization": f"Bearer {token}"})
            except httpx.ConnectError:
                return None

        answer = wait_until_sync(me, what="the sandbox to listen")
        assert answer.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    env = {**os.environ, "PRISME_DEPLOY_SANDBOX_TOKEN": ""}
    empty = tmp_path / "empty"
    empty.write_text("")
    bad = subprocess.run(
        [sys.executable, "-m", "tui", "sandbox", "serve", "--data", str(tmp_path / "e"), "--token-file", str(empty)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert bad.returncode == 2 and "is empty" in bad.stderr


def test_every_fault_field_is_validated_and_settable() -> None:
    """A fault added to the dataclass must be known to the validator too (else a valid value is a 400)."""
    from dataclasses import fields

    from tui.sandbox.faults import Faults, _check

    for f in fields(Faults):
        current = getattr(Faults(), f.name)
        assert _check(f.name, current) == current, f.name
