"""Modal dialogs: forms, then a summary of exactly what will happen; focus where typing is needed, else on Cancel.

On a protected environment the confirm button stays disabled until the user types the workspace slug
(or, for bulk operations, the environment name); enter in the box confirms once it matches. Enter in any
box says what is still missing (and goes there); once nothing is, it confirms where the name was typed or
the dialog is harmless, and otherwise moves to Confirm: a box focused as the dialog opens never confirms a
dangerous change on one key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.scalar import Scalar
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static

from tui.app import actions
from tui.app.messages import TypedAhead
from tui.app.screens.dialog import Dialog
from tui.app.widgets.ticks import TickBox, TickList
from tui.core.api.models import validate_version_name
from tui.core.config import Environment
from tui.core.errors import InvalidVersionName
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
    missing: str = ""  # what enter says while a required field is empty (default: its label's first part)


class ActionModal(Dialog[dict[str, Any] | None]):
    """A titled form + summary + (maybe) type-to-confirm. Dismisses with the values, or None.

    It opens at once, so keys typed after the action key land in it: what it must compute first (a diff
    preview) is ``pending``, said in its place, and Confirm stays disabled until ``fill`` brings it.
    The summary, the confirmation and the buttons stay on screen at 80x24; the body (preview, fields)
    takes the room left and scrolls.
    """

    SCOPE = "dialog"
    BINDINGS = actions.bindings("dialog")

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
        pending: str | None = None,
        rails: list[Field] | None = None,
        envs: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.env = env
        # A change of several environments (a rollout) names them all in the badge, in order; ``env`` is
        # the one whose tier colours it (the most protected).
        self.envs = envs or [env.name]
        self.summary_lines = summary
        self.fields = fields or []
        self.confirm_text = confirm_text
        self.confirm_label = confirm_label
        self.danger = danger
        self.warnings = warnings or []
        self.details = details or []
        self.pending = pending  # what is still being computed; Confirm waits for it
        self.blocked: str | None = None  # why Confirm stays disabled whatever is typed (nothing to do)
        self.focus_target: Widget | None = None  # where typing goes from the start
        # The reason / break-glass fields (tui.app.controllers.rails): next to the confirmation, never scrolled away.
        self.rails_fields = rails or []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=f"-tier-{self.env.tier}"):
            yield Label(one_line(f" {self.env.badge} {' → '.join(self.envs)} "), id="dialog-badge", markup=False)
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            # What will happen never scrolls away: environment, target, versions stay in view.
            # Every line may carry server text (a description, a name): shown as text, never markup.
            yield Static(Content(_lines(self.summary_lines)), id="dialog-summary")
            with VerticalScroll(id="dialog-warnings", can_focus=False):  # bounded by _fit on a short screen
                for warning in self.warnings:
                    yield Label(Content(f"! {one_line(warning)}"), classes="warning")
            with VerticalScroll(id="dialog-body"):
                lines = self.details + ([self.pending] if self.pending else [])
                yield Static(Content(_lines(lines)), id="dialog-details", classes="" if lines else "-empty")
                for spec in self.fields:
                    yield from self._field_widgets(spec)
            # Boxes the preview asks to tick (accept the drift, stick the rollback): never scrolled away.
            yield Vertical(id="dialog-acks")
            if self.rails_fields:
                with Vertical(id="dialog-rails"):
                    for spec in self.rails_fields:
                        yield from self._field_widgets(spec)
            if self.confirm_text:
                yield Label(
                    # Spaces end a run, never start one: an SVG viewer drops a leading one ("support-botto").
                    Content.assemble(
                        "Protected: type ",
                        (one_line(self.confirm_text) + " ", "bold"),
                        "to enable ",
                        (self.confirm_label, "bold"),
                        ":",
                    ),
                    id="confirm-hint",
                )
                yield Input(placeholder="type the name here, enter confirms", id="confirm-input", compact=True)
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error" if self.danger else "primary",
                    disabled=bool(self.confirm_text) or bool(self.pending) or bool(self._invalid()),
                    compact=True,
                )

    def _field_widgets(self, spec: Field) -> ComposeResult:
        if spec.kind != "check":  # a checkbox carries its own label
            yield Label(Content(one_line(spec.label)), classes="field-label")
        yield from self._field(spec)
        if spec.kind == "version":
            yield Label("", id=f"{spec.id}-error", classes="field-error")

    def _field(self, spec: Field) -> ComposeResult:
        if spec.kind in ("text", "version", "password"):
            yield Input(
                value=terminal_safe(str(spec.value or "")),  # what is shown is what is submitted: inert
                placeholder=spec.placeholder,
                id=spec.id,
                password=spec.kind == "password",
                compact=True,
            )
        elif spec.kind == "select":
            options = [(Text(one_line(label)), value) for label, value in spec.options]
            yield Select(
                options,
                value=spec.value if spec.value is not None else Select.NULL,
                id=spec.id,
                allow_blank=False,
                compact=True,
            )
        elif spec.kind == "multi":
            yield TickList(
                *[(Text(one_line(label)), value, value in (spec.value or [])) for label, value in spec.options],
                id=spec.id,
            )
        elif spec.kind == "check":
            yield TickBox(Content(one_line(spec.label)), value=bool(spec.value), id=spec.id, compact=True)

    def on_mount(self) -> None:
        # Focus starts where typing is needed: a required field still empty (the reason a protected
        # environment asks for included: it sits above the name box, and "INC-42" typed first belongs
        # there), else the confirmation, else the first field, else Cancel. Keys typed as the dialog
        # opens land there.
        empty = next((f for f in self.fields + self.rails_fields if f.required and not f.value), None)
        if empty is not None:
            target: Widget | None = self.query_one(f"#{empty.id}")
        elif self.confirm_text:
            target = self.query_one("#confirm-input", Input)
        else:
            target = next(iter(self.query("#dialog-body Input, #dialog-body Select, #dialog-body SelectionList")), None)
            target = target or next(iter(self.query("#dialog-rails Input")), None)
        self.focus_target = target or self.query_one("#cancel", Button)
        self.focus_target.focus()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def on_key(self, event: events.Key) -> None:
        """A printable key that reached the dialog itself was sent before its focus was set (an input
        consumes the ones typed in it): it goes where typing goes."""
        if event.is_printable and not isinstance(self.focused, (Checkbox, SelectionList)):
            # A checkbox or a list of them takes its own keys: space ticks it.
            if self._opens_help(event.key):
                return  # nothing to type it into: ? runs its binding (help), as on every screen
            event.stop()
            self.on_typed_ahead(TypedAhead(event.key, event.character))

    def _opens_help(self, key: str) -> bool:
        """``key`` is bound to help here (the user's keymap included) and no text box would take it."""
        active = self.active_bindings.get(key)  # the keymap applied
        bound = active is not None and active.binding.action == "help"
        return bound and not isinstance(self.focused or self.focus_target, Input)

    def on_typed_ahead(self, message: TypedAhead) -> None:
        """Keys typed after the action key, before this dialog was on screen (``r`` then the slug, in one
        burst), reached the main screen: they belong here, in order, in the box that has focus. Anything
        else is dropped: nothing runs elsewhere."""
        target = self.focused or self.focus_target
        if not isinstance(target, Input):
            return
        if message.character and message.character.isprintable():
            target.insert_text_at_cursor(message.character)
        elif message.key == "backspace":
            target.action_delete_left()

    def _fit(self) -> None:
        """Give the body the rows the rest leaves: the reason, the confirmation and the buttons never go
        below the screen's edge, down to 80x24. Warnings too many for the room scroll (the body keeping a
        row) rather than push the boxes to fill in out of sight."""
        dialog = self.query_one("#dialog")
        body, warnings = self.query_one("#dialog-body"), self.query_one("#dialog-warnings")
        others = sum(child.outer_size.height for child in dialog.children if child not in (body, warnings))
        room = self.size.height - others - dialog.styles.gutter.height - body.styles.margin.height
        wanted = max(warnings.outer_size.height, warnings.virtual_size.height)  # its whole content
        shown = min(wanted, max(room - 1, 1))  # the warnings whole while the body keeps a row
        self._cap(warnings, shown if wanted else None)
        self._cap(body, max(room - shown, 1))

    @staticmethod
    def _cap(widget: Widget, rows: int | None) -> None:
        wanted = Scalar.from_number(rows) if rows is not None else None
        if widget.styles.max_height != wanted:
            widget.styles.max_height = wanted

    # -- filled in later -------------------------------------------------------------------------------
    async def fill(
        self,
        details: list[str],
        *,
        warnings: list[str] | None = None,
        fields: list[Field] | None = None,
        blocked: str | None = None,
    ) -> None:
        """What was pending arrived: the preview (and what it found: warnings, fields to acknowledge)."""
        self.pending, self.blocked = None, blocked
        self.details = details
        details_widget = self.query_one("#dialog-details", Static)
        details_widget.update(Content(_lines(details)))
        details_widget.set_class(not details, "-empty")
        for warning in warnings or []:
            self.warnings.append(warning)
            await self.query_one("#dialog-warnings").mount(Label(Content(f"! {one_line(warning)}"), classes="warning"))
        body, acks = self.query_one("#dialog-body"), self.query_one("#dialog-acks")
        for spec in fields or []:
            self.fields.append(spec)
            await (acks if spec.kind == "check" else body).mount_all(list(self._field_widgets(spec)))
        self._refresh_state()
        self.call_after_refresh(self._fit)

    # -- validation ---------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for spec in self.fields + self.rails_fields:
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
        found = self._problem()
        return found[0] if found else None

    def _problem(self) -> tuple[str, str | None] | None:
        """Why the form cannot be confirmed, and the id of the field to fix (None: none can fix it)."""
        if self.pending or self.blocked:
            return self.pending or self.blocked or "", None
        if not self.is_mounted:
            return None
        values = self.values()
        for spec in self.fields + self.rails_fields:
            value = values.get(spec.id)
            if spec.kind == "version" and value:
                try:
                    validate_version_name(value)
                except InvalidVersionName as exc:
                    return exc.message, spec.id
            if spec.required and not value:
                return spec.missing or f"{spec.label.split(':')[0].strip()} is required.", spec.id
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

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        """Enter in a box: what is still missing is said, and the focus goes there (a silent enter reads as
        a dead key). Once nothing is, it confirms where the name was typed or the dialog is harmless; in a
        dangerous one without a name to type it goes to Confirm first, so that a box focused as the dialog
        opens never confirms on one key."""
        event.stop()
        self._refresh_state()
        problem, where = self._missing()
        if problem:
            self.notify(problem, title=self.confirm_label, severity="warning")
            if where is not None:
                where.focus()
            return
        if self.confirm_text or not self.danger:  # the name typed is the deliberate act
            self._confirm()
        else:
            self.query_one("#confirm", Button).focus()

    def _missing(self) -> tuple[str | None, Widget | None]:
        """What stops Confirm, and the box that takes it (None: nothing to type, e.g. a plan computing)."""
        found = self._problem()
        if found is not None:
            problem, field_id = found
            return problem, self.query_one(f"#{field_id}") if field_id else None
        if self.confirm_text and self.query_one("#confirm-input", Input).value.strip() != self.confirm_text:
            text = f"Type {one_line(self.confirm_text)} in the confirmation box to enable {self.confirm_label}."
            return text, self.query_one("#confirm-input", Input)
        return None, None

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class LoginModal(Dialog[str | None]):
    """A password field for a missing or rejected token. The value goes to the keyring, never to a file."""

    SCOPE = "dialog"
    BINDINGS = actions.bindings("dialog")

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
    SCOPE = "confirm"
    BINDINGS = actions.bindings("confirm")

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
