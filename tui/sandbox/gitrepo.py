"""Platform repositories backed by real git (the git CLI) or a read-only folder.

Each instance keeps its own working clone of the remote (a bare repository on disk in the demo), the
way the workspaces service keeps ``WORKSPACES_STORAGE_GIT_DIRPATH``. Pushes commit on the intermediate
branch ``prismeai/<slug>/<branch>``, merge into the branch and tag ``<slug>/<version>``.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

from tui.sandbox import clock, dsul
from tui.sandbox.platform import PlatformRepo


class GitError(RuntimeError):
    pass


class UnknownRevision(GitError):
    pass


class MergeConflictError(GitError):
    pass


GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Prisme.ai",
    "GIT_AUTHOR_EMAIL": "hello@prisme.ai",
    "GIT_COMMITTER_NAME": "Prisme.ai",
    "GIT_COMMITTER_EMAIL": "hello@prisme.ai",
}


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **GIT_ENV, **(env or {})}
    if os.environ.get("PRISME_SANDBOX_CLOCK"):  # reproducible commit and tag dates
        full_env["GIT_AUTHOR_DATE"] = full_env["GIT_COMMITTER_DATE"] = clock.now_iso()
    full_env.pop("GIT_DIR", None)
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "advice.detachedHead=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def init_bare(path: Path, branch: str = "main") -> None:
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "HEAD").exists():
        git(path, "init", "--bare", "-q", f"--initial-branch={branch}")


def remote_path(url: str) -> str:
    return url[len("file://") :] if url.startswith("file://") else url


@dataclass
class Commit:
    sha: str
    files: dsul.Files
    import_meta: dict


class GitRepository:
    """One platform repository as seen from one instance."""

    def __init__(self, repo: PlatformRepo, clone_dir: Path) -> None:
        self.repo = repo
        self.clone = clone_dir
        self.branch = repo.branch
        self._lock = threading.RLock()
        self._url_checked = False
        # Batch mode (seeding): we are the only writer, so fetch once and push once at the end.
        self._batch_head: str | None = None
        self._batch_refs: list[str] | None = None

    # -- plumbing -------------------------------------------------------------------------------
    def path_of(self, slug: str) -> str:
        return f"{self.repo.dirpath.strip('/')}/{slug}" if self.repo.dirpath else slug

    def _ensure_clone(self) -> None:
        url = remote_path(self.repo.url or "")
        if (self.clone / ".git").is_dir():
            if not self._url_checked:  # the data folder may have moved (a copied demo): follow the config
                git(self.clone, "remote", "set-url", "origin", url)
                self._url_checked = True
            return
        self.clone.parent.mkdir(parents=True, exist_ok=True)
        git(self.clone.parent, "clone", "-q", url, self.clone.name)
        self._url_checked = True

    def fetch(self) -> str | None:
        """Fetch and return the remote branch head (None for an empty repository)."""
        with self._lock:
            if self._batch_refs is not None and self._batch_head is not None:
                return self._batch_head
            self._ensure_clone()
            git(self.clone, "fetch", "-q", "--prune", "--tags", "--force", "origin")
            head = git(self.clone, "rev-parse", "--verify", "-q", f"refs/remotes/origin/{self.branch}", check=False)
            if self._batch_refs is not None:
                self._batch_head = head or ""
            return head or None

    def begin_batch(self) -> None:
        self._batch_refs = []
        self._batch_head = None

    def end_batch(self) -> None:
        with self._lock:
            refs, self._batch_refs, self._batch_head = self._batch_refs or [], None, None
            if refs:
                git(self.clone, "push", "-q", "--atomic", "--force", "origin", *sorted({r.lstrip("+") for r in refs}))

    def resolve(self, slug: str, version: str, head: str | None) -> str:
        """``latest`` (the fetched ``head``), a version name (tag ``<slug>/<name>`` or ``<name>``) or a sha."""
        if version == "latest":
            if not head:
                raise UnknownRevision(f"Branch '{self.branch}' of {self.repo.url} is empty")
            return head
        for ref in (f"refs/tags/{slug}/{version}", f"refs/tags/{version}", version):
            sha = git(self.clone, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
            if sha:
                return sha
        raise UnknownRevision(f"Unknown commit or tag '{version}' at '{self.repo.url}'")

    def read(self, sha: str, slug: str) -> dsul.Files:
        """The workspace folder at a commit, in one `git archive` call."""
        path = self.path_of(slug)
        proc = subprocess.run(
            ["git", "archive", "--format=tar", sha, "--", path + "/"], cwd=self.clone, capture_output=True
        )
        if proc.returncode != 0:
            return {}
        files: dsul.Files = {}
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[member.name[len(path) + 1 :]] = handle.read()
        return files

    def slugs(self, sha: str) -> list[str]:
        base = (self.repo.dirpath or "").strip("/")
        target = f"{sha}:{base}" if base else sha
        listing = git(self.clone, "ls-tree", "--name-only", "-d", target, check=False)
        return [name for name in listing.splitlines() if name and not name.startswith(".")]

    def touched_since(self, slug: str, since: str | None, head: str | None) -> bool:
        """Has the remote branch got commits touching this workspace that ``since`` lacks?"""
        if not head:
            return False
        path = self.path_of(slug)
        if since is None:
            return bool(git(self.clone, "ls-tree", "--name-only", head, "--", path, check=False))
        if git(self.clone, "cat-file", "-t", since, check=False) != "commit":
            return True
        return bool(git(self.clone, "rev-list", "-1", f"{since}..{head}", "--", path, check=False))

    def tag_exists(self, tag: str) -> bool:
        return bool(git(self.clone, "rev-parse", "--verify", "-q", f"refs/tags/{tag}", check=False))

    # -- porcelain --------------------------------------------------------------------------------
    def _write_workspace(self, slug: str, files: dsul.Files) -> None:
        folder = dsul.safe_join(self.clone, self.path_of(slug))  # a slug or a file never leaves the clone
        if folder.exists():
            git(self.clone, "rm", "-r", "-q", "--ignore-unmatch", "--", self.path_of(slug))
        for rel, data in files.items():
            target = dsul.safe_join(folder, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        git(self.clone, "add", "-A", "--", self.path_of(slug))

    def push(
        self, slug: str, files: dsul.Files, *, message: str, tag: str | None, author: str, move_tag: bool = False
    ) -> str:
        """Commit on the intermediate branch, merge into the branch, tag, push. Returns the new head."""
        with self._lock:
            head = self.fetch()
            inter = f"prismeai/{slug}/{self.branch}"
            if head:
                git(self.clone, "checkout", "-q", "-B", inter, head)
            else:
                git(self.clone, "checkout", "-q", "--orphan", inter)
                git(self.clone, "rm", "-r", "-q", "--cached", "--ignore-unmatch", ".")
            self._write_workspace(slug, files)
            env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@prisme.ai"}
            git(self.clone, "commit", "-q", "--allow-empty", "-m", message, env=env)
            new_head = git(self.clone, "rev-parse", "HEAD")
            git(self.clone, "checkout", "-q", "-B", self.branch, new_head)
            refs = [f"refs/heads/{self.branch}", f"refs/heads/{inter}"]
            if tag:
                git(self.clone, "tag", *(["-f"] if move_tag else []), tag, new_head)
                refs.append(f"{'+' if move_tag else ''}refs/tags/{tag}")
            if self._batch_refs is not None:
                self._batch_refs.extend(refs)
                self._batch_head = new_head
            else:
                git(self.clone, "push", "-q", "--atomic", "origin", *refs)
            return new_head

    def merge_local(self, slug: str, base: str, local: dsul.Files, target: str) -> tuple[str, dsul.Files]:
        """Commit the platform state on the intermediate branch (from ``base``), merge ``target`` in.

        Raises MergeConflictError, after pushing the intermediate branch so the conflict can be
        resolved in git, as the documented flow asks.
        """
        with self._lock:
            inter = f"prismeai/{slug}/{self.branch}"
            git(self.clone, "checkout", "-q", "-B", inter, base)
            meta = self.read(base, slug).get(dsul.IMPORT_META)  # metadata is not content: keep the base's
            self._write_workspace(slug, {**local, dsul.IMPORT_META: meta} if meta else local)
            git(self.clone, "commit", "-q", "--allow-empty", "-m", f"Platform state of {slug} before pull")
            merged = git(
                self.clone,
                "merge",
                "--no-ff",
                "--no-edit",
                "-q",
                target,
                check=False,
                env={"GIT_MERGE_AUTOEDIT": "no"},
            )
            status = git(self.clone, "diff", "--name-only", "--diff-filter=U", check=False)
            if status:
                git(self.clone, "merge", "--abort", check=False)
                git(self.clone, "push", "-q", "--force", "origin", f"refs/heads/{inter}", check=False)
                raise MergeConflictError(
                    f"Merge conflict in {', '.join(status.splitlines()[:5])} while merging '{self.branch}' "
                    f"into '{inter}'"
                )
            del merged
            head = git(self.clone, "rev-parse", "HEAD")
            git(self.clone, "push", "-q", "--force", "origin", f"refs/heads/{inter}", check=False)
            return head, self.read(head, slug)

    def resolved_intermediate(self, slug: str, target: str) -> str | None:
        """After a conflict: the remote intermediate branch, if someone merged the target into it."""
        inter = f"refs/remotes/origin/prismeai/{slug}/{self.branch}"
        sha = git(self.clone, "rev-parse", "--verify", "-q", inter, check=False)
        if not sha:
            return None
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", target, sha], cwd=self.clone).returncode
        return sha if ancestor == 0 else None


class FolderRepository:
    """A ``filesystem`` platform repository: workspaces read in place, never written."""

    def __init__(self, repo: PlatformRepo) -> None:
        self.repo = repo
        self.root = Path(repo.dirpath or ".")

    def fetch(self) -> str | None:
        return "filesystem" if self.root.is_dir() else None

    def resolve(self, slug: str, version: str, head: str | None) -> str:
        if version != "latest":
            raise UnknownRevision(f"A filesystem repository only has 'latest', not '{version}'")
        return "filesystem"

    def read(self, sha: str, slug: str) -> dsul.Files:
        return dsul.read_tree(self.root / slug)

    def touched_since(self, slug: str, since: str | None, head: str | None) -> bool:
        return False  # a folder has no history: a push simply replaces the workspace's folder

    def tag_exists(self, tag: str) -> bool:
        return False

    def push(
        self, slug: str, files: dsul.Files, *, message: str, tag: str | None, author: str, move_tag: bool = False
    ) -> str:
        """A read-write filesystem repository (the documented default MODE): the folder is rewritten in place."""
        dsul.write_tree(self.root / slug, files)
        return "filesystem"

    def slugs(self, sha: str) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))


class TagAlreadyPushed(GitError):
    """The version's tag exists in the remote: raised after the branch commit was pushed (as the 2024 driver)."""


class OwnRepository:
    """A workspace's own git repository (``repositories`` in its DSUL): one workspace at the repository root.

    As the 2024 workspaces service's git driver: pull the branch into a clone of its own, replace every file
    of the working tree by the workspace (other files removed), commit on the branch, push it, then tag
    ``<version>`` and push the tag: a tag the remote already has fails after the commit is pushed.
    Only local repositories (a path or ``file://``): the sandbox never reaches out to the network.
    """

    def __init__(self, url: str, branch: str, clone_dir: Path) -> None:
        self.url = url
        self.branch = branch
        self.clone = clone_dir
        self._lock = threading.RLock()

    def reachable(self) -> bool:
        path = remote_path(self.url)
        return path.startswith("/") and (Path(path) / "HEAD").is_file()

    def fetch(self) -> str | None:
        """Clone or fetch; the remote branch head (None when the remote has no such branch)."""
        with self._lock:
            if not (self.clone / ".git").is_dir():
                self.clone.mkdir(parents=True, exist_ok=True)
                git(self.clone, "init", "-q")
                git(self.clone, "remote", "add", "origin", remote_path(self.url))
            else:
                git(self.clone, "remote", "set-url", "origin", remote_path(self.url))
            git(self.clone, "fetch", "-q", "--prune", "--prune-tags", "--tags", "--force", "origin")
            head = git(self.clone, "rev-parse", "--verify", "-q", f"refs/remotes/origin/{self.branch}", check=False)
            return head or None

    def resolve(self, version: str, head: str | None) -> str:
        if version == "latest":
            if not head:
                raise UnknownRevision(f"Unknown git branch '{self.branch}' at '{self.url}'")
            return head
        for ref in (f"refs/tags/{version}", version):
            sha = git(self.clone, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
            if sha:
                return sha
        raise UnknownRevision(f"Unknown commit or tag '{version}' at '{self.url}'")

    def read(self, sha: str) -> dsul.Files:
        """The DSUL files at the repository root at a commit (other files are ignored, as the service does)."""
        proc = subprocess.run(["git", "archive", "--format=tar", sha], cwd=self.clone, capture_output=True)
        if proc.returncode != 0:
            return {}
        files: dsul.Files = {}
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None and (dsul.is_content_path(member.name) or member.name == dsul.IMPORT_META):
                    files[member.name] = handle.read()
        return files

    def push(self, files: dsul.Files, *, message: str, tag: str | None, author: str, head: str | None) -> str:
        """Commit the workspace at the root on the branch and push it, then push the tag. Returns the commit."""
        with self._lock:
            if head:
                git(self.clone, "checkout", "-q", "-f", "-B", self.branch, head)
            else:
                git(self.clone, "checkout", "-q", "-f", "--orphan", self.branch)
            git(self.clone, "rm", "-r", "-q", "--cached", "--ignore-unmatch", ".")
            git(self.clone, "clean", "-q", "-f", "-d", "-x")
            for rel, data in files.items():
                target = dsul.safe_join(self.clone, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            git(self.clone, "add", "-A", ".")
            env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": author if "@" in author else f"{author}@prisme.ai"}
            git(self.clone, "commit", "-q", "--allow-empty", "-m", message, env=env)
            commit = git(self.clone, "rev-parse", "HEAD")
            git(self.clone, "push", "-q", "origin", f"refs/heads/{self.branch}")
            if tag:
                remote_tag = git(self.clone, "ls-remote", "--tags", "origin", f"refs/tags/{tag}", check=False)
                if remote_tag:
                    raise TagAlreadyPushed(tag)
                git(self.clone, "tag", "-f", tag, commit)
                git(self.clone, "push", "-q", "origin", f"refs/tags/{tag}")
            return commit
