"""Build and run the published Prisme.ai 2024 services (api-gateway + workspaces) on loopback, for tests.

    python scripts/realplatform.py build    # once: ~1-2 min, cached in the user cache folder
    python scripts/realplatform.py start    # ~10 s once built; prints the URL and where the token is
    python scripts/realplatform.py status
    python scripts/realplatform.py token    # prints the personal access token (only this command does)
    python scripts/realplatform.py stop

The services' code comes from the tarball in ../shared/realplatform/ (or $PRISME_REALPLATFORM: the tarball
or its folder); its README.md gives the facts this script follows. Nothing of that code is in this project.
The build is cached under the user cache folder, keyed by the tarball's digest. A start picks free loopback
ports, so two suites on one host do not collide; it records every PID in the state folder and a stop ends
exactly those processes. The tests and the bench import this module through scripts/loader.py.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import platformdirs

ROOT = Path(__file__).resolve().parent.parent
TARBALL = "prismeai-2024-services.tar.gz"
# The MongoDB wire-protocol server (README: "CongoDB"); a plain install of the package fails, so it is packed.
SMARTMONGO = "@push.rocks/smartmongo@2.2.0"
# Pinned to what was verified (a newer release of any of them may change what the server accepts).
CONGO_DEPS = [
    "bson@6.10.4",
    "mingo@7.2.7",
    "@push.rocks/smartfs@1.5.0",
    "@push.rocks/smartpath@6.0.0",
    "@push.rocks/smartpromise@4.2.3",
    "@push.rocks/smartrx@3.0.10",
]
# Part of the cache key with the tarball's digest: bump it when a build step changes.
RECIPE = "2"
WORKSPACES = [
    "services/workspaces",
    "services/api-gateway",
    "packages/broker",
    "packages/permissions",
    "packages/types",
]
BUILD_MARK = "built.json"
TOKEN_FILE = "token"
STATE_FILE = "state.json"
START_TIMEOUT = 90.0
CONSOLE_URL = "http://127.0.0.1:9"  # nothing listens there; only redirect URIs are built from it
# The gateway's option for its users/tokens/JWKS MongoDB clients (extractOptsFromEnv keeps the name's case).
MONITORING = "USERS_STORAGE_OPT_serverMonitoringMode"

Log = Callable[[str], None]


class RealPlatformError(RuntimeError):
    """A step failed; the message says which and where its log is."""


# ------------------------------------------------------------------------------------------------ locations
def find_tarball() -> Path:
    """$PRISME_REALPLATFORM (the tarball or its folder), else ../shared/realplatform beside the repository
    (beside the main checkout too, for a git worktree)."""
    given = os.environ.get("PRISME_REALPLATFORM")
    candidates = [Path(given)] if given else [root.parent / "shared" / "realplatform" for root in _checkouts()]
    for candidate in candidates:
        path = candidate / TARBALL if candidate.is_dir() else candidate
        if path.is_file():
            return path
    raise RealPlatformError(f"no {TARBALL} at {candidates[0]} (set PRISME_REALPLATFORM)")


def _checkouts() -> list[Path]:
    """This checkout, then the main one when this is a git worktree (its common git folder lies there)."""
    roots = [ROOT]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        if common and Path(common).parent != ROOT:
            roots.append(Path(common).parent)
    return roots


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_dir(tarball: Path | None = None) -> Path:
    tarball = tarball or find_tarball()
    return Path(platformdirs.user_cache_dir("prisme-deploy")) / "realplatform" / f"{digest(tarball)[:16]}-r{RECIPE}"


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir("prisme-deploy")) / "realplatform"


def missing_tools() -> list[str]:
    """What a build and a start need from the machine (apt: nodejs npm redis-server git)."""
    return [tool for tool in ("node", "npm", "redis-server", "git") if shutil.which(tool) is None]


# ------------------------------------------------------------------------------------------------ build
def _run(cmd: list[str], cwd: Path, log_file: Path, ok_codes: tuple[int, ...] = (0,)) -> None:
    with log_file.open("ab") as out:
        out.write(f"\n$ (cd {cwd} && {' '.join(cmd)})\n".encode())
        out.flush()
        code = subprocess.call(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if code not in ok_codes:
        raise RealPlatformError(f"`{' '.join(cmd)}` in {cwd} exited {code}; see {log_file}")


def _extended_tsconfig(package: Path) -> None:
    """Extend (never replace) the package's tsconfig: a replaced one builds a permissions package that the
    gateway crashes on ("Invalid OAS ... reading 'load'")."""
    (package / "tsconfig.build.json").write_text(
        json.dumps(
            {
                "extends": "./tsconfig.json",
                "compilerOptions": {"module": "commonjs", "rootDir": "..", "outDir": "dist", "noEmit": False},
                "include": ["index.ts", "lib/**/*.ts"],
                "exclude": ["**/*.test.ts", "**/__mocks__/**", "node_modules", "dist"],
            }
        )
    )


PRELOAD = r"""// Both services listen on every interface: default listen()'s host to loopback.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const isPort = (v) => typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
  if (isPort(args[0]) && typeof args[1] !== 'string') {
    args[0] = Number(args[0]);
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !args[0].host && !args[0].path) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
"""

CONGO_START = """import { CongoServer } from './congodb/index.js';
const port = Number(process.argv[2]);
const server = new CongoServer({ port, host: '127.0.0.1', storage: 'memory' });
await server.start();
console.log(`congodb listening on 127.0.0.1:${port}`);
"""


def build(log: Log = print, force: bool = False) -> Path:
    """Build once per tarball digest; returns the build folder. Safe to call from parallel processes."""
    tarball = find_tarball()
    target = build_dir(tarball)
    if (target / BUILD_MARK).is_file() and not force:
        return target
    missing = [t for t in missing_tools() if t != "redis-server"]
    if missing:
        raise RealPlatformError(f"missing: {', '.join(missing)} (apt-get install nodejs npm git)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.parent / f"{target.name}.lock"):
        if (target / BUILD_MARK).is_file() and not force:
            return target  # another process built it while this one waited
        return _build(tarball, target, log)


def _build(tarball: Path, target: Path, log: Log) -> Path:
    started = time.monotonic()
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    tree = work / "tree"
    tree.mkdir(parents=True)
    log_file = work / "build.log"
    log(f"building the 2024 services in {target} (log: {log_file} until it is done)")
    with tarfile.open(tarball) as tar:
        tar.extractall(tree, filter="data")
    (tree / "package.json").write_text(
        json.dumps(
            {
                "name": "prismeai-2024-services",
                "private": True,
                "workspaces": WORKSPACES,
                "devDependencies": {"typescript": "^4.4.3", "tslib": "^2.3.1", "@types/jest": "^27.0.2"},
            },
            indent=2,
        )
    )
    # The given package-lock stays: without it npm takes today's @types/node, which TypeScript 4 cannot parse.
    log("  npm install (about 30-60 s)")
    _run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"], tree, log_file)
    # bcrypt's install step downloads a prebuilt binary (no network for that here): build it from source.
    log("  bcrypt from source")
    _run(
        ["npx", "node-pre-gyp", "install", "--build-from-source", "--nodedir=/usr"],
        tree / "node_modules" / "bcrypt",
        log_file,
    )
    tsc = str(tree / "node_modules" / ".bin" / "tsc")
    log("  tsc: broker, permissions, workspaces, api-gateway")
    for package in ("packages/broker", "packages/permissions"):  # in that order: permissions imports broker
        _extended_tsconfig(tree / package)
        _run([tsc, "-p", "tsconfig.build.json"], tree / package, log_file)
    _run([tsc, "-p", "tsconfig.json"], tree / "services" / "workspaces", log_file)
    # The gateway reports one type error and exits 2, but emits everything.
    _run([tsc, "-p", "tsconfig.json"], tree / "services" / "api-gateway", log_file, ok_codes=(0, 2))
    gateway = tree / "services" / "api-gateway"
    if not (gateway / "dist" / "index.js").is_file():
        raise RealPlatformError(f"the gateway's build emitted nothing; see {log_file}")
    shutil.copytree(gateway / "src" / "utils" / "emails", gateway / "dist" / "utils" / "emails", dirs_exist_ok=True)
    (work / "listen-loopback.js").write_text(PRELOAD)
    log("  the MongoDB-protocol server (npm pack " + SMARTMONGO + ")")
    _build_congo(work / "congo", log_file)
    (work / BUILD_MARK).write_text(json.dumps({"tarball": str(tarball), "seconds": round(time.monotonic() - started)}))
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    log(f"built in {time.monotonic() - started:.0f} s")
    return target


def _build_congo(congo: Path, log_file: Path) -> None:
    congo.mkdir()
    _run(["npm", "pack", SMARTMONGO, "--silent"], congo, log_file)
    packed = next(congo.glob("push.rocks-smartmongo-*.tgz"))
    with tarfile.open(packed) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/dist_ts/congodb/")]
        tar.extractall(congo / "unpacked", members=members, filter="data")
    shutil.move(str(congo / "unpacked" / "package" / "dist_ts" / "congodb"), str(congo / "congodb"))
    shutil.rmtree(congo / "unpacked")
    packed.unlink()
    (congo / "package.json").write_text(json.dumps({"name": "congo-runner", "private": True, "type": "module"}))
    _run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *CONGO_DEPS], congo, log_file)
    (congo / "start.mjs").write_text(CONGO_START)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive file lock: two xdist workers building at once would trample each other's npm install."""
    import fcntl

    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------------ run
@dataclass
class Server:
    """What a start recorded: read back by status/stop/token and yielded by the test fixture."""

    state_dir: Path
    url: str  # the gateway, without /v2 (as an environment's url in prisme-deploy's config)
    ports: dict[str, int]
    pids: dict[str, list[Any]]  # name -> [pid, start time]

    @property
    def token_file(self) -> Path:
        return self.state_dir / TOKEN_FILE

    def token(self) -> str:
        return self.token_file.read_text().strip()

    def save(self) -> None:
        data = {"url": self.url, "ports": self.ports, "pids": self.pids}
        (self.state_dir / STATE_FILE).write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, state_dir: Path) -> Server | None:
        path = state_dir / STATE_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        return cls(state_dir, data["url"], data["ports"], data["pids"])


def _free_ports(count: int) -> list[int]:
    """Free loopback ports chosen now (bound to 0 together, so they differ), for services that need a number."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _start_time(pid: int) -> str | None:
    """The process's start time (Linux): a recorded PID is ours only while it still matches (no PID reuse)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def start(state_dir: Path | None = None, log: Log = print, email: str | None = None) -> Server:
    """Start redis, the MongoDB-protocol server, workspaces and the gateway; create a user and its token."""
    state_dir = state_dir or default_state_dir()
    old = Server.load(state_dir)
    if old and any(_alive(p) for p in _all_pids(old)):
        raise RealPlatformError(f"already running at {old.url} (state: {state_dir}); stop it first")
    missing = missing_tools()
    if missing:
        raise RealPlatformError(f"missing: {', '.join(missing)} (apt-get install nodejs npm redis-server git)")
    built = build(log)
    started = time.monotonic()
    for attempt in (1, 2):
        try:
            server = _launch(state_dir, built, email)
            break
        except RealPlatformError as e:
            # Ports are chosen free, then bound by the services: another suite may take one in between.
            if attempt == 2 or "exited at start" not in str(e):
                raise
            log(f"a service exited at start ({str(e).splitlines()[0]}): trying again on other ports")
    log(f"started in {time.monotonic() - started:.1f} s: {server.url} (token in {server.token_file})")
    return server


def _launch(state_dir: Path, built: Path, email: str | None) -> Server:
    """One attempt: every process recorded as it starts, all of them stopped if any step fails."""
    for sub in ("data", "logs"):
        shutil.rmtree(state_dir / sub, ignore_errors=True)
        (state_dir / sub).mkdir(parents=True)
    (state_dir / TOKEN_FILE).unlink(missing_ok=True)
    redis_port, mongo_port, ws_port, gw_port = _free_ports(4)
    server = Server(
        state_dir,
        f"http://127.0.0.1:{gw_port}",
        {"redis": redis_port, "mongo": mongo_port, "workspaces": ws_port, "gateway": gw_port},
        {},
    )
    try:
        _spawn(
            server,
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(state_dir / "data"),
            ],
            state_dir,
        )
        _spawn(server, "mongo", ["node", "start.mjs", str(mongo_port)], built / "congo")
        _wait_port(server, "redis", redis_port)
        _wait_port(server, "mongo", mongo_port)
        env = _service_env(built, state_dir, server.ports)
        node = ["node", "-r", str(built / "listen-loopback.js"), "dist/index.js"]
        _spawn(server, "workspaces", node, built / "tree" / "services" / "workspaces", env["workspaces"])
        _spawn(server, "gateway", node, built / "tree" / "services" / "api-gateway", env["gateway"])
        _wait_port(server, "workspaces", ws_port)
        _wait_http(server, f"{server.url}/v2/me")
        token = create_user_token(server.url, email=email)
        fd = os.open(server.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        _wait_workspaces(server, token)
    except BaseException:
        stop(state_dir, log=lambda _m: None)
        raise
    return server


def _service_env(built: Path, state_dir: Path, ports: dict[str, int]) -> dict[str, dict[str, str]]:
    tree, data = built / "tree", state_dir / "data"
    redis, mongo = f"redis://127.0.0.1:{ports['redis']}", f"mongodb://127.0.0.1:{ports['mongo']}"
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data),
        "NODE_ENV": "production",
        "BROKER_HOST": f"{redis}/10",
        "OPENAPI_FILEPATH": str(tree / "specifications" / "swagger.yml"),
        "PERMISSIONS_STORAGE_HOST": f"{mongo}/permissions",
    }
    for sub in ("workspaces", "uploads", "git"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    workspaces = base | {
        "PORT": str(ports["workspaces"]),
        "WORKSPACES_STORAGE_TYPE": "FILESYSTEM",
        "WORKSPACES_STORAGE_FILESYSTEM_DIRPATH": str(data / "workspaces"),
        "UPLOADS_STORAGE_FILESYSTEM_DIRPATH": str(data / "uploads"),
        "WORKSPACES_STORAGE_GIT_DIRPATH": str(data / "git"),
        "GATEWAY_API_HOST": f"http://127.0.0.1:{ports['gateway']}/v2",
        # git commits need an identity; the machine's may have none
        "GIT_AUTHOR_NAME": "prisme",
        "GIT_AUTHOR_EMAIL": "prisme@localhost",
        "GIT_COMMITTER_NAME": "prisme",
        "GIT_COMMITTER_EMAIL": "prisme@localhost",
    }
    nowhere = "http://127.0.0.1:9"  # the events service, runtime and console are not part of the tarball
    gateway = base | {
        "PORT": str(ports["gateway"]),
        "API_URL": f"http://127.0.0.1:{ports['gateway']}/v2",
        "JWKS_FILEPATH": str(tree / "jwks.json"),
        "USERS_STORAGE_HOST": f"{mongo}/users",
        # The gateway's mongodb 6 driver monitors by streaming (exhaust `hello`), which CongoDB does not do: the
        # driver drops the monitor ("Server ended moreToCome unexpectedly"), clears the pool and holds every
        # query for 500 ms (minHeartbeatFrequencyMS), about once a second per collection client: a 0.5 s stall
        # on any authenticated request (it reads the user). Polling monitors as with a real MongoDB, no stall.
        # Users only: the permissions' mongoose 7 (driver 5) refuses the option, and does not stream anyway.
        MONITORING: "poll",
        "SESSIONS_STORAGE_HOST": f"{redis}/2",
        "ACCOUNT_VALIDATION_METHOD": "auto",
        "WORKSPACES_API_URL": f"http://127.0.0.1:{ports['workspaces']}",
        "EVENTS_API_URL": nowhere,
        "RUNTIME_API_URL": nowhere,
        "CONSOLE_API_URL": nowhere,
        "CONSOLE_URL": CONSOLE_URL,
        # Tests sign up one user each (its own import budget); the default is 1 signup a minute per IP.
        "RATE_LIMIT_SIGNUP": "1000",
        "RATE_LIMIT_PRISMEAI_LOGIN": "1000",
        "RATE_LIMIT_ANONYMOUS_LOGIN": "1000",
    }
    return {"workspaces": workspaces, "gateway": gateway}


def _spawn(server: Server, name: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    log_path = server.state_dir / "logs" / f"{name}.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server.pids[name] = [proc.pid, _start_time(proc.pid) or ""]
    server.save()


def _alive(entry: list[Any]) -> bool:
    pid, started = int(entry[0]), entry[1]
    now = _start_time(pid)
    if now is None:
        return False
    return not started or now == started


def _all_pids(server: Server) -> list[list[Any]]:
    return list(server.pids.values())


def _check_alive(server: Server, name: str) -> None:
    if not _alive(server.pids[name]):
        tail = _tail(server.state_dir / "logs" / f"{name}.log")
        raise RealPlatformError(f"{name} exited at start; its log ends:\n{tail}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until(
    server: Server, ready: Callable[[], bool], failure: str, names: Iterable[str], pause: float = 0.1
) -> None:
    """Poll ``ready`` (a refused connection counts as not yet) until START_TIMEOUT; a process of ``names`` that
    died meanwhile is said at once rather than waited for."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(OSError, httpx.TransportError):
            if ready():
                return
        for name in names:
            _check_alive(server, name)
        if time.monotonic() > deadline:
            raise RealPlatformError(f"{failure} within {START_TIMEOUT:.0f} s")
        time.sleep(pause)


def _wait_port(server: Server, name: str, port: int) -> None:
    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    _wait_until(server, listening, f"{name} did not listen on {port}", [name])


def _wait_http(server: Server, url: str) -> None:
    """Any HTTP answer from the gateway (401 without a token) means it is up."""

    def answers() -> bool:
        httpx.get(url, timeout=2)
        return True

    _wait_until(server, answers, f"no answer from {url}", list(server.pids))


def _wait_workspaces(server: Server, token: str) -> None:
    """The gateway proxies to the workspaces service, which may still be connecting to its storage."""
    url, headers = f"{server.url}/v2/workspaces", {"Authorization": f"Bearer {token}"}
    _wait_until(
        server,
        lambda: httpx.get(url, headers=headers, timeout=5).status_code == 200,
        f"{url} did not answer 200",
        list(server.pids),
        pause=0.2,
    )


def stop(state_dir: Path | None = None, log: Log = print) -> None:
    """End the processes this state folder recorded, by PID (and only while the PID is still the same process)."""
    state_dir = state_dir or default_state_dir()
    server = Server.load(state_dir)
    if server is None:
        log(f"nothing recorded in {state_dir}")
        return
    for name in reversed(list(server.pids)):
        entry = server.pids[name]
        if _alive(entry):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry[0]), signal.SIGTERM)
    deadline = time.monotonic() + 10
    for name, entry in server.pids.items():
        while _alive(entry) and time.monotonic() < deadline:
            _reap(int(entry[0]))
            time.sleep(0.05)
        if _alive(entry):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry[0]), signal.SIGKILL)
            _reap(int(entry[0]))
        log(f"stopped {name} (pid {entry[0]})")
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    (state_dir / TOKEN_FILE).unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """A child of this process stays a zombie (and so 'alive' in /proc) until waited for."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def status(state_dir: Path | None = None) -> tuple[bool, str]:
    state_dir = state_dir or default_state_dir()
    server = Server.load(state_dir)
    if server is None:
        return False, f"not running (nothing recorded in {state_dir})"
    lines = [f"{server.url} (token in {server.token_file})"]
    up = True
    for name, entry in server.pids.items():
        alive = _alive(entry)
        up &= alive
        lines.append(f"  {name}: pid {entry[0]} port {server.ports.get(name)} {'running' if alive else 'NOT RUNNING'}")
    return up, "\n".join(lines)


# ------------------------------------------------------------------------------------------------ users
def create_user_token(url: str, email: str | None = None, password: str | None = None) -> str:
    """Sign up a user and get a personal access token through the real OIDC login (README, "A token")."""
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.test"
    password = password or "Pw-" + secrets.token_hex(8)
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = client.post(
            "/v2/signup",
            json={"email": email, "password": password, "firstName": "Test", "lastName": "User", "language": "en"},
        )
        _expect(answer, "signup")
        jwt = _oidc_login(_Browser(client), email, password)
        # Only the bearer: with the access-token cookie too the gateway asks for a CSRF token (401).
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7 * 86400))
        client.cookies.clear()
        answer = client.post(
            "/v2/user/accessTokens",
            json={"name": "tests", "expiresAt": expires},
            headers={"Authorization": f"Bearer {jwt}"},
        )
        _expect(answer, "access token")
        token = answer.json().get("token")
    if not isinstance(token, str) or not token.startswith("at:"):
        raise RealPlatformError("the access-token answer carried no `at:` token")
    return token


class _Browser:
    """Cookies as a browser behind TLS would keep them: they are `Secure; SameSite=None` (the gateway thinks
    it is behind https, x-forwarded-proto), which httpx rightly never sends over plain HTTP."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"x-forwarded-proto": "https"}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        self.client.cookies.clear()
        answer = self.client.request(method, path, headers=headers, **kwargs)
        for line in answer.headers.get_list("set-cookie"):
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            expired = "expires=thu, 01 jan 1970" in line.lower()
            if expired or not value:
                self.jar.pop(name.strip(), None)
            else:
                self.jar[name.strip()] = value
        return answer


def _oidc_login(browser: _Browser, email: str, password: str) -> str:
    """Authorization code with PKCE, client local-client-id; redirects followed by their path only (they say
    https:// on this plain-HTTP port)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{CONSOLE_URL}/signin"
    answer = browser.request(
        "GET",
        "/oidc/auth",
        params={
            "client_id": "local-client-id",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": secrets.token_hex(8),
        },
    )
    location = _location(answer, "oidc/auth")
    uid = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    answer = browser.request("POST", f"/oidc/interaction/{uid}/login", data={"login": email, "password": password})
    for _ in range(10):
        location = _location(answer, "oidc login")
        code = parse_qs(urlsplit(location).query).get("code")
        if code:
            break
        parts = urlsplit(location)
        answer = browser.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    else:
        raise RealPlatformError("the OIDC login did not end with a code")
    answer = browser.request(
        "POST",
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code[0],
            "redirect_uri": redirect_uri,
            "client_id": "local-client-id",
            "code_verifier": verifier,
        },
    )
    _expect(answer, "oidc token")
    return str(answer.json()["access_token"])


def _location(answer: httpx.Response, step: str) -> str:
    if answer.status_code not in (302, 303) or "location" not in answer.headers:
        raise RealPlatformError(f"{step}: expected a redirect, got {answer.status_code}")
    return answer.headers["location"]


def _expect(answer: httpx.Response, step: str) -> None:
    if answer.status_code >= 300:
        raise RealPlatformError(f"{step}: {answer.status_code} {answer.text[:300]}")


# ------------------------------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "start", "stop", "status", "token"])
    parser.add_argument("--state-dir", type=Path, default=None, help=f"default: {default_state_dir()}")
    parser.add_argument("--force", action="store_true", help="build: rebuild even if cached")
    args = parser.parse_args(argv)
    log: Log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    try:
        if args.command == "build":
            started = time.monotonic()
            target = build(log, force=args.force)
            print(f"built: {target} ({time.monotonic() - started:.0f} s)")
        elif args.command == "start":
            started_server = start(args.state_dir, log)
            where = started_server.token_file
            print(f"url: {started_server.url}\ntoken: in {where} (`{Path(__file__).name} token` prints it)")
        elif args.command == "stop":
            stop(args.state_dir, log)
        elif args.command == "status":
            up, text = status(args.state_dir)
            print(text)
            return 0 if up else 1
        else:
            server = Server.load(args.state_dir or default_state_dir())
            if server is None or not server.token_file.is_file():
                print("not running: no token", file=sys.stderr)
                return 1
            print(server.token())
    except RealPlatformError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
