"""Saved plans (issue 28): the file ``plan ... --out FILE`` writes and ``approve`` / ``apply`` read.

A saved plan says what to run (``kind`` and ``params``, the arguments of the existing operation), on which
environments, what it showed (``summary``: the plan's JSON), and what it read on every target when it was
made (``reads``: per ``env:slug`` its version, last import, write lock and a digest of its content; per
repository its branch head). ``digest`` is the SHA-256 of all of that, canonical JSON: an approval names
it, and ``apply`` refuses a file whose digest does not match its content (edited by hand) or whose targets
no longer read the same (changed since the plan was made).

A plan file is hostile input like any server answer: bounded in size, schema-checked, every error said
(exit 2) before anything is read from an instance.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.core import errors as E

FORMAT = "prisme-deploy/plan"
VERSION = 1
MAX_BYTES = 4 * 1024 * 1024  # a plan of a few hundred workspaces is well under 1 MB
KINDS = ("bulk-import", "promote", "rollout", "rollback")
READ_KEYS = ("exists", "id", "version", "lastPull", "lock", "content")
_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
_SLUG_RE = re.compile(r"[^/\x00-\x1f\x7f]{1,200}")  # a workspace slug: a name, never a path


class PlanFileError(E.UsageError):
    """The file is not a readable plan of this format (exit 2); nothing was read from any instance."""

    kind = "plan_file"


@dataclass
class SavedPlan:
    kind: str
    params: dict[str, Any]
    environments: list[str]
    reads: dict[str, dict[str, Any]]  # "env:slug" or "repository:<id>" -> what was read there
    summary: dict[str, Any]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    author: dict[str, Any] | None = None  # as the ledger stamped it (informative: the ledger is the truth)

    def body(self) -> dict[str, Any]:
        """What the digest covers (the author is the ledger's to say, not the file's)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "params": self.params,
            "environments": self.environments,
            "reads": self.reads,
            "summary": self.summary,
            "createdAt": self.created_at,
        }

    @property
    def digest(self) -> str:
        return digest_of(self.body())

    @property
    def short(self) -> str:
        return self.digest[:12]

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "digest": self.digest, "author": self.author}

    def title(self) -> str:
        p = self.params
        if self.kind == "promote":
            return f"promote {p.get('source')} → {p.get('target')} ({', '.join(p.get('groups') or [])})"
        if self.kind == "rollout":
            return f"rollout of {p.get('release')} ({', '.join(p.get('groups') or [])})"
        if self.kind == "rollback":
            return f"rollback of {p.get('workspace')} to {p.get('version')} on {p.get('env')}"
        return f"bulk-import {', '.join(p.get('groups') or [])} from {p.get('repository')} → {p.get('env')}"


def digest_of(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def content_digest(files: dict[str, bytes]) -> str:
    """One digest for a workspace's files: each path and its bytes, in path order."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode("utf-8", "replace") + b"\0" + hashlib.sha256(files[path]).digest())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------- writing
def write(the_plan: SavedPlan, path: Path) -> Path:
    """Atomically, 0600, inside a folder that exists (the one the user named: nothing is created around it)."""
    target = Path(path).expanduser()
    folder = target.parent
    if not folder.is_dir():
        raise PlanFileError(f"--out {path}: the folder {folder} does not exist; nothing was written.")
    if target.is_dir():
        raise PlanFileError(f"--out {path} is a folder: name a file in it; nothing was written.")
    text = json.dumps(the_plan.to_json(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


# ------------------------------------------------------------------------------------------- reading
def load(path: Path | str) -> SavedPlan:
    """The plan in ``path``, checked: size, JSON, format and version, every field's type, the digest."""
    where = Path(path).expanduser()
    try:
        with open(where, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file.") from None
    except IsADirectoryError:
        raise PlanFileError(f"{path} is a folder, not a plan file.") from None
    if len(data) > MAX_BYTES:
        raise PlanFileError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB: not a plan this tool wrote.")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PlanFileError(f"{path}: not a JSON plan file ({_said(exc)}).") from None
    return parse(doc, str(path))


def _said(exc: BaseException) -> str:
    return type(exc).__name__ if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:120]


def parse(doc: Any, where: str = "plan") -> SavedPlan:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise PlanFileError(f"{where}: {what}.", hint="Save the plan again with `plan ... --out FILE`.")

    need(isinstance(doc, dict), "not a JSON object")
    need(doc.get("format") == FORMAT, f"not a prisme-deploy plan (format is not {FORMAT!r})")
    need(doc.get("version") == VERSION, f"plan format version {doc.get('version')!r} is not {VERSION} (this tool's)")
    need(doc.get("kind") in KINDS, f"kind must be one of {', '.join(KINDS)}")
    need(isinstance(doc.get("params"), dict), "params must be an object")
    envs = doc.get("environments")
    need(isinstance(envs, list) and bool(envs) and all(isinstance(e, str) and e for e in envs), "no environments")
    reads = doc.get("reads")
    need(isinstance(reads, dict) and all(isinstance(v, dict) for v in reads.values()), "reads must be an object")
    for key, value in reads.items():
        need(isinstance(key, str) and ":" in key, f"read {key!r} is not ENV:SLUG or repository:ID")
        need(all(isinstance(v, str | bool | None) for v in value.values()), f"read {key!r} holds odd values")
    need(isinstance(doc.get("summary"), dict), "summary must be an object")
    need(isinstance(doc.get("createdAt"), str), "createdAt must be a date")
    author = doc.get("author")
    need(author is None or isinstance(author, dict), "author must be an object")
    the_plan = SavedPlan(doc["kind"], doc["params"], list(envs), reads, doc["summary"], doc["createdAt"], author)
    _check_params(the_plan, need)
    _check_summary(the_plan, need)
    stated = doc.get("digest")
    need(isinstance(stated, str) and bool(_DIGEST_RE.match(stated)), "no digest (64 hex digits)")
    if stated != the_plan.digest:
        raise PlanFileError(
            f"{where}: its digest does not match its content: the file was edited after it was saved.",
            hint="A plan is applied as it was approved: save a new one with `plan ... --out FILE`.",
        )
    return the_plan


ACTIONS = ("create", "update", "skip", "blocked")


def _check_summary(the_plan: SavedPlan, need: Any) -> None:
    """The plans the summary shows: what apply reads its workspaces from (each a name, each action known)."""
    plans = the_plan.summary.get("plans") if the_plan.kind == "rollout" else [the_plan.summary]
    need(isinstance(plans, list) and bool(plans), "summary.plans must list the plan of each environment")
    for one in plans or []:  # need() raised on anything else
        need(isinstance(one, dict) and one.get("env") in the_plan.environments, "a plan for an unlisted environment")
        items = one.get("items")
        need(isinstance(items, list) and all(isinstance(i, dict) for i in items), "summary items must be objects")
        for item in items or []:
            name = item.get("workspace")
            need(isinstance(name, str) and _SLUG_RE.fullmatch(name) is not None, f"workspace {str(name)[:40]!r}")
            need(item.get("action") in ACTIONS, f"{name}: action must be one of {', '.join(ACTIONS)}")
            need(all(isinstance(item.get(k), str | None) for k in ("from", "to", "reason")), f"{name}: odd values")


def _check_params(the_plan: SavedPlan, need: Any) -> None:
    p = the_plan.params

    def text(key: str) -> None:
        need(isinstance(p.get(key), str) and bool(p[key]), f"params.{key} must be a name")

    if the_plan.kind == "rollback":
        for key in ("env", "workspace", "version"):
            text(key)
        need(p.get("repository") is None or isinstance(p["repository"], str), "params.repository must be a name")
        need(isinstance(p.get("discard_local_changes", False), bool), "params.discard_local_changes: true or false")
        return
    groups = p.get("groups")
    need(isinstance(groups, list) and bool(groups) and all(isinstance(g, str) for g in groups), "params.groups")
    if the_plan.kind == "bulk-import":
        text("env")
        text("repository")
        need(isinstance(p.get("force_reimport", False), bool), "params.force_reimport must be true or false")
    elif the_plan.kind == "promote":
        text("source")
        text("target")
    else:
        text("release")
        text("repository")
