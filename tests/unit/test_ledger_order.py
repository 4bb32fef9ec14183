"""A claimed ledger (records committed to the repository) reads in the order the records were committed: their
times are the writers' clocks corrected by a Date header of whole seconds, and two records less than a second
apart may carry times in the other order (ledger init then push on a fast server)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

from tui.core import config as cfg
from tui.core.ledger.store import ClaimedLedger
from tui.core.ops.context import Context


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)


def _record(repo: Path, name: str, kind: str, at: str) -> None:
    body = {"recordId": name, "kind": kind, "env": "prod", "at": at, "payload": {}, "claimedUser": {"id": "u1"}}
    folder = repo / ".prisme-deploy" / "ledger"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"ledger {kind}")


def test_records_read_in_commit_order_whatever_their_claimed_times(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    # Committed first, then second; the second's time reads 0.6 s earlier (whole-second Date header).
    _record(repo, "zz-first", "init", "2026-12-07T10:00:01.100000+00:00")
    _record(repo, "aa-second", "change", "2026-12-07T10:00:00.500000+00:00")
    text = f'[environments.prod]\nurl = "http://127.0.0.1:9"\n[repositories.release]\npath = "{repo}"\n'
    ledger = ClaimedLedger(Context.create(cfg.parse(text), use_keyring=False), "prod", "release")
    records = asyncio.run(ledger.read(env="prod"))
    assert [r.kind for r in records] == ["init", "change"]
