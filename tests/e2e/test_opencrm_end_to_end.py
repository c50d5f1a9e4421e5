"""OpenCRM → local Dataverse, end to end over real HTTPS: generate, extract, dbt build, sample load,
full load, and a second full load that must change nothing."""

from __future__ import annotations

import ssl
from pathlib import Path

import duckdb
import httpx
import pytest

from extract.dataverse import run_users_extract
from extract.opencrm import run_extract
from load.config import DataverseSettings, LoadPaths
from load.runner import LoadResult, run_load
from migrate.dbt import run_dbt
from migrate.paths import StatePaths
from sandbox.dataverse.server import RunningServer
from sandbox.opencrm import generate

pytestmark = pytest.mark.e2e

MARTS = {
    "account": "dv_account",
    "contact": "dv_contact",
    "opportunity": "dv_opportunity",
    "phonecall": "dv_phonecall",
    "appointment": "dv_appointment",
    "task": "dv_task",
    "annotation": "dv_annotation",
}


@pytest.fixture(scope="module")
def migrated(
    tmp_path_factory: pytest.TempPathFactory, dataverse_server: RunningServer
) -> dict[str, object]:
    """Run the whole path once for this module; the tests below inspect the outcome."""
    dataverse_server.reset()
    var = tmp_path_factory.mktemp("e2e-var")
    target = var / "target"
    env = {
        "MIGRATE_VAR": str(var),
        "MIGRATE_DUCKDB": str(var / "migration.duckdb"),
        "MIGRATE_LEDGER": str(var / "ledger.duckdb"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**env, **_client_env(dataverse_server)}.items():
            patch.setenv(name, value)
        paths = StatePaths.from_env()
        generate(paths.opencrm_export, contacts=80, seed=11)
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
        sample = run_load(settings, sample=3, paths=load_paths)
        full = run_load(settings, paths=load_paths)
        dump_after_full = dataverse_server.dump_lines()
        diff = _diff_everything(settings, load_paths, paths.reports)
        again = run_load(settings, paths=load_paths)
        dump_after_again = dataverse_server.dump_lines()
    return {
        "server": dataverse_server,
        "settings": settings,
        "warehouse": paths.warehouse,
        "sample": sample,
        "full": full,
        "again": again,
        "dumps": (dump_after_full, dump_after_again),
        "diff": diff,
    }


def _diff_everything(settings: DataverseSettings, load_paths: LoadPaths, reports: Path):  # noqa: ANN202
    from load.client import DataverseClient
    from load.diff import run_diff
    from load.ledger import Ledger
    from load.manifest import load_manifest

    specs = load_manifest(load_paths.manifest)
    with (
        DataverseClient(settings) as client,
        Ledger(load_paths.ledger) as ledger,
        duckdb.connect(str(load_paths.duckdb), read_only=True) as con,
    ):
        return run_diff(client, ledger, con, specs, reports, everything=True)


def _client_env(server: RunningServer) -> dict[str, str]:
    from tests.fixtures.dataverse import client_env

    return client_env(server)


def _mart_rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def _api(migrated: dict[str, object]) -> httpx.Client:
    import msal
    import requests

    settings: DataverseSettings = migrated["settings"]  # type: ignore[assignment]
    session = requests.Session()
    session.trust_env = False
    session.verify = str(settings.ca_bundle)
    app = msal.ConfidentialClientApplication(
        settings.client_id,
        client_credential=settings.client_secret,
        authority=settings.authority,
        instance_discovery=False,
        http_client=session,
    )
    token = app.acquire_token_for_client([settings.scope])["access_token"]
    return httpx.Client(
        base_url=settings.api_url,
        verify=ssl.create_default_context(cafile=str(settings.ca_bundle)),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_every_load_succeeds_and_the_sample_is_a_subset(migrated: dict[str, object]) -> None:
    sample: LoadResult = migrated["sample"]  # type: ignore[assignment]
    full: LoadResult = migrated["full"]  # type: ignore[assignment]
    assert sample.ok and full.ok, (sample.failures, full.failures)
    assert (
        0
        < sum(t.loaded for t in sample.tables.values())
        < sum(t.rows for t in full.tables.values())
    )


def test_every_mart_row_is_a_dataverse_record(migrated: dict[str, object]) -> None:
    server: RunningServer = migrated["server"]  # type: ignore[assignment]
    counts = server.counts()
    for table, mart in MARTS.items():
        [(expected,)] = _mart_rows(migrated["warehouse"], f"select count(*) from main.{mart}")  # type: ignore[arg-type]
        assert expected > 0, mart
        assert counts.get(table) == expected, (table, counts.get(table), expected)


def test_lookups_and_owners_landed(migrated: dict[str, object]) -> None:
    rows = _mart_rows(
        migrated["warehouse"],  # type: ignore[arg-type]
        "select contactid, parentcustomerid_account, ownerid from main.dv_contact "
        "where parentcustomerid_account is not null order by contactid limit 15",
    )
    assert rows
    with _api(migrated) as api:
        for contact_id, account_id, owner_id in rows:
            response = api.get(
                f"contacts({contact_id})",
                params={"$select": "_parentcustomerid_value,_ownerid_value"},
            )
            assert response.status_code == 200, response.text
            record = response.json()
            assert record["_parentcustomerid_value"] == account_id
            assert record["_ownerid_value"] == owner_id
        disabled = api.get(
            "systemusers", params={"$select": "systemuserid", "$filter": "isdisabled eq true"}
        ).json()["value"]
        disabled_ids = {user["systemuserid"] for user in disabled}
        assert disabled_ids, "the seed has disabled users; none may own a migrated record"
        for mart in MARTS.values():
            owners = {
                owner
                for (owner,) in _mart_rows(
                    migrated["warehouse"],  # type: ignore[arg-type]
                    f"select distinct ownerid from main.{mart}",
                )
            }
            assert not owners & disabled_ids, mart


def test_every_source_row_is_accounted_for(migrated: dict[str, object]) -> None:
    rows = _mart_rows(
        migrated["warehouse"],  # type: ignore[arg-type]
        "select source_object, source_rows, mart_rows, merged_rows, quarantined_rows "
        "from main.reconciliation_opencrm",
    )
    assert {row[0] for row in rows} >= {"companies", "contacts", "opportunities", "notes"}
    for source_object, source, mart, merged, quarantined in rows:
        assert source == mart + merged + quarantined, source_object
    [(quarantined,)] = _mart_rows(
        migrated["warehouse"],  # type: ignore[arg-type]
        "select count(*) from main.quarantine_opencrm where reasons is null or reasons = ''",
    )
    assert quarantined == 0, "every quarantined row carries its reason"


def test_a_second_full_load_changes_nothing(migrated: dict[str, object]) -> None:
    again: LoadResult = migrated["again"]  # type: ignore[assignment]
    assert again.ok
    assert all(t.created == 0 and t.updated == 0 for t in again.tables.values())
    assert sum(t.skipped for t in again.tables.values()) > 0
    before, after = migrated["dumps"]  # type: ignore[misc]
    assert before == after


def test_every_loaded_field_reads_back_as_the_mart_says(migrated: dict[str, object]) -> None:
    diff = migrated["diff"]
    assert sum(diff.records.values()) > 0  # type: ignore[attr-defined]
    assert diff.total == 0, diff.shown[:10]  # type: ignore[attr-defined]
