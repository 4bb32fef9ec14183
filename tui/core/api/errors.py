"""Moved to :mod:`tui.core.errors` (issue 27): the one error hierarchy, which api/ and the rest import.

An alias for code written before the move (the same module object, so the same classes); import from
``tui.core.errors``. The import-linter contracts (pyproject.toml) keep the app away from it.
"""

import sys

from tui.core import errors

sys.modules[__name__] = errors
