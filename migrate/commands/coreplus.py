"""`crm-migrate coreplus …`: the CorePlus stand-in, its extract, and the CorePlus demo steps.

The lead wires `app` in as a sub-command group and `run_coreplus_demo` into
`crm-migrate demo --source coreplus`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from migrate.commands.common import console, fail, state_paths

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


def run_coreplus_demo(console: Console, *, clients: int = 200) -> int:
    """Generate → serve → extract → Dataverse users → dbt build (CorePlus); 0 when all passed.

    Loading needs the custom tables in Dataverse first (`schema apply`, issue 5): until the loader
    creates them, the demo stops after the build and says so.
    """
    from extract.coreplus import CorePlusSettings, run_extract
    from extract.dataverse import run_users_extract
    from load.config import DataverseSettings
    from migrate.dbt import DbtFailed, run_dbt
    from migrate.demo import local_dataverse_env
    from sandbox.coreplus import generate_dataset
    from sandbox.coreplus.api import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_CONSUMER_ID,
        DEFAULT_CONSUMER_SECRET,
    )
    from sandbox.coreplus.server import start_background as start_coreplus
    from sandbox.dataverse.server import start_background as start_dataverse
    from sandbox.dataverse.service import ServerConfig

    paths = state_paths()
    paths.var.mkdir(parents=True, exist_ok=True)
    dataverse = start_dataverse(ServerConfig(data_dir=paths.dataverse_data, port=0, reset=True))
    coreplus = start_coreplus(generate_dataset(clients))
    os.environ.update(local_dataverse_env(dataverse.url, dataverse.authority, dataverse.ca_file))
    try:
        console.rule("[bold]Extract CorePlus over its API (10 requests/s)")
        settings = CorePlusSettings(
            coreplus.url, DEFAULT_CONSUMER_ID, DEFAULT_CONSUMER_SECRET, DEFAULT_ACCESS_TOKEN
        )
        console.print(str(run_extract(settings, paths.warehouse)))
        console.rule("[bold]Extract Dataverse users")
        console.print(run_users_extract(DataverseSettings.from_env(), paths.warehouse))
        console.rule("[bold]dbt build (migration_source: coreplus)")
        run_dbt(["build", "--vars", "{migration_source: coreplus}"], quiet=True)
        import duckdb

        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            for row in con.sql("select * from main.reconciliation_coreplus").fetchall():
                console.print(
                    f"{row[0]:<20} source {row[1]:>7,}  mart {row[2]:>7,}  merged {row[3]:>5,}"
                    f"  quarantined {row[4]:>5,}"
                )
        console.print(
            "[yellow]load skipped: the CorePlus custom tables must be created in Dataverse by "
            "`schema apply` first (issue 5)."
        )
        return 0
    except (DbtFailed, Exception) as error:  # every failure stops the demo with its message
        console.print(f"[bold red]CorePlus demo failed:[/] {error}")
        return 1
    finally:
        coreplus.stop()
        dataverse.stop()
