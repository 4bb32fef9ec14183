"""What the workspaces service does to a workspace's index on import, and what it validates on creation.

An import (archive import, git pull, rollback) does not copy ``index.yml`` verbatim: the 2024 service
appends `` (IMPORT)`` to the description (each language of a localized one), merges the labels with the
existing ones, empties ``customDomains``, and keeps the target's slug, id and repositories. The
repositories' ``pull.exclude`` rules skip paths altogether.
"""

from __future__ import annotations

import re
from typing import Any

from tui.sandbox.store import SandboxError

IMPORT_SUFFIX = " (IMPORT)"
# The official spec's PATTERN_NAME and PATTERN_LABEL (components of DSUL), checked by the gateway's validator.
NAME_RE = re.compile(r"^[0-9A-Za-zÀ-ÖØ-öø-ÿ ,.'\- ]{1,60}$")
LABEL_RE = re.compile(r"^[0-9A-Za-z._:\-]{2,60}$")


def localized_text(value: Any) -> str | dict[str, str]:
    """A LocalizedText as the API stores it: a string, or an object of strings (never its Python repr)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return "" if value is None else str(value)


def _validation(path: str, message: str) -> SandboxError:
    return SandboxError(
        400,
        "RequestValidationError",
        f"Invalid request body: {path} {message}",
        [{"path": path, "message": message}],
    )


def valid_new_workspace(body: dict[str, Any]) -> None:
    """``POST /v2/workspaces`` body checks of the spec (name and label patterns, LocalizedText)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _validation(".body.name", "is required")
    if not NAME_RE.match(name):
        raise _validation(".body.name", f'must match pattern "{NAME_RE.pattern}"')
    labels = body.get("labels")
    if labels is not None:
        if not isinstance(labels, list):
            raise _validation(".body.labels", "must be array")
        for number, label in enumerate(labels):
            if not isinstance(label, str) or not LABEL_RE.match(label):
                raise _validation(f".body.labels[{number}]", f'must match pattern "{LABEL_RE.pattern}"')
    description = body.get("description")
    text_ok = isinstance(description, str) or (
        isinstance(description, dict) and all(isinstance(v, str) for v in description.values())
    )
    if description is not None and not text_ok:
        raise _validation(".body.description", "must be string or an object of strings")


def with_suffix(description: Any, *, empty: bool = False) -> Any:
    """``empty``: a missing or empty description becomes " (IMPORT)" too (what a real instance may write)."""
    if isinstance(description, dict):
        return {lang: f"{text}{IMPORT_SUFFIX}" for lang, text in description.items()}
    if isinstance(description, str) and description:
        return f"{description}{IMPORT_SUFFIX}"
    return IMPORT_SUFFIX if empty else description


def rewrite_index(
    old: dict[str, Any], new: dict[str, Any], *, suffix: bool, suffix_empty: bool = False
) -> dict[str, Any]:
    """The imported index as the service stores it (slug, id and the name stay the caller's business)."""
    index = dict(new)
    if "repositories" in old:
        index["repositories"] = old["repositories"]  # repository configuration is never imported
    else:
        index.pop("repositories", None)
    if "id" in old:
        index["id"] = old["id"]
    if suffix:
        if "description" in index or suffix_empty:
            index["description"] = with_suffix(index.get("description"), empty=suffix_empty)
        index["customDomains"] = []
        merged = list(old.get("labels") or [])
        merged += [label for label in new.get("labels") or [] if label not in merged]
        index["labels"] = merged
    return index


def exclude_rules(old_index: dict[str, Any], repo_id: str | None) -> list[str]:
    """``pull.exclude`` paths of the repository a pull reads (an archive import: every ``archive`` repository)."""
    repos = old_index.get("repositories") if isinstance(old_index, dict) else None
    if not isinstance(repos, dict):
        return []
    chosen = [repos.get(repo_id)] if repo_id else [r for r in repos.values() if (r or {}).get("type") == "archive"]
    rules: list[str] = []
    for repo in chosen:
        excludes = ((repo or {}).get("pull") or {}).get("exclude") or []
        rules += [str(rule.get("path")).strip("/") for rule in excludes if isinstance(rule, dict) and rule.get("path")]
    return rules


def excluded_paths(rules: list[str], paths: set[str]) -> set[str]:
    """Files whose DSUL path (``index``, ``pages/<slug>``, ...) matches a rule, with or without the extension."""
    if not rules:
        return set()
    wanted = set(rules)
    return {rel for rel in paths if rel in wanted or rel.rsplit(".", 1)[0] in wanted}


def apply_excludes(files: dict[str, bytes], skip: set[str]) -> dict[str, bytes]:
    return {rel: data for rel, data in files.items() if rel not in skip}


def searchable_text(description: Any) -> str:
    if isinstance(description, dict):
        return " ".join(str(v) for v in description.values())
    return str(description or "")
