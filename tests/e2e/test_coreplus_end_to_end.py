"""CorePlus → local Dataverse, end to end over real HTTP(S): the stand-in API on a free port, a
generated practice, extract, `dbt build` for migration_source coreplus, `schema apply` (the custom
tables and their lookups), preflight, sample load, full load, reconciliation, records and lookups
read back through the Web API, a second load that writes nothing, then a stand-in delta:
re-extract (incremental only), rebuild, and a delta load that writes only the changed rows."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from extract.coreplus import CorePlusSettings, run_extract
from extract.dataverse import run_users_extract
from load.client import DataverseClient
from load.config import DataverseSettings, LoadPaths
from load.manifest import TableSpec, load_manifest
from load.runner import LoadResult, run_load
from migrate.commands.schema import app as schema_cli
from migrate.dbt import run_dbt
from migrate.paths import StatePaths
from sandbox.coreplus import generate_dataset
from sandbox.coreplus.api import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CONSUMER_ID,
    DEFAULT_CONSUMER_SECRET,
    ApiConfig,
)
from sandbox.coreplus.server import start_background
from sandbox.dataverse.server import RunningServer
from tests.fixtures.dataverse import client_env

pytestmark = pytest.mark.e2e

CUSTOM_TABLES = {"mig_servicetype", "mig_clientgroup", "mig_invoice", "mig_invoiceline"}
CUSTOM_TABLES |= {"mig_clientreferrer"}
RATE = 100  # requests/s: the stand-in's limit and the extract's pace (10 in production)


def _build(target: Path) -> None:
    run_dbt(
        ["build", "--target-path", str(target), "--vars", "{migration_source: coreplus}"],
        quiet=True,
    )


def _snapshot(warehouse: Path, specs: list[TableSpec]) -> dict[str, dict[str, str]]:
    """table → primary key → a hash of the mart row: what a load would send."""
    found: dict[str, dict[str, str]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for spec in specs:
            relation = con.sql(f"select * from {spec.relation}")
            key = relation.columns.index(spec.primary_key)
            found[spec.table] = {
                str(row[key]).lower(): hashlib.sha256(repr(row).encode()).hexdigest()
                for row in relation.fetchall()
            }
    return found


def _written(ledger: Path, run_id: str) -> dict[str, set[str]]:
    """table → record ids the run wrote (created, updated, state, linked)."""
    with duckdb.connect(str(ledger), read_only=True) as con:
        rows = con.execute(
            "select table_name, lower(record_id) from ledger where run_id = ? and outcome = 'ok' "
            "and action <> 'delete'",
            [run_id],
        ).fetchall()
    written: dict[str, set[str]] = {}
    for table, record in rows:
        written.setdefault(table, set()).add(record)
    return written


@pytest.fixture(scope="module")
def migrated(
    tmp_path_factory: pytest.TempPathFactory, dataverse_server: RunningServer
) -> dict[str, Any]:
    """Run the whole path once for this module; the tests below inspect the outcome."""
    dataverse_server.reset()
    var = tmp_path_factory.mktemp("e2e-coreplus-var")
    target = var / "target"
    env = {
        "MIGRATE_VAR": str(var),
        "MIGRATE_DUCKDB": str(var / "migration.duckdb"),
        "MIGRATE_LEDGER": str(var / "ledger.duckdb"),
    }
    out: dict[str, Any] = {"server": dataverse_server}
    coreplus = start_background(generate_dataset(60, seed=7), ApiConfig(rate_limit=RATE))
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {**env, **client_env(dataverse_server)}.items():
                patch.setenv(name, value)
            paths = StatePaths.from_env()
            source = CorePlusSettings(
                coreplus.url,
                DEFAULT_CONSUMER_ID,
                DEFAULT_CONSUMER_SECRET,
                DEFAULT_ACCESS_TOKEN,
                rate_limit=RATE,
            )
            out["extract"] = run_extract(source, paths.warehouse)
            settings = DataverseSettings.from_env()
            run_users_extract(settings, paths.warehouse)
            _build(target)
            load_paths = LoadPaths(
                duckdb=paths.warehouse,
                ledger=paths.ledger,
                manifest=target / "manifest.json",
                reports=paths.reports,
            )
            manifest = ["--manifest", str(load_paths.manifest)]
            cli = CliRunner()
            out["plan"] = cli.invoke(schema_cli, ["plan", "--json", *manifest], env=env)
            out["apply"] = cli.invoke(schema_cli, ["apply", "--key-timeout", "30", *manifest])
            out["plan_after"] = cli.invoke(schema_cli, ["plan", *manifest])
            out["preflight"] = cli.invoke(schema_cli, ["preflight", *manifest])
            specs = load_manifest(load_paths.manifest)
            out["specs"] = specs
            out["sample"] = run_load(settings, sample=3, paths=load_paths)
            out["full"] = run_load(settings, paths=load_paths)
            out["counts"] = dataverse_server.counts()
            before = _snapshot(paths.warehouse, specs)
            out["mart_rows"] = {table: len(rows) for table, rows in before.items()}
            dump = dataverse_server.dump_lines()
            out["again"] = run_load(settings, paths=load_paths)
            out["dumps"] = (dump, dataverse_server.dump_lines())

            out["delta_summary"] = coreplus.api.apply_delta(seed=4)
            asked_before = len(coreplus.api.log)
            out["reextract"] = run_extract(source, paths.warehouse)
            out["reextract_requests"] = coreplus.api.log[asked_before:]
            _build(target)
            after = _snapshot(paths.warehouse, specs)
            out["delta"] = run_load(settings, paths=load_paths, mode="delta")
            out["delta_written"] = _written(paths.ledger, out["delta"].run_id)
            out["changes"] = {
                table: (
                    {k for k in after[table] if k not in before[table]},
                    {
                        k
                        for k, digest in after[table].items()
                        if k in before[table] and before[table][k] != digest
                    },
                    {k for k in before[table] if k not in after[table]},
                )
                for table in after
            }
            out["warehouse"] = paths.warehouse
            with DataverseClient(settings) as client:
                out["read_back"] = _read_back(client, paths.warehouse)
    finally:
        coreplus.stop()
    return out


# (entity set, mart, primary key, {mart lookup column: Dataverse attribute}, plain columns)
READ_BACK = [
    ("mig_invoicelines", "dv_mig_invoiceline", "mig_invoicelineid",
     {"mig_invoiceid": "mig_invoiceid", "mig_servicetypeid": "mig_servicetypeid",
      "ownerid": "ownerid"}, ["mig_name"]),
    ("mig_invoices", "dv_mig_invoice", "mig_invoiceid",
     {"mig_contactid": "mig_contactid", "ownerid": "ownerid"}, ["mig_name", "mig_status"]),
    ("mig_clientreferrers", "dv_mig_clientreferrer", "mig_clientreferrerid",
     {"mig_contactid": "mig_contactid", "mig_accountid": "mig_accountid"}, ["mig_name"]),
    ("contacts", "dv_contact", "contactid",
     {"mig_clientgroupid": "mig_clientgroupid", "ownerid": "ownerid"}, ["lastname"]),
    ("contacts", "dv_contact", "contactid",
     {"parentcustomerid_account": "parentcustomerid"}, ["lastname"]),
    ("mig_servicetypes", "dv_mig_servicetype", "mig_servicetypeid",
     {"ownerid": "ownerid"}, ["mig_name", "mig_category"]),
]  # fmt: skip


def _read_back(client: DataverseClient, warehouse: Path) -> list[tuple[str, str, Any, Any]]:
    """(mart, column, expected, found) for five records of each check whose first lookup is set."""
    results = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for entity_set, mart, key, lookups, plain in READ_BACK:
            columns = [key, *lookups, *plain]
            rows = con.sql(
                f"select {', '.join(columns)} from main.{mart} "
                f"where {next(iter(lookups))} is not null order by {key} limit 5"
            ).fetchall()
            select = [*plain, *(f"_{attribute}_value" for attribute in lookups.values())]
            for row in rows:
                expected = dict(zip(columns, row, strict=True))
                found = client.request(
                    "GET", f"{entity_set}({row[0]})", params={"$select": ",".join(select)}
                ).json()
                for column, attribute in lookups.items():
                    value = expected[column]
                    results.append(
                        (
                            mart,
                            column,
                            value and str(value).lower(),
                            found.get(f"_{attribute}_value"),
                        )
                    )
                results += [(mart, column, expected[column], found.get(column)) for column in plain]
    return results


def test_schema_apply_creates_the_custom_tables_and_lookups(migrated: dict[str, Any]) -> None:
    import json

    plan, apply, again = migrated["plan"], migrated["apply"], migrated["plan_after"]
    assert plan.exit_code == 0, plan.output
    actions = json.loads(plan.output)["actions"]
    tables = {a["table"] for a in actions if a["kind"] == "table"}
    assert tables == CUSTOM_TABLES
    lookups = {(a["table"], a["name"]) for a in actions if a["kind"] == "relationship"}
    assert ("contact", "mig_clientgroupid") in lookups
    assert ("mig_invoiceline", "mig_invoiceid") in lookups
    assert ("mig_invoiceline", "mig_servicetypeid") in lookups
    assert apply.exit_code == 0, apply.output
    assert again.exit_code == 0, again.output
    assert "nothing to create" in again.output


def test_preflight_passes_on_the_coreplus_path(migrated: dict[str, Any]) -> None:
    preflight = migrated["preflight"]
    assert preflight.exit_code == 0, preflight.output
    assert "Preflight passed" in " ".join(preflight.output.split())


def test_every_load_succeeds_and_every_mart_row_is_a_record(migrated: dict[str, Any]) -> None:
    sample: LoadResult = migrated["sample"]
    full: LoadResult = migrated["full"]
    assert sample.ok and full.ok, (sample.failures[:5], full.failures[:5])
    assert (
        0
        < sum(t.loaded for t in sample.tables.values())
        < sum(t.rows for t in full.tables.values())
    )
    assert {spec.table for spec in migrated["specs"]} >= CUSTOM_TABLES | {"contact", "account"}
    for table, rows in migrated["mart_rows"].items():  # as built before the full load
        assert rows > 0, table
        assert full.tables[table].rows == rows, table
        assert migrated["counts"].get(table) == rows, table


def test_every_source_row_is_accounted_for(migrated: dict[str, Any]) -> None:
    with duckdb.connect(str(migrated["warehouse"]), read_only=True) as con:
        rows = con.sql(
            "select source_object, source_rows, mart_rows, merged_rows, quarantined_rows "
            "from main.reconciliation_coreplus"
        ).fetchall()
        [(no_reason,)] = con.sql(
            "select count(*) from main.quarantine_coreplus where coalesce(reasons, '') = ''"
        ).fetchall()
    objects = {row[0] for row in rows}
    assert {"clients", "appointments", "invoices", "referrers"} <= objects, objects
    for source_object, source, mart, merged, quarantined in rows:
        assert source == mart + merged + quarantined, source_object
    assert sum(row[4] for row in rows) > 0, "the generator's defects are quarantined"
    assert no_reason == 0


def test_records_lookups_and_owners_read_back(migrated: dict[str, Any]) -> None:
    read_back = migrated["read_back"]
    wrong = [(mart, column, exp, got) for mart, column, exp, got in read_back if exp != got]
    assert not wrong, wrong[:10]
    checked = {(mart, column) for mart, column, _, _ in read_back}
    for _, mart, _, lookups, _ in READ_BACK:
        assert {(mart, column) for column in lookups} <= checked, mart


def test_a_second_load_writes_nothing(migrated: dict[str, Any]) -> None:
    again: LoadResult = migrated["again"]
    assert again.ok
    assert all(t.created == 0 and t.updated == 0 for t in again.tables.values())
    before, after = migrated["dumps"]
    assert before == after


def test_the_delta_is_fetched_incrementally(migrated: dict[str, Any]) -> None:
    first, second = migrated["extract"], migrated["reextract"]
    asked = migrated["reextract_requests"]
    assert asked and all(r.updated_since for r in asked), "every request is incremental"
    assert 0 < second.rows["clients"] < first.rows["clients"]
    changed = migrated["delta_summary"].changed("clients")
    assert changed and len(changed) <= second.rows["clients"]


def test_the_delta_load_writes_only_the_changed_rows(migrated: dict[str, Any]) -> None:
    delta: LoadResult = migrated["delta"]
    assert delta.ok, delta.failures[:5]
    written = migrated["delta_written"]
    changes = migrated["changes"]
    assert sum(len(new) + len(edited) for new, edited, _ in changes.values()) > 0
    for table, (new, edited, gone) in changes.items():
        result = delta.tables[table]
        assert written.get(table, set()) == new | edited, table
        assert result.created == len(new), table
        assert result.skipped == result.rows - len(new) - len(edited), table
        assert {record for record, _ in delta.missing.get(table, [])} == gone, table
    assert changes["contact"][2], "deleted clients leave the contact mart (quarantined)"
