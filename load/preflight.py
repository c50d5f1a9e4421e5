"""Preflight: before any record moves, check every mart against the target's metadata.

For each Dataverse mart: its table exists; each column exists and is valid for create (state
columns: for update); DuckDB and Dataverse types are compatible; the longest string fits
MaxLength; every option value is one of the column's options; numbers fit MinValue/MaxValue;
each lookup's navigation property exists and points at the declared table; owners are enabled
users; the source key's alternate key is Active. Owner discrepancies (dbt's resolution) are
reported alongside. Every problem says what to fix.

`require_preflight` is what the loader calls: it raises `PreflightFailed` unless `force`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from load.client import DataverseClient
from load.manifest import TableSpec
from load.owners import OwnerReport, owner_report
from load.schema import TableMetadata, option_values, read_table

__all__ = [
    "PreflightProblem",
    "PreflightReport",
    "PreflightFailed",
    "KINDS",
    "run_preflight",
    "require_preflight",
]

# Every kind of problem, blocking unless listed in WARNINGS.
KINDS = (
    "missing_table",
    "missing_column",
    "not_valid_for_create",
    "not_valid_for_update",
    "type_mismatch",
    "too_long",
    "invalid_option",
    "out_of_range",
    "lookup_missing",
    "lookup_target",
    "activity_party",
    "owner_missing",
    "owner_unknown",
    "owner_disabled",
    "fallback_owner",
    "alternate_key",
)
WARNINGS = frozenset({"alternate_key"})

APPLY = "run `crm-migrate schema apply`"
INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"}
INTEGERS |= {"UINTEGER", "UBIGINT"}
NUMBERS = INTEGERS | {"DECIMAL", "DOUBLE", "FLOAT", "REAL"}
TEXT = {"VARCHAR", "UUID"}
TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS"}
TIMESTAMPS |= {"TIMESTAMP_NS", "TIMESTAMPTZ"}
COMPATIBLE: dict[str, set[str]] = {
    "String": TEXT,
    "Memo": TEXT,
    "Uniqueidentifier": TEXT,
    "Lookup": TEXT,
    "Customer": TEXT,
    "Owner": TEXT,
    "Integer": INTEGERS,
    "BigInt": INTEGERS,
    "Picklist": INTEGERS,
    "State": INTEGERS,
    "Status": INTEGERS,
    "Decimal": NUMBERS,
    "Double": NUMBERS,
    "Money": NUMBERS,
    "Boolean": {"BOOLEAN"},
    "DateTime": {"DATE"} | TIMESTAMPS,
}
OPTION_TYPES = {"Picklist", "State", "Status"}
USER_TABLES = {"systemuser", "team"}


@dataclass(frozen=True)
class PreflightProblem:
    table: str
    column: str | None
    kind: str
    message: str
    fix: str
    blocking: bool = True

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"[{self.kind}] {where}: {self.message} Fix: {self.fix}"


@dataclass
class PreflightReport:
    problems: list[PreflightProblem] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # tables checked
    owners: OwnerReport | None = None
    checked_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    @property
    def ok(self) -> bool:
        return not self.blocking

    @property
    def blocking(self) -> list[PreflightProblem]:
        return [p for p in self.problems if p.blocking]

    @property
    def warnings(self) -> list[PreflightProblem]:
        return [p for p in self.problems if not p.blocking]

    def add(
        self,
        table: str,
        column: str | None,
        kind: str,
        message: str,
        fix: str,
        *,
        blocking: bool | None = None,
    ) -> None:
        assert kind in KINDS, kind
        blocking = kind not in WARNINGS if blocking is None else blocking
        self.problems.append(PreflightProblem(table, column, kind, message, fix, blocking))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (`json.dumps(report.to_json())`)."""
        return {
            "ok": self.ok,
            "checked_at": self.checked_at,
            "tables": self.tables,
            "blocking": len(self.blocking),
            "warnings": len(self.warnings),
            "problems": [asdict(p) for p in self.problems],
            "owners": self.owners.to_json() if self.owners else None,
        }

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = self.checked_at.replace(":", "").replace("-", "")[:15]
        path = folder / f"preflight-{stamp}.json"
        path.write_text(json.dumps(self.to_json(), indent=2, default=str))
        return path


class PreflightFailed(Exception):
    """Preflight found blocking problems; `report` lists them, each with its fix."""

    def __init__(self, report: PreflightReport) -> None:
        lines = "\n".join(f"  {p}" for p in report.blocking[:20])
        more = len(report.blocking) - 20
        super().__init__(
            f"preflight found {len(report.blocking)} blocking problem(s):\n{lines}"
            + (f"\n  … and {more} more" if more > 0 else "")
        )
        self.report = report


def require_preflight(
    client: DataverseClient,
    specs: Sequence[TableSpec],
    *,
    force: bool,
    warehouse: duckdb.DuckDBPyConnection | Path | None = None,
    fallback_email: str | None = None,
) -> PreflightReport:
    """Run preflight; raise PreflightFailed on blocking problems unless `force`.

    `warehouse` is an open DuckDB connection or a file (default: MIGRATE_DUCKDB / var/)."""
    report = run_preflight(client, specs, warehouse=warehouse, fallback_email=fallback_email)
    if not report.ok and not force:
        raise PreflightFailed(report)
    return report


def run_preflight(
    client: DataverseClient,
    specs: Sequence[TableSpec],
    *,
    warehouse: duckdb.DuckDBPyConnection | Path | None = None,
    fallback_email: str | None = None,
) -> PreflightReport:
    report = PreflightReport()
    with _connection(warehouse) as con:
        users = _Users(client)
        metadata: dict[str, TableMetadata | None] = {}

        def table_meta(name: str) -> TableMetadata | None:
            if name not in metadata:
                metadata[name] = read_table(client, name)
            return metadata[name]

        for spec in specs:
            report.tables.append(spec.table)
            _check_mart(report, con, spec, table_meta, users)
        owners = owner_report(con, client, fallback_email=fallback_email)
        report.owners = owners
        if owners is not None and owners.fallback_problem:
            report.add(
                "systemuser",
                None,
                "fallback_owner",
                owners.fallback_problem + ".",
                "set dbt var fallback_owner_email (dbt_project.yml) to an enabled, licensed "
                "Dataverse user, run `crm-migrate extract dataverse-users` and `crm-migrate "
                "build`, then preflight again",
            )
    return report


@contextmanager
def _connection(
    warehouse: duckdb.DuckDBPyConnection | Path | None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        yield warehouse
        return
    if warehouse is None:
        from load.config import LoadPaths

        warehouse = LoadPaths.from_env().duckdb
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield con
    finally:
        con.close()


class _Users:
    """Enabled/disabled systemusers and teams of the environment, read once when needed."""

    def __init__(self, client: DataverseClient) -> None:
        self.client = client
        self._users: dict[str, bool] | None = None
        self._teams: set[str] | None = None

    def users(self) -> dict[str, bool]:
        if self._users is None:
            self._users = {
                str(row["systemuserid"]).lower(): bool(row.get("isdisabled"))
                for page in self.client.get_pages("systemusers", ["systemuserid", "isdisabled"])
                for row in page
            }
        return self._users

    def teams(self) -> set[str]:
        if self._teams is None:
            self._teams = {
                str(row["teamid"]).lower()
                for page in self.client.get_pages("teams", ["teamid"])
                for row in page
            }
        return self._teams


def _base_type(duck_type: str) -> str:
    return re.sub(r"\(.*\)$", "", duck_type.strip().upper())


def _ident(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _check_mart(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    table_meta: Any,
    users: _Users,
) -> None:
    meta: TableMetadata | None = table_meta(spec.table)
    if meta is None:
        report.add(
            spec.table,
            None,
            "missing_table",
            f"mart {spec.model} loads {spec.table}, which does not exist in this environment.",
            f"declare it under custom_tables in the declared schema and {APPLY}, or point "
            f"meta.dataverse.table of {spec.model} at an existing table",
        )
        return
    columns = [
        (row[0], row[1])
        for row in con.execute(f"describe select * from {spec.relation}").fetchall()
    ]
    lookups = {lk.column: lk for lk in spec.lookups}
    parties = {p.column: p for p in spec.activity_parties}
    for column, duck_type in columns:
        if column in parties:
            _check_party(report, con, spec, meta, parties[column], table_meta, users)
        elif column in lookups:
            _check_lookup(report, con, spec, meta, lookups[column], users)
        else:
            _check_column(report, con, spec, meta, column, duck_type)
    if spec.source_key:
        keys = [
            k
            for k in meta.keys.values()
            if tuple(k.get("KeyAttributes") or ()) == (spec.source_key,)
        ]
        if not keys or all(k.get("EntityKeyIndexStatus") != "Active" for k in keys):
            state = keys[0].get("EntityKeyIndexStatus") if keys else "missing"
            report.add(
                spec.table,
                spec.source_key,
                "alternate_key",
                f"the alternate key on source-key column {spec.source_key} is {state}: "
                "records cannot be addressed by source key (reconciliation, people).",
                f"{APPLY} (it creates the key and waits until its index is Active)",
            )


def _check_column(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    meta: TableMetadata,
    column: str,
    duck_type: str,
) -> None:
    where = f"{spec.model}.{column}"
    attribute = meta.attributes.get(column)
    if attribute is None:
        custom = any(c.name == column for c in spec.custom_columns)
        report.add(
            spec.table,
            column,
            "missing_column",
            f"{where} has no column {column} on Dataverse table {spec.table}.",
            f"{APPLY} to create it"
            if custom
            else f"declare it in {spec.model}'s custom_columns and {APPLY}, or rename/remove the "
            f"column in {spec.model}.sql (Dataverse column names are logical names)",
        )
        return
    kind = attribute.get("AttributeType")
    if column in spec.state_columns:
        if attribute.get("IsValidForUpdate") is False:
            report.add(
                spec.table,
                column,
                "not_valid_for_update",
                f"{spec.table}.{column} cannot be updated, so it cannot be set after create.",
                f"remove it from state_columns and from {spec.model}",
            )
    elif attribute.get("IsValidForCreate") is False:
        hint = (
            " (statecode/statuscode: list it in meta.dataverse.state_columns)"
            if kind
            in {
                "State",
                "Status",
            }
            else ""
        )
        report.add(
            spec.table,
            column,
            "not_valid_for_create",
            f"{spec.table}.{column} is not valid for create: Dataverse would ignore the value.",
            f"remove the column from {spec.model}{hint}",
        )
    base = _base_type(duck_type)
    compatible = COMPATIBLE.get(str(kind))
    if compatible is not None and base not in compatible:
        report.add(
            spec.table,
            column,
            "type_mismatch",
            f"{where} is {duck_type} but {spec.table}.{column} is {kind}.",
            f"cast it in {spec.model}.sql to a type {kind} accepts "
            f"({', '.join(sorted(compatible))}) and set data_type in the model's YAML",
        )
        return
    behavior = attribute.get("DateTimeBehavior")
    if isinstance(behavior, Mapping):
        behavior = behavior.get("Value")
    if kind == "DateTime" and behavior == "DateOnly" and base in TIMESTAMPS:
        report.add(
            spec.table,
            column,
            "type_mismatch",
            f"{where} is {duck_type} but {spec.table}.{column} is date-only.",
            f"cast it to date in {spec.model}.sql (and data_type: date)",
        )
    if kind in {"String", "Memo"} and isinstance(attribute.get("MaxLength"), int):
        _check_length(report, con, spec, column, int(attribute["MaxLength"]))
    elif kind in OPTION_TYPES:
        _check_options(report, con, spec, column, attribute)
    elif kind in {"Integer", "BigInt", "Decimal", "Double", "Money"}:
        _check_range(report, con, spec, column, attribute)


def _check_length(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    column: str,
    max_length: int,
) -> None:
    col = _ident(column)
    longest, over = con.execute(
        f"select max(length({col})), count(*) filter (where length({col}) > ?) "
        f"from {spec.relation}",
        [max_length],
    ).fetchone() or (None, 0)
    if over:
        report.add(
            spec.table,
            column,
            "too_long",
            f"{over} row(s) of {spec.model} have {column} longer than the {max_length} "
            f"characters {spec.table}.{column} holds (longest: {longest}).",
            f"truncate or quarantine them in {spec.model}.sql (guard it with a max_length test "
            f"of {max_length}), or raise the column's maximum length in Dataverse",
        )


def _check_options(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    column: str,
    attribute: Mapping[str, Any],
) -> None:
    options = option_values(attribute)
    if not options:
        return
    col = _ident(column)
    rows = con.execute(
        f"select {col}, count(*) from {spec.relation} where {col} is not null group by 1 order by 1"
    ).fetchall()
    bad = [(value, count) for value, count in rows if int(value) not in options]
    if bad:
        valid = ", ".join(f"{v} {label}" for v, label in sorted(options.items()))
        values = ", ".join(f"{v} ({n} rows)" for v, n in bad[:10])
        report.add(
            spec.table,
            column,
            "invalid_option",
            f"{spec.model}.{column} holds {values}, not options of {spec.table}.{column} "
            f"(valid: {valid}).",
            "map the source values to valid options (seeds/ option-set maps or the mart), or "
            "add the options to the choice in Dataverse",
        )


def _check_range(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    column: str,
    attribute: Mapping[str, Any],
) -> None:
    low, high = attribute.get("MinValue"), attribute.get("MaxValue")
    if low is None and high is None:
        return
    col = _ident(column)
    conditions = []
    if low is not None:
        conditions.append(f"{col} < {float(low)!r}")
    if high is not None:
        conditions.append(f"{col} > {float(high)!r}")
    row = con.execute(
        f"select count(*), min({col}), max({col}) from {spec.relation} "
        f"where {' or '.join(conditions)}"
    ).fetchone()
    if row and row[0]:
        report.add(
            spec.table,
            column,
            "out_of_range",
            f"{row[0]} row(s) of {spec.model} have {column} outside {low}..{high} "
            f"(found {row[1]}..{row[2]}).",
            f"clamp or quarantine those rows in {spec.model}.sql (an accepted_range test guards "
            "it)",
        )


def _check_lookup(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    meta: TableMetadata,
    lookup: Any,
    users: _Users,
) -> None:
    relationships = meta.navigation(lookup.navigation_property)
    owner = meta.attributes.get(lookup.navigation_property) or {}
    if not relationships and owner.get("AttributeType") == "Owner" and lookup.target in USER_TABLES:
        # Every user-owned table binds its Owner column through the navigation property of the
        # same name; a metadata source may list no owner relationship for it (the local
        # Dataverse does not, for the custom tables `schema apply` creates).
        if owner.get("IsValidForCreate") is False:
            report.add(
                spec.table,
                lookup.column,
                "not_valid_for_create",
                f"{spec.table}.{lookup.navigation_property} is not valid for create.",
                f"remove {lookup.column} from {spec.model}",
            )
        _check_owners(report, con, spec, lookup.column, lookup.target, users)
        return
    if not relationships:
        # A lookup no row sets is never bound: worth a warning, not a refusal.
        [(bound,)] = con.execute(
            f"select count({_ident(lookup.column)}) from {spec.relation}"
        ).fetchall()
        report.add(
            spec.table,
            lookup.column,
            "lookup_missing",
            f"{spec.table} has no navigation property {lookup.navigation_property} "
            f"(lookup column {lookup.column} of {spec.model}"
            + (f", set on {bound} row(s))." if bound else ", set on no row: never bound)."),
            "use the single-valued navigation property name from the table reference "
            "(e.g. parentcustomerid_account) in meta.dataverse.lookups, or declare the custom "
            f"relationship in the declared schema and {APPLY}",
            blocking=bool(bound),
        )
        return
    targets = sorted({str(r.get("ReferencedEntity")) for r in relationships})
    if lookup.target not in targets:
        report.add(
            spec.table,
            lookup.column,
            "lookup_target",
            f"{lookup.column} of {spec.model} is declared to point at {lookup.target}, but "
            f"{spec.table}.{lookup.navigation_property} points at {', '.join(targets)}.",
            f"set target/target_entity_set of {lookup.column} to {targets[0]} in "
            f"{spec.model}'s meta, or bind through the navigation property for {lookup.target}",
        )
        return
    attribute = meta.attributes.get(str(relationships[0].get("ReferencingAttribute")), {})
    if attribute.get("IsValidForCreate") is False:
        report.add(
            spec.table,
            lookup.column,
            "not_valid_for_create",
            f"{spec.table}.{attribute.get('LogicalName')} (bound as {lookup.navigation_property}) "
            "is not valid for create.",
            f"remove {lookup.column} from {spec.model}",
        )
    if lookup.target in USER_TABLES:
        _check_owners(report, con, spec, lookup.column, lookup.target, users)


def _check_party(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    meta: TableMetadata,
    party: Any,
    table_meta: Any,
    users: _Users,
) -> None:
    if not meta.is_activity:
        report.add(
            spec.table,
            party.column,
            "activity_party",
            f"{spec.table} is not an activity table, so {party.column} cannot be an activity "
            "party.",
            f"remove {party.column} from activity_parties of {spec.model}",
        )
        return
    if table_meta(party.target) is None:
        report.add(
            spec.table,
            party.column,
            "activity_party",
            f"activity party {party.column} points at {party.target}, which does not exist.",
            f"fix target/target_entity_set of {party.column} in {spec.model}'s meta",
        )
        return
    if party.target in USER_TABLES:
        _check_owners(report, con, spec, party.column, party.target, users)


def _check_owners(
    report: PreflightReport,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    column: str,
    target: str,
    users: _Users,
) -> None:
    """No record may go to a disabled or unknown user; ownerid may not be empty."""
    col = _ident(column)
    rows = con.execute(
        f"select lower(cast({col} as varchar)), count(*) from {spec.relation} group by 1"
    ).fetchall()
    fix = (
        "run `crm-migrate extract dataverse-users` then `crm-migrate build` so owners resolve "
        "against the current users (unmatched and disabled owners take the fallback owner, "
        "var fallback_owner_email)"
    )
    for value, count in rows:
        if value is None:
            if column == "ownerid":
                report.add(
                    spec.table,
                    column,
                    "owner_missing",
                    f"{count} row(s) of {spec.model} have no owner: Dataverse would give them to "
                    "the migration's application user.",
                    fix,
                )
            continue
        if target == "team":
            if value not in users.teams():
                report.add(
                    spec.table,
                    column,
                    "owner_unknown",
                    f"{count} row(s) of {spec.model} name team {value}, which does not exist.",
                    fix,
                )
            continue
        disabled = users.users().get(value)
        if disabled is None:
            report.add(
                spec.table,
                column,
                "owner_unknown",
                f"{count} row(s) of {spec.model} name systemuser {value} in {column}, which "
                "does not exist in this environment.",
                fix,
            )
        elif disabled:
            report.add(
                spec.table,
                column,
                "owner_disabled",
                f"{count} row(s) of {spec.model} name systemuser {value} in {column}, which is "
                "disabled: records would be orphaned to an inactive owner.",
                fix,
            )
