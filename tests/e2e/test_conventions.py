"""Shell and CI conventions (issue 18): completion, info, config validate/show/schema, help topics, the
pager and the diff tool, --no-input, --jq, the man page, the Dockerfile, the README and the bug template."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tui import __version__
from tui.cli import exits, pager
from tui.cli.main import main
from tui.core import config as cfg

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
README = (ROOT / "README.md").read_text(encoding="utf-8")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_config(home: Path, text: str) -> Path:
    path = Path(os.environ["PRISME_DEPLOY_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


THREE_ENVS = """\
[environments.dev]
url = "http://127.0.0.1:1"

[environments."staging"]
url = "http://127.0.0.1:2"
tier = "staging"

[ environments.prod ]  # the header may be spaced and commented
url = "http://127.0.0.1:3"
tier = "production"
"""


# ------------------------------------------------------------------------------------------------ completion
def bash_complete(script: Path, words: list[str], env: dict[str, str]) -> list[str]:
    """Run the generated completion function in bash as Tab would, with only `sed` on the PATH:
    if the script tried to start Python (or prisme-deploy), it could not."""
    tools = script.parent / "bin"
    tools.mkdir(exist_ok=True)
    if not (tools / "sed").exists():
        (tools / "sed").symlink_to(shutil.which("sed") or "/bin/sed")
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}\n'
        'f=$(complete -p prisme-deploy | sed -E "s/.*-F ([^ ]+).*/\\1/")\n'
        '"$f" prisme-deploy "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["/bin/bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        env={"PATH": str(tools), "HOME": env.get("HOME", "/nonexistent"), **env},
        check=True,
    )
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completion_offers_commands_flags_and_the_configs_environments(
    tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(isolated_home, THREE_ENVS)
    code, out, _ = cli(capsys, "completion", "bash")
    assert code == 0
    script = tmp_path / "prisme-deploy.bash"
    script.write_text(out, encoding="utf-8")
    env = {"PRISME_DEPLOY_CONFIG": str(config)}
    assert bash_complete(script, ["prisme-deploy", "bulk-"], env) == ["bulk-push", "bulk-import"]
    assert sorted(bash_complete(script, ["prisme-deploy", "push", "--env", ""], env)) == ["dev", "prod", "staging"]
    assert bash_complete(script, ["prisme-deploy", "env", "remove", "st"], env) == ["staging"]
    assert {"--no-pager", "--jq", "--no-input"} <= set(bash_complete(script, ["prisme-deploy", "diff", "--"], env))
    # --config on the command line wins over PRISME_DEPLOY_CONFIG.
    other = tmp_path / "other.toml"
    other.write_text('[environments.qa]\nurl = "http://127.0.0.1:4"\n', encoding="utf-8")
    words = ["prisme-deploy", "status", "--config", str(other), "--env", ""]
    assert bash_complete(script, words, env) == ["qa"]
    # No configuration: no names, no error.
    assert bash_complete(script, ["prisme-deploy", "push", "--env", ""], {"PRISME_DEPLOY_CONFIG": "/none"}) == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_complete_environments_from_the_config(
    shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "completion", shell)
    assert code == 0 and "_prisme_deploy_env_names" in out and "environments" in out
    env_lines = [line for line in out.splitlines() if re.search(r'"--env\[|-l env ', line)]
    assert env_lines and all("_prisme_deploy_env_names" in line for line in env_lines), env_lines
    binary = shutil.which(shell)
    if not binary:
        return  # the shell is not installed here: the script's text was checked above
    path = tmp_path / f"completion.{shell}"
    path.write_text(out, encoding="utf-8")
    subprocess.run([binary, "-n", str(path)], check=True)
    config = tmp_path / "config.toml"
    config.write_text(THREE_ENVS, encoding="utf-8")
    if shell == "fish":
        program = f"source {path}; complete -C 'prisme-deploy push --env '"
    else:  # the preamble's function, with compadd replaced by a printer (no completion system here)
        preamble = out.split("# Custom Preamble", 1)[1].split("# End Custom Preamble", 1)[0]
        (tmp_path / "preamble.zsh").write_text(preamble, encoding="utf-8")
        program = (
            f"source {tmp_path / 'preamble.zsh'}; words=(prisme-deploy push --env ''); "
            'compadd() { print -l -- "${@[2,-1]}"; }; _prisme_deploy_env_names'
        )
    result = subprocess.run(
        [binary, "-c", program],
        capture_output=True,
        text=True,
        env={**os.environ, "PRISME_DEPLOY_CONFIG": str(config)},
        check=True,
    )
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["dev", "staging", "prod"]


def test_completion_rejects_an_unknown_shell(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["completion", "powershell"])
    assert exc.value.code == 2


# ------------------------------------------------------------------------------------------------ info
def test_info_lists_paths_keyring_and_versions_and_never_a_token(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", "at:very-secret-token-value")
    monkeypatch.setenv("PRISME_DEPLOY_CACHE", str(isolated_home / "cache"))
    code, out, _ = cli(capsys, "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["version"] == __version__ and info["textual"] == metadata.version("textual")
    assert info["paths"]["config"] == {
        "path": os.environ["PRISME_DEPLOY_CONFIG"],
        "exists": False,
        "source": "environment PRISME_DEPLOY_CONFIG",
    }
    assert info["paths"]["data"]["path"] == os.environ["PRISME_DEPLOY_DATA"]
    assert info["paths"]["audit"]["path"].endswith("audit.jsonl")
    assert info["paths"]["cache"] == {
        "path": str(isolated_home / "cache"),
        "exists": True,
        "source": "environment PRISME_DEPLOY_CACHE",
    }
    assert info["keyring"]["state"] == "disabled"  # PYTHON_KEYRING_BACKEND=null in the tests
    assert info["tokenVariables"] == ["PRISME_DEPLOY_TOKEN_PROD"]
    code, human, _ = cli(capsys, "info")
    assert code == 0 and "config path" in human and "keyring        disabled" in human
    assert "very-secret" not in out + human


def test_the_bug_report_template_asks_for_info() -> None:
    template = (ROOT / ".github" / "ISSUE_TEMPLATE" / "bug.md").read_text(encoding="utf-8")
    assert template.startswith("---\nname: Bug report") and "$ prisme-deploy info" in template


# ------------------------------------------------------------------------------------------------ config commands
def test_config_validate_exits_2_with_file_and_line(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(isolated_home, THREE_ENVS)
    code, out, _ = cli(capsys, "config", "validate")
    assert code == 0 and "valid (3 environment(s)" in out
    path.write_text(THREE_ENVS + "\n[ui]\nthem = 'x'\n", encoding="utf-8")
    code, _, err = cli(capsys, "config", "validate")
    assert code == 2 and f"{path}:13" in err and "Did you mean 'theme'" in err
    code, out, _ = cli(capsys, "config", "validate", "--json")
    assert code == 2 and json.loads(out)["line"] == 13 and json.loads(out)["valid"] is False
    code, _, err = cli(capsys, "config", "validate", "--config", str(isolated_home / "none.toml"))
    assert code == 2 and "no configuration file" in err


def test_config_show_gives_each_value_its_source(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(isolated_home, THREE_ENVS + '\n[diff]\ntool = "delta"\n')
    monkeypatch.setenv("PRISME_DEPLOY_PAGER", "most")
    code, out, _ = cli(capsys, "config", "show", "--json")
    shown = {entry["key"]: entry for entry in json.loads(out)}
    assert code == 0
    assert shown["file"] == {"key": "file", "value": str(path), "source": "environment"}
    assert shown["environments.staging.tier"] == {
        "key": "environments.staging.tier",
        "value": "staging",
        "source": "file",
        "line": 6,
    }
    assert shown["environments.dev.tier"]["source"] == "default" and shown["environments.dev.tier"]["value"] == (
        "development"
    )
    assert shown["environments.prod.protected"] == {
        "key": "environments.prod.protected",
        "value": True,
        "source": "default",
    }
    assert shown["diff.tool"]["value"] == "delta" and shown["diff.tool"]["source"] == "file"
    assert shown["pager"] == {"key": "pager", "value": "most", "source": "environment"}
    assert shown["paths.data"]["source"] == "environment"
    code, out, _ = cli(capsys, "config", "show", "--config", str(path))
    assert (
        code == 0
        and f'file = "{path}"  (flag)' in out
        and 'environments.prod.url = "http://127.0.0.1:3"  (file:9)' in out
    )


# Every key the schema knows, with a good and a bad value; the validator and the schema must agree on each.
def samples(schema: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    good = {"string": "x", "boolean": True, "integer": 3, "number": 2.5, "array": ["a"], "object": {}}
    bad = {"string": 7, "boolean": "yes", "integer": "3", "number": "2", "array": "a", "object": "x"}
    special_good = {
        "environments.url": "https://api.example.com",
        "environments.tier": "staging",
        "secrets.store": "none",
        "snapshots.keep": 2,
        "diff.ignore": ["index.yml:description"],
        "environments.freeze": ["2026-12-20/2027-01-03"],
        "environments.platform_variables": ["WORKSPACE_SECRET_crm_OPENAI_KEY"],
        "scan.allow": [{"fingerprint": "a0a02c3c7eeb95e3", "reason": "reviewed"}],
        "scan.pragma_files": [{"file": "crm/automations/a.yml", "reason": "reviewed"}],
        "environments.startup_import": {"repository": "release", "groups": ["base1"]},
        "environments.auth": {"method": "service-account", "org": "acme", "account": "ci"},
    }
    special_bad = {
        "environments.startup_import": {"repository": "release"},
        "environments.auth": {"method": "password"},
        "environments.url": "ftp://x",
        "environments.tier": "prod",
        "secrets.store": "file",
        "snapshots.keep": 0,
        "groups.labels": [],
    }
    out = []
    tables = {
        "environments": schema["properties"]["environments"]["additionalProperties"],
        "groups": schema["properties"]["groups"]["additionalProperties"],
        "repositories": schema["properties"]["repositories"]["additionalProperties"],
        "ui": schema["properties"]["ui"],
        "secrets": schema["properties"]["secrets"],
        "snapshots": schema["properties"]["snapshots"],
        "diff": schema["properties"]["diff"],
        "limits": schema["properties"]["limits"],
        "parity": schema["properties"]["parity"],
        "scan": schema["properties"]["scan"],
    }
    for table, spec in tables.items():
        for key, prop in spec["properties"].items():
            kind = prop.get("type") or "string"
            name = f"{table}.{key}"
            if "minimum" in prop:  # a ranged number: its lower bound is good, just below it is not
                low = prop["minimum"]
                ok, wrong = (int(low), int(low) - 1) if kind == "integer" else (low, low / 2 if low > 0 else -1)
                out.append((table, key, special_good.get(name, ok), special_bad.get(name, wrong)))
                continue
            out.append((table, key, special_good.get(name, good[kind]), special_bad.get(name, bad[kind])))
    return out


BASE = {
    "environments": {"dev": {"url": "https://dev.example.com"}},
    "groups": {"g": {"labels": ["a"]}},
    "repositories": {"r": {"path": "/srv/r.git"}},
}


def document(table: str, key: str, value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE))
    if table in ("environments", "groups", "repositories"):
        name = next(iter(doc[table]))
        doc[table][name][key] = value
    else:
        doc[table] = {key: value}
    return doc


def toml_text(doc: dict[str, Any]) -> str:
    import tomlkit

    return tomlkit.dumps(doc)


def agree(doc: dict[str, Any]) -> tuple[bool, bool]:
    import jsonschema

    from tui.core.config_schema import schema

    schema_ok = jsonschema.Draft202012Validator(schema()).is_valid(doc)
    try:
        cfg.parse(toml_text(doc))
        validator_ok = True
    except cfg.ConfigError:
        validator_ok = False
    return schema_ok, validator_ok


def test_schema_and_validator_agree_on_every_key() -> None:
    import jsonschema

    from tui.core.config_schema import schema

    the_schema = schema()
    jsonschema.Draft202012Validator.check_schema(the_schema)
    cases = samples(the_schema)
    # Every key the validator accepts is in the schema, and the other way round.
    tables = {
        "environments": cfg.ENV_KEYS,
        "groups": cfg.GROUP_KEYS,
        "repositories": cfg.REPO_KEYS,
        "ui": cfg.UI_KEYS,
        "snapshots": cfg.SNAPSHOT_KEYS,
        "diff": cfg.DIFF_KEYS,
        "limits": cfg.LIMIT_KEYS,
        "parity": cfg.PARITY_KEYS,
        "scan": cfg.SCAN_KEYS,
        "secrets": {"store": str},
    }
    assert {(t, k) for t, k, _, _ in cases} == {(t, k) for t, keys in tables.items() for k in keys}
    assert set(the_schema["properties"]) == set(cfg.TOP_KEYS)
    for table, key, good, bad in cases:
        assert agree(document(table, key, good)) == (True, True), (table, key, good)
        assert agree(document(table, key, bad)) == (False, False), (table, key, bad)
    for table in tables:  # an unknown key, a misspelt section, a secret-looking key
        assert agree(document(table, "colour", "x")) == (False, False), table
    assert agree({**BASE, "enviroments": {}}) == (False, False)
    assert agree({**BASE, "keymap": {"api_key": "x"}}) == (False, False)
    assert agree({**BASE, "keymap": {"rollback": "R"}}) == (True, True)
    assert agree({**BASE, "environments": {"bad name!": {"url": "https://x"}}}) == (False, False)
    assert agree({**BASE, "environments": {"dev": {"tier": "staging"}}}) == (False, False)  # no url
    assert agree({**BASE, "repositories": {"r": {"branch": "main"}}}) == (False, False)  # no url nor path
    assert agree({**BASE, "promotions": [{"from": "dev:a", "to": "dev:b"}]}) == (True, True)
    assert agree({**BASE, "promotions": [{"from": "dev", "to": "dev:b"}]}) == (False, False)


def test_config_schema_prints_json_and_the_readme_shows_the_schema_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "config", "schema")
    assert code == 0 and json.loads(out)["properties"]["environments"]
    assert "#:schema ./config.schema.json" in README and "prisme-deploy config schema >" in README
    # The README's own example validates against the schema.
    example = re.search(r"```toml\n(#:schema.*?)```", README, re.S)
    assert example is not None
    import jsonschema

    from tui.core.config_schema import schema

    jsonschema.validate(tomllib.loads(example.group(1)), schema())


# ------------------------------------------------------------------------------------------------ help topics
def test_help_exit_codes_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "help", "exit-codes")
    codes = {value for name, value in vars(exits).items() if name.startswith("EXIT_")}
    listed = {int(m) for m in re.findall(r"^\s+(\d+)\s", out, re.M)}
    assert code == 0 and listed == codes


def test_help_environment_lists_every_variable_the_code_reads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "help", "environment")
    read = set()
    for path in (ROOT / "tui").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"""environ(?:\.get)?[\[(]\s*["']([A-Z_]+)["']""", text))
        read |= set(re.findall(r"""getenv\(\s*["']([A-Z_]+)["']""", text))
    assert read, "the scan found nothing: the pattern is wrong"
    missing = [name for name in read if name not in out]
    assert code == 0 and not missing, missing
    assert "PRISME_DEPLOY_TOKEN_<ENV>" in out and "CI" in out and "NO_COLOR" in out
    assert "prisme-deploy help exit-codes" in README and "prisme-deploy help environment" in README


def test_help_of_a_command_and_of_an_unknown_topic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "help", "diff")
    assert code == 0 and "--from" in out and "--no-pager" in out
    code, _, err = cli(capsys, "help", "exit-code")
    assert code == 2 and "exit-codes" in err


# ------------------------------------------------------------------------------------------------ pager
@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ["less", "-R"]),
        ({"PAGER": "more"}, ["more"]),
        ({"PAGER": "more", "PRISME_DEPLOY_PAGER": "most -s"}, ["most", "-s"]),
        ({"PAGER": "more", "PRISME_DEPLOY_PAGER": ""}, None),
        ({"PRISME_DEPLOY_PAGER": "cat"}, None),
    ],
)
def test_pager_command_precedence(environ: dict[str, str], expected: list[str] | None) -> None:
    assert pager.pager_command(environ) == expected


def on_a_terminal(args: list[str], environ: dict[str, str]) -> tuple[int, str]:
    """Run prisme-deploy with a real terminal (a pty) on stdin, stdout and stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **environ},
        cwd=ROOT,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def recorder(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A pager (or diff tool) that writes what it reads to a file."""
    record = tmp_path / f"{name}.txt"
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ncat > '{record}'\n", encoding="utf-8")
    script.chmod(0o755)
    return script, record


def test_long_output_goes_through_the_pager_on_a_terminal_only(tmp_path: Path, isolated_home: Path) -> None:
    from tui.core.audit import AuditLog

    journal = AuditLog(Path(os.environ["PRISME_DEPLOY_DATA"]) / "audit.jsonl")
    with journal.record("rollback", "prod", targets=["support-bot"]):
        pass
    script, record = recorder(tmp_path, "pager")
    code, screen = on_a_terminal(["audit"], {"PRISME_DEPLOY_PAGER": str(script)})
    assert code == 0 and "support-bot" in record.read_text(encoding="utf-8") and "support-bot" not in screen
    record.unlink()
    code, screen = on_a_terminal(["audit", "--no-pager"], {"PRISME_DEPLOY_PAGER": str(script)})
    assert code == 0 and not record.exists() and "support-bot" in screen
    code, screen = on_a_terminal(["audit", "--json"], {"PRISME_DEPLOY_PAGER": str(script)})
    assert code == 0 and not record.exists() and '"support-bot"' in screen
    # In a pipe: never paged.
    piped = subprocess.run(
        [sys.executable, "-m", "tui", "audit"],
        capture_output=True,
        text=True,
        env={**os.environ, "PRISME_DEPLOY_PAGER": str(script)},
        cwd=ROOT,
        check=True,
    )
    assert not record.exists() and "support-bot" in piped.stdout


@pytest.mark.e2e
def test_diff_uses_the_configured_diff_tool_on_a_terminal(configured: Path, tmp_path: Path) -> None:
    tool, record = recorder(tmp_path, "delta")
    with configured.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[diff]\ntool = "{tool}"\n')
    args = ["diff", "--from", "prod:securechat@v1.0.0", "--to", "prod:securechat@v1.1.0"]
    code, _screen = on_a_terminal(args, {"PRISME_DEPLOY_PAGER": "/bin/false"})
    patch = record.read_text(encoding="utf-8")
    assert code == 1 and patch.startswith("---") and "\n+++ " in patch and "@@" in patch


# ------------------------------------------------------------------------------------------------ --no-input
class FakeTerminal:
    """A standard input that is a terminal: only --no-input or CI=true may stop the prompt."""

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        raise AssertionError("prompted despite --no-input")


def test_no_input_and_ci_never_prompt_and_name_the_flag(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_home, THREE_ENVS)
    monkeypatch.setattr("sys.stdin", FakeTerminal())
    monkeypatch.setattr("builtins.input", FakeTerminal().readline)
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: FakeTerminal().readline())
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "CHG-1")  # prod requires a reason; the question is --yes
    code, _, err = cli(capsys, "unlock", "support-bot", "--env", "prod", "--no-input")
    assert code == 2 and "needs --yes" in err and "--no-input" in err
    code, _, err = cli(capsys, "login", "--env", "dev", "--no-input")
    assert code == 2 and "--token-stdin" in err and "PRISME_DEPLOY_TOKEN_DEV" in err
    monkeypatch.setenv("CI", "true")
    code, _, err = cli(capsys, "unlock", "support-bot", "--env", "prod")
    assert code == 2 and "needs --yes" in err and "CI=true" in err


# ------------------------------------------------------------------------------------------------ --jq
@pytest.mark.e2e
def test_jq_filters_json_output_in_process(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--jq", '.[] | select(.slug == "securechat") | .slug')
    assert code == 0 and out == "securechat\n"  # strings print raw, as with gh --jq
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--jq", "[.[].slug] | length")
    assert code == 0 and int(out) > 3
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--jq", ".[0].nope.deeper | .x")
    assert code == 0 and out == "null\n"
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--jq", ".[0].slug | .x")
    assert code == 2 and "--jq" in json.loads(out)["message"]  # the error document, unfiltered
    os.environ.pop("PRISME_DEPLOY_TOKEN_DEV")
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--jq", ".[].slug")  # errors are never filtered
    assert code == 3 and json.loads(out)["error"]


def test_a_bad_jq_expression_fails_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["workspaces", "--url", "http://127.0.0.1:9", "--jq", ".[ | nope"])
    assert exc.value.code == 2 and "not a valid jq expression" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ man page
def test_the_checked_in_man_page_is_built_from_the_current_parsers() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_manpage.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    page = (ROOT / "man" / "prisme-deploy.1").read_text(encoding="utf-8")
    for command in ("completion", "info", "config", "bulk\\-push", "rollback"):
        assert f"\\fI\\,{command}\\/\\fR" in page, command
    assert ".SH EXIT STATUS" in page and "PRISME_DEPLOY_PAGER" in page


# ------------------------------------------------------------------------------------------------ distribution
INSTRUCTIONS = {"FROM", "ARG", "RUN", "ENV", "USER", "WORKDIR", "ENTRYPOINT", "CMD", "COPY", "LABEL", "EXPOSE"}


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """Join continuation lines, drop comments, split each instruction from its arguments."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word, rest.strip()))
    return out


def test_the_dockerfile_is_well_formed_and_installs_this_package() -> None:
    steps = dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    assert steps[0][0] == "FROM" and "python:3.11-slim" in steps[0][1]
    assert all(word in INSTRUCTIONS for word, _ in steps), steps
    assert all(rest for _, rest in steps)
    json.loads(dict(steps)["ENTRYPOINT"])  # exec form
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installs = [rest for word, rest in steps if word == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    assert re.search(r'"' + re.escape(project["name"]) + r'==\$\{PRISME_DEPLOY_VERSION\}"', installs[0])
    assert f"ARG PRISME_DEPLOY_VERSION={__version__}" in [f"{w} {r}" for w, r in steps]
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [i for i, (w, _) in enumerate(steps) if w == "USER"][-1] < [w for w, _ in steps].index("ENTRYPOINT")
    assert "keyring.backends.null.Keyring" in dict(steps)["ENV"]


def test_package_check_script_is_valid_bash() -> None:
    script = ROOT / ".ci" / "package-check"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    for step in ("-m build", "twine check", "python3 -m venv", "--version", " info", "demo --no-ui"):
        assert step in text, step


def test_readme_install_section_and_conventions_table() -> None:
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    for command in ("pipx install .", "uv tool install .", "git clone"):  # from what exists (issue 26)
        assert command in install, command
    for unpublished in ("uv tool install prisme-deploy", "pipx install prisme-deploy", "uvx prisme-deploy"):
        assert unpublished not in README, unpublished  # a PyPI name that is not ours (yet)
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert ".venv/bin/pip install -e . && .venv/bin/prisme-deploy demo" in quick
    table = README.split("### Shell and CI conventions", 1)[1].split("\n## ", 1)[0]
    for command in (
        "completion bash",
        "info",
        "config validate",
        "help exit-codes",
        "man ",
        "--jq",
        "--no-pager",
        "PRISME_DEPLOY_PAGER",
        "[diff] tool",
        "--no-input",
        "CI=true",
        ".ci/package-check",
    ):
        assert command in table, command
