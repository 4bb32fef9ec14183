"""The CLI as a thin adapter over the use-case layer (issue 15), as a shell runs it against the sandbox:
`versions` shows the merged history, `matrix` the app's drift matrix, `env add|edit|remove` write the
file and the journal (and nothing on bad input), `events` speaks the app's activity words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input="",
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_a_push_shows_in_versions_and_in_events(configured: Path) -> None:
    done = run("push", "securechat", "--env", "dev", "--name", "v7.7.7", "-m", "from the CLI test")
    assert done.returncode == 0, done.stderr
    done = run("versions", "securechat", "--env", "dev", "--json")
    assert done.returncode == 0, done.stderr
    versions = json.loads(done.stdout)
    assert versions[0]["name"] == "v7.7.7" and versions[0]["description"] == "from the CLI test"
    assert {"v1.2.0", "v1.1.0"} <= {v["name"] for v in versions}  # the repository's tags, merged
    text = run("versions", "securechat", "--env", "dev").stdout
    assert "v7.7.7" in text.splitlines()[1] and "from the CLI test" in text.splitlines()[1]  # newest first
    events = run("events", "securechat", "--env", "dev", "--types", "workspaces.versions.published").stdout
    # the app's activity words (events arrive late on the platform: the seeded ones are there for sure)
    assert "workspaces.versions.published" in events and "version v1.2.0 (release)" in events


def test_matrix_of_a_group_table_json_and_exit_codes(configured: Path) -> None:
    done = run("matrix", "--group", "base1")
    assert done.returncode == 1, done.stderr  # prod runs older content than staging
    rows = done.stdout.splitlines()
    assert rows[0].split() == ["WORKSPACE", "DEV", "STAGING", "PROD"]
    securechat = next(r for r in rows if r.startswith("securechat"))
    assert "≠" in securechat and "drift in group base1" in done.stderr and "securechat" in done.stderr
    assert "hr-assistant" not in done.stdout  # not in base1
    data = json.loads(run("matrix", "--group", "base1", "--json").stdout)
    assert data["envs"] == ["dev", "staging", "prod"] and "securechat" in data["drifted"]
    assert data["workspaces"][0]["cells"]["dev"]["differsFromLeft"] is None
    same = run("matrix", "--group", "base1", "--env", "dev", "--env", "staging")
    assert same.returncode == 0, same.stdout + same.stderr  # no drift between dev and staging in base1
    assert run("matrix", "--labels", "production:app:base1", "--json").returncode == 1
    for bad in (["--group", "nope"], ["--env", "nope"], ["--group", "base1", "--labels", "x"], ["--labels", ","]):
        done = run("matrix", *bad)
        assert done.returncode == 2 and "Traceback" not in done.stderr, (bad, done.stderr)


def test_matrix_never_says_no_drift_about_an_environment_it_could_not_read(configured: Path) -> None:
    with configured.open("a", encoding="utf-8") as file:
        file.write('\n[environments.gone]\nurl = "http://127.0.0.1:9"\n')
    done = run("matrix", "--group", "base1", "--env", "dev", "--env", "gone", env={"PRISME_DEPLOY_TOKEN_GONE": "x"})
    assert done.returncode == 4, done.stdout + done.stderr
    assert "gone: workspaces not listed" in done.stderr


def test_env_add_edit_remove_journal_each_change_and_refuse_bad_input_untouched(configured: Path) -> None:
    assert run("env", "add", "qa", "--url", "https://qa.example.com", "--tier", "staging").returncode == 0
    assert run("env", "edit", "qa", "--protected", "yes").returncode == 0
    envs = {e["name"]: e for e in json.loads(run("envs", "--json").stdout)}
    assert envs["qa"]["protected"] is True and envs["qa"]["tier"] == "staging"
    before = configured.read_bytes()
    for bad in (
        ["env", "add", "qa", "--url", "https://other.example.com"],  # exists
        ["env", "add", "new"],  # no URL
        ["env", "add", "new", "--url", "https://user:pw@x.example.com"],
        ["env", "edit", "qa", "--timeout", "99999"],
        ["env", "edit", "nope", "--tier", "staging"],
        ["env", "remove", "nope"],
    ):
        done = run(*bad)
        assert done.returncode == 2 and "Traceback" not in done.stderr, (bad, done.stderr)
        assert configured.read_bytes() == before, bad
    refused = run("env", "remove", "qa")  # no terminal to type the name on, no --yes: nothing removed
    assert refused.returncode == 2 and "--yes" in refused.stderr and configured.read_bytes() == before
    assert run("env", "remove", "qa", "--yes").returncode == 0
    assert "[environments.qa]" not in configured.read_text()
    journal = [json.loads(line) for line in run("audit", "--action", "config", "--json").stdout.splitlines()]
    assert sorted(e["details"]["change"] for e in journal if e["env"] == "qa") == ["add", "edit", "remove"]
    assert all(e["outcome"] == "ok" for e in journal)


def test_status_of_an_unknown_environment_is_a_usage_error(configured: Path) -> None:
    done = run("status", "--env", "nope")
    assert done.returncode == 2 and "unknown environment 'nope'" in done.stderr
    done = run("status", "--json")
    assert done.returncode == 0 and [h["state"] for h in json.loads(done.stdout)] == ["up", "up", "up"]


def test_workspaces_filter_is_the_apps_filter(configured: Path) -> None:
    def slugs(*extra: str) -> list[str]:
        done = run("workspaces", "--env", "dev", "--json", *extra)
        assert done.returncode == 0, done.stderr
        return [w["slug"] for w in json.loads(done.stdout)]

    everything = slugs()
    assert slugs("--filter", "SUPPORT") == [s for s in everything if "support" in s]
    assert slugs("--filter", "!support") == [s for s in everything if "support" not in s]
    assert slugs("--filter", "base1") == slugs("--group", "base1")  # a label matches too


def test_status_keeps_every_row_when_readiness_fails_on_one(configured: Path, platform: dict) -> None:
    from conftest import set_faults

    set_faults(platform["staging"], error_5xx={"/v2/readiness": 503})
    done = run("status", "--json")
    states = {h["env"]: h for h in json.loads(done.stdout)}
    assert done.returncode == 4, done.stderr  # not every environment is known to be up
    assert states["dev"]["state"] == "up" and states["prod"]["state"] == "up"
    assert states["staging"]["state"] == "degraded" and "readiness check failed" in states["staging"]["message"]
    assert "NOT READY" in run("status").stdout
