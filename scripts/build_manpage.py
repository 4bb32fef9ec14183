#!/usr/bin/env python3
"""Build man/prisme-deploy.1 from the CLI's own parsers (argparse-manpage), or check it is current.

python scripts/build_manpage.py           # write man/prisme-deploy.1
python scripts/build_manpage.py --check   # exit 1 if the checked-in page differs (CI: tests/e2e/test_conventions.py)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "man" / "prisme-deploy.1"


def render() -> str:
    from argparse_manpage.manpage import Manpage

    sys.path.insert(0, str(ROOT))
    from tui import __version__
    from tui.cli.main import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps help to the terminal: the page must not depend on it
    try:
        parser = build_parser()
        page = Manpage(
            parser,
            _data={
                "project_name": "prisme-deploy",
                "version": __version__,
                "date": f"version {__version__}",  # reproducible: no build date in a checked-in file
                "manual_title": "prisme-deploy manual",
                "description": "version, promote and roll back Prisme.ai workspaces",
            },
        )
        return str(page) + _topics()
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def _roff(text: str) -> str:
    return text.replace("\\", "\\\\").replace("-", "\\-")


def _topics() -> str:
    """EXIT STATUS and ENVIRONMENT from the help topics (`prisme-deploy help exit-codes|environment`)."""
    from tui.cli.help_topics import ENVIRONMENT, EXIT_CODES

    lines = [".SH EXIT STATUS"]
    for code, text in EXIT_CODES:
        lines += [".TP", f"\\fB{code}\\fR", _roff(text)]
    lines.append(".SH ENVIRONMENT")
    for name, text in ENVIRONMENT:
        lines += [".TP", f"\\fB{_roff(name)}\\fR", _roff(text)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the checked-in page")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python scripts/build_manpage.py", file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
