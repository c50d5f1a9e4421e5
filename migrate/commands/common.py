"""What every command shares: the console, the state paths, and how a command fails."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from migrate.paths import StatePaths

# Piped output (CI logs, `| tee`) would otherwise wrap report tables at 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=120)


def state_paths() -> StatePaths:
    """The state folder, published to child processes (dbt reads MIGRATE_DUCKDB)."""
    paths = StatePaths.from_env()
    paths.export_env()
    return paths


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error that says what to do next, and exit with `code` (2 = bad input/config)."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
