"""`prisme-deploy completion bash|zsh|fish`: a static completion script generated with shtab.

The script is plain shell: pressing Tab never starts Python (the parsers are built once, here, when the
script is generated). Environment names come from the configuration file at Tab time, read by `sed`
from its `[environments.NAME]` headers: `--config FILE` on the command line wins, then
PRISME_DEPLOY_CONFIG, then the platform's default path (the same rules as tui/core/paths.py).
"""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh", "fish")
FUNCTION = "_prisme_deploy_env_names"

# [environments.NAME] or [environments."NAME"]: the NAME; portable between GNU and BSD sed (-E).
_SED = (
    r"""sed -n -E 's/^[[:space:]]*\[[[:space:]]*environments[[:space:]]*\.[[:space:]]*"""
    r""""?([A-Za-z0-9_.-]+)"?[[:space:]]*\].*/\1/p'"""
)

INSTALL = {
    "bash": "prisme-deploy completion bash > ~/.local/share/bash-completion/completions/prisme-deploy",
    "zsh": 'prisme-deploy completion zsh > "${fpath[1]}/_prisme-deploy"   # then: autoload -U compinit && compinit',
    "fish": "prisme-deploy completion fish > ~/.config/fish/completions/prisme-deploy.fish",
}


def default_config_shell() -> str:
    """The default configuration path, as a shell expression (platformdirs' rules, evaluated at Tab time)."""
    if sys.platform == "darwin":
        return '"$HOME/Library/Application Support/prisme-deploy/config.toml"'
    return '"${XDG_CONFIG_HOME:-$HOME/.config}/prisme-deploy/config.toml"'


def _preambles() -> dict[str, str]:
    default = default_config_shell()
    bash = f"""
# Environment names from the configuration (no Python at Tab time).
{FUNCTION}() {{
  local config="${{PRISME_DEPLOY_CONFIG:-}}" i
  for ((i = 1; i < ${{#COMP_WORDS[@]}}; i++)); do
    case "${{COMP_WORDS[i]}}" in
      --config) config="${{COMP_WORDS[i+1]}}" ;;
      --config=*) config="${{COMP_WORDS[i]#--config=}}" ;;
    esac
  done
  [ -n "$config" ] || config={default}
  config="${{config/#\\~/$HOME}}"
  [ -r "$config" ] || return 0
  compgen -W "$({_SED} "$config")" -- "$1"
}}
"""
    zsh = f"""
# Environment names from the configuration (no Python at Tab time).
{FUNCTION}() {{
  local config="${{PRISME_DEPLOY_CONFIG:-}}" i
  for ((i = 1; i <= ${{#words}}; i++)); do
    case "${{words[i]}}" in
      --config) config="${{words[i+1]}}" ;;
      --config=*) config="${{words[i]#--config=}}" ;;
    esac
  done
  [[ -n "$config" ]] || config={default}
  config="${{~config}}"
  [[ -r "$config" ]] || return 1
  compadd -- ${{(f)"$({_SED} "$config")"}}
}}
"""
    fish_default = (
        "$HOME/Library/Application\\ Support/prisme-deploy/config.toml"
        if sys.platform == "darwin"
        else "(set -q XDG_CONFIG_HOME; and echo $XDG_CONFIG_HOME; or echo $HOME/.config)/prisme-deploy/config.toml"
    )
    fish = f"""
# Environment names from the configuration (no Python at Tab time).
function {FUNCTION}
  set -l config $PRISME_DEPLOY_CONFIG
  set -l tokens (commandline -opc)
  for i in (seq (count $tokens))
    switch $tokens[$i]
      case --config
        set config $tokens[(math $i + 1)]
      case '--config=*'
        set config (string replace -- --config= '' $tokens[$i])
    end
  end
  test -n "$config"; or set config {fish_default}
  test -r "$config"; or return 0
  {_SED} "$config"
end
"""
    return {"bash": bash, "zsh": zsh, "fish": fish}


ENV_COMPLETE = {"bash": FUNCTION, "zsh": FUNCTION, "fish": f"({FUNCTION})"}


def _mark_environment_arguments(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> int:
    """Attach the environment-name completer to every --env option and every environment-name positional."""
    marked = 0
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                marked += _mark_environment_arguments(child, (*path, name))
        elif "--env" in action.option_strings or (
            not action.option_strings and path[:1] == ("env",) and action.dest in ("name", "env")
        ):
            action.complete = ENV_COMPLETE  # type: ignore[attr-defined]
            marked += 1
    return marked


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script of ``parser`` (main's, handed down: completion does not import main)."""
    import shtab

    _mark_environment_arguments(parser)
    # shtab accepts a preamble per shell (a dict), though its annotation says str.
    return shtab.complete(parser, shell=shell, preamble=_preambles())  # type: ignore[arg-type]


def add_parser(sub: argparse._SubParsersAction) -> None:
    lines = "\n".join(f"  {shell}: {command}" for shell, command in INSTALL.items())
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a static completion script: subcommands, flags, and environment names read from "
        "the configuration at Tab time (no Python runs when you press Tab).",
        epilog=f"Install once:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell, args.root_parser))
    return 0
