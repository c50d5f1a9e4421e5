"""Load order from the marts' lookups: targets before the tables that point at them.

A lookup into the same table, or one that closes a cycle, is deferred: the table loads without it
and the lookup is patched once every table is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from load.manifest import Lookup, TableSpec

__all__ = ["PlanError", "DeferredLookup", "LoadPlan", "plan_load"]


class PlanError(Exception):
    """The marts' references cannot be ordered (a cycle made only of activity parties)."""


@dataclass(frozen=True)
class DeferredLookup:
    table: str
    lookup: Lookup


@dataclass(frozen=True)
class LoadPlan:
    order: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]  # tables within a level do not depend on each other
    deferred: tuple[DeferredLookup, ...]

    def deferred_columns(self, table: str) -> frozenset[str]:
        return frozenset(item.lookup.column for item in self.deferred if item.table == table)


def plan_load(specs: Sequence[TableSpec]) -> LoadPlan:
    tables = {spec.table: spec for spec in specs}
    deferred = [
        DeferredLookup(spec.table, lookup)
        for spec in specs
        for lookup in spec.lookups
        if lookup.target == spec.table
    ]
    depends = {
        spec.table: {target for _, target in spec.references if target in tables} - {spec.table}
        for spec in specs
    }
    level: dict[str, int] = {}
    while len(level) < len(tables):
        ready = sorted(t for t in tables if t not in level and depends[t] <= level.keys())
        if not ready:
            table = _cycle_breaker(tables, depends, level)
            deferred += _defer_lookups(tables[table], depends[table] - level.keys())
            depends[table] = depends[table] & level.keys()
            continue
        for table in ready:
            level[table] = 1 + max((level[dep] for dep in depends[table]), default=-1)
    order = tuple(sorted(tables, key=lambda t: (level[t], t)))
    levels = tuple(
        tuple(t for t in order if level[t] == n) for n in range(max(level.values(), default=-1) + 1)
    )
    return LoadPlan(order, levels, tuple(deferred))


def _cycle_breaker(
    tables: dict[str, TableSpec], depends: dict[str, set[str]], level: dict[str, int]
) -> str:
    """The waiting table with the fewest unmet dependencies that lookups alone cause."""
    candidates = []
    for table in sorted(t for t in tables if t not in level):
        unmet = depends[table] - level.keys()
        party_targets = {party.target for party in tables[table].activity_parties}
        if not unmet & party_targets:
            candidates.append((len(unmet), table))
    if not candidates:
        waiting = ", ".join(sorted(t for t in tables if t not in level))
        raise PlanError(f"activity parties form a cycle between {waiting}")
    return min(candidates)[1]


def _defer_lookups(spec: TableSpec, targets: set[str]) -> list[DeferredLookup]:
    return [DeferredLookup(spec.table, lk) for lk in spec.lookups if lk.target in targets]
