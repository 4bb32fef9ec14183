"""A JSON Schema of config.toml, built from the validator's own key tables (tui/core/config.py).

Editors (Taplo, Even Better TOML) use it to validate and complete the file: a `#:schema PATH` first
line points them at `prisme-deploy config schema > PATH`. Built from the same tables as the validator
so the two cannot drift apart; tests/test_conventions.py checks they agree on every key.
"""

from __future__ import annotations

from typing import Any

from tui.core import config as cfg

SCHEMA_ID = "https://prisme-deploy.invalid/config.schema.json"  # an identifier, never fetched


def _type(kind: type | tuple[type, ...]) -> dict[str, Any]:
    if isinstance(kind, tuple):
        return {"type": "number"} if set(kind) == {int, float} else {"anyOf": [_type(k) for k in kind]}
    if kind is list:
        return {"type": "array", "items": {"type": "string"}}
    names = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object"}
    return {"type": names[kind]}


def _table(keys: dict[str, type | tuple[type, ...]], **overrides: dict[str, Any]) -> dict[str, Any]:
    properties = {key: {**_type(kind), **_range(key), **overrides.get(key, {})} for key, kind in keys.items()}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _range(key: str) -> dict[str, Any]:
    """The validator's bounds for a number (`timeout` from 0.1 to 3600 ...), both inclusive."""
    if key not in cfg.RANGES:
        return {}
    low, high = cfg.RANGES[key]
    return {"minimum": low, "maximum": high}


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
    environment = _table(
        cfg.ENV_KEYS,
        url={"pattern": "^https?://", "description": "API URL (https://, or http:// for loopback)"},
        tier={"enum": list(cfg.TIERS), "description": "colour and badge; production is protected by default"},
        protected={"description": "type the slug (or environment name) to confirm (default: tier = production)"},
        startup_import={
            "properties": {
                "repository": {"type": "string", "minLength": 1},
                "groups": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            },
            "additionalProperties": False,
            "dependentRequired": {"repository": ["groups"], "groups": ["repository"]},
            "description": "STARTUP_IMPORT_REPOSITORY / _GROUPS of its workspaces service; {} declares none",
        },
    )
    environment["required"] = ["url"]
    group = _table(cfg.GROUP_KEYS, labels={"minItems": 1, "description": "any of these labels matches"})
    group["required"] = ["labels"]
    repository = _table(cfg.REPO_KEYS)
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
            "ui": _table(cfg.UI_KEYS),
            "secrets": _table({"store": str}, store={"enum": ["keyring", "none"]}),
            "snapshots": _table(cfg.SNAPSHOT_KEYS),
            "diff": _table(
                cfg.DIFF_KEYS,
                tool={"description": "a command reading a unified diff on stdin (delta)"},
                ignore={"description": "differences to ignore, FILE-GLOB:dotted.key (--no-ignore shows them)"},
            ),
            "limits": _table(cfg.LIMIT_KEYS),
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
            "parity": _table(cfg.PARITY_KEYS, optional_secrets={"description": "secret names (NAME or slug:NAME)"}),
            "scan": {
                "type": "object",
                "properties": {
                    "allow": {
                        "type": "array",
                        "description": "reviewed false positives of the secret scan (--allow-secret writes them)",
                        "items": {
                            "type": "object",
                            "properties": {"fingerprint": {"type": "string"}, "reason": {"type": "string"}},
                            "required": ["fingerprint", "reason"],
                            "additionalProperties": False,
                        },
                    },
                    "pragma_files": {
                        "type": "array",
                        "description": "files (slug/path) whose inline 'pragma: allowlist secret' the scan honours",
                        "items": {
                            "type": "object",
                            "properties": {"file": {"type": "string"}, "reason": {"type": "string"}},
                            "required": ["file", "reason"],
                            "additionalProperties": False,
                        },
                    },
                },
                "additionalProperties": False,
            },
        },
    }
