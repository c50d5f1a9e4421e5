"""The demo: the whole OpenCRM → Dataverse migration on embedded defaults, end to end.

It starts the local Dataverse itself, generates an OpenCRM export, and then runs exactly the steps
an operator runs against a real environment: extract, dbt build, sample load, full load, report.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

from migrate.paths import StatePaths

if TYPE_CHECKING:
    from load.config import DataverseSettings

T = TypeVar("T")


class DemoStepFailed(RuntimeError):
    def __init__(self, step: str, error: BaseException) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step


def _step(console: Console, title: str, action: Callable[[], T]) -> T:
    console.rule(f"[bold]{title}")
    try:
        return action()
    except Exception as error:  # every failure stops the demo with the step named
        raise DemoStepFailed(title, error) from error


def local_dataverse_env(url: str, authority: str, ca_file: str) -> dict[str, str]:
    """What a client needs to reach the local Dataverse — the same variables a real one uses."""
    from sandbox.dataverse.service import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    return {
        "DATAVERSE_URL": url,
        "DATAVERSE_AUTHORITY": authority,
        "DATAVERSE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "DATAVERSE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "DATAVERSE_CA_BUNDLE": ca_file,
    }


def run_demo(console: Console, *, contacts: int, sample: int, clean: bool) -> int:
    from sandbox.dataverse.server import start_background
    from sandbox.dataverse.service import ServerConfig

    paths = StatePaths.from_env()
    if clean and paths.var.exists():
        shutil.rmtree(paths.var)
    paths.var.mkdir(parents=True, exist_ok=True)
    paths.export_env()

    console.rule("[bold]Start the local Dataverse")
    server = start_background(ServerConfig(data_dir=paths.dataverse_data, port=0, reset=clean))
    console.print(f"local Dataverse at {server.url} (OAuth authority {server.authority})")
    os.environ.update(local_dataverse_env(server.url, server.authority, server.ca_file))
    try:
        return _run_steps(console, paths, contacts=contacts, sample=sample)
    except DemoStepFailed as failure:
        console.print(f"[bold red]demo failed at step '{failure.step}':[/] {failure.__cause__}")
        return 1
    finally:
        server.stop()


def _run_steps(console: Console, paths: StatePaths, *, contacts: int, sample: int) -> int:
    from extract.dataverse import run_users_extract
    from extract.opencrm import run_extract
    from load.config import DataverseSettings
    from migrate.dbt import dbt_build
    from sandbox.opencrm import generate

    counts = _step(
        console,
        f"Generate an OpenCRM export ({contacts} contacts, with defects)",
        lambda: generate(paths.opencrm_export, contacts=contacts),
    )
    console.print(f"{paths.opencrm_export}: {counts}")
    extracted = _step(
        console,
        "Extract the export with dlt",
        lambda: run_extract(paths.opencrm_export, paths.warehouse),
    )
    console.print(str(extracted))
    settings = DataverseSettings.from_env()
    users = _step(
        console,
        "Extract Dataverse users (owners resolve by email)",
        lambda: run_users_extract(settings, paths.warehouse),
    )
    console.print(users)
    _step(
        console,
        "dbt build: models and tests",
        lambda: dbt_build(summary=lambda line: console.print(line, markup=False, highlight=False)),
    )

    return run_target_steps(console, paths, settings, sample=sample, source="opencrm")


def run_target_steps(
    console: Console,
    paths: StatePaths,
    settings: DataverseSettings,
    *,
    sample: int,
    source: str,
) -> int:
    """What every source shares once its marts are built, as an operator runs it: schema apply,
    preflight, sample load, diff, sign-off, full load, report. 0 when every record loaded."""
    from load.report import build_report, print_report, write_report
    from load.runner import run_load
    from migrate.commands import ops, schema
    from migrate.progress import rich_progress

    _step(console, "Schema: create the declared custom tables, columns and keys", schema.apply)
    _step(
        console,
        "Preflight: every mart against the environment, and the owner report",
        schema.preflight,
    )

    def load(sample_size: int | None):  # noqa: ANN202 - the loader's result type
        with rich_progress(console) as progress:
            return run_load(settings, sample=sample_size, progress=progress)

    def report(result):  # noqa: ANN001, ANN202
        return write_report(build_report(result, paths.warehouse, source=source), paths.reports)

    title = f"Sample load: {sample} accounts and their closure"
    sampled = _step(console, title, lambda: load(sample))
    print_report(report(sampled), console)
    _step(console, "Diff: read the sample back and compare field by field", ops.diff)
    _step(
        console,
        "Sign-off (automatic in the demo; an operator reviews the diff first)",
        lambda: ops.signoff(by="demo", note="demo run: diff reviewed automatically"),
    )
    full = _step(console, "Full load", lambda: load(None))
    full_report = report(full)
    console.rule("[bold]Done")
    print_report(full_report, console)
    console.print(f"ledger: {paths.ledger}")
    if not full.ok:
        console.print(f"[bold red]{len(full.failures)} record(s) failed to load; see the report.")
        return 1
    return 0
