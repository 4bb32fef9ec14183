"""The published 2024 server (``Realism.api_level == "2024"``): what it lacked and how it said so.

Facts from api-contract.md, "The published server, measured", and the 2024 source's own behaviour:
the api-gateway proxies ``/v2/workspaces*`` to the workspaces service, whose OpenAPI validator answers
a path it does not know with 404 ``RequestValidationError`` "not found" and an unknown query parameter
with 400 "Unknown query parameter 'x'" (both after the gateway's rate limit counted the call); a path
outside the proxied prefixes meets the gateway's own validator: 404 ``NotFoundError`` "Route not found".
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from typing import Any

from tui.sandbox import clock, dsul
from tui.sandbox.store import PLATFORM_ID, SandboxError

VERSION_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,15}$")
INDEX_WARNING = "Could not refresh some dsul index. Some pages or automations might not appear in studio menus"

# Paths of the newest API that the 2024 workspaces service did not have.
_MISSING_IN_SERVICE = re.compile(r"^/v2/workspaces/[^/]+/(status|config|writeLock)/?$")
_RUNTIME = re.compile(r"^/v2/workspaces/[^/]+/webhooks(/|$)")  # runtime routes (no runtime service in 2024)
_PLATFORM = re.compile(rf"^/v2/workspaces/{PLATFORM_ID}(/|$)")  # bulk routes: read as a workspace id, unknown
_LABELS = re.compile(r"^/v2/workspaces/labels/?$")  # read as GET /v2/workspaces/{workspaceId}
# Query parameters the 2024 spec declared, per path (first match wins); None: not checked here.
_QUERY: list[tuple[re.Pattern[str], frozenset[str] | None]] = [
    (re.compile(r"^/v2/workspaces/?$"), frozenset({"page", "limit", "labels", "name", "slug", "email", "sort", "ids"})),
    (re.compile(r"^/v2/workspaces/[^/]+/(events|search|usage)/?$"), None),
    (re.compile(r"^/v2/workspaces/[^/]+/?$"), frozenset({"version"})),
    (re.compile(r"^/v2/workspaces/"), frozenset()),
]


def refusal(path: str, query: Iterable[str]) -> SandboxError | None:
    """The 2024 server's answer to a request it cannot serve, or None when it serves it."""
    if path.rstrip("/") == "/v2/readiness":
        return SandboxError(404, "NotFoundError", "Route not found")
    if _RUNTIME.match(path):  # the published services have no runtime: the gateway's proxy answers as for events
        return SandboxError(500, "Internal", "Internal server error")
    if _MISSING_IN_SERVICE.match(path):
        return SandboxError(404, "RequestValidationError", "not found", [{"path": path, "message": "not found"}])
    if _PLATFORM.match(path) or _LABELS.match(path):
        wid = path.split("/")[3]
        return SandboxError(404, "ObjectNotFoundError", f"Workspace '{wid}' not found", {"workspaceId": wid})
    for pattern, allowed in _QUERY:
        if pattern.match(path):
            unknown = [key for key in query if allowed is not None and key not in allowed]
            if unknown:
                message = f"Unknown query parameter '{unknown[0]}'"
                return SandboxError(
                    400, "RequestValidationError", message, [{"path": f".query.{unknown[0]}", "message": message}]
                )
            break
    return None


def check_pull_body(body: dict[str, Any]) -> None:
    """The 2024 pull body was ``{repository: {id}}`` with ``additionalProperties: false``: ``discardLocalChanges``
    came later and is refused (express-openapi-validator 4.13's wording)."""
    extra = sorted(set(body) - {"repository"})
    if extra:
        raise SandboxError(
            400,
            "RequestValidationError",
            "request.body should NOT have additional properties",
            [{"path": f".body.{extra[0]}", "message": "should NOT have additional properties"}],
        )


def generated_version_name(taken: Iterable[str]) -> str:
    """``M-D-YYYY.N-<epoch ms>`` as the 2024 service generates it (25 characters in December).

    N counts names equal to ``M-D-YYYY.N`` without the suffix, which generated names never are: it stays 1."""
    now = clock.now()
    day = f"{now.month}-{now.day}-{now.year}"
    names = set(taken)
    index = 1
    while f"{day}.{index}" in names:
        index += 1
    return f"{day}.{index}-{int(now.timestamp() * 1000)}"


def check_version_name(name: str, taken: Iterable[str]) -> None:
    """The 2024 ``prepareNewDSULVersion`` checks, with its messages."""
    if not VERSION_NAME_RE.match(name):
        raise SandboxError(
            400,
            "InvalidVersionError",
            f"Invalid version name '{name}' : must be between 1 & 15 characters and include only alphabetical "
            "letters, numbers, _, - and .",
        )
    if name in set(taken):
        raise SandboxError(400, "InvalidVersionError", f"Invalid version name '{name}' : already used")
    if name == "current":
        raise SandboxError(400, "InvalidVersionError", f"Invalid version name '{name}' : reserved name")


def index_warnings(files: dsul.Files, folder: str) -> list[dict[str, Any]]:
    """The "Could not refresh some dsul index" entry every 2024 import adds when a DSUL folder is missing.

    The service refreshes the pages, automations and imports indexes together; the first missing folder's
    ENOENT is reported, with the server's own path in it (``folder`` is where this workspace lives)."""
    present = {rel.split("/", 1)[0] for rel in files if "/" in rel}
    for kind in ("pages", "automations", "imports"):
        if kind not in present:
            path = f"{folder}/{kind}"
            error = {"errno": -2, "code": "ENOENT", "syscall": "scandir", "path": path}
            return [{"msg": INDEX_WARNING, "err": error}]
    return []


def export_extras(files: dsul.Files, user: str, stamp: str) -> dsul.Files:
    """What a 2024 export (and so a git push) holds besides the DSUL: ``.import.yml`` as ``{}`` (it names only
    a published app: no version, no checksums), and ``<kind>/__index__.yml`` of each DSUL folder, per slug the
    object's name and description and who created and updated it as the platform's user id, a 24-hex MongoDB
    ObjectId (one per sandbox user here)."""
    object_id = hashlib.sha256(user.encode()).hexdigest()[:24]
    indexes: dict[str, dict[str, Any]] = {}
    for rel, data in sorted(files.items()):
        found = dsul.object_key(rel)
        if not found:
            continue
        doc = dsul.load_yaml(data)
        doc = doc if isinstance(doc, dict) else {}
        entry = {k: doc[k] for k in ("name", "description") if k in doc}
        entry.update(createdAt=stamp, createdBy=object_id, updatedAt=stamp, updatedBy=object_id)
        indexes.setdefault(found[0], {})[found[1]] = entry
    extras = {f"{kind}/__index__.yml": dsul.dump_yaml(index) for kind, index in indexes.items()}
    extras[dsul.IMPORT_META] = b"{}\n"
    return extras


def random_slug() -> str:
    """A human-readable random slug like the service's ``hri.random()`` (``pretty-husky-63``)."""
    adjectives = ("pretty", "brave", "calm", "eager", "fancy", "jolly", "lucky", "proud", "quick", "witty")
    animals = ("husky", "otter", "panda", "lynx", "eagle", "koala", "tiger", "whale", "zebra", "yak")
    return f"{secrets.choice(adjectives)}-{secrets.choice(animals)}-{secrets.randbelow(100)}"
