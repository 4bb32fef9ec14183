"""The ledger's record and its errors (defined in tui.core.errors; no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The ledger's errors live with the others: the CLI's exit codes (tui/cli/exits.py) map them without
# loading the ledger package, which the app's first frame does not need (bench/: start-up).
from tui.core.errors import LedgerUnavailable as LedgerUnavailable
from tui.core.errors import NotInitialised as NotInitialised

LEDGER_SLUG = "prisme-deploy-ledger"
# The event type the ledger workspace's automation emits, and the automation (endpoint) slug.
EVENT_TYPE = "prisme-deploy.ledger"
AUTOMATION_SLUG = "prisme-deploy-ledger-append"

KINDS = (
    "change",  # a change the tool made (payload: action, targets, version, outcome, reason, ...)
    "approval",  # an approval of a saved plan's digest
    "plan",  # a saved plan (its digest and summary)
    "lease",  # a lease taken or renewed (payload: lease id, operation, expires)
    "lease-release",  # a lease released (payload: lease id)
    "lease-takeover",  # a lease taken over (payload: lease id, previous holder)
    "rollout-state",  # a rollout's write-ahead state (payload: the state), for --resume elsewhere
)


@dataclass(frozen=True)
class LedgerRecord:
    id: str
    kind: str
    env: str
    at: datetime  # aware (UTC): the platform's time when stamped, the committer's when claimed
    user_id: str
    user_name: str
    stamped: bool  # True: the platform set the user; False: identity claimed (checked through /v2/me)
    payload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "env": self.env,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "user": {"id": self.user_id, "name": self.user_name},
            "stamped": self.stamped,
            "identity": "stamped by the platform" if self.stamped else "identity claimed, not stamped",
            "payload": self.payload,
        }
