"""Modal dialogs: forms, then a summary of exactly what will happen, focus on Cancel.

On a protected environment the confirm button stays disabled until the user types the workspace slug
(or, for bulk operations, the environment name). Enter never confirms by accident: Confirm must be
focused and enabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static

from tui.app.screens.dialog import Dialog
from tui.core.api.errors import InvalidVersionName
from tui.core.api.models import validate_version_name
from tui.core.config import Environment
from tui.core.text import one_line, terminal_safe


def _lines(lines: list[str]) -> str:
    """Dialog lines of server text: one per line, control characters (and stray line breaks) visible."""
    return "\n".join(one_line(line) for line in lines)


@dataclass
class Field:
    """A form field: kind is text, version, password, select, multi or check."""

    id: str
    label: str
    kind: str = "text"
    value: Any = None
    options: list[tuple[str, Any]] = field(default_factory=list)
    required: bool = False
    placeholder: str = ""


class ActionModal(Dialog[dict[str, Any] | None]):
    """A titled form + summary + (maybe) type-to-confirm. Dismisses with the values, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        *,
        title: str,
        env: Environment,
        summary: list[str],
        fields: list[Field] | None = None,
        confirm_text: str | None = None,
        confirm_label: str = "Confirm",
        danger: bool = True,
        warnings: list[str] | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.env = env
        self.summary_lines = summary
        self.fields = fields or []
        self.confirm_text = confirm_text
        self.confirm_label = confirm_label
        self.danger = danger
        self.warnings = warnings or []
        self.details = details or []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=f"-tier-{self.env.tier}"):
            yield Label(f" {self.env.badge} {self.env.name} ", id="dialog-badge", markup=False)
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            # What will happen never scrolls away: environment, target, versions stay in view.
            # Every line may carry server text (a description, a name): shown as text, never markup.
            yield Static(_lines(self.summary_lines), id="dialog-summary", markup=False)
            for warning in self.warnings:
                yield Label(f"! {terminal_safe(warning)}", classes="warning", markup=False)
            with VerticalScroll(id="dialog-body"):
                if self.details:
                    yield Static(_lines(self.details), id="dialog-details", markup=False)
                for spec in self.fields:
                    yield Label(one_line(spec.label), classes="field-label", markup=False)
                    yield from self._field(spec)
                    if spec.kind == "version":
                        yield Label("", id=f"{spec.id}-error", classes="field-error")
                if self.confirm_text:
                    yield Label(
                        Content.assemble(
                            "Protected environment: type ",
                            (one_line(self.confirm_text), "bold"),
                            " to enable ",
                            (self.confirm_label, "bold"),
                            ":",
                        ),
                        id="confirm-hint",
                    )
                    yield Input(placeholder="type the name here", id="confirm-input")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error" if self.danger else "primary",
                    disabled=bool(self.confirm_text) or bool(self._invalid()),
                )

    def _field(self, spec: Field) -> ComposeResult:
        if spec.kind in ("text", "version", "password"):
            yield Input(
                value=str(spec.value or ""), placeholder=spec.placeholder, id=spec.id, password=spec.kind == "password"
            )
        elif spec.kind == "select":
            options = [(Text(one_line(label)), value) for label, value in spec.options]
            yield Select(
                options, value=spec.value if spec.value is not None else Select.NULL, id=spec.id, allow_blank=False
            )
        elif spec.kind == "multi":
            yield SelectionList[Any](
                *[(Text(one_line(label)), value, value in (spec.value or [])) for label, value in spec.options],
                id=spec.id,
            )
        elif spec.kind == "check":
            yield Checkbox(Content(one_line(spec.label)), value=bool(spec.value), id=spec.id)

    def on_mount(self) -> None:
        # Focus starts where typing is needed (the first field, or the confirmation), otherwise on Cancel.
        first = self.query("Input, Select, SelectionList").first() if self.fields or self.confirm_text else None
        (first or self.query_one("#cancel", Button)).focus()

    # -- validation ---------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for spec in self.fields:
            widget = self.query_one(f"#{spec.id}")
            if isinstance(widget, Input):
                result[spec.id] = widget.value.strip()
            elif isinstance(widget, Select):
                result[spec.id] = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, SelectionList):
                result[spec.id] = list(widget.selected)
            elif isinstance(widget, Checkbox):
                result[spec.id] = widget.value
        return result

    def _invalid(self) -> str | None:
        if not self.is_mounted:
            return None
        values = self.values()
        for spec in self.fields:
            value = values.get(spec.id)
            if spec.kind == "version" and value:
                try:
                    validate_version_name(value)
                except InvalidVersionName as exc:
                    return exc.message
            if spec.required and not value:
                return f"{spec.label.rstrip(':')} is required."
        return None

    def _refresh_state(self) -> None:
        problem = self._invalid()
        for spec in self.fields:
            if spec.kind == "version":
                self.query_one(f"#{spec.id}-error", Label).update(
                    Content(one_line(problem)) if problem and "ersion" in problem else ""
                )
        typed_ok = True
        if self.confirm_text:
            typed_ok = self.query_one("#confirm-input", Input).value.strip() == self.confirm_text
        self.query_one("#confirm", Button).disabled = bool(problem) or not typed_ok

    @on(Input.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._refresh_state()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self._refresh_state()
        if not self.query_one("#confirm", Button).disabled:
            self.dismiss(self.values())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class LoginModal(Dialog[str | None]):
    """A password field for a missing or rejected token. The value goes to the keyring, never to a file."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, env: Environment, reason: str) -> None:
        super().__init__()
        self.env = env
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=f"-tier-{self.env.tier}"):
            yield Label(f" {self.env.badge} {self.env.name} ", id="dialog-badge", markup=False)
            yield Label(f"Token for {self.env.name}", id="dialog-title", markup=False)
            yield Static(
                terminal_safe(
                    f"{self.reason}\n{self.env.url}\nThe token is checked against /v2/me, then kept in the OS "
                    "keyring (or for this session only if the keyring is unusable)."
                ),
                id="dialog-summary",
                markup=False,
            )
            yield Input(password=True, placeholder="at:...", id="token")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="confirm", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#token", Input).focus()

    @on(Input.Submitted, "#token")
    @on(Button.Pressed, "#confirm")
    def _save(self) -> None:
        value = self.query_one("#token", Input).value.strip()
        if value:
            self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class YesNoModal(Dialog[bool]):
    BINDINGS = [Binding("escape", "no", show=False), Binding("y", "yes", show=False), Binding("n", "no", show=False)]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            yield Static(terminal_safe(self.text), id="dialog-summary", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("No", id="no")
                yield Button("Yes", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
