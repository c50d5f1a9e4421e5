"""Sample closure on a small warehouse whose graph is known, checked against a Python BFS."""

import duckdb
import pytest

from load.manifest import load_manifest
from load.sample import SampleError, select_sample
from tests.load.warehouse import MANIFEST, write_warehouse


def g(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


A1, A2, A3, A4, A5 = g(101), g(102), g(103), g(104), g(105)
C1, C2, C3, C4 = g(201), g(202), g(203), g(204)
T1, T2, T3 = g(301), g(302), g(303)
P1, P2 = g(401), g(402)
O1, O2 = g(501), g(502)

ROWS = {
    "dv_account": [
        {"accountid": A1, "name": "a1"},
        {"accountid": A2, "name": "a2", "parentaccountid": A1},  # child of the root
        {"accountid": A3, "name": "a3", "parentaccountid": A5},  # reached only upwards
        {"accountid": A4, "name": "a4"},
        {"accountid": A5, "name": "a5"},
    ],
    "dv_contact": [
        {"contactid": C1, "parentcustomerid_account": A1},
        {"contactid": C2, "parentcustomerid_account": A2},
        {"contactid": C3, "parentcustomerid_account": A3},
        {"contactid": C4, "parentcustomerid_account": A4},
    ],
    "dv_opportunity": [
        {"opportunityid": O1, "customerid_account": A4},
        {"opportunityid": O2, "customerid_account": A1},
    ],
    "dv_task": [
        {"activityid": T1, "regardingobjectid_contact_task": C2},
        {"activityid": T2, "regardingobjectid_contact_task": C3},  # refers to an up-closure row
        {"activityid": T3, "regardingobjectid_contact_task": C4},
    ],
    "dv_phonecall": [
        {"activityid": P1, "regardingobjectid_account_phonecall": A1, "to_contact": C3},
        {"activityid": P2, "regardingobjectid_account_phonecall": A4, "to_contact": C4},
    ],
}


@pytest.fixture
def con(tmp_path):
    path = write_warehouse(tmp_path / "w.duckdb", ROWS)
    with duckdb.connect(str(path), read_only=True) as connection:
        yield connection


def expected_closure(specs, roots):
    """Independent oracle: BFS over the rows in Python."""
    by_table = {s.table: s for s in specs}
    rows = {s.table: ROWS[f"dv_{s.table}"] for s in specs}
    edges = [(s, col, tgt) for s in specs for col, tgt in s.references if tgt in by_table]
    chosen = {t: set() for t in by_table}
    chosen["account"] = set(roots)
    changed = True
    while changed:
        changed = False
        for src, col, tgt in edges:
            for row in rows[src.table]:
                if row.get(col) in chosen[tgt] and row[src.primary_key] not in chosen[src.table]:
                    chosen[src.table].add(row[src.primary_key])
                    changed = True
    changed = True
    while changed:
        changed = False
        for src, col, tgt in edges:
            for row in rows[src.table]:
                if (
                    row[src.primary_key] in chosen[src.table]
                    and row.get(col)
                    and row[col] not in chosen[tgt]
                ):
                    chosen[tgt].add(row[col])
                    changed = True
    return chosen


def selected(con, selection):
    return {
        table: {r[0] for r in con.execute(f"select id from {name}").fetchall()}
        for table, name in selection.temp_tables.items()
    }


def test_one_root_brings_what_references_it_and_what_that_references(con):
    specs = load_manifest(MANIFEST)

    selection = select_sample(con, specs, 1)

    assert selection.root == "account" and selection.roots == 1
    assert selected(con, selection) == {
        "account": {A1, A2, A3, A5},  # root, its child, C3's account and A3's parent
        "contact": {C1, C2, C3},  # C3 is the phone call's recipient
        "opportunity": {O2},
        "task": {T1},  # T2 points at C3 but nothing selected needs it
        "phonecall": {P1},
    }
    assert selection.counts == {
        "account": 4,
        "contact": 3,
        "opportunity": 1,
        "task": 1,
        "phonecall": 1,
    }


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 10])
def test_closure_matches_an_independent_bfs(con, size):
    specs = load_manifest(MANIFEST)
    roots = sorted(r["accountid"] for r in ROWS["dv_account"])[:size]

    selection = select_sample(con, specs, size)

    assert selected(con, selection) == expected_closure(specs, roots)


def test_sample_is_referentially_complete(con):
    specs = load_manifest(MANIFEST)
    selection = select_sample(con, specs, 2)
    chosen = selected(con, selection)

    for spec in specs:
        for column, target in spec.references:
            if target not in chosen:
                continue
            for row in ROWS[f"dv_{spec.table}"]:
                if row[spec.primary_key] in chosen[spec.table] and row.get(column):
                    assert row[column] in chosen[target]


def test_needs_exactly_one_root(con):
    specs = [s for s in load_manifest(MANIFEST) if not s.root]

    with pytest.raises(SampleError, match="root: true"):
        select_sample(con, specs, 1)
