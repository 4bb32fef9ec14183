"""`prisme-deploy help [TOPIC|COMMAND]`: every exit code and every environment variable, in one place.

The README links these topics instead of repeating them; tests check each exit code in tui/cli/exits.py
and each variable the code reads is listed here.
"""

from __future__ import annotations

import argparse
import sys

from tui.cli import exits

EXIT_CODES: list[tuple[int, str]] = [
    (exits.EXIT_OK, "success (for `diff`: the two sides are identical)"),
    (
        exits.EXIT_FAILED,
        "the operation reported errors or merge conflicts; for `diff`: the two sides differ, "
        "like `git diff --exit-code`; for `matrix`: some content differs between neighbouring environments; "
        "for `logout`: nothing could be removed; a local file that cannot be read or written",
    ),
    (
        exits.EXIT_USAGE,
        "usage or configuration error: a bad flag, an invalid config.toml (with file:line), an unknown "
        "workspace, version, group, repository or snapshot, a version name git would refuse, an "
        "answer that would need a prompt under --no-input or CI=true (the message names the flag)",
    ),
    (exits.EXIT_AUTH, "authentication or permission: no token, a rejected token, a forbidden action"),
    (
        exits.EXIT_NETWORK,
        "network, timeout or server error (5xx, an HTML page instead of JSON, an answer beyond [limits]); "
        "`status`: an environment is not up; `matrix`: a cell could not be read (and nothing differs)",
    ),
    (
        exits.EXIT_AUDIT,
        "the operation succeeded, but its audit journal entry could not be written (a full disk): "
        "the outcome is printed as usual, with a warning",
    ),
    (exits.EXIT_INTERRUPTED, "interrupted with Ctrl-C (the server may still be running the operation)"),
    (exits.EXIT_PIPE, "the reader of the output went away (`--json | head`): a quiet end, as `git log | head`"),
]

ENVIRONMENT: list[tuple[str, str]] = [
    ("PRISME_DEPLOY_CONFIG", "the configuration file (default: the user config folder; --config wins)"),
    ("PRISME_DEPLOY_DATA", "audit journal and safety snapshots (default: the user data folder)"),
    ("PRISME_DEPLOY_CACHE", "git clones read for diffs and the demo's seeded data (default: the user cache folder)"),
    (
        "PRISME_DEPLOY_TOKEN_<ENV>",
        "the API token of environment ENV (upper case, non-alphanumerics as _); read before the keyring, never stored",
    ),
    ("PRISME_DEPLOY_TOKEN", "the token for --url (when PRISME_DEPLOY_TOKEN_<ENV> is not set)"),
    ("PRISME_DEPLOY_REASON", "the reason for every change of this run (a ticket id); --reason wins"),
    ("PRISME_DEPLOY_PAGER", "pager for diff, audit, events and versions on a terminal; empty: no pager"),
    ("PAGER", "pager when PRISME_DEPLOY_PAGER is not set (default: less -R)"),
    ("LESS", "options for less (default FRX: quit if one screen, keep colours)"),
    ("CI", "true: never prompt, as with --no-input (set by every CI system)"),
    ("NO_COLOR", "no colours in the app: the tier is carried by the text (PROD, STAGING, DEV)"),
    ("PYTHON_KEYRING_BACKEND", "the keyring backend; keyring.backends.null.Keyring turns the keyring off"),
    ("XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME", "the user folders on Linux"),
    ("PRISME_SANDBOX_CLOCK", "sandbox only: a fixed start time, for reproducible demos and screenshots"),
    ("PRISMEAI_OPENAPI", "tests only: the official OpenAPI spec for the contract tests"),
]

TOPICS = {"exit-codes": "every exit code", "environment": "every environment variable"}


def exit_codes() -> str:
    return "Exit codes\n\n" + "".join(f"  {code:<4} {text}\n" for code, text in EXIT_CODES)


def environment() -> str:
    width = max(len(name) for name, _ in ENVIRONMENT if len(name) < 30)
    lines = []
    for name, text in ENVIRONMENT:
        lines.append(f"  {name:<{width}}  {text}" if len(name) <= width else f"  {name}\n  {'':<{width}}  {text}")
    return "Environment variables\n\n" + "\n".join(lines) + "\n"


def add_parser(sub: argparse._SubParsersAction) -> None:
    topics = ", ".join(f"{name} ({text})" for name, text in TOPICS.items())
    p = sub.add_parser(
        "help",
        help="help topics (exit-codes, environment) or a command's help",
        description=f"Topics: {topics}. Or a command: `prisme-deploy help diff`.",
    )
    p.add_argument("topic", nargs="?", metavar="TOPIC|COMMAND")
    p.set_defaults(func=cmd_help)


def cmd_help(args: argparse.Namespace) -> int:
    if args.topic == "exit-codes":
        sys.stdout.write(exit_codes())
        return exits.EXIT_OK
    if args.topic == "environment":
        sys.stdout.write(environment())
        return exits.EXIT_OK
    parser: argparse.ArgumentParser = args.root_parser  # main's, handed down: no import of main (no circle)
    if args.topic is None:
        parser.print_help()
        sys.stdout.write("\nHelp topics: " + ", ".join(f"prisme-deploy help {name}" for name in TOPICS) + "\n")
        return exits.EXIT_OK
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if args.topic not in commands.choices:
        known = ", ".join([*TOPICS, *sorted(commands.choices)])
        sys.stderr.write(f"error: no help topic or command {args.topic!r}. Known: {known}.\n")
        return exits.EXIT_USAGE
    commands.choices[args.topic].print_help()
    return exits.EXIT_OK
