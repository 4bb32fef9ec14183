"""Themes (issue 18): a colour-blind-safe and a high-contrast theme, chosen with `[ui] theme` or the
palette; tier colours distinct in 256 and 16 colours, the tier named in text for NO_COLOR; a snapshot
of each theme's main screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import settle_tolerant
from rich.color import Color, ColorSystem
from test_app import SNAP, frozen, frozen_template, make_app, snap_app  # noqa: F401  (fixtures)
from textual.color import Color as TColor
from textual.command import CommandList
from waits import wait_until

from tui.app import themes
from tui.sandbox.runner import Running

NEW_THEMES = [themes.COLORBLIND, themes.HIGH_CONTRAST]


def luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = Color.parse(hex_colour).triplet or (0, 0, 0)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize("theme", NEW_THEMES)
@pytest.mark.parametrize("system", [ColorSystem.EIGHT_BIT, ColorSystem.STANDARD])
def test_tier_colours_stay_distinct_in_256_and_16_colours(theme: str, system: ColorSystem) -> None:
    tiers = themes.TIER_COLOURS[theme]
    downgraded = {tier: Color.parse(bg).downgrade(system).number for tier, (bg, _) in tiers.items()}
    assert len(set(downgraded.values())) == 3, downgraded
    if system is ColorSystem.STANDARD:  # production stays red: 1 or bright red 9
        assert downgraded["production"] in (1, 9), downgraded


@pytest.mark.parametrize("theme", NEW_THEMES)
def test_tier_text_is_readable_on_its_colour(theme: str) -> None:
    for tier, (background, text) in themes.TIER_COLOURS[theme].items():
        light, dark = sorted((luminance(background), luminance(text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (tier, background, text)  # WCAG AA


def test_default_theme_tiers_use_three_different_colours() -> None:
    assert len({bg for bg, _ in themes.TIER_COLOURS["default"].values()}) == 3
    css = Path(themes.__file__).with_name("app.tcss").read_text(encoding="utf-8")
    for tier, (background, text) in themes.TIER_COLOURS["default"].items():
        assert f".-tier-{tier} #banner {{ background: {background}; color: {text}; }}" in css


@pytest.mark.e2e
@pytest.mark.parametrize("theme", NEW_THEMES)
async def test_configured_theme_colours_the_banner_by_tier(
    theme: str, platform: dict[str, Running], tmp_path: Path
) -> None:
    root = Path(platform["dev"].sandbox.data_dir).parent
    app = make_app(platform, root, extra=f'[ui]\ntheme = "{theme}"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        assert app.theme == theme and theme in app.available_themes
        banner = app.query_one("#banner")
        app.query_one("#environments").focus()
        for key, env, tier in (("", "prod", "production"), ("up", "staging", "staging"), ("up", "dev", "development")):
            if key:
                await pilot.press(key)  # the environments list: highlighting one switches to it
                await wait_until(pilot, lambda env=env: app.main.env_name == env, what=f"the switch to {env}")
            assert app.main.env_name == env
            background, _ = themes.TIER_COLOURS[theme][tier]
            assert banner.styles.background == TColor.parse(background), (env, banner.styles.background)
            assert {"production": "PROD", "staging": "STAGING", "development": "DEV"}[tier] in str(banner.render())


@pytest.mark.e2e
async def test_an_unknown_theme_is_reported_not_fatal(platform: dict[str, Running]) -> None:
    root = Path(platform["dev"].sandbox.data_dir).parent
    app = make_app(platform, root, extra='[ui]\ntheme = "solarised-nope"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        assert app.theme == "textual-dark"
        assert any("solarised-nope" in str(n.message) for n in app._notifications)


@pytest.mark.e2e
async def test_themes_are_offered_in_the_palette(platform: dict[str, Running]) -> None:
    root = Path(platform["dev"].sandbox.data_dir).parent
    app = make_app(platform, root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        app.search_themes()  # what the palette's "Change theme" command opens
        await pilot.pause()
        await pilot.press(*"high-contrast")
        await settle_tolerant(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.query_one(CommandList).option_count, what="the palette's hits")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == themes.HIGH_CONTRAST, what="the theme chosen")


@pytest.mark.e2e
async def test_no_color_keeps_the_tier_in_the_banner_text(
    platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    root = Path(platform["dev"].sandbox.data_dir).parent
    app = make_app(platform, root, extra=f'[ui]\ntheme = "{themes.COLORBLIND}"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        assert app.no_color
        assert str(app.query_one("#banner").render()).startswith(" PROD · prod")


@SNAP
@pytest.mark.e2e
@pytest.mark.parametrize("theme", NEW_THEMES)
def test_snapshot_main_screen_in_theme(theme: str, frozen: tuple[dict, Path], snap_compare: object) -> None:  # noqa: F811
    app = snap_app(frozen, extra=f'[ui]\ntheme = "{theme}"\n')  # ports drawn as fixed ones
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle_tolerant)  # type: ignore[operator]
