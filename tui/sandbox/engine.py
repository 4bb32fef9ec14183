"""What a Prisme.ai workspaces service does, on top of the Store: versions, pulls, imports, bulk ops.

Every public method is synchronous and thread-safe (the server runs them in worker threads, since git
is a subprocess). They raise SandboxError with the status and error class a real instance answers.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.sandbox import clock, dsul, legacy, traffic
from tui.sandbox.faults import Faults
from tui.sandbox.gitrepo import (
    FolderRepository,
    GitError,
    GitRepository,
    MergeConflictError,
    OwnRepository,
    TagAlreadyPushed,
    UnknownRevision,
)
from tui.sandbox.platform import PlatformConfig
from tui.sandbox.realism import Realism
from tui.sandbox.rewrite import (
    apply_excludes,
    exclude_rules,
    excluded_paths,
    localized_text,
    rewrite_index,
    searchable_text,
    valid_new_workspace,
)
from tui.sandbox.store import PLATFORM_ID, SandboxError, Store, now_iso

VERSION_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
Emit = Callable[[str, dict[str, Any]], None]
STARTUP_USER = ""  # the startup import runs as nobody: its events carry no source.userId


def _ms(start: float) -> int:
    if clock.frozen():
        return 0  # reproducible screenshots: no wall-clock durations
    return int((time.monotonic() - start) * 1000)


def file_changes(before: dsul.Files, after: dsul.Files) -> dict[str, Any]:
    """WorkspaceVersionChanges: which files changed and by how many lines."""
    changed, created, deleted = [], [], []
    insertions: dict[str, int] = {}
    deletions: dict[str, int] = {}
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        changed.append(rel)
        if old is None:
            created.append(rel)
        if new is None:
            deleted.append(rel)
        plus = minus = 0
        old_lines = (old or b"").decode("utf-8", "replace").splitlines()
        new_lines = (new or b"").decode("utf-8", "replace").splitlines()
        for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0):
            if line.startswith("+") and not line.startswith("+++"):
                plus += 1
            elif line.startswith("-") and not line.startswith("---"):
                minus += 1
        insertions[rel], deletions[rel] = plus, minus
    return {
        "files": changed,
        "created": created,
        "deleted": deleted,
        "insertions": insertions,
        "deletions": deletions,
        "summary": {
            "changes": len(changed),
            "insertions": sum(insertions.values()),
            "deletions": sum(deletions.values()),
        },
    }


class Engine:
    def __init__(
        self,
        store: Store,
        platform: PlatformConfig,
        faults: Faults,
        name: str = "sandbox",
        realism: Realism | None = None,
    ) -> None:
        self.store = store
        self.platform = platform
        self.faults = faults
        self.name = name
        self.realism = realism if realism is not None else Realism()
        self._bulk_tags: dict[int, set[str]] = {}  # bulk-push thread -> plain tags it made (they move along)
        self._drivers: dict[str, GitRepository | FolderRepository] = {}
        self._own_drivers: dict[tuple[str, str], OwnRepository] = {}
        self._bulk_lock = threading.Lock()
        self._order: list[dict[str, Any]] = []  # the listing order, for self._order_key (see _listing_order)
        self._order_key: tuple[int, int, bool] | None = None
        self._ws_locks: dict[str, threading.Lock] = {}
        self.failing: dict[str, list[traffic.Period]] = {}  # workspace id -> when its automations fail
        # slug -> the digest of the content the error_rate fault made faulty (the first import after it was set)
        self.faulty: dict[str, str] = {}
        for slug in faults.stuck_lock:
            self.apply_stuck_lock(slug)

    # ------------------------------------------------------------------ helpers
    def apply_stuck_lock(self, slug: str) -> None:
        meta = self.store.by_slug(slug)
        if meta and not meta.get("writeLock"):
            meta["writeLock"] = {
                "lockedAt": now_iso(),
                "lockedBy": "ghost-operator",
                "reason": "pull_in_progress",
            }
            self.store.save_meta(meta)

    def _ws_lock(self, workspace_id: str) -> threading.Lock:
        with self.store.lock:
            return self._ws_locks.setdefault(workspace_id, threading.Lock())

    def driver(self, repo_id: str) -> GitRepository | FolderRepository:
        repo = self.platform.repositories.get(repo_id)
        if repo is None:
            raise SandboxError(
                404,
                "ObjectNotFoundError",
                f"Unknown platform repository '{repo_id}'",
                {"repositoryId": repo_id, "availableRepositories": sorted(self.platform.repositories)},
            )
        if repo_id not in self._drivers:
            if repo.type == "filesystem":
                self._drivers[repo_id] = FolderRepository(repo)
            else:
                self._drivers[repo_id] = GitRepository(repo, self.store.root / "git" / repo_id)
        return self._drivers[repo_id]

    def check_git_auth(self, repo_id: str) -> None:
        """Fault ``git_auth_fail``: the remote refuses the service's credentials (a 403 that is not about roles)."""
        if repo_id in self.faults.git_auth_fail:
            repo = self.platform.repositories[repo_id]
            raise SandboxError(
                403,
                "ForbiddenError",
                f"Authentication failed for repository {repo.url or repo_id}",
                {"repositoryId": repo_id},
            )

    def repositories_json(self, *, with_groups: bool) -> dict[str, Any]:
        groups = sorted(self.platform.groups)
        return {
            rid: r.to_json(with_groups=groups if with_groups else None) for rid, r in self.platform.repositories.items()
        }

    def workspace_json(self, meta: dict[str, Any], *, detailed: bool = False) -> dict[str, Any]:
        data = {
            k: meta.get(k)
            for k in (
                "id",
                "slug",
                "name",
                "labels",
                "description",
                "dirty",
                "createdAt",
                "updatedAt",
                "createdBy",
            )
        }
        for key in ("lastPush", "lastPull", "writeLock"):
            if meta.get(key) and (key != "lastPull" or self.realism.last_pull_listed):
                data[key] = meta[key]
        if self.realism.legacy:  # the 2024 service tracked none of these, and listed each workspace's versions
            for key in ("dirty", "lastPush", "lastPull", "writeLock"):
                data.pop(key, None)
            if not detailed:
                data["versions"] = list(meta.get("versions") or [])
        data["description"] = data.get("description") or ""
        if detailed:
            # DSULReadOnly is closed (additionalProperties: false): dirty/lastPush/lastPull are list fields.
            for key in ("dirty", "lastPush", "lastPull"):
                data.pop(key, None)
            files = self.store.read_files(meta["id"])
            objects: dict[str, dict[str, Any]] = {"automations": {}, "pages": {}, "imports": {}}
            for path, body in files.items():
                obj = dsul.object_key(path)
                if obj:
                    objects[obj[0]][obj[1]] = _object_meta(obj[0], obj[1], dsul.load_yaml(body), dsul.checksum(body))
            data.update(objects)
            if not self.realism.legacy:  # platform repositories came after the 2024 server
                data["platformRepositories"] = self.repositories_json(with_groups=meta["id"] == PLATFORM_ID)
            data["repositories"] = self.own_repositories(meta)
        return {k: v for k, v in data.items() if v is not None}

    # ------------------------------------------------------------------ a workspace's own repositories
    def own_repositories(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The ``repositories`` of the workspace's DSUL (its index), as the service stores them."""
        index = dsul.load_yaml(self.store.read_files(meta["id"]).get("index.yml", b"")) or {}
        repos = index.get("repositories") if isinstance(index, dict) else None
        return repos if isinstance(repos, dict) else {}

    def _is_own(self, meta: dict[str, Any], repo_id: str) -> bool:
        """Which repository a ``repository.id`` names: a platform repository first (the workspace may declare one
        under the same id only to set its ``pull.exclude``), then its own; at 2024, only its own."""
        if not self.realism.legacy and repo_id in self.platform.repositories:
            return False
        if repo_id in self.own_repositories(meta):
            return True
        if self.realism.legacy:
            raise SandboxError(
                404,
                "ObjectNotFoundError",
                f"Unknown workspace repository '{repo_id}'",
                {"repositoryId": repo_id, "availableRepositories": sorted(self.own_repositories(meta))},
            )
        return False

    def own_driver(self, meta: dict[str, Any], repo_id: str, mode: str) -> OwnRepository:
        repo = self.own_repositories(meta).get(repo_id) or {}
        if mode == "write" and repo.get("mode") == "read-only":
            raise SandboxError(
                403, "ForbiddenError", f"Can't push to '{repo_id}' repository as it is configured as read-only"
            )
        if (repo.get("type") or "git") != "git":
            raise SandboxError(
                400, "PrismeError", f"Unsupported repository type {repo.get('type')} for versions pull/push."
            )
        config = repo.get("config") or {}
        url, branch = str(config.get("url") or ""), str(config.get("branch") or "")
        if not url or not branch:
            raise SandboxError(
                400, "PrismeError", "Misconfigured git repository : Missing dirpath, url or branch", {"url": url}
            )
        key = (meta["id"], repo_id)
        driver = self._own_drivers.get(key)
        if driver is None or (driver.url, driver.branch) != (url, branch):
            driver = OwnRepository(url, branch, self.store.root / "git-workspaces" / meta["id"] / repo_id)
            self._own_drivers[key] = driver
        if not driver.reachable():
            raise SandboxError(
                404,
                "ObjectNotFoundError",
                f"Repository {url} is either unreachable or unauthenticated",
                {"repository": url},
            )
        return driver

    def _push_own(
        self, meta: dict[str, Any], repo_id: str, files: dsul.Files, name: str, message: str, user: str
    ) -> None:
        """A version pushed to the workspace's own repository: the workspace at the root, tag ``<name>``."""
        driver = self.own_driver(meta, repo_id, "write")
        try:
            head = driver.fetch()
            if head is None and self.realism.legacy:  # the 2024 driver pulls the branch first
                raise SandboxError(
                    404,
                    "ObjectNotFoundError",
                    f"Unknown git branch '{driver.branch}' at '{driver.url}'",
                    {"repository": driver.url, "branch": driver.branch},
                )
            payload = dict(dsul.content(files))
            payload[dsul.IMPORT_META] = dsul.import_meta(
                workspace_id=meta["id"], exported_at=now_iso(), files=payload, version_name=name
            )
            if self.realism.legacy:
                payload.update(legacy.export_extras(payload, user, now_iso()))
            driver.push(payload, message=f"{message} | Author : {user}", tag=name, author=user, head=head)
        except TagAlreadyPushed as exc:
            raise SandboxError(
                400,
                "AlreadyUsedError",
                f"Given version tag '{name}' already exists at '{driver.url}'",
                {"repository": driver.url, "branch": driver.branch, "tag": name},
            ) from exc
        except GitError as exc:
            raise SandboxError(400, "PrismeError", f"Git error: {exc}") from exc

    def _pull_own(self, meta: dict[str, Any], repo_id: str, version: str, user: str) -> dict[str, Any]:
        """Pull (roll back to) a version of the workspace's own repository: its root, whatever else is there."""
        self._check_unlocked(meta)
        driver = self.own_driver(meta, repo_id, "read")
        try:
            head = driver.fetch()
            files = driver.read(driver.resolve(version, head))
        except UnknownRevision as exc:
            raise SandboxError(
                404, "ObjectNotFoundError", str(exc), {"repository": driver.url, "commit": version}
            ) from exc
        except GitError as exc:
            raise SandboxError(400, "PrismeError", f"Git error: {exc}") from exc
        self._slow_pull()
        result = self._apply(
            meta,
            files,
            prune=True,
            user=user,
            version={"name": version, "repository": {"id": repo_id}},
            repo_id=repo_id,
            rename=True,
        )
        meta["lastPull"] = {"createdAt": now_iso(), "createdBy": user, "version": version, "repositoryId": repo_id}
        meta["importState"] = {
            "version": {"type": "import", "importedAt": now_iso()},
            "checksums": dsul.checksums(dsul.content(files)),
            "name": version,
        }
        meta["dirty"] = bool(self.realism.dirty_after_pull)
        self.store.save_meta(meta)
        result["workspace"] = self.workspace_json(meta)
        return result

    def _progress(
        self,
        meta: dict[str, Any],
        operation: str,
        step: str,
        message: str,
        started: str,
        repo_id: str | None,
        t0: float,
        user: str,
    ) -> None:
        payload: dict[str, Any] = {
            "operation": operation,
            "step": step,
            "message": message,
            "startedAt": started,
            "stepDuration": _ms(t0),
        }
        if repo_id:
            payload["repositoryId"] = repo_id
            repo = self.platform.repositories.get(repo_id)
            if repo and repo.type == "git":
                payload["branch"] = repo.branch
        self.store.emit(meta["id"], "workspaces.versions.progress", payload, user_id=user)

    @staticmethod
    def check_version_name(name: str) -> None:
        if name == "current":
            raise SandboxError(400, "InvalidVersionError", "'current' is a reserved version name")
        if not (1 <= len(name) <= 15) or set(name) - VERSION_CHARS:
            raise SandboxError(
                400,
                "InvalidVersionError",
                f"Invalid version name '{name}': at most 15 characters of [A-Za-z0-9_.-]",
            )

    def _check_unlocked(self, meta: dict[str, Any]) -> None:
        lock = meta.get("writeLock")
        if lock:
            reason = lock.get("reason", "manual")
            raise SandboxError(
                400,
                "WorkspaceLockedError",
                f"Workspace '{meta['slug']}' is locked ({reason}) since {lock.get('lockedAt')}",
                {"writeLock": lock},
            )

    # ------------------------------------------------------------------ workspaces
    def _listing_order(self, newest_first: bool) -> list[dict[str, Any]]:
        """Every workspace by creation date, sorted once per change of the store, not once per page: paging
        through 50,000 workspaces would otherwise sort them 500 times (bench/: load all pages)."""
        key = (self.store.generation, len(self.store.meta), newest_first)
        if self._order_key != key:
            with self.store.lock:
                metas = [m for m in self.store.meta.values() if m["id"] != PLATFORM_ID]
            metas.sort(key=lambda m: m.get("createdAt") or "", reverse=newest_first)
            self._order, self._order_key = metas, key
        return self._order

    def list_workspaces(self, params: dict[str, str]) -> list[dict[str, Any]]:
        metas = self._listing_order(params.get("sort") == "-createdAt")
        if params.get("labels"):
            wanted = {x for x in params["labels"].split(",") if x}
            metas = [m for m in metas if wanted.intersection(m.get("labels") or [])]
        if params.get("dirty") in ("true", "false"):
            flag = params["dirty"] == "true"
            metas = [m for m in metas if bool(m.get("dirty")) == flag]
        if params.get("slug"):
            metas = [m for m in metas if m.get("slug") == params["slug"]]
        if params.get("ids"):
            ids = set(params["ids"].split(","))
            metas = [m for m in metas if m["id"] in ids]
        if params.get("search") or params.get("name"):
            metas = [m for m in metas if _found(m, params)]
        try:
            limit = max(1, min(int(params.get("limit", 20)), 1000))
            page = max(0, int(params.get("page", 0)))
        except ValueError as exc:
            raise SandboxError(400, "RequestValidationError", "page and limit must be integers") from exc
        return [self.workspace_json(m) for m in metas[page * limit : (page + 1) * limit]]

    def labels(self) -> list[str]:
        found: set[str] = set()
        for meta in self.store.meta.values():
            found.update(meta.get("labels") or [])
        return sorted(found)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        valid_new_workspace(body)
        name = str(body["name"]).strip()
        slug = str(body.get("slug") or name.lower().replace(" ", "-"))
        meta = self.store.create_workspace(
            name=name,
            slug=slug,
            labels=body.get("labels") or [],
            description=localized_text(body.get("description")),
        )
        self.store.emit(meta["id"], "workspaces.created", {"workspace": self.workspace_json(meta)})
        return self.workspace_json(meta)

    def patch(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            self._check_unlocked(meta)
            files = self.store.read_files(workspace_id)
            index = dsul.load_yaml(files.get("index.yml", b"")) or {}
            for key in ("name", "labels", "description", "slug"):
                if key in body:
                    meta[key] = body[key]
                    index[key] = body[key]
            if "repositories" in body:  # the workspace's own repositories live in its DSUL, as on the platform
                if not isinstance(body["repositories"], dict) or not all(
                    isinstance(v, dict) for v in body["repositories"].values()
                ):
                    raise SandboxError(400, "RequestValidationError", "repositories must be an object of objects")
                index["repositories"] = body["repositories"]
            files["index.yml"] = dsul.dump_yaml(index)
            self.store.write_files(workspace_id, files)
            meta["dirty"] = True
            meta["updatedAt"] = now_iso()
            self.store.save_meta(meta)
            self.store.emit(workspace_id, "workspaces.updated", {"workspace": self.workspace_json(meta)})
            return self.workspace_json(meta)

    def edit_file(self, workspace_id: str, rel: str, text: str | None) -> dict[str, Any]:
        """Sandbox-only: what a Builder user editing an automation or page does to the DSUL."""
        if not dsul.is_content_path(rel):
            raise SandboxError(400, "RequestValidationError", f"'{rel}' is not a DSUL file path")
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            self._check_unlocked(meta)
            files = self.store.read_files(workspace_id)
            if text is None:
                files.pop(rel, None)
            else:
                files[rel] = text.encode("utf-8")
            self.store.write_files(workspace_id, files)
            meta["dirty"] = True
            meta["updatedAt"] = now_iso()
            meta["updatedBy"] = "builder-user"
            self.store.save_meta(meta)
            return self.workspace_json(meta)

    def delete(self, workspace_id: str) -> dict[str, Any]:
        if workspace_id == PLATFORM_ID:
            raise SandboxError(403, "ForbiddenError", "The platform workspace cannot be deleted")
        self.store.delete_workspace(workspace_id)
        self.store.emit(workspace_id, "workspaces.deleted", {"workspaceId": workspace_id})
        return {"id": workspace_id}

    # ------------------------------------------------------------------ locks and status
    def set_lock(self, workspace_id: str, reason: str, user: str) -> dict[str, Any]:
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            meta["writeLock"] = {"lockedAt": now_iso(), "lockedBy": user, "reason": reason or "manual"}
            self.store.save_meta(meta)
            return {"writeLock": meta["writeLock"]}

    def clear_lock(self, workspace_id: str) -> dict[str, Any]:
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            meta["writeLock"] = None
            self.store.save_meta(meta)
            if meta["slug"] in self.faults.stuck_lock:
                self.faults.stuck_lock.remove(meta["slug"])
            return {"id": workspace_id}

    def status(self, workspace_id: str) -> dict[str, Any]:
        meta = self.store.get(workspace_id)
        files = self.store.read_files(workspace_id)
        current = dsul.checksums(files)
        state = meta.get("importState") or {}
        expected: dict[str, dict[str, str]] = state.get("checksums") or {}
        changes = []
        for kind in dsul.KINDS:
            for slug in sorted(set(current[kind]) | set(expected.get(kind, {}))):
                cur, exp = current[kind].get(slug, ""), expected.get(kind, {}).get(slug, "")
                if state and cur != exp:
                    changes.append(
                        {
                            "type": kind,
                            "slug": slug,
                            "currentChecksum": cur,
                            "expectedChecksum": exp,
                            "updatedAt": meta.get("updatedAt") or "",
                            "updatedBy": meta.get("updatedBy") or "",
                        }
                    )
        result: dict[str, Any] = {
            "errors": [],
            "changes": changes,
            **{kind: [{"slug": s} for s in sorted(current[kind])] for kind in dsul.KINDS},
        }
        if state.get("version"):
            result["version"] = state["version"]
        return result

    # ------------------------------------------------------------------ versions
    def versions(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self.store.get(workspace_id).get("versions") or [])

    def _refuse_if_busy(self, workspace_id: str) -> None:
        """A pull or push already running holds the write lock: a second one is refused, not queued."""
        meta = self.store.get(workspace_id)
        if (meta.get("writeLock") or {}).get("reason") in ("pull_in_progress", "push_in_progress"):
            self._check_unlocked(meta)

    def publish(self, workspace_id: str, body: dict[str, Any], user: str) -> dict[str, Any]:
        self._refuse_if_busy(workspace_id)
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            return self._publish(meta, body, user)

    def _publish(
        self, meta: dict[str, Any], body: dict[str, Any], user: str, groups: list[str] | None = None
    ) -> dict[str, Any]:
        if "description" not in body:
            raise SandboxError(400, "MissingFieldError", "description is required")
        description = localized_text(body.get("description"))
        # A LocalizedText is kept as an object on the version, but the real server stringifies it in the commit.
        message = "[object Object]" if isinstance(description, dict) else str(description or "")
        taken = [v["name"] for v in meta.get("versions") or []]
        if self.realism.legacy:  # generated names are longer than the 15 characters a client may choose
            name = body.get("name") or legacy.generated_version_name(taken)
            if body.get("name"):
                legacy.check_version_name(name, taken)
        else:
            # A generated name fits the 15-character rule and differs between two pushes in one second.
            name = body.get("name") or clock.now().strftime("v%y%m%d%H%M%S%f")[:15]
            self.check_version_name(name)
            if name in taken:
                raise SandboxError(400, "InvalidVersionError", f"Version name '{name}' is already used")
        self._check_unlocked(meta)
        repo_id = (body.get("repository") or {}).get("id")
        if repo_id and self._is_own(meta, repo_id):
            return self._publish_own(meta, repo_id, name, description, message, user)
        files = self.store.read_files(meta["id"])
        started, t0 = now_iso(), time.monotonic()
        version = {"name": name, "createdAt": now_iso(), "description": description or ""}
        previous = self._previous_native(meta)
        if repo_id:
            previous = self._push_git(meta, repo_id, files, name, message, user, started, t0, groups)
            version["repository"] = {"id": repo_id}
            meta["lastPush"] = {
                "createdAt": version["createdAt"],
                "createdBy": user,
                "version": name,
                "repositoryId": repo_id,
            }
            meta["dirty"] = False
        else:
            self.store.write_files(meta["id"], files, version=name)
        self._record_version(meta, version)
        self.store.emit(
            meta["id"],
            "workspaces.versions.published",
            {"version": version, "changes": file_changes(previous, files)},
            user_id=user,
        )
        return version

    def _publish_own(
        self, meta: dict[str, Any], repo_id: str, name: str, description: Any, message: str, user: str
    ) -> dict[str, Any]:
        """A version in the workspace's own repository: listed only once the tag is pushed."""
        files = self.store.read_files(meta["id"])
        self._push_own(meta, repo_id, files, name, message, user)
        version = {
            "name": name,
            "createdAt": now_iso(),
            "description": description or "",
            "repository": {"id": repo_id},
        }
        meta["lastPush"] = {
            "createdAt": version["createdAt"],
            "createdBy": user,
            "version": name,
            "repositoryId": repo_id,
        }
        meta["dirty"] = False
        self._record_version(meta, version)
        self.store.emit(meta["id"], "workspaces.versions.published", {"version": version}, user_id=user)
        return version

    def _record_version(self, meta: dict[str, Any], version: dict[str, Any]) -> None:
        """List a new version first and save the workspace."""
        meta.setdefault("versions", []).insert(0, version)
        # MAXIMUM_WORKSPACE_VERSION counts every version, native and git: the oldest go, native files with them.
        for old in meta["versions"][self.platform.max_versions :]:
            if not old.get("repository"):
                self.store.drop_version_files(meta["id"], old["name"])
        del meta["versions"][self.platform.max_versions :]
        self.store.save_meta(meta)

    def _previous_native(self, meta: dict[str, Any]) -> dsul.Files:
        for version in meta.get("versions") or []:
            if not version.get("repository"):
                return self.store.read_files(meta["id"], version["name"])
        return {}

    def _push_git(
        self,
        meta: dict[str, Any],
        repo_id: str,
        files: dsul.Files,
        name: str,
        description: str,
        user: str,
        started: str,
        t0: float,
        groups: list[str] | None,
    ) -> dsul.Files:
        """Push to a platform repository; returns the workspace's files as they were in git before."""
        driver = self.driver(repo_id)
        repo = self.platform.repositories[repo_id]
        if repo.mode == "read-only":
            raise SandboxError(403, "ForbiddenError", f"Repository '{repo_id}' is read-only")
        self.check_git_auth(repo_id)
        meta["writeLock"] = {"lockedAt": now_iso(), "lockedBy": user, "reason": "push_in_progress"}
        self.store.save_meta(meta)
        try:
            self._progress(meta, "push", "checkout", f"Fetching {repo.url}", started, repo_id, t0, user)
            if self.faults.push_delay_ms:
                time.sleep(self.faults.push_delay_ms / 1000)
            if meta["slug"] in self.faults.push_fail:
                raise SandboxError(500, "Internal", f"Failed to push '{meta['slug']}': remote hung up (injected)")
            sync = (meta.get("git") or {}).get(repo_id)
            try:
                head = driver.fetch()
                if driver.touched_since(meta["slug"], sync, head):
                    raise SandboxError(
                        400,
                        "PrismeError",
                        f"Workspace is not up-to-date with repository '{repo_id}': pull first",
                        {"repositoryId": repo_id, "remoteHead": head},
                    )
                if isinstance(driver, FolderRepository):
                    previous = dsul.content(driver.read("filesystem", meta["slug"]))
                else:
                    previous = dsul.content(driver.read(sync, meta["slug"])) if sync else {}
                tag, move_tag = self._tag_for(driver, meta["slug"], name, repo.url or repo.dirpath or repo_id)
                self._progress(meta, "push", "write", "Writing workspace files", started, repo_id, t0, user)
                payload = dict(files)
                labels = meta.get("labels") or []
                payload[dsul.IMPORT_META] = dsul.import_meta(
                    workspace_id=meta["id"],
                    exported_at=now_iso(),
                    files=files,
                    version_name=name,
                    groups=groups if groups is not None else self.platform.groups_of(labels),
                    depends_on=meta.get("dependsOn"),
                )
                self._progress(meta, "push", "push", "Committing and pushing", started, repo_id, t0, user)
                new_head = driver.push(
                    meta["slug"],
                    payload,
                    message=f"{description} | Author : {user}",
                    tag=tag,
                    author=user,
                    move_tag=move_tag,
                )
            except GitError as exc:
                raise SandboxError(400, "PrismeError", f"Git error: {exc}") from exc
            self._progress(meta, "push", "push:merge", f"Merged into {repo.branch}", started, repo_id, t0, user)
            if tag:
                self._progress(meta, "push", "push:tag", f"Tagged {tag}", started, repo_id, t0, user)
            if isinstance(driver, GitRepository):
                meta.setdefault("git", {})[repo_id] = new_head
            self._progress(meta, "push", "push:done", "Push done", started, repo_id, t0, user)
            return previous
        except SandboxError as exc:
            self._progress(meta, "push", "error", exc.message, started, repo_id, t0, user)
            raise
        finally:
            if (meta.get("writeLock") or {}).get("reason") == "push_in_progress":
                meta["writeLock"] = None
            self.store.save_meta(meta)

    def _tag_for(
        self, driver: GitRepository | FolderRepository, slug: str, name: str, where: str
    ) -> tuple[str | None, bool]:
        """The tag of a pushed version in the configured layout, and whether it may move (plain, same bulk)."""
        if isinstance(driver, FolderRepository):
            return None, False  # a folder has no tags
        tag = f"{slug}/{name}" if self.realism.tag_layout == "slug" else name
        bulk = self._bulk_tags.get(threading.get_ident())
        if not driver.tag_exists(tag):
            if bulk is not None:
                bulk.add(tag)
            return tag, False
        if bulk is not None and tag in bulk:
            return tag, True  # one bulk push, one plain tag: it ends on the commit holding every workspace
        raise SandboxError(400, "AlreadyUsedError", f"Given version tag '{name}' already exists at '{where}'")

    def delete_version(self, workspace_id: str, version: str) -> dict[str, Any]:
        if version == "current":
            raise SandboxError(400, "InvalidVersionError", "The current version cannot be deleted")
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            match = next((v for v in meta.get("versions") or [] if v["name"] == version), None)
            if match is None:
                raise SandboxError(400, "InvalidVersionError", f"Unknown version '{version}'")
            meta["versions"].remove(match)
            self.store.drop_version_files(workspace_id, version)
            self.store.save_meta(meta)
            self.store.emit(workspace_id, "workspaces.versions.deleted", {"version": match})
            return {"id": version}

    # ------------------------------------------------------------------ pull / rollback
    def pull(self, workspace_id: str, version: str, body: dict[str, Any], user: str) -> dict[str, Any]:
        if self.realism.legacy:
            legacy.check_pull_body(body)  # the 2024 spec's body is {repository} only, validated first
        if version == "current":
            raise SandboxError(400, "InvalidVersionError", "Cannot rollback to current version")
        extra = set(body) - {"repository", "discardLocalChanges"}
        if extra:
            raise SandboxError(
                400, "RequestValidationError", f"must NOT have additional properties: {', '.join(sorted(extra))}"
            )
        self._refuse_if_busy(workspace_id)
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            repo_id = (body.get("repository") or {}).get("id")
            discard = bool(body.get("discardLocalChanges"))
            if repo_id and self._is_own(meta, repo_id):
                return self._pull_own(meta, repo_id, version, user)
            if repo_id:
                return self._pull_git(meta, repo_id, version, discard, user)
            return self._pull_native(meta, version, user)

    def _pull_native(self, meta: dict[str, Any], version: str, user: str) -> dict[str, Any]:
        self._check_unlocked(meta)
        native = [v for v in meta.get("versions") or [] if not v.get("repository")]
        if version == "latest" and native:
            # The 2024 service reverses the newest-first list before its search: "latest" was the oldest.
            version = native[-1 if self.realism.legacy else 0]["name"]
        match = next((v for v in native if v["name"] == version), None)
        if match is None:
            raise SandboxError(400, "InvalidVersionError", f"Unknown version name '{version}'")
        files = self.store.read_files(meta["id"], version)
        if not files:
            raise SandboxError(400, "InvalidVersionError", f"Version '{version}' not available anymore")
        started, t0 = now_iso(), time.monotonic()
        meta["writeLock"] = {"lockedAt": now_iso(), "lockedBy": user, "reason": "pull_in_progress"}
        self.store.save_meta(meta)
        try:
            self._slow_pull()
            self._progress(meta, "pull", "pull:import", f"Importing native version {version}", started, None, t0, user)
            result = self._apply(meta, files, prune=True, user=user, version={"name": version})
        finally:
            meta["writeLock"] = None
            self.store.save_meta(meta)
        meta["dirty"] = True
        meta["lastPull"] = {"createdAt": now_iso(), "createdBy": user, "version": version}
        meta["importState"] = {
            "version": {"type": "import", "importedAt": now_iso()},
            "checksums": dsul.checksums(files),
            "name": version,
        }
        self.store.save_meta(meta)
        self._progress(meta, "pull", "pull:done", "Pull done", started, None, t0, user)
        return result

    def _slow_pull(self) -> None:
        """Fault ``pull_delay_ms``: a slow import (to meet the gateway's 408), holding the locks meanwhile."""
        if self.faults.pull_delay_ms:
            time.sleep(self.faults.pull_delay_ms / 1000)

    def _pull_git(self, meta: dict[str, Any], repo_id: str, version: str, discard: bool, user: str) -> dict[str, Any]:
        driver = self.driver(repo_id)
        self.check_git_auth(repo_id)
        lock = meta.get("writeLock")
        conflict_locked = bool(lock and lock.get("reason") == "merge_conflict")
        if lock and not conflict_locked:
            self._check_unlocked(meta)
        if conflict_locked and discard:
            raise SandboxError(
                400,
                "WorkspaceLockedError",
                f"Workspace '{meta['slug']}' is locked (merge_conflict): unlock it first to discard local changes",
                {"writeLock": lock},
            )
        started, t0 = now_iso(), time.monotonic()
        meta["writeLock"] = lock or {"lockedAt": now_iso(), "lockedBy": user, "reason": "pull_in_progress"}
        self.store.save_meta(meta)
        merged_dirty = False
        try:
            self._progress(meta, "pull", "checkout", f"Fetching {repo_id}", started, repo_id, t0, user)
            self._slow_pull()
            try:
                head = driver.fetch()
                target = driver.resolve(meta["slug"], version, head)
                files = driver.read(target, meta["slug"])
                if not dsul.content(files):
                    raise SandboxError(
                        404,
                        "ObjectNotFoundError",
                        f"Workspace '{meta['slug']}' is not in repository '{repo_id}' at '{version}'",
                    )
                sync = (meta.get("git") or {}).get(repo_id)
                if isinstance(driver, GitRepository) and conflict_locked:
                    resolved = driver.resolved_intermediate(meta["slug"], target)
                    if not resolved:
                        raise MergeConflictError(
                            f"The merge conflict of '{meta['slug']}' is not resolved on "
                            f"prismeai/{meta['slug']}/{driver.branch} yet"
                        )
                    files = driver.read(resolved, meta["slug"])
                    merged_dirty = True
                elif (
                    isinstance(driver, GitRepository)
                    and not discard
                    and meta.get("dirty")
                    and sync
                    and version == "latest"
                    and sync != target
                ):
                    self._progress(meta, "pull", "pull:merge", f"Merging {driver.branch}", started, repo_id, t0, user)
                    local = self.store.read_files(meta["id"])
                    _, files = driver.merge_local(meta["slug"], sync, local, target)
                    merged_dirty = True
            except UnknownRevision as exc:
                raise SandboxError(404, "ObjectNotFoundError", str(exc)) from exc
            except MergeConflictError as exc:
                meta["writeLock"] = {"lockedAt": now_iso(), "lockedBy": user, "reason": "merge_conflict"}
                self._progress(meta, "pull", "error", str(exc), started, repo_id, t0, user)
                raise SandboxError(
                    400,
                    "MergeConflictError",
                    f"{exc}: the workspace stays locked until it is resolved",
                    {"workspaceId": meta["id"], "repositoryId": repo_id},
                ) from exc
            except GitError as exc:
                raise SandboxError(400, "PrismeError", f"Git error: {exc}") from exc
            failure = self.faults.import_fail.get(meta["slug"])
            if failure:
                raise SandboxError(
                    400,
                    failure,
                    f"Could not import '{meta['slug']}': {failure} (injected)",
                    {"slug": meta["slug"]},
                )
            self._progress(meta, "pull", "pull:import", "Importing files", started, repo_id, t0, user)
            import_doc = dsul.load_yaml(files.get(dsul.IMPORT_META, b"")) or {}
            name = (import_doc.get("version") or {}).get("name") or version
            result = self._apply(
                meta,
                files,
                prune=True,
                user=user,
                version={"name": version, "repository": {"id": repo_id}},
                repo_id=repo_id,
                rename=True,
            )
            self._progress(
                meta,
                "pull",
                "pull:import:done",
                f"Imported {len(result['imported'])} files",
                started,
                repo_id,
                t0,
                user,
            )
            meta["lastPull"] = {
                "createdAt": now_iso(),
                "createdBy": user,
                "version": name,
                "repositoryId": repo_id,
            }
            meta["importState"] = {
                "version": {"type": "import", "importedAt": now_iso()},
                "checksums": import_doc.get("checksums") or dsul.checksums(dsul.content(files)),
                "name": name,
            }
            if head and isinstance(driver, GitRepository):
                meta.setdefault("git", {})[repo_id] = head
            meta["dirty"] = True if self.realism.dirty_after_pull else merged_dirty
            meta["writeLock"] = None
            self._progress(meta, "pull", "pull:done", "Pull done", started, repo_id, t0, user)
            return result
        finally:
            if (meta.get("writeLock") or {}).get("reason") == "pull_in_progress":
                meta["writeLock"] = None
            self.store.save_meta(meta)

    def _apply(
        self,
        meta: dict[str, Any],
        incoming: dsul.Files,
        *,
        prune: bool,
        user: str,
        version: dict[str, Any] | None = None,
        repo_id: str | None = None,
        archive: bool = False,
        rename: bool = False,
    ) -> dict[str, Any]:
        """Write imported files (prune removes objects absent from the archive), emit workspaces.imported.

        ``repo_id``: whose ``pull.exclude`` rules apply; ``archive``: those of the ``archive`` repositories.
        ``rename``: a pull may move the workspace to the slug of the version's index.
        """
        incoming = dsul.content(incoming)
        current = self.store.read_files(meta["id"])
        old_index = dsul.load_yaml(current.get("index.yml", b"")) or {}
        old_index = old_index if isinstance(old_index, dict) else {}
        rules = exclude_rules(old_index, repo_id) if (repo_id or archive) else []
        skip = excluded_paths(rules, set(incoming) | set(current))
        incoming = apply_excludes(incoming, skip)
        brought = traffic.digest(incoming)  # what this import brings: the same release twice, the same digest
        keep = {k: v for k, v in current.items() if k in dsul.ROOT_FILES or k in skip}
        merged = dict(current) if not prune else keep
        merged.update(incoming)
        errors: list[dict[str, Any]] = []
        if "index.yml" in incoming:
            index = self._import_index(meta, old_index, incoming["index.yml"], rename, errors)
            if index is None:  # the index failed (slug conflict): the other files are imported anyway
                merged["index.yml"] = current.get("index.yml", b"")
                incoming.pop("index.yml")
            else:
                merged["index.yml"] = dsul.dump_yaml(index)
        deleted = sorted(set(current) - set(merged))
        self.store.write_files(meta["id"], merged)
        if self.realism.legacy:  # the 2024 service's index refresh fails on a missing folder: said in `errors`
            errors += legacy.index_warnings(merged, str(self.store.ws_dir(meta["id"]) / "current"))
        meta["updatedAt"] = now_iso()
        payload: dict[str, Any] = {
            "workspace": {"id": meta["id"], "slug": meta["slug"], "name": meta["name"]},
            "files": sorted(incoming),
            "deleted": deleted,
            "errors": errors,
        }
        if version:
            payload["version"] = {"description": "", **version}
        self.store.emit(meta["id"], "workspaces.imported", payload, user_id=user)
        self._failures_after_import(meta, brought)
        return {
            "imported": sorted(incoming),
            "errors": errors,
            "deleted": deleted,
            "workspace": self.workspace_json(meta),
        }

    def _failures_after_import(self, meta: dict[str, Any], brought: str) -> None:
        """An import ends the failure of the content it replaces. The ``error_rate`` fault describes content,
        as a bug does: the first import after it is set brings the faulty content, and that content fails at
        the rate whenever it runs (a rollback to other content is healthy; the same release rolled out again
        fails again), until the fault is cleared."""
        at = clock.now().timestamp()
        periods = self.failing.setdefault(meta["id"], [])
        for period in periods:
            if period.end is None:
                period.end = at
        slug = meta["slug"]
        rate = self.faults.error_rate.get(slug)
        if not rate:
            self.faulty.pop(slug, None)
            return
        if self.faulty.setdefault(slug, brought) == brought:
            periods.append(traffic.Period(at, rate))

    def faults_changed(self) -> None:
        """A fault set again (POST /sandbox/faults): a cleared ``error_rate`` forgets its faulty content, so
        the next time it is set it marks the next import's."""
        self.faulty = {slug: found for slug, found in self.faulty.items() if self.faults.error_rate.get(slug)}

    def traffic_events(self, workspace_id: str, query: Any) -> list[dict[str, Any]]:
        """The synthetic executions a search of ``query`` sees (Realism.traffic_per_minute), as indexed by
        now: the events service's lag applies to them as to the others."""
        if self.realism.traffic_per_minute <= 0 or not traffic.asks_for_executions(query):
            return []
        now = clock.now().timestamp() - self.realism.event_lag
        low, high = traffic.time_range(query)
        end = now if high is None else min(high, now)
        start = end - traffic.DEFAULT_SPAN if low is None else low
        files = self.store.read_files(workspace_id)
        automations = sorted(
            name.removeprefix("automations/").removesuffix(".yml")
            for name in files
            if name.startswith("automations/") and name.endswith(".yml")
        )
        return traffic.events(
            workspace_id,
            automations,
            start,
            end,
            per_minute=self.realism.traffic_per_minute,
            seed=self.realism.traffic_seed,
            periods=list(self.failing.get(workspace_id, [])),
        )

    def _import_index(
        self, meta: dict[str, Any], old_index: dict[str, Any], data: bytes, rename: bool, errors: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The index as the service rewrites it on import; None when it cannot be applied."""
        new_index = dsul.load_yaml(data) or {}
        if not isinstance(new_index, dict):
            return old_index
        wanted = str(new_index.get("slug") or meta["slug"])
        if rename and wanted != meta["slug"]:
            holder = self.store.by_slug(wanted)
            if holder is not None and holder["id"] != meta["id"]:
                errors.append(
                    {
                        "msg": f"Could not rename workspace slug from {meta['slug']} to {wanted} as it is already "
                        f"used by workspaceId {holder['id']}",
                        "err": "SlugAlreadyInUse",
                        "slug": wanted,
                        "conflictingWorkspaceId": holder["id"],
                    }
                )
                if not self.realism.slug_conflict_applies_index:
                    return None
            else:
                meta["slug"] = wanted
        index = rewrite_index(
            old_index,
            new_index,
            suffix=self.realism.import_suffix,
            # 2024: `${description || ''} (IMPORT)`: an empty description gets the suffix too
            suffix_empty=self.realism.suffix_empty_description or self.realism.legacy,
        )
        index["slug"] = meta["slug"]  # an archive import keeps the target's slug; a pull took the free one
        meta["name"] = str(index.get("name") or meta["name"])
        meta["description"] = index.get("description") or ""
        if isinstance(index.get("labels"), list):
            meta["labels"] = sorted(set(meta.get("labels") or []) | set(index["labels"]))
        return index

    # ------------------------------------------------------------------ archives
    def export(self, workspace_id: str, version: str) -> bytes:
        meta = self.store.get(workspace_id)
        if version != "current" and not any(
            v["name"] == version and not v.get("repository") for v in meta.get("versions") or []
        ):
            raise SandboxError(404, "ObjectNotFoundError", f"Unknown native version '{version}'")
        files = self.store.read_files(workspace_id, version)
        files[dsul.IMPORT_META] = dsul.import_meta(workspace_id=workspace_id, exported_at=now_iso(), files=files)
        if self.realism.legacy:
            files.update(legacy.export_extras(files, str(meta.get("createdBy") or "sandbox"), now_iso()))
        return dsul.to_zip(files, version)

    def import_archive(self, workspace_id: str, filename: str, data: bytes, prune: bool, user: str) -> dict[str, Any]:
        if not filename.lower().endswith(".zip"):
            raise SandboxError(400, "InvalidUploadError", f"Invalid file '{filename}': only .zip archives")
        if len(data) > self.platform.uploads_max_size:
            raise SandboxError(413, "PayloadTooLarge", "File too large")
        try:
            files = dsul.from_zip(data)
        except dsul.ArchiveError as exc:
            raise SandboxError(400, "InvalidUploadError", str(exc)) from exc
        with self._ws_lock(workspace_id):
            meta = self.store.get(workspace_id)
            self._check_unlocked(meta)
            self._slow_pull()
            result = self._apply(meta, files, prune=prune, user=user, archive=True)
            import_doc = dsul.load_yaml(files.get(dsul.IMPORT_META, b"")) or {}
            meta["importState"] = {
                "version": {"type": "import", "importedAt": now_iso()},
                "checksums": dsul.checksums(dsul.content(files)),
                "name": (import_doc.get("version") or {}).get("name"),
            }
            meta["dirty"] = True
            self.store.save_meta(meta)
            result["workspace"] = self.workspace_json(meta)
            return result

    def import_new(self, filename: str, data: bytes, user: str) -> dict[str, Any]:
        """``POST /v2/workspaces/import``: a workspace named "Import" is created, then the archive imported into it.

        The 2024 service creates it with a random slug and the import keeps the target's slug, so the archive's
        slug is never taken over (measured: a taken slug gives ``pretty-husky-63``, no error). The newest API is
        assumed to keep the archive's slug when it is free. Repositories are never imported."""
        if not filename.lower().endswith(".zip"):
            raise SandboxError(400, "InvalidUploadError", f"Invalid file '{filename}': only .zip archives")
        try:
            index = dsul.load_yaml(dsul.from_zip(data).get("index.yml", b"")) or {}
        except dsul.ArchiveError as exc:
            raise SandboxError(400, "InvalidUploadError", str(exc)) from exc
        wanted = str(index.get("slug") or "") if isinstance(index, dict) else ""
        keep = wanted and not self.realism.legacy and self.store.by_slug(wanted) is None
        slug = wanted if keep else legacy.random_slug()
        while self.store.by_slug(slug) is not None:
            slug = legacy.random_slug()
        meta = self.store.create_workspace(name="Import", slug=slug)
        self.store.emit(meta["id"], "workspaces.created", {"workspace": self.workspace_json(meta)})
        return self.import_archive(meta["id"], filename, data, False, user)

    # ------------------------------------------------------------------ bulk push
    def _members(self, groups: list[str]) -> list[dict[str, Any]]:
        unknown = [g for g in groups if g not in self.platform.groups]
        if unknown:
            raise SandboxError(
                404,
                "ObjectNotFoundError",
                f"Unknown group(s): {', '.join(unknown)}",
                {"groups": unknown, "availableGroups": sorted(self.platform.groups)},
            )
        labels = {label for g in groups for label in self.platform.groups[g]}
        metas = [
            m for m in self.store.meta.values() if m["id"] != PLATFORM_ID and labels.intersection(m.get("labels") or [])
        ]
        return sorted(metas, key=lambda m: m["slug"])

    def begin_bulk(self) -> None:
        if not self._bulk_lock.acquire(blocking=False):
            raise SandboxError(
                400,
                "WorkspaceLockedError",
                "A bulk operation is already running on this instance: the platform workspace is locked",
            )
        platform = self.store.get(PLATFORM_ID)
        platform["writeLock"] = {"lockedAt": now_iso(), "lockedBy": "bulk", "reason": "bulk_in_progress"}
        self.store.save_meta(platform)

    def end_bulk(self) -> None:
        platform = self.store.get(PLATFORM_ID)
        platform["writeLock"] = None
        self.store.save_meta(platform)
        self._bulk_lock.release()

    def validate_bulk_push(self, body: dict[str, Any]) -> tuple[str, list[str]]:
        groups = body.get("groups")
        if not isinstance(groups, list) or not groups or not all(isinstance(g, str) for g in groups):
            raise SandboxError(400, "RequestValidationError", "groups must be a non-empty array of group names")
        repo_id = (body.get("repository") or {}).get("id") or "prismeai-workspaces"
        self.driver(repo_id)
        if body.get("name"):
            self.check_version_name(str(body["name"]))
        self._members(groups)
        return repo_id, groups

    def bulk_push(self, body: dict[str, Any], emit: Emit, user: str) -> dict[str, Any]:
        """Run inside begin_bulk/end_bulk. ``emit(kind, payload)`` streams each step."""
        repo_id, groups = self.validate_bulk_push(body)
        t0 = time.monotonic()
        dry_run, force = bool(body.get("dryRun")), bool(body.get("force"))
        categorised = []
        for meta in self._members(groups):
            lock = meta.get("writeLock") or {}
            if lock.get("reason") == "merge_conflict":
                status = "mergeConflict"
            elif lock:
                status = "inProgress"
            elif meta.get("dirty") or force:
                status = "candidate"
            else:
                status = "alreadyPushed"
            categorised.append((meta, status))
        started = {
            "repositoryId": repo_id,
            "groups": groups,
            "workspaces": [
                {"slug": m["slug"], "workspaceId": m["id"], "name": m["name"], "status": s} for m, s in categorised
            ],
        }
        emit("started", started)
        self.store.emit(PLATFORM_ID, "workspaces.bulkPush.started", started, user_id=user)
        candidates = [m for m, s in categorised if s == "candidate"]
        summary: dict[str, Any] = {
            "repositoryId": repo_id,
            "groups": groups,
            "errors": [],
            "pushedWorkspaceIds": [],
            "mergeConflictWorkspaceIds": [m["id"] for m, s in categorised if s == "mergeConflict"],
            "alreadyPushedWorkspaceIds": [m["id"] for m, s in categorised if s == "alreadyPushed"],
            "workspaces": [
                {
                    "slug": m["slug"],
                    "workspaceId": m["id"],
                    "name": m["name"],
                    "status": s,
                    "reason": "Write lock" if s == "inProgress" else None,
                }
                for m, s in categorised
                if s in ("mergeConflict", "alreadyPushed")
            ],
        }
        if dry_run:
            summary["dryRun"] = True
            summary["candidateWorkspaceIds"] = [m["id"] for m in candidates]
            candidates = []
        self._bulk_tags[threading.get_ident()] = set()
        try:
            self._bulk_push_each(candidates, body, groups, repo_id, summary, emit, user)
        finally:
            self._bulk_tags.pop(threading.get_ident(), None)
        for item in summary["workspaces"]:
            if item.get("reason") is None:
                item.pop("reason", None)
        summary["duration"] = _ms(t0)
        emit("completed", summary)
        self.store.emit(PLATFORM_ID, "workspaces.bulkPush.completed", summary, user_id=user)
        return summary

    def _bulk_push_each(
        self,
        candidates: list[dict[str, Any]],
        body: dict[str, Any],
        groups: list[str],
        repo_id: str,
        summary: dict[str, Any],
        emit: Emit,
        user: str,
    ) -> None:
        for index, meta in enumerate(candidates, start=1):
            w0 = time.monotonic()
            entry: dict[str, Any] = {"slug": meta["slug"], "workspaceId": meta["id"], "name": meta["name"]}
            try:
                with self._ws_lock(meta["id"]):
                    self._publish(
                        meta,
                        {
                            "name": body.get("name"),
                            "description": body.get("description") or f"Bulk push of {', '.join(groups)}",
                            "repository": {"id": repo_id},
                        },
                        user,
                        groups=self.platform.groups_of(meta.get("labels") or []),
                    )
                entry["status"] = "pushed"
                summary["pushedWorkspaceIds"].append(meta["id"])
            except SandboxError as exc:
                entry["status"] = "error"
                entry["errors"] = [exc.body()]
                summary["errors"].append(
                    {
                        "error": exc.error,
                        "message": exc.message,
                        "details": {"workspaceSlug": meta["slug"], "workspaceId": meta["id"]},
                    }
                )
            entry["duration"] = _ms(w0)
            summary["workspaces"].append(entry)
            progress = {
                "repositoryId": repo_id,
                "workspaceSlug": meta["slug"],
                "workspaceId": meta["id"],
                "workspaceName": meta["name"],
                "status": entry["status"],
                "duration": entry["duration"],
                "current": index,
                "total": len(candidates),
                "percentage": round(100 * index / len(candidates), 1),
            }
            if entry.get("errors"):
                progress["errors"] = entry["errors"]
            emit("progress", progress)
            self.store.emit(PLATFORM_ID, "workspaces.bulkPush.progress", progress, user_id=user)

    # ------------------------------------------------------------------ bulk import
    def validate_bulk_import(self, body: dict[str, Any]) -> tuple[str, list[str]]:
        repo_id = (body.get("repository") or {}).get("id")
        if not repo_id:
            raise SandboxError(400, "RequestValidationError", "repository.id is required")
        self.driver(repo_id)
        groups = body.get("groups") or ([body["group"]] if body.get("group") else [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise SandboxError(400, "RequestValidationError", "groups must be an array of group names")
        return repo_id, groups

    def bulk_import(self, body: dict[str, Any], emit: Emit, user: str) -> dict[str, Any]:
        repo_id, groups = self.validate_bulk_import(body)
        force = bool(body.get("forceReimport"))
        driver = self.driver(repo_id)
        self.check_git_auth(repo_id)
        t0 = time.monotonic()
        try:
            head = driver.fetch()
        except GitError as exc:
            raise SandboxError(400, "PrismeError", f"Git error: {exc}") from exc
        entries = []
        for slug in driver.slugs(head) if head else []:
            files = driver.read(head or "", slug)
            doc = dsul.load_yaml(files.get(dsul.IMPORT_META, b"")) or {}
            if groups and not set(groups).intersection(doc.get("groups") or []):
                continue
            entries.append((slug, doc))
        entries = _topological(entries)
        started = {"repositoryId": repo_id, "groups": groups, "workspaces": [{"slug": s} for s, _ in entries]}
        emit("started", started)
        self.store.emit(PLATFORM_ID, "workspaces.bulkImport.started", started, user_id=user)
        summary: dict[str, Any] = {
            "repositoryId": repo_id,
            "groups": groups,
            "errors": [],
            "createdWorkspaceIds": [],
            "updatedWorkspaceIds": [],
            "skippedWorkspaceIds": [],
            "importedFilesCount": 0,
            "deletedFilesCount": 0,
            "workspaces": [],
        }
        for index, (slug, doc) in enumerate(entries, start=1):
            w0 = time.monotonic()
            name = (doc.get("version") or {}).get("name")
            meta = self.store.by_slug(slug)
            entry: dict[str, Any] = {"slug": slug, "version": name or "latest"}
            created = False
            try:
                if meta and not force and name and (meta.get("lastPull") or {}).get("version") == name:
                    entry["status"] = "skipped"
                    entry["reason"] = f"Already at version {name}"
                    summary["skippedWorkspaceIds"].append(meta["id"])
                else:
                    if meta is None:
                        files = driver.read(head or "", slug)
                        index_doc = dsul.load_yaml(files.get("index.yml", b"")) or {}
                        meta = self.store.create_workspace(
                            name=str(index_doc.get("name") or slug),
                            slug=slug,
                            labels=list(index_doc.get("labels") or []),
                        )
                        created = True
                    with self._ws_lock(meta["id"]):
                        if not self.realism.bulk_import_clears_locks:
                            self._check_unlocked(meta)  # no source says a real bulk import clears a lock
                        elif (meta.get("writeLock") or {}).get("reason") != "merge_conflict":
                            meta["writeLock"] = None
                        result = self._pull_git(meta, repo_id, "latest", True, user)
                    entry["status"] = "imported"
                    entry["importedFilesCount"] = len(result["imported"])
                    entry["deletedFilesCount"] = len(result["deleted"])
                    summary["importedFilesCount"] += entry["importedFilesCount"]
                    summary["deletedFilesCount"] += entry["deletedFilesCount"]
                    summary["createdWorkspaceIds" if created else "updatedWorkspaceIds"].append(meta["id"])
            except SandboxError as exc:
                entry["status"] = "error"
                entry["errors"] = [{"msg": exc.message, "err": exc.error, "slug": slug}]
                summary["errors"].append(
                    {"error": exc.error, "message": exc.message, "details": {"workspaceSlug": slug}}
                )
            if meta:
                entry["workspaceId"], entry["name"] = meta["id"], meta["name"]
            entry["duration"] = _ms(w0)
            summary["workspaces"].append(entry)
            progress = {
                "repositoryId": repo_id,
                "workspaceSlug": slug,
                "status": entry["status"],
                "current": index,
                "total": len(entries),
                "percentage": round(100 * index / len(entries), 1),
                "duration": entry["duration"],
            }
            for key in ("workspaceId", "errors", "importedFilesCount", "deletedFilesCount"):
                if key in entry:
                    progress[key] = entry[key]
            if meta:
                progress["workspaceName"] = meta["name"]
            emit("progress", progress)
            self.store.emit(PLATFORM_ID, "workspaces.bulkImport.progress", progress, user_id=user)
        summary["duration"] = _ms(t0)
        emit("completed", summary)
        self.store.emit(PLATFORM_ID, "workspaces.bulkImport.completed", summary, user_id=user)
        return summary

    def test_automation(self, workspace_id: str, automation: str) -> Any:
        """Run an automation deterministically: its declared ``output`` (null without one)."""
        meta = self.store.get(workspace_id)
        files = self.store.read_files(workspace_id)
        source = files.get(f"automations/{automation}.yml")
        doc = dsul.load_yaml(source) if source is not None else None  # a misspelt gate is a 404, never 200 null
        if not isinstance(doc, dict):
            raise SandboxError(404, "ObjectNotFoundError", f"Automation '{automation}' not found")
        if meta["slug"] in self.faults.smoke_fail or f"{meta['slug']}/{automation}" in self.faults.smoke_fail:
            raise SandboxError(500, "PrismeError", f"Automation '{automation}' failed: injected failure")
        return doc.get("output")

    def webhook(self, workspace_id: str, automation: str, body: Any, user: str) -> Any:
        """``POST /v2/workspaces/{id}/webhooks/{automation}``: the runtime runs an automation that declares
        ``when: {endpoint: true}``. The sandbox runs its ``emit`` instructions (``payload: '{{body}}'`` is the
        posted body) and answers its ``output``. As on a real runtime, the event's ``source.userId`` is the
        authenticated caller (the gateway overwrites ``x-prismeai-user-id``), never a field of the body."""
        meta = self.store.by_slug(workspace_id[5:]) if workspace_id.startswith("slug:") else None
        meta = meta or self.store.get(workspace_id)
        source = self.store.read_files(meta["id"]).get(f"automations/{automation}.yml")
        doc = dsul.load_yaml(source) if source is not None else None
        when = doc.get("when") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or not isinstance(when, dict) or when.get("endpoint") is not True:
            raise SandboxError(404, "ObjectNotFoundError", f"Automation '{automation}' not found")
        for step in doc.get("do") or []:
            emit = step.get("emit") if isinstance(step, dict) else None
            if isinstance(emit, dict) and isinstance(emit.get("event"), str):
                payload = body if emit.get("payload") == "{{body}}" else emit.get("payload")
                payload = payload if isinstance(payload, dict) else {"value": payload}
                self.store.emit(meta["id"], emit["event"], payload, user_id=user)
        return doc.get("output") if doc.get("output") != "{{body}}" else body

    def startup_import(self, stop: threading.Event) -> None:
        """STARTUP_IMPORT_REPOSITORY / _GROUPS: groups in order, a pause between, stop at the first error.

        As on a real instance, its events carry no ``source.userId`` (nothing names them "startup")."""
        repo_id, groups = self.platform.startup_repository, self.platform.startup_groups
        if not repo_id or not groups:
            return
        injected = {k: v for k, v in self.platform.startup_failure.items() if k not in self.faults.import_fail}
        self.faults.import_fail.update(injected)  # only for this run: a rehearsal of a failed rollout
        try:
            self._startup_groups(repo_id, groups, stop)
        finally:
            for slug in injected:
                self.faults.import_fail.pop(slug, None)

    def _startup_groups(self, repo_id: str, groups: list[str], stop: threading.Event) -> None:
        for number, group in enumerate(groups):
            if stop.is_set():
                return
            if number:
                stop.wait(self.platform.startup_pause)
            try:
                self.begin_bulk()
            except SandboxError:
                return  # another replica (or operation) holds the platform lock: skip, as the server does
            try:
                summary = self.bulk_import(
                    {"repository": {"id": repo_id}, "groups": [group]},
                    lambda kind, payload: None,
                    user=STARTUP_USER,
                )
            except SandboxError as exc:
                self.store.emit(
                    PLATFORM_ID,
                    "workspaces.bulkImport.completed",
                    {"repositoryId": repo_id, "groups": [group], "errors": [exc.body()]},
                    user_id=STARTUP_USER,
                )
                return
            finally:
                self.end_bulk()
            if summary["errors"]:
                return


def _found(meta: dict[str, Any], params: dict[str, str]) -> bool:
    """``search``: name, description and slug; ``name``: the name only (both case-insensitive)."""
    if params.get("name") and params["name"].lower() not in str(meta.get("name") or "").lower():
        return False
    needle = (params.get("search") or "").lower()
    haystack = f"{meta.get('name') or ''}\n{meta.get('slug') or ''}\n{searchable_text(meta.get('description'))}"
    return not needle or needle in haystack.lower()


def _object_meta(kind: str, slug: str, doc: Any, checksum: str) -> dict[str, Any]:
    """AutomationMeta / PageMeta / DetailedAppInstance, as the spec shapes them in a workspace document."""
    doc = doc if isinstance(doc, dict) else {}
    name = doc.get("name") or slug
    if kind == "imports":
        return {
            "appSlug": str(doc.get("appSlug") or slug),
            "slug": slug,
            "checksum": checksum,
            "automations": [],
            "blocks": [],
            "events": {"emit": [], "listen": []},
        }
    meta: dict[str, Any] = {"name": name, "slug": slug, "checksum": checksum}
    if doc.get("description"):
        meta["description"] = doc["description"]
    return meta


def _topological(entries: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Order by .import.yml dependsOn (entries like app/<slug>); unknown dependencies are ignored."""
    by_key: dict[str, str] = {}
    for slug, doc in entries:
        by_key[slug] = slug
        app = doc.get("app") or {}
        if isinstance(app, dict) and app.get("slug"):
            by_key[str(app["slug"])] = slug
    deps = {
        slug: [by_key[d.split("/", 1)[-1]] for d in doc.get("dependsOn") or [] if d.split("/", 1)[-1] in by_key]
        for slug, doc in entries
    }
    done: list[str] = []
    visiting: set[str] = set()

    def visit(slug: str) -> None:
        if slug in done or slug in visiting:
            return
        visiting.add(slug)
        for dep in deps.get(slug, []):
            visit(dep)
        visiting.discard(slug)
        done.append(slug)

    for slug, _ in sorted(entries):
        visit(slug)
    docs = dict(entries)
    return [(slug, docs[slug]) for slug in done]


def data_dir_is_empty(path: Path) -> bool:
    return not (path / "workspaces").is_dir() or not any((path / "workspaces").iterdir())
