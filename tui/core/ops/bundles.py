"""Builder front-ends after a rollback or a promotion: their code is not versioned with the workspace.

A Builder front-end's code is an uploaded file (``GET .../files``), outside versioning; the workspace's DSUL
only holds a pointer to it, ``config.value.bundles[<slug>]`` (a file URL). A rollback or a promotion brings
the pointer of another time or of another environment: when it names another host, or a file this
environment does not have, the front-end would break (or load another environment's code). Said as a
warning: the pull itself succeeded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tui.core import errors as E
from tui.core.api.client import PrismeClient
from tui.core.api.models import Workspace
from tui.core.text import one_line


def pointers(config: dict[str, Any]) -> dict[str, str]:
    """``config.value.bundles`` as name -> URL (a pointer may be a string or ``{url: ...}``)."""
    value = config.get("value") if isinstance(config, dict) else None
    bundles = value.get("bundles") if isinstance(value, dict) else None
    if not isinstance(bundles, dict):
        return {}
    found: dict[str, str] = {}
    for name, pointer in bundles.items():
        url = pointer.get("url") if isinstance(pointer, dict) else pointer
        if isinstance(url, str) and url:
            found[str(name)] = url
    return found


def judge(bundles: dict[str, str], api_url: str, files: list[dict[str, Any]] | None) -> list[str]:
    """One warning per pointer that names another host or a file missing here (``files`` None: not listed)."""
    urls = {str(f.get("url")) for f in files or []}
    hosts = {urlsplit(api_url).hostname} | {urlsplit(u).hostname for u in urls}
    warnings: list[str] = []
    for name, url in sorted(bundles.items()):
        shown = one_line(url)[:200]
        host = urlsplit(url).hostname
        if host and host not in hosts:
            warnings.append(
                f"Builder bundle {name!r} points at another host ({one_line(host)}): its front-end would load "
                "another environment's code; upload the bundle here and update config.value.bundles"
            )
        elif files is None:
            warnings.append(f"Builder bundle {name!r}: this environment's files could not be listed (unknown)")
        elif url not in urls:
            warnings.append(
                f"Builder bundle {name!r} points at a file this environment lacks ({shown}): its front-end would "
                "break; upload it (or roll the bundle back with it)"
            )
    return warnings


async def check(client: PrismeClient, ws: Workspace, *, exported: dict[str, bytes] | None = None) -> list[str]:
    """What the workspace's bundle pointers would break on this environment (empty: nothing to say).
    ``exported``: its files as just exported after the change, if the caller has them (see workspace_config)."""
    try:
        config = await client.workspace_config(ws.id, exported=exported)
    except E.PrismeError as exc:  # a 2024 instance has no GET .../config: unknown, and said so
        return [f"Builder bundles of {ws.slug} not checked: its config was not readable ({exc.message})"]
    bundles = pointers(config)
    if not bundles:
        return []
    try:
        files: list[dict[str, Any]] | None = await client.list_files(ws.id)
    except E.PrismeError:
        files = None
    return judge(bundles, client.base_url, files)
