"""Preflight against the local Dataverse: each kind of failure, each with a message and a fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from load.client import DataverseClient
from load.config import DataverseSettings
from load.manifest import ActivityParty, CustomColumn, Lookup, TableSpec
from load.preflight import KINDS, PreflightFailed, require_preflight, run_preflight
from load.schema import SchemaSettings, apply_schema, declared_schema, plan_schema
from sandbox.dataverse.server import RunningServer
from tests.fixtures.dataverse import client_env

SARAH = "d704b350-408e-5659-89d4-8fe22e542755"  # enabled (seed.json)
OWNER = Lookup("ownerid", "ownerid", "systemuser", "systemusers")
PARENT = Lookup("parentcustomerid_account", "parentcustomerid_account", "account", "accounts")
SOURCE_KEY = CustomColumn("mig_sourcekey", "String", 100)
PICK = CustomColumn(
    "mig_preferredcontactmethod",
    "Picklist",
    options=((100000000, "Email"), (100000001, "Phone")),
)


def _spec(**overrides: object) -> TableSpec:
    values: dict[str, object] = {
        "model": "dv_contact",
        "relation": '"main"."dv_contact"',
        "table": "contact",
        "entity_set": "contacts",
        "primary_key": "contactid",
        "source_key": "mig_sourcekey",
        "root": False,
        "lookups": (PARENT, OWNER),
        "custom_columns": (SOURCE_KEY, PICK),
    }
    values.update(overrides)
    return TableSpec(**values)  # type: ignore[arg-type]


GOOD_ROW = (
    "0b0f3a3e-1111-4a4a-8a8a-000000000001",
    "opencrm:contact:1",
    None,
    SARAH,
    "Ada",
    "Lovelace",
    100000000,
    2,
    False,
)
COLUMNS = """contactid varchar, mig_sourcekey varchar, parentcustomerid_account varchar,
    ownerid varchar, firstname varchar, lastname varchar, mig_preferredcontactmethod integer,
    preferredcontactmethodcode integer, donotemail boolean"""


@pytest.fixture
def client(fresh_dataverse: RunningServer) -> Iterator[DataverseClient]:
    with DataverseClient(DataverseSettings.from_env(client_env(fresh_dataverse))) as client:
        schema = declared_schema(
            {
                "tables": {
                    "contact": {
                        "alternate_keys": [
                            {"name": "mig_sourcekey_key", "columns": ["mig_sourcekey"]}
                        ]
                    }
                }
            },
            [_spec()],
            SchemaSettings(),
        )
        apply_schema(client, plan_schema(client, schema), poll=0.05)
        yield client


def _disabled_user(client: DataverseClient) -> str:
    [page] = list(client.get_pages("systemusers", ["systemuserid"], filter="isdisabled eq true"))
    return str(page[0]["systemuserid"])


def _warehouse(tmp_path: Path, columns: str = COLUMNS, rows: list[tuple] | None = None) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"create or replace table dv_contact ({columns})")
        for row in rows if rows is not None else [GOOD_ROW]:
            con.execute(f"insert into dv_contact values ({', '.join('?' * len(row))})", row)
    return path


def _kinds(report: object) -> set[tuple[str, str | None]]:
    return {(p.kind, p.column) for p in report.problems}  # type: ignore[attr-defined]


def test_a_clean_mart_passes(client: DataverseClient, tmp_path: Path) -> None:
    report = run_preflight(client, [_spec()], warehouse=_warehouse(tmp_path))
    assert report.ok, [str(p) for p in report.problems]
    assert report.problems == []
    assert require_preflight(client, [_spec()], force=False, warehouse=_warehouse(tmp_path)).ok


def test_missing_table_and_missing_column(client: DataverseClient, tmp_path: Path) -> None:
    warehouse = _warehouse(
        tmp_path,
        COLUMNS + ", shoesize integer, mig_notyetcreated varchar",
        [(*GOOD_ROW, 9, "x")],
    )
    spec = _spec(custom_columns=(SOURCE_KEY, PICK, CustomColumn("mig_notyetcreated", "String")))
    report = run_preflight(
        client,
        [spec, _spec(model="dv_visit", table="mig_visit", entity_set="mig_visits")],
        warehouse=warehouse,
    )
    problems = {(p.kind, p.table, p.column): p for p in report.problems}
    missing = problems["missing_column", "contact", "shoesize"]
    assert "no column shoesize on Dataverse table contact" in missing.message
    assert "declare it in dv_contact's custom_columns" in missing.fix
    assert (
        "crm-migrate schema apply" in problems["missing_column", "contact", "mig_notyetcreated"].fix
    )
    table = problems["missing_table", "mig_visit", None]
    assert "does not exist" in table.message and "custom_tables" in table.fix
    assert not report.ok


def test_not_valid_for_create_and_type_mismatch(client: DataverseClient, tmp_path: Path) -> None:
    warehouse = _warehouse(
        tmp_path,
        COLUMNS.replace("lastname varchar", "lastname integer")
        + ", createdon timestamp, statecode integer",
        [(*GOOD_ROW[:5], 7, *GOOD_ROW[6:], "2024-01-01 10:00", 0)],
    )
    report = run_preflight(client, [_spec()], warehouse=warehouse)
    problems = {(p.kind, p.column): p for p in report.problems}
    assert "not valid for create" in problems["not_valid_for_create", "createdon"].message
    assert "state_columns" in problems["not_valid_for_create", "statecode"].fix
    mismatch = problems["type_mismatch", "lastname"]
    assert "is INTEGER but contact.lastname is String" in mismatch.message
    assert "cast it" in mismatch.fix
    state = run_preflight(client, [_spec(state_columns=("statecode",))], warehouse=warehouse)
    assert ("not_valid_for_create", "statecode") not in _kinds(state)


def test_too_long_compares_the_longest_value_with_maxlength(
    client: DataverseClient, tmp_path: Path
) -> None:
    long_row = (*GOOD_ROW[:4], "é" * 51, *GOOD_ROW[5:])  # 51 characters, 102 bytes
    fits = (*GOOD_ROW[:4], "é" * 50, *GOOD_ROW[5:])
    report = run_preflight(client, [_spec()], warehouse=_warehouse(tmp_path, rows=[long_row, fits]))
    [problem] = [p for p in report.problems if p.kind == "too_long"]
    assert problem.column == "firstname"
    assert "1 row(s) of dv_contact have firstname longer than the 50 characters" in problem.message
    assert "(longest: 51)" in problem.message
    assert "max_length" in problem.fix


def test_invalid_option_values(client: DataverseClient, tmp_path: Path) -> None:
    bad = (*GOOD_ROW[:6], 100000009, 42, False)
    report = run_preflight(client, [_spec()], warehouse=_warehouse(tmp_path, rows=[bad]))
    problems = {p.column: p for p in report.problems if p.kind == "invalid_option"}
    assert "100000009 (1 rows)" in problems["mig_preferredcontactmethod"].message
    assert "valid: 100000000 Email" in problems["mig_preferredcontactmethod"].message
    assert "42 (1 rows)" in problems["preferredcontactmethodcode"].message
    assert "2 Email" in problems["preferredcontactmethodcode"].message
    assert "option-set maps" in problems["preferredcontactmethodcode"].fix


def test_out_of_range_numbers(client: DataverseClient, tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path, COLUMNS + ", address1_latitude double", [(*GOOD_ROW, 123.0)])
    [problem] = run_preflight(client, [_spec()], warehouse=warehouse).problems
    assert problem.kind == "out_of_range" and "outside -90..90" in problem.message


def test_lookups_must_point_at_the_declared_table(client: DataverseClient, tmp_path: Path) -> None:
    wrong_target = Lookup(
        "parentcustomerid_account", "parentcustomerid_account", "contact", "contacts"
    )
    no_such = Lookup("parentcustomerid_account", "parentcompanyid_account", "account", "accounts")
    report = run_preflight(
        client, [_spec(lookups=(wrong_target, OWNER))], warehouse=_warehouse(tmp_path)
    )
    [problem] = report.problems
    assert problem.kind == "lookup_target"
    assert "declared to point at contact" in problem.message
    assert "points at account" in problem.message and "set target" in problem.fix
    parented = (*GOOD_ROW[:2], "0b0f3a3e-2222-4a4a-8a8a-000000000001", *GOOD_ROW[3:])
    missing = run_preflight(
        client, [_spec(lookups=(no_such, OWNER))], warehouse=_warehouse(tmp_path, rows=[parented])
    )
    [problem] = missing.problems
    assert problem.kind == "lookup_missing" and problem.blocking
    assert "no navigation property parentcompanyid_account" in problem.message
    assert "set on 1 row(s)" in problem.message
    # a lookup no row sets is never bound: reported, but it does not block the load
    unbound = run_preflight(
        client, [_spec(lookups=(no_such, OWNER))], warehouse=_warehouse(tmp_path)
    )
    [problem] = unbound.problems
    assert problem.kind == "lookup_missing" and not problem.blocking and unbound.ok
    assert "set on no row: never bound" in problem.message


def test_activity_parties_need_an_activity_table(client: DataverseClient, tmp_path: Path) -> None:
    party = ActivityParty("to_contact", 2, "contact", "contacts")
    warehouse = _warehouse(tmp_path, COLUMNS + ", to_contact varchar", [(*GOOD_ROW, None)])
    [problem] = run_preflight(
        client, [_spec(activity_parties=(party,))], warehouse=warehouse
    ).problems
    assert problem.kind == "activity_party" and "not an activity table" in problem.message


def test_owners_never_disabled_unknown_or_empty(client: DataverseClient, tmp_path: Path) -> None:
    disabled = _disabled_user(client)
    rows = [
        (
            f"0b0f3a3e-1111-4a4a-8a8a-00000000000{i}",
            f"opencrm:contact:{i}",
            None,
            owner,
            "A",
            "B",
            None,
            None,
            False,
        )
        for i, owner in enumerate(
            [SARAH, disabled, disabled, "00000000-0000-0000-0000-0000000000aa", None]
        )
    ]
    report = run_preflight(client, [_spec()], warehouse=_warehouse(tmp_path, rows=rows))
    problems = {p.kind: p for p in report.problems}
    assert set(problems) == {"owner_disabled", "owner_unknown", "owner_missing"}
    assert (
        f"2 row(s) of dv_contact name systemuser {disabled}" in problems["owner_disabled"].message
    )
    assert "orphaned to an inactive owner" in problems["owner_disabled"].message
    assert "fallback_owner_email" in problems["owner_disabled"].fix
    assert "does not exist" in problems["owner_unknown"].message
    assert "have no owner" in problems["owner_missing"].message


def test_a_missing_alternate_key_is_a_warning(
    fresh_dataverse: RunningServer, tmp_path: Path
) -> None:
    with DataverseClient(DataverseSettings.from_env(client_env(fresh_dataverse))) as client:
        report = run_preflight(client, [_spec()], warehouse=_warehouse(tmp_path))
    kinds = _kinds(report)
    assert ("alternate_key", "mig_sourcekey") in kinds
    assert ("missing_column", "mig_sourcekey") in kinds
    key = next(p for p in report.problems if p.kind == "alternate_key")
    assert not key.blocking and "crm-migrate schema apply" in key.fix


def test_require_preflight_raises_unless_forced(client: DataverseClient, tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path, COLUMNS + ", shoesize integer", [(*GOOD_ROW, 9)])
    with pytest.raises(PreflightFailed) as failed:
        require_preflight(client, [_spec()], force=False, warehouse=warehouse)
    assert not failed.value.report.ok
    assert "[missing_column] contact.shoesize" in str(failed.value)
    forced = require_preflight(client, [_spec()], force=True, warehouse=warehouse)
    assert not forced.ok
    as_json = forced.to_json()
    assert as_json["ok"] is False and as_json["problems"][0]["kind"] == "missing_column"
    assert {p["kind"] for p in as_json["problems"]} <= set(KINDS)
    with duckdb.connect(str(warehouse), read_only=True) as con:  # an open connection works too
        assert not require_preflight(client, [_spec()], force=True, warehouse=con).ok


def test_the_preflight_command_fails_until_the_schema_is_applied(
    fresh_dataverse: RunningServer, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from migrate.commands.schema import app
    from tests.load.warehouse import MANIFEST, demo_rows, write_warehouse

    write_warehouse(tmp_path / "w.duckdb", demo_rows(SARAH))
    env = client_env(fresh_dataverse) | {
        "MIGRATE_VAR": str(tmp_path),
        "MIGRATE_DUCKDB": str(tmp_path / "w.duckdb"),
        "COLUMNS": "200",
    }
    args = ["--manifest", str(MANIFEST)]
    runner = CliRunner()
    failed = runner.invoke(app, ["preflight", *args], env=env)
    assert failed.exit_code == 1, failed.output
    assert "missing_column" in failed.output and "Preflight failed" in failed.output
    report = json.loads(next((tmp_path / "reports").glob("preflight-*.json")).read_text())
    assert report["ok"] is False
    assert {"missing_column", "alternate_key"} <= {p["kind"] for p in report["problems"]}

    schema_file = tmp_path / "schema.yml"
    schema_file.write_text("tables: {}\n")
    applied = runner.invoke(app, ["apply", *args, "--schema-file", str(schema_file)], env=env)
    assert applied.exit_code == 0, applied.output
    passed = runner.invoke(app, ["preflight", *args], env=env)
    assert passed.exit_code == 0, passed.output
    assert "Preflight passed" in passed.output
