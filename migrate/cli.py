"""`crm-migrate`: one CLI for operators — sandbox, extract, build, load, report, demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from migrate.paths import StatePaths

console = Console()
app = typer.Typer(
    help=(
        "Migrate CRM data into Microsoft Dynamics 365 Sales (Dataverse).\n\n"
        "The flow: extract (dlt → DuckDB) → build (dbt: staging → marts + tests) → "
        "load (sample, then full) → report. With no configuration every command works on the "
        "embedded defaults: a DuckDB file under var/, generated source exports, and the local "
        "Dataverse. Point it at a real environment with DATAVERSE_URL, DATAVERSE_TENANT_ID, "
        "DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET (or DATAVERSE_CLIENT_CERT)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
extract_app = typer.Typer(help="Land source data in DuckDB with dlt.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Local stand-ins for the outside systems.", no_args_is_help=True)
app.add_typer(extract_app, name="extract")
app.add_typer(sandbox_app, name="sandbox")


def _paths() -> StatePaths:
    paths = StatePaths.from_env()
    paths.export_env()
    return paths


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@extract_app.command("opencrm")
def extract_opencrm(
    export_dir: Annotated[
        Path | None, typer.Option(help="Folder holding the OpenCRM CSV exports.")
    ] = None,
) -> None:
    """Land an OpenCRM CSV export (Companies, Contacts, Opportunities, Activities, Notes, Users)."""
    from extract.opencrm import ExportFormatError, run_extract

    paths = _paths()
    folder = export_dir or paths.opencrm_export
    try:
        result = run_extract(folder, paths.warehouse)
    except ExportFormatError as error:
        _fail(str(error), 2)
    console.print(result)


@extract_app.command("dataverse-users")
def extract_dataverse_users() -> None:
    """Read Dataverse systemusers and teams into DuckDB, so owners resolve by email in SQL."""
    from extract.dataverse import run_users_extract
    from load.config import ConfigError, DataverseSettings

    paths = _paths()
    try:
        settings = DataverseSettings.from_env()
    except ConfigError as error:
        _fail(str(error), 2)
    counts = run_users_extract(settings, paths.warehouse)
    console.print(counts)


@app.command()
def build(
    select: Annotated[str | None, typer.Option(help="dbt node selection, e.g. +dv_contact")] = None,
) -> None:
    """Run `dbt build`: seeds, models and every data test (integrity, reconciliation)."""
    from migrate.dbt import DbtFailed, dbt_build

    _paths()
    try:
        dbt_build(select)
    except DbtFailed as error:
        _fail(str(error))


@app.command()
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
        _fail("choose --sample N or --full, not both")
    _paths()
    try:
        settings = DataverseSettings.from_env()
        with rich_progress(console) as progress:
            result = run_load(settings, sample=sample, progress=progress)
    except (ConfigError, LoadError) as error:
        _fail(str(error), 2)
    load_paths = LoadPaths.from_env()
    print_report(write_report(build_report(result, load_paths.duckdb), load_paths.reports), console)
    if not result.ok:
        raise typer.Exit(1)


@sandbox_app.command("dataverse")
def sandbox_dataverse(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8443,
    reset: Annotated[bool, typer.Option(help="Empty the local Dataverse first.")] = False,
) -> None:
    """Run the local Dataverse Web API over HTTPS until Ctrl-C."""
    from sandbox.dataverse.__main__ import main as dataverse_main

    paths = _paths()
    argv = ["serve", "--port", str(port), "--data-dir", str(paths.dataverse_data)]
    if reset:
        argv.append("--reset")
    sys.exit(dataverse_main(argv))


@sandbox_app.command("opencrm")
def sandbox_opencrm(
    contacts: Annotated[int, typer.Option(help="Number of contacts; other files scale.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
    defect_rate: Annotated[float, typer.Option(help="Share of rows with injected defects.")] = 0.05,
    out: Annotated[Path | None, typer.Option(help="Output folder.")] = None,
) -> None:
    """Generate a deterministic OpenCRM CSV export with realistic defects."""
    from sandbox.opencrm import generate

    paths = _paths()
    folder = out or paths.opencrm_export
    counts = generate(folder, contacts=contacts, seed=seed, defect_rate=defect_rate)
    console.print(f"wrote {folder}: {counts}")


@app.command()
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
