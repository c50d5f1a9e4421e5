"""`--sample N`: N root records and everything needed to make the slice referentially complete.

Down-closure: the roots, then every row that references a selected row, transitively. Up-closure:
every row a selected row references, transitively. All in DuckDB: one table of selected ids per
table, in an attached in-memory database (`sample_sel`, seen by every cursor of the connection, so
tables can load in parallel threads), grown until no statement adds a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from load.manifest import TableSpec

__all__ = ["SampleError", "SampleSelection", "select_sample"]

SAMPLE_DB = "sample_sel"


class SampleError(Exception):
    """No (or more than one) table is marked `root: true`."""


@dataclass(frozen=True)
class _Edge:
    source: TableSpec  # the table holding the lookup column
    column: str
    target: TableSpec


@dataclass(frozen=True)
class SampleSelection:
    root: str
    roots: int
    temp_tables: dict[str, str]  # table → temp table with one `id` column
    counts: dict[str, int]

    def filter_sql(self, spec: TableSpec) -> str:
        """A WHERE condition restricting `spec`'s relation to the sample."""
        return f'"{spec.primary_key}" in (select id from {self.temp_tables[spec.table]})'


def select_sample(
    con: duckdb.DuckDBPyConnection, specs: Sequence[TableSpec], size: int
) -> SampleSelection:
    roots = [spec for spec in specs if spec.root]
    if len(roots) != 1:
        names = ", ".join(spec.table for spec in roots) or "none"
        raise SampleError(
            f"--sample needs exactly one mart with meta.dataverse.root: true ({names})"
        )
    root = roots[0]
    by_table = {spec.table: spec for spec in specs}
    edges = [
        _Edge(spec, column, by_table[target])
        for spec in specs
        for column, target in spec.references
        if target in by_table
    ]
    attached = {
        row[0] for row in con.execute("select database_name from duckdb_databases()").fetchall()
    }
    if SAMPLE_DB not in attached:
        con.execute(f"attach ':memory:' as {SAMPLE_DB} (READ_WRITE)")
    temp = {spec.table: f"{SAMPLE_DB}.sample_{spec.table}" for spec in specs}
    for spec in specs:
        con.execute(
            f"create or replace table {temp[spec.table]} as "
            f'select "{spec.primary_key}" as id from {spec.relation} where false'
        )
    con.execute(
        f'insert into {temp[root.table]} select "{root.primary_key}" from {root.relation} '
        f'order by "{root.primary_key}" limit ?',
        [size],
    )
    root_count = _count(con, f"select count(*) from {temp[root.table]}")
    _close(con, temp, [_down(edge, temp) for edge in edges])
    _close(con, temp, [_up(edge, temp) for edge in edges])
    counts = {table: _count(con, f"select count(*) from {name}") for table, name in temp.items()}
    return SampleSelection(root.table, root_count, temp, counts)


def _down(edge: _Edge, temp: dict[str, str]) -> str:
    """Rows of edge.source whose lookup points at a selected row of edge.target."""
    src, pk = edge.source, edge.source.primary_key
    return (
        f"insert into {temp[src.table]} "
        f'select distinct s."{pk}" from {src.relation} as s '
        f'where s."{edge.column}" in (select id from {temp[edge.target.table]}) '
        f'and s."{pk}" not in (select id from {temp[src.table]})'
    )


def _up(edge: _Edge, temp: dict[str, str]) -> str:
    """Rows of edge.target that a selected row of edge.source points at."""
    src, target = edge.source, edge.target
    return (
        f"insert into {temp[target.table]} "
        f'select distinct t."{target.primary_key}" from {target.relation} as t '
        f'where t."{target.primary_key}" in ('
        f'select s."{edge.column}" from {src.relation} as s '
        f'where s."{src.primary_key}" in (select id from {temp[src.table]})) '
        f'and t."{target.primary_key}" not in (select id from {temp[target.table]})'
    )


def _close(con: duckdb.DuckDBPyConnection, temp: dict[str, str], statements: list[str]) -> None:
    """Run the statements until a whole pass adds nothing (a fixpoint: cycles terminate)."""
    total = _total(con, temp)
    while True:
        for statement in statements:
            con.execute(statement)
        new_total = _total(con, temp)
        if new_total == total:
            return
        total = new_total


def _total(con: duckdb.DuckDBPyConnection, temp: dict[str, str]) -> int:
    union = " union all ".join(f"select count(*) as n from {name}" for name in temp.values())
    return _count(con, f"select sum(n) from ({union})")


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
