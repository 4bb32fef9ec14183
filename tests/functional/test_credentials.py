"""Credentials for CI that expire: a service account's secret or a job's id_token traded for a short-lived token
(issue 28, item 7), against the sandbox's implementation of both endpoints."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui.cli.main import main
from tui.core.config import ConfigError
from tui.core.config import load as load_config
from tui.core.credentials import expires_in, jwt_expiry, parse_auth, secret_var
from tui.sandbox.identity import sign_hs256
from tui.sandbox.runner import Running


def _admin(sandbox: Running, path: str, body: dict) -> dict:
    answer = httpx.post(sandbox.url + path, json=body, headers={"Authorization": f"Bearer {sandbox.token}"})
    answer.raise_for_status()
    return answer.json()


def _config(tmp_path: Path, url: str, auth: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[environments.ci]\nurl = "{url}"\nauth = {auth}\n')
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- the core
def test_auth_is_validated_with_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[environments.ci]\nurl = "https://api.example.com"\nauth = { method = "password" }\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:3" in str(caught.value) and "service-account" in str(caught.value)
    assert parse_auth({"method": "token-exchange", "provider": "gh"}).describe() == "token exchange (gh)"
    with pytest.raises(ValueError, match="unknown key 'provider'"):
        parse_auth({"method": "service-account", "org": "a", "account": "b", "provider": "x"})
    with pytest.raises(ValueError, match="ttl"):
        parse_auth({"method": "service-account", "org": "a", "account": "b", "ttl": 5})


def test_the_secret_variable_follows_the_token_variable_naming() -> None:
    assert secret_var("prod-eu", "service-account") == "PRISME_DEPLOY_CLIENT_SECRET_PROD_EU"
    assert secret_var("prod-eu", "token-exchange") == "PRISME_DEPLOY_ID_TOKEN_PROD_EU"


def test_expiry_words_and_jwt_claims() -> None:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert expires_in(now + timedelta(minutes=55), now) == "expires in 55 min"
    assert expires_in(now - timedelta(hours=3), now) == "EXPIRED 3 h ago"
    assert expires_in(None) == "expiry unknown"
    token = sign_hs256({"exp": 1_900_000_000}, b"k")
    assert jwt_expiry(token) == datetime.fromtimestamp(1_900_000_000, UTC)
    assert jwt_expiry("at:opaque-personal-token") is None
    assert jwt_expiry("a.%%%.c") is None


# ---------------------------------------------------------------------------------------------- service accounts
def test_a_service_account_secret_runs_a_ci_job_and_status_shows_the_expiry(
    sandbox: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _admin(sandbox, "/sandbox/service-accounts", {"org": "acme", "slug": "ci-deployer"})["clientSecret"]
    config = _config(tmp_path, sandbox.url, '{ method = "service-account", org = "acme", account = "ci-deployer" }')
    monkeypatch.setenv("PRISME_DEPLOY_CLIENT_SECRET_CI", secret)
    code, out, err = _cli(capsys, "--config", str(config), "status", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["state"] == "up" and row["user"] == "sa:acme/ci-deployer@sandbox.local"
    assert row["tokenSource"] == "service account acme/ci-deployer"
    expires = datetime.fromisoformat(row["tokenExpires"].replace("Z", "+00:00"))
    assert timedelta(minutes=50) < expires - datetime.now(UTC) <= timedelta(hours=1)  # the default TTL
    code, out, err = _cli(capsys, "--config", str(config), "status")
    assert code == 0 and "service account acme/ci-deployer, expires in" in out
    assert secret not in out + err
    code, out, _ = _cli(capsys, "--config", str(config), "workspaces", "--env", "ci", "--json")
    assert code == 0 and json.loads(out)


def test_a_wrong_secret_is_an_authentication_failure_that_names_the_variable_not_the_secret(
    sandbox: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _admin(sandbox, "/sandbox/service-accounts", {"org": "acme", "slug": "ci"})
    config = _config(tmp_path, sandbox.url, '{ method = "service-account", org = "acme", account = "ci" }')
    monkeypatch.setenv("PRISME_DEPLOY_CLIENT_SECRET_CI", "sas_acme_wrong-secret-value")
    code, out, err = _cli(capsys, "--config", str(config), "workspaces", "--env", "ci")
    assert code == 3, (out, err)
    assert "PRISME_DEPLOY_CLIENT_SECRET_CI" in err and "refused" in err
    assert "wrong-secret-value" not in out + err


def test_a_token_is_minted_once_per_run_and_again_when_it_is_about_to_expire(
    sandbox: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from tui.core.ops.context import Context

    secret = _admin(sandbox, "/sandbox/service-accounts", {"org": "acme", "slug": "ci"})["clientSecret"]
    monkeypatch.setenv("PRISME_DEPLOY_CLIENT_SECRET_CI", secret)
    minted = sandbox.sandbox.identity.expiry

    async def two_reads(ttl: int) -> int:
        config = _config(
            tmp_path, sandbox.url, f'{{ method = "service-account", org = "acme", account = "ci", ttl = {ttl} }}'
        )
        ctx = Context.create(load_config(config), use_keyring=False)
        before = len(minted)
        for _ in range(2):
            async with ctx.client("ci") as client:
                await client.me()
        return len(minted) - before

    assert asyncio.run(two_reads(3600)) == 1  # cached for the run
    assert asyncio.run(two_reads(60)) == 2  # within a minute of its end: a fresh one before each request


def test_an_expired_minted_token_is_refused_by_the_platform(sandbox: Running) -> None:
    secret = _admin(sandbox, "/sandbox/service-accounts", {"org": "acme", "slug": "ci"})["clientSecret"]
    token = httpx.post(
        sandbox.url + "/v2/orgs/acme/service-accounts/ci/token", json={"clientSecret": secret, "expiresIn": 60}
    ).json()["accessToken"]
    assert httpx.get(sandbox.url + "/v2/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    sandbox.sandbox.identity.expiry[token] = time.time() - 1  # its hour is over
    assert httpx.get(sandbox.url + "/v2/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# ---------------------------------------------------------------------------------------------- token exchange
def test_a_ci_jobs_id_token_is_exchanged_for_a_prisme_token(
    sandbox: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _admin(sandbox, "/sandbox/providers", {"slug": "github-actions"})
    key = bytes.fromhex(provider["signingKey"])
    id_token = sign_hs256(
        {"sub": "repo:acme/flows", "aud": provider["clientId"], "exp": int(time.time()) + 300, "email": "ci@acme.io"},
        key,
    )
    config = _config(tmp_path, sandbox.url, '{ method = "token-exchange", provider = "github-actions" }')
    monkeypatch.setenv("PRISME_DEPLOY_ID_TOKEN_CI", id_token)
    code, out, err = _cli(capsys, "--config", str(config), "status", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["tokenSource"] == "token exchange (github-actions)" and row["tokenExpires"]
    assert id_token not in out + err

    # A token for another audience, or one already expired, is refused: exit 3, said.
    stale = sign_hs256({"sub": "x", "aud": provider["clientId"], "exp": int(time.time()) - 5}, key)
    monkeypatch.setenv("PRISME_DEPLOY_ID_TOKEN_CI", stale)
    code, _, err = _cli(capsys, "--config", str(config), "workspaces", "--env", "ci")
    assert code == 3 and "token exchange (github-actions)" in err


def test_an_explicit_token_variable_wins_over_a_declared_credential(
    sandbox: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, sandbox.url, '{ method = "service-account", org = "acme", account = "none" }')
    monkeypatch.setenv("PRISME_DEPLOY_CLIENT_SECRET_CI", "sas_acme_unused")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_CI", sandbox.token)
    code, out, err = _cli(capsys, "--config", str(config), "status", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["tokenSource"] == "environment"


# ---------------------------------------------------------------------------------------------- the published server
@pytest.mark.real
def test_the_published_server_has_no_minting_routes_and_says_to_use_a_personal_token(
    real: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its /v2/me says no expiry for a personal token: `status` says "expiry unknown", never a guess.
    code, out, err = _cli(capsys, "status", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["tokenSource"] == "environment" and row["tokenExpires"] is None
    # A service account declared against it: 404 "Route not found", said as such, exit 3.
    text = real.config.read_text(encoding="utf-8").replace(
        'tier = "development"\n',
        'tier = "development"\nauth = { method = "service-account", org = "o", account = "a" }\n',
    )
    real.config.write_text(text, encoding="utf-8")
    monkeypatch.delenv("PRISME_DEPLOY_TOKEN_REAL")
    monkeypatch.setenv("PRISME_DEPLOY_CLIENT_SECRET_REAL", "sas_o_0000")
    code, _, err = _cli(capsys, "workspaces", "--env", "real")
    assert code == 3 and "does not offer service account" in err and "PRISME_DEPLOY_TOKEN_REAL" in err
