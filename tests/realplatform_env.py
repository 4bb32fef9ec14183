"""Helpers for the tests against the published Prisme.ai 2024 services (scripts/realplatform.py).

The fixtures `real_server` (once per xdist worker) and `real` (per test) are in tests/conftest.py. Every test
gets its own user (its own token, so the gateway's per-user limits of 3 imports and 3 workspace creations a
minute cost no test another's slots), its own workspaces (unique slugs) and its own bare git repository,
declared as the workspace's own repository (`repositories` in the workspace, as the guide's single- and
multi-workspace strategies version a workspace; the 2024 server has no platform repositories).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from scripts.loader import realplatform


def load_script() -> ModuleType:
    """scripts/ is not a package: the script as the module the tests, the bench and the command line share."""
    return realplatform()


@dataclass
class RealEnv:
    """One test's view of the real server: a user, a config with environment `real`, workspaces, a repository."""

    url: str
    token: str = field(repr=False)  # never in a failure report
    config: Path
    repo: Path
    workspaces: dict[str, str] = field(default_factory=dict)  # slug -> id

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/v2", headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def create_workspace(
        self,
        prefix: str,
        description: str = "first",
        repository: str | None = "own",
        automation: bool = False,
        content: str | None = "one",
    ) -> str:
        """A workspace with a unique slug and the content "one" (None: no config at all); with `repository`,
        the bare repo as its own."""
        slug = f"{prefix}-{uuid.uuid4().hex[:6]}"
        with self.api() as api:
            answer = api.post("/workspaces", json={"name": prefix, "slug": slug, "description": description})
            answer.raise_for_status()
            ws_id = answer.json()["id"]
            if repository:
                repo = {"name": repository, "type": "git", "config": {"url": str(self.repo), "branch": "main"}}
                api.patch(f"/workspaces/{ws_id}", json={"repositories": {repository: repo}}).raise_for_status()
            if automation:  # the server writes the author's id (24 hex digits) into automations/__index__.yml
                body = {"slug": "hello", "name": "Hello", "description": "hi", "do": []}
                api.post(f"/workspaces/{ws_id}/automations", json=body).raise_for_status()
        self.workspaces[slug] = ws_id
        if content is not None:
            self.set_content(slug, content)
        return slug

    def set_content(self, slug: str, text: str) -> None:
        """The content a test checks after a rollback: a value in the workspace's config (index.yml)."""
        with self.api() as api:
            body = {"config": {"value": {"marker": text}}}
            api.patch(f"/workspaces/{self.workspaces[slug]}", json=body).raise_for_status()

    def content(self, slug: str) -> str | None:
        with self.api() as api:
            answer = api.get(f"/workspaces/{self.workspaces[slug]}")
            answer.raise_for_status()
            return ((answer.json().get("config") or {}).get("value") or {}).get("marker")

    def add_automation(self, slug: str, automation: str) -> None:
        body = {"slug": automation, "name": automation.capitalize(), "do": []}
        with self.api() as api:
            api.post(f"/workspaces/{self.workspaces[slug]}/automations", json=body).raise_for_status()

    def has_automation(self, slug: str, automation: str) -> bool:
        with self.api() as api:
            return api.get(f"/workspaces/{self.workspaces[slug]}/automations/{automation}").status_code == 200

    def server_versions(self, slug: str) -> list[dict[str, Any]]:
        with self.api() as api:
            answer = api.get(f"/workspaces/{self.workspaces[slug]}/versions")
            answer.raise_for_status()
            return list(answer.json())


def bare_repo(path: Path) -> Path:
    """A bare repository whose `main` has one commit: the 2024 git driver pulls the branch before a push."""
    env = os.environ | {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    seed = path.with_name(path.name + "-seed")
    subprocess.run(["git", "clone", "-q", str(path), str(seed)], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(seed), "commit", "-q", "--allow-empty", "-m", "init"], check=True, env=env)
    subprocess.run(["git", "-C", str(seed), "push", "-q", "origin", "HEAD:main"], check=True, capture_output=True)
    shutil.rmtree(seed)
    return path
