"""What the CLI says must be true (QA walk, lane h2), against the sandbox: who gave a release verdict and a
second one refused, `at` after a bulk import of "latest", `status --json` on webhooks, `policy show` without
a policy file."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import subprocess
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core.ledger import store
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _commits(platform: dict[str, Running]) -> int:
    bare = Path(platform["dev"].sandbox.data_dir).parent / "release.git"
    done = subprocess.run(["git", "rev-list", "--count", "main"], cwd=bare, capture_output=True, text=True)
    return int(done.stdout.strip())


def test_a_verdict_names_the_platform_user_and_the_same_verdict_twice_is_refused_or_a_no_op(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r1")[0] == 0
    code, out, err = cli(capsys, "release", "reject", "r1", "--env", "dev", "--reason", "wrong language")
    assert code == 0 and "marked rejected by" in out, out + err
    verdict = json.loads(cli(capsys, "release", "show", "r1", "--json")[1])["verdict"]
    assert verdict["userId"] and verdict["identity"] == "platform user (GET /v2/me on dev)"
    assert verdict["hostUser"] == getpass.getuser() and verdict["by"] != getpass.getuser()
    journal = [json.loads(line) for line in cli(capsys, "audit", "--json")[1].splitlines()]
    row = next(e for e in journal if e["action"] == "release-reject")
    assert row["user"] == verdict["by"] and row["identity"] == verdict["identity"]

    commits = _commits(platform)
    code, out, err = cli(capsys, "release", "reject", "r1", "--reason", "another reason")
    assert code == 1 and "already rejected by " + verdict["by"] in err and "wrong language" in err, err
    assert "--replace" in err and _commits(platform) == commits  # nothing written
    code, out, err = cli(capsys, "release", "reject", "r1", "--reason", "another reason", "--replace")
    assert code == 0, err
    replaced = json.loads(cli(capsys, "release", "show", "r1", "--json")[1])["verdict"]
    assert replaced["reason"] == "another reason" and "wrong language" in replaced["replaces"]
    assert replaced["identity"].startswith("claimed, not stamped") and "identity claimed, not stamped" in err

    assert cli(capsys, "release", "accept", "r1", "--env", "dev")[0] == 0
    commits = _commits(platform)
    code, out, err = cli(capsys, "release", "accept", "r1", "--env", "dev")
    assert code == 0 and "already accepted by" in err and "nothing changed" in err, err
    assert _commits(platform) == commits


def test_at_resolves_a_bulk_import_of_latest_from_the_repository_head_at_that_instant(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "bulk-import", "--env", "staging", "--repository", "release", "--groups", "base1")
    assert code == 0, out + err
    between = dt.datetime.now(dt.UTC).isoformat()
    head = json.loads(cli(capsys, "workspaces", "--env", "staging", "--json")[1])
    live = next(w for w in head if w["slug"] == "knowledge-base")["liveVersion"]
    versions = json.loads(cli(capsys, "versions", "knowledge-base", "--env", "staging", "--json")[1])
    older = next(v["name"] for v in versions if v["name"] != live)
    code, out, err = cli(
        capsys, "rollback", "knowledge-base", older, "--repository", "release", "--env", "staging",
        "--discard-local-changes",
    )  # fmt: skip
    assert code == 0, out + err  # lastPull names the rollback now: only the import event tells of the bulk one

    code, out, err = cli(capsys, "at", between, "--env", "staging", "--no-digest", "--json")
    assert code == 0, err
    then = json.loads(out)["environments"]["staging"]["knowledge-base"]
    assert then["version"] == live and "import of 'latest'" in then["source"], then
    assert then["unknown"] is None


def test_status_json_says_what_the_webhook_probe_found_as_the_ledger_does(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "status", "--env", "dev", "--json")
    webhooks = json.loads(out)[0]["capabilities"]["webhooks"]
    assert webhooks["offered"] is True and "the runtime" in webhooks["evidence"], webhooks
    assert cli(capsys, "ledger", "init", "--env", "dev")[0] == 0
    store.forget_all()  # a separate process
    code, out, err = cli(capsys, "ledger", "--env", "dev", "--json")
    assert code == 0 and json.loads(out)["channel"] == "stamped", out + err


def test_policy_show_names_the_repository_that_has_no_policy_file(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "policy", "show", "--env", "prod")
    assert code == 0, err
    assert (
        "prod: repository release (" in out and "has no .prisme-deploy/policy.toml at main head; defaults apply" in out
    )
    assert "from no repository" not in out
