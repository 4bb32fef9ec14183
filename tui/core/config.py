"""The configuration file: environments, workspace groups, repositories, promotions, keymap, UI.

Read with tomllib and validated strictly (file, line, key, what was expected, a "did you mean"),
written with tomlkit so a person's comments and layout survive every change the app makes. Writes are
atomic (temporary file, fsync, rename) and private (0600). Tokens never live here.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shlex
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.api.errors import UsageError
from tui.core.limits import LIMIT_KEYS
from tui.core.secrets import env_var_name

TIERS = ("development", "staging", "production")
SECRET_KEY_RE = re.compile(r"(token|secret|password|passwd|api[_-]?key)", re.IGNORECASE)
ENV_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")

ENV_KEYS: dict[str, type | tuple[type, ...]] = {
    "url": str,
    "tier": str,
    "protected": bool,
    "read_only": bool,
    "verify_tls": bool,
    "ca_bundle": str,
    "timeout": (int, float),
    "deadline": (int, float),
    "allow_insecure_http": bool,
    "repositories": list,
    "snapshots": bool,
    "description": str,
    "require_reason": bool,  # default: true for production (issue 17)
    "freeze": list,  # freeze windows (tui.core.freeze)
    "platform_variables": list,  # WORKSPACE_SECRET_<slug>_<NAME> / WORKSPACE_CONFIG_<slug>_<KEY> set on the platform
    "startup_import": dict,  # {repository, groups} its workspaces service re-imports at restart; {}: none
    "approvals": int,  # approvals of a saved plan by other platform users before `apply` (issue 28)
}
TOP_KEYS = (
    "environments",
    "groups",
    "repositories",
    "promotions",
    "keymap",
    "ui",
    "secrets",
    "snapshots",
    "limits",
    "diff",
    "parity",
    "scan",
    "rollout",
    "smoke",
)
# Keys that name secrets without holding one (the "looks like a secret" check lets them through).
NAMES_SECRETS = frozenset({"optional_secrets"})
PARITY_KEYS: dict[str, type | tuple[type, ...]] = {"optional_secrets": list}
SCAN_KEYS: dict[str, type | tuple[type, ...]] = {"allow": list, "pragma_files": list}
# What each top-level key must be (`environments = 5` is a clear error, not a traceback): a table, but for
# the arrays of tables ([[promotions]], [[rollout]], [[smoke]]).
TOP_ARRAYS = ("promotions", "rollout", "smoke")
TOP_TABLES = tuple(key for key in TOP_KEYS if key not in TOP_ARRAYS)
# Numbers that must be finite and within a range: (low, high), both inclusive.
RANGES: dict[str, tuple[float, float]] = {
    "timeout": (0.1, 3600),
    "deadline": (1, 86400),
    "keep": (1, 1000),
    "max_mb": (1, 1_000_000),
    "log_lines": (100, 10_000_000),
    "max_body_mb": (1, 1_000_000),
    "max_json_mb": (1, 1_000_000),
    "archive_max_mb": (1, 1_000_000),
    "archive_max_entries": (1, 10_000_000),
    "archive_entry_max_mb": (1, 1_000_000),
    "archive_max_ratio": (2, 1_000_000),
    "yaml_max_nodes": (1000, 1_000_000_000),
    "yaml_max_aliases": (10, 1_000_000_000),
    "sse_idle_s": (30, 86400),
    "max_list_pages": (1, 1_000_000),
    "max_list_items": (100, 100_000_000),
    "manifest_max_mb": (0.01, 1024),
    "smoke_output_max_kb": (1, 1_000_000),
}
GROUP_KEYS: dict[str, type | tuple[type, ...]] = {"labels": list, "description": str}
REPO_KEYS: dict[str, type | tuple[type, ...]] = {"url": str, "path": str, "branch": str, "dirpath": str}
UI_KEYS: dict[str, type | tuple[type, ...]] = {"theme": str, "mouse": bool, "diff_layout": str, "log_lines": int}
SNAPSHOT_KEYS: dict[str, type | tuple[type, ...]] = {"keep": int, "max_mb": (int, float), "enabled": bool}
DIFF_KEYS: dict[str, type | tuple[type, ...]] = {
    "ignore": list,  # FILE-GLOB:dotted.key (tui.core.ignore)
    "tool": str,  # a command reading a unified diff on stdin (delta)
}


class ConfigError(UsageError):
    kind = "config"

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = str(path) if path else "configuration"
        if line:
            where += f":{line}"
        super().__init__(f"{where}: {message}" if path else message, hint=hint)
        self.path, self.line, self.key = path, line, key


@dataclass(frozen=True)
class Environment:
    name: str
    url: str
    tier: str = "development"
    protected: bool = False
    read_only: bool = False
    verify_tls: bool = True
    ca_bundle: str | None = None
    timeout: float = 30.0
    deadline: float | None = None  # the whole of one request; default max(120, 4 x timeout)
    allow_insecure_http: bool = False
    repositories: tuple[str, ...] = ()
    snapshots: bool = True
    description: str = ""
    require_reason: bool = False
    freeze: tuple[str, ...] = ()
    platform_variables: tuple[str, ...] = ()
    # STARTUP_IMPORT_REPOSITORY / _GROUPS as declared here: (repository, groups); ("", ()) declares none;
    # None: not declared (the platform activity is read, and unknown is taken as "re-imports").
    startup_import: tuple[str, tuple[str, ...]] | None = None
    approvals: int = 0  # approvals by other platform users a saved plan needs (tui.core.ops.policy)

    @property
    def badge(self) -> str:
        return {"production": "PROD", "staging": "STAGING", "development": "DEV"}.get(self.tier, self.tier.upper())


@dataclass(frozen=True)
class Group:
    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RepoSource:
    """Where prisme-deploy can read a platform repository's git history for diffs (a URL or a path)."""

    id: str
    url: str | None = None
    path: str | None = None
    branch: str = "main"
    dirpath: str | None = None

    @property
    def location(self) -> str:
        return self.path or self.url or ""


@dataclass(frozen=True)
class Promotion:
    source: str  # "env:slug"
    target: str


@dataclass
class Config:
    path: Path | None = None
    environments: dict[str, Environment] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    repositories: dict[str, RepoSource] = field(default_factory=dict)
    promotions: list[Promotion] = field(default_factory=list)
    keymap: dict[str, str] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    secrets_store: str = "keyring"
    snapshot_keep: int = 10
    snapshot_max_mb: float = 200.0
    snapshots_enabled: bool = True
    diff_ignore: tuple[str, ...] = ()
    limits: dict[str, float] = field(default_factory=dict)  # [limits]: see tui/core/limits.py
    diff_tool: str | None = None
    optional_secrets: tuple[str, ...] = ()  # [parity]: NAME or slug:NAME
    allowed_findings: dict[str, str] = field(default_factory=dict)  # [scan] allow: fingerprint -> reason
    pragma_files: dict[str, str] = field(default_factory=dict)  # [scan] pragma_files: "slug/path" -> reason
    rollout: list[dict[str, Any]] = field(default_factory=list)  # [[rollout]] stages: tui/core/ops/rollout.py
    smoke: list[dict[str, Any]] = field(default_factory=list)  # [[smoke]] tests: tui/core/ops/rollout.py

    def env(self, name: str) -> Environment:
        if name in self.environments:
            return self.environments[name]
        known = sorted(self.environments)
        close = _close(name, known)
        hint = (
            f"Did you mean {close[0]!r}?"
            if close
            else (f"Known environments: {', '.join(known)}." if known else "Add one with `prisme-deploy env add`.")
        )
        raise ConfigError(f"unknown environment {name!r}.", hint=hint)


# ---------------------------------------------------------------------------------------------- reading
def _close(word: str, known: Any) -> list[str]:
    """The "did you mean" suggestion (difflib is loaded only when a word is wrong)."""
    import difflib

    return difflib.get_close_matches(word, list(known), n=1)


def _line_of(text: str, table: str, key: str | None) -> int | None:
    """Best-effort line number of ``key`` in ``[table]`` (tomllib gives none)."""
    lines = text.splitlines()
    start = 0
    if table:
        dotted = r"\s*\.\s*".join("[\"']?" + re.escape(part) + "[\"']?" for part in table.split("."))  # [a."b"]
        header = re.compile(r"^\s*\[\[?\s*" + dotted + r"\s*\]\]?\s*(#.*)?$")
        for number, line in enumerate(lines):
            if header.match(line):
                start = number
                if key is None:
                    return number + 1
                break
        else:
            return None
    if key is None:
        return None
    pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    if not table:  # a top-level name is a key or a section header
        pattern = re.compile(r"^\s*(\[+\s*)?[\"']?" + re.escape(key) + r"[\"']?\s*[=.\]]")
    for number in range(start, len(lines)):
        if number > start and lines[number].lstrip().startswith("[") and table:
            break
        if pattern.match(lines[number]):
            return number + 1
    return None


def _deep_line(text: str, depth: int = 100) -> int | None:
    """The line where brackets first nest ``depth`` deep (tomllib says nothing when it recurses out)."""
    level = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            level += (char in "[{") - (char in "]}")
            if level >= depth:
                return number
    return None


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "a whole number", float: "a number", list: "a list"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


class _Validator:
    def __init__(self, path: Path | None, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, message: str, table: str, key: str | None, hint: str | None = None) -> ConfigError:
        return ConfigError(message, path=self.path, line=_line_of(self.text, table, key), key=key, hint=hint)

    def no_secrets(self, data: Any, table: str = "") -> None:
        if isinstance(data, dict):
            for key, value in data.items():
                # The [secrets] section (store = ...) and lists of secret NAMES are not secrets.
                exempt = (table == "" and key == "secrets") or key in NAMES_SECRETS
                if SECRET_KEY_RE.search(str(key)) and not exempt:
                    raise self.fail(
                        f"key '{key}' looks like a secret; tokens never go in the configuration file.",
                        table,
                        str(key),
                        hint="Store it in the OS keyring with `prisme-deploy login --env NAME`, or set "
                        "PRISME_DEPLOY_TOKEN_<ENV> in CI.",
                    )
                self.no_secrets(value, f"{table}.{key}" if table else str(key))
        elif isinstance(data, list):
            for item in data:
                self.no_secrets(item, table)

    def keys(self, data: dict[str, Any], allowed: dict[str, type | tuple[type, ...]], table: str) -> None:
        for key, value in data.items():
            if key not in allowed:
                close = _close(key, list(allowed))
                raise self.fail(
                    f"unknown key '{key}' in [{table}].",
                    table,
                    key,
                    hint=f"Did you mean '{close[0]}'?" if close else f"Allowed keys: {', '.join(sorted(allowed))}.",
                )
            kind = allowed[key]
            if isinstance(value, bool) and kind in (int, float, (int, float)):
                raise self.fail(f"'{key}' must be {_type_name(kind)}, not {value!r}.", table, key)
            if not isinstance(value, kind):
                raise self.fail(
                    f"'{key}' must be {_type_name(kind)}, got {type(value).__name__} {value!r}.", table, key
                )
            if key in RANGES and isinstance(value, (int, float)):
                self.in_range(key, value, table)

    def in_range(self, key: str, value: float, table: str) -> None:
        low, high = RANGES[key]
        if not math.isfinite(value) or not low <= value <= high:
            raise self.fail(f"'{key}' must be a number from {low:g} to {high:g}, not {value!r}.", table, key)

    def url(self, value: str, table: str) -> None:
        """An API URL: http(s), a host, no spaces or control characters, no user:password@."""
        from urllib.parse import urlsplit

        problem = None
        if not value.startswith(("http://", "https://")):
            problem = "must start with https:// (or http:// for loopback)"
        elif any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
            problem = "must not contain spaces or control characters"
        else:
            try:
                parts = urlsplit(value)
                host, _port = parts.hostname, parts.port
            except ValueError as exc:
                problem = f"is not a valid URL ({exc})"
            else:
                if parts.username is not None or parts.password is not None or "@" in parts.netloc:
                    problem = "must not carry a user or password (the token is sent separately)"
                elif not host:
                    problem = "has no host name"
                elif parts.query or parts.fragment:
                    problem = "must not have a query or a fragment"
        if problem:
            raise self.fail(f"url {value!r} {problem}.", table, "url")

    def unique_token_variables(self, names: list[str]) -> None:
        """prod-eu, prod.eu and prod_eu share PRISME_DEPLOY_TOKEN_PROD_EU: one's token would go to another."""
        seen: dict[str, str] = {}
        for name in names:
            variable = env_var_name(name)
            if variable in seen:
                raise self.fail(
                    f"environments {seen[variable]!r} and {name!r} both take their token from {variable}; "
                    "one environment's token would be sent to the other's URL.",
                    f"environments.{name}",
                    None,
                    hint="Rename one of them (letters and digits differ, not only '-', '.' or '_').",
                )
            seen[variable] = name


def parse(text: str, path: Path | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}.", path=path, hint="Fix the syntax; the file was not changed."
        ) from exc
    except RecursionError:
        raise ConfigError(
            "arrays or tables nested too deeply to read.",
            path=path,
            line=_deep_line(text),
            hint="A configuration needs two levels at most.",
        ) from None
    check = _Validator(path, text)
    try:
        check.no_secrets(data)
    except RecursionError:
        raise ConfigError("values nested too deeply.", path=path) from None
    for key in data:
        if key not in TOP_KEYS:
            close = _close(key, TOP_KEYS)
            raise check.fail(
                f"unknown section '{key}'.",
                "",
                key,
                hint=f"Did you mean '{close[0]}'?" if close else f"Sections: {', '.join(TOP_KEYS)}.",
            )
    for key in TOP_TABLES:
        if key in data and not isinstance(data[key], dict):
            raise check.fail(f"'{key}' must be a table ([{key}]), not {type(data[key]).__name__}.", "", key)
    if "promotions" in data and not isinstance(data["promotions"], list):
        raise check.fail("'promotions' must be a list of [[promotions]] tables.", "", "promotions")
    config = Config(path=path)
    check.unique_token_variables(list(data.get("environments") or {}))
    for name, env in (data.get("environments") or {}).items():
        table = f"environments.{name}"
        if not isinstance(env, dict):
            raise check.fail(f"[{table}] must be a table.", "", None)
        if not ENV_NAME_RE.match(name):
            raise check.fail(f"environment name {name!r} must be letters, digits, '.', '_' or '-'.", table, None)
        check.keys(env, ENV_KEYS, table)
        if "url" not in env:
            raise check.fail(f"[{table}] needs a url (https://api.example.com).", table, None)
        check.url(str(env["url"]), table)
        tier = env.get("tier", "development")
        if tier not in TIERS:
            close = _close(tier, TIERS)
            raise check.fail(
                f"tier {tier!r} is not one of {', '.join(TIERS)}.",
                table,
                "tier",
                hint=f"Did you mean '{close[0]}'?" if close else None,
            )
        if not all(isinstance(r, str) for r in env.get("repositories", [])):
            raise check.fail("'repositories' must be a list of repository ids.", table, "repositories")
        config.environments[name] = Environment(
            name=name,
            url=str(env["url"]).rstrip("/"),
            tier=tier,
            protected=bool(env.get("protected", tier == "production")),
            read_only=bool(env.get("read_only", False)),
            verify_tls=bool(env.get("verify_tls", True)),
            ca_bundle=env.get("ca_bundle"),
            timeout=float(env.get("timeout", 30)),
            deadline=float(env["deadline"]) if "deadline" in env else None,
            allow_insecure_http=bool(env.get("allow_insecure_http", False)),
            repositories=tuple(env.get("repositories", ())),
            snapshots=bool(env.get("snapshots", True)),
            description=str(env.get("description", "")),
            require_reason=bool(env.get("require_reason", tier == "production")),
            freeze=_freeze(env.get("freeze") or [], check, table),
            platform_variables=_strings(env, "platform_variables", check, table),
            startup_import=_startup_import(env, check, table),
            approvals=_approvals(env, check, table),
        )
    for name, group in (data.get("groups") or {}).items():
        table = f"groups.{name}"
        if not isinstance(group, dict):
            raise check.fail(f"[{table}] must be a table with labels = [...].", "", None)
        check.keys(group, GROUP_KEYS, table)
        labels = group.get("labels", [])
        if not labels or not all(isinstance(x, str) for x in labels):
            raise check.fail("'labels' must be a non-empty list of labels (any of them matches).", table, "labels")
        config.groups[name] = Group(name, tuple(labels))
    for rid, repo in (data.get("repositories") or {}).items():
        table = f"repositories.{rid}"
        if not isinstance(repo, dict):
            raise check.fail(f"[{table}] must be a table.", "", None)
        check.keys(repo, REPO_KEYS, table)
        if not repo.get("url") and not repo.get("path"):
            raise check.fail(f"[{table}] needs a url or a path to a local clone.", table, None)
        config.repositories[rid] = RepoSource(
            rid, repo.get("url"), repo.get("path"), repo.get("branch", "main"), repo.get("dirpath")
        )
    for number, promo in enumerate(data.get("promotions") or [], start=1):
        if not isinstance(promo, dict) or set(promo) - {"from", "to"} or not {"from", "to"} <= set(promo):
            raise check.fail(
                f'promotion #{number} needs exactly from = "env:slug" and to = "env:slug".', "promotions", None
            )
        for side in ("from", "to"):
            env_name, _, slug = str(promo[side]).partition(":")
            if not slug:
                raise check.fail(
                    f'promotion #{number}: {side} = {promo[side]!r} must be "env:slug".', "promotions", side
                )
            if env_name not in config.environments:
                raise check.fail(f"promotion #{number}: unknown environment {env_name!r}.", "promotions", side)
        config.promotions.append(Promotion(str(promo["from"]), str(promo["to"])))
    keymap = data.get("keymap") or {}
    if not all(isinstance(v, str) for v in keymap.values()):
        raise check.fail('[keymap] values must be key names such as "r" or "ctrl+r".', "keymap", None)
    config.keymap = dict(keymap)
    ui = data.get("ui") or {}
    check.keys(ui, UI_KEYS, "ui")
    config.ui = dict(ui)
    secrets_section = data.get("secrets") or {}
    store = secrets_section.get("store", "keyring")
    if store not in ("keyring", "none") or set(secrets_section) - {"store"}:
        raise check.fail('[secrets] takes only store = "keyring" or "none".', "secrets", "store")
    config.secrets_store = store
    snaps = data.get("snapshots") or {}
    check.keys(snaps, SNAPSHOT_KEYS, "snapshots")
    config.snapshot_keep = int(snaps.get("keep", 10))
    config.snapshot_max_mb = float(snaps.get("max_mb", 200))
    config.snapshots_enabled = bool(snaps.get("enabled", True))
    if config.snapshot_keep < 1:
        raise check.fail("snapshots.keep must be at least 1.", "snapshots", "keep")
    config.diff_ignore = _diff_ignore(data.get("diff") or {}, check)
    limits = data.get("limits") or {}
    check.keys(limits, LIMIT_KEYS, "limits")
    config.limits = dict(limits)
    config.diff_tool = (data.get("diff") or {}).get("tool") or None
    if config.diff_tool:
        try:
            shlex.split(config.diff_tool)
        except ValueError as exc:  # "No closing quotation": the app would crash running it
            raise check.fail(
                f"[diff] tool {config.diff_tool!r} is not a command line: {exc}.", "diff", "tool"
            ) from None
    parity = data.get("parity") or {}
    check.keys(parity, PARITY_KEYS, "parity")
    config.optional_secrets = _strings(parity, "optional_secrets", check, "parity")
    config.allowed_findings = _scan_allow(data.get("scan") or {}, check)
    config.pragma_files = _scan_pragma_files(data.get("scan") or {}, check)
    for key in ("rollout", "smoke"):  # checked in full by tui.core.ops.rollout.stages (file:line there too)
        if key in data and not (isinstance(data[key], list) and all(isinstance(t, dict) for t in data[key])):
            raise check.fail(f"'{key}' must be a list of [[{key}]] tables.", "", key)
        setattr(config, key, [dict(t) for t in data.get(key) or []])
    return config


def _strings(table: dict[str, Any], key: str, check: _Validator, where: str) -> tuple[str, ...]:
    values = table.get(key) or []
    if not all(isinstance(v, str) and v for v in values):
        raise check.fail(f"'{key}' must be a list of names (strings).", where, key)
    return tuple(values)


def _startup_import(env: dict[str, Any], check: _Validator, table: str) -> tuple[str, tuple[str, ...]] | None:
    if "startup_import" not in env:
        return None
    value = env["startup_import"]
    if not value:
        return ("", ())  # declared: this environment has no startup import
    repository, groups = value.get("repository"), value.get("groups")
    unknown = set(value) - {"repository", "groups"}
    if unknown or not isinstance(repository, str) or not repository:
        raise check.fail(
            'startup_import = { repository = "id", groups = ["base1", ...] } (or {} for none).', table, "startup_import"
        )
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g for g in groups):
        raise check.fail("startup_import.groups must be a non-empty list of group names.", table, "startup_import")
    return (repository, tuple(groups))


def _approvals(env: dict[str, Any], check: _Validator, table: str) -> int:
    value = env.get("approvals", 0)
    if isinstance(value, bool) or not 0 <= value <= 10:
        raise check.fail("'approvals' must be a number of approvals from 0 to 10.", table, "approvals")
    return int(value)


def _freeze(windows: list[Any], check: _Validator, table: str) -> tuple[str, ...]:
    from tui.core.freeze import FreezeSyntaxError, parse_window

    for window in windows:
        try:
            parse_window(window) if isinstance(window, str) else parse_window("")
        except FreezeSyntaxError as exc:
            raise check.fail(f"freeze window {exc}", table, "freeze") from None
    return tuple(windows)


def _scan_allow(section: dict[str, Any], check: _Validator) -> dict[str, str]:
    """[scan] allow = [{fingerprint = "...", reason = "..."}]: reviewed false positives of the secret scan."""
    check.keys(section, SCAN_KEYS, "scan")
    allowed: dict[str, str] = {}
    for item in section.get("allow") or []:
        if not (
            isinstance(item, dict)
            and set(item) == {"fingerprint", "reason"}
            and all(isinstance(v, str) and v.strip() for v in item.values())
        ):
            raise check.fail(
                'each [scan] allow entry needs exactly fingerprint = "..." and reason = "..." (both non-empty).',
                "scan",
                "allow",
            )
        allowed[item["fingerprint"]] = item["reason"]
    return allowed


def _scan_pragma_files(section: dict[str, Any], check: _Validator) -> dict[str, str]:
    """[scan] pragma_files = [{file = "slug/path", reason = "..."}]: the files whose inline
    ``pragma: allowlist secret`` comments the scan honours (reviewed; the run's audit names them)."""
    allowed: dict[str, str] = {}
    for item in section.get("pragma_files") or []:
        if not (
            isinstance(item, dict)
            and set(item) == {"file", "reason"}
            and all(isinstance(v, str) and v.strip() for v in item.values())
        ):
            raise check.fail(
                'each [scan] pragma_files entry needs exactly file = "slug/path" and reason = "..." (both non-empty).',
                "scan",
                "pragma_files",
            )
        allowed[item["file"].strip("/")] = item["reason"]
    return allowed


def _diff_ignore(section: dict[str, Any], check: _Validator) -> tuple[str, ...]:
    from tui.core.ignore import IgnoreRuleError, Rule

    check.keys(section, DIFF_KEYS, "diff")
    rules = section.get("ignore") or []
    for rule in rules:
        try:
            Rule.parse(str(rule)) if isinstance(rule, str) else Rule.parse("")
        except IgnoreRuleError as exc:
            raise check.fail(exc.message, "diff", "ignore") from None
    return tuple(str(r) for r in rules)


def load(path: Path, *, missing_ok: bool = True) -> Config:
    if not path.exists():
        if missing_ok:
            return Config(path=path)
        raise ConfigError(f"no configuration file at {path}.", hint="Create one with `prisme-deploy env add`.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}.") from exc
    return parse(text, path)


# ---------------------------------------------------------------------------------------------- writing
def atomic_write(path: Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename: a crash leaves the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def _tomlkit() -> Any:
    import tomlkit  # only editing needs it: reading uses the standard library's tomllib

    return tomlkit


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An advisory lock around a read-modify-write of the configuration: two `env add` at once would
    each write their own copy and lose the other's entry. The lock is on a side file, since the
    atomic rename replaces the configuration file itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class ConfigEditor:
    """Round-trip edits: comments, order and formatting of everything untouched are preserved.

    Use ``with ConfigEditor.locked(path) as editor``: the file is read under the lock, so an edit
    starts from what the last writer saved."""

    @classmethod
    @contextmanager
    def locked(cls, path: Path) -> Iterator[ConfigEditor]:
        with locked(path):
            yield cls(path)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.original = path.read_text(encoding="utf-8") if path.exists() else ""
        parse(self.original, path)  # refuse to edit a file that is already invalid
        self.doc = _tomlkit().parse(self.original)

    def _table(self, *keys: str) -> Any:
        node: Any = self.doc
        for key in keys:
            if key not in node:
                node[key] = _tomlkit().table(is_super_table=(node is self.doc and key == "environments"))
            node = node[key]
        return node

    def allow_finding(self, fingerprint: str, reason: str) -> None:
        """[scan] allow gets {fingerprint, reason}: a reviewed false positive of the secret scan."""
        tomlkit = _tomlkit()
        scan = self._table("scan")
        if "allow" not in scan:
            scan["allow"] = tomlkit.array()
            scan["allow"].multiline(True)
        if any(item.get("fingerprint") == fingerprint for item in scan["allow"]):
            return
        entry = tomlkit.inline_table()
        entry.update({"fingerprint": fingerprint, "reason": reason})
        scan["allow"].append(entry)

    def set_environment(self, name: str, values: dict[str, Any]) -> None:
        if not ENV_NAME_RE.match(name):
            raise ConfigError(f"environment name {name!r} must be letters, digits, '.', '_' or '-'.")
        table = self._table("environments", name)
        for key, value in values.items():
            if value is None:
                if key in table:
                    del table[key]
            else:
                table[key] = value

    def remove_environment(self, name: str) -> None:
        envs = self.doc.get("environments")
        if not envs or name not in envs:
            raise ConfigError(f"unknown environment {name!r}.")
        del envs[name]

    def save(self) -> Config:
        """Validate the result before anything touches the disk."""
        text = _tomlkit().dumps(self.doc)
        config = parse(text, self.path)
        atomic_write(self.path, text)
        return config
