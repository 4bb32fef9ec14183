"""The three-instance demo: dev, staging and prod sharing one ``release`` git repository.

Seeding takes a few seconds of git work, so it is done once into the user cache folder and copied
into a fresh temporary folder for each run (the data folders use relative repository URLs, so a copy
works as is). Tokens are random per run: nobody else on the machine can drive your demo.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from platformdirs import user_cache_dir

from tui import __version__
from tui.sandbox import engine as engine_module
from tui.sandbox import realism as realism_module
from tui.sandbox import rewrite as rewrite_module
from tui.sandbox import seed as seed_module
from tui.sandbox.realism import DEMO_TRAFFIC, Realism
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.seed import GROUP_LABELS, attach_own_repository, own_repository, seed_demo_platform

DEMO_ENVS = (("dev", "development"), ("staging", "staging"), ("prod", "production"))
# A small fleet to rehearse a rollout on (issue 16): copies of prod as seeded, without its startup import.
FLEET = ("prod-eu", "prod-us")
ROLLOUT_TOML = """
[[rollout]]
stage = "staging"
environments = ["staging"]

[[rollout]]
stage = "prod"
environments = ["prod-eu", "prod-us"]
max_parallel = 2
canary_percent = 50          # prod-eu first; prod-us once it passed
watch = "30s"                # the error gate: knowledge-base's executions for 30 s after the import
max_error_rate = 0.1
min_executions = 20          # the demo's traffic: 120 executions a minute per workspace

[[smoke]]
workspace = "knowledge-base"
automation = "healthcheck"
expect = {}                  # required on protected stages: {} = any successful answer
"""
# prod boots as after an image rollout: it imports base1, base2 and extended from the release repository
# at startup, and one workspace fails with a slug conflict, so the platform activity (A) has a story.
STARTUP_ROLLOUT = {
    "STARTUP_IMPORT_REPOSITORY": "release",
    "STARTUP_IMPORT_GROUPS": "base1,base2,extended",
    "STARTUP_IMPORT_PAUSE_SECONDS": "1",
    "STARTUP_IMPORT_SIMULATE_FAILURE": "doc-search:SlugAlreadyInUse",
}
# At API level 2024 (no platform repositories) these workspaces get their own repository, one per workspace
# shared by every environment (the guide's single-workspace strategy): ``<root>/own/<slug>.git``, id "own".
OWN_REPOSITORY_SLUGS = ("securechat", "ai-store")


def seeded_template() -> Path:
    """The seeded demo data, made once per version of prisme-deploy."""
    cache = Path(os.environ.get("PRISME_DEPLOY_CACHE") or user_cache_dir("prisme-deploy"))
    # Keyed by the code that produces the data, so a changed seed never serves stale demo content.
    sources = b"".join(
        Path(mod.__file__ or "").read_bytes() for mod in (seed_module, engine_module, rewrite_module, realism_module)
    )
    template = cache / f"demo-{__version__}-{hashlib.sha1(sources, usedforsecurity=False).hexdigest()[:10]}"
    if (template / "prod" / "workspaces").is_dir():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="demo-seed-", dir=cache))
    seed_demo_platform(staging)
    try:
        os.replace(staging, template)
    except OSError:  # another demo seeded it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return template


def remove_tree(root: Path, attempts: int = 20) -> None:
    """Remove a folder a background thread may still be writing to (prod's startup import): try again."""
    for _ in range(attempts):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.1)


def prepare(root: Path) -> dict[str, Path]:
    """Copy a seeded demo into ``root``; returns environment name -> data folder."""
    shutil.copytree(seeded_template(), root, dirs_exist_ok=True, symlinks=True)
    return {name: root / name for name, _ in DEMO_ENVS}


def resumable(root: Path) -> bool:
    """A folder a demo already ran in (``--data``): its instances and release repository are resumed as
    they were, never seeded over (that reset the repository: releases lost, tags orphaned)."""
    return (root / "release.git").exists() and all((root / name).is_dir() for name, _ in DEMO_ENVS)


def demo_tokens(root: Path | None, names: list[str]) -> dict[str, str]:
    """One token per instance; in a kept folder the same ones every start (``tokens.json``, mode 0600)."""
    import json

    file = root / "tokens.json" if root is not None else None
    known: dict[str, str] = {}
    if file is not None and file.exists():
        try:
            known = {k: v for k, v in json.loads(file.read_text(encoding="utf-8")).items() if isinstance(v, str)}
        except (OSError, ValueError):
            known = {}
    tokens = {name: known.get(name) or f"at:demo-{name}-{secrets.token_urlsafe(12)}" for name in names}
    if file is not None and tokens != known:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(tokens, out)
    return tokens


@dataclass
class DemoPlatform:
    root: Path
    instances: dict[str, Running] = field(default_factory=dict)
    owns_root: bool = False
    resumed: bool = False  # started on a folder a demo already ran in: its data as it was

    @classmethod
    def start(
        cls,
        root: Path | None = None,
        *,
        rollout: bool = True,
        realism: Realism | None = None,
        faults: dict[str, dict[str, object]] | None = None,
    ) -> DemoPlatform:
        """``rollout``: prod boots like a freshly deployed image, running its startup import (see A).

        ``realism``: how strict the three instances are (default: as strict as a real Prisme.ai, with the
        " (IMPORT)" suffix on); each instance gets its own copy, so limits stay per instance.
        ``faults``: instance name ("" for every one) -> faults set once it started (``--fault``).
        """
        owns = root is None
        root = root or Path(tempfile.mkdtemp(prefix="prisme-deploy-demo-"))
        resumed = not owns and resumable(root)
        dirs = {name: root / name for name, _ in DEMO_ENVS} if resumed else prepare(root)
        for name in FLEET:
            if not (root / name).exists():
                shutil.copytree(dirs["prod"], root / name, symlinks=True)
            dirs[name] = root / name
        demo = cls(root=root, owns_root=owns, resumed=resumed)
        names = [name for name, _ in (*DEMO_ENVS, *((f, "production") for f in FLEET))]
        tokens = demo_tokens(None if owns else root, names)
        try:
            for name in names:
                token = tokens[name]
                # A resumed prod does not run the startup import again: it starts as it was left.
                environ = STARTUP_ROLLOUT if (name == "prod" and rollout and not resumed) else {}
                strict = (
                    Realism(**realism.to_json())
                    if realism is not None
                    else Realism(import_suffix=True, traffic_per_minute=DEMO_TRAFFIC)
                )
                demo.instances[name] = start_in_thread(dirs[name], token, name=name, environ=environ, realism=strict)
            if realism is not None and realism.legacy:
                demo.attach_own_repositories()
            for name, running in demo.instances.items():
                for wanted in ((faults or {}).get(""), (faults or {}).get(name)):
                    if wanted:
                        running.sandbox.faults.update(dict(wanted))
        except BaseException:
            demo.stop()
            raise
        return demo

    def attach_own_repositories(self) -> dict[str, str]:
        """Declare OWN_REPOSITORY_SLUGS' own repository in every instance; returns slug -> repository path."""
        urls = {slug: own_repository(self.root / "own" / f"{slug}.git") for slug in OWN_REPOSITORY_SLUGS}
        for running in self.instances.values():
            engine = running.sandbox.engine
            for slug, url in urls.items():
                meta = engine.store.by_slug(slug)
                if meta is not None and "own" not in engine.own_repositories(meta):
                    attach_own_repository(engine, meta["id"], url)
        return urls

    def stop(self) -> None:
        for running in self.instances.values():
            running.stop()
        if self.owns_root:
            remove_tree(self.root)

    def tokens(self) -> dict[str, str]:
        return {name: running.token for name, running in self.instances.items()}

    def config_toml(self, note: str = "temporary; deleted when the demo stops") -> str:
        """A throwaway configuration for the TUI and CLI: never the user's own."""
        lines = [f"# prisme-deploy demo configuration ({note})", ""]
        for name, tier in (*DEMO_ENVS, *((f, "production") for f in FLEET)):
            running = self.instances[name]
            lines += [f"[environments.{name}]", f'url = "{running.url}"', f'tier = "{tier}"']
            if tier == "production":
                lines.append("protected = true")
            lines += ['repositories = ["release"]', ""]
        for group, labels in GROUP_LABELS.items():
            quoted = ", ".join(f'"{label}"' for label in labels.split(","))
            lines += [f"[groups.{group}]", f"labels = [{quoted}]", ""]
        lines += [
            "[repositories.release]",
            f'path = "{self.root / "release.git"}"',
            'branch = "main"',
            'dirpath = "workspaces"',
            "",
            "[[promotions]]",
            'from = "dev:support-bot-dev"',
            'to = "dev:support-bot"',
            ROLLOUT_TOML,
        ]
        return "\n".join(lines)


class Hangup(SystemExit):
    """SIGHUP or SIGTERM: unwinds to the ``finally`` that stops the demo and removes its folders."""


@contextmanager
def stop_on_signals(ask_to_quit: Callable[[int], None] | None = None) -> Iterator[None]:
    """A closed terminal (SIGHUP, an SSH drop) or SIGTERM ends the demo as ``q`` does: its temporary
    folders are removed. Without a handler Python dies on the spot and leaves them behind.

    ``ask_to_quit(code)`` asks the app to close (it restores the terminal, then the caller's ``finally``
    cleans up); a second signal, or no app, unwinds at once."""
    asked: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        code = 128 + signum
        if ask_to_quit is not None and not asked:
            asked.append(signum)
            ask_to_quit(code)
            return
        raise Hangup(code)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
