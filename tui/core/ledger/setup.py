"""``ledger init``: give an instance its ledger, once.

Where the instance has a runtime, a workspace ``prisme-deploy-ledger`` with one endpoint automation whose
``do`` emits the posted body as an event (the runtime stamps the caller: see store.py). Where it has none
(the published 2024 server: its gateway answers ``Route not found`` for ``.../webhooks/...``), a folder
``.prisme-deploy/ledger/`` in the platform repository, identity claimed through /v2/me.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import TYPE_CHECKING

import yaml

from tui.core import errors as E
from tui.core.ledger import store
from tui.core.ledger.model import AUTOMATION_SLUG, EVENT_TYPE, LEDGER_SLUG, LedgerUnavailable
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient

AUTOMATION = {
    "slug": AUTOMATION_SLUG,
    "name": "prisme-deploy ledger: append",
    "description": "Emits the posted record; the platform stamps source.userId with the caller.",
    "when": {"endpoint": True},
    "do": [{"emit": {"event": EVENT_TYPE, "payload": "{{body}}"}}],
    "output": "{{body}}",
}
INDEX = {
    "name": "prisme-deploy ledger",
    "slug": LEDGER_SLUG,
    "description": "prisme-deploy's shared ledger: changes, approvals, leases (do not edit)",
    "events": {"emit": [EVENT_TYPE]},
}


def archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{LEDGER_SLUG}/index.yml", yaml.safe_dump(INDEX, sort_keys=False))
        zf.writestr(f"{LEDGER_SLUG}/automations/{AUTOMATION_SLUG}.yml", yaml.safe_dump(AUTOMATION, sort_keys=False))
    return buffer.getvalue()


async def has_runtime(ctx: Context, env_name: str) -> bool:
    """Whether the instance runs endpoint automations (the stamped channel needs one): ``probe_runtime``."""
    async with ctx.client(env_name) as client:
        return await probe_runtime(client)


async def probe_runtime(client: PrismeClient) -> bool:
    """One webhook call to a workspace that does not exist (nothing runs, nothing is written): the runtime's
    own 404 (no such workspace or automation) means there is one. The gateway's "Route not found", or a 5xx
    (the published 2024 gateway proxies runtime routes to a service that is not there, as it does events),
    means none answers: the weaker channel (claimed) is taken, and said. Learned as ``webhooks`` with what
    answered; any other error (the network) is raised: not known."""
    try:
        await client.webhook(f"slug:{LEDGER_SLUG}-probe", AUTOMATION_SLUG, {})
    except E.Unsupported:
        return False  # learned by the client: the route is missing
    except E.ServerError as exc:
        client.caps.learn("webhooks", False, f"HTTP {exc.status} for a probe call: no runtime answers")
        return False
    except (E.NotFound, E.PermissionDenied, E.BadRequest) as exc:
        client.caps.learn("webhooks", True, f"HTTP {exc.status} from the runtime for a probe call: it answers")
        return True
    return True


async def init(ctx: Context, env_name: str) -> store.Ledger:
    """Set up the instance's ledger (idempotent) and return it."""
    ctx.require_writable(env_name)
    store.forget_all()
    try:
        return await store.resolve(ctx, env_name)
    except store.NotInitialised:
        pass
    if await has_runtime(ctx, env_name):
        async with ctx.client(env_name) as client:
            workspace = await client.create_workspace("prisme-deploy ledger", LEDGER_SLUG)
            await client.import_archive(workspace.id, archive(), prune=True)
        store.remember(ctx.env(env_name).url, "stamped", workspace.id)
        return store.StampedLedger(ctx, env_name, workspace.id)
    repository = store.ledger_repository(ctx, env_name)
    if repository is None:
        raise LedgerUnavailable(
            f"{env_name}: this instance has no runtime (no webhooks), and no repository is named for a ledger.",
            hint=f'Give [environments.{env_name}] repositories = ["<id>"] with a writable [repositories.<id>].',
        )
    claimed = store.ClaimedLedger(ctx, env_name, repository)
    await asyncio.to_thread(_create_folder, claimed)
    store.remember(ctx.env(env_name).url, "claimed", repository)
    return claimed


def _create_folder(claimed: store.ClaimedLedger) -> None:
    from tui.core import gitwrite

    source = claimed.ctx.config.repositories[claimed.repository]
    with gitwrite.clone(source) as repo:
        folder = repo / claimed.FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "README.md").write_text(
            "prisme-deploy's ledger: one JSON record per file. Identity claimed through /v2/me, not stamped.\n",
            encoding="utf-8",
        )
        gitwrite.git(repo, "add", "--", claimed.FOLDER)
        gitwrite.git(repo, "commit", "-q", "-m", "ledger init | Author : prisme-deploy")
        gitwrite.push(repo, source.branch)
