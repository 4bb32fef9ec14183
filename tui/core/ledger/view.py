"""The ledger as rows: the CLI's `ledger` table and the app's activity view show the same columns."""

from __future__ import annotations

from tui.core.ledger.model import LedgerRecord
from tui.core.text import one_line

COLUMNS = ["time", "env", "kind", "user", "identity", "what"]


def summary(record: LedgerRecord) -> str:
    """One line of what a record says (every field is server text: made inert by the caller)."""
    p = record.payload
    if record.kind == "change":
        targets = ",".join(str(t) for t in p.get("targets") or [])
        parts = [str(p.get("action", "?")), targets, str(p.get("version") or ""), str(p.get("outcome", ""))]
        if p.get("reason"):
            parts.append(f"reason: {p['reason']}")
        if p.get("breakGlass"):
            parts.append(f"BREAK-GLASS: {p['breakGlass']}")
        return " ".join(x for x in parts if x)
    if record.kind in ("lease", "lease-release", "lease-takeover"):
        what = f"{p.get('operation', '')} {p.get('subject', '')}".strip()
        return f"lease {str(p.get('lease', ''))[:8]} {what}".strip()
    if record.kind == "rollout-state":
        state = p.get("state")
        state = state if isinstance(state, dict) else {}
        done = ",".join(str(d) for d in state.get("done") or [])
        return f"rollout {p.get('release', '')}: {state.get('status', '')}, done {done}"
    return ", ".join(f"{k}={v}" for k, v in list(p.items())[:4])


def row(record: LedgerRecord) -> list[str]:
    identity = "stamped" if record.stamped else "claimed"
    user = record.user_name if record.user_name == record.user_id else f"{record.user_name} ({record.user_id})"
    cells = [record.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), record.env, record.kind, user, identity]
    return [one_line(c) for c in [*cells, summary(record)]]
