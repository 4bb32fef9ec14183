"""Contract tests: what the sandbox answers validates against the official Prisme.ai OpenAPI schemas.

The spec is read from PRISMEAI_OPENAPI or ../shared/prismeai/swagger.yml (never copied into the
project); without it these tests skip locally and fail in CI.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from waits import wait_until_sync

from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


class Contract:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource(contents=spec, specification=DRAFT4)
        self.registry: Registry = Registry().with_resource("spec", resource)

    def schema(self, path: str, method: str, status: str = "200", ctype: str = "application/json") -> Any:
        operation = self.spec["paths"][path][method]
        return operation["responses"][status]["content"][ctype]["schema"]

    def component(self, name: str) -> Any:
        return {"$ref": f"spec#/components/schemas/{name}"}

    def validate(self, schema: Any, data: Any) -> None:
        wrapped = json.loads(json.dumps(schema).replace('"#/components', '"spec#/components'))
        OAS30Validator(wrapped, registry=self.registry).validate(data)


@pytest.fixture
def contract(openapi: dict[str, Any]) -> Contract:
    return Contract(openapi)


def call(running: Running, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {running.token}"}
    return httpx.request(method, running.url + path, headers=headers, timeout=60, **kwargs)


def ws_id(running: Running, slug: str) -> str:
    return str(call(running, "GET", "/v2/workspaces", params={"slug": slug}).json()[0]["id"])


def test_identity_and_listing_match_the_spec(sandbox: Running, contract: Contract) -> None:
    contract.validate(contract.schema("/v2/me", "get"), call(sandbox, "GET", "/v2/me").json())
    contract.validate(contract.schema("/v2/readiness", "get"), call(sandbox, "GET", "/v2/readiness").json())
    listing = call(sandbox, "GET", "/v2/workspaces", params={"limit": 50}).json()
    assert listing
    contract.validate(contract.schema("/v2/workspaces", "get"), listing)
    contract.validate(
        contract.schema("/v2/workspaces/labels", "get"), call(sandbox, "GET", "/v2/workspaces/labels").json()
    )
    for slug in ("support-bot", "ticket-triage"):
        detail = call(sandbox, "GET", f"/v2/workspaces/{ws_id(sandbox, slug)}").json()
        contract.validate(contract.schema("/v2/workspaces/{workspaceId}", "get"), detail)
    platform = call(sandbox, "GET", "/v2/workspaces/platform").json()
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}", "get"), platform)


def test_versioning_answers_match_the_spec(sandbox: Running, contract: Contract) -> None:
    wid = ws_id(sandbox, "support-bot")
    base = "/v2/workspaces/{workspaceId}"
    contract.validate(
        contract.schema(f"{base}/versions", "get"), call(sandbox, "GET", f"/v2/workspaces/{wid}/versions").json()
    )
    published = call(
        sandbox,
        "POST",
        f"/v2/workspaces/{wid}/versions",
        json={"name": "c1", "description": "contract", "repository": {"id": "release"}},
    ).json()
    contract.validate(contract.schema(f"{base}/versions", "post"), published)
    pulled = call(
        sandbox,
        "POST",
        f"/v2/workspaces/{wid}/versions/v1.1.0/pull",
        json={"repository": {"id": "release"}, "discardLocalChanges": True},
    ).json()
    contract.validate(contract.schema(f"{base}/versions/{{versionId}}/pull", "post"), pulled)
    status = call(sandbox, "GET", f"/v2/workspaces/{wid}/status").json()
    contract.validate(contract.schema(f"{base}/status", "get"), status)
    locked = call(sandbox, "POST", f"/v2/workspaces/{wid}/writeLock", json={"reason": "manual"}).json()
    contract.validate(contract.schema(f"{base}/writeLock", "post"), locked)
    unlocked = call(sandbox, "DELETE", f"/v2/workspaces/{wid}/writeLock").json()
    contract.validate(contract.schema(f"{base}/writeLock", "delete"), unlocked)
    archive = call(sandbox, "POST", f"/v2/workspaces/{wid}/versions/current/export", json={})
    assert archive.headers["content-type"] == "application/octet-stream" and archive.content[:2] == b"PK"
    imported = call(
        sandbox,
        "POST",
        f"/v2/workspaces/{wid}/import",
        params={"prune": "true"},
        files={"archive": ("w.zip", archive.content, "application/zip")},
    ).json()
    contract.validate(contract.schema(f"{base}/import", "post"), imported)
    events = call(sandbox, "GET", f"/v2/workspaces/{wid}/events", params={"limit": 100}).json()
    assert events["result"]["events"]
    contract.validate(contract.schema(f"{base}/events", "get"), events)
    for event in events["result"]["events"]:
        schema = {
            "workspaces.versions.published": "PublishedWorkspaceVersion",
            "workspaces.imported": "ImportedWorkspace",
            "workspaces.versions.progress": "WorkspaceVersionProgress",
        }.get(event["type"])
        if schema:
            contract.validate({"$ref": f"#/components/schemas/{schema}/properties/payload"}, event["payload"])


def test_bulk_push_stream_payloads_match_the_spec(sandbox: Running, contract: Contract) -> None:
    payloads = []
    with httpx.stream(
        "POST",
        f"{sandbox.url}/v2/workspaces/platform/versions",
        params={"sse": "true"},
        json={"repository": {"id": "release"}, "groups": ["extended", "base1"], "name": "c2"},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=60,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                payloads.append(json.loads(line[6:]))
    names = ["BulkPushStarted"] + ["BulkPushProgress"] * (len(payloads) - 2) + ["BulkPushCompleted"]
    for name, payload in zip(names, payloads, strict=True):
        contract.validate({"$ref": f"#/components/schemas/{name}/properties/payload"}, payload)
    summary = call(
        sandbox,
        "POST",
        "/v2/workspaces/platform/versions",
        json={"repository": {"id": "release"}, "groups": ["base2"], "force": True},
    ).json()
    contract.validate(contract.schema("/v2/workspaces/platform/versions", "post"), summary)


def test_bulk_import_and_platform_events_match_the_spec(platform: dict[str, Running], contract: Contract) -> None:
    prod = platform["prod"]
    summary = call(
        prod,
        "POST",
        "/v2/workspaces/platform/versions/latest/pull",
        json={"repository": {"id": "release"}, "groups": ["base2"]},
    ).json()
    assert "processing" not in summary
    contract.validate(contract.schema("/v2/workspaces/platform/versions/latest/pull", "post"), summary)
    wanted = {"workspaces.bulkImport.started", "workspaces.bulkImport.progress", "workspaces.bulkImport.completed"}

    def indexed() -> list[dict[str, Any]]:  # the events service indexes late (1-5 s on a real instance, and here)
        found = call(prod, "GET", "/v2/workspaces/platform/events", params={"limit": 50}).json()["result"]["events"]
        return found if wanted <= {e["type"] for e in found} else []

    events = wait_until_sync(indexed, every=0.25, what=f"the events {sorted(wanted)}")
    for event in events:
        name = {
            "workspaces.bulkImport.started": "BulkImportStarted",
            "workspaces.bulkImport.progress": "BulkImportProgress",
            "workspaces.bulkImport.completed": "BulkImportCompleted",
        }[event["type"]]
        contract.validate({"$ref": f"#/components/schemas/{name}/properties/payload"}, event["payload"])


def test_error_bodies_match_the_spec(sandbox: Running, contract: Contract) -> None:
    response = httpx.get(f"{sandbox.url}/v2/me", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401 and response.headers["x-correlation-id"]
    contract.validate(contract.schema("/v2/me", "get", "401"), response.json())
    missing = call(sandbox, "GET", "/v2/workspaces/nope")
    assert missing.status_code == 404
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}", "get", "404"), missing.json())
    bad = call(
        sandbox,
        "POST",
        f"/v2/workspaces/{ws_id(sandbox, 'securechat')}/versions",
        json={"name": "current", "description": "x"},
    )
    assert bad.status_code == 400
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}/versions", "post", "400"), bad.json())
