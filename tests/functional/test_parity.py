"""Secrets and config parity (issue 17, part 1): names and presence across environments, never values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_contract import Contract

from tui.cli.main import main
from tui.core import config as cfg
from tui.core.ops.parity import expected
from tui.sandbox import dsul
from tui.sandbox.runner import Running

CANARY = "canary-VALUE-7f3a9c1e-do-not-print"


# ---------------------------------------------------------------------------------------------- unit
def _files(index: dict[str, Any], automations: dict[str, str] | None = None) -> dict[str, bytes]:
    files = {"index.yml": dsul.dump_yaml(index)}
    for slug, text in (automations or {}).items():
        files[f"automations/{slug}.yml"] = text.encode()
    return files


def test_declared_secrets_are_required_unless_defaulted_or_optional() -> None:
    files = _files(
        {
            "slug": "crm",
            "secrets": {
                "schema": {
                    "OPENAI_KEY": {"type": "string"},
                    "REGION": {"type": "string", "default": "eu"},
                    "SLACK_HOOK": {"type": "string"},
                    "DEBUG_TOKEN": {"type": "string"},
                }
            },
            "config": {"schema": {"apiUrl": {"type": "string"}, "retries": {"type": "number", "default": 2}}},
        },
        {"sync": "slug: sync\ndo:\n  - fetch:\n      url: '{{ config.tenantId }}/x'\n"},
    )
    items = {(e.kind, e.name): e for e in expected(files, "crm", optional=("SLACK_HOOK", "crm:DEBUG_TOKEN"))}
    assert items[("secret", "OPENAI_KEY")].required
    assert not items[("secret", "REGION")].required  # the schema gives a default
    assert not items[("secret", "SLACK_HOOK")].required and not items[("secret", "DEBUG_TOKEN")].required
    assert items[("config", "apiUrl")].required and not items[("config", "retries")].required
    assert items[("config", "tenantId")].required and items[("config", "tenantId")].source == "automations/sync.yml"
    # Another workspace's optional name does not make this one's optional.
    assert expected(files, "hr", optional=("crm:DEBUG_TOKEN",))[0].required


def test_config_takes_optional_secrets_and_platform_variables(tmp_path: Path) -> None:
    text = (
        '[environments.prod]\nurl = "https://api.example.com"\ntier = "production"\n'
        'platform_variables = ["WORKSPACE_SECRET_crm_OPENAI_KEY"]\n'
        '[parity]\noptional_secrets = ["SLACK_HOOK"]\n'
    )
    config = cfg.parse(text, tmp_path / "c.toml")
    assert config.optional_secrets == ("SLACK_HOOK",)
    assert config.environments["prod"].platform_variables == ("WORKSPACE_SECRET_crm_OPENAI_KEY",)
    # Other keys that look like secrets are still refused.
    with pytest.raises(cfg.ConfigError, match="looks like a secret"):
        cfg.parse(text + 'other_secrets = ["x"]\n', tmp_path / "c.toml")
    with pytest.raises(cfg.ConfigError, match=r"c\.toml:6: 'optional_secrets' must be a list of names"):
        cfg.parse(text.replace('["SLACK_HOOK"]', "[1]"), tmp_path / "c.toml")


# ---------------------------------------------------------------------------------------------- sandbox
def call(running: Running, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {running.token}"}
    return httpx.request(method, running.url + path, headers=headers, timeout=60, **kwargs)


def ws_id(running: Running, slug: str) -> str:
    return str(call(running, "GET", "/v2/workspaces", params={"slug": slug}).json()[0]["id"])


@pytest.fixture
def contract(openapi: dict[str, Any]) -> Contract:
    return Contract(openapi)


@pytest.mark.e2e
def test_sandbox_secrets_and_config_follow_the_spec(sandbox: Running, contract: Contract) -> None:
    wid = ws_id(sandbox, "support-bot")
    base = f"/v2/workspaces/{wid}/security/secrets"
    schema = contract.schema("/v2/workspaces/{workspaceId}/security/secrets", "get")
    assert call(sandbox, "GET", base).json() == {}
    put = call(sandbox, "PUT", base, json={"A": {"value": "1"}, "B": {"value": ["x"]}})
    assert put.status_code == 200 and sorted(put.json()) == ["A", "B"]
    contract.validate(schema, put.json())
    patched = call(sandbox, "PATCH", base, json={"C": {"value": "3"}}).json()
    assert sorted(patched) == ["A", "B", "C"]
    assert sorted(call(sandbox, "PUT", base, json={"C": {"value": "4"}}).json()) == ["C"]  # PUT replaces
    listed = call(sandbox, "GET", base).json()
    contract.validate(schema, listed)
    assert listed["C"]["value"] == "4" and listed["C"]["createdAt"]
    bad = call(sandbox, "PATCH", base, json={"D": "no object"})
    assert bad.status_code == 400 and bad.json()["error"] == "BadParametersError"
    assert call(sandbox, "DELETE", f"{base}/C").json() == {"secretName": "C"}
    assert call(sandbox, "DELETE", f"{base}/C").status_code == 404
    # Secrets never travel with the DSUL.
    call(sandbox, "PATCH", base, json={"E": {"value": CANARY}})
    export = call(sandbox, "POST", f"/v2/workspaces/{wid}/versions/current/export")
    assert CANARY.encode() not in export.content

    config = call(sandbox, "GET", f"/v2/workspaces/{wid}/config").json()
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}/config", "get"), config)
    assert config["schema"]["apiUrl"] == {"type": "string"} and "apiUrl" in config["value"]
    merged = call(sandbox, "PATCH", f"/v2/workspaces/{wid}/config", json={"value": {"tenant": "t1"}}).json()
    assert merged["value"] == {"tenant": "t1"} and "apiUrl" in merged["schema"]  # shallow: value replaced
    refused = call(sandbox, "PATCH", f"/v2/workspaces/{wid}/config", json={"other": 1})
    assert refused.status_code == 400


# ---------------------------------------------------------------------------------------------- CLI end to end
def _declare(running: Running, slug: str, secrets: dict[str, Any]) -> str:
    """A Builder user declares secrets in the workspace's index.yml (secrets.schema)."""
    wid = ws_id(running, slug)
    export = call(running, "POST", f"/v2/workspaces/{wid}/versions/current/export").content
    index = dsul.load_yaml(dsul.from_zip(export)["index.yml"])
    index["secrets"] = {"schema": secrets}
    edited = call(running, "PUT", f"/sandbox/workspaces/{wid}/files/index.yml", content=dsul.dump_yaml(index))
    assert edited.status_code == 200, edited.text
    return wid


def _set_secret(running: Running, wid: str, name: str, value: str) -> None:
    response = call(running, "PATCH", f"/v2/workspaces/{wid}/security/secrets", json={name: {"value": value}})
    assert response.status_code == 200


def _everything_written(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


@pytest.mark.e2e
def test_parity_and_promotion_refusal_name_the_secret_and_print_no_value(
    platform: dict[str, Running], configured: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging, prod = platform["staging"], platform["prod"]
    wid = _declare(staging, "hr-assistant", {"OPENAI_KEY": {"type": "string"}, "REGION": {"default": "eu"}})
    _set_secret(staging, wid, "OPENAI_KEY", CANARY)
    _set_secret(prod, ws_id(prod, "hr-assistant"), "UNRELATED", CANARY)
    outputs = []

    code = main(["parity", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant"])
    out, err = capsys.readouterr()
    outputs.append(out + err)
    assert code == 1
    row = next(line for line in out.splitlines() if "OPENAI_KEY" in line)
    assert row.split() == ["secret", "OPENAI_KEY", "yes", "✓", "✗"]
    assert "REGION" in out and "missing on prod:hr-assistant: OPENAI_KEY" in err

    code = main(["parity", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--json"])
    out, err = capsys.readouterr()
    outputs.append(out + err)
    report = json.loads(out)
    assert code == 1 and report["missingRequired"] == ["OPENAI_KEY"]
    assert {"kind": "secret", "name": "OPENAI_KEY", "required": True, "declaredIn": "secrets.schema",
            "broughtByImport": False, "staging": True, "prod": False} in report["rows"]  # fmt: skip

    before = call(prod, "GET", f"/v2/workspaces/{ws_id(prod, 'hr-assistant')}").json()
    promote = ["promote", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--yes", "--accept-drift"]
    promote += ["--reason", "CHG-17"]
    code = main(promote)
    out, err = capsys.readouterr()
    outputs.append(out + err)
    assert code == 1 and "OPENAI_KEY" in err and "--allow-missing-secrets OPENAI_KEY" in err
    assert call(prod, "GET", f"/v2/workspaces/{ws_id(prod, 'hr-assistant')}").json() == before  # nothing ran

    # Set on the platform instead (WORKSPACE_SECRET_<slug>_<NAME>, declared in the config): parity holds.
    text = configured.read_text(encoding="utf-8").replace(
        'tier = "production"', 'tier = "production"\nplatform_variables = ["WORKSPACE_SECRET_hr-assistant_OPENAI_KEY"]'
    )
    configured.write_text(text, encoding="utf-8")
    assert main(["parity", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant"]) == 0
    outputs.append("".join(capsys.readouterr()))

    configured.write_text(text.replace('platform_variables = ["WORKSPACE_SECRET_hr-assistant_OPENAI_KEY"]', ""))
    code = main([*promote, "--allow-missing-secrets", "OPENAI_KEY", "--json"])
    out, err = capsys.readouterr()
    outputs.append(out + err)
    assert code == 0 and json.loads(out)["ok"]
    journal = next(p for p in _everything_written(isolated_home) if p.name == "audit.jsonl")
    audit = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert audit[-1]["action"] == "promote" and audit[-1]["details"]["allowedMissing"] == ["OPENAI_KEY"]

    for text in outputs:
        assert CANARY not in text
    for path in _everything_written(isolated_home):
        assert CANARY.encode() not in path.read_bytes(), path


# ---------------------------------------------------------------------------------------------- fail closed (issue 24)
def test_both_schema_forms_are_read_and_required_is_honoured() -> None:
    files = _files(
        {
            "slug": "crm",
            "secrets": {
                "schema": {"OPENAI_KEY": {"type": "string"}, "SENTRY_DSN": {"type": "string", "required": False}}
            },
            "config": {
                "schema": {
                    "type": "object",
                    "properties": {"apiUrl": {"type": "string"}, "debug": {"type": "boolean"}},
                    "required": ["apiUrl"],
                }
            },
        }
    )
    items = {(e.kind, e.name): e.required for e in expected(files, "crm")}
    assert items == {
        ("secret", "OPENAI_KEY"): True,
        ("secret", "SENTRY_DSN"): False,  # required: false on a secret
        ("config", "apiUrl"): True,
        ("config", "debug"): False,  # JSON schema: not in required
    }  # and no key named "type", "properties" or "required"
    loose = _files({"secrets": {"schema": {"type": "object", "properties": {"TOKEN": {"type": "string"}}}}})
    assert [(e.name, e.required) for e in expected(loose, "x")] == [("TOKEN", True)]  # unsaid: required


def test_a_config_key_the_import_brings_along_is_not_missing_and_an_unreadable_secret_is_not_set() -> None:
    from tui.core.ops.compare import Ref
    from tui.core.ops.parity import Parity, Provided, brought_keys, refusal, rows

    files = _files({"config": {"schema": {"apiUrl": {"type": "string"}}, "value": {"apiUrl": "https://x"}}})
    items = expected(files, "crm") + expected(_files({"secrets": {"schema": {"KEY": {"type": "string"}}}}), "crm")
    source = Provided("staging", "crm", frozenset({"KEY"}), frozenset({"apiUrl"}))
    hidden = Provided("prod", "crm", frozenset(), frozenset(), secrets_known=False)  # a 200 {} to a non-owner
    found = {r.name: r for r in rows(items, source, hidden, brought_keys(files))}
    assert found["apiUrl"].brought and not found["apiUrl"].missing
    assert found["KEY"].target_has is None and found["KEY"].missing  # cannot tell is never "set"
    refused = refusal(Parity(Ref("staging", "crm"), Ref("prod", "crm"), list(found.values())), ())
    assert refused is not None and "KEY (cannot tell)" in refused.message and "cannot tell whether" in refused.message
    known_empty = Provided("prod", "crm", frozenset(), frozenset())
    assert {r.name: r.target_has for r in rows(items, source, known_empty)}["KEY"] is False


@pytest.mark.e2e
def test_an_empty_secrets_answer_to_a_caller_who_may_not_read_them_is_cannot_tell(
    platform: dict[str, Running], configured: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, prod = platform["staging"], platform["prod"]
    _declare(staging, "hr-assistant", {"OPENAI_KEY": {"type": "string"}})
    _set_secret(prod, ws_id(prod, "hr-assistant"), "OPENAI_KEY", CANARY)  # set, but hidden from a non-owner
    call(prod, "POST", "/sandbox/realism", json={"secrets_owner_only": True})
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", prod.new_user())  # neither owner nor super admin
    code = main(["parity", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--json"])
    out, err = capsys.readouterr()
    row = next(r for r in json.loads(out)["rows"] if r["name"] == "OPENAI_KEY")
    assert code == 1 and row["prod"] is None, out + err  # not "missing", not "set": cannot tell
    assert CANARY not in out + err
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", prod.token)  # the super admin may read them
    code = main(["parity", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and next(r for r in json.loads(out)["rows"] if r["name"] == "OPENAI_KEY")["prod"] is True
