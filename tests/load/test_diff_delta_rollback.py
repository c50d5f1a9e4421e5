"""Field-level diff, delta pickup and rollback against the local Dataverse."""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pytest

from load.diff import compare_value, run_diff
from load.ledger import Ledger
from load.manifest import load_manifest
from load.rollback import rollback
from load.runner import LoadOptions, run_load
from tests.load.production import make_setup, records
from tests.load.warehouse import guid

pytestmark = pytest.mark.e2e


@pytest.fixture
def setup(tmp_path, fresh_dataverse, dataverse_env):
    made = make_setup(tmp_path, fresh_dataverse, dataverse_env)
    made.server = fresh_dataverse
    return made


def setup_server(setup):  # noqa: ANN001, ANN201
    return setup.server


def diff(setup, **kwargs):  # noqa: ANN001, ANN201
    with (
        setup.client() as client,
        Ledger(setup.paths.ledger) as ledger,
        duckdb.connect(str(setup.paths.duckdb), read_only=True) as con,
    ):
        specs = load_manifest(setup.paths.manifest)
        return run_diff(client, ledger, con, specs, setup.paths.reports, **kwargs)


def undo(setup, run_id=None):  # noqa: ANN001, ANN201
    with setup.client() as client, Ledger(setup.paths.ledger) as ledger:
        return rollback(client, ledger, load_manifest(setup.paths.manifest), run_id=run_id)


def test_compare_normalises_only_what_dataverse_changes():
    assert compare_value("2024-05-01T10:00:00.500Z", "2024-05-01T10:00:00Z") is None
    assert compare_value("2025-01-01", "2025-01-01") is None
    assert compare_value(1250.5, 1250.50) is None
    assert compare_value("", None) is None
    assert compare_value("ABC", "abc", lookup=True) is None
    assert compare_value("abcdef", "abc") == "truncation"
    assert compare_value(10.25, 10.3) == "rounding"
    assert compare_value("2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z") == "timezone"
    assert compare_value(100000001, 100000002) == "option value"
    assert compare_value("a-guid", "b-guid", lookup=True) == "lookup"


def test_diff_is_clean_after_a_load_and_catches_truncation_and_a_timezone_shift(setup):
    loaded = run_load(setup.settings, paths=setup.paths, sample=1)
    assert loaded.ok, loaded.failures
    clean = diff(setup, run_id=loaded.run_id)
    assert clean.total == 0, clean.shown
    assert clean.records["account"] >= 1 and clean.records["task"] >= 1

    in_sample = records(setup_server(setup))
    account, task = in_sample["account"][0], in_sample["task"][0]
    name = next(a["name"] for a in setup.rows["dv_account"] if a["accountid"] == account)
    end = next(t["scheduledend"] for t in setup.rows["dv_task"] if t["activityid"] == task)
    sent = f"{end:%Y-%m-%dT%H:%M:%SZ}"
    shifted = f"{end + dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    with setup.client() as client:  # what a plug-in or a wrong column setting would do
        client.update("accounts", account, {"name": name[:9]})  # truncated
        client.update("tasks", task, {"scheduledend": shifted})  # an hour off
    found = diff(setup, run_id=loaded.run_id)

    assert dict(found.counts) == {
        ("account", "name", "truncation"): 1,
        ("task", "scheduledend", "timezone"): 1,
    }
    with found.csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["record_id"], r["column"], r["expected"], r["actual"]) for r in rows} == {
        (account, "name", name, name[:9]),
        (task, "scheduledend", sent, shifted),
    }
    page = found.html_path.read_text()
    assert "truncation" in page and "timezone" in page
    assert json.loads(found.json_path.read_text())["mismatches"] == 2


def test_delta_loads_only_changed_rows_and_deletes_only_when_asked(setup, fresh_dataverse):
    first = run_load(setup.settings, paths=setup.paths)
    assert first.ok, first.failures
    setup.rows["dv_contact"][0]["lastname"] = "Edited"  # contact 101
    gone = setup.rows["dv_contact"].pop()  # contact 302 deleted at source, with its task
    setup.rows["dv_task"] = [
        t for t in setup.rows["dv_task"] if t["mig_sourcekey"] != "opencrm:activity:302"
    ]
    new = dict(
        setup.rows["dv_contact"][0],
        contactid=guid("contact", 999),
        mig_sourcekey="opencrm:contact:999",
    )
    setup.rows["dv_contact"].append(new)
    setup.rewrite()

    delta = run_load(setup.settings, paths=setup.paths, mode="delta")

    contact = delta.tables["contact"]
    assert (contact.created, contact.updated, contact.skipped) == (1, 1, 4)
    assert sum(t.loaded for name, t in delta.tables.items() if name != "contact") == 0
    assert (contact.missing, contact.deleted) == (1, 0)
    assert delta.missing["contact"] == [(gone["contactid"], "opencrm:contact:302")]
    assert gone["contactid"] in records(fresh_dataverse)["contact"]  # reported, not removed

    removing = run_load(
        setup.settings, paths=setup.paths, mode="delta", options=LoadOptions(delete_missing=True)
    )
    assert removing.tables["contact"].deleted == 1 and removing.tables["task"].deleted == 1
    assert gone["contactid"] not in records(fresh_dataverse)["contact"]
    assert sum(t.loaded for t in removing.tables.values()) == 0


def test_rolling_back_one_run_restores_what_it_updated_and_deletes_what_it_created(
    setup, fresh_dataverse
):
    run_load(setup.settings, paths=setup.paths)
    after_first = records(fresh_dataverse)
    setup.rows["dv_contact"][0]["lastname"] = "Edited"
    setup.rows["dv_task"][0]["statecode"], setup.rows["dv_task"][0]["statuscode"] = 1, 5
    setup.rows["dv_account"].append(
        dict(
            setup.rows["dv_account"][2],
            accountid=guid("account", 9),
            mig_sourcekey="opencrm:account:9",
        )
    )
    setup.rewrite()
    second = run_load(setup.settings, paths=setup.paths)
    assert second.tables["contact"].updated == 1 and second.tables["account"].created == 1

    result = undo(setup, second.run_id)

    assert result.ok, result.failures
    assert result.deleted == {"account": 1} and result.restored == {"contact": 1}
    assert records(fresh_dataverse) == after_first
    with setup.client() as client:
        contact = next(
            client.get_pages(
                "contacts", ["lastname"], filter=f"contactid eq {guid('contact', 101)}"
            )
        )[0]
        task = next(
            client.get_pages("tasks", ["statecode"], filter=f"activityid eq {guid('task', 101)}")
        )[0]
    assert contact["lastname"] == "Last101" and task["statecode"] == 0
    # the ledger knows: the next load writes the change again
    third = run_load(setup.settings, paths=setup.paths)
    assert third.tables["contact"].updated == 1 and third.tables["account"].created == 1


def test_rolling_back_the_whole_migration_restores_the_exact_snapshot(setup, fresh_dataverse):
    before = fresh_dataverse.dump_lines()
    run_load(setup.settings, paths=setup.paths, sample=1)
    run_load(setup.settings, paths=setup.paths)
    setup.rows["dv_contact"][0]["lastname"] = "Edited"
    setup.rows["dv_contact"].pop()
    setup.rewrite()
    run_load(
        setup.settings, paths=setup.paths, mode="delta", options=LoadOptions(delete_missing=True)
    )
    assert fresh_dataverse.dump_lines() != before

    result = undo(setup)

    assert result.ok, result.failures
    assert fresh_dataverse.dump_lines() == before
