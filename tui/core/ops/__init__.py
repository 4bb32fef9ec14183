"""Operations shared by the CLI and the TUI: each one checks safety, calls the API, verifies, audits."""
