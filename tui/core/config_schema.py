"""A JSON Schema of config.toml, built from the keys' one declaration (tui/core/settings.py, config.py).

Editors (Taplo, Even Better TOML) use it to validate and complete the file: a `#:schema PATH` first
line points them at `prisme-deploy config schema > PATH`. Built from the same tables as the validator
so the two cannot drift apart; tests/e2e/test_conventions.py checks they agree on every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui.core import config as cfg
from tui.core.settings import Setting

SCHEMA_ID = "https://prisme-deploy.invalid/config.schema.json"  # an identifier, never fetched


def _type(kind: type | tuple[type, ...]) -> dict[str, Any]:
    if isinstance(kind, tuple):
        return {"type": "number"} if set(kind) == {int, float} else {"anyOf": [_type(k) for k in kind]}
    if kind is list:
        return {"type": "array", "items": {"type": "string"}}
    names = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object"}
    return {"type": names[kind]}


def _table(settings: Mapping[str, Setting]) -> dict[str, Any]:
    """A section's keys as JSON schema properties: each from its one declaration (tui/core/settings.py)."""
    properties = {key: property_of(spec) for key, spec in settings.items()}
    table: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [key for key, spec in settings.items() if spec.required]
    if required:
        table["required"] = required
    return table


def property_of(spec: Setting) -> dict[str, Any]:
    """One key: its type, range (both ends inclusive), choices, default and meaning."""
    prop: dict[str, Any] = {**_type(spec.kind), **spec.schema}
    if spec.range is not None:
        prop["minimum"], prop["maximum"] = spec.range
    if spec.choices:
        prop["enum"] = list(spec.choices)
    if spec.default_from is None and spec.default not in (None, ()):
        prop["default"] = spec.default
    elif spec.default == ():
        prop["default"] = []
    if spec.help:
        prop["description"] = spec.help
    return prop


def _any_case(word: str) -> str:
    """An ECMA regex has no (?i): spell each letter both ways."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


# The validator refuses any key that looks like a secret, at any depth (tokens never live in the file).
NOT_SECRET = {
    "not": {
        "pattern": "("
        + "|".join(_any_case(w) for w in ("token", "secret", "password", "passwd"))
        + "|"
        + _any_case("api")
        + "[_-]?"
        + _any_case("key")
        + ")"
    }
}


def schema() -> dict[str, Any]:
    environment = _table(cfg.ENV_SETTINGS)
    group = _table(cfg.GROUP_SETTINGS)
    repository = _table(cfg.REPO_SETTINGS)
    repository["anyOf"] = [{"required": ["url"]}, {"required": ["path"]}]
    env_slug = {"type": "string", "pattern": "^[^:]+:.+$", "description": '"env:slug"'}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "prisme-deploy configuration (config.toml)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "environments": {
                "type": "object",
                "propertyNames": {"pattern": cfg.ENV_NAME_RE.pattern, **NOT_SECRET},
                "additionalProperties": environment,
            },
            "groups": {"type": "object", "propertyNames": NOT_SECRET, "additionalProperties": group},
            "repositories": {"type": "object", "propertyNames": NOT_SECRET, "additionalProperties": repository},
            "promotions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"from": env_slug, "to": env_slug},
                    "required": ["from", "to"],
                    "additionalProperties": False,
                },
            },
            "keymap": {
                "type": "object",
                "propertyNames": NOT_SECRET,
                "additionalProperties": {"type": "string", "description": 'a key such as "r" or "ctrl+r"'},
            },
            "ui": _table(cfg.UI_SETTINGS),
            "secrets": _table(cfg.SECRETS_SETTINGS),
            "snapshots": _table(cfg.SNAPSHOT_SETTINGS),
            "diff": _table(cfg.DIFF_SETTINGS),
            "limits": _table(cfg.LIMIT_SETTINGS),
            "rollout": {
                "type": "array",
                "description": "[[rollout]] stages in canary order: stage, environments, soak, max_parallel, "
                "canary_percent, readiness, optional_smoke, watch, max_error_rate, min_executions, signal, "
                "auto_rollback",
                "items": {"type": "object"},
            },
            "smoke": {
                "type": "array",
                "description": "[[smoke]] tests after each import: workspace, automation, expect",
                "items": {"type": "object"},
            },
            "parity": _table(cfg.PARITY_SETTINGS),
            "scan": _table(cfg.SCAN_SETTINGS),
            "notify": _table(cfg.NOTIFY_SETTINGS),
        },
    }
