"""`crm-migrate load`: upsert the Dataverse marts in dependency order, with an audit ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from migrate.commands.common import console, fail, state_paths


def load(
    sample: Annotated[
        int | None,
        typer.Option(help="Load N root records and all they reference or are referenced by."),
    ] = None,
    full: Annotated[bool, typer.Option(help="Load every mart row (the default).")] = False,
) -> None:
    """Upsert the Dataverse marts into Dataverse in dependency order, with an audit ledger."""
    from load.config import ConfigError, DataverseSettings, LoadPaths
    from load.report import build_report, print_report, write_report
    from load.runner import LoadError, run_load
    from migrate.progress import rich_progress

    if sample is not None and full:
        fail("choose --sample N or --full, not both", 2)
    state_paths()
    try:
        settings = DataverseSettings.from_env()
        with rich_progress(console) as progress:
            result = run_load(settings, sample=sample, progress=progress)
    except (ConfigError, LoadError) as error:
        fail(str(error), 2)
    load_paths = LoadPaths.from_env()
    print_report(write_report(build_report(result, load_paths.duckdb), load_paths.reports), console)
    if not result.ok:
        raise typer.Exit(1)
