"""`crm-migrate coreplus …`: the CorePlus stand-in, its extract, and the CorePlus demo
(`crm-migrate demo --source coreplus` runs `run_coreplus_demo`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from migrate.commands.common import console, fail, state_paths
from migrate.dbt import SUMMARY_LINE

app = typer.Typer(help="CorePlus: the API stand-in and the extract.", no_args_is_help=True)


def _dataset_path() -> Path:
    return state_paths().var / "sandbox" / "coreplus" / "dataset.json.gz"


@app.command("generate")
def generate(
    clients: Annotated[
        int, typer.Option(help="Clients (1 to 100,000); other records scale.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 42,
) -> None:
    """Write a deterministic CorePlus practice dataset for the stand-in to serve."""
    from sandbox.coreplus import generate_dataset, save_dataset

    path = save_dataset(generate_dataset(clients, seed), _dataset_path())
    console.print(f"wrote {path}")


@app.command("delta")
def delta(seed: Annotated[int, typer.Option(help="Random seed of the changes.")] = 43) -> None:
    """Apply two weeks of practice changes (new, edited, deleted) to the stand-in's dataset."""
    from sandbox.coreplus import apply_delta, load_dataset, save_dataset

    data = load_dataset(_dataset_path())
    summary = apply_delta(data, seed)
    save_dataset(data, _dataset_path())
    console.print(summary.counts())


@app.command("serve")
def serve(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8780) -> None:
    """Serve the dataset as the CorePlus API until Ctrl-C (credentials printed on start)."""
    from sandbox.coreplus.__main__ import main

    raise typer.Exit(main(["serve", "--dataset", str(_dataset_path()), "--port", str(port)]))


@app.command("extract")
def extract() -> None:
    """Fetch what changed since the last run into raw_coreplus (COREPLUS_* settings)."""
    from extract.coreplus import CorePlusError, CorePlusSettings, SettingsError, run_extract

    paths = state_paths()
    try:
        result = run_extract(CorePlusSettings.from_env(), paths.warehouse)
    except SettingsError as error:
        fail(str(error), 2)
    except CorePlusError as error:
        fail(str(error), 1)
    console.print(str(result))


def run_coreplus_demo(
    console: Console, *, clients: int = 200, sample: int = 10, clean: bool = True
) -> int:
    """The whole CorePlus → Dataverse migration on embedded defaults; 0 when every step passed.

    Starts the CorePlus stand-in (a generated practice) and the local Dataverse, then runs the
    steps an operator runs against real ones: extract over the API, Dataverse users, `dbt build`
    with migration_source coreplus, schema apply (the custom tables and their lookups),
    preflight, sample load, diff, sign-off, full load and the report."""
    import shutil

    from migrate.demo import DemoStepFailed, _step, local_dataverse_env
    from migrate.paths import StatePaths
    from sandbox.coreplus import generate_dataset, save_dataset
    from sandbox.coreplus.server import start_background as start_coreplus
    from sandbox.dataverse.server import start_background as start_dataverse
    from sandbox.dataverse.service import ServerConfig

    paths = StatePaths.from_env()
    if clean and paths.var.exists():
        shutil.rmtree(paths.var)
    paths.var.mkdir(parents=True, exist_ok=True)
    paths.export_env()
    started: list = []
    try:
        data = _step(
            console,
            f"Generate a CorePlus practice ({clients} clients, with defects)",
            lambda: generate_dataset(clients),
        )
        console.print(
            f"{save_dataset(data, _dataset_path())}: "
            + ", ".join(f"{len(rows):,} {name}" for name, rows in data.items())
        )
        coreplus = _step(
            console, "Start the CorePlus API stand-in and the local Dataverse",
            lambda: start_coreplus(data),
        )  # fmt: skip
        started.append(coreplus)
        dataverse = start_dataverse(
            ServerConfig(data_dir=paths.dataverse_data, port=0, reset=clean)
        )
        started.append(dataverse)
        console.print(f"CorePlus API stand-in at {coreplus.url} (10 requests/s, then 429)")
        console.print(f"local Dataverse at {dataverse.url} (OAuth authority {dataverse.authority})")
        os.environ.update(
            local_dataverse_env(dataverse.url, dataverse.authority, dataverse.ca_file)
        )
        return _run_coreplus_steps(console, paths, coreplus.url, sample=sample)
    except DemoStepFailed as failure:
        console.print(f"[bold red]demo failed at step '{failure.step}':[/] {failure.__cause__}")
        return 1
    finally:
        for server in reversed(started):
            server.stop()


def _run_coreplus_steps(console: Console, paths, url: str, *, sample: int) -> int:  # noqa: ANN001

    import duckdb

    from extract.coreplus import CorePlusSettings, run_extract
    from extract.dataverse import run_users_extract
    from load.config import DataverseSettings
    from migrate.dbt import run_dbt
    from migrate.demo import _step, run_target_steps
    from sandbox.coreplus.api import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_CONSUMER_ID,
        DEFAULT_CONSUMER_SECRET,
    )

    source = CorePlusSettings(
        url, DEFAULT_CONSUMER_ID, DEFAULT_CONSUMER_SECRET, DEFAULT_ACCESS_TOKEN
    )
    extracted = _step(
        console,
        "Extract CorePlus over its API with dlt (paced under 10 requests/s)",
        lambda: run_extract(source, paths.warehouse),
    )
    console.print(str(extracted))
    settings = DataverseSettings.from_env()
    users = _step(
        console,
        "Extract Dataverse users (owners resolve by email)",
        lambda: run_users_extract(settings, paths.warehouse),
    )
    console.print(users)

    def build() -> None:
        def summary(line: str) -> None:
            if SUMMARY_LINE.search(line):
                console.print(line, markup=False, highlight=False)

        run_dbt(["build", "--vars", "{migration_source: coreplus}"], echo=summary)

    _step(console, "dbt build (migration_source: coreplus): models and tests", build)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.sql(
            "select source_object, source_rows, mart_rows, merged_rows, quarantined_rows "
            "from main.reconciliation_coreplus order by source_object"
        ).fetchall()
        practitioners = con.sql(
            "select practitioner_name, coalesce(email_address, '(no email)'), discrepancy "
            "from main.practitioner_discrepancies order by 1"
        ).fetchall()
    console.print("Every source row accounted for (reconciliation_coreplus):")
    for name, source_rows, mart, merged, quarantined in rows:
        console.print(
            f"  {name:<20} source {source_rows:>7,} = mart {mart:>7,} + merged {merged:>5,} "
            f"+ quarantined {quarantined:>5,}"
        )
    if practitioners:
        console.print(
            "Practitioners without an enabled Dataverse user (their records go to the fallback "
            "owner, var fallback_owner_email; practitioner_discrepancies):"
        )
        for name, email, why in practitioners:
            console.print(f"  {name} <{email}>: {why}")

    return run_target_steps(console, paths, settings, sample=sample, source="coreplus")
