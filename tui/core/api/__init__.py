"""Async client for the deployment part of the Prisme.ai API (see the official OpenAPI spec).

Nothing is imported here: ``errors`` and ``models`` are cheap, ``client`` pulls in httpx, and the app
imports it only when its first request goes out, after the first frame.

httpx 0.28's package ``__init__`` also imports ``httpx._main``, its command-line tool, which loads
click, rich and pygments: about 90 ms of every start-up for a tool prisme-deploy never runs
(encode/httpx#3547). httpx falls back to a stub when that import fails, so a placeholder for that one
module, set before httpx is first imported, is enough. (It only matters in our own process.)
"""

import sys
from types import ModuleType

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))
