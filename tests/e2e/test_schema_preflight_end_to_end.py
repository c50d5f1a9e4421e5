"""Issue 5, resolved when: on a fresh local Dataverse, `schema apply` then `preflight` then a load
run cleanly for the OpenCRM path. Generate, extract, dbt build, preflight (fails: nothing
provisioned), schema plan/apply, apply again (changes nothing), preflight (passes, with the owner
report), full load (creates no column: the schema step already did)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from extract.dataverse import run_users_extract
from extract.opencrm import run_extract
from load.client import DataverseClient
from load.config import DataverseSettings, LoadPaths
from load.manifest import load_manifest
from load.preflight import PreflightFailed, require_preflight, run_preflight
from load.runner import run_load
from load.schema import apply_schema, load_declared_schema, plan_schema
from migrate.commands.schema import app as schema_cli
from migrate.dbt import run_dbt
from migrate.paths import StatePaths
from sandbox.dataverse.server import RunningServer
from sandbox.opencrm import generate
from tests.fixtures.dataverse import client_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def provisioned(
    tmp_path_factory: pytest.TempPathFactory, dataverse_server: RunningServer
) -> dict[str, object]:
    dataverse_server.reset()
    var = tmp_path_factory.mktemp("e2e-schema-var")
    target = var / "target"
    env = {
        "MIGRATE_VAR": str(var),
        "MIGRATE_DUCKDB": str(var / "migration.duckdb"),
        "MIGRATE_LEDGER": str(var / "ledger.duckdb"),
    }
    outcome: dict[str, object] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**env, **client_env(dataverse_server)}.items():
            patch.setenv(name, value)
        paths = StatePaths.from_env()
        generate(paths.opencrm_export, contacts=60, seed=5)
        run_extract(paths.opencrm_export, paths.warehouse)
        settings = DataverseSettings.from_env()
        run_users_extract(settings, paths.warehouse)
        run_dbt(["build", "--target-path", str(target)], quiet=True)
        load_paths = LoadPaths(
            duckdb=paths.warehouse,
            ledger=paths.ledger,
            manifest=target / "manifest.json",
            reports=paths.reports,
        )
        specs = load_manifest(load_paths.manifest)
        with DataverseClient(settings) as client:
            outcome["before"] = run_preflight(client, specs, warehouse=paths.warehouse)
            try:
                require_preflight(client, specs, force=False, warehouse=paths.warehouse)
            except PreflightFailed as failed:
                outcome["refused"] = failed
            schema = load_declared_schema(specs)
            outcome["plan"] = plan = plan_schema(client, schema)
            outcome["applied"] = apply_schema(client, plan, poll=0.1)
            outcome["dump"] = dataverse_server.dump_lines()
            again = plan_schema(client, schema)
            outcome["again"] = (again, apply_schema(client, again, poll=0.1))
            outcome["dump_again"] = dataverse_server.dump_lines()
            outcome["after"] = require_preflight(
                client, specs, force=False, warehouse=paths.warehouse
            )
        outcome["cli"] = CliRunner().invoke(
            schema_cli, ["preflight", "--manifest", str(load_paths.manifest)], env=env
        )
        outcome["load"] = run_load(settings, paths=load_paths)
    return outcome


def test_preflight_refuses_before_the_schema_exists(provisioned: dict[str, object]) -> None:
    before = provisioned["before"]
    assert not before.ok  # type: ignore[attr-defined]
    missing = {
        (p.table, p.column)
        for p in before.problems  # type: ignore[attr-defined]
        if p.kind == "missing_column"
    }
    assert ("contact", "mig_sourcekey") in missing and ("account", "mig_sectorcode") in missing
    assert all(
        "crm-migrate schema apply" in p.fix for p in before.problems if p.kind == "missing_column"
    )  # type: ignore[attr-defined]
    assert isinstance(provisioned["refused"], PreflightFailed)


def test_apply_creates_columns_and_active_keys_then_changes_nothing(
    provisioned: dict[str, object],
) -> None:
    plan = provisioned["plan"]
    applied = provisioned["applied"]
    assert not plan.conflicts and not plan.over_limit  # type: ignore[attr-defined]
    kinds = {a.kind for a in applied.done}  # type: ignore[attr-defined]
    assert kinds == {"column", "key"}
    assert len(applied.keys_active) == 7  # type: ignore[attr-defined]
    again, second = provisioned["again"]  # type: ignore[misc]
    assert again.changes_nothing and not again.conflicts
    assert not second.changed
    assert provisioned["dump"] == provisioned["dump_again"]


def test_preflight_passes_and_reports_owners(provisioned: dict[str, object]) -> None:
    after = provisioned["after"]
    assert after.ok, [str(p) for p in after.problems]  # type: ignore[attr-defined]
    # warnings only: a lookup the OpenCRM rows never set (another source's custom lookup on a
    # shared mart) is reported but does not block
    assert all(p.kind == "lookup_missing" for p in after.warnings)  # type: ignore[attr-defined]
    owners = after.owners  # type: ignore[attr-defined]
    assert owners is not None and owners.fallback_problem is None
    reasons = {d.reason for d in owners.discrepancies}
    assert {"no_dataverse_user", "dataverse_user_disabled", "not_in_users_csv"} <= reasons
    assert owners.records_on_fallback > 0
    assert owners.dataverse_users_without_email == ["Mia Norris"]


def test_the_load_runs_cleanly_and_creates_no_column(provisioned: dict[str, object]) -> None:
    load = provisioned["load"]
    assert load.ok, load.failures[:5]  # type: ignore[attr-defined]
    assert load.columns_created == []  # type: ignore[attr-defined]
    assert sum(t.created for t in load.tables.values()) > 0  # type: ignore[attr-defined]


def test_the_preflight_command_prints_the_owner_report(provisioned: dict[str, object]) -> None:
    cli = provisioned["cli"]
    assert cli.exit_code == 0, cli.output  # type: ignore[attr-defined]
    output = " ".join(cli.output.split())  # type: ignore[attr-defined]
    assert "Preflight passed" in output
    assert "matched" in output and "fallback owner migration.admin@contoso.example" in output
    assert "dataverse_user_disabled:" in output and "Mia Norris" in output
    assert "preflight-" in output  # the JSON report's path
