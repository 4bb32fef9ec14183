"""Server-side configuration, read the way a real workspaces service reads it.

``WORKSPACES_STORAGE_GIT_PLATFORM_<id>_<FIELD>`` defines platform repositories and
``WORKSPACES_GROUP_<name>_LABELS`` (comma = any of) defines workspace groups. The sandbox reads them
from its process environment and from ``<data>/platform.env`` (same names, KEY=VALUE lines).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_RE = re.compile(
    r"^WORKSPACES_STORAGE_GIT_PLATFORM_(.+)_(TYPE|URL|NAME|BRANCH|MODE|DIRPATH|AUTH_USER|AUTH_PASSWORD|AUTH_SSHKEY)$"
)
GROUP_RE = re.compile(r"^WORKSPACES_GROUP_(.+)_LABELS$")


@dataclass
class PlatformRepo:
    id: str
    name: str
    type: str = "git"
    url: str | None = None
    branch: str = "main"
    mode: str = "read-write"
    dirpath: str | None = None

    def to_json(self, *, with_groups: list[str] | None = None) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.type == "git":
            config = {"url": self.url, "branch": self.branch}
            if self.dirpath:
                config["dirpath"] = self.dirpath
        else:
            config = {"dirpath": self.dirpath}
        data: dict[str, Any] = {"name": self.name, "type": self.type, "mode": self.mode, "config": config}
        if with_groups is not None:
            data["groups"] = with_groups
        return data


@dataclass
class PlatformConfig:
    repositories: dict[str, PlatformRepo] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    startup_repository: str | None = None
    startup_groups: list[str] = field(default_factory=list)
    startup_pause: float = 1.0
    startup_failure: dict[str, str] = field(default_factory=dict)  # slug -> error, for rehearsals
    max_versions: int = 20
    uploads_max_size: int = 10 * 1024 * 1024

    def groups_of(self, labels: list[str]) -> list[str]:
        """Groups a workspace belongs to: any shared label (exact match)."""
        wanted = set(labels)
        return [name for name, glabels in self.groups.items() if wanted.intersection(glabels)]


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def load_platform(data_dir: Path, environ: dict[str, str] | None = None) -> PlatformConfig:
    values = read_env_file(data_dir / "platform.env")
    values.update(
        {
            k: v
            for k, v in (environ if environ is not None else os.environ).items()
            if k.startswith(("WORKSPACES_", "STARTUP_IMPORT_", "MAXIMUM_WORKSPACE_VERSION", "UPLOADS_MAX_SIZE"))
        }
    )
    config = PlatformConfig()
    raw_repos: dict[str, dict[str, str]] = {}
    for key, value in values.items():
        if match := REPO_RE.match(key):
            raw_repos.setdefault(match.group(1), {})[match.group(2)] = value
        elif match := GROUP_RE.match(key):
            config.groups[match.group(1)] = [v.strip() for v in value.split(",") if v.strip()]
    for repo_id, fields in raw_repos.items():
        kind = fields.get("TYPE", "git").lower()
        if kind == "git" and not fields.get("URL"):
            continue  # a git repository is enabled only when URL is set
        config.repositories[repo_id] = PlatformRepo(
            id=repo_id,
            name=fields.get("NAME", repo_id),
            type=kind,
            url=_local(fields["URL"], data_dir) if fields.get("URL") else None,
            branch=fields.get("BRANCH", "main"),
            mode=fields.get("MODE", "read-write"),  # the documented default, for filesystem repositories too
            dirpath=fields.get("DIRPATH"),
        )
    config.startup_repository = values.get("STARTUP_IMPORT_REPOSITORY") or None
    config.startup_groups = [g.strip() for g in values.get("STARTUP_IMPORT_GROUPS", "").split(",") if g.strip()]
    config.startup_pause = float(values.get("STARTUP_IMPORT_PAUSE_SECONDS", "1"))
    for item in values.get("STARTUP_IMPORT_SIMULATE_FAILURE", "").split(","):
        slug, _, error = item.partition(":")
        if slug:
            config.startup_failure[slug] = error or "SlugAlreadyInUse"
    config.max_versions = int(values.get("MAXIMUM_WORKSPACE_VERSION", "20"))
    config.uploads_max_size = int(values.get("UPLOADS_MAX_SIZE", str(10 * 1024 * 1024)))
    return config


def _local(url: str, data_dir: Path) -> str:
    """A relative path in platform.env is relative to the data folder (so a demo folder can move)."""
    if "://" in url or url.startswith(("/", "git@")) or ":" in url.split("/")[0]:
        return url
    return str((data_dir / url).resolve())


def write_env_file(path: Path, values: dict[str, str]) -> None:
    lines = [f"{k}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
