"""`crm-migrate load`: upsert the Dataverse marts in dependency order, with an audit ledger."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from migrate.commands.common import console, fail, state_paths

EXTRA_USERS_ENV = "DATAVERSE_EXTRA_USERS"  # "client-id:secret,client-id:secret"


def load(
    sample: Annotated[
        int | None,
        typer.Option(help="Load N root records and all they reference or are referenced by."),
    ] = None,
    full: Annotated[bool, typer.Option(help="Load every mart row (the default).")] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Start a full load without a signed-off sample or with preflight problems "
            "(the override is recorded in the ledger)."
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option(help="First bulk request size; adapts.")] = 100,
    max_batch_size: Annotated[int, typer.Option(help="Largest bulk request.")] = 1000,
    max_concurrency: Annotated[
        int, typer.Option(help="Most requests in flight per application user.")
    ] = 52,
    bulk: Annotated[
        bool, typer.Option(help="UpsertMultiple where supported (else $batch).")
    ] = True,
    bypass_business_logic: Annotated[
        bool,
        typer.Option(help="Send MSCRM.BypassBusinessLogicExecution (skip custom plug-ins)."),
    ] = False,
) -> None:
    """Upsert the Dataverse marts into Dataverse in dependency order, with an audit ledger.

    A full load needs a signed-off sample (`load --sample N`, `diff`, `signoff`) and a clean
    preflight, unless --force. Rows unchanged since the last successful load are skipped.
    Extra application users (to spread per-user limits): DATAVERSE_EXTRA_USERS=id:secret,…"""
    if sample is not None and full:
        fail("choose --sample N or --full, not both", 2)
    options = _options(batch_size, max_batch_size, max_concurrency, bulk)
    run_and_report(
        sample=sample,
        mode="sample" if sample else "full",
        force=force,
        options=options,
        bypass=bypass_business_logic,
    )


def _options(batch_size: int, max_batch_size: int, max_concurrency: int, bulk: bool, **extra: Any):  # noqa: ANN202
    from load.runner import LoadOptions

    return LoadOptions(
        batch_size=batch_size,
        max_batch_size=max(batch_size, max_batch_size),
        max_concurrency=max_concurrency,
        use_bulk=bulk,
        **extra,
    )


def run_and_report(
    *, sample: int | None, mode: str, force: bool, options: Any, bypass: bool
) -> None:
    """The shared body of `load` and `delta`: gate, load, report, exit code."""
    from load.client import DataverseClient
    from load.config import ConfigError, DataverseSettings, LoadPaths
    from load.ledger import Ledger
    from load.manifest import ManifestError, load_manifest
    from load.report import build_report, print_report, write_report
    from load.runner import LoadError, run_load
    from load.signoff import latest_signoff
    from migrate.progress import rich_progress

    state_paths()
    load_paths = LoadPaths.from_env()
    clients: list[DataverseClient] = []
    try:
        settings = DataverseSettings.from_env()
        client = DataverseClient(settings, bypass_business_logic=bypass)
        clients = [client, *_extra_clients(settings, bypass)]
        notes: dict[str, Any] = {"mode": mode, "bypass_business_logic": bypass}
        if mode != "sample":
            with Ledger(load_paths.ledger) as ledger:
                signed = latest_signoff(ledger)
            notes["signoff"] = signed
            if signed is None and not force:
                fail(
                    "no signed-off sample: run `crm-migrate load --sample 200`, "
                    "`crm-migrate diff` and `crm-migrate signoff --by NAME` first (or --force)",
                    2,
                )
            if signed is None:
                notes.setdefault("forced", []).append("no signed-off sample")
            notes.update(_preflight(client, load_manifest(load_paths.manifest), force))
        with rich_progress(console) as progress:
            result = run_load(
                settings,
                sample=sample,
                progress=progress,
                options=options,
                client=client,
                clients=clients[1:],
                mode=mode,
                notes=notes,
            )
    except (ConfigError, LoadError, ManifestError) as error:
        fail(str(error), 2)
    finally:
        for each in clients:
            each.close()
    print_report(write_report(build_report(result, load_paths.duckdb), load_paths.reports), console)
    for table, records in result.missing.items():
        verb = "deleted" if options.delete_missing else "still in Dataverse (use --delete-missing)"
        console.print(f"[yellow]{len(records)} {table} record(s) gone from the source:[/] {verb}")
    if not result.ok:
        raise typer.Exit(1)


def _preflight(client: Any, specs: Any, force: bool) -> dict[str, Any]:
    """Issue 5's preflight gate; absent (not yet merged) means nothing to check."""
    try:
        from load.preflight import PreflightFailed, require_preflight
    except ImportError:  # pragma: no cover - until load/preflight.py lands
        return {"preflight": "not available"}
    try:
        report = require_preflight(client, specs, force=force)
    except PreflightFailed as error:
        fail(f"{error}\n(fix the problems, or pass --force to load anyway)", 2)
    if not report.ok:
        return {"preflight": "failed", "forced": [f"{len(report.blocking)} preflight problem(s)"]}
    return {"preflight": "ok"}


def _extra_clients(settings: Any, bypass: bool) -> list[Any]:
    """More application users, to multiply per-user limits (community practice; it does not
    raise the tenant's entitlements)."""
    import dataclasses

    from load.client import DataverseClient

    clients = []
    for item in filter(None, (os.environ.get(EXTRA_USERS_ENV) or "").split(",")):
        client_id, _, secret = item.strip().partition(":")
        user = dataclasses.replace(settings, client_id=client_id, client_secret=secret)
        clients.append(DataverseClient(user, bypass_business_logic=bypass))
    return clients
