"""A shared platform repository is written by others (issue 25): a link committed there is never
followed on the operator's machine, and a slug that names no workspace stops before any git command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tui.core import errors as E
from tui.core.config import RepoSource
from tui.core.ops.sticky import publish_revert

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@x",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@x",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=ENV).stdout


def shared_repo(tmp_path: Path, *, link_to: Path | None = None) -> tuple[Path, Path]:
    """A bare repository with workspaces/crm tagged v1 (plain tags), and its work tree."""
    bare, work = tmp_path / "shared.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(tmp_path, "clone", "-q", str(bare), str(work))
    (work / "workspaces" / "crm").mkdir(parents=True)
    (work / "workspaces" / "crm" / "index.yml").write_text("slug: crm\n")
    (work / "workspaces" / "other").mkdir()
    (work / "workspaces" / "other" / "index.yml").write_text("slug: other\n")
    if link_to is not None:
        os.symlink(link_to, work / "workspaces" / "crm" / ".import.yml")
    else:
        (work / "workspaces" / "crm" / ".import.yml").write_text("version:\n  name: v1\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "v1")
    git(work, "tag", "v1")
    (work / "workspaces" / "other" / "index.yml").write_text("slug: other\nname: changed\n")
    git(work, "commit", "-q", "-am", "later")
    git(work, "push", "-q", "origin", "main", "--tags")
    return bare, work


def test_a_sticky_rollback_never_follows_a_symlink_committed_in_the_repository(tmp_path: Path) -> None:
    victim = tmp_path / "operator-file"
    victim.write_text("precious\n")
    bare, _ = shared_repo(tmp_path, link_to=victim)
    head = git(bare, "rev-parse", "main")
    with pytest.raises(E.UsageError, match="symbolic links"):
        publish_revert(RepoSource("release", path=str(bare), dirpath="workspaces"), "crm", "v1", None, "t")
    assert victim.read_text() == "precious\n"
    assert git(bare, "rev-parse", "main") == head  # nothing pushed


@pytest.mark.parametrize("slug", ["..", ".", "", "a/b", "-x"])
def test_a_slug_that_names_no_workspace_stops_before_any_git_command(tmp_path: Path, slug: str) -> None:
    bare, _ = shared_repo(tmp_path)
    head = git(bare, "rev-parse", "main")
    with pytest.raises(E.UsageError, match="not a workspace slug"):
        publish_revert(RepoSource("release", path=str(bare), dirpath="workspaces"), slug, "v1", None, "t")
    assert git(bare, "rev-parse", "main") == head


def test_a_slug_without_a_folder_at_that_version_is_refused(tmp_path: Path) -> None:
    bare, _ = shared_repo(tmp_path)
    head = git(bare, "rev-parse", "main")
    with pytest.raises(E.NotFound, match="not a workspace there"):
        publish_revert(RepoSource("release", path=str(bare), dirpath="workspaces"), "ghost", "v1", None, "t")
    assert git(bare, "rev-parse", "main") == head


def test_a_plain_sticky_revert_still_works(tmp_path: Path) -> None:
    bare, _ = shared_repo(tmp_path)
    published = publish_revert(RepoSource("release", path=str(bare), dirpath="workspaces"), "crm", "v1", None, "t")
    assert published.name == "v1-revert"
    assert "name: v1-revert" in git(bare, "show", "main:workspaces/crm/.import.yml")
