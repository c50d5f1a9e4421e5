"""The run report: every source row accounted for, and what the load did per Dataverse table.

Two views, because they count different things: per source object (source rows = mart rows +
merged + quarantined, from dbt's `reconciliation_opencrm`) and per Dataverse table (mart rows →
created, updated, skipped unchanged, failed). Printed with rich, written as JSON and HTML.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from load.runner import LoadResult

__all__ = ["SourceRow", "TableRow", "RunReport", "build_report", "write_report", "print_report"]

RECONCILIATION_MODEL = "reconciliation_opencrm"
QUARANTINE_MODEL = "quarantine_opencrm"
FAILURES_SHOWN = 200


@dataclass(frozen=True)
class SourceRow:
    source_object: str
    source_rows: int
    mart_rows: int
    merged_rows: int
    quarantined_rows: int

    @property
    def balanced(self) -> bool:
        return self.source_rows == self.mart_rows + self.merged_rows + self.quarantined_rows


@dataclass(frozen=True)
class TableRow:
    table: str
    mart_rows: int  # rows in scope: the whole mart, or the sample's slice of it
    created: int
    updated: int
    skipped: int
    failed: int
    state_updated: int
    state_failed: int
    linked: int
    link_failed: int

    @property
    def loaded(self) -> int:
        return self.created + self.updated


@dataclass
class RunReport:
    run_id: str
    mode: str
    started: str
    finished: str | None
    ok: bool
    sources: list[SourceRow]
    tables: list[TableRow]
    quarantine_reasons: dict[str, int]
    failures: list[dict[str, Any]]
    failures_total: int
    notes: list[str] = field(default_factory=list)
    json_path: Path | None = None
    html_path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = [asdict(row) | {"balanced": row.balanced} for row in self.sources]
        data["tables"] = [asdict(row) | {"loaded": row.loaded} for row in self.tables]
        data.pop("json_path")
        data.pop("html_path")
        return data


def build_report(result: LoadResult, warehouse: Path) -> RunReport:
    notes: list[str] = []
    sources: list[SourceRow] = []
    reasons: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reconciliation = _relation(con, RECONCILIATION_MODEL)
        if reconciliation is None:
            notes.append(f"no {RECONCILIATION_MODEL} model in {warehouse}: source counts not shown")
        else:
            sources = _sources(con, reconciliation)
        quarantine = _relation(con, QUARANTINE_MODEL)
        if quarantine is None:
            notes.append(f"no {QUARANTINE_MODEL} model in {warehouse}: quarantine not summarised")
        else:
            reasons = _reasons(con, quarantine)
    if result.sample is not None:
        notes.append(
            f"sample of {result.sample.roots} {result.sample.root} roots and their closure: "
            "mart rows count the slice"
        )
    tables = [
        TableRow(
            table=t.table,
            mart_rows=t.rows,
            created=t.created,
            updated=t.updated,
            skipped=t.skipped,
            failed=t.failed,
            state_updated=t.state_updated,
            state_failed=t.state_failed,
            linked=t.linked,
            link_failed=t.link_failed,
        )
        for t in result.tables.values()
    ]
    return RunReport(
        run_id=result.run_id,
        mode=result.mode,
        started=result.started.isoformat(),
        finished=result.finished.isoformat() if result.finished else None,
        ok=result.ok,
        sources=sources,
        tables=tables,
        quarantine_reasons=reasons,
        failures=[asdict(f) for f in result.failures[:FAILURES_SHOWN]],
        failures_total=len(result.failures),
        notes=notes,
    )


def _relation(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "select table_schema from information_schema.tables where table_name = ? "
        "order by table_schema = 'main' desc limit 1",
        [name],
    ).fetchone()
    return f'"{row[0]}"."{name}"' if row else None


def _sources(con: duckdb.DuckDBPyConnection, relation: str) -> list[SourceRow]:
    rows = con.execute(
        "select source_object, source_rows, mart_rows, merged_rows, quarantined_rows "
        f"from {relation} order by source_object"
    ).fetchall()
    return [SourceRow(str(r[0]), *(int(v or 0) for v in r[1:])) for r in rows]


def _reasons(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, int]:
    rows = con.execute(
        f"select trim(reason), count(*) from {relation}, "
        "unnest(string_split(reasons, '; ')) as r(reason) group by 1 order by 2 desc, 1"
    ).fetchall()
    return {str(reason): int(n) for reason, n in rows}


def write_report(report: RunReport, reports_dir: Path) -> RunReport:
    reports_dir.mkdir(parents=True, exist_ok=True)
    report.json_path = reports_dir / f"{report.run_id}.json"
    report.html_path = reports_dir / f"{report.run_id}.html"
    report.json_path.write_text(json.dumps(report.to_json(), indent=2, default=str))
    report.html_path.write_text(_html(report))
    return report


def print_report(report: RunReport, console: Console) -> None:
    if report.sources:
        sources = Table(title="Source rows accounted for")
        for name in ("source object", "source", "mart", "merged", "quarantined", ""):
            sources.add_column(name, justify="left" if name == "source object" else "right")
        for row in report.sources:
            mark = "[green]✓[/]" if row.balanced else "[red]✗[/]"
            sources.add_row(
                row.source_object,
                *(str(n) for n in (row.source_rows, row.mart_rows, row.merged_rows)),
                str(row.quarantined_rows),
                mark,
            )
        console.print(sources)
    loaded = Table(title=f"Load {report.run_id} ({report.mode})")
    for name in (
        "table",
        "mart rows",
        "created",
        "updated",
        "unchanged",
        "failed",
        "state",
        "links",
    ):
        loaded.add_column(name, justify="left" if name == "table" else "right")
    for t in report.tables:
        failed = f"[red]{t.failed}[/]" if t.failed else "0"
        loaded.add_row(
            t.table,
            *(str(n) for n in (t.mart_rows, t.created, t.updated, t.skipped)),
            failed,
            str(t.state_updated),
            str(t.linked),
        )
    console.print(loaded)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    for failure in report.failures[:10]:
        console.print(
            f"[red]failed[/] {failure['table']} {failure['source_key'] or failure['record_id']}: "
            f"{failure['code']} {failure['message']}"
        )
    if report.failures_total > 10:
        console.print(f"… {report.failures_total - 10} more failures in the report")
    if report.json_path:
        console.print(f"report: {report.html_path} (JSON: {report.json_path})")


def _html(report: RunReport) -> str:
    def table(headers: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    sections = [f"<h1>Load {html.escape(report.run_id)} ({html.escape(report.mode)})</h1>"]
    sections.append(f"<p>started {report.started}, finished {report.finished}, ok: {report.ok}</p>")
    if report.sources:
        sections.append("<h2>Source rows accounted for</h2>")
        sections.append(
            table(
                ["source object", "source", "mart", "merged", "quarantined", "balanced"],
                [
                    [
                        r.source_object,
                        r.source_rows,
                        r.mart_rows,
                        r.merged_rows,
                        r.quarantined_rows,
                        r.balanced,
                    ]
                    for r in report.sources
                ],
            )
        )
    sections.append("<h2>Per Dataverse table</h2>")
    sections.append(
        table(
            ["table", "mart rows", "created", "updated", "unchanged", "failed", "state", "links"],
            [
                [
                    r.table,
                    r.mart_rows,
                    r.created,
                    r.updated,
                    r.skipped,
                    r.failed,
                    r.state_updated,
                    r.linked,
                ]
                for r in report.tables
            ],
        )
    )
    if report.quarantine_reasons:
        sections.append("<h2>Quarantine reasons</h2>")
        sections.append(
            table(["reason", "rows"], [[k, v] for k, v in report.quarantine_reasons.items()])
        )
    if report.failures:
        sections.append(f"<h2>Failed records ({report.failures_total})</h2>")
        sections.append(
            table(
                ["table", "source key", "record id", "action", "status", "code", "message"],
                [
                    [
                        f["table"],
                        f["source_key"],
                        f["record_id"],
                        f["action"],
                        f["status"],
                        f["code"],
                        f["message"],
                    ]
                    for f in report.failures
                ],
            )
        )
    sections += [f"<p class=note>{html.escape(note)}</p>" for note in report.notes]
    style = (
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
        "table{border-collapse:collapse;margin:1rem 0}"
        "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.note{color:#8a6d00}"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>Load {html.escape(report.run_id)}</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
