"""Shared fixtures: real sandboxes on loopback, the official spec, an isolated home, a real Secret Service.

Seeding runs real git, so it happens once per session into a template that each test copies (the data
folders use relative repository URLs, so a copy is a working, independent platform).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from waits import wait_until_sync

from tui.sandbox.faults import Faults
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.seed import seed_demo_platform, seed_single

ROOT = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))

# The tests by layer (tests/README.md). A test module imports helpers from another (test_app's make_app, ...),
# sometimes in another layer: each layer's folder is importable whichever folders a run collects.
LAYERS = ("unit", "functional", "e2e")
sys.path[1:1] = [str(ROOT / "tests" / layer) for layer in LAYERS if str(ROOT / "tests" / layer) not in sys.path]
# What a unit test may not use: a server (sandbox, published platform, hostile) or the system keyring.
SERVER_FIXTURES = frozenset(
    {"sandbox", "shared_sandbox", "platform", "configured", "make_sandbox", "user_token", "real_server", "real"}
    | {"hostile", "real_keyring", "prod_with_startup_import"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The layer rule, checked at collection: a test under tests/unit/ that starts a server is refused."""
    unit = ROOT / "tests" / "unit"
    for item in items:
        used = SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        if used and item.path.is_relative_to(unit):
            raise pytest.UsageError(
                f"{item.nodeid} is a unit test but uses {', '.join(sorted(used))}: move it to tests/functional/"
            )


def need(condition: bool, reason: str) -> None:
    """Skip locally with a reason; fail in CI, where a skip would hide a missing install step."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# ------------------------------------------------------------------------------------------------ isolation
@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the developer's config, data, cache or keyring."""
    home = tmp_path / "home"
    for sub in ("config", "data", "cache"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("PRISME_DEPLOY_DATA", str(home / "data" / "prisme-deploy"))
    monkeypatch.setenv("PRISME_DEPLOY_CONFIG", str(home / "config" / "prisme-deploy" / "config.toml"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("TZ", "UTC")  # tables show local times ("2 h ago · 09:10"): the same on every host
    time.tzset()
    for key in list(os.environ):
        if key.startswith("PRISME_DEPLOY_TOKEN"):
            monkeypatch.delenv(key)
    return home


@pytest.fixture(autouse=True)
def fresh_request_budgets() -> Iterator[None]:
    """The client keeps one request budget per URL and token for the whole process: a later test's
    sandbox may reuse a port (and the fixed tokens), so each test starts with none spent."""
    from tui.core.api import budget, capabilities
    from tui.core.ledger import store

    budget._BUDGETS.clear()
    capabilities.forget_all()  # what an instance offers is remembered per URL and token too
    store.forget_all()  # and which ledger an instance keeps (its workspace id, or a repository)
    yield
    budget._BUDGETS.clear()
    capabilities.forget_all()
    store.forget_all()


# ------------------------------------------------------------------------------------------------ the spec
@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    path = Path(os.environ.get("PRISMEAI_OPENAPI") or ROOT.parent / "shared" / "prismeai" / "swagger.yml")
    need(path.is_file(), f"the official OpenAPI spec is not at {path} (set PRISMEAI_OPENAPI)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ sandboxes
@pytest.fixture(scope="session")
def single_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("single-template") / "data"
    root.mkdir()
    seed_single(root)
    return root


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-template")
    seed_demo_platform(root)
    return root


@pytest.fixture(scope="session")
def shared_sandbox(single_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One realistic seeded instance shared by the tests of a worker that only read, or write their own objects.

    Take a ``fresh_token(shared_sandbox)`` per test: the gateway's limits are per user, so no test waits
    for another's budget.
    """
    data = tmp_path_factory.mktemp("shared-sandbox") / "data"
    shutil.copytree(single_template, data, symlinks=True)
    running = start_in_thread(data, "at:shared-admin-token-0123456789", name="shared", faults=Faults(), environ={})
    yield running
    running.stop()


def fresh_token(running: Running, user_id: str | None = None) -> str:
    """A token of a new user of ``running``: a full rate-limit budget of its own."""
    return running.new_user(user_id)


@pytest.fixture
def user_token(shared_sandbox: Running) -> str:
    """This test's own user on the shared instance."""
    return fresh_token(shared_sandbox)


@pytest.fixture
def sandbox(single_template: Path, tmp_path: Path) -> Iterator[Running]:
    """One seeded instance (dev-like: 15 workspaces, a release repository, history), realistic by default."""
    data = tmp_path / "sandbox"
    shutil.copytree(single_template, data, symlinks=True)
    running = start_in_thread(data, "at:test-token-0123456789", name="test", faults=Faults(), environ={})
    yield running
    running.stop()


@pytest.fixture
def platform(demo_template: Path, tmp_path: Path) -> Iterator[dict[str, Running]]:
    """dev, staging and prod sharing one release repository, as in the demo."""
    root = tmp_path / "platform"
    shutil.copytree(demo_template, root, symlinks=True)
    instances: dict[str, Running] = {}
    try:
        for name in ("dev", "staging", "prod"):
            instances[name] = start_in_thread(
                root / name, f"at:test-{name}-token-0123456789", name=name, faults=Faults(), environ={}
            )
        yield instances
    finally:
        for running in instances.values():
            running.stop()


def set_faults(running: Running, **faults: Any) -> None:
    response = httpx.post(
        f"{running.url}/sandbox/faults", json=faults, headers={"Authorization": f"Bearer {running.token}"}
    )
    response.raise_for_status()


def platform_config(instances: dict[str, Running], root: Path | None = None, **extra: str) -> str:
    """A configuration file for the three instances (prod protected)."""
    lines = []
    for name, tier in (("dev", "development"), ("staging", "staging"), ("prod", "production")):
        if name in instances:
            lines += [
                f"[environments.{name}]",
                f'url = "{instances[name].url}"',
                f'tier = "{tier}"',
                'repositories = ["release"]',
                "",
            ]
    lines += [
        "[groups.base1]",
        'labels = ["production:app:base1"]',
        "[groups.base2]",
        'labels = ["production:app:base2"]',
        "[groups.extended]",
        'labels = ["production:app", "production:product"]',
        "",
    ]
    if root is not None:
        lines += ["[repositories.release]", f'path = "{root / "release.git"}"', 'dirpath = "workspaces"', ""]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines)


@pytest.fixture
def configured(platform: dict[str, Running], isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform plus a config file and tokens in the environment (the CI path)."""
    root = Path(platform["dev"].sandbox.data_dir).parent
    path = isolated_home / "config" / "prisme-deploy" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(platform_config(platform, root), encoding="utf-8")
    for name, running in platform.items():
        monkeypatch.setenv(f"PRISME_DEPLOY_TOKEN_{name.upper()}", running.token)
    return path


# ------------------------------------------------------------------------------------------------ keyring
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={sock}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
"""


class SecretService:
    """A private dbus-daemon (nothing activatable) and an unlocked gnome-keyring-daemon."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self.env: dict[str, str] = {}

    def start(self) -> SecretService:
        for tool in ("dbus-daemon", "gnome-keyring-daemon", "secret-tool"):
            need(
                shutil.which(tool) is not None,
                f"{tool} is not installed (apt-get install gnome-keyring dbus libsecret-tools)",
            )
        home, run = self.root / "home", self.root / "run"
        home.mkdir(parents=True, exist_ok=True)
        run.mkdir(parents=True, exist_ok=True)
        run.chmod(0o700)
        sock = run / "bus"
        (self.root / "bus.conf").write_text(BUS_CONF.format(sock=sock))
        self.address = f"unix:path={sock}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_RUNTIME_DIR": str(run),
            "DBUS_SESSION_BUS_ADDRESS": self.address,
        }
        self.procs.append(
            subprocess.Popen(
                ["dbus-daemon", f"--config-file={self.root / 'bus.conf'}", "--nofork", "--nopidfile"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_until_sync(sock.exists, timeout=15, every=0.02, what="dbus-daemon to start")
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert daemon.stdin is not None
        daemon.stdin.write(b"test-keyring-password")
        daemon.stdin.close()
        self.procs.append(daemon)
        wait_until_sync(self._owned, timeout=15, what="gnome-keyring-daemon to take org.freedesktop.secrets")
        return self

    def _owned(self) -> bool:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(self.address) as conn:
            return bool(conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets")).body[0])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()


def reset_keyring() -> None:
    import keyring.backend
    import keyring.core

    try:
        keyring.backend.get_all_keyring.reset()
    except (KeyError, AttributeError):
        pass
    keyring.core._keyring_backend = None  # type: ignore[attr-defined]


@pytest.fixture
def real_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    service = SecretService(tmp_path / "secret-service").start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "kr-config"))
    reset_keyring()
    try:
        yield service
    finally:
        service.stop()
        reset_keyring()


async def settle_tolerant(pilot: Any) -> None:
    """Let the app's workers finish; a worker cancelled meanwhile (a newer selection replaced it) is fine.

    Textual's wait_for_complete raises WorkerCancelled if any awaited worker was cancelled, which
    happens whenever a test moves the cursor faster than the version history loads."""
    from textual.worker import WorkerCancelled

    for _ in range(3):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


@pytest.fixture
def a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production requires a reason for every change (issue 17): tests about something else give one."""
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "test")


# ------------------------------------------------------------------------------------------------ the real server
@pytest.fixture(scope="session")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The published 2024 services (scripts/realplatform.py): built once (cached), started once per xdist worker,
    stopped by PID. Skips locally without node, npm, redis-server or the tarball; fails in CI."""
    from realplatform_env import load_script

    script = load_script()
    missing = script.missing_tools()
    need(not missing, f"{', '.join(missing)} not installed (apt-get install nodejs npm redis-server git)")
    try:
        script.find_tarball()
    except script.RealPlatformError as e:
        need(False, str(e))
    state = tmp_path_factory.mktemp("realplatform")
    server = script.start(state, log=lambda _message: None)
    try:
        yield server
    finally:
        script.stop(state, log=lambda _message: None)


@pytest.fixture
def real(real_server: Any, tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A new user on the real server (its own rate limits), its token in the environment, a config naming the
    server `real`, and a bare repository for the test's workspaces (realplatform_env.RealEnv)."""
    from realplatform_env import RealEnv, bare_repo, load_script

    token = load_script().create_user_token(real_server.url)
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    repo = bare_repo(tmp_path / "own.git")
    # The operator's clone of the workspaces' own repository `own` (git versions are read from it).
    environment = f'[environments.real]\nurl = "{real_server.url}"\ntier = "development"\n'
    config.write_text(f'{environment}\n[repositories.own]\npath = "{repo}"\n', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_REAL", token)
    return RealEnv(real_server.url, token, config, repo)
