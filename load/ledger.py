"""The append-only ledger: every operation the loader sent, with its outcome.

A DuckDB file of its own (default `var/ledger.duckdb`), so `dbt build --full-refresh` never touches
it. Delta loads, resume, diff and rollback read it; nothing ever updates or deletes a row of it.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

__all__ = [
    "LedgerEntry",
    "Previous",
    "Ledger",
    "UPSERT_ACTIONS",
    "WRITE_OUTCOMES",
    "READ_MEMORY_LIMIT",
    "WRITE_MEMORY_LIMIT",
]

UPSERT_ACTIONS = ("create", "update")
# `pending` is written before a request is sent and `ok`/`failed` after its answer: a run killed
# in between leaves `pending` rows, which rollback treats as "may have been applied".
WRITE_OUTCOMES = ("ok", "pending")

# The ledger's DuckDB buffer pool. Reads (delta, diff, rollback, the missing-at-source check: window
# functions over the whole ledger) get 64 MB. While a load only appends, 16 MB: the row group being
# filled (122,880 rows) sits in memory until it is written out, and the cap makes it spill instead
# of growing (uncapped it reached ~57 MB; 32 MB → ~28 MB; 16 MB → ~17 MB, measured with
# duckdb_memory(): IN_MEMORY_TABLE). The load checkpoints before the cap goes back up, so closing
# the ledger does not write the last row group out with the larger pool (that was the peak of
# runs of 100k-500k records).
READ_MEMORY_LIMIT = "64MB"
WRITE_MEMORY_LIMIT = "16MB"

SCHEMA = """
create table if not exists runs (
    run_id varchar primary key,
    started timestamptz not null,
    finished timestamptz,
    mode varchar not null,
    status varchar not null,
    args json
);
create sequence if not exists ledger_seq;
create table if not exists ledger (
    seq bigint default nextval('ledger_seq'),
    run_id varchar not null,
    ts timestamptz not null,
    mode varchar not null,
    table_name varchar not null,
    record_id varchar not null,
    source_key varchar,
    action varchar not null,
    payload_hash varchar,
    payload json,
    previous_payload json,
    outcome varchar not null,
    error_code varchar,
    error_message varchar
);
create table if not exists events (
    ts timestamptz not null,
    run_id varchar,
    kind varchar not null,
    detail json
);
"""

ENTRY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("mode", pa.string()),
        ("table_name", pa.string()),
        ("record_id", pa.string()),
        ("source_key", pa.string()),
        ("action", pa.string()),
        ("payload_hash", pa.string()),
        ("payload", pa.string()),
        ("previous_payload", pa.string()),
        ("outcome", pa.string()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
    ]
)


@dataclass(frozen=True)
class LedgerEntry:
    table_name: str
    record_id: str
    source_key: str | None
    action: str  # create | update | state | link:<column> | delete
    payload_hash: str | None
    payload: Mapping[str, Any] | str | None  # a str is JSON text already
    previous_payload: Mapping[str, Any] | str | None
    outcome: str  # ok | failed
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Previous:
    payload_hash: str
    payload: str | None


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # A bounded buffer pool: the ledger grows by two rows per record written, and DuckDB
        # would otherwise keep caching it (up to 80% of RAM), so the loader's memory would grow
        # with the record count. See READ_MEMORY_LIMIT / WRITE_MEMORY_LIMIT.
        self._con = duckdb.connect(
            str(path), config={"memory_limit": READ_MEMORY_LIMIT, "threads": 2}
        )
        self._con.execute(SCHEMA)
        self._lock = threading.RLock()  # one DuckDB connection, shared by the sender threads
        self._writer: _GroupCommit | None = None

    def memory_limit(self, limit: str) -> None:
        """Set the buffer pool's cap (`WRITE_MEMORY_LIMIT` while a load appends, see there)."""
        with self._lock:
            self._con.execute(f"set memory_limit = '{limit}'")

    def checkpoint(self) -> None:
        """Write what the ledger holds in memory out to its file now."""
        with self._lock:
            self._con.execute("checkpoint")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
        self._con.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_run(self, mode: str, args: Mapping[str, Any]) -> str:
        run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            # A run still 'running' when a new one starts was killed (DuckDB allows one writer).
            self._con.execute("update runs set status = 'interrupted' where status = 'running'")
            self._con.execute(
                "insert into runs values (?, ?, null, ?, 'running', ?)",
                [run_id, dt.datetime.now(dt.UTC), mode, json.dumps(dict(args), default=str)],
            )
        return run_id

    def finish_run(self, run_id: str, status: str) -> None:
        # The one UPDATE: a run's own bookkeeping row, not an operation record.
        with self._lock:
            self._con.execute(
                "update runs set finished = ?, status = ? where run_id = ?",
                [dt.datetime.now(dt.UTC), status, run_id],
            )

    def event(self, run_id: str | None, kind: str, detail: Mapping[str, Any]) -> None:
        """A run-level fact: a sign-off, a forced start, a diff, deletes found at source."""
        with self._lock:
            self._con.execute(
                "insert into events values (?, ?, ?, ?)",
                [dt.datetime.now(dt.UTC), run_id, kind, json.dumps(dict(detail), default=str)],
            )

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = "select ts, run_id, kind, detail::varchar as detail from events"
        params: list[Any] = []
        if kind:
            query += " where kind = ?"
            params.append(kind)
        with self._lock:
            cursor = self._con.execute(query + " order by ts", params)
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["detail"] = json.loads(row["detail"]) if row["detail"] else {}
        return rows

    def record(self, run_id: str, mode: str, entries: Iterable[LedgerEntry]) -> int:
        rows = [_row(run_id, mode, entry) for entry in entries]
        if not rows:
            return 0
        with self._lock:
            if self._writer is None:
                self._writer = _GroupCommit(self._append)
        self._writer.write(pa.Table.from_pylist(rows, schema=ENTRY_SCHEMA))
        return len(rows)

    def _append(self, batch: pa.Table) -> None:
        columns = ", ".join(ENTRY_SCHEMA.names)
        with self._lock:
            self._con.execute(f"insert into ledger ({columns}) select {columns} from batch")

    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        with self._lock:
            return self._con.sql(sql, params=list(params)).to_arrow_table()

    def stream(
        self, sql: str, params: Sequence[Any] = (), rows: int = 50_000
    ) -> Iterator[pa.RecordBatch]:
        """A query's result in Arrow batches of at most `rows`, never materialised whole. On a
        cursor of its own, so other ledger calls may run while it is being read."""
        with self._lock:
            cursor = self._con.cursor()
            reader = cursor.sql(sql, params=list(params)).to_arrow_reader(rows)
        try:
            yield from reader
        finally:
            cursor.close()

    def has_history(self, table: str, outcomes: Sequence[str] = ("ok",)) -> bool:
        """Whether any operation on `table` ended in one of `outcomes` (with the default, if
        not, `previous` is always empty)."""
        with self._lock:
            row = self._con.execute(
                "select 1 from ledger where table_name = ? and list_contains(?, outcome) limit 1",
                [table, list(outcomes)],
            ).fetchone()
        return row is not None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL over `runs`, `ledger` and `events` (diff, delta, rollback read here)."""
        with self._lock:
            return self._con.execute(sql, list(params)).fetchall()

    def previous(
        self, table: str, record_ids: Sequence[str], actions: Sequence[str]
    ) -> dict[str, Previous]:
        """The last successful operation of `actions` for each id (one query for all ids).

        A later successful `delete` (a rollback, or a delete carried over from the source) wipes
        the history: the record is gone, so the next load creates it again."""
        if not record_ids:
            return {}
        ids = pa.table({"record_id": pa.array(record_ids, pa.string())})  # noqa: F841
        with self._lock:
            rows = self._con.execute(
                """
                select l.record_id, l.action, l.payload_hash, l.payload::varchar
                from ledger as l
                semi join ids on ids.record_id = l.record_id
                where l.table_name = ? and l.outcome = 'ok'
                    and (list_contains(?, l.action) or l.action = 'delete')
                qualify row_number() over (partition by l.record_id order by l.seq desc) = 1
                """,
                [table, list(actions)],
            ).fetchall()
        return {
            record_id: Previous(hash_, payload)
            for record_id, action, hash_, payload in rows
            if action != "delete"
        }

    def runs(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._con.execute("select * from runs order by started")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.runs() if r["run_id"] == run_id), None)

    def entries(self, run_id: str | None = None, *, pending: bool = False) -> list[dict[str, Any]]:
        """A run's (or every) entry in order; `pending` rows only when asked for."""
        where = [] if pending else ["outcome <> 'pending'"]
        if run_id:
            where.append("run_id = ?")
        query = "select * from ledger"
        query += (" where " + " and ".join(where)) if where else ""
        with self._lock:
            cursor = self._con.execute(query + " order by seq", [run_id] if run_id else [])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


GROUP_ROWS = 20_000  # at most this many rows (give or take one caller's) in one INSERT


class _GroupCommit:
    """Group commit: one thread appends to the ledger; `write` returns once the caller's rows
    are committed (a sender must know its `pending` rows are on disk before it sends).

    With 52 sender threads each appending twice per request, one INSERT (a DuckDB transaction)
    per call made the ledger the loader's bottleneck: the senders queued on its lock, so fewer
    requests were in flight than the server allowed. Here whatever queued while the previous
    INSERT ran goes in as one, in arrival order (a caller's rows stay together and in order)."""

    def __init__(self, append: Callable[[pa.Table], None]) -> None:
        self._append = append
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    def write(self, batch: pa.Table) -> None:
        item = _Write(batch)
        self._queue.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            group = [item]
            rows = item.batch.num_rows
            stop = False
            while rows < GROUP_ROWS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
                rows += more.batch.num_rows
            try:
                self._append(pa.concat_tables([w.batch for w in group]))
            except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                for w in group:
                    w.error = exc
            finally:
                for w in group:
                    w.done.set()
            if stop:
                return


class _Write:
    def __init__(self, batch: pa.Table) -> None:
        self.batch = batch
        self.done = threading.Event()
        self.error: BaseException | None = None


def _row(run_id: str, mode: str, entry: LedgerEntry) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "ts": dt.datetime.now(dt.UTC),
        "mode": mode,
        "table_name": entry.table_name,
        "record_id": entry.record_id,
        "source_key": entry.source_key,
        "action": entry.action,
        "payload_hash": entry.payload_hash,
        "payload": _json(entry.payload),
        "previous_payload": _json(entry.previous_payload),
        "outcome": entry.outcome,
        "error_code": entry.error_code,
        "error_message": entry.error_message,
    }


def _json(value: Mapping[str, Any] | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
