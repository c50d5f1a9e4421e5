"""sample -> diff -> sign-off -> full -> delta -> report -> rollback, from the CLI, against the
local Dataverse: it ends exactly as it started."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from migrate.commands import ops
from migrate.commands.load import load
from tests.load.production import make_setup

pytestmark = pytest.mark.e2e


def cli() -> typer.Typer:
    """The commands as migrate/cli.py registers them."""
    app = typer.Typer()
    app.command("load")(load)
    for name in ("diff", "signoff", "delta", "rollback", "report"):
        app.command(name)(getattr(ops, name))
    return app


def test_sample_signoff_full_delta_rollback_leaves_dataverse_as_it_found_it(
    tmp_path, fresh_dataverse, dataverse_env, monkeypatch
):
    setup = make_setup(tmp_path, fresh_dataverse, dataverse_env)
    for name, value in dataverse_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MIGRATE_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("MIGRATE_DUCKDB", str(setup.paths.duckdb))
    monkeypatch.setenv("MIGRATE_LEDGER", str(setup.paths.ledger))
    monkeypatch.setattr("load.config.PROJECT_ROOT", tmp_path)  # target/manifest.json there
    app, runner = cli(), CliRunner()

    def run(*args: str) -> int:
        result = runner.invoke(app, list(args))
        print(result.output)
        return result.exit_code

    before = fresh_dataverse.dump_lines()
    assert run("load", "--full") == 2  # no signed-off sample yet
    assert run("load", "--sample", "1") == 0
    assert run("signoff", "--by", "Ann Analyst") == 2  # its diff has not been run
    assert run("diff") == 0
    assert run("signoff", "--by", "Ann Analyst", "--note", "sample matches") == 0
    assert run("load", "--full") == 0
    setup.rows["dv_contact"][0]["lastname"] = "Edited"
    setup.rows["dv_contact"].pop()
    setup.rewrite()
    assert run("delta", "--delete-missing", "--force") == 0
    assert run("report") == 0
    report = json.loads(next((tmp_path / "var" / "reports").glob("2*.json")).read_text())
    assert {"sources", "tables"} <= set(report["phases"])
    assert run("rollback", "--all", "--yes") == 0

    assert fresh_dataverse.dump_lines() == before
