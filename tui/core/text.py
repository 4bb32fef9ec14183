"""Server text made safe for a terminal: one sanitiser for every string a server or an archive wrote.

Workspace names, descriptions, version names, event messages and file names are written by anyone with
edit rights on an instance. Printed raw, an OSC 52 sequence writes the operator's clipboard, OSC 0 sets
the window title and ``ESC[2J`` clears the screen. Like ``git`` and ``less -R``, control characters
(C0 other than tab and newline, DEL, and C1 U+0080-U+009F) become visible escapes such as ``\\x1b``.
"""

from __future__ import annotations

import re
from typing import Any

# C0 without tab (09) and newline (0a), DEL, C1: all can start or be part of a terminal sequence.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")
_C1_OR_DEL = re.compile("[\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def terminal_safe(text: Any) -> str:
    """``text`` as a string with every control character except tab and newline made visible."""
    value = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, value)


def one_line(text: Any) -> str:
    """Like :func:`terminal_safe`, and newlines and tabs too: for table cells, titles and banners."""
    value = text if isinstance(text, str) else str(text)
    return _UNSAFE_ONE_LINE.sub(_escape, value)


_PICTURES = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_PICTURES[0x7F] = "\u2421"
_PICTURES.update({c: "\ufffd" for c in range(0x80, 0xA0)})


def same_length(text: str) -> str:
    """Control characters as one visible character each (``␛`` for ESC, as in Unicode's Control
    Pictures; ``�`` for C1): for diff lines, whose highlighted ranges are offsets into the text."""
    return text.translate(_PICTURES)


def json_safe(dumped: str) -> str:
    """JSON text with C1 controls and DEL escaped too (``json.dumps`` escapes only C0 controls).

    Outside strings JSON is ASCII, so a replacement can only land inside a string, where ``\\u0085``
    means the same character."""
    return _C1_OR_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
