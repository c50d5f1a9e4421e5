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

from load.ledger import Ledger
from load.runner import LoadResult

__all__ = [
    "SourceRow",
    "TableRow",
    "RunReport",
    "build_report",
    "report_from_ledger",
    "write_report",
    "print_report",
    "chart_svg",
]


def source_models(source: str) -> tuple[str, str]:
    """dbt's reconciliation and quarantine models of one source."""
    return f"reconciliation_{source}", f"quarantine_{source}"


def current_source(con: duckdb.DuckDBPyConnection) -> str:
    """The source whose reconciliation model the warehouse holds; when it holds several (more
    than one source was built into it), the one the current manifest enables."""
    from load.config import LoadPaths
    from load.manifest import migration_source

    built = sorted(
        name.removeprefix("reconciliation_")
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_name like 'reconciliation_%'"
        ).fetchall()
    )
    if len(built) == 1:
        return built[0]
    return migration_source(LoadPaths.from_env().manifest)


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
    missing: int = 0
    deleted: int = 0

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
        data["phases"] = {
            "sources": [
                {
                    "source_object": r.source_object,
                    "source": r.source_rows,
                    "mart": r.mart_rows,
                    "merged": r.merged_rows,
                    "quarantined": r.quarantined_rows,
                }
                for r in self.sources
            ],
            "tables": [
                {
                    "table": t.table,
                    "mart": t.mart_rows,
                    "loaded": t.loaded,
                    "failed": t.failed,
                    "skipped_unchanged": t.skipped,
                    "missing_at_source": t.missing,
                    "deleted": t.deleted,
                }
                for t in self.tables
            ],
        }
        data.pop("json_path")
        data.pop("html_path")
        return data


def report_from_ledger(ledger: Ledger, warehouse: Path, run_id: str | None = None) -> RunReport:
    """A run's report rebuilt from the ledger (its `result` event, or its entries if it was
    killed before writing one)."""
    runs = [r for r in ledger.runs() if r["mode"] in ("sample", "full", "delta")]
    if run_id is None:
        if not runs:
            raise ValueError("no load in the ledger yet")
        run_id = runs[-1]["run_id"]
    run = ledger.run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in {ledger.path}")
    results = [e for e in ledger.events("result") if e["run_id"] == run_id]
    if results:
        tables = [
            TableRow(**{k: v for k, v in data.items() if k != "table" and k != "rows"},
                     table=name, mart_rows=data["rows"])
            for name, data in results[-1]["detail"]["tables"].items()
        ]  # fmt: skip
    else:
        tables = _tables_from_entries(ledger, run_id)
    failures = [
        {
            "table": e["table_name"],
            "record_id": e["record_id"],
            "source_key": e["source_key"],
            "action": e["action"],
            "status": None,
            "code": e["error_code"],
            "message": e["error_message"],
        }
        for e in ledger.entries(run_id)
        if e["outcome"] == "failed"
    ]
    sources, reasons, notes = _warehouse_views(warehouse)
    finished = run["finished"].isoformat() if run["finished"] else None
    return RunReport(
        run_id=run_id,
        mode=run["mode"],
        started=run["started"].isoformat(),
        finished=finished,
        ok=run["status"] == "ok",
        sources=sources,
        tables=tables,
        quarantine_reasons=reasons,
        failures=failures[:FAILURES_SHOWN],
        failures_total=len(failures),
        notes=[*notes, f"run status: {run['status']}"],
    )


def _tables_from_entries(ledger: Ledger, run_id: str) -> list[TableRow]:
    rows = ledger.query(
        """
        select table_name,
            count(*) filter (action = 'create' and outcome = 'ok'),
            count(*) filter (action = 'update' and outcome = 'ok'),
            count(*) filter (action in ('create', 'update') and outcome = 'failed'),
            count(*) filter (action = 'state' and outcome = 'ok'),
            count(*) filter (action = 'state' and outcome = 'failed'),
            count(*) filter (action like 'link:%' and outcome = 'ok'),
            count(*) filter (action like 'link:%' and outcome = 'failed'),
            count(*) filter (action = 'delete' and outcome = 'ok')
        from ledger where run_id = ? group by 1 order by 1
        """,
        [run_id],
    )
    return [
        TableRow(t, c + u + f, c, u, 0, f, s, sf, lk, lf, 0, d)
        for t, c, u, f, s, sf, lk, lf, d in rows
    ]


def _warehouse_views(
    warehouse: Path, source: str | None = None
) -> tuple[list[SourceRow], dict[str, int], list[str]]:
    notes: list[str] = []
    sources: list[SourceRow] = []
    reasons: dict[str, int] = {}
    if not warehouse.is_file():
        return sources, reasons, [f"no warehouse at {warehouse}: source counts not shown"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reconciliation_model, quarantine_model = source_models(source or current_source(con))
        reconciliation = _relation(con, reconciliation_model)
        if reconciliation is None:
            notes.append(f"no {reconciliation_model} model in {warehouse}: source counts not shown")
        else:
            sources = _sources(con, reconciliation)
        quarantine = _relation(con, quarantine_model)
        if quarantine is None:
            notes.append(f"no {quarantine_model} model in {warehouse}: quarantine not summarised")
        else:
            reasons = _reasons(con, quarantine)
    return sources, reasons, notes


def build_report(result: LoadResult, warehouse: Path, source: str | None = None) -> RunReport:
    """The run's report; `source` picks dbt's reconciliation/quarantine models (default: the
    source of the current build, from the manifest)."""
    sources, reasons, notes = _warehouse_views(warehouse, source)
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
            missing=t.missing,
            deleted=t.deleted,
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


CHART_SERIES = (
    ("created", "#2e7d32"),
    ("updated", "#66bb6a"),
    ("unchanged", "#90a4ae"),
    ("failed", "#c62828"),
)
SOURCE_SERIES = (("mart", "#1565c0"), ("merged", "#7e57c2"), ("quarantined", "#ef6c00"))


def chart_svg(report: RunReport) -> str:
    """Stacked horizontal bars: per source object (mart / merged / quarantined), then per
    Dataverse table (created / updated / unchanged / failed). Inline SVG, no script."""
    bars: list[tuple[str, list[tuple[int, str, str]]]] = []
    for row in report.sources:
        values = (row.mart_rows, row.merged_rows, row.quarantined_rows)
        bars.append(
            (
                f"source {row.source_object}",
                [(v, c, n) for v, (n, c) in zip(values, SOURCE_SERIES, strict=True)],
            )
        )
    for t in report.tables:
        counts = (t.created, t.updated, t.skipped, t.failed)
        bars.append(
            (
                f"table {t.table}",
                [(v, c, n) for v, (n, c) in zip(counts, CHART_SERIES, strict=True)],
            )
        )
    widest = max((sum(v for v, _, _ in parts) for _, parts in bars), default=0) or 1
    label_w, bar_w, row_h = 180, 520, 22
    height = row_h * len(bars) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" '
        f'height="{height}" role="img" aria-label="rows per phase">'
    ]
    for i, (label, parts) in enumerate(bars):
        y = 10 + i * row_h
        out.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>')
        x = float(label_w)
        for value, colour, name in parts:
            width = bar_w * value / widest
            if width > 0:
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{row_h - 6}" '
                    f'fill="{colour}"><title>{html.escape(name)}: {value}</title></rect>'
                )
            x += width
        total = sum(v for v, _, _ in parts)
        out.append(f'<text x="{x + 4:.1f}" y="{y + 14}" font-size="11">{total}</text>')
    legend_y = height - 12
    x = label_w
    for name, colour in (*SOURCE_SERIES, *CHART_SERIES):
        out.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 13}" y="{legend_y}" font-size="11">{name}</text>')
        x += 14 + 8 * len(name)
    out.append("</svg>")
    return "".join(out)


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
    sections.append("<h2>Phases</h2>")
    sections.append(chart_svg(report))
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
