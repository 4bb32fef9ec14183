"""Commands about prisme-deploy itself, as people who live in gh and k9s expect them: shell completion,
`info` for bug reports, `config validate|show|schema`, and help topics."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from tui.cli import completion, config_cmds, help_topics, info

    info.add_parser(sub)
    config_cmds.add_parser(sub)
    completion.add_parser(sub)
    help_topics.add_parser(sub)
