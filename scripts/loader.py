"""The one loader of scripts/realplatform.py as a module, for the tests (tests/realplatform_env.py) and the
bench (bench/realserver.py): ``from scripts.loader import realplatform``.

The script runs as ``python scripts/realplatform.py``; loaded from its file, it is the same module whoever
asks first, under the name ``realplatform``, whatever the folders on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

NAME = "realplatform"


def realplatform() -> ModuleType:
    """The script as a module, loaded once per process."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    spec = importlib.util.spec_from_file_location(NAME, Path(__file__).with_name(f"{NAME}.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module  # before exec: its dataclasses look their module up
    spec.loader.exec_module(module)
    return module
