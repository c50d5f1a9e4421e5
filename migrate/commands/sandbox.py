"""`crm-migrate sandbox …`: the local stand-ins for the outside systems."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from migrate.commands.common import console, state_paths

app = typer.Typer(help="Local stand-ins for the outside systems.", no_args_is_help=True)


@app.command("dataverse")
def sandbox_dataverse(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8443,
    reset: Annotated[bool, typer.Option(help="Empty the local Dataverse first.")] = False,
    protection: Annotated[
        str, typer.Option(help="Service protection limits: off | default | requests=N,window=S…")
    ] = "off",
) -> None:
    """Run the local Dataverse Web API over HTTPS until Ctrl-C (credentials in the README)."""
    from sandbox.dataverse.__main__ import main as dataverse_main

    paths = state_paths()
    argv = ["serve", "--port", str(port), "--data-dir", str(paths.dataverse_data)]
    argv += ["--protection", protection]
    if reset:
        argv.append("--reset")
    sys.exit(dataverse_main(argv))


@app.command("opencrm")
def sandbox_opencrm(
    contacts: Annotated[int, typer.Option(help="Number of contacts; other files scale.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
    defect_rate: Annotated[float, typer.Option(help="Share of rows with injected defects.")] = 0.05,
    out: Annotated[Path | None, typer.Option(help="Output folder.")] = None,
) -> None:
    """Generate a deterministic OpenCRM CSV export with realistic defects."""
    from sandbox.opencrm import generate

    paths = state_paths()
    folder = out or paths.opencrm_export
    counts = generate(folder, contacts=contacts, seed=seed, defect_rate=defect_rate)
    console.print(f"wrote {folder}: {counts}")


@app.command("users")
def sandbox_users() -> None:
    """Land the local Dataverse's users and teams in DuckDB (owners resolve against them).

    For analysts without a Dataverse: starts the local one for a moment, extracts its systemusers
    and teams exactly as `crm-migrate extract dataverse-users` does against a real environment."""
    from extract.dataverse import run_users_extract
    from load.config import DataverseSettings
    from migrate.demo import local_dataverse_env
    from sandbox.dataverse.server import start_background
    from sandbox.dataverse.service import ServerConfig

    paths = state_paths()
    server = start_background(ServerConfig(data_dir=paths.dataverse_data, port=0))
    try:
        env = local_dataverse_env(server.url, server.authority, server.ca_file)
        counts = run_users_extract(DataverseSettings.from_env(env), paths.warehouse)
    finally:
        server.stop()
    console.print(f"landed from the local Dataverse into {paths.warehouse}: {counts}")
