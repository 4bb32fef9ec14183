"""Async client for the deployment part of the Prisme.ai API (see the official OpenAPI spec)."""

from tui.core.api.client import PrismeClient
from tui.core.api.errors import PrismeError

__all__ = ["PrismeClient", "PrismeError"]
