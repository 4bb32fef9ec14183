"""Run sandboxes on loopback: in a background thread (tests, the TUI demo) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from tui.sandbox.faults import Faults
from tui.sandbox.realism import Realism
from tui.sandbox.server import Sandbox


def bind_loopback(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, keep-alive requests wait on delayed ACKs (~40 ms each).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class Running:
    sandbox: Sandbox
    url: str
    server: uvicorn.Server
    thread: threading.Thread | None = None
    sockets: list[socket.socket] = field(default_factory=list)

    @property
    def token(self) -> str:
        return self.sandbox.token

    def new_user(self, user_id: str | None = None) -> str:
        """A token for a fresh user of this instance: its own rate-limit budget, as on the real gateway."""
        return self.sandbox.add_user(user_id)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread:
            self.thread.join(timeout=10)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def make_server(sandbox: Sandbox, sock: socket.socket) -> uvicorn.Server:
    config = uvicorn.Config(
        sandbox.app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        date_header=False,  # the app's own (ServerClock): the sandbox's clock, skewed when asked
    )
    return uvicorn.Server(config)


def start_in_thread(
    data_dir: Path,
    token: str,
    *,
    name: str = "sandbox",
    port: int = 0,
    faults: Faults | None = None,
    environ: dict[str, str] | None = None,
    realism: Realism | None = None,
    users: dict[str, str] | None = None,
) -> Running:
    """Start one instance on 127.0.0.1 in a daemon thread; returns once it answers.

    ``realism`` None means realistic (``Realism()``); ``users`` maps more tokens to user ids.
    """
    sandbox = Sandbox(data_dir, token, name=name, faults=faults, environ=environ, realism=realism, users=users)
    sock = bind_loopback(port)
    server = make_server(sandbox, sock)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name=f"sandbox-{name}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"sandbox {name} did not start")
        time.sleep(0.01)
    host, bound = sock.getsockname()[:2]
    return Running(sandbox, f"http://{host}:{bound}", server, thread, [sock])


async def serve_many(instances: list[tuple[Sandbox, socket.socket]]) -> None:
    """Serve several instances in this event loop until Ctrl-C."""
    servers = [make_server(sb, sock) for sb, sock in instances]
    await asyncio.gather(*(srv.serve(sockets=[sock]) for srv, (_, sock) in zip(servers, instances, strict=True)))
