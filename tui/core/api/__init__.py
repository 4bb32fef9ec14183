"""Async client for the deployment part of the Prisme.ai API (see the official OpenAPI spec).

Nothing is imported here: ``tui.core.api.errors`` and ``models`` are cheap, ``client`` pulls in httpx
(about 80 ms), and the app imports it only when its first request goes out, after the first frame.
"""
