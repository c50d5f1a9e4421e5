"""After a load: `diff`, `signoff`, `delta`, `rollback`, `report` (plain functions; cli.py
registers each as a command)."""

from __future__ import annotations

from typing import Annotated

import typer

from migrate.commands.common import console, fail, state_paths


def diff(
    run: Annotated[str | None, typer.Option(help="The run to check (default: the latest).")] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="Check every record the ledger says is in Dataverse.")
    ] = False,
) -> None:
    """Read the loaded records back from Dataverse and compare them field by field with the marts.

    Writes var/reports/diff-<run>.html, .csv (every mismatch) and .json; exit 1 on mismatches."""
    import duckdb

    from load.client import DataverseClient
    from load.config import ConfigError, DataverseSettings, LoadPaths
    from load.diff import run_diff, summary
    from load.ledger import Ledger
    from load.manifest import ManifestError, load_manifest

    state_paths()
    paths = LoadPaths.from_env()
    try:
        settings = DataverseSettings.from_env()
        specs = load_manifest(paths.manifest)
        with (
            DataverseClient(settings) as client,
            Ledger(paths.ledger) as ledger,
            duckdb.connect(str(paths.duckdb), read_only=True) as con,
        ):
            result = run_diff(
                client, ledger, con, specs, paths.reports, run_id=run, everything=all_records
            )
    except (ConfigError, ManifestError, ValueError) as error:
        fail(str(error), 2)
    for table, n in sorted(result.records.items()):
        console.print(f"{table:<16} {n:>8} compared  {summary(result).get(table, 0):>6} mismatches")
    for (table, column, kind), n in sorted(result.counts.items()):
        console.print(f"  [yellow]{table}.{column}[/]: {n} {kind}")
    console.print(f"diff: {result.html_path} (every mismatch: {result.csv_path})")
    if result.total:
        raise typer.Exit(1)


def signoff(
    by: Annotated[str, typer.Option(help="Who reviewed the sample and its diff.")],
    note: Annotated[str, typer.Option(help="What was accepted, and why.")] = "",
    run: Annotated[str | None, typer.Option(help="The sample run (default: the latest).")] = None,
) -> None:
    """Record that a sample load and its diff were reviewed: a full load needs this."""
    from load.config import LoadPaths
    from load.ledger import Ledger
    from load.signoff import SignoffError
    from load.signoff import signoff as record_signoff

    state_paths()
    try:
        with Ledger(LoadPaths.from_env().ledger) as ledger:
            signed = record_signoff(ledger, by=by, note=note, run_id=run)
    except SignoffError as error:
        fail(str(error), 2)
    console.print(
        f"sample {signed['run_id']} signed off by {by} "
        f"({signed['mismatches']} mismatch(es) in its diff)"
    )


def delta(
    delete_missing: Annotated[
        bool, typer.Option(help="Delete records whose source rows are gone (default: report).")
    ] = False,
    force: Annotated[bool, typer.Option(help="Skip the sign-off and preflight gates.")] = False,
    max_concurrency: Annotated[int, typer.Option(help="Requests in flight per user.")] = 52,
    bypass_business_logic: Annotated[
        bool, typer.Option(help="Send MSCRM.BypassBusinessLogicExecution.")
    ] = False,
) -> None:
    """Load what changed at source since the last successful load (after extract and build).

    New and edited rows are written; unchanged rows skipped; rows gone from the source are
    reported, and deleted only with --delete-missing."""
    from migrate.commands.load import _options, run_and_report

    options = _options(100, 1000, max_concurrency, True, delete_missing=delete_missing)
    run_and_report(
        sample=None, mode="delta", force=force, options=options, bypass=bypass_business_logic
    )


def rollback(
    run: Annotated[str | None, typer.Option(help="Undo this run only.")] = None,
    all_runs: Annotated[
        bool, typer.Option("--all", help="Undo the whole migration (every run).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Undo one run (delete what it created, restore what it updated) or the whole migration."""
    from load.client import DataverseClient
    from load.config import ConfigError, DataverseSettings, LoadPaths
    from load.ledger import Ledger
    from load.manifest import ManifestError, load_manifest
    from load.rollback import RollbackError
    from load.rollback import rollback as undo

    if (run is None) == (not all_runs):
        fail("choose --run RUN_ID or --all", 2)
    what = f"run {run}" if run else "the whole migration"
    if not yes and not typer.confirm(f"Undo {what} in Dataverse?"):
        raise typer.Exit(1)
    state_paths()
    paths = LoadPaths.from_env()
    try:
        settings = DataverseSettings.from_env()
        specs = load_manifest(paths.manifest)
        with DataverseClient(settings) as client, Ledger(paths.ledger) as ledger:
            result = undo(client, ledger, specs, run_id=run)
    except (ConfigError, ManifestError, RollbackError) as error:
        fail(str(error), 2)
    for table, n in result.deleted.items():
        console.print(f"{table:<16} deleted {n}")
    for table, n in result.restored.items():
        console.print(f"{table:<16} restored {n}")
    console.print(f"rollback {result.run_id} of {what}: {'ok' if result.ok else 'FAILED'}")
    for failure in result.failures[:10]:
        console.print(f"[red]failed[/] {failure}")
    if not result.ok:
        raise typer.Exit(1)


def report(
    run: Annotated[str | None, typer.Argument(help="A run id (default: the latest load).")] = None,
) -> None:
    """Rebuild a run's report (per phase and table; HTML with a chart, and JSON) from the ledger."""
    from load.config import LoadPaths
    from load.ledger import Ledger
    from load.report import print_report, report_from_ledger, write_report

    state_paths()
    paths = LoadPaths.from_env()
    with Ledger(paths.ledger) as ledger:
        try:
            built = report_from_ledger(ledger, paths.duckdb, run)
        except ValueError as error:
            fail(str(error), 2)
    print_report(write_report(built, paths.reports), console)
