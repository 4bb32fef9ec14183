"""Where prisme-deploy keeps things: the config file, the audit journal, safety snapshots, caches."""

from __future__ import annotations

import os
from pathlib import Path

APP = "prisme-deploy"


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` wins, then ``PRISME_DEPLOY_CONFIG``, then the platform's user config folder."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("PRISME_DEPLOY_CONFIG"):
        return Path(os.environ["PRISME_DEPLOY_CONFIG"]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    """Audit journal and snapshots: ``PRISME_DEPLOY_DATA`` or the user data folder."""
    if os.environ.get("PRISME_DEPLOY_DATA"):
        return Path(os.environ["PRISME_DEPLOY_DATA"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP))


def audit_path() -> Path:
    return data_dir() / "audit.jsonl"


def snapshots_dir() -> Path:
    return data_dir() / "snapshots"


def cache_dir() -> Path:
    """Git clones for diffs and the demo's seeded data: ``PRISME_DEPLOY_CACHE`` or the user cache folder."""
    if os.environ.get("PRISME_DEPLOY_CACHE"):
        return Path(os.environ["PRISME_DEPLOY_CACHE"]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP))
