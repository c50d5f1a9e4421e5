"""The CorePlus extract against the stand-in: dlt RESTClient with JwToken auth, the paging envelope,
an incremental cursor with lag, pacing under 10 requests/s, retries, and clean failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from extract.coreplus import (
    CorePlusAuthError,
    CorePlusPageError,
    CorePlusSettings,
    make_pipeline,
    run_extract,
)
from sandbox.coreplus import generate_dataset
from sandbox.coreplus.api import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CONSUMER_ID,
    DEFAULT_CONSUMER_SECRET,
    ApiConfig,
    Fault,
)
from sandbox.coreplus.server import RunningCorePlus, start_background

SMALL = ("clients", "appointments", "invoices")


def settings_for(server: RunningCorePlus, **overrides: object) -> CorePlusSettings:
    values: dict = {
        "base_url": server.url,
        "consumer_id": DEFAULT_CONSUMER_ID,
        "consumer_secret": DEFAULT_CONSUMER_SECRET,
        "access_token": DEFAULT_ACCESS_TOKEN,
        "page_size": 25,
        "rate_limit": 50,
    }
    values.update(overrides)
    return CorePlusSettings(**values)


@pytest.fixture
def server() -> Iterator[RunningCorePlus]:
    running = start_background(generate_dataset(60, seed=8), ApiConfig(rate_limit=50))
    try:
        yield running
    finally:
        running.stop()


def raw(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_a_full_extract_lands_every_resource_and_a_delta_fetches_only_changes(
    server: RunningCorePlus, tmp_path: Path
) -> None:
    warehouse = tmp_path / "m.duckdb"
    first = run_extract(settings_for(server), warehouse)
    data = server.api.data
    for table, key in (("clients", "clients"), ("appointments", "appointments"),
                       ("invoices", "invoices"), ("client_notes", "clientNotes")):  # fmt: skip
        assert first.rows[table] == len(data[key]), table
        [(count,)] = raw(warehouse, f"select count(*) from raw_coreplus.{table}")
        assert count == len(data[key]), table
    [(lines,)] = raw(warehouse, "select count(*) from raw_coreplus.invoices__line_items")
    assert lines == sum(len(i["lineItems"]) for i in data["invoices"])
    [(money,)] = raw(warehouse, "select typeof(amount_owing) from raw_coreplus.invoices limit 1")
    assert money == "VARCHAR", "money lands as the string CorePlus sent"

    summary = server.api.apply_delta(seed=4)
    requests_before = len(server.api.log)
    second = run_extract(settings_for(server), warehouse)
    asked = server.api.log[requests_before:]
    assert asked and all(r.updated_since for r in asked), "every request is incremental"
    changed = summary.changed("clients")
    assert changed <= {c["clientId"] for c in data["clients"]}
    # only the changes and the lag window come back, not the whole table
    assert len(changed) <= second.rows["clients"] < len(data["clients"]) // 2
    deleted = summary.deleted["clients"][0]
    [(status,)] = raw(
        warehouse, f"select status from raw_coreplus.clients where client_id = '{deleted}'"
    )
    assert status == "Deleted"
    [(count,)] = raw(warehouse, "select count(*) from raw_coreplus.clients")
    assert count == len(data["clients"]), "merged on clientId: no duplicates"


def test_pacing_stays_under_the_limit(tmp_path: Path) -> None:
    running = start_background(generate_dataset(150, seed=2))  # the documented 10 requests/s
    try:
        result = run_extract(
            settings_for(running, page_size=15, rate_limit=10),
            tmp_path / "m.duckdb",
            resources=["clients"],
        )
    finally:
        running.stop()
    assert result.stats.pages == 10
    assert result.stats.throttled == 0, "paced below 10 requests/s, never tripped"


def test_429_5xx_and_truncated_pages_are_retried(tmp_path: Path) -> None:
    faults = [
        Fault("clients", 2, "503"),
        Fault("clients", 3, "429"),
        Fault("appointments", 1, "truncated"),
        Fault("invoices", 2, "500", times=2),
    ]
    running = start_background(
        generate_dataset(60, seed=8), ApiConfig(rate_limit=50, faults=faults)
    )
    try:
        result = run_extract(settings_for(running), tmp_path / "m.duckdb", resources=SMALL)
        data = running.api.data
    finally:
        running.stop()
    assert result.stats.retried == 5
    assert result.rows["clients"] == len(data["clients"])
    assert result.rows["appointments"] == len(data["appointments"])
    assert result.rows["invoices"] == len(data["invoices"])


def test_an_unparseable_page_stops_the_extract_and_keeps_the_cursor(
    server: RunningCorePlus, tmp_path: Path
) -> None:
    warehouse = tmp_path / "m.duckdb"
    run_extract(settings_for(server), warehouse, resources=SMALL)
    cursors_before = _cursors(warehouse)
    rows_before = raw(warehouse, "select count(*), max(date_modified) from raw_coreplus.clients")
    server.api.apply_delta(seed=4)
    server.api.config.faults.append(Fault("appointments", 1, "garbage", times=-1))
    with pytest.raises(CorePlusPageError) as failure:
        run_extract(settings_for(server), warehouse, resources=SMALL)
    assert "/Appointment/" in str(failure.value) and "page 1" in str(failure.value)
    assert _cursors(warehouse) == cursors_before, "no cursor advanced"
    assert raw(warehouse, "select count(*), max(date_modified) from raw_coreplus.clients") == (
        rows_before
    ), "nothing of the failed run was loaded"
    server.api.config.faults.clear()
    again = run_extract(settings_for(server), warehouse, resources=SMALL)
    assert again.rows["clients"] > 0 and _cursors(warehouse)["clients"] > cursors_before["clients"]


def test_a_changed_parent_replaces_its_nested_list(server: RunningCorePlus, tmp_path: Path) -> None:
    warehouse = tmp_path / "m.duckdb"
    run_extract(settings_for(server), warehouse, resources=["invoices"])
    invoices = server.api.data["invoices"]
    shrunk = next(i for i in invoices if len(i["lineItems"]) >= 2)
    emptied = next(i for i in invoices if i["lineItems"] and i is not shrunk)
    later = max(i["dateModified"] for i in invoices)  # inside the lag window: re-read
    emptied.update(lineItems=[], dateModified=later)
    shrunk.update(lineItems=shrunk["lineItems"][:1], dateModified=later)
    server.api._reindex()
    run_extract(settings_for(server), warehouse, resources=["invoices"])
    count = (
        "select count(*) from raw_coreplus.invoices__line_items l "
        "join raw_coreplus.invoices i on i._dlt_id = l._dlt_parent_id where i.invoice_id = '{}'"
    )
    assert raw(warehouse, count.format(emptied["invoiceId"])) == [(0,)]
    assert raw(warehouse, count.format(shrunk["invoiceId"])) == [(1,)]
    items = sum(len(i["lineItems"]) for i in invoices)
    assert raw(warehouse, "select count(*) from raw_coreplus.invoices__line_items") == [(items,)]
    assert raw(warehouse, "select count(*) from raw_coreplus.invoices") == [(len(invoices),)]


def test_wrong_credentials_are_reported(server: RunningCorePlus, tmp_path: Path) -> None:
    settings = settings_for(server, consumer_secret="not-the-secret-not-the-secret-000")
    with pytest.raises(CorePlusAuthError, match="rejected the token"):
        run_extract(settings, tmp_path / "m.duckdb", resources=["clients"])


def _cursors(warehouse: Path) -> dict[str, str]:
    from extract.coreplus import cursors

    return cursors(make_pipeline(warehouse))
