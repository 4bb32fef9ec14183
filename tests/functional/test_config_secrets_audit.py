"""Configuration (validation, round-trip writes), tokens (real Secret Service), the audit journal."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tui.core import config as cfg
from tui.core.audit import AuditLog
from tui.core.secrets import KeyringStatus, TokenStore, env_var_name, redact

GOOD = """# our platforms
[environments.dev]   # the sandbox
url = "https://api.dev.example.com"
tier = "development"

[environments.prod]
url = "https://api.example.com"
tier = "production"
repositories = ["release"]

[groups.base1]
labels = ["production:app:base1"]
"""


def test_core_imports_without_textual() -> None:
    code = (
        "import sys; import tui.core.api, tui.core.config, tui.core.secrets, tui.core.audit, tui.core.ops.actions, "
        "tui.core.ops.bulk, tui.core.ops.health, tui.core.diff, tui.cli.commands; "
        "assert not [m for m in sys.modules if m.startswith('textual')], 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parse_defaults_and_protection() -> None:
    config = cfg.parse(GOOD)
    assert config.environments["prod"].protected and not config.environments["dev"].protected
    assert config.environments["prod"].repositories == ("release",)
    assert config.groups["base1"].labels == ("production:app:base1",)


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        ("[environments.dev\nurl = 1", "not valid TOML", None),
        (GOOD + '\n[environments.qa]\nurl = "https://qa"\ntier = "stagin"\n', "Did you mean 'staging'", 16),
        (GOOD.replace('tier = "development"', 'tier = "development"\ntimout = 30'), "Did you mean 'timeout'", 5),
        (GOOD.replace('tier = "production"', 'tier = "production"\nprotected = "yes"'), "must be true or false", 9),
        (GOOD + '\n[environments.x]\nurl = "https://x"\napi_token = "at:abc"\n', "looks like a secret", 16),
        (GOOD + "\n[enviroments.y]\n", "Did you mean 'environments'", 14),
        (GOOD + '\n[environments.z]\ntier = "staging"\n', "needs a url", 14),
    ],
)
def test_validation_errors_name_file_line_and_fix(tmp_path: Path, text: str, expected: str, line: int | None) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(cfg.ConfigError) as info:
        cfg.parse(text, path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line:
        assert info.value.line == line


def test_secret_key_points_to_login() -> None:
    with pytest.raises(cfg.ConfigError) as info:
        cfg.parse('[environments.x]\nurl = "https://x"\npassword = "hunter2"\n')
    assert "prisme-deploy login" in (info.value.hint or "")


def test_unknown_environment_suggests() -> None:
    with pytest.raises(cfg.ConfigError, match="Did you mean 'prod'"):
        cfg.parse(GOOD).env("prd")


def test_edits_keep_comments_and_are_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    editor = cfg.ConfigEditor(path)
    editor.set_environment("staging", {"url": "https://api.staging.example.com", "tier": "staging"})
    editor.save()
    text = path.read_text()
    assert "# our platforms" in text and "# the sandbox" in text and "[environments.staging]" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.load(path).environments["staging"].tier == "staging"
    editor = cfg.ConfigEditor(path)
    editor.remove_environment("dev")
    editor.save()
    assert "environments.dev" not in path.read_text() and "# our platforms" in path.read_text()


def test_invalid_edit_leaves_file_untouched(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "config.toml"
    path.write_text(GOOD)
    before = path.read_bytes()
    editor = cfg.ConfigEditor(path)
    editor.set_environment("bad", {"url": "ftp://nope"})
    with pytest.raises(cfg.ConfigError, match="must start with https"):
        editor.save()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary file left behind


def test_broken_file_is_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[environments.dev\n")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.ConfigEditor(path)
    assert path.read_text() == "[environments.dev\n"


# ------------------------------------------------------------------------------------------------ tokens
def test_env_var_name() -> None:
    assert env_var_name("eu-west.prod") == "PRISME_DEPLOY_TOKEN_EU_WEST_PROD"


def test_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", "at:from-env-123456")
    assert TokenStore().resolve("prod") == ("at:from-env-123456", "environment")


def test_null_backend_is_disabled_and_session_only() -> None:
    store = TokenStore(timeout=5)
    assert store.keyring_probe().status is KeyringStatus.DISABLED
    result = store.save("prod", "at:session-only-123456")
    assert not result.persisted and "session only" in result.message
    assert store.resolve("prod") == ("at:session-only-123456", "session")


def test_no_dbus_is_no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import reset_keyring

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    reset_keyring()
    probe = TokenStore(timeout=5).keyring_probe()
    assert probe.status is KeyringStatus.NO_BACKEND
    assert "dbus-run-session" in probe.message("prod")
    reset_keyring()


def test_bad_backend_setting_does_not_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import reset_keyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no.such.Backend")
    reset_keyring()
    assert TokenStore(timeout=5).keyring_probe().status is KeyringStatus.NO_BACKEND
    reset_keyring()


def test_real_keyring_round_trip(real_keyring: object) -> None:
    store = TokenStore(timeout=10)
    assert store.keyring_probe().usable
    assert store.save("prod", "at:prod-secret-987654").persisted
    assert store.save("staging", "at:staging-secret-555").persisted
    fresh = TokenStore(timeout=10)  # as after a restart
    assert fresh.resolve("prod") == ("at:prod-secret-987654", "keyring")
    looked_up = subprocess.run(
        ["secret-tool", "lookup", "service", "prisme-deploy", "username", "staging"],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    assert looked_up.stdout.strip() == "at:staging-secret-555"
    assert fresh.delete("prod").persisted
    assert fresh.delete("prod").persisted  # idempotent
    assert TokenStore(timeout=10).resolve("prod") == (None, "missing")


def test_locked_keyring_is_reported_fast(real_keyring: object) -> None:
    import secretstorage
    from conftest import reset_keyring
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(real_keyring.address) as conn:  # type: ignore[attr-defined]
        secretstorage.get_default_collection(conn).lock()
    reset_keyring()
    probe = TokenStore(timeout=5).keyring_probe()
    assert probe.status is KeyringStatus.LOCKED
    assert "gnome-keyring-daemon --replace --unlock" in probe.message("prod")


def test_redact() -> None:
    text = "Authorization: Bearer at:abcdefgh12345 and x-token sekrit-token-1"
    cleaned = redact(text, ["sekrit-token-1"])
    assert "abcdefgh12345" not in cleaned and "sekrit-token-1" not in cleaned


# ------------------------------------------------------------------------------------------------ audit
def test_audit_records_outcomes_and_filters(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", tokens=["at:never-logged-123"])
    with log.record("rollback", "prod", "https://x", targets=["bot"], version="v1") as entry:
        entry.details["note"] = "with token at:never-logged-123"
    with pytest.raises(RuntimeError), log.record("push", "dev", targets=["bot"]):
        raise RuntimeError("boom")
    entries = log.read()
    assert [e["action"] for e in entries] == ["push", "rollback"]
    assert entries[0]["outcome"] == "failed" and entries[0]["details"]["error"] == "boom"
    assert entries[1]["outcome"] == "ok" and entries[1]["user"]
    assert [e["env"] for e in log.read(env="prod")] == ["prod"]
    assert "never-logged" not in (tmp_path / "audit.jsonl").read_text()
    assert stat.S_IMODE((tmp_path / "audit.jsonl").stat().st_mode) == 0o600
