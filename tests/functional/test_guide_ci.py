"""The Deployment guide's own CI step (curl -N + grep + jq), unchanged, against the sandbox."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import need, set_faults

from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e

GUIDE_STEP = r"""
set -u
curl -N -s -w "\n__HTTP_STATUS__:%{http_code}" \
  "${SOURCE_API_URL}/v2/workspaces/platform/versions?sse=true" \
  --header 'Content-Type: application/json' \
  --header "Authorization: Bearer ${SOURCE_ACCESS_TOKEN}" \
  --data '{"repository": {"id": "release"}, "groups": ["base1"]}' > /tmp/sse_output_$$.txt
HTTP_CODE=$(grep -o '__HTTP_STATUS__:[0-9]*' /tmp/sse_output_$$.txt | tail -1 | cut -d: -f2 || true)
if [ -n "$HTTP_CODE" ] && { [ "$HTTP_CODE" -lt 200 ] || [ "$HTTP_CODE" -ge 300 ]; }; then
  echo "ERROR: API returned HTTP $HTTP_CODE"; exit 1
fi
LAST_DATA=$(grep "^data: " /tmp/sse_output_$$.txt | tail -1 | sed 's/^data: //' || true)
rm -f /tmp/sse_output_$$.txt
if [ -z "$LAST_DATA" ]; then echo "ERROR: No SSE data received in response"; exit 1; fi
ERRORS=$(echo "$LAST_DATA" | jq '.errors | length')
CONFLICTS=$(echo "$LAST_DATA" | jq '.mergeConflictWorkspaceIds | length')
if [ "$ERRORS" -gt 0 ] || [ "$CONFLICTS" -gt 0 ]; then
  echo "ERROR: Bulk push to git failed with errors or merge conflicts:"; echo "$LAST_DATA" | jq '.'; exit 1
fi
echo "All workspaces successfully versioned."
"""


def run_guide(running: Running) -> subprocess.CompletedProcess[str]:
    need(shutil.which("curl") is not None and shutil.which("jq") is not None, "curl and jq are needed")
    env = {"SOURCE_API_URL": running.url, "SOURCE_ACCESS_TOKEN": running.token, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["bash", "-c", GUIDE_STEP], env=env, capture_output=True, text=True, timeout=120)


def edit_securechat(sandbox: Running) -> None:
    """A Builder edit, so base1 has a dirty workspace to push."""
    import httpx

    headers = {"Authorization": f"Bearer {sandbox.token}"}
    wid = httpx.get(f"{sandbox.url}/v2/workspaces", params={"slug": "securechat"}, headers=headers).json()[0]["id"]
    httpx.put(
        f"{sandbox.url}/sandbox/workspaces/{wid}/files/automations/new.yml", content="slug: new\n", headers=headers
    ).raise_for_status()


def test_guide_ci_step_passes(sandbox: Running) -> None:
    edit_securechat(sandbox)
    result = run_guide(sandbox)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All workspaces successfully versioned." in result.stdout


def test_guide_ci_step_fails_on_injected_push_failure(sandbox: Running) -> None:
    edit_securechat(sandbox)
    set_faults(sandbox, push_fail=["securechat"])
    result = run_guide(sandbox)
    assert result.returncode == 1
    assert "Bulk push to git failed" in result.stdout and "securechat" in result.stdout


def test_guide_ci_step_fails_on_bad_token(sandbox: Running) -> None:
    bad = Running(sandbox.sandbox, sandbox.url, sandbox.server)
    bad.sandbox = type("S", (), {"token": "wrong"})()  # type: ignore[assignment]
    result = run_guide(bad)
    assert result.returncode == 1 and "HTTP 401" in result.stdout
