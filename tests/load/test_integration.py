"""The loader against the local Dataverse over real HTTPS (msal token, $batch / UpsertMultiple)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from load.auth import DataverseAuth
from load.client import DataverseClient
from load.config import DataverseSettings, LoadPaths
from load.ledger import Ledger
from load.report import build_report, write_report
from load.runner import LoadOptions, run_load
from tests.fixtures.dataverse import client_env
from tests.load.warehouse import MANIFEST, demo_rows, guid, write_warehouse

pytestmark = pytest.mark.e2e


@dataclass
class Setup:
    settings: DataverseSettings
    paths: LoadPaths
    owner: str
    rows: dict


def enabled_owner(server) -> str:
    seed = json.loads(server.dataverse.config.seed_file.read_text())
    return next(u["systemuserid"] for u in seed["systemusers"] if not u.get("isdisabled"))


def make_setup(tmp_path: Path, server, env: dict[str, str], **row_options) -> Setup:
    owner = enabled_owner(server)
    rows = demo_rows(owner, **row_options)
    paths = LoadPaths(
        duckdb=tmp_path / "var" / "migration.duckdb",
        ledger=tmp_path / "var" / "ledger.duckdb",
        manifest=tmp_path / "target" / "manifest.json",
        reports=tmp_path / "var" / "reports",
    )
    paths.manifest.parent.mkdir(parents=True)
    shutil.copy(MANIFEST, paths.manifest)
    write_warehouse(paths.duckdb, rows)
    return Setup(DataverseSettings.from_env(env), paths, owner, rows)


@pytest.fixture
def setup(tmp_path, fresh_dataverse, dataverse_env) -> Setup:
    return make_setup(tmp_path, fresh_dataverse, dataverse_env)


def read_all(settings: DataverseSettings, entity_set: str, select: list[str]) -> dict[str, dict]:
    key = select[0]
    with DataverseClient(settings) as client:
        return {row[key]: row for page in client.get_pages(entity_set, select) for row in page}


def test_msal_gets_a_token_from_the_local_authority(setup):
    auth = DataverseAuth.from_settings(setup.settings)

    token = auth.token()

    assert token.count(".") == 2  # a JWT
    assert auth.token() == token  # cached until close to expiry


def test_full_load_lands_records_lookups_owners_and_states(setup, fresh_dataverse):
    progress: dict[str, list[tuple[int, int]]] = {}

    result = run_load(
        setup.settings,
        paths=setup.paths,
        progress=lambda table, done, total: progress.setdefault(table, []).append((done, total)),
    )

    assert result.ok, result.failures
    assert result.plan.order == ("account", "contact", "opportunity", "phonecall", "task")
    assert {t: (r.created, r.failed) for t, r in result.tables.items()} == {
        "account": (3, 0),
        "contact": (6, 0),
        "opportunity": (3, 0),
        "phonecall": (1, 0),
        "task": (6, 0),
    }
    accounts = read_all(
        setup.settings,
        "accounts",
        ["accountid", "name", "_parentaccountid_value", "_ownerid_value", "mig_sourcekey"],
    )
    # parentaccountid points into its own table: deferred, then patched
    assert accounts[guid("account", 2)]["_parentaccountid_value"] == guid("account", 1)
    assert accounts[guid("account", 1)]["_ownerid_value"] == setup.owner
    assert accounts[guid("account", 3)]["mig_sourcekey"] == "opencrm:account:3"
    contacts = read_all(
        setup.settings,
        "contacts",
        [
            "contactid",
            "_parentcustomerid_value",
            "lastname",
            "mig_preferredcontactmethod",
            "mig_newsletter",
        ],
    )
    assert len(contacts) == 6
    assert contacts[guid("contact", 102)]["mig_preferredcontactmethod"] == 100000002
    assert contacts[guid("contact", 102)]["mig_newsletter"] is True
    assert contacts[guid("contact", 302)]["_parentcustomerid_value"] == guid("account", 3)
    tasks = read_all(
        setup.settings,
        "tasks",
        ["activityid", "statecode", "statuscode", "_regardingobjectid_value"],
    )
    assert (
        tasks[guid("task", 102)]["statecode"] == 1 and tasks[guid("task", 102)]["statuscode"] == 5
    )
    assert tasks[guid("task", 101)]["statecode"] == 0
    assert tasks[guid("task", 101)]["_regardingobjectid_value"] == guid("contact", 101)
    assert result.tables["task"].state_updated == 6 and result.tables["account"].linked == 1
    deals = read_all(
        setup.settings,
        "opportunities",
        [
            "opportunityid",
            "estimatedvalue",
            "estimatedclosedate",
            "_customerid_value",
            "mig_competitor",
        ],
    )
    assert deals[guid("opportunity", 2)]["_customerid_value"] == guid("account", 2)
    assert deals[guid("opportunity", 2)]["estimatedvalue"] == pytest.approx(1999.98)
    assert deals[guid("opportunity", 1)]["estimatedclosedate"] == "2025-01-01"
    assert deals[guid("opportunity", 1)]["mig_competitor"] == "Rival plc"
    assert {"opportunity.mig_competitor", "account.mig_sourcekey"} <= set(result.columns_created)
    assert progress["contact"][0] == (0, 6) and progress["contact"][-1] == (6, 6)


def test_second_run_writes_nothing_new(setup, fresh_dataverse):
    first = run_load(setup.settings, paths=setup.paths)
    assert first.ok, first.failures
    counts, dump = fresh_dataverse.counts(), fresh_dataverse.dump_lines()

    second = run_load(setup.settings, paths=setup.paths)

    assert second.ok
    assert {
        t: r.loaded + r.state_updated + r.linked for t, r in second.tables.items()
    } == dict.fromkeys(second.tables, 0)
    assert {t: r.skipped for t, r in second.tables.items()} == {
        "account": 3,
        "contact": 6,
        "opportunity": 3,
        "phonecall": 1,
        "task": 6,
    }
    assert fresh_dataverse.counts() == counts
    assert fresh_dataverse.dump_lines() == dump
    with Ledger(setup.paths.ledger) as ledger:
        assert ledger.entries(second.run_id) == []
        assert [run["status"] for run in ledger.runs()] == ["ok", "ok"]


def test_changed_row_is_updated_with_its_previous_payload(setup, fresh_dataverse):
    run_load(setup.settings, paths=setup.paths)
    setup.rows["dv_contact"][0]["lastname"] = "Renamed"
    write_warehouse(setup.paths.duckdb, setup.rows)

    result = run_load(setup.settings, paths=setup.paths)

    assert result.tables["contact"].updated == 1 and result.tables["contact"].skipped == 5
    with Ledger(setup.paths.ledger) as ledger:
        (entry,) = ledger.entries(result.run_id)
    assert entry["action"] == "update"
    assert json.loads(entry["previous_payload"])["lastname"] == "Last101"
    assert json.loads(entry["payload"])["lastname"] == "Renamed"
    contacts = read_all(setup.settings, "contacts", ["contactid", "lastname"])
    assert contacts[guid("contact", 101)]["lastname"] == "Renamed"


def test_a_bad_record_is_recorded_and_the_rest_loads(setup, fresh_dataverse):
    setup.rows["dv_contact"][1]["lastname"] = "x" * 300  # contact 102: lastname max 50
    write_warehouse(setup.paths.duckdb, setup.rows)

    result = run_load(setup.settings, paths=setup.paths)

    assert not result.ok
    contact_failures = [f for f in result.failures if f.table == "contact"]
    assert [(f.source_key, f.status) for f in contact_failures] == [("opencrm:contact:102", 400)]
    assert "lastname" in contact_failures[0].message
    assert result.tables["contact"].created == 5
    # the task about the missing contact cannot bind its lookup: recorded too, not dropped
    assert [f.source_key for f in result.failures if f.table == "task"] == ["opencrm:activity:102"]
    assert fresh_dataverse.counts()["contact"] == 5
    with Ledger(setup.paths.ledger) as ledger:
        failed = [e for e in ledger.entries(result.run_id) if e["outcome"] == "failed"]
        assert {e["source_key"] for e in failed} == {"opencrm:contact:102", "opencrm:activity:102"}
        assert all(e["error_message"] for e in failed)
        assert ledger.runs()[-1]["status"] == "failed"

    setup.rows["dv_contact"][1]["lastname"] = "Fixed"
    write_warehouse(setup.paths.duckdb, setup.rows)
    retry = run_load(setup.settings, paths=setup.paths)
    assert retry.ok, retry.failures
    assert (retry.tables["contact"].created, retry.tables["task"].created) == (1, 1)


def test_a_bad_record_in_a_bulk_request_is_isolated(setup, fresh_dataverse):
    with DataverseClient(setup.settings) as client:
        assert client.supports_message("opportunity", "UpsertMultiple")
    setup.rows["dv_opportunity"][1]["name"] = "y" * 400  # name max 300: fails the whole request
    write_warehouse(setup.paths.duckdb, setup.rows)

    result = run_load(setup.settings, paths=setup.paths)

    assert [(f.table, f.source_key) for f in result.failures] == [
        ("opportunity", "opencrm:opportunity:2")
    ]
    assert result.tables["opportunity"].created == 2
    assert fresh_dataverse.counts()["opportunity"] == 2


def test_sample_loads_a_referentially_complete_slice(setup, fresh_dataverse):
    result = run_load(setup.settings, paths=setup.paths, sample=1)

    assert result.ok, result.failures
    assert result.mode == "sample" and result.sample is not None
    loaded = {t: r.created for t, r in result.tables.items()}
    assert loaded == {t: n for t, n in result.sample.counts.items()}
    assert loaded["account"] < 3 or loaded["contact"] < 6
    server_counts = fresh_dataverse.counts()
    for table, n in loaded.items():
        assert server_counts.get(table, 0) == n


def test_report_is_written_as_json_and_html(setup, fresh_dataverse):
    result = run_load(setup.settings, paths=setup.paths)

    built = build_report(result, setup.paths.duckdb, source="opencrm")
    report = write_report(built, setup.paths.reports)

    data = json.loads(report.json_path.read_text())
    assert {row["table"]: row["created"] for row in data["tables"]}["contact"] == 6
    assert any("reconciliation_opencrm" in note for note in data["notes"])
    assert "<table>" in report.html_path.read_text()


def test_throttling_is_honoured(tmp_path, dataverse_factory):
    from sandbox.dataverse.protection import ProtectionConfig

    server = dataverse_factory(protection=ProtectionConfig.from_spec("requests=8,window=1"))
    setup = make_setup(tmp_path, server, client_env(server), accounts=2, contacts_per_account=1)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with DataverseClient(setup.settings, sleep=sleep) as client:
        result = run_load(
            setup.settings, paths=setup.paths, client=client, options=LoadOptions(batch_size=1)
        )

    assert result.ok, result.failures
    assert waits, "the server never throttled: the test proves nothing"
    assert server.counts()["contact"] == 2 and server.counts()["task"] == 2
