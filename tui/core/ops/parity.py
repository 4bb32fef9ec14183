"""Secrets and config parity: what a workspace expects, and whether each environment provides it.

Names and presence only, never a value: the secrets API answers values too, and the client drops
them on arrival (``PrismeClient.secret_names``); config values are never read past their keys.
- expected secrets: ``secrets.schema`` of the workspace's index.yml, in either form the platform uses: the
  spec's map (``NAME: {type, default, required}``) or the docs' JSON schema (``type: object``,
  ``properties``, ``required: [...]``). Required where the schema says so (``required: true``, or listed
  in ``required``); where it says nothing, required unless it gives a ``default`` (unknown is not
  optional) or ``[parity] optional_secrets`` lists it (``NAME`` or ``slug:NAME``);
- expected config keys: ``config.schema`` of index.yml, read the same way, and every ``{{config.KEY}}``
  an automation reads; a key the source's index carries in ``config.value`` comes along with the import,
  so it is not missing on the target;
- provided: the names set through ``/security/secrets``, the keys of ``/config``'s ``value``, and the
  ``WORKSPACE_SECRET_<slug>_<NAME>`` / ``WORKSPACE_CONFIG_<slug>_<KEY>`` variables an environment
  declares in ``platform_variables`` (the platform's own settings, which no API shows). An empty
  secrets answer (``200 {}``) is what a user who may not read them gets: unless ``/v2/me`` says the
  caller may, it is "cannot tell" (``?``), and a required secret that cannot be told is not "set".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.core import errors as E
from tui.core.diff import Files, files_from_zip
from tui.core.ops.compare import Ref
from tui.core.ops.context import Context

CONFIG_REF_RE = re.compile(r"\{\{\s*config\.([A-Za-z0-9_-]+)")
KINDS = ("secret", "config")


class MissingSecrets(E.PrismeError):
    """A promotion would leave required secrets or config keys unset on the target (exit 1: refused)."""

    kind = "missing_secrets"


@dataclass(frozen=True)
class Expected:
    kind: str  # secret | config
    name: str
    required: bool
    source: str  # where it is declared: secrets.schema, config.schema, automations/<slug>.yml


@dataclass(frozen=True)
class Provided:
    """What one environment's workspace has: names only."""

    env: str
    slug: str
    secrets: frozenset[str] = frozenset()
    config: frozenset[str] = frozenset()
    platform: frozenset[str] = frozenset()  # declared WORKSPACE_SECRET_* / WORKSPACE_CONFIG_* names
    found: bool = True  # the workspace exists there
    secrets_known: bool = True  # False: an empty answer this caller may get whatever is set ("cannot tell")

    def has(self, item: Expected) -> bool | None:
        """Whether it is set there; None: cannot tell."""
        if item.kind == "secret":
            if item.name in self.secrets or f"WORKSPACE_SECRET_{self.slug}_{item.name}" in self.platform:
                return True
            return False if self.secrets_known else None
        return item.name in self.config or f"WORKSPACE_CONFIG_{self.slug}_{item.name}" in self.platform


@dataclass(frozen=True)
class Row:
    kind: str
    name: str
    required: bool
    source_has: bool | None  # None: cannot tell (secrets this caller may not read)
    target_has: bool | None
    declared_in: str
    brought: bool = False  # a config key the promotion's import brings along (the index's config.value)

    @property
    def missing(self) -> bool:
        """Required and not known to be there once promoted: unknown counts as missing (never safe)."""
        return self.required and self.target_has is not True and not self.brought

    def to_json(self, source: str, target: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "required": self.required,
            "declaredIn": self.declared_in,
            "broughtByImport": self.brought,
            source: self.source_has,
            target: self.target_has,
        }


@dataclass
class Parity:
    source: Ref
    target: Ref
    rows: list[Row] = field(default_factory=list)
    target_found: bool = True

    def missing(self, allowed: Collection[str] = ()) -> list[Row]:
        """Required names the target lacks, less those the operator accepted (``--allow-missing-secrets``)."""
        return [r for r in self.rows if r.missing and r.name not in allowed]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": str(self.source),
            "to": str(self.target),
            "rows": [r.to_json(self.source.env, self.target.env) for r in self.rows],
            "missingRequired": [r.name for r in self.missing()],
        }


# ---------------------------------------------------------------------------------------------- expected
def _yaml(files: Files, path: str) -> Any:
    from tui.core import yaml_canonical

    raw = files.get(path)
    if raw is None:
        return None
    try:
        docs = yaml_canonical.parse(raw.decode("utf-8", "replace"), path)
    except Exception as exc:  # a DSUL file we cannot read is reported, not guessed around
        raise E.UnexpectedResponse(f"{path}: not readable YAML ({exc}).") from None
    return docs[0] if docs else None


def _schema(section: Any) -> dict[str, bool]:
    """Each declared name and whether it is required, from either form of a schema: the spec's map
    (``NAME: {type, default, required}``) or JSON schema (``type: object``, ``properties``, ``required``)."""
    schema = section.get("schema") if isinstance(section, dict) else None
    if not isinstance(schema, dict):
        return {}
    listed: set[str] | None = None
    properties: Any = schema
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        properties = schema["properties"]
        listed = {str(n) for n in schema["required"]} if isinstance(schema.get("required"), list) else None
    found = {}
    for name, spec in properties.items():
        flag = _boolean(spec.get("required")) if isinstance(spec, dict) else None
        if flag is not None:
            found[str(name)] = flag
        elif listed is not None:
            found[str(name)] = str(name) in listed
        else:  # the schema does not say: required unless it gives a default (unknown is not optional)
            found[str(name)] = not (isinstance(spec, dict) and "default" in spec)
    return found


def _boolean(value: Any) -> bool | None:
    """A YAML boolean as the canonical reader gives it (``false`` may arrive as text)."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).strip().lower()) if value is not None else None


def brought_keys(files: Files) -> frozenset[str]:
    """Config keys the source's index carries in ``config.value``: an import brings them along."""
    index = _yaml(files, "index.yml")
    config = index.get("config") if isinstance(index, dict) else None
    value = config.get("value") if isinstance(config, dict) else None
    return frozenset(str(k) for k in value) if isinstance(value, dict) else frozenset()


def _optional(name: str, slug: str, optional: Collection[str]) -> bool:
    return name in optional or f"{slug}:{name}" in optional


def expected(files: Files, slug: str, optional: Collection[str] = ()) -> list[Expected]:
    """What a workspace's DSUL expects from the environment it runs on, sorted by kind and name."""
    index = _yaml(files, "index.yml")
    index = index if isinstance(index, dict) else {}
    items: dict[tuple[str, str], Expected] = {}
    for name, required in _schema(index.get("secrets")).items():
        required = required and not _optional(name, slug, optional)
        items[("secret", name)] = Expected("secret", name, required, "secrets.schema")
    for name, required in _schema(index.get("config")).items():
        items[("config", name)] = Expected("config", name, required, "config.schema")
    for path in sorted(files):
        if path.startswith("automations/") and path.endswith((".yml", ".yaml")):
            for name in CONFIG_REF_RE.findall(files[path].decode("utf-8", "replace")):
                items.setdefault(("config", name), Expected("config", name, True, path))
    return sorted(items.values(), key=lambda e: (KINDS.index(e.kind), e.name))


# ---------------------------------------------------------------------------------------------- provided
def _platform_names(ctx: Context, env: str) -> frozenset[str]:
    return frozenset(ctx.env(env).platform_variables)


async def provided(ctx: Context, env: str, slug: str) -> Provided:
    async with ctx.client(env) as client:
        try:
            ws = await client.find_workspace(slug)
        except E.NotFound:
            return Provided(env, slug, platform=_platform_names(ctx, env), found=False)
        names, config = await asyncio.gather(client.known_secret_names(ws), client.workspace_config(ws.id))
    value = config.get("value")
    keys = frozenset(str(k) for k in value) if isinstance(value, dict) else frozenset()
    known = names is not None  # None: an empty answer this caller may get whatever is set
    return Provided(env, slug, frozenset(names or ()), keys, _platform_names(ctx, env), secrets_known=known)


async def source_files(ctx: Context, ref: Ref) -> Files:
    from tui.core.ops.compare import snapshot

    return await snapshot(ctx, ref)


def rows(items: Iterable[Expected], source: Provided, target: Provided, brought: Collection[str] = ()) -> list[Row]:
    return [
        Row(
            e.kind, e.name, e.required, source.has(e), target.has(e), e.source, e.kind == "config" and e.name in brought
        )
        for e in items
    ]


async def parity(ctx: Context, source: Ref, target: Ref, *, files: Files | None = None) -> Parity:
    """Compare what ``source`` declares with what ``source``'s and ``target``'s environments provide."""
    if files is None:
        files = await source_files(ctx, source)
    items = expected(files, source.slug, ctx.config.optional_secrets)
    src, dst = await asyncio.gather(provided(ctx, source.env, source.slug), provided(ctx, target.env, target.slug))
    return Parity(source, target, rows(items, src, dst, brought_keys(files)), target_found=dst.found)


def refusal(result: Parity, allowed: Collection[str]) -> MissingSecrets | None:
    """The error a promotion raises when the target lacks required names (None when nothing is missing)."""
    missing = result.missing(allowed)
    if not missing:
        return None
    names = ", ".join(f"{r.kind} {r.name}" + (" (cannot tell)" if r.target_has is None else "") for r in missing)
    flags = " ".join(f"--allow-missing-secrets {r.name}" for r in missing)
    unknown = any(r.target_has is None for r in missing)
    why = (
        f" This token's user may not read {result.target.env}'s secrets (an empty answer): cannot tell whether "
        "they are set; check with an owner's or a super admin's token."
        if unknown
        else ""
    )
    return MissingSecrets(
        f"{result.target} lacks {len(missing)} required name(s) that {result.source} declares: {names}.{why}",
        hint=f"Set them on {result.target.env} first (see `prisme-deploy parity --from {result.source} "
        f"--to {result.target}`), or accept it with {flags}.",
    )


__all__ = ["Expected", "MissingSecrets", "Parity", "Provided", "Row", "expected", "files_from_zip", "parity"]
