"""A tiny warehouse shaped like the Dataverse marts of tests/load/data/manifest.json."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

MANIFEST = Path(__file__).parent / "data" / "manifest.json"

DDL = {
    "dv_account": """
        accountid varchar primary key, name varchar, mig_sourcekey varchar,
        parentaccountid varchar, ownerid varchar, revenue decimal(18, 2),
        overriddencreatedon timestamp""",
    "dv_contact": """
        contactid varchar primary key, firstname varchar, lastname varchar, emailaddress1 varchar,
        birthdate date, parentcustomerid_account varchar, ownerid varchar, mig_sourcekey varchar,
        mig_preferredcontactmethod integer, mig_newsletter boolean,
        statecode integer, statuscode integer""",
    "dv_opportunity": """
        opportunityid varchar primary key, name varchar, estimatedvalue decimal(18, 2),
        estimatedclosedate date, customerid_account varchar, ownerid varchar,
        mig_sourcekey varchar, mig_competitor varchar""",
    "dv_task": """
        activityid varchar primary key, subject varchar, scheduledend timestamptz,
        regardingobjectid_contact_task varchar, ownerid varchar, mig_sourcekey varchar,
        statecode integer, statuscode integer""",
    "dv_phonecall": """
        activityid varchar primary key, subject varchar, phonenumber varchar,
        regardingobjectid_account_phonecall varchar, to_contact varchar, from_systemuser varchar,
        mig_sourcekey varchar""",
}


def guid(obj: str, source_id: object) -> str:
    """Like the dv_guid macro: md5 of `source|object|id`, formatted 8-4-4-4-12."""
    h = hashlib.md5(f"opencrm|{obj}|{source_id}".encode()).hexdigest()  # noqa: S324
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def write_warehouse(path: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for table, ddl in DDL.items():
            con.execute(f"create or replace table main.{table} ({ddl})")
            for row in rows.get(table, ()):
                names = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                con.execute(
                    f"insert into main.{table} ({names}) values ({marks})", list(row.values())
                )
    return path


def demo_rows(owner: str | None, *, accounts: int = 3, contacts_per_account: int = 2) -> dict:
    """Accounts (the second a child of the first), an opportunity each, contacts under them,
    a task per contact (every other one completed) and one phone call to the first contact."""
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in DDL}
    for a in range(1, accounts + 1):
        rows["dv_account"].append(
            {
                "accountid": guid("account", a),
                "name": f"Company {a} Ltd",
                "mig_sourcekey": f"opencrm:account:{a}",
                "parentaccountid": guid("account", 1) if a == 2 else None,
                "ownerid": owner,
                "revenue": decimal.Decimal("1250.50") * a,
                "overriddencreatedon": dt.datetime(2019, 3, a, 9, 30),
            }
        )
        rows["dv_opportunity"].append(
            {
                "opportunityid": guid("opportunity", a),
                "name": f"Deal {a}",
                "estimatedvalue": decimal.Decimal("999.99") * a,
                "estimatedclosedate": dt.date(2025, 1, a),
                "customerid_account": guid("account", a),
                "ownerid": owner,
                "mig_sourcekey": f"opencrm:opportunity:{a}",
                "mig_competitor": "Rival plc" if a == 1 else None,
            }
        )
        for c in range(1, contacts_per_account + 1):
            cid = a * 100 + c
            rows["dv_contact"].append(
                {
                    "contactid": guid("contact", cid),
                    "firstname": f"First{cid}",
                    "lastname": f"Last{cid}",
                    "emailaddress1": f"person{cid}@example.com",
                    "birthdate": dt.date(1980, 1, c),
                    "parentcustomerid_account": guid("account", a),
                    "ownerid": owner,
                    "mig_sourcekey": f"opencrm:contact:{cid}",
                    "mig_preferredcontactmethod": 100000000 + c % 3,
                    "mig_newsletter": c % 2 == 0,
                    "statecode": 0,
                    "statuscode": 1,
                }
            )
            rows["dv_task"].append(
                {
                    "activityid": guid("task", cid),
                    "subject": f"Follow up {cid}",
                    "scheduledend": dt.datetime(2024, 5, c, 10, 0, tzinfo=dt.UTC),
                    "regardingobjectid_contact_task": guid("contact", cid),
                    "ownerid": owner,
                    "mig_sourcekey": f"opencrm:activity:{cid}",
                    "statecode": 1 if c % 2 == 0 else 0,
                    "statuscode": 5 if c % 2 == 0 else 2,
                }
            )
    rows["dv_phonecall"].append(
        {
            "activityid": guid("phonecall", 1),
            "subject": "Intro call",
            "phonenumber": "+44 20 7946 0000",
            "regardingobjectid_account_phonecall": guid("account", 1),
            "to_contact": guid("contact", 101),
            "from_systemuser": owner,
            "mig_sourcekey": "opencrm:activity:9001",
        }
    )
    return rows
