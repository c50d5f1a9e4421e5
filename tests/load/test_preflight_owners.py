"""The owner discrepancy report (unmatched, disabled, email-less users; the fallback owner) and
OData string escaping when looking users up by email or name, against the local Dataverse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from load.client import DataverseClient
from load.config import DataverseSettings
from load.owners import owner_report, systemuser_by_email, systemusers_by_name
from load.preflight import run_preflight
from sandbox.dataverse.server import RunningServer
from sandbox.dataverse.service import DEFAULT_SEED_FILE
from tests.fixtures.dataverse import DataverseFactory, client_env

FALLBACK = "14bdd3c3-0000-5000-8000-000000000001"
SARAH = "d704b350-408e-5659-89d4-8fe22e542755"

# Shaped like int_opencrm__owners_resolved and owner_discrepancies (dbt's owner resolution).
OWNERS = [
    # user_key, user_name, user_id, email, is_active, in_csv, matched, reason, records, fallback?
    ("admin", "admin", 1, "sarah.whitaker@contoso.example", True, True, SARAH, None, 40, False),
    (
        "gevans",
        "gevans",
        11,
        "gareth.evans@contoso.example",
        True,
        True,
        None,
        "no_dataverse_user",
        7,
        True,
    ),
    ("nomail", "nomail", 13, None, True, True, None, "no_dataverse_user", 3, True),
    (
        "mthompson",
        "mthompson",
        12,
        "margaret.thompson@contoso.example",
        False,
        True,
        "x",
        "dataverse_user_disabled",
        5,
        True,
    ),
    ("tmorgan", "tmorgan", None, None, None, False, None, "not_in_users_csv", 2, True),
]


def _warehouse(path: Path, fallback_email: str, fallback_id: str | None) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(
            """create or replace table int_opencrm__owners_resolved (
                user_key varchar, user_name varchar, user_id integer, email_address varchar,
                is_active boolean, is_in_users_csv boolean, matched_systemuser_id varchar,
                discrepancy_reason varchar, records_affected integer, is_fallback boolean,
                owner_systemuser_id varchar)"""
        )
        for *row, is_fallback in OWNERS:
            owner = fallback_id if is_fallback else row[6]
            con.execute(
                "insert into int_opencrm__owners_resolved values (?,?,?,?,?,?,?,?,?,?,?)",
                [*row, is_fallback, owner],
            )
        con.execute(
            "create or replace table owner_discrepancies as select user_name as source_user_name, "
            "discrepancy_reason as reason, ? as fallback_owner_email "
            "from int_opencrm__owners_resolved where is_fallback",
            [fallback_email],
        )
    return path


def _client(server: RunningServer) -> DataverseClient:
    return DataverseClient(DataverseSettings.from_env(client_env(server)))


@pytest.fixture
def client(fresh_dataverse: RunningServer) -> Iterator[DataverseClient]:
    with _client(fresh_dataverse) as client:
        yield client


def _user_id(client: DataverseClient, email: str) -> str:
    [user] = systemuser_by_email(client, email)
    return str(user["systemuserid"]).lower()


def test_the_report_lists_unmatched_disabled_and_email_less_users(
    client: DataverseClient, tmp_path: Path
) -> None:
    fallback_id = _user_id(client, "migration.admin@contoso.example")
    path = _warehouse(tmp_path / "w.duckdb", "migration.admin@contoso.example", fallback_id)
    with duckdb.connect(str(path), read_only=True) as con:
        report = owner_report(con, client)
    assert report is not None
    reasons = {d.user_name: d.reason for d in report.discrepancies}
    assert reasons == {
        "gevans": "no_dataverse_user",
        "nomail": "no_email",
        "mthompson": "dataverse_user_disabled",
        "tmorgan": "not_in_users_csv",
    }
    assert report.matched_users == 1 and report.records_on_fallback == 17
    assert report.fallback_email == "migration.admin@contoso.example"
    assert report.fallback_problem is None
    assert all(d.outcome == "fallback owner" for d in report.discrepancies)
    by_name = {d.user_name: d for d in report.discrepancies}
    assert "no email in Users.csv" in by_name["nomail"].explanation
    assert "disabled Dataverse user" in by_name["mthompson"].explanation
    assert "enable and license the user" in by_name["mthompson"].fix
    # Dataverse's side: the seeded enabled user without a primary email cannot be matched
    assert report.dataverse_users_without_email == ["Mia Norris"]
    assert json.dumps(report.to_json())


def test_a_disabled_fallback_owner_blocks_preflight(
    client: DataverseClient, tmp_path: Path
) -> None:
    disabled = "margaret.thompson@contoso.example"
    path = _warehouse(tmp_path / "w.duckdb", disabled, _user_id(client, disabled))
    report = run_preflight(client, [], warehouse=path)
    assert not report.ok
    [problem] = report.problems
    assert problem.kind == "fallback_owner"
    assert f"the fallback owner {disabled} is disabled" in problem.message
    assert "fallback_owner_email" in problem.fix
    assert report.to_json()["owners"]["fallback_problem"]


def test_records_without_any_owner_are_reported(client: DataverseClient, tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb", "nobody@contoso.example", None)
    with duckdb.connect(str(path), read_only=True) as con:
        report = owner_report(con, client)
    assert report is not None
    assert "17 records have no owner" in (report.fallback_problem or "")
    assert {d.outcome for d in report.discrepancies} == {"no owner: the fallback is missing"}


def test_records_held_back_by_policy_need_no_fallback(
    client: DataverseClient, tmp_path: Path
) -> None:
    path = _warehouse(tmp_path / "w.duckdb", "nobody@contoso.example", None)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "alter table int_opencrm__owners_resolved add column is_held_back boolean default true"
        )
    with duckdb.connect(str(path), read_only=True) as con:
        report = owner_report(con, client)
    assert report is not None
    assert report.fallback_problem is None
    assert {d.outcome for d in report.discrepancies} == {
        "held back (quarantined: unresolved_owner_policy=hold)"
    }


def test_a_quote_in_a_name_neither_breaks_nor_widens_the_filter(client: DataverseClient) -> None:
    [declan] = systemusers_by_name(client, "Declan O'Brien")
    assert declan["internalemailaddress"] == "declan.obrien@contoso.example"
    assert systemusers_by_name(client, "Declan O'") == []
    widen = "x' or isdisabled eq false or fullname eq 'y"
    assert systemusers_by_name(client, widen) == []
    assert systemuser_by_email(client, "' or internalemailaddress ne '") == []


def test_a_quote_in_an_email_matches_exactly_that_user(
    dataverse_factory: DataverseFactory, tmp_path: Path
) -> None:
    seed = json.loads(DEFAULT_SEED_FILE.read_text())
    template = next(u for u in seed["systemusers"] if u.get("internalemailaddress"))
    seed["systemusers"].append(
        template
        | {
            "systemuserid": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
            "firstname": "Siobhan",
            "lastname": "O'Neill",
            "internalemailaddress": "siobhan.o'neill@contoso.example",
            "azureactivedirectoryobjectid": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f1",
        }
    )
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    server = dataverse_factory(seed_file=seed_file)
    with _client(server) as client:
        [user] = systemuser_by_email(client, "siobhan.o'neill@contoso.example")
        assert user["systemuserid"] == "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
        assert systemuser_by_email(client, "siobhan.o'") == []
