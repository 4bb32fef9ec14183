"""Read a platform repository's history with the git CLI: versions (tags) and files of a workspace.

The API's version list only covers versions made *from that instance*; prod never pushes, so its
history lives in git. ``[repositories.<id>]`` in the configuration points at a local clone (``path``)
or a URL that we mirror into the user cache. Pushes tag ``<slug>/<version>`` or plain ``<version>``
(which one is unconfirmed on the real platform): both are read.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import threading
from pathlib import Path

from tui.core import paths
from tui.core.api.models import Version
from tui.core.config import RepoSource
from tui.core.errors import UsageError

Files = dict[str, bytes]


class GitSourceError(UsageError):
    kind = "git"


def check_slug(slug: str) -> None:
    """A workspace slug is one plain path segment: never empty, ``.``, ``..``, a path or an option
    (``..`` would make a workspace's folder the whole repository)."""
    if slug in ("", ".", "..") or any(c in slug for c in "/\\\0") or slug.startswith("-") or slug != slug.strip():
        raise UsageError(f"{slug!r} is not a workspace slug.")


def _git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    if check and proc.returncode != 0:
        raise GitSourceError(f"git {args[0]} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout


class GitHistory:
    _locks: dict[str, threading.Lock] = {}

    def __init__(self, source: RepoSource, cache_root: Path | None = None, *, root: bool = False) -> None:
        self.source = source
        self.cache_root = cache_root or paths.cache_dir() / "git"
        self._fetched = False
        # A workspace's own repository (its ``repositories`` field): the workspace is written at the root
        # (or ``dirpath``), one workspace per repository, and its tags are the plain version names.
        self.root = root

    @property
    def repo(self) -> Path:
        if self.source.path:
            path = Path(self.source.path).expanduser()
            if not path.exists():
                raise GitSourceError(f"repository {self.source.id!r}: no git repository at {path}.")
            return path
        digest = hashlib.sha1((self.source.url or "").encode(), usedforsecurity=False).hexdigest()[:12]
        return self.cache_root / f"{self.source.id}-{digest}.git"

    def sync(self) -> None:
        """Mirror a remote URL once per session (a local path is read in place)."""
        if self.source.path or self._fetched:
            return
        lock = self._locks.setdefault(self.source.id, threading.Lock())
        with lock:
            if not self.repo.exists():
                self.repo.parent.mkdir(parents=True, exist_ok=True)
                _git(self.repo.parent, "clone", "--mirror", "-q", self.source.url or "", self.repo.name)
            else:
                _git(self.repo, "fetch", "-q", "--prune", "--tags", "origin")
            self._fetched = True

    def folder(self, slug: str) -> str:
        check_slug(slug)
        if self.root:
            return (self.source.dirpath or "").strip("/")
        return f"{self.source.dirpath.strip('/')}/{slug}" if self.source.dirpath else slug

    def versions(self, slug: str) -> list[Version]:
        """Tags of the workspace, newest first by history (dates tie when pushes share a second).

        Two layouts exist and a repository may hold both: ``<slug>/<version>`` (one tag per workspace)
        and plain ``<version>`` (the 2024 service's ``addTag``). A plain tag is this workspace's when
        its folder exists at the tag and changed since the previous tagged commit (a bulk push tags
        its last commit, which may touch another workspace's folder only)."""
        self.sync()
        out = _git(
            self.repo,
            "for-each-ref",
            "--sort=-creatordate",
            "--format=%(refname)%09%(creatordate:iso-strict)%09%(*objectname)%(objectname)%09%(contents:subject)",
            "refs/tags/",
        )
        order = _git(self.repo, "rev-list", "--topo-order", "--all", check=False).split()
        rank = {sha: index for index, sha in enumerate(order)}
        tags = []
        for line in out.splitlines():
            ref, date, sha, subject = [*line.split("\t"), "", "", ""][:4]
            tags.append((ref.removeprefix("refs/tags/"), date, sha[:40], subject))
        found = []
        for name, date, sha, subject in self._own_tags(slug, tags, rank):
            version = Version(
                name=name, created_at=date, description=subject.split(" | Author")[0], repository_id=self.source.id
            )
            found.append((rank.get(sha, len(rank)), version))
        return [version for _, version in sorted(found, key=lambda item: item[0])]

    def _own_tags(
        self, slug: str, tags: list[tuple[str, str, str, str]], rank: dict[str, int]
    ) -> list[tuple[str, str, str, str]]:
        if self.root:  # one workspace per repository: every plain tag is this workspace's
            return [tag for tag in tags if "/" not in tag[0]]
        own = [(tag[len(slug) + 1 :], date, sha, subj) for tag, date, sha, subj in tags if tag.startswith(f"{slug}/")]
        folder = self.folder(slug)
        previous: str | None = None  # the newest tagged commit older than this tag's
        current: str | None = None
        for tag in sorted(tags, key=lambda t: -rank.get(t[2], -1)):  # oldest first
            sha = tag[2]
            if sha != current:
                previous, current = current, sha
            if "/" in tag[0]:
                continue
            if not _git(self.repo, "ls-tree", "-d", "--name-only", sha, "--", folder, check=False).strip():
                continue  # the workspace does not exist at that version
            span = [f"{previous}..{sha}"] if previous else [sha]
            if _git(self.repo, "rev-list", "-1", *span, "--", folder, check=False).strip():
                own.append(tag)
        return own

    def resolve(self, slug: str, ref: str) -> str:
        self.sync()
        branch = self.source.branch
        candidates = (
            [f"refs/heads/{branch}"] if ref == "latest" else [f"refs/tags/{slug}/{ref}", f"refs/tags/{ref}", ref]
        )
        for candidate in candidates:
            sha = _git(self.repo, "rev-parse", "--verify", "-q", f"{candidate}^{{commit}}", check=False).strip()
            if sha:
                return sha
        raise GitSourceError(f"repository {self.source.id!r} has no version {ref!r} for {slug}.")

    def slugs(self, ref: str = "latest") -> list[str]:
        """Workspaces (folders) in the repository at ``ref`` (``latest``: the branch head)."""
        sha = self.resolve("", ref)
        folder = self.source.dirpath.strip("/") + "/" if self.source.dirpath else ""
        out = _git(self.repo, "ls-tree", "-d", "--name-only", sha, "--", folder or ".", check=False)
        names = [line[len(folder) :] if folder else line for line in out.splitlines()]
        return sorted(n for n in names if n and not n.startswith("."))

    def files(self, slug: str, ref: str) -> Files:
        sha = self.resolve(slug, ref)
        folder = self.folder(slug)
        pathspec = [folder + "/"] if folder else []
        proc = subprocess.run(
            ["git", "archive", "--format=tar", sha, "--", *pathspec], cwd=self.repo, capture_output=True
        )
        if proc.returncode != 0:
            raise GitSourceError(f"{slug} is not in repository {self.source.id!r} at {ref!r}.")
        files: Files = {}
        cut = len(folder) + 1 if folder else 0
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None and not member.name.startswith(".git/"):
                    files[member.name[cut:]] = handle.read()
        return files
