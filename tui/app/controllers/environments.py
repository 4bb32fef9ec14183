"""The environments in the configuration (add, edit, remove, each with its audit row) and their tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.app import messages as M
from tui.app.controllers import Controller
from tui.app.runner import OperationFinished
from tui.core import errors as E
from tui.core.config import ENV_SETTINGS, Environment  # at run time too: N builds a placeholder environment
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.app.screens import modals
    from tui.app.screens.modals import Field
    from tui.core.ops import envs
else:
    modals, envs = lazy("tui.app.screens.modals"), lazy("tui.core.ops.envs")


def form_field(key: str, env: Environment | None) -> Field:
    spec = ENV_SETTINGS[key]
    value = getattr(env, key) if env else spec.default_for({})
    if spec.kind is bool:
        return modals.Field(key, spec.form, "check", value)
    if spec.choices:
        return modals.Field(key, spec.form, "select", value, [(choice, choice) for choice in spec.choices])
    return modals.Field(key, spec.form, "text", value or "", required=spec.required, placeholder=spec.example)


def from_form(key: str, value: Any) -> Any:
    """A text field's value as the file holds it: a number, a list of names; empty is "not set"."""
    kind = ENV_SETTINGS[key].kind if key in ENV_SETTINGS else str
    if not isinstance(value, str) or kind is str:
        return value
    if not value.strip():
        return None
    if kind is list:
        return [item.strip() for item in value.split(",") if item.strip()]
    try:
        return int(value) if kind is int else float(value)
    except ValueError:
        return value  # the validator refuses it with the file's own words


class Environments(Controller):
    # ------------------------------------------------------------------ tokens
    def need_token(self, message: M.NeedToken) -> None:
        env = self.ctx.config.environments.get(message.env)
        if env is None or isinstance(self.app.screen, modals.LoginModal) or message.env != self.main.env_name:
            return

        def done(token: str | None) -> None:
            if token:
                self.start(self._verify(message.env, token), "secrets", exclusive=False)

        self.app.push_screen(modals.LoginModal(env, message.reason or "No token is stored for this environment."), done)

    async def _verify(self, env_name: str, token: str) -> None:
        try:
            async with self.ctx.client_with(env_name, token) as client:
                me = await client.me()
        except E.PrismeError as exc:
            self.runner.finish(OperationFinished(env_name, "Login", False, exc.message))
            return
        saved = await asyncio.to_thread(self.ctx.tokens.save, env_name, token)
        said = f"Logged in as {me.email or me.id}. {saved.message}"
        self.runner.finish(OperationFinished(env_name, "Login", True, said))
        self.app.refresh_health()

    # ------------------------------------------------------------------ the configuration
    def fields(self, env: Environment | None) -> list[Field]:
        """The form: every environment key declared with a ``form`` label (tui/core/config.py), its widget
        from the declaration (a switch, a choice, text), its value the environment's or the default."""
        name = [] if env else [modals.Field("name", "Name (letters, digits, . _ -):", "text", required=True)]
        return [*name, *(form_field(key, env) for key, spec in ENV_SETTINGS.items() if spec.form)]

    def edit(self) -> None:
        env = self.main.env
        if env is None:
            return
        modal = modals.ActionModal(
            title=f"Edit environment {env.name}",
            env=env,
            fields=self.fields(env),
            summary=[f"Saved to {self.config_path()} (comments are kept)."],
            confirm_label="Save",
            danger=False,
        )
        self.app.push_screen(modal, lambda values: self._save(env.name, values) if values else None)

    def add(self) -> None:
        modal = modals.ActionModal(
            title="Add an environment",
            env=Environment(name="new", url="https://"),
            fields=self.fields(None),
            summary=[f"Saved to {self.config_path()}; then log in with ctrl+l."],
            confirm_label="Add",
            danger=False,
        )
        self.app.push_screen(modal, lambda values: self._save(str(values.pop("name")), values) if values else None)

    def remove(self) -> None:
        env = self.main.env
        if env is None:
            return

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self._change(lambda: envs.remove(self.ctx, env.name))

        modal = modals.ActionModal(
            title=f"Remove environment {env.name}",
            env=env,
            summary=[
                f"Removes [environments.{env.name}] from {self.config_path()}.",
                "Its token stays in the keyring (prisme-deploy logout removes it).",
            ],
            confirm_text=env.name,
            confirm_label="Remove",
        )
        self.app.push_screen(modal, done)

    def config_path(self) -> Path:
        return envs.config_path(self.ctx)

    def _save(self, name: str, values: dict[str, Any]) -> None:
        self._change(lambda: envs.save(self.ctx, name, {k: from_form(k, v) for k, v in values.items()}))

    def _change(self, change: Callable[[], envs.EnvChange]) -> None:
        """The change, written under the file's lock with its audit row (the CLI's ``env`` does the same)."""
        try:
            done = change()
        except E.PrismeError as exc:
            self.app.notify(str(exc), title="Configuration not changed", severity="error", timeout=15)
            return
        self.ctx.config = done.config
        main = self.main
        if main.env_name not in done.config.environments:
            main.switch_env(next(iter(done.config.environments), None))
        main.log_pane.add(done.line)
        main.show_environments()
        main.show_env()
        self.app.refresh_health()  # "test connection": /v2/me and readiness, shown in the environments pane
