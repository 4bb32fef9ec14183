"""The CLI against the published Prisme.ai 2024 services (issue 23, "Done when"), started by scripts/realplatform.py.

No readiness, status or config routes, `?timeout=` refused, events answering 500, no platform repositories:
each flow must still complete, be verified from the workspace's state, and say what could not be known.
Each test has its own user, workspaces and bare repository (fixture `real`, tests/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tui.cli.main import main

pytestmark = pytest.mark.real


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def push(capsys: pytest.CaptureFixture[str], slug: str, *extra: str) -> str:
    """Push and return the version's name (the server generates native names: `M-D-YYYY.N-<epoch ms>`)."""
    code, out, err = cli(capsys, "push", slug, "--env", "real", "--description", "from a test", "--json", *extra)
    assert code == 0, out + err
    result = json.loads(out)
    assert result["ok"] is True, out
    return str(result["version"]["name"] if isinstance(result.get("version"), dict) else result["version"])


def version_names(capsys: pytest.CaptureFixture[str], slug: str) -> list[str]:
    code, out, err = cli(capsys, "versions", slug, "--env", "real", "--json")
    assert code == 0, out + err
    return [v["name"] for v in json.loads(out)]


def tags(repo: Any) -> list[str]:
    return subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True, check=True).stdout.split()


# ------------------------------------------------------------------------------------------------ done when
def test_status_is_up_without_a_readiness_endpoint(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "status", "--env", "real")
    assert code == 0, out + err
    assert "UP (no readiness endpoint)" in out


def test_status_json_shows_what_the_instance_offers_and_what_follows(
    real: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "status", "--env", "real", "--json")
    assert code == 0, out + err
    [health] = json.loads(out)
    capabilities = health["capabilities"]
    assert health["readinessEndpoint"] is False
    assert capabilities["readiness"]["offered"] is False and "404" in capabilities["readiness"]["evidence"]
    assert "UP (no readiness endpoint)" in capabilities["readiness"]["whatFollows"]
    assert capabilities["platform_repositories"]["offered"] is False
    assert "own repositories" in capabilities["platform_repositories"]["whatFollows"]


def test_push_native_is_listed_by_versions(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    slug = real.create_workspace("native")
    name = push(capsys, slug)
    assert name in [v["name"] for v in real.server_versions(slug)]  # the server's own list
    assert name in version_names(capsys, slug)


def test_push_git_to_the_workspaces_own_repository_is_listed_by_versions(
    real: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = real.create_workspace("gitpush")
    assert push(capsys, slug, "--name", "g1", "--repository", "own") == "g1"
    assert "g1" in tags(real.repo)  # the commit and its tag are in the workspace's own repository
    assert {"name": "g1", "repository": {"id": "own"}}.items() <= real.server_versions(slug)[0].items()
    assert "g1" in version_names(capsys, slug)


def test_rollback_to_a_git_version_restores_its_content(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    slug = real.create_workspace("gitroll")
    push(capsys, slug, "--name", "g1", "--repository", "own")
    real.set_content(slug, "edited after g1")
    code, out, err = cli(capsys, "rollback", slug, "g1", "--env", "real", "--repository", "own", "--yes")
    assert code == 0, out + err
    assert f"Rolled back {slug} to g1" in out
    assert real.content(slug) == "one"


def test_rollback_to_a_native_version_restores_its_content(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    slug = real.create_workspace("natroll")
    name = push(capsys, slug)
    real.set_content(slug, "edited after the native version")
    code, out, err = cli(capsys, "rollback", slug, name, "--env", "real", "--yes")
    assert code == 0, out + err
    assert f"Rolled back {slug} to {name}" in out
    assert real.content(slug) == "one"


def test_promote_between_two_workspaces_then_diff_exits_0(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    source = real.create_workspace("src", description="the source")
    target = real.create_workspace("dst", description="the target", repository=None)
    real.set_content(source, "promoted content")
    code, out, err = cli(capsys, "diff", "--from", f"real:{source}", "--to", f"real:{target}")
    assert code == 1, out + err  # they differ before
    promote = ["promote", "--from", f"real:{source}", "--to", f"real:{target}", "--yes"]
    code, out, err = cli(capsys, *promote)
    assert code == 2, out + err  # no status endpoint: edits on the target are unknown, so taken as there
    assert "UNKNOWN" in out + err and "--accept-drift" in out + err
    assert real.content(target) == "one"
    code, out, err = cli(capsys, *promote, "--accept-drift")
    assert code == 0, out + err
    assert real.content(target) == "promoted content"
    code, out, err = cli(capsys, "diff", "--from", f"real:{source}", "--to", f"real:{target}")
    assert code == 0, out + err


def test_undo_of_a_rollback_restores_the_content_before_it(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    slug = real.create_workspace("undo")
    push(capsys, slug, "--name", "u1", "--repository", "own")
    real.set_content(slug, "before the rollback")
    code, out, err = cli(capsys, "rollback", slug, "u1", "--env", "real", "--repository", "own", "--yes", "--json")
    assert code == 0, out + err
    assert "versions/current" not in out + err  # the server's file paths in its index warnings are never printed
    snapshot = json.loads(out)["snapshot"]
    assert real.content(slug) == "one"
    snapshot_id = snapshot["id"] if isinstance(snapshot, dict) else snapshot
    code, out, err = cli(capsys, "snapshots", "restore", snapshot_id, "--yes")
    assert code == 0, out + err
    assert f"Restored {slug}" in out
    assert real.content(slug) == "before the rollback"


# ------------------------------------------------------------------------------------------------ failures said
def test_a_rollback_that_leaves_content_the_version_lacks_is_a_failure(
    real: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 2024 import merges the index: a `config` that the version does not have stays after the pull."""
    slug = real.create_workspace("kept", content=None)
    push(capsys, slug, "--name", "k1", "--repository", "own")
    real.set_content(slug, "added after k1")
    code, out, err = cli(capsys, "rollback", slug, "k1", "--env", "real", "--repository", "own", "--yes")
    assert code == 1, out + err
    assert "index.yml" in out + err and f"Rolled back {slug}" not in out
    assert real.content(slug) == "added after k1"  # what the server really did


def test_an_undo_that_cannot_remove_what_was_added_since_is_a_failure(
    real: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2024 import merges (`?prune=` is ignored): an automation created after the snapshot stays."""
    slug = real.create_workspace("merge")
    push(capsys, slug, "--name", "m1", "--repository", "own")
    real.set_content(slug, "before the rollback")
    code, out, err = cli(capsys, "rollback", slug, "m1", "--env", "real", "--repository", "own", "--yes", "--json")
    assert code == 0, out + err
    snapshot = json.loads(out)["snapshot"]
    real.add_automation(slug, "later")
    snapshot_id = snapshot["id"] if isinstance(snapshot, dict) else snapshot
    code, out, err = cli(capsys, "snapshots", "restore", snapshot_id, "--yes")
    assert code == 1, out + err
    assert "automations/later.yml" in out + err and "merges on import" in out + err
    assert real.has_automation(slug, "later")  # what the server really did
    assert real.content(slug) == "before the rollback"


def test_a_push_refused_by_the_server_is_a_failure(real: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The tag exists already (another workspace pushed it to the same repository): 400 AlreadyUsedError."""
    first, second = real.create_workspace("tag1"), real.create_workspace("tag2")
    push(capsys, first, "--name", "same", "--repository", "own")
    code, out, err = cli(
        capsys, "push", second, "--env", "real", "--description", "d", "--name", "same", "--repository", "own"
    )
    assert code != 0, out + err
    assert "The version was refused" in err and "may already hold this push's commit" in err  # both said
    assert "same" not in [v["name"] for v in real.server_versions(second)]


def test_git_push_of_a_workspace_with_an_automation_is_not_refused_as_a_secret(
    real: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server writes the author's id (a MongoDB ObjectId, 24 hex digits) into automations/__index__.yml."""
    slug = real.create_workspace("auto", automation=True)
    assert push(capsys, slug, "--name", "a1", "--repository", "own") == "a1"


def test_the_ledger_on_the_published_server_is_in_the_repository_and_says_identity_claimed(
    real: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """No runtime there (issue 28): the ledger is committed to the repository, the user is /v2/me's."""
    code, out, err = cli(capsys, "ledger", "init", "--env", "real", "--json")
    assert code == 0, out + err
    assert json.loads(out)["channel"] == "claimed"
    slug = real.create_workspace("ledger")
    push(capsys, slug)
    code, out, err = cli(capsys, "ledger", "--env", "real", "--json")
    assert code == 0, out + err
    doc = json.loads(out)
    changes = [r for r in doc["records"] if r["kind"] == "change"]
    assert changes and changes[-1]["payload"]["action"] == "push" and changes[-1]["stamped"] is False
    assert changes[-1]["identity"] == "identity claimed, not stamped" and changes[-1]["user"]["id"]
