"""API tokens: environment variables for CI, the OS keyring, or this session's memory. Never a file.

Order for environment E: ``PRISME_DEPLOY_TOKEN_<E>`` (read-only), this session's cache, the OS keyring
(service ``prisme-deploy``, username E) once a live probe shows it works, then the caller prompts.
Every keyring call runs in a daemon thread with a timeout: a locked collection or an unlock prompt on
another display must never hang the app (see design/keyring-headless.md).
"""

from __future__ import annotations

import enum
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

SERVICE = "prisme-deploy"
PROBE_USER = "__prisme-deploy-probe__"
T = TypeVar("T")


def env_var_name(env: str) -> str:
    return "PRISME_DEPLOY_TOKEN_" + re.sub(r"[^A-Za-z0-9]", "_", env).upper()


class KeyringStatus(enum.Enum):
    OK = "ok"
    NO_BACKEND = "no_backend"
    DISABLED = "disabled"
    INSECURE = "insecure"
    LOCKED = "locked"
    TIMEOUT = "timeout"
    ERROR = "error"


MESSAGES = {
    KeyringStatus.NO_BACKEND: (
        "No system keyring is reachable (no D-Bus Secret Service, which is normal over SSH). The token is kept in "
        "memory until you quit. To keep it between runs, set {var}, or run inside an unlocked keyring session: "
        '`dbus-run-session -- bash`, then `printf %s "$PW" | gnome-keyring-daemon --unlock --components=secrets`.'
    ),
    KeyringStatus.DISABLED: (
        "Keyring use is disabled (PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring or `keyring --disable`). "
        "The token is kept for this session only; set {var} to avoid typing it again."
    ),
    KeyringStatus.INSECURE: (
        "Only a plaintext keyring backend is installed (keyrings.alt); prisme-deploy does not use it. The token is "
        "kept for this session only."
    ),
    KeyringStatus.LOCKED: (
        "The system keyring is locked and no unlock prompt can be shown from this terminal. Unlock it with "
        '`printf %s "$PW" | gnome-keyring-daemon --replace --unlock --components=secrets`, then retry. The token '
        "is kept for this session only."
    ),
    KeyringStatus.TIMEOUT: (
        "The keyring did not answer within {timeout:g}s (an unlock prompt may be waiting on another display). The "
        "token is kept for this session only."
    ),
    KeyringStatus.ERROR: "The keyring failed ({detail}). The token is kept for this session only.",
}


@dataclass(frozen=True)
class KeyringProbe:
    status: KeyringStatus
    backend: str
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.status is KeyringStatus.OK

    def message(self, env: str = "ENV", timeout: float = 10.0) -> str:
        if self.usable:
            return f"OS keyring ({self.backend})"
        text = MESSAGES[self.status].format(var=env_var_name(env), timeout=timeout, detail=self.detail)
        return f"{text} [backend: {self.backend}]"


def call_with_timeout(func: Callable[[], T], timeout: float) -> T:
    """Run a blocking call in a daemon thread (a hung D-Bus call must not block exit)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="keyring-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"keyring call did not finish within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _classify_backend() -> tuple[KeyringStatus | None, Any, str]:
    try:
        import keyring
        from keyring.backends import chainer, fail

        backend = keyring.get_keyring()
    except Exception as exc:
        return KeyringStatus.NO_BACKEND, None, f"{type(exc).__name__}: {exc}"
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return KeyringStatus.NO_BACKEND, backend, name
    if "null" in name.lower():
        return KeyringStatus.DISABLED, backend, name
    members = list(getattr(backend, "backends", [])) if isinstance(backend, chainer.ChainerBackend) else [backend]
    if not members:
        return KeyringStatus.NO_BACKEND, backend, name
    first = members[0]
    first_name = type(first).__name__.lower()
    if "plaintext" in first_name or "plaintext" in name.lower() or getattr(first, "priority", 1) < 1:
        return KeyringStatus.INSECURE, backend, name
    return None, backend, name


def probe(timeout: float = 10.0) -> KeyringProbe:
    """A real round trip (write, read, delete a random sentinel), with a timeout."""
    status, backend, name = _classify_backend()
    if status is not None:
        return KeyringProbe(status, name if backend is not None else "none", name)
    sentinel = os.urandom(8).hex()

    def roundtrip() -> bool:
        backend.set_password(SERVICE, PROBE_USER, sentinel)
        try:
            return bool(backend.get_password(SERVICE, PROBE_USER) == sentinel)
        finally:
            try:
                backend.delete_password(SERVICE, PROBE_USER)
            except Exception:
                pass

    return _run_probe(roundtrip, name, timeout)


def _run_probe(roundtrip: Callable[[], bool], name: str, timeout: float) -> KeyringProbe:
    from keyring.errors import InitError, KeyringLocked, NoKeyringError

    try:
        ok = call_with_timeout(roundtrip, timeout)
    except (KeyringLocked, InitError) as exc:
        return KeyringProbe(KeyringStatus.LOCKED, name, str(exc))
    except NoKeyringError as exc:
        return KeyringProbe(KeyringStatus.NO_BACKEND, name, str(exc))
    except TimeoutError as exc:
        return KeyringProbe(KeyringStatus.TIMEOUT, name, str(exc))
    except Exception as exc:
        return KeyringProbe(KeyringStatus.ERROR, name, f"{type(exc).__name__}: {exc}")
    if not ok:
        return KeyringProbe(KeyringStatus.ERROR, name, "the value read back differs from the value written")
    return KeyringProbe(KeyringStatus.OK, name)


@dataclass(frozen=True)
class SaveResult:
    persisted: bool
    message: str


class TokenStore:
    """Resolves and stores tokens. The probe runs lazily, once, off the UI thread when called from a worker."""

    def __init__(
        self, *, use_keyring: bool = True, timeout: float = 10.0, environ: dict[str, str] | None = None
    ) -> None:
        self.use_keyring = use_keyring
        self.timeout = timeout
        self._environ = environ
        self._session: dict[str, str] = {}
        self._probe: KeyringProbe | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenStore(session={sorted(self._session)}, keyring={self.use_keyring})"

    @property
    def environ(self) -> dict[str, str]:
        return self._environ if self._environ is not None else dict(os.environ)

    def keyring_probe(self, *, refresh: bool = False) -> KeyringProbe:
        with self._lock:
            if not self.use_keyring:
                return KeyringProbe(KeyringStatus.DISABLED, "none", "secrets.store = none")
            if self._probe is None or refresh:
                self._probe = probe(self.timeout)
            return self._probe

    def resolve(self, env: str) -> tuple[str | None, str]:
        """(token, source): source is 'environment', 'session', 'keyring' or 'missing'."""
        value = self.environ.get(env_var_name(env))
        if value:
            return value, "environment"
        if env in self._session:
            return self._session[env], "session"
        probe_result = self.keyring_probe()
        if probe_result.usable:
            import keyring

            try:
                stored = call_with_timeout(lambda: keyring.get_password(SERVICE, env), self.timeout)
            except Exception:
                stored = None
            if stored:
                return stored, "keyring"
        return None, "missing"

    def remember(self, env: str, token: str) -> None:
        """Keep a token for this session only (a prompt's answer, or when the keyring is unusable)."""
        self._session[env] = token

    def save(self, env: str, token: str) -> SaveResult:
        self._session[env] = token
        probe_result = self.keyring_probe()
        if not probe_result.usable:
            return SaveResult(False, probe_result.message(env, self.timeout))
        import keyring

        try:
            call_with_timeout(lambda: keyring.set_password(SERVICE, env, token), self.timeout)
        except Exception as exc:
            return SaveResult(
                False, f"The keyring refused the token ({type(exc).__name__}); kept for this session only."
            )
        return SaveResult(True, f"Token for {env} stored in the OS keyring ({probe_result.backend}).")

    def delete(self, env: str) -> SaveResult:
        self._session.pop(env, None)
        probe_result = self.keyring_probe()
        if not probe_result.usable:
            return SaveResult(False, probe_result.message(env, self.timeout))
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            call_with_timeout(lambda: keyring.delete_password(SERVICE, env), self.timeout)
        except PasswordDeleteError:
            return SaveResult(True, f"No token was stored for {env}.")
        except Exception as exc:
            return SaveResult(False, f"The keyring refused to delete the token ({type(exc).__name__}).")
        return SaveResult(True, f"Token for {env} removed from the OS keyring.")

    def known_tokens(self) -> list[str]:
        """Every token this session has seen, for the redactor."""
        values = list(self._session.values())
        values += [v for k, v in self.environ.items() if k.startswith("PRISME_DEPLOY_TOKEN") and v]
        return values


def redact(text: str, tokens: list[str]) -> str:
    """Replace any known token (and anything shaped like a personal access token) with ***."""
    for token in sorted({t for t in tokens if len(t) >= 6}, key=len, reverse=True):
        text = text.replace(token, "***")
    return re.sub(r"\b(at:)[A-Za-z0-9._~+/=-]{8,}", r"\1***", text)
