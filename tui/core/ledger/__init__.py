"""One ledger per Prisme.ai instance: who changed what, approved what, holds which lease (issue 28).

Public interface (other lanes code against this; Textual-free):

    LedgerRecord   one record: id, kind, env, at, user_id, user_name, stamped, payload
    Ledger         async append(kind, env, payload) -> LedgerRecord
                   async read(*, env=None, since=None, kinds=None) -> list[LedgerRecord]   (oldest first)
                   async whoami() -> (user_id, user_name)
                   channel: "stamped" | "claimed"
    open_ledger(ctx, env_name) -> Ledger

Two channels, chosen per instance from its capabilities (tui.core.api.capabilities):

- ``stamped``: a dedicated workspace (slug ``prisme-deploy-ledger``) whose endpoint automation emits the
  posted body as an event; the runtime stamps ``source.userId`` with the authenticated caller (the gateway
  overwrites ``x-prismeai-user-id``), so the identity is the platform's, not the client's.
- ``claimed``: where the instance has no runtime/events (the published 2024 server), records are committed
  to the platform repository under ``.prisme-deploy/ledger/``; the identity is the one ``GET /v2/me``
  answered for the token, and every record says ``stamped: false`` ("identity claimed, not stamped").

Errors: ``LedgerUnavailable`` (a PrismeError) when the ledger cannot be reached or is not initialised.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.core.ledger import view
    from tui.core.ledger.model import KINDS, LEDGER_SLUG, LedgerRecord, LedgerUnavailable
    from tui.core.ledger.store import Ledger, open_ledger

__all__ = ["KINDS", "LEDGER_SLUG", "Ledger", "LedgerRecord", "LedgerUnavailable", "open_ledger", "view"]

# Where each public name lives. Loaded on first use (PEP 562): every session imports
# tui.core.ledger.journal (Context.create), which runs this file, and the app's first frame needs
# neither the store nor the view (bench/: start-up).
_HOME = {
    "KINDS": "model",
    "LEDGER_SLUG": "model",
    "LedgerRecord": "model",
    "LedgerUnavailable": "model",
    "Ledger": "store",
    "open_ledger": "store",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    if name == "view":
        return import_module(f"{__name__}.view")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
