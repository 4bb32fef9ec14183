"""Modules loaded on first use, so start-up pays only for what the first frame shows.

``lazy("tui.core.ops.actions")`` returns the module object at once and executes it the first time one
of its attributes is read (the standard library's ``importlib.util.LazyLoader``). Callers keep writing
``actions.push(...)``; type checkers see the real module through an ``if TYPE_CHECKING`` import.
First use must happen on one thread (Python 3.11's LazyLoader has no lock): in the app that is the
event loop's thread, where every action starts.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
