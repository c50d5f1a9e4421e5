"""Field-level diff: read what Dataverse holds back and compare it with the marts, field by field.

Scope: the records a run wrote (default: the latest run), or every record the ledger says is in
Dataverse. Dataverse is read with a paged `$select` of the mapped columns (lookups as
`_<attribute>_value`), page by page; each page is joined in DuckDB with the mart rows of the same
ids, so memory stays flat. Only what Dataverse itself changes is normalised:

- datetimes: compared as UTC instants to the second (Dataverse answers `…Z`, drops milliseconds);
  a date sent to a date column may come back as that date at midnight UTC;
- numbers: compared by value (1250.5 is 1250.50), never rounded;
- empty strings: Dataverse stores "" as null;
- lookups: GUIDs compared lower-case;
- `overriddencreatedon` is read back from `createdon` (Dataverse moves it there).

Every other difference is a mismatch, classified as truncation, rounding, timezone, option value,
lookup, missing record or value. Written as CSV (every mismatch) and HTML + JSON (counts per table
and column, then the first mismatches).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from load.client import DataverseClient
from load.delta import present_records
from load.ledger import Ledger
from load.manifest import Lookup, TableSpec
from load.payload import json_value

__all__ = ["Mismatch", "DiffResult", "run_diff", "lookup_attribute", "compare_value"]

SHOWN = 500
PAGE = 2000


@dataclass(frozen=True)
class Mismatch:
    table: str
    record_id: str
    source_key: str | None
    column: str
    expected: Any
    actual: Any
    kind: str


@dataclass
class DiffResult:
    scope: str
    records: dict[str, int] = field(default_factory=dict)  # compared per table
    counts: Counter = field(default_factory=Counter)  # (table, column, kind) -> n
    shown: list[Mismatch] = field(default_factory=list)
    csv_path: Path | None = None
    html_path: Path | None = None
    json_path: Path | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "records": self.records,
            "mismatches": self.total,
            "by_column": [
                {"table": t, "column": c, "kind": k, "count": n}
                for (t, c, k), n in sorted(self.counts.items())
            ],
            "csv": str(self.csv_path) if self.csv_path else None,
        }


def lookup_attribute(lookup: Lookup, table: str) -> str:
    """The lookup column's logical name from its navigation property
    (`parentcustomerid_account` -> `parentcustomerid`, `regardingobjectid_contact_task` ->
    `regardingobjectid`, `ownerid` -> `ownerid`)."""
    nav = lookup.navigation_property
    for suffix in (f"_{lookup.target}_{table}", f"_{lookup.target}"):
        if nav.endswith(suffix) and len(nav) > len(suffix):
            return nav[: -len(suffix)]
    return nav


def run_diff(
    client: DataverseClient,
    ledger: Ledger,
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[TableSpec],
    out_dir: Path,
    *,
    run_id: str | None = None,
    everything: bool = False,
) -> DiffResult:
    if not everything and run_id is None:
        runs = [r for r in ledger.runs() if r["mode"] in ("sample", "full", "delta")]
        if not runs:
            raise ValueError("no load in the ledger yet: nothing to compare")
        run_id = runs[-1]["run_id"]
    scope = "all" if everything else str(run_id)
    result = DiffResult(scope)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"diff-{scope}"
    result.csv_path = out_dir / f"{stem}.csv"
    with result.csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["table", "record_id", "source_key", "column", "expected", "actual", "kind"]
        )
        for spec in specs:
            ids = _scope_ids(ledger, spec.table, None if everything else run_id)
            result.records[spec.table] = len(ids)
            if not ids:
                continue
            for mismatch in _diff_table(client, con, spec, ids):
                result.counts[(mismatch.table, mismatch.column, mismatch.kind)] += 1
                if len(result.shown) < SHOWN:
                    result.shown.append(mismatch)
                writer.writerow(
                    [
                        mismatch.table,
                        mismatch.record_id,
                        mismatch.source_key,
                        mismatch.column,
                        _text(mismatch.expected),
                        _text(mismatch.actual),
                        mismatch.kind,
                    ]
                )
    result.json_path = out_dir / f"{stem}.json"
    result.json_path.write_text(json.dumps(result.to_json(), indent=2))
    result.html_path = out_dir / f"{stem}.html"
    result.html_path.write_text(_html(result))
    ledger.event(
        None if everything else run_id,
        "diff",
        {
            "scope": scope,
            "mismatches": result.total,
            "records": result.records,
            "csv": str(result.csv_path),
        },
    )
    return result


def _scope_ids(ledger: Ledger, table: str, run_id: str | None) -> set[str]:
    if run_id is None:
        return set(present_records(ledger, table)["record_id"].to_pylist())
    rows = ledger.query(
        "select distinct record_id from ledger where run_id = ? and table_name = ? "
        "and action in ('create', 'update') and outcome = 'ok'",
        [run_id, table],
    )
    return {r[0] for r in rows}


def _diff_table(
    client: DataverseClient, con: duckdb.DuckDBPyConnection, spec: TableSpec, ids: set[str]
) -> Iterator[Mismatch]:
    with con.cursor() as cursor:
        mart_columns = [
            d[0] for d in cursor.execute(f"select * from {spec.relation} limit 0").description
        ]
    lookups = {lk.column: lk for lk in spec.lookups if lk.column in mart_columns}
    parties = {p.column for p in spec.activity_parties}
    read: dict[str, str] = {}  # mart column -> attribute read back
    for column in mart_columns:
        if column in parties:
            continue
        if column in lookups:
            read[column] = f"_{lookup_attribute(lookups[column], spec.table)}_value"
        elif column in spec.create_only_columns and column == "overriddencreatedon":
            read[column] = "createdon"
        else:
            read[column] = column
    yield from _drop_columns_missing_on_target(client, con, spec, read)
    select = sorted({spec.primary_key, *(a for c, a in read.items() if c != spec.primary_key)})
    # A polymorphic lookup is several mart columns (objectid_account, objectid_contact, ...) bound
    # to one attribute (_objectid_value): compare the attribute once, with whichever column is set.
    by_attribute: dict[str, list[str]] = {}
    for column in lookups:
        if column in read:
            by_attribute.setdefault(read[column], []).append(column)
    seen: set[str] = set()
    for page in client.get_pages(spec.entity_set, select, page_size=PAGE):
        page = [row for row in page if str(row.get(spec.primary_key, "")).lower() in ids]
        if not page:
            continue
        by_id = {str(row[spec.primary_key]).lower(): row for row in page}
        seen.update(by_id)
        for expected in _mart_rows(con, spec, list(by_id)):
            record_id = str(expected[spec.primary_key]).lower()
            actual_row = by_id[record_id]
            source_key = expected.get(spec.source_key) if spec.source_key else None
            for column, attribute in read.items():
                if column == spec.primary_key:
                    continue
                if column in spec.state_columns and expected[column] is None:
                    continue  # not sent: Dataverse applies its default state
                group = by_attribute.get(attribute, [column])
                if len(group) > 1:
                    chosen = next((c for c in group if expected[c] is not None), group[0])
                    if column != chosen:
                        continue
                kind = compare_value(
                    json_value(expected[column]),
                    actual_row.get(attribute),
                    lookup=column in lookups,
                    option=column in spec.state_columns,
                )
                if kind:
                    yield Mismatch(
                        spec.table, record_id, source_key, column,
                        json_value(expected[column]), actual_row.get(attribute), kind,
                    )  # fmt: skip
    for record_id in sorted(ids - seen):
        yield Mismatch(spec.table, record_id, None, "*", "record", None, "missing record")


def _drop_columns_missing_on_target(
    client: DataverseClient,
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    read: dict[str, str],
) -> Iterator[Mismatch]:
    """A mart column whose attribute the target lacks cannot be read back. If the mart never sets
    it, nothing was sent and there is nothing to compare; otherwise that is one mismatch."""
    present = client.entity_attributes(spec.table)
    for column, attribute in list(read.items()):
        base = attribute.removeprefix("_").removesuffix("_value")
        if attribute in present or base in present:
            continue
        del read[column]
        with con.cursor() as cursor:
            (values,) = cursor.execute(
                f'select count("{column}") from {spec.relation}'
            ).fetchone() or (0,)
        if values:
            yield Mismatch(
                spec.table, "*", None, column, f"{values} value(s)", None, "missing column"
            )


def _mart_rows(con: duckdb.DuckDBPyConnection, spec: TableSpec, ids: list[str]) -> list[dict]:
    page_ids = pa.table({"id": pa.array(ids, pa.string())})
    with con.cursor() as cursor:
        cursor.register("page_ids", page_ids)
        cursor.execute(
            f"select m.* from {spec.relation} as m semi join page_ids as p "
            f'on lower(m."{spec.primary_key}"::varchar) = p.id'
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def compare_value(
    expected: Any, actual: Any, *, lookup: bool = False, option: bool = False
) -> str | None:
    """None when Dataverse holds what was sent (after Dataverse's own normalisation), else the
    kind of mismatch."""
    if expected == "":
        expected = None
    if actual == "":
        actual = None
    if expected is None and actual is None:
        return None
    if expected is None and (actual is False or actual == 0):
        return None  # a column default Dataverse fills in (Boolean no, state 0)
    if lookup:
        return None if str(expected).lower() == str(actual).lower() else "lookup"
    if expected is None or actual is None:
        return "value"
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if expected == actual else "value"
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if expected == actual:
            return None
        if option or (isinstance(expected, int) and isinstance(actual, int)):
            return "option value" if option or expected >= 100_000_000 else "value"
        return "rounding"
    if isinstance(expected, str) and isinstance(actual, str):
        instant_e, instant_a = _instant(expected), _instant(actual)
        if instant_e is not None and instant_a is not None:
            if len(expected) == 10 and actual[:10] == expected and instant_e == instant_a:
                return None
            if instant_e.replace(microsecond=0) == instant_a.replace(microsecond=0):
                return None
            shift = abs((instant_a - instant_e).total_seconds())
            return "timezone" if shift <= 14 * 3600 and shift % 900 == 0 else "value"
        if expected == actual:
            return None
        if len(actual) < len(expected) and expected.startswith(actual):
            return "truncation"
        return "value"
    return None if expected == actual else "value"


def _instant(text: str) -> dt.datetime | None:
    if len(text) < 10 or text[4:5] != "-" or text[7:8] != "-":
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _row(cells: Sequence[Any]) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in cells) + "</tr>"


def _head(names: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"


def _html(result: DiffResult) -> str:
    by_table = summary(result)
    rows = "".join(
        _row([t, result.records.get(t, 0), by_table.get(t, 0)]) for t in sorted(result.records)
    )
    detail = "".join(_row([t, c, k, n]) for (t, c, k), n in sorted(result.counts.items()))
    shown = "".join(
        _row([m.table, m.source_key or m.record_id, m.column, m.expected, m.actual, m.kind])
        for m in result.shown
    )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2rem}"
        "table{border-collapse:collapse;margin:1rem 0}"
        "td,th{border:1px solid #ccc;padding:.3rem .6rem}"
    )
    verdict = "no mismatches" if not result.total else f"{result.total} mismatches"
    scope = html.escape(result.scope)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Diff {scope}</title>"
        f"<style>{style}</style></head><body><h1>Field-level diff: {scope}</h1>"
        f"<p>{verdict}; every mismatch in <code>{html.escape(str(result.csv_path))}</code></p>"
        f"<h2>Per table</h2><table>{_head(['table', 'records compared', 'mismatches'])}"
        f"{rows}</table><h2>Per column</h2><table>{_head(['table', 'column', 'kind', 'count'])}"
        f"{detail}</table><h2>First {SHOWN} mismatches</h2><table>"
        f"{_head(['table', 'record', 'column', 'expected', 'actual', 'kind'])}"
        f"{shown}</table></body></html>\n"
    )


def summary(result: DiffResult) -> Mapping[str, int]:
    by_table: Counter = Counter()
    for (table, _, _), n in result.counts.items():
        by_table[table] += n
    return dict(by_table)
