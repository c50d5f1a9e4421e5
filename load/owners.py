"""Owner resolution, made visible before loading: who falls back, why, and to whom.

dbt resolves owners in SQL (`int_opencrm__owners_resolved`: OpenCRM user → Users.csv email →
an enabled Dataverse systemuser, else — by var `unresolved_owner_policy` — the fallback owner, var
`fallback_owner_email`, or no owner: the records are held back in quarantine). This module
reads that result from the warehouse and checks the one thing SQL cannot: that the fallback owner
is, right now, an enabled user in the target environment. Lookups by email or name go through
`odata_string`, so a quote in a value neither breaks nor widens the filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import yaml  # type: ignore[import-untyped]

from load.client import DataverseClient, odata_string

__all__ = [
    "OwnerDiscrepancy",
    "OwnerReport",
    "REASONS",
    "owner_report",
    "systemusers_where",
    "systemuser_by_email",
    "systemusers_by_name",
]

OWNERS_MODEL = "int_opencrm__owners_resolved"
DISCREPANCIES_MODEL = "owner_discrepancies"
SYSTEMUSER_COLUMNS = [
    "systemuserid",
    "fullname",
    "internalemailaddress",
    "isdisabled",
    "accessmode",
]

# Why an OpenCRM user's records do not go to their own Dataverse user, and what fixes it.
REASONS: dict[str, tuple[str, str]] = {
    "not_in_users_csv": (
        "owns records but is not in Users.csv",
        "add the user to the OpenCRM export's Users.csv with their email, or accept the fallback",
    ),
    "no_email": (
        "has no email in Users.csv, so cannot be matched to a Dataverse user",
        "add the user's email to Users.csv and re-run extract and build, or accept the fallback",
    ),
    "no_dataverse_user": (
        "has no Dataverse user with that primary email",
        "create (or fix the primary email of) the Dataverse user, then run "
        "`crm-migrate extract dataverse-users` and `crm-migrate build`; or accept the fallback",
    ),
    "dataverse_user_disabled": (
        "matches a disabled Dataverse user",
        "enable and license the user in Dataverse (then re-extract users and build), or accept "
        "the fallback: records are never given to a disabled owner",
    ),
    "opencrm_user_inactive": (
        "is inactive in OpenCRM",
        "accept the fallback, or mark the user Active in the export if they should keep records",
    ),
}


@dataclass(frozen=True)
class OwnerDiscrepancy:
    user_name: str | None
    email: str | None
    reason: str
    records: int
    owner_systemuserid: str | None  # the owner the records get (the fallback); None: held back
    held_back: bool = False  # dbt var unresolved_owner_policy=hold quarantined the records

    @property
    def explanation(self) -> str:
        return REASONS.get(self.reason, (self.reason, ""))[0]

    @property
    def fix(self) -> str:
        return REASONS.get(self.reason, ("", "review the owner mapping"))[1]

    @property
    def outcome(self) -> str:
        if self.held_back:
            return "held back (quarantined: unresolved_owner_policy=hold)"
        return "fallback owner" if self.owner_systemuserid else "no owner: the fallback is missing"


@dataclass
class OwnerReport:
    fallback_email: str | None
    fallback_systemuserid: str | None
    fallback_problem: str | None  # why the fallback owner cannot own records, if it cannot
    discrepancies: list[OwnerDiscrepancy] = field(default_factory=list)
    matched_users: int = 0
    dataverse_users_without_email: list[str] = field(default_factory=list)

    @property
    def records_on_fallback(self) -> int:
        return sum(d.records for d in self.discrepancies if d.owner_systemuserid)

    def to_json(self) -> dict[str, Any]:
        return {
            "fallback_email": self.fallback_email,
            "fallback_systemuserid": self.fallback_systemuserid,
            "fallback_problem": self.fallback_problem,
            "matched_users": self.matched_users,
            "records_on_fallback": self.records_on_fallback,
            "discrepancies": [
                asdict(d) | {"explanation": d.explanation, "outcome": d.outcome, "fix": d.fix}
                for d in self.discrepancies
            ],
            "dataverse_users_without_email": self.dataverse_users_without_email,
        }


def systemusers_where(client: DataverseClient, filter: str) -> list[dict[str, Any]]:
    return [
        row
        for page in client.get_pages("systemusers", SYSTEMUSER_COLUMNS, filter=filter)
        for row in page
    ]


def systemuser_by_email(client: DataverseClient, email: str) -> list[dict[str, Any]]:
    """The systemusers whose primary email is exactly `email` (quotes escaped, never widened)."""
    return systemusers_where(client, f"internalemailaddress eq {odata_string(email)}")


def systemusers_by_name(client: DataverseClient, full_name: str) -> list[dict[str, Any]]:
    return systemusers_where(client, f"fullname eq {odata_string(full_name)}")


def _relation(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "select table_schema from information_schema.tables where table_name = ? "
        "order by table_schema limit 1",
        [name],
    ).fetchone()
    return f'"{row[0]}"."{name}"' if row else None


def owner_report(
    con: duckdb.DuckDBPyConnection,
    client: DataverseClient | None = None,
    *,
    fallback_email: str | None = None,
) -> OwnerReport | None:
    """The owner discrepancies dbt resolved, checked against the environment; None when the
    warehouse has no owner resolution (a source that does not resolve owners)."""
    relation = _relation(con, OWNERS_MODEL)
    if relation is None:
        return None
    columns = {row[0] for row in con.execute(f"describe {relation}").fetchall()}
    held = "coalesce(is_held_back, false)" if "is_held_back" in columns else "false"
    rows = con.execute(
        f"select user_name, email_address, discrepancy_reason, records_affected, "
        f"owner_systemuser_id, is_in_users_csv, {held} from {relation} where is_fallback "
        "order by records_affected desc, user_name"
    ).fetchall()
    [(matched,)] = con.execute(f"select count(*) from {relation} where not is_fallback").fetchall()
    discrepancies = [
        OwnerDiscrepancy(
            user_name=name,
            email=email,
            reason="no_email"
            if in_users and not email and reason == "no_dataverse_user"
            else reason,
            records=int(records or 0),
            owner_systemuserid=owner,
            held_back=bool(is_held),
        )
        for name, email, reason, records, owner, in_users, is_held in rows
    ]
    fallback_ids = {d.owner_systemuserid for d in discrepancies if d.owner_systemuserid}
    fallback_email = fallback_email or _fallback_email_used(con)
    report = OwnerReport(
        fallback_email=fallback_email,
        fallback_systemuserid=next(iter(sorted(fallback_ids)), None),
        fallback_problem=None,
        discrepancies=discrepancies,
        matched_users=int(matched),
    )
    needing_fallback = [d for d in discrepancies if not d.held_back]
    if needing_fallback and not fallback_ids:
        report.fallback_problem = (
            f"the fallback owner {fallback_email or '(var fallback_owner_email)'} is not an "
            "enabled Dataverse user in the extracted users, so "
            f"{sum(d.records for d in needing_fallback)} records have no owner"
        )
    if client is not None:
        _check_live(client, report)
    return report


def _fallback_email_used(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fallback owner email dbt built with (owner_discrepancies), else the project's var."""
    relation = _relation(con, DISCREPANCIES_MODEL)
    if relation is not None:
        row = con.execute(f"select min(fallback_owner_email) from {relation}").fetchone()
        if row and row[0]:
            return str(row[0])
    from load.schema import DEFAULT_PROJECT_FILE

    try:
        project = yaml.safe_load(DEFAULT_PROJECT_FILE.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    value = (project.get("vars") or {}).get("fallback_owner_email")
    return str(value) if value else None


def _check_live(client: DataverseClient, report: OwnerReport) -> None:
    all_held = bool(report.discrepancies) and all(d.held_back for d in report.discrepancies)
    if report.fallback_email and not report.fallback_problem and not all_held:
        users = systemuser_by_email(client, report.fallback_email)
        enabled = [u for u in users if not u.get("isdisabled")]
        if not users:
            report.fallback_problem = (
                f"the fallback owner {report.fallback_email} is not a user in this environment"
            )
        elif not enabled:
            report.fallback_problem = (
                f"the fallback owner {report.fallback_email} is disabled in this environment"
            )
        elif report.fallback_systemuserid and report.fallback_systemuserid not in {
            str(u["systemuserid"]).lower() for u in enabled
        }:
            report.fallback_problem = (
                f"the fallback owner resolved in the warehouse ({report.fallback_systemuserid}) is "
                f"not the enabled user {report.fallback_email} of this environment: the users "
                "extract is stale"
            )
    report.dataverse_users_without_email = sorted(
        str(u.get("fullname") or u["systemuserid"])
        for u in systemusers_where(client, "internalemailaddress eq null and isdisabled eq false")
        if u.get("accessmode") not in (4, 5)  # non-interactive and support users own nothing
    )


def summarise(report: OwnerReport) -> Sequence[str]:
    """Plain lines for a console or a log."""
    lines = [
        f"{report.matched_users} OpenCRM users own their records in Dataverse; "
        f"{len(report.discrepancies)} do not ({report.records_on_fallback} records go to the "
        f"fallback owner {report.fallback_email or '-'})"
    ]
    for d in report.discrepancies:
        lines.append(
            f"  {d.user_name or '(blank)'} <{d.email or 'no email'}>: {d.explanation}; "
            f"{d.records} records → {d.outcome}. Fix: {d.fix}"
        )
    if report.fallback_problem:
        lines.append(f"  FALLBACK OWNER: {report.fallback_problem}")
    if report.dataverse_users_without_email:
        lines.append(
            "  Dataverse users without a primary email (no OpenCRM user can match them): "
            + ", ".join(report.dataverse_users_without_email)
        )
    return lines
