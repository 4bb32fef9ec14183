"""Release manifests are read like any other hostile input (issue 25): bounded, alias-free, unique by
name, one bad file reported without disabling the others, and written whole or not at all."""

from __future__ import annotations

import os
import resource
import signal
import time
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core import config as cfg
from tui.core import paths
from tui.core.ops import release as R
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e

BOMB = """release: bomb
workspaces:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
"""


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def local_dir() -> Path:
    folder = paths.data_dir() / "releases" / "release"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def one_release(configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]) -> str:
    code, _, err = cli(capsys, "release", "snapshot", "--env", "staging", "--name", "good", "--store", "local")
    assert code == 0, err
    return "good"


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("bomb.yml", BOMB, "aliases"),
        (
            "huge.yml",
            "release: huge\nworkspaces:\n" + "".join(f"  w{n}: v{'1' * 60}\n" for n in range(20_000)),
            "larger",
        ),
        ("broken.yml", "release: [\n", "not valid YAML"),
    ],
)
def test_one_bad_manifest_is_reported_and_the_others_still_work(
    one_release: str, capsys: pytest.CaptureFixture[str], name: str, text: str, said: str
) -> None:
    (local_dir() / name).write_text(text)
    started = time.monotonic()
    code, out, err = cli(capsys, "release", "list")
    assert code == 0 and "good" in out, err
    assert name in err and said in err
    code, out, err = cli(capsys, "release", "show", "good")
    assert code == 0 and "good" in out
    assert time.monotonic() - started < 10


def test_a_duplicate_release_name_is_refused_naming_both_files(
    one_release: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (local_dir() / "shadow.yml").write_text("release: good\nworkspaces:\n  securechat: v0.0.1\n")
    code, _, err = cli(capsys, "release", "show", "good")
    assert code == 2, err
    assert "good.yml" in err and "shadow.yml" in err and "defined by 2 manifests" in err


def test_a_linked_local_manifest_is_not_followed(
    one_release: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.yml"
    target.write_text("release: linked\nworkspaces: {}\n")
    os.symlink(target, local_dir() / "linked.yml")
    code, out, err = cli(capsys, "release", "list")
    assert code == 0 and "good" in out and "linked" not in out and "linked.yml" in err


def test_a_full_disk_leaves_no_empty_manifest(
    configured: Path, platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Context.create(cfg.load(configured), use_keyring=False)
    monkeypatch.setattr(R, "list_releases", lambda *a, **k: [])
    big = R.Release("full", {f"workspace-{n}": "v1.0.0" for n in range(200)})
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512, previous_limit[1]))  # what a full disk does to a write
    try:
        with pytest.raises(OSError):
            R.save(ctx, big, "release", local=True)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert list(local_dir().iterdir()) == []  # no empty (or half) manifest to break every release command
