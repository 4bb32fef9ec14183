"""The command palette's actions: those of the screen it was opened FROM that can run right now.

Textual hands a provider the calling screen (``self.screen``), not the palette: enablement is asked of
that screen, so mutating actions are offered when they can run (the palette being a modal screen does
not hide them), and nothing disabled or hidden (``--read-only``) is listed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tui.app.actions import Action, by_group, display_keys, for_scope


def scope_of(screen: Screen[Any]) -> str:
    return str(getattr(screen, "SCOPE", ""))


def owner(screen: Screen[Any], action: Action) -> Screen[Any] | App[Any]:
    """The node whose binding runs the action: the screen when it implements it, else the App (which
    holds the main screen's bindings until MainScreen owns them)."""
    return screen if hasattr(screen, f"action_{action.name}") else screen.app


def state(screen: Screen[Any], action: Action) -> bool | None:
    """True: can run now; None: disabled (needs a selection); False: hidden (read-only)."""
    return owner(screen, action).check_action(action.name, action.params)


def keymap_of(app: App[Any]) -> dict[str, str]:
    """The user's ``[keymap]`` (action id -> keys), as the app applied it."""
    config = getattr(getattr(app, "ctx", None), "config", None)
    return dict(getattr(config, "keymap", None) or {})


def keys_of(app: App[Any], action: Action) -> str:
    return display_keys(keymap_of(app).get(action.id, action.keys))


def runnable(screen: Screen[Any]) -> list[Action]:
    return [a for a in for_scope(scope_of(screen)) if state(screen, a) is True]


async def run(screen: Screen[Any], action: Action) -> None:
    await owner(screen, action).run_action(action.action)


def _help(app: App[Any], action: Action) -> str:
    danger = "  ! changes the target, asks first" if action.dangerous else ""
    return f"key {keys_of(app, action)}{danger}"


class ActionPalette(Provider):
    """This screen's actions that can run now, by description and help text."""

    async def discover(self) -> Hits:
        for action in by_group(runnable(self.screen)):
            text = f"{action.description}: {action.help}"
            yield DiscoveryHit(text, partial(run, self.screen, action), text, _help(self.app, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in runnable(self.screen):
            text = f"{action.description}: {action.help}"
            score = matcher.match(text)
            if score > 0:
                command = partial(run, self.screen, action)
                yield Hit(score, matcher.highlight(text), command, text, _help(self.app, action))
