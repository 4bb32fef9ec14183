"""The CLI's side of the typed requests (issue 27): one function per command, mapping its parsed flags to
the request (``tui.core.ops.requests``) the gate and the operation take.

``FLAGS`` says which flag fills which request field; ``tests/unit/test_requests.py`` checks it against the
parser and the app's dialogs, so a field one side offers and the other lacks fails a test.
"""

from __future__ import annotations

import argparse

from tui.core import errors as E
from tui.core.ops import requests as R

# Per request, the flag (argparse dest) of each field; ``env``: --env (or --url), resolved by the caller.
FLAGS: dict[type[R.Request], dict[str, str]] = {
    R.PushRequest: {"env": "env", "slug": "workspace", "name": "name", "description": "description",
                    "repository": "repository"},
    R.PullRequest: {"env": "env", "slug": "workspace", "repository": "repository",
                    "discard": "discard_local_changes"},
    R.RollbackRequest: {"env": "env", "slug": "workspace", "version": "version", "repository": "repository",
                        "discard": "discard_local_changes", "sticky": "sticky", "sticky_name": "sticky_name"},
    R.PromoteRequest: {"source": "source", "target": "target", "via": "via", "repository": "repository",
                       "name": "name", "accept_drift": "accept_drift", "allow_missing": "allow_missing_secrets"},
    R.BulkPushRequest: {"env": "env", "repository": "repository", "groups": "groups", "name": "name",
                        "description": "description", "dry_run": "dry_run", "force": "force"},
    R.BulkImportRequest: {"env": "env", "repository": "repository", "groups": "groups",
                          "force": "force_reimport", "continue_on_error": "continue_on_error"},
    R.RolloutRequest: {
        "release": "release",
        "groups": "groups",
        "repository": "repository",
        "resume": "resume",
        "auto_rollback": "auto_rollback",
    },
    R.RestoreRequest: {"snapshot": "id"},
}  # fmt: skip


def why(args: argparse.Namespace) -> R.Request:
    """--reason (default PRISME_DEPLOY_REASON) and --break-glass: all a mutating command outside the eight
    requests needs (unlock); checked here, before anything is asked or sent (exit 2)."""
    return R.Request(**_reasons(args))


def _reasons(args: argparse.Namespace) -> dict[str, str | None]:
    return {"reason": args.reason or R.default_reason(), "break_glass": args.break_glass}


def groups(text: str | None, *, required: bool = True) -> tuple[str, ...]:
    found = tuple(g.strip() for g in (text or "").split(",") if g.strip())
    if required and not found:
        raise E.UsageError("--groups needs at least one group name (comma separated).")
    return found


def _build(kind: type[R.Request], args: argparse.Namespace, **given: object) -> R.Request:
    """``kind`` from the flags FLAGS names, with ``given`` for what the command worked out (env, groups)."""
    values = {field: getattr(args, dest) for field, dest in FLAGS[kind].items() if field not in given}
    return kind(**values, **given, **_reasons(args))  # type: ignore[arg-type]


def push(args: argparse.Namespace, env: str) -> R.PushRequest:
    return _build(R.PushRequest, args, env=env)  # type: ignore[return-value]


def pull(args: argparse.Namespace, env: str) -> R.PullRequest:
    return _build(R.PullRequest, args, env=env)  # type: ignore[return-value]


def rollback(args: argparse.Namespace, env: str) -> R.RollbackRequest:
    return _build(R.RollbackRequest, args, env=env)  # type: ignore[return-value]


def promote(args: argparse.Namespace) -> R.PromoteRequest:
    allowed = tuple(args.allow_missing_secrets or ())
    return _build(R.PromoteRequest, args, allow_missing=allowed)  # type: ignore[return-value]


def bulk_push(args: argparse.Namespace, env: str) -> R.BulkPushRequest:
    return _build(R.BulkPushRequest, args, env=env, groups=groups(args.groups))  # type: ignore[return-value]


def bulk_import(args: argparse.Namespace, env: str) -> R.BulkImportRequest:
    return _build(R.BulkImportRequest, args, env=env, groups=groups(args.groups))  # type: ignore[return-value]


def rollout(args: argparse.Namespace) -> R.RolloutRequest:
    found = groups(args.groups, required=False)
    if not found and not args.resume and not args.rollback:
        raise E.UsageError("--groups is required, in order (for example base1,base2,extended).")
    return _build(R.RolloutRequest, args, groups=found)  # type: ignore[return-value]


def restore(args: argparse.Namespace) -> R.RestoreRequest:
    return _build(R.RestoreRequest, args)  # type: ignore[return-value]
