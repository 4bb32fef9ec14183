"""The drift matrix's content fingerprints: a file's exact bytes seen once are not canonicalised again, and
a formatting-only difference is still not drift (bench/: drift matrix)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import platform_config

from tui.core import config as cfg
from tui.core.ops import matrix
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

INDEX = b"name: Support bot\nslug: support-bot\nlabels:\n- production:app:base1\n"
MAIN = b"slug: main\ndo:\n- set:\n    n: 1\n"
MAIN_REFORMATTED = b"do:\n  - set: {n: 1}\nslug:   main\n"  # same document: other order, flow style, spaces
MAIN_CHANGED = b"slug: main\ndo:\n- set:\n    n: 2\n"


def archive(files: dict[str, bytes], *, stamp: str = "2026-03-02T09:00:00Z") -> bytes:
    """An export as the platform sends it: entries under ``current/``, an ``.import.yml`` that differs on
    every export (so the archives' bytes never match, only their files' do)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("current/.import.yml", f"exportedAt: {stamp}\n")
        for path, data in files.items():
            zf.writestr(f"current/{path}", data)
    return out.getvalue()


def test_identical_files_are_canonicalised_once_and_give_the_same_digest() -> None:
    digests = matrix.Digests()
    first = digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN}, stamp="1"))
    assert digests.canonicalised == 2
    second = digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN}, stamp="2"))
    assert digests.canonicalised == 2  # both files known by their bytes: nothing parsed again
    assert first == second == matrix.content_digest(archive({"index.yml": INDEX, "automations/main.yml": MAIN}))


def test_a_formatting_only_difference_is_canonicalised_and_is_not_drift() -> None:
    digests = matrix.Digests()
    plain = digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN}))
    reformatted = digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN_REFORMATTED}))
    assert digests.canonicalised == 3  # the reformatted file's bytes differ: parsed, not trusted by its bytes
    assert reformatted == plain
    assert digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN_CHANGED})) != plain


def test_the_same_bytes_under_another_path_are_canonicalised_for_that_path() -> None:
    """The canonical form depends on the path (index.yml drops identity keys, only YAML is parsed)."""
    digests = matrix.Digests()
    digests.of(archive({"automations/main.yml": MAIN}))
    digests.of(archive({"automations/other.yml": MAIN}))
    assert digests.canonicalised == 2
    as_text = digests.of(archive({"automations/main.txt": MAIN_REFORMATTED}))
    assert as_text != digests.of(archive({"automations/main.txt": MAIN}))  # not YAML: compared as bytes


def test_what_is_remembered_is_bounded_and_forgetting_changes_no_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrix.Digests, "KNOWN_MAX", 2)
    digests = matrix.Digests()
    first = digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN}))
    digests.of(archive({"automations/other.yml": MAIN}))  # a third file: what was known is forgotten
    assert len(digests._known) <= 2
    assert digests.of(archive({"index.yml": INDEX, "automations/main.yml": MAIN})) == first
    assert digests.canonicalised == 5  # parsed again once forgotten


@pytest.mark.e2e
async def test_the_matrix_reports_content_drift_but_not_formatting(
    platform: dict[str, Running], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, prod = platform["staging"].sandbox, platform["prod"].sandbox
    source, target = staging.store.by_slug("support-bot"), prod.store.by_slug("support-bot")
    assert source is not None and target is not None
    files = staging.store.read_files(source["id"])
    yaml_path = next(p for p in sorted(files) if p.startswith("automations/") and p.endswith(".yml"))
    for name, running in platform.items():
        monkeypatch.setenv(f"PRISME_DEPLOY_TOKEN_{name.upper()}", running.token)
    ctx = Context.create(cfg.parse(platform_config(platform, tmp_path)), use_keyring=False)

    async def differs() -> bool | None:
        built = await matrix.build(ctx, ["staging", "prod"], None, with_status=False)
        return built.cell("support-bot", "prod").differs_from_left

    prod.store.write_files(target["id"], dict(files))
    assert await differs() is False  # byte for byte the same
    import yaml

    document = yaml.safe_load(files[yaml_path])
    reformatted = yaml.safe_dump(document, default_flow_style=True, sort_keys=False).encode()
    assert reformatted != files[yaml_path]
    prod.store.write_files(target["id"], {**files, yaml_path: reformatted})
    assert await differs() is False  # formatting only
    changed = yaml.safe_dump({**document, "description": "edited in prod"}).encode()
    prod.store.write_files(target["id"], {**files, yaml_path: changed})
    assert await differs() is True
