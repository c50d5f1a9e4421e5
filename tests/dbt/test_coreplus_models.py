"""Build the dbt project for CorePlus (var migration_source=coreplus) on data extracted from the
stand-in, and check the mapping rules: service type → activity table, organisation split, status
mapping, practitioner resolution, referrer merge, quarantine and reconciliation."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.coreplus import CorePlusSettings, run_extract
from sandbox.coreplus import generate_dataset
from sandbox.coreplus.api import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CONSUMER_ID,
    DEFAULT_CONSUMER_SECRET,
    ApiConfig,
)
from sandbox.coreplus.server import start_background
from tests.dbt.test_dbt_project import PROJECT_ROOT, dv_guid, run_dbt

pytestmark = pytest.mark.dbt


def seed_dataverse_users(warehouse: Path) -> None:
    """raw_dataverse as `extract dataverse-users` lands it, from the local Dataverse's seed."""
    seed = json.loads((PROJECT_ROOT / "sandbox/dataverse/seed.json").read_text())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw_dataverse")
        con.execute(
            "create or replace table raw_dataverse.systemusers (systemuserid varchar, fullname "
            "varchar, internalemailaddress varchar, isdisabled boolean, accessmode bigint, "
            "azureactivedirectoryobjectid varchar)"
        )
        for user in seed["systemusers"]:
            con.execute(
                "insert into raw_dataverse.systemusers values (?, ?, ?, ?, ?, ?)",
                [user.get(k) for k in ("systemuserid", "fullname", "internalemailaddress")]
                + [user.get("isdisabled", False), user.get("accessmode", 0), None],
            )
        con.execute(
            "create or replace table raw_dataverse.teams "
            "(teamid varchar, name varchar, teamtype bigint, isdefault boolean)"
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("coreplus-dbt")
    warehouse = work / "m.duckdb"
    data = generate_dataset(150, seed=21)
    server = start_background(data, ApiConfig(rate_limit=100))
    try:
        settings = CorePlusSettings(
            server.url, DEFAULT_CONSUMER_ID, DEFAULT_CONSUMER_SECRET, DEFAULT_ACCESS_TOKEN,
            rate_limit=100,
        )  # fmt: skip
        run_extract(settings, warehouse)
    finally:
        server.stop()
    seed_dataverse_users(warehouse)
    result = run_dbt(["build", "--vars", "{migration_source: coreplus}"], warehouse, work)
    yield {"result": result, "warehouse": warehouse, "data": data, "target": work / "target"}


def query(built: dict[str, Any], sql: str) -> list[tuple]:
    with duckdb.connect(str(built["warehouse"]), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_the_coreplus_build_passes(built: dict[str, Any]) -> None:
    assert built["result"].success, built["result"].exception


def test_every_source_row_is_accounted_for(built: dict[str, Any]) -> None:
    rows = query(built, "select * from main.reconciliation_coreplus")
    assert {r[0] for r in rows} >= {"clients", "appointments", "invoices", "client_notes"}
    for name, source, mart, merged, quarantined in rows:
        assert source == mart + merged + quarantined, name
    data = built["data"]
    [(clients,)] = [r[1:2] for r in rows if r[0] == "clients"]
    assert clients == len(data["clients"])


def test_phone_and_telehealth_types_become_phone_calls(built: dict[str, Any]) -> None:
    data = built["data"]
    category = {t["appointmentTypeId"]: t["category"] for t in data["appointmentTypes"]}
    calls = {r[0] for r in query(built, "select activityid from main.dv_phonecall")}
    meetings = {r[0] for r in query(built, "select activityid from main.dv_appointment")}
    assert calls and meetings
    for appointment in data["appointments"]:
        key = dv_guid("coreplus", "appointment", appointment["appointmentId"])
        kind = category[appointment["appointmentTypeId"]]
        if key in calls:
            assert kind in ("Phone Call", "Telehealth")
        if key in meetings:
            assert kind in ("In Person", "Home Visit")


def test_statuses_map_to_dataverse_states(built: dict[str, Any]) -> None:
    data = built["data"]
    status = {dv_guid("coreplus", "appointment", a["appointmentId"]): a["status"]
              for a in data["appointments"]}  # fmt: skip
    expected = {"Attended": (1, 3), "Booked": (3, 5), "Cancelled": (2, 4), "DNA": (2, 4)}
    for activity, state, reason in query(
        built, "select activityid, statecode, statuscode from main.dv_appointment"
    ):
        if status[activity] in expected:
            assert (state, reason) == expected[status[activity]], status[activity]
    [(pencilled,)] = query(
        built,
        "select count(*) from main.quarantine_coreplus where reasons like 'status not mapped%'",
    )
    assert pencilled == sum(a["status"] == "Pencilled In" for a in data["appointments"]
                            if not _client_deleted(data, a))  # fmt: skip


def _client_deleted(data: dict, appointment: dict) -> bool:
    client_id = appointment["clients"][0]["clientId"].lower()
    client = next(c for c in data["clients"] if c["clientId"] == client_id)
    return (
        client["status"] == "Deleted" or not client["firstName"] or not client["lastName"].strip()
    )


def test_organisations_split_from_individuals(built: dict[str, Any]) -> None:
    rows = query(
        built,
        "select c.mig_sourcekey, c.parentcustomerid_account, a.name from main.dv_contact c "
        "left join main.dv_account a on c.parentcustomerid_account = a.accountid "
        "where c.mig_sourcekey like 'coreplus:client:%'",
    )
    by_client = {r[0].rsplit(":", 1)[1]: (r[1], r[2]) for r in rows}
    businesses: dict[str, set[str]] = {}
    for client in built["data"]["clients"]:
        if client["clientId"] not in by_client:
            continue
        account, name = by_client[client["clientId"]]
        organisation = client["organisationName"]
        own_name = f"{client['firstName']} {client['lastName']}"
        if organisation in ("", "Private", "Self", "N/A", "none", "-", own_name):
            assert account is None, organisation
        else:
            assert account is not None and name is not None, organisation
            core = organisation.lower().split(" pty")[0].split(" p/l")[0]
            businesses.setdefault(core, set()).add(account)
    assert businesses and all(len(accounts) == 1 for accounts in businesses.values()), (
        "every spelling of one business shares one account"
    )


@pytest.fixture(scope="module")
def held(built: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same extracted data built with unresolved_owner_policy=hold."""
    work = tmp_path_factory.mktemp("coreplus-dbt-hold")
    warehouse = work / "m.duckdb"
    shutil.copyfile(built["warehouse"], warehouse)
    result = run_dbt(
        ["build", "--vars", "{migration_source: coreplus, unresolved_owner_policy: hold}"],
        warehouse,
        work,
    )
    return {"result": result, "warehouse": warehouse, "data": built["data"]}


HELD = " (held back: unresolved_owner_policy=hold)"
SHARED_MARTS = ("dv_account", "dv_contact", "dv_appointment", "dv_phonecall", "dv_annotation")


def test_unresolved_practitioners_take_the_fallback_owner_by_default(
    built: dict[str, Any],
) -> None:
    rows = query(
        built,
        "select outcome, hold_reason, fallback_owner_systemuser_id "
        "from main.practitioner_discrepancies",
    )
    assert len(rows) == 4
    assert all(r[0] == "fallback owner" and r[1] is None and r[2] for r in rows), rows
    [(held_rows,)] = query(
        built, "select count(*) from main.quarantine_coreplus where reasons like '%held back%'"
    )
    assert held_rows == 0


def test_every_loaded_record_has_an_owner_under_the_fallback_policy(
    built: dict[str, Any],
) -> None:
    """No owner would leave the record to the calling application user."""
    marts = [name for (name,) in query(built, OWNED_MARTS)]
    assert set(SHARED_MARTS) <= set(marts)
    for mart in marts:
        assert not query(built, f"select 1 from main.{mart} where ownerid is null"), mart


OWNED_MARTS = (
    "select table_name from information_schema.columns "
    "where column_name = 'ownerid' and table_name like 'dv\\_%' escape '\\'"
)


def test_hold_policy_quarantines_the_records_of_unresolved_practitioners(
    held: dict[str, Any],
) -> None:
    assert held["result"].success, held["result"].exception
    unresolved = {
        practitioner_id: reason
        for practitioner_id, outcome, reason in query(
            held,
            "select p.practitioner_id, d.outcome, d.hold_reason "
            "from main.practitioner_discrepancies d "
            "join main.int_coreplus__practitioners_resolved p using (practitioner_id)",
        )
        if outcome == "held back"
    }
    assert len(unresolved) == 4
    assert all(reason.endswith(HELD) for reason in unresolved.values())
    assert "practitioner 'Mei Chen' has no Dataverse user" + HELD in unresolved.values()
    reasons = {
        (r[0], r[1]): r[2]
        for r in query(
            held, "select source_object, source_id, reasons from main.quarantine_coreplus"
        )
    }
    data = held["data"]
    loaded = {
        key for mart in SHARED_MARTS for (key,) in query(held, f"select mig_sourcekey from {mart}")
    }
    owned = [
        ("clients", "client", client["clientId"], client.get("practitionerId"))
        for client in data["clients"]
    ] + [
        ("appointments", "appointment", a["appointmentId"], a["practitioner"]["practitionerId"])
        for a in data["appointments"]
    ]
    checked = 0
    for source_object, object_name, source_id, practitioner in owned:
        reason = unresolved.get((practitioner or "").lower())
        if reason is None:
            continue
        checked += 1
        assert reason in reasons[(source_object, source_id.lower())], (source_object, source_id)
        assert f"coreplus:{object_name}:{source_id.lower()}" not in loaded
    assert checked > 0
    # their children follow the quarantine cascade: no note of a held client is loaded
    [(orphans,)] = query(
        held,
        "select count(*) from main.int_coreplus__notes_resolved n "
        "join main.int_coreplus__clients_resolved c using (client_id) "
        "join main.dv_annotation a on a.mig_sourcekey = 'coreplus:note:' || n.note_id "
        "where c.is_quarantined",
    )
    assert orphans == 0
    [(invoices_of_held,)] = query(
        held,
        "select count(*) from main.int_coreplus__invoices_resolved i "
        "join main.int_coreplus__practitioners_resolved p using (practitioner_id) "
        "where p.is_held_back and not i.is_quarantined",
    )
    assert invoices_of_held == 0
    # practitioner contacts (no owner in CorePlus) stay loaded, on the fallback owner
    [(role_contacts,)] = query(
        held, "select count(*) from main.dv_contact where mig_practitionerrole = 'Practitioner'"
    )
    assert role_contacts == 4
    for mart in SHARED_MARTS:
        assert not query(held, f"select 1 from main.{mart} where ownerid is null"), mart


def test_hold_policy_keeps_the_reconciliation_balanced(held: dict[str, Any]) -> None:
    rows = query(held, "select * from main.reconciliation_coreplus")
    for name, source, mart, merged, quarantined in rows:
        assert source == mart + merged + quarantined, name
    by_object = {r[0]: r[1:] for r in rows}
    [(clients_held,)] = query(
        held,
        "select count(*) from main.quarantine_coreplus "
        "where source_object = 'clients' and reasons like '%held back%'",
    )
    assert clients_held > 0
    assert by_object["clients"][0] == len(held["data"]["clients"])
    assert by_object["clients"][3] >= clients_held


def test_practitioners_resolve_to_users_or_contacts(built: dict[str, Any]) -> None:
    resolved = dict(query(
        built, "select email_address, resolved_as from main.int_coreplus__practitioners_resolved"
    ))  # fmt: skip
    assert resolved["emily.patel@contoso.example"] == "systemuser"
    assert resolved["rhys.hughes@contoso.example"] == "systemuser", "email match ignores case"
    assert resolved["liam.morgan@contoso.example"] == "contact", "disabled user"
    assert resolved["mei.chen@bondiallied.example"] == "contact"
    [(role_contacts,)] = query(
        built, "select count(*) from main.dv_contact where mig_practitionerrole = 'Practitioner'"
    )
    [(unresolved,)] = query(
        built,
        "select count(*) from main.int_coreplus__practitioners_resolved "
        "where resolved_as = 'contact'",
    )
    assert role_contacts == unresolved == 4


def test_duplicate_referrers_merge_and_junction_points_at_the_survivor(
    built: dict[str, Any],
) -> None:
    [(merged,)] = query(built, "select count(*) from main.int_coreplus__merged_referrers")
    assert merged > 0
    [(dangling,)] = query(
        built,
        "select count(*) from main.dv_mig_clientreferrer j left join main.dv_account a "
        "on j.mig_accountid = a.accountid where a.accountid is null",
    )
    assert dangling == 0


def test_drafts_are_flagged_and_invoices_link_lines(built: dict[str, Any]) -> None:
    [(drafts,)] = query(built, "select count(*) from main.dv_annotation where mig_isdraft")
    assert drafts > 0
    [(orphans,)] = query(
        built,
        "select count(*) from main.dv_mig_invoiceline l left join main.dv_mig_invoice i "
        "using (mig_invoiceid) where i.mig_invoiceid is null",
    )
    assert orphans == 0


def test_the_manifest_declares_the_custom_tables(built: dict[str, Any]) -> None:
    manifest = json.loads((built["target"] / "manifest.json").read_text())
    tables = {
        node["config"]["meta"]["dataverse"]["table"]: node["config"]["meta"]["dataverse"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("meta", {}).get("dataverse")
    }
    assert {"mig_invoice", "mig_invoiceline", "mig_servicetype", "mig_clientgroup",
            "mig_clientreferrer", "contact", "account"} <= set(tables)  # fmt: skip
    assert "opportunity" not in tables and "task" not in tables
    # the custom tables and their lookups come from the declared schema, scoped to these marts
    from load.manifest import parse_manifest
    from load.schema import SchemaSettings, load_declared_schema

    schema = load_declared_schema(parse_manifest(manifest), settings=SchemaSettings())
    custom = {t.name for t in schema.tables if t.custom}
    assert custom == {"mig_invoice", "mig_invoiceline", "mig_servicetype", "mig_clientgroup",
                      "mig_clientreferrer"}  # fmt: skip
    lookups = {(r.referencing, r.lookup, r.referenced) for r in schema.relationships}
    assert ("contact", "mig_clientgroupid", "mig_clientgroup") in lookups
    assert ("mig_invoiceline", "mig_invoiceid", "mig_invoice") in lookups
