"""Write to a platform repository through git: a throwaway clone, a commit, a push.

prisme-deploy writes there only what the platform's API cannot: a sticky rollback's revert version
(production instances read their repository read-only) and release manifests. The location is the
configured ``[repositories.<id>]`` (``url``, else ``path``); it must accept a push (a bare repository or
a remote), as any git server does.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tui.core import errors as E
from tui.core.config import RepoSource

GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "GIT_AUTHOR_NAME": "prisme-deploy",
    "GIT_AUTHOR_EMAIL": "prisme-deploy@localhost",
    "GIT_COMMITTER_NAME": "prisme-deploy",
    "GIT_COMMITTER_EMAIL": "prisme-deploy@localhost",
}


class GitWriteError(E.UsageError):
    kind = "git"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=GIT_ENV)
    if proc.returncode != 0:
        raise GitWriteError(f"git {args[0]} failed: {proc.stderr.strip()[:400]}")
    return proc.stdout


def tag_exists(cwd: Path, tag: str) -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}"], cwd=cwd, capture_output=True, env=GIT_ENV
    )
    return proc.returncode == 0


@contextmanager
def clone(source: RepoSource) -> Iterator[Path]:
    """A fresh clone of the repository's branch, removed afterwards."""
    location = source.url or source.path
    if not location:
        raise GitWriteError(f"repository {source.id!r} has no path or url to write to.")
    work = Path(tempfile.mkdtemp(prefix="prisme-deploy-git-"))
    try:
        # core.symlinks=false: a link committed there is checked out as a plain file holding its target,
        # so nothing the tool reads or writes in the clone can lead outside it.
        git(work, "clone", "-q", "-c", "core.symlinks=false", "--branch", source.branch, location, "repo")
        yield work / "repo"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def push(repo: Path, branch: str, *tags: str) -> str:
    git(repo, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", *(f"refs/tags/{t}" for t in tags))
    return git(repo, "rev-parse", "HEAD").strip()


def symlinks(repo: Path, ref: str, folder: str) -> list[str]:
    """The symbolic links (mode 120000) under ``folder`` at ``ref``: a shared repository is written by
    others, and a link there must never be followed on the operator's machine."""
    listing = git(repo, "ls-tree", "-r", "-z", ref, "--", f"{folder}/")
    return [entry.split("\t", 1)[1] for entry in listing.split("\0") if entry.startswith("120000 ")]


def has_tree(repo: Path, ref: str, folder: str) -> bool:
    """``folder`` is a directory of ``ref`` (a workspace's folder, not the repository's root or a file)."""
    proc = subprocess.run(
        ["git", "cat-file", "-t", f"{ref}:{folder}"], cwd=repo, capture_output=True, text=True, env=GIT_ENV
    )
    return proc.returncode == 0 and proc.stdout.strip() == "tree"
