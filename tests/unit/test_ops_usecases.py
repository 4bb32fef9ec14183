"""The use-case layer the CLI and the app share (issue 15): routing, the filter, group counts, writable
repositories, health, the confirmation rule, environment edits with their audit row, and the formatters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import exits
from tui.core import config as cfg
from tui.core import errors as E
from tui.core.api.bulk import BulkEvent, BulkTally
from tui.core.api.models import Event, Repository, Workspace
from tui.core.ops import confirm, envs, filter, format, health, matrix, routing
from tui.core.ops.bulk import BulkRun
from tui.core.ops.context import Context, ReadOnly
from tui.core.ops.requests import Request
from tui.core.rails import Frozen, ReasonRequired

CONFIG = """
[environments.dev]
url = "https://dev.example.com"
[environments.staging]
url = "https://staging.example.com"
tier = "staging"
repositories = ["release"]
[environments.prod]
url = "https://prod.example.com"
tier = "production"
[groups.base1]
labels = ["app:base1"]
[groups.both]
labels = ["app:base1", "app:base2"]
[[promotions]]
from = "dev:bot-dev"
to = "dev:bot"
"""


def context(text: str = CONFIG, path: Path | None = None) -> Context:
    config = cfg.parse(text, path)
    config.path = path
    return Context.create(config, use_keyring=False)


def ws(slug: str, name: str = "", labels: tuple[str, ...] = ()) -> Workspace:
    return Workspace(id=slug, name=name or slug.upper(), slug=slug, labels=labels)


# ------------------------------------------------------------------------------------------------ routing
def test_routing_prefers_the_promotion_pair_then_the_previous_environment() -> None:
    config = cfg.parse(CONFIG)
    assert routing.neighbours(config, "dev", "bot") == ("dev:bot-dev", "dev:bot")  # as target
    assert routing.neighbours(config, "dev", "bot-dev") == ("dev:bot-dev", "dev:bot")  # as source
    assert routing.neighbours(config, "dev", "x") == ("dev:x", "staging:x")  # first: -> the next
    assert routing.neighbours(config, "staging", "x") == ("dev:x", "staging:x")
    assert routing.neighbours(config, "prod", "x") == ("staging:x", "prod:x")
    assert routing.neighbours(config, None, "x") is None
    assert routing.neighbours(config, "adhoc-8080", "x") is None  # not configured: no neighbour, no crash
    single = cfg.parse('[environments.only]\nurl = "https://a.example.com"\n')
    assert routing.neighbours(single, "only", "x") is None


def test_routes_offer_archive_and_each_readable_git_repository() -> None:
    repos = [
        Repository("release", "r", "git", "read-write"),
        Repository("wo", "w", "git", "write-only"),
        Repository("native", "n", "prismeai", "read-write"),
    ]
    found = routing.routes("dev", "prod", repos)
    assert [value for _label, value in found] == ["archive", "git:release"]
    assert routing.parse_via("git:release") == ("git", "release")
    assert routing.parse_via(None) == ("archive", None)


# ------------------------------------------------------------------------------------------------ filter
def test_filter_matches_slug_name_and_labels_case_insensitively_and_inverts() -> None:
    items = [ws("support-bot", "Support", ("app:base1",)), ws("hr", "Human Resources", ("app:base2",)), ws("x")]
    index = filter.WorkspaceIndex(items)
    assert [w.slug for w in index.select("SUPP")] == ["support-bot"]
    assert [w.slug for w in index.select("resources")] == ["hr"]
    assert [w.slug for w in index.select("base2")] == ["hr"]
    assert [w.slug for w in index.select("!base")] == ["x"]
    assert [w.slug for w in index.select("!")] == ["support-bot", "hr", "x"]  # nothing to invert: all shown
    assert [w.slug for w in index.select("", ("app:base1",))] == ["support-bot"]
    assert [w.slug for w in index.select("!x", ("app:base1", "app:base2"))] == ["support-bot", "hr"]
    assert filter.matches(items[0], "BOT") and not filter.matches(items[0], "!bot")
    # a needle never spans two fields: "bot\0support" is not what anyone typed, "t s" is nowhere
    assert index.select("bot support") == []


def test_filter_narrowing_gives_what_a_fresh_search_gives() -> None:
    items = [ws(f"ws-{i}", f"Name {i % 7}", (f"l{i % 3}",)) for i in range(300)]
    index = filter.WorkspaceIndex(items)
    for typed in ("n", "na", "name", "name 1", "name 1x", "name", "!name 3", "!name 3", "l1", "l", ""):
        for labels in (None, ("l1",), ("l0", "l2")):
            expected = [w for w in items if filter.in_group(w, labels) and filter.matches(w, typed)]
            assert index.select(typed, labels) == expected, (typed, labels)


def test_a_replaced_workspace_is_what_select_returns_from_then_on() -> None:
    """A workspace re-read after a rollback (its live version changed) replaces the old one in every later
    selection, narrowed or not: no screen goes on showing the version it had before."""
    items = [ws("a", "Alpha"), ws("b", "Beta"), ws("c", "Gamma")]
    index = filter.WorkspaceIndex(items)
    assert index.select("b") == [items[1]]  # a narrowing result kept
    fresh = ws("b", "Beta renamed")
    index.replace(fresh)
    assert index.select("be") == [fresh] and index.select("") == [items[0], fresh, items[2]]
    assert index.workspaces[1] is fresh and index.select("renamed") == [fresh]


def test_group_labels_counts_and_visible() -> None:
    config = cfg.parse(CONFIG)
    items = [ws("a", labels=("app:base1",)), ws("b", labels=("app:base2",)), ws("c", labels=("app:base1", "o"))]
    assert filter.group_counts(config.groups, items) == {"base1": 2, "both": 3}
    assert filter.group_labels(config, filter.ALL) is None and filter.group_labels(config, "server-only") is None
    assert [w.slug for w in filter.visible(items, config, "base1", "!c")] == ["a"]
    assert [w.slug for w in filter.visible(items, config, "unknown", "")] == ["a", "b", "c"]


def test_writable_repositories_follow_mode_and_the_environment_list() -> None:
    config = cfg.parse(CONFIG)
    repos = [
        Repository("release", "r", "git", "read-write"),
        Repository("other", "o", "git", "write-only"),
        Repository("ro", "ro", "git", "read-only"),
    ]
    assert [r.id for r in filter.writable_repos(config.env("dev"), repos)] == ["release", "other"]
    assert [r.id for r in filter.writable_repos(config.env("staging"), repos)] == ["release"]
    assert [r.id for r in filter.readable_repos(repos)] == ["release", "ro"]


# ------------------------------------------------------------------------------------------------ health
async def test_health_without_a_token_is_login_without_a_request() -> None:
    ctx = context()
    found = await health.check_all(ctx)
    assert [h.env for h in found] == ["dev", "staging", "prod"]
    assert all(h.state == "no-token" and h.label == "LOGIN" and h.needs_login for h in found)
    assert exits.for_health(found) == 4
    assert exits.for_health([health.Health("dev", True, True, True)]) == 0


# ------------------------------------------------------------------------------------------------ confirm
def test_confirmation_rule_protected_reason_read_only_and_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)
    ctx = context()
    dev = confirm.rule(ctx, "dev", "bot", "Push bot")
    assert not dev.protected and not dev.must_type() and not dev.reason_required and dev.matches("anything")
    prod = confirm.rule(ctx, "prod", "bot", "Push bot")
    assert prod.typed == "bot" and prod.must_type() and not prod.must_type(yes=True) and prod.reason_required
    assert prod.matches(" bot ") and not prod.matches("Bot")
    with pytest.raises(E.UsageError, match="did not match"):
        prod.check("bo")
    with pytest.raises(ReasonRequired):  # the CLI refuses before asking anyone to type
        confirm.guard(ctx, "prod", "bot", "Push bot")
    assert confirm.guard(ctx, "prod", "bot", "Push bot", Request(reason="TICKET-1")).typed == "bot"
    assert confirm.rule(ctx, "dev", "dev", "Remove dev", always_type=True).typed == "dev"
    ctx.read_only = True
    with pytest.raises(ReadOnly):
        confirm.rule(ctx, "dev", "bot", "Push bot")
    frozen = context(CONFIG.replace('tier = "staging"', 'tier = "staging"\nfreeze = ["2020-01-01/2099-12-31 UTC"]'))
    rule = confirm.rule(frozen, "staging", "bot", "Push bot")
    assert rule.frozen and "2099-12-31" in rule.frozen and not rule.reason_required
    with pytest.raises(Frozen):
        confirm.guard(frozen, "staging", "bot", "Push bot")


# ------------------------------------------------------------------------------------------------ envs
def test_env_add_edit_remove_write_the_file_and_an_audit_row(isolated_home: Path) -> None:
    path = isolated_home / "config" / "prisme-deploy" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# my comment\n" + CONFIG, encoding="utf-8")
    ctx = context(path.read_text(), path)
    added = envs.add(ctx, "qa", {"url": "https://qa.example.com", "tier": "staging", "protected": True})
    assert added.config.env("qa").protected and "# my comment" in path.read_text()
    assert added.line == f"configuration: add qa ({path})"
    edited = envs.edit(ctx, "qa", {"url": "https://qa2.example.com", "tier": None})
    assert edited.config.env("qa").url == "https://qa2.example.com" and edited.config.env("qa").tier == "staging"
    assert envs.save(ctx, "qa", {"read_only": True}).action == "edit"
    assert envs.save(ctx, "qa2", {"url": "https://qa2.example.com"}).action == "add"
    assert envs.remove(ctx, "qa2").action == "remove"
    removed = envs.remove(ctx, "qa")
    assert "qa" not in removed.config.environments and "[environments.qa]" not in path.read_text()
    rows = [e for e in ctx.audit.read(limit=50) if e.get("action") == "config"]
    assert sorted(e["details"]["change"] for e in rows if e["env"] == "qa") == ["add", "edit", "edit", "remove"]
    assert all(e["outcome"] == "ok" for e in rows) and len(rows) == 6


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ctx: envs.add(ctx, "dev", {"url": "https://x.example.com"}), "already exists"),
        (lambda ctx: envs.add(ctx, "new", {}), "needs a URL"),
        (lambda ctx: envs.save(ctx, "new", {"tier": "staging"}), "needs a URL"),
        (lambda ctx: envs.add(ctx, "bad name", {"url": "https://x.example.com"}), "letters, digits"),
        (lambda ctx: envs.add(ctx, "new", {"url": "https://u:p@x.example.com"}), "password"),
        (lambda ctx: envs.edit(ctx, "nope", {"url": "https://x.example.com"}), "nope"),
        (lambda ctx: envs.edit(ctx, "dev", {"timeout": 99999}), "timeout"),
        (lambda ctx: envs.edit(ctx, "dev", {"colour": "red"}), "Unknown environment setting"),
        (lambda ctx: envs.remove(ctx, "nope"), "unknown environment"),
    ],
)
def test_env_changes_refused_leave_the_file_and_the_journal_untouched(isolated_home: Path, call, message) -> None:
    path = isolated_home / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    ctx = context(CONFIG, path)
    with pytest.raises(E.UsageError, match=message):
        call(ctx)
    assert path.read_text() == CONFIG
    assert [e for e in ctx.audit.read(limit=50) if e.get("action") == "config"] == []


# ------------------------------------------------------------------------------------------------ format
def progress(**payload) -> BulkEvent:
    return BulkEvent("progress", payload)


def test_bulk_lines_are_one_line_and_inert() -> None:
    tally = BulkTally()
    started = BulkEvent("started", {"workspaces": ["a", "b"], "groups": ["base1"]})
    assert format.bulk_line(started, tally, "dev: bulk push base1") == ("dev: bulk push base1: started, 2 workspace(s)")
    assert format.bulk_line(started, tally) == "started: 2 workspace(s) in base1"
    line = format.bulk_line(
        progress(current=1, total=2, status="pushed", workspaceSlug="a\x1b]52;c;x\x07", duration=1500), tally
    )
    assert line == "[1/2] PUSHED    a\\x1b]52;c;x\\x07 1.5s"
    line = format.bulk_line(progress(current=2, total=2, status="error", slug="b", errors=[{"message": "x\ny"}]), tally)
    assert line.endswith("  x\\x0ay") and "\n" not in line
    assert format.bulk_line(BulkEvent("notice", message="slow\x9b"), tally) == "note: slow\\x9b"
    assert format.bulk_line(BulkEvent("unknown"), tally) == ""


def test_bulk_summary_counts_lines_and_outcome_agree() -> None:
    done = BulkEvent(
        "completed",
        {
            "pushedWorkspaceIds": ["a", "b"],
            "alreadyPushedWorkspaceIds": ["c"],
            "errors": [{"message": "boom", "details": {"workspaceSlug": "d"}}],
        },
        group="base1",
    )
    counts = format.summary_counts(done, ["t"])
    assert counts == "pushed 2 · already pushed 1 · merge conflicts 0 · errors 1 · skipped while locked 1 (t)"
    assert format.summary_lines(done, ["t"]) == [
        f"summary (base1): {counts}",
        "  skipped while locked: t (not pushed; unlock it or wait, then push again)",
        "  error in d: boom",
    ]
    tally = BulkTally(locked=["t"])
    assert format.bulk_line(done, tally, "dev: bulk push base1") == f"dev: bulk push base1: FAILED: {counts}"
    run = BulkRun("dev", "bulk-push", summaries=[done], locked=["t"])
    ok, message = format.bulk_outcome(run)
    assert not ok and message == f"finished with errors, merge conflicts or locked workspaces: base1: {counts}"
    clean = BulkEvent("completed", {"createdWorkspaceIds": ["a"], "dryRun": True}, operation="import")
    assert format.summary_counts(clean) == "created 1 · updated 0 · skipped 0 · errors 0 (dry run)"
    assert format.bulk_outcome(BulkRun("dev", "bulk-import", summaries=[clean])) == (
        True,
        "finished: created 1 · updated 0 · skipped 0 · errors 0 (dry run)",
    )
    stopped = BulkRun("dev", "bulk-import", summaries=[clean], stopped_at="base2")
    assert format.bulk_outcome(stopped)[1].startswith("stopped at group base2: it has errors.")


def test_event_rows_and_lines_describe_and_neutralise_server_text() -> None:
    event = Event(
        "1",
        "workspaces.bulkPush.completed",
        "2026-03-02T09:10:11.000Z",
        {"pushedWorkspaceIds": ["a"], "errors": [{"message": "bad\x1b[2J", "details": {"workspaceSlug": "z"}}]},
        {"userId": "u\x07"},
    )
    assert format.event_row(event) == [
        "03-02 09:10:11",
        "bulkPush.completed",
        "pushed=1 errors=1 | z: bad\\x1b[2J",
        "u\\x07",
    ]
    line = format.event_line(event)
    assert line.startswith("2026-03-02T09:10:11.000Z  workspaces.bulkPush.completed") and "\x1b" not in line
    version = Event(
        "2", "workspaces.versions.published", "t", {"version": {"name": "v1", "repository": {"id": "r"}}}, {}
    )
    assert format.describe(version.type, version.payload) == "version v1 (r)"
    assert format.describe("x", {"step": "import", "operation": "pull", "message": "m"}) == "pull import: m"


def test_matrix_rows_json_and_exit_code() -> None:
    m = matrix.Matrix(["dev", "prod"], ["a", "b"])
    m.cells[("a", "dev")] = matrix.Cell(True, "v1", "x")
    m.cells[("a", "prod")] = matrix.Cell(True, "v1", "x", differs_from_left=False, dirty=True, label_differs=True)
    m.cells[("b", "dev")] = matrix.Cell(True, "v2", "y")
    assert format.matrix_rows(m) == [["a", "v1", "v1 ✎ ="], ["b", "v2", "—"]]
    assert exits.for_matrix(m) == 0 and m.drifted == []
    m.cells[("b", "prod")] = matrix.Cell(True, "v2", "z", differs_from_left=True)
    assert exits.for_matrix(m) == 1 and m.drifted == ["b"]
    data = json.loads(json.dumps(m.to_json()))
    assert data["drifted"] == ["b"] and data["workspaces"][0]["cells"]["prod"]["dirty"] is True
    assert data["workspaces"][0]["cells"]["prod"]["contentIsLabel"] is False
    m.cells[("b", "prod")] = matrix.Cell(True, "v2", error="timeout")
    assert exits.for_matrix(m) == 4 and m.errors == ["prod:b: timeout"]
