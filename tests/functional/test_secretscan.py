"""No secret goes to git (issue 17, part 4): detect-secrets over what a push would send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui.cli.main import main
from tui.core import config as cfg
from tui.core.ops.secretscan import changed, mask, scan_files
from tui.sandbox.runner import Running

# Fake tokens in the shape of real ones (detect-secrets' GitHub and AWS rules), assembled so that this
# file itself is not one more finding for a scanner run over the repository.
GITHUB = "ghp_" + "0123456789abcdefghijKLMNOPQRSTUVWXyz"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"


def automation(value: str) -> bytes:
    header = "slug: sync\ndo:\n  - fetch:\n      url: https://api.example.com\n"
    return f"{header}      headers:\n        x: {value}\n".encode()


def test_scan_reports_file_line_rule_and_a_masked_value() -> None:
    files = {"automations/sync.yml": automation(GITHUB), "index.yml": b"slug: crm\n", "pages/p.yml": automation(AWS)}
    files[".import.yml"] = (
        b"checksums:\n  index.yml: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
    )
    findings = scan_files("crm", files, files)
    # Two rules on one value make one finding; the platform's own .import.yml checksums are not scanned.
    assert [(f.file, f.line, f.rule) for f in findings] == [
        ("automations/sync.yml", 6, "Base64 High Entropy String, GitHub Token"),
        ("pages/p.yml", 6, "AWS Access Key"),
    ]
    for finding in findings:
        assert GITHUB not in str(finding) and AWS not in str(finding) and "****" in finding.masked
        assert len(finding.fingerprint) == 16
    assert findings[0].masked == "ghp_****(40 chars)" and mask("short") == "****(5 chars)"
    # Only the paths asked for are scanned; the same value has the same fingerprint wherever it is,
    # another token of the same kind another one (detect-secrets hashes only the "ghp" of a GitHub token).
    assert scan_files("crm", files, ["index.yml"]) == []
    elsewhere = {"automations/other.yml": b"a:\n  b: '" + GITHUB.encode() + b"'\n"}
    assert scan_files("crm", elsewhere, elsewhere)[0].fingerprint == findings[0].fingerprint
    other = {"automations/o.yml": automation("ghp_" + "x" * 36)}
    assert scan_files("crm", other, other)[0].fingerprint != findings[0].fingerprint


def test_only_files_changed_since_the_last_push_are_scanned() -> None:
    previous = {"index.yml": b"a", "automations/x.yml": b"b"}
    current = {"index.yml": b"a", "automations/x.yml": b"c", "automations/y.yml": b"d"}
    assert changed(current, previous) == {"automations/x.yml", "automations/y.yml"}
    assert changed(current, {}) == set(current)


def test_allowed_fingerprints_are_read_with_their_reason(tmp_path: Path) -> None:
    text = '[scan]\nallow = [{fingerprint = "0123456789abcdef", reason = "test fixture"}]\n'
    assert cfg.parse(text, tmp_path / "c.toml").allowed_findings == {"0123456789abcdef": "test fixture"}
    with pytest.raises(cfg.ConfigError, match=r"c\.toml:2: each \[scan\] allow entry needs exactly"):
        cfg.parse('[scan]\nallow = [{fingerprint = "0123456789abcdef"}]\n', tmp_path / "c.toml")


# ---------------------------------------------------------------------------------------------- end to end
def _edit(running: Running, slug: str, path: str, text: bytes) -> None:
    headers = {"Authorization": f"Bearer {running.token}"}
    wid = httpx.get(f"{running.url}/v2/workspaces", params={"slug": slug}, headers=headers).json()[0]["id"]
    response = httpx.put(f"{running.url}/sandbox/workspaces/{wid}/files/{path}", content=text, headers=headers)
    assert response.status_code == 200, response.text


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _tags(running: Running) -> Any:
    headers = {"Authorization": f"Bearer {running.token}"}
    wid = httpx.get(f"{running.url}/v2/workspaces", params={"slug": "support-bot"}, headers=headers).json()[0]["id"]
    return [v["name"] for v in httpx.get(f"{running.url}/v2/workspaces/{wid}/versions", headers=headers).json()]


@pytest.mark.e2e
def test_bulk_push_of_a_workspace_holding_a_fake_token_is_blocked(
    configured: Path, platform: dict[str, Running], isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = platform["dev"]
    _edit(dev, "support-bot", "automations/leaky.yml", automation(GITHUB))
    bulk = ["bulk-push", "--env", "dev", "--repository", "release", "--groups", "extended", "--name", "v2.6.0"]
    before = _tags(dev)

    code, out, err = _cli(capsys, *bulk)
    assert code == 1
    assert "support-bot/automations/leaky.yml:6: Base64 High Entropy String, GitHub Token ghp_****(40 chars)" in err
    assert err.count("fingerprint ") == 1  # the one finding: nothing else in the group looks like a secret
    assert _tags(dev) == before  # nothing was pushed

    code, out, err = _cli(capsys, *bulk, "--json")
    report = json.loads(out)
    assert code == 1 and report["error"] == "secrets_found"
    (finding,) = report["scan"]["findings"]
    assert finding["file"] == "automations/leaky.yml" and finding["line"] == 6 and "GitHub Token" in finding["rule"]
    fingerprint = finding["fingerprint"]

    # The single push to git is scanned too; a native snapshot is not (it never leaves the instance).
    push = ["push", "support-bot", "--env", "dev", "--name", "v2.6.1", "-m", "x", "--repository", "release"]
    code, _, err = _cli(capsys, *push)
    assert code == 1 and "leaky.yml:6" in err
    code, _, err = _cli(capsys, *bulk, "--allow-secret", fingerprint)
    assert code == 2 and "--allow-secret needs --reason" in err

    # A reviewed false positive: allowed by fingerprint, stored in the configuration with the reason.
    code, out, err = _cli(capsys, *bulk, "--allow-secret", fingerprint, "--reason", "FP: test fixture", "--json")
    # Exit 1 only for the group's workspace the demo keeps locked (a skipped workspace fails the run).
    completed = [json.loads(line) for line in out.splitlines() if '"kind": "completed"' in line]
    assert code == 1 and completed and completed[-1]["skippedWhileLocked"] == ["ticket-triage"], (out, err)
    assert cfg.load(configured).allowed_findings == {fingerprint: "FP: test fixture"}
    assert "v2.6.0" in _tags(dev)
    entries = [json.loads(line) for line in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
    assert entries[-1]["action"] == "bulk-push" and entries[-1]["details"]["secretScan"]["allowed"] == [fingerprint]

    for path in (p for p in isolated_home.rglob("*") if p.is_file()):
        assert GITHUB.encode() not in path.read_bytes(), path


@pytest.mark.e2e
def test_bulk_push_by_url_scans_the_groups_the_server_defines(
    platform: dict[str, Running],
    isolated_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's CI one-liner (`--url`, no configuration): the groups are the server's only, and the
    scan still reads what the push will push (issue 25: it scanned nothing and the key went to git)."""
    dev = platform["dev"]
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN", dev.token)
    _edit(dev, "support-bot", "automations/leaky.yml", automation(GITHUB))
    before = _tags(dev)
    code, out, err = _cli(
        capsys, "bulk-push", "--url", dev.url, "--repository", "release", "--groups", "extended", "--name", "v2.6.0"
    )
    assert code == 1, (out, err)
    assert "support-bot/automations/leaky.yml:6" in err and "GitHub Token" in err
    assert _tags(dev) == before  # nothing was pushed


def test_an_inline_allowlist_pragma_counts_only_where_the_configuration_allows_it(tmp_path: Path) -> None:
    files = {"automations/sync.yml": automation(GITHUB + "  # pragma: allowlist secret")}
    assert [f.line for f in scan_files("crm", files, files)] == [6]  # a pragma alone waves nothing through
    assert scan_files("crm", files, files, pragma_files={"crm/automations/sync.yml"}) == []
    assert scan_files("crm", files, files, pragma_files={"other/automations/sync.yml"}) != []
    text = '[scan]\npragma_files = [{file = "crm/automations/sync.yml", reason = "reviewed: a test fixture"}]\n'
    assert cfg.parse(text, tmp_path / "c.toml").pragma_files == {"crm/automations/sync.yml": "reviewed: a test fixture"}
    with pytest.raises(cfg.ConfigError, match="pragma_files entry needs exactly"):
        cfg.parse('[scan]\npragma_files = [{file = "crm/x.yml"}]\n', tmp_path / "c.toml")
