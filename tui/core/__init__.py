"""The Textual-free core: API client, SSE handling, configuration, secrets, operations, diff, audit.

Nothing under ``tui.core`` may import textual: the headless CLI and the TUI both drive it.
"""
