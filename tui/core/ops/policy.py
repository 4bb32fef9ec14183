"""Team policy (issue 28): ``.prisme-deploy/policy.toml`` at the branch head of the platform repository.

Per environment it sets ``approvals``, ``freeze`` windows, ``require_reason`` and ``protected``::

    [environments.prod]
    approvals = 1
    freeze = ["Fri 16:00-Mon 08:00 Europe/Paris"]
    require_reason = true
    protected = true

A personal configuration may tighten it, never loosen it: the merged value is the max of approvals, the
union of freeze windows, the OR of the booleans; a personal value that tries to loosen is overridden and
the merge says so. :func:`enforce` writes the merged values into the context's environments, so the gate
(freeze, reason), the confirmation (protected) and ``apply`` (approvals) all read the same policy.

The repository is the environment's first ``repositories`` entry that is configured, else the only
configured repository; none: the personal configuration alone (said by ``policy show``).
"""

from __future__ import annotations

import dataclasses
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.core import errors as E
from tui.core.config import _line_of

if TYPE_CHECKING:
    from tui.core.ops.context import Context
    from tui.core.ops.gate import Operation, Refusal

POLICY_PATH = ".prisme-deploy/policy.toml"
MAX_BYTES = 64 * 1024
KEYS: dict[str, type] = {"approvals": int, "freeze": list, "require_reason": bool, "protected": bool}


class PolicyError(E.UsageError):
    """The repository's policy file cannot be read as a policy (exit 2): no change runs under a policy
    nobody can read."""

    kind = "policy"


@dataclass
class Setting:
    value: Any
    sources: list[str] = field(default_factory=list)  # "release@1a2b3c4:.prisme-deploy/policy.toml:3", "file:7"

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "sources": self.sources or ["default"]}


@dataclass
class EnvPolicy:
    env: str
    settings: dict[str, Setting]
    repository: str | None  # where the team policy was read ("repo@commit"), None: no repository policy
    notes: list[str] = field(default_factory=list)  # loosening overridden, unknown environment...
    # Where the team policy came from, in words: a repository without the file is not "no repository".
    origin: str = ""

    def value(self, key: str) -> Any:
        return self.settings[key].value

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "repository": self.repository,
            "teamPolicy": self.origin,
            **{key: s.to_json() for key, s in self.settings.items()},
            "notes": self.notes,
        }


@dataclass(frozen=True)
class RepoPolicy:
    repository: str
    commit: str
    text: str
    doc: dict[str, Any]

    def where(self, env: str, key: str) -> str:
        line = _line_of(self.text, f"environments.{env}", key)
        return f"{self.repository}@{self.commit[:7]}:{POLICY_PATH}" + (f":{line}" if line else "")


def repository_for(ctx: Context, env: str) -> str | None:
    named = [r for r in ctx.env(env).repositories if r in ctx.config.repositories]
    if named:
        return named[0]
    return next(iter(ctx.config.repositories)) if len(ctx.config.repositories) == 1 else None


def read_repository(ctx: Context, repository: str) -> RepoPolicy | None:
    """The policy file at the branch head, size-checked before it is read; None when there is none."""
    # Here, not at the top: the app enforces the policy before its first frame, and gitsource brings
    # the API models, tarfile and hashlib with it (bench/: start-up).
    from tui.core.gitsource import GitHistory, GitSourceError, _git

    history = GitHistory(ctx.config.repositories[repository])
    try:
        head = history.resolve("", "latest")
        size = _git(history.repo, "cat-file", "-s", f"{head}:{POLICY_PATH}", check=False).strip()
        if not size:
            return None
        if not size.isdigit() or int(size) > MAX_BYTES:
            raise PolicyError(f"{repository}@{head[:7]}:{POLICY_PATH} is larger than {MAX_BYTES // 1024} KB.")
        text = _git(history.repo, "show", f"{head}:{POLICY_PATH}")
    except GitSourceError as exc:
        raise PolicyError(
            f"the team policy of repository {repository} cannot be read ({exc.message}): no change runs "
            "under a policy nobody can read.",
            hint=f"Check [repositories.{repository}] (path or url), then try again.",
        ) from None
    return RepoPolicy(repository, head, text, _parse(text, f"{repository}@{head[:7]}:{POLICY_PATH}"))


def _parse(text: str, where: str) -> dict[str, Any]:
    from tui.core.freeze import FreezeSyntaxError, parse_window

    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise PolicyError(f"{where} is not valid TOML ({exc}).") from None
    if set(doc) - {"environments"} or not isinstance(doc.get("environments", {}), dict):
        raise PolicyError(f"{where}: only [environments.<name>] tables are read (found {', '.join(doc)}).")
    envs: dict[str, Any] = doc.get("environments", {})
    for name, table in envs.items():
        if not isinstance(table, dict):
            raise PolicyError(f"{where}: [environments.{name}] must be a table.")
        for key, value in table.items():
            kind = KEYS.get(key)
            if kind is None:
                raise PolicyError(f"{where}: unknown key {key!r} in [environments.{name}] ({', '.join(KEYS)}).")
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise PolicyError(f"{where}: {name}.{key} must be {kind.__name__}, not {value!r}.")
        if not 0 <= table.get("approvals", 0) <= 10:
            raise PolicyError(f"{where}: {name}.approvals must be from 0 to 10.")
        for window in table.get("freeze", []):
            try:
                parse_window(window if isinstance(window, str) else "")
            except FreezeSyntaxError as exc:
                raise PolicyError(f"{where}: {name}.freeze window {exc}.") from None
    return envs


# ------------------------------------------------------------------------------------------- merge
def merged(ctx: Context, env: str, repo: RepoPolicy | None = None, *, read: bool = True) -> EnvPolicy:
    """The policy of ``env``: the repository's, tightened (never loosened) by the personal configuration."""
    if repo is None and read and (rid := repository_for(ctx, env)) is not None:
        repo = read_repository(ctx, rid)
    mine = ctx.env(env)
    text, path = _personal_text(ctx)
    team: dict[str, Any] = dict((repo.doc.get(env) or {}) if repo else {})

    def personal(key: str) -> str | None:
        line = _line_of(text, f"environments.{env}", key) if text else None
        return f"{path}:{line}" if line else None

    out = EnvPolicy(env, {}, f"{repo.repository}@{repo.commit[:7]}" if repo else None)
    ours = {"approvals": mine.approvals, "require_reason": mine.require_reason, "protected": mine.protected}
    for key in ("approvals", "require_reason", "protected"):
        theirs, own = team.get(key), ours[key]
        value = max(int(theirs or 0), int(own)) if key == "approvals" else bool(theirs) or bool(own)
        setting = Setting(value if key == "approvals" else bool(value))
        if theirs is not None and theirs == setting.value:
            setting.sources.append(repo.where(env, key) if repo else "")
        if own == setting.value and (personal(key) or theirs is None):
            setting.sources.append(personal(key) or f"default for tier {mine.tier}")
        if theirs is not None and own != setting.value and personal(key):
            out.notes.append(
                f"{personal(key)} sets {key} = {_toml(own)}, looser than the team policy "
                f"({repo.where(env, key) if repo else ''}): {_toml(setting.value)} applies"
            )
        out.settings[key] = setting
    windows = list(team.get("freeze") or [])
    extra = [w for w in mine.freeze if w not in windows]
    sources = ([repo.where(env, "freeze")] if repo and windows else []) + (
        [personal("freeze") or "configuration"] if extra else []
    )
    out.settings["freeze"] = Setting(windows + extra, sources)
    return out


def _personal_text(ctx: Context) -> tuple[str, str]:
    path = ctx.config.path
    if path is None or not Path(path).is_file():
        return "", ""
    try:
        return Path(path).read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError):
        return "", str(path)


def _toml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def unknown_environments(ctx: Context, repo: RepoPolicy) -> list[str]:
    return [name for name in repo.doc if name not in ctx.config.environments]


def show(ctx: Context, environments: list[str] | None = None) -> list[EnvPolicy]:
    """The merged policy of every environment (or the named ones), each repository read once."""
    names = environments or list(ctx.config.environments)
    cache: dict[str, RepoPolicy | None] = {}
    found = []
    for name in names:
        rid = repository_for(ctx, name)
        if rid is not None and rid not in cache:
            cache[rid] = read_repository(ctx, rid)
        one = merged(ctx, name, cache.get(rid) if rid else None, read=False)
        one.origin = origin(ctx, name, rid, cache.get(rid) if rid else None)
        found.append(one)
    return found


def origin(ctx: Context, env: str, rid: str | None, repo: RepoPolicy | None) -> str:
    """Where an environment's team policy came from, in words: read at a commit, a repository without the
    file (its defaults apply: a typo in the file's path must not read as "no repository"), or none at all."""
    if repo is not None:
        return f"{repo.repository}@{repo.commit[:7]}:{POLICY_PATH}"
    if rid is None and ctx.config.repositories:
        return (
            f"no team policy: {len(ctx.config.repositories)} repositories are configured and "
            f"[environments.{env}] repositories names none of them (the personal configuration alone)"
        )
    if rid is None:
        return "no team policy: no repository is configured (the personal configuration alone)"
    source = ctx.config.repositories[rid]
    where = source.url or source.path or ""
    named = f"{rid} ({where})" if where and where != rid else rid
    return f"repository {named} has no {POLICY_PATH} at {source.branch} head; defaults apply"


# ------------------------------------------------------------------------------------------- enforce
def enforce(ctx: Context) -> list[EnvPolicy]:
    """Write the merged policy into ``ctx``'s environments: what the gate, the confirmation and apply read."""
    register()
    found = show(ctx)
    for policy in found:
        env = ctx.env(policy.env)
        ctx.config.environments[policy.env] = dataclasses.replace(
            env,
            approvals=int(policy.value("approvals")),
            require_reason=bool(policy.value("require_reason")),
            protected=bool(policy.value("protected")),
            freeze=tuple(policy.value("freeze")),
        )
    return found


# The environments the running `apply` was approved for: the gate's approval rule lets their changes through.
APPROVED: ContextVar[frozenset[str]] = ContextVar("prisme_deploy_approved", default=frozenset())


def approval_rule(ctx: Context, op: Operation, env: str) -> Refusal | None:
    """The gate's approval hook: an environment that needs approvals takes changes only from ``apply`` of an
    approved saved plan."""
    from tui.core.ops.gate import Refusal

    needed = ctx.env(env).approvals
    if op.dry_run or needed <= 0 or env in APPROVED.get():
        return None
    return Refusal(
        "approval",
        env,
        f"{env} needs {needed} approval(s) of a saved plan by another platform user.",
        "Save the plan (`plan ... --out FILE`), have another person run `approve FILE`, then `apply FILE`.",
    )


def register() -> None:
    from tui.core.ops import gate

    if approval_rule not in gate.APPROVALS:
        gate.APPROVALS.append(approval_rule)
