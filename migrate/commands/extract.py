"""`crm-migrate extract …`: land source data in DuckDB with dlt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migrate.commands.common import console, fail, state_paths

app = typer.Typer(help="Land source data in DuckDB with dlt.", no_args_is_help=True)


@app.command("opencrm")
def extract_opencrm(
    export_dir: Annotated[
        Path | None, typer.Option(help="Folder holding the OpenCRM CSV exports.")
    ] = None,
) -> None:
    """Land an OpenCRM CSV export (Companies, Contacts, Opportunities, Activities, Notes, Users)."""
    from extract.opencrm import ExportFormatError, run_extract

    paths = state_paths()
    folder = export_dir or paths.opencrm_export
    try:
        result = run_extract(folder, paths.warehouse)
    except ExportFormatError as error:
        fail(str(error), 2)
    console.print(str(result))


@app.command("dataverse-users")
def extract_dataverse_users() -> None:
    """Read Dataverse systemusers and teams into DuckDB, so owners resolve by email in SQL."""
    from extract.dataverse import run_users_extract
    from load.config import ConfigError, DataverseSettings

    paths = state_paths()
    try:
        settings = DataverseSettings.from_env()
    except ConfigError as error:
        fail(str(error), 2)
    counts = run_users_extract(settings, paths.warehouse)
    console.print(counts)
