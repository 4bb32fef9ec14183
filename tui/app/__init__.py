"""The Textual app. Everything here drives ``tui.core``; nothing in the core imports from here."""
