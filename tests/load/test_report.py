import datetime as dt
import json

import duckdb
from rich.console import Console

from load.plan import LoadPlan
from load.report import build_report, print_report, write_report
from load.runner import FailedRecord, LoadResult, TableResult


def result() -> LoadResult:
    tables = {
        "account": TableResult("account", rows=10, created=7, updated=1, skipped=1, failed=1),
        "contact": TableResult("contact", rows=4, created=4),
    }
    failure = FailedRecord(
        "account", "a9", "opencrm:company:9", "create", 400, "0x80044331", "too long"
    )
    return LoadResult(
        run_id="20260101T000000Z-abc",
        mode="full",
        started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        plan=LoadPlan(("account", "contact"), (("account",), ("contact",)), ()),
        tables=tables,
        failures=[failure],
        finished=dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC),
    )


def warehouse(path, with_models=True):
    with duckdb.connect(str(path)) as con:
        con.execute("create table main.dv_account (accountid varchar)")
        if with_models:
            con.execute(
                "create table main.reconciliation_opencrm as select * from (values "
                "('companies', 13, 10, 2, 1), ('contacts', 5, 4, 0, 0)) "
                "as t(source_object, source_rows, mart_rows, merged_rows, quarantined_rows)"
            )
            con.execute(
                "create table main.quarantine_opencrm as select * from (values "
                "('companies', '7', 'Companies.csv', 8, 'blank name; bad date'), "
                "('contacts', '3', 'Contacts.csv', 4, 'bad date')) "
                "as t(source_object, source_id, source_file, source_row, reasons)"
            )
    return path


def test_report_joins_reconciliation_and_load_counts(tmp_path):
    report = build_report(result(), warehouse(tmp_path / "w.duckdb"))

    balanced = {row.source_object: row.balanced for row in report.sources}
    assert balanced == {"companies": True, "contacts": False}
    assert report.quarantine_reasons == {"bad date": 2, "blank name": 1}
    assert [(t.table, t.loaded, t.failed) for t in report.tables] == [
        ("account", 8, 1),
        ("contact", 4, 0),
    ]
    assert report.failures_total == 1 and report.ok is False


def test_report_files_and_console(tmp_path):
    report = write_report(
        build_report(result(), warehouse(tmp_path / "w.duckdb")), tmp_path / "reports"
    )
    console = Console(record=True, width=120)

    print_report(report, console)

    data = json.loads(report.json_path.read_text())
    assert report.json_path.name == "20260101T000000Z-abc.json"
    assert data["tables"][0] | {"loaded": 8} == data["tables"][0]
    assert data["failures"][0]["source_key"] == "opencrm:company:9"
    page = report.html_path.read_text()
    assert "opencrm:company:9" in page and "companies" in page
    text = console.export_text()
    assert "opencrm:company:9" in text and "companies" in text and "account" in text


def test_missing_dbt_models_are_noted_not_fatal(tmp_path):
    report = build_report(
        result(), warehouse(tmp_path / "w.duckdb", with_models=False), source="opencrm"
    )

    assert report.sources == []
    assert any("reconciliation_opencrm" in note for note in report.notes)
    assert any("quarantine_opencrm" in note for note in report.notes)
