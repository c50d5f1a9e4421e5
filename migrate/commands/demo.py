"""`crm-migrate demo`: the whole migration end to end on embedded defaults."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from migrate.commands.common import console, fail
from migrate.paths import StatePaths

SOURCES = ("opencrm", "coreplus")


def demo(
    source: Annotated[
        str,
        typer.Option(help="The source system to migrate: opencrm (CSV export) or coreplus (API)."),
    ] = "opencrm",
    contacts: Annotated[
        int,
        typer.Option(help="Size of the generated source: OpenCRM contacts or CorePlus clients."),
    ] = 200,
    sample: Annotated[int, typer.Option(help="Root accounts in the sample load.")] = 10,
    keep: Annotated[
        bool, typer.Option(help="Keep var/demo from a previous run instead of starting clean.")
    ] = False,
) -> None:
    """Run the whole source → Dataverse migration on embedded defaults, end to end."""
    source = source.lower()
    if source not in SOURCES:
        fail(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}", 2)
    os.environ.setdefault("MIGRATE_VAR", str(StatePaths.from_env().var / "demo"))
    if source == "coreplus":
        from migrate.commands.coreplus import run_coreplus_demo

        code = run_coreplus_demo(console, clients=contacts, sample=sample, clean=not keep)
    else:
        from migrate.demo import run_demo

        code = run_demo(console, contacts=contacts, sample=sample, clean=not keep)
    raise typer.Exit(code)
