"""Requests a command no longer repeats (issue 30: the published-server rollback row), and the ones it
still sends where it has nothing to reuse."""

from __future__ import annotations

import io
import zipfile

import httpx

from tui.core.api.capabilities import forget_all
from tui.core.api.client import PrismeClient

ROUTE_MISSING = {"error": "NotFoundError", "message": "Route not found"}


def archive(index: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("current/index.yml", index)  # as the platform exports: under the version's folder
    return out.getvalue()


def server(seen: list[str], *, listed: dict[str, object]) -> httpx.MockTransport:
    """A 2024-like instance: no dirty on the document, no config route; its export's config says 'exported'."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        path = request.url.path
        if path == "/v2/workspaces":
            return httpx.Response(200, json=[listed])
        if path.endswith("/config"):
            return httpx.Response(404, json=ROUTE_MISSING)
        if path.endswith("/export"):
            return httpx.Response(200, content=archive(b"config:\n  value: {marker: exported}\n"))
        return httpx.Response(200, json={"id": "w1", "name": "W", "slug": "w"})

    return httpx.MockTransport(handler)


async def test_a_workspace_found_by_slug_takes_its_list_fields_from_that_listing() -> None:
    seen: list[str] = []
    item = {"id": "w1", "slug": "w", "name": "W", "dirty": True}
    async with PrismeClient("http://127.0.0.1:9", "t", transport=server(seen, listed=item)) as api:
        ws = await api.find_workspace("w")
    assert ws.dirty is True
    assert seen == ["GET /v2/workspaces?slug=w&limit=10", "GET /v2/workspaces/w1?"]


async def test_a_workspace_read_by_id_is_still_listed_for_its_list_fields() -> None:
    seen: list[str] = []
    item = {"id": "w1", "slug": "w", "name": "W", "dirty": True}
    async with PrismeClient("http://127.0.0.1:9", "t", transport=server(seen, listed=item)) as api:
        ws = await api.get_workspace("w1")
    assert ws.dirty is True
    assert seen == ["GET /v2/workspaces/w1?", "GET /v2/workspaces?ids=w1&limit=1"]


async def test_the_config_is_read_from_files_just_exported_instead_of_exporting_again() -> None:
    forget_all()
    seen: list[str] = []
    given = {"index.yml": b"config:\n  value: {marker: given}\n"}
    async with PrismeClient("http://127.0.0.1:9", "t", transport=server(seen, listed={})) as api:
        config = await api.workspace_config("w1", exported=given)
    assert config == {"value": {"marker": "given"}}
    assert not [line for line in seen if "/export" in line]


async def test_without_files_the_config_comes_from_a_fresh_export() -> None:
    forget_all()
    seen: list[str] = []
    async with PrismeClient("http://127.0.0.1:9", "t", transport=server(seen, listed={})) as api:
        config = await api.workspace_config("w1")
    assert config == {"value": {"marker": "exported"}}
    assert [line for line in seen if "/export" in line] == ["POST /v2/workspaces/w1/versions/current/export?"]
