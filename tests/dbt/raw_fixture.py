"""A small raw OpenCRM + Dataverse dataset, shaped as dlt lands it (docs/contracts.md).

Every CSV column is VARCHAR and untrimmed, named by dlt's snake_case normalisation of the
export's header, plus `_source_file`, `_source_row`, `_extracted_at`, `_dlt_load_id`, `_dlt_id`.
The rows hold one example of each defect the dbt project must repair, merge or quarantine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

COMPANY_COLUMNS = [
    "record_id",
    "company_name",
    "type",
    "industry",
    "legal_format",
    "employees",
    "annual_revenue",
    "company_number",
    "vat_number",
    "member_of",
    "email",
    "phone",
    "fax",
    "website",
    "billing_street",
    "billing_city",
    "billing_county",
    "billing_postcode",
    "billing_country",
    "do_not_phone",
    "do_not_email",
    "description",
    "assigned_to",
    "created_time",
    "modified_time",
    "cf_601",
    "cf_602",
]
CONTACT_COLUMNS = [
    "record_id",
    "first_name",
    "last_name",
    "company_id",
    "company_name",
    "job_title",
    "department",
    "email",
    "other_email",
    "phone",
    "mobile",
    "home_phone",
    "mailing_street",
    "mailing_city",
    "mailing_county",
    "mailing_postcode",
    "mailing_country",
    "birthday",
    "do_not_email",
    "do_not_phone",
    "lead_source",
    "description",
    "assigned_to",
    "created_time",
    "modified_time",
    "cf_701",
    "cf_702",
]
OPPORTUNITY_COLUMNS = [
    "record_id",
    "opportunity_name",
    "type",
    "sales_stage",
    "pipeline",
    "lead_source",
    "next_step",
    "company_id",
    "contact_id",
    "amount",
    "probability",
    "expected_close_date",
    "description",
    "assigned_to",
    "created_time",
    "modified_time",
    "cf_801",
]
ACTIVITY_COLUMNS = [
    "record_id",
    "activity_type",
    "subject",
    "status",
    "priority",
    "start_date",
    "due_date",
    "duration_hours",
    "related_module",
    "related_to_id",
    "contact_id",
    "location",
    "call_outcome",
    "description",
    "assigned_to",
    "created_time",
    "modified_time",
]
NOTE_COLUMNS = [
    "note_id",
    "title",
    "note_content",
    "related_module",
    "related_to_id",
    "created_by",
    "created_time",
    "modified_time",
    "attachment_filename",
]
USER_COLUMNS = ["user_id", "user_name", "first_name", "last_name", "email", "status"]

NBSP = "\u00a0"
FALLBACK_OWNER_ID = "00000000-0000-0000-0000-0000000000f0"
ALICE_ID = "00000000-0000-0000-0000-00000000000a"
BOB_ID = "00000000-0000-0000-0000-00000000000b"

USERS: list[dict[str, str]] = [
    {"user_id": "1", "user_name": "alice", "email": "Alice@Example.co.uk", "status": "Active"},
    # Bob's Dataverse user is disabled.
    {"user_id": "2", "user_name": "bob", "email": "bob@example.co.uk", "status": "Active"},
    # Carol has no Dataverse user.
    {"user_id": "3", "user_name": "carol", "email": "carol@example.co.uk", "status": "Active"},
    # Dave left: inactive in OpenCRM although his Dataverse user is enabled.
    {"user_id": "4", "user_name": "dave", "email": "dave@example.co.uk", "status": "Inactive"},
    # Erin has no email.
    {"user_id": "5", "user_name": "erin", "email": "", "status": "Active"},
]

COMPANIES: list[dict[str, str]] = [
    # 100 survives; 101 and 102 are variant spellings merged into it.
    {
        "record_id": "100",
        "company_name": f"  Acme Widgets Ltd{NBSP}",
        "employees": "25",
        "annual_revenue": "£1,250,000.00",
        "email": "INFO@ACME.example",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "16/07/2024 09:00",
        "cf_601": "MFG",
        "cf_602": "01/02/2019",
        "do_not_phone": "1",
        "do_not_email": "0",
    },
    {
        "record_id": "101",
        "company_name": "ACME WIDGETS LIMITED",
        "assigned_to": "alice",
        "created_time": "15/01/2024 14:30",
        "modified_time": "15/01/2024 14:30",
    },
    {
        "record_id": "102",
        "company_name": "Acme Widgets.",
        "assigned_to": "bob",
        "created_time": "15/01/2024 14:30",
        "modified_time": "15/01/2024 14:30",
    },
    # 103: parent is 100; owner carol (no Dataverse user) -> fallback; defects repaired.
    {
        "record_id": "103",
        "company_name": "Smith & Sons plc",
        "member_of": "101",
        "annual_revenue": "-£50.00",
        "email": "not-an-email",
        "employees": "lots",
        "assigned_to": "carol",
        "created_time": "31/02/2024 10:00",
        "modified_time": "01/03/24",
        "cf_602": "2020-06-30",
    },
    # 104: blank name -> quarantined.
    {
        "record_id": "104",
        "company_name": "   ",
        "assigned_to": "alice",
        "created_time": "01/01/2024 10:00",
        "modified_time": "01/01/2024 10:00",
    },
    # 105: name longer than account.name's 160 -> quarantined.
    {
        "record_id": "105",
        "company_name": "X" * 161,
        "assigned_to": "alice",
        "created_time": "01/01/2024 10:00",
        "modified_time": "01/01/2024 10:00",
    },
    # 106: owner not in Users.csv.
    {
        "record_id": "106",
        "company_name": "Jones Plumbing LLP",
        "assigned_to": "zed",
        "annual_revenue": "1250",
        "created_time": "01/01/2024 10:00",
        "modified_time": "01/01/2024 10:00",
    },
]

CONTACTS: list[dict[str, str]] = [
    {
        "record_id": "200",
        "first_name": "Jane",
        "last_name": "Doe",
        "company_id": "100",
        "email": "Jane.Doe@Acme.example",
        "birthday": "05/11/1980",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
        "cf_701": "Email",
        "cf_702": "1",
    },
    # 201 duplicates 200 (same email and name) -> merged into 200.
    {
        "record_id": "201",
        "first_name": " jane ",
        "last_name": "DOE",
        "company_id": "101",
        "email": "jane.doe@acme.example",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 202 shares the email with a different person -> kept, flagged.
    {
        "record_id": "202",
        "first_name": "John",
        "last_name": "Doe",
        "company_id": "",
        "company_name": "Acme Widgets Limited",
        "email": "jane.doe@acme.example",
        "assigned_to": "bob",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
        "cf_701": "Pigeon",
    },
    # 203 blank last name -> quarantined.
    {
        "record_id": "203",
        "first_name": "Nolast",
        "last_name": "",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 204 invalid email dropped, unknown company, impossible birthday.
    {
        "record_id": "204",
        "first_name": "Sam",
        "last_name": "Smith",
        "company_id": "999",
        "company_name": "Nobody Ltd",
        "email": "sam@@example",
        "birthday": "30/02/1990",
        "assigned_to": "dave",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 205 contact of company 103 by normalised name.
    {
        "record_id": "205",
        "first_name": "Amy",
        "last_name": "Smith",
        "company_id": "",
        "company_name": "smith and sons",
        "phone": "01234 567890",
        "assigned_to": "erin",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
]

OPPORTUNITIES: list[dict[str, str]] = [
    {
        "record_id": "300",
        "opportunity_name": "Widgets for 2025",
        "sales_stage": " Proposal ",
        "company_id": "101",
        "contact_id": "201",
        "amount": "£1,250.00",
        "probability": "55.4",
        "expected_close_date": "31/12/2024",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
        "cf_801": "Globex",
    },
    # 301 stage missing from the stage map -> quarantined.
    {
        "record_id": "301",
        "opportunity_name": "Mystery deal",
        "sales_stage": "Pending Review",
        "company_id": "100",
        "amount": "1250",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    {
        "record_id": "302",
        "opportunity_name": "Won deal",
        "sales_stage": "Closed Won",
        "company_id": "103",
        "amount": "-£50.00",
        "probability": "150",
        "assigned_to": "bob",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
]

ACTIVITIES: list[dict[str, str]] = [
    {
        "record_id": "400",
        "activity_type": "Call",
        "subject": "Intro call",
        "status": "Held",
        "priority": "High",
        "start_date": "15/07/2024 14:30",
        "duration_hours": "0.5",
        "related_module": "Contacts",
        "related_to_id": "201",
        "contact_id": "201",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
        "call_outcome": "Interested",
    },
    {
        "record_id": "401",
        "activity_type": "Meeting",
        "subject": "Demo",
        "status": "Planned",
        "priority": "Medium",
        "start_date": "20/07/2024 10:00",
        "due_date": "20/07/2024 11:00",
        "related_module": "Companies",
        "related_to_id": "102",
        "contact_id": "200",
        "location": "Leeds",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    {
        "record_id": "402",
        "activity_type": "Task",
        "subject": "Send quote",
        "status": "Completed",
        "priority": "Low",
        "start_date": "16/07/2024 09:00",
        "due_date": "18/07/2024 17:00",
        "related_module": "Opportunities",
        "related_to_id": "300",
        "assigned_to": "bob",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 403 parent quarantined (company 104) -> quarantined.
    {
        "record_id": "403",
        "activity_type": "Task",
        "subject": "Chase",
        "status": "Not Started",
        "related_module": "Companies",
        "related_to_id": "104",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 404 blank subject -> quarantined.
    {
        "record_id": "404",
        "activity_type": "Call",
        "subject": "",
        "status": "Held",
        "related_module": "Contacts",
        "related_to_id": "200",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 405 meeting with an impossible start -> quarantined.
    {
        "record_id": "405",
        "activity_type": "Meeting",
        "subject": "Lunch",
        "status": "Planned",
        "start_date": "32/07/2024 12:00",
        "related_module": "Contacts",
        "related_to_id": "200",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    # 406 parent does not exist -> quarantined.
    {
        "record_id": "406",
        "activity_type": "Task",
        "subject": "Ghost",
        "status": "Deferred",
        "related_module": "Opportunities",
        "related_to_id": "999",
        "assigned_to": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
]

NOTES: list[dict[str, str]] = [
    {
        "note_id": "1",
        "title": "Background",
        "note_content": "Line one\r\nLine two",
        "related_module": "Companies",
        "related_to_id": "101",
        "created_by": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
        "attachment_filename": "brief.pdf",
    },
    {
        "note_id": "2",
        "title": "",
        "note_content": "",
        "related_module": "Contacts",
        "related_to_id": "200",
        "created_by": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    {
        "note_id": "3",
        "title": "Orphan",
        "note_content": "x",
        "related_module": "Contacts",
        "related_to_id": "203",
        "created_by": "alice",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
    {
        "note_id": "4",
        "title": "",
        "note_content": "About the deal",
        "related_module": "Opportunities",
        "related_to_id": "300",
        "created_by": "bob",
        "created_time": "15/07/2024 14:30",
        "modified_time": "15/07/2024 14:30",
    },
]

SYSTEMUSERS: list[tuple[str, str, str, bool, int]] = [
    (FALLBACK_OWNER_ID, "Migration Admin", "migration.admin@contoso.example", False, 0),
    (ALICE_ID, "Alice", "alice@example.co.uk", False, 0),
    (BOB_ID, "Bob", "bob@example.co.uk", True, 0),
    ("00000000-0000-0000-0000-00000000000d", "Dave", "dave@example.co.uk", False, 0),
]

FILES = {
    "companies": ("Companies.csv", COMPANY_COLUMNS, COMPANIES),
    "contacts": ("Contacts.csv", CONTACT_COLUMNS, CONTACTS),
    "opportunities": ("Opportunities.csv", OPPORTUNITY_COLUMNS, OPPORTUNITIES),
    "activities": ("Activities.csv", ACTIVITY_COLUMNS, ACTIVITIES),
    "notes": ("Notes.csv", NOTE_COLUMNS, NOTES),
    "users": ("Users.csv", USER_COLUMNS, USERS),
}


def _create_raw_table(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    file_name: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, str]],
) -> None:
    dlt_columns = ["_source_file", "_source_row", "_extracted_at", "_dlt_load_id", "_dlt_id"]
    column_sql = ", ".join(f'"{column}" varchar' for column in [*columns, *dlt_columns])
    connection.execute(f"create table raw_opencrm.{table} ({column_sql})")
    for index, row in enumerate(rows):
        unknown = set(row) - set(columns)
        assert not unknown, f"{table}: unknown columns {unknown}"
        values = [row.get(column, "") for column in columns]
        values += [file_name, str(index + 2), "2024-08-01 12:00:00", "1722513600.1", f"id{index}"]
        placeholders = ", ".join("?" for _ in values)
        connection.execute(f"insert into raw_opencrm.{table} values ({placeholders})", values)


def build_raw_database(path: Path) -> None:
    """Create raw_opencrm.* and raw_dataverse.* in a new DuckDB file at `path`."""
    connection = duckdb.connect(str(path))
    try:
        connection.execute("create schema raw_opencrm")
        connection.execute("create schema raw_dataverse")
        for table, (file_name, columns, rows) in FILES.items():
            _create_raw_table(connection, table, file_name, columns, rows)
        connection.execute(
            "create table raw_dataverse.systemusers (systemuserid varchar, fullname varchar, "
            "internalemailaddress varchar, isdisabled boolean, accessmode bigint, "
            "azureactivedirectoryobjectid varchar)"
        )
        for systemuser in SYSTEMUSERS:
            connection.execute(
                "insert into raw_dataverse.systemusers values (?, ?, ?, ?, ?, null)", systemuser
            )
        connection.execute(
            "create table raw_dataverse.teams (teamid varchar, name varchar, "
            "teamtype bigint, isdefault boolean)"
        )
        connection.execute(
            "insert into raw_dataverse.teams values "
            "('00000000-0000-0000-0000-0000000000e0', 'Contoso', 0, true)"
        )
    finally:
        connection.close()
