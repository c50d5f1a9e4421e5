"""`crm-migrate schema plan|apply|preflight`: the target schema as code, checked before loading.

Registered by migrate/cli.py as `app.add_typer(schema.app, name="schema")`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from migrate.commands.common import console, fail, state_paths

if TYPE_CHECKING:
    from load.owners import OwnerReport
    from load.preflight import PreflightReport
    from load.schema import SchemaPlan

app = typer.Typer(
    help=(
        "The target schema as code. The declared schema (models/marts/dataverse/"
        "_dataverse__schema.yml plus each mart's custom_columns; publisher prefix, solution and "
        "licence tier in dbt_project.yml vars) is compared with the environment's metadata: "
        "`plan` prints what would be created, `apply` creates it in the solution and publishes, "
        "`preflight` checks every mart against the environment before any record moves."
    ),
    no_args_is_help=True,
)

ManifestOption = Annotated[
    Path | None,
    typer.Option(help="dbt manifest to read the marts from (default: target/manifest.json)."),
]
SchemaFileOption = Annotated[
    Path | None,
    typer.Option(
        help="Declared schema file (default: models/marts/dataverse/_dataverse__schema.yml)."
    ),
]
TierOption = Annotated[
    str | None,
    typer.Option(
        help="Licence tier (professional = 15 custom tables, enterprise, premium); "
        "default: var dataverse_licence_tier in dbt_project.yml."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _specs(manifest: Path | None):  # noqa: ANN202 - list[TableSpec], imported lazily
    from load.config import LoadPaths
    from load.manifest import ManifestError, load_manifest

    try:
        return load_manifest(manifest or LoadPaths.from_env().manifest)
    except ManifestError as error:
        fail(str(error), 2)


def _client():  # noqa: ANN202 - DataverseClient, imported lazily
    from load.client import DataverseClient
    from load.config import ConfigError, DataverseSettings

    try:
        return DataverseClient(DataverseSettings.from_env())
    except ConfigError as error:
        fail(str(error), 2)


def _plan(manifest: Path | None, schema_file: Path | None, tier: str | None) -> SchemaPlan:
    from load.client import DataverseError
    from load.schema import (
        DEFAULT_SCHEMA_FILE,
        SchemaError,
        SchemaSettings,
        load_declared_schema,
        plan_schema,
    )

    specs = _specs(manifest)
    try:
        settings = SchemaSettings.from_project(tier=tier)
        schema = load_declared_schema(
            specs, schema_file=schema_file or DEFAULT_SCHEMA_FILE, settings=settings
        )
        with _client() as client:
            return plan_schema(client, schema)
    except SchemaError as error:
        fail(str(error), 2)
    except DataverseError as error:
        fail(f"could not read the environment's metadata: {error}")


def print_plan(plan: SchemaPlan) -> None:
    settings = plan.settings
    console.print(
        f"Solution [bold]{settings.solution}[/], publisher prefix [bold]{settings.prefix}_[/], "
        f"tier [bold]{settings.tier}[/]: {plan.tier_message}."
    )
    if plan.actions:
        table = Table("create", "table", "name", "detail", title="What apply would create")
        for action in plan.actions:
            table.add_row(action.kind, action.table, action.name, action.detail)
        console.print(table)
    for table_name, key in plan.pending_keys:
        console.print(f"alternate key {table_name}.{key} exists but is not Active yet")
    for conflict in plan.conflicts:
        console.print(f"[yellow]differs:[/] {conflict.message}. Fix: {conflict.fix}")
    if plan.changes_nothing and not plan.conflicts:
        console.print("[green]The environment matches the declared schema: nothing to create.[/]")
    if plan.over_limit:
        console.print(f"[bold red]Over the licence limit:[/] {plan.tier_message}.")


@app.command("plan")
def plan(
    manifest: ManifestOption = None,
    schema_file: SchemaFileOption = None,
    tier: TierOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read the environment's EntityDefinitions and print what `apply` would create."""
    state_paths()
    result = _plan(manifest, schema_file, tier)
    if as_json:
        console.print_json(json.dumps(result.to_json()))
    else:
        print_plan(result)
    if result.over_limit:
        raise typer.Exit(1)


@app.command("apply")
def apply(
    manifest: ManifestOption = None,
    schema_file: SchemaFileOption = None,
    tier: TierOption = None,
    key_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for alternate-key indexes to become Active.")
    ] = 600.0,
) -> None:
    """Create what the declared schema adds (tables, columns, relationships, keys), then publish.

    Waits until alternate-key indexes are Active. Idempotent: a second apply changes nothing."""
    from load.client import DataverseError
    from load.schema import SchemaError, apply_schema

    state_paths()
    result_plan = _plan(manifest, schema_file, tier)
    print_plan(result_plan)
    try:
        with _client() as client:
            result = apply_schema(client, result_plan, key_timeout=key_timeout)
    except SchemaError as error:
        fail(str(error))
    except DataverseError as error:
        fail(f"the Metadata API refused a change: {error}")
    if result.solution_note:
        console.print(result.solution_note)
    if result.changed:
        console.print(
            f"[green]Created {len(result.done)} component(s); "
            f"{len(result.keys_active)} alternate key(s) Active; published "
            f"{', '.join(result.published)}.[/]"
        )
    else:
        console.print("[green]Nothing to change.[/]")
    if result_plan.conflicts:
        fail(
            f"{len(result_plan.conflicts)} declared component(s) could not be created as "
            "declared (listed above with their fix): fix them, then apply again"
        )


def print_owner_report(report: OwnerReport | None) -> None:
    """The owner discrepancy report: unmatched, disabled and email-less users, and the fallback."""
    if report is None:
        console.print("No owner resolution in the warehouse (run `crm-migrate build`).")
        return
    table = Table(
        "OpenCRM user",
        "email",
        "why",
        "records",
        "records go to",
        title=(
            f"Owners: {report.matched_users} matched; {len(report.discrepancies)} not "
            f"(fallback owner {report.fallback_email or '-'})"
        ),
    )
    for item in report.discrepancies:
        table.add_row(
            item.user_name or "(blank)",
            item.email or "(none)",
            item.explanation,
            str(item.records),
            item.outcome,
        )
    if report.discrepancies:
        console.print(table)
        for reason in sorted({d.reason for d in report.discrepancies}):
            sample = next(d for d in report.discrepancies if d.reason == reason)
            console.print(f"  {reason}: {sample.fix}")
    else:
        console.print(f"Owners: all {report.matched_users} OpenCRM users matched.")
    if report.fallback_problem:
        console.print(f"[bold red]Fallback owner:[/] {report.fallback_problem}")
    if report.dataverse_users_without_email:
        console.print(
            "Dataverse users without a primary email (cannot be matched): "
            + ", ".join(report.dataverse_users_without_email)
        )


def owners() -> OwnerReport | None:
    """Print the owner discrepancy report (plain function; also part of `schema preflight`)."""
    import duckdb

    from load.config import LoadPaths
    from load.owners import owner_report

    paths = LoadPaths.from_env()
    with duckdb.connect(str(paths.duckdb), read_only=True) as con, _client() as client:
        report = owner_report(con, client)
    print_owner_report(report)
    return report


def print_preflight(report: PreflightReport) -> None:
    print_owner_report(report.owners)
    if report.problems:
        table = Table("kind", "where", "problem", "fix", title="Preflight problems")
        for problem in report.problems:
            where = f"{problem.table}.{problem.column}" if problem.column else problem.table
            kind = problem.kind if problem.blocking else f"{problem.kind} (warning)"
            table.add_row(kind, where, problem.message, problem.fix)
        console.print(table)
    verdict = "[green]passed[/]" if report.ok else "[bold red]failed[/]"
    console.print(
        f"Preflight {verdict}: {len(report.tables)} tables checked, "
        f"{len(report.blocking)} blocking problem(s), {len(report.warnings)} warning(s)."
    )


@app.command("preflight")
def preflight(manifest: ManifestOption = None, as_json: JsonOption = False) -> None:
    """Check every mart against the target before any record moves, and report owners.

    Columns exist and are valid for create, types match, strings fit MaxLength, option values
    exist, lookups point at the right tables, owners are enabled users. Exit 1 when a blocking
    problem is found."""
    from load.client import DataverseError
    from load.config import LoadPaths
    from load.preflight import run_preflight

    state_paths()
    specs = _specs(manifest)
    paths = LoadPaths.from_env()
    if not paths.duckdb.is_file():
        fail(f"warehouse {paths.duckdb} not found: run extract and build first", 2)
    try:
        with _client() as client:
            report = run_preflight(client, specs, warehouse=paths.duckdb)
    except DataverseError as error:
        fail(f"could not read the environment: {error}")
    written = report.write(paths.reports)
    if as_json:
        console.print_json(json.dumps(report.to_json(), default=str))
    else:
        print_preflight(report)
        console.print(f"Report: {written}")
    if not report.ok:
        raise typer.Exit(1)
