"""The configuration file: environments, workspace groups, repositories, promotions, keymap, UI.

Read with tomllib and validated strictly (file, line, key, what was expected, a "did you mean"),
written with tomlkit so a person's comments and layout survive every change the app makes. Writes are
atomic (temporary file, fsync, rename) and private (0600). Tokens never live here.

Every key is declared once (tui/core/settings.py): its type, default, range or choices, meaning, and
where it is offered. The validator (``parse``), the defaults, the JSON schema (`config schema`), `config
show`, the `env add/edit` flags and the app's environment form are generated from that declaration;
tests/unit/test_config_declared.py checks that they agree.

Adding a key is one entry:

- ``[environments.NAME]``: a field of ``Environment`` below, e.g.
  ``max_parallel: int = setting(int, 4, help="workspaces imported at once", range=(1, 64))``.
  It is then validated (type, range, file:line), defaulted, in the schema, and ``--max-parallel`` of
  `env add/edit`; add ``form="Label:"`` to put it in the app's form, ``flag=False`` to keep it out of
  the flags, ``default_from=`` for a default that follows another key (as ``protected`` follows
  ``tier``), ``read=`` for a value that needs more than its type checked (``freeze``).
- ``[limits]``: a field of ``Limits`` in tui/core/limits.py, declared the same way.
- ``[ui]``, ``[snapshots]``, ``[diff]``, ``[parity]``, ``[scan]``, ``[groups.X]``, ``[repositories.X]``:
  one ``Setting(...)`` row in that section's ``*_SETTINGS`` table below.
- A new section: its ``*_SETTINGS`` table, a line in ``SECTIONS`` and ``TOP_KEYS``, and where ``parse``
  stores it (``read_table`` reads a whole table with its defaults).
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shlex
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.credentials import AuthMethod, parse_auth
from tui.core.errors import UsageError
from tui.core.limits import LIMIT_SETTINGS
from tui.core.notify import KINDS as NOTIFY_KINDS
from tui.core.notify import URLS_VAR as NOTIFY_URLS_VAR
from tui.core.notify import NotifySettings
from tui.core.notify import parse_settings as parse_notify
from tui.core.secrets import env_var_name
from tui.core.settings import NUMBER, Kind, Setting, declared, kinds, ranges, setting

TIERS = ("development", "staging", "production")
SECRET_KEY_RE = re.compile(r"(token|secret|password|passwd|api[_-]?key)", re.IGNORECASE)
ENV_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")

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
    "notify",
)
# Keys that name secrets without holding one (the "looks like a secret" check lets them through).
NAMES_SECRETS = frozenset({"optional_secrets"})
# What each top-level key must be (`environments = 5` is a clear error, not a traceback): a table, but for
# the arrays of tables ([[promotions]], [[rollout]], [[smoke]]).
TOP_ARRAYS = ("promotions", "rollout", "smoke")
TOP_TABLES = tuple(key for key in TOP_KEYS if key not in TOP_ARRAYS)


def _pair(first: str, second: str) -> dict[str, Any]:
    """The schema of a {first = "...", second = "..."} entry (the validator checks it in _scan_allow...)."""
    strings = {"type": "string"}
    return {
        "type": "object",
        "properties": {first: strings, second: strings},
        "required": [first, second],
        "additionalProperties": False,
    }


# The sections without a dataclass of their own: one Setting per key (see the module docstring).
GROUP_SETTINGS: dict[str, Setting] = {
    "labels": Setting(list, (), "any of these labels matches", required=True, schema={"minItems": 1}),
    "description": Setting(str, ""),
}
REPO_SETTINGS: dict[str, Setting] = {
    "url": Setting(str, None, "a git URL to read the repository's history from"),
    "path": Setting(str, None, "a local clone to read the repository's history from"),
    "branch": Setting(str, "main"),
    "dirpath": Setting(str, None, "the folder of the workspaces in the repository"),
}
UI_SETTINGS: dict[str, Setting] = {
    "theme": Setting(str, "textual-dark", "prisme-colorblind, prisme-high-contrast, or any Textual theme"),
    "mouse": Setting(bool, True),
    "diff_layout": Setting(str, None, "the diff screen's layout"),
    "log_lines": Setting(int, 20_000, "lines the log pane keeps", range=(100, 10_000_000)),
}
SNAPSHOT_SETTINGS: dict[str, Setting] = {
    "keep": Setting(int, 10, "per workspace, oldest removed first", range=(1, 1000)),
    "max_mb": Setting(NUMBER, 200.0, "the snapshots' total size", range=(1, 1_000_000)),
    "enabled": Setting(bool, True),
}
DIFF_SETTINGS: dict[str, Setting] = {
    "ignore": Setting(list, (), "differences to ignore, FILE-GLOB:dotted.key (--no-ignore shows them)"),
    "tool": Setting(str, None, "a command reading a unified diff on stdin (delta)"),
}
PARITY_SETTINGS: dict[str, Setting] = {
    "optional_secrets": Setting(list, (), "secret names (NAME or slug:NAME)"),
}
SCAN_SETTINGS: dict[str, Setting] = {
    "allow": Setting(
        list,
        (),
        "reviewed false positives of the secret scan (--allow-secret writes them)",
        schema={"items": _pair("fingerprint", "reason")},
    ),
    "pragma_files": Setting(
        list,
        (),
        "files (slug/path) whose inline 'pragma: allowlist secret' the scan honours",
        schema={"items": _pair("file", "reason")},
    ),
}
SECRETS_SETTINGS: dict[str, Setting] = {"store": Setting(str, "keyring", choices=("keyring", "none"))}
NOTIFY_SETTINGS: dict[str, Setting] = {  # tui/core/notify.py
    "urls": Setting(
        list,
        (),
        "apprise URLs without secrets (those go in PRISME_DEPLOY_NOTIFY_URLS)",
        schema={"items": {"type": "string", "pattern": "://"}},
    ),
    "events": Setting(list, NOTIFY_KINDS, "the kinds of message sent", schema={"items": {"enum": list(NOTIFY_KINDS)}}),
    "timeout": Setting(NUMBER, 10.0, "seconds per message", range=(1, 120)),
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


def _production(table: Mapping[str, Any]) -> bool:
    """The default of a safety rail that production has on (``protected``, ``require_reason``)."""
    return table.get("tier", "development") == "production"


@dataclass(frozen=True)
class Environment:
    """``[environments.NAME]``: each key declared once, here (see the module docstring)."""

    name: str
    url: str = setting(
        str,
        help="API URL (https://, or http:// for loopback)",
        example="https://api.example.com",
        form="API URL (https://api.example.com):",
        read=lambda table, check, where: check.url(str(table["url"]), where).rstrip("/"),
        schema={"pattern": "^https?://"},
    )
    tier: str = setting(
        str, "development", help="colour and badge; production is protected by default", choices=TIERS, form="Tier:"
    )
    protected: bool = setting(
        bool,
        False,
        help="type the slug (or environment name) to confirm (default: tier = production)",
        default_from=_production,
        form="Protected: type the name to confirm destructive actions",
    )
    read_only: bool = setting(
        bool, False, help="hide every mutating action", form="Read-only: hide every mutating action"
    )
    verify_tls: bool = setting(bool, True, help="verify TLS certificates", form="Verify TLS certificates")
    ca_bundle: str | None = setting(str, None, help="a CA bundle (PEM file) to verify this environment's TLS")
    timeout: float = setting(NUMBER, 30.0, help="seconds without a byte on one read", range=(0.1, 3600))
    # The whole of one request; None: max(120, 4 x timeout).
    deadline: float | None = setting(
        NUMBER,
        None,
        help="seconds for a whole request, connect to last byte (default max(120, 4 x timeout))",
        range=(1, 86400),
    )
    allow_insecure_http: bool = setting(bool, False, help="allow http:// to a host that is not loopback")
    repositories: tuple[str, ...] = setting(
        list,
        (),
        help="platform repositories this environment pushes to or reads",
        read=lambda table, check, where: _repositories(table, check, where),
    )
    snapshots: bool = setting(bool, True, help="a safety snapshot before each change")
    description: str = setting(str, "", help="shown beside the environment's name")
    require_reason: bool = setting(
        bool,
        False,
        help="every change needs --reason (default: tier = production)",
        default_from=_production,
    )
    freeze: tuple[str, ...] = setting(
        list,
        (),
        help="freeze windows (Fri 16:00-Mon 08:00 Europe/Paris, 2026-12-20/2027-01-04)",
        read=lambda table, check, where: _freeze(table.get("freeze") or [], check, where),
    )
    platform_variables: tuple[str, ...] = setting(
        list,
        (),
        help="WORKSPACE_SECRET_<slug>_<NAME> / WORKSPACE_CONFIG_<slug>_<KEY> set on the platform",
        read=lambda table, check, where: _strings(table, "platform_variables", check, where),
    )
    # STARTUP_IMPORT_REPOSITORY / _GROUPS as declared here: (repository, groups); ("", ()) declares none;
    # None: not declared (the platform activity is read, and unknown is taken as "re-imports").
    startup_import: tuple[str, tuple[str, ...]] | None = setting(
        dict,
        None,
        help="STARTUP_IMPORT_REPOSITORY / _GROUPS of its workspaces service; {} declares none",
        flag=False,  # a table: edited in the file
        read=lambda table, check, where: _startup_import(table, check, where),
        schema={
            "properties": {
                "repository": {"type": "string", "minLength": 1},
                "groups": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            },
            "additionalProperties": False,
            "dependentRequired": {"repository": ["groups"], "groups": ["repository"]},
        },
    )
    # tui.core.credentials: how a CI secret (in the process environment only) becomes a short-lived token.
    auth: AuthMethod | None = setting(  # noqa: RUF009 (a frozen dataclass: immutable)
        dict,
        None,
        help="a CI secret (PRISME_DEPLOY_CLIENT_SECRET_<ENV> or PRISME_DEPLOY_ID_TOKEN_<ENV>) traded for a "
        "short-lived token",
        flag=False,  # a table: edited in the file
        read=lambda table, check, where: _auth(table, check, where),
        schema={
            "properties": {
                "method": {"enum": ["service-account", "token-exchange"]},
                "org": {"type": "string", "minLength": 1},
                "account": {"type": "string", "minLength": 1},
                "provider": {"type": "string", "minLength": 1},
                "ttl": {"type": "integer", "minimum": 60, "maximum": 86400},
            },
            "required": ["method"],
            "additionalProperties": False,
        },
    )
    # tui.core.ops.policy: approvals by other platform users a saved plan needs before `apply` (issue 28).
    approvals: int = setting(
        int, 0, help="approvals of a saved plan by other platform users before apply", range=(0, 10)
    )

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
    notify: NotifySettings = field(default_factory=NotifySettings)  # [notify]: tui/core/notify.py

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


ENV_SETTINGS = declared(Environment)
ENV_FLAGS = tuple(key for key, s in ENV_SETTINGS.items() if s.flag)  # `env add/edit` (and the app's form)
# The validator's key tables, derived (other modules and tests read these names).
ENV_KEYS = kinds(ENV_SETTINGS)
GROUP_KEYS = kinds(GROUP_SETTINGS)
REPO_KEYS = kinds(REPO_SETTINGS)
UI_KEYS = kinds(UI_SETTINGS)
SNAPSHOT_KEYS = kinds(SNAPSHOT_SETTINGS)
DIFF_KEYS = kinds(DIFF_SETTINGS)
PARITY_KEYS = kinds(PARITY_SETTINGS)
SCAN_KEYS = kinds(SCAN_SETTINGS)
LIMIT_KEYS = kinds(LIMIT_SETTINGS)
# Every table of the file and its declaration (the schema and the agreement test walk this).
SECTIONS: dict[str, dict[str, Setting]] = {
    "environments": ENV_SETTINGS,
    "groups": GROUP_SETTINGS,
    "repositories": REPO_SETTINGS,
    "ui": UI_SETTINGS,
    "secrets": SECRETS_SETTINGS,
    "snapshots": SNAPSHOT_SETTINGS,
    "diff": DIFF_SETTINGS,
    "limits": LIMIT_SETTINGS,
    "parity": PARITY_SETTINGS,
    "scan": SCAN_SETTINGS,
    "notify": NOTIFY_SETTINGS,
}
# Numbers that must be finite and within a range: (low, high), both inclusive.
RANGES: dict[str, tuple[float, float]] = ranges(*SECTIONS.values())


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

    def keys(self, data: dict[str, Any], allowed: Mapping[str, Setting | Kind], table: str) -> None:
        """Every key known, of its type, within its range and among its choices."""
        for key, value in data.items():
            if key not in allowed:
                close = _close(key, list(allowed))
                raise self.fail(
                    f"unknown key '{key}' in [{table}].",
                    table,
                    key,
                    hint=f"Did you mean '{close[0]}'?" if close else f"Allowed keys: {', '.join(sorted(allowed))}.",
                )
            spec = allowed[key]
            kind = spec.kind if isinstance(spec, Setting) else spec
            if isinstance(value, bool) and kind in (int, float, (int, float)):
                raise self.fail(f"'{key}' must be {_type_name(kind)}, not {value!r}.", table, key)
            if not isinstance(value, kind):
                raise self.fail(
                    f"'{key}' must be {_type_name(kind)}, got {type(value).__name__} {value!r}.", table, key
                )
            bounds = spec.range if isinstance(spec, Setting) else RANGES.get(key)
            if bounds is not None and isinstance(value, (int, float)):
                self.in_range(key, value, bounds, table)
            if isinstance(spec, Setting) and spec.choices and value not in spec.choices:
                self.choice(key, value, spec.choices, table)

    def choice(self, key: str, value: str, choices: tuple[str, ...], table: str) -> None:
        close = _close(value, choices)
        raise self.fail(
            f"{key} {value!r} is not one of {', '.join(choices)}.",
            table,
            key,
            hint=f"Did you mean '{close[0]}'?" if close else None,
        )

    def required(self, data: Mapping[str, Any], settings: Mapping[str, Setting], table: str) -> None:
        for key, spec in settings.items():
            if spec.required and key not in data:
                example = f" ({spec.example})" if spec.example else ""
                raise self.fail(f"[{table}] needs a {key}{example}.", table, None)

    def in_range(self, key: str, value: float, bounds: tuple[float, float], table: str) -> None:
        low, high = bounds
        if not math.isfinite(value) or not low <= value <= high:
            raise self.fail(f"'{key}' must be a number from {low:g} to {high:g}, not {value!r}.", table, key)

    def url(self, value: str, table: str) -> str:
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
        return value

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
        check.keys(env, ENV_SETTINGS, table)
        check.required(env, ENV_SETTINGS, table)
        config.environments[name] = Environment(name=name, **read_table(env, ENV_SETTINGS, check, table))
    for name, group in (data.get("groups") or {}).items():
        table = f"groups.{name}"
        if not isinstance(group, dict):
            raise check.fail(f"[{table}] must be a table with labels = [...].", "", None)
        check.keys(group, GROUP_SETTINGS, table)
        labels = group.get("labels", [])
        if not labels or not all(isinstance(x, str) for x in labels):
            raise check.fail("'labels' must be a non-empty list of labels (any of them matches).", table, "labels")
        config.groups[name] = Group(name, tuple(labels))
    for rid, repo in (data.get("repositories") or {}).items():
        table = f"repositories.{rid}"
        if not isinstance(repo, dict):
            raise check.fail(f"[{table}] must be a table.", "", None)
        check.keys(repo, REPO_SETTINGS, table)
        if not repo.get("url") and not repo.get("path"):
            raise check.fail(f"[{table}] needs a url or a path to a local clone.", table, None)
        config.repositories[rid] = RepoSource(rid, **read_table(repo, REPO_SETTINGS, check, table))
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
    check.keys(ui, UI_SETTINGS, "ui")
    config.ui = dict(ui)
    secrets_section = data.get("secrets") or {}
    store = secrets_section.get("store", "keyring")
    if store not in ("keyring", "none") or set(secrets_section) - {"store"}:
        raise check.fail('[secrets] takes only store = "keyring" or "none".', "secrets", "store")
    config.secrets_store = store
    snaps = data.get("snapshots") or {}
    check.keys(snaps, SNAPSHOT_SETTINGS, "snapshots")
    snapshots = read_table(snaps, SNAPSHOT_SETTINGS, check, "snapshots")
    config.snapshot_keep, config.snapshot_max_mb = snapshots["keep"], snapshots["max_mb"]
    config.snapshots_enabled = snapshots["enabled"]
    if config.snapshot_keep < 1:
        raise check.fail("snapshots.keep must be at least 1.", "snapshots", "keep")
    config.diff_ignore = _diff_ignore(data.get("diff") or {}, check)
    limits = data.get("limits") or {}
    check.keys(limits, LIMIT_SETTINGS, "limits")
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
    check.keys(parity, PARITY_SETTINGS, "parity")
    config.optional_secrets = _strings(parity, "optional_secrets", check, "parity")
    config.allowed_findings = _scan_allow(data.get("scan") or {}, check)
    config.pragma_files = _scan_pragma_files(data.get("scan") or {}, check)
    notify = data.get("notify") or {}
    check.keys(notify, NOTIFY_SETTINGS, "notify")
    config.notify = _notify(notify, check)
    for key in ("rollout", "smoke"):  # checked in full by tui.core.ops.rollout.stages (file:line there too)
        if key in data and not (isinstance(data[key], list) and all(isinstance(t, dict) for t in data[key])):
            raise check.fail(f"'{key}' must be a list of [[{key}]] tables.", "", key)
        setattr(config, key, [dict(t) for t in data.get(key) or []])
    return config


def read_table(
    data: Mapping[str, Any], settings: Mapping[str, Setting], check: _Validator, where: str
) -> dict[str, Any]:
    """Each declared key's value (checked by ``check.keys`` already): read, converted, or its default."""
    values: dict[str, Any] = {}
    for key, spec in settings.items():
        if spec.read is not None and (key in data or spec.required):
            values[key] = spec.read(data, check, where)
        elif key in data:
            values[key] = spec.convert(data[key])
        else:
            values[key] = spec.default_for(data)
    return values


def _repositories(env: Mapping[str, Any], check: _Validator, table: str) -> tuple[str, ...]:
    if not all(isinstance(r, str) for r in env["repositories"]):
        raise check.fail("'repositories' must be a list of repository ids.", table, "repositories")
    return tuple(env["repositories"])


def _strings(table: Mapping[str, Any], key: str, check: _Validator, where: str) -> tuple[str, ...]:
    values = table.get(key) or []
    if not all(isinstance(v, str) and v for v in values):
        raise check.fail(f"'{key}' must be a list of names (strings).", where, key)
    return tuple(values)


def _notify(section: Mapping[str, Any], check: _Validator) -> NotifySettings:
    try:
        return parse_notify(dict(section))
    except ValueError as exc:
        key = next((k for k in ("urls", "events", "timeout") if k in str(exc)), None)
        raise check.fail(
            f"{exc}.", "notify", key, hint=f"URLs that carry a secret go in {NOTIFY_URLS_VAR}, never in this file."
        ) from exc


def _auth(env: Mapping[str, Any], check: _Validator, table: str) -> AuthMethod | None:
    if "auth" not in env:
        return None
    try:
        return parse_auth(env["auth"])
    except ValueError as exc:
        raise check.fail(
            f"{exc}.",
            table,
            "auth",
            hint='auth = { method = "service-account", org = "ORG", account = "SLUG" } or '
            '{ method = "token-exchange", provider = "SLUG" }; the secret goes in the environment, never here.',
        ) from exc


def _startup_import(env: Mapping[str, Any], check: _Validator, table: str) -> tuple[str, tuple[str, ...]] | None:
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
    check.keys(section, SCAN_SETTINGS, "scan")
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
    check.keys(section, DIFF_SETTINGS, "diff")
    rules = section.get("ignore") or []
    if not rules:
        return ()  # the rules' parser is for the diff: a configuration without rules never loads it (start-up)
    from tui.core.ignore import IgnoreRuleError, Rule

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
