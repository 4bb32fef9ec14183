"""Issue 29 item 6: a rollback drill rolls a workspace back to its previous version and restores the current
one, each verified from state, times both legs, records them, and is refused on a protected environment
without --yes and the name typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import set_faults
from test_plan_sticky import admin
from test_plan_sticky import workspace as server_ws

from tui.cli.main import main
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_drill_rolls_back_restores_and_records_the_time_to_recover(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, err = cli(capsys, "drill", "--env", "staging", "support-bot", "--json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["ok"] and doc["current"] == "v1.2.0" and doc["previous"] != "v1.2.0"
    assert [(leg["leg"], leg["version"], leg["ok"]) for leg in doc["legs"]] == [
        ("rollback", doc["previous"], True),
        ("restore", "v1.2.0", True),
    ]
    # The second leg restores, and says so (both are pulls of a named version, journalled as rollbacks).
    assert doc["legs"][0]["message"].startswith(f"Rolled back support-bot to {doc['previous']}: verified")
    assert doc["legs"][1]["message"].startswith("Restored support-bot to v1.2.0: verified")
    assert doc["totalSeconds"] == pytest.approx(sum(leg["seconds"] for leg in doc["legs"]), abs=0.02)
    # A rate-limit wait is said apart from the legs' own time (0 when the gateway made none wait).
    assert doc["waitedSeconds"] == pytest.approx(sum(leg["waitedSeconds"] for leg in doc["legs"]), abs=0.02)
    code, out, _ = cli(capsys, "workspaces", "--env", "staging", "--json")
    live = {w["slug"]: w.get("liveVersion") for w in json.loads(out)}
    assert live["support-bot"] == "v1.2.0"  # restored, read back from the instance

    recorded = json.loads(next(isolated_home.rglob("drills.json")).read_text())
    assert recorded[0]["workspace"] == "support-bot" and recorded[0]["ok"]
    journal = [json.loads(x) for x in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
    entry = [e for e in journal if e["action"] == "drill"][-1]
    assert entry["outcome"] == "ok" and entry["details"]["totalSeconds"] == doc["totalSeconds"]

    bot = server_ws(platform["staging"], "support-bot")  # an edit since the import: a restore would lose it
    admin(platform["staging"], "PUT", f"/sandbox/workspaces/{bot['id']}/files/automations/x.yml", content=b"slug: x\n")
    code, _, err = cli(capsys, "drill", "--env", "staging", "support-bot")
    assert code == 2 and "has edits since v1.2.0" in err and "--discard-local-changes" in err
    assert len(json.loads(next(isolated_home.rglob("drills.json")).read_text())) == 1  # refused: not recorded


def test_a_drill_on_a_protected_environment_needs_yes_and_the_name_typed(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, _, err = cli(capsys, "drill", "--env", "prod", "support-bot")
    assert code == 2 and "needs --yes and the environment's name typed" in err
    code, _, err = cli(
        capsys, "drill", "--env", "prod", "support-bot", "--yes", "--discard-local-changes"
    )  # no terminal to type on
    assert code == 2 and "the name typed, besides --yes" in err
    assert not list(isolated_home.rglob("drills.json"))  # nothing ran


def test_a_failed_rollback_leg_still_restores_and_the_drill_is_recorded_as_failed(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    set_faults(platform["staging"], import_fail={"support-bot": "SlugAlreadyInUse"})
    code, out, err = cli(capsys, "drill", "--env", "staging", "support-bot", "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["ok"], err
    assert [leg["leg"] for leg in doc["legs"]] == ["rollback", "restore"]  # the restore ran all the same
    assert not doc["legs"][0]["ok"] and "injected" in doc["legs"][0]["message"]
    recorded = json.loads(next(isolated_home.rglob("drills.json")).read_text())
    journal = [json.loads(x) for x in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
    assert recorded[0]["ok"] is False and [e for e in journal if e["action"] == "drill"][-1]["outcome"] == "failed"
