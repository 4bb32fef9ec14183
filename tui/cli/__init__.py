"""The headless command line: every TUI action as a subcommand, exit codes and JSON for pipelines."""
