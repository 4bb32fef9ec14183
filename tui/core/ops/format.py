"""The words the app's log and the CLI both print: bulk events, bulk summaries, activity (event) lines.

One formatter each, so the two never drift. Every string returned is one line, with control characters
made visible (``tui.core.text.one_line``): server text (slugs, error messages, event payloads) is inert
wherever it is printed. Callers add no sanitising of their own, and may add it again safely (escaping
is idempotent: an escaped string has no control character left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.bulk import BulkEvent, BulkTally
    from tui.core.api.models import Event
    from tui.core.ops.bulk import BulkRun
    from tui.core.ops.matrix import Matrix

EVENT_COLUMNS = ["time", "event", "details", "by"]


# ------------------------------------------------------------------------------------------------ bulk
def progress_text(payload: dict[str, Any]) -> str:
    """A progress event's line from its payload alone: the app's log keeps payloads (plain dicts the GC
    does not walk) and makes their text only for the lines drawn (bench/: ingest stall)."""
    from tui.core.api.bulk import BulkEvent

    return _progress(BulkEvent("progress", payload))


def _progress(event: BulkEvent) -> str:
    errors = "; ".join(_error_text(e) for e in event.errors)
    took = event.payload.get("duration")
    return one_line(
        f"[{event.current}/{event.total}] {event.status.upper():9} {event.slug}"
        + (f" {took / 1000:.1f}s" if isinstance(took, (int, float)) and not isinstance(took, bool) else "")
        + (f"  {errors}" if errors else "")
    )


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("msg") or error.get("error") or error)
    return str(error)


def bulk_line(event: BulkEvent, tally: BulkTally, title: str = "") -> str:
    """One log line for one bulk event ("" for an event that says nothing). ``title`` names the run
    ("dev: bulk push base1"): the app's log mixes environments; the CLI runs one and passes none."""
    prefix = f"{title}: " if title else ""
    if event.kind == "started":
        from tui.core.api.models import strings

        groups = ", ".join(strings(event.payload.get("groups")))
        named = event.payload.get("workspaces")
        count = len(named) if isinstance(named, list) else 0
        if prefix:  # the app's log: the title names the run
            return one_line(f"{prefix}started, {count} workspace(s)")
        return one_line(f"started: {count} workspace(s)" + (f" in {groups}" if groups else ""))
    if event.kind == "progress":
        return _progress(event)
    if event.kind in ("notice", "processing"):
        return one_line(f"note: {event.message}")
    if event.kind != "completed":
        return ""
    failed = event.failed or bool(tally.locked)
    return one_line(f"{prefix}{'FAILED' if failed else 'done'}: {summary_counts(event, tally.locked)}")


def summary_counts(event: BulkEvent, locked: list[str] | None = None) -> str:
    """A bulk summary's counts; workspaces skipped for a write lock are named (no summary id lists them)."""
    locked = locked or []
    errors = len(event.payload.get("errors") or [])
    if event.operation == "push":
        text = (
            f"pushed {len(event.ids('pushedWorkspaceIds'))} · already pushed "
            f"{len(event.ids('alreadyPushedWorkspaceIds'))} · merge conflicts "
            f"{len(event.ids('mergeConflictWorkspaceIds'))} · errors {errors}"
        )
        if locked:
            text += f" · skipped while locked {len(locked)} ({', '.join(locked)})"
    else:
        text = (
            f"created {len(event.ids('createdWorkspaceIds'))} · updated "
            f"{len(event.ids('updatedWorkspaceIds'))} · skipped {len(event.ids('skippedWorkspaceIds'))}"
            f" · errors {errors}"
        )
    if event.payload.get("dryRun"):
        text += " (dry run)"
    return one_line(text)


def summary_lines(event: BulkEvent, locked: list[str] | None = None) -> list[str]:
    """A group's summary as the CLI prints it: the counts, then each locked workspace and each error."""
    group = f" ({event.group})" if event.group else ""
    lines = [f"summary{group}: {summary_counts(event, locked)}"]
    lines += [
        f"  skipped while locked: {slug} (not pushed; unlock it or wait, then push again)" for slug in locked or []
    ]
    for error in event.payload.get("errors") or []:
        details = error.get("details") if isinstance(error, dict) else None
        slug = details.get("workspaceSlug") if isinstance(details, dict) else None
        lines.append(f"  error{' in ' + str(slug) if slug else ''}: {_error_text(error)}")
    return [one_line(line) for line in lines]


def bulk_outcome(run: BulkRun) -> tuple[bool, str]:
    """(ok, message) of a finished bulk run: the outcome line that keeps the counts in the status line."""
    counts = "; ".join((f"{s.group}: " if s.group else "") + summary_counts(s, run.locked) for s in run.summaries)
    if run.stopped_at:
        message = f"stopped at group {run.stopped_at}: it has errors. {counts}"
    elif run.failed:
        message = f"finished with errors, merge conflicts or locked workspaces: {counts}"
    else:
        message = f"finished: {counts}"
    return not run.failed, one_line(message)


# ------------------------------------------------------------------------------------------------ run summaries
def summary_document(
    operation: str,
    *,
    status: str,
    done: list[str],
    stopped_at: str | None,
    locked: list[str],
    failed: bool,
    **extra: Any,
) -> dict[str, Any]:
    """The last JSON line of a `bulk-push`, `bulk-import` or `rollout` stream: one shape for the three
    (README, "Use in CI"), so a script reads the outcome from a document, never from a notice's words.
    ``done``: the groups (a rollout: the environments) that finished without an error."""
    return {
        "kind": "summary",
        "operation": operation,
        "status": status,
        "done": list(done),
        "stoppedAt": stopped_at,
        "skippedWhileLocked": list(locked),
        "failed": failed,
        **extra,
    }


# ------------------------------------------------------------------------------------------------ activity
def describe(event_type: str, payload: dict[str, Any]) -> str:
    """What an event says, in one line: counts and errors of a bulk summary, a workspace's status, a step,
    a version; else its first three fields."""
    if event_type.endswith("bulkPush.completed") or event_type.endswith("bulkImport.completed"):
        errors = payload.get("errors") or []
        parts = [
            f"{k[: -len('WorkspaceIds')]}={len(v)}"
            for k, v in payload.items()
            if k.endswith("WorkspaceIds") and isinstance(v, list)
        ]
        text = " ".join(parts) + f" errors={len(errors)}"
        for err in errors[:3]:
            details = err.get("details") if isinstance(err, dict) else None
            slug = details.get("workspaceSlug", "") if isinstance(details, dict) else ""
            text += f" | {slug}: {_error_text(err)}"
        return one_line(text)
    if "workspaceSlug" in payload:
        errs = "; ".join(_error_text(e) for e in payload.get("errors") or [])
        return one_line(f"{payload.get('workspaceSlug')} {payload.get('status', '')} {errs}".strip())
    if "step" in payload:
        return one_line(f"{payload.get('operation')} {payload.get('step')}: {payload.get('message')}")
    version = payload.get("version")
    if isinstance(version, dict):
        repository = version.get("repository")
        repo = repository.get("id", "native") if isinstance(repository, dict) else "native"
        return one_line(f"version {version.get('name')} ({repo})")
    return one_line(", ".join(f"{k} {_plain(v)}" for k, v in list(payload.items())[:3]))


def _plain(value: Any) -> str:
    """A payload value in words, never a Python repr (``{'id': …}``): an object by its slug, name or id."""
    if isinstance(value, dict):
        named = next((value[k] for k in ("slug", "name", "id") if isinstance(value.get(k), str | int)), None)
        return str(named) if named is not None else f"({len(value)} fields)"
    if isinstance(value, list):
        return f"({len(value)} items)"
    return str(value)


# Internal user ids of the platform, as a person reads them.
def who(event: Event) -> str:
    """Who caused ``event``, in words: a platform bulk import with no user is how a real instance records
    its startup import (the sandbox's old invented id says the same)."""
    user = event.source.get("userId") or ""
    if user == "system:startup-import" or (not user and "bulkImport" in event.type):
        return "(no user: startup import)"
    return str(user)


def event_row(event: Event) -> list[str]:
    """An event as a table row (EVENT_COLUMNS): when, what, the details, then who (what matters first
    in 80 columns)."""
    return [
        one_line(event.created_at[5:19].replace("T", " ")),
        one_line(event.type.removeprefix("workspaces.")),
        describe(event.type, event.payload),
        one_line(who(event)),
    ]


def event_line(event: Event) -> str:
    """An event as one line of `prisme-deploy events`: the full timestamp, the type, the details."""
    return one_line(f"{event.created_at}  {event.type:36} {describe(event.type, event.payload)}".rstrip())


# ------------------------------------------------------------------------------------------------ matrix
def matrix_rows(matrix: Matrix) -> list[list[str]]:
    """The drift matrix as table rows: the workspace, then each environment's cell text."""
    return [[one_line(slug)] + [one_line(matrix.cell(slug, env).text) for env in matrix.envs] for slug in matrix.slugs]


MATRIX_LEGEND = (
    "≠ differs from the left  = same  ✎ content is not its label  ✎? dirty, not compared  "
    "° dirty flag only (content is its label)  — absent"
)
