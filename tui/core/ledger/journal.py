"""The audit journal's copy in the ledger: every change the tool makes, appended as it happens.

``AuditLog.record`` is synchronous and runs inside the caller's event loop, so the append runs in a worker
thread with its own loop and client, bounded by a deadline (it never waits for the events service to index
the record). The local journal stays the offline copy: its row says what became of the ledger's copy
(``ledger``), and a ledger that could not be reached is a warning for the operator.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from tui.core.errors import PrismeError
from tui.core.secrets import redact

if TYPE_CHECKING:
    from tui.core.audit import AuditEntry, Who
    from tui.core.ops.context import Context

DEADLINE = 30.0  # seconds for one append (a webhook call, or a git push for a claimed ledger)
LOCAL_ONLY = ("config",)  # changes to this machine's files: not the platform's


def payload(entry: AuditEntry, tokens: list[str]) -> dict[str, Any]:
    """The entry as the ledger keeps it: who is added by the ledger (the platform's user), not the OS login."""
    import json  # here: every session installs the journal, and the app's first frame needs no JSON (start-up)

    data = {k: v for k, v in entry.to_json().items() if k not in ("user", "ledger", "identity")}
    result: dict[str, Any] = json.loads(redact(json.dumps(data, default=str), tokens))
    return result


def append_entry(ctx: Context, entry: AuditEntry) -> str | None:
    """Append ``entry`` to its environment's ledger; the line for the journal row's ``ledger`` field."""
    if entry.action in LOCAL_ONLY or entry.env not in ctx.config.environments:
        return None  # a local change, or several stages at once (their steps are recorded one by one)
    from tui.core.audit import platform_who
    from tui.core.ledger.store import NotInitialised, StampedLedger, resolve

    async def append() -> str:
        ledger = await resolve(ctx, entry.env)
        if isinstance(ledger, StampedLedger):
            ledger.read_back = False  # the journal does not wait for the events service to index it
        record = await ledger.append("change", entry.env, payload(entry, ctx.tokens.known_tokens()))
        if entry.identity is None:  # the platform named the user: the journal row and notifications say so
            how = (
                f"stamped in the ledger of {entry.env}"
                if ledger.channel == "stamped"
                else f"GET /v2/me on {entry.env}; its ledger copy is claimed, not stamped"
            )
            named.append(platform_who(record.user_id, record.user_name, how))
        return f"recorded {record.id} ({ledger.channel})"

    outcome: list[str] = []
    named: list[Who] = []  # applied here, after the join: the worker never writes the entry itself

    def worker() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(append(), DEADLINE)))
        except NotInitialised:
            outcome.append("no ledger on this instance")
        except (PrismeError, TimeoutError, OSError) as exc:
            outcome.append(f"not recorded: {getattr(exc, 'message', None) or exc or type(exc).__name__}")
        except Exception as exc:  # a bug in the copy never turns a done change into an error: said, kept locally
            outcome.append(f"not recorded: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=worker, name="ledger-append", daemon=True)
    thread.start()
    thread.join(DEADLINE + 5)
    line = outcome[0] if outcome else "not recorded: the ledger did not answer in time"
    if outcome and named:
        entry.made_by(named[0])
    if line.startswith("not recorded"):
        ctx.audit.warnings.append(f"the ledger of {entry.env} could not be reached ({line}); kept in the local journal")
    return line


def install(ctx: Context) -> None:
    ctx.audit.sink = lambda entry: append_entry(ctx, entry)
