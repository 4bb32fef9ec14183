"""Workspace secrets and config, as the spec's Secrets and getWorkspaceConfig operations describe them.

Secrets live beside the workspace (``secrets.json``, 0600), never in its DSUL: an export, a push or a
pull never carries them, as on the platform. ``GET .../security/secrets`` answers the spec's
``WorkspaceSecrets`` (values included, the schema requires them): a client must keep only the names.
The config is the ``config`` field of the workspace's index.yml (``{schema, block, value}``).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tui.sandbox import dsul
from tui.sandbox.store import SandboxError, Store, atomic_write, now_iso

CONFIG_KEYS = ("schema", "block", "value")
SECRET_FIELDS = ("value", "description")


class WorkspaceSettings:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ secrets
    def _secrets_file(self, workspace_id: str) -> Any:
        return self.store.ws_dir(workspace_id) / "secrets.json"

    def _read(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        self.store.get(workspace_id)
        path = self._secrets_file(workspace_id)
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def _write(self, workspace_id: str, secrets: dict[str, dict[str, Any]]) -> None:
        path = self._secrets_file(workspace_id)
        atomic_write(path, json.dumps(secrets, indent=1).encode(), mode=0o600)

    def secrets(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        return self._read(workspace_id)

    def set_secrets(self, workspace_id: str, body: dict[str, Any], user: str, replace: bool) -> dict[str, Any]:
        """PUT replaces every secret, PATCH adds or updates the ones given (each ``{value}``)."""
        for name, item in body.items():
            if not name or not isinstance(item, dict) or "value" not in item:
                raise SandboxError(
                    400, "BadParametersError", f"Secret '{name}' must be an object with a value", {"secret": name}
                )
        with self._lock:
            current = {} if replace else self._read(workspace_id)
            before = self._read(workspace_id)
            stamp = now_iso()
            for name, item in body.items():
                old = before.get(name) or {}
                current[name] = {
                    **{k: item[k] for k in SECRET_FIELDS if k in item},
                    "id": old.get("id") or name,
                    "createdBy": old.get("createdBy") or user,
                    "createdAt": old.get("createdAt") or stamp,
                    "updatedBy": user,
                    "updatedAt": stamp,
                }
            self._write(workspace_id, current)
        # The event names what changed, never a value (as the platform's workspaces.secrets.updated).
        self.store.emit(workspace_id, "workspaces.secrets.updated", {"secrets": sorted(body)})
        return current

    def delete_secret(self, workspace_id: str, name: str) -> dict[str, Any]:
        with self._lock:
            current = self._read(workspace_id)
            if name not in current:
                raise SandboxError(404, "ObjectNotFoundError", f"Secret '{name}' not found", {"secret": name})
            del current[name]
            self._write(workspace_id, current)
        self.store.emit(workspace_id, "workspaces.secrets.deleted", {"secretName": name})
        return {"secretName": name}

    # ------------------------------------------------------------------ config
    def config(self, workspace_id: str, version: str | None = None) -> dict[str, Any]:
        meta = self.store.get(workspace_id)
        if version and version != "current" and not any(v["name"] == version for v in meta.get("versions") or []):
            raise SandboxError(404, "ObjectNotFoundError", f"Unknown version '{version}'")
        files = self.store.read_files(workspace_id, version or "current")
        index = dsul.load_yaml(files.get("index.yml", b"")) or {}
        config = index.get("config") if isinstance(index, dict) else None
        return {k: config[k] for k in CONFIG_KEYS if k in config} if isinstance(config, dict) else {}

    def patch_config(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Shallow merge of the top-level keys (schema, block, value); anything else is refused."""
        unknown = sorted(set(body) - set(CONFIG_KEYS))
        if unknown:
            raise SandboxError(
                400, "RequestValidationError", f"Unknown config key(s): {', '.join(unknown)}", {"keys": unknown}
            )
        if "schema" in body and not isinstance(body["schema"], dict):
            raise SandboxError(400, "RequestValidationError", "config.schema must be an object")
        if "block" in body and not isinstance(body["block"], str):
            raise SandboxError(400, "RequestValidationError", "config.block must be a string")
        meta = self.store.get(workspace_id)
        files = self.store.read_files(workspace_id)
        index = dsul.load_yaml(files.get("index.yml", b"")) or {}
        config = dict(index.get("config") or {})
        config.update(body)
        index["config"] = config
        files["index.yml"] = dsul.dump_yaml(index)
        self.store.write_files(workspace_id, files)
        meta["dirty"] = True
        meta["updatedAt"] = now_iso()
        self.store.save_meta(meta)
        self.store.emit(workspace_id, "workspaces.configured", {"config": sorted(body)})
        return {k: config[k] for k in CONFIG_KEYS if k in config}
