"""Two extra themes: colour-blind safe (Okabe-Ito) and high contrast, selectable with `[ui] theme` and
in the command palette ("Change theme").

The tier colours (banner, production borders, dialog frames) are the one thing a theme must never blur:
each theme gives the three tiers colours that stay distinct after the terminal downgrades them to 256
or 16 colours (tests/e2e/test_themes.py checks that), and the banner always names the tier in text
(PROD, STAGING, DEV), so NO_COLOR loses nothing. Textual puts `-theme-<name>` on the app; the rules
below override app.tcss's ANSI tier colours for these themes only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.theme import Theme

if TYPE_CHECKING:
    from pathlib import Path

    from textual.app import App

COLORBLIND = "prisme-colorblind"
HIGH_CONTRAST = "prisme-high-contrast"
TIERS = ("development", "staging", "production")

# (background, text) per tier. Blue, yellow and red (Okabe-Ito's hues, darkened so that the terminal's
# 16-colour downgrade still gives blue, bright yellow and red) differ for every kind of colour vision
# deficiency and in lightness, so they also survive a grey-scale terminal.
TIER_COLOURS: dict[str, dict[str, tuple[str, str]]] = {
    "default": {  # app.tcss: exact colours (a theme remaps named ANSI ones: production came out magenta)
        "development": ("#00af00", "#000000"),
        "staging": ("#d7af00", "#000000"),
        "production": ("#d70000", "#ffffff"),
    },
    COLORBLIND: {
        "development": ("#0055AA", "#FFFFFF"),
        "staging": ("#F0E442", "#000000"),
        "production": ("#CC2200", "#FFFFFF"),
    },
    HIGH_CONTRAST: {
        "development": ("#00FFFF", "#000000"),
        "staging": ("#FFFF00", "#000000"),
        "production": ("#CC0000", "#FFFFFF"),
    },
}

THEMES = (
    Theme(
        name=COLORBLIND,
        primary="#56B4E9",
        secondary="#0072B2",
        accent="#E69F00",
        warning="#F0E442",
        error="#D55E00",
        success="#009E73",
        foreground="#E8E8E8",
        background="#121212",
        surface="#1C1C1C",
        panel="#2A2A2A",
        dark=True,
    ),
    Theme(
        name=HIGH_CONTRAST,
        primary="#FFFF00",
        secondary="#00FFFF",
        accent="#00FFFF",
        warning="#FFFF00",
        error="#FF5555",
        success="#00FF00",
        foreground="#FFFFFF",
        background="#000000",
        surface="#000000",
        panel="#202020",
        boost="#FFFFFF",
        dark=True,
        variables={  # no dimmed greys: pane borders, scrollbars and muted text in full white
            "border": "#FFFFFF",
            "border-blurred": "#FFFFFF",
            "primary-muted": "#FFFFFF",
            "text-muted": "#FFFFFF",
            "scrollbar": "#FFFFFF",
            "scrollbar-background": "#000000",
        },
    ),
)


def tier_css() -> str:
    rules = []
    for theme, tiers in TIER_COLOURS.items():
        if theme == "default":
            continue
        scope = f".-theme-{theme}"
        for tier, (background, text) in tiers.items():
            rules.append(f"{scope} .-tier-{tier} #banner {{ background: {background}; color: {text}; }}")
            rules.append(f"{scope} #dialog.-tier-{tier} #dialog-badge {{ background: {background}; color: {text}; }}")
            if tier != "development":
                rules.append(f"{scope} #dialog.-tier-{tier} {{ border: thick {background}; }}")
        production = tiers["production"][0]
        rules.append(
            f"{scope} .-tier-production #workspaces, {scope} .-tier-production #versions "
            f"{{ border: round {production}; }}"
        )
        rules.append(
            f"{scope} .-tier-production #workspaces:focus, {scope} .-tier-production #versions:focus "
            f"{{ border: double {production}; }}"
        )
    return "\n".join(rules) + "\n"


def remember(app: App[Any], path: Path | None, name: str) -> None:
    """A theme chosen in the palette is kept: ``[ui] theme`` in the configuration file (comments kept,
    under its lock), written off the UI thread. Without a file (the demo's own) it lasts the session."""
    if path is None or not path.exists():
        return

    def write() -> None:
        from tui.core import config as cfg

        with cfg.ConfigEditor.locked(path) as editor:
            ui = editor._table("ui")
            if ui.get("theme") != name:
                ui["theme"] = name
                editor.save()

    def failed(error: Exception) -> None:
        app.notify(f"The theme was not saved: {error}", severity="warning", timeout=5)

    async def run() -> None:
        import asyncio

        try:
            await asyncio.to_thread(write)
        except Exception as exc:  # a read-only or invalid file: the session keeps the theme anyway
            failed(exc)

    app.run_worker(run(), group="theme", exclusive=True, exit_on_error=False)


def apply_configured(app: App[Any], name: object) -> None:
    """`[ui] theme`: a name the app does not know is reported in the log, never a crash at start-up."""
    if not name:
        return
    if str(name) in app.available_themes:
        app.theme = str(name)
        return
    known = ", ".join(sorted(app.available_themes))
    app.notify(
        f"[ui] theme {str(name)!r} is not a known theme; using the default. Known: {known}.",
        severity="warning",
        markup=False,
    )
