"""`crm-migrate demo`: the whole migration end to end on embedded defaults."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from migrate.commands.common import console
from migrate.paths import StatePaths


def demo(
    contacts: Annotated[int, typer.Option(help="Size of the generated OpenCRM export.")] = 200,
    sample: Annotated[int, typer.Option(help="Root accounts in the sample load.")] = 10,
    keep: Annotated[
        bool, typer.Option(help="Keep var/demo from a previous run instead of starting clean.")
    ] = False,
) -> None:
    """Run the whole OpenCRM → Dataverse migration on embedded defaults, end to end."""
    from migrate.demo import run_demo

    os.environ.setdefault("MIGRATE_VAR", str(StatePaths.from_env().var / "demo"))
    code = run_demo(console, contacts=contacts, sample=sample, clean=not keep)
    raise typer.Exit(code)
