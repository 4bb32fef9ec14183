"""Notifications through apprise (issue 28, item 6): messages reach a local HTTP receiver; a failed one is said
and never fails the operation; URLs are never printed whole."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core.audit import AuditEntry
from tui.core.config import ConfigError
from tui.core.config import load as load_config
from tui.core.notify import Notifier, NotifySettings, kinds_of, message_of, shown


class Receiver:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.paths: list[str] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.paths.append(self.path)
                outer.messages.append(json.loads(body))
                outer.arrived.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hooks/deploys"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _with_notify(configured: Path, section: str) -> None:
    configured.write_text(configured.read_text(encoding="utf-8") + "\n[notify]\n" + section + "\n", encoding="utf-8")


def _rollback(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return _cli(
        capsys, "rollback", "support-bot", "v1.1.0", "--repository", "release", "--env", "dev",
        "--discard-local-changes", "--json",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- the core
def test_each_entry_makes_the_kinds_it_should() -> None:
    ok = AuditEntry("rollback", "prod", outcome="ok")
    assert kinds_of(ok) == ["rollback"]
    assert kinds_of(AuditEntry("promote", "prod", outcome="ok")) == ["deploy"]
    assert kinds_of(AuditEntry("push", "dev", outcome="ok")) == []  # publishing a version deploys nothing
    assert kinds_of(AuditEntry("pull", "prod", outcome="failed", break_glass="INC-7")) == ["failure", "break-glass"]
    assert kinds_of(AuditEntry("pull", "prod", outcome="cancelled")) == []


def test_a_message_is_plain_inert_text_and_a_url_is_shown_without_its_secret() -> None:
    entry = AuditEntry("pull", "prod", targets=["kb"], outcome="failed", details={"error": "boom\x1b[31m\nred"})
    title, body = message_of("failure", entry)
    assert "\x1b" not in body and "prod" in title and "error: boom" in body
    assert "XXXXSECRET" not in shown("slack://T000/B000/XXXXSECRET")
    assert shown("json://user:pass@hooks.internal:8080/path?token=abc") == "json://hooks.internal"


def test_bad_notify_settings_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[notify]\nurls = ["json://x"]\nevents = ["deploy", "everything"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:3" in str(caught.value) and "approval-needed" in str(caught.value)


def test_a_message_sent_directly_reaches_the_receiver(receiver: Receiver) -> None:
    notifier = Notifier(NotifySettings(urls=(receiver.url,), events=("approval-needed",)), environ={})
    notifier.send("approval-needed", "plan p1 needs 1 approval", "prod: promote kb")
    notifier.send("deploy", "not wanted", "filtered out by events")
    assert notifier.drain() == []
    assert [m["title"] for m in receiver.messages] == ["plan p1 needs 1 approval"]
    assert receiver.paths == ["/hooks/deploys"]


# ---------------------------------------------------------------------------------------------- end to end
def test_a_rollback_is_announced_to_the_receiver(
    configured: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_notify(configured, f'urls = ["{receiver.url}"]')
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "INC-42 bad prompt")
    code, out, err = _rollback(capsys)
    assert code == 0, err
    assert receiver.arrived.is_set()  # drained before the command returned
    (message,) = receiver.messages
    assert message["title"] == "prisme-deploy rollback: rollback on dev ok"
    assert "targets: support-bot" in message["message"] and "reason: INC-42 bad prompt" in message["message"]
    assert "at:" not in message["message"] and "warning" not in err  # no token in a message
    assert receiver.url not in err + out


def test_only_the_kinds_asked_for_are_sent(
    configured: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_notify(configured, 'events = ["failure"]')
    monkeypatch.setenv("PRISME_DEPLOY_NOTIFY_URLS", receiver.url)  # a URL with a secret lives here, not in the file
    assert _rollback(capsys)[0] == 0
    assert receiver.messages == []
    code, _, _ = _cli(capsys, "rollback", "support-bot", "v9.9.9", "--repository", "release", "--env", "dev",
                      "--discard-local-changes")  # fmt: skip
    assert code != 0
    assert [m["title"] for m in receiver.messages] == ["prisme-deploy failure: rollback on dev failed"]


def test_a_failed_notification_is_said_and_the_operation_still_succeeds(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _with_notify(configured, f'urls = ["json://127.0.0.1:{port}/secret-path-token"]\ntimeout = 2')
    code, out, err = _rollback(capsys)
    assert code == 0 and json.loads(out)["ok"]
    assert "warning: notification to json://127.0.0.1 failed" in err
    assert "secret-path-token" not in err + out
