"""What the CLI says must be true (QA walk, lane h2), offline: a time of day alone, an import of "latest"
resolved from the record, who gave a verdict and whether it was said twice, where the team policy came from."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from tui.core import config as cfg
from tui.core import errors as E
from tui.core.audit import AuditEntry, host_who, platform_who
from tui.core.notify import message_of
from tui.core.ops import at, policy, release
from tui.core.ops.context import Context


def _git(cwd: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def _repository(tmp_path: Path, versions: list[tuple[str, str]]) -> Path:
    """A platform repository whose ``workspaces/bot/.import.yml`` names each version, committed at its date."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    folder = repo / "workspaces" / "bot"
    folder.mkdir(parents=True)
    for version, when in versions:
        (folder / ".import.yml").write_text(f"version:\n  name: {version}\n", encoding="utf-8")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", version, when=when)
    return repo


def _ctx(repo: Path | None) -> Context:
    text = '[environments.prod]\nurl = "http://127.0.0.1:9"\n'
    if repo is not None:
        text += f'[repositories.release]\npath = "{repo}"\ndirpath = "workspaces"\n'
    return Context.create(cfg.parse(text), use_keyring=False)


def _t(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 7, hour, minute, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------------------- at: a time of day
def test_a_time_of_day_alone_is_today_in_local_time_to_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    import time

    time.tzset()
    try:
        now = dt.datetime(2026, 12, 7, 13, 0, tzinfo=dt.UTC)  # 14:00 in Paris
        assert at.parse_time("03:11:30", now) == dt.datetime(2026, 12, 7, 2, 11, 30, tzinfo=dt.UTC)
        assert at.parse_time("3:11", now) == dt.datetime(2026, 12, 7, 2, 11, tzinfo=dt.UTC)
        assert at.parse_time("today 03:11:30", now) == dt.datetime(2026, 12, 7, 2, 11, 30, tzinfo=dt.UTC)
        assert at.parse_time("yesterday 03:11:30", now) == dt.datetime(2026, 12, 6, 2, 11, 30, tzinfo=dt.UTC)
        assert at.parse_time("2026-12-07T03:11:30Z", now) == dt.datetime(2026, 12, 7, 3, 11, 30, tzinfo=dt.UTC)
        assert at.parse_time("2h ago", now) == now - dt.timedelta(hours=2)
        assert at.read_as("03:11:30") == "today, local time" and at.read_as("2h ago") is None
        for bad, said in (("03:11:61", "not a time of day"), ("24:00:00", "not a time of day"), ("3h", "ISO")):
            with pytest.raises(E.UsageError) as caught:
                at.parse_time(bad, now)
            assert said in caught.value.message
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# ------------------------------------------------------------------------------------------- at: "latest"
def test_an_import_of_latest_is_what_the_branch_head_named_at_that_instant(tmp_path: Path) -> None:
    repo = _repository(tmp_path, [("v1", "2026-12-07T10:00:00Z"), ("v2", "2026-12-07T12:00:00Z")])
    ctx = _ctx(repo)
    found = at.Timeline(
        changes=[
            at.Change("prod", "bot", _t(11), None, "import event"),  # the head was v1 then
            at.Change("prod", "bot", _t(13), None, "import event"),  # and v2 then
        ],
        workspaces={"prod": {"bot"}},
    )
    found.changes = at.resolve_latest(ctx, found.changes)
    first, second = at.state_at(found, _t(11, 30))[("prod", "bot")], at.state_at(found, _t(14))[("prod", "bot")]
    assert (first.version, second.version) == ("v1", "v2"), (first, second)
    assert "the head of release/main then" in first.source and not first.unknown


def test_an_import_of_latest_is_what_the_next_snapshot_saw_when_nothing_came_between(tmp_path: Path) -> None:
    ctx = _ctx(None)
    changes = [
        at.Change("prod", "bot", _t(11), None, "import event"),
        at.Change("prod", "bot", _t(12), "v7", "release r1", rank=1),
    ]
    found = at.Timeline(changes=at.resolve_latest(ctx, changes), workspaces={"prod": {"bot"}})
    running = at.state_at(found, _t(11, 30))[("prod", "bot")]
    assert running.version == "v7" and "release r1 saw it next" in running.source


def test_an_import_of_latest_the_record_cannot_resolve_says_precisely_why(tmp_path: Path) -> None:
    repo = _repository(tmp_path, [("v1", "2026-12-07T10:00:00Z")])
    for ctx, why in (
        (_ctx(None), "no repository is configured to read what the branch head was then"),
        (_ctx(repo), "repository release had no commit on main by then"),
    ):
        changes = at.resolve_latest(ctx, [at.Change("prod", "bot", _t(9), None, "import event")])
        running = at.state_at(at.Timeline(changes=changes, workspaces={"prod": {"bot"}}), _t(9, 30))
        assert running[("prod", "bot")].version is None
        assert "no version named" in running[("prod", "bot")].unknown and why in running[("prod", "bot")].unknown


# ------------------------------------------------------------------------------------------- who
def test_a_notification_names_the_platform_user_and_says_when_the_name_is_only_claimed() -> None:
    entry = AuditEntry("push", "prod", outcome="failed", user="bob")
    assert "by: bob (claimed, not stamped)" in message_of("failure", entry)[1]
    entry.made_by(platform_who("u-1", "Alice", "GET /v2/me on prod"))
    body = message_of("failure", entry)[1]
    assert "by: Alice (u-1) (platform user (GET /v2/me on prod), from host login " in body
    assert host_who("no --env").identity.startswith("claimed, not stamped: host login")


def _local_release(tmp_path: Path) -> Context:
    ctx = _ctx(_repository(tmp_path, [("v1", "2026-12-07T10:00:00Z")]))
    release.save(ctx, release.Release("r1", {"bot": "v1"}), None, local=True)
    return ctx


def test_a_second_rejection_is_refused_naming_the_first_unless_replace_is_said(tmp_path: Path) -> None:
    ctx = _local_release(tmp_path)
    alice = platform_who("u-1", "Alice", "GET /v2/me on prod")
    release.mark(ctx, "r1", "rejected", "wrong language", who=alice)
    with pytest.raises(release.AlreadyMarked) as caught:
        release.mark(ctx, "r1", "rejected", "another reason")
    said = caught.value.message
    assert "already rejected by Alice (u-1)" in said and "wrong language" in said and " on 20" in said
    assert "--replace" in (caught.value.hint or "")
    kept = release.get(ctx, "r1", rejected_ok=True).verdict
    assert kept["reason"] == "wrong language" and kept["userId"] == "u-1"  # nothing was replaced

    replaced = release.mark(ctx, "r1", "rejected", "another reason", replace=True).verdict
    assert replaced["reason"] == "another reason" and "wrong language" in replaced["replaces"]
    assert replaced["identity"].startswith("claimed, not stamped") and "userId" not in replaced
    assert release.get(ctx, "r1", rejected_ok=True).verdict == replaced


# ------------------------------------------------------------------------------------------- policy
def test_policy_show_tells_a_repository_without_the_file_from_no_repository(tmp_path: Path) -> None:
    repo = _repository(tmp_path, [("v1", "2026-12-07T10:00:00Z")])
    [with_repo] = policy.show(_ctx(repo))
    assert with_repo.repository is None
    assert with_repo.origin == (
        f"repository release ({repo}) has no .prisme-deploy/policy.toml at main head; defaults apply"
    )
    assert with_repo.to_json()["teamPolicy"] == with_repo.origin
    [alone] = policy.show(_ctx(None))
    assert alone.origin.startswith("no team policy: no repository is configured")
