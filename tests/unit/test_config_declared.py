"""The configuration is declared once (tui/core/settings.py): the validator, the defaults, the JSON schema,
the `env add/edit` flags and the app's environment form are generated from it and agree on every key."""

from __future__ import annotations

import argparse
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tui.app.controllers.environments import Environments
from tui.cli import config_cmds
from tui.cli.main import main
from tui.core import config as cfg
from tui.core.config_schema import property_of, schema
from tui.core.settings import NUMBER, Setting

MINIMAL_ENV = {"url": "https://api.example.com"}


def _every_key() -> list[tuple[str, str, Setting]]:
    return [(section, key, spec) for section, table in cfg.SECTIONS.items() for key, spec in table.items()]


def _schema_table(section: str) -> dict[str, Any]:
    node = schema()["properties"][section]
    return node.get("additionalProperties", node) if section in ("environments", "groups", "repositories") else node


@pytest.mark.parametrize(("section", "key", "spec"), _every_key(), ids=lambda x: x if isinstance(x, str) else "")
def test_the_schema_has_every_declared_key_with_its_type_range_and_default(
    section: str, key: str, spec: Setting
) -> None:
    prop = _schema_table(section)["properties"][key]
    assert prop == property_of(spec)
    expected_type = {bool: "boolean", str: "string", int: "integer", list: "array", dict: "object"}
    assert prop["type"] == ("number" if spec.kind == NUMBER else expected_type[spec.kind])  # type: ignore[index]
    if spec.range:
        assert (prop["minimum"], prop["maximum"]) == spec.range
    if spec.choices:
        assert prop["enum"] == list(spec.choices)
    if spec.default_from is None and spec.default not in (None, ()):
        assert prop["default"] == spec.default
    assert (key in _schema_table(section).get("required", [])) == spec.required


def test_the_schema_and_the_validator_have_the_same_keys() -> None:
    for section, table in cfg.SECTIONS.items():
        assert set(_schema_table(section)["properties"]) == set(table), section


def _env(**values: Any) -> cfg.Environment:
    text = "[environments.dev]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in {**MINIMAL_ENV, **values}.items())
    return cfg.parse(text).environments["dev"]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def test_the_validator_applies_each_declared_default_and_range() -> None:
    env = _env()
    for key, spec in cfg.ENV_SETTINGS.items():
        if not spec.required:
            assert getattr(env, key) == spec.default_for(MINIMAL_ENV), key
    assert _env(tier="production").protected and _env(tier="production").require_reason
    ranged = [(section, key, spec) for section, key, spec in _every_key() if spec.range]
    assert {"timeout", "deadline", "keep", "log_lines", "max_body_mb"} <= {key for _, key, _ in ranged}
    for section, key, spec in ranged:
        low, high = spec.range  # type: ignore[misc]
        for value, ok in ((low, True), (high, True), (low - (low / 2 if low < 1 else 1), False), (math.inf, False)):
            text = _section_text(section, key, value)
            if ok:
                cfg.parse(text)
            else:
                with pytest.raises(cfg.ConfigError, match=key):
                    cfg.parse(text)


def _section_text(section: str, key: str, value: float) -> str:
    shown = "inf" if value == math.inf else repr(value)
    if section == "environments":
        return f'[environments.dev]\nurl = "https://x.example.com"\n{key} = {shown}\n'
    return f"[{section}]\n{key} = {shown}\n"


def _env_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    config_cmds.add_env_flags(parser)
    return parser


def test_env_add_offers_one_flag_per_declared_key() -> None:
    by_dest = {action.dest: action for action in _env_parser()._actions if action.option_strings}
    flagged = {key for key, spec in cfg.ENV_SETTINGS.items() if spec.flag}
    assert flagged == set(cfg.ENV_FLAGS) and flagged <= set(by_dest)
    tables = {key for key, spec in cfg.ENV_SETTINGS.items() if spec.kind is dict}
    assert tables == {"startup_import", "auth"}
    assert flagged >= set(cfg.ENV_SETTINGS) - tables  # only a table is edited in the file
    for key in flagged:
        spec, action = cfg.ENV_SETTINGS[key], by_dest[key]
        assert action.option_strings == [config_cmds.flag_name(key)]
        if spec.kind is bool:
            assert action.choices == ("yes", "no")
        elif spec.choices:
            assert tuple(action.choices or ()) == spec.choices
        elif spec.kind == NUMBER:
            assert action.type is float
        assert spec.help in (action.help or "")


def test_env_add_writes_what_the_flags_say_and_the_file_reads_it_back(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code = main(
        [
            *("env", "add", "qa", "--url", "https://api.qa.example.com", "--tier", "staging"),
            *("--timeout", "12", "--deadline", "300", "--require-reason", "yes", "--snapshots", "no"),
            *("--description", "the QA one", "--repositories", "release, hotfix", "--freeze", "Fri 16:00-Mon 08:00"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    from tui.core import paths

    path = paths.config_path(None)
    written = tomllib.loads(path.read_text(encoding="utf-8"))["environments"]["qa"]
    assert written["timeout"] == 12 and written["deadline"] == 300 and written["require_reason"] is True
    assert written["snapshots"] is False and written["repositories"] == ["release", "hotfix"]
    env = cfg.load(path).environments["qa"]
    assert (env.timeout, env.deadline, env.description, env.freeze) == (
        12.0,
        300.0,
        "the QA one",
        ("Fri 16:00-Mon 08:00",),
    )
    capsys.readouterr()
    assert main(["env", "edit", "qa", "--timeout", "0"]) == 2  # the declared range, with file:line
    assert "'timeout' must be a number from 0.1 to 3600" in capsys.readouterr().err
    assert cfg.load(path).environments["qa"].timeout == 12.0  # nothing half-written


def test_the_app_form_is_generated_from_the_declaration() -> None:
    form = Environments.fields(None, None)  # type: ignore[arg-type]  # the form needs no controller state
    labelled = [key for key, spec in cfg.ENV_SETTINGS.items() if spec.form]
    assert [f.id for f in form] == ["name", *labelled]
    assert {"url", "tier", "protected", "read_only", "verify_tls"} <= set(labelled)
    for f in form[1:]:
        spec = cfg.ENV_SETTINGS[f.id]
        assert f.label == spec.form
        assert f.kind == ("check" if spec.kind is bool else "select" if spec.choices else "text")
        assert f.value == (spec.default_for({}) if spec.kind is bool or spec.choices else spec.default or "")
        assert f.required == (spec.required and f.kind == "text")
    prod = cfg.parse('[environments.p]\nurl = "https://p.example.com"\ntier = "production"\n').environments["p"]
    assert {f.id: f.value for f in Environments.fields(None, prod)}["protected"] is True  # type: ignore[arg-type]
